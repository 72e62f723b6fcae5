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
# # 01 · Search spaces: what can be found at all
#
# **Learning goals.** After this notebook you can
# 1. tell a *micro* (cell) space from a *macro* (layer-wise) space, and describe the four spaces of
#    the lab: the NAS-Bench-201 cell, the DARTS normal/reduction cell, a layer-wise chain, and a
#    MobileNet-style MBConv space;
# 2. draw any architecture, and read its string;
# 3. count a space, and explain why NAS-Bench-201 has 15,625 cells but only 6,466 different ones
#    (isomorphism);
# 4. check which known human designs (ResNet, MobileNet-V2, DARTS, NASNet) a space can express.
#
# Nothing is trained here, so every scale runs in seconds.

# %% tags=["parameters"]
# Parameters: the only cell you need to edit. The environment variable NASBENCH_LAB_SCALE overrides
# SCALE (CI sets it to 'ci'). 'ci': seconds, synthetic data. 'classroom': a few minutes on a 2-core
# laptop CPU with Fashion-MNIST. 'gpu': bigger runs on a CUDA device. PRESETS: this notebook's settings
# per scale; the settings all lessons share (fidelity, dataset, device, threads) come from
# nasbench_lab.course, and a key named here overrides the shared one.
import os

SCALE = os.environ.get("NASBENCH_LAB_SCALE", "classroom")
PRESETS = {"ci": {"samples": 3}, "classroom": {"samples": 3}, "gpu": {"samples": 3}}

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
# ## Micro and macro spaces
#
# A **macro** space decides the whole network layer by layer: the op of layer 3, whether layer 5
# receives a shortcut from layer 1. A **micro** (cell) space decides only a small graph, the *cell*,
# and a fixed *skeleton* stacks copies of it (with fixed downsampling between stages). Cells make
# the space much smaller and let a cell found on a small network be stacked deeper later (NASNet,
# DARTS); the price is that everything outside the cell (depth, widths, where to downsample) is
# decided by hand.
#
# Every space in the lab offers the same operations (the *contract*): `sample`, `mutate`,
# `crossover`, `neighbours` for multi-trial strategies; `decisions` for RL controllers; `supernet`
# for one-shot methods; `to_graph` for drawing; `build` for a trainable PyTorch network;
# `reference(name)` for published designs. Strategies only ever use this contract, which is why
# every strategy runs on every space.

# %%
for name in nl.list_spaces():
    s = nl.get_space(name)
    print(f"{name:7s} size {s.size():.3e}   {len(s.decisions()):2d} decisions   references: {s.references()}")

# %% [markdown]
# ## NAS-Bench-201: a cell with 6 edges
#
# Four nodes: node 0 is the cell's input, node 3 its output, and every node is the **sum** of its
# incoming edges. Each of the 6 edges `i -> j` (i < j) carries one of 5 ops: `none` (the edge is
# absent), `skip_connect` (identity), `nor_conv_1x1`, `nor_conv_3x3` (ReLU-conv-BN) and
# `avg_pool_3x3`. The string lists the edges node by node:
# `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|` reads "node 1 gets op from 0; node 2 from 0 and 1; node 3
# from 0, 1 and 2". The skeleton (fixed) is a conv stem, then 3 stages of N cells at C, 2C, 4C
# channels, separated by ResNet blocks with stride 2.
#
# The cell below is the ResNet block written in this space: two 3x3 convolutions in a row
# (0 -> 1 -> 2) plus an identity shortcut (0 -> 3) added to the result (2 -> 3).

# %%
nb201 = nl.get_space("nb201")
resnet = nb201.reference("resnet")
print(nb201.to_str(resnet))
viz.dag_figure(nb201, resnet, title="the ResNet cell in NAS-Bench-201")

# %% [markdown]
# ### Counting, and why 15,625 cells are only 6,466 networks
#
# 5 ops on 6 edges give 5^6 = 15,625 strings. Many compute the same function: if node 1 feeds
# nothing (its outgoing edges are `none`), the op on edge 0 -> 1 does not matter; two parallel paths
# can be swapped. Such cells are **isomorphic**, and a strategy that evaluates both wastes budget.
#
# The lab removes them the way the NAS-Bench-201 reference code does: it writes each node as a
# symbolic expression of its inputs (`(x)@nor_conv_3x3` is "a 3x3 conv of the input") and calls two
# cells equal when their output expressions are equal. `canonical(arch)` returns one fixed
# representative of each class, `unique()` all of them. The published count is 6,466. (A stricter
# rule that also drops zero terms from sums would merge more cells, 5,390; the benchmark's rule
# keeps the zero markers, and we match the benchmark.)
#
# The next cell is checked by CI (`# NBVAL_CHECK_OUTPUT`): its output must stay exactly the
# published figures.

# %%
# NBVAL_CHECK_OUTPUT
print(nb201.size(), len(nb201.unique()))

# %%
from collections import Counter

classes = Counter(nb201.expression(a) for a in nb201.enumerate())
sizes = Counter(classes.values())
print("isomorphism classes by size:", dict(sorted(sizes.items())))
dead = nb201.from_str("|nor_conv_3x3~0|+|nor_conv_1x1~0|none~1|+|skip_connect~0|none~1|nor_conv_3x3~2|")
print("output expression:", nb201.expression(dead))
print("canonical form:   ", nb201.to_str(nb201.canonical(dead)))

# %% [markdown]
# In that last cell node 1 has no outgoing edge (`none~1` twice), so the 3x3 conv on edge 0 -> 1 is
# dead code: the canonical form replaces it by `none`.
#
# ### The skeleton sets the size, the cell sets the ops
#
# Parameter counts on CIFAR-10-shaped input (32x32x3, 10 classes) with the benchmark skeleton
# (C=16, N=5) range from 73,306 (cells without convolutions) to 1,531,546 (all six edges
# `nor_conv_3x3`), the figures the NAS-Bench-201 paper gives. Also checked by CI:

# %%
# NBVAL_CHECK_OUTPUT
from nasbench_lab.train import count_params

for ref in ("empty", "all_skip", "resnet", "all_conv3x3"):
    net = nb201.build(nb201.reference(ref), in_channels=3, num_classes=10)      # C=16, N=5
    print(f"{ref:12s} {count_params(net):>9,}")

# %% [markdown]
# ## The DARTS cell: two inputs, four intermediate nodes, two cell types
#
# The DARTS space (Liu et al., ICLR 2019) is the one most NAS papers of 2019-2021 searched. A cell
# reads the outputs of the **two** previous cells, has 4 intermediate nodes, and each node picks 2
# inputs among the earlier nodes, each with one of 7 ops (separable and dilated convolutions, pools,
# skip). The cell's output concatenates the 4 nodes. There are two cells: a *normal* cell that
# keeps the resolution and a *reduction* cell that halves it. An architecture is a `Genotype`, in
# the format of the DARTS code. Below: the cell DARTS found on CIFAR-10 (second order).

# %%
darts = nl.get_space("darts")
v2 = darts.reference("DARTS_V2")
print(darts.to_str(v2)[:120], "...")
print(f"{darts.size():.3e} genotypes (about 10^18, as the DARTS paper says)")
viz.dag_figure(darts, v2)

# %% [markdown]
# ## A layer-wise chain (macro space)
#
# The chain space follows Zoph & Le and the ENAS macro space: L layers in a row; each layer picks an
# op *and*, for every earlier layer, whether to add that layer's output to its own (a skip bit).
# The string is exactly the tokens an RL controller emits, layer by layer. The references include
# a VGG-like plain stack, a ResNet-like chain (a shortcut around every pair of layers) and a
# DenseNet-like one (every layer receives every earlier output).

# %%
chain = nl.get_space("chain")
for ref in chain.references():
    print(f"{ref:14s} {chain.to_str(chain.reference(ref))}")
viz.dag_figure(chain, chain.reference("resnet_like"))

# %% [markdown]
# ## A MobileNet-style space (for latency-aware search)
#
# ProxylessNAS searched a MobileNet-V2 skeleton: each block picks a kernel size (3, 5, 7) and an
# expansion ratio (3, 6) of an inverted-residual block, or `skip`, which removes the block (so the
# search also chooses each stage's depth). The first block of a stage can not be skipped, because it
# changes the width.

# %%
mobile = nl.get_space("mobile")
print(mobile.to_str(mobile.reference("mobilenet_v2_like")))
print("per-block choices:", [len(d.choices) for d in mobile.decisions()])
viz.dag_figure(mobile, mobile.sample(random.Random(0)))

# %% [markdown]
# ## Which known designs can a space express?
#
# A search can only find what its space contains. A good sanity check before any search: write
# the human designs you would compare against in the space. The NB201 cell can write the ResNet
# block; the chain can write VGG, ResNet and DenseNet flavours; the MBConv space contains
# MobileNet-V2. The DARTS space contains the DARTS cells, but **not** NASNet-A or AmoebaNet-A: those
# cells have 5 nodes and use 7x7 ops. `DartsSpace.contains` tells:

# %%
for name in darts.references():
    print(f"{name:10s} inside the DARTS space: {darts.contains(darts.reference(name))}")

# %% [markdown]
# Notebook 06 comes back to this as a pitfall: a space that can not express a residual connection,
# or has no attention primitive, caps what any strategy can find.
#
# Three random architectures per space, to get a feel for what "uniform sampling" produces:

# %%
rng = random.Random(1)
for name in nl.list_spaces():
    s = nl.get_space(name)
    for _ in range(P["samples"]):
        print(f"{name:7s} {s.to_str(s.sample(rng))[:110]}")

# %% [markdown]
# ## Exercises
#
# ### Exercise 1
# How many of the 15,625 NB201 strings contain **no convolution at all** (no `nor_conv_1x1` and no
# `nor_conv_3x3` on any edge)? Answer with an integer, computed or reasoned.

# %%
no_conv = ...

# %%
check("exercise 1", no_conv,
      lambda n: n == sum(1 for a in nb201.enumerate() if not any("conv" in op for op in a.ops)),
      "each edge then has 3 possible ops")

# %% jupyter={"source_hidden": true} tags=["solution"]
# Solution: 3 ops (none, skip_connect, avg_pool_3x3) on each of 6 edges.
no_conv = 3 ** 6
check("exercise 1", no_conv,
      lambda n: n == sum(1 for a in nb201.enumerate() if not any("conv" in op for op in a.ops)))

# %% [markdown]
# ### Exercise 2
# The ResNet cell is not alone in its isomorphism class. Write a **different** NB201 string that
# computes the same function as `resnet` (hint: compare `nb201.expression(...)`, or search the
# enumeration).

# %%
twin = ...           # an NB201 string

# %%
check("exercise 2", twin,
      lambda s: nb201.from_str(s) != resnet and nb201.expression(nb201.from_str(s)) == nb201.expression(resnet),
      "the string must differ from the ResNet cell but have the same output expression")

# %% jupyter={"source_hidden": true} tags=["solution"]
# Solution: scan the enumeration for the other members of the class.
twins = [nb201.to_str(a) for a in nb201.enumerate()
         if a != resnet and nb201.expression(a) == nb201.expression(resnet)]
print(twins)
twin = twins[0]
check("exercise 2", twin,
      lambda s: nb201.from_str(s) != resnet and nb201.expression(nb201.from_str(s)) == nb201.expression(resnet))

# %% [markdown]
# ### Exercise 3
# The chain space without attention has the ops `conv_3x3, conv_5x5, sep_conv_3x3, sep_conv_5x5,
# max_pool_3x3, avg_pool_3x3`. Can it express a network with a self-attention layer? Answer `True`
# or `False`, then verify by trying `nl.get_space("chain").from_str(...)` on a string that uses
# `attention`.

# %%
chain_has_attention = ...


# %%
def _expresses_attention(space):
    try:
        space.from_str("conv_3x3 | attention 0 | conv_3x3 00 | conv_3x3 000 | conv_3x3 0000 | conv_3x3 00000")
        return True
    except ValueError:
        return False

check("exercise 3", chain_has_attention, lambda a: a == _expresses_attention(nl.get_space("chain")),
      "try parsing a string with 'attention' in it")

# %% jupyter={"source_hidden": true} tags=["solution"]
# Solution: parsing fails with a SpaceError naming the unknown op; ChainSpace(attention=True) adds it.
chain_has_attention = _expresses_attention(nl.get_space("chain"))
print("plain chain:", chain_has_attention, "| chain(attention=True):",
      _expresses_attention(nl.get_space("chain", attention=True)))
check("exercise 3", chain_has_attention, lambda a: a == _expresses_attention(nl.get_space("chain")))

# %%
print(f"this notebook ran in {time.perf_counter() - T0:.0f} s at scale {SCALE!r}")
