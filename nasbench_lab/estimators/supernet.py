"""The ``supernet`` estimator: score a candidate with weights inherited from a trained supernet.

Weight sharing as a performance estimator (Bender et al. 2018; Guo et al. 2020): a supernet of the
space is trained once, with single paths drawn uniformly (SPOS), and a candidate's score is the
supernet's validation accuracy along the candidate's path, after its batch-norm statistics were
re-estimated on a few training batches (the running statistics of a supernet fit no single path).
Scoring then costs a few forward passes instead of a training run, so every multi-trial strategy
(random, evolution, REINFORCE, ...) can run on it, and the ranking notebook can measure how far those
scores are from from-scratch training.

The supernet is trained on first use (per space), or loaded from a saved state dict: ``.safetensors``
(needs the ``safetensors`` package) or a ``torch.save`` file read with ``weights_only=True`` (house
rule 10: no pickle). ``save(space, path)`` writes one.
"""
from __future__ import annotations

import dataclasses
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch

from ..config import option
from ..data import load_dataset
from ..errors import EstimatorError
from ..train import resolve_device
from ..weight_sharing import (Batches, Precision, accuracy, build_supernet, cosine_lr, recalibrate_bn, set_lr,
                              skeleton_for, subset_size, train_uniform_epoch, weight_optimizer)
from .base import Estimator, Evaluation


@dataclass
class SupernetTraining:
    """How the shared supernet is trained and how candidates are scored on it."""

    epochs: int = option(5, lo=0)
    """Supernet training epochs (uniform single-path sampling)."""
    scale: Literal["classroom", "reference"] = "classroom"
    """classroom (small skeleton, 2,000 images) or reference (paper skeleton, all images)."""
    skeleton: dict | None = None
    """Supernet size options; None: the scale's skeleton."""
    train_subset: int | None = option(None, lo=1)
    """Training images for the supernet and for BN recalibration (None: by scale)."""
    batch_size: int = option(64, lo=1)
    """Supernet training batch size."""
    lr: float = option(0.05, gt=0)
    """SGD learning rate, cosine-annealed per epoch to 0."""
    momentum: float = option(0.9, lo=0)
    """SGD momentum."""
    weight_decay: float = option(4e-5, lo=0)
    """Weight decay."""
    grad_clip: float = option(5.0, lo=0)
    """Gradient-norm clip (0: off)."""
    val_subset: int = option(1000, lo=1)
    """Validation images that score a candidate."""
    test_subset: int = option(0, lo=0)
    """Test images for the reported (inherited) test accuracy; 0 skips it."""
    bn_batches: int = option(5, lo=1)
    """Training batches that recalibrate batch norm per candidate."""
    bn_batch_size: int = option(256, lo=1)
    """Images per recalibration batch."""
    seed: int = 0
    """Seeds the supernet (one supernet for all candidates, whatever the candidate's seed)."""
    amp: bool | None = None
    """bf16 autocast (None: on for CUDA)."""


class SupernetEstimator(Estimator):
    name = "supernet"
    config_class = SupernetTraining

    def __init__(self, dataset: str = "fashion-mnist", device="auto", path=None, save_path=None, data=None,
                 data_root=None, download: bool = False, **training):
        """``training``: the fields of ``SupernetTraining``; ``path``: load the trained supernet from this
        file instead; ``save_path``: write it there once trained."""
        self.dataset = dataset
        self.device = resolve_device(device)
        self.training = self.configure(training)
        self.path, self.save_path = path, save_path
        self.data_root, self.download, self._data = data_root, download, data
        self.prec = Precision.for_device(self.device, self.training.amp)
        self.deterministic = self.device.type == "cpu"
        self._nets: dict = {}
        self.train_seconds: dict = {}
        """Seconds spent training each space's supernet (0 when loaded)."""

    @property
    def data(self):
        if self._data is None:
            self._data = load_dataset(self.dataset, root=self.data_root, device=self.device, download=self.download)
        return self._data

    def _train_x(self):
        t = self.training
        return self.data.train_x[:subset_size(t.train_subset, t.scale, len(self.data.train_y))]

    # ------------------------------------------------------------------ the shared supernet
    def supernet(self, space, emit=None, stop=None):
        """The trained supernet of ``space`` (trained, or loaded from ``path``, on first use)."""
        if space.name in self._nets:
            return self._nets[space.name]
        t, data = self.training, self.data
        net = build_supernet(space, data, skeleton_for(space.name, t.scale, t.skeleton), self.prec, t.seed)
        t0 = time.perf_counter()
        if self.path is not None:
            self._load(net, self.path)
        else:
            n = subset_size(t.train_subset, t.scale, len(data.train_y))
            batches = Batches(data.train_x[:n], data.train_y[:n], t.batch_size, t.seed)
            opt = weight_optimizer(net, t.lr, t.momentum, t.weight_decay)
            rng = random.Random(t.seed)
            for epoch in range(t.epochs):
                set_lr(opt, cosine_lr(t.lr, 0.0, epoch, t.epochs))
                loss, acc, seen = train_uniform_epoch(net, opt, space, batches, self.prec, rng, t.grad_clip, stop)
                if stop is not None and stop.is_set():
                    return net                         # a stopped training is not cached
                if emit is not None:
                    emit("epoch", epoch=epoch + 1, of=t.epochs, train_loss=loss, train_acc=acc,
                         val_acc=float("nan"), seconds=time.perf_counter() - t0)
        self.train_seconds[space.name] = 0.0 if self.path is not None else time.perf_counter() - t0
        self._nets[space.name] = net
        if self.save_path is not None:
            self.save(space, self.save_path)
        return net

    def save(self, space, path) -> None:
        """Write the trained supernet's state dict (safetensors for a .safetensors path, else torch.save)."""
        state = {k: v.detach().contiguous().cpu() for k, v in self.supernet(space).state_dict().items()}
        if str(path).endswith(".safetensors"):
            from safetensors.torch import save_file        # optional package: only for .safetensors files
            save_file(state, str(path))
        else:
            torch.save(state, str(path))

    def _load(self, net, path) -> None:
        p = Path(path)
        if not p.is_file():
            raise EstimatorError(f"supernet file {str(p)!r} does not exist")
        if p.suffix == ".safetensors":
            try:
                from safetensors.torch import load_file    # optional package: only for .safetensors files
            except ImportError:
                raise EstimatorError("reading .safetensors needs the safetensors package (pip install safetensors)") from None
            state = load_file(str(p), device=str(self.device))
        else:
            state = torch.load(str(p), map_location=self.device, weights_only=True)
        try:
            net.load_state_dict(state)
        except RuntimeError as exc:
            raise EstimatorError(f"supernet file {str(p)!r} does not fit this space/skeleton: "
                                 f"{str(exc).splitlines()[0]}") from None

    # ------------------------------------------------------------------ scoring
    def evaluate(self, space, arch, seed=0, emit=None, stop=None) -> Evaluation:
        net = self.supernet(space, emit, stop)
        t, data, prec = self.training, self.data, self.prec
        if space.name not in self._nets:               # the stop flag cut the supernet's training short
            return Evaluation(arch, float("nan"), None, 0.0, {"inherited": True, "interrupted": True})
        t0 = time.perf_counter()
        recalibrate_bn(net, self._train_x(), prec, t.bn_batches, t.bn_batch_size, arch=arch)
        val = accuracy(net, data.val_x[:t.val_subset], data.val_y[:t.val_subset], prec, arch=arch)
        test = None
        if t.test_subset:
            test = accuracy(net, data.test_x[:t.test_subset], data.test_y[:t.test_subset], prec, arch=arch)
        return Evaluation(arch, val, test, time.perf_counter() - t0,
                          {"inherited": True, "supernet_epochs": t.epochs, "bn_batches": t.bn_batches,
                           "supernet_train_seconds": self.train_seconds.get(space.name, 0.0)})

    def describe(self) -> dict:
        return {"name": self.name, "dataset": self.dataset, "device": str(self.device),
                "path": None if self.path is None else str(self.path), "training": dataclasses.asdict(self.training)}
