"""Estimators ``train`` and ``lowfi``: train the candidate from scratch at a chosen fidelity.

The honest estimate (and the slow one): build the candidate, train it with the one training loop
(``train.py``) for a few epochs on a subset, and report its validation and test accuracy. ``lowfi`` is
the same at a lower fidelity (one epoch, 1,000 images): the proxy-task pitfall in one flag. The fidelity
knobs are the ``Fidelity`` dataclass, passed as ``fidelity=`` (a Fidelity or a dict of its fields).
"""
from __future__ import annotations

import dataclasses
import random
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..config import option
from ..data import load_dataset
from ..hardware import count_macs, measure_latency
from ..spaces import SearchSpace
from ..train import CLASSROOM_SKELETON, TrainConfig, count_flops, count_params, resolve_device, train_model
from .base import Estimator, Evaluation


@dataclass
class Fidelity:
    """How faithfully a candidate is trained: the knobs of low-fidelity estimation."""

    epochs: int = option(2, lo=1, hi=10_000)
    """Training epochs."""
    train_subset: int | None = option(4000, lo=1, hi=10 ** 7)
    """Training images used (None: the whole training split)."""
    val_subset: int | None = option(2000, lo=1, hi=10 ** 7, why="the score is the validation accuracy")
    """Validation images used for the score."""
    test_subset: int | None = option(2000, lo=0, hi=10 ** 7)
    """Test images used for the reported test accuracy (0: skip)."""
    batch_size: int = option(128, lo=1, hi=65_536)
    """Training batch size."""
    lr: float = option(0.1, gt=0, hi=10, why="a learning rate")
    """Peak learning rate (cosine schedule)."""
    resolution: int | None = option(None, lo=4, hi=512)
    """Resize images to this side length (None: native)."""
    skeleton: dict | None = option(None, hi=16, why="a skeleton has a few")
    """Network size options passed to ``space.build`` (None: the classroom skeleton of the space)."""
    augment: bool = False
    """On-device crop/flip augmentation."""
    latency: bool = False
    """Also measure batch-1 inference latency (ms, median of 10) on the training device after training;
    switched on automatically when the search objective uses ``latency_ms``."""

    def train_config(self, seed: int) -> TrainConfig:
        return TrainConfig(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr, train_subset=self.train_subset,
                           val_subset=self.val_subset, test_subset=self.test_subset, augment=self.augment, seed=seed)


LOW_FIDELITY = Fidelity(epochs=1, train_subset=1000, val_subset=1000, test_subset=1000, resolution=None)


class TrainEstimator(Estimator):
    """Train the candidate from scratch at a given fidelity and report its accuracies.

    Deterministic on the CPU (same seed, same numbers); on CUDA, cuDNN kernels may differ in the last bits.
    """

    name = "train"
    config_class = Fidelity
    config_key = "fidelity"

    def __init__(self, dataset: str = "fashion-mnist", device="auto", fidelity: Fidelity | dict | None = None,
                 data_root=None, download: bool = True, data=None):
        self.dataset = dataset
        self.device = resolve_device(device)
        self.fidelity = self.configure(fidelity)
        self.data_root, self.download = data_root, download
        self._data = data            # loaded lazily: constructing an estimator is free
        self.deterministic = self.device.type == "cpu"

    @property
    def data(self):
        if self._data is None:
            self._data = load_dataset(self.dataset, root=self.data_root, device=self.device, download=self.download,
                                      image_size=self.fidelity.resolution or None)
        return self._data

    def skeleton(self, space: SearchSpace) -> dict:
        if self.fidelity.skeleton is not None:
            return dict(self.fidelity.skeleton)
        return dict(CLASSROOM_SKELETON.get(space.name, {}))

    def max_epochs(self, space: SearchSpace) -> int:
        return self.fidelity.epochs

    def evaluate(self, space, arch, seed=0, emit=None, stop=None, epochs: int | None = None,
                 continues: int = 0) -> Evaluation:
        """``epochs``: train for this many instead of the fidelity's (a multi-fidelity rung). The network
        is trained from scratch for them (``continues`` is ignored: no checkpoint is kept between rungs,
        as in Li et al.'s Hyperband without warm starts), so the cost is the whole training."""
        data = self.data
        fidelity = self.fidelity if epochs is None else dataclasses.replace(self.fidelity, epochs=epochs)
        with torch.random.fork_rng(devices=[]):          # seed the init without touching the caller's RNG
            torch.manual_seed(seed)
            model = space.build(arch, in_channels=data.info.in_channels, num_classes=data.info.num_classes,
                                **self.skeleton(space))
        shape = tuple(data.train_x.shape[1:])
        params, flops, macs = count_params(model), count_flops(model, shape), count_macs(model, shape)
        res = train_model(model, data, fidelity.train_config(seed), emit=emit, stop=stop)
        metrics = {"params": params, "macs": macs, "flops": flops, "curve": res.val_curve, "train_loss": res.train_loss,
                   "train_acc": res.train_acc, "epochs": len(res.val_curve), "images": res.images}
        if epochs is not None and epochs < self.fidelity.epochs:
            metrics["partial"] = True                  # a low rung: not comparable with full trainings
        if res.interrupted:
            metrics["interrupted"] = True              # the stop flag cut it short: the driver drops it
            return Evaluation(arch, res.val_acc, res.test_acc, res.seconds, metrics)
        if self.fidelity.latency:
            metrics["latency_ms"] = measure_latency(model, shape, self.device, batch_sizes=(1,), warmup=3,
                                                    repeats=10)[1]
        return Evaluation(arch, res.val_acc, res.test_acc, res.seconds, metrics)

    def describe(self) -> dict:
        return {"name": self.name, "dataset": self.dataset, "device": str(self.device),
                "fidelity": dataclasses.asdict(self.fidelity)}

    def estimate_seconds(self, space: SearchSpace) -> float | None:
        """Seconds per evaluation at this fidelity, from two timed training steps of one sampled candidate.

        Why time it rather than compute it: the cost per image differs ~5x between laptops, and between
        the CPU and a GPU by far more; two steps cost a fraction of a second and include all of that.
        """
        data, f = self.data, self.fidelity
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            model = space.build(space.sample(random.Random(0)), in_channels=data.info.in_channels,
                                num_classes=data.info.num_classes, **self.skeleton(space)).to(self.device)
        n_train = min(f.train_subset or len(data.train_y), len(data.train_y))
        batch = min(f.batch_size, n_train)
        x, y = data.train_x[:batch], data.train_y[:batch]
        times = []
        for _ in range(3):                             # the first step warms up (allocator, kernels)
            t = time.perf_counter()
            F.cross_entropy(model(x), y).backward()
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
            times.append(time.perf_counter() - t)
        step = min(times[1:])
        steps = f.epochs * max(1, n_train // batch)
        evaluated = f.epochs * min(f.val_subset or len(data.val_y), len(data.val_y)) + min(
            f.test_subset if f.test_subset is not None else len(data.test_y), len(data.test_y))
        return step * (steps + evaluated / (3 * batch))          # a forward pass is ~1/3 of a step


class LowFidelityEstimator(TrainEstimator):
    """``train`` at ``LOW_FIDELITY`` unless told otherwise (options given override those values)."""

    name = "lowfi"

    @classmethod
    def defaults(cls) -> Fidelity:
        return dataclasses.replace(LOW_FIDELITY)
