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
import time
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

    def check(self) -> "Fidelity":
        """Each field checked (type, then range); raises EstimatorError naming the first bad one."""
        from .config import check_value, fields
        try:
            for spec in fields(Fidelity):
                setattr(self, spec.name, check_value(spec, getattr(self, spec.name), "fidelity"))
        except ValueError as exc:
            raise EstimatorError(str(exc)) from None
        for name, lo, hi in (("epochs", 1, 10_000), ("batch_size", 1, 65_536), ("train_subset", 1, 10**7),
                             ("val_subset", 1, 10**7), ("test_subset", 0, 10**7), ("resolution", 4, 512)):
            v = getattr(self, name)
            if v is not None and not lo <= v <= hi:
                why = " (the score is the validation accuracy)" if name == "val_subset" else ""
                raise EstimatorError(f"fidelity option {name!r} must be from {lo} to {hi:,}{why}, got {v}")
        if not 0 < self.lr <= 10:
            raise EstimatorError(f"fidelity option 'lr' must be a learning rate in (0, 10], got {self.lr}")
        if self.skeleton is not None and len(self.skeleton) > 16:
            raise EstimatorError(f"fidelity option 'skeleton' has {len(self.skeleton)} entries; a skeleton has a few")
        return self

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

    def max_epochs(self, space: SearchSpace) -> int | None:
        """The most epochs ``evaluate(..., epochs=k)`` can train for; None when this estimator cannot
        train for a chosen number of epochs (multi-fidelity strategies need one that can)."""
        return None

    def estimate_seconds(self, space: SearchSpace) -> float | None:
        """Roughly how long one evaluation takes here (None: unknown). Used to warn before a large budget."""
        return None


class TrainEstimator(Estimator):
    """Train the candidate from scratch at a given fidelity and report its accuracies.

    Deterministic on the CPU (same seed, same numbers); on CUDA, cuDNN kernels may differ in the last bits.
    """

    name = "train"

    def __init__(self, dataset: str = "fashion-mnist", device="auto", fidelity: Fidelity | None = None,
                 data_root=None, download: bool = True, data=None):
        self.dataset = dataset
        self.device = resolve_device(device)
        if fidelity is not None and not isinstance(fidelity, Fidelity):
            raise EstimatorError(f"fidelity must be a Fidelity or a dict of its fields, got {type(fidelity).__name__}")
        self.fidelity = (fidelity or Fidelity()).check()
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
        arch = space.from_str(arch) if isinstance(arch, str) else arch
        data = self.data
        fidelity = self.fidelity if epochs is None else dataclasses.replace(self.fidelity, epochs=epochs)
        with torch.random.fork_rng(devices=[]):          # seed the init without touching the caller's RNG
            torch.manual_seed(seed)
            model = space.build(arch, in_channels=data.info.in_channels, num_classes=data.info.num_classes,
                                **self.skeleton(space))
        shape = tuple(data.train_x.shape[1:])
        from .hardware import count_macs
        params, flops, macs = count_params(model), count_flops(model, shape), count_macs(model, shape)
        res = train_model(model, data, fidelity.train_config(seed), emit=emit, stop=stop)
        metrics = {"params": params, "macs": macs, "flops": flops, "curve": res.val_curve, "train_loss": res.train_loss,
                   "train_acc": res.train_acc, "epochs": len(res.val_curve), "images": res.images}
        if epochs is not None and epochs < self.fidelity.epochs:
            metrics["partial"] = True                  # a low rung: not comparable with full trainings
        if self.fidelity.latency:
            from .hardware import measure_latency
            metrics["latency_ms"] = measure_latency(model, shape, self.device, batch_sizes=(1,), warmup=3,
                                                    repeats=10)[1]
        return Evaluation(space.to_str(arch), res.val_acc, res.test_acc, res.seconds, metrics)

    def describe(self) -> dict:
        return {"name": self.name, "dataset": self.dataset, "device": str(self.device),
                "fidelity": dataclasses.asdict(self.fidelity)}

    def estimate_seconds(self, space: SearchSpace) -> float | None:
        """Seconds per evaluation at this fidelity, from two timed training steps of one sampled candidate.

        Why time it rather than compute it: the cost per image differs ~5x between laptops, and between
        the CPU and a GPU by far more; two steps cost a fraction of a second and include all of that.
        """
        import random as _random
        import torch.nn.functional as F
        data, f = self.data, self.fidelity
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            model = space.build(space.sample(_random.Random(0)), in_channels=data.info.in_channels,
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


# ---------------------------------------------------------------------- registry
def _fidelity_from(fid):
    if isinstance(fid, dict):
        from .config import build
        return build(Fidelity, fid, "fidelity", EstimatorError)
    return fid


def _train(**kw):
    return TrainEstimator(fidelity=_fidelity_from(kw.pop("fidelity", None)), **kw)


def _lowfi(**kw):
    fid = _fidelity_from(kw.pop("fidelity", None)) or dataclasses.replace(LOW_FIDELITY)
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
