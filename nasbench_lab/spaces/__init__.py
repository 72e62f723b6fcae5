"""Registry of search spaces: ``get_space(name)`` and ``list_spaces()``.

The registry is a small explicit dict of ``module:Class`` strings, as strategies/ and estimators/ have
(house rule 8, ``registry.py``); tests are parametrised over it, so a new space is tested automatically.
Each call of ``get_space`` returns a fresh instance (no shared state).
"""
from __future__ import annotations

from ..registry import lookup
from .base import Decision, SearchSpace, SpaceError

_REGISTRY = {
    "nb201": "nb201:NB201Space",
    "darts": "darts:DartsSpace",
    "chain": "chain:ChainSpace",
    "mobile": "mobile:MobileSpace",
}


def list_spaces() -> list[str]:
    return list(_REGISTRY)


def get_space(name: str, **options) -> SearchSpace:
    """A fresh instance of the named space; ``options`` go to its constructor."""
    if isinstance(name, SearchSpace):
        return name
    return lookup(__name__, _REGISTRY, name, SpaceError, "space")(**options)


__all__ = ["Decision", "SearchSpace", "SpaceError", "get_space", "list_spaces"]
