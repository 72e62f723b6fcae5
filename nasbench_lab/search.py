"""``search(...)``: the one entry point that the CLI, the widgets and the notebooks all call.

It resolves names to objects (space, strategy, estimator), validates the input with errors that name the
problem, wires the event bus (store, progress bar, widgets subscribe to it), runs the strategy and returns
a ``SearchResult``. It prints nothing.
"""
from __future__ import annotations

import json
import os
import random
import socket
import sqlite3
import time
import uuid
from dataclasses import dataclass, field

from .config import short
from .errors import ObjectiveError, StrategyError
from .estimators import Evaluation, Fidelity, get_estimator
from .events import EventBus, StopFlag
from .executors import get_executor
from .objectives import objective_spec, parse_objective
from .spaces import get_space
from .store import StoreError, open_store, pid_alive
from .storefile import sqlite_message
from .strategies import RunContext, default_objective, get_strategy, run_strategy, strategy_class
from .train import resolve_device


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
            best = {"arch": str(self.best.arch), "val_acc": self.best.val_acc, "test_acc": self.best.test_acc}
        return {"run_id": self.run_id, "space": self.space, "strategy": self.strategy, "estimator": self.estimator,
                "best": best, "evaluations": len(self.evaluations), "seconds": round(self.seconds, 3)}

    def to_json(self) -> str:
        return json.dumps(self.to_json_dict())


ESTIMATE_FROM = 25
"""Multi-trial runs of at least this many evaluations time one training step first and report
``estimated_seconds`` in their ``run_started`` event (the CLI warns when that is long)."""


def format_duration(seconds: float) -> str:
    """A duration for people: "40 s", "12 min", "3 h", "2 days" (used by the CLI's note and the Lab)."""
    for unit, size in (("years", 365 * 86400), ("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= 2 * size:
            return f"{seconds / size:,.0f} {unit}"
    return f"{seconds:.0f} s"


MAX_BUDGET = 10_000_000
"""More evaluations (or epochs) than anyone can mean; a typo such as 1000000000 is refused, not run."""


def _check_budget(budget) -> int:
    if isinstance(budget, bool) or not isinstance(budget, int) or budget <= 0:
        raise ValueError(f"budget must be a positive integer, got {short(budget)}")
    if budget > MAX_BUDGET:
        raise ValueError(f"budget {budget:,} is more than the {MAX_BUDGET:,} evaluations (or epochs) a run may have")
    return budget


def _check_time_budget(seconds) -> float | None:
    if seconds is None:
        return None
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 < seconds < float("inf"):
        raise ValueError(f"time_budget must be a positive number of seconds, got {short(seconds)}")
    return float(seconds)


def _check_fidelity(strategy, estimator, space, executor) -> None:
    """A multi-fidelity strategy needs an estimator that trains for a chosen number of epochs."""
    if not getattr(strategy, "multi_fidelity", False):
        return
    top = estimator.max_epochs(space)
    if top is None and getattr(estimator, "no_epochs_reason", None):
        raise StrategyError(f"strategy {strategy.name!r} trains candidates for chosen numbers of epochs, but "
                            f"{estimator.no_epochs_reason}")
    if top is None:
        why = " (its epoch option fixes one)" if getattr(estimator, "epoch", None) is not None else ""
        raise StrategyError(f"strategy {strategy.name!r} trains candidates for chosen numbers of epochs; estimator "
                            f"{estimator.name!r} cannot{why}: use table, train or lowfi")
    if executor is not None and getattr(executor, "slots", 1) > 1:
        raise StrategyError(f"strategy {strategy.name!r} runs its rungs one after another in this process; "
                            f"drop the executor")
    strategy.set_max_epochs(top)


def _check_objective_and_time(strategy, estimator, objective, time_budget, one_shot: bool) -> None:
    """Refused before anything runs, not after the first training: an accuracy to maximise that the
    estimator does not report, and a time budget for a strategy that has no evaluations to stop between."""
    score = getattr(objective, "score", "val_acc")
    if score != "val_acc" and score not in getattr(estimator, "scores", ()):
        raise ObjectiveError(f"the objective maximises {score!r}, which the {estimator.name!r} estimator does not "
                             f"report; the hardware accuracies come from the CIFAR-10 table: --estimator table "
                             f"--dataset cifar10")
    if one_shot and time_budget is not None:
        raise StrategyError(f"a time budget stops a multi-trial search between evaluations; {strategy.name!r} "
                            f"trains one supernet for `budget` epochs: set fewer epochs instead")


def check_seed(seed) -> int:
    """Seeds are integers in [0, 2**63): torch and SQLite store them as 64-bit integers."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2 ** 63:
        raise ValueError(f"seed must be an integer from 0 to 2**63-1, got {short(seed)}")
    return seed


def search(space="nb201", strategy="random", estimator="train", budget: int = 10, dataset: str = "fashion-mnist",
           device="auto", seed: int = 0, store=None, on_event=None, stop=None, strategy_options: dict | None = None,
           estimator_options: dict | None = None, objective=None, run_id: str | None = None, replay=None,
           executor=None, time_budget: float | None = None) -> SearchResult:
    """Run one architecture search and return its result.

    space, strategy, estimator: names (see ``list_spaces()``, ``list_strategies()``, ``list_estimators()``)
    or ready objects. budget: evaluations for multi-trial strategies, supernet epochs for one-shot ones.
    on_event: a callable or list of callables receiving every ``Event``. stop: a ``StopFlag`` (or anything
    with ``is_set``) to end the run early. store: a path or ``Store``; the run and every evaluation are
    written as they happen. objective: what to maximise, a callable on an Evaluation or a text spec such
    as ``'flops<=20e6'`` (see objectives.py). executor: None (in this process), "process", "ray" or an
    executor object (executors.py). replay: stored evaluations re-told without re-evaluation (resume).
    time_budget: multi-trial runs also stop once their evaluations' summed cost reaches this many
    seconds (simulated seconds with the ``table`` estimator, as NATS-Bench races do).
    Raises ValueError (with a message naming the problem) on bad input.
    """
    budget = _check_budget(budget)
    seed = check_seed(seed)
    time_budget = _check_time_budget(time_budget)
    if isinstance(device, str):
        resolve_device(device)                       # a bad device name is refused whatever the estimator
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
    executor_obj = get_executor(executor) if executor is not None else None
    config = {"space": space_obj.name, "strategy": strategy_name, "estimator": est.name, "budget": budget,
              "dataset": dataset, "device": str(device), "seed": seed, "strategy_options": strategy_options or {},
              "estimator_options": estimator_options or {}, "estimator_config": est.describe(),
              "objective": objective_spec(objective_fn), "time_budget": time_budget,
              "executor": executor_obj.name if executor_obj is not None else "inprocess"}
    rng = random.Random(seed)
    # Built before the store attaches: a rejected option must not leave a run marked "running" forever.
    strat = get_strategy(strategy_name, space_obj, rng, bus.emit, **(strategy_options or {})) \
        if isinstance(strategy, str) else strategy
    one_shot = getattr(strat, "family", "multi-trial") == "one-shot"
    try:
        _check_fidelity(strat, est, space_obj, executor_obj)
        _check_objective_and_time(strat, est, objective_fn, time_budget, one_shot)
    except ValueError:
        if executor_obj is not None and executor_obj is not executor:
            executor_obj.close()
        raise
    store_obj = None
    if store is not None:
        store_obj = open_store(store)                 # the SQLite store subscribes like any consumer
        # Subscribed first, so any evaluation another consumer has seen is already committed.
        store_obj.attach(bus, config, replayed=len(replay or []))
    finished = []                                     # evaluations done, for the run_failed payload
    t0 = time.perf_counter()
    # Why the try starts here, before run_started: from the moment the store holds the run, anything
    # that fails (a dataset missing when the estimate times a step, a store that cannot write) must
    # mark it failed, or it would read "running" forever and refuse to be resumed.
    try:
        for fn in (on_event if isinstance(on_event, (list, tuple)) else [on_event] if on_event else []):
            bus.subscribe(fn)
        ctx = RunContext(space_obj, est, budget, seed, bus.emit, stop, rng, objective_fn or default_objective,
                         list(replay or []), device=getattr(est, "device", None), time_budget=time_budget)
        if executor_obj is not None:
            ctx.executor = executor_obj
            # Worker processes rebuild space and estimator from names and JSON-able options.
            ctx.recipe = {"space": space_obj.name, "estimator": est.name if isinstance(estimator, str) else None,
                          "estimator_options": est_opts}
        # Why an estimate before a large run: "budget 5000" at a training fidelity is days of CPU; the user
        # should read that before it starts, not infer it from a progress bar an hour later.
        estimate = None
        if budget >= ESTIMATE_FROM and not one_shot and not replay:
            per = est.estimate_seconds(space_obj)
            estimate = None if per is None else per * budget
            if estimate is not None and time_budget is not None:
                estimate = min(estimate, time_budget)   # the run stops there (estimators charge seconds)
        bus.subscribe(lambda ev: finished.append(1) if ev.kind == "evaluation" else None)
        bus.emit("run_started", space=space_obj.name, strategy=strategy_name, estimator=est.name, budget=budget,
                 seed=seed, config=config, estimated_seconds=estimate)
        tracker = run_strategy(strat, ctx)
    except BaseException as exc:
        bus.emit("run_failed", error=f"{type(exc).__name__}: {exc}".splitlines()[0], evaluations=len(finished))
        if isinstance(exc, sqlite3.Error):            # the store could not record: one line, not a traceback
            raise StoreError(f"the run stopped because the store could not record it ({sqlite_message(exc)}); "
                             f"what it recorded before is kept, `resume` continues the run") from None
        raise
    finally:
        if executor_obj is not None and executor_obj is not executor:
            executor_obj.close()                      # we made it from a name: release its workers
    seconds = time.perf_counter() - t0
    best = tracker.best
    # Stopped: the flag ended the run early. Why not just the flag: a Ctrl-C during the last evaluation
    # sets it too, and a run with its whole budget done is finished, not waiting to be resumed.
    stopped = bool(stop.is_set()) and (one_shot or len(tracker.evaluations) < budget)
    bus.emit("run_finished", best_arch=space_obj.to_str(best.arch) if best else None, best_val_acc=best.val_acc if best else None,
             best_test_acc=best.test_acc if best else None, evaluations=len(tracker.evaluations), seconds=seconds,
             stopped=stopped)
    return SearchResult(run_id, space_obj.name, strategy_name, est.name, best, tracker.evaluations, seconds, stopped)


def resume(run_id: str, store, budget: int | None = None, executor=None, on_event=None, stop=None, objective=None,
           time_budget: float | None = None):
    """Continue an interrupted (or finished, with a larger ``budget`` or ``time_budget``) run; returns its
    ``SearchResult``.

    The search is rebuilt from the stored config and seed; stored evaluations are replayed, not redone,
    and new ones are appended to the same run id.
    """
    st = open_store(store)
    info = st.run(run_id)
    run_id, cfg = info["run_id"], info["config"]
    if run_id in st._active:
        raise StoreError(f"run {run_id!r} is being recorded right now; stop it before resuming")
    if (info["status"] == "running" and info["host"] == socket.gethostname() and info["pid"] != os.getpid()
            and info["pid"] and pid_alive(info["pid"])):
        raise StoreError(f"run {run_id!r} is still running in process {info['pid']}; stop it before resuming")
    if objective is None and cfg.get("objective") is None:
        raise StoreError(f"run {run_id!r} used a custom objective function; pass objective= to resume it")
    if budget is not None and (isinstance(budget, bool) or not isinstance(budget, int) or budget <= 0):
        raise StoreError(f"budget must be a positive integer, got {budget!r}")
    one_shot = strategy_class(cfg["strategy"]).family == "one-shot"     # its budget counts supernet epochs
    if not one_shot and (budget or cfg["budget"]) < info["evaluations"]:
        raise StoreError(f"run {run_id!r} already has {info['evaluations']} evaluations; a budget of "
                         f"{budget or cfg['budget']} cannot continue it")
    return search(space=cfg["space"], strategy=cfg["strategy"], estimator=cfg["estimator"],
                  budget=budget or cfg["budget"], dataset=cfg.get("dataset", "fashion-mnist"),
                  device=cfg.get("device", "auto"), seed=cfg["seed"], store=st,
                  strategy_options=cfg.get("strategy_options") or None,
                  estimator_options=cfg.get("estimator_options") or None,
                  objective=objective if objective is not None else cfg["objective"], run_id=run_id,
                  replay=st.evaluations(run_id, cfg["space"]), executor=executor, on_event=on_event, stop=stop,
                  time_budget=time_budget if time_budget is not None else cfg.get("time_budget"))
