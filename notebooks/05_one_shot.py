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
# # 05 · One-shot NAS: train one supernet, not thousands of networks
#
# **Learning goals.** After this notebook you can
# 1. explain weight sharing: a *supernet* contains every architecture of the space as a path, and a
#    candidate is scored with the weights it *inherits* instead of being trained;
# 2. describe three one-shot methods and run them: SPOS (uniform single-path training, then evolution
#    on inherited weights), ENAS (an RL controller over shared weights) and ProxylessNAS (binarised
#    paths, latency in the loss);
# 3. compare their search cost with multi-trial search, measured and published.
#
# Papers: Pham et al., *ENAS*, ICML 2018; Guo et al., *Single Path One-Shot*, ECCV 2020; Cai, Zhu &
# Han, *ProxylessNAS*, ICLR 2019; Bender et al., *Understanding and Simplifying One-Shot
# Architecture Search*, ICML 2018.

# %% tags=["parameters"]
# Parameters: the only cell you need to edit. The environment variable NASBENCH_LAB_SCALE overrides
# SCALE (CI sets it to 'ci'). 'ci': seconds, synthetic data. 'classroom': a few minutes on a 2-core
# laptop CPU with Fashion-MNIST. 'gpu': bigger runs on a CUDA device. PRESETS: this notebook's settings
# per scale; the settings all lessons share (fidelity, dataset, device, threads) come from
# nasbench_lab.course, and a key named here overrides the shared one.
import os

SCALE = os.environ.get("NASBENCH_LAB_SCALE", "classroom")
PRESETS = {
    "ci": {
        "supernet": {"epochs": 1, "train_subset": 128, "val_subset": 128, "bn_batches": 1, "bn_batch_size": 64},
        "inherited_budget": 20,
        "spos_epochs": 1, "spos": {"train_subset": 128, "val_subset": 128, "population": 4, "generations": 2,
                                   "parents": 2, "top_k": 2, "bn_batches": 1, "bn_batch_size": 64, "batch_size": 32},
        "enas_epochs": 1, "enas": {"train_subset": 128, "val_subset": 128, "reward_batch": 64, "controller_steps": 2,
                                   "aggregate": 2, "final_samples": 4, "batch_size": 32},
        "proxyless_epochs": 1, "proxyless": {"train_subset": 64, "val_subset": 64, "eval_subset": 32,
                                             "batch_size": 16, "skeleton": {"width_mult": 0.25},
                                             "latency_repeats": 1, "arch_lr": 0.01},
    },
    "classroom": {
        "supernet": {"epochs": 4, "train_subset": 1500, "val_subset": 500, "bn_batches": 2,
                     "bn_batch_size": 128},
        "inherited_budget": 30,
        "spos_epochs": 3, "spos": {"train_subset": 1000, "val_subset": 500, "population": 8, "generations": 3,
                                   "parents": 3, "top_k": 2, "bn_batches": 2, "bn_batch_size": 128},
        "enas_epochs": 3, "enas": {"train_subset": 1000, "val_subset": 500, "controller_steps": 10,
                                   "aggregate": 4, "final_samples": 20},
        "proxyless_epochs": 3, "proxyless": {"train_subset": 400, "val_subset": 400, "eval_subset": 300,
                                             "skeleton": {"width_mult": 0.25}, "latency_repeats": 3,
                                             "arch_lr": 0.01},
    },
    "gpu": {
        "supernet": {"epochs": 20, "train_subset": 20000, "val_subset": 5000},
        "inherited_budget": 300,
        "spos_epochs": 20, "spos": {"train_subset": 20000, "population": 20, "generations": 10, "parents": 5,
                                    "top_k": 3},
        "enas_epochs": 20, "enas": {"train_subset": 20000, "val_subset": 5000},
        "proxyless_epochs": 10, "proxyless": {"train_subset": 10000, "val_subset": 5000, "eval_subset": 2000,
                                              "skeleton": {"width_mult": 0.5}, "arch_lr": 0.01},
    },
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
# ## Weight sharing
#
# In notebooks 02 and 03 every candidate was trained from scratch, and that dominated the cost.
# One-shot methods build a **supernet** that contains every architecture of the space as a path
# (in NB201: every edge holds all 5 ops; a cell picks one per edge). The supernet is trained once;
# afterwards a candidate's score is the accuracy of *its path* through the shared weights, a few
# forward passes instead of a training run. The price: inherited weights were trained for all
# paths at once, so they fit no single path perfectly, and the ranking they give can be wrong
# (notebook 06 measures how wrong).
#
# ## The `supernet` estimator: inherited weights for any strategy
#
# The lab's `supernet` estimator trains an NB201 supernet once, with single paths drawn uniformly
# (as SPOS), and then scores a candidate by its path's validation accuracy after re-estimating the
# batch-norm statistics for that path. Because it is an estimator, any multi-trial strategy can use
# it. Watch the cost per candidate.

# %%
from nasbench_lab.data import load_dataset
from nasbench_lab.train import resolve_device

# Loaded once and handed to every estimator (estimator_options={"data": DATA}): each search would
# otherwise read and normalise the dataset again.
DATA = load_dataset(P["dataset"], device=resolve_device(P["device"]))
TRAIN = {"data": DATA, "fidelity": P["fidelity"]}       # estimator_options of the train estimator
print(DATA.info.description, "| train/val/test:", len(DATA.train_y), len(DATA.val_y), len(DATA.test_y))

# %%
space = nl.get_space("nb201")
shared = nl.get_estimator("supernet", dataset=P["dataset"], device=P["device"], data=DATA, **P["supernet"])
t = time.perf_counter()
shared.supernet(space)                       # trains it now (otherwise: at the first evaluation)
supernet_seconds = time.perf_counter() - t
print(f"supernet trained in {supernet_seconds:.1f} s")
for ref in ("resnet", "all_conv3x3", "all_skip", "empty"):
    ev = shared.evaluate(space, space.reference(ref))
    print(f"{ref:12s} inherited-weight accuracy {ev.val_acc:5.1f} %  ({1000 * ev.cost:.0f} ms)")

# %%
inherited = nl.search(space, "evolution", shared, budget=P["inherited_budget"], seed=0,
                      strategy_options={"population": 10, "sample": 3})
print(f"{len(inherited.evaluations)} candidates scored in {inherited.seconds:.1f} s "
      f"({1000 * inherited.seconds / len(inherited.evaluations):.0f} ms each); best by inherited weights:",
      inherited.best.arch, f"{inherited.best.val_acc:.1f} %")

# %% [markdown]
# ## SPOS: uniform single paths, then evolution on inherited weights
#
# Guo et al. decouple the two stages. (1) Supernet training: every mini-batch trains one path drawn
# **uniformly**, so no architecture is favoured by the training itself (learned path distributions,
# as in DARTS and ENAS, train the paths they already like and so confirm their early guesses).
# (2) Search: an evolutionary algorithm scores candidates with inherited weights. Finally the top-k
# candidates are **re-trained from scratch**, because inherited scores are only a rough guide. In the
# lab the driver does that last step with the estimator we pass (here `train`).

# %%
from nasbench_lab.widgets import ControllerView, PopulationView

pop_view = PopulationView()
display(pop_view)
spos_log = nl.EventLog()
spos = nl.search(space, "spos", "train", budget=P["spos_epochs"], dataset=P["dataset"], device=P["device"],
                 seed=0, strategy_options=P["spos"], estimator_options=TRAIN,
                 on_event=[spos_log, pop_view.on_event])
pop_view.flush()
for ev in spos.evaluations:
    print(f"re-trained top candidate: {ev.val_acc:5.1f} %  {ev.arch}")

# %% [markdown]
# ## ENAS: an RL controller over shared weights
#
# ENAS keeps the controller of notebook 02 but replaces "train the child" by "evaluate the child's
# path in the supernet". Each epoch alternates (1) training the shared weights along paths sampled
# from the controller and (2) training the controller with REINFORCE, the reward being the
# supernet's accuracy along the sampled path on a validation batch. It cut NAS-RL's 22,400 GPU-days
# to about half a GPU-day. Its weakness is the one flagged above: the controller trains the paths it
# already prefers, so early favourites are hard to dislodge (on NAS-Bench-201 ENAS collapses, like
# DARTS, to 54.30 %).

# %%
ctrl_view = ControllerView(space="nb201")
display(ctrl_view)
enas_log = nl.EventLog()
enas = nl.search(space, "enas", "train", budget=P["enas_epochs"], dataset=P["dataset"], device=P["device"],
                 seed=0, strategy_options=P["enas"], estimator_options=TRAIN,
                 on_event=[enas_log, ctrl_view.on_event])
ctrl_view.flush()
print(f"{len(enas_log.of('controller'))} controller updates; chosen cell {enas.best.arch}: "
      f"{enas.best.val_acc:.1f} % from scratch")

# %% [markdown]
# ## ProxylessNAS: one path at a time, and latency in the loss
#
# DARTS runs every op of every edge in each step, so its memory grows with the number of ops and it
# searches on a small *proxy* network. ProxylessNAS keeps DARTS-like α but **binarises** the paths:
# a step runs one sampled op per block (two for the α update), so it can search the real network on
# the real task. It also adds the expected latency to the loss,
#
# $$\mathcal L = \mathcal L_{CE} + \lambda\, \mathbb E[\text{latency}] = \mathcal L_{CE} + \lambda \sum_{\text{blocks}} \sum_j p_j\, F(o_j),$$
#
# where F(o) comes from a latency lookup table measured on the target device (here: this CPU). It
# searches the MobileNet-style space. We run it twice, without (λ = 0) and with a latency penalty.

# %%
from nasbench_lab.strategies.proxyless import ProxylessNAS
from nasbench_lab.widgets import AlphaView

mobile = nl.get_space("mobile")
mobile_train = {"data": DATA, "fidelity": {**P["fidelity"], "skeleton": P["proxyless"]["skeleton"]}}
prox_runs, table = {}, None
for lam in (0.0, 2.0):
    options = {**P["proxyless"], "lam": lam, **({"latency_table": table} if table else {})}
    strategy = ProxylessNAS(mobile, random.Random(0), None, **options)
    log = nl.EventLog()
    view = AlphaView() if lam else None
    if view is not None:
        display(view)
    res = nl.search(mobile, strategy, "train", budget=P["proxyless_epochs"], dataset=P["dataset"],
                    device=P["device"], seed=0, estimator_options=mobile_train,
                    on_event=[log] + ([view.on_event] if view else []))
    if view is not None:
        view.flush()
    table = strategy.table                    # measured once, reused by the second run
    last = log.of("alphas")[-1].payload
    prox_runs[lam] = (res, log)
    print(f"lambda {lam}: {res.best.arch}  predicted latency {last['derived_latency_ms']:.3f} ms, "
          f"re-trained {res.best.val_acc:.1f} %, search {res.seconds:.0f} s")

# %% [markdown]
# ## What did it cost?
#
# We put the measured costs side by side: seconds of the search phase (supernet training plus
# scoring candidates), how many candidates each method looked at, and what the same number of
# candidates would have cost if each had been trained from scratch at our fidelity.

# %%
scratch = nl.get_estimator("train", dataset=P["dataset"], device=P["device"], **TRAIN)
t = time.perf_counter()
scratch.evaluate(space, space.reference("resnet"), seed=0)
sec_scratch = time.perf_counter() - t


def search_seconds(res):                       # the driver's re-training of the final picks excluded
    return res.seconds - sum(e.cost for e in res.evaluations)


spos_seen = len({m["arch"] for e in spos_log.of("population") for m in e.payload["members"]})
rows = [("evolution on the supernet estimator", supernet_seconds + inherited.seconds, len(inherited.evaluations)),
        ("SPOS", search_seconds(spos), spos_seen),
        ("ENAS", search_seconds(enas), len(enas_log.of("controller")) * P["enas"].get("aggregate", 20)
         + P["enas"].get("final_samples", 100)),
        ("ProxylessNAS (lambda 2)", search_seconds(prox_runs[2.0][0]), None)]
print(f"one from-scratch training at this fidelity: {sec_scratch:.1f} s")
print(f"{'method':38s} {'search s':>9s} {'candidates':>11s} {'same candidates from scratch':>30s}")
for name, secs, n in rows:
    same = f"{n * sec_scratch:.0f} s" if n else "-"
    print(f"{name:38s} {secs:9.1f} {str(n or '-'):>11s} {same:>30s}")

# %% [markdown]
# Published search costs on CIFAR-10 (GPU-days): NAS-RL 22,400 (800 GPUs x 28 days), NASNet-A 2,000,
# AmoebaNet 3,150, DARTS about 1 (second order; first order 1.5 for four runs), ENAS 0.5, PC-DARTS 0.1.
# One-shot methods buy a factor of thousands, and pay for it in ranking quality: the next notebook
# checks how much the inherited scores can be trusted.
#
# ## Exercises
#
# ### Exercise 1
# How many *distinct* architectures did SPOS score with inherited weights during its evolutionary
# search? Count them from the `population` events in `spos_log`.

# %%
n_scored = ...

# %%
check("exercise 1", n_scored,
      lambda n: n == len({m["arch"] for e in spos_log.of("population") for m in e.payload["members"]}),
      "collect the 'arch' of every member of every population event in a set")

# %% jupyter={"source_hidden": true} tags=["solution"]
# Solution
n_scored = len({m["arch"] for e in spos_log.of("population") for m in e.payload["members"]})
check("exercise 1", n_scored,
      lambda n: n == len({m["arch"] for e in spos_log.of("population") for m in e.payload["members"]}))

# %% [markdown]
# ### Exercise 2
# The speed-up of weight sharing: training `n_scored` candidates from scratch (each `sec_scratch`
# seconds) against the SPOS search phase (`search_seconds(spos)`). Compute the ratio.

# %%
speedup = ...

# %%
check("exercise 2", speedup, lambda s: abs(s - n_scored * sec_scratch / search_seconds(spos)) < 1e-6 * max(1, s),
      "from-scratch seconds divided by SPOS search seconds")

# %% jupyter={"source_hidden": true} tags=["solution"]
# Solution
speedup = n_scored * sec_scratch / search_seconds(spos)
print(f"weight sharing was {speedup:.1f}x cheaper here; with real training (hours per network) the "
      f"factor grows into the thousands")
check("exercise 2", speedup, lambda s: abs(s - n_scored * sec_scratch / search_seconds(spos)) < 1e-6 * max(1, s))

# %% [markdown]
# ### Exercise 3 (open)
# Give ProxylessNAS a much larger λ (say 20). Which blocks become `skip`, and what happens to the
# accuracy of the re-trained network?

# %%
print(f"this notebook ran in {time.perf_counter() - T0:.0f} s at scale {SCALE!r}")
