"""Every error the library raises on purpose, in one place.

Each is a ValueError subclass with a message written for the user (the CLI prints it as one line, exit
status 2). They live here rather than beside the code that raises them so that any module may raise
any of them without importing that code (a supernet helper raising ``StrategyError`` used to import the
strategies' base module for it). The modules that raise them re-export them, so
``from nasbench_lab.spaces import SpaceError`` keeps working.
"""
from __future__ import annotations


class SpaceError(ValueError):
    """Bad input for a space (unknown op, malformed string, ...). A ValueError, so callers can catch it."""


class StrategyError(ValueError):
    """Unknown strategy, or a strategy that cannot work with the given space/options."""


class EstimatorError(ValueError):
    """Unknown estimator or bad estimator option."""


class ExecutorError(ValueError):
    """Unknown executor, bad executor options, or a recipe that workers cannot rebuild."""


class StoreError(ValueError):
    """Unknown or ambiguous run id, a run that cannot be resumed, or a malformed export file."""


class DataError(ValueError):
    """The dataset is unknown, or its files cannot be found or read."""


class TrainingError(ValueError):
    """Training cannot go on (NaN loss, bad configuration)."""


class TableError(ValueError):
    """Missing or malformed benchmark table, or a bad query."""


class HardwareError(ValueError):
    """Bad input for a hardware measurement (empty batch list, unknown space, malformed table)."""


class ObjectiveError(ValueError):
    """A malformed objective specification, or an evaluation lacking a metric the objective needs."""


class RankingError(ValueError):
    """Mismatched or too short score lists."""


class RaceError(ValueError):
    """Bad race input (no strategies, no seeds, an unknown x axis)."""


class CourseError(ValueError):
    """A course notebook, folder or edition the user named is not usable (the CLI prints it as one line)."""


__all__ = ["CourseError", "DataError", "EstimatorError", "ExecutorError", "HardwareError", "ObjectiveError",
           "RaceError", "RankingError", "SpaceError", "StoreError", "StrategyError", "TableError", "TrainingError"]
