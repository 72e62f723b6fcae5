"""TPE: Bayesian optimisation with a tree-structured Parzen estimator, through Optuna's ask-and-tell.

Bergstra, Bardenet, Bengio & Kegl, "Algorithms for Hyper-Parameter Optimization", NeurIPS 2011; the
model inside BOHB (Falkner, Klein & Hutter, ICML 2018), which the NAS-Bench-201 paper races. We do
not write TPE again: Optuna (Akiba et al., KDD 2019) keeps a well-tested one, and its ask-and-tell
interface fits the lab's driver exactly (the driver asks, an estimator scores, the driver tells).

    first n_startup architectures: uniform at random
    then, at every ask: split the architectures seen so far at the gamma quantile of their score into
        "good" and "bad"; fit a categorical Parzen estimator l(x) to the good and g(x) to the bad ones;
        propose, among candidates drawn from l, the one that maximises l(x) / g(x)

The space's ``decisions()`` (the choices an RL controller emits: for NB201, the op of each of the six
edges) become Optuna categorical parameters, so TPE works on every space. Needs the optional extra:
``pip install 'nasbench_lab[bo]'`` (Optuna).

Why a memory of seen cells: TPE happily proposes a cell it has already seen (several decision vectors
are the same NB201 cell, and the good region is small); scoring it again costs a query and adds no
information. The repeat is closed as a failed trial (Optuna's model already holds the cell's score
once; telling it again would count that cell twice) and Optuna is asked again, up to ``redraws``
times; after that the query is an unseen mutation of the last proposal, handed to Optuna with
``enqueue_trial`` so its model learns from it like from its own. Why bounded: late in a run most
proposals repeat, and each extra trial makes every later ask slower.

Resume: the driver re-plays stored evaluations through the same asks, and Optuna's sampler is seeded
from the run's seed, so a resumed run continues exactly where it stopped.
"""
from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass

from ..config import option
from .base import MultiTrialStrategy, StrategyError


@dataclass
class TPEConfig:
    """Options of ``tpe`` (pass them as ``strategy_options``)."""

    n_startup: int = option(10, lo=1)
    """Random architectures before the model proposes any (Optuna's n_startup_trials)."""
    multivariate: bool = True
    """Model the decisions jointly (one Parzen estimator over all of them, as BOHB's multivariate KDE)
    instead of one per decision. Why the default: it is the model BOHB uses, it can learn that two
    choices go well together, and it fits one model per ask instead of one per decision (3x faster on
    NB201's six decisions: 0.42 s against 1.28 s per 200-query run on the table)."""
    redraws: int = option(1, lo=0)
    """How many times a proposal of an already-scored cell is answered from memory and drawn again."""


@contextlib.contextmanager
def _quiet(optuna):
    """Optuna logs every told trial at INFO level; the core is silent (house rule 6), so the level is
    raised for the duration of a call and put back after (the caller's setting is not changed)."""
    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(before)


class TPE(MultiTrialStrategy):
    name = "tpe"
    config_class = TPEConfig
    summary = "TPE Bayesian optimisation (Optuna ask-and-tell; the BO family of BOHB)"

    def __init__(self, space, rng, emit, **options):
        super().__init__(space, rng, emit, **options)
        try:
            import optuna                    # heavy and optional (the bo extra): only when tpe runs
        except ImportError:
            raise StrategyError("strategy 'tpe' needs Optuna: pip install 'nasbench_lab[bo]' "
                                "(or pip install optuna)") from None
        self.optuna = optuna
        self.decisions = space.decisions()
        if not self.decisions:
            raise StrategyError(f"tpe: space {space.name!r} has no decisions to model")
        # Parameter names carry the index: decision names need not be unique.
        self.names = [f"{i:02d} {d.name}" for i, d in enumerate(self.decisions)]
        with warnings.catch_warnings():
            # why: Optuna marks multivariate TPE "experimental" (its API may change); a warning per run
            # would bury a race's output, and the option is pinned by this file
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            sampler = optuna.samplers.TPESampler(n_startup_trials=self.config.n_startup,
                                                 multivariate=self.config.multivariate,
                                                 seed=rng.randrange(2 ** 31))
        with _quiet(optuna):
            self.study = optuna.create_study(direction="maximize", sampler=sampler)
        self.known: dict = {}        # canonical cell -> objective already told
        self._pending = None         # (optuna trial, canonical) of the last ask

    def _propose(self):
        trial = self.study.ask()
        idx = [trial.suggest_categorical(n, list(range(len(d.choices)))) for n, d in zip(self.names, self.decisions)]
        arch = self.space.from_decisions(idx)
        return trial, arch, self.space.canonical(arch)

    def _close_repeat(self, trial) -> None:
        self.study.tell(trial, state=self.optuna.trial.TrialState.FAIL)

    def _unseen_mutant(self, arch):
        for _ in range(100):                                   # bounded: a nearly exhausted space still answers
            arch = self.space.mutate(arch, self.rng)
            if self.space.canonical(arch) not in self.known:
                break
        return arch

    def ask(self):
        if self._pending is not None:
            raise StrategyError("tpe: asked again before the last architecture was told")
        with _quiet(self.optuna):
            trial, arch, canon = self._propose()
            for _ in range(self.config.redraws):
                if canon not in self.known:
                    break
                self._close_repeat(trial)                      # answered from memory: no query spent
                trial, arch, canon = self._propose()
            if canon in self.known:
                self._close_repeat(trial)
                arch = self._unseen_mutant(arch)
                self.study.enqueue_trial(dict(zip(self.names, self.space.to_decisions(arch))))
                trial, arch, canon = self._propose()           # the enqueued parameters come back
        self._pending = (trial, canon)
        return arch

    def tell(self, arch, evaluation, objective: float) -> None:
        if self._pending is None:
            raise StrategyError("tpe was told an architecture it did not ask for")
        trial, canon = self._pending
        self._pending = None
        self.known[canon] = float(objective)
        with _quiet(self.optuna):
            self.study.tell(trial, float(objective))
