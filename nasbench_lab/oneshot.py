"""Machinery shared by the one-shot family (DARTS, ENAS, SPOS, ProxylessNAS, the ``supernet`` estimator).

Kept out of the strategy files so that each of those reads as its paper: here are the boring parts
(which data, which device, which skeleton, batches, mixed precision, batch-norm recalibration, the
``alphas`` payload, option parsing). Nothing here knows a strategy; nothing here prints.

Scales: ``classroom`` is a small skeleton and a few thousand images (an epoch in seconds on a 2-core
CPU); ``reference`` is the skeleton of the papers (NB201 C=16 N=5, DARTS C=16 / 8 cells, mobile width
1.0) on the whole split; ``auto`` picks ``reference`` on CUDA and ``classroom`` elsewhere.
"""
from __future__ import annotations

import dataclasses
import math
import random

import torch
import torch.nn as nn
import torch.nn.functional as F

from .data import Splits, load_dataset
from .estimators import CLASSROOM_SKELETON
from .strategies.base import StrategyError
from .train import resolve_device, to_channels_last

REFERENCE_SKELETON = {"nb201": {"C": 16, "N": 5}, "darts": {"C": 16, "layers": 8}, "mobile": {"width_mult": 1.0}}
CLASSROOM_IMAGES = 2000
"""Training (and validation) images per epoch at classroom scale."""
SCALES = ("auto", "classroom", "reference")


# ---------------------------------------------------------------------- options
def make_config(cls, strategy: str, options: dict):
    """Build the dataclass config ``cls`` from keyword options, each value checked against its field
    (``nasbench_lab.config.build``); unknown names and wrong types raise StrategyError naming them."""
    from .config import build
    return build(cls, options, f"strategy {strategy!r}", StrategyError)


def check(cond: bool, message: str) -> None:
    if not cond:
        raise StrategyError(message)


def resolve_scale(scale: str, device: torch.device) -> str:
    check(scale in SCALES, f"scale must be one of {', '.join(SCALES)}, got {scale!r}")
    if scale == "auto":
        return "reference" if device.type == "cuda" else "classroom"
    return scale


def skeleton_for(space_name: str, scale: str, skeleton: dict | None) -> dict:
    if skeleton is not None:
        return dict(skeleton)
    table = REFERENCE_SKELETON if scale == "reference" else CLASSROOM_SKELETON
    return dict(table.get(space_name, {}))


def subset_size(value: int | None, scale: str, available: int) -> int:
    """Images to use: the explicit value, else all (reference) or CLASSROOM_IMAGES (classroom)."""
    n = value if value is not None else (available if scale == "reference" else CLASSROOM_IMAGES)
    check(n >= 1, f"subset sizes must be >= 1, got {n}")
    return min(int(n), available)


def scoring_stage(ctx, candidates: list) -> list:
    """Emit ``stage`` (the supernet search is over; the run's estimator now scores ``candidates``, with
    ``train`` by re-training each from scratch) and return ``candidates``. Why an event: that scoring can
    take longer than the search, and a progress display must not sit at 100 % through it. Not emitted
    after a Stop: the driver then scores nothing."""
    if candidates and not ctx.stop.is_set():
        from .estimators import Fidelity
        est = ctx.estimator
        ctx.emit("stage", name="scoring", candidates=len(candidates), estimator=getattr(est, "name", "?"),
                 trains=isinstance(getattr(est, "fidelity", None), Fidelity))
    return candidates


# ---------------------------------------------------------------------- device, data, network
def context_data(ctx) -> tuple[torch.device, Splits]:
    """The run's device and data: ``ctx.data`` if set, else the estimator's, else ``load_dataset``."""
    est = ctx.estimator
    device = resolve_device(ctx.device if ctx.device is not None else getattr(est, "device", None) or "auto")
    if ctx.data is None:
        data = getattr(est, "data", None)
        if data is None:
            data = load_dataset(getattr(est, "dataset", "fashion-mnist"), device=device)
        ctx.data = data
    data = ctx.data if ctx.data.device == device else ctx.data.to(device)
    return device, data


@dataclasses.dataclass
class Precision:
    """bf16 autocast (on by default on CUDA) and channels_last (on by default: the lab's training convention)."""

    device: torch.device
    """Where the supernet and the data live."""
    amp: bool
    """bf16 autocast for forward passes."""
    channels_last: bool
    """channels_last memory format for the network and its inputs."""

    @classmethod
    def for_device(cls, device: torch.device, amp: bool | None = None) -> "Precision":
        # channels_last on the CPU too: oneDNN's depthwise and 1x1 convolutions are faster in NHWC
        # (benchmarks/darts_step.py --device cpu: the DARTS step 1.26-1.31x -> 1.52-1.59x the reference).
        cuda = device.type == "cuda"
        return cls(device, cuda if amp is None else bool(amp), True)

    def autocast(self):
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp)

    def input(self, x: torch.Tensor) -> torch.Tensor:
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    def model(self, net: nn.Module) -> nn.Module:
        net = net.to(self.device)
        return to_channels_last(net) if self.channels_last else net


def build_supernet(space, data: Splits, skeleton: dict, prec: Precision, seed: int) -> nn.Module:
    with torch.random.fork_rng(devices=[]):          # seed the init without touching the caller's RNG
        torch.manual_seed(seed)
        net = space.supernet(in_channels=data.info.in_channels, num_classes=data.info.num_classes, **skeleton)
    return prec.model(net)


class Batches:
    """Endless mini-batches of one split (a fresh permutation per pass), from a seeded generator."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, batch: int, seed: int):
        self.x, self.y = x, y
        self.batch = max(1, min(batch, len(y)))
        self.gen = torch.Generator().manual_seed(seed)
        self.steps_per_epoch = max(1, len(y) // self.batch)   # drop the last partial batch: fixed shapes
        self._perm, self._k = None, self.steps_per_epoch

    def next(self):
        if self._k >= self.steps_per_epoch:
            self._perm, self._k = torch.randperm(len(self.y), generator=self.gen).to(self.x.device), 0
        idx = self._perm[self._k * self.batch:(self._k + 1) * self.batch]
        self._k += 1
        return self.x[idx], self.y[idx]


def cosine_lr(base: float, minimum: float, epoch: int, epochs: int) -> float:
    """The per-epoch cosine schedule of the DARTS reference (CosineAnnealingLR with eta_min)."""
    return minimum + 0.5 * (base - minimum) * (1 + math.cos(math.pi * epoch / max(1, epochs)))


def set_lr(opt: torch.optim.Optimizer, lr: float) -> None:
    for group in opt.param_groups:
        group["lr"] = lr


# ---------------------------------------------------------------------- shared-weight training
def path_step(net, opt, xb, yb, prec: Precision, grad_clip: float | None, **fwd) -> tuple:
    """One SGD step of the supernet along ``fwd`` (arch=... or weights=...). Returns (loss, correct)."""
    with prec.autocast():
        logits = net(prec.input(xb), **fwd)
        loss = F.cross_entropy(logits, yb)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    if grad_clip:
        nn.utils.clip_grad_norm_(net.weight_parameters(), grad_clip)
    opt.step()
    return loss.detach().float(), (logits.detach().argmax(1) == yb).sum()


def weight_optimizer(net, lr: float, momentum: float, weight_decay: float, nesterov: bool = False):
    return torch.optim.SGD(net.weight_parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay,
                           nesterov=nesterov)


def train_uniform_epoch(net, opt, space, batches: Batches, prec: Precision, rng: random.Random,
                        grad_clip: float | None = 5.0, stop=None) -> tuple[float, float, int]:
    """One epoch of single-path training with paths drawn uniformly (SPOS, Guo et al. 2020): every
    step trains one random architecture's path. Returns (mean loss, accuracy %, images)."""
    net.train()
    loss_sum = torch.zeros((), device=prec.device)
    correct = torch.zeros((), device=prec.device, dtype=torch.long)
    seen = 0
    for _ in range(batches.steps_per_epoch):
        if stop is not None and stop.is_set():
            break
        xb, yb = batches.next()
        loss, corr = path_step(net, opt, xb, yb, prec, grad_clip, arch=space.sample(rng))
        loss_sum += loss * len(yb)
        correct += corr
        seen += len(yb)
    if seen == 0:
        return float("nan"), float("nan"), 0
    return loss_sum.item() / seen, 100.0 * correct.item() / seen, seen


# ---------------------------------------------------------------------- scoring with inherited weights
def _bns(net):
    return [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]


@torch.no_grad()
def recalibrate_bn(net, x: torch.Tensor, prec: Precision, batches: int = 10, batch_size: int = 256, **fwd) -> None:
    """Reset every batch norm's running statistics and re-estimate them along one path.

    Why (SPOS, Guo et al. 2020, Sec. 3.3): in a supernet the running statistics average over all the
    paths that were trained, so they fit no single path; re-estimating them on a few training batches
    is what makes inherited-weight accuracy meaningful. ``momentum=None`` gives the exact average.
    """
    bns = _bns(net)
    saved = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
    net.train()
    n = len(x)
    for k in range(batches):
        lo = (k * batch_size) % max(1, n - batch_size + 1)
        with prec.autocast():
            net(prec.input(x[lo:lo + batch_size]), **fwd)
    for m, mom in zip(bns, saved):
        m.momentum = mom
    net.eval()


@torch.no_grad()
def accuracy(net, x: torch.Tensor, y: torch.Tensor, prec: Precision, batch_size: int = 512,
             train_mode_bn: bool = False, **fwd) -> float:
    """Accuracy (%) of the supernet on (x, y) along ``fwd``. ``train_mode_bn``: batch statistics instead
    of running statistics (why: without recalibration the running statistics fit no path)."""
    if len(y) == 0:
        return float("nan")
    net.train(train_mode_bn)
    correct = 0
    for i in range(0, len(y), batch_size):
        with prec.autocast():
            correct += (net(prec.input(x[i:i + batch_size]), **fwd).argmax(1) == y[i:i + batch_size]).sum().item()
    net.train()
    return 100.0 * correct / len(y)


# ---------------------------------------------------------------------- the alphas payload
def arch_weights(net) -> torch.Tensor | dict:
    """The mixing weights the supernet's default forward uses (softmax of the alphas, masked where a
    supernet marks choices as not allowed)."""
    if hasattr(net, "arch_weights"):
        return net.arch_weights()
    alphas = net.arch_parameters()[0]
    if hasattr(net, "allowed"):
        alphas = alphas.masked_fill(~net.allowed.to(alphas.device), float("-inf"))
    return F.softmax(alphas, dim=-1)


def to_lists(w) -> list | dict:
    if isinstance(w, dict):
        return {k: to_lists(v) for k, v in w.items()}
    return [[round(float(v), 6) for v in row] for row in w.detach().float().cpu().tolist()]


def derive(net):
    """The supernet's discrete architecture (argmax of the mixing weights)."""
    if hasattr(net, "derive"):
        return net.derive()
    w = arch_weights(net).detach().float().cpu()          # mobile-style: one choice per block
    names = net.op_names()
    return net.space.from_str("|".join(names[int(k)] for k in w.argmax(dim=-1)))


def skip_share(arch) -> float:
    """Fraction of skip connections in an architecture: the DARTS collapse indicator. For a DARTS
    genotype it is the normal cell's (the cell that collapses; reduction cells hold pools)."""
    if hasattr(arch, "normal"):
        ops = [op for op, _ in arch.normal]
    elif hasattr(arch, "ops"):
        ops = list(arch.ops)
    elif hasattr(arch, "choices"):
        ops = list(arch.choices)
    else:
        return float("nan")
    return sum(op in ("skip_connect", "skip") for op in ops) / max(1, len(ops))


def trend(values: list, window: int = 3) -> float:
    """Least-squares slope of the last ``window`` values (per epoch); 0 with fewer than two."""
    v = values[-window:]
    if len(v) < 2:
        return 0.0
    mx, my = (len(v) - 1) / 2, sum(v) / len(v)
    return sum((i - mx) * (y - my) for i, y in enumerate(v)) / sum((i - mx) ** 2 for i in range(len(v)))


def emit_alphas(emit, net, space, epoch: int, arch, shares: list, weights=None, **extra) -> None:
    """Emit the ``alphas`` event of one epoch. ``arch`` is the derived architecture, ``shares`` the skip
    shares so far (this epoch's last); the payload adds ``skip_trend``, their recent slope per epoch."""
    w = arch_weights(net) if weights is None else weights
    names = net.edge_names() if hasattr(net, "edge_names") else net.block_names()
    emit("alphas", epoch=epoch, edges=list(names), ops=list(net.op_names()), weights=to_lists(w),
         derived=space.to_str(arch), skip_share=shares[-1], skip_trend=round(trend(shares), 6), **extra)
