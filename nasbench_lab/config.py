"""Typed option dataclasses: where every strategy, estimator and fidelity option is checked.

Strategies, estimators and the training fidelity are configured by dataclasses whose fields carry a
type annotation and a docstring (house rule 4). This module reads both, so that one description of an
option serves three readers:

* ``build(cls, options, owner)`` checks each value against its field before anything runs, with a
  message that names the option, what it allows and what it got (``evolution option 'crossover' must
  be a number, got [1]``), then calls the class's own ``check()`` for ranges;
* ``fields(cls)`` lists name, type, default and docstring of every field: the Lab builds its forms
  from it (the docstring becomes the tooltip, the type picks the control);
* unknown names are answered with the list of known ones.

Why the docstrings are read with ``ast``: Python keeps no attribute docstrings at run time; the source
is the only place they live (Sphinx reads them the same way).
"""
from __future__ import annotations

import ast
import dataclasses
import inspect
import math
import textwrap
import types
import typing
from dataclasses import dataclass
from functools import lru_cache

#: Integers beyond this are not options anyone means (and overflow torch and SQLite).
MAX_INT = 2 ** 53


@dataclass(frozen=True)
class FieldSpec:
    name: str
    """The option's name (the keyword to pass)."""
    kind: str
    """One of bool, int, float, str, tuple, dict."""
    optional: bool
    """Whether None is allowed."""
    default: object
    """The default value (dataclasses.MISSING when there is none)."""
    doc: str
    """The field's docstring (empty when it has none)."""
    choices: tuple = ()
    """The allowed values of a ``Literal[...]`` field (the Lab shows a dropdown); () when free."""


def short(value, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters, for messages (a 100 KB input is not echoed whole)."""
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - a value whose repr fails still gets a message
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[:limit - 15] + f"... ({len(text):,} chars)"


@lru_cache(maxsize=None)
def _docstrings(cls) -> dict:
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    except (OSError, TypeError, SyntaxError):
        return {}
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    docs = {}
    for node, nxt in zip(body, body[1:] + [None]):
        if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and isinstance(nxt, ast.Expr)
                and isinstance(nxt.value, ast.Constant) and isinstance(nxt.value.value, str)):
            docs[node.target.id] = " ".join(nxt.value.value.split())
    return docs


def _kind(tp) -> tuple[str, bool, tuple]:
    """('int', optional?, choices) from an annotation such as ``int | None`` or ``Literal['a', 'b']``."""
    optional = False
    if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        optional = len(args) < len(typing.get_args(tp))
        tp = args[0] if len(args) == 1 else object
    if typing.get_origin(tp) is typing.Literal:
        choices = typing.get_args(tp)
        if all(isinstance(c, str) for c in choices):
            return "str", optional, tuple(choices)
    tp = typing.get_origin(tp) or tp
    name = {bool: "bool", int: "int", float: "float", str: "str", tuple: "tuple", list: "tuple", dict: "dict"}
    return name.get(tp, "any"), optional, ()


def fields(cls) -> list[FieldSpec]:
    """Every field of the config dataclass ``cls``: name, kind, optional, default, docstring."""
    hints = typing.get_type_hints(cls)
    docs = _docstrings(cls)
    out = []
    for f in dataclasses.fields(cls):
        kind, optional, choices = _kind(hints.get(f.name, object))
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else dataclasses.MISSING)
        out.append(FieldSpec(f.name, kind, optional, default, docs.get(f.name, ""), choices))
    return out


_WHAT = {"bool": "true or false", "int": "an integer", "float": "a number", "str": "a string",
         "tuple": "a list of numbers", "dict": "a JSON object"}


def check_value(spec: FieldSpec, value, owner: str):
    """``value`` checked (and normalised: int -> float, list -> tuple) against ``spec``; ValueError if not."""
    what = _WHAT.get(spec.kind, "a value") + (" or null" if spec.optional else "")
    bad = ValueError(f"{owner} option {spec.name!r} must be {what}, got {short(value)}")
    if value is None:
        if spec.optional or spec.kind == "any":
            return None
        raise bad
    if spec.kind == "bool":
        if not isinstance(value, bool):            # "no", 0, "false": never silently True or False
            raise bad
        return value
    if spec.kind == "int":
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad
        if abs(value) > MAX_INT:
            raise ValueError(f"{owner} option {spec.name!r} is out of range: {short(value)}")
        return value
    if spec.kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad
        if isinstance(value, int) and abs(value) > MAX_INT:
            raise ValueError(f"{owner} option {spec.name!r} is out of range: {short(value)}")
        if not math.isfinite(float(value)):
            raise ValueError(f"{owner} option {spec.name!r} must be a finite number, got {short(value)}")
        return float(value)
    if spec.kind == "str":
        if not isinstance(value, str):
            raise bad
        if spec.choices and value not in spec.choices:
            raise ValueError(f"{owner} option {spec.name!r} must be one of "
                             f"{', '.join(repr(c) for c in spec.choices)}, got {short(value)}")
        return value
    if spec.kind == "tuple":
        if not isinstance(value, (list, tuple)) or len(value) > 64 or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value):
            raise bad
        return tuple(float(v) for v in value)
    if spec.kind == "dict":
        if not isinstance(value, dict):
            raise bad
        return value
    return value


def build(cls, options: dict | None, owner: str, error: type = ValueError):
    """An instance of the config dataclass ``cls`` from keyword ``options``, every value checked.

    ``owner`` names the thing configured in messages ("evolution", "estimator 'train'"); ``error`` is
    the ValueError subclass raised. The class's ``check()`` (if any) then checks ranges.
    """
    options = dict(options or {})
    specs = {s.name: s for s in fields(cls)}
    unknown = [k for k in options if k not in specs]
    if unknown:
        raise error(f"unknown option(s) for {owner}: {', '.join(short(k, 30) for k in unknown)}; "
                    f"known: {', '.join(specs) or 'none'}")
    try:
        values = {k: check_value(specs[k], v, owner) for k, v in options.items()}
        cfg = cls(**values)
        if hasattr(cfg, "check"):
            cfg.check()
    except error:
        raise
    except (TypeError, ValueError) as exc:
        raise error(str(exc)) from None
    return cfg


__all__ = ["FieldSpec", "MAX_INT", "build", "check_value", "fields", "short"]
