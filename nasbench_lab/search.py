"""``search(...)``: the one entry point that the CLI, the widgets and the notebooks all call.

It resolves names to objects (space, strategy, estimator), validates the input with errors that name the
problem, wires the event bus (store, progress bar, widgets subscribe to it), runs the strategy and returns
a ``SearchResult``. It prints nothing.
"""
from __future__ import annotations

import json
import random
import time
import uuid
from dataclasses import dataclass, field

from .estimators import Evaluation, Fidelity, get_estimator
from .events import EventBus, StopFlag
from .objectives import objective_spec, parse_objective
from .spaces import get_space
from .strategies import RunContext, default_objective, get_strategy, run_strategy, strategy_class


@dataclass
class SearchResult:
    run_id: str
    space: str
    strategy: str
    estimator: str
    best: Evaluation | None
    evaluations: list = field(default_factory=list)
    seconds: float = 0.0
    stopped: bool = False
    """True when the run ended early because the stop flag was set."""

    def to_json_dict(self) -> dict:
        best = None
        if self.best is not None:
            best = {"arch": self.best.arch, "val_acc": self.best.val_acc, "test_acc": self.best.test_acc}
        return {"run_id": self.run_id, "space": self.space, "strategy": self.strategy, "estimator": self.estimator,
                "best": best, "evaluations": len(self.evaluations), "seconds": round(self.seconds, 3)}

    def to_json(self) -> str:
        return json.dumps(self.to_json_dict())


def _check_budget(budget) -> int:
    if isinstance(budget, bool) or not isinstance(budget, int) or budget <= 0:
        raise ValueError(f"budget must be a positive integer, got {budget!r}")
    return budget


def search(space="nb201", strategy="random", estimator="train", budget: int = 10, dataset: str = "fashion-mnist",
           device="auto", seed: int = 0, store=None, on_event=None, stop=None, strategy_options: dict | None = None,
           estimator_options: dict | None = None, objective=None, run_id: str | None = None, replay=None,
           executor=None) -> SearchResult:
    """Run one architecture search and return its result.

    space, strategy, estimator: names (see ``list_spaces()``, ``list_strategies()``, ``list_estimators()``)
    or ready objects. budget: evaluations for multi-trial strategies, supernet epochs for one-shot ones.
    on_event: a callable or list of callables receiving every ``Event``. stop: a ``StopFlag`` (or anything
    with ``is_set``) to end the run early. store: a path or ``Store``; the run and every evaluation are
    written as they happen. objective: what to maximise, a callable on an Evaluation or a text spec such
    as ``'flops<=20e6'`` (see objectives.py). executor: None (in this process), "process", "ray" or an
    executor object (executors.py). replay: stored evaluations re-told without re-evaluation (resume).
    Raises ValueError (with a message naming the problem) on bad input.
    """
    budget = _check_budget(budget)
    space_obj = get_space(space)
    strategy_name = strategy if isinstance(strategy, str) else strategy.name
    strategy_class(strategy_name) if isinstance(strategy, str) else None      # validates the name early
    est_opts = {"dataset": dataset, "device": device, **(estimator_options or {})}
    est = get_estimator(estimator, **est_opts)
    objective_fn = parse_objective(objective)
    spec = objective_spec(objective_fn) or ""
    if "latency_ms" in spec and isinstance(getattr(est, "fidelity", None), Fidelity):
        est.fidelity.latency = True            # a latency objective needs the training estimator to measure it
    run_id = run_id or uuid.uuid4().hex[:12]
    bus = EventBus(run_id)
    stop = stop if stop is not None else StopFlag()
    from .executors import get_executor
    executor_obj = get_executor(executor) if executor is not None else None
    config = {"space": space_obj.name, "strategy": strategy_name, "estimator": est.name, "budget": budget,
              "dataset": dataset, "device": str(device), "seed": seed, "strategy_options": strategy_options or {},
              "estimator_options": estimator_options or {}, "estimator_config": est.describe(),
              "objective": objective_spec(objective_fn),
              "executor": executor_obj.name if executor_obj is not None else "inprocess"}
    store_obj = None
    if store is not None:
        from .store import open_store                 # the SQLite store subscribes like any consumer
        store_obj = open_store(store)
        # Subscribed first, so any evaluation another consumer has seen is already committed.
        store_obj.attach(bus, config, replayed=len(replay or []))
    for fn in (on_event if isinstance(on_event, (list, tuple)) else [on_event] if on_event else []):
        bus.subscribe(fn)
    rng = random.Random(seed)
    strat = get_strategy(strategy_name, space_obj, rng, bus.emit, **(strategy_options or {})) \
        if isinstance(strategy, str) else strategy
    ctx = RunContext(space_obj, est, budget, seed, bus.emit, stop, rng, objective_fn or default_objective,
                     list(replay or []), device=getattr(est, "device", None))
    if executor_obj is not None:
        ctx.executor = executor_obj
        # Worker processes rebuild space and estimator from names and JSON-able options.
        ctx.recipe = {"space": space_obj.name, "estimator": est.name if isinstance(estimator, str) else None,
                      "estimator_options": est_opts}
    bus.emit("run_started", space=space_obj.name, strategy=strategy_name, estimator=est.name, budget=budget,
             seed=seed, config=config)
    finished = []                                     # evaluations done, for the run_failed payload
    bus.subscribe(lambda ev: finished.append(1) if ev.kind == "evaluation" else None)
    t0 = time.perf_counter()
    try:
        tracker = run_strategy(strat, ctx)
    except BaseException as exc:
        bus.emit("run_failed", error=f"{type(exc).__name__}: {exc}".splitlines()[0], evaluations=len(finished))
        raise
    finally:
        if executor_obj is not None and executor_obj is not executor:
            executor_obj.close()                      # we made it from a name: release its workers
    seconds = time.perf_counter() - t0
    best = tracker.best
    bus.emit("run_finished", best_arch=best.arch if best else None, best_val_acc=best.val_acc if best else None,
             best_test_acc=best.test_acc if best else None, evaluations=len(tracker.evaluations), seconds=seconds,
             stopped=bool(stop.is_set()))
    return SearchResult(run_id, space_obj.name, strategy_name, est.name, best, tracker.evaluations, seconds,
                        bool(stop.is_set()))
