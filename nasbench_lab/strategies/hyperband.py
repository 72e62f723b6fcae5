"""Hyperband: successive halving, hedged over how aggressively to stop early.

Li, Jamieson, DeSalvo, Rostamizadeh & Talwalkar, "Hyperband: A Novel Bandit-Based Approach to
Hyperparameter Optimization", JMLR 18(185), 2018, Algorithm 1:

    s_max = floor(log_eta(R / r_min))
    for s = s_max, s_max - 1, ..., 0:                       (one Hyperband iteration)
        n = ceil((s_max + 1) / (s + 1) * eta^s)             architectures in this bracket
        run successive halving on them, from R * eta^-s epochs up to R

Why several brackets: successive halving has to guess how far the first epochs can be trusted. The
bracket s = s_max trusts them most (many candidates, one epoch each, brutal cuts); the bracket s = 0
trusts them not at all (a few candidates, all trained fully: random search). Each bracket costs about
the same, so if early accuracy misleads, Hyperband wastes at most the aggressive brackets' share of the
budget instead of all of it. The iteration repeats while budget is left.

On the lab's table (2 epochs per cell) s_max = 1 with eta = 2, and Li et al.'s bracket sizes
n = ceil((s_max + 1) / (s + 1) * eta^s) give: bracket s = 1, 2 cells at 1 epoch, the better one trained
on to 2; bracket s = 0, 2 cells at 2 epochs. (With R = 81 and eta = 3 the same formula gives the
paper's Table 1: 81/27/9/3/1, 34/11/3/1, 15/5/1, 8/2, 5; tests/test_multifidelity.py checks it.) Rungs, trials and ``rung`` events as in successive_halving.py;
``rung`` events here also say which bracket ``s`` they belong to.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..config import option
from .successive_halving import Bracket, SuccessiveHalving, check_rungs


@dataclass
class HyperbandConfig:
    """Options of ``hyperband`` (pass them as ``strategy_options``)."""

    eta: int = option(2, lo=2)
    """Keep the best 1/eta at each rung (Li et al. use 3 for budgets of 81+ epochs; see successive_halving)."""
    min_epochs: int = option(1, lo=1)
    """Epochs of the shortest rung (r_min)."""
    max_epochs: int | None = None
    """R: epochs of the longest rung (None: the estimator's full training)."""
    scale: int = option(1, lo=1)
    """Multiply every bracket's number of architectures by this (more candidates per iteration)."""

    def check(self) -> None:
        check_rungs(self, "hyperband")


class Hyperband(SuccessiveHalving):
    name = "hyperband"
    summary = "Hyperband: successive-halving brackets from aggressive to none (Li et al.)"
    config_class = HyperbandConfig

    def new_bracket(self) -> Bracket:
        s_max = len(self.rungs) - 1
        s = s_max - self.brackets % (s_max + 1)           # s_max, ..., 0, then again
        n = math.ceil((s_max + 1) / (s + 1) * self.config.eta ** s) * self.config.scale
        # The bracket starts at rung s_max - s: with s = 0 every architecture trains the full R epochs.
        return Bracket(self.brackets, n, self.rungs[s_max - s:], self.config.eta, tag={"s": s})
