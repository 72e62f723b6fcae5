"""Executors and the asynchronous driver: threads (a test double), local processes, a real local Ray."""
from __future__ import annotations

import concurrent.futures as cf
import importlib.util
import os
import threading
import time

import pytest

from nasbench_lab import StopFlag, get_space, open_store, resume, search
from nasbench_lab.estimators import Estimator
from nasbench_lab.executors import Executor, ExecutorError, ProcessExecutor, get_executor, list_executors
from nasbench_lab.estimators.synthetic import SyntheticEstimator


class ThreadExecutor(Executor):
    """Evaluations in threads: several in flight, completion order decided by the OS, counts kept.

    hold: the first evaluations wait (30 s at most, once) until ``slots`` are in flight at once. Why: a
    millisecond evaluation can finish before a loaded CI machine lets the driver submit the next one,
    so "the driver keeps several in flight" must not hang on timing; a driver that submits one at a
    time never fills the slots and the test still fails.
    """

    name = "threads"

    def __init__(self, slots: int, hold: bool = False):
        self.slots = slots
        self.pool = cf.ThreadPoolExecutor(slots)
        self.in_flight = self.max_in_flight = 0
        self.lock = threading.Lock()
        self.full = threading.Event()
        if not hold:
            self.full.set()

    def _run(self, ctx, arch):
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            if self.in_flight == self.slots:
                self.full.set()
        if not self.full.wait(timeout=30):
            self.full.set()                            # never filled: fail once, do not hang every task
        try:
            return ctx.estimator.evaluate(ctx.space, arch, seed=ctx.seed)
        finally:
            with self.lock:
                self.in_flight -= 1

    def submit(self, ctx, arch):
        return self.pool.submit(self._run, ctx, arch)

    def close(self):
        self.pool.shutdown(wait=True)


def test_registry_and_errors():
    assert list_executors() == ["inprocess", "process", "ray"]
    with pytest.raises(ExecutorError, match="unknown executor 'gpu'"):
        search("nb201", "random", "synthetic", budget=2, executor="gpu")
    with pytest.raises(ExecutorError, match="workers"):
        ProcessExecutor(workers=0)
    with pytest.raises(ExecutorError, match="bad option"):
        get_executor("process", cores=3)
    with pytest.raises(ExecutorError, match="estimator by name"):
        search("nb201", "random", SyntheticEstimator(), budget=2, executor=ProcessExecutor(2))


def test_inprocess_executor_is_the_default_behaviour():
    a = search("nb201", "evolution", "synthetic", budget=30, seed=4)
    b = search("nb201", "evolution", "synthetic", budget=30, seed=4, executor="inprocess")
    assert [e.arch for e in a.evaluations] == [e.arch for e in b.evaluations]


@pytest.mark.parametrize("strategy", ["evolution", "random", "reinforce", "predictor"])
def test_asynchronous_driver_keeps_several_in_flight(strategy):
    ex = ThreadExecutor(3, hold=True)
    with ex:
        res = search("nb201", strategy, "synthetic", budget=40, seed=0, executor=ex,
                     estimator_options={"delay": 0.003})
    assert len(res.evaluations) == 40 and ex.max_in_flight == 3
    sp = get_space("nb201")
    assert all(sp.check(e.arch) is e.arch for e in res.evaluations)         # architecture values


def test_sequential_strategy_gets_one_at_a_time_through_any_executor():
    ex = ThreadExecutor(3)
    with ex:
        res = search("nb201", "local", "synthetic", budget=20, seed=0, executor=ex)
    assert ex.max_in_flight == 1
    assert [e.arch for e in res.evaluations] == [e.arch for e in search("nb201", "local", "synthetic", budget=20,
                                                                          seed=0).evaluations]


def test_asynchronous_stop_and_resume_lose_and_repeat_nothing(tmp_path):
    st = open_store(tmp_path / "a.sqlite")
    stop = StopFlag()
    ex = ThreadExecutor(4)
    with ex:
        part = search("nb201", "evolution", "synthetic", budget=60, seed=1, executor=ex, store=st, stop=stop,
                      estimator_options={"delay": 0.002},
                      on_event=lambda ev: stop.set() if ev.kind == "evaluation" and ev.payload["index"] == 19 else None)
        n = len(part.evaluations)
        assert 20 <= n <= 23 and st.run(part.run_id)["status"] == "stopped"   # in-flight ones finished or dropped
        first = [e.arch for e in st.evaluations(part.run_id)]
        res = resume(part.run_id, st, executor=ex)
    rows = st.evaluation_rows(part.run_id)
    assert len(res.evaluations) == 60 and [r["idx"] for r in rows] == list(range(60))
    assert [r["arch"] for r in rows[:n]] == [str(a) for a in first]              # kept, not repeated
    assert [e.arch for e in res.evaluations[:n]] == first
    gens = [e.payload["generation"] for e in st.events(part.run_id, "population")]
    assert gens == list(range(1, 61))                                          # replayed snapshots not duplicated


class _Boom(Estimator):
    name = "boom"

    def evaluate(self, space, arch, seed=0, emit=None, stop=None):
        raise RuntimeError("worker exploded")


def test_a_worker_error_fails_the_run(tmp_path):
    st = open_store(tmp_path / "b.sqlite")
    with ThreadExecutor(2) as ex, pytest.raises(RuntimeError, match="exploded"):
        search("nb201", "evolution", _Boom(), budget=5, executor=ex, store=st, run_id="boom")
    assert st.run("boom")["status"] == "failed" and "exploded" in st.run("boom")["error"]


def test_process_executor_two_workers():
    with ProcessExecutor(workers=2) as ex:
        def evolve():
            return search("nb201", "evolution", "synthetic", budget=30, seed=2, executor=ex,
                          estimator_options={"delay": 0.01}, strategy_options={"population": 6, "sample": 2})
        res = evolve()
        assert len(res.evaluations) == 30
        # Both worker processes serve the pool. Why more searches may be needed: a spawned worker
        # imports torch first, and on a loaded machine one worker can finish a whole short search
        # before the other is ready; the same pool (same recipe) is reused until both have answered.
        workers, deadline = {e.metrics["worker"] for e in res.evaluations}, time.monotonic() + 120
        while len(workers) < 2 and time.monotonic() < deadline:
            workers |= {e.metrics["worker"] for e in evolve().evaluations}
        assert len(workers) == 2 and all(w.rsplit(":", 1)[1] != str(os.getpid()) for w in workers)
        # A sequential strategy through worker processes gives exactly the in-process result.
        seq = search("nb201", "local", "synthetic", budget=15, seed=2, executor=ex)
    ref = search("nb201", "local", "synthetic", budget=15, seed=2)
    assert [(e.arch, e.val_acc) for e in seq.evaluations] == [(e.arch, e.val_acc) for e in ref.evaluations]


@pytest.mark.ray
@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="ray is not installed (the distributed extra)")
def test_ray_evolution_with_two_workers(tmp_path):
    from nasbench_lab.executors import RayExecutor
    st = open_store(tmp_path / "ray.sqlite")
    with RayExecutor(workers=2, num_cpus=1, init_options={"num_cpus": 2}) as ex:
        res = search("nb201", "evolution", "synthetic", budget=24, seed=0, executor=ex, store=st,
                     estimator_options={"delay": 0.02}, strategy_options={"population": 6, "sample": 2})
    assert len(res.evaluations) == 24
    assert len({e.metrics["worker"] for e in res.evaluations}) == 2              # two Ray workers did the work
    run = st.run(res.run_id)
    assert run["status"] == "finished" and run["evaluations"] == 24 and run["config"]["executor"] == "ray"
    assert len(st.events(res.run_id, "population")) == 24


def test_unreachable_ray_address_fails_fast_with_a_clear_error():
    from nasbench_lab.executors import ExecutorError, _check_reachable
    with pytest.raises(ExecutorError, match="cannot reach the Ray cluster at 127.0.0.1:1"):
        _check_reachable("127.0.0.1:1", timeout=2)
    with pytest.raises(ExecutorError, match="must look like HOST:PORT"):
        _check_reachable("nonsense")
    _check_reachable("auto")                    # Ray's own discovery: not ours to check


def test_ray_address_ports_are_checked_in_words_before_anything_starts():
    from nasbench_lab.executors import ExecutorError, RayExecutor, parse_ray_address
    assert parse_ray_address("10.0.0.5:6379") == ("10.0.0.5", 6379)
    assert parse_ray_address("ray://head:10001") == ("head", 10001)
    assert parse_ray_address("[::1]:6379") == ("::1", 6379)
    assert parse_ray_address(":6379") == ("127.0.0.1", 6379)
    assert parse_ray_address("auto") is None
    # '²' and '٣' pass str.isdigit(); int() refuses the first with a raw message and reads the second as 3
    for port in ("²", "٣", "0", "65536", "-1", "+1", "", "6379x", " 6379"):
        with pytest.raises(ExecutorError, match="the port must be a number from 1 to 65535"):
            parse_ray_address(f"host:{port}")
    with pytest.raises(ExecutorError, match=r"ray address 'host:²': the port must be a number from 1 to 65535"):
        RayExecutor(workers=1, address="host:²")          # at construction: no run is created first
