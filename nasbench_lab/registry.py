"""The lookup behind the small explicit registries (spaces, strategies, estimators: house rule 8).

Each registry is a dict from a name to ``"module:Class"`` inside its package; the module is imported when
the name is first asked for, so an entry with optional dependencies costs nothing until used, and tests
parametrised over the registry test a new entry automatically.
"""
from __future__ import annotations

import importlib


def lookup(package: str, registry: dict, name, error: type, what: str) -> type:
    """The class registered as ``name`` (``registry[name]`` is ``"module:Class"`` in ``package``); ``error``
    naming the known names otherwise."""
    if not isinstance(name, str) or name not in registry:
        raise error(f"unknown {what} {name!r}; choose one of: {', '.join(registry)}")
    module, cls = registry[name].split(":")
    return getattr(importlib.import_module(f"{package}.{module}"), cls)


__all__ = ["lookup"]
