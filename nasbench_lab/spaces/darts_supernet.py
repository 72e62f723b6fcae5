"""The DARTS search network (Liu et al., "DARTS: Differentiable Architecture Search", ICLR 2019; the
``Network`` of quark0/darts' model_search.py), with the same parameters as that reference.

Every one of the 14 edges of a cell (node j = 2..5 reads inputs 0..j-1) holds all 8 primitives; an edge
outputs their mix sum_k w_k op_k(x). The network runs in three modes:

* ``forward(x)``: w = softmax(alphas) per cell type, the DARTS relaxation;
* ``forward(x, weights={'normal': W, 'reduce': W})`` with W of shape [14, 8]: explicit weights, e.g.
  the binary gates of ProxylessNAS or the hard Gumbel samples of GDAS. When W does not require grad,
  ops whose weight is exactly 0 are not computed at all (why: with one-hot gates that is 1/8 of the work);
* ``forward(x, arch=genotype)``: one discrete path through the shared weights (ENAS, SPOS, the
  one-shot estimator): each node sums the two (op, input) edges the genotype picks.

``partial_channels=K`` > 1 is PC-DARTS (Xu et al., "PC-DARTS: Partial Channel Connections for
Memory-Efficient Architecture Search", ICLR 2020; 0.1 GPU-days on this space): each edge mixes only 1/K
of its input channels (the rest bypass it, max-pooled on a reduction edge), then shuffles channels so
that the next edge sees others; and *edge normalisation* weights each edge into a node by a softmax of
per-edge ``betas``, which stabilises the selection of edges that partial sampling makes noisy.

The alphas (and betas) are ``nn.Parameter``s registered here (``arch_parameters()``) so that ``.to(device)`` moves
them with the weights, but the supernet never updates them: the strategy owns their optimiser.
"""
from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn as nn
import torch.nn.functional as F

from .base import SpaceError
from .darts_genotype import CELLS, PRIMITIVES, Genotype, check_genotype
from .fast_ops import batch_norms
from .ops import DilConv, FactorizedReduce, ReLUConvBN, SepConv, make_op

_NONE = PRIMITIVES.index("none")


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """Interleave ``groups`` channel groups (ShuffleNet's shuffle): [a1 a2 b1 b2] -> [a1 b1 a2 b2]."""
    b, c, h, w = x.shape
    return x.view(b, groups, c // groups, h, w).transpose(1, 2).reshape(b, c, h, w)


class MixedOp(nn.Module):
    """All 8 primitives on one edge; BN without affine parameters, as in the reference search network.
    Pools get a BN of their own (why: their output is otherwise on a different scale than the
    convolutions' normalised outputs, which biases the softmax). ``k`` > 1: PC-DARTS, the ops see the
    first C/k channels only."""

    def __init__(self, C: int, stride: int, k: int = 1):
        super().__init__()
        self.k, self.stride = k, stride
        ops = []
        for p in PRIMITIVES:
            op = make_op(p, C // k, C // k, stride, affine=False)
            if "pool" in p:
                op = nn.Sequential(op, nn.BatchNorm2d(C // k, affine=False))
            ops.append(op)
        self.ops = nn.ModuleList(ops)
        # The four convolution ops (sep 3x3/5x5, dil 3x3/5x5) all start with ReLU(x): computed once per
        # edge instead of four times (forward and backward), with the same modules and the same result.
        self._relu_first = {k for k, op in enumerate(self.ops) if isinstance(op, (SepConv, DilConv))}
        self._seps = [k for k, op in enumerate(self.ops) if isinstance(op, SepConv)]
        self._dils = [k for k, op in enumerate(self.ops) if isinstance(op, DilConv)]
        self._pools = [k for k, p in enumerate(PRIMITIVES) if "pool" in p]
        self._skip = PRIMITIVES.index("skip_connect")

    def _after_relu(self, k: int, r: torch.Tensor) -> torch.Tensor:
        op = self.ops[k]
        first, rest = (op[0], [op[1]]) if isinstance(op, SepConv) else (op, [])
        for m in list(first)[1:]:                       # (ReLU,) dw, pw, BN: the ReLU is already done
            r = m(r)
        for m in rest:                                  # SepConv's second (ReLU, dw, pw, BN) unit
            r = m(r)
        return r

    def _weighted_fused(self, x, w, shared: dict) -> torch.Tensor:
        """sum_k w_k op_k(x) over the seven ops that are not ``none``, computed together (the same
        parameters, the same result as the loop in ``_mix``).

        Why: at classroom sizes an op costs its call overhead and its passes over memory more than its
        arithmetic. The four conv ops' pointwise 1x1 convs read four different tensors, so they run as
        ONE grouped conv over the concatenation (weights concatenated at each call, so the modules and
        their gradients are the usual ones), and their batch norms as one batch norm (it is per
        channel, so normalising the concatenation is exactly normalising each part); the same for the
        two sep convs' second units. The depthwise convs differ in kernel and dilation and stay apart.
        And the mixing weight w_k of an op whose last layer is a batch norm without affine parameters
        becomes that batch norm's per-channel scale: w_k * BN(y) = BN(y; weight=w_k) is one pass over
        the tensor instead of two, forward and backward (the gradient of w_k is BN's weight gradient).
        ``shared`` holds what does not depend on the edge's parameters (ReLU(x), the two poolings of x),
        computed once for all the edges that read the same node (see ``SearchCell.forward``).
        """
        heads = [self.ops[k][0] for k in self._seps] + [self.ops[k] for k in self._dils]   # (ReLU, dw, pw, BN)
        tails = [self.ops[k][1] for k in self._seps]
        c, n = x.shape[1], len(tails)
        one = w.new_ones(1)
        r = _once(shared, "relu", lambda: F.relu(x))
        # first units: the sep convs' parts go on to their second unit (scale 1), the dil convs' are final
        scale = torch.cat([one.expand(n * c)] + [w[k].expand(c) for k in self._dils])
        y = _pointwise_bn(torch.cat([h[1](r) for h in heads], 1), heads, scale)
        # why one split per tensor (not y[:, a:b] slices): autograd joins a split's gradients with one
        # concatenation, where each slice would build a zero tensor of the full size in the backward
        seps, *dils = y.split([n * c] + [c] * len(self._dils), 1)
        r2 = F.relu(seps).chunk(n, 1)
        scale2 = torch.cat([w[k].expand(c) for k in self._seps])
        y2 = _pointwise_bn(torch.cat([t[1](z) for t, z in zip(tails, r2)], 1), tails, scale2)
        first, *rest = list(y2.chunk(n, 1)) + dils
        out = first
        for part in rest:
            out = out + part
        for k in self._pools:                                 # (pool, BN): the weight into the BN too
            pool, bn = self.ops[k]
            # repeat, not expand: batch norm takes a slow path for a weight with stride 0
            out = out + batch_norms([bn], _once(shared, PRIMITIVES[k], lambda: pool(x)), w[k].repeat(c))
        return out + w[self._skip] * self.ops[self._skip](x)

    def forward(self, x, w, active=None, shared: dict | None = None):
        shared = {} if shared is None else shared
        if self.k == 1:
            return self._mix(x, w, active, shared)
        # PC-DARTS: every edge from a node mixes the same first C/k channels, so sharing still holds
        return self._partial(x, lambda part: self._mix(part, w, active, shared))

    def single(self, x, k: int):
        """Op ``k`` alone (a discrete path through the shared weights)."""
        return self.ops[k](x) if self.k == 1 else self._partial(x, self.ops[k])

    def _partial(self, x, mix):
        """PC-DARTS: mix the first C/k channels, let the others bypass, shuffle (as the paper's code)."""
        c = x.shape[1] // self.k
        out = mix(x[:, :c])
        rest = x[:, c:]
        if self.stride == 2:                           # a reduction edge halves the bypass too
            # ceil_mode: the same size as the ops' stride-2 output also on odd inputs (the paper's
            # floor would not concatenate there; on even sizes the two agree)
            rest = F.max_pool2d(rest, 2, 2, ceil_mode=True)
        if not torch.is_tensor(out):                   # every op of the edge closed: the mix is zero
            out = rest.new_zeros(rest.shape[0], c, *rest.shape[2:])
        return channel_shuffle(torch.cat([out, rest], 1), self.k)

    def _mix(self, x, w, active=None, shared=None):
        # 'none' outputs zeros: w * 0 adds nothing and has zero gradient, so it is skipped exactly
        # (its alpha still gets its gradient through the softmax normalisation)
        if active is None:
            return self._weighted_fused(x, w, shared)
        out = 0
        r = None
        for k, op in enumerate(self.ops):
            # with explicit gates (ProxylessNAS, GDAS) only the open ops run, one by one
            if k == _NONE or not active[k]:
                continue
            if k in self._relu_first:
                r = F.relu(x) if r is None else r
                y = self._after_relu(k, r)
            else:
                y = op(x)
            out = out + w[k] * y
        return out


def _once(shared: dict, key: str, make):
    """``shared[key]``, made on first use (a value all the edges reading one node have in common)."""
    if key not in shared:
        shared[key] = make()
    return shared[key]


def _pointwise_bn(z: torch.Tensor, units, scale: torch.Tensor | None = None) -> torch.Tensor:
    """``units`` (ReLU, dw, pw, BN) modules' pointwise convs and batch norms applied to their parts of ``z``
    (the channel-concatenation of their depthwise outputs) as one grouped conv and one batch norm."""
    pws = [u[2] for u in units]
    y = F.conv2d(z, torch.cat([p.weight for p in pws], 0), groups=len(pws))
    return batch_norms([u[3] for u in units], y, scale)


class SearchCell(nn.Module):
    def __init__(self, steps: int, multiplier: int, c_pp: int, c_p: int, C: int, reduction: bool,
                 reduction_prev: bool, k: int = 1):
        super().__init__()
        self.reduction, self.steps, self.multiplier = reduction, steps, multiplier
        self.preprocess0 = (FactorizedReduce(c_pp, C, affine=False) if reduction_prev
                            else ReLUConvBN(c_pp, C, 1, 1, 0, affine=False))
        self.preprocess1 = ReLUConvBN(c_p, C, 1, 1, 0, affine=False)
        self.edges = nn.ModuleList(MixedOp(C, 2 if reduction and i < 2 else 1, k)
                                   for j in range(steps) for i in range(j + 2))
        self.C = C

    def forward(self, s0, s1, weights=None, active=None, genes=None, edge_weights=None):
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        shared: list[dict] = []
        offset = 0
        for j in range(self.steps):
            if genes is not None:                          # discrete path: the node's two entries
                h = 0
                for op, i in genes[2 * j:2 * j + 2]:
                    h = h + self.edges[offset + i].single(states[i], PRIMITIVES.index(op))
            else:
                h = 0
                # why: ReLU(state) and its poolings do not depend on the edge; the edges that read one
                # state (up to four per cell) compute them once, forward and backward
                while len(shared) < len(states):
                    shared.append({})
                for i, s in enumerate(states):
                    if active is not None and not any(active[offset + i]):
                        continue                           # every gate of this edge is closed
                    a = None if active is None else active[offset + i]
                    y = self.edges[offset + i](s, weights[offset + i], a, shared[i])
                    h = h + (y if edge_weights is None else edge_weights[offset + i] * y)
            if not torch.is_tensor(h):                     # no live edge at all: the node is zero
                b, _, hh, ww = states[1].shape
                if self.reduction:
                    hh, ww = (hh + 1) // 2, (ww + 1) // 2
                h = states[1].new_zeros(b, self.C, hh, ww)
            offset += len(states)
            states.append(h)
        return torch.cat(states[-self.multiplier:], dim=1)


class DartsSupernet(nn.Module):
    """The DARTS search network: stem, ``layers`` search cells (reductions at 1/3 and 2/3), classifier."""

    def __init__(self, C: int = 16, num_classes: int = 10, layers: int = 8, steps: int = 4,
                 multiplier: int = 4, stem_multiplier: int = 3, in_channels: int = 3, partial_channels: int = 1,
                 edge_normalization: bool | None = None):
        super().__init__()
        if not 1 <= multiplier <= steps:
            raise SpaceError(f"multiplier must be in 1..steps ({steps}), got {multiplier}")
        if not isinstance(partial_channels, int) or isinstance(partial_channels, bool) or partial_channels < 1 \
                or C % partial_channels:
            raise SpaceError(f"partial_channels must be a positive integer that divides C={C}, got {partial_channels!r}")
        self.partial_channels = partial_channels
        # the paper uses edge normalisation with partial channels; either can be had alone
        self.edge_normalization = partial_channels > 1 if edge_normalization is None else bool(edge_normalization)
        self.steps, self.multiplier = steps, multiplier
        c = stem_multiplier * C
        self.stem = nn.Sequential(nn.Conv2d(in_channels, c, 3, padding=1, bias=False), nn.BatchNorm2d(c))
        c_pp, c_p, c_cur = c, c, C
        self.cells = nn.ModuleList()
        reduction_prev = False
        for i in range(layers):
            reduction = i in (layers // 3, 2 * layers // 3)
            if reduction:
                c_cur *= 2
            self.cells.append(SearchCell(steps, multiplier, c_pp, c_p, c_cur, reduction, reduction_prev,
                                         partial_channels))
            reduction_prev = reduction
            c_pp, c_p = c_p, multiplier * c_cur
        self.classifier = nn.Linear(c_p, num_classes)
        k = sum(j + 2 for j in range(steps))
        self.alphas_normal = nn.Parameter(1e-3 * torch.randn(k, len(PRIMITIVES)))
        self.alphas_reduce = nn.Parameter(1e-3 * torch.randn(k, len(PRIMITIVES)))
        if self.edge_normalization:
            self.betas_normal = nn.Parameter(1e-3 * torch.randn(k))
            self.betas_reduce = nn.Parameter(1e-3 * torch.randn(k))

    # ------------------------------------------------------------------ parameters and labels
    def arch_parameters(self) -> list[nn.Parameter]:
        """The alphas (and, with edge normalisation, the betas): what the strategy's optimiser updates."""
        betas = [self.betas_normal, self.betas_reduce] if self.edge_normalization else []
        return [self.alphas_normal, self.alphas_reduce, *betas]

    def weight_parameters(self) -> list[nn.Parameter]:
        return [p for n, p in self.named_parameters() if not n.startswith(("alphas_", "betas_"))]

    def edge_names(self) -> list[str]:
        """One label per alpha row, 'input->node' with nodes numbered as in the genotype (2..)."""
        return [f"{i}->{j + 2}" for j in range(self.steps) for i in range(j + 2)]

    def op_names(self) -> list[str]:
        return list(PRIMITIVES)

    def arch_weights(self) -> dict[str, torch.Tensor]:
        """softmax(alphas) per cell type: the mixing weights of the default forward."""
        return {"normal": F.softmax(self.alphas_normal, dim=-1),
                "reduce": F.softmax(self.alphas_reduce, dim=-1)}

    def edge_weights(self) -> dict[str, torch.Tensor] | None:
        """Edge normalisation: per node, a softmax over the betas of the edges into it (None when off)."""
        if not self.edge_normalization:
            return None
        out = {}
        for c, b in (("normal", self.betas_normal), ("reduce", self.betas_reduce)):
            parts, start = [], 0
            for j in range(self.steps):
                parts.append(F.softmax(b[start:start + j + 2], dim=-1))
                start += j + 2
            out[c] = torch.cat(parts)
        return out

    def _check_weights(self, weights) -> dict:
        if weights is None:
            return self.arch_weights()
        if not isinstance(weights, Mapping) or set(weights) != set(CELLS):
            raise SpaceError("weights must be a dict {'normal': Tensor, 'reduce': Tensor}")
        shape = tuple(self.alphas_normal.shape)
        for cell, w in weights.items():
            if not torch.is_tensor(w) or tuple(w.shape) != shape:
                raise SpaceError(f"weights[{cell!r}] must be a tensor of shape {list(shape)}, "
                                 f"got {getattr(w, 'shape', type(w).__name__)}")
        return dict(weights)

    # ------------------------------------------------------------------ forward and discretisation
    def forward(self, x, weights=None, arch=None):
        if arch is not None:
            if weights is not None:
                raise SpaceError("give either weights or arch, not both")
            g = check_genotype(arch, False)
            if any(len(g.cell(c)) != 2 * self.steps or any(op not in PRIMITIVES for op, _ in g.cell(c))
                   for c in CELLS):
                raise SpaceError(f"arch must have {self.steps} nodes per cell, each op one of the DARTS "
                                 f"primitives; got {g}")
        else:
            w = self._check_weights(weights)
            # zero weights are skipped only where no gradient has to flow into them; one host sync per
            # cell type (not one per op) decides which ops run
            active = {c: None if w[c].requires_grad else (w[c] != 0).tolist() for c in CELLS}
            ew = self.edge_weights()
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            c = "reduce" if cell.reduction else "normal"
            if arch is not None:
                out = cell(s0, s1, genes=g.cell(c))
            else:
                out = cell(s0, s1, weights=w[c], active=active[c], edge_weights=None if ew is None else ew[c])
            s0, s1 = s1, out
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(s1, 1), 1))

    @torch.no_grad()
    def derive(self, weights=None) -> Genotype:
        """DARTS discretisation: per node keep the two inputs whose strongest non-``none`` op weighs
        most, each with that op (first maximum on ties, like the reference). With edge normalisation an
        edge's op weights are scaled by its edge weight first (as PC-DARTS derives)."""
        w = self._check_weights(weights)
        ew = self.edge_weights()
        cells = {}
        for c in CELLS:
            rows = w[c].detach().float().cpu()
            if ew is not None:
                rows = rows * ew[c].detach().float().cpu()[:, None]
            rows = rows.tolist()
            gene, start = [], 0
            for j in range(self.steps):
                edges = rows[start:start + j + 2]
                best = [max((v, -k) for k, v in enumerate(r) if k != _NONE) for r in edges]
                # stable sort: on equal strength the lower input wins, as with the reference's sorted()
                for i in sorted(range(j + 2), key=lambda i: -best[i][0])[:2]:
                    gene.append((PRIMITIVES[-best[i][1]], i))
                start += j + 2
            cells[c] = gene
        concat = range(2 + self.steps - self.multiplier, self.steps + 2)
        return Genotype(cells["normal"], concat, cells["reduce"], concat)
