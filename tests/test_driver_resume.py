"""The driver's resume and best-so-far (strategies/base.py) and the store's recorder that follows it.

* an asynchronous run (results in completion order) resumed with several slots or with one proposes
  new architectures, and where the completion order is deterministic it ends exactly where an
  uninterrupted run ends;
* a resumed run whose strategy no longer asks what is stored is refused in one line, and the store
  never holds more evaluations than the run, nor repeats;
* NaN and missing objectives rank below every real result; partial evaluations below full ones, in
  the run's result and in the store alike.
"""
from __future__ import annotations

import dataclasses
import math
import sqlite3

import pytest

from nasbench_lab import EventBus, open_store, resume, search
from nasbench_lab.errors import StoreError
from nasbench_lab.estimators import Evaluation
from nasbench_lab.estimators.synthetic import SyntheticEstimator
from nasbench_lab.events import Event
from nasbench_lab.executors import Executor
from nasbench_lab.strategies.base import Tracker, rank_key


class LifoExecutor(Executor):
    """Several slots in this process, and a deterministic completion order that is not the order asked:
    of the evaluations in flight, the one submitted last finishes first (as a fast candidate overtakes
    slow ones on real workers). ``submit`` (the base class) evaluates at once into a done future."""

    name = "lifo"

    def __init__(self, slots: int):
        self.slots = slots

    def wait(self, futures, timeout=None):
        return futures[-1:]


class CrashAt(SyntheticEstimator):
    """Fails on its n-th evaluation: a run that dies in the middle (the store keeps what was told)."""

    def __init__(self, n: int, **options):
        super().__init__(**options)
        self.calls, self.n = 0, n

    def evaluate(self, space, arch, seed=0, emit=None, stop=None, **kw):
        self.calls += 1
        if self.calls == self.n:
            raise RuntimeError("simulated crash")
        return super().evaluate(space, arch, seed=seed, **kw)


def _archs(evaluations) -> list[str]:
    return [str(e.arch) for e in evaluations]


def _stored(st, run_id) -> list[str]:
    return [r["arch"] for r in st.evaluation_rows(run_id)]


def _crashed_run(st, strategy, executor, crash_at: int, budget=12, run_id="crashed", **kw) -> int:
    with pytest.raises(RuntimeError, match="simulated crash"):
        search("nb201", strategy, CrashAt(crash_at), budget=budget, seed=3, store=st, run_id=run_id, executor=executor,
               **kw)
    return len(st.evaluation_rows(run_id))


def _continue(st, strategy, executor, budget=12, run_id="crashed", **kw):
    """``resume`` for a run whose estimator is an object (the store cannot rebuild it by name)."""
    return search("nb201", strategy, SyntheticEstimator(), budget=budget, seed=3, store=st, run_id=run_id,
                  replay=st.evaluations(run_id), executor=executor, **kw)


# ---------------------------------------------------------------------- asynchronous resume
def test_asynchronous_resume_ends_where_an_uninterrupted_run_ends(tmp_path):
    """Random search's proposals do not depend on results, and LIFO completion is deterministic: the
    resumed run must evaluate exactly what the uninterrupted one does, in the same order."""
    full = search("nb201", "random", SyntheticEstimator(), budget=12, seed=3, executor=LifoExecutor(3))
    asked = _archs(search("nb201", "random", "synthetic", budget=12, seed=3).evaluations)    # one at a time
    assert _archs(full.evaluations) != asked and sorted(_archs(full.evaluations)) == sorted(asked)
    st = open_store(tmp_path / "a.sqlite")
    kept = _crashed_run(st, "random", LifoExecutor(3), crash_at=8)     # 2 were in flight: dropped
    assert 0 < kept < 8
    res = _continue(st, "random", LifoExecutor(3))
    assert _archs(res.evaluations) == _archs(full.evaluations)
    assert _stored(st, "crashed") == _archs(full.evaluations)            # nothing repeated, nothing lost


@pytest.mark.parametrize("slots", [3, 1])
def test_resuming_a_parallel_run_proposes_new_architectures(tmp_path, slots):
    """A finished parallel run (stored in completion order) extended with as many slots, or in this
    process one at a time (the sequential driver): 12 distinct evaluations, the uninterrupted run's."""
    first = search("nb201", "random", "synthetic", budget=6, seed=3, store=tmp_path / "p.sqlite",
                   executor=LifoExecutor(3))
    st = open_store(tmp_path / "p.sqlite")
    res = resume(first.run_id, st, budget=12, executor=LifoExecutor(slots) if slots > 1 else None)
    stored = _stored(st, first.run_id)
    assert stored[:6] == _archs(first.evaluations) and _archs(res.evaluations) == stored
    assert len(stored) == len(set(stored)) == 12 and st.run(first.run_id)["evaluations"] == 12
    full = search("nb201", "random", "synthetic", budget=12, seed=3, executor=LifoExecutor(3))
    assert sorted(stored) == sorted(_archs(full.evaluations))


def test_asynchronous_evolution_resumed_one_at_a_time_keeps_the_budget(tmp_path):
    """Evolution's proposals depend on the order results came back, so a resume may propose otherwise
    than the parallel run did; the run still ends with exactly its budget, the stored part kept."""
    st = open_store(tmp_path / "e.sqlite")
    kept = _crashed_run(st, "evolution", LifoExecutor(4), crash_at=30, budget=40, strategy_options={"population": 6})
    first = _stored(st, "crashed")
    res = _continue(st, "evolution", None, budget=40, strategy_options={"population": 6})
    stored = _stored(st, "crashed")
    assert len(res.evaluations) == len(stored) == 40 and stored[:kept] == first
    assert [r["idx"] for r in st.evaluation_rows("crashed")] == list(range(40))


# ---------------------------------------------------------------------- a replay that does not match
def test_a_sequential_replay_that_differs_is_refused_and_the_store_untouched(tmp_path, capsys, monkeypatch):
    from nasbench_lab.cli import main
    monkeypatch.chdir(tmp_path)
    st = open_store(tmp_path / "s.sqlite")
    first = search("nb201", "local", "synthetic", budget=6, seed=2, store=st)
    other = search("nb201", "random", "synthetic", budget=1, seed=99).evaluations[0].arch
    with sqlite3.connect(tmp_path / "s.sqlite") as conn:        # as if the code had changed since then
        conn.execute("UPDATE evaluations SET arch=? WHERE run_id=? AND idx=3", (str(other), first.run_id))
    before = _stored(st, first.run_id)
    with pytest.raises(StoreError, match="cannot resume: evaluation 3 of the run is"):
        resume(first.run_id, st, budget=10)
    assert _stored(st, first.run_id) == before                              # nothing added, nothing repeated
    assert main(["resume", first.run_id, "--store", str(tmp_path / "s.sqlite"), "--budget", "10"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot resume" in err and "Traceback" not in err
    assert _stored(st, first.run_id) == before


def test_the_recorder_refuses_an_evaluation_out_of_place(tmp_path):
    """The store's row number and the run's evaluation index are one evaluation, or nothing is written."""
    st = open_store(tmp_path / "r.sqlite")
    first = search("nb201", "random", "synthetic", budget=3, seed=1, store=st)
    rec = st.attach(EventBus(first.run_id), st.run(first.run_id)["config"], replayed=3)
    payload = {"index": 1, "arch": _archs(first.evaluations)[0], "val_acc": 99.0, "objective": 99.0}
    with pytest.raises(StoreError, match="evaluation 1 arrived where the store expects evaluation 3"):
        rec(Event("evaluation", payload, first.run_id, 0, 0.0))
    assert len(st.evaluation_rows(first.run_id)) == 3 and st.run(first.run_id)["best"]["val_acc"] != 99.0


# ---------------------------------------------------------------------- best so far
def test_rank_key_failed_then_partial_rank_last():
    t = Tracker()
    for obj, partial in [(float("nan"), False), (None, False), (70.0, True), (float("inf"), False), (40.0, False),
                         (55.0, False), (90.0, True)]:
        t.add(Evaluation(f"a{len(t.evaluations)}", obj, metrics={"partial": True} if partial else {}), obj)
    assert t.best.arch == "a5"                       # 55, full: above partial 70 and 90, NaN, None, inf
    assert rank_key(1.0, {"partial": True}) > rank_key(float("nan")) == rank_key(None) == rank_key(-math.inf)
    only_failed = Tracker()
    only_failed.add(Evaluation("x", None), None)
    only_failed.add(Evaluation("y", float("nan")), float("nan"))
    assert only_failed.best.arch == "x"               # no crash; the earlier of equals


class Failing(SyntheticEstimator):
    """Its listed evaluations (1-based) return val_acc = the given value (a NaN loss, a failed read)."""

    def __init__(self, bad: dict):
        super().__init__()
        self.bad, self.calls = bad, 0

    def evaluate(self, space, arch, seed=0, emit=None, stop=None, **kw):
        self.calls += 1
        ev = super().evaluate(space, arch, seed=seed, **kw)
        return dataclasses.replace(ev, val_acc=self.bad[self.calls]) if self.calls in self.bad else ev


@pytest.mark.parametrize("bad", [float("nan"), None])
def test_a_failed_first_result_is_never_best(tmp_path, bad):
    st = open_store(tmp_path / f"{bad}.sqlite")
    res = search("nb201", "random", Failing({1: bad, 3: bad}), budget=5, seed=0, store=st)
    finite = [e for e in res.evaluations if e.val_acc is not None and math.isfinite(e.val_acc)]
    assert len(finite) == 3 and res.best is max(finite, key=lambda e: e.val_acc)
    best = st.run(res.run_id)["best"]
    assert best["arch"] == str(res.best.arch) and best["val_acc"] == res.best.val_acc


class PartialsLookBetter(SyntheticEstimator):
    """Partial (fewer-epoch) scores 50 points above any full one: what a naive 'largest objective' would pick."""

    def evaluate(self, space, arch, seed=0, emit=None, stop=None, epochs=None, continues=0):
        ev = super().evaluate(space, arch, seed=seed, epochs=epochs, continues=continues)
        return dataclasses.replace(ev, val_acc=ev.val_acc + 50) if ev.metrics.get("partial") else ev


@pytest.mark.parametrize("strategy", ["successive_halving", "hyperband"])
def test_the_store_names_the_results_best_not_a_partial_one(tmp_path, strategy):
    st = open_store(tmp_path / "h.sqlite")
    res = search("nb201", strategy, PartialsLookBetter(), budget=40, seed=0, store=st)
    assert any(e.metrics.get("partial") for e in res.evaluations) and not res.best.metrics.get("partial")
    best = st.run(res.run_id)["best"]
    assert best["arch"] == str(res.best.arch) and best["val_acc"] == res.best.val_acc


def test_a_resumed_run_ranks_a_stored_partial_best_below_full_ones(tmp_path):
    """The first attempt dies in the first rung (its best is partial); the resumed one must replace it
    with the first full evaluation, as the run's result does."""

    class Crash(PartialsLookBetter):
        calls = 0

        def evaluate(self, space, arch, seed=0, emit=None, stop=None, epochs=None, continues=0):
            if epochs is not None:                   # one call per evaluation the driver asks for
                Crash.calls += 1
                if Crash.calls == 5:
                    raise RuntimeError("simulated crash")
            return super().evaluate(space, arch, seed=seed, epochs=epochs, continues=continues)

    st = open_store(tmp_path / "sh.sqlite")
    opts = {"n": 8}
    with pytest.raises(RuntimeError, match="simulated crash"):
        search("nb201", "successive_halving", Crash(), budget=30, seed=0, store=st, run_id="sh", strategy_options=opts)
    assert st.run("sh")["best"] is not None and all(e.metrics.get("partial") for e in st.evaluations("sh"))
    res = search("nb201", "successive_halving", PartialsLookBetter(), budget=30, seed=0, store=st, run_id="sh",
                 strategy_options=opts, replay=st.evaluations("sh"))
    assert not res.best.metrics.get("partial")
    best = st.run("sh")["best"]
    assert best["arch"] == str(res.best.arch) and best["val_acc"] == res.best.val_acc
