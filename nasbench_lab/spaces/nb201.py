"""The NAS-Bench-201 cell space (Dong & Yang, "NAS-Bench-201: Extending the Scope of Reproducible
Neural Architecture Search", ICLR 2020).

A cell is a DAG on 4 nodes; each of the 6 edges i->j (i < j) carries one of 5 ops, and a node is the
sum of its incoming edges. 5**6 = 15,625 cells. The published string lists the edges node by node:

    |op~0|+|op~0|op~1|+|op~0|op~1|op~2|        (edges 0->1 | 0->2, 1->2 | 0->3, 1->3, 2->3)

The network ("skeleton") is fixed: a 3x3 conv stem, three stages of N cells at C, 2C, 4C channels,
a ResNet basic block with stride 2 between stages, then BN-ReLU, global pooling and a linear head.
"""
from __future__ import annotations

import itertools
import random

import torch.nn as nn

from .base import Decision, SearchSpace, SpaceError, check_skeleton, check_text, shown
# the value and the network live beside the space (the supernet builds on them too); re-exported here
from .nb201_network import EDGE_NAMES, EDGES, OPS, NB201Arch, NB201Network
from .nb201_supernet import NB201Supernet


def _node_expressions(ops) -> list[str]:
    """Symbolic node expressions used by the reference API to remove isomorphic cells.

    A term is '#' (zero) when the edge is `none` or its input is exactly '#'; the input itself when
    the edge is `skip_connect`; '(input)@op' otherwise. Terms are sorted and joined with '+'.
    Why this exact rule: it is what the published 6,466 count comes from. Note that zero markers stay
    in a sum, so a node fed only by zeros reads '#+#' and is *not* treated as zero downstream; a rule
    that removed zeros properly would give 5,390 classes, one that ignored them 12,751.
    """
    nodes = ["x"]
    for j in (1, 2, 3):
        terms = []
        for i in range(j):
            op = ops[EDGES.index((i, j))]
            if op == "none" or nodes[i] == "#":
                terms.append("#")
            elif op == "skip_connect":
                terms.append(nodes[i])
            else:
                terms.append(f"({nodes[i]})@{op}")
        nodes.append("+".join(sorted(terms)))
    return nodes


class NB201Space(SearchSpace):
    name = "nb201"
    finite = True
    arch_type = NB201Arch

    def __init__(self):
        self._canon: dict[str, NB201Arch] | None = None  # expression -> representative (lazy)
        self._canon_of: dict[NB201Arch, NB201Arch] = {}  # arch -> representative, filled as asked

    # ------------------------------------------------------------------ values and strings
    def sample(self, rng: random.Random) -> NB201Arch:
        rng = self._check_rng(rng)
        return NB201Arch(tuple(rng.choice(OPS) for _ in EDGES))

    def to_str(self, arch: NB201Arch) -> str:
        return str(arch)

    def from_str(self, s: str) -> NB201Arch:
        text = check_text("nb201", s).strip()
        nodes = text.split("+")
        if len(nodes) != 3:
            raise SpaceError(f"malformed nb201 string {shown(s)}: expected 3 node groups separated by '+'")
        ops = []
        for j, group in enumerate(nodes, start=1):
            if not (group.startswith("|") and group.endswith("|")):
                raise SpaceError(f"malformed nb201 string {shown(s)}: node {j} group must be wrapped in '|'")
            items = group[1:-1].split("|")
            if len(items) != j:
                raise SpaceError(f"malformed nb201 string {shown(s)}: node {j} needs {j} inputs, got {len(items)}")
            for i, item in enumerate(items):
                op, sep, src = item.partition("~")
                if not sep or src != str(i):
                    raise SpaceError(f"malformed nb201 string {shown(s)}: expected 'op~{i}' in node {j}, got {shown(item, 40)}")
                if op not in OPS:
                    raise SpaceError(f"unknown nb201 op {shown(op, 40)} in {shown(s)}; ops are: {', '.join(OPS)}")
                ops.append(op)
        # the string lists edges node by node, which is exactly the EDGES order
        return NB201Arch(tuple(ops))

    def check(self, arch: NB201Arch) -> NB201Arch:
        super().check(arch)
        if not isinstance(arch.ops, tuple) or len(arch.ops) != len(EDGES):
            raise SpaceError(f"an nb201 cell has {len(EDGES)} edges, got {shown(arch.ops, 60)}")
        bad = [op for op in arch.ops if op not in OPS]
        if bad:
            raise SpaceError(f"unknown nb201 op {shown(bad[0], 40)}; ops are: {', '.join(OPS)}")
        return arch

    def enumerate(self):
        for ops in itertools.product(OPS, repeat=len(EDGES)):
            yield NB201Arch(ops)

    def size(self) -> int:
        return len(OPS) ** len(EDGES)

    def expression(self, arch: NB201Arch) -> str:
        """The output node's symbolic expression: equal expressions = isomorphic cells."""
        return _node_expressions(arch.ops)[3]

    def canonical(self, arch: NB201Arch) -> NB201Arch:
        """The representative of the isomorphism class: its first member in ``enumerate()`` order."""
        if self._canon is None:
            canon: dict[str, NB201Arch] = {}
            for a in self.enumerate():
                canon.setdefault(self.expression(a), a)
            self._canon = canon
        # Why a memo: the expression is symbolic algebra (~0.2 ms); searches ask for the same few
        # thousand cells again and again (a 100-seed race asks millions of times).
        rep = self._canon_of.get(arch)
        if rep is None:
            rep = self._canon_of[arch] = self._canon[self.expression(arch)]
        return rep

    def unique(self) -> list[NB201Arch]:
        """The 6,466 canonical cells, in enumeration order."""
        self.canonical(NB201Arch(OPS[:1] * 6))
        return list(self._canon.values())

    # ------------------------------------------------------------------ variation operators
    def mutate(self, arch: NB201Arch, rng: random.Random) -> NB201Arch:
        rng = self._check_rng(rng)
        k = rng.randrange(len(EDGES))
        new = rng.choice([o for o in OPS if o != arch.ops[k]])
        return NB201Arch(arch.ops[:k] + (new,) + arch.ops[k + 1:])

    def crossover(self, a: NB201Arch, b: NB201Arch, rng: random.Random) -> NB201Arch:
        rng = self._check_rng(rng)
        return NB201Arch(tuple(x if rng.random() < 0.5 else y for x, y in zip(a.ops, b.ops)))

    def neighbours(self, arch: NB201Arch) -> list[NB201Arch]:
        return [NB201Arch(arch.ops[:k] + (o,) + arch.ops[k + 1:])
                for k in range(len(EDGES)) for o in OPS if o != arch.ops[k]]

    # ------------------------------------------------------------------ RL controller view
    def decisions(self) -> list[Decision]:
        return [Decision(f"edge {n} op", OPS) for n in EDGE_NAMES]

    def to_decisions(self, arch: NB201Arch) -> list[int]:
        return [OPS.index(o) for o in arch.ops]

    def from_decisions(self, indices) -> NB201Arch:
        if len(indices) != len(EDGES):
            raise SpaceError(f"nb201 needs {len(EDGES)} decisions, got {len(indices)}")
        return NB201Arch(tuple(OPS[int(i)] for i in indices))

    # ------------------------------------------------------------------ drawing and networks
    def to_graph(self, arch: NB201Arch):
        import networkx as nx          # ~0.1-0.3 s, and only drawing needs it: imported when a graph is made
        arch = self.check(arch)
        g = nx.DiGraph(space=self.name, arch=str(arch))
        for n in range(4):
            g.add_node(n, label={0: "in", 3: "out"}.get(n, str(n)))
        for (i, j), op in zip(EDGES, arch.ops):
            g.add_edge(i, j, op=op)
        return g

    def build(self, arch, in_channels: int = 3, num_classes: int = 10, C: int = 16, N: int = 5,
              **unused) -> nn.Module:
        if unused:
            raise SpaceError(f"unknown nb201 skeleton option(s): {', '.join(unused)}; known: C, N")
        check_skeleton("nb201", in_channels=in_channels, num_classes=num_classes, C=C, N=N)
        arch = self.check(arch)
        return NB201Network(arch, C=C, N=N, in_channels=in_channels, num_classes=num_classes)

    def supernet(self, in_channels: int = 3, num_classes: int = 10, C: int = 16, N: int = 5,
                 **unused) -> nn.Module:
        if unused:
            raise SpaceError(f"unknown nb201 skeleton option(s): {', '.join(unused)}; known: C, N")
        check_skeleton("nb201", in_channels=in_channels, num_classes=num_classes, C=C, N=N)
        return NB201Supernet(C=C, N=N, in_channels=in_channels, num_classes=num_classes)

    _REFERENCES = {
        # The ResNet-like cell of the NB201 paper (two 3x3 convs in sequence plus an identity shortcut).
        "resnet": "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|",
        # The best CIFAR-10 cell of NB201 (94.37 % test accuracy, 200 epochs).
        "best_cifar10": "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
        # The cell DARTS and ENAS collapse to on NB201 (54.30 % in the paper).
        "all_skip": "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|",
        "all_conv3x3": "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
        "empty": "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
    }

    def references(self) -> list[str]:
        return list(self._REFERENCES)

    def reference(self, name: str) -> NB201Arch:
        if name not in self._REFERENCES:
            return super().reference(name)
        return self.from_str(self._REFERENCES[name])

    def describe(self) -> dict:
        return {**super().describe(), "unique": 6466, "ops": list(OPS), "edges": list(EDGE_NAMES)}
