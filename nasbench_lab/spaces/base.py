"""The contract every search space fulfils.

A search space is a *description* of a set of architectures plus the operations that strategies need
on them. The architecture itself is a small immutable, hashable value (one type per space) that is
the single currency between search, training, storage and drawing: strategies only ever hold these
values, the store writes them as strings (``to_str``), and ``build`` turns one into a network.

Strategies never look inside an architecture: they use ``sample``/``mutate``/``crossover``/
``neighbours`` (multi-trial), ``decisions``/``from_decisions`` (RL controllers), or ``supernet``
(one-shot methods). That is what lets every strategy run on every space.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Hashable, Iterator, Sequence

import torch.nn as nn

from ..errors import SpaceError


# The skeleton options any space's build()/supernet() accepts, with what they allow. Why bounds at all:
# C=-1 would reach torch as "negative dimension", layers=0 builds a network with no cells, and C=10**6
# tries to allocate terabytes; a message naming the option is what a user needs instead.
SKELETON_RULES = {
    "in_channels": (int, 1, 64), "num_classes": (int, 2, 100_000), "C": (int, 1, 1024), "N": (int, 1, 32),
    "layers": (int, 1, 100), "steps": (int, 1, 8), "multiplier": (int, 1, 8), "stem_multiplier": (int, 1, 16),
    "width_mult": (float, 0.05, 8.0), "drop_path_prob": (float, 0.0, 0.95), "auxiliary": (bool, None, None),
}


MAX_ARCH_CHARS = 10_000
"""The longest architecture string a parser reads (the longest published one is under 1,000)."""


def check_text(space: str, s) -> str:
    """``s`` as a string a parser may read; SpaceError for a non-string or a huge one (never echoed whole)."""
    if not isinstance(s, str):
        hint = " (from_str parses strings; check(arch) validates a value)" if hasattr(s, "__dataclass_fields__") else ""
        raise SpaceError(f"{space} architecture must be a string, got {type(s).__name__}{hint}")
    if len(s) > MAX_ARCH_CHARS:
        raise SpaceError(f"{space} architecture string is {len(s):,} characters long (at most {MAX_ARCH_CHARS:,}); "
                         f"it starts {s[:40]!r}")
    return s


def shown(s, limit: int = 80) -> str:
    """``repr(s)`` cut for an error message."""
    text = repr(s)
    return text if len(text) <= limit else text[:limit - 15] + f"... ({len(s):,} chars)"


def check_skeleton(space: str, **values) -> None:
    """Raise SpaceError naming the first skeleton option whose value is not allowed."""
    for name, value in values.items():
        kind, lo, hi = SKELETON_RULES[name]
        if kind is bool:
            ok = isinstance(value, bool)
            allowed = "true or false"
        else:
            ok = (isinstance(value, (int, float)) and not isinstance(value, bool) and (kind is float or float(value).is_integer())
                  and lo <= value <= hi)
            allowed = f"{'an integer' if kind is int else 'a number'} from {lo} to {hi}"
        if not ok:
            text = repr(value)
            raise SpaceError(f"{space} skeleton option {name!r} must be {allowed}, got "
                             f"{text if len(text) <= 40 else text[:30] + '...'}")


@dataclass(frozen=True)
class Decision:
    """One categorical choice an RL controller makes: a name (for plots) and its options."""

    name: str
    """Human-readable label, e.g. ``edge 1->2 op`` or ``layer 3 kernel``."""
    choices: tuple
    """The options, in a fixed order; the controller emits an index into this tuple."""


class SearchSpace:
    """Base class. Subclasses set ``name`` and implement the abstract methods.

    ``rng`` arguments are always a ``random.Random`` owned by the caller (house rule 5: no global state).
    """

    name: str = "base"
    #: True when ``enumerate()`` lists every architecture (small, finite spaces).
    finite: bool = False
    #: The type of this space's architecture values (what ``sample`` returns).
    arch_type: type = object

    # ------------------------------------------------------------------ values and strings
    def sample(self, rng: random.Random) -> Hashable:
        raise NotImplementedError

    def to_str(self, arch) -> str:
        raise NotImplementedError

    def from_str(self, s: str):
        """Parse a string (strings only: where data arrives from outside memory); raises SpaceError
        naming the problem for malformed input."""
        raise NotImplementedError

    def check(self, arch):
        """``arch`` itself when it is an architecture of this space; SpaceError naming the problem
        otherwise. What validates a value (``from_str`` validates a string)."""
        if not isinstance(arch, self.arch_type):
            hint = " (parse a string with from_str)" if isinstance(arch, str) else ""
            raise SpaceError(f"{self.name} architecture must be a {self.arch_type.__name__}, got "
                             f"{type(arch).__name__}{hint}")
        return arch

    def canonical(self, arch):
        """Isomorphism-free representative; the identity where a space has no symmetries."""
        return arch

    def enumerate(self) -> Iterator:
        raise SpaceError(f"space {self.name!r} is too large to enumerate")

    def size(self) -> int | None:
        """Number of architectures (None when astronomically large / not computed)."""
        return None

    # ------------------------------------------------------------------ variation operators
    def mutate(self, arch, rng: random.Random):
        """A different architecture one elementary change away."""
        raise NotImplementedError

    def crossover(self, a, b, rng: random.Random):
        raise NotImplementedError

    def neighbours(self, arch) -> list:
        """Every architecture one elementary change away (for local search)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ RL controller view
    def decisions(self) -> list[Decision]:
        raise NotImplementedError

    def to_decisions(self, arch) -> list[int]:
        raise NotImplementedError

    def from_decisions(self, indices: Sequence[int]):
        raise NotImplementedError

    # ------------------------------------------------------------------ drawing and networks
    def to_graph(self, arch):
        """A networkx DiGraph: nodes with a ``label``, edges with an ``op`` attribute."""
        raise NotImplementedError

    def build(self, arch, in_channels: int = 3, num_classes: int = 10, **skeleton) -> nn.Module:
        raise NotImplementedError

    def supernet(self, in_channels: int = 3, num_classes: int = 10, **skeleton) -> nn.Module:
        raise SpaceError(f"space {self.name!r} has no supernet")

    def references(self) -> list[str]:
        """Names accepted by ``reference``."""
        return []

    def reference(self, name: str):
        """A published or human-designed architecture expressed in this space."""
        known = self.references()
        raise SpaceError(f"space {self.name!r} has no reference {name!r}; known: {', '.join(known) or 'none'}")

    def describe(self) -> dict[str, Any]:
        """A short JSON-able summary (shown by ``nasbench-lab info`` and the widgets)."""
        return {"name": self.name, "size": self.size(), "references": self.references()}

    # Helper for subclasses: the rng argument must be a Random, not a seed, so the caller owns state.
    @staticmethod
    def _check_rng(rng) -> random.Random:
        if not isinstance(rng, random.Random):
            raise TypeError("pass a random.Random instance (the caller owns the random state)")
        return rng
