"""A run's life in the store and on the command line: refused before it starts when it cannot work,
marked failed (never "running" forever) when it fails after the store holds it, stopped only when its
budget is not done, and a one-shot run shown and resumed by its own budget (supernet epochs)."""
import json
import sqlite3
import subprocess
import sys

import pytest

from nasbench_lab import search
from nasbench_lab.cli import main
from nasbench_lab.errors import ObjectiveError, StrategyError
from nasbench_lab.events import EventBus, StopFlag
from nasbench_lab.search import resume
from nasbench_lab.store import StoreError, open_store


@pytest.fixture(autouse=True)
def _in_a_tmp_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NASBENCH_LAB_STORE", raising=False)


# ---------------------------------------------------------------------- refused before anything runs
def test_a_hardware_accuracy_needs_an_estimator_that_reports_it(tmp_path):
    with pytest.raises(ObjectiveError, match="maximises 'analog_1d', which the 'synthetic' estimator does not "
                                             "report.*--estimator table --dataset cifar10"):
        search("nb201", "random", "synthetic", budget=3, objective="analog_1d", store=tmp_path / "s.sqlite")
    assert not (tmp_path / "s.sqlite").exists() or open_store(tmp_path / "s.sqlite").runs() == []


def test_a_time_budget_is_refused_for_a_one_shot_strategy():
    with pytest.raises(StrategyError, match="time budget stops a multi-trial search.*'darts'"):
        search("nb201", "darts", "synthetic", budget=1, time_budget=10, dataset="synthetic", device="cpu")


@pytest.mark.parametrize("argv,message", [
    (["--workers", "2"], "--workers needs --executor process or ray"),
    (["--gpus-per-worker", "0.5", "--executor", "process"], "--gpus-per-worker needs --executor ray"),
])
def test_execution_options_that_do_nothing_are_refused(argv, message, capsys):
    assert main(["search", "--estimator", "synthetic", "--budget", "2", "--no-store", *argv]) == 2
    assert capsys.readouterr().err.strip() == f"nasbench-lab: error: {message}" + \
        (" (in process, evaluations run one at a time)" if "workers" in message else "")


def test_an_empty_run_id_names_no_run(tmp_path, capsys):
    db = tmp_path / "s.sqlite"
    assert main(["search", "--estimator", "synthetic", "--budget", "2", "--store", str(db), "--json"]) == 0
    capsys.readouterr()
    for cmd in ("show", "resume"):
        assert main([cmd, "", "--store", str(db)]) == 2
        assert "a run id is needed" in capsys.readouterr().err


# ---------------------------------------------------------------------- failing after the store holds the run
def test_a_run_that_fails_after_the_store_holds_it_is_marked_failed_and_can_be_resumed(tmp_path):
    """The estimate times a training step before run_started; a missing dataset fails it there."""
    db = tmp_path / "s.sqlite"
    with pytest.raises(ValueError, match="cifar10 not found"):
        search("nb201", "random", "train", budget=30, dataset="cifar10", device="cpu", store=db,
               estimator_options={"download": False})
    (run,) = open_store(db).runs()
    assert run["status"] == "failed" and "cifar10 not found" in run["error"]
    with pytest.raises(ValueError, match="cifar10 not found"):        # not "being recorded right now"
        resume(run["run_id"], db)


def test_a_store_that_cannot_write_stops_the_run_with_one_line(tmp_path):
    """Another process holds the store's write lock: the evaluation cannot be recorded, so the run stops
    and says so (before: it went on, said "3 evaluations recorded", and the store held fewer)."""
    db = tmp_path / "s.sqlite"
    search("nb201", "random", "synthetic", budget=1, store=db)                       # the store exists
    st = open_store(db)
    st.timeout = 0.2                                   # seconds to wait for the lock (default 30)
    locker = sqlite3.connect(db, timeout=1)
    calls = []

    def lock_after_two(ev):                # once two evaluations are recorded, another writer takes the file
        if ev.kind == "evaluation":
            calls.append(1)
            if len(calls) == 2:
                locker.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreError, match=r"the store could not record it \(database is locked\); what it "
                                             r"recorded before is kept"):
            search("nb201", "random", "synthetic", budget=5, store=st, on_event=lock_after_two)
    finally:
        locker.rollback()
        locker.close()
    runs = {r["strategy"]: r for r in open_store(db).runs()}
    assert len(open_store(db).runs()) == 2 and max(r["evaluations"] for r in runs.values()) <= 2


def test_a_critical_subscriber_stops_the_emitter_after_the_others_saw_the_event():
    bus, seen = EventBus("r"), []

    def broken(ev):
        raise OSError("disk full")
    bus.subscribe(broken, critical=True)
    bus.subscribe(seen.append)
    with pytest.raises(OSError, match="disk full"):
        bus.emit("evaluation", x=1)
    assert [e.kind for e in seen] == ["evaluation"]
    bus.emit("run_failed", error="x")                      # failing already: not raised again
    bus.unsubscribe(broken)
    bus.emit("evaluation", x=2)


# ---------------------------------------------------------------------- stopped, finished
def test_a_stop_during_the_last_evaluation_leaves_a_finished_run(tmp_path):
    """Ctrl-C during the last evaluation sets the flag too; a run with its whole budget done is finished."""
    stop, done = StopFlag(), []

    def stop_in_the_last(ev):
        if ev.kind == "evaluation":
            done.append(1)
            if len(done) == 3:
                stop.set()
    res = search("nb201", "random", "synthetic", budget=3, store=tmp_path / "s.sqlite", stop=stop,
                 on_event=stop_in_the_last)
    assert len(res.evaluations) == 3 and stop.is_set() and not res.stopped
    assert open_store(tmp_path / "s.sqlite").runs()[0]["status"] == "finished"


# ---------------------------------------------------------------------- one-shot runs in the store
def test_a_one_shot_run_is_shown_by_its_epochs_and_resumed(tmp_path, capsys):
    db = tmp_path / "s.sqlite"
    opts = ["--option", "train_subset=64", "--option", "val_subset=64", "--option", "batch_size=32"]
    assert main(["search", "--strategy", "spos", "--estimator", "synthetic", "--dataset", "synthetic", "--device",
                 "cpu", "--budget", "1", "--store", str(db), "--json", "--no-progress", *opts]) == 0
    run_id = json.loads(capsys.readouterr().out)["run_id"]
    assert main(["runs", "--store", str(db)]) == 0
    assert f"{run_id}  finished" in (out := capsys.readouterr().out) and " 1ep " in out
    assert main(["show", run_id, "--store", str(db)]) == 0
    assert "cells scored after 1 supernet epoch," in capsys.readouterr().out
    assert main(["resume", run_id, "--store", str(db), "--json", "--no-progress"]) == 0    # was: "a budget of 1
    assert json.loads(capsys.readouterr().out)["run_id"] == run_id                          # cannot continue it"


def test_show_piped_into_head_ends_quietly(tmp_path):
    db = tmp_path / "s.sqlite"
    assert main(["search", "--estimator", "synthetic", "--budget", "20", "--store", str(db), "--no-progress"]) == 0
    run_id = open_store(db).runs()[0]["run_id"]
    cmd = f"{sys.executable} -m nasbench_lab.cli show {run_id} --store {db} --top 20 | head -1"
    proc = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True, text=True, timeout=120)
    assert proc.stdout.startswith(f"run {run_id}: finished") and "Traceback" not in proc.stderr, proc.stderr


# ---------------------------------------------------------------------- the stop flag: what is kept
def test_an_evaluation_that_finished_while_the_flag_was_set_is_kept(tmp_path):
    """A table lookup or a synthetic score never looks at the flag: finished is finished. Set the flag
    during the second evaluation: it is kept (before: dropped as if cut short), and the run stops."""
    stop, seen = StopFlag(), []

    from nasbench_lab.estimators import get_estimator
    synthetic = type(get_estimator("synthetic"))

    class SetsTheFlag(synthetic):                       # the flag is set while the second evaluation runs
        def evaluate(self, space, arch, **kw):
            seen.append(1)
            if len(seen) == 2:
                stop.set()
            return super().evaluate(space, arch, **kw)
    res = search("nb201", "tpe", SetsTheFlag(), budget=10, stop=stop,
                 store=tmp_path / "s.sqlite")
    assert res.stopped and len(res.evaluations) == 2
    assert open_store(tmp_path / "s.sqlite").runs()[0]["evaluations"] == 2


def test_a_training_cut_short_by_the_flag_is_dropped_and_says_so(tmp_path):
    from nasbench_lab.estimators import get_estimator
    from nasbench_lab.spaces import get_space
    est = get_estimator("train", dataset="synthetic", device="cpu",
                        fidelity={"epochs": 3, "train_subset": 256, "val_subset": 64, "test_subset": 64,
                                  "batch_size": 32, "skeleton": {"C": 4, "N": 1}})
    space, stop = get_space("nb201"), StopFlag()
    arch = space.sample(__import__("random").Random(0))

    def stop_after_the_first_epoch(kind, **payload):
        if kind == "epoch":
            stop.set()
    ev = est.evaluate(space, arch, emit=stop_after_the_first_epoch, stop=stop)
    assert ev.metrics["interrupted"] and ev.metrics["epochs"] == 1 and ev.test_acc is None
    done = est.evaluate(space, arch)
    assert "interrupted" not in done.metrics and done.metrics["epochs"] == 3 and done.test_acc is not None


def test_one_shot_scoring_drops_a_re_training_cut_short(tmp_path):
    """SPOS scores its chosen cell with ``train``; a stop that arrives as that re-training starts records
    nothing (before: the cut-short training was stored as the cell's result)."""
    from nasbench_lab.estimators import get_estimator
    stop = StopFlag()
    fidelity = {"epochs": 3, "train_subset": 256, "val_subset": 64, "test_subset": 64, "batch_size": 32,
                "skeleton": {"C": 4, "N": 1}}

    class StoppedAtItsStart(type(get_estimator("train", device="cpu"))):
        def evaluate(self, space, arch, **kw):
            stop.set()                                  # Stop pressed just as the re-training begins
            return super().evaluate(space, arch, **kw)
    res = search("nb201", "spos", StoppedAtItsStart(dataset="synthetic", device="cpu", fidelity=fidelity),
                 budget=1, dataset="synthetic", device="cpu", stop=stop, store=tmp_path / "s.sqlite",
                 strategy_options={"train_subset": 64, "val_subset": 64, "batch_size": 32, "population": 2,
                                   "generations": 1, "parents": 1, "top_k": 1, "bn_batches": 1,
                                   "bn_batch_size": 32})
    assert res.evaluations == [] and res.stopped
    assert open_store(tmp_path / "s.sqlite").runs()[0]["evaluations"] == 0


def test_resume_can_raise_the_time_budget(tmp_path):
    """A race to a time budget, continued with a larger one: it goes on from where it stopped."""
    db = tmp_path / "s.sqlite"
    first = search("nb201", "random", "table", budget=200, time_budget=20.0, store=db)   # ~1.7 s a cell
    assert 0 < len(first.evaluations) < 200
    more = resume(first.run_id, db, time_budget=60.0)
    assert len(more.evaluations) > len(first.evaluations)
    assert [str(e.arch) for e in more.evaluations[:len(first.evaluations)]] == \
        [str(e.arch) for e in first.evaluations]
    assert open_store(db).run(first.run_id)["config"]["time_budget"] == 60.0
