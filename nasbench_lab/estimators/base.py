"""What an estimator is: ``evaluate(space, arch, seed)`` -> an ``Evaluation``, with typed options.

Every estimator declares its options as a dataclass in ``config_class`` (typed fields, a docstring each,
ranges through ``config.option``); ``configure`` builds and checks it the way strategies' options are
checked, so the CLI, the Lab's forms and the tests read one description of an option.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..config import configure
from ..errors import EstimatorError
from ..spaces import SearchSpace


@dataclass
class Evaluation:
    """The score of one architecture, as the strategies see it and the store keeps it."""

    arch: object
    """The architecture: the space's value (``NB201Arch``, ``Genotype``, ...). It becomes a string
    (``space.to_str``, which is its ``str``) only where it leaves memory: events, the store, JSON."""
    val_acc: float
    """Validation accuracy (%): what search may look at."""
    test_acc: float | None = None
    """Test accuracy (%): for reporting only, never for selection."""
    cost: float = 0.0
    """Seconds this evaluation took (simulated for table lookups, as NATS-Bench does)."""
    metrics: dict = field(default_factory=dict)
    """Anything else: params, flops, latency_ms, curve (val acc per epoch), train_loss, ..."""

    def to_dict(self) -> dict:
        """JSON-able: the architecture as its string."""
        return {"arch": str(self.arch), "val_acc": self.val_acc, "test_acc": self.test_acc, "cost": self.cost,
                "metrics": dict(self.metrics)}


class Estimator:
    """Base class: ``evaluate(space, arch, seed)`` -> Evaluation; ``arch`` is the space's value."""

    name = "base"
    #: Same arch + seed -> same Evaluation (lets ``resume`` reproduce an uninterrupted run exactly).
    deterministic = True
    #: The options dataclass (None: no options). ``configure`` builds and checks it.
    config_class: type | None = None
    #: None: the options are keyword arguments of the constructor; a name (``fidelity``): they arrive as
    #: one dict, or one config object, under that keyword (and messages name them by it).
    config_key: str | None = None
    #: Accuracies besides validation's that its evaluations report and an objective may maximise
    #: (``objectives.SCORES``; only the CIFAR-10 table has them: quantized and analog hardware).
    scores: tuple = ()

    @classmethod
    def defaults(cls):
        """The config an estimator has when given no options."""
        return None if cls.config_class is None else cls.config_class()

    @classmethod
    def configure(cls, options=None):
        """``options`` (a dict of fields, a config object, or None) as a checked config; EstimatorError
        naming the option otherwise."""
        return configure(cls.config_class, options, cls.config_key or f"estimator {cls.name!r}", EstimatorError,
                         base=cls.defaults())

    def evaluate(self, space: SearchSpace, arch, seed: int = 0, emit=None, stop=None) -> Evaluation:
        raise NotImplementedError

    def describe(self) -> dict:
        return {"name": self.name}

    def max_epochs(self, space: SearchSpace) -> int | None:
        """The most epochs ``evaluate(..., epochs=k)`` can train for; None when this estimator cannot
        train for a chosen number of epochs (multi-fidelity strategies need one that can)."""
        return None

    def estimate_seconds(self, space: SearchSpace) -> float | None:
        """Roughly how long one evaluation takes here (None: unknown). Used to warn before a large budget."""
        return None


__all__ = ["Estimator", "EstimatorError", "Evaluation"]
