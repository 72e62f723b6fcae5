"""Zero-cost-guided search: score many cells at initialisation, train (or look up) only the best.

Mellor, Turner, Storkey & Crowley, "Neural Architecture Search without Training", ICML 2021 (NASWOT:
score N random cells with a training-free proxy, keep the best), and Abdelfattah, Mehrotra, Dudziak &
Lane, "Zero-Cost Proxies for Lightweight NAS", ICLR 2021 ("zero-cost warmup": the proxy's best cells as
the initial population of a search, or the first training set of a predictor). Two phases:

    repeat while budget is left:                                  then = "proxy" (NASWOT-style)
        draw `pool` unseen random cells; score each with the proxy (milliseconds)
        evaluate the `top` best-scored ones with the run's estimator
    or, then = "evolution" / "predictor" (warm start):
        evaluate the proxy's best `population` cells of the first pool, make them the initial population
        of regularized evolution (evolution.py) or the first training set of the predictor
        (predictor.py), and let that strategy go on from there

Why charge the proxy's time: a proxy is cheap, not free. Scoring 100 cells with synflow costs about a
second on a laptop CPU, which is a third of one cell's training in the lab's table; a race to a time
budget must count it. The seconds spent scoring are added to the run's cost (``overhead()``, which the
driver reads after each evaluation), so the time axis is fair to the strategies that do not score.

``scores="shipped"`` (the default on NB201 once the study ships) reads the scores and per-cell seconds of the lab's zero-cost study of all 6,466
NB201 cells (``nasbench_lab/bench/data/zerocost_laptop.json``, ``benchmarks/zerocost_study.py``), so a
race of 100 seeds does not recompute them; ``"compute"`` scores live with the ``zerocost`` estimator
(any space that builds a network). The proxy's sign convention: higher is better (zerocost.py).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..config import option
from ..estimators.zerocost import ZeroCostEstimator
from ..proxies import ProxyName
from .base import MultiTrialStrategy, StrategyError, one_thread
from .evolution import RegularizedEvolution
from .predictor import PredictorSearch

SHIPPED = Path(__file__).resolve().parents[1] / "bench" / "data" / "zerocost_laptop.json"


@dataclass
class ZeroCostGuidedConfig:
    """Options of ``zerocost_guided`` (pass them as ``strategy_options``)."""

    proxy: ProxyName = "synflow"
    """Which zero-cost proxy ranks the pool (see nasbench_lab.zerocost.PROXY_NAMES)."""
    pool: int = option(100, lo=1)
    """Cells drawn and scored per round."""
    top: int = option(5, lo=1)
    """then=proxy: the best-scored cells of each pool that are evaluated."""
    then: Literal["proxy", "evolution", "predictor"] = "proxy"
    """After the first pool: more pools (NASWOT-style), or regularized evolution or the predictor
    warm-started from it."""
    population: int = option(10, lo=2)
    """then=evolution/predictor: how many of the first pool's best cells start it (evolution's
    population, the predictor's first training set) ..."""
    sample: int = option(3, lo=1)
    """... and evolution's tournament size (the NB201 paper's REA settings)."""
    scores: Literal["auto", "compute", "shipped"] = "auto"
    """compute: score live; shipped: the lab's precomputed study of every NB201 cell (nb201 only); auto:
    shipped where it covers the space and proxy, else compute."""

    def check(self) -> None:
        if self.top > self.pool:
            raise StrategyError(f"zerocost_guided: top ({self.top}) must not exceed pool ({self.pool})")
        if self.then != "proxy" and self.population > self.pool:
            raise StrategyError(f"zerocost_guided: population ({self.population}) must not exceed pool ({self.pool})")
        if self.sample > self.population:
            raise StrategyError(f"zerocost_guided: sample must be at most population ({self.population})")


class _ShippedScores:
    """The zero-cost study's scores by canonical cell: (score, seconds)."""

    def __init__(self, space, proxy: str):
        if space.name != "nb201":
            raise StrategyError(f"zerocost_guided: the shipped scores cover nb201 only, not {space.name!r}; "
                                f"use scores=compute")
        if not SHIPPED.exists():
            raise StrategyError(f"zerocost_guided: no shipped zero-cost study at {SHIPPED}; use scores=compute "
                                f"or run benchmarks/zerocost_study.py")
        cells = json.loads(SHIPPED.read_text())["cells"]
        if proxy not in cells["scores"]:
            raise StrategyError(f"zerocost_guided: the shipped study has no {proxy!r} scores")
        self.space = space
        self.table = {a: (s, t) for a, s, t in zip(cells["arch"], cells["scores"][proxy], cells["seconds"][proxy])}

    def __call__(self, arch) -> tuple[float, float]:
        key = str(self.space.canonical(arch))
        if key not in self.table:
            raise StrategyError(f"zerocost_guided: {key} is not in the shipped zero-cost study")
        return self.table[key]


class _LiveScores:
    """Scores computed now by the ``zerocost`` estimator (its data loaded once)."""

    def __init__(self, space, proxy: str):
        self.space, self.est = space, ZeroCostEstimator(proxy=proxy, device="cpu")

    def __call__(self, arch) -> tuple[float, float]:
        # Why one thread: a proxy on a small cell is a few milliseconds of math; a pool of intra-op threads
        # costs more than it saves, and on a busy 2-core machine made scoring ~40x slower (see base.one_thread).
        with one_thread():
            ev = self.est.evaluate(self.space, arch, seed=0)
        return ev.val_acc, ev.cost


class ZeroCostGuided(MultiTrialStrategy):
    name = "zerocost_guided"
    config_class = ZeroCostGuidedConfig
    summary = "score many cells with a zero-cost proxy, evaluate the best (NASWOT; zero-cost warmup)"

    def __init__(self, space, rng, emit, **options):
        super().__init__(space, rng, emit, **options)
        cfg = self.config
        shipped = cfg.scores == "shipped" or (cfg.scores == "auto" and space.name == "nb201" and SHIPPED.exists())
        self.scorer = (_ShippedScores if shipped else _LiveScores)(space, cfg.proxy)
        self.seen: set = set()
        self.queue: list = []            # the current pool's best cells, not asked yet
        self.pools = 0
        self._overhead = 0.0
        self.follower = None             # the warm-started strategy (then=evolution/predictor)
        if cfg.then == "evolution":
            self.follower = RegularizedEvolution(space, rng, emit, population=cfg.population, sample=cfg.sample)
        elif cfg.then == "predictor":
            self.follower = PredictorSearch(space, rng, emit, initial=cfg.population)

    def overhead(self) -> float:
        """Seconds spent scoring since the last call (the driver adds them to the run's cost)."""
        spent, self._overhead = self._overhead, 0.0
        return spent

    def _new_pool(self, keep: int) -> None:
        pool, canon = [], set()
        for _ in range(self.config.pool * 20):                # bounded: a nearly exhausted space still answers
            if len(pool) >= self.config.pool:
                break
            arch = self.space.sample(self.rng)
            c = self.space.canonical(arch)
            if c in self.seen or c in canon:
                continue
            canon.add(c)
            score, seconds = self.scorer(arch)
            self._overhead += seconds
            pool.append((score, len(pool), arch))
        pool.sort(key=lambda t: (-t[0], t[1]))
        self.pools += 1
        self.emit("zerocost", pool=self.pools, proxy=self.config.proxy, scored=len(pool),
                  chosen=[{"arch": self.space.to_str(a), "score": s} for s, _, a in pool[:keep]])
        self.queue = [a for _, _, a in pool[:keep]]

    def ask(self):
        cfg = self.config
        if self.follower is not None and self.pools and not self.queue:
            return self.follower.ask()                       # the warm-started strategy goes on
        if not self.queue:
            self._new_pool(cfg.population if self.follower is not None else cfg.top)
        arch = self.queue.pop(0)
        self.seen.add(self.space.canonical(arch))
        return arch

    def tell(self, arch, evaluation, objective: float) -> None:
        self.seen.add(self.space.canonical(arch))
        if self.follower is not None:
            # Evolution takes a cell it did not ask for as an initial member (no parent), as on resume,
            # and after `population` of them its own asks mutate tournament winners; the predictor fits
            # its first surrogate on them (it counts them as its `initial` cells, so it samples none).
            self.follower.tell(arch, evaluation, objective)
