"""Registry of search spaces: ``get_space(name)`` and ``list_spaces()``.

The registry is a small explicit dict of factories (house rule 8); tests are parametrised over it, so a
new space is tested automatically. Each call of ``get_space`` returns a fresh instance (no shared state).
"""
from __future__ import annotations

from .base import Decision, SearchSpace, SpaceError


def _nb201(**kw):
    from .nb201 import NB201Space
    return NB201Space(**kw)


def _darts(**kw):
    from .darts import DartsSpace
    return DartsSpace(**kw)


def _chain(**kw):
    from .chain import ChainSpace
    return ChainSpace(**kw)


def _mobile(**kw):
    from .mobile import MobileSpace
    return MobileSpace(**kw)


_FACTORIES = {"nb201": _nb201, "darts": _darts, "chain": _chain, "mobile": _mobile}


def list_spaces() -> list[str]:
    return list(_FACTORIES)


def get_space(name: str, **options) -> SearchSpace:
    """A fresh instance of the named space; ``options`` go to its constructor."""
    if isinstance(name, SearchSpace):
        return name
    try:
        factory = _FACTORIES[name]
    except KeyError:
        raise SpaceError(f"unknown space {name!r}; choose one of: {', '.join(_FACTORIES)}") from None
    return factory(**options)


__all__ = ["Decision", "SearchSpace", "SpaceError", "get_space", "list_spaces"]
