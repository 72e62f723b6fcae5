"""The SQLite experiment store: recording, resume (after Stop, failure and kill -9), export, threads."""
from __future__ import annotations

import csv
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from nasbench_lab import StopFlag, get_space, list_spaces, open_store, resume, search
from nasbench_lab.estimators import Estimator
from nasbench_lab.estimators.synthetic import SyntheticEstimator
from nasbench_lab.store import StoreError
from nasbench_lab.strategies import list_strategies, strategy_class

ROOT = Path(__file__).resolve().parents[1]


def _archs(evs):
    return [(e.arch, e.val_acc) for e in evs]


def test_a_run_is_recorded(tmp_path):
    st = open_store(tmp_path / "runs.sqlite")
    res = search("nb201", "evolution", "synthetic", budget=30, seed=2, store=st,
                 strategy_options={"population": 6, "sample": 2})
    run = st.run(res.run_id)
    assert run["status"] == "finished" and run["evaluations"] == 30 and run["attempts"] == 1
    assert run["space"] == "nb201" and run["strategy"] == "evolution" and run["estimator"] == "synthetic"
    assert run["config"]["strategy_options"] == {"population": 6, "sample": 2} and run["seed"] == 2
    assert {"python", "torch", "nasbench_lab"} <= set(run["versions"])
    assert run["best"]["arch"] == str(res.best.arch) and run["best"]["val_acc"] == res.best.val_acc
    assert _archs(st.evaluations(res.run_id)) == _archs(res.evaluations)
    assert st.evaluations(res.run_id)[0].metrics == res.evaluations[0].metrics
    assert len(st.events(res.run_id, "population")) == 30
    assert [e.kind for e in st.events(res.run_id) if e.kind.startswith("run_")] == ["run_started", "run_finished"]
    assert [r["run_id"] for r in st.runs()] == [res.run_id]


@pytest.mark.parametrize("space", list_spaces())
def test_the_best_architecture_is_the_space_value_and_round_trips_through_the_store(tmp_path, space):
    """House rule 2: inside the library an architecture is the value the space samples; the store (like
    events and JSON) keeps its string, and gives the value back."""
    sp = get_space(space)
    st = open_store(tmp_path / "s.sqlite")
    res = search(space, "evolution", "synthetic", budget=8, seed=0, store=st,
                 strategy_options={"population": 4, "sample": 2})
    sample = sp.sample(random.Random(0))
    assert type(res.best.arch) is type(sample) is sp.arch_type
    assert all(type(e.arch) is type(sample) for e in res.evaluations)
    assert [e.arch for e in st.evaluations(res.run_id)] == [e.arch for e in res.evaluations]
    stored = st.run(res.run_id)["best"]["arch"]
    assert isinstance(stored, str) and sp.from_str(stored) == res.best.arch
    assert res.to_json_dict()["best"]["arch"] == stored == sp.to_str(res.best.arch) == str(res.best.arch)
    assert res.best.arch == sp.from_str(sp.to_str(res.best.arch)) and res.best.arch in set(res.evaluations[i].arch
                                                                                         for i in range(8))


def test_export_round_trip(tmp_path):
    st = open_store(tmp_path / "a.sqlite")
    res = search("chain", "reinforce", "synthetic", budget=12, seed=0, store=st)
    st.export(res.run_id, tmp_path / "run.json")
    st.export(res.run_id, tmp_path / "run.csv")
    other = open_store(tmp_path / "b.sqlite")
    rid = other.import_json(tmp_path / "run.json")
    assert rid == res.run_id
    assert other.evaluations(rid) == st.evaluations(rid)
    assert [(e.kind, e.payload) for e in other.events(rid)] == [(e.kind, e.payload) for e in st.events(rid)]
    assert other.run(rid)["best"] == st.run(rid)["best"] and other.run(rid)["config"] == st.run(rid)["config"]
    with open(tmp_path / "run.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["arch"], float(r["val_acc"])) for r in rows] == [(str(a), v) for a, v in _archs(res.evaluations)]
    assert [int(r["params"]) for r in rows] == [e.metrics["params"] for e in res.evaluations]
    assert json.loads(rows[0]["metrics"]) == res.evaluations[0].metrics
    with pytest.raises(StoreError, match="already"):
        other.import_json(tmp_path / "run.json")
    (tmp_path / "junk.json").write_text("{}")
    with pytest.raises(StoreError, match="not a nasbench_lab run export"):
        other.import_json(tmp_path / "junk.json")
    with pytest.raises(StoreError, match="unknown export format"):
        st.export(res.run_id, tmp_path / "run.xlsx")


@pytest.mark.parametrize("strategy", [s for s in list_strategies() if strategy_class(s).family == "multi-trial"])
def test_stop_then_resume_equals_an_uninterrupted_run(tmp_path, strategy):
    opts = {"zerocost_guided": {"pool": 10, "top": 3, "scores": "compute"}}.get(strategy)
    full = search("nb201", strategy, "synthetic", budget=40, seed=9, strategy_options=opts)
    st = open_store(tmp_path / "s.sqlite")
    stop = StopFlag()
    part = search("nb201", strategy, "synthetic", budget=40, seed=9, store=st, stop=stop, strategy_options=opts,
                  on_event=lambda ev: stop.set() if ev.kind == "evaluation" and ev.payload["index"] == 16 else None)
    assert len(part.evaluations) == 17 and st.run(part.run_id)["status"] == "stopped"
    res = resume(part.run_id, st)
    assert res.run_id == part.run_id and _archs(res.evaluations) == _archs(full.evaluations)
    run = st.run(part.run_id)
    assert run["status"] == "finished" and run["attempts"] == 2 and run["evaluations"] == 40
    assert _archs(st.evaluations(part.run_id)) == _archs(full.evaluations)     # none lost, none repeated
    assert [r["attempt"] for r in st.evaluation_rows(part.run_id)] == [1] * 17 + [2] * 23


def test_resume_extends_a_finished_run(tmp_path):
    st = open_store(tmp_path / "s.sqlite")
    first = search("mobile", "evolution", "synthetic", budget=20, seed=1, store=st)
    longer = resume(first.run_id, st, budget=35)
    assert _archs(longer.evaluations) == _archs(search("mobile", "evolution", "synthetic", budget=35, seed=1).evaluations)
    assert st.run(first.run_id)["budget"] == 35 and len(st.evaluations(first.run_id)) == 35
    with pytest.raises(StoreError, match="cannot continue"):
        resume(first.run_id, st, budget=10)


class _Flaky(Estimator):
    """Fails on its n-th evaluation (once): a crash in the middle of a run."""

    name = "flaky"

    def __init__(self, fail_at: int):
        self.inner, self.calls, self.fail_at = SyntheticEstimator(), 0, fail_at

    def evaluate(self, space, arch, seed=0, emit=None, stop=None):
        self.calls += 1
        if self.calls == self.fail_at:
            raise RuntimeError("simulated crash")
        return self.inner.evaluate(space, arch, seed=seed)


def test_failed_run_is_marked_and_can_be_continued(tmp_path):
    st = open_store(tmp_path / "s.sqlite")
    with pytest.raises(RuntimeError, match="simulated"):
        search("nb201", "evolution", _Flaky(11), budget=25, seed=3, store=st, run_id="crashy")
    run = st.run("crashy")
    assert run["status"] == "failed" and "simulated crash" in run["error"] and run["evaluations"] == 10
    # The config names the estimator 'flaky', which is not registered: continue with search + replay.
    res = search("nb201", "evolution", "synthetic", budget=25, seed=3, store=st, run_id="crashy",
                 replay=st.evaluations("crashy"))
    assert _archs(res.evaluations) == _archs(search("nb201", "evolution", "synthetic", budget=25, seed=3).evaluations)
    assert st.run("crashy")["status"] == "finished" and len(st.evaluations("crashy")) == 25


def test_errors_name_the_problem(tmp_path):
    st = open_store(tmp_path / "s.sqlite")
    search("nb201", "random", "synthetic", budget=3, store=st, run_id="abc1")
    search("nb201", "random", "synthetic", budget=3, store=st, run_id="abc2")
    assert st.run("abc1")["run_id"] == "abc1"
    with pytest.raises(StoreError, match="ambiguous"):
        st.run("abc")
    with pytest.raises(StoreError, match="no run 'zzz'"):
        resume("zzz", st)
    with pytest.raises(StoreError, match="already has 3 evaluations"):
        search("nb201", "random", "synthetic", budget=3, store=st, run_id="abc1")
    search("nb201", "random", "synthetic", budget=3, store=st, run_id="cust", objective=lambda ev: ev.val_acc)
    with pytest.raises(StoreError, match="custom objective"):
        resume("cust", st)
    # A run whose recorded process is still alive must not be resumed under its feet.
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        with st._conn() as conn:
            conn.execute("UPDATE runs SET status='running', pid=? WHERE run_id='abc2'", (sleeper.pid,))
        with pytest.raises(StoreError, match="still running"):
            resume("abc2", st)
    finally:
        sleeper.kill()
        sleeper.wait()
    with pytest.raises(StoreError, match="path or a Store"):
        open_store(42)


def test_background_thread_writes_while_main_thread_reads(tmp_path):
    """The widgets' pattern: search in a thread, the notebook polls the same store object."""
    st = open_store(tmp_path / "s.sqlite")
    est = SyntheticEstimator(delay=0.002)
    out = {}
    t = threading.Thread(target=lambda: out.setdefault("r", search("nb201", "evolution", est, budget=150, seed=0,
                                                                       store=st, run_id="bg")))
    t.start()
    seen = []
    while t.is_alive():
        runs = st.runs()
        if runs:
            seen.append(runs[0]["evaluations"])
            assert len(st.evaluations("bg")) >= seen[-1]
        time.sleep(0.005)
    t.join()
    assert out["r"].run_id == "bg" and st.run("bg")["evaluations"] == 150 and seen == sorted(seen)
    assert len(st.evaluations("bg")) == 150


def test_memory_store():
    st = open_store(":memory:")
    res = search("nb201", "local", "synthetic", budget=10, store=st)
    assert len(st.evaluations(res.run_id)) == 10 and st.run(res.run_id)["status"] == "finished"


# ---------------------------------------------------------------------- kill -9
CHILD = r"""
import sys
from nasbench_lab import search
path, strategy, run_id, budget = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
def report(ev):                       # subscribed after the store: printed => committed
    if ev.kind == "evaluation":
        print(ev.payload["index"], flush=True)
search("nb201", strategy, "synthetic", budget=budget, seed=11, store=path, run_id=run_id, on_event=report,
       estimator_options={"delay": 0.01})
"""


@pytest.mark.parametrize("strategy", ["evolution", "reinforce"])
def test_kill_9_then_resume_loses_and_repeats_nothing(tmp_path, strategy):
    budget, kill_after = 90, 30
    path = tmp_path / "k.sqlite"
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(path), strategy, "killed", str(budget)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    reported = []
    try:
        for line in proc.stdout:
            reported.append(int(line))
            if reported[-1] >= kill_after:
                os.kill(proc.pid, signal.SIGKILL)          # in the middle of the run, mid-evaluation
                break
        reported += [int(x) for x in proc.stdout.read().split()]
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read()
    st = open_store(path)
    run = st.run("killed")
    rows = st.evaluation_rows("killed")
    assert run["status"] == "running" and kill_after < len(rows) < budget
    assert [r["idx"] for r in rows] == list(range(len(rows)))               # contiguous, no duplicates
    lost = set(reported) - {r["idx"] for r in rows}
    assert lost == set(), f"{len(lost)} evaluations lost"                       # the figure: 0
    before = len(rows)

    res = resume("killed", st)
    full = search("nb201", strategy, "synthetic", budget=budget, seed=11)      # never interrupted
    assert _archs(res.evaluations) == _archs(full.evaluations)
    assert _archs(st.evaluations("killed")) == _archs(full.evaluations)         # none lost, none repeated
    assert res.best.arch == full.best.arch and st.run("killed")["status"] == "finished"
    assert [r["attempt"] for r in st.evaluation_rows("killed")] == [1] * before + [2] * (budget - before)
    kind, key = ("population", "generation") if strategy == "evolution" else ("controller", "step")
    steps = [e.payload[key] for e in st.events("killed", kind)]
    assert steps == sorted(set(steps)) and len(steps) == (budget if kind == "population" else budget // 5)


# ---------------------------------------------------------------------- CLI: runs, show, resume
def test_cli_runs_show_resume(tmp_path, capsys, monkeypatch):
    from nasbench_lab.cli import main
    monkeypatch.chdir(tmp_path)                       # no default store here (nasbench_runs.sqlite)
    monkeypatch.delenv("NASBENCH_LAB_STORE", raising=False)
    db = str(tmp_path / "cli.sqlite")
    assert main(["search", "--space", "nb201", "--strategy", "evolution", "--estimator", "synthetic", "--budget", "30",
                 "--store", db, "--objective", "flops<=30M", "--json"]) == 0
    rid = json.loads(capsys.readouterr().out)["run_id"]
    assert main(["runs", "--store", db, "--json"]) == 0
    (run,) = json.loads(capsys.readouterr().out)
    assert set(run) >= {"run_id", "space", "strategy", "estimator", "status", "evaluations", "best"}
    assert run["run_id"] == rid and run["status"] == "finished" and run["evaluations"] == 30
    assert main(["show", rid[:5], "--store", db, "--json", "--export", str(tmp_path / "r.json")]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["config"]["objective"] == "flops<=30000000" and shown["events"]["population"] == 30
    assert (tmp_path / "r.json").is_file()
    assert main(["resume", rid, "--store", db, "--budget", "45", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["evaluations"] == 45
    for bad in (["show", rid], ["runs", "--store", str(tmp_path / "none.sqlite")], ["show", "nope", "--store", db],
                ["resume", rid, "--store", db, "--budget", "5"],
                ["search", "--estimator", "synthetic", "--objective", "flops<1"],
                ["search", "--estimator", "synthetic", "--executor", "gpu"],
                ["search", "--estimator", "synthetic", "--ray-address", "x:1"]):
        assert main(bad) == 2, bad
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err and err.startswith("nasbench-lab"), (bad, err)


def test_rare_events_are_committed_at_once(tmp_path):
    """A one-shot run emits epochs for minutes before any evaluation: each must be durable on arrival."""
    from nasbench_lab.events import EventBus
    st = open_store(tmp_path / "e.sqlite")
    bus = EventBus("oneshot")
    st.attach(bus, {"space": "nb201", "strategy": "darts", "estimator": "synthetic", "budget": 3, "seed": 0})
    bus.emit("run_started", budget=3)
    bus.emit("epoch", epoch=1, of=3)
    bus.emit("alphas", epoch=1, weights=[[0.2] * 5])
    reader = open_store(tmp_path / "e.sqlite")                     # another connection sees them committed
    assert [e.kind for e in reader.events("oneshot")] == ["run_started", "epoch", "alphas"]
