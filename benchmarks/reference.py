"""The lab's eager reference implementations: the slow, faithful baselines its speed figures are measured
against, written in this repository so that every figure can be reproduced from a clone.

They follow the papers and the code their authors published, not the lab:

* NAS-Bench-201 (Dong & Yang, ICLR 2020), the network every benchmark cell is trained in: a 3x3 conv
  stem, three stages of N cells, a residual block between stages, BN + ReLU + global pooling + linear
  head (D-X-Y/AutoDL-Projects, ``TinyNetwork``, ``InferCell``, ``ResNetBasicblock``, ``OPS``).
* DARTS (Liu, Simonyan & Yang, ICLR 2019), the search network and its first-order search step
  (quark0/darts, cnn/model_search.py, operations.py, architect.py, train_search.py).

Plain eager PyTorch in float32 (or whatever dtype the caller gives): no fused ops, no channels_last, no
autocast, no compilation. The point is the baseline the papers' code gives, not speed.

What differs from the published code, and why none of it changes what is computed:
* ``in_channels`` replaces the hard-coded 3 input channels (the lab's default dataset is greyscale).
* ``NB201Net`` takes the six edge ops in the published string order and returns the logits only
  (``TinyNetwork`` returns (features, logits)).
* DARTS' alphas are registered ``nn.Parameter``s (quark0 keeps them as loose tensors, on ``.cuda()``),
  so ``.to(device)`` and ``.double()`` move them too; ``weight_parameters()`` is what quark0's
  ``model.parameters()`` was: everything but the alphas.
* No ``.cuda()`` anywhere; the caller picks the device.

The API (used by benchmarks/*.py and the tests; ``NASBENCH_LAB_REFERENCE`` may name another file with
the same API): ``NB201Net``, ``nb201_images_per_second``, ``DartsSearchNet``, ``darts_optimizers``,
``darts_search_step``, ``darts_step_seconds``, and the op lists ``NB201_OPS``, ``NB201_EDGES``,
``DARTS_PRIMITIVES``.

    python benchmarks/reference.py [--device cpu|cuda] [--steps N]     # the baseline figures, as JSON
"""
import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

NB201_OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]
# (from node, to node) of the six edges, in the order of the published string |a~0|+|b~0|c~1|+|d~0|e~1|f~2|
NB201_EDGES = [(0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3)]
# genotypes.py's PRIMITIVES, in its order (the columns of the alphas)
DARTS_PRIMITIVES = ["none", "max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5",
                    "dil_conv_3x3", "dil_conv_5x5"]


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


# ================================================================ operations (both papers)
class Zero(nn.Module):
    """The ``none`` op: zeros of the (strided) input's shape. Why multiply rather than allocate zeros:
    both papers' code does ``x.mul(0.)``, so a ``none`` edge costs what it costs there."""

    def __init__(self, stride: int):
        super().__init__()
        self.stride = stride

    def forward(self, x):
        return (x if self.stride == 1 else x[:, :, ::self.stride, ::self.stride]).mul(0.0)


def relu_conv_bn(c_in, c_out, kernel, stride, padding, affine=True):
    """ReLU -> conv (no bias) -> BN, the unit both search spaces are built from."""
    return nn.Sequential(nn.ReLU(), nn.Conv2d(c_in, c_out, kernel, stride, padding, bias=False),
                         nn.BatchNorm2d(c_out, affine=affine))


def dil_conv(c_in, c_out, kernel, stride, padding, dilation, affine=True):
    """ReLU -> depthwise (dilated) conv -> pointwise conv -> BN."""
    return nn.Sequential(nn.ReLU(),
                         nn.Conv2d(c_in, c_in, kernel, stride, padding, dilation=dilation, groups=c_in, bias=False),
                         nn.Conv2d(c_in, c_out, 1, bias=False), nn.BatchNorm2d(c_out, affine=affine))


def sep_conv(c_in, c_out, kernel, stride, padding, affine=True):
    """DARTS' separable conv: the depthwise-pointwise-BN unit twice, the stride on the first only."""
    return nn.Sequential(*dil_conv(c_in, c_in, kernel, stride, padding, 1, affine),
                         *dil_conv(c_in, c_out, kernel, 1, padding, 1, affine))


class FactorizedReduce(nn.Module):
    """Halve the resolution without losing every other pixel: two stride-2 1x1 convs, the second on the
    input shifted by one pixel, concatenated (each gives half the output channels), then BN."""

    def __init__(self, c_in, c_out, affine=True):
        super().__init__()
        self.relu = nn.ReLU()
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c_out, affine=affine)

    def forward(self, x):
        x = self.relu(x)
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(x[:, :, 1:, 1:])], dim=1))


# ================================================================ NAS-Bench-201
def nb201_op(name: str, c: int) -> nn.Module:
    """One edge op of a NAS-Bench-201 cell (stride 1, C channels in and out, affine BN)."""
    if name == "none":
        return Zero(1)
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_1x1":
        return relu_conv_bn(c, c, 1, 1, 0)
    if name == "nor_conv_3x3":
        return relu_conv_bn(c, c, 3, 1, 1)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, 1, 1, count_include_pad=False)
    raise ValueError(f"unknown NAS-Bench-201 op {name!r}; one of {NB201_OPS}")


class NB201Cell(nn.Module):
    """Four nodes; node j is the sum of the ops on the edges from every earlier node (``none`` included,
    as in ``InferCell``); the cell's output is node 3."""

    def __init__(self, ops, c):
        super().__init__()
        self.layers = nn.ModuleList(nb201_op(name, c) for name in ops)

    def forward(self, x):
        nodes = [x]
        for j in (1, 2, 3):
            nodes.append(sum(self.layers[e](nodes[i]) for e, (i, to) in enumerate(NB201_EDGES) if to == j))
        return nodes[3]


class ResidualReduction(nn.Module):
    """The block between stages: two ReLU-conv-BN (the first with stride 2) plus a shortcut that
    average-pools 2x2 and projects with a 1x1 conv. The pooling floors, as ``ResNetBasicblock`` does."""

    def __init__(self, c_in, c_out):
        super().__init__()
        self.conv_a = relu_conv_bn(c_in, c_out, 3, 2, 1)
        self.conv_b = relu_conv_bn(c_out, c_out, 3, 1, 1)
        self.downsample = nn.Sequential(nn.AvgPool2d(2, 2), nn.Conv2d(c_in, c_out, 1, bias=False))

    def forward(self, x):
        return self.downsample(x) + self.conv_b(self.conv_a(x))


class NB201Net(nn.Module):
    """The NAS-Bench-201 network of one cell: ``ops`` lists the op of each edge in the published string
    order; C=16, N=5 is the benchmark's skeleton (1,531,546 parameters with six ``nor_conv_3x3``)."""

    def __init__(self, ops, C=16, N=5, in_channels=3, num_classes=10):
        super().__init__()
        if len(ops) != len(NB201_EDGES):
            raise ValueError(f"a NAS-Bench-201 cell has {len(NB201_EDGES)} edges, got {len(ops)} ops")
        self.stem = nn.Sequential(nn.Conv2d(in_channels, C, 3, padding=1, bias=False), nn.BatchNorm2d(C))
        cells, c = [], C
        for stage in range(3):
            if stage:
                cells.append(ResidualReduction(c, 2 * c))
                c *= 2
            cells += [NB201Cell(ops, c) for _ in range(N)]
        self.cells = nn.ModuleList(cells)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU())
        self.classifier = nn.Linear(c, num_classes)

    def forward(self, x):
        x = self.stem(x)
        for cell in self.cells:
            x = cell(x)
        return self.classifier(F.adaptive_avg_pool2d(self.lastact(x), 1).flatten(1))


def nb201_images_per_second(device, ops=("nor_conv_3x3",) * 6, C=16, N=1, batch=256, steps=50,
                            image=(1, 28, 28), num_classes=10):
    """Training throughput (images/s) of one NB201 network: the benchmark's recipe (SGD, Nesterov momentum
    0.9, lr 0.1, weight decay 5e-4, cross-entropy), random batches drawn from 4,096 random images that
    are already on the device, 5 warm-up steps, then ``steps`` timed ones."""
    torch.manual_seed(0)
    net = NB201Net(list(ops), C, N, image[0], num_classes).to(device)
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
    x = torch.randn(4096, *image, device=device)
    y = torch.randint(0, num_classes, (4096,), device=device)
    net.train()

    def step():
        idx = torch.randint(0, 4096, (batch,), device=device)
        loss = F.cross_entropy(net(x[idx]), y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(5):
        step()
    _sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    _sync(device)
    return steps * batch / (time.perf_counter() - start)


# ================================================================ DARTS
def darts_op(name: str, c: int, stride: int) -> nn.Module:
    """One candidate op of a DARTS mixed edge. In the search network BN is never affine (the alphas
    would otherwise be rescaled by learnable BN weights), and the pools get a BN of their own."""
    if name == "none":
        return Zero(stride)
    if name == "max_pool_3x3":
        return nn.Sequential(nn.MaxPool2d(3, stride, 1), nn.BatchNorm2d(c, affine=False))
    if name == "avg_pool_3x3":
        return nn.Sequential(nn.AvgPool2d(3, stride, 1, count_include_pad=False), nn.BatchNorm2d(c, affine=False))
    if name == "skip_connect":
        return nn.Identity() if stride == 1 else FactorizedReduce(c, c, affine=False)
    if name in ("sep_conv_3x3", "sep_conv_5x5"):
        k = int(name[-1])
        return sep_conv(c, c, k, stride, k // 2, affine=False)
    if name in ("dil_conv_3x3", "dil_conv_5x5"):
        k = int(name[-1])
        return dil_conv(c, c, k, stride, k - 1, 2, affine=False)      # dilation 2: padding k - 1 keeps the size
    raise ValueError(f"unknown DARTS op {name!r}; one of {DARTS_PRIMITIVES}")


class MixedOp(nn.Module):
    """Every candidate op on one edge; the edge's output is their sum weighted by softmax(alpha)."""

    def __init__(self, c, stride):
        super().__init__()
        self.ops = nn.ModuleList(darts_op(name, c, stride) for name in DARTS_PRIMITIVES)

    def forward(self, x, weights):
        return sum(w * op(x) for w, op in zip(weights, self.ops))


class SearchCell(nn.Module):
    """Inputs: the two previous cells' outputs, brought to C channels (by a factorized reduction when the
    previous cell halved the resolution). Each of ``steps`` nodes sums a mixed edge from every earlier
    node; the output concatenates the last ``mult`` nodes. A reduction cell's edges from the two inputs
    have stride 2. Edge e's weights are row e of softmax(alpha), rows in the order the edges are made."""

    def __init__(self, steps, mult, c_prev_prev, c_prev, c, reduction, reduction_prev):
        super().__init__()
        self.reduction, self.steps, self.mult = reduction, steps, mult
        self.preprocess0 = (FactorizedReduce(c_prev_prev, c, affine=False) if reduction_prev
                            else relu_conv_bn(c_prev_prev, c, 1, 1, 0, affine=False))
        self.preprocess1 = relu_conv_bn(c_prev, c, 1, 1, 0, affine=False)
        self.edges = nn.ModuleList(MixedOp(c, 2 if reduction and i < 2 else 1)
                                   for node in range(steps) for i in range(2 + node))

    def forward(self, s0, s1, weights):
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        e = 0
        for _ in range(self.steps):
            node = sum(self.edges[e + i](h, weights[e + i]) for i, h in enumerate(states))
            e += len(states)
            states.append(node)
        return torch.cat(states[-self.mult:], dim=1)


class DartsSearchNet(nn.Module):
    """quark0's ``Network``: a 3x3 stem to ``stem_mult * C`` channels, ``layers`` search cells (those at
    1/3 and 2/3 of the depth reduce and double C), global pooling, a linear classifier; two alpha
    matrices (normal, reduce), one row per edge (14 with 4 steps), one column per op. At C=16 and 8
    cells: 1,930,618 weights."""

    def __init__(self, C=16, num_classes=10, layers=8, steps=4, mult=4, stem_mult=3, in_channels=3):
        super().__init__()
        c_stem = stem_mult * C
        self.stem = nn.Sequential(nn.Conv2d(in_channels, c_stem, 3, padding=1, bias=False), nn.BatchNorm2d(c_stem))
        c_prev_prev, c_prev, c = c_stem, c_stem, C
        self.cells = nn.ModuleList()
        reduction_prev = False
        for i in range(layers):
            reduction = i in (layers // 3, 2 * layers // 3)
            if reduction:
                c *= 2
            self.cells.append(SearchCell(steps, mult, c_prev_prev, c_prev, c, reduction, reduction_prev))
            reduction_prev = reduction
            c_prev_prev, c_prev = c_prev, mult * c
        self.classifier = nn.Linear(c_prev, num_classes)
        n_edges = sum(2 + node for node in range(steps))
        # Why 1e-3 * randn: softmax of almost zero, so every op starts with almost the same weight.
        self.alphas_normal = nn.Parameter(1e-3 * torch.randn(n_edges, len(DARTS_PRIMITIVES)))
        self.alphas_reduce = nn.Parameter(1e-3 * torch.randn(n_edges, len(DARTS_PRIMITIVES)))

    def arch_parameters(self):
        return [self.alphas_normal, self.alphas_reduce]

    def weight_parameters(self):
        alphas = {id(a) for a in self.arch_parameters()}
        return [p for p in self.parameters() if id(p) not in alphas]

    def forward(self, x):
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            weights = F.softmax(self.alphas_reduce if cell.reduction else self.alphas_normal, dim=-1)
            s0, s1 = s1, cell(s0, s1, weights)
        return self.classifier(F.adaptive_avg_pool2d(s1, 1).flatten(1))


def darts_optimizers(net: DartsSearchNet):
    """train_search.py's optimizers: SGD on the weights (lr 0.025, momentum 0.9, weight decay 3e-4) and
    Adam on the alphas (lr 3e-4, betas (0.5, 0.999), weight decay 1e-3). (The cosine lr schedule is left
    out: it changes no step's cost.)"""
    w_opt = torch.optim.SGD(net.weight_parameters(), lr=0.025, momentum=0.9, weight_decay=3e-4)
    a_opt = torch.optim.Adam(net.arch_parameters(), lr=3e-4, betas=(0.5, 0.999), weight_decay=1e-3)
    return w_opt, a_opt


def darts_search_step(net, w_opt, a_opt, train_batch, val_batch, grad_clip=5.0):
    """One first-order DARTS step, in train_search.py's order: the alphas descend the validation loss
    (architect.step, unrolled=False), then the weights descend the training loss, gradient norm clipped
    at 5. Why both backward passes go through the whole network: that is what the reference pays (the
    validation backward also fills weight gradients, which the weight step's zero_grad discards)."""
    (xt, yt), (xv, yv) = train_batch, val_batch
    a_opt.zero_grad()
    F.cross_entropy(net(xv), yv).backward()
    a_opt.step()
    w_opt.zero_grad()
    F.cross_entropy(net(xt), yt).backward()
    nn.utils.clip_grad_norm_(net.weight_parameters(), grad_clip)
    w_opt.step()


def darts_step_seconds(device, steps=20, batch=64, C=16, layers=8, image=(3, 32, 32)):
    """Seconds per first-order DARTS search step on one random training and one random validation batch
    already on the device: 3 warm-up steps, then the mean of ``steps`` timed ones."""
    torch.manual_seed(0)
    net = DartsSearchNet(C, 10, layers, in_channels=image[0]).to(device)
    w_opt, a_opt = darts_optimizers(net)
    train = torch.randn(batch, *image, device=device), torch.randint(0, 10, (batch,), device=device)
    val = torch.randn(batch, *image, device=device), torch.randint(0, 10, (batch,), device=device)
    net.train()
    for _ in range(3):
        darts_search_step(net, w_opt, a_opt, train, val)
    _sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        darts_search_step(net, w_opt, a_opt, train, val)
    _sync(device)
    return (time.perf_counter() - start) / steps


def main(argv=None):
    ap = argparse.ArgumentParser(description="the eager reference baselines, as one JSON line")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--steps", type=int, default=20, help="timed DARTS steps on CUDA (1 on the CPU)")
    a = ap.parse_args(argv)
    device = torch.device(a.device)
    cpu = device.type == "cpu"              # why fewer steps on a CPU: one DARTS step takes ~17 s on 2 cores
    print(json.dumps({
        "device": "cpu" if cpu else torch.cuda.get_device_name(device),
        "nb201_C16N1_all3x3_img_per_s": round(nb201_images_per_second(device, steps=5 if cpu else 3 * a.steps)),
        "darts_C16L8_b64_step_s": round(darts_step_seconds(device, steps=1 if cpu else a.steps), 4),
    }))


if __name__ == "__main__":
    main()
