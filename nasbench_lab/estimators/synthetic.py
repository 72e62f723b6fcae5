"""A synthetic estimator: instant, deterministic, with a known global optimum on every space.

Why it exists: to test search strategies statistically (many seeds, hundreds of evaluations, in
seconds) and to measure the driver's own overhead, we need an estimator that costs nothing and whose
best architecture we know without searching. Real training gives neither.

The landscape is built from the space's RL view (``decisions()``), so it works for every space:

* every decision ``i`` has a *preferred* choice ``p_i = (7 i + 3 + shift) mod k_i``, worth ``w_i``
  (1, 1.5 or 2) when chosen;
* neighbouring decisions interact: choosing both ``p_i`` and ``p_{i+1}`` earns a further 0.5 (so the
  landscape is not separable and mutations of one decision at a time are not the whole story);
* the normalised score ``s`` in [0, 1] becomes ``val_acc = 40 + 55 s`` plus bounded noise (uniform,
  seeded by the architecture string and the run seed, like the seed-to-seed noise of training).

The noise is bounded by a quarter of the smallest step in ``val_acc`` (one lost preferred choice), so
the architecture made of all preferred choices is the strict global optimum for every seed:
``SyntheticEstimator().optimum(space)``.

A caveat to state in class: the landscape is nearly additive over the decisions, so a linear surrogate
(the ``predictor`` strategy) fits it almost exactly and looks better here than on real accuracies.

Hardware metrics (params, macs, flops, latency_ms) are synthetic too and deliberately *conflict* with
accuracy: on every other decision the preferred choice is the heaviest one, so the accuracy optimum
is a heavy network and a hardware-aware objective (objectives.py) picks a different one.

Learning curves, for multi-fidelity strategies: a candidate "trains" for ``epochs`` epochs (default 4);
after epoch e of E its score is ``40 + (clean - 40) * sqrt(e / E)`` with noise up to (1 + 2 (E - e) / E)
times the final bound, and it costs e / E of the full cost. So early epochs rank like the last one
but noisily; real curves are less kind (the table's are not this faithful: see notebook 08).
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from ..config import option
from ..spaces import SearchSpace
from .base import Estimator, Evaluation

BASE_ACC, SPAN_ACC = 40.0, 55.0
PAIR_WEIGHT = 0.5


@dataclass(frozen=True)
class _Landscape:
    """Per-space tables, computed once per space (they depend only on ``decisions()``)."""

    preferred: tuple
    weights: tuple
    heaviness: tuple          # heaviness[i][j] in [0, 1] for choice j of decision i
    max_raw: float

    def raw(self, idx) -> float:
        p, w = self.preferred, self.weights
        hit = [c == pc for c, pc in zip(idx, p)]
        total = sum(wi for wi, h in zip(w, hit) if h)
        total += PAIR_WEIGHT * sum(1 for a, b in zip(hit, hit[1:]) if a and b)
        return total

    def heavy(self, idx) -> float:
        return sum(self.heaviness[i][c] for i, c in enumerate(idx)) / max(1, len(idx))


def _landscape(space: SearchSpace, shift: int) -> _Landscape:
    decisions = space.decisions()
    preferred, weights, heaviness = [], [], []
    for i, d in enumerate(decisions):
        k = len(d.choices)
        p = (7 * i + 3 + shift) % k
        preferred.append(p)
        weights.append(1.0 + (i % 3) / 2)
        if k == 1:
            heaviness.append((0.0,))
        elif i % 2 == 0:          # the preferred choice is the heaviest: accuracy costs hardware here
            heaviness.append(tuple(((j - p - 1) % k) / (k - 1) for j in range(k)))
        else:                     # unrelated to accuracy
            heaviness.append(tuple(((j + i) % k) / (k - 1) for j in range(k)))
    max_raw = sum(weights) + PAIR_WEIGHT * max(0, len(decisions) - 1)
    return _Landscape(tuple(preferred), tuple(weights), tuple(heaviness), max_raw)


def _unit(*parts) -> float:
    """A uniform number in [0, 1) from strings: stable across processes (Python's hash() is salted)."""
    h = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(h, "big") / 2.0 ** 64


@dataclass
class SyntheticConfig:
    """Options of the ``synthetic`` estimator."""

    noise: float = option(0.25, lo=0.0, hi=0.25, why="a fraction of the smallest step")
    """Noise on each score, as a fraction of the smallest step between architectures (0 to 0.25)."""
    shift: int = 0
    """Which invented landscape (each shift moves the optimum)."""
    delay: float = option(0.0, lo=0.0, why="seconds")
    """Seconds each evaluation sleeps: stands in for training time so a run can be watched."""
    epochs: int = option(4, lo=1, hi=1000)
    """Epochs of a full (invented) training; multi-fidelity strategies stop some earlier."""


class SyntheticEstimator(Estimator):
    """Instant, deterministic scores with a known optimum (see the module docstring)."""

    name = "synthetic"
    deterministic = True
    config_class = SyntheticConfig

    def __init__(self, *, dataset=None, device=None, **options):
        # dataset/device are accepted (``search`` always passes them) and ignored: nothing is trained.
        self.config = self.configure(options)
        self.noise, self.shift, self.delay, self.epochs = (self.config.noise, self.config.shift, self.config.delay,
                                                           self.config.epochs)
        self.dataset = dataset
        self._tables: dict[str, _Landscape] = {}

    def landscape(self, space: SearchSpace) -> _Landscape:
        key = space.name
        if key not in self._tables:
            self._tables[key] = _landscape(space, self.shift)
        return self._tables[key]

    def score(self, space: SearchSpace, arch) -> float:
        """The noiseless validation accuracy (%) of ``arch``."""
        land = self.landscape(space)
        return BASE_ACC + SPAN_ACC * land.raw(space.to_decisions(arch)) / land.max_raw

    def optimum(self, space: SearchSpace):
        """The strict global optimum of ``val_acc`` (same for every seed): all preferred choices."""
        return space.from_decisions(list(self.landscape(space).preferred))

    def noise_bound(self, space: SearchSpace) -> float:
        """Largest |val_acc - score| (percentage points)."""
        return self.noise * SPAN_ACC / self.landscape(space).max_raw

    def max_epochs(self, space: SearchSpace) -> int:
        return self.epochs

    def evaluate(self, space, arch, seed=0, emit=None, stop=None, epochs: int | None = None,
                 continues: int = 0) -> Evaluation:
        if epochs is not None and epochs < self.epochs:
            return self._partial(space, arch, seed, epochs, continues)
        s = space.to_str(arch)                # the noise is seeded by the string: stable across processes
        land = self.landscape(space)
        idx = space.to_decisions(arch)
        clean = BASE_ACC + SPAN_ACC * land.raw(idx) / land.max_raw
        bound = self.noise * SPAN_ACC / land.max_raw
        val = clean + bound * (2 * _unit(space.name, s, seed, "val") - 1)
        # Test accuracy: a little lower and with its own noise, as in real benchmarks.
        test = clean - 0.5 + 2 * bound * (2 * _unit(space.name, s, seed, "test") - 1)
        heavy = land.heavy(idx)
        params = int(50_000 + 950_000 * heavy)
        metrics = {"params": params, "macs": params * 30, "flops": params * 60, "latency_ms": round(1.0 + 9.0 * heavy, 4),
                   "synthetic": True}
        if self.delay:
            time.sleep(self.delay)        # simulate work (tests of parallel executors)
        cost = (10.0 + 50.0 * heavy) * (1 - continues / self.epochs)
        return Evaluation(arch, round(val, 6), round(test, 6), cost=round(cost, 4),
                          metrics={**metrics, "epochs": self.epochs})

    def _partial(self, space, arch, seed, epochs, continues) -> Evaluation:
        """The score after ``epochs`` of ``self.epochs`` (see "Learning curves" in the module text)."""
        full = self.evaluate(space, arch, seed)
        frac = epochs / self.epochs
        land = self.landscape(space)
        bound = self.noise * SPAN_ACC / land.max_raw * (1 + 2 * (1 - frac))
        clean = BASE_ACC + (self.score(space, arch) - BASE_ACC) * frac ** 0.5
        val = clean + bound * (2 * _unit(space.name, space.to_str(arch), seed, "val", epochs) - 1)
        cost = (10.0 + 50.0 * land.heavy(space.to_decisions(arch))) * (epochs - continues) / self.epochs
        return Evaluation(arch, round(val, 6), None, cost=round(cost, 4),
                          metrics={**full.metrics, "epochs": epochs, "partial": True})

    def describe(self) -> dict:
        return {"name": self.name, "noise": self.noise, "shift": self.shift, "delay": self.delay,
                "epochs": self.epochs}
