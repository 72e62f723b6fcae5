"""What a search strategy is, and the driver that runs one.

Two families, one contract for the outside world (events in, a ``SearchResult`` out):

* ``MultiTrialStrategy``: ask/tell. The driver asks for a candidate, has the estimator score it, and
  tells the strategy the result. Because the strategy never calls the estimator itself, every
  multi-trial strategy works with every estimator (real training, low fidelity, a lookup table,
  inherited supernet weights) and the driver alone handles the store, resume and stop.
* ``OneShotStrategy``: owns its loop (it trains a supernet), emits events as it goes, and returns its
  final candidates; the driver then scores those with the chosen estimator, so a one-shot result is
  always reported the same way as a multi-trial one (and, with ``train``, re-trained from scratch).

Strategies hold their own state (population, controller, alphas); the caller owns the random state
(``rng``) and the stop flag. They emit events and never print.
"""
from __future__ import annotations

import math
import random
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable

import torch

from ..config import configure
from ..errors import StoreError, StrategyError
from ..estimators import Estimator, Evaluation
from ..spaces import SearchSpace


def default_objective(ev: Evaluation) -> float:
    """What strategies maximise unless told otherwise: validation accuracy."""
    return ev.val_acc


def rank_key(objective, metrics: dict | None = None) -> tuple:
    """How an evaluation ranks for "best so far": the larger key wins, and a tie keeps the earlier one.

    The run's ``Tracker`` and the store's best (recorder.py) both rank with this one function, so the
    result and the store name the same best. The key is (finite, full fidelity, objective):

    * a NaN or missing objective (a diverged or failed training) ranks below every real result: it is
      the worst result, not an error. Why not compare it as is: NaN is neither larger nor smaller than
      anything, so a NaN first result would stay best forever, and None cannot be compared at all;
    * a partial (fewer-epoch) evaluation ranks below every full one: its accuracy is on another scale
      (one epoch scores far lower) and it has no test accuracy; it leads only until the first
      full-fidelity result arrives.
    """
    finite = objective is not None and math.isfinite(objective)
    return finite, not (metrics or {}).get("partial"), objective if finite else 0.0


@dataclass
class RunContext:
    """Everything a running strategy may use. Built by ``nasbench_lab.search``; owned by the caller."""

    space: SearchSpace
    estimator: Estimator
    budget: int
    """Multi-trial: number of evaluations. One-shot: supernet training epochs."""
    seed: int
    emit: Callable
    """emit(kind, **payload): the run's EventBus."""
    stop: object
    """Anything with ``is_set()``; checked between steps."""
    rng: random.Random
    objective: Callable[[Evaluation], float] = default_objective
    replay: list = field(default_factory=list)
    """Evaluations already in the store (resume): re-told to the strategy instead of re-evaluated."""
    device: object = None
    """torch.device for one-shot strategies (None: the estimator's device or auto)."""
    data: object = None
    """Splits for one-shot strategies (loaded by the driver when a strategy asks for it)."""
    executor: object = None
    """Where evaluations run (executors.py); None: in this process, one at a time."""
    recipe: dict | None = None
    """JSON-able description of space and estimator (names + options) so worker processes rebuild them."""
    time_budget: float | None = None
    """Multi-trial: stop once the evaluations' summed ``cost`` (seconds; simulated for table lookups)
    reaches this, whichever of the two budgets ends first."""


@dataclass(frozen=True)
class Trial:
    """What a multi-fidelity strategy asks for: an architecture trained for ``epochs`` epochs.

    ``continues``: epochs an earlier trial of the same architecture already trained in this run. The
    table charges only the difference (its per-epoch curve comes from one training run, so going on from
    epoch 1 to 2 costs the second epoch); the ``train`` estimator trains the rung from scratch.
    """

    arch: object
    epochs: int
    continues: int = 0


@contextmanager
def one_thread():
    """Run a strategy's own tiny ops (an RL controller's LSTM steps, a zero-cost proxy) on one thread.

    Why: a batch-1 LSTM step is microseconds of math; waking a pool of intra-op threads for each op
    costs more, and on a busy 2-core machine it made sampling ~30x slower. The previous thread count
    is restored at once, so training (estimators) keeps all cores.
    """
    n = torch.get_num_threads()
    if n == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)


class Strategy:
    name = "base"
    family = "multi-trial"
    #: True when ``ask`` may be called again before earlier candidates are told (several evaluations in
    #: flight, in any completion order) and ``tell`` accepts architectures it did not propose (resume).
    asynchronous = False
    #: Short description for menus (the widgets, ``nasbench-lab info``).
    summary = ""
    #: True when ``ask`` returns ``Trial``s (an architecture and a number of epochs), not architectures:
    #: the estimator must be able to train for a chosen number of epochs (``Estimator.max_epochs``).
    multi_fidelity = False
    #: The options dataclass (typed fields, a docstring each, ranges via ``config.option``); None: none.
    config_class: type | None = None

    def __init__(self, space: SearchSpace, rng: random.Random, emit: Callable, **options):
        self.space, self.rng, self.emit = space, rng, emit
        self.config = self.configure(options)

    @classmethod
    def configure(cls, options: dict | None = None):
        """``config_class`` built from ``options``, each value checked against its field (type, range),
        then its ``check()``: anything wrong is a StrategyError naming the option."""
        return configure(cls.config_class, options, f"strategy {cls.name!r}", StrategyError)


class MultiTrialStrategy(Strategy):
    def ask(self):
        """The next architecture to evaluate (a ``Trial`` for multi-fidelity strategies)."""
        raise NotImplementedError

    def tell(self, arch, evaluation: Evaluation, objective: float) -> None:
        """The result of evaluating ``arch`` (objective is what to maximise)."""


class OneShotStrategy(Strategy):
    family = "one-shot"

    def run(self, ctx: RunContext) -> list:
        """Train and search; return the final candidate architectures (best first)."""
        raise NotImplementedError


@dataclass
class Tracker:
    """Best-so-far bookkeeping shared by the driver and the event payloads."""

    evaluations: list = field(default_factory=list)
    best_index: int = -1
    seconds: float = 0.0
    cost: float = 0.0
    """Summed ``cost`` of the evaluations (what a time budget counts)."""
    _best_key: tuple = ()

    def add(self, ev: Evaluation, objective: float) -> None:
        self.evaluations.append(ev)
        self.cost += float(ev.cost or 0.0)
        key = rank_key(objective, ev.metrics)             # failed, then partial results rank last
        if self.best_index < 0 or key > self._best_key:
            self.best_index, self._best_key = len(self.evaluations) - 1, key

    @property
    def best(self) -> Evaluation | None:
        return self.evaluations[self.best_index] if self.best_index >= 0 else None


def emit_evaluation(ctx: RunContext, tracker: Tracker, ev: Evaluation, objective: float, replayed=False,
                    strategy=None):
    tracker.add(ev, objective)
    # Work the strategy itself did (zero-cost scoring) counts toward the run's time, like training does.
    overhead = getattr(strategy, "overhead", None)
    if overhead is not None:
        tracker.cost += float(overhead())
    best, to_str = tracker.best, ctx.space.to_str          # events carry strings: they leave memory
    ctx.emit("evaluation", index=len(tracker.evaluations) - 1, arch=to_str(ev.arch), val_acc=ev.val_acc,
             test_acc=ev.test_acc, cost=ev.cost, metrics=ev.metrics, objective=objective,
             best_arch=to_str(best.arch), best_val_acc=best.val_acc, best_test_acc=best.test_acc,
             elapsed_cost=tracker.cost, replayed=replayed)


def evaluate_one(ctx: RunContext, asked, index: int) -> tuple[Evaluation, bool]:
    """Score ``asked`` (an architecture, or a ``Trial``); reuse the stored evaluation when resuming
    (same position, same architecture, same number of epochs)."""
    trial = asked if isinstance(asked, Trial) else None
    arch = trial.arch if trial else asked
    if index < len(ctx.replay):
        stored = ctx.replay[index]
        if stored.arch == arch and (trial is None or stored.metrics.get("epochs") == trial.epochs):
            return stored, True
        # Why refuse instead of evaluating afresh: the stored evaluations from here on are no longer what
        # this run asks for, and evaluating around them would leave the store with repeats and more
        # evaluations than the budget. Rebuilt from the same seed, a sequential strategy asks the same
        # again, so a difference means that the code, the benchmark or the estimator's randomness changed.
        was, now = ctx.space.to_str(stored.arch), ctx.space.to_str(arch)
        if trial is not None:
            was, now = f"{was} for {stored.metrics.get('epochs')} epochs", f"{now} for {trial.epochs} epochs"
        raise StoreError(f"cannot resume: evaluation {index} of the run is {was}, but the strategy now asks for "
                         f"{now}; the code, the benchmark or the estimator changed since it was recorded "
                         f"(start a new run)")
    if trial is not None:
        return ctx.estimator.evaluate(ctx.space, arch, seed=ctx.seed, stop=ctx.stop, epochs=trial.epochs,
                                      continues=trial.continues), False
    if ctx.executor is not None:
        return ctx.executor.evaluate(ctx, arch), False
    return ctx.estimator.evaluate(ctx.space, arch, seed=ctx.seed, stop=ctx.stop), False


def _out_of_time(ctx: RunContext, tracker: Tracker) -> bool:
    return ctx.time_budget is not None and tracker.cost >= ctx.time_budget


class Proposals:
    """What a resumed asynchronous strategy proposes next (made by ``replay_asynchronous``).

    ``waiting``: candidates the replay asked for that are not in the store (they were in flight when
    the run stopped); they come first. ``owed``: stored candidates told before the strategy asked for
    them; when it asks for one, that ask is passed over, as its result is stored and told already.
    (Evolution counts a passed-over ask as in flight for the rest of the run, which only shortens its
    initial random phase by that many members.)
    """

    def __init__(self, strategy: MultiTrialStrategy):
        self.strategy = strategy
        self.waiting: list = []
        self.owed: Counter = Counter()

    def next(self):
        """The next candidate to evaluate."""
        return self.waiting.pop(0) if self.waiting else self.fresh()

    def fresh(self):
        """The strategy's next candidate that is not owed (at most one ask passed over per owed one)."""
        while True:
            arch = self.strategy.ask()
            if self.owed[arch] == 0:
                return arch
            self.owed[arch] -= 1


def replay_asynchronous(strategy: MultiTrialStrategy, ctx: RunContext, tracker: Tracker, slots: int) -> Proposals:
    """Re-tell the stored evaluations to an asynchronous strategy, asking for candidates as the live loop
    does (``slots`` asked ahead, each result told as it comes), and return what it proposes next.

    Why ask at all: the strategy's state includes its random generator and what it has proposed; told
    the stored results without being asked, it would propose the same candidates again. Why ``slots``
    ahead: the stored evaluations are in completion order, and the recorded run never had more than its
    workers asked and unfinished; so with as many slots, a strategy whose proposals do not depend on
    results (random) asks exactly what it asked then, and with one slot this is the sequential driver's
    ask, then tell. A stored result that is not among the candidates asked (fewer workers now, or an
    evolution whose results came back in another order and now proposes otherwise) is told anyway, as
    ``tell`` accepts it, and is owed (see ``Proposals``).
    """
    proposals = Proposals(strategy)
    asked = proposals.waiting                      # asked, not matched to a stored evaluation yet
    for ev in ctx.replay[:ctx.budget]:
        while len(asked) < slots and len(tracker.evaluations) + len(asked) < ctx.budget:
            asked.append(proposals.fresh())
        if ev.arch in asked:
            asked.remove(ev.arch)
        else:
            proposals.owed[ev.arch] += 1
        obj = ctx.objective(ev)
        strategy.tell(ev.arch, ev, obj)
        emit_evaluation(ctx, tracker, ev, obj, replayed=True, strategy=strategy)
    return proposals


def interrupted(ev: Evaluation, replayed: bool = False) -> bool:
    """Whether the stop flag cut this evaluation's training short (the estimator marks it): no result,
    so it is neither told nor recorded. Why the estimator's mark and not the flag: an evaluation that
    finished while the flag was being set (a table lookup, a worker process that never sees the flag)
    is a real result, and dropping it would lose finished work."""
    return not replayed and bool(ev.metrics.get("interrupted"))


def run_multi_trial(strategy: MultiTrialStrategy, ctx: RunContext) -> Tracker:
    """The sequential ask/tell loop; the asynchronous one when the executor has several slots."""
    if strategy.asynchronous and getattr(ctx.executor, "slots", 1) > 1:
        return run_asynchronous(strategy, ctx)
    tracker = Tracker()
    # Why an asynchronous strategy replays apart: its run may have been recorded by parallel workers, in
    # completion order, which position-by-position replay (evaluate_one) would refuse.
    ask = replay_asynchronous(strategy, ctx, tracker, slots=1).next if strategy.asynchronous else strategy.ask
    for i in range(len(tracker.evaluations), ctx.budget):
        if ctx.stop.is_set() or _out_of_time(ctx, tracker):
            break
        asked = ask()
        ev, replayed = evaluate_one(ctx, asked, i)
        if interrupted(ev, replayed):
            break
        obj = ctx.objective(ev)
        strategy.tell(asked, ev, obj)
        emit_evaluation(ctx, tracker, ev, obj, replayed, strategy)
    return tracker


def run_asynchronous(strategy: MultiTrialStrategy, ctx: RunContext) -> Tracker:
    """Keep ``executor.slots`` evaluations in flight; tell each result as soon as it arrives.

    Why results are told in completion order: that is what asynchronous evolution does (Real et al.
    ran 450 workers this way); a fast candidate does not wait for a slow one. The order depends on
    timing, so an asynchronous run is not reproducible bit for bit; resume still loses and repeats
    nothing: ``replay_asynchronous`` re-tells the stored evaluations, asking as this loop does, then the
    loop goes on with the candidates that were in flight.
    """
    tracker, executor = Tracker(), ctx.executor
    proposals = replay_asynchronous(strategy, ctx, tracker, executor.slots)
    pending: dict = {}                                  # future -> architecture
    asked = len(tracker.evaluations)
    try:
        while True:
            while (not ctx.stop.is_set() and not _out_of_time(ctx, tracker) and asked < ctx.budget
                   and len(pending) < executor.slots):
                arch = proposals.next()
                pending[executor.submit(ctx, arch)] = arch
                asked += 1
            if not pending:
                break
            # Wait in short slices so a Stop is noticed; when stopping, keep what has already
            # finished (timeout 0) and drop the rest.
            for fut in executor.wait(list(pending), timeout=0 if ctx.stop.is_set() else 0.25):
                arch = pending.pop(fut)
                ev = executor.result(fut, arch)        # a worker's exception fails the run here
                if interrupted(ev):
                    continue
                obj = ctx.objective(ev)
                strategy.tell(arch, ev, obj)
                emit_evaluation(ctx, tracker, ev, obj, strategy=strategy)
            if ctx.stop.is_set():
                break
    finally:
        for fut in pending:                            # stopped or failed: unfinished work is dropped
            fut.cancel()
    return tracker


def run_one_shot(strategy: OneShotStrategy, ctx: RunContext) -> Tracker:
    """Run the one-shot search, then score its final candidates with the chosen estimator."""
    candidates = strategy.run(ctx)
    tracker = Tracker()
    for i, arch in enumerate(candidates):
        if ctx.stop.is_set():
            break
        ev, replayed = evaluate_one(ctx, arch, i)
        if interrupted(ev, replayed):
            break
        emit_evaluation(ctx, tracker, ev, ctx.objective(ev), replayed)
    # The ranking-bias lesson in one event: the strategy's own (inherited-weight) scores of its final
    # candidates next to what the estimator says of them (from scratch, with ``train``).
    scores = getattr(strategy, "scores", None) or {}          # architecture -> inherited-weight score
    pairs = [(ev.arch, float(scores[ev.arch]), ev.val_acc) for ev in tracker.evaluations if ev.arch in scores]
    if len(pairs) >= 2:
        ctx.emit("ranking", archs=[ctx.space.to_str(a) for a, _, _ in pairs], oneshot=[o for _, o, _ in pairs],
                 scratch=[v for _, _, v in pairs])
    return tracker


def run_strategy(strategy: Strategy, ctx: RunContext) -> Tracker:
    t0 = time.perf_counter()
    tracker = (run_one_shot if isinstance(strategy, OneShotStrategy) else run_multi_trial)(strategy, ctx)
    tracker.seconds = time.perf_counter() - t0
    return tracker
