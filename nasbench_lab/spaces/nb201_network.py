"""The NB201 cell value (``NB201Arch``: one op per edge) and the network built from it.

The space (nb201.py) and the one-shot supernet (nb201_supernet.py) both build on this module, so it
imports neither. ``from nasbench_lab.spaces.nb201 import NB201Arch`` keeps working (re-exported there).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from .base import SpaceError, shown
from .ops import ReLUConvBN

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
EDGES = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
EDGE_NAMES = tuple(f"{i}->{j}" for i, j in EDGES)


@dataclass(frozen=True)
class NB201Arch:
    """One NB201 cell: the op on each edge, in the published edge order. Immutable and hashable."""

    ops: tuple

    def __str__(self) -> str:
        o = self.ops
        return f"|{o[0]}~0|+|{o[1]}~0|{o[2]}~1|+|{o[3]}~0|{o[4]}~1|{o[5]}~2|"

    def edge(self, i: int, j: int) -> str:
        return self.ops[EDGES.index((i, j))]


def nb201_op(op: str, C: int) -> nn.Module | None:
    """One NB201 edge op at C channels, as in the reference (BN affine, ReLU-Conv-BN order)."""
    if op == "none":
        return None
    if op == "skip_connect":
        return nn.Identity()
    if op == "nor_conv_1x1":
        return ReLUConvBN(C, C, 1, 1, 0)
    if op == "nor_conv_3x3":
        return ReLUConvBN(C, C, 3, 1, 1)
    if op == "avg_pool_3x3":
        return nn.AvgPool2d(3, 1, 1, count_include_pad=False)
    raise SpaceError(f"unknown nb201 op {shown(op, 40)}")


class NB201Cell(nn.Module):
    """One cell. Parameters exactly as the reference (one module per non-`none` edge).

    Two exact shortcuts make it faster than the reference without changing its output:
    dead nodes (whose value can never reach the output) are not computed, and a ReLU shared by
    several conv edges leaving the same node is computed once (the reference applies it per edge).
    """

    def __init__(self, arch: NB201Arch, C: int):
        super().__init__()
        self.arch = arch
        self.edges = nn.ModuleDict()
        for (i, j), op in zip(EDGES, arch.ops):
            m = nb201_op(op, C)
            if m is not None:
                self.edges[f"{i}{j}"] = m
        # live[j]: node j can reach the output through non-`none` edges (node 3 is always live)
        live = {3: True}
        for j in (2, 1, 0):
            live[j] = any(f"{j}{k}" in self.edges and live[k] for k in range(j + 1, 4))
        self._live = live
        # which nodes feed a ReLU-Conv-BN edge: their ReLU is computed once and shared
        self._relu_src = {i for (i, j), op in zip(EDGES, arch.ops) if op.startswith("nor_conv")}

    def forward(self, x):
        nodes = [x]
        relu = {}
        for j in (1, 2, 3):
            if not self._live[j]:
                nodes.append(None)
                continue
            acc = None
            for i in range(j):
                key = f"{i}{j}"
                if key not in self.edges or nodes[i] is None:
                    continue
                m = self.edges[key]
                if isinstance(m, ReLUConvBN):
                    if i not in relu:
                        relu[i] = F.relu(nodes[i])
                    y = m.bn(m.conv(relu[i]))          # same as m(nodes[i]), ReLU shared
                else:
                    y = m(nodes[i])
                acc = y if acc is None else acc + y
            # a node with no live input is exactly zero (the reference adds zeros_like)
            nodes.append(acc if acc is not None else torch.zeros_like(x))
        return nodes[3]


class ResNetBasicBlock(nn.Module):
    """The stride-2 block between stages: two ReLU-Conv-BN, shortcut AvgPool2 + 1x1 conv."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2, 1)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1)
        self.downsample = nn.Sequential(nn.AvgPool2d(2, 2), nn.Conv2d(c_in, c_out, 1, bias=False))

    def forward(self, x):
        return self.conv_b(self.conv_a(x)) + self.downsample(x)


class NB201Network(nn.Module):
    """The NB201 skeleton around one cell (the `TinyNetwork` of the reference code)."""

    def __init__(self, arch: NB201Arch, C: int = 16, N: int = 5, in_channels: int = 3, num_classes: int = 10):
        super().__init__()
        self.arch = arch
        self.stem = nn.Sequential(nn.Conv2d(in_channels, C, 3, 1, 1, bias=False), nn.BatchNorm2d(C))
        layers, c = [], C
        for stage in range(3):
            if stage:
                layers.append(ResNetBasicBlock(c, 2 * c))
                c *= 2
            layers += [NB201Cell(arch, c) for _ in range(N)]
        self.cells = nn.Sequential(*layers)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU())
        self.classifier = nn.Linear(c, num_classes)

    def forward(self, x):
        x = self.lastact(self.cells(self.stem(x)))
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))
