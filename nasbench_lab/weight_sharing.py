"""Weight sharing: the supernet steps that the one-shot strategies and the ``supernet`` estimator share.

Beside the one training loop (``train.py``), because training and scoring a supernet is training, not a
strategy: DARTS, ENAS, SPOS and ProxylessNAS (strategies/) train one with these steps while they search,
and the ``supernet`` estimator (estimators/supernet.py) trains one and scores candidates on it. Nothing here
knows a strategy; nothing here prints.

Scales: ``classroom`` is a small skeleton (``train.CLASSROOM_SKELETON``) and a few thousand images (an
epoch in seconds on a 2-core CPU); ``reference`` is the skeleton of the papers (NB201 C=16 N=5, DARTS
C=16 / 8 cells, mobile width 1.0) on the whole split.
"""
from __future__ import annotations

import dataclasses
import math
import random
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from .data import Splits
from .train import CLASSROOM_SKELETON, to_channels_last

REFERENCE_SKELETON = {"nb201": {"C": 16, "N": 5}, "darts": {"C": 16, "layers": 8}, "mobile": {"width_mult": 1.0}}
CLASSROOM_IMAGES = 2000
"""Training (and validation) images per epoch at classroom scale."""


def skeleton_for(space_name: str, scale: str, skeleton: dict | None) -> dict:
    if skeleton is not None:
        return dict(skeleton)
    table = REFERENCE_SKELETON if scale == "reference" else CLASSROOM_SKELETON
    return dict(table.get(space_name, {}))


def subset_size(value: int | None, scale: str, available: int) -> int:
    """Images to use: the explicit value, else all (reference) or CLASSROOM_IMAGES (classroom)."""
    n = value if value is not None else (available if scale == "reference" else CLASSROOM_IMAGES)
    return min(int(n), available)               # given sizes are >= 1: the options' ranges say so


# ---------------------------------------------------------------------- precision, network, batches
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
                        grad_clip: float | None = 5.0, stop=None, progress: "Progress | None" = None,
                        epoch: int = 0) -> tuple[float, float, int]:
    """One epoch of single-path training with paths drawn uniformly (SPOS, Guo et al. 2020): every
    step trains one random architecture's path. Returns (mean loss, accuracy %, images). ``progress``
    (with ``epoch``, 0-based): report the running accuracy and the path just trained every few steps."""
    net.train()
    loss_sum = torch.zeros((), device=prec.device)
    correct = torch.zeros((), device=prec.device, dtype=torch.long)
    seen = 0
    for k in range(batches.steps_per_epoch):
        if stop is not None and stop.is_set():
            break
        xb, yb = batches.next()
        arch = space.sample(rng)
        loss, corr = path_step(net, opt, xb, yb, prec, grad_clip, arch=arch)
        loss_sum += loss * len(yb)
        correct += corr
        seen += len(yb)
        if progress is not None and progress.due(epoch, k + 1):
            progress.report(epoch, k + 1, loss_sum, correct, seen, arch=space.to_str(arch))
    if seen == 0:
        return float("nan"), float("nan"), 0
    return loss_sum.item() / seen, 100.0 * correct.item() / seen, seen


# ---------------------------------------------------------------------- within-epoch progress
PROGRESS_S = 2.0
"""Default seconds between two ``progress`` events (the strategies' ``progress_s``)."""
PROGRESS_PER_EPOCH = 20
"""At most this many ``progress`` events in one epoch, however fast the steps."""


class Progress:
    """The ``progress`` events of one one-shot search: every few steps of an epoch, the position in
    epochs (0.25: a quarter of the first), the running loss and accuracy of the epoch so far, and what
    the strategy adds (alphas, the path just trained, the controller's probabilities).

    Why: a classroom supernet epoch takes 10-60 s on a 2-core CPU and its ``epoch`` event comes at its
    end, so a run showed nothing for that long. Why these rules: the run's first step reports at once
    (the first live point); a later step reports once ``every_s`` seconds and ``1/PROGRESS_PER_EPOCH``
    of an epoch have passed since the last report, so a fast GPU run (hundreds of steps a minute) emits a
    few events an epoch, not one a step, and neither the store nor the plots are flooded. An epoch's
    last step never reports: its ``epoch`` event follows at once. ``every_s`` None: no events at all.
    """

    def __init__(self, emit, epochs: int, steps: int, every_s: float | None, clock=time.perf_counter):
        self.emit, self.epochs, self.steps, self.every_s, self.clock = emit, epochs, max(1, steps), every_s, clock
        self.gap = max(1, math.ceil(self.steps / PROGRESS_PER_EPOCH))   # steps between two reports, at least
        self.t0 = self._last_t = clock()
        self._last = None                                               # global step of the last report

    def due(self, epoch: int, step: int) -> bool:
        """Whether step ``step`` (1-based) of epoch ``epoch`` (0-based) reports."""
        if self.every_s is None or step >= self.steps:
            return False
        if self._last is None:
            return True
        return (epoch * self.steps + step - self._last >= self.gap
                and self.clock() - self._last_t >= self.every_s)

    def report(self, epoch: int, step: int, loss_sum, correct, seen: int, **extra) -> None:
        """Emit ``progress``; ``loss_sum`` and ``correct`` are the epoch's sums so far (tensors or numbers:
        why here and not per step: reading a device tensor waits for the device)."""
        self._last, self._last_t = epoch * self.steps + step, self.clock()
        self.emit("progress", epoch=round(epoch + step / self.steps, 4), step=step, steps=self.steps,
                  of=self.epochs, train_loss=float(loss_sum) / seen, train_acc=100.0 * float(correct) / seen,
                  seconds=self._last_t - self.t0, **extra)


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
