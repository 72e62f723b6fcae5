"""Predictor-guided search: a surrogate model decides what is worth training (BANANAS-style).

White, Neiswanger & Savani, "BANANAS: Bayesian Optimization with Neural Architectures for Neural
Architecture Search", AAAI 2021. The loop:

    evaluate a few random architectures
    repeat:
        fit an ENSEMBLE of predictors  f_1..f_M : encoding(arch) -> accuracy   (on everything seen)
        candidates <- mutations of the best architectures so far (+ a few random ones)
        score each candidate by an acquisition function of the ensemble's mean and spread
        evaluate the best-scoring candidates

Why an ensemble: the spread of its predictions is a cheap uncertainty estimate; the acquisition
(independent Thompson sampling, as in BANANAS: one draw from N(mean, spread) per candidate) trades
exploitation (high mean) against exploration (high spread). Why mutations of the best as candidates:
optimising the acquisition over a huge space is itself a search; locally perturbing good
architectures is what BANANAS found to work best.

Simplifications, stated: each predictor is a ridge regression on a bootstrap sample, over the one-hot
encoding of the space's ``decisions()`` (BANANAS: small MLPs over the NB-101/201 path encoding). Ridge
fits in microseconds with numpy, needs no training loop, and the one-hot encoding exists for every
space; a linear model cannot capture interactions, which is a fine thing to discuss in class.

Emits a ``predictor`` event per round: ``{round, train_size, candidates, chosen: [{arch, mean, std}],
fit_corr}`` (``fit_corr``: Pearson correlation of the ensemble mean with the objective on the
training set), so a notebook can compare predictions with the accuracies that come back.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..config import option
from .base import MultiTrialStrategy


@dataclass
class PredictorConfig:
    """Options of ``predictor`` (pass them as ``strategy_options``)."""

    initial: int = option(10, lo=1)
    """Random architectures evaluated before the first predictor is fitted."""
    batch: int = option(5, lo=1)
    """Architectures proposed per round (the predictor is refitted between rounds)."""
    ensemble: int = option(5, lo=1)
    """M: predictors in the ensemble (each on its own bootstrap sample)."""
    ridge: float = option(1.0, gt=0)
    """L2 penalty of each ridge regression."""
    parents: int = option(10, lo=1)
    """How many of the best architectures are mutated to make candidates."""
    mutations: int = option(10, lo=1)
    """Candidates made from each parent (plus as many random ones as parents)."""


class PredictorSearch(MultiTrialStrategy):
    name = "predictor"
    config_class = PredictorConfig
    summary = "ensemble surrogate + mutation-based acquisition (BANANAS-style, White et al. 2021)"
    asynchronous = True                     # proposals need no pending result; tell accepts any architecture

    def __init__(self, space, rng, emit, **options):
        super().__init__(space, rng, emit, **options)
        sizes = [len(d.choices) for d in space.decisions()]
        self.offsets = np.cumsum([0] + sizes[:-1])
        self.width = int(sum(sizes))
        self.X: list[np.ndarray] = []
        self.y: list[float] = []
        self.archs: list = []
        self.proposed: set = set()          # canonical forms asked so far (told or still in flight)
        self.queue: list = []
        self.round = 0

    def encode(self, arch) -> np.ndarray:
        x = np.zeros(self.width)
        x[self.offsets + np.asarray(self.space.to_decisions(arch))] = 1.0
        return x

    # ------------------------------------------------------------------ ask / tell
    def ask(self):
        if len(self.proposed) < self.config.initial or len(self.y) < 2:
            arch = self._fresh(lambda: self.space.sample(self.rng))
        else:
            if not self.queue:
                self._propose()
            arch = self.queue.pop(0) if self.queue else self._fresh(lambda: self.space.sample(self.rng))
        self.proposed.add(self.space.canonical(arch))
        return arch

    def tell(self, arch, evaluation, objective: float) -> None:
        self.X.append(self.encode(arch))
        self.y.append(float(objective))
        self.archs.append(arch)
        self.proposed.add(self.space.canonical(arch))

    def _fresh(self, make, tries: int = 50):
        arch = make()
        for _ in range(tries):              # bounded: a small space may be nearly exhausted
            if self.space.canonical(arch) not in self.proposed:
                break
            arch = make()
        return arch

    # ------------------------------------------------------------------ the surrogate
    def _fit(self) -> list[np.ndarray]:
        X, y = np.asarray(self.X), np.asarray(self.y)
        n = len(y)
        weights = []
        for _ in range(self.config.ensemble):
            idx = [self.rng.randrange(n) for _ in range(n)]      # bootstrap sample (the run's rng)
            Xb, yb = X[idx], y[idx]
            mu = yb.mean()
            # Why centre y: the intercept is then the mean, and the penalty only shrinks the effects.
            A = Xb.T @ Xb + self.config.ridge * np.eye(self.width)
            weights.append((np.linalg.solve(A, Xb.T @ (yb - mu)), mu))
        return weights

    @staticmethod
    def _predict(weights, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        preds = np.stack([X @ w + mu for w, mu in weights])
        return preds.mean(0), preds.std(0)

    def _propose(self) -> None:
        cfg = self.config
        weights = self._fit()
        order = sorted(range(len(self.y)), key=lambda i: -self.y[i])[:cfg.parents]
        cands, seen = [], set()
        makers = [lambda p=self.archs[i]: self.space.mutate(p, self.rng) for i in order for _ in range(cfg.mutations)]
        makers += [lambda: self.space.sample(self.rng)] * len(order)
        for make in makers:
            arch = make()
            canon = self.space.canonical(arch)
            if canon not in self.proposed and canon not in seen:
                seen.add(canon)
                cands.append(arch)
        if not cands:
            return
        mean, std = self._predict(weights, np.stack([self.encode(a) for a in cands]))
        # Independent Thompson sampling: one draw per candidate from N(mean, std).
        score = [m + s * self.rng.gauss(0.0, 1.0) for m, s in zip(mean, std)]
        best = sorted(range(len(cands)), key=lambda i: -score[i])[:cfg.batch]
        self.queue = [cands[i] for i in best]
        self.round += 1
        fit_mean, _ = self._predict(weights, np.asarray(self.X))
        corr = float(np.corrcoef(fit_mean, self.y)[0, 1]) if np.std(self.y) > 0 and np.std(fit_mean) > 0 else None
        self.emit("predictor", round=self.round, train_size=len(self.y), candidates=len(cands),
                  chosen=[{"arch": self.space.to_str(cands[i]), "mean": float(mean[i]), "std": float(std[i])}
                          for i in best],
                  fit_corr=None if corr is None or math.isnan(corr) else corr)
