"""Zero-cost scoring: score an untrained network from one minibatch (zero-cost proxies).

Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS" (ICLR 2021) turned pruning-at-initialisation
saliencies into whole-network scores: sum a per-weight saliency over every weight, at initialisation, on
one batch, and rank candidates by it in a second instead of training them for minutes. Mellor et al.
("Neural Architecture Search without Training", 2020 v1 and ICML 2021) scored the Jacobian and the ReLU
activation pattern instead. Ning et al. ("Evaluating Efficient Performance Estimators of Neural
Architectures", NeurIPS 2021) warn that the parameter count is a baseline most of these barely beat,
so ``params`` and ``flops`` are proxies here too and every study shows them side by side.

The nine proxies themselves, and the conventions every one of them follows (higher = predicted
better, seeded builds, which weights are scored, the log normalisation), are in ``proxies.py``; they
are re-exported here, so ``zerocost.synflow(net, x, y)`` works as well.

``score`` / ``score_all`` are the plain-function API (``ZeroCostOptions`` checks their options); the
``zerocost`` estimator (estimators/zerocost.py) scores a search's candidates with them.
``benchmarks/zerocost_study.py`` measures every proxy against the lab's tabular benchmark.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch

from .config import option, validate
from .data import DataError, Splits, load_dataset
from .errors import EstimatorError
# the proxies, re-exported: this module is the user's entry point to all of zero-cost scoring
from .proxies import (JACOB_K, LOG_ZERO, PROXIES, PROXY_NAMES, Proxy, ProxyName, fisher, flops,  # noqa: F401
                      grad_norm, grasp, jacob_cov, naswot, normalise, params, snip, synflow)
from .train import CLASSROOM_SKELETON, count_flops, count_params, resolve_device


# ---------------------------------------------------------------------- options and the function API
@dataclass
class ZeroCostOptions:
    """What a zero-cost evaluation scores and on what."""

    proxy: ProxyName = "synflow"
    """The proxy: synflow, snip, grad_norm, grasp, fisher, jacob_cov, naswot, params or flops."""
    batch_size: int = option(64, lo=2, hi=4096, why="jacob_cov and naswot compare images, so at least 2")
    """Images in the one minibatch (64 as in Abdelfattah et al. 2021)."""
    image_size: int | None = option(16, lo=4, hi=512)
    """Area-pool the images to this size (16: the lab's laptop benchmark protocol); None: native size."""
    skeleton: dict | None = None
    """Network size options for ``space.build`` (None: the classroom skeleton, C=8, N=1 for nb201)."""


@dataclass
class ZeroCostResult:
    """Every requested proxy of one architecture, sharing one network build and one batch."""

    arch: object
    """The architecture scored (the space's value)."""
    scores: dict = field(default_factory=dict)
    """proxy -> score (higher = predicted better, normalised as in the module text)."""
    raw: dict = field(default_factory=dict)
    """proxy -> the raw, published value."""
    seconds: dict = field(default_factory=dict)
    """proxy -> seconds its own computation took (build and batch excluded; flops: its count)."""
    build_seconds: float = 0.0
    """Seconds to draw the batch, build the network and count its parameters (shared by the proxies)."""
    params: int = 0
    """Parameter count of the built network."""
    flops: int = 0
    """Forward FLOPs of one image (``train.count_flops``)."""


def check_proxies(proxies) -> list[str]:
    names = [proxies] if isinstance(proxies, str) else list(PROXIES if proxies is None else proxies)
    """The proxy names asked for (a name, a list, or None: all), each checked."""
    bad = [p for p in names if p not in PROXIES]
    if bad or not names:
        what = f"unknown zero-cost proxy {bad[0]!r}" if bad else "no zero-cost proxy given"
        raise EstimatorError(f"{what}; choose from: {', '.join(PROXIES)}")
    return names


def load_data(data="fashion-mnist", image_size: int | None = 16, device="cpu", root=None,
              download: bool = False) -> Splits:
    """A dataset name loaded as the proxies use it (area-pooled to ``image_size``), or a Splits as is."""
    if isinstance(data, Splits):
        return data.to(device)
    try:
        return load_dataset(data, root=root, device=device, download=download, image_size=image_size)
    except DataError as exc:
        raise EstimatorError(str(exc)) from None


def fixed_batch(data: Splits, batch_size: int, seed: int):
    """``batch_size`` training images and labels, drawn by ``seed`` (the same for every architecture)."""
    n = len(data.train_y)
    if batch_size > n:
        raise EstimatorError(f"zerocost batch_size {batch_size} is larger than the {n:,} training images")
    idx = torch.randperm(n, generator=torch.Generator().manual_seed(seed))[:batch_size].to(data.device)
    return data.train_x[idx], data.train_y[idx]


def score_all(space, arch, proxies=None, data="fashion-mnist", seed: int = 0, batch_size: int = 64,
              image_size: int | None = 16, skeleton: dict | None = None, device="cpu") -> ZeroCostResult:
    """Score ``arch`` with several proxies (None: all) on one seeded build and one fixed batch.

    Each proxy runs its own forward/backward passes (so its seconds are its own) and leaves the network as
    it found it (gradients through ``autograd.grad``, never ``.grad``; synflow on a copy), so the order of
    ``proxies`` changes nothing. Pass a loaded Splits as ``data`` when scoring many architectures.
    """
    names = check_proxies(proxies)
    validate(ZeroCostOptions(batch_size=batch_size, image_size=image_size), "estimator 'zerocost'", EstimatorError)
    dev = resolve_device(device)
    data = load_data(data, image_size, dev)
    sk = dict(CLASSROOM_SKELETON.get(space.name, {}) if skeleton is None else skeleton)
    res = ZeroCostResult(arch)
    with torch.random.fork_rng(devices=[]):               # seeded, and the caller's RNG untouched
        torch.manual_seed(seed)
        t0 = time.perf_counter()
        x, y = fixed_batch(data, batch_size, seed)
        net = space.build(arch, in_channels=data.info.in_channels, num_classes=data.info.num_classes, **sk).to(dev)
        res.params = count_params(net)
        t1 = time.perf_counter()
        res.flops = count_flops(net, tuple(x.shape[1:]), device=dev)     # the metrics need it whatever the proxy
        flops_seconds = time.perf_counter() - t1
        res.build_seconds = t1 - t0
        for p in names:
            t = time.perf_counter()
            raw = (float(res.params) if p == "params" else float(res.flops) if p == "flops"
                   else PROXIES[p].fn(net, x, y))                 # the counts are already there
            res.seconds[p] = time.perf_counter() - t + (flops_seconds if p == "flops" else 0.0)
            res.raw[p], res.scores[p] = raw, normalise(p, raw)
    return res


def score(space, arch, proxy: str = "synflow", data="fashion-mnist", seed: int = 0, **options) -> float:
    """The score of one proxy (see ``score_all`` for the options)."""
    return score_all(space, arch, [proxy], data=data, seed=seed, **options).scores[proxy]


# What each proxy is held against: NAS-Bench-201 CIFAR-10, all 15,625 cells, against the final test
# accuracy after 200 epochs (metric, value, source); the lab's studies print their figures beside these.
PUBLISHED = {
    "synflow": ("spearman", 0.737, "Abdelfattah et al. 2021, Table 1"),
    "jacob_cov": ("spearman", 0.731, "Abdelfattah et al. 2021, Table 1"),
    "snip": ("spearman", 0.596, "Abdelfattah et al. 2021, Table 1"),
    "grad_norm": ("spearman", 0.594, "Abdelfattah et al. 2021, Table 1"),
    "grasp": ("spearman", 0.514, "Abdelfattah et al. 2021, Table 1"),
    "fisher": ("spearman", 0.36, "Abdelfattah et al. 2021, Table 1"),
    "naswot": ("kendall", 0.574, "Mellor et al. 2021"),
    "params": ("spearman", 0.6, "Ning et al. 2021, approximate: #params is a strong baseline"),
}
