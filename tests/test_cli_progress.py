"""What a run shows while it runs, outside a terminal: plain progress lines on stderr (a log file, CI, a
notebook's ``!`` cell), ``train``'s epochs, the one-shot strategies' scoring stage; and Ctrl-C.

Each test runs in a folder of its own: searches record in nasbench_runs.sqlite of the working directory.
"""
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from nasbench_lab import EventLog, search
from nasbench_lab.cli import main
from nasbench_lab.cli_terminal import Progress
from nasbench_lab.strategies import list_strategies, strategy_class


@pytest.fixture(autouse=True)
def _in_a_tmp_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NASBENCH_LAB_STORE", raising=False)


@pytest.fixture
def often(monkeypatch):
    """A plain line every 0.2 s instead of every 10 s, so a run of seconds shows several."""
    monkeypatch.setattr(Progress, "INTERVAL", 0.2)


TINY_TRAIN = ["--dataset", "synthetic", "--device", "cpu", "--train-subset", "512", "--val-subset", "200",
              "--test-subset", "200", "--batch-size", "32", "--skeleton", '{"C": 4, "N": 1}']


def test_a_search_prints_plain_lines_when_stderr_is_not_a_terminal(often, capsys):
    # capsys: stderr is not a terminal here, as in a script's log
    assert main(["search", "--estimator", "synthetic", "--estimator-option", "delay=0.15", "--budget", "12",
                 "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["evaluations"] == 12                 # stdout stays one JSON object
    lines = [x for x in err.splitlines() if x.startswith("random: ")]
    assert len(lines) >= 3, err
    pattern = r"random: \d+/12 evaluations, best \d+\.\d\d % val, \d+ s elapsed, ~\d+ s left"
    assert all(re.fullmatch(pattern, x) for x in lines[1:]), lines
    counts = [int(re.match(r"random: (\d+)/", x).group(1)) for x in lines]
    assert counts == sorted(counts) and counts[-1] > counts[0]
    assert main(["search", "--estimator", "synthetic", "--estimator-option", "delay=0.15", "--budget", "4",
                 "--no-progress"]) == 0
    assert "random: " not in capsys.readouterr().err            # --no-progress silences it


def test_train_shows_its_epochs(often, capsys):
    assert main(["train", "--arch", "resnet", "--epochs", "3", *TINY_TRAIN]) == 0
    err = capsys.readouterr().err
    lines = [x for x in err.splitlines() if x.startswith("train: ")]
    assert lines, err
    assert all(re.match(r"train: [0-3]/3 epochs( \(epoch [1-3]: step \d+/16\))?(, val acc \d+\.\d\d % after "
                        r"epoch [1-3])?, \d+ s elapsed", x) for x in lines), lines
    assert any("val acc" in x for x in lines), lines            # an epoch ended while the lines ran


def _latencies() -> dict:
    """A made-up latency table for every MBConv choice of the mobile space (no timing in the test)."""
    from nasbench_lab.spaces import get_space
    keys = get_space("mobile").op_table_keys(None, input_size=16, width_mult=0.25)
    return {k.lut_key(): 0.0 if k.choice == "skip" else 0.01 for k in keys}


@pytest.mark.parametrize("strategy", [s for s in list_strategies() if strategy_class(s).family == "one-shot"])
def test_one_shot_strategies_announce_the_scoring_stage(strategy):
    """The supernet search ends, then the estimator scores the chosen cells: a ``stage`` event between."""
    space, opts = {"proxyless": ("mobile", {"skeleton": {"width_mult": 0.25}, "latency_table": _latencies()}),
                   "enas": ("nb201", {"controller_steps": 1, "final_samples": 2, "reward_batch": 32}),
                   "spos": ("nb201", {"population": 2, "generations": 1, "parents": 1, "top_k": 1,
                                      "bn_batches": 1, "bn_batch_size": 32})}.get(strategy, ("nb201", {}))
    log = EventLog()
    opts = {"train_subset": 64, "val_subset": 64, "batch_size": 32, **opts}
    if strategy in ("darts", "proxyless"):
        opts["eval_subset"] = 32
    res = search(space, strategy, "synthetic", budget=1, dataset="synthetic", device="cpu",
                 strategy_options=opts, on_event=log)
    (stage,) = log.of("stage")
    kinds = [e.kind for e in log.events]
    assert kinds.index("stage") < kinds.index("evaluation") and "epoch" in kinds[:kinds.index("stage")]
    assert stage.payload == {"name": "scoring", "candidates": len(res.evaluations), "estimator": "synthetic",
                             "trains": False}


def test_the_re_training_of_the_chosen_cell_is_its_own_stage(often, capsys):
    assert main(["search", "--strategy", "darts", "--budget", "1", "--option", "scale=classroom",
                 "--option", "train_subset=64", "--option", "val_subset=64", "--option", "eval_subset=32",
                 "--option", "batch_size=32", "--epochs", "2", *TINY_TRAIN]) == 0
    err = capsys.readouterr().err
    assert re.search(r"^darts: supernet search done \(1/1 epochs, \d+ s\); now 1 chosen cell re-trained from "
                     r"scratch by the train estimator$", err, re.M), err
    after = err.split("supernet search done")[1]
    assert re.search(r"^darts: 0/1 chosen cells re-trained from scratch, \d+ s in this stage, \d+ s elapsed", after,
                     re.M), err                                  # the re-training's own lines, not 1/1 epochs



def test_a_supernet_epoch_shows_its_steps(often, capsys):
    """A supernet epoch takes minutes on a CPU: the lines within it show its step and train accuracy."""
    assert main(["search", "--strategy", "darts", "--budget", "2", "--estimator", "synthetic",
                 "--option", "train_subset=512", "--option", "val_subset=512", "--option", "batch_size=16",
                 "--option", "progress_s=0", "--dataset", "synthetic", "--device", "cpu"]) == 0
    err = capsys.readouterr().err
    within = re.findall(r"^darts: ([01])/2 supernet epochs \(epoch ([12]): step (\d+)/(\d+)\), train acc "
                        r"\d+\.\d\d % in epoch ([12]),", err, re.M)
    assert within, err
    assert all(int(done) + 1 == int(epoch) == int(again) and 0 < int(step) < int(steps)
               for done, epoch, step, steps, again in within), within

# ---------------------------------------------------------------------- Ctrl-C
SLOW_SEARCH = [sys.executable, "-m", "nasbench_lab.cli", "search", "--estimator", "train", "--budget", "3",
               "--epochs", "8", "--dataset", "synthetic", "--device", "cpu", "--train-subset", "2048",
               "--val-subset", "200", "--test-subset", "200", "--skeleton", '{"C": 8, "N": 1}', "--json",
               "--store", "runs.sqlite"]


def _runs(db) -> list:
    """(status, evaluations) of each run in the store, read while the search writes it."""
    if not db.exists():
        return []
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return con.execute("SELECT status, evaluations FROM runs").fetchall()
        finally:
            con.close()
    except sqlite3.Error:
        return []


def _search_in_flight(folder):
    """A search whose first evaluation (seconds of training) is in flight when this returns."""
    proc = subprocess.Popen(SLOW_SEARCH, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "NASBENCH_LAB_OFFLINE": "1", "OMP_NUM_THREADS": "1"})
    db = folder / "runs.sqlite"
    deadline = time.monotonic() + 120
    while not _runs(db):                               # recorded from its start: the run has begun
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.1)
    time.sleep(1.0)                                    # data loaded, the first candidate training
    assert _runs(db) == [("running", 0)]               # ... and not finished yet
    return proc, db


def test_first_ctrl_c_finishes_and_records_the_evaluation_in_flight(tmp_path):
    proc, db = _search_in_flight(tmp_path)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert json.loads(out)["evaluations"] == 1                         # kept, and the run stopped after it
    assert _runs(db) == [("stopped", 1)]
    assert "Ctrl-C: finishing the evaluation in flight, then stopping; it will be recorded" in err
    assert "continue it with: nasbench-lab resume " in err


def test_second_ctrl_c_stops_at_once(tmp_path):
    proc, db = _search_in_flight(tmp_path)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.3)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=300)
    assert time.monotonic() - t0 < 10 and proc.returncode == 2, err
    assert err.strip().splitlines()[-1].startswith("nasbench-lab: error: interrupted at once: the evaluation in "
                                                   "flight is lost"), err
    assert "Traceback" not in err and out == ""
    assert _runs(db)[0][1] == 0


def test_ctrl_c_during_a_supernet_training_stops_it_and_says_so():
    """A supernet epoch is no evaluation: the first Ctrl-C stops it at the next step, and says that the
    run then scores no cell; once the chosen cell is being scored, Ctrl-C lets that evaluation finish."""
    from nasbench_lab.cli_terminal import GracefulStop
    from nasbench_lab.events import Event
    stop = GracefulStop("one-shot")
    assert "scores no cell" in stop.request() and stop.is_set()
    stop = GracefulStop("one-shot")
    stop(Event("stage", {"name": "scoring", "candidates": 1, "estimator": "train", "trains": True}))
    assert "finishing the evaluation in flight" in stop.request() and not stop.is_set()
    stop(Event("evaluation", {"replayed": False}))
    assert stop.is_set()


def test_a_terminals_ctrl_c_with_worker_processes_records_the_first_to_finish(tmp_path):
    """A terminal's Ctrl-C reaches the whole process group, the workers of ``--executor process`` too.
    They ignore it: the first evaluation to finish is recorded, the other is dropped and its worker ended
    (not waited for), and the run stops cleanly with status 0, resumable."""
    cmd = SLOW_SEARCH + ["--executor", "process", "--workers", "2", "--strategy", "random"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True,      # a group of its own, as a terminal's job is
                            env={**os.environ, "NASBENCH_LAB_OFFLINE": "1", "OMP_NUM_THREADS": "1"})
    db = tmp_path / "runs.sqlite"
    deadline = time.monotonic() + 180
    while not _runs(db):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.1)
    time.sleep(4.0)                                    # workers spawned, both candidates training
    assert _runs(db) == [("running", 0)]
    os.killpg(proc.pid, signal.SIGINT)                 # what the terminal does: every process of the group
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "BrokenProcessPool" not in err, err
    assert "finishing the first of the evaluations in flight" in err
    assert json.loads(out)["evaluations"] == 1
    assert _runs(db) == [("stopped", 1)]
    assert "continue it with: nasbench-lab resume " in err
