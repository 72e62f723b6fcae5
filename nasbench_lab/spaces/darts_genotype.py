"""The DARTS architecture value, ``Genotype``, and its parser (the currency of the DARTS space).

A ``Genotype`` is printed and read in the published form of quark0/darts' genotypes.py, so a cell
copied from a paper's code pastes straight in; the parser reads that form without ``eval`` (a
recursive descent over a few token kinds, with limits on nesting, range sizes and digits, since the
text can come from a user or a file). ``darts.py`` re-exports everything here.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .base import SpaceError, check_text, shown

PRIMITIVES = ("none", "max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5",
              "dil_conv_3x3", "dil_conv_5x5")
OPS = PRIMITIVES[1:]                                   # what a derived genotype may use
EXTRA_OPS = ("sep_conv_7x7", "conv_7x1_1x7")           # only in the published NASNet/AmoebaNet cells
STEPS = 4
CELLS = ("normal", "reduce")
CONCAT = tuple(range(2, 2 + STEPS))


@dataclass(frozen=True, repr=False)
class Genotype:
    """One DARTS architecture: the (op, input) pairs of both cells and the nodes each concatenates.

    Immutable and hashable; lists and ranges given to the constructor are stored as tuples.
    """

    normal: tuple
    """Normal cell: ((op, input), ...), two entries per intermediate node, node by node."""
    normal_concat: tuple
    """Node indices whose outputs the normal cell concatenates (2, 3, 4, 5 in the DARTS space)."""
    reduce: tuple
    """Reduction cell, same layout as ``normal``; ops reading input 0 or 1 have stride 2."""
    reduce_concat: tuple
    """Node indices concatenated by the reduction cell."""

    def __post_init__(self):
        for cell in CELLS:
            object.__setattr__(self, cell, tuple((str(op), int(i)) for op, i in getattr(self, cell)))
            object.__setattr__(self, f"{cell}_concat", tuple(int(i) for i in getattr(self, f"{cell}_concat")))

    def __str__(self) -> str:
        return (f"Genotype(normal={list(self.normal)!r}, normal_concat={list(self.normal_concat)!r}, "
                f"reduce={list(self.reduce)!r}, reduce_concat={list(self.reduce_concat)!r})")

    __repr__ = __str__

    def cell(self, name: str) -> tuple:
        return getattr(self, name)

    def concat(self, name: str) -> tuple:
        return getattr(self, f"{name}_concat")


# ---------------------------------------------------------------------- parsing (no eval)
_TOKEN = re.compile(r"\s*(?:(?P<name>[A-Za-z_]\w*)|(?P<int>-?\d+)|(?P<str>'[^'\\]*'|\"[^\"\\]*\")"
                    r"|(?P<punct>[()\[\],=]))")
_FIELDS = ("normal", "normal_concat", "reduce", "reduce_concat")


class _Parser:
    """Recursive descent over  Genotype(field=value, ...)  (keywords or positional), where a value is
    [..] | (..) | int | 'str' | range(a, b). Produces tuples; never evaluates the text."""

    MAX_DEPTH = 8            # Genotype( [ ( 'op', 1 ) ] ) nests 3 deep; 500 brackets is an attack, not a cell
    MAX_RANGE = 64           # range(2, 6) is what genotypes use; range(10**9) would fill the memory
    MAX_DIGITS = 6

    def __init__(self, text: str):
        self.depth = 0
        self.text, self.toks, self.i, pos, end = text, [], 0, 0, len(text.rstrip())
        while pos < end:
            m = _TOKEN.match(text, pos)
            if not m:
                bad = text[pos:].strip()[:1]
                raise SpaceError(f"malformed genotype: unexpected character {bad!r} at {pos}")
            kind, val = m.lastgroup, m.group(m.lastgroup)
            if kind == "int" and len(val.lstrip("-")) > self.MAX_DIGITS:
                raise SpaceError(f"malformed genotype: integer with {len(val.lstrip('-')):,} digits at {pos}")
            val = int(val) if kind == "int" else val[1:-1] if kind == "str" else val
            self.toks.append((kind, val, m.start(kind)))
            pos = m.end()

    def fail(self, what: str):
        pos = self.toks[self.i][2] if self.i < len(self.toks) else len(self.text)
        raise SpaceError(f"malformed genotype: {what} at position {pos} of {self.text.strip()[:80]!r}...")

    def peek(self, ahead: int = 0):
        j = self.i + ahead
        return self.toks[j][:2] if j < len(self.toks) else (None, None)

    def take(self, expected=None):
        kind, val = self.peek()
        if kind is None or (expected is not None and (kind not in ("punct", "name") or val != expected)):
            self.fail(f"expected {expected or 'a value'!r}, got {'the end' if kind is None else repr(val)}")
        self.i += 1
        return kind, val

    def items(self, close: str) -> list:
        out = []
        while self.peek() != ("punct", close):
            out.append(self.value())
            if self.peek() != ("punct", close):
                self.take(",")
        self.take(close)
        return out

    def value(self):
        kind, val = self.take()
        if kind in ("int", "str"):
            return val
        if kind == "punct" and val in "[(":
            self.depth += 1
            if self.depth > self.MAX_DEPTH:
                self.fail(f"brackets nested more than {self.MAX_DEPTH} deep")
            out = tuple(self.items("]" if val == "[" else ")"))
            self.depth -= 1
            return out
        if (kind, val) == ("name", "range"):
            self.take("(")
            args = self.items(")")
            if not 1 <= len(args) <= 2 or not all(isinstance(a, int) for a in args):
                self.fail("range() takes one or two integers")
            r = range(*args)
            if len(r) > self.MAX_RANGE:
                self.fail(f"range() of {len(r):,} numbers (at most {self.MAX_RANGE})")
            return tuple(r)
        self.fail(f"unexpected {val!r}")

    def genotype(self) -> dict:
        self.take("Genotype")
        self.take("(")
        fields = {}
        while self.peek() != ("punct", ")"):
            if self.peek(1) == ("punct", "="):
                key = self.take()[1]
                self.take("=")
            else:
                key = _FIELDS[len(fields)] if len(fields) < len(_FIELDS) else "?"
            if key not in _FIELDS:
                self.fail(f"unknown Genotype field {key!r} (fields: {', '.join(_FIELDS)})")
            if key in fields:
                self.fail(f"field {key!r} given twice")
            fields[key] = self.value()
            if self.peek() != ("punct", ")"):
                self.take(",")
        self.take(")")
        if self.i != len(self.toks):
            self.fail("trailing text after Genotype(...)")
        missing = [n for n in _FIELDS if n not in fields]
        if missing:
            raise SpaceError(f"malformed genotype: missing field(s) {', '.join(missing)}")
        return fields


def check_genotype(g: Genotype, strict: bool = True) -> Genotype:
    """Raise SpaceError naming the first problem. ``strict``: the DARTS space itself (4 nodes, the 7
    non-``none`` ops, concat 2..5); otherwise any published cell the builder can run (NASNet, ...)."""
    if not isinstance(g, Genotype):
        raise SpaceError(f"expected a DARTS Genotype, got {type(g).__name__}")
    allowed = OPS if strict else PRIMITIVES + EXTRA_OPS
    for cell in CELLS:
        entries, concat = g.cell(cell), g.concat(cell)
        if strict and len(entries) != 2 * STEPS:
            raise SpaceError(f"{cell} cell needs {2 * STEPS} (op, input) entries (2 per node, {STEPS} "
                             f"nodes), got {len(entries)}")
        if not entries or len(entries) % 2:
            raise SpaceError(f"{cell} cell needs two (op, input) entries per node, got {len(entries)}")
        for e, (op, inp) in enumerate(entries):
            node = e // 2 + 2
            if op not in allowed:
                hint = " ('none' only exists in the supernet)" if op == "none" else ""
                raise SpaceError(f"unknown op {op!r} in the {cell} cell{hint}; ops: {', '.join(allowed)}")
            if not 0 <= inp < node:
                raise SpaceError(f"input {inp} of node {node} in the {cell} cell is out of range "
                                 f"(node {node} may read 0..{node - 1})")
        n_nodes = len(entries) // 2 + 2
        if strict and concat != CONCAT:
            raise SpaceError(f"{cell}_concat must be {list(CONCAT)} in the DARTS space, got {list(concat)}")
        if not concat or len(set(concat)) != len(concat) or not all(0 <= c < n_nodes for c in concat):
            raise SpaceError(f"{cell}_concat {list(concat)} must list distinct nodes among 0..{n_nodes - 1}")
    return g


def parse_genotype(text: str, strict: bool = True) -> Genotype:
    check_text("darts", text)
    fields = _Parser(text).genotype()
    try:
        for cell in CELLS:
            for entry in fields[cell]:
                if not (isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], str)
                        and isinstance(entry[1], int)):
                    raise SpaceError(f"malformed genotype: {cell} entries must be ('op', input) pairs, "
                                     f"got {shown(entry, 40)}")
            if not all(isinstance(c, int) for c in fields[f"{cell}_concat"]):
                raise SpaceError(f"malformed genotype: {cell}_concat must list integers")
        g = Genotype(**fields)
    except TypeError as exc:
        raise SpaceError(f"malformed genotype: {exc}") from None
    return check_genotype(g, strict)
