"""The lab's second table: CIFAR-10 ground truth, every NB201 string trained for 200 epochs.

The numbers are AnalogNAS-Bench's (``analognas.py`` reads them safely and says where they come from).
It trained all 15,625 NAS-Bench-201 strings on CIFAR-10 for 200 epochs (SGD, lr 0.1, Nesterov, weight
decay 5e-4, cosine, batch 256, crop + flip; test accuracy averaged over 25 passes) and recorded, per
string, the accuracy after post-training quantization (PTQ), quantization-aware training (QAT), on
simulated analog in-memory hardware (AIHWKit, phase-change memory) for the digitally trained network
("noisy") and for a hardware-aware trained one ("analog"), and both after 1 minute, 1 hour, 1 day and
1 month of conductance drift. It has no validation accuracy, no learning curves, no training time.

**Why every string, not every cell.** Each string was trained on its own, so the isomorphic strings of
one cell are independent trainings of it. A query answers that string's own training (as NB201's API
does); the cell's *truth* is the mean over its isomorphism class. Strategies choose on the one training
they queried and races report against the truth, the way they choose on validation and report on test
on the laptop table. (There is no validation split: the score a strategy sees is the string's own
CIFAR-10 test accuracy, and what separates choosing from reporting is the training, not the images.)
The agreement between two trainings of a cell (Kendall tau over the classes with two or more strings)
is the table's noise floor: 0.90 here, 0.28 on the laptop table.

**What the lab adds.** Per string its params and MACs (NB201 convention: C=16, N=5, 3x32x32, edges into
dead nodes counted; additive in the edges, computed in ``analognas.convert``), and per cell the batch-1
CPU latency measured by ``benchmarks/cifar10_costs.py``. The training cost is measured too, since races
need one: that script times the network's SGD step at batch 256 for a sample of cells, a linear model in
the counts of running ops is fitted to it (``fit_step_model``, its R^2 in ``bench info``), and a query is
charged ``STEPS`` predicted steps (200 epochs of 50,000 images at batch 256).
"""
from __future__ import annotations

import json
import math
from importlib import resources
from pathlib import Path

import numpy as np

from ..spaces.nb201 import EDGES, OPS, NB201Arch, NB201Space
from ..ranking import kendall_tau_finite as _tau
from .analognas import HARDWARE_METRICS, METRICS, PACKAGE, load_arrays, string_index
from .table import TableError, as_arch

# How the training cost is charged (the data has none): the timed step of the network, per step.
EPOCHS, TRAIN_IMAGES, BATCH = 200, 50_000, 256
STEPS = EPOCHS * math.ceil(TRAIN_IMAGES / BATCH)
COST_FEATURES = ("nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3", "skip_connect")
CELLS = 6466
"""Canonical NB201 cells (NB201Space.unique()): the length of every per-cell array."""


def op_counts(arch: NB201Arch) -> dict:
    """How many edges of each op *run* in the lab's network: an edge into a node that never reaches
    the output is skipped there, so it costs nothing (``count_macs(dead_edges=False)``'s rule)."""
    live = {3: True}
    for j in (2, 1, 0):
        live[j] = any(arch.edge(j, k) != "none" and live[k] for k in range(j + 1, 4))
    out = {op: 0 for op in OPS}
    for (i, j), op in zip(EDGES, arch.ops):
        if live[j] and op != "none":
            out[op] += 1
    return out


# ---------------------------------------------------------------------- the step-cost model
def fit_step_model(records: list[dict]) -> dict:
    """Least squares of the timed step on the counts of running ops: step = b0 + sum_k b_k * n_k.

    Why this form: a step's work is the fixed skeleton (stem, residual blocks, head) plus each running
    edge's op, repeated in all 15 cells, so it is additive in the op counts. R^2 is given in sample
    and by leave-one-out (the honest one)."""
    if len(records) < len(COST_FEATURES) + 2:
        raise TableError(f"the step-cost model needs at least {len(COST_FEATURES) + 2} timed cells, "
                         f"got {len(records)}")
    space = NB201Space()
    X = np.array([[1.0] + [op_counts(space.from_str(r["arch"]))[f] for f in COST_FEATURES] for r in records])
    y = np.array([float(r["step_s"]) for r in records])
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    pred = X @ coef
    ss = float(((y - y.mean()) ** 2).sum())
    # leave-one-out residuals of least squares: e_i / (1 - h_ii), h the hat matrix's diagonal
    h = np.einsum("ij,ji->i", X, np.linalg.pinv(X.T @ X) @ X.T)
    loo = (y - pred) / np.clip(1 - h, 1e-9, None)
    return {"form": "step_s = intercept + sum(coef[op] * running edges of op)", "batch": BATCH,
            "intercept": float(coef[0]), "coef": dict(zip(COST_FEATURES, map(float, coef[1:]))),
            "r2": 1 - float(((y - pred) ** 2).sum()) / ss if ss else float("nan"),
            "r2_loo": 1 - float((loo ** 2).sum()) / ss if ss else float("nan"), "cells": len(records),
            "step_s_range": [float(y.min()), float(y.max())]}


def predict_step(model: dict, arch: NB201Arch) -> float:
    n = op_counts(arch)
    return model["intercept"] + sum(c * n[f] for f, c in model["coef"].items())


def costs_path() -> Path:
    return Path(str(resources.files("nasbench_lab.bench") / "data" / "nb201_cifar10_costs.json"))


def load_costs(path=None) -> dict | None:
    """The measured costs shipped with the lab (benchmarks/cifar10_costs.py); None when absent."""
    p = Path(path) if path else costs_path()
    if not p.is_file():
        return None
    try:
        doc = json.loads(p.read_text())
        doc["step_model"]["coef"]                             # noqa: B018 (shape check)
        if not isinstance(doc["latency_ms"], list) or len(doc["latency_ms"]) != CELLS:
            raise ValueError("latency list")
    except (ValueError, KeyError, TypeError):
        raise TableError(f"{p} is damaged; regenerate it with `python benchmarks/cifar10_costs.py --ship`") from None
    return doc


# ---------------------------------------------------------------------- the table
class Cifar10Table:
    """Query the CIFAR-10 table: any of the 15,625 NB201 strings, its own training and its cell's truth.

    ``query(arch)``: one string's record (every metric), with its cell's truth beside it;
    ``scores(metric)``: one number per cell (the mean over its isomorphic trainings), in the order of
    ``NB201Space.unique()``, which is also the laptop table's row order; ``truth(metric)``: what races
    report against; ``info()``: what ``nasbench-lab bench info --dataset cifar10`` prints.
    """

    dataset = "cifar10"
    label = "CIFAR-10 (AnalogNAS-Bench, 200 epochs)"

    def __init__(self, cache=None, source=None, version: str | None = None, costs=None):
        self._a, self.meta, self.path = load_arrays(source=source, version=version, cache=cache)
        self.space = NB201Space()
        self._cell = self._a["cell"]
        self.cells = len(np.unique(self._cell))
        self._members = np.bincount(self._cell, minlength=self.cells)
        self._truth: dict[str, np.ndarray] = {}
        self.costs = load_costs(costs)
        self._latency = None
        if self.costs is not None:
            # one per cell, in NB201Space.unique() order (None where not measured)
            self._latency = np.array([np.nan if v is None else v for v in self.costs["latency_ms"]], np.float64)
        self._step: dict[int, float] = {}

    # ------------------------------------------------------------------ rows and truths
    def row(self, arch) -> int:
        """Row of one string (``string_index``): every string is its own training."""
        return string_index(as_arch(self.space, arch))

    def cell(self, arch) -> int:
        """The cell (isomorphism class) of a string: its row in ``scores`` and in the laptop table."""
        return int(self._cell[self.row(arch)])

    def _check_metric(self, metric: str) -> str:
        if metric not in METRICS:
            raise TableError(f"unknown CIFAR-10 metric {metric!r}; choose one of: {', '.join(METRICS)}")
        return metric

    def scores(self, metric: str = "test_acc", truth: bool = True) -> np.ndarray:
        """Per cell the mean of ``metric`` over its isomorphic trainings (``truth=False``: per string)."""
        v = self._a[self._check_metric(metric)]
        if not truth:
            return v.astype(np.float64)
        if metric not in self._truth:
            self._truth[metric] = np.bincount(self._cell, weights=v.astype(np.float64),
                                              minlength=self.cells) / self._members
        return self._truth[metric]

    def truth(self, metric: str = "test_acc"):
        """(truth, best): a string's cell mean of ``metric``, and the best cell's; what races report."""
        t = self.scores(metric)
        cell = self._cell

        def of(arch) -> float:
            return float(t[cell[self.row(arch)]])
        return of, float(np.nanmax(t))

    def step_seconds(self, arch) -> float | None:
        """Predicted seconds of one training step at batch 256 on the machine the costs were timed on."""
        if self.costs is None:
            return None
        i = self.row(arch)
        if i not in self._step:
            self._step[i] = max(predict_step(self.costs["step_model"], as_arch(self.space, arch)), 0.0)
        return self._step[i]

    # ------------------------------------------------------------------ queries
    def query(self, arch) -> dict:
        """One string's own training (every metric), its cell's truth, size and costs."""
        a = as_arch(self.space, arch)
        i = string_index(a)
        c = int(self._cell[i])
        step = self.step_seconds(a)
        own = {m: _num(self._a[m][i]) for m in METRICS}
        # the drift measurements' own uncertainty (AnalogNAS-Bench's "value ± uncertainty", this string)
        std = {m: _num(self._a[f"{m}_std"][i]) for m in METRICS if f"{m}_std" in self._a}
        return {"arch": str(a), "canonical": str(self.space.canonical(a)), "dataset": self.dataset, **own,
                "drift_std": std,
                "truth": {m: _num(self.scores(m)[c]) for m in METRICS},
                "trainings": int(self._members[c]),
                "params": int(self._a["params"][i]), "macs": int(self._a["macs"][i]),
                "latency_ms": None if self._latency is None else _num(self._latency[c]),
                "step_s": step, "cost": None if step is None else step * STEPS}

    def best(self, metric: str = "test_acc") -> dict:
        t = self.scores(metric)
        k = int(np.nanargmax(t))
        return self.query(self.space.unique()[k])

    def noise_floor(self, metric: str = "test_acc") -> tuple[float, int]:
        """(Kendall tau, classes): two independent trainings of each cell with two or more strings (the
        first two strings of the class in enumeration order) ranked against each other."""
        first, second = {}, {}
        for i, c in enumerate(self._cell.tolist()):
            if c not in first:
                first[c] = i
            elif c not in second:
                second[c] = i
        v = self._a[self._check_metric(metric)]
        x = np.array([v[first[c]] for c in second], np.float64)
        y = np.array([v[second[c]] for c in second], np.float64)
        return _tau(x, y), len(second)

    def _at_chance(self) -> dict:
        """How many strings test at chance (10 %), and how many of them have no path from the cell's
        input to its output (their network's output is a constant: nothing can be learnt)."""
        chance = np.flatnonzero(self._a["test_acc"] <= 10.0 + 1e-6)
        archs = list(self.space.enumerate())
        cut = sum(not _reaches_output(archs[i]) for i in chance.tolist())
        return {"at_chance": int(chance.size), "at_chance_disconnected": int(cut)}

    def info(self, laptop=None) -> dict:
        """Source and protocol, coverage, best cell, spread, noise floor, transfer from the laptop
        table, each hardware metric's tau against digital accuracy, and where the costs come from."""
        test = self.scores("test_acc")
        tau, pairs = self.noise_floor()
        out = {"dataset": self.dataset, "label": self.label, "source": {
                   "package": PACKAGE, "version": self.meta.get("version"), "sha256": self.meta.get("sha256"),
                   "paper": "Benmeziane et al., AnalogNAS-Bench: A NAS Benchmark for Analog In-Memory Computing, "
                            "arXiv:2506.18495 (2025)",
                   "cache": str(self.path)},
               "protocol": "NB201 C=16 N=5 on CIFAR-10 (50,000 training images), 200 epochs, SGD lr 0.1 Nesterov, "
                           "weight decay 5e-4, cosine, batch 256, crop + flip; test accuracy averaged over 25 "
                           "passes; one training per string",
               "strings": int(self._a["test_acc"].size), "covered": int(np.isfinite(self._a["test_acc"]).sum()),
               "cells": self.cells, "cells_with_2_or_more": pairs,
               "best": self.best(), "test_acc": _spread(test),
               **self._at_chance(),
               "noise_floor": {"kendall_tau": tau, "cells": pairs},
               "hardware": {m: {"what": METRICS[m][1], "kendall_tau_vs_test_acc": _tau(test, self.scores(m)),
                                "median": float(np.nanmedian(self.scores(m)))} for m in HARDWARE_METRICS},
               "costs": None}
        if laptop is not None:
            lap = laptop.scores(None, "test_acc")
            if len(lap) == self.cells:
                out["transfer"] = {"table": str(laptop.path), "setting": laptop.default_setting,
                                   "kendall_tau": _tau(test, lap), "cells": int(np.isfinite(lap).sum())}
        if self.costs is not None:
            m = self.costs["step_model"]
            out["costs"] = {"step_model": m, "machine": self.costs.get("machine"), "steps_charged": STEPS,
                            "latency": self.costs.get("latency"),
                            "command": self.costs.get("command"), "latency_cells": int(np.isfinite(self._latency).sum()),
                            "median_cost_h": float(np.median([predict_step(m, a) for a in self.space.unique()]))
                            * STEPS / 3600}
        return out


def _reaches_output(arch: NB201Arch) -> bool:
    """Whether a path of edges that are not ``none`` leads from the cell's input (node 0) to its output
    (node 3). Why not the isomorphism expression: NB201's rule keeps a node fed only by zeros as '#+#',
    not as zero, so it cannot tell that such a node carries nothing."""
    live = {0}
    for j in (1, 2, 3):
        if any(i in live and arch.edge(i, j) != "none" for i in range(j)):
            live.add(j)
    return 3 in live


def _num(v) -> float | None:
    """A float rounded to what the table stores (float32: 4 decimals), None for NaN."""
    v = float(v)
    return None if v != v else round(v, 4)


def _spread(v: np.ndarray) -> dict:
    return {q: float(np.nanpercentile(v, x)) for q, x in
            (("min", 0), ("p25", 25), ("median", 50), ("p75", 75), ("max", 100))}


