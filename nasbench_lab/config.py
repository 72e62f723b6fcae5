"""Typed option dataclasses: where every strategy, estimator and fidelity option is checked.

Strategies, estimators and the training fidelity are configured by dataclasses whose fields carry a
type annotation and a docstring (house rule 4). This module reads both, so that one description of an
option serves three readers:

* ``build(cls, options, owner)`` checks each value against its field before anything runs, with a
  message that names the option, what it allows and what it got (``evolution option 'crossover' must
  be a number, got [1]``): its type, and its range where the field declares one with ``option(...)``
  (``population: int = option(20, lo=2)``); then the class's own ``check()``, which holds only the rules
  that span several fields (a tournament no larger than the population);
* ``validate(config, owner)`` does the same for a config object someone built by hand;
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
    lo: float | None = None
    """Smallest allowed value (numbers), None: no lower bound."""
    hi: float | None = None
    """Largest allowed value (numbers) or number of entries (lists, JSON objects); None: no bound."""
    gt: float | None = None
    """A bound the value must exceed (a rate > 0), None: none."""
    lt: float | None = None
    """A bound the value must stay below (a decay < 1), None: none."""
    why: str = ""
    """Said after the range in a message (what the bound protects)."""


def option(default=dataclasses.MISSING, *, lo=None, hi=None, gt=None, lt=None, why: str = ""):
    """A config field with a range that ``build`` checks: ``population: int = option(20, lo=2)``.

    ``lo``/``hi`` are inclusive bounds, ``gt``/``lt`` exclusive ones (``lr: float = option(0.1, gt=0)``);
    for a list or a JSON object ``hi`` bounds its number of entries. ``why`` is added to the message.
    """
    return dataclasses.field(default=default,
                             metadata={"range": {"lo": lo, "hi": hi, "gt": gt, "lt": lt, "why": why}})


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
        out.append(FieldSpec(f.name, kind, optional, default, docs.get(f.name, ""), choices,
                             **f.metadata.get("range", {})))
    return out


def _num(v) -> str:
    return f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else f"{v:g}"


def _check_range(spec: FieldSpec, value, owner: str):
    """``value`` within the field's declared range (numbers) or size (lists, objects); ValueError if not."""
    why = f" ({spec.why})" if spec.why else ""
    if spec.kind in ("tuple", "dict"):
        if spec.hi is not None and len(value) > spec.hi:
            raise ValueError(f"{owner} option {spec.name!r} has {len(value):,} entries; at most {_num(spec.hi)} "
                             f"are allowed{why}")
        return value
    if ((spec.lo is None or value >= spec.lo) and (spec.gt is None or value > spec.gt)
            and (spec.hi is None or value <= spec.hi) and (spec.lt is None or value < spec.lt)):
        return value
    low = ("[", spec.lo) if spec.lo is not None else ("(", spec.gt) if spec.gt is not None else None
    high = ("]", spec.hi) if spec.hi is not None else (")", spec.lt) if spec.lt is not None else None
    if low and high:
        allowed = (f"from {_num(low[1])} to {_num(high[1])}" if (low[0], high[0]) == ("[", "]")
                   else f"in {low[0]}{_num(low[1])}, {_num(high[1])}{high[0]}")
    elif low:
        allowed = f"{'>=' if low[0] == '[' else '>'} {_num(low[1])}"
    else:
        allowed = f"{'<=' if high[0] == ']' else '<'} {_num(high[1])}"
    raise ValueError(f"{owner} option {spec.name!r} must be {allowed}{why}, got {short(value)}")


_WHAT = {"bool": "true or false", "int": "an integer", "float": "a number", "str": "a string",
         "tuple": "a list of numbers", "dict": "a JSON object"}


def check_value(spec: FieldSpec, value, owner: str):
    """``value`` checked (and normalised: int -> float, list -> tuple) against ``spec``: its type, then its
    range; ValueError naming the option if not."""
    value = _check_type(spec, value, owner)
    if value is None or (spec.lo, spec.hi, spec.gt, spec.lt) == (None, None, None, None):
        return value
    return _check_range(spec, value, owner)


def _check_type(spec: FieldSpec, value, owner: str):
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


def _unknown(owner: str, names, known) -> str:
    """The message for unknown option names: the first two of them (cut short), then every known name.
    Why so few: the line must stay readable when a typo meets a config of two dozen fields."""
    names = list(names)
    more = f" (and {len(names) - 2} more)" if len(names) > 2 else ""
    return (f"unknown option(s) for {owner}: {', '.join(short(k, 24) for k in names[:2])}{more}; "
            f"known: {', '.join(known) or 'none'}")


def build(cls, options: dict | None, owner: str, error: type = ValueError, base=None):
    """An instance of the config dataclass ``cls`` from keyword ``options``, every value checked.

    ``owner`` names the thing configured in messages ("evolution", "estimator 'train'"); ``error`` is
    the ValueError subclass raised. ``base``: an instance whose values stand in for the options not
    given (default: the class's defaults). Then as ``validate``: every field's type and range, and the
    class's ``check()`` (if any) for the rules that span several fields.
    """
    options = dict(options or {})
    known = [s.name for s in fields(cls)]
    unknown = [k for k in options if k not in known]
    if unknown:
        raise error(_unknown(owner, unknown, known))
    try:
        cfg = cls(**options) if base is None else dataclasses.replace(base, **options)
    except (TypeError, ValueError) as exc:
        raise error(str(exc)) from None
    return validate(cfg, owner, error)


def configure(cls, options, owner: str, error: type = ValueError, base=None):
    """The config of a strategy or an estimator (its ``config_class``) from what a caller gave: a dict of
    options (``build``), a ready config object (a checked copy, ``validate``), or None (``base``, else the
    class's defaults). ``cls`` None: the thing has no options, so every option is unknown."""
    if cls is None:
        if options:
            raise error(_unknown(owner, options, []))
        return None
    if isinstance(options, cls):
        return validate(dataclasses.replace(options), owner, error)
    if options is not None and not isinstance(options, dict):
        raise error(f"{owner} options must be a {cls.__name__} or a dict of its fields, got {type(options).__name__}")
    return build(cls, options, owner, error, base)


def validate(cfg, owner: str, error: type = ValueError):
    """``cfg`` (a config dataclass instance built by hand) with every field checked and normalised as
    ``build`` checks options, then its ``check()``; returns it."""
    try:
        for spec in fields(type(cfg)):
            setattr(cfg, spec.name, check_value(spec, getattr(cfg, spec.name), owner))
        if hasattr(cfg, "check"):
            cfg.check()
    except error:
        raise
    except (TypeError, ValueError) as exc:
        raise error(str(exc)) from None
    return cfg


__all__ = ["FieldSpec", "MAX_INT", "build", "check_value", "configure", "fields", "option", "short", "validate"]
