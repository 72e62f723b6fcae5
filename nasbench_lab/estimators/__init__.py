"""Performance estimation: how a candidate architecture gets its score. ``get_estimator(name)``,
``list_estimators()``.

The third pillar of NAS (space, strategy, *estimation*). Every estimator turns an architecture into an
``Evaluation``; strategies never know which one runs (that is what lets a class race the same strategy
on real training, a cheap proxy, a lookup table or inherited supernet weights). One module each:

* ``train``, ``lowfi`` (train.py): from scratch at a chosen fidelity; the same, cheaper (the proxy-task
  pitfall in one flag);
* ``table`` (table.py): a lookup in a tabular benchmark (the lab's laptop table, or the CIFAR-10 one);
* ``supernet`` (supernet.py): weights inherited from a supernet trained once;
* ``zerocost`` (zerocost.py): a zero-cost proxy of the untrained network;
* ``synthetic`` (synthetic.py): instant scores with a known optimum, for tests and demos.

The registry is a small explicit dict of ``module:Class`` strings, as strategies/ has (house rule 8):
an estimator's module is imported when it is first asked for, and tests are parametrised over it, so a
new entry is tested automatically. Each class declares its options dataclass as ``config_class``.
"""
from __future__ import annotations

from ..registry import lookup
from .base import Estimator, EstimatorError, Evaluation
from .train import CLASSROOM_SKELETON, LOW_FIDELITY, Fidelity, LowFidelityEstimator, TrainEstimator

_REGISTRY = {
    "train": "train:TrainEstimator",
    "lowfi": "train:LowFidelityEstimator",
    "table": "table:TableEstimator",
    "supernet": "supernet:SupernetEstimator",
    "synthetic": "synthetic:SyntheticEstimator",
    "zerocost": "zerocost:ZeroCostEstimator",
}


def list_estimators() -> list[str]:
    return list(_REGISTRY)


def estimator_class(name: str) -> type:
    """The class registered as ``name``; EstimatorError naming the known ones otherwise."""
    return lookup(__name__, _REGISTRY, name, EstimatorError, "estimator")


def get_estimator(name, **options) -> Estimator:
    """A fresh estimator (or ``name`` itself when it is one). Options: dataset, device, data_root, download,
    data (loaded splits), and the estimator's own (its ``config_class`` fields; ``fidelity`` for train)."""
    if isinstance(name, Estimator):
        return name
    cls = estimator_class(name)
    try:
        return cls(**options)
    except TypeError as exc:
        raise EstimatorError(f"bad option for estimator {name!r}: {exc}") from None


__all__ = ["CLASSROOM_SKELETON", "Estimator", "EstimatorError", "Evaluation", "Fidelity", "LOW_FIDELITY",
           "LowFidelityEstimator", "TrainEstimator", "estimator_class", "get_estimator", "list_estimators"]
