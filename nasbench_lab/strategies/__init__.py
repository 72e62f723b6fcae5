"""Registry of search strategies: ``get_strategy(name)`` and ``list_strategies()``.

One strategy per file (house rule 1). The registry maps a name to ``module:Class`` and imports lazily,
so a strategy with optional dependencies costs nothing until used. Tests are parametrised over it.
"""
from __future__ import annotations

from ..registry import lookup
from .base import (MultiTrialStrategy, OneShotStrategy, RunContext, Strategy, StrategyError, Trial,
                   default_objective, run_strategy)

_REGISTRY = {
    "random": "random:RandomSearch",
    "evolution": "evolution:RegularizedEvolution",
    "reinforce": "reinforce:Reinforce",
    "local": "local:LocalSearch",
    "predictor": "predictor:PredictorSearch",
    "successive_halving": "successive_halving:SuccessiveHalving",
    "hyperband": "hyperband:Hyperband",
    "tpe": "tpe:TPE",
    "zerocost_guided": "zerocost_guided:ZeroCostGuided",
    "darts": "darts:DartsSearch",
    "enas": "enas:ENAS",
    "spos": "spos:SPOS",
    "proxyless": "proxyless:ProxylessNAS",
}


def list_strategies() -> list[str]:
    return list(_REGISTRY)


def strategy_class(name: str) -> type:
    return lookup(__name__, _REGISTRY, name, StrategyError, "strategy")


def get_strategy(name: str, space, rng, emit, **options) -> Strategy:
    return strategy_class(name)(space, rng, emit, **options)


__all__ = ["MultiTrialStrategy", "OneShotStrategy", "RunContext", "Strategy", "StrategyError", "Trial", "default_objective",
           "get_strategy", "list_strategies", "run_strategy", "strategy_class"]
