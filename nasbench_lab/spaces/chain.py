"""A macro, layer-wise chain space in the style of Zoph & Le ("Neural Architecture Search with
Reinforcement Learning", ICLR 2017) and the ENAS macro space (Pham et al., "Efficient Neural
Architecture Search via Parameter Sharing", ICML 2018).

The network is a chain of L layers (default 6). Each layer picks one op and, for every earlier layer,
a skip bit: when bit j of layer i is set, layer j's output is *added* to layer i's output. The string
is exactly the token sequence an RL controller emits, layer by layer, separated by `` | ``:

    conv_3x3 | sep_conv_5x5 1 | max_pool_3x3 01 | ...

Layer 0 is just its op; layer i >= 1 is ``<op> <bits>`` with exactly i characters in {0, 1}, where the
j-th character (left to right, j = 0 .. i-1) is the skip from layer j. Whitespace around ``|`` is free.

The skeleton is fixed: a 3x3 conv-BN-ReLU stem (C channels), then the layers. Before the layers at
``reductions`` (default L//3 and 2L//3) sits a fixed reduction — 2x2 max pooling plus a 1x1 conv-BN-ReLU
that doubles the channels — so the chain has up to three blocks at C, 2C, 4C. Global average pooling and a
linear head close it. Ops: conv_3x3, conv_5x5, sep_conv_3x3, sep_conv_5x5 (one depthwise-separable unit,
as in ENAS, not DARTS' doubled one), max_pool_3x3, avg_pool_3x3, and with ``attention=True`` also
``attention`` (spatial self-attention) and ``se`` (squeeze-excitation).
"""
from __future__ import annotations

import itertools
import random
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from .base import Decision, SearchSpace, SpaceError, check_skeleton, check_text, shown
from .ops import ConvBNReLU, make_op

BASE_OPS = ("conv_3x3", "conv_5x5", "sep_conv_3x3", "sep_conv_5x5", "max_pool_3x3", "avg_pool_3x3")
ATTENTION_OPS = ("attention", "se")
# chain token -> name in the shared primitive registry (the DARTS names belong to the DARTS ops)
REGISTRY_NAME = {"conv_3x3": "conv_3x3", "conv_5x5": "conv_5x5",
                 "sep_conv_3x3": "chain_sep_conv_3x3", "sep_conv_5x5": "chain_sep_conv_5x5",
                 "max_pool_3x3": "chain_max_pool_3x3", "avg_pool_3x3": "chain_avg_pool_3x3",
                 "attention": "attention", "se": "se"}
_ENUMERATE_LIMIT = 10 ** 6


@dataclass(frozen=True)
class ChainArch:
    """One chain: the op of each layer and, per layer i, a tuple of i skip bits (0/1) from layers 0..i-1."""

    ops: tuple
    skips: tuple

    def __str__(self) -> str:
        return " | ".join(op if i == 0 else f"{op} {''.join(map(str, bits))}"
                          for i, (op, bits) in enumerate(zip(self.ops, self.skips)))

    @property
    def layers(self) -> int:
        return len(self.ops)


class ChainSpace(SearchSpace):
    name = "chain"
    arch_type = ChainArch

    def __init__(self, L: int = 6, attention: bool = False, reductions: tuple | None = None):
        if not isinstance(L, int) or L < 1:
            raise SpaceError(f"chain: L must be a positive integer, got {L!r}")
        self.L = L
        self.attention = bool(attention)
        self.ops = BASE_OPS + (ATTENTION_OPS if self.attention else ())
        if reductions is None:   # after L/3 and 2L/3 layers; short chains (L < 3) keep fewer
            reductions = tuple(r for r in (L // 3, 2 * L // 3) if r > 0)
        reductions = tuple(sorted({int(r) for r in reductions}))
        if any(not 0 < r < L for r in reductions):
            raise SpaceError(f"chain: reductions must sit between layers (1..{L - 1}), got {reductions}")
        self.reductions = reductions

    # ------------------------------------------------------------------ values and strings
    def sample(self, rng: random.Random) -> ChainArch:
        rng = self._check_rng(rng)
        return self.from_decisions([rng.randrange(len(d.choices)) for d in self.decisions()])

    def to_str(self, arch: ChainArch) -> str:
        return str(arch)

    def from_str(self, s: str) -> ChainArch:
        check_text("chain", s)
        parts = [p.strip() for p in s.split("|")]
        if len(parts) != self.L:
            raise SpaceError(f"malformed chain string {shown(s)}: expected {self.L} layers separated by '|', "
                             f"got {len(parts)}")
        ops, skips = [], []
        for i, part in enumerate(parts):
            tokens = part.split()
            want = 1 if i == 0 else 2
            if len(tokens) != want:
                form = "'<op>'" if i == 0 else f"'<op> <{i} skip bits>'"
                raise SpaceError(f"malformed chain string {shown(s)}: layer {i} must be {form}, got {shown(part, 40)}")
            bits = tokens[1] if i else ""
            if len(bits) != i or set(bits) - {"0", "1"}:
                raise SpaceError(f"malformed chain string {shown(s)}: layer {i} needs exactly {i} skip bits "
                                 f"(0/1), got {shown(bits, 40)}")
            ops.append(tokens[0])
            skips.append(tuple(int(b) for b in bits))
        return self.check(ChainArch(tuple(ops), tuple(skips)))

    def check(self, arch: ChainArch) -> ChainArch:
        super().check(arch)
        if len(arch.ops) != self.L or len(arch.skips) != self.L:
            raise SpaceError(f"chain architecture has {len(arch.ops)} layers; this space has L={self.L}")
        for i, (op, bits) in enumerate(zip(arch.ops, arch.skips)):
            if op not in self.ops:
                hint = " (construct the space with attention=True)" if op in ATTENTION_OPS else ""
                raise SpaceError(f"unknown chain op {shown(op, 40)} in layer {i}{hint}; ops are: {', '.join(self.ops)}")
            if len(bits) != i or any(b not in (0, 1) for b in bits):
                raise SpaceError(f"chain layer {i} needs {i} skip bits in {{0, 1}}, got {shown(bits, 40)}")
        return arch

    def size(self) -> int:
        return len(self.ops) ** self.L * 2 ** (self.L * (self.L - 1) // 2)

    def enumerate(self):
        if self.size() > _ENUMERATE_LIMIT:
            return super().enumerate()
        ranges = [range(len(d.choices)) for d in self.decisions()]
        return (self.from_decisions(ix) for ix in itertools.product(*ranges))

    # ------------------------------------------------------------------ variation operators
    # The flat decision vector (op, then skip bits, layer by layer) is the genome of every operator.
    def mutate(self, arch: ChainArch, rng: random.Random) -> ChainArch:
        rng = self._check_rng(rng)
        ix, decs = self.to_decisions(arch), self.decisions()
        k = rng.randrange(len(decs))
        ix[k] = rng.choice([c for c in range(len(decs[k].choices)) if c != ix[k]])
        return self.from_decisions(ix)

    def crossover(self, a: ChainArch, b: ChainArch, rng: random.Random) -> ChainArch:
        rng = self._check_rng(rng)
        da, db = self.to_decisions(a), self.to_decisions(b)
        return self.from_decisions([x if rng.random() < 0.5 else y for x, y in zip(da, db)])

    def neighbours(self, arch: ChainArch) -> list[ChainArch]:
        ix, out = self.to_decisions(arch), []
        for k, d in enumerate(self.decisions()):
            for c in range(len(d.choices)):
                if c != ix[k]:
                    out.append(self.from_decisions(ix[:k] + [c] + ix[k + 1:]))
        return out

    # ------------------------------------------------------------------ RL controller view
    def decisions(self) -> list[Decision]:
        """Layer by layer: the op, then one skip bit per earlier layer (the ENAS-macro emission order)."""
        out = []
        for i in range(self.L):
            out.append(Decision(f"layer {i} op", self.ops))
            out += [Decision(f"layer {i} skip from {j}", (0, 1)) for j in range(i)]
        return out

    def to_decisions(self, arch: ChainArch) -> list[int]:
        arch = self.check(arch)
        out = []
        for op, bits in zip(arch.ops, arch.skips):
            out.append(self.ops.index(op))
            out += list(bits)
        return out

    def from_decisions(self, indices) -> ChainArch:
        indices = [int(i) for i in indices]
        n = self.L + self.L * (self.L - 1) // 2
        if len(indices) != n:
            raise SpaceError(f"chain (L={self.L}) needs {n} decisions, got {len(indices)}")
        ops, skips, k = [], [], 0
        for i in range(self.L):
            if not 0 <= indices[k] < len(self.ops):
                raise SpaceError(f"chain layer {i}: op index {indices[k]} out of range 0..{len(self.ops) - 1}")
            ops.append(self.ops[indices[k]])
            bits = tuple(indices[k + 1:k + 1 + i])
            if any(b not in (0, 1) for b in bits):
                raise SpaceError(f"chain layer {i}: skip decisions must be 0 or 1, got {bits}")
            skips.append(bits)
            k += 1 + i
        return ChainArch(tuple(ops), tuple(skips))

    # ------------------------------------------------------------------ drawing and networks
    def to_graph(self, arch: ChainArch):
        """Node -1 is the stem, 0..L-1 the layers (label = op), L the head. Edge ``op``: ``next`` along
        the chain, ``reduce`` where a fixed reduction sits in between, ``skip`` for each skip bit."""
        import networkx as nx          # ~0.1-0.3 s, and only drawing needs it: imported when a graph is made
        arch = self.check(arch)
        g = nx.DiGraph(space=self.name, arch=str(arch))
        g.add_node(-1, label="stem")
        for i, op in enumerate(arch.ops):
            g.add_node(i, label=op, block=self.block_of(i))
            g.add_edge(i - 1, i, op="reduce" if i in self.reductions else "next")
        g.add_node(self.L, label="head")
        g.add_edge(self.L - 1, self.L, op="next")
        for i, bits in enumerate(arch.skips):
            for j, b in enumerate(bits):
                if b and j != i - 1:
                    g.add_edge(j, i, op="skip")
                elif b:  # a skip from the previous layer is a residual around this layer's op
                    g.edges[j, i]["residual"] = True
        return g

    def block_of(self, layer: int) -> int:
        """Which block (0, 1, 2, ...: resolution / channel level) a layer sits in."""
        return sum(1 for r in self.reductions if r <= layer)

    def build(self, arch, in_channels: int = 3, num_classes: int = 10, C: int = 16, **unused) -> nn.Module:
        if unused:
            raise SpaceError(f"unknown chain skeleton option(s): {', '.join(unused)}; known: C")
        check_skeleton("chain", in_channels=in_channels, num_classes=num_classes, C=C)
        arch = self.check(arch)
        return ChainNetwork(arch, self.reductions, C=C, in_channels=in_channels, num_classes=num_classes)

    def references(self) -> list[str]:
        refs = ["vgg_like", "resnet_like", "densenet_like", "sep_conv_like", "all_pool"]
        return refs + (["conv_attention"] if self.attention else [])

    def reference(self, name: str) -> ChainArch:
        L = self.L
        none = tuple(tuple(0 for _ in range(i)) for i in range(L))
        if name == "vgg_like":          # plain stack of 3x3 convs (Simonyan & Zisserman 2015)
            return ChainArch(("conv_3x3",) * L, none)
        if name == "resnet_like":       # 3x3 convs, a shortcut around every pair of layers (He et al. 2016)
            # why pairs ending at L-1, L-3, ...: with the default reductions (L//3, 2L//3, L=6) each pair
            # starts at a reduction, like ResNet's downsampling blocks (the shortcut gets pool + 1x1 conv)
            return ChainArch(("conv_3x3",) * L,
                             tuple(tuple(int(i >= 2 and (L - 1 - i) % 2 == 0 and j == i - 2) for j in range(i))
                                   for i in range(L)))
        if name == "densenet_like":     # every layer receives every earlier output (summed, not concatenated)
            return ChainArch(("conv_3x3",) * L, tuple((1,) * i for i in range(L)))
        if name == "sep_conv_like":     # MobileNet-V1 flavour: depthwise-separable layers only
            return ChainArch(("sep_conv_3x3",) * L, none)
        if name == "all_pool":          # a bad design: no learnable layer after the stem
            return ChainArch(tuple(("max_pool_3x3", "avg_pool_3x3")[i % 2] for i in range(L)), none)
        if name == "conv_attention" and self.attention:  # convs, attention as the last layer of each block
            ends = {r - 1 for r in self.reductions} | {L - 1}
            return ChainArch(tuple("attention" if i in ends else "conv_3x3" for i in range(L)), none)
        return super().reference(name)

    def describe(self) -> dict:
        return {**super().describe(), "layers": self.L, "ops": list(self.ops),
                "reductions": list(self.reductions), "attention": self.attention,
                "decisions": len(self.decisions())}


# ---------------------------------------------------------------------- the network
class SkipAdapter(nn.Module):
    """Brings an earlier layer's output to a later layer's shape: average pooling by the resolution
    factor and a 1x1 conv-BN to the target channels (identity when the shapes already agree)."""

    def __init__(self, c_in: int, c_out: int, factor: int):
        super().__init__()
        self.pool = nn.AvgPool2d(factor, factor, ceil_mode=True) if factor > 1 else None
        self.proj = ConvBNReLU(c_in, c_out, 1, act=None) if c_in != c_out else None

    def forward(self, x):
        if self.pool is not None:
            x = self.pool(x)
        return x if self.proj is None else self.proj(x)


class ChainNetwork(nn.Module):
    """Stem -> L searched layers with summed skips (fixed reductions in between) -> pool -> linear."""

    def __init__(self, arch: ChainArch, reductions: tuple, C: int = 16, in_channels: int = 3,
                 num_classes: int = 10):
        super().__init__()
        self.arch = arch
        self.stem = ConvBNReLU(in_channels, C, 3)
        chans, level, c = [], [], C
        self.layers, self.reduce, self.skip_bn = nn.ModuleList(), nn.ModuleDict(), nn.ModuleDict()
        self.adapters = nn.ModuleDict()
        for i, op in enumerate(arch.ops):
            if i in reductions:
                # why a fixed pool + 1x1 conv: downsampling is part of the skeleton, not of the search
                self.reduce[str(i)] = nn.Sequential(nn.MaxPool2d(2, 2, ceil_mode=True), ConvBNReLU(c, 2 * c, 1))
                c *= 2
            self.layers.append(make_op(REGISTRY_NAME[op], c, c, 1))
            chans.append(c)
            level.append(len(self.reduce))
            for j, b in enumerate(arch.skips[i]):
                if b:
                    self.adapters[f"{j}_{i}"] = SkipAdapter(chans[j], c, 2 ** (level[i] - level[j]))
            if any(arch.skips[i]):
                # why BN after the sum: the scale would otherwise grow with the number of skips (ENAS)
                self.skip_bn[str(i)] = nn.BatchNorm2d(c)
        self.classifier = nn.Linear(c, num_classes)

    def forward(self, x):
        x, outs = self.stem(x), []
        for i, layer in enumerate(self.layers):
            if str(i) in self.reduce:
                x = self.reduce[str(i)](x)
            y = layer(x)
            for j, b in enumerate(self.arch.skips[i]):
                if b:
                    y = y + self.adapters[f"{j}_{i}"](outs[j])
            if str(i) in self.skip_bn:
                y = self.skip_bn[str(i)](y)
            outs.append(y)
            x = y
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))

