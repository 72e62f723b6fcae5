"""A MobileNet-V2-style MBConv space for latency-aware search, as in ProxylessNAS (Cai, Zhu & Han,
"ProxylessNAS: Direct Neural Architecture Search on Target Task and Hardware", ICLR 2019), built from
the inverted residual block of MobileNet-V2 (Sandler et al., CVPR 2018).

The skeleton is fixed: a 3x3 conv stem, one fixed MBConv (k3, expansion 1), then stages of searchable
blocks (``Stage(width, blocks, stride)``: the first block of a stage changes width and applies the
stride), a 1x1 conv to ``head_channels``, global pooling and a linear layer. Each searchable block picks
one of ``k3_e3, k3_e6, k5_e3, k5_e6, k7_e3, k7_e6`` (MBConv with kernel k, expansion e) or ``skip``
(identity). The first block of a stage is never ``skip`` (it changes the shape); every later block may be,
which is how the search chooses each stage's depth. With ``se=True`` every MBConv carries a
squeeze-excitation unit (MobileNet-V3 / EfficientNet flavour).

String format: the block choices in network order, joined by ``|`` (whitespace around ``|`` is free):

    k3_e6|k5_e3|skip|k7_e6|...        (one token per searchable block; 10 with the default skeleton)
"""
from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from .base import Decision, SearchSpace, SpaceError, check_skeleton, check_text, shown
from .ops import MBConv, ConvBNReLU, make_op

CHOICES = ("k3_e3", "k3_e6", "k5_e3", "k5_e6", "k7_e3", "k7_e6", "skip")
MBCONV_CHOICES = CHOICES[:-1]


@dataclass(frozen=True)
class Stage:
    """One stage of the fixed skeleton."""

    width: int
    """Output channels of every block in the stage (before ``width_mult``)."""
    blocks: int
    """Number of searchable blocks in the stage."""
    stride: int
    """Stride of the stage's first block (1 or 2)."""


# Compact default for 32x32 (CIFAR) and 28x28 (Fashion-MNIST) inputs: 32 -> 32 -> 16 -> 8 -> 8.
DEFAULT_STAGES = (Stage(24, 2, 1), Stage(40, 3, 2), Stage(80, 3, 2), Stage(96, 2, 1))


@dataclass(frozen=True)
class MobileArch:
    """The choice of each searchable block, in network order. Immutable and hashable."""

    choices: tuple

    def __str__(self) -> str:
        return "|".join(self.choices)


@dataclass(frozen=True)
class BlockKey:
    """What a per-op latency lookup table is keyed by: one block's op at its input shape.

    ``block`` is the searchable block's index (left out of ``lut_key``, so equal ops at equal shapes
    share a table row); ``choice`` its op (``k5_e6``, ``skip``, ...); ``c_in``/``c_out`` the channels;
    ``stride``; ``height``/``width`` the input resolution; ``se`` whether MBConvs carry squeeze-excitation.
    """

    block: int
    choice: str
    c_in: int
    c_out: int
    stride: int
    height: int
    width: int
    se: bool

    @property
    def input_shape(self) -> tuple:
        return (self.c_in, self.height, self.width)

    def lut_key(self) -> str:
        return f"{self.choice}:{self.c_in}x{self.height}x{self.width}->{self.c_out}:s{self.stride}:se{int(self.se)}"

    def module(self) -> nn.Module:
        return mobile_block(self.choice, self.c_in, self.c_out, self.stride, se=self.se)


def mobile_block(choice: str, c_in: int, c_out: int, stride: int, se: bool = False) -> nn.Module:
    """One candidate op of a searchable block (the function hardware latency tables measure)."""
    if choice == "skip":
        if stride != 1 or c_in != c_out:
            raise SpaceError(f"'skip' needs stride 1 and equal channels, got {c_in}->{c_out}, stride {stride}")
        return nn.Identity()
    if choice not in MBCONV_CHOICES:
        raise SpaceError(f"unknown mobile choice {shown(choice, 40)}; choices are: {', '.join(CHOICES)}")
    return make_op(f"mbconv{'_se' if se else ''}_{choice}", c_in, c_out, stride)


def make_divisible(v: float, divisor: int = 8) -> int:
    """Round channels to a multiple of 8 (MobileNet convention), never dropping more than 10 %."""
    out = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return out + divisor if out < 0.9 * v else out


class MobileSpace(SearchSpace):
    name = "mobile"
    arch_type = MobileArch

    def __init__(self, stages=None, se: bool = False, stem_channels: int = 16, head_channels: int = 256):
        stages = DEFAULT_STAGES if stages is None else stages
        try:
            self.stages = tuple(s if isinstance(s, Stage) else Stage(*s) for s in stages)
        except TypeError as exc:
            raise SpaceError(f"mobile: stages must be (width, blocks, stride) triples: {exc}") from None
        for s in self.stages:
            if s.width < 1 or s.blocks < 1 or s.stride not in (1, 2):
                raise SpaceError(f"mobile: bad stage {s}: width, blocks >= 1 and stride 1 or 2 required")
        if not self.stages:
            raise SpaceError("mobile: at least one stage is required")
        self.se, self.stem_channels, self.head_channels = bool(se), stem_channels, head_channels
        # per searchable block: (stage, index in stage); the allowed choices follow from the index alone
        self._where = [(si, b) for si, s in enumerate(self.stages) for b in range(s.blocks)]
        self.allowed = tuple(MBCONV_CHOICES if b == 0 else CHOICES for _, b in self._where)

    @property
    def num_blocks(self) -> int:
        return len(self._where)

    def block_names(self) -> list[str]:
        return [f"stage{s}.block{b}" for s, b in self._where]

    def skeleton(self, width_mult: float = 1.0) -> dict:
        """Channels of stem, fixed first block and head, and (c_in, c_out, stride) per searchable block."""
        stem = make_divisible(self.stem_channels * width_mult)
        specs, c = [], stem
        for s in self.stages:
            w = make_divisible(s.width * width_mult)
            for b in range(s.blocks):
                specs.append((c, w, s.stride if b == 0 else 1))
                c = w
        head = make_divisible(self.head_channels * max(1.0, width_mult))
        return {"stem": stem, "blocks": specs, "head": head}

    # ------------------------------------------------------------------ values and strings
    def sample(self, rng: random.Random) -> MobileArch:
        rng = self._check_rng(rng)
        return MobileArch(tuple(rng.choice(a) for a in self.allowed))

    def to_str(self, arch: MobileArch) -> str:
        return str(arch)

    def from_str(self, s: str) -> MobileArch:
        check_text("mobile", s)
        tokens = [t.strip() for t in s.split("|")]
        if len(tokens) != self.num_blocks:
            raise SpaceError(f"malformed mobile string {shown(s)}: expected {self.num_blocks} block choices "
                             f"separated by '|', got {len(tokens)}")
        return self.check(MobileArch(tuple(tokens)))

    def check(self, arch: MobileArch) -> MobileArch:
        super().check(arch)
        if len(arch.choices) != self.num_blocks:
            raise SpaceError(f"mobile architecture has {len(arch.choices)} blocks; this space has {self.num_blocks}")
        for k, (c, allowed) in enumerate(zip(arch.choices, self.allowed)):
            if c not in CHOICES:
                raise SpaceError(f"unknown mobile choice {shown(c, 40)} at block {k}; choices are: {', '.join(CHOICES)}")
            if c not in allowed:
                raise SpaceError(f"block {k} ({self.block_names()[k]}) is the first of its stage and cannot be 'skip'")
        return arch

    def size(self) -> int:
        return math.prod(len(a) for a in self.allowed)

    def enumerate(self):
        if self.size() > 10 ** 6:
            return super().enumerate()
        return (MobileArch(c) for c in itertools.product(*self.allowed))

    # ------------------------------------------------------------------ variation operators
    def mutate(self, arch: MobileArch, rng: random.Random) -> MobileArch:
        rng = self._check_rng(rng)
        arch = self.check(arch)
        k = rng.randrange(self.num_blocks)
        new = rng.choice([c for c in self.allowed[k] if c != arch.choices[k]])
        return MobileArch(arch.choices[:k] + (new,) + arch.choices[k + 1:])

    def crossover(self, a: MobileArch, b: MobileArch, rng: random.Random) -> MobileArch:
        rng = self._check_rng(rng)
        a, b = self.check(a), self.check(b)
        return MobileArch(tuple(x if rng.random() < 0.5 else y for x, y in zip(a.choices, b.choices)))

    def neighbours(self, arch: MobileArch) -> list[MobileArch]:
        arch = self.check(arch)
        return [MobileArch(arch.choices[:k] + (c,) + arch.choices[k + 1:])
                for k in range(self.num_blocks) for c in self.allowed[k] if c != arch.choices[k]]

    # ------------------------------------------------------------------ RL controller view
    def decisions(self) -> list[Decision]:
        return [Decision(f"{n} op", a) for n, a in zip(self.block_names(), self.allowed)]

    def to_decisions(self, arch: MobileArch) -> list[int]:
        arch = self.check(arch)
        return [a.index(c) for c, a in zip(arch.choices, self.allowed)]

    def from_decisions(self, indices) -> MobileArch:
        if len(indices) != self.num_blocks:
            raise SpaceError(f"mobile needs {self.num_blocks} decisions, got {len(indices)}")
        out = []
        for k, (i, a) in enumerate(zip(indices, self.allowed)):
            if not 0 <= int(i) < len(a):
                raise SpaceError(f"mobile block {k}: decision {i} out of range 0..{len(a) - 1}")
            out.append(a[int(i)])
        return MobileArch(tuple(out))

    # ------------------------------------------------------------------ latency lookup keys
    def op_table_keys(self, arch: MobileArch | None = None, input_size: int | tuple = 32,
                      width_mult: float = 1.0) -> list[BlockKey]:
        """Per searchable block, the ``BlockKey`` of its op at its input shape (ProxylessNAS' latency
        model: network latency = fixed part + sum of per-op table entries). ``arch=None`` lists every
        allowed choice of every block, i.e. all rows a lookup table needs."""
        h, w = (input_size, input_size) if isinstance(input_size, int) else input_size
        arch = None if arch is None else self.check(arch)
        keys = []
        for k, (c_in, c_out, stride) in enumerate(self.skeleton(width_mult)["blocks"]):
            for c in (self.allowed[k] if arch is None else (arch.choices[k],)):
                keys.append(BlockKey(k, c, c_in, c_out, stride, h, w, self.se))
            h, w = (h - 1) // stride + 1, (w - 1) // stride + 1   # 'same' padding: ceil(h / stride)
        return keys

    # ------------------------------------------------------------------ drawing and networks
    def to_graph(self, arch: MobileArch):
        """Node -1 the stem, 0..n-1 the blocks (label = choice), n the head; edge ``op`` is ``reduce``
        into a stride-2 block, ``next`` otherwise."""
        import networkx as nx          # ~0.1-0.3 s, and only drawing needs it: imported when a graph is made
        arch = self.check(arch)
        g = nx.DiGraph(space=self.name, arch=str(arch))
        g.add_node(-1, label="stem")
        for k, ((si, b), (c_in, c_out, stride)) in enumerate(zip(self._where, self.skeleton()["blocks"])):
            g.add_node(k, label=arch.choices[k], stage=si, channels=c_out, stride=stride)
            g.add_edge(k - 1, k, op="reduce" if stride == 2 else "next")
        g.add_node(self.num_blocks, label="head")
        g.add_edge(self.num_blocks - 1, self.num_blocks, op="next")
        return g

    def _check_options(self, unused):
        if unused:
            raise SpaceError(f"unknown mobile skeleton option(s): {', '.join(unused)}; known: width_mult")

    def build(self, arch, in_channels: int = 3, num_classes: int = 10, width_mult: float = 1.0,
              **unused) -> nn.Module:
        self._check_options(unused)
        check_skeleton("mobile", in_channels=in_channels, num_classes=num_classes, width_mult=width_mult)
        arch = self.check(arch)
        net = _Skeleton(self.skeleton(width_mult), in_channels, num_classes)
        net.blocks = nn.ModuleList(mobile_block(c, ci, co, s, se=self.se)
                                   for c, (ci, co, s) in zip(arch.choices, net.specs))
        net.arch = arch
        return net

    def supernet(self, in_channels: int = 3, num_classes: int = 10, width_mult: float = 1.0,
                 **unused) -> nn.Module:
        self._check_options(unused)
        check_skeleton("mobile", in_channels=in_channels, num_classes=num_classes, width_mult=width_mult)
        return MobileSupernet(self, in_channels, num_classes, width_mult)

    def references(self) -> list[str]:
        return ["mobilenet_v2_like", "smallest", "largest"]

    def reference(self, name: str) -> MobileArch:
        if name == "mobilenet_v2_like":   # MobileNet-V2's block everywhere: 3x3 depthwise, expansion 6
            return MobileArch(("k3_e6",) * self.num_blocks)
        if name == "smallest":            # the cheapest: minimal depth, smallest kernel and expansion
            return MobileArch(tuple("skip" if "skip" in a else "k3_e3" for a in self.allowed))
        if name == "largest":
            return MobileArch(("k7_e6",) * self.num_blocks)
        return super().reference(name)

    def describe(self) -> dict:
        return {**super().describe(), "choices": list(CHOICES), "blocks": self.num_blocks,
                "stages": [[s.width, s.blocks, s.stride] for s in self.stages], "se": self.se}


# ---------------------------------------------------------------------- the networks
class _Skeleton(nn.Module):
    """Stem, the fixed MBConv(e=1), ``blocks`` (set by the caller), head conv, pooling, linear."""

    def __init__(self, sk: dict, in_channels: int, num_classes: int):
        super().__init__()
        self.specs = sk["blocks"]
        self.stem = ConvBNReLU(in_channels, sk["stem"], 3, act="relu6")
        self.first = MBConv(sk["stem"], sk["stem"], 3, 1, expand=1)
        self.head = ConvBNReLU(self.specs[-1][1], sk["head"], 1, act="relu6")
        self.classifier = nn.Linear(sk["head"], num_classes)

    def forward_blocks(self, x, **kw):
        for block in self.blocks:
            x = block(x)
        return x

    def forward(self, x, **kw):
        x = self.forward_blocks(self.first(self.stem(x)), **kw)
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(self.head(x), 1), 1))


class MobileSupernet(_Skeleton):
    """One-shot network: every searchable block holds all its candidate ops (a mixed block).

    ``forward(x)``: each block outputs the softmax(alphas)-weighted sum of its candidates (DARTS-style).
    ``forward(x, weights=W)``: W is [num_blocks, num_choices]; only ops with a nonzero weight run and
    their outputs are multiplied by it (ProxylessNAS' binary gates: with two sampled paths only two ops
    run, and the gates' gradient flows through the product). ``forward(x, arch=a)``: one discrete path.
    """

    def __init__(self, space: MobileSpace, in_channels: int, num_classes: int, width_mult: float):
        super().__init__(space.skeleton(width_mult), in_channels, num_classes)
        self.space = space
        self.blocks = nn.ModuleList(
            nn.ModuleDict({c: mobile_block(c, ci, co, s, se=space.se) for c in allowed})
            for allowed, (ci, co, s) in zip(space.allowed, self.specs))
        self.alphas = nn.Parameter(torch.zeros(space.num_blocks, len(CHOICES)))
        allowed = torch.tensor([[c in a for c in CHOICES] for a in space.allowed])
        self.register_buffer("allowed", allowed, persistent=False)

    def op_names(self) -> list[str]:
        return list(CHOICES)

    def block_names(self) -> list[str]:
        return self.space.block_names()

    def arch_parameters(self) -> list[nn.Parameter]:
        return [self.alphas]

    def choose(self, indices) -> MobileArch:
        """The architecture taking choice ``op_names()[indices[k]]`` in block k (a sampled path)."""
        return self.space.check(MobileArch(tuple(CHOICES[int(k)] for k in indices)))

    @torch.no_grad()
    def derive(self, weights=None) -> MobileArch:
        """The discrete architecture: the strongest allowed choice of each block (argmax of the alphas,
        or of ``weights``)."""
        if weights is None:               # the mixing weights the default forward uses
            weights = F.softmax(self.alphas.masked_fill(~self.allowed, float("-inf")), dim=-1)
        return self.choose(weights.detach().float().cpu().argmax(dim=-1).tolist())

    def weight_parameters(self) -> list[nn.Parameter]:
        return [p for n, p in self.named_parameters() if n != "alphas"]

    def forward(self, x, weights: torch.Tensor | None = None, arch=None):
        if weights is not None and arch is not None:
            raise SpaceError("pass either weights or arch to the supernet, not both")
        return super().forward(x, weights=weights, arch=arch)

    def forward_blocks(self, x, weights=None, arch=None):
        if arch is not None:
            arch = self.space.check(arch)
            for block, c in zip(self.blocks, arch.choices):
                x = block[c](x)
            return x
        if weights is None:
            # why mask with -inf: 'skip' does not exist in a stage's first block, so it gets weight 0
            weights = F.softmax(self.alphas.masked_fill(~self.allowed, float("-inf")), dim=-1)
        elif tuple(weights.shape) != tuple(self.alphas.shape):
            raise SpaceError(f"supernet weights must have shape {tuple(self.alphas.shape)}, got {tuple(weights.shape)}")
        nonzero = (weights != 0).cpu()   # one host sync per forward, not one per op
        if bool((nonzero & ~self.allowed.cpu()).any()):
            raise SpaceError("supernet weights put a nonzero weight on 'skip' in the first block of a stage")
        for k, block in enumerate(self.blocks):
            out = None
            for j in torch.nonzero(nonzero[k]).flatten().tolist():
                y = weights[k, j] * block[CHOICES[j]](x)
                out = y if out is None else out + y
            if out is None:
                raise SpaceError(f"supernet weights of block {k} are all zero")
            x = out
        return x
