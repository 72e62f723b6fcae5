"""The NAS-Bench-201 search network: the NB201 skeleton with a mixed op on every edge of every cell.

It follows the search model of the NAS-Bench-201 reference code (Dong & Yang, ICLR 2020), the one its
DARTS, ENAS, SETN and GDAS baselines share: stem, three stages of N search cells with the residual
reduction blocks between them, BN-ReLU, pooling, linear. Each of the 6 edges of a search cell holds the
5 candidate ops; the convolutions' batch norms have no affine parameters (why: a learnable scale
would let an op grow or shrink its output and so compete with its own alpha).

One set of alphas, shape [6, 5] (edge x op, published edge and op order), shared by all cells. The
network runs in three modes (it never knows which strategy drives it):

* ``forward(x)``: w = softmax(alphas), the DARTS relaxation;
* ``forward(x, weights=W)``: explicit [6, 5] weights (binary gates, hard Gumbel samples, softmax plus
  an auxiliary skip weight, ...). When W does not require grad, ops whose weight is exactly 0 are not
  run at all (why: with one-hot gates that is 4/5 of the work);
* ``forward(x, arch=a)``: the single discrete path of an ``NB201Arch`` through the shared weights
  (ENAS, SPOS, the one-shot estimator); ``none`` edges contribute zero.

The alphas are an ``nn.Parameter`` so that ``.to(device)`` moves them, but the network never updates
them: the strategy owns their optimiser.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .base import SpaceError
from .fast_ops import batch_norms
from .nb201_network import EDGE_NAMES, EDGES, OPS, NB201Arch, ResNetBasicBlock
from .ops import ReLUConvBN

_NONE = OPS.index("none")


def _search_op(op: str, C: int) -> nn.Module:
    if op == "skip_connect":
        return nn.Identity()
    if op == "nor_conv_1x1":
        return ReLUConvBN(C, C, 1, 1, 0, affine=False)
    if op == "nor_conv_3x3":
        return ReLUConvBN(C, C, 3, 1, 1, affine=False)
    if op == "avg_pool_3x3":
        return nn.AvgPool2d(3, 1, 1, count_include_pad=False)
    raise SpaceError(f"no search module for nb201 op {op!r}")


class SearchCell(nn.Module):
    """One NB201 search cell: 6 edges, each a ModuleDict of the 4 ops that have a module (``none`` is
    zero and needs none)."""

    def __init__(self, C: int):
        super().__init__()
        self.edges = nn.ModuleList(nn.ModuleDict({op: _search_op(op, C) for op in OPS if op != "none"})
                                   for _ in EDGES)

    @staticmethod
    def _run(module: nn.Module, x, relu_cache: dict, node: int):
        if isinstance(module, ReLUConvBN):
            # why: both convolutions of an edge (and those of other edges leaving the same node) apply
            # ReLU to the same tensor; computing it once is exact and saves memory traffic
            if node not in relu_cache:
                relu_cache[node] = F.relu(x)
            return module.bn(module.conv(relu_cache[node]))
        return module(x)

    def _fused(self, x, weights):
        """The DARTS mix of every edge (``weights`` [6, 5]), node by node, with the edges that leave one
        node computed together: the same parameters and the same result as the loop in ``forward``.

        Why: at classroom sizes (C=8) an op costs its call overhead, not its arithmetic, and the loop
        runs 6 edges x 4 ops per cell. All convolutions leaving node i read ReLU(node i): the 3x3 convs
        of its outgoing edges run as ONE conv (weights concatenated at each call, so the modules and
        their gradients are the usual ones), the 1x1 convs as another, each followed by one batch norm
        over the concatenation (it is per channel, so that is exactly each edge's own); the mixing
        weight w[e, op] becomes that batch norm's per-channel scale (w * BN(y) = BN(y; weight=w), one
        pass instead of two); the average pooling of node i is computed once for all its edges.
        """
        nodes = [x]
        into = {1: [], 2: [], 3: []}                  # node j -> contributions of the edges into it
        k3, k1, kp, ks = (OPS.index(o) for o in ("nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3", "skip_connect"))
        for i in range(3):
            src = nodes[i]
            outs = [EDGES.index((i, j)) for j in range(i + 1, 4)]
            r = F.relu(src)
            c = src.shape[1]
            parts = {}
            for k, op in ((k3, "nor_conv_3x3"), (k1, "nor_conv_1x1")):
                units = [self.edges[e][op] for e in outs]
                conv = units[0].conv
                y = F.conv2d(r, torch.cat([u.conv.weight for u in units]), None, conv.stride, conv.padding)
                scale = weights[outs, k].repeat_interleave(c)
                # why split (not slices): autograd joins a split's gradients with one concatenation
                parts[k] = batch_norms([u.bn for u in units], y, scale).split(c, 1)
            pooled = self.edges[outs[0]]["avg_pool_3x3"](src)
            for n, (e, j) in enumerate(zip(outs, range(i + 1, 4))):
                into[j].append(parts[k3][n] + parts[k1][n] + weights[e, kp] * pooled + weights[e, ks] * src)
            acc = into[i + 1][0]
            for t in into[i + 1][1:]:
                acc = acc + t
            nodes.append(acc)
        return nodes[3]

    def forward(self, x, weights=None, active=None, arch=None):
        if arch is None and active is None:
            return self._fused(x, weights)
        nodes, relu = [x], {}
        for j in (1, 2, 3):
            acc = None
            for i in range(j):
                e = EDGES.index((i, j))
                mods = self.edges[e]
                if arch is not None:
                    op = arch.ops[e]
                    if op == "none":
                        continue
                    y = self._run(mods[op], nodes[i], relu, i)
                else:
                    y = None
                    for k, op in enumerate(OPS):
                        # 'none' outputs zeros: w * 0 adds nothing and has no gradient for the weights
                        # (its alpha still gets its gradient through the softmax normalisation)
                        if k == _NONE or (active is not None and not active[e][k]):
                            continue
                        t = weights[e, k] * self._run(mods[op], nodes[i], relu, i)
                        y = t if y is None else y + t
                    if y is None:
                        continue
                acc = y if acc is None else acc + y
            nodes.append(acc if acc is not None else torch.zeros_like(x))
        return nodes[3]


class NB201Supernet(nn.Module):
    """The NB201 search network (the ``TinyNetworkDarts`` skeleton of the reference code)."""

    def __init__(self, C: int = 16, N: int = 5, in_channels: int = 3, num_classes: int = 10):
        super().__init__()
        if C < 1 or N < 1:
            raise SpaceError(f"nb201 supernet needs C >= 1 and N >= 1, got C={C}, N={N}")
        self.stem = nn.Sequential(nn.Conv2d(in_channels, C, 3, 1, 1, bias=False), nn.BatchNorm2d(C))
        layers, c = [], C
        for stage in range(3):
            if stage:
                layers.append(ResNetBasicBlock(c, 2 * c))
                c *= 2
            layers += [SearchCell(c) for _ in range(N)]
        self.cells = nn.ModuleList(layers)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU())
        self.classifier = nn.Linear(c, num_classes)
        self.alphas = nn.Parameter(1e-3 * torch.randn(len(EDGES), len(OPS)))

    # ------------------------------------------------------------------ parameters and labels
    def arch_parameters(self) -> list[nn.Parameter]:
        return [self.alphas]

    def weight_parameters(self) -> list[nn.Parameter]:
        return [p for n, p in self.named_parameters() if n != "alphas"]

    def edge_names(self) -> list[str]:
        return list(EDGE_NAMES)

    def op_names(self) -> list[str]:
        return list(OPS)

    def arch_weights(self) -> torch.Tensor:
        """softmax(alphas) per edge: the mixing weights of the default forward."""
        return F.softmax(self.alphas, dim=-1)

    def _check_weights(self, weights) -> torch.Tensor:
        shape = tuple(self.alphas.shape)
        if not torch.is_tensor(weights) or tuple(weights.shape) != shape:
            raise SpaceError(f"nb201 supernet weights must be a tensor of shape {list(shape)}, "
                             f"got {getattr(weights, 'shape', type(weights).__name__)}")
        return weights

    # ------------------------------------------------------------------ forward and discretisation
    def forward(self, x, weights=None, arch=None):
        active = None
        if arch is not None:
            if weights is not None:
                raise SpaceError("give either weights or arch, not both")
            if not isinstance(arch, NB201Arch):
                raise SpaceError(f"arch must be an NB201Arch (parse a string with the space's from_str), "
                                 f"got {type(arch).__name__}")
        else:
            weights = self.arch_weights() if weights is None else self._check_weights(weights)
            if not weights.requires_grad:
                active = (weights != 0).tolist()          # one host sync per forward, not one per op
        x = self.stem(x)
        for cell in self.cells:
            x = cell(x, weights=weights, active=active, arch=arch) if isinstance(cell, SearchCell) else cell(x)
        x = self.lastact(x)
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))

    @torch.no_grad()
    def derive(self, weights=None) -> NB201Arch:
        """The discrete cell: the strongest op on each edge (``none`` included, as in the reference's
        NB201 DARTS; first maximum on ties)."""
        w = self.arch_weights() if weights is None else self._check_weights(weights)
        rows = w.detach().float().cpu().tolist()
        return NB201Arch(tuple(OPS[max(range(len(OPS)), key=lambda k: (r[k], -k))] for r in rows))
