"""The DARTS evaluation network (Liu, Simonyan & Yang, "DARTS: Differentiable Architecture Search",
ICLR 2019; the reference ``NetworkCIFAR`` of quark0/darts): a stem, ``layers`` cells built from one
``Genotype`` (reduction cells at 1/3 and 2/3 of the depth), an optional auxiliary head, drop-path.
``DartsSpace.build`` (darts.py) constructs it; the genotype values and parsing live in darts_genotype.py.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .darts_genotype import Genotype
from .ops import ReLUConvBN, FactorizedReduce, make_op

__all__ = ["drop_path", "DartsCell", "AuxiliaryHead", "DartsNetwork"]


def drop_path(x: torch.Tensor, p: float) -> torch.Tensor:
    """Zero a whole sample's branch with probability p and rescale the survivors by 1/(1-p)."""
    keep = 1.0 - p
    mask = torch.empty(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype).bernoulli_(keep)
    return x * mask / keep


class DartsCell(nn.Module):
    """One cell of the evaluation network (the reference ``Cell``): preprocess both inputs to C
    channels, run the genotype's ops, concatenate the chosen nodes."""

    def __init__(self, arch: Genotype, c_pp: int, c_p: int, C: int, reduction: bool, reduction_prev: bool):
        super().__init__()
        self.reduction = reduction
        # why FactorizedReduce: after a reduction cell, c_{k-2} has twice the resolution of c_{k-1}
        self.preprocess0 = FactorizedReduce(c_pp, C) if reduction_prev else ReLUConvBN(c_pp, C, 1, 1, 0)
        self.preprocess1 = ReLUConvBN(c_p, C, 1, 1, 0)
        name = "reduce" if reduction else "normal"
        entries, self.concat = arch.cell(name), arch.concat(name)
        self.indices = [i for _, i in entries]
        self.ops = nn.ModuleList(make_op(op, C, C, 2 if reduction and i < 2 else 1, affine=True)
                                 for op, i in entries)
        self.multiplier = len(self.concat)

    def forward(self, s0, s1, drop_prob: float = 0.0):
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for k in range(len(self.ops) // 2):
            h = []
            for e in (2 * k, 2 * k + 1):
                op = self.ops[e]
                y = op(states[self.indices[e]])
                # drop-path regularises the ops, never the identity (as in the reference)
                if self.training and drop_prob > 0 and not isinstance(op, nn.Identity):
                    y = drop_path(y, drop_prob)
                h.append(y)
            states.append(h[0] + h[1])
        return torch.cat([states[i] for i in self.concat], dim=1)


class AuxiliaryHead(nn.Module):
    """The CIFAR auxiliary classifier (for 8x8 inputs): ReLU, 5x5/3 avg pool, 1x1 conv 128, BN, ReLU,
    2x2 conv 768, BN, ReLU, linear."""

    def __init__(self, C: int, num_classes: int):
        super().__init__()
        self.pool = nn.AvgPool2d(5, stride=3, padding=0, count_include_pad=False)
        self.features = nn.Sequential(
            nn.Conv2d(C, 128, 1, bias=False), nn.BatchNorm2d(128), nn.ReLU(inplace=True),
            nn.Conv2d(128, 768, 2, bias=False), nn.BatchNorm2d(768), nn.ReLU(inplace=True))
        self.classifier = nn.Linear(768, num_classes)

    def forward(self, x):
        x = F.relu(x)
        # why the fallback: on inputs smaller than 8x8 (e.g. 28x28 images -> 7x7) the 5x5/3 pool leaves
        # 1x1, too small for the 2x2 conv; pool to 2x2 instead (same parameters, reference on 32x32)
        x = self.pool(x) if min(x.shape[-2:]) >= 8 else F.adaptive_avg_pool2d(x, 2)
        x = self.features(x)
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class DartsNetwork(nn.Module):
    """The DARTS evaluation network (the reference ``NetworkCIFAR``). In training mode with the
    auxiliary head it returns (logits, aux_logits), otherwise logits. ``drop_path_prob`` is a plain
    attribute the training loop may schedule (the reference raises it linearly over the epochs)."""

    def __init__(self, arch: Genotype, C: int = 36, num_classes: int = 10, layers: int = 20,
                 auxiliary: bool = False, drop_path_prob: float = 0.0, in_channels: int = 3,
                 stem_multiplier: int = 3):
        super().__init__()
        self.arch, self.layers, self.auxiliary, self.drop_path_prob = arch, layers, auxiliary, drop_path_prob
        c = stem_multiplier * C
        self.stem = nn.Sequential(nn.Conv2d(in_channels, c, 3, padding=1, bias=False), nn.BatchNorm2d(c))
        c_pp, c_p, c_cur = c, c, C
        self.cells = nn.ModuleList()
        self.aux_at = 2 * layers // 3
        reduction_prev, c_aux = False, None
        for i in range(layers):
            reduction = i in (layers // 3, 2 * layers // 3)
            if reduction:
                c_cur *= 2
            cell = DartsCell(arch, c_pp, c_p, c_cur, reduction, reduction_prev)
            self.cells.append(cell)
            reduction_prev = reduction
            c_pp, c_p = c_p, cell.multiplier * c_cur
            if i == self.aux_at:
                c_aux = c_p
        self.auxiliary_head = AuxiliaryHead(c_aux, num_classes) if auxiliary else None
        self.classifier = nn.Linear(c_p, num_classes)

    def forward(self, x):
        aux = None
        s0 = s1 = self.stem(x)
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1, self.drop_path_prob)
            if i == self.aux_at and self.auxiliary_head is not None and self.training:
                aux = self.auxiliary_head(s1)
        logits = self.classifier(torch.flatten(F.adaptive_avg_pool2d(s1, 1), 1))
        return (logits, aux) if aux is not None else logits
