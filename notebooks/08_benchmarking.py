# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 08 · Benchmarking: racing strategies fairly, over many seeds
#
# **Learning goals.** After this notebook you can
# 1. run a fair race: same space, same estimator, same budget, many seeds per strategy;
# 2. read *anytime* curves (best so far against evaluations or time) with confidence bands;
# 3. decide whether a difference between two strategies is real, and compare your ordering with the
#    NAS-Bench-201 paper's.
#
# Reference: Dong & Yang, *NAS-Bench-201*, ICLR 2020 (CIFAR-10 test accuracy after a 12,000 s search
# budget: REA 93.92±0.30, REINFORCE 93.85±0.37, random search 93.70±0.36, BOHB 93.61±0.52; DARTS-V1/V2
# and ENAS collapse to the all-skip cell, 54.30).

# %% tags=["parameters"]
# Parameters: the only cell you need to edit. The environment variable NASBENCH_LAB_SCALE overrides
# SCALE (CI sets it to 'ci'). 'ci': seconds, synthetic data. 'classroom': a few minutes on a 2-core
# laptop CPU with Fashion-MNIST. 'gpu': bigger runs on a CUDA device. PRESETS: this notebook's settings
# per scale; the settings all lessons share (fidelity, dataset, device, threads) come from
# nasbench_lab.course, and a key named here overrides the shared one.
import os

SCALE = os.environ.get("NASBENCH_LAB_SCALE", "classroom")
PRESETS = {
    "ci":        {"seeds": 3,  "budget": 60,  "one_shot": False},
    "classroom": {"seeds": 20, "budget": 150, "one_shot": False},
    "gpu":       {"seeds": 50, "budget": 300, "one_shot": True},
}

# %%
import pathlib
import random
import sys
import time

try:
    import nasbench_lab
except ImportError:           # an uninstalled checkout: the package sits one folder above notebooks/
    sys.path.insert(0, str(pathlib.Path.cwd().resolve().parent))
    import nasbench_lab
import nasbench_lab as nl
from nasbench_lab import viz
from nasbench_lab.course import check, settings
from IPython.display import display

import torch

# P: this notebook's settings at SCALE. Why here and not in the parameters cell: papermill injects its
# parameters right after that cell, so `papermill -p SCALE gpu` takes effect only if P is made later.
P = settings(SCALE, PRESETS)
torch.set_num_threads(P["threads"])        # one thread on the CPU scales (why: see nasbench_lab.course)
T0 = time.perf_counter()
print(f"scale: {SCALE}")

# %% [markdown]
# ## Why a tabular benchmark, and what we race on here
#
# A fair race needs many seeds per strategy (a search is a random process) and identical conditions.
# With real training that costs thousands of trainings per strategy. Tabular benchmarks
# (NAS-Bench-101/201/301) trained every architecture once, so a "evaluation" becomes a table lookup and
# a race costs seconds; the *simulated* cost (the recorded training time) still lets us plot against
# time.
#
# The lab's own table (`nasbench_lab.bench`: every NB201 cell trained on Fashion-MNIST) is used when it
# is installed. **When it is not** (it must be built once on a GPU), this notebook races on the
# instant `synthetic` estimator instead: a made-up landscape over the same NB201 space with a known
# optimum. The race mechanics are identical, but the numbers are not NB201 accuracies, so the
# comparison with the paper is about the *ordering* only.

# %%
import numpy as np
from nasbench_lab.bench import BenchTable, default_path


def complete_table():
    """The shipped table, if it answers every query of a race: all cells, every seed of 'full'."""
    if not default_path().exists():
        return None, "the shipped table is not built yet"
    t = BenchTable()
    if "full" not in t.settings:
        return None, f"the installed table has no 'full' setting ({t.settings})"
    missing = sum(int((~np.isfinite(t.scores("full", "val_acc", seed=s))).sum()) for s in t.protocol("full").seeds)
    return (t, "") if missing == 0 else (None, f"the installed table is partial ({missing} results missing)")


TABLE, why_not = complete_table()
HAS_TABLE = TABLE is not None
ESTIMATOR = "table" if HAS_TABLE else "synthetic"
EST_OPTIONS = {"table": TABLE} if HAS_TABLE else None
print(f"racing on the {ESTIMATOR!r} estimator", "(the lab's tabular benchmark)" if HAS_TABLE else f"({why_not})")
from nasbench_lab.strategies import strategy_class

OPTIONS = {"evolution": {"population": 10, "sample": 3}}         # the NB201 paper's REA settings
# every multi-trial strategy in the registry races (a strategy added later joins automatically)
STRATEGIES = {n: OPTIONS.get(n) for n in nl.list_strategies() if strategy_class(n).family == "multi-trial"}
print("racing:", list(STRATEGIES))

# %% [markdown]
# ## The race
#
# Every strategy, every seed, the same budget of evaluations. The anytime panel fills in live: the
# mean best-so-far per strategy and a 95 % band (mean ± 1.96 standard errors over seeds).

# %%
from nasbench_lab.widgets import AnytimeView

anytime = AnytimeView()
display(anytime)
runs = {name: [] for name in STRATEGIES}
t = time.perf_counter()
for name, options in STRATEGIES.items():
    for seed in range(P["seeds"]):
        log = nl.EventLog()
        nl.search("nb201", name, ESTIMATOR, budget=P["budget"], dataset="fashion-mnist" if HAS_TABLE else P["dataset"],
                  seed=seed, strategy_options=options, estimator_options=EST_OPTIONS,
                  on_event=[log, anytime.on_event])
        runs[name].append(log.events)
anytime.flush()
print(f"{sum(len(v) for v in runs.values())} runs in {time.perf_counter() - t:.1f} s")

# %% [markdown]
# Against (simulated) time instead of evaluations: strategies that prefer cheap architectures get more
# evaluations out of the same time budget.

# %%
viz.anytime_figure(runs, x="time")

# %% [markdown]
# ## The final table
#
# For each strategy: the mean and 95 % confidence interval of the best validation score after the
# full budget, the test score of the architecture it picked (chosen on validation, reported on test),
# and, on the synthetic landscape, how often the known optimum was found.

# %%
import math
import statistics

from nasbench_lab.synthetic import SyntheticEstimator

space = nl.get_space("nb201")
optimum = None if HAS_TABLE else space.to_str(SyntheticEstimator().optimum(space))


def final(events):
    last = [e for e in events if e.kind == "evaluation"][-1].payload
    best = max((e.payload for e in events if e.kind == "evaluation"), key=lambda p: p["val_acc"])
    return last["best_val_acc"], best["test_acc"], best["arch"]


table = {}
for name, seeds in runs.items():
    vals, tests, archs = zip(*(final(ev) for ev in seeds))
    m, sd = statistics.mean(vals), statistics.stdev(vals) if len(vals) > 1 else 0.0
    table[name] = {"mean": m, "sd": sd, "ci": 1.96 * sd / math.sqrt(len(vals)), "values": list(vals),
                   "test": statistics.mean(t for t in tests if t is not None),
                   "optimum": None if optimum is None else sum(a == optimum for a in archs)}
order = sorted(table, key=lambda n: -table[n]["mean"])
for name in order:
    r = table[name]
    extra = "" if r["optimum"] is None else f"   optimum found {r['optimum']}/{len(r['values'])}"
    print(f"{name:10s} val {r['mean']:6.2f} ± {r['ci']:.2f} (95 % CI, sd {r['sd']:.2f})   test {r['test']:6.2f}{extra}")
print("ordering here:       ", " > ".join(order))
print("NB201 paper (CIFAR-10): evolution (REA) > reinforce > random   (one-shot DARTS/ENAS collapse)")

# %% [markdown]
# ### Reading it
#
# * Overlapping confidence intervals mean the race can not tell two strategies apart at this number
#   of seeds; in the NAS-Bench-201 paper REA, REINFORCE and random search are all within half a point
#   and within each other's standard deviation. "Better" needs a test, not a ranking of means.
# * Local search is not in the paper's table; White et al. (2020) found it strong on NAS-Bench-201,
#   because neighbouring cells tend to have similar accuracy. The same holds for any other strategy
#   the registry lists (a predictor-guided search, for example): it races here, without a paper
#   figure to compare with.
# * One-shot methods (DARTS, ENAS, SPOS) need supernet training on the data, so they are raced only
#   at `gpu` scale, below, with the table scoring their final cells.

# %%
if P["one_shot"] and HAS_TABLE:
    for name in ("darts", "enas", "spos"):
        r = nl.search("nb201", name, "table", budget=10, dataset="fashion-mnist", device=P["device"], seed=0,
                      estimator_options=EST_OPTIONS)
        print(f"{name:6s} final cell {r.best.arch}: {r.best.val_acc:.2f} (table)")
else:
    print("one-shot strategies are raced only at gpu scale with the tabular benchmark installed "
          "(they train a supernet on Fashion-MNIST first); see notebooks 04 and 05 for them at classroom scale")

# %% [markdown]
# ## Exercises
#
# ### Exercise 1: is evolution better than random search here?
# Using `table["evolution"]["values"]` and `table["random"]["values"]` (one final score per seed),
# compute the difference of the means and its 95 % confidence interval with the normal approximation,
# diff ± 1.96·sqrt(s1²/n1 + s2²/n2). Set `significant` to `True` if the interval excludes 0.

# %%
significant = ...


# %%
def _significant(a, b):
    d = statistics.mean(a) - statistics.mean(b)
    half = 1.96 * math.sqrt(statistics.variance(a) / len(a) + statistics.variance(b) / len(b))
    return d - half > 0 or d + half < 0

check("exercise 1", significant,
      lambda s: s == _significant(table["evolution"]["values"], table["random"]["values"]),
      "difference of means ± 1.96 * sqrt(var1/n1 + var2/n2); does it contain 0?")

# %% jupyter={"source_hidden": true} tags=["solution"]
# Solution
significant = _significant(table["evolution"]["values"], table["random"]["values"])
print("evolution vs random:", "significant" if significant else "not significant", "at 95 %")
check("exercise 1", significant,
      lambda s: s == _significant(table["evolution"]["values"], table["random"]["values"]))

# %% [markdown]
# ### Exercise 2: anytime performance
# After how many evaluations does the **mean** best-so-far of evolution first reach the mean *final*
# score of random search? Use `viz.anytime_curve(events)` (best-so-far per evaluation for one run) and
# average over the seeds; answer with an evaluation count (an integer), or `None` if it never does.

# %%
catch_up = ...


# %%
def _catch_up():
    curves = [viz.anytime_curve(ev)[1] for ev in runs["evolution"]]
    target = table["random"]["mean"]
    for i in range(min(len(c) for c in curves)):
        if statistics.mean(c[i] for c in curves) >= target:
            return i + 1
    return None

check("exercise 2", catch_up, lambda n: n == _catch_up(),
      "mean over seeds of the best-so-far at each evaluation, first index >= the random mean")

# %% jupyter={"source_hidden": true} tags=["solution"]
# Solution
catch_up = _catch_up()
print(f"evolution reaches random search's final mean after {catch_up} of {P['budget']} evaluations")
check("exercise 2", catch_up, lambda n: n == _catch_up())

# %%
print(f"this notebook ran in {time.perf_counter() - T0:.0f} s at scale {SCALE!r}")
