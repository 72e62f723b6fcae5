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
# # 06 · Four pitfalls, with numbers and corrections
#
# **Learning goals.** After this notebook you can recognise, measure and correct the four classic ways
# a NAS result misleads:
# 1. **trusting one-shot rankings**: inherited-weight scores against training from scratch
#    (Kendall τ), and the correction, re-training the top-k;
# 2. **a proxy task that misleads**: a cheap low-fidelity setting that reorders architectures, and
#    the correction, validating on the target task;
# 3. **ignoring hardware**: the most accurate cell is rarely the fastest; a latency penalty or limit
#    and the Pareto front;
# 4. **an under-specified search space**: a space that can not express a residual connection, or has
#    no attention primitive, caps what any strategy can find; the correction is to check a space
#    against known designs and modern primitives before searching.
#
# Every number below is measured live at the chosen scale. At `classroom` scale the samples are
# small (about a dozen architectures), so correlations carry an uncertainty of roughly ±0.2: read
# them as a demonstration of the method, and use `gpu` scale (or the lab's tabular benchmark) for
# conclusions.

# %% tags=["parameters"]
# Parameters: the only cell you need to edit. The environment variable NASBENCH_LAB_SCALE overrides
# SCALE (CI sets it to 'ci'). 'ci': seconds, synthetic data. 'classroom': a few minutes on a 2-core
# laptop CPU with Fashion-MNIST. 'gpu': bigger runs on a CUDA device. PRESETS: this notebook's settings
# per scale; the settings all lessons share (fidelity, dataset, device, threads) come from
# nasbench_lab.course, and a key named here overrides the shared one.
import os

SCALE = os.environ.get("NASBENCH_LAB_SCALE", "classroom")
PRESETS = {
    "ci": {"n_archs": 6, "k": 2,
           "supernet": {"epochs": 1, "train_subset": 128, "val_subset": 256, "bn_batches": 1, "bn_batch_size": 64},
           "proxy": {"epochs": 1, "train_subset": 64, "val_subset": 256, "test_subset": 0, "batch_size": 32,
                     "lr": 0.05, "skeleton": {"C": 4, "N": 1}},
           "latency": {"batch": 16, "repeats": 3}, "hw_budget": 100, "train_chains": False, "chain_C": 8},
    "classroom": {"n_archs": 12, "k": 3,
                  "supernet": {"epochs": 4, "train_subset": 1000, "val_subset": 1000},
                  "proxy": {"epochs": 1, "train_subset": 256, "val_subset": 1000, "test_subset": 0,
                            "batch_size": 64, "lr": 0.05, "skeleton": {"C": 4, "N": 1}},
                  "latency": {"batch": 64, "repeats": 10}, "hw_budget": 300, "train_chains": True,
                  "chain_C": 8},
    "gpu": {"n_archs": 40, "k": 5,
            "supernet": {"epochs": 30, "train_subset": 20000, "val_subset": 5000},
            "proxy": {"epochs": 1, "train_subset": 1024, "val_subset": 5000, "test_subset": 0,
                      "batch_size": 128, "lr": 0.1, "skeleton": {"C": 8, "N": 1}},
            "latency": {"batch": 64, "repeats": 30}, "hw_budget": 500, "train_chains": True,
            "chain_C": 16},
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

# %%
from nasbench_lab.data import load_dataset
from nasbench_lab.train import resolve_device

# Loaded once and handed to every estimator (estimator_options={"data": DATA}): each search would
# otherwise read and normalise the dataset again.
DATA = load_dataset(P["dataset"], device=resolve_device(P["device"]))
TRAIN = {"data": DATA, "fidelity": P["fidelity"]}       # estimator_options of the train estimator
print(DATA.info.description, "| train/val/test:", len(DATA.train_y), len(DATA.val_y), len(DATA.test_y))

# %% [markdown]
# ## The architectures, and the reference we compare everything with
#
# We draw distinct NB201 cells at random (from the 6,466 unique ones) and train each **from scratch**
# with the `train` estimator. These from-scratch accuracies are the reference ("truth") for the first
# two pitfalls. Mind that the reference is itself a short classroom training; at `gpu` scale it is
# longer and closer to what a deployed network would reach.

# %%
from nasbench_lab import ranking

space = nl.get_space("nb201")
archs = [space.to_str(a) for a in random.Random(0).sample(space.unique(), P["n_archs"])]
scratch_est = nl.get_estimator("train", dataset=P["dataset"], device=P["device"], **TRAIN)
scratch, params = {}, {}
t = time.perf_counter()
for a in archs:
    ev = scratch_est.evaluate(space, a, seed=0)
    scratch[a], params[a] = ev.val_acc, ev.metrics["params"]
print(f"{len(archs)} cells trained from scratch in {time.perf_counter() - t:.0f} s; accuracies "
      f"{min(scratch.values()):.1f} .. {max(scratch.values()):.1f} %")

# %% [markdown]
# ## Pitfall 1: trusting one-shot rankings
#
# A supernet is trained once (uniform single paths, as SPOS) and every cell is scored with the
# weights it inherits. A search only needs the *order* to be right, so we measure agreement of
# orders: **Kendall τ** (the share of pairs ordered the same way minus the share ordered the other
# way: 1 identical, 0 unrelated, -1 reversed), Spearman ρ, and the overlap of the top-k. Published
# figures: weight-sharing τ near 0 in several studies (Yu et al., ICLR 2020), 0.38-0.51 on NAS-Bench-301
# after long supernet training (Ning et al.).

# %%
from nasbench_lab.widgets import RankingView

oneshot_est = nl.get_estimator("supernet", dataset=P["dataset"], device=P["device"], data=DATA,
                               **P["supernet"])
oneshot = {a: oneshot_est.evaluate(space, a).val_acc for a in archs}
one = ranking.compare_rankings(oneshot, scratch, k=P["k"])
print(f"one-shot vs from scratch: Kendall tau {one['kendall_tau']:+.2f}, Spearman {one['spearman']:+.2f}, "
      f"top-{one['k']} overlap {one['top_k_overlap']:.0%}")
rank_view = RankingView(k=P["k"])
rank_view.set_scores(oneshot, scratch)
rank_view

# %% [markdown]
# **Correction: re-train the top-k.** Use the cheap scores only to shortlist, then train the k best
# candidates from scratch and pick among those (SPOS does exactly this). *Regret* is how much true
# accuracy we lose against the best cell of the sample.

# %%
print(f"regret of trusting the one-shot pick:            {one['regret']:5.2f} points")
print(f"regret after re-training the one-shot top-{one['k']}:      {one['regret_top_k']:5.2f} points")

# %% [markdown]
# ## Pitfall 2: a proxy task that misleads
#
# Searching on a cheaper task (fewer images, one short epoch, a narrower network, another dataset)
# assumes the cheap task orders architectures like the target task. It often does not: short
# trainings favour networks that learn *fast* (few parameters, pooling, skips) over networks that
# end up *best*.

# %%
from nasbench_lab.bench import BenchTable, default_path

HAS_TABLE = default_path().exists()
proxy_est = nl.get_estimator("train", dataset=P["dataset"], device=P["device"], data=DATA, fidelity=P["proxy"])
proxy = {a: proxy_est.evaluate(space, a, seed=0).val_acc for a in archs}
prox = ranking.compare_rankings(proxy, scratch, k=P["k"])
free = ranking.compare_rankings(params, scratch, k=P["k"])
print(f"low-fidelity proxy vs target: Kendall tau {prox['kendall_tau']:+.2f}, top-{prox['k']} overlap "
      f"{prox['top_k_overlap']:.0%}, regret of its pick {prox['regret']:.2f}")
print(f"parameter count   vs target: Kendall tau {free['kendall_tau']:+.2f} (a free 'proxy'; "
      f"NB201 CIFAR-10: 0.61)")
print("shipped tabular benchmark:", "found" if HAS_TABLE else "not built yet (see below)")

# %% [markdown]
# The lab's tabular benchmark (`nasbench_lab.bench`) was designed for exactly this comparison: every
# NB201 cell trained on Fashion-MNIST under a `full` protocol and under a `lowfi` one (one epoch, 1,024
# images, half the channels). When the table file exists, the next cell measures the proxy on all
# 6,466 cells at once; until it has been built (it needs a GPU) the cell says so, and the classroom
# measurement above is the evidence.

# %%
table = BenchTable() if HAS_TABLE else None
if table is not None and {"full", "lowfi"} <= set(table.settings):
    import numpy as np
    full, low = table.scores("full", "val_acc"), table.scores("lowfi", "val_acc")
    ok = np.isfinite(full) & np.isfinite(low)          # a partial build leaves NaN where a cell is missing
    tau_table = ranking.kendall_tau(low[ok], full[ok])
    best_low = table.archs[int(np.nanargmax(np.where(ok, low, np.nan)))]
    print(f"table, {int(ok.sum())} cells: Kendall tau lowfi vs full {tau_table:+.3f}")
    print(f"best by lowfi: {table.query(best_low, 'full')['val_acc']:.2f} % on full; "
          f"best on full: {np.nanmax(full[ok]):.2f} %")
elif table is not None:
    print(f"the installed table has the settings {table.settings}, not both 'full' and 'lowfi': "
          "the classroom numbers above stand in for the comparison")
else:
    print("no tabular benchmark in this installation: nasbench_lab/bench/data/nb201_fmnist.npz is missing. "
          "Build it with `nasbench-lab bench build` on a GPU; the classroom numbers above stand in for it.")

# %% [markdown]
# **Correction: validate on the target task.** Shortlist with the proxy, then train the proxy's top-k
# on the target task (here: the from-scratch fidelity) and choose among those, and report only
# target-task numbers. Equally important: measure the proxy's τ against the target on a sample
# *before* trusting it, as we just did.

# %%
print(f"regret of the proxy's pick {prox['regret']:.2f} points; after validating its top-{prox['k']} "
      f"on the target: {prox['regret_top_k']:.2f} points")

# %% [markdown]
# ## Pitfall 3: ignoring hardware
#
# Accuracy is free in a paper and paid for in latency in a product. We measure the inference
# latency of each trained cell's network on *this* device (median of repeated timed forward passes
# after a warm-up; FLOPs and parameter counts are only proxies for it) and look at the trade-off.

# %%
from nasbench_lab.hardware import measure_latency, pareto_front
from nasbench_lab.objectives import parse_objective
from nasbench_lab.estimators import Evaluation

skeleton = P["fidelity"].get("skeleton") or {"C": 8, "N": 1}
shape = tuple(DATA.train_x.shape[1:])
latency = {}
for a in archs:
    net = space.build(a, in_channels=DATA.info.in_channels, num_classes=DATA.info.num_classes, **skeleton)
    b = P["latency"]["batch"]
    latency[a] = measure_latency(net, shape, device=P["device"], batch_sizes=(b,), warmup=3,
                                 repeats=P["latency"]["repeats"])[b]
rows = [{"arch": a, "val_acc": scratch[a], "latency_ms": latency[a]} for a in archs]
front = [rows[i]["arch"] for i in pareto_front(rows)]
print(f"latency at batch {P['latency']['batch']}: {min(latency.values()):.1f} .. {max(latency.values()):.1f} ms; "
      f"{len(front)} of {len(rows)} cells on the Pareto front")
viz.pareto_figure([{"arch": r["arch"], "val_acc": r["val_acc"], "metrics": {"latency_ms": r["latency_ms"]}}
                   for r in rows])

# %% [markdown]
# **Correction: put latency into the objective.** Two classic forms (MnasNet, Tan et al. 2019): a
# *soft* penalty, accuracy x (latency / target)^w, and a *hard* limit, latency ≤ L. We apply both to
# the same measured cells, with the median latency as target and limit, and compare the picks.

# %%
median = sorted(latency.values())[len(latency) // 2]
evals = {a: Evaluation(a, scratch[a], metrics={"latency_ms": latency[a]}) for a in archs}
objectives = {"accuracy only": parse_objective("accuracy"),
              "soft penalty w=-0.07 (MnasNet)": parse_objective(f"latency_ms:target={median}"),
              "soft penalty w=-0.5": parse_objective(f"latency_ms:target={median},w=-0.5"),
              f"hard limit {median:.1f} ms": parse_objective(f"latency_ms<={median}")}
picks = {}
for name, f in objectives.items():
    a = max(archs, key=lambda x: f(evals[x]))
    picks[name] = a
    print(f"{name:32s} {scratch[a]:5.1f} %  {latency[a]:7.2f} ms   {a}")
acc_pick, hw_pick = picks["accuracy only"], picks[f"hard limit {median:.1f} ms"]
print(f"trade-off: the limit buys {latency[acc_pick] / latency[hw_pick]:.1f}x lower latency for "
      f"{scratch[acc_pick] - scratch[hw_pick]:.1f} points of accuracy")

# %% [markdown]
# The same objective plugs into any search (`search(..., objective="latency_ms<=4")`). On the
# instant synthetic landscape, whose accuracy optimum is deliberately a heavy network, a
# hardware-aware evolution finds a different architecture; the Pareto panel shows every candidate it
# evaluated.

# %%
from nasbench_lab.widgets import ParetoView

for objective in (None, "latency_ms<=4"):
    r = nl.search("nb201", "evolution", "synthetic", budget=P["hw_budget"], seed=0, objective=objective)
    print(f"objective {objective or 'accuracy':14s} best {r.best.val_acc:5.1f} %  "
          f"latency {r.best.metrics['latency_ms']:.2f} ms  {r.best.arch}")
pareto_view = ParetoView(cost="latency_ms")
for i, ev in enumerate(r.evaluations):
    pareto_view.on_event(nl.Event("evaluation", {"index": i, "arch": ev.arch, "val_acc": ev.val_acc,
                                                 "metrics": ev.metrics}), redraw=False)
pareto_view.refresh()
pareto_view

# %% [markdown]
# ## Pitfall 4: an under-specified search space
#
# No strategy can find what the space does not contain. Two checks before any search:
#
# * **Can it express the known good designs?** Take NB201 and remove `skip_connect` from its op set:
#   the ResNet block (two convolutions plus an identity shortcut) is gone, not one of the remaining
#   cells computes it. The check below runs over all 15,625 cells (CI checks its output).
# * **Does it contain modern primitives?** A chain without attention can not express a
#   convolution-plus-attention network, whatever the strategy; `chain(attention=True)` adds spatial
#   self-attention and squeeze-excitation.

# %%
# NBVAL_CHECK_OUTPUT
resnet_expr = space.expression(space.reference("resnet"))
for label, allowed in (("NB201", None), ("NB201 without skip_connect", "skip_connect")):
    cells = [a for a in space.enumerate() if allowed not in a.ops]
    hits = sum(space.expression(a) == resnet_expr for a in cells)
    print(f"{label:27s} {len(cells):6d} cells, {hits} compute the ResNet cell")
for attention in (False, True):
    chain = nl.get_space("chain", attention=attention)
    try:
        chain.from_str("conv_3x3 | attention 0 | conv_3x3 00 | conv_3x3 000 | conv_3x3 0000 | attention 00000")
        ok = True
    except ValueError:
        ok = False
    print(f"chain(attention={attention!s:5s}) size {chain.size():>13,}  expresses conv+attention: {ok}")

# %% [markdown]
# Does it matter in accuracy? We train three human designs from the chain spaces under the same
# protocol: a plain VGG-like stack, the ResNet-like chain (shortcuts) and a convolution + attention
# chain. With one short training each, differences of a point or two are noise; the point is that
# the comparison is only *possible* in a space that contains all three.

# %%
if P["train_chains"]:
    chain_est = nl.get_estimator("train", dataset=P["dataset"], device=P["device"], data=DATA,
                                 fidelity={**P["fidelity"], "skeleton": {"C": P["chain_C"]}})
    plain, rich = nl.get_space("chain"), nl.get_space("chain", attention=True)
    for sp, ref in ((plain, "vgg_like"), (plain, "resnet_like"), (rich, "conv_attention")):
        ev = chain_est.evaluate(sp, sp.reference(ref), seed=0)
        print(f"{ref:15s} {ev.val_acc:5.1f} %  {ev.metrics['params']:>8,} parameters   {sp.to_str(sp.reference(ref))}")
else:
    print("skipped at this scale (set train_chains=True in the parameters)")

# %% [markdown]
# ## Summary of the numbers
#
# The cell below collects this run's key figures in one place (they change with the scale and the
# machine; at `classroom` scale each rests on about a dozen cells).

# %%
summary = {"Kendall tau one-shot vs scratch": round(one["kendall_tau"], 3),
           "Kendall tau low-fidelity proxy vs target": round(prox["kendall_tau"], 3),
           "Kendall tau #params vs target": round(free["kendall_tau"], 3),
           f"regret one-shot pick / after top-{one['k']} re-training": (round(one["regret"], 2), round(one["regret_top_k"], 2)),
           "latency of the accuracy pick / limit pick (ms)": (round(latency[acc_pick], 2), round(latency[hw_pick], 2)),
           "accuracy of the accuracy pick / limit pick (%)": (round(scratch[acc_pick], 1), round(scratch[hw_pick], 1))}
if "tau_table" in globals():
    summary["Kendall tau lowfi vs full, tabular benchmark"] = round(tau_table, 3)
for k, v in summary.items():
    print(f"{k:55s} {v}")

# %% [markdown]
# ## Exercises
#
# ### Exercise 1: Kendall τ by hand
# Two estimators score four architectures: `a = [60, 70, 80, 90]` and `b = [61, 75, 72, 95]`. Count
# concordant and discordant pairs and compute τ = (C - D) / (number of pairs).

# %%
tau_by_hand = ...

# %%
check("exercise 1", tau_by_hand,
      lambda t: abs(t - ranking.kendall_tau([60, 70, 80, 90], [61, 75, 72, 95])) < 1e-9,
      "6 pairs; only the pair (70, 80) is ordered the other way by b")

# %% jupyter={"source_hidden": true} tags=["solution"]
# Solution: 6 pairs, 5 concordant, 1 discordant: (5 - 1) / 6.
tau_by_hand = (5 - 1) / 6
check("exercise 1", tau_by_hand,
      lambda t: abs(t - ranking.kendall_tau([60, 70, 80, 90], [61, 75, 72, 95])) < 1e-9)

# %% [markdown]
# ### Exercise 2: deploy under a budget
# Among the measured cells (`scratch`, `latency`), which one would you deploy if the latency must not
# exceed the **fastest quarter** of the cells (the 25th percentile of `latency`, as computed below)?
# Give its NB201 string.

# %%
budget_ms = sorted(latency.values())[max(0, len(latency) // 4 - 1)]
deploy = ...              # an NB201 string from archs

# %%
_feasible = [a for a in archs if latency[a] <= budget_ms]
check("exercise 2", deploy, lambda d: d in _feasible and scratch[d] == max(scratch[a] for a in _feasible),
      "filter by latency <= budget_ms, then take the most accurate")

# %% jupyter={"source_hidden": true} tags=["solution"]
# Solution
deploy = max((a for a in archs if latency[a] <= budget_ms), key=scratch.get)
print(f"{deploy}: {scratch[deploy]:.1f} % at {latency[deploy]:.2f} ms (budget {budget_ms:.2f} ms)")
check("exercise 2", deploy, lambda d: d in _feasible and scratch[d] == max(scratch[a] for a in _feasible))

# %% [markdown]
# ### Exercise 3: is the proxy better than nothing?
# Draw 1,000 random orderings of the cells (shuffle the from-scratch scores) and compute how often a
# random ordering reaches a Kendall τ at least as high as the one-shot scores did. Put that fraction in
# `p_value` (use `random.Random(0)` for the shuffles).

# %%
p_value = ...


# %%
def _perm_p(scores, truth, n=1000, seed=0):
    keys = list(truth)
    base = ranking.kendall_tau([scores[k] for k in keys], [truth[k] for k in keys])
    vals, rng, hits = [truth[k] for k in keys], random.Random(seed), 0
    for _ in range(n):
        rng.shuffle(vals)
        hits += ranking.kendall_tau([scores[k] for k in keys], vals) >= base
    return hits / n

check("exercise 3", p_value, lambda p: 0 <= p <= 1 and abs(p - _perm_p(oneshot, scratch)) <= 0.05,
      "shuffle the truth, recompute tau, count how often it reaches the observed value")

# %% jupyter={"source_hidden": true} tags=["solution"]
# Solution (a permutation test): a small p-value means the one-shot ranking carries real signal.
p_value = _perm_p(oneshot, scratch)
print(f"one-shot tau {one['kendall_tau']:+.2f}: reached by chance in {p_value:.0%} of random orderings")
check("exercise 3", p_value, lambda p: 0 <= p <= 1 and abs(p - _perm_p(oneshot, scratch)) <= 0.05)

# %%
print(f"this notebook ran in {time.perf_counter() - T0:.0f} s at scale {SCALE!r}")
