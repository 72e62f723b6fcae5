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
# # 08 · Benchmarking: racing strategies fairly, on ground truth
#
# **Learning goals.** After this notebook you can
# 1. run a fair race: same space, same estimator, same budget of *simulated training time*, many seeds;
# 2. read *anytime* curves of **test regret** (how far the architecture a run would hand back is from
#    the best cell in the table) against time and against queries, with 95 % bands;
# 3. decide whether a difference between two strategies is real (a rank test, corrected for the number
#    of pairs), and compare your ordering with the published ones;
# 4. see when multi-fidelity search (successive halving, Hyperband) pays and when its proxy, the first
#    epochs, misleads.
#
# References. Dong & Yang, *NAS-Bench-201*, ICLR 2020, Table 5 (CIFAR-10 test accuracy after a
# 12,000 s simulated budget: REA 93.92±0.30, REINFORCE 93.85±0.37, random search 93.70±0.36, BOHB
# 93.61±0.52; DARTS and ENAS collapse to the all-skip cell, 54.30). White, Nolen & Savani, *Local search
# is state of the art for NAS benchmarks*, 2020. Li et al., *Hyperband*, JMLR 2018. Bergstra et al.,
# *Algorithms for hyper-parameter optimization* (TPE), NeurIPS 2011.

# %% tags=["parameters"]
# Parameters: the only cell you need to edit. The environment variable NASBENCH_LAB_SCALE overrides
# SCALE (CI sets it to 'ci'). 'ci': seconds. 'classroom': a few minutes on a 2-core laptop CPU.
# 'gpu': the same race (the table answers instantly everywhere) plus the one-shot strategies trained
# on a CUDA device. PRESETS: this notebook's settings per scale; the settings all lessons share
# (fidelity, dataset, device, threads) come from nasbench_lab.course.
# seeds: runs per strategy; trainings: the time budget, in typical trainings of one cell.
import os

SCALE = os.environ.get("NASBENCH_LAB_SCALE", "classroom")
PRESETS = {
    "ci":        {"seeds": 4,   "trainings": 40,  "one_shot": False},
    "classroom": {"seeds": 100, "trainings": 150, "one_shot": False},
    "gpu":       {"seeds": 100, "trainings": 150, "one_shot": True},
}

# %%
import pathlib
import sys
import time

try:
    import nasbench_lab
except ImportError:           # an uninstalled checkout: the package sits one folder above notebooks/
    sys.path.insert(0, str(pathlib.Path.cwd().resolve().parent))
    import nasbench_lab
import nasbench_lab as nl
from nasbench_lab import race, viz
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
# ## The ground truth: the lab's tabular benchmark
#
# A fair race needs many seeds per strategy (a search is a random process) and identical conditions;
# with real training that is thousands of trainings per strategy. A tabular benchmark trained every
# architecture once, so an evaluation becomes a lookup and a race costs seconds. The lab's table
# (`nasbench_lab.bench`, built on a laptop CPU) holds every one of the 6,466 distinct NB201 cells
# trained on Fashion-MNIST (16x16, 2 epochs over 3,000 images, two seeds), with each training's measured
# seconds: a lookup *charges* those seconds, so a race runs to a budget of simulated time as
# NATS-Bench races do, and a strategy that prefers cheap cells gets more queries from it.
#
# What a run is judged by: its incumbent (the best cell by the *validation* accuracy of the seed it
# saw) and that cell's *true* accuracy, the table's mean test accuracy over both seeds. The test
# regret is the best true accuracy in the table minus the incumbent's.

# %%
import numpy as np
from nasbench_lab.bench import BenchTable
from nasbench_lab.bench.estimator import TableEstimator
from nasbench_lab.ranking import kendall_tau

TABLE = BenchTable()
EST = TableEstimator(table=TABLE)
truth, BEST = race.table_truth(TABLE)
TYPICAL = race.typical_cost(EST)
TIME_BUDGET = P["trainings"] * TYPICAL
print(f"{len(TABLE.archs)} cells, setting {EST.setting!r}; best true test accuracy {BEST:.2f} %")
print(f"a typical cell costs {TYPICAL:.2f} simulated s; time budget {TIME_BUDGET:.0f} s "
      f"(about {P['trainings']} trainings)")

# %% [markdown]
# ## The contestants
#
# Every multi-trial strategy in the registry (a strategy added later joins automatically):
# random search, regularized evolution with the NB201 paper's settings (population 10, tournament 3),
# REINFORCE with the NB201 paper's policy (one softmax per decision, not Zoph & Le's LSTM), local
# search, the predictor-guided search, successive halving and Hyperband (they read the table's
# per-epoch validation curve: a cell at 1 epoch costs half) and TPE (Bayesian optimisation through
# Optuna, with the multivariate model of BOHB).

# %%
from nasbench_lab.strategies import strategy_class

OPTIONS = {"evolution": {"population": 10, "sample": 3},        # the NB201 paper's REA settings
           "reinforce": {"controller": "independent"}}            # and its REINFORCE policy
STRATEGIES = {n: OPTIONS.get(n) for n in nl.list_strategies() if strategy_class(n).family == "multi-trial"}
try:
    import optuna  # noqa: F401
except ImportError:
    STRATEGIES.pop("tpe", None)
    print("Optuna is not installed: TPE sits this race out (pip install 'nasbench_lab[bo]')")
print("racing:", ", ".join(STRATEGIES))

# %% [markdown]
# ## The race
#
# Every strategy, every seed, the same time budget (and at most 2,000 queries). The figure fills in
# as each strategy finishes its seeds: mean test regret against simulated time, with a 95 % band.

# %%
from nasbench_lab.widgets import FigurePane

pane = FigurePane(height=420)
if pane.widget is not None:
    display(pane.widget)
RESULT = {}


def redraw():
    pane.show(viz.anytime_spec({n: race.curves(t, "seconds") for n, t in RESULT.items()}, x="time",
                               ylabel="test regret (%)", title="test regret of the incumbent"))


t = time.perf_counter()
for name, options in STRATEGIES.items():
    RESULT.update(race.race({name: options}, EST, range(P["seeds"]), budget=2000, time_budget=TIME_BUDGET,
                            truth=truth, best=BEST))
    redraw()
print(f"{len(STRATEGIES)} strategies x {P['seeds']} seeds in {time.perf_counter() - t:.1f} s")

# %%
viz.anytime_figure({n: race.curves(t, "seconds") for n, t in RESULT.items()}, x="time",
                   ylabel="test regret (%)", title="test regret against simulated training time")

# %% [markdown]
# Against queries instead: successive halving and Hyperband spend many queries on one-epoch looks, so
# per query they look worse than per second; which axis is fair depends on what costs you (on a real
# cluster, time).

# %%
viz.anytime_figure({n: race.curves(t, "queries") for n, t in RESULT.items()}, x="evaluations",
                   ylabel="test regret (%)", title="test regret against queries")

# %% [markdown]
# ## The final table, with its uncertainty
#
# Mean test regret at the time budget, a 95 % bootstrap interval of the mean, the median, how many
# runs ended on the table's best cell, and the queries used. Then every pair of strategies: a
# two-sided Mann-Whitney U test on the final regrets, Holm-corrected for the number of pairs.

# %%
ROWS = race.summary(RESULT)
print(f"{'strategy':20s} {'regret':>7s} {'95 % CI':>16s} {'median':>7s} {'optimum':>8s} {'queries':>8s}")
for r in ROWS:
    print(f"{r['strategy']:20s} {r['mean']:7.3f} [{r['ci'][0]:6.3f}, {r['ci'][1]:6.3f}] {r['median']:7.3f} "
          f"{r['optimum']:4d}/{r['runs']:<3d} {r['queries']:8.0f}")
try:
    PAIRS = race.compare(RESULT)
except race.RaceError as exc:                # scipy missing: the table stands, the tests do not
    PAIRS = []
    print(exc)
significant = [p for p in PAIRS if p["significant"]]
print(f"\n{len(significant)} of {len(PAIRS)} pairs differ significantly (Holm, 5 %):")
for p in significant:
    print("  ", p["statement"])

# %% [markdown]
# ## Our ordering against the papers'
#
# The NB201 paper's order on CIFAR-10 is REA > REINFORCE > random > BOHB, all within half a point; White
# et al. found local search ahead of all of them on NB201. The cell below checks each claim against
# our race, as a statement with its test, rather than by eye.

# %%
MEAN = {r["strategy"]: r["mean"] for r in ROWS}
ORDER = [r["strategy"] for r in ROWS]
print("ordering here (lowest regret first):", " < ".join(ORDER))


def verdict(a, b):
    """Is a ahead of b here, and is the difference significant?"""
    if a not in MEAN or b not in MEAN:
        return f"{a} vs {b}: not raced"
    pair = next((p for p in PAIRS if {p["a"], p["b"]} == {a, b}), None)
    sig = pair is not None and pair["significant"]
    ahead = MEAN[a] < MEAN[b]
    return (f"{a} {'ahead of' if ahead else 'behind'} {b} ({MEAN[a]:.2f} vs {MEAN[b]:.2f} regret; "
            f"{'significant' if sig else 'not significant'})")


for a, b in (("evolution", "reinforce"), ("reinforce", "random"), ("random", "tpe"), ("evolution", "random")):
    print("NB201 paper says", a, ">", b, "->", verdict(a, b))
for other in [n for n in ORDER if n != "local"]:
    print("White et al. say local > others ->", verdict("local", other))

# %% [markdown]
# ### Reading it
#
# * On this table the differences between strategies are small against the noise: two trainings of
#   the same cell agree only with Kendall τ ≈ 0.28 (`nasbench-lab bench info`), so the validation score
#   every strategy selects on is a noisy measurement, and a strategy that finds the best *validation*
#   cell has not found the best *true* cell. This caps every strategy's regret from below.
# * Where our ordering differs from the paper's, it is usually not significant, in our race as in the
#   paper's (their four strategies sit within one standard deviation of each other). Compare with
#   your own run: the statements above are computed, not written in advance.
# * Local search exploits *locality*: a neighbour of a good cell tends to be good. Its advantage in
#   White et al. comes from exactly that; on a noisy table the neighbourhood is noisy too.

# %% [markdown]
# ## Multi-fidelity: when the first epochs are a good proxy, and when they are not
#
# Successive halving trains many cells for one epoch and continues only the best. That is worth it
# only if the one-epoch accuracy ranks cells the way the full training does. The table has both, so
# we can measure it.

# %%
curves = TABLE.array("val_curve", "laptop")                  # [cell, seed, epoch]
test = TABLE.array("test_acc", "laptop")
true_acc = np.nanmean(test, axis=1)
TAU_EPOCH1 = kendall_tau(curves[:, 0, 0], true_acc)
TAU_EPOCH2 = kendall_tau(curves[:, 0, 1], true_acc)
print(f"Kendall tau with the true accuracy, over {len(true_acc)} cells:")
print(f"  validation after epoch 1 of 2: {TAU_EPOCH1:.3f}")
print(f"  validation after epoch 2 of 2: {TAU_EPOCH2:.3f}  (what every full-fidelity strategy selects on)")
for n in ("successive_halving", "hyperband", "random"):
    if n in MEAN:
        print(f"  final regret {n:20s} {MEAN[n]:.3f}")

# %% [markdown]
# The first epoch's accuracy hardly predicts the final one here (the cosine schedule is still at its
# highest learning rate after one of two epochs, and small cells learn fastest). Successive halving
# therefore throws away eventual winners in its first rung; Hyperband hedges with brackets that do not
# stop early, which is why it suffers less. On benchmarks with long training (NB201's 200 epochs) the
# early-epoch proxy is far better and multi-fidelity methods shine (BOHB, Falkner et al. 2018). The
# lesson: a multi-fidelity method is only as good as its low fidelity, and you can measure that first.

# %% [markdown]
# ## One-shot strategies on the table (gpu scale)
#
# DARTS, ENAS and SPOS train a supernet on the data, so they race only at `gpu` scale; the table then
# scores their final cells (notebooks 04 and 05 run them at classroom scale).

# %%
if P["one_shot"]:
    for name in ("darts", "enas", "spos"):
        r = nl.search("nb201", name, EST, budget=10, dataset="fashion-mnist", device=P["device"], seed=0)
        print(f"{name:6s} final cell {r.best.arch}: true test accuracy {truth(r.best.arch):.2f} %, "
              f"regret {BEST - truth(r.best.arch):.2f}")
else:
    print("one-shot strategies race at gpu scale (they train a supernet on Fashion-MNIST first)")

# %% [markdown]
# ## Exercises
#
# ### Exercise 1: is evolution better than random search here?
# Using `race.finals(RESULT)["evolution"]` and `race.finals(RESULT)["random"]` (one final regret per
# seed), compute the difference of the means and its 95 % confidence interval with the normal
# approximation, diff ± 1.96·sqrt(s1²/n1 + s2²/n2). Set `significant` to `True` if the interval excludes 0.

# %%
significant = ...


# %%
import math
import statistics

FINALS = race.finals(RESULT)


def _significant(a, b):
    d = statistics.mean(a) - statistics.mean(b)
    half = 1.96 * math.sqrt(statistics.variance(a) / len(a) + statistics.variance(b) / len(b))
    return d - half > 0 or d + half < 0

check("exercise 1", significant,
      lambda s: s == _significant(FINALS["evolution"], FINALS["random"]),
      "difference of means ± 1.96 * sqrt(var1/n1 + var2/n2); does it contain 0?")

# %% jupyter={"source_hidden": true} tags=["solution"]
# Solution
significant = _significant(FINALS["evolution"], FINALS["random"])
print("evolution vs random:", "significant" if significant else "not significant", "at 95 %",
      "(the normal approximation; the Mann-Whitney test above does not assume normal regrets)")
check("exercise 1", significant, lambda s: s == _significant(FINALS["evolution"], FINALS["random"]))

# %% [markdown]
# ### Exercise 2: anytime performance
# How many simulated seconds does evolution's **mean** regret take to fall to random search's mean
# regret at the full time budget? Use `race.regret_at(RESULT[name], grid, "seconds")` (a runs x grid
# matrix) on `grid = np.linspace(0, TIME_BUDGET, 301)`; answer with a grid value (a float), or `None`
# if it never does.

# %%
catch_up = ...


# %%
import warnings


def _catch_up():
    grid = np.linspace(0, TIME_BUDGET, 301)
    target = float(np.nanmean(race.regret_at(RESULT["random"], [TIME_BUDGET], "seconds")))
    with warnings.catch_warnings():                  # grid points before any run's first evaluation are NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(race.regret_at(RESULT["evolution"], grid, "seconds"), axis=0)
    hit = np.flatnonzero(mean <= target)
    return float(grid[hit[0]]) if hit.size else None

check("exercise 2", catch_up, lambda n: n == _catch_up(),
      "mean over seeds (axis 0) of the regret matrix; the first grid point at or below the target")

# %% jupyter={"source_hidden": true} tags=["solution"]
# Solution
catch_up = _catch_up()
print(f"evolution matches random search's final mean regret after {catch_up} of {TIME_BUDGET:.0f} simulated s")
check("exercise 2", catch_up, lambda n: n == _catch_up())

# %%
print(f"this notebook ran in {time.perf_counter() - T0:.0f} s at scale {SCALE!r}")
