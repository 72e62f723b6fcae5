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
# # 07 · Playground: the whole Lab, any space, any strategy, CPU or GPU
#
# **Learning goals.** After this notebook you can
# 1. drive any combination of space, strategy and estimator from the `Lab` widget, on the CPU or a GPU;
# 2. pass strategy and estimator options as JSON;
# 3. keep runs in an SQLite store, and replay and compare them with the `RunBrowser`.
#
# There is little new theory here: this is the place to try your own experiments. A few suggestions
# are at the end.

# %% tags=["parameters"]
# Parameters: the only cell you need to edit. The environment variable NASBENCH_LAB_SCALE overrides
# SCALE (CI sets it to 'ci'). 'ci': seconds, synthetic data. 'classroom': a few minutes on a 2-core
# laptop CPU with Fashion-MNIST. 'gpu': bigger runs on a CUDA device. PRESETS: this notebook's settings
# per scale; the settings all lessons share (fidelity, dataset, device, threads) come from
# nasbench_lab.course, and a key named here overrides the shared one.
import os

SCALE = os.environ.get("NASBENCH_LAB_SCALE", "classroom")
PRESETS = {
    "ci":        {"strategy": "evolution", "estimator": "synthetic", "budget": 40,
                  "compare_with": "random"},
    "classroom": {"strategy": "evolution", "estimator": "train", "budget": 12,
                  "compare_with": "random"},
    "gpu":       {"strategy": "evolution", "estimator": "train", "budget": 60,
                  "compare_with": "random"},
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
# ## The menu
#
# Every strategy runs on every space through the space contract (notebook 01); one-shot strategies
# need a space with a supernet (`nb201`, `darts`, `mobile`; ProxylessNAS needs `mobile`). Every
# multi-trial strategy runs with every estimator. `budget` means evaluations for multi-trial
# strategies and supernet epochs for one-shot ones.

# %%
from nasbench_lab.strategies import strategy_class

for name in nl.list_strategies():
    cls = strategy_class(name)
    print(f"{name:10s} {cls.family:12s} {cls.summary}")
print()
print("estimators:", nl.list_estimators())
print("spaces:    ", {n: nl.get_space(n).describe().get("size") for n in nl.list_spaces()})

# %% [markdown]
# ## The Lab
#
# * **space / strategy / estimator / dataset / budget / device / seed**: the arguments of `search`.
#   `device` can be `cpu`, `cuda` or `auto`.
# * **estimator `table` + dataset**: look each cell up instead of training it. The dataset picks the
#   truth: `cifar10` (every NB201 cell trained 200 epochs, AnalogNAS-Bench; two trainings of a cell
#   agree with Kendall τ 0.90, so differences between strategies are real) or `fashion-mnist` (the
#   laptop table: noisier, τ 0.27, but with learning curves, which successive halving and Hyperband
#   need). The classroom presets say which one they use.
# * **pace (s)**: at least this long per evaluation, so a run of instant table lookups can be watched
#   (the presets on a table use 0.1 s); 0 runs as fast as possible.
# * **strategy opts / estimator opts**: JSON objects, e.g. `{"population": 10, "sample": 3}` for
#   `evolution`, `{"order": 2, "remedy": "darts-"}` for `darts`, `{"lam": 1.0}` for `proxyless`,
#   `{"fidelity": {"epochs": 2, "train_subset": 4000}}` for `train`.
# * **store**: a path; every run and evaluation is written there as it happens (and can be resumed
#   with `nasbench-lab resume`).
# * **Run / Stop**: the search runs in a background thread; Stop ends it at the next check.
#
# The tabs follow the strategy: History and Best DAG always, Population for evolution and SPOS,
# Controller for RL and ENAS, Alphas for DARTS and ProxylessNAS, and Pareto when evaluations carry
# a cost. Below, the Lab is started from code, so the notebook also runs unattended.

# %%
import tempfile
from nasbench_lab.widgets import Lab, RunBrowser, widgets_available

store_path = pathlib.Path(tempfile.mkdtemp(prefix="nasbench_lab_")) / "runs.sqlite"
settings = dict(space="nb201", strategy=P["strategy"], estimator=P["estimator"], dataset=P["dataset"],
                budget=P["budget"], device=P["device"], seed=0, store=str(store_path),
                strategy_options={"population": 5, "sample": 2} if P["strategy"] == "evolution" else None,
                estimator_options={"fidelity": P["fidelity"]} if P["estimator"] == "train" else None)
HAVE_WIDGETS = widgets_available()
if HAVE_WIDGETS:
    lab = Lab(**settings)
    display(lab)
    lab.run()
else:
    print("ipywidgets/plotly/anywidget missing (pip install 'nasbench_lab[lab]'): running without the Lab")

# %%
if HAVE_WIDGETS:
    lab.wait()
    first = lab.result
    assert lab.state == "finished", lab.errors
else:
    first = nl.search(**settings)
print("first run:", first.run_id, first.best.arch, f"{first.best.val_acc:.1f} %")

# %% [markdown]
# A second run into the same store, with another strategy, for a comparison:

# %%
second = nl.search(**{**settings, "strategy": P["compare_with"], "strategy_options": None})
print("second run:", second.run_id, second.best.arch, f"{second.best.val_acc:.1f} %")

# %% [markdown]
# ## The RunBrowser
#
# Select runs, then **Replay** (the panels of one stored run, exactly as they looked live) or
# **Compare** (the best-so-far curves of several runs on one axis, and a table). Here both are
# called from code.

# %%
if HAVE_WIDGETS:
    browser = RunBrowser(store_path)
    display(browser)
    panels = browser.replay(first.run_id)
    view = browser.compare([first.run_id, second.run_id])
    print("replayed panels:", list(panels))
else:
    from nasbench_lab.store import open_store
    print([(r["strategy"], r["evaluations"], r["best_val_acc"]) for r in open_store(store_path).runs()])

# %% [markdown]
# ## Exercise
# Using only the store (`nasbench_lab.store.open_store(store_path)`), find how many evaluations were
# stored for the **first** run. Put the number in `n_stored`.

# %%
n_stored = ...

# %%
from nasbench_lab.store import open_store

check("exercise", n_stored, lambda n: n == len(open_store(store_path).evaluation_rows(first.run_id)) == len(first.evaluations),
      "open_store(store_path).runs() lists the runs; .evaluation_rows(run_id) their evaluations")

# %% jupyter={"source_hidden": true} tags=["solution"]
# Solution
store = open_store(store_path)
n_stored = len(store.evaluation_rows(first.run_id))
print({r["run_id"]: (r["strategy"], r["evaluations"]) for r in store.runs()})
check("exercise", n_stored, lambda n: n == len(store.evaluation_rows(first.run_id)) == len(first.evaluations))

# %% [markdown]
# ## Things to try
#
# * **DARTS on the DARTS space** (needs a GPU for anything but a toy): space `darts`, strategy `darts`,
#   budget 10, strategy opts `{"skeleton": {"C": 8, "layers": 5}}`. Watch both cells in the Alphas tab.
# * **The collapse and its remedies**: `darts` on `nb201` with `{"remedy": "none"}`, `"early_stop"`
#   and `"darts-"`, same seed; compare the skip share.
# * **RL on a macro space**: `reinforce` on `chain` with the `synthetic` estimator, budget 1000.
# * **Hardware-aware search**: `evolution` on `mobile` with the `synthetic` estimator and
#   `search(..., objective="latency_ms<=4")` in code; or `proxyless` with `{"lam": 0}` vs `{"lam": 2}`.
# * **Local search**: `local` on `nb201` with the `synthetic` estimator; it climbs the neighbourhood
#   graph (White et al. 2020).
# * **Many evaluations at once**: `search(..., executor="process")` evaluates in worker processes.

# %%
print(f"this notebook ran in {time.perf_counter() - T0:.0f} s at scale {SCALE!r}")
