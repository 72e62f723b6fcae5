"""The DARTS cell space (Liu, Simonyan & Yang, "DARTS: Differentiable Architecture Search", ICLR 2019;
reference code quark0/darts). The same space as NASNet's, cut down to 4 nodes and 8 primitives.

A network stacks two kinds of cells: *normal* cells keep the resolution, *reduction* cells (at 1/3 and
2/3 of the depth) halve it. A cell reads the outputs of the two previous cells (inputs 0 and 1) and
has 4 intermediate nodes (2..5); node j picks two (op, input) pairs with inputs among 0..j-1 and sums
them; the cell outputs the concatenation of nodes 2..5. An architecture is a ``Genotype`` printed in
the published form (lists, as in quark0/darts' genotypes.py):

    Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ...], normal_concat=[2, 3, 4, 5],
             reduce=[...], reduce_concat=[2, 3, 4, 5])

Entries 2k and 2k+1 belong to node k+2. Derived genotypes never contain ``none`` (the supernet-only
"no edge" op), so 7 ops can be chosen. Counting the two inputs of a node as an unordered pair of
different nodes: (C(2,2) C(3,2) C(4,2) C(5,2) * 7**8)**2 = 1.08e18 architectures (the "10^18" usually
quoted for this space). The evaluation network (``build``) is the reference ``NetworkCIFAR`` and lives
in ``darts_network.py``; the search network (``supernet``) lives in ``darts_supernet.py``; the
``Genotype`` value and its parser live in ``darts_genotype.py``.
"""
from __future__ import annotations

import math
import random

import torch.nn as nn

from .base import Decision, SearchSpace, SpaceError, check_skeleton
# re-exported so ``nasbench_lab.spaces.darts.DartsNetwork`` and its helpers stay importable from here
from .darts_network import AuxiliaryHead, DartsCell, DartsNetwork, drop_path  # noqa: F401
from .darts_supernet import DartsSupernet
# the value type and its parser, re-exported: ``from nasbench_lab.spaces.darts import Genotype`` is the
# import users know from quark0/darts
from .darts_genotype import (CELLS, CONCAT, EXTRA_OPS, OPS, PRIMITIVES, STEPS, Genotype,  # noqa: F401
                             check_genotype, parse_genotype)


_REFERENCES = {
    # DARTS (first order) and DARTS (second order) CIFAR-10 cells, Liu et al. 2019; DARTS = DARTS_V2.
    "DARTS_V1": "Genotype(normal=[('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 0), "
                "('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), "
                "('skip_connect', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), "
                "('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 0), ('max_pool_3x3', 0), "
                "('skip_connect', 2), ('skip_connect', 2), ('avg_pool_3x3', 0)], reduce_concat=[2, 3, 4, 5])",
    "DARTS_V2": "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), "
                "('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), "
                "('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), "
                "('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
                "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])",
    # NASNet-A (Zoph et al. 2018) and AmoebaNet-A (Real et al. 2019) as written in quark0/darts: 5 nodes
    # and 7x7 ops, i.e. *outside* the DARTS space (build() still runs them).
    "NASNet": "Genotype(normal=[('sep_conv_5x5', 1), ('sep_conv_3x3', 0), ('sep_conv_5x5', 0), "
              "('sep_conv_3x3', 0), ('avg_pool_3x3', 1), ('skip_connect', 0), ('avg_pool_3x3', 0), "
              "('avg_pool_3x3', 0), ('sep_conv_3x3', 1), ('skip_connect', 1)], normal_concat=[2, 3, 4, 5, 6], "
              "reduce=[('sep_conv_5x5', 1), ('sep_conv_7x7', 0), ('max_pool_3x3', 1), ('sep_conv_7x7', 0), "
              "('avg_pool_3x3', 1), ('sep_conv_5x5', 0), ('skip_connect', 3), ('avg_pool_3x3', 2), "
              "('sep_conv_3x3', 2), ('max_pool_3x3', 1)], reduce_concat=[4, 5, 6])",
    "AmoebaNet": "Genotype(normal=[('avg_pool_3x3', 0), ('max_pool_3x3', 1), ('sep_conv_3x3', 0), "
                 "('sep_conv_5x5', 2), ('sep_conv_3x3', 0), ('avg_pool_3x3', 3), ('sep_conv_3x3', 1), "
                 "('skip_connect', 1), ('skip_connect', 0), ('avg_pool_3x3', 1)], normal_concat=[4, 5, 6], "
                 "reduce=[('avg_pool_3x3', 0), ('sep_conv_3x3', 1), ('max_pool_3x3', 0), ('sep_conv_7x7', 2), "
                 "('sep_conv_7x7', 0), ('avg_pool_3x3', 1), ('max_pool_3x3', 0), ('max_pool_3x3', 1), "
                 "('conv_7x1_1x7', 0), ('sep_conv_3x3', 5)], reduce_concat=[3, 4, 6])",
    # ENAS (Pham et al. 2018) CIFAR-10 cell in this notation (as in NSGA-Net's micro_genotypes.py);
    # 5 nodes, and node 2 reads input 1 twice.
    "ENAS": "Genotype(normal=[('sep_conv_3x3', 1), ('skip_connect', 1), ('sep_conv_5x5', 1), "
            "('skip_connect', 0), ('avg_pool_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), "
            "('avg_pool_3x3', 0), ('sep_conv_5x5', 1), ('avg_pool_3x3', 0)], normal_concat=[2, 3, 4, 5, 6], "
            "reduce=[('sep_conv_5x5', 0), ('avg_pool_3x3', 1), ('sep_conv_3x3', 1), ('avg_pool_3x3', 1), "
            "('avg_pool_3x3', 1), ('sep_conv_3x3', 1), ('sep_conv_5x5', 4), ('avg_pool_3x3', 1), "
            "('sep_conv_3x3', 5), ('sep_conv_5x5', 0)], reduce_concat=[2, 3, 6])",
}


class DartsSpace(SearchSpace):
    name = "darts"
    finite = False
    arch_type = Genotype

    # ------------------------------------------------------------------ values and strings
    def sample(self, rng: random.Random) -> Genotype:
        rng = self._check_rng(rng)
        cells = {}
        for cell in CELLS:
            entries = []
            for k in range(STEPS):
                for inp in rng.sample(range(k + 2), 2):      # two different inputs
                    entries.append((rng.choice(OPS), inp))
            cells[cell] = tuple(entries)
        return Genotype(cells["normal"], CONCAT, cells["reduce"], CONCAT)

    def to_str(self, arch: Genotype) -> str:
        return str(arch)

    def from_str(self, s: str, strict: bool = True) -> Genotype:
        """Parse the published form; ``strict=False`` also accepts cells outside the space (NASNet...)."""
        return parse_genotype(s, strict)

    def check(self, arch: Genotype, strict: bool = True) -> Genotype:
        """``strict=False`` also accepts published cells outside the space (NASNet...) that ``build`` runs."""
        return check_genotype(super().check(arch), strict)

    def contains(self, arch: Genotype) -> bool:
        try:
            check_genotype(arch, strict=True)
            return True
        except SpaceError:
            return False

    def canonical(self, arch: Genotype) -> Genotype:
        """The order of a node's two entries does not matter: sort them (by input, then op)."""
        def sort(entries):
            return tuple(e for k in range(0, len(entries), 2)
                         for e in sorted(entries[k:k + 2], key=lambda t: (t[1], t[0])))
        return Genotype(sort(arch.normal), arch.normal_concat, sort(arch.reduce), arch.reduce_concat)

    def size(self) -> int:
        """Genotypes with two different inputs per node, the pair unordered (see the module docstring)."""
        per_cell = 1
        for k in range(STEPS):
            per_cell *= math.comb(k + 2, 2) * len(OPS) ** 2
        return per_cell ** len(CELLS)

    # ------------------------------------------------------------------ variation operators
    def _replace(self, arch: Genotype, cell: str, e: int, entry: tuple) -> Genotype:
        entries = list(arch.cell(cell))
        entries[e] = entry
        cells = {c: (tuple(entries) if c == cell else arch.cell(c)) for c in CELLS}
        return Genotype(cells["normal"], arch.normal_concat, cells["reduce"], arch.reduce_concat)

    def _input_choices(self, entries, e: int) -> list[int]:
        # a new input must differ from the current one and from the node's other input
        return [i for i in range(e // 2 + 2) if i != entries[e][1] and i != entries[e ^ 1][1]]

    def mutate(self, arch: Genotype, rng: random.Random) -> Genotype:
        """Change one op or one input of one node (inputs stay different within a node)."""
        rng = self._check_rng(rng)
        check_genotype(arch)
        cell = rng.choice(CELLS)
        entries = arch.cell(cell)
        e = rng.randrange(len(entries))
        op, inp = entries[e]
        inputs = self._input_choices(entries, e)
        if inputs and rng.random() < 0.5:
            return self._replace(arch, cell, e, (op, rng.choice(inputs)))
        return self._replace(arch, cell, e, (rng.choice([o for o in OPS if o != op]), inp))

    def crossover(self, a: Genotype, b: Genotype, rng: random.Random) -> Genotype:
        """Uniform crossover of whole nodes: each node of each cell comes from one parent."""
        rng = self._check_rng(rng)
        check_genotype(a), check_genotype(b)
        cells = {}
        for cell in CELLS:
            cells[cell] = tuple(e for k in range(STEPS)
                                for e in (a if rng.random() < 0.5 else b).cell(cell)[2 * k:2 * k + 2])
        return Genotype(cells["normal"], CONCAT, cells["reduce"], CONCAT)

    def neighbours(self, arch: Genotype) -> list[Genotype]:
        check_genotype(arch)
        out = []
        for cell in CELLS:
            entries = arch.cell(cell)
            for e, (op, inp) in enumerate(entries):
                out += [self._replace(arch, cell, e, (o, inp)) for o in OPS if o != op]
                out += [self._replace(arch, cell, e, (op, i)) for i in self._input_choices(entries, e)]
        return out

    # ------------------------------------------------------------------ RL controller view
    def decisions(self) -> list[Decision]:
        """Per cell, node and slot: the input (0..node-1), then the op (the 7 non-``none`` ops)."""
        out = []
        for cell in CELLS:
            for k in range(STEPS):
                for slot in range(2):
                    out.append(Decision(f"{cell} node {k + 2} input {slot}", tuple(range(k + 2))))
                    out.append(Decision(f"{cell} node {k + 2} op {slot}", OPS))
        return out

    def to_decisions(self, arch: Genotype) -> list[int]:
        check_genotype(arch)
        return [x for cell in CELLS for op, inp in arch.cell(cell) for x in (inp, OPS.index(op))]

    def from_decisions(self, indices) -> Genotype:
        """May repeat an input within a node (as the ENAS controller can); that is still buildable."""
        ds = self.decisions()
        if len(indices) != len(ds):
            raise SpaceError(f"darts needs {len(ds)} decisions, got {len(indices)}")
        vals = []
        for d, i in zip(ds, indices):
            if not 0 <= int(i) < len(d.choices):
                raise SpaceError(f"decision {d.name!r}: index {i} out of range 0..{len(d.choices) - 1}")
            vals.append(d.choices[int(i)])
        pairs = [(vals[k + 1], vals[k]) for k in range(0, len(vals), 2)]
        half = len(pairs) // 2
        return Genotype(pairs[:half], CONCAT, pairs[half:], CONCAT)

    # ------------------------------------------------------------------ drawing and networks
    def to_graph(self, arch: Genotype, cell: str | None = None):
        """Both cells (or one): nodes (cell, 'c_{k-2}'), (cell, 'c_{k-1}'), (cell, '0'..'3'), (cell,
        'c_{k}'); edges carry ``op`` and ``cell`` (two ops on one edge read 'a+b'; concat edges 'concat')."""
        import networkx as nx          # ~0.1-0.3 s, and only drawing needs it: imported when a graph is made
        arch = self.check(arch, strict=False)
        cells = CELLS if cell is None else (cell,)
        if any(c not in CELLS for c in cells):
            raise SpaceError(f"cell must be 'normal', 'reduce' or None, got {cell!r}")
        g = nx.DiGraph(space=self.name, arch=str(arch))
        for c in cells:
            entries = arch.cell(c)
            names = ["c_{k-2}", "c_{k-1}"] + [str(k) for k in range(len(entries) // 2)] + ["c_{k}"]
            for n in names:
                g.add_node((c, n), label=n, cell=c)
            for e, (op, inp) in enumerate(entries):
                u, v = (c, names[inp]), (c, names[e // 2 + 2])
                if g.has_edge(u, v):
                    op = g.edges[u, v]["op"] + "+" + op
                g.add_edge(u, v, op=op, cell=c)
            for j in arch.concat(c):
                g.add_edge((c, names[j]), (c, "c_{k}"), op="concat", cell=c)
        return g

    def build(self, arch, in_channels: int = 3, num_classes: int = 10, C: int = 36, layers: int = 20,
              auxiliary: bool = False, drop_path_prob: float = 0.0, **unused) -> nn.Module:
        if unused:
            raise SpaceError(f"unknown darts skeleton option(s): {', '.join(unused)}; "
                             "known: C, layers, auxiliary, drop_path_prob")
        check_skeleton("darts", in_channels=in_channels, num_classes=num_classes, C=C, layers=layers,
                       auxiliary=auxiliary, drop_path_prob=drop_path_prob)
        arch = self.check(arch, strict=False)
        return DartsNetwork(arch, C=C, num_classes=num_classes, layers=layers, auxiliary=auxiliary,
                            drop_path_prob=drop_path_prob, in_channels=in_channels)

    def supernet(self, in_channels: int = 3, num_classes: int = 10, C: int = 16, layers: int = 8,
                 steps: int = 4, multiplier: int = 4, stem_multiplier: int = 3, partial_channels: int = 1,
                 edge_normalization: bool | None = None, **unused) -> nn.Module:
        """The search network; ``partial_channels``/``edge_normalization``: PC-DARTS (darts_supernet.py)."""
        if unused:
            raise SpaceError(f"unknown darts supernet option(s): {', '.join(unused)}; "
                             "known: C, layers, steps, multiplier, stem_multiplier, partial_channels, "
                             "edge_normalization")
        check_skeleton("darts", in_channels=in_channels, num_classes=num_classes, C=C, layers=layers, steps=steps,
                       multiplier=multiplier, stem_multiplier=stem_multiplier)
        return DartsSupernet(C=C, num_classes=num_classes, layers=layers, steps=steps, multiplier=multiplier,
                             stem_multiplier=stem_multiplier, in_channels=in_channels,
                             partial_channels=partial_channels, edge_normalization=edge_normalization)

    def references(self) -> list[str]:
        return list(_REFERENCES)

    def reference(self, name: str) -> Genotype:
        name = {"DARTS": "DARTS_V2"}.get(name, name)
        if name not in _REFERENCES:
            return super().reference(name)
        return parse_genotype(_REFERENCES[name], strict=False)

    def describe(self) -> dict:
        return {**super().describe(), "ops": list(OPS), "nodes": STEPS, "cells": list(CELLS)}
