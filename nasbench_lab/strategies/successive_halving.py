"""Successive halving: train many candidates a little, keep the best, train those longer.

Jamieson & Talwalkar, "Non-stochastic Best Arm Identification and Hyperparameter Optimization",
AISTATS 2016; the inner loop of Hyperband (Li, Jamieson, DeSalvo, Rostamizadeh & Talwalkar, JMLR 2018).
One *bracket*:

    rungs r_0 < r_1 < ... < r_K = R epochs, each eta times the one before
    sample n architectures; train each for r_0 epochs
    for k = 1 .. K: keep the best n / eta^k of the previous rung (by validation accuracy) and train
                    them on to r_k epochs
    the best architecture at r_K is the bracket's answer; start a new bracket while budget is left

This is performance estimation made explicit: the early epochs are a cheap proxy for the full
training, and the whole method is only as good as that proxy. When early accuracy ranks candidates
the way full training does, successive halving sees many more candidates in the same time; when it
does not (small, fast-learning cells lead after one epoch and fall behind later), it throws the
eventual winners away in the first rung. Hyperband (hyperband.py) hedges against that case.

Why eta = 2 by default and not Li et al.'s 3: their budgets run to 81 or more epochs; the lab's table
records 2 epochs per cell (3 for the GPU setting), and a ratio of 3 leaves a single rung there, which
is plain random search. ``max_epochs`` defaults to the estimator's full fidelity.

Each ask is a ``Trial`` (architecture, epochs, epochs already trained): the table charges only the
epochs not paid for yet (its curve is one training run); ``train`` trains the rung from scratch.
Every finished rung emits ``rung``: ``{bracket, rung, epochs, archs, scores, promoted}``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..config import option
from .base import MultiTrialStrategy, StrategyError, Trial


def rung_epochs(min_epochs: int, max_epochs: int, eta: int) -> list[int]:
    """The rungs r_0 < ... < r_K = max_epochs, each about eta times the one before, none below min."""
    if max_epochs < min_epochs:
        raise StrategyError(f"max_epochs ({max_epochs}) is below min_epochs ({min_epochs})")
    levels = int(math.floor(math.log(max_epochs / min_epochs) / math.log(eta) + 1e-9))
    return sorted({max(min_epochs, round(max_epochs / eta ** (levels - k))) for k in range(levels + 1)})


class Bracket:
    """One run of successive halving over ``rungs``, starting from ``n`` architectures."""

    def __init__(self, index: int, n: int, rungs: list[int], eta: int, tag: dict | None = None):
        self.index, self.n, self.rungs, self.eta = index, n, rungs, eta
        self.tag = tag or {}             # extra fields of this bracket's ``rung`` events
        self.rung = 0
        self.sampled = 0                 # architectures drawn for rung 0 so far
        self.queue: list[Trial] = []     # promoted trials of the current rung, not asked yet
        self.results: list = []          # (score, order, arch) told at the current rung
        self.asked = 0                   # trials asked at the current rung

    def size(self, rung: int) -> int:
        """How many architectures rung ``rung`` trains: n, n/eta, n/eta^2, ... (at least one)."""
        return max(1, self.n // self.eta ** rung)

    @property
    def done(self) -> bool:
        return self.rung >= len(self.rungs)

    def next_trial(self, sample) -> Trial | None:
        """The next trial to ask, or None while the rung waits for results (or when done)."""
        if self.done or self.asked >= self.size(self.rung):
            return None
        self.asked += 1
        if self.rung == 0:
            self.sampled += 1
            return Trial(sample(), self.rungs[0])
        return self.queue.pop(0)

    def report(self, trial: Trial, score: float, emit) -> None:
        self.results.append((score, len(self.results), trial.arch))
        if len(self.results) < self.size(self.rung):
            return
        # Rung complete: the best ``size(rung + 1)`` go on (ties: the earlier one, so runs reproduce).
        ranked = sorted(self.results, key=lambda r: (-r[0], r[1]))
        last = self.rung + 1 >= len(self.rungs)
        keep = [] if last else [a for _, _, a in ranked[:self.size(self.rung + 1)]]
        emit("rung", bracket=self.index, rung=self.rung, epochs=self.rungs[self.rung],
             archs=[str(a) for _, _, a in self.results], scores=[s for s, _, _ in self.results],
             promoted=[str(a) for a in keep], **self.tag)
        if not last:
            self.queue = [Trial(a, self.rungs[self.rung + 1], continues=self.rungs[self.rung]) for a in keep]
        self.rung += 1
        self.results, self.asked = [], 0


@dataclass
class SuccessiveHalvingConfig:
    """Options of ``successive_halving`` (pass them as ``strategy_options``)."""

    n: int = option(16, lo=1)
    """Architectures trained at the first rung of every bracket."""
    eta: int = option(2, lo=2)
    """Keep the best 1/eta at each rung; rungs are eta times longer each (see the module text)."""
    min_epochs: int = option(1, lo=1)
    """The fewest epochs a rung may have. Rungs count down from ``max_epochs`` by eta (Li et al.'s
    r_k = R / eta^(K-k), rounded), so the first rung is the smallest of those at or above this: with
    R = 3 and eta = 2 the rungs are 2 and 3 epochs, not 1 and 3."""
    max_epochs: int | None = None
    """Epochs of the last rung (None: the estimator's full training)."""

    def check(self) -> None:
        check_rungs(self, "successive halving")


def check_rungs(cfg, who: str) -> None:
    """The rule over two fields that the multi-fidelity configs share: the last rung is not shorter than
    the first."""
    if cfg.max_epochs is not None and cfg.max_epochs < cfg.min_epochs:
        raise StrategyError(f"{who}: max_epochs must be an integer >= min_epochs ({cfg.min_epochs}), "
                            f"got {cfg.max_epochs!r}")


class SuccessiveHalving(MultiTrialStrategy):
    name = "successive_halving"
    summary = "successive halving: many candidates for 1 epoch, the best trained on (Jamieson & Talwalkar)"
    multi_fidelity = True
    config_class = SuccessiveHalvingConfig

    def __init__(self, space, rng, emit, **options):
        super().__init__(space, rng, emit, **options)
        self.rungs: list[int] | None = None
        self.brackets = 0
        self.bracket: Bracket | None = None
        self.seen: set = set()

    def set_max_epochs(self, top: int) -> None:
        """Called by ``search`` with the most epochs the estimator trains for."""
        cfg = self.config
        if cfg.max_epochs is not None and cfg.max_epochs > top:
            raise StrategyError(f"{self.name}: max_epochs {cfg.max_epochs} is more than the {top} epochs "
                                f"the estimator trains for")
        if cfg.min_epochs > (cfg.max_epochs or top):
            raise StrategyError(f"{self.name}: min_epochs {cfg.min_epochs} is more than the {top} epochs "
                                f"the estimator trains for")
        self.rungs = rung_epochs(cfg.min_epochs, cfg.max_epochs or top, cfg.eta)

    def _sample(self):
        # Why dedupe: NB201 has only 6,466 distinct cells; a repeat costs a query and teaches nothing.
        arch = self.space.sample(self.rng)
        for _ in range(100):
            if self.space.canonical(arch) not in self.seen:
                break
            arch = self.space.sample(self.rng)
        self.seen.add(self.space.canonical(arch))
        return arch

    def new_bracket(self) -> Bracket:
        """The next bracket: the same one every time (Hyperband varies it)."""
        return Bracket(self.brackets, self.config.n, self.rungs, self.config.eta)

    def ask(self) -> Trial:
        if self.rungs is None:
            raise StrategyError(f"{self.name} needs the estimator's epochs first: run it through search()")
        while True:
            if self.bracket is None or self.bracket.done:
                self.bracket = self.new_bracket()
                self.brackets += 1
            trial = self.bracket.next_trial(self._sample)
            if trial is not None:
                return trial
            # Why this cannot spin: the driver tells every trial before it asks again, so a bracket that
            # has asked a whole rung has also been told it and moved on.
            raise StrategyError(f"{self.name}: asked again before the last trial was told")

    def tell(self, trial, evaluation, objective: float) -> None:
        if not isinstance(trial, Trial):
            raise StrategyError(f"{self.name} was told an architecture it did not ask for")
        self.bracket.report(trial, float(objective), self.emit)
