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
# # 08 · Benchmarking: racing strategies fairly, on two ground truths
#
# **Learning goals.** After this notebook you can
# 1. run a fair race: same space, same estimator, same budget of *simulated training time*, many seeds;
# 2. read *anytime* curves of **test regret** (how far the architecture a run would hand back is from
#    the best cell) against time and against queries, with 95 % bands;
# 3. decide whether a difference between two strategies is real (a rank test, corrected for the number
#    of pairs), and compare your ordering with the published ones;
# 4. tell whether a benchmark can separate strategies at all: its *noise floor*;
# 5. see when multi-fidelity search (successive halving, Hyperband) pays and when its proxy, the first
#    epochs, misleads.
#
# References. Dong & Yang, *NAS-Bench-201*, ICLR 2020, Table 5 (CIFAR-10 test accuracy after a
# 12,000 s simulated budget: REA 93.92±0.30, REINFORCE 93.85±0.37, random search 93.70±0.36, BOHB
# 93.61±0.52; DARTS and ENAS collapse to the all-skip cell, 54.30). White, Nolen & Savani, *Local search
# is state of the art for NAS benchmarks*, 2020. Li et al., *Hyperband*, JMLR 2018. Bergstra et al.,
# *Algorithms for hyper-parameter optimization* (TPE), NeurIPS 2011. Benmeziane et al.,
# *AnalogNAS-Bench*, 2025 (the CIFAR-10 truth used here).

# %% tags=["parameters"]
# Parameters: the only cell you need to edit. The environment variable NASBENCH_LAB_SCALE overrides
# SCALE (CI sets it to 'ci'). 'ci': seconds. 'classroom': a few minutes on a 2-core laptop CPU.
# 'gpu': the same races (the tables answer instantly everywhere) plus the one-shot strategies trained
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
# ## Two ground truths, and how far each can be trusted
#
# A fair race needs many seeds per strategy (a search is a random process) and identical conditions;
# with real training that is thousands of trainings per strategy. A tabular benchmark trained every
# architecture in advance, so an evaluation becomes a lookup and a race costs seconds. The lab has two:
#
# * **CIFAR-10** (AnalogNAS-Bench): every one of the 15,625 NB201 strings trained for 200 epochs on
#   CIFAR-10, the protocol of the NAS-Bench-201 paper. Each string was trained on its own, so the
#   isomorphic strings of one cell are independent trainings of it. A query answers the string's own
#   training, one noisy measurement (what a strategy chooses on); the cell's *truth* is the mean of
#   its trainings (what a run is judged by).
# * **the laptop table**: every one of the 6,466 cells trained on Fashion-MNIST at 16x16 for 2 short
#   epochs, twice (two seeds), on a 2-core CPU: a truth you can rebuild yourself. A strategy chooses
#   on one seed's validation accuracy and is judged by the mean test accuracy of both seeds.
#
# How much can a benchmark tell strategies apart? Its **noise floor** answers: rank the cells by one
# training, then by another, and measure how well the two rankings agree (Kendall τ; 1 = identical).

# %%
import numpy as np
from nasbench_lab.bench import BenchTable
from nasbench_lab.bench.cifar10 import Cifar10Table, _tau
from nasbench_lab.estimators.table import TableEstimator
from nasbench_lab.ranking import kendall_tau

CIFAR10 = Cifar10Table()
LAPTOP = BenchTable()
EST = TableEstimator(dataset="cifar10", table=CIFAR10)
EST_LAPTOP = TableEstimator(table=LAPTOP)
NOISE_CIFAR10, PAIRED = CIFAR10.noise_floor()
NOISE_LAPTOP = _tau(LAPTOP.scores(None, "test_acc", 0), LAPTOP.scores(None, "test_acc", 1))
print(f"noise floor, CIFAR-10: tau {NOISE_CIFAR10:.2f} between two trainings of a cell ({PAIRED:,} cells "
      f"trained two or more times)")
print(f"noise floor, laptop table: tau {NOISE_LAPTOP:.2f} between its two seeds (all {len(LAPTOP.archs):,} cells)")

truth, BEST = race.table_truth(CIFAR10)
TYPICAL = race.typical_cost(EST)
TIME_BUDGET = P["trainings"] * TYPICAL
print(f"CIFAR-10: best cell's true accuracy {BEST:.2f} %; a typical cell costs {TYPICAL / 3600:.1f} simulated "
      f"CPU hours (200 epochs); time budget {TIME_BUDGET / 3600:,.0f} h = about {P['trainings']} trainings")

# %% [markdown]
# The simulated cost: AnalogNAS-Bench records no training times, so the lab measured them: the NB201
# CIFAR network's training step was timed on a 2-core CPU for a sample of cells, a linear model in
# the numbers of each running operation was fitted (`nasbench-lab bench info --dataset cifar10` prints
# it and its R²), and each query is charged 200 epochs of predicted steps. Cells with more
# convolutions cost more, so a strategy that favours them gets fewer queries from the same budget.
#
# ## The contestants
#
# Every multi-trial strategy in the registry that can run on the CIFAR-10 table (a strategy added
# later joins automatically): random search, regularized evolution with the NB201 paper's settings
# (population 10, tournament 3), REINFORCE twice (the NB201 paper's policy, one softmax per decision,
# and Zoph & Le's LSTM controller), local search, the predictor-guided search, TPE (Bayesian
# optimisation through Optuna, with the multivariate model of BOHB) and zero-cost-guided search (its
# synflow scores come from the lab's study of the laptop network, not of this one). Successive halving
# and Hyperband need learning curves, which the CIFAR-10 table does not have: they race on the laptop
# table below.

# %%
from nasbench_lab.strategies import strategy_class

OPTIONS = {"evolution": ("evolution", {"population": 10, "sample": 3}),       # the NB201 paper's REA
           "reinforce": ("reinforce", {"controller": "independent"}),         # and its REINFORCE policy
           "reinforce_lstm": ("reinforce", {"controller": "lstm"})}           # Zoph & Le's controller
MULTI_TRIAL = [n for n in nl.list_strategies() if strategy_class(n).family == "multi-trial"]
try:
    import optuna  # noqa: F401
except ImportError:
    MULTI_TRIAL.remove("tpe")
    print("Optuna is not installed: TPE sits these races out (pip install 'nasbench_lab[bo]')")
STRATEGIES = {}
for n in MULTI_TRIAL:
    if strategy_class(n).multi_fidelity:
        continue
    STRATEGIES[n] = OPTIONS.get(n, (n, None))
    if n == "reinforce":
        STRATEGIES["reinforce_lstm"] = OPTIONS["reinforce_lstm"]
print("racing on CIFAR-10:", ", ".join(STRATEGIES))

# %% [markdown]
# ## The race on CIFAR-10
#
# Every strategy, every seed, the same time budget (and at most 2,000 queries). The figure fills in
# as each strategy finishes its seeds: mean test regret against simulated time, with a 95 % band. The
# time axis is logarithmic: every run starts at the same high regret and the strategies separate only
# later, so each tenfold of budget gets the same room; it starts where every run has made its first
# query (before that, a mean would be over the few runs that happen to have started).

# %%
from nasbench_lab.widgets import FigurePane

pane = FigurePane(height=420)
if pane.widget is not None:
    display(pane.widget)
RESULT = {}


def redraw():
    pane.show(viz.anytime_spec({n: race.curves(t, "seconds") for n, t in RESULT.items()}, x="time",
                               ylabel="test regret (%)", title="CIFAR-10: test regret of the incumbent",
                               log_x=True))


t = time.perf_counter()
for label, entry in STRATEGIES.items():
    RESULT.update(race.race({label: entry}, EST, range(P["seeds"]), budget=2000, time_budget=TIME_BUDGET,
                            truth=truth, best=BEST))
    redraw()
print(f"{len(STRATEGIES)} strategies x {P['seeds']} seeds in {time.perf_counter() - t:.1f} s")

# %%
viz.anytime_figure({n: race.curves(t, "seconds") for n, t in RESULT.items()}, x="time", log_x=True,
                   ylabel="test regret (%)", title="CIFAR-10: test regret against simulated training time")

# %% [markdown]
# Against queries instead (also on a log axis): which axis is fair depends on what costs you; on a
# real cluster, time.

# %%
viz.anytime_figure({n: race.curves(t, "queries") for n, t in RESULT.items()}, x="evaluations", log_x=True,
                   ylabel="test regret (%)", title="CIFAR-10: test regret against queries")

# %% [markdown]
# ## The final table, with its uncertainty
#
# Mean test regret at the time budget, a 95 % bootstrap interval of the mean, the median, how many
# runs ended on the best cell, and the queries used. Then every pair of strategies: a two-sided
# Mann-Whitney U test on the final regrets, Holm-corrected for the number of pairs.


# %%
def show_table(result):
    rows = race.summary(result)
    print(f"{'strategy':20s} {'regret':>7s} {'95 % CI':>16s} {'median':>7s} {'optimum':>8s} {'queries':>8s}")
    for r in rows:
        print(f"{r['strategy']:20s} {r['mean']:7.3f} [{r['ci'][0]:6.3f}, {r['ci'][1]:6.3f}] {r['median']:7.3f} "
              f"{r['optimum']:4d}/{r['runs']:<3d} {r['queries']:8.0f}")
    try:
        pairs = race.compare(result)
    except race.RaceError as exc:            # scipy missing: the table stands, the tests do not
        print(exc)
        return rows, []
    significant = [p for p in pairs if p["significant"]]
    print(f"\n{len(significant)} of {len(pairs)} pairs differ significantly (Holm, 5 %):")
    for p in significant:
        print("  ", p["statement"])
    return rows, pairs


ROWS, PAIRS = show_table(RESULT)

# %% [markdown]
# ## Our ordering against the papers'
#
# The NB201 paper's order on CIFAR-10 is REA > REINFORCE > random > BOHB, all within half a point of
# test accuracy; White et al. found local search ahead of all of them on NB201. The cells below set our
# final true accuracy (the best cell's minus the regret) beside the paper's, and check each claim
# against our race as a statement with its test, rather than by eye.

# %%
MEAN = {r["strategy"]: r["mean"] for r in ROWS}
ORDER = [r["strategy"] for r in ROWS]
PAPER = {"evolution": 93.92, "reinforce": 93.85, "random": 93.70, "tpe": 93.61}     # NB201 Table 5 (TPE: BOHB's)
print("ordering here (lowest regret first):", " < ".join(ORDER))
print(f"{'strategy':16s} {'ours: true acc':>15s} {'NB201 paper':>12s}")
for n in ORDER:
    paper = f"{PAPER[n]:.2f}" if n in PAPER else "-"
    print(f"{n:16s} {BEST - MEAN[n]:15.2f} {paper:>12s}")


def verdict(a, b):
    """Is a ahead of b here, and is the difference significant?"""
    if a not in MEAN or b not in MEAN:
        return f"{a} vs {b}: not raced"
    pair = next((p for p in PAIRS if {p["a"], p["b"]} == {a, b}), None)
    sig = pair is not None and pair["significant"]
    ahead = MEAN[a] < MEAN[b]
    return (f"{a} {'ahead of' if ahead else 'behind'} {b} (regret {MEAN[a]:.3f} vs {MEAN[b]:.3f}; "
            f"{'significant' if sig else 'not significant'})")


AGREE = {}
for a, b in (("evolution", "reinforce"), ("reinforce", "random"), ("random", "tpe"), ("evolution", "random")):
    AGREE[(a, b)] = a in MEAN and b in MEAN and MEAN[a] < MEAN[b]
    print("NB201 paper says", a, ">", b, "->", verdict(a, b))
for other in [n for n in ORDER if n != "local"]:
    AGREE[("local", other)] = "local" in MEAN and MEAN["local"] < MEAN[other]
    print("White et al. say local > others ->", verdict("local", other))
print(f"\nthe race agrees with {sum(AGREE.values())} of the {len(AGREE)} published orderings checked")

# %% [markdown]
# ### Reading it
#
# * The verdicts above are computed from this run, not written in advance. How many pairs a rank test
#   can separate depends on the seeds (at `ci` scale, 4 per strategy, hardly any) and on how far the
#   truth can be trusted; the laptop race below is the contrast.
# * A mean regret curve can *rise*: the incumbent is chosen on one noisy measurement (one training of
#   the string), so a newly found cell with a higher measured accuracy can be truly worse than the
#   one it replaces. That is the winner's curse of notebook 06, seen from inside a search.
# * Why our numbers differ from the paper's even where the ordering agrees: (1) the budget: the paper
#   gave every strategy 12,000 s of its own simulated (GPU) time, we give `P["trainings"]` typical
#   trainings of CPU time from a cost model; (2) the paper's strategies saw a validation accuracy and
#   report test accuracy averaged over its seeds, ours choose on one training's CIFAR-10 test accuracy
#   and are judged by the mean of the cell's isomorphic trainings (most cells have only one, so their
#   truth *is* the training that was chosen on: the winner's curse is smaller than it should be);
#   (3) REINFORCE's learning rate and baseline follow the lab's classroom defaults, tuned for short
#   budgets, not the paper's.
# * Local search exploits *locality*: a neighbour of a good cell tends to be good. On a trustworthy
#   truth that holds, which is why White et al. found it so strong on NB201.

# %% [markdown]
# ## The contrast: the same race on the laptop table
#
# The laptop table is noisier (two seeds of a cell agree with τ ≈ 0.3). Race the classic strategies
# and the two multi-fidelity ones on it, with the same number of seeds and the same budget in typical
# trainings, and count how many pairs a rank test can tell apart.

# %%
truth_laptop, BEST_LAPTOP = race.table_truth(LAPTOP)
TYPICAL_LAPTOP = race.typical_cost(EST_LAPTOP)
CONTRAST = {n: entry for n, entry in STRATEGIES.items() if n in ("random", "evolution", "reinforce", "local")}
CONTRAST.update({n: (n, None) for n in MULTI_TRIAL if strategy_class(n).multi_fidelity})
t = time.perf_counter()
RESULT_LAPTOP = race.race(CONTRAST, EST_LAPTOP, range(P["seeds"]), budget=2000,
                          time_budget=P["trainings"] * TYPICAL_LAPTOP, truth=truth_laptop, best=BEST_LAPTOP)
print(f"{len(CONTRAST)} strategies x {P['seeds']} seeds on the laptop table in {time.perf_counter() - t:.1f} s\n")
ROWS_LAPTOP, PAIRS_LAPTOP = show_table(RESULT_LAPTOP)

# %%
same = [(p["a"], p["b"]) for p in PAIRS if p["a"] in CONTRAST and p["b"] in CONTRAST]
SIG_CIFAR10 = sum(p["significant"] for p in PAIRS if (p["a"], p["b"]) in same)
SIG_LAPTOP = sum(p["significant"] for p in PAIRS_LAPTOP if (p["a"], p["b"]) in same or (p["b"], p["a"]) in same)
print(f"of the {len(same)} pairs raced on both truths, significantly different: {SIG_CIFAR10} on CIFAR-10 "
      f"(noise floor tau {NOISE_CIFAR10:.2f}), {SIG_LAPTOP} on the laptop table (tau {NOISE_LAPTOP:.2f})")
viz.anytime_figure({n: race.curves(t, "seconds") for n, t in RESULT_LAPTOP.items()}, x="time", log_x=True,
                   ylabel="test regret (%)", title="laptop table: test regret against simulated training time")

# %% [markdown]
# That is the lesson about benchmarks: the same strategies, the same seeds and the same statistics,
# and whether they can be told apart depends on the truth they race on. On a noisy benchmark every
# strategy's incumbent is chosen on noise, regrets are dominated by it, and "no significant
# difference" says more about the benchmark than about the strategies.
#
# ## Multi-fidelity: when the first epochs are a good proxy, and when they are not
#
# Successive halving trains many cells for one epoch and continues only the best. That is worth it
# only if the one-epoch accuracy ranks cells the way the full training does. The laptop table has
# both (the CIFAR-10 table has no curves), so we can measure it.

# %%
curves = LAPTOP.array("val_curve", "laptop")                 # [cell, seed, epoch]
test = LAPTOP.array("test_acc", "laptop")
true_acc = np.nanmean(test, axis=1)
TAU_EPOCH1 = kendall_tau(curves[:, 0, 0], true_acc)
TAU_EPOCH2 = kendall_tau(curves[:, 0, 1], true_acc)
MEAN_LAPTOP = {r["strategy"]: r["mean"] for r in ROWS_LAPTOP}
print(f"Kendall tau with the true accuracy, over {len(true_acc)} cells:")
print(f"  validation after epoch 1 of 2: {TAU_EPOCH1:.3f}")
print(f"  validation after epoch 2 of 2: {TAU_EPOCH2:.3f}  (what every full-fidelity strategy selects on)")
for n in ("successive_halving", "hyperband", "random"):
    if n in MEAN_LAPTOP:
        print(f"  final regret {n:20s} {MEAN_LAPTOP[n]:.3f}")

# %%
def multi_fidelity_reading():
    sh, hb, rnd = (MEAN_LAPTOP.get(n) for n in ("successive_halving", "hyperband", "random"))
    if None in (sh, hb, rnd):
        return "a strategy is missing from the laptop race"
    pair = {frozenset((p["a"], p["b"])): p for p in PAIRS_LAPTOP}
    def vs(a, b, ma, mb):
        p = pair.get(frozenset((a, b)))
        sig = "significantly" if p is not None and p["significant"] else "not significantly"
        return f"{a} {'below' if ma < mb else 'above'} {b} ({ma:.3f} vs {mb:.3f}, {sig})"
    return "; ".join((vs("successive_halving", "random", sh, rnd), vs("hyperband", "random", hb, rnd),
                      vs("hyperband", "successive_halving", hb, sh)))


print("regret on the laptop table:", multi_fidelity_reading())

# %% [markdown]
# Read the τ of the first epoch against the second: the cosine schedule is still at its highest
# learning rate after one of two epochs, and small cells learn fastest, so the first epoch ranks cells
# poorly and successive halving can throw eventual winners away in its first rung; Hyperband hedges
# with brackets that do not stop early. The line above says, for this run, whether either of them
# beat random search at all. On benchmarks with long training (NB201's 200 epochs) the early-epoch
# proxy is far better and multi-fidelity methods shine (BOHB, Falkner et al. 2018). The lesson: a
# multi-fidelity method is only as good as its low fidelity, and you can measure that first.

# %% [markdown]
# ## One-shot strategies on the truths (gpu scale)
#
# DARTS, ENAS and SPOS train a supernet on the data, so they race only at `gpu` scale; both tables then
# score their final cells (notebooks 04 and 05 run them at classroom scale).

# %%
if P["one_shot"]:
    for name in ("darts", "enas", "spos"):
        r = nl.search("nb201", name, EST_LAPTOP, budget=10, dataset="fashion-mnist", device=P["device"], seed=0)
        print(f"{name:6s} final cell {r.best.arch}: CIFAR-10 truth {truth(r.best.arch):.2f} % "
              f"(regret {BEST - truth(r.best.arch):.2f}), laptop truth {truth_laptop(r.best.arch):.2f} %")
else:
    print("one-shot strategies race at gpu scale (they train a supernet on Fashion-MNIST first)")

# %% [markdown]
# ## Exercises
#
# ### Exercise 1: is evolution better than random search here?
# Using `race.finals(RESULT)["evolution"]` and `race.finals(RESULT)["random"]` (one final regret per
# seed on CIFAR-10), compute the difference of the means and its 95 % confidence interval with the
# normal approximation, diff ± 1.96·sqrt(s1²/n1 + s2²/n2). Set `significant` to `True` if the interval
# excludes 0.

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
print(f"evolution matches random search's final mean regret after "
      f"{'never' if catch_up is None else f'{catch_up:,.0f}'} of {TIME_BUDGET:,.0f} simulated s")
check("exercise 2", catch_up, lambda n: n == _catch_up())

# %%
print(f"this notebook ran in {time.perf_counter() - T0:.0f} s at scale {SCALE!r}")
