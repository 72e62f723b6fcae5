"""The zero-cost proxies: functions (net, x, y) -> a raw score, from one minibatch at initialisation.

The papers: Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS" (ICLR 2021: synflow, snip,
grad_norm, grasp, fisher as whole-network scores); Mellor et al., "Neural Architecture Search without
Training" (2020 v1: jacob_cov; ICML 2021: naswot); Ning et al. (NeurIPS 2021) for the #params and FLOPs
baselines. ``zerocost.py`` builds the network, draws the batch, times each proxy and wraps them as the
``zerocost`` estimator; it re-exports everything here.

Conventions, the same for every proxy (so a strategy that maximises ``val_acc`` works unchanged):

* higher score = predicted better; ``Evaluation.val_acc`` holds the **score**, not an accuracy (%), and
  ``test_acc`` is None: a proxy predicts, it does not measure;
* a network is built from the seed (seeded init) and scored on a fixed minibatch of training images
  drawn with that seed, so the same seed gives the same score on the CPU;
* the weights scored are those of the Conv2d and Linear layers (the "prunable" weights of the pruning
  papers); the loss is the mean cross-entropy of the batch;
* normalisation: the sums of positive terms (synflow, snip, grad_norm, fisher, params, flops) are
  reported as their natural log. Why: synflow's raw value spans 1e30-1e60 on NB201 and overflows float32,
  and the others span decades across a space; the log keeps a REINFORCE reward or a predictor's target
  on a sane scale and changes no ranking. A raw value of exactly 0 (an all-``none`` cell: nothing flows
  from input to output) would have log -inf; it gets ``LOG_ZERO``, the log of the smallest positive
  double, a finite value below every connected network. grasp is signed and stays raw; jacob_cov and
  naswot are already logarithms (of eigenvalues, of a determinant) and stay as published.
"""
from __future__ import annotations

import copy
import math
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Literal

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

from .train import count_flops, count_params

LOG_ZERO = math.log(sys.float_info.min * sys.float_info.epsilon)     # log(5e-324) = -744.44
"""The score given where the log of a raw value of 0 (or of a singular kernel) would be -inf."""
JACOB_K = 1e-5
"""Mellor et al. (2020 v1)'s regulariser k in -sum(log(v + k) + 1 / (v + k))."""


# ---------------------------------------------------------------------- helpers
def _logits(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    out = net(x)
    return out[0] if isinstance(out, tuple) else out          # (logits, aux) of a DARTS net with its head


def _layers(net: nn.Module) -> list[nn.Module]:
    return [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear)) and m.weight.requires_grad]


@contextmanager
def _mode(net: nn.Module, training: bool):
    """Run in train (batch-statistics BN) or eval mode, and give the caller's network its mode back."""
    was = net.training
    net.train(training)
    try:
        yield net
    finally:
        net.train(was)


def _total(terms) -> float:
    """The sum of an iterable of tensors as a float, computed without recording a graph."""
    with torch.no_grad():
        return float(sum(terms, torch.zeros((), dtype=torch.float64)))


def _weight_grads(net, x, y, create_graph=False):
    """(weight, dL/dweight) for every scored weight that the loss reaches."""
    ws = [m.weight for m in _layers(net)]
    loss = F.cross_entropy(_logits(net, x), y)
    gs = torch.autograd.grad(loss, ws, allow_unused=True, create_graph=create_graph)
    return [(w, g) for w, g in zip(ws, gs) if g is not None]


# ---------------------------------------------------------------------- the proxies: (net, x, y) -> raw
def synflow(net: nn.Module, x: torch.Tensor, y=None) -> float:
    """Synaptic flow (Tanaka et al. 2020; as a NAS proxy Abdelfattah et al. 2021): with every parameter
    replaced by its absolute value and an all-ones input, R = 1^T f(1); score = sum over weights of
    theta * dR/dtheta (all terms >= 0; for a linear chain, the number of layers times the sum over all
    input-output paths of the product of |weights|). Data-free: only the input shape is used.
    Higher = predicted better (more, stronger paths); score = log(raw).

    Why a copy: |theta| and float64 must not leak into the caller's network. Why float64: R reaches 1e60
    (float32 overflows at 3e38). Why eval mode with reset BN statistics: Abdelfattah et al. score synflow
    with BN switched off; a fresh BN in eval mode is y = x / sqrt(1 + eps), i.e. off up to that factor,
    while a train-mode BN would normalise the constant all-ones feature maps to about zero.
    """
    net = copy.deepcopy(net).double()
    for m in net.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
    with torch.no_grad():
        for p in net.parameters():
            p.abs_()
    ws = [m.weight for m in _layers(net)]
    with _mode(net, False):
        r = _logits(net, torch.ones((1, *x.shape[1:]), dtype=torch.float64, device=x.device)).sum()
        gs = torch.autograd.grad(r, ws, allow_unused=True) if r.requires_grad else [None] * len(ws)
    return _total((w * g).sum() for w, g in zip(ws, gs) if g is not None)


def snip(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """SNIP connection sensitivity (Lee et al. 2019): sum over weights of |dL/dw * w| (the gradient of the
    loss with respect to a multiplicative mask at 1). Higher = predicted better (the loss depends more on
    the weights); score = log(raw)."""
    with _mode(net, True):
        return _total((g * w).abs().sum() for w, g in _weight_grads(net, x, y))


def grad_norm(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Gradient norm (Abdelfattah et al. 2021's baseline): sum over layers of ||dL/dW||_2 (Frobenius).
    Higher = predicted better (a stronger first training signal); score = log(raw)."""
    with _mode(net, True):
        return _total(g.norm() for _, g in _weight_grads(net, x, y))


def grasp(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """GraSP (Wang et al. 2020), as Abdelfattah et al. score it: sum over weights of -theta * (H g), g the
    loss gradient and H the Hessian, temperature 1. Signed (not logged); higher = better, the sign under
    which Abdelfattah et al. report its positive correlation (0.51 on NB201 CIFAR-10).

    Why one forward: H g is the gradient of z = g_const . dL/dtheta, with g_const the gradient detached;
    so the gradient with create_graph serves both as g and as the graph to differentiate again.
    """
    with _mode(net, True):
        pairs = _weight_grads(net, x, y, create_graph=True)
        if not pairs:
            return 0.0
        z = sum((g.detach() * g).sum() for _, g in pairs)
        if not z.requires_grad:                # a loss linear in every weight: H g = 0
            return 0.0
        hg = torch.autograd.grad(z, [w for w, _ in pairs], allow_unused=True)
        return _total(-(w * h).sum() for (w, _), h in zip(pairs, hg) if h is not None)


def fisher(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Fisher pruning saliency (Theis et al. 2018; Turner et al. 2020, as Abdelfattah et al. score it):
    per output channel c of every Conv2d/Linear layer, 0.5 * mean over images n of
    (sum over positions of a * dL/da)^2, a the layer's output; summed over channels and layers.
    Higher = predicted better (removing channels would cost more loss); score = log(raw)."""
    acts: list[torch.Tensor] = []
    hooks = [m.register_forward_hook(lambda m, i, o: acts.append(o)) for m in _layers(net)]
    try:
        with _mode(net, True):
            loss = F.cross_entropy(_logits(net, x), y)
    finally:
        for h in hooks:
            h.remove()
    live = [a for a in acts if a.requires_grad]
    if not live:
        return 0.0
    total = 0.0
    for a, g in zip(live, torch.autograd.grad(loss, live, allow_unused=True)):
        if g is not None:
            s = (a * g).sum(dim=tuple(range(2, a.dim()))) if a.dim() > 2 else a * g
            total += float(0.5 * s.detach().pow(2).mean(0).sum())
    return total


def jacob_cov(net: nn.Module, x: torch.Tensor, y=None) -> float:
    """Jacobian covariance (Mellor et al. 2020, arXiv v1): J_n = d(sum of outputs)/d(input image n); the
    eigenvalues v of the correlation matrix of the J_n give -sum(log(v + k) + 1/(v + k)), k = 1e-5.
    Higher = predicted better (the network tells the images of the batch apart: less correlated local
    linear maps); score = raw (already a sum of logs; about -1e5 per vanishing eigenvalue).

    Why the special cases: when no gradient reaches the input (all-``none`` cell) every J_n is 0 and the
    correlation is undefined; identical maps are as correlated as can be, so the all-ones matrix (the
    minimum score) is used. Eigenvalues are clipped at 0 (round-off makes some -1e-17).
    """
    x = x.detach().clone().requires_grad_(True)
    with _mode(net, True):
        out = _logits(net, x).sum()
        jac = torch.autograd.grad(out, x, allow_unused=True)[0] if out.requires_grad else None
    n = x.shape[0]
    j = torch.zeros(n, 1, dtype=torch.float64) if jac is None else jac.reshape(n, -1).detach().double().cpu()
    if not j.any():
        corr = torch.ones(n, n, dtype=torch.float64)
    else:
        corr = torch.nan_to_num(torch.corrcoef(j), nan=0.0)    # an image whose map is constant: uncorrelated
        corr.fill_diagonal_(1.0)
    v = torch.linalg.eigvalsh(corr).clamp_min(0.0)
    return float(-(torch.log(v + JACOB_K) + 1.0 / (v + JACOB_K)).sum())


class _ReLUCodes(TorchFunctionMode):
    """Collects NASWOT's kernel from every ReLU the forward pass calls.

    Why a torch-function mode and not module hooks: the lab's NB201 cell applies one functional ReLU per
    node and shares it among the conv edges leaving it (an exact speed-up), so ``nn.ReLU`` hooks would
    miss those. The mode sees every call (module, functional or method). A shared ReLU counts once here,
    where the reference network, which applies one per edge, counts it once per edge.
    """

    FUNCS = (F.relu, F.relu6, torch.relu, torch.relu_, torch.Tensor.relu, torch.Tensor.relu_)

    def __init__(self, n: int):
        super().__init__()
        self.n, self.units = n, 0
        self.K = torch.zeros(n, n, dtype=torch.float64)

    def _relu_input(self, func, args, kwargs):
        if func in self.FUNCS:
            return args[0] if args else kwargs.get("input")
        if func is F.hardtanh:                 # nn.ReLU6 calls hardtanh(x, 0, 6): a ReLU with a cap
            low = args[1] if len(args) > 1 else kwargs.get("min_val", -1.0)
            return (args[0] if args else kwargs.get("input")) if low == 0 else None
        return None

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        t = self._relu_input(func, args, kwargs)
        if isinstance(t, torch.Tensor):
            if t.dim() >= 1 and t.shape[0] == self.n:       # batch-first activations only
                # before the call (it may be in place). Units where images i and j agree:
                # c c^T + (1-c)(1-c)^T = 2 c c^T - s_i - s_j + N_A, one matmul instead of two; float32
                # counts are exact integers below 2^24 units per layer, float64 beyond
                c = (t > 0).reshape(self.n, -1)
                c = c.to(torch.float32 if c.shape[1] < 2 ** 24 else torch.float64)
                cc, s = (c @ c.T).double().cpu(), c.sum(1).double().cpu()
                self.K += 2 * cc - s[:, None] - s[None, :] + c.shape[1]
                self.units += c.shape[1]
        return func(*args, **kwargs)


def naswot(net: nn.Module, x: torch.Tensor, y=None) -> float:
    """NASWOT (Mellor et al., ICML 2021): binary code c_n of image n = which ReLU inputs are > 0, over
    every ReLU; K_H[i, j] = N_A - Hamming(c_i, c_j) (N_A units); score = raw = log |det K_H|. Higher =
    predicted better (the images fall into more distinct linear regions). A singular kernel (no ReLU, or
    identical codes) gets ``LOG_ZERO``."""
    codes = _ReLUCodes(x.shape[0])
    with torch.no_grad(), _mode(net, True), codes:
        _logits(net, x)
    sign, logdet = torch.linalg.slogdet(codes.K)
    return float(logdet) if sign != 0 and math.isfinite(float(logdet)) else LOG_ZERO


def params(net: nn.Module, x=None, y=None) -> float:
    """Parameter count: the baseline (Ning et al. 2021: #params ranks NB201 about as well as most proxies).
    Higher = predicted better (bigger networks train to higher accuracy in NB201); score = log(raw)."""
    return float(count_params(net))


def flops(net: nn.Module, x: torch.Tensor, y=None) -> float:
    """Forward FLOPs of one image (a multiply-add = 2; ``train.count_flops``): the other size baseline.
    Higher = predicted better, as for params; score = log(raw)."""
    w = next(net.parameters(), None)
    if w is not None and w.dtype != torch.float32:        # count_flops feeds a float32 image
        net = copy.deepcopy(net).float()
    return float(count_flops(net, tuple(x.shape[1:]), device=x.device))


@dataclass(frozen=True)
class Proxy:
    fn: Callable
    """(net, x, y) -> the raw, published value."""
    logged: bool
    """Whether the score is log(raw) (sums of positive terms; see the module text)."""


PROXIES = {"synflow": Proxy(synflow, True), "snip": Proxy(snip, True), "grad_norm": Proxy(grad_norm, True),
           "grasp": Proxy(grasp, False), "fisher": Proxy(fisher, True), "jacob_cov": Proxy(jacob_cov, False),
           "naswot": Proxy(naswot, False), "params": Proxy(params, True), "flops": Proxy(flops, True)}
PROXY_NAMES = tuple(PROXIES)
ProxyName = Literal[PROXY_NAMES]


def normalise(proxy: str, raw: float) -> float:
    """The score reported for a raw value: log for the ``logged`` proxies (LOG_ZERO at 0), else raw."""
    if not PROXIES[proxy].logged:
        return raw
    return math.log(raw) if raw > 0 else LOG_ZERO
