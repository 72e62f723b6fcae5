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
# # 06 · Five pitfalls, with numbers that bite, and their corrections
#
# **Learning goals.** After this notebook you can recognise, measure and correct the classic ways a
# NAS result misleads:
# 1. **overfitting the benchmark**: the best of many cells by one noisy measurement is worse than it
#    looks (the winner's curse), and the more cells you compare, the worse;
# 2. **a proxy task that misleads**: a cheap low-fidelity setting that reorders architectures;
# 3. **trusting one-shot rankings**: inherited-weight scores against the truth (Kendall τ), and the
#    correction, re-training the top-k;
# 4. **ignoring hardware**: the most accurate cell is rarely the fastest; a latency limit or penalty
#    and the Pareto front, with what each costs in accuracy;
# 5. **an under-specified search space**: a space that can not express a residual connection, or has
#    no attention primitive, caps what any strategy can find.
#
# The ground truth is the lab's tabular benchmark: all 6,466 distinct NB201 cells trained on
# Fashion-MNIST, twice (seeds 0 and 1), plus a cheap proxy setting and each cell's measured CPU
# latency. Every number below is computed live from it (or, for the one-shot pitfall, from a supernet
# trained here), so they rest on thousands of cells, not a dozen.

# %% tags=["parameters"]
# Parameters: the only cell you need to edit. The environment variable NASBENCH_LAB_SCALE overrides
# SCALE (CI sets it to 'ci'). 'ci': seconds, synthetic data for the supernet. 'classroom': a few
# minutes on a 2-core laptop CPU with Fashion-MNIST. 'gpu': a longer supernet training on a CUDA device.
# PRESETS: this notebook's settings per scale; the shared ones (dataset, device, threads) come from
# nasbench_lab.course. oneshot_cells: cells the supernet scores; draws: repetitions of the
# winner's-curse experiment.
import os

SCALE = os.environ.get("NASBENCH_LAB_SCALE", "classroom")
PRESETS = {
    "ci": {"oneshot_cells": 30, "k": 5, "draws": 50,
           "supernet": {"epochs": 1, "train_subset": 128, "val_subset": 256, "bn_batches": 1, "bn_batch_size": 64},
           "hw_budget": 100, "train_chains": False, "chain_C": 8},
    "classroom": {"oneshot_cells": 100, "k": 10, "draws": 300,
                  "supernet": {"epochs": 6, "train_subset": 2000, "val_subset": 1000},
                  "hw_budget": 300, "train_chains": True, "chain_C": 8},
    "gpu": {"oneshot_cells": 1000, "k": 10, "draws": 1000,
            "supernet": {"epochs": 30, "train_subset": 20000, "val_subset": 5000},
            "hw_budget": 500, "train_chains": True, "chain_C": 16},
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
from nasbench_lab import ranking, viz
from nasbench_lab.course import check, settings
from IPython.display import display

import numpy as np
import torch

# P: this notebook's settings at SCALE. Why here and not in the parameters cell: papermill injects its
# parameters right after that cell, so `papermill -p SCALE gpu` takes effect only if P is made later.
P = settings(SCALE, PRESETS)
torch.set_num_threads(P["threads"])        # one thread on the CPU scales (why: see nasbench_lab.course)
T0 = time.perf_counter()
print(f"scale: {SCALE}")

# %%
from nasbench_lab.bench import BenchTable

TABLE = BenchTable()
space = nl.get_space("nb201")
ARCHS = TABLE.archs                                          # the 6,466 canonical cells
TEST = TABLE.array("test_acc", "laptop")                     # [cell, seed]
VAL = TABLE.array("val_curve", "laptop")[:, :, -1]           # [cell, seed], after the last epoch
TRUE = np.nanmean(TEST, axis=1)                              # the truth: mean test accuracy of both trainings
PARAMS = TABLE.array("params", "laptop").astype(float)
LATENCY = TABLE.array("latency_ms", "laptop").astype(float)
LOWFI = TABLE.scores("laptop-lowfi", "val_acc")
print(f"{len(ARCHS)} cells; true test accuracy {np.nanmin(TRUE):.1f} .. {np.nanmax(TRUE):.1f} % "
      f"(median {np.nanmedian(TRUE):.1f}); two trainings of a cell agree with Kendall tau "
      f"{ranking.kendall_tau(TEST[:, 0], TEST[:, 1]):.2f}")

# %% [markdown]
# ## Pitfall 1: overfitting the benchmark (the winner's curse)
#
# A search picks the cell with the best *validation* score of one training run, then reports that
# run's *test* score. Both came from the same training, so the luck that lifted the validation score
# lifts the test score too. Train the winner again (seed 1) and the luck is gone. The more cells we
# compare, the larger the luck the winner needed: the gap grows with the number of cells.

# %%
rng = np.random.default_rng(0)
SIZES = [n for n in (10, 30, 100, 300, 1000, 3000) if n < len(ARCHS)] + [len(ARCHS)]
curse = []
for n in SIZES:
    gaps, reported, retrained = [], [], []
    for _ in range(P["draws"] if n < len(ARCHS) else 1):
        idx = rng.choice(len(ARCHS), size=n, replace=False)
        win = idx[np.argmax(VAL[idx, 0])]                    # chosen on seed 0's validation
        reported.append(TEST[win, 0])                        # ... reported on seed 0's test
        retrained.append(TEST[win, 1])                       # ... what a new training gives
    curse.append({"cells": n, "reported": float(np.mean(reported)), "retrained": float(np.mean(retrained)),
                  "gap": float(np.mean(reported) - np.mean(retrained))})
for c in curse:
    print(f"best of {c['cells']:5d} cells: reported {c['reported']:.2f} %, trained again {c['retrained']:.2f} %, "
          f"gap {c['gap']:+.2f} points")
CURSE_GAP = curse[-1]["gap"]

# %%
viz.to_figure({"data": [{"type": "scatter", "mode": "lines+markers", "x": [c["cells"] for c in curse],
                         "y": [c[k] for c in curse], "name": label}
                        for k, label in (("reported", "reported (same training as the selection)"),
                                         ("retrained", "trained again (seed 1)"))],
               "layout": {"title": {"text": "the winner's curse: best-of-n cells, reported vs trained again"},
                          "xaxis": {"title": {"text": "cells compared"}, "type": "log"},
                          "yaxis": {"title": {"text": "test accuracy of the winner (%)"}}, "height": 360}})

# %% [markdown]
# **Correction:** select on one measurement, report on an independent one (a fresh training, a
# held-out seed) and say how many candidates were compared. Race strategies on the *true* accuracy
# of their pick (notebook 08 does), not on the number that selected it.

# %% [markdown]
# ## Pitfall 2: a proxy task that misleads
#
# Searching on a cheaper task assumes the cheap task orders architectures like the target task. The
# table's `laptop-lowfi` setting (one epoch over 512 images, about 8x cheaper) is such a proxy. We
# measure its Kendall τ with the truth over all cells, and what trusting it costs: the regret of its
# top-1, and of re-training its top-10 on the target task and keeping the best.

# %%
ok = np.isfinite(LOWFI) & np.isfinite(TRUE)
TAU_PROXY = ranking.kendall_tau(LOWFI[ok], TRUE[ok])
TAU_PARAMS = ranking.kendall_tau(PARAMS[ok], TRUE[ok])
REGRET_PROXY_1 = ranking.regret(LOWFI[ok], TRUE[ok], k=1)
REGRET_PROXY_10 = ranking.regret(LOWFI[ok], TRUE[ok], k=10)
REGRET_PARAMS_1 = ranking.regret(PARAMS[ok], TRUE[ok], k=1)
print(f"{int(ok.sum())} cells: Kendall tau proxy vs truth {TAU_PROXY:+.3f}; #params vs truth {TAU_PARAMS:+.3f}")
print(f"regret of the proxy's top-1: {REGRET_PROXY_1:.2f} points; of its top-10 re-trained: {REGRET_PROXY_10:.2f}")
print(f"regret of the largest cell (the #params 'proxy', free): {REGRET_PARAMS_1:.2f} points")
print(f"the proxy's favourite: {ARCHS[int(np.nanargmax(np.where(ok, LOWFI, np.nan)))]}")

# %% [markdown]
# The proxy ranks cells *against* the target (τ < 0): after a few hundred images the small cells
# (pooling, skips) lead, and they are not the ones that end best. Counting parameters, which costs
# nothing, does far better. **Correction:** measure a proxy's τ against the target on a sample before
# trusting it; shortlist with it only if it beats #params; validate the shortlist on the target task.

# %% [markdown]
# ## Pitfall 3: trusting one-shot rankings
#
# A supernet is trained once (uniform single paths, as SPOS) and cells are scored with the weights
# they inherit. We score a random sample of cells that way and compare the order with the truth:
# Kendall τ, Spearman ρ, top-k overlap, and the regret of the one-shot pick before and after
# re-training its top-k (looked up in the table). Published: weight-sharing τ near 0 in several
# studies (Yu et al., ICLR 2020); 0.38-0.51 on NAS-Bench-301 after long supernet training.

# %%
from nasbench_lab.widgets import RankingView

SAMPLE = [int(i) for i in np.random.default_rng(1).choice(len(ARCHS), size=P["oneshot_cells"], replace=False)]
oneshot_est = nl.get_estimator("supernet", dataset=P["dataset"], device=P["device"], **P["supernet"])
t = time.perf_counter()
oneshot = {ARCHS[i]: oneshot_est.evaluate(space, ARCHS[i]).val_acc for i in SAMPLE}
truth = {ARCHS[i]: float(TRUE[i]) for i in SAMPLE}
one = ranking.compare_rankings(oneshot, truth, k=P["k"])
print(f"supernet trained and {len(SAMPLE)} cells scored in {time.perf_counter() - t:.0f} s (data: {P['dataset']})")
print(f"one-shot vs truth: Kendall tau {one['kendall_tau']:+.2f}, Spearman {one['spearman']:+.2f}, "
      f"top-{one['k']} overlap {one['top_k_overlap']:.0%}")
print(f"regret of the one-shot pick {one['regret']:.2f} points; after re-training its top-{one['k']}: "
      f"{one['regret_top_k']:.2f}")
rank_view = RankingView(k=P["k"])
rank_view.set_scores(oneshot, truth)
rank_view

# %% [markdown]
# Whether τ is near 0 or clearly positive depends on how long the supernet trained and on the
# data: read it with its uncertainty (a permutation test in exercise 3). **Correction: re-train the
# top-k.** Use the cheap scores only to shortlist, then train the k best from scratch and pick among
# those (SPOS does exactly this): the regret after re-training is the honest figure.

# %% [markdown]
# ## Pitfall 4: ignoring hardware
#
# Accuracy is free in a paper and paid for in latency in a product. The table holds every cell's
# batch-1 inference latency, measured on one CPU thread (FLOPs and parameter counts are only proxies
# for it). Below: all 6,466 cells, accuracy against latency, and the Pareto front.

# %%
from nasbench_lab.hardware import pareto_front
from nasbench_lab.objectives import parse_objective
from nasbench_lab.estimators import Evaluation

good = np.flatnonzero(np.isfinite(TRUE) & np.isfinite(LATENCY))
rows = [{"arch": ARCHS[i], "val_acc": float(TRUE[i]), "metrics": {"latency_ms": float(LATENCY[i])}} for i in good]
front = pareto_front([{"val_acc": r["val_acc"], "latency_ms": r["metrics"]["latency_ms"]} for r in rows])
print(f"latency {np.nanmin(LATENCY):.2f} .. {np.nanmax(LATENCY):.2f} ms (median {np.nanmedian(LATENCY):.2f}); "
      f"{len(front)} of {len(rows)} cells on the Pareto front")
viz.pareto_figure(rows, title="true test accuracy vs batch-1 CPU latency, all cells")

# %% [markdown]
# **Correction: put latency into the objective.** Two classic forms (MnasNet, Tan et al. 2019): a
# *soft* penalty, accuracy x (latency / target)^w, and a *hard* limit, latency ≤ L. With the median
# latency as target and limit, what does each pick, and what does it cost in accuracy?

# %%
median = float(np.nanmedian(LATENCY))
evals = [Evaluation(r["arch"], r["val_acc"], metrics=r["metrics"]) for r in rows]
objectives = {"accuracy only": parse_objective("accuracy"),
              "soft penalty w=-0.07 (MnasNet)": parse_objective(f"latency_ms:target={median}"),
              "soft penalty w=-0.5": parse_objective(f"latency_ms:target={median},w=-0.5"),
              f"hard limit {median:.2f} ms": parse_objective(f"latency_ms<={median}")}
picks = {}
for name, f in objectives.items():
    e = max(evals, key=f)
    picks[name] = e
    print(f"{name:32s} {e.val_acc:5.2f} %  {e.metrics['latency_ms']:6.2f} ms   {e.arch}")
acc_pick, hw_pick = picks["accuracy only"], picks[f"hard limit {median:.2f} ms"]
HW_COST = acc_pick.val_acc - hw_pick.val_acc
HW_SPEEDUP = acc_pick.metrics["latency_ms"] / hw_pick.metrics["latency_ms"]
print(f"trade-off: the limit buys {HW_SPEEDUP:.1f}x lower latency for {HW_COST:.2f} points of accuracy")

# %% [markdown]
# The same objective plugs into any search (`search(..., objective="latency_ms<=2")`), and the table
# estimator answers with each cell's latency: a hardware-aware evolution on the table finds a
# different cell. The Pareto panel shows every cell it evaluated.

# %%
from nasbench_lab.widgets import ParetoView

limit = round(median, 2)
for objective in (None, f"latency_ms<={limit}"):
    r = nl.search("nb201", "evolution", "table", budget=P["hw_budget"], seed=0, objective=objective)
    print(f"objective {objective or 'accuracy':18s} best val {r.best.val_acc:5.2f} %  true test "
          f"{TRUE[TABLE.row(r.best.arch)]:5.2f} %  latency {r.best.metrics['latency_ms']:.2f} ms  {r.best.arch}")
pareto_view = ParetoView(cost="latency_ms")
for i, ev in enumerate(r.evaluations):
    pareto_view.on_event(nl.Event("evaluation", {"index": i, "arch": ev.arch, "val_acc": ev.val_acc,
                                                 "metrics": ev.metrics}), redraw=False)
pareto_view.refresh()
pareto_view

# %% [markdown]
# ## Pitfall 5: an under-specified search space
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
    chain_est = nl.get_estimator("train", dataset=P["dataset"], device=P["device"],
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
# This run's key figures in one place, each with a plain statement of whether the pitfall showed.
# (The table numbers are the same on every machine; the one-shot ones depend on the scale.)

# %%
summary = {"winner's curse gap, best of all cells (points)": round(CURSE_GAP, 2),
           "Kendall tau proxy (laptop-lowfi) vs truth": round(TAU_PROXY, 3),
           "Kendall tau #params vs truth": round(TAU_PARAMS, 3),
           "regret proxy top-1 / top-10 re-trained (points)": (round(REGRET_PROXY_1, 2), round(REGRET_PROXY_10, 2)),
           f"Kendall tau one-shot vs truth ({len(SAMPLE)} cells)": round(one["kendall_tau"], 3),
           f"regret one-shot pick / after top-{one['k']} re-training": (round(one["regret"], 2), round(one["regret_top_k"], 2)),
           "latency limit: speed-up / accuracy cost (points)": (round(HW_SPEEDUP, 2), round(HW_COST, 2))}
for k, v in summary.items():
    print(f"{k:55s} {v}")
print()
print("winner's curse:", "shows" if CURSE_GAP > 0.2 else "does not show at this size", f"({CURSE_GAP:+.2f} points)")
print("misleading proxy:", "shows: it ranks worse than counting parameters" if TAU_PROXY < TAU_PARAMS
      else "does not show: the proxy beats #params here")
print("one-shot ranking:", f"tau {one['kendall_tau']:+.2f}:",
      "worse than counting parameters" if one["kendall_tau"] < TAU_PARAMS else "better than counting parameters",
      f"(#params tau {TAU_PARAMS:+.2f}); re-training the top-k", "helps" if one["regret_top_k"] < one["regret"]
      else "does not help here")

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
# Among all cells (`rows`: arch, val_acc = true accuracy, metrics.latency_ms), which one would you
# deploy if the latency must not exceed the **fastest tenth** of the cells (`budget_ms` below)?
# Give its NB201 string.

# %%
budget_ms = float(np.nanpercentile(LATENCY, 10))
deploy = ...              # an NB201 string

# %%
_feasible = [r for r in rows if r["metrics"]["latency_ms"] <= budget_ms]
_best = max(r["val_acc"] for r in _feasible)
check("exercise 2", deploy, lambda d: any(r["arch"] == d and r["val_acc"] == _best for r in _feasible),
      "filter by latency <= budget_ms, then take the most accurate")

# %% jupyter={"source_hidden": true} tags=["solution"]
# Solution
deploy = max(_feasible, key=lambda r: r["val_acc"])["arch"]
print(f"{deploy}: {_best:.2f} % at or under {budget_ms:.2f} ms (the most accurate cell: {acc_pick.val_acc:.2f} %)")
check("exercise 2", deploy, lambda d: any(r["arch"] == d and r["val_acc"] == _best for r in _feasible))

# %% [markdown]
# ### Exercise 3: is the one-shot ranking better than nothing?
# Draw 1,000 random orderings of the sampled cells (shuffle the true scores) and compute how often a
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

check("exercise 3", p_value, lambda p: 0 <= p <= 1 and abs(p - _perm_p(oneshot, truth)) <= 0.05,
      "shuffle the truth, recompute tau, count how often it reaches the observed value")

# %% jupyter={"source_hidden": true} tags=["solution"]
# Solution (a permutation test): a small p-value means the one-shot ranking carries real signal.
p_value = _perm_p(oneshot, truth)
print(f"one-shot tau {one['kendall_tau']:+.2f}: reached by chance in {p_value:.0%} of random orderings")
check("exercise 3", p_value, lambda p: 0 <= p <= 1 and abs(p - _perm_p(oneshot, truth)) <= 0.05)

# %%
print(f"this notebook ran in {time.perf_counter() - T0:.0f} s at scale {SCALE!r}")
