"""Performance estimation: how a candidate architecture gets its score.

The third pillar of NAS (space, strategy, *estimation*). Every estimator turns an architecture into an
``Evaluation``; strategies never know which one runs (that is what lets a class race the same strategy
on real training, a cheap proxy, a lookup table or inherited supernet weights).

Registered here: ``train`` (from scratch at the chosen fidelity) and ``lowfi`` (the same, cheaper: the
proxy-task pitfall in one flag). Later modules register ``table`` (the lab's tabular benchmark),
``supernet`` (inherited one-shot weights), ``zerocost`` and ``synthetic`` through ``register_estimator``.
"""
from __future__ import annotations

import dataclasses
import importlib
import importlib.util
from dataclasses import dataclass, field
from typing import Callable

import torch

from .data import load_dataset
from .spaces import SearchSpace
from .train import TrainConfig, count_flops, count_params, resolve_device, train_model


class EstimatorError(ValueError):
    """Unknown estimator or bad estimator option."""


@dataclass
class Evaluation:
    """The score of one architecture, as the store keeps it and the strategies see it."""

    arch: str
    """The architecture string (the space's ``to_str``)."""
    val_acc: float
    """Validation accuracy (%): what search may look at."""
    test_acc: float | None = None
    """Test accuracy (%): for reporting only, never for selection."""
    cost: float = 0.0
    """Seconds this evaluation took (simulated for table lookups, as NATS-Bench does)."""
    metrics: dict = field(default_factory=dict)
    """Anything else: params, flops, latency_ms, curve (val acc per epoch), train_loss, ..."""

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


# Classroom skeletons: small enough that one candidate trains in ~10 s on a 2-core laptop CPU.
CLASSROOM_SKELETON = {"nb201": {"C": 8, "N": 1}, "darts": {"C": 8, "layers": 5},
                      "chain": {"C": 16}, "mobile": {"width_mult": 0.5}}


@dataclass
class Fidelity:
    """How faithfully a candidate is trained: the knobs of low-fidelity estimation."""

    epochs: int = 2
    """Training epochs."""
    train_subset: int | None = 4000
    """Training images used (None: the whole training split)."""
    val_subset: int | None = 2000
    """Validation images used for the score."""
    test_subset: int | None = 2000
    """Test images used for the reported test accuracy (0: skip)."""
    batch_size: int = 128
    """Training batch size."""
    lr: float = 0.1
    """Peak learning rate (cosine schedule)."""
    resolution: int | None = None
    """Resize images to this side length (None: native)."""
    skeleton: dict | None = None
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


class Estimator:
    """Base class: ``evaluate(space, arch, seed)`` -> Evaluation."""

    name = "base"
    #: Same arch + seed -> same Evaluation (lets ``resume`` reproduce an uninterrupted run exactly).
    deterministic = True

    def evaluate(self, space: SearchSpace, arch, seed: int = 0, emit=None, stop=None) -> Evaluation:
        raise NotImplementedError

    def describe(self) -> dict:
        return {"name": self.name}


class TrainEstimator(Estimator):
    """Train the candidate from scratch at a given fidelity and report its accuracies.

    Deterministic on the CPU (same seed, same numbers); on CUDA, cuDNN kernels may differ in the last bits.
    """

    name = "train"

    def __init__(self, dataset: str = "fashion-mnist", device="auto", fidelity: Fidelity | None = None,
                 data_root=None, download: bool = True, data=None):
        self.dataset = dataset
        self.device = resolve_device(device)
        self.fidelity = fidelity or Fidelity()
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

    def evaluate(self, space, arch, seed=0, emit=None, stop=None) -> Evaluation:
        arch = space.from_str(arch) if isinstance(arch, str) else arch
        data = self.data
        with torch.random.fork_rng(devices=[]):          # seed the init without touching the caller's RNG
            torch.manual_seed(seed)
            model = space.build(arch, in_channels=data.info.in_channels, num_classes=data.info.num_classes,
                                **self.skeleton(space))
        shape = tuple(data.train_x.shape[1:])
        from .hardware import count_macs
        params, flops, macs = count_params(model), count_flops(model, shape), count_macs(model, shape)
        res = train_model(model, data, self.fidelity.train_config(seed), emit=emit, stop=stop)
        metrics = {"params": params, "macs": macs, "flops": flops, "curve": res.val_curve, "train_loss": res.train_loss,
                   "train_acc": res.train_acc, "epochs": len(res.val_curve), "images": res.images}
        if self.fidelity.latency:
            from .hardware import measure_latency
            metrics["latency_ms"] = measure_latency(model, shape, self.device, batch_sizes=(1,), warmup=3,
                                                    repeats=10)[1]
        return Evaluation(space.to_str(arch), res.val_acc, res.test_acc, res.seconds, metrics)

    def describe(self) -> dict:
        return {"name": self.name, "dataset": self.dataset, "device": str(self.device),
                "fidelity": dataclasses.asdict(self.fidelity)}


# ---------------------------------------------------------------------- registry
def _train(**kw):
    fid = kw.pop("fidelity", None)
    if isinstance(fid, dict):
        fid = Fidelity(**fid)
    return TrainEstimator(fidelity=fid, **kw)


def _lowfi(**kw):
    fid = kw.pop("fidelity", None)
    fid = Fidelity(**fid) if isinstance(fid, dict) else (fid or dataclasses.replace(LOW_FIDELITY))
    est = TrainEstimator(fidelity=fid, **kw)
    est.name = "lowfi"
    return est


def _factories() -> dict[str, Callable[..., Estimator]]:
    facts = {"train": _train, "lowfi": _lowfi}
    # Optional estimators live in their own modules; each adds itself when it exists.
    for module, attr in (("nasbench_lab.bench.estimator", "ESTIMATORS"),
                         ("nasbench_lab.oneshot_estimator", "ESTIMATORS"),
                         ("nasbench_lab.synthetic", "ESTIMATORS"),
                         ("nasbench_lab.zerocost", "ESTIMATORS")):
        if importlib.util.find_spec(module) is None:
            continue
        facts.update(getattr(importlib.import_module(module), attr))
    return facts


def list_estimators() -> list[str]:
    return list(_factories())


def get_estimator(name, **options) -> Estimator:
    """A fresh estimator. Options: dataset, device, fidelity (Fidelity or dict), data_root, download, ..."""
    if isinstance(name, Estimator):
        return name
    facts = _factories()
    if name not in facts:
        raise EstimatorError(f"unknown estimator {name!r}; choose one of: {', '.join(facts)}")
    try:
        return facts[name](**options)
    except TypeError as exc:
        raise EstimatorError(f"bad option for estimator {name!r}: {exc}") from None
