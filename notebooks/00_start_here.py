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
# # 00 · Start here: what neural architecture search is
#
# **Learning goals.** After this notebook you can
# 1. name the three parts of every NAS method (search space, search strategy, performance estimation)
#    and point at each of them in one call of `nasbench_lab.search`;
# 2. run a search live in the `Lab` widget and read its panels;
# 3. swap one part (the estimator) without touching the other two, and say what that changes.
#
# The rest of the course goes deeper into each part: spaces (01), strategies (02 RL, 03 evolution,
# 04 DARTS, 05 one-shot), the pitfalls (06), free play (07), fair comparisons (08) and zero-cost
# proxies (09).

# %% tags=["parameters"]
# Parameters: the only cell you need to edit. The environment variable NASBENCH_LAB_SCALE overrides
# SCALE (CI sets it to 'ci'). 'ci': seconds, synthetic data. 'classroom': a few minutes on a 2-core
# laptop CPU with Fashion-MNIST. 'gpu': bigger runs on a CUDA device. PRESETS: this notebook's settings
# per scale; the settings all lessons share (fidelity, dataset, device, threads) come from
# nasbench_lab.course, and a key named here overrides the shared one.
import os

SCALE = os.environ.get("NASBENCH_LAB_SCALE", "classroom")
PRESETS = {
    "ci":        {"budget": 6,  "lab_budget": 8,  "synthetic_budget": 200},
    "classroom": {"budget": 6,  "lab_budget": 10, "synthetic_budget": 200},
    "gpu":       {"budget": 20, "lab_budget": 30, "synthetic_budget": 200},
}

# %%
import pathlib
import random
import sys
import time

import numpy as np

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
# ## Three questions
#
# Designing a network by hand means answering many small questions: how many layers, which
# operation in each, where the shortcuts go. **Neural architecture search (NAS)** lets an algorithm
# answer them. Every NAS method, however fancy, is made of three parts:
#
# | part | the question it answers | in `nasbench_lab` |
# |---|---|---|
# | **search space** | which networks are allowed at all? | `get_space("nb201")`, `"darts"`, `"chain"`, `"mobile"` |
# | **search strategy** | which candidate do we try next, given what we have seen? | multi-trial: `random`, `evolution`, `reinforce`, `local`, `predictor`, `successive_halving`, `hyperband`, `tpe`, `zerocost_guided`; one-shot: `darts`, `enas`, `spos`, `proxyless` |
# | **performance estimation** | how good is a candidate, and how much do we pay to find out? | `train`, `lowfi`, `synthetic`, `supernet`, `zerocost`, `table` (two truths: the laptop Fashion-MNIST table and CIFAR-10 after 200 epochs) |
#
# The space limits what can be found, the strategy decides how quickly good regions are found, and the
# estimator decides what "good" even means: a cheap estimate that ranks networks wrongly sends any
# strategy in the wrong direction. The library keeps the three apart, so each can be swapped alone.

# %%
print("spaces:    ", nl.list_spaces())
print("strategies:", nl.list_strategies())
print("estimators:", nl.list_estimators())

# %%
from nasbench_lab.data import load_dataset
from nasbench_lab.train import resolve_device

# Loaded once and handed to every estimator (estimator_options={"data": DATA}): each search would
# otherwise read and normalise the dataset again.
DATA = load_dataset(P["dataset"], device=resolve_device(P["device"]))
TRAIN = {"data": DATA, "fidelity": P["fidelity"]}       # estimator_options of the train estimator
print(DATA.info.description, "| train/val/test:", len(DATA.train_y), len(DATA.val_y), len(DATA.test_y))

# %% [markdown]
# ## Part 1: a search space
#
# We use the NAS-Bench-201 cell (Dong & Yang, ICLR 2020): a small graph with 4 nodes and 6 edges;
# every edge picks one of 5 operations. A network stacks copies of this cell. An architecture is a
# plain value, written as a string; `sample` draws one at random (the random generator belongs to
# us, the caller, so the draw is reproducible).

# %%
space = nl.get_space("nb201")
rng = random.Random(0)
arch = space.sample(rng)
print(space.to_str(arch))
viz.dag_figure(space, arch)

# %% [markdown]
# ## Part 3 before part 2: estimating one candidate
#
# The honest way to score a network is to train it and measure its accuracy on held-out data. The
# `train` estimator does exactly that, at a *fidelity* we choose (epochs, images, network width).
# At classroom scale one candidate costs a few seconds; in the original NAS papers it cost hours of
# GPU time. Keep an eye on `cost`: it is what every later trick tries to cut.

# %%
estimator = nl.get_estimator("train", dataset=P["dataset"], device=P["device"], **TRAIN)
ev = estimator.evaluate(space, arch, seed=0)
print(f"validation accuracy {ev.val_acc:.1f} %, test accuracy {ev.test_acc:.1f} %, "
      f"cost {ev.cost:.1f} s, {ev.metrics['params']:,} parameters")

# %% [markdown]
# ## Part 2: a strategy, and the whole search in one call
#
# The simplest strategy is random search: draw, evaluate, keep the best. `search` takes one argument
# per part, plus the budget (number of evaluations) and a seed. `on_event` receives the stream of
# events the search emits (one per evaluation, and more for richer strategies); here an `EventLog`
# keeps them so we can plot the history afterwards.

# %%
log = nl.EventLog()
result = nl.search(space="nb201", strategy="random", estimator="train", budget=P["budget"],
                   dataset=P["dataset"], device=P["device"], seed=0, estimator_options=TRAIN,
                   on_event=log)
print("best:", result.best.arch, f"{result.best.val_acc:.1f} %", f"({result.seconds:.0f} s)")
best_so_far = viz.best_so_far(e.val_acc for e in result.evaluations)
improved = sum(b > a for a, b in zip(best_so_far, best_so_far[1:]))
print(f"{len(result.evaluations)} trainings; the best so far improved {improved} time(s) after the first")
viz.history_figure(log.events)

# %% [markdown]
# Note the selection rule: the best architecture is the one with the best **validation** accuracy.
# The test accuracy is only reported, never used to choose; choosing on the test set would make the
# reported number optimistic.
#
# A handful of trainings shows little of how a search behaves. The same call with `estimator="table"`
# and `dataset="cifar10"` looks each cell up in a benchmark instead: every NB201 cell trained for 200
# epochs on CIFAR-10 (AnalogNAS-Bench), so an evaluation costs microseconds and a search of a hundred
# cells shows its history. Here the score a strategy sees is one training of the cell; the table also
# knows the cell's *truth*, the mean over all its trainings (`test_acc`), which is what we report.

# %%
table_log = nl.EventLog()
table_result = nl.search(space="nb201", strategy="random", estimator="table", dataset="cifar10", budget=100,
                         seed=0, on_event=table_log)
from nasbench_lab.bench.cifar10 import Cifar10Table

CIFAR10 = Cifar10Table()
first = table_result.evaluations[0].val_acc
median_cell = float(np.median(CIFAR10.scores("test_acc")))
best_cell = CIFAR10.best()["truth"]["test_acc"]
print("best of 100 on the CIFAR-10 truth:", table_result.best.arch)
print(f"  its training {table_result.best.val_acc:.2f} %, the cell's truth {table_result.best.test_acc:.2f} %")
print(f"  the first draw scored {first:.2f} %; the median cell of the table {median_cell:.2f} %, "
      f"its best cell {best_cell:.2f} %: most cells are good, the last point is what is hard to find")
viz.history_figure(table_log.events)

# %% [markdown]
#
# ## The Lab: the same search, live
#
# The `Lab` widget wraps `search` with controls and live panels: the history of evaluations, the
# best cell so far, and a tab per strategy (the population of evolution, the controller of RL, the
# alphas of DARTS). Press **Run** to start a search in the background and **Stop** to end it; the
# kernel stays free meanwhile. The next cells start it from code, so the notebook also runs top to
# bottom unattended.

# %%
from nasbench_lab.widgets import Lab, widgets_available

lab_settings = dict(space="nb201", strategy="evolution", estimator="train", dataset=P["dataset"],
                    budget=P["lab_budget"], device=P["device"], seed=1,
                    strategy_options={"population": 4, "sample": 2},
                    estimator_options={"fidelity": P["fidelity"]})
if widgets_available():
    lab = Lab(**lab_settings)
    display(lab)
    lab.run()                    # what the Run button does; returns at once
else:                            # no ipywidgets/plotly: the same search without the widget
    lab = None
    print("ipywidgets/plotly/anywidget missing: pip install 'nasbench_lab[lab]'; running without the Lab")

# %%
if lab is not None:
    lab.wait()                   # only for unattended runs: wait for the background search
    print(lab.state, "| best:", lab.result.best.arch, f"{lab.result.best.val_acc:.1f} %")
    assert lab.state == "finished", lab.errors
else:
    r = nl.search(**lab_settings)
    print("best:", r.best.arch, f"{r.best.val_acc:.1f} %")

# %% [markdown]
# ## Swapping the estimator
#
# Training is the expensive part. The `synthetic` estimator replaces it with a made-up accuracy
# landscape over the same space: instant, deterministic, and with a known global optimum
# (`SyntheticEstimator().optimum(space)`). It tells us nothing about real networks, but it is
# perfect for studying strategies: hundreds of evaluations per second, and we know the right answer.
#
# ### Exercise 1
# Run random search on `nb201` with the `synthetic` estimator, a budget of `P["synthetic_budget"]`
# and seed 0. Put the result in `my_result`, and set `found` to `True` if its best architecture is
# the known optimum, `False` otherwise.

# %%
from nasbench_lab.estimators.synthetic import SyntheticEstimator

optimum = SyntheticEstimator().optimum(space)
my_result = ...      # nl.search(...)
found = ...          # True or False

# %%
check("exercise 1 (the search)", my_result,
      lambda r: r.strategy == "random" and r.estimator == "synthetic"
      and len(r.evaluations) == P["synthetic_budget"],
      "use strategy='random', estimator='synthetic' and budget=P['synthetic_budget']")
check("exercise 1 (found?)", found,
      lambda f: my_result is not ... and f == (my_result.best.arch == optimum),
      "compare my_result.best.arch with optimum (and answer the first part)")

# %% jupyter={"source_hidden": true} tags=["solution"]
# Solution
my_result = nl.search("nb201", "random", "synthetic", budget=P["synthetic_budget"], seed=0)
found = my_result.best.arch == optimum
check("exercise 1 (the search)", my_result, lambda r: len(r.evaluations) == P["synthetic_budget"])
check("exercise 1 (found?)", found, lambda f: f == (my_result.best.arch == optimum))
print(f"random search {'found' if found else 'did not find'} the optimum in {P['synthetic_budget']} "
      f"draws from 15,625 cells")

# %% [markdown]
# ### Exercise 2
# Sort each of these design decisions into the part of NAS it belongs to; answer with a dict whose
# values are `"space"`, `"strategy"` or `"estimation"`.

# %%
decisions = ["allow a 5x5 convolution on every edge",
             "train each candidate for 1 epoch instead of 200",
             "mutate the best of 5 randomly chosen population members",
             "stack 3 stages of 5 cells",
             "score a candidate with weights inherited from a supernet"]
my_parts = ...       # e.g. {"allow a 5x5 convolution on every edge": "space", ...}

# %%
_truth = ["space", "estimation", "strategy", "space", "estimation"]
check("exercise 2", my_parts, lambda a: [a.get(d) for d in decisions] == _truth,
      "the space says what may exist, the strategy what to try next, the estimation what it is worth")

# %% jupyter={"source_hidden": true} tags=["solution"]
# Solution: the width/depth of the skeleton and the op set are part of the space; fidelity and weight
# sharing are ways to estimate; how parents are picked is the strategy.
my_parts = dict(zip(decisions, ["space", "estimation", "strategy", "space", "estimation"]))
check("exercise 2", my_parts, lambda a: [a.get(d) for d in decisions] == _truth)

# %% [markdown]
# ## Where next
# * **01 search spaces**: the four spaces, drawing cells, counting, isomorphism.
# * **02 reinforcement learning**, **03 evolution**: multi-trial strategies.
# * **04 DARTS**, **05 one-shot**: train one supernet instead of many networks.
# * **06 pitfalls**: five ways NAS results mislead, each with numbers and a correction.
# * **07 playground**: the full Lab. **08 benchmarking**: racing strategies over many seeds, on two
#   truths (CIFAR-10 and the laptop table).
# * **09 zero-cost**: scoring networks at initialisation, and whether that beats counting parameters.

# %%
print(f"this notebook ran in {time.perf_counter() - T0:.0f} s at scale {SCALE!r}")
