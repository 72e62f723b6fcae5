"""Generate the course notebooks 00-08 from this one reviewable script.

    python notebooks/_make_notebooks.py            # (re)writes notebooks/*.ipynb next to this file

Why a script: a notebook's JSON is hard to review and easy to break by hand; this file is plain Python
that reviewers read top to bottom and that regenerates every notebook byte for byte. The notebooks are
written without outputs, except the expected output of the few cells marked ``# NBVAL_CHECK_OUTPUT``:
nbval compares a checked cell against the output stored in the file, so those (deterministic, scale
independent) outputs are written here, next to the code that must produce them.

Conventions every notebook follows:
* a title and its learning goals, then ONE parameters cell (tag ``parameters``): ``SCALE`` comes from the
  environment variable ``NASBENCH_LAB_SCALE`` (CI sets ``ci``), default ``classroom``; presets ``ci``
  (seconds, synthetic data), ``classroom`` (at most ~3 minutes on a 2-core CPU, Fashion-MNIST) and
  ``gpu`` (larger, on a CUDA device);
* a setup cell (imports and the ``check`` helper of the exercises);
* explanation in markdown, live runs through ``nasbench_lab.search`` and the widgets;
* exercises: the student replaces ``...`` in an answer cell; the check cell skips an unanswered
  exercise and asserts otherwise; a hidden solution cell (tag ``solution``) answers it, so CI proves
  every check accepts the right answer.
"""
from __future__ import annotations

import sys
from pathlib import Path
from textwrap import dedent

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

HERE = Path(__file__).resolve().parent

KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}
LANGUAGE_INFO = {"name": "python", "pygments_lexer": "ipython3"}


# ---------------------------------------------------------------------- cell helpers
def md(text: str):
    return new_markdown_cell(dedent(text).strip("\n"))


def code(src: str, tags=(), expected: str | None = None, hidden: bool = False):
    """A code cell. ``expected``: the stdout a ``# NBVAL_CHECK_OUTPUT`` cell must print (stored as its
    output so nbval compares against it). ``hidden``: source collapsed in JupyterLab (solutions)."""
    src = dedent(src).strip("\n")
    cell = new_code_cell(src)
    meta = {}
    if tags:
        meta["tags"] = list(tags)
    if hidden:
        meta["jupyter"] = {"source_hidden": True}
    cell.metadata.update(meta)
    if expected is not None:
        if "# NBVAL_CHECK_OUTPUT" not in src:
            raise ValueError("a cell with an expected output must carry # NBVAL_CHECK_OUTPUT")
        cell.outputs = [new_output("stream", name="stdout", text=expected)]
        cell.execution_count = 1           # nbval compares only cells marked as run (and refuses unrun ones)
    elif "# NBVAL_CHECK_OUTPUT" in src:
        raise ValueError("a # NBVAL_CHECK_OUTPUT cell needs its expected output")
    return cell


def solution(src: str):
    return code(src, tags=("solution",), hidden=True)


def params(presets: str, *shared: str, extra: str = ""):
    """The one parameters cell: SCALE from NASBENCH_LAB_SCALE (default classroom), the notebook's presets
    and shared tables (``FIDELITY``, ``DATASET``), then ``extra`` code (merging them into PRESETS)."""
    presets = "\n".join(dedent(part).strip("\n") for part in (presets, *shared))
    src = (
        "# Parameters: the only cell you need to edit. The environment variable NASBENCH_LAB_SCALE overrides\n"
        "# SCALE (CI sets it to 'ci'). 'ci': seconds, synthetic data. 'classroom': a few minutes on a 2-core\n"
        "# laptop CPU with Fashion-MNIST. 'gpu': bigger runs on a CUDA device.\n"
        "import os\n\n"
        'SCALE = os.environ.get("NASBENCH_LAB_SCALE", "classroom")\n'
        + presets + "\n"
        + (dedent(extra).strip("\n") + "\n" if extra else "")
        + 'if SCALE not in PRESETS:\n'
        '    raise ValueError(f"NASBENCH_LAB_SCALE must be one of {sorted(PRESETS)}, got {SCALE!r}")\n'
        "P = PRESETS[SCALE]\n"
        'print(f"scale: {SCALE}")'
    )
    return code(src, tags=("parameters",))


# Training fidelity of the ``train`` estimator per scale (what one from-scratch evaluation costs).
# classroom: NB201 C=8, N=1 (the classroom skeleton), one epoch over 2,000 Fashion-MNIST images,
# 1-6 s of CPU per cell; ci: the same on 256 synthetic 16x16 images, well under a second.
FIDELITY = '''
FIDELITY = {
    "ci": {"epochs": 1, "train_subset": 256, "val_subset": 256, "test_subset": 256, "batch_size": 32, "lr": 0.05},
    "classroom": {"epochs": 1, "train_subset": 2000, "val_subset": 1000, "test_subset": 1000, "batch_size": 32,
                  "lr": 0.05},
    "gpu": {"epochs": 3, "train_subset": 20000, "val_subset": 5000, "test_subset": None, "batch_size": 128,
            "lr": 0.1, "skeleton": {"C": 16, "N": 1}},
}
'''

DATASET = '''
DATASET = {"ci": "synthetic", "classroom": "fashion-mnist", "gpu": "fashion-mnist"}
DEVICE = {"ci": "cpu", "classroom": "cpu", "gpu": "auto"}
THREADS = {"ci": 1, "classroom": 1, "gpu": 4}          # torch CPU threads (see the setup cell)
'''

SETUP = '''
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
from IPython.display import display

import torch

# Why one thread: the classroom networks are tiny, and on a 2-core machine that also runs the browser
# (or on a shared one) a second thread mostly waits on the first; one thread is as fast and far steadier.
torch.set_num_threads(THREADS.get(SCALE, 1))
T0 = time.perf_counter()


def check(name, answer, is_right, hint=""):
    """Exercise checker: an answer left as ... is skipped; any other answer must be right."""
    if answer is ...:
        print(f"{name}: not answered yet (replace the ... and run the cell again)")
        return
    assert is_right(answer), f"{name}: not yet. {hint}"
    print(f"{name}: correct")
'''

LOAD_DATA = '''
from nasbench_lab.data import load_dataset
from nasbench_lab.train import resolve_device

# Loaded once and handed to every estimator (estimator_options={"data": DATA}): each search would
# otherwise read and normalise the dataset again.
DATA = load_dataset(P["dataset"], device=resolve_device(P["device"]))
TRAIN = {"data": DATA, "fidelity": P["fidelity"]}       # estimator_options of the train estimator
print(DATA.info.description, "| train/val/test:", len(DATA.train_y), len(DATA.val_y), len(DATA.test_y))
'''

FOOTER = '''
print(f"this notebook ran in {time.perf_counter() - T0:.0f} s at scale {SCALE!r}")
'''


def notebook(cells) -> nbformat.NotebookNode:
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = dict(LANGUAGE_INFO)
    return nb


NOTEBOOKS: dict = {}


def register(name):
    def deco(fn):
        NOTEBOOKS[name] = fn
        return fn
    return deco


# ====================================================================== 00 start here
@register("00_start_here")
def nb00():
    return [
        md("""
        # 00 · Start here: what neural architecture search is

        **Learning goals.** After this notebook you can
        1. name the three parts of every NAS method (search space, search strategy, performance estimation)
           and point at each of them in one call of `nasbench_lab.search`;
        2. run a search live in the `Lab` widget and read its panels;
        3. swap one part (the estimator) without touching the other two, and say what that changes.

        The rest of the course goes deeper into each part: spaces (01), strategies (02 RL, 03 evolution,
        04 DARTS, 05 one-shot), the pitfalls (06), free play (07) and fair comparisons (08).
        """),
        params('''
        PRESETS = {
            "ci":        {"budget": 6,  "lab_budget": 8,  "synthetic_budget": 200},
            "classroom": {"budget": 6,  "lab_budget": 10, "synthetic_budget": 200},
            "gpu":       {"budget": 20, "lab_budget": 30, "synthetic_budget": 200},
        }
        ''', FIDELITY, DATASET, extra='''
        for s in PRESETS:
            PRESETS[s].update(fidelity=FIDELITY[s], dataset=DATASET[s], device=DEVICE[s])
        '''),
        code(SETUP),
        md("""
        ## Three questions

        Designing a network by hand means answering many small questions: how many layers, which
        operation in each, where the shortcuts go. **Neural architecture search (NAS)** lets an algorithm
        answer them. Every NAS method, however fancy, is made of three parts:

        | part | the question it answers | in `nasbench_lab` |
        |---|---|---|
        | **search space** | which networks are allowed at all? | `get_space("nb201")`, `"darts"`, `"chain"`, `"mobile"` |
        | **search strategy** | which candidate do we try next, given what we have seen? | `random`, `evolution`, `reinforce`, `local`, `darts`, `enas`, `spos`, `proxyless` |
        | **performance estimation** | how good is a candidate, and how much do we pay to find out? | `train`, `lowfi`, `synthetic`, `supernet`, `table` |

        The space limits what can be found, the strategy decides how quickly good regions are found, and the
        estimator decides what "good" even means: a cheap estimate that ranks networks wrongly sends any
        strategy in the wrong direction. The library keeps the three apart, so each can be swapped alone.
        """),
        code('''
        print("spaces:    ", nl.list_spaces())
        print("strategies:", nl.list_strategies())
        print("estimators:", nl.list_estimators())
        '''),
        code(LOAD_DATA),
        md("""
        ## Part 1: a search space

        We use the NAS-Bench-201 cell (Dong & Yang, ICLR 2020): a small graph with 4 nodes and 6 edges;
        every edge picks one of 5 operations. A network stacks copies of this cell. An architecture is a
        plain value, written as a string; `sample` draws one at random (the random generator belongs to
        us, the caller, so the draw is reproducible).
        """),
        code('''
        space = nl.get_space("nb201")
        rng = random.Random(0)
        arch = space.sample(rng)
        print(space.to_str(arch))
        viz.dag_figure(space, arch)
        '''),
        md("""
        ## Part 3 before part 2: estimating one candidate

        The honest way to score a network is to train it and measure its accuracy on held-out data. The
        `train` estimator does exactly that, at a *fidelity* we choose (epochs, images, network width).
        At classroom scale one candidate costs a few seconds; in the original NAS papers it cost hours of
        GPU time. Keep an eye on `cost`: it is what every later trick tries to cut.
        """),
        code('''
        estimator = nl.get_estimator("train", dataset=P["dataset"], device=P["device"], **TRAIN)
        ev = estimator.evaluate(space, arch, seed=0)
        print(f"validation accuracy {ev.val_acc:.1f} %, test accuracy {ev.test_acc:.1f} %, "
              f"cost {ev.cost:.1f} s, {ev.metrics['params']:,} parameters")
        '''),
        md("""
        ## Part 2: a strategy, and the whole search in one call

        The simplest strategy is random search: draw, evaluate, keep the best. `search` takes one argument
        per part, plus the budget (number of evaluations) and a seed. `on_event` receives the stream of
        events the search emits (one per evaluation, and more for richer strategies); here an `EventLog`
        keeps them so we can plot the history afterwards.
        """),
        code('''
        log = nl.EventLog()
        result = nl.search(space="nb201", strategy="random", estimator="train", budget=P["budget"],
                           dataset=P["dataset"], device=P["device"], seed=0, estimator_options=TRAIN,
                           on_event=log)
        print("best:", result.best.arch, f"{result.best.val_acc:.1f} %", f"({result.seconds:.0f} s)")
        viz.history_figure(log.events)
        '''),
        md("""
        Note the selection rule: the best architecture is the one with the best **validation** accuracy.
        The test accuracy is only reported, never used to choose; choosing on the test set would make the
        reported number optimistic.

        ## The Lab: the same search, live

        The `Lab` widget wraps `search` with controls and live panels: the history of evaluations, the
        best cell so far, and a tab per strategy (the population of evolution, the controller of RL, the
        alphas of DARTS). Press **Run** to start a search in the background and **Stop** to end it; the
        kernel stays free meanwhile. The next cells start it from code, so the notebook also runs top to
        bottom unattended.
        """),
        code('''
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
        '''),
        code('''
        if lab is not None:
            lab.wait()                   # only for unattended runs: wait for the background search
            print(lab.state, "| best:", lab.result.best.arch, f"{lab.result.best.val_acc:.1f} %")
            assert lab.state == "finished", lab.errors
        else:
            r = nl.search(**lab_settings)
            print("best:", r.best.arch, f"{r.best.val_acc:.1f} %")
        '''),
        md("""
        ## Swapping the estimator

        Training is the expensive part. The `synthetic` estimator replaces it with a made-up accuracy
        landscape over the same space: instant, deterministic, and with a known global optimum
        (`SyntheticEstimator().optimum(space)`). It tells us nothing about real networks, but it is
        perfect for studying strategies: hundreds of evaluations per second, and we know the right answer.

        ### Exercise 1
        Run random search on `nb201` with the `synthetic` estimator, a budget of `P["synthetic_budget"]`
        and seed 0. Put the result in `my_result`, and set `found` to `True` if its best architecture is
        the known optimum, `False` otherwise.
        """),
        code('''
        from nasbench_lab.synthetic import SyntheticEstimator

        optimum = space.to_str(SyntheticEstimator().optimum(space))
        my_result = ...      # nl.search(...)
        found = ...          # True or False
        '''),
        code('''
        check("exercise 1 (the search)", my_result,
              lambda r: r.strategy == "random" and r.estimator == "synthetic"
              and len(r.evaluations) == P["synthetic_budget"],
              "use strategy='random', estimator='synthetic' and budget=P['synthetic_budget']")
        check("exercise 1 (found?)", found,
              lambda f: my_result is not ... and f == (my_result.best.arch == optimum),
              "compare my_result.best.arch with optimum (and answer the first part)")
        '''),
        solution('''
        # Solution
        my_result = nl.search("nb201", "random", "synthetic", budget=P["synthetic_budget"], seed=0)
        found = my_result.best.arch == optimum
        check("exercise 1 (the search)", my_result, lambda r: len(r.evaluations) == P["synthetic_budget"])
        check("exercise 1 (found?)", found, lambda f: f == (my_result.best.arch == optimum))
        print(f"random search {'found' if found else 'did not find'} the optimum in {P['synthetic_budget']} "
              f"draws from 15,625 cells")
        '''),
        md("""
        ### Exercise 2
        Sort each of these design decisions into the part of NAS it belongs to; answer with a dict whose
        values are `"space"`, `"strategy"` or `"estimation"`.
        """),
        code('''
        decisions = ["allow a 5x5 convolution on every edge",
                     "train each candidate for 1 epoch instead of 200",
                     "mutate the best of 5 randomly chosen population members",
                     "stack 3 stages of 5 cells",
                     "score a candidate with weights inherited from a supernet"]
        my_parts = ...       # e.g. {"allow a 5x5 convolution on every edge": "space", ...}
        '''),
        code('''
        _truth = ["space", "estimation", "strategy", "space", "estimation"]
        check("exercise 2", my_parts, lambda a: [a.get(d) for d in decisions] == _truth,
              "the space says what may exist, the strategy what to try next, the estimation what it is worth")
        '''),
        solution('''
        # Solution: the width/depth of the skeleton and the op set are part of the space; fidelity and weight
        # sharing are ways to estimate; how parents are picked is the strategy.
        my_parts = dict(zip(decisions, ["space", "estimation", "strategy", "space", "estimation"]))
        check("exercise 2", my_parts, lambda a: [a.get(d) for d in decisions] == _truth)
        '''),
        md("""
        ## Where next
        * **01 search spaces**: the four spaces, drawing cells, counting, isomorphism.
        * **02 reinforcement learning**, **03 evolution**: multi-trial strategies.
        * **04 DARTS**, **05 one-shot**: train one supernet instead of many networks.
        * **06 pitfalls**: four ways NAS results mislead, each with numbers and a correction.
        * **07 playground**: the full Lab. **08 benchmarking**: racing strategies over many seeds.
        """),
        code(FOOTER),
    ]


# ====================================================================== 01 search spaces
@register("01_search_spaces")
def nb01():
    return [
        md("""
        # 01 · Search spaces: what can be found at all

        **Learning goals.** After this notebook you can
        1. tell a *micro* (cell) space from a *macro* (layer-wise) space, and describe the four spaces of
           the lab: the NAS-Bench-201 cell, the DARTS normal/reduction cell, a layer-wise chain, and a
           MobileNet-style MBConv space;
        2. draw any architecture, and read its string;
        3. count a space, and explain why NAS-Bench-201 has 15,625 cells but only 6,466 different ones
           (isomorphism);
        4. check which known human designs (ResNet, MobileNet-V2, DARTS, NASNet) a space can express.

        Nothing is trained here, so every scale runs in seconds.
        """),
        params('''
        PRESETS = {"ci": {"samples": 3}, "classroom": {"samples": 3}, "gpu": {"samples": 3}}
        ''', DATASET),
        code(SETUP),
        md("""
        ## Micro and macro spaces

        A **macro** space decides the whole network layer by layer: the op of layer 3, whether layer 5
        receives a shortcut from layer 1. A **micro** (cell) space decides only a small graph, the *cell*,
        and a fixed *skeleton* stacks copies of it (with fixed downsampling between stages). Cells make
        the space much smaller and let a cell found on a small network be stacked deeper later (NASNet,
        DARTS); the price is that everything outside the cell (depth, widths, where to downsample) is
        decided by hand.

        Every space in the lab offers the same operations (the *contract*): `sample`, `mutate`,
        `crossover`, `neighbours` for multi-trial strategies; `decisions` for RL controllers; `supernet`
        for one-shot methods; `to_graph` for drawing; `build` for a trainable PyTorch network;
        `reference(name)` for published designs. Strategies only ever use this contract, which is why
        every strategy runs on every space.
        """),
        code('''
        for name in nl.list_spaces():
            s = nl.get_space(name)
            print(f"{name:7s} size {s.size():.3e}   {len(s.decisions()):2d} decisions   references: {s.references()}")
        '''),
        md("""
        ## NAS-Bench-201: a cell with 6 edges

        Four nodes: node 0 is the cell's input, node 3 its output, and every node is the **sum** of its
        incoming edges. Each of the 6 edges `i -> j` (i < j) carries one of 5 ops: `none` (the edge is
        absent), `skip_connect` (identity), `nor_conv_1x1`, `nor_conv_3x3` (ReLU-conv-BN) and
        `avg_pool_3x3`. The string lists the edges node by node:
        `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|` reads "node 1 gets op from 0; node 2 from 0 and 1; node 3
        from 0, 1 and 2". The skeleton (fixed) is a conv stem, then 3 stages of N cells at C, 2C, 4C
        channels, separated by ResNet blocks with stride 2.

        The cell below is the ResNet block written in this space: two 3x3 convolutions in a row
        (0 -> 1 -> 2) plus an identity shortcut (0 -> 3) added to the result (2 -> 3).
        """),
        code('''
        nb201 = nl.get_space("nb201")
        resnet = nb201.reference("resnet")
        print(nb201.to_str(resnet))
        viz.dag_figure(nb201, resnet, title="the ResNet cell in NAS-Bench-201")
        '''),
        md("""
        ### Counting, and why 15,625 cells are only 6,466 networks

        5 ops on 6 edges give 5^6 = 15,625 strings. Many compute the same function: if node 1 feeds
        nothing (its outgoing edges are `none`), the op on edge 0 -> 1 does not matter; two parallel paths
        can be swapped. Such cells are **isomorphic**, and a strategy that evaluates both wastes budget.

        The lab removes them the way the NAS-Bench-201 reference code does: it writes each node as a
        symbolic expression of its inputs (`(x)@nor_conv_3x3` is "a 3x3 conv of the input") and calls two
        cells equal when their output expressions are equal. `canonical(arch)` returns one fixed
        representative of each class, `unique()` all of them. The published count is 6,466. (A stricter
        rule that also drops zero terms from sums would merge more cells, 5,390; the benchmark's rule
        keeps the zero markers, and we match the benchmark.)

        The next cell is checked by CI (`# NBVAL_CHECK_OUTPUT`): its output must stay exactly the
        published figures.
        """),
        code('''
        # NBVAL_CHECK_OUTPUT
        print(nb201.size(), len(nb201.unique()))
        ''', expected="15625 6466\n"),
        code('''
        from collections import Counter

        classes = Counter(nb201.expression(a) for a in nb201.enumerate())
        sizes = Counter(classes.values())
        print("isomorphism classes by size:", dict(sorted(sizes.items())))
        dead = nb201.from_str("|nor_conv_3x3~0|+|nor_conv_1x1~0|none~1|+|skip_connect~0|none~1|nor_conv_3x3~2|")
        print("output expression:", nb201.expression(dead))
        print("canonical form:   ", nb201.to_str(nb201.canonical(dead)))
        '''),
        md("""
        In that last cell node 1 has no outgoing edge (`none~1` twice), so the 3x3 conv on edge 0 -> 1 is
        dead code: the canonical form replaces it by `none`.

        ### The skeleton sets the size, the cell sets the ops

        Parameter counts on CIFAR-10-shaped input (32x32x3, 10 classes) with the benchmark skeleton
        (C=16, N=5) range from 73,306 (cells without convolutions) to 1,531,546 (all six edges
        `nor_conv_3x3`), the figures the NAS-Bench-201 paper gives. Also checked by CI:
        """),
        code('''
        # NBVAL_CHECK_OUTPUT
        from nasbench_lab.train import count_params

        for ref in ("empty", "all_skip", "resnet", "all_conv3x3"):
            net = nb201.build(nb201.reference(ref), in_channels=3, num_classes=10)      # C=16, N=5
            print(f"{ref:12s} {count_params(net):>9,}")
        ''', expected="empty           73,306\nall_skip        73,306\nresnet         559,386\n"
                      "all_conv3x3  1,531,546\n"),
        md("""
        ## The DARTS cell: two inputs, four intermediate nodes, two cell types

        The DARTS space (Liu et al., ICLR 2019) is the one most NAS papers of 2019-2021 searched. A cell
        reads the outputs of the **two** previous cells, has 4 intermediate nodes, and each node picks 2
        inputs among the earlier nodes, each with one of 7 ops (separable and dilated convolutions, pools,
        skip). The cell's output concatenates the 4 nodes. There are two cells: a *normal* cell that
        keeps the resolution and a *reduction* cell that halves it. An architecture is a `Genotype`, in
        the format of the DARTS code. Below: the cell DARTS found on CIFAR-10 (second order).
        """),
        code('''
        darts = nl.get_space("darts")
        v2 = darts.reference("DARTS_V2")
        print(darts.to_str(v2)[:120], "...")
        print(f"{darts.size():.3e} genotypes (about 10^18, as the DARTS paper says)")
        viz.dag_figure(darts, v2)
        '''),
        md("""
        ## A layer-wise chain (macro space)

        The chain space follows Zoph & Le and the ENAS macro space: L layers in a row; each layer picks an
        op *and*, for every earlier layer, whether to add that layer's output to its own (a skip bit).
        The string is exactly the tokens an RL controller emits, layer by layer. The references include
        a VGG-like plain stack, a ResNet-like chain (a shortcut around every pair of layers) and a
        DenseNet-like one (every layer receives every earlier output).
        """),
        code('''
        chain = nl.get_space("chain")
        for ref in chain.references():
            print(f"{ref:14s} {chain.to_str(chain.reference(ref))}")
        viz.dag_figure(chain, chain.reference("resnet_like"))
        '''),
        md("""
        ## A MobileNet-style space (for latency-aware search)

        ProxylessNAS searched a MobileNet-V2 skeleton: each block picks a kernel size (3, 5, 7) and an
        expansion ratio (3, 6) of an inverted-residual block, or `skip`, which removes the block (so the
        search also chooses each stage's depth). The first block of a stage can not be skipped, because it
        changes the width.
        """),
        code('''
        mobile = nl.get_space("mobile")
        print(mobile.to_str(mobile.reference("mobilenet_v2_like")))
        print("per-block choices:", [len(d.choices) for d in mobile.decisions()])
        viz.dag_figure(mobile, mobile.sample(random.Random(0)))
        '''),
        md("""
        ## Which known designs can a space express?

        A search can only find what its space contains. A good sanity check before any search: write
        the human designs you would compare against in the space. The NB201 cell can write the ResNet
        block; the chain can write VGG, ResNet and DenseNet flavours; the MBConv space contains
        MobileNet-V2. The DARTS space contains the DARTS cells, but **not** NASNet-A or AmoebaNet-A: those
        cells have 5 nodes and use 7x7 ops. `DartsSpace.contains` tells:
        """),
        code('''
        for name in darts.references():
            print(f"{name:10s} inside the DARTS space: {darts.contains(darts.reference(name))}")
        '''),
        md("""
        Notebook 06 comes back to this as a pitfall: a space that can not express a residual connection,
        or has no attention primitive, caps what any strategy can find.

        Three random architectures per space, to get a feel for what "uniform sampling" produces:
        """),
        code('''
        rng = random.Random(1)
        for name in nl.list_spaces():
            s = nl.get_space(name)
            for _ in range(P["samples"]):
                print(f"{name:7s} {s.to_str(s.sample(rng))[:110]}")
        '''),
        md("""
        ## Exercises

        ### Exercise 1
        How many of the 15,625 NB201 strings contain **no convolution at all** (no `nor_conv_1x1` and no
        `nor_conv_3x3` on any edge)? Answer with an integer, computed or reasoned.
        """),
        code('''
        no_conv = ...
        '''),
        code('''
        check("exercise 1", no_conv,
              lambda n: n == sum(1 for a in nb201.enumerate() if not any("conv" in op for op in a.ops)),
              "each edge then has 3 possible ops")
        '''),
        solution('''
        # Solution: 3 ops (none, skip_connect, avg_pool_3x3) on each of 6 edges.
        no_conv = 3 ** 6
        check("exercise 1", no_conv,
              lambda n: n == sum(1 for a in nb201.enumerate() if not any("conv" in op for op in a.ops)))
        '''),
        md("""
        ### Exercise 2
        The ResNet cell is not alone in its isomorphism class. Write a **different** NB201 string that
        computes the same function as `resnet` (hint: compare `nb201.expression(...)`, or search the
        enumeration).
        """),
        code('''
        twin = ...           # an NB201 string
        '''),
        code('''
        check("exercise 2", twin,
              lambda s: nb201.from_str(s) != resnet and nb201.expression(nb201.from_str(s)) == nb201.expression(resnet),
              "the string must differ from the ResNet cell but have the same output expression")
        '''),
        solution('''
        # Solution: scan the enumeration for the other members of the class.
        twins = [nb201.to_str(a) for a in nb201.enumerate()
                 if a != resnet and nb201.expression(a) == nb201.expression(resnet)]
        print(twins)
        twin = twins[0]
        check("exercise 2", twin,
              lambda s: nb201.from_str(s) != resnet and nb201.expression(nb201.from_str(s)) == nb201.expression(resnet))
        '''),
        md("""
        ### Exercise 3
        The chain space without attention has the ops `conv_3x3, conv_5x5, sep_conv_3x3, sep_conv_5x5,
        max_pool_3x3, avg_pool_3x3`. Can it express a network with a self-attention layer? Answer `True`
        or `False`, then verify by trying `nl.get_space("chain").from_str(...)` on a string that uses
        `attention`.
        """),
        code('''
        chain_has_attention = ...
        '''),
        code('''
        def _expresses_attention(space):
            try:
                space.from_str("conv_3x3 | attention 0 | conv_3x3 00 | conv_3x3 000 | conv_3x3 0000 | conv_3x3 00000")
                return True
            except ValueError:
                return False

        check("exercise 3", chain_has_attention, lambda a: a == _expresses_attention(nl.get_space("chain")),
              "try parsing a string with 'attention' in it")
        '''),
        solution('''
        # Solution: parsing fails with a SpaceError naming the unknown op; ChainSpace(attention=True) adds it.
        chain_has_attention = _expresses_attention(nl.get_space("chain"))
        print("plain chain:", chain_has_attention, "| chain(attention=True):",
              _expresses_attention(nl.get_space("chain", attention=True)))
        check("exercise 3", chain_has_attention, lambda a: a == _expresses_attention(nl.get_space("chain")))
        '''),
        code(FOOTER),
    ]


# ====================================================================== 02 reinforcement learning
@register("02_reinforcement_learning")
def nb02():
    return [
        md("""
        # 02 · Reinforcement learning: a controller that writes architectures

        **Learning goals.** After this notebook you can
        1. explain how a search space becomes a sequence of *tokens* (decisions) that a recurrent
           controller emits one by one;
        2. write down the REINFORCE update with a baseline, and say why the baseline is there;
        3. read the controller's live plots: choice probabilities, reward against baseline, entropy;
        4. estimate what RL-based NAS costs when every reward is a trained network.

        Paper: Zoph & Le, *Neural Architecture Search with Reinforcement Learning*, ICLR 2017.
        """),
        params('''
        PRESETS = {
            "ci":        {"rl_budget": 100, "seeds": 2, "real_budget": 5},
            "classroom": {"rl_budget": 500, "seeds": 5, "real_budget": 10},
            "gpu":       {"rl_budget": 1000, "seeds": 10, "real_budget": 50},
        }
        ''', FIDELITY, DATASET, extra='''
        for s in PRESETS:
            PRESETS[s].update(fidelity=FIDELITY[s], dataset=DATASET[s], device=DEVICE[s])
        '''),
        code(SETUP),
        md("""
        ## From a space to tokens

        An RL controller does not know what a cell is. It only makes a fixed sequence of categorical
        choices, the space's `decisions()`: for NB201, one op per edge (6 decisions of 5 options); for the
        chain space, per layer an op and then one skip bit per earlier layer. Any list of choice indices
        maps back to an architecture with `from_decisions`. That is the whole interface between the
        controller and the space.
        """),
        code('''
        space = nl.get_space("nb201")
        for d in space.decisions():
            print(f"{d.name:16s} {d.choices}")
        print(len(nl.get_space("chain").decisions()), "decisions in the 6-layer chain space")
        '''),
        md("""
        ## The controller

        An LSTM reads the token it chose at step t-1 and outputs a softmax over the options of decision t.
        Sampling from it token by token writes one architecture; the product of the chosen probabilities
        is the probability P(a; θ) of that architecture under the controller's parameters θ. Fresh, the
        controller is close to uniform.
        """),
        code('''
        from nasbench_lab.strategies.reinforce import Controller

        controller = Controller([len(d.choices) for d in space.decisions()], hidden=64)
        tokens = controller.sample(random.Random(0))
        print("tokens:", tokens)
        print("architecture:", space.to_str(space.from_decisions(tokens)))
        '''),
        md("""
        ## REINFORCE with a baseline

        The reward R of an architecture a is its validation accuracy after training. We want θ that
        maximises the expected reward J(θ) = E[R]. We can not differentiate through training, but the
        policy-gradient identity (Williams, 1992) only needs log-probabilities:

        $$\\nabla_\\theta J \\approx \\frac{1}{m}\\sum_{k=1}^{m} (R_k - b)\\,\\nabla_\\theta \\log P(a_k;\\theta)$$

        over a batch of m sampled architectures. The **baseline** b (here a moving average of past
        rewards) does not change the expected gradient, but without it every sampled architecture (all
        have positive accuracy) would be pushed up; with it, only architectures *better than usual* are
        made more likely, and worse ones less likely. A small **entropy bonus** keeps the controller from
        becoming certain too early.

        ## A first run on an instant landscape

        Real rewards cost a training run each. To watch the controller learn we first use the `synthetic`
        estimator (a made-up landscape over the same space, instant, with a known optimum). The
        controller panel shows, per decision, how the choice probabilities move, and the reward against
        the baseline.
        """),
        code('''
        from nasbench_lab.widgets import ControllerView

        ctrl_view = ControllerView(space="nb201")
        display(ctrl_view)                       # redraws live while the search below runs
        log = nl.EventLog()
        rl = nl.search("nb201", "reinforce", "synthetic", budget=P["rl_budget"], seed=0,
                       on_event=[log, ctrl_view.on_event])
        ctrl_view.flush()
        steps = log.of("controller")
        print(f"{len(steps)} controller updates; mean reward of the first / last update: "
              f"{steps[0].payload['reward_mean']:.1f} / {steps[-1].payload['reward_mean']:.1f}")
        '''),
        code('''
        viz.controller_figure(log.events, space=space)
        '''),
        md("""
        Is the controller better than drawing at random? On this landscape both eventually stumble on
        good cells; the difference is in *what they sample*: a learning controller samples better and
        better architectures, random search does not. We compare both over several seeds: the mean
        reward of the last 100 samples, and the best found.
        """),
        code('''
        from nasbench_lab.synthetic import SyntheticEstimator

        optimum = space.to_str(SyntheticEstimator().optimum(space))
        summary, anytime = {}, {}
        for strategy in ("random", "reinforce"):
            rows = []
            for seed in range(P["seeds"]):
                r = nl.search("nb201", strategy, "synthetic", budget=P["rl_budget"], seed=seed)
                tail = [e.val_acc for e in r.evaluations[-100:]]
                rows.append((sum(tail) / len(tail), r.best.val_acc, r.best.arch == optimum))
                anytime.setdefault(strategy, []).append([e.to_dict() for e in r.evaluations])
            summary[strategy] = rows
            n = len(rows)
            print(f"{strategy:9s} mean reward of the last 100 samples {sum(t for t, _, _ in rows) / n:5.1f}   "
                  f"best {sum(b for _, b, _ in rows) / n:5.1f}   optimum found in {sum(f for *_, f in rows)}/{n} seeds")
        viz.anytime_figure(anytime)
        '''),
        md("""
        ## What it costs with real rewards

        Now the real thing: every reward is a network trained from scratch (at the classroom fidelity: a
        small NB201 network, one short epoch). Watch the seconds per evaluation.
        """),
        code(LOAD_DATA),
        code('''
        real_log = nl.EventLog()
        real = nl.search("nb201", "reinforce", "train", budget=P["real_budget"], dataset=P["dataset"],
                         device=P["device"], seed=0, estimator_options=TRAIN, on_event=real_log)
        sec_per_eval = real.seconds / len(real.evaluations)
        print(f"{len(real.evaluations)} rewards in {real.seconds:.0f} s: {sec_per_eval:.1f} s per reward; "
              f"{len(real_log.of('controller'))} controller updates (batch of 5)")
        print("best:", real.best.arch, f"{real.best.val_acc:.1f} %")
        '''),
        md("""
        A handful of updates teaches the controller almost nothing: REINFORCE needs hundreds to thousands
        of rewards. Zoph & Le trained 12,800 child networks on CIFAR-10 with 800 GPUs for 28 days
        (about 22,400 GPU-days). At our classroom fidelity that many rewards would take the time printed
        below on this machine; with real training (hundreds of epochs on full data) it is months. This
        cost is what weight sharing (notebook 05) attacks.
        """),
        code('''
        hours = 12_800 * sec_per_eval / 3600
        print(f"12,800 classroom-fidelity rewards at {sec_per_eval:.1f} s each: {hours:.1f} hours on this machine")
        '''),
        md("""
        ## Exercises

        ### Exercise 1: the baseline, by hand
        The strategy keeps b as an exponential moving average: at the first update b starts at that
        batch's mean reward, and after every update b ← 0.9·b + 0.1·(mean reward of the batch). Using only
        the `reward_mean` of each `controller` event of the first run (`steps`), compute the list of
        baselines after each update, and compare with the `baseline` the events report.
        """),
        code('''
        rewards = [e.payload["reward_mean"] for e in steps]
        my_baselines = ...        # a list, one value per update
        '''),
        code('''
        check("exercise 1", my_baselines,
              lambda b: len(b) == len(steps) and all(abs(x - e.payload["baseline"]) < 1e-3 for x, e in zip(b, steps)),
              "b_1 = r_1, then b_k = 0.9 * b_(k-1) + 0.1 * r_k")
        '''),
        solution('''
        # Solution
        my_baselines, b = [], None
        for r in rewards:
            b = r if b is None else b
            b = 0.9 * b + 0.1 * r
            my_baselines.append(b)
        check("exercise 1", my_baselines,
              lambda b: len(b) == len(steps) and all(abs(x - e.payload["baseline"]) < 1e-3 for x, e in zip(b, steps)))
        '''),
        md("""
        ### Exercise 2: the sign of the update
        An architecture earns a reward of 70 % while the baseline is 75 %. After the REINFORCE step, is
        that architecture `"more"` or `"less"` likely to be sampled?
        """),
        code('''
        direction = ...           # "more" or "less"
        '''),
        code('''
        check("exercise 2", direction, lambda d: d == "less", "look at the sign of (R - b)")
        '''),
        solution('''
        # Solution: R - b = -5 < 0, so the step lowers log P(a): the architecture becomes less likely.
        direction = "less"
        check("exercise 2", direction, lambda d: d == "less")
        '''),
        md("""
        ### Exercise 3: GPU-days
        Suppose one reward takes `sec_per_eval` seconds (as measured above) on one device. How many
        device-days do 12,800 rewards take? Put the number in `device_days`.
        """),
        code('''
        device_days = ...
        '''),
        code('''
        check("exercise 3", device_days, lambda d: abs(d - 12_800 * sec_per_eval / 86_400) < 1e-6 * max(1, d),
              "a day has 86,400 seconds")
        '''),
        solution('''
        # Solution
        device_days = 12_800 * sec_per_eval / 86_400
        print(f"{device_days:.2f} device-days at classroom fidelity (NAS-RL: about 22,400 GPU-days)")
        check("exercise 3", device_days, lambda d: abs(d - 12_800 * sec_per_eval / 86_400) < 1e-6 * max(1, d))
        '''),
        code(FOOTER),
    ]


# ====================================================================== 03 evolution
@register("03_evolution")
def nb03():
    return [
        md("""
        # 03 · Evolution: mutation, crossover, selection, and aging

        **Learning goals.** After this notebook you can
        1. describe the loop of an evolutionary search (population, selection, mutation, crossover,
           removal) and run it live;
        2. explain tournament selection and how the tournament size sets the *selection pressure*;
        3. explain regularized (aging) evolution, why removing the *oldest* instead of the *worst* member
           was proposed, and test the claim yourself instead of taking it on trust.

        Paper: Real, Aggarwal, Huang & Le, *Regularized Evolution for Image Classifier Architecture
        Search*, AAAI 2019 (the search behind AmoebaNet, 3,150 GPU-days on CIFAR-10).
        """),
        params('''
        PRESETS = {
            "ci":        {"live_budget": 8,  "population": 4, "sample": 2, "race_budget": 60,  "seeds": 3},
            "classroom": {"live_budget": 14, "population": 6, "sample": 3, "race_budget": 120, "seeds": 10},
            "gpu":       {"live_budget": 60, "population": 16, "sample": 4, "race_budget": 300, "seeds": 20},
        }
        ''', FIDELITY, DATASET, extra='''
        for s in PRESETS:
            PRESETS[s].update(fidelity=FIDELITY[s], dataset=DATASET[s], device=DEVICE[s])
        '''),
        code(SETUP),
        md("""
        ## Variation: mutation and crossover

        Evolution needs two ways to make a new architecture from old ones. A **mutation** changes one
        thing (in NB201: the op of one edge). A **crossover** mixes two parents (in NB201: each edge's op
        from one parent or the other). Both are space operations, so evolution runs on any space.
        """),
        code('''
        space = nl.get_space("nb201")
        rng = random.Random(3)
        parent = space.reference("resnet")
        child = space.mutate(parent, rng)
        changed = [f"{e}: {a} -> {b}" for e, a, b in zip(("0->1", "0->2", "1->2", "0->3", "1->3", "2->3"),
                                                         parent.ops, child.ops) if a != b]
        print("parent:", space.to_str(parent))
        print("child: ", space.to_str(child), "| changed", changed)
        other = space.reference("best_cifar10")
        print("crossover of resnet and best_cifar10:", space.to_str(space.crossover(parent, other, rng)))
        viz.dag_figure(space, child, title="a mutant of the ResNet cell")
        '''),
        md("""
        ## The loop (Real et al., Algorithm 1)

        ```
        population <- P random architectures, each evaluated
        repeat until the budget is spent:
            sample S members of the population at random      (a tournament)
            parent <- the best of them
            child  <- mutate(parent); evaluate child
            add the child; remove the OLDEST member            (aging; the classic variant removes the WORST)
        ```

        **Selection pressure.** With S = 1 the parent is a random member (no pressure); with S = P it is
        always the best (greedy: fast, but the population collapses onto one lineage). Values in between
        balance exploring and exploiting. NAS-Bench-201 used P = 10, S = 3; Real et al. P = 100, S = 25.

        **Aging.** Removing the oldest means no architecture lives forever, however good its (possibly
        lucky) evaluation was: to stay, a good architecture must keep having good children. Real et al.
        argue this makes the search robust to noisy evaluations. We test that below.

        ## A live run with real training

        The population panel shows every member ever born at (generation, fitness): alive ones coloured
        by age, removed ones grey, lines from parent to child, and the best and mean of the living.
        """),
        code(LOAD_DATA),
        code('''
        from nasbench_lab.widgets import PopulationView

        pop_view = PopulationView()
        display(pop_view)
        log = nl.EventLog()
        evo = nl.search("nb201", "evolution", "train", budget=P["live_budget"], dataset=P["dataset"],
                        device=P["device"], seed=0, estimator_options=TRAIN, on_event=[log, pop_view.on_event],
                        strategy_options={"population": P["population"], "sample": P["sample"]})
        pop_view.flush()
        print(f"{len(evo.evaluations)} evaluations in {evo.seconds:.0f} s; best {evo.best.val_acc:.1f} %:", evo.best.arch)
        '''),
        md("""
        ## Aging or not, crossover or not: measured over seeds

        One run proves nothing: a search is a random process. We compare four strategies over several
        seeds on the instant `synthetic` landscape, whose optimum we know: regularized evolution (aging),
        the classic tournament GA that removes the worst (`aging=False`), aging evolution with crossover,
        and random search as the baseline. We report the *true* (noiseless) score of the architecture each
        run returns and how many runs returned the optimum.

        Then we make evaluations **noisy**: the strategy sees accuracy plus Gaussian noise (standard
        deviation 4 points, about one step of this landscape), as when a network's accuracy changes from
        one training seed to the next. The objective is what a strategy maximises, so a noisy objective is
        a noisy evaluation.
        """),
        code('''
        from nasbench_lab.synthetic import SyntheticEstimator

        truth = SyntheticEstimator()
        optimum = space.to_str(truth.optimum(space))
        VARIANTS = {"aging": {}, "no aging": {"aging": False}, "aging + crossover": {"crossover": 0.5},
                    "random": None}


        def noisy(seed, sd):
            draw = random.Random(1000 + seed)           # seeded: the same noise for every variant
            return lambda ev: ev.val_acc + draw.gauss(0.0, sd)


        race = {}
        for sd in (0.0, 4.0):
            for label, opts in VARIANTS.items():
                picked = []
                for seed in range(P["seeds"]):
                    r = nl.search("nb201", "evolution" if opts is not None else "random", "synthetic",
                                  budget=P["race_budget"], seed=seed, objective=noisy(seed, sd) if sd else None,
                                  strategy_options=None if opts is None else {"population": 20, "sample": 5, **opts})
                    picked.append(r.best.arch)
                scores = [truth.score(space, a) for a in picked]
                race[(sd, label)] = scores
                print(f"noise {sd:3.1f}  {label:18s} true score of the pick {sum(scores) / len(scores):5.2f}   "
                      f"optimum in {sum(a == optimum for a in picked)}/{len(picked)} runs")
        '''),
        md("""
        Read the table honestly. Without noise, the three evolutionary variants are close and all far
        ahead of random search. With noise, every variant loses some accuracy, because it sometimes
        returns an architecture whose *noisy* score was lucky. Whether aging helps here is an empirical
        question with a small answer on a small landscape; Real et al. measured their advantage with
        hundreds of workers and thousands of evaluations on CIFAR-10. The lesson for your own work:
        measure over seeds, on your problem, before believing a strategy is better.

        ## Exercises

        ### Exercise 1: selection pressure
        A population holds P = 20 members with distinct fitness; a tournament samples S = 5 of them
        without replacement and picks the best. What is the probability that the **best** member of the
        population wins a given tournament?
        """),
        code('''
        p_best_wins = ...
        '''),
        code('''
        from math import comb
        check("exercise 1", p_best_wins, lambda p: abs(p - (1 - comb(19, 5) / comb(20, 5))) < 1e-9,
              "the best member wins exactly when it is in the sample")
        '''),
        solution('''
        # Solution: it wins iff it is sampled: 1 - C(19,5)/C(20,5) = 5/20.
        p_best_wins = 5 / 20
        check("exercise 1", p_best_wins, lambda p: abs(p - (1 - comb(19, 5) / comb(20, 5))) < 1e-9)
        '''),
        md("""
        ### Exercise 2: who gets removed?
        Every `population` event of the live run lists the members (`id`, `age`, `alive`) and the ids in
        `removed`. Check, from the events alone, that aging always removed the member that was the
        **oldest** in that generation. Set `always_oldest` to `True` or `False`.
        """),
        code('''
        pops = [e.payload for e in log.of("population")]
        always_oldest = ...
        '''),
        code('''
        def _oldest_removed(p):
            gone = [m for m in p["members"] if m["id"] in p["removed"]]
            return all(g["age"] >= max(m["age"] for m in p["members"]) for g in gone)

        check("exercise 2", always_oldest, lambda a: a == all(_oldest_removed(p) for p in pops),
              "compare the age of each removed member with the ages of all members of that event")
        '''),
        solution('''
        # Solution
        always_oldest = all(_oldest_removed(p) for p in pops)
        print("removals seen:", sum(len(p["removed"]) for p in pops), "| always the oldest:", always_oldest)
        check("exercise 2", always_oldest, lambda a: a == all(_oldest_removed(p) for p in pops))
        '''),
        md("""
        ### Exercise 3 (open)
        Rerun the race with `"sample": 20` (greedy selection, S = P) and with `"sample": 1` (no
        selection). Which one suffers more from noise, and why?
        """),
        code(FOOTER),
    ]


# ====================================================================== 04 DARTS
@register("04_darts")
def nb04():
    return [
        md("""
        # 04 · DARTS: architecture search by gradient descent

        **Learning goals.** After this notebook you can
        1. explain the *continuous relaxation*: every edge computes a softmax(α)-weighted mix of all ops;
        2. write the bilevel problem (weights on the training split, α on the validation split) and tell
           the first-order from the second-order approximation, with their cost;
        3. read an α-evolution plot, discretise a supernet by argmax, and measure the *discretisation gap*;
        4. describe the skip-connection collapse (and its cousin, parameter-free ops taking over) and a
           remedy: early stopping on a collapse indicator, then validating the cell from scratch.

        Paper: Liu, Simonyan & Yang, *DARTS: Differentiable Architecture Search*, ICLR 2019.
        """),
        params('''
        PRESETS = {
            "ci": {"epochs": 3, "epochs_second_order": 1, "random_cells": 2,
                   "darts": {"train_subset": 128, "val_subset": 128, "eval_subset": 64, "batch_size": 32,
                             "arch_lr": 3e-3}},
            "classroom": {"epochs": 8, "epochs_second_order": 2, "random_cells": 3,
                          "darts": {"train_subset": 640, "val_subset": 640, "eval_subset": 300, "batch_size": 64,
                                    "arch_lr": 3e-3}},
            "gpu": {"epochs": 30, "epochs_second_order": 5, "random_cells": 5,
                    "darts": {"train_subset": 10000, "val_subset": 10000, "eval_subset": 2000, "batch_size": 64,
                              "arch_lr": 3e-4}},
        }
        ''', FIDELITY, DATASET, extra='''
        for s in PRESETS:
            PRESETS[s].update(fidelity=FIDELITY[s], dataset=DATASET[s], device=DEVICE[s])
        '''),
        code(SETUP),
        md("""
        ## The continuous relaxation

        Multi-trial strategies pick *one* op per edge and train the result. DARTS instead puts **all**
        candidate ops on every edge at once and mixes their outputs:

        $$\\bar o^{(i,j)}(x) = \\sum_{o \\in \\mathcal O} \\frac{e^{\\alpha^{(i,j)}_o}}{\\sum_{o'} e^{\\alpha^{(i,j)}_{o'}}}\\; o(x)$$

        The architecture is now a real-valued matrix α (edges x ops), and the network, called the
        *supernet*, is differentiable in α. For NB201 α is 6 x 5, shared by all cells of the supernet.
        At initialisation every op gets almost the same weight.
        """),
        code('''
        import torch.nn.functional as F

        space = nl.get_space("nb201")
        supernet = space.supernet(in_channels=1, num_classes=10, C=8, N=1)
        print("alpha shape:", tuple(supernet.alphas.shape), "| ops:", supernet.op_names())
        print("softmax weights of edge 0->1 at init:", [round(w, 3) for w in F.softmax(supernet.alphas[0], -1).tolist()])
        print(f"{sum(p.numel() for p in supernet.weight_parameters()):,} weights, "
              f"{sum(p.numel() for p in supernet.arch_parameters())} architecture parameters")
        '''),
        md("""
        ## Bilevel optimisation: two splits, two optimisers

        The weights w should fit the training data; α should make the *trained* network good on held-out
        data:

        $$\\min_\\alpha \\; \\mathcal L_{val}(w^*(\\alpha), \\alpha) \\quad \\text{s.t.} \\quad w^*(\\alpha) = \\arg\\min_w \\mathcal L_{train}(w, \\alpha)$$

        Solving the inner problem for every α step is impossible, so DARTS alternates one step of each:
        an α step (Adam) on a validation batch, then a w step (SGD) on a training batch.

        * **First order** treats w as fixed when differentiating L_val by α: cheap, one extra
          forward-backward per step.
        * **Second order** looks one virtual SGD step ahead, w' = w - ξ ∇_w L_train, and differentiates
          L_val(w', α) through it; the Hessian-vector product this needs is approximated by finite
          differences (two more forward-backward passes). The paper found it slightly better (2.76 % vs
          3.00 % CIFAR-10 error) at roughly 2.5-3x the search cost per run (about 1 GPU-day per
          second-order run, against 1.5 GPU-days for four first-order runs).

        Why the validation split for α: trained on the training split, α would just pick whatever fits
        the training data fastest, which is not the same as what generalises.

        ## A first-order search, live

        The α panel plots each op's softmax weight per edge and epoch (orange is `skip_connect`), and the
        cell as the α currently shape it (slider: any epoch). The search runs on a small supernet (the
        classroom skeleton, C=8, N=1) and a few hundred images, with an α learning rate 10x the paper's,
        so that a few epochs show movement.
        """),
        code(LOAD_DATA),
        code('''
        from nasbench_lab.strategies.darts import DartsSearch
        from nasbench_lab.widgets import AlphaView

        def darts_run(order, epochs, log, views=(), **extra):
            """One DARTS search; returns (result, strategy) so we can look inside the supernet afterwards."""
            strategy = DartsSearch(space, random.Random(0), None, order=order, **P["darts"], **extra)
            result = nl.search(space, strategy, "train", budget=epochs, dataset=P["dataset"], device=P["device"],
                               seed=0, estimator_options=TRAIN, on_event=[log, *views])
            return result, strategy

        alpha_view = AlphaView()
        display(alpha_view)
        log1 = nl.EventLog()
        first, first_strategy = darts_run(1, P["epochs"], log1, views=[alpha_view.on_event])
        alpha_view.flush()
        epochs1 = log1.of("epoch")
        print(f"{len(epochs1)} epochs in {epochs1[-1].payload['seconds']:.0f} s; supernet accuracy per epoch:",
              [round(e.payload["val_acc"], 1) for e in epochs1])
        '''),
        code('''
        viz.alpha_evolution_figure(log1.events)
        '''),
        md("""
        ## Discretisation, and the gap it opens

        At the end DARTS keeps, on each edge, the op with the largest α (for NB201, `none` included) and
        drops the rest. The supernet mixed all ops; the cell keeps one per edge. How much does that change
        the network? We compare three accuracies on the same validation images:

        1. the supernet with its α mixture (what the search optimised);
        2. the derived cell's path through the *same* supernet weights (batch-norm statistics recomputed
           for that path);
        3. the derived cell trained from scratch (what the search reports; the driver re-trains the
           final cell with the `train` estimator).

        A large difference between 1 and 2 is the **discretisation gap**: the α mixture was good, the
        argmax of it need not be.
        """),
        code('''
        from nasbench_lab.oneshot import Precision, accuracy, recalibrate_bn

        net, derived = first_strategy.supernet, first_strategy.history[-1]
        prec = Precision.for_device(DATA.device)
        n_eval = P["darts"]["eval_subset"]
        vx, vy = DATA.val_x[:n_eval], DATA.val_y[:n_eval]
        mixture_acc = accuracy(net, vx, vy, prec)
        recalibrate_bn(net, DATA.train_x[:P["darts"]["train_subset"]], prec, batches=5, batch_size=128, arch=derived)
        path_acc = accuracy(net, vx, vy, prec, arch=derived)
        print("derived cell:", space.to_str(derived))
        print(f"supernet (alpha mixture)        {mixture_acc:5.1f} %")
        print(f"derived path, inherited weights {path_acc:5.1f} %")
        print(f"derived cell, trained from scratch {first.best.val_acc:5.1f} %  (at the estimator's fidelity)")
        viz.dag_figure(space, derived, title="the cell DARTS derived")
        '''),
        md("""
        ## First order against second order: the cost

        Same supernet, same data, same seed, `order=2`. We only compare seconds per epoch here; a fair
        accuracy comparison needs full-length searches over several seeds (`gpu` scale).
        """),
        code('''
        log2 = nl.EventLog()
        second, _ = darts_run(2, P["epochs_second_order"], log2)
        per_epoch_1 = epochs1[-1].payload["seconds"] / len(epochs1)
        epochs2 = log2.of("epoch")
        per_epoch_2 = epochs2[-1].payload["seconds"] / len(epochs2)
        print(f"first order {per_epoch_1:.1f} s/epoch, second order {per_epoch_2:.1f} s/epoch: "
              f"{per_epoch_2 / per_epoch_1:.1f}x")
        '''),
        md("""
        ## The collapse

        Run DARTS long enough and the derived cell can fill up with **parameter-free** ops. On
        NAS-Bench-201 (Dong & Yang 2020) DARTS-V1 and V2 end at the all-`skip_connect` cell: 54.30 % on
        CIFAR-10, against 94.37 % for the best cell. Zela et al. (ICLR 2020) traced this to the supernet,
        not the cell: ops without weights make the *supernet* easy to train, so their α grow whether or not
        the derived cell is any good.

        A collapse indicator is the share of parameter-free ops (`skip_connect`, `avg_pool_3x3`) in the
        derived cell, per epoch. Look at the trajectory of our short run before reading on:
        """),
        code('''
        PARAM_FREE = {"skip_connect", "avg_pool_3x3"}

        def param_free_share(arch):
            ops = space.from_str(arch).ops if isinstance(arch, str) else arch.ops
            return sum(op in PARAM_FREE for op in ops) / len(ops)

        history = [e.payload for e in log1.of("alphas")]
        shares = [param_free_share(h["derived"]) for h in history]
        for h, share in zip(history, shares):
            print(f"epoch {h['epoch']:2d}  skip share {h['skip_share']:.2f}  parameter-free share {share:.2f}  "
                  f"{h['derived']}")
        peak = max(range(len(shares)), key=shares.__getitem__)
        print(f"parameter-free share: peak {shares[peak]:.2f} in epoch {history[peak]['epoch']}, "
              f"final {shares[-1]:.2f}")
        '''),
        md("""
        How to read it. In the first epochs the convolutions are still untrained, so almost every
        supernet prefers parameter-free ops at first; that early preference is not yet the collapse. What
        happens next depends on the length of the search, the data and the learning rates: in short
        classroom searches the convolutions often win back the edges, while in the papers' 50-epoch
        CIFAR-10 searches the parameter-free ops lock in. Also check exercise 2 below: after a short search
        the α are still close to uniform, so the argmax that picks the cell rests on small differences.

        ## Remedies, and the check that every result needs

        * **Early stopping** (DARTS+, Liang et al. 2019; DARTS-ES, Zela et al. 2020): stop once the
          collapse indicator crosses a limit and keep the last cell from **before** that. Because of the
          untrained-convolution effect above we start checking only after a warm-up (here the first half
          of the epochs). Built in for skip connections:
          `strategy_options={"remedy": "early_stop"}`.
        * **DARTS-** (Chu et al., ICLR 2021): an auxiliary skip connection whose weight decays from 1 to 0,
          so `skip_connect` no longer has to win α to keep the gradient flowing: `remedy="darts-"`.

        We apply the early-stopping rule to the trajectory above (the same run, so no new search is needed)
        and then do what every NAS result needs: train the candidates **from scratch**, next to random
        cells of the same space trained the same way.
        """),
        code('''
        LIMIT, WARMUP = 0.5, max(1, len(history) // 2)
        stop_at = next((i for i in range(WARMUP, len(history)) if shares[i] >= LIMIT), None)
        before = None if stop_at is None else next((i for i in range(stop_at - 1, -1, -1) if shares[i] < LIMIT), None)
        if stop_at is None:
            early = history[-1]["derived"]
            print(f"after the {WARMUP}-epoch warm-up the share stayed below {LIMIT}: the rule keeps the final cell")
        elif before is None:
            early = history[-1]["derived"]
            print(f"the share reached {LIMIT} in epoch {history[stop_at]['epoch']}, but no earlier cell was below "
                  f"the limit: the rule has nothing better to keep")
        else:
            early = history[before]["derived"]
            print(f"the share reached {LIMIT} in epoch {history[stop_at]['epoch']}: the rule stops there and keeps "
                  f"the cell of epoch {history[before]['epoch']}")

        estimator = nl.get_estimator("train", dataset=P["dataset"], device=P["device"], **TRAIN)
        candidates = {"DARTS final cell": history[-1]["derived"]}
        if early != history[-1]["derived"]:
            candidates["DARTS early-stopped cell"] = early
        rng = random.Random(7)
        for k in range(P["random_cells"]):
            candidates[f"random cell {k + 1}"] = space.to_str(space.sample(rng))
        scratch = {}
        for name, arch in candidates.items():
            ev = estimator.evaluate(space, arch, seed=0)
            scratch[name] = ev.val_acc
            print(f"{name:26s} {ev.val_acc:5.1f} %   {arch}")
        '''),
        md("""
        With one seed and one short training per cell these numbers are noisy (a point or two); treat
        them as a sanity check, not a verdict. The habit is what matters: a searched cell is only better
        if it beats random cells of the same space when all are trained the same way (Li & Talwalkar
        2019; Yang et al., *NAS evaluation is frustratingly hard*, ICLR 2020).

        ## Exercises

        ### Exercise 1: discretise by hand
        `history[-1]["weights"]` holds the softmax weights of the last epoch (6 edges x 5 ops, in the
        order of `history[-1]["ops"]`). Derive the cell yourself: the strongest op on each edge, written
        as an NB201 string (`space.from_decisions` takes a list of op indices).
        """),
        code('''
        my_cell = ...             # an NB201 string
        '''),
        code('''
        check("exercise 1", my_cell, lambda s: space.to_str(space.from_str(s)) == history[-1]["derived"],
              "argmax per edge; from_decisions([...]) and to_str turn indices into the string")
        '''),
        solution('''
        # Solution
        w = history[-1]["weights"]
        my_cell = space.to_str(space.from_decisions([max(range(len(row)), key=row.__getitem__) for row in w]))
        check("exercise 1", my_cell, lambda s: space.to_str(space.from_str(s)) == history[-1]["derived"])
        '''),
        md("""
        ### Exercise 2: how uniform is "uniform"?
        The entropy of one edge's weights is H = -Σ w log w (nats); with 5 ops it is at most log 5 ≈ 1.609
        (all equal). Compute the mean entropy over the 6 edges at the **last** epoch. Did the search become
        confident (much lower than 1.609) or not?
        """),
        code('''
        mean_entropy = ...
        '''),
        code('''
        import math
        _H = sum(-sum(x * math.log(x) for x in row if x > 0) for row in history[-1]["weights"]) / 6
        check("exercise 2", mean_entropy, lambda h: abs(h - _H) < 1e-6, "average the 6 per-edge entropies")
        '''),
        solution('''
        # Solution
        mean_entropy = sum(-sum(x * math.log(x) for x in row if x > 0) for row in history[-1]["weights"]) / 6
        print(f"mean entropy {mean_entropy:.3f} nats (uniform: {math.log(5):.3f})")
        check("exercise 2", mean_entropy, lambda h: abs(h - _H) < 1e-6)
        '''),
        md("""
        ### Exercise 3 (open)
        Rerun `darts_run(1, P["epochs"], nl.EventLog(), remedy="darts-")` and compare the α plots. What
        does the auxiliary skip connection change, and which op wins instead?
        """),
        code(FOOTER),
    ]


# ====================================================================== 05 one-shot
@register("05_one_shot")
def nb05():
    return [
        md("""
        # 05 · One-shot NAS: train one supernet, not thousands of networks

        **Learning goals.** After this notebook you can
        1. explain weight sharing: a *supernet* contains every architecture of the space as a path, and a
           candidate is scored with the weights it *inherits* instead of being trained;
        2. describe three one-shot methods and run them: SPOS (uniform single-path training, then evolution
           on inherited weights), ENAS (an RL controller over shared weights) and ProxylessNAS (binarised
           paths, latency in the loss);
        3. compare their search cost with multi-trial search, measured and published.

        Papers: Pham et al., *ENAS*, ICML 2018; Guo et al., *Single Path One-Shot*, ECCV 2020; Cai, Zhu &
        Han, *ProxylessNAS*, ICLR 2019; Bender et al., *Understanding and Simplifying One-Shot
        Architecture Search*, ICML 2018.
        """),
        params('''
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
        ''', FIDELITY, DATASET, extra='''
        for s in PRESETS:
            PRESETS[s].update(fidelity=FIDELITY[s], dataset=DATASET[s], device=DEVICE[s])
        '''),
        code(SETUP),
        md("""
        ## Weight sharing

        In notebooks 02 and 03 every candidate was trained from scratch, and that dominated the cost.
        One-shot methods build a **supernet** that contains every architecture of the space as a path
        (in NB201: every edge holds all 5 ops; a cell picks one per edge). The supernet is trained once;
        afterwards a candidate's score is the accuracy of *its path* through the shared weights, a few
        forward passes instead of a training run. The price: inherited weights were trained for all
        paths at once, so they fit no single path perfectly, and the ranking they give can be wrong
        (notebook 06 measures how wrong).

        ## The `supernet` estimator: inherited weights for any strategy

        The lab's `supernet` estimator trains an NB201 supernet once, with single paths drawn uniformly
        (as SPOS), and then scores a candidate by its path's validation accuracy after re-estimating the
        batch-norm statistics for that path. Because it is an estimator, any multi-trial strategy can use
        it. Watch the cost per candidate.
        """),
        code(LOAD_DATA),
        code('''
        space = nl.get_space("nb201")
        shared = nl.get_estimator("supernet", dataset=P["dataset"], device=P["device"], data=DATA, **P["supernet"])
        t = time.perf_counter()
        shared.supernet(space)                       # trains it now (otherwise: at the first evaluation)
        supernet_seconds = time.perf_counter() - t
        print(f"supernet trained in {supernet_seconds:.1f} s")
        for ref in ("resnet", "all_conv3x3", "all_skip", "empty"):
            ev = shared.evaluate(space, space.reference(ref))
            print(f"{ref:12s} inherited-weight accuracy {ev.val_acc:5.1f} %  ({1000 * ev.cost:.0f} ms)")
        '''),
        code('''
        inherited = nl.search(space, "evolution", shared, budget=P["inherited_budget"], seed=0,
                              strategy_options={"population": 10, "sample": 3})
        print(f"{len(inherited.evaluations)} candidates scored in {inherited.seconds:.1f} s "
              f"({1000 * inherited.seconds / len(inherited.evaluations):.0f} ms each); best by inherited weights:",
              inherited.best.arch, f"{inherited.best.val_acc:.1f} %")
        '''),
        md("""
        ## SPOS: uniform single paths, then evolution on inherited weights

        Guo et al. decouple the two stages. (1) Supernet training: every mini-batch trains one path drawn
        **uniformly**, so no architecture is favoured by the training itself (learned path distributions,
        as in DARTS and ENAS, train the paths they already like and so confirm their early guesses).
        (2) Search: an evolutionary algorithm scores candidates with inherited weights. Finally the top-k
        candidates are **re-trained from scratch**, because inherited scores are only a rough guide. In the
        lab the driver does that last step with the estimator we pass (here `train`).
        """),
        code('''
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
        '''),
        md("""
        ## ENAS: an RL controller over shared weights

        ENAS keeps the controller of notebook 02 but replaces "train the child" by "evaluate the child's
        path in the supernet". Each epoch alternates (1) training the shared weights along paths sampled
        from the controller and (2) training the controller with REINFORCE, the reward being the
        supernet's accuracy along the sampled path on a validation batch. It cut NAS-RL's 22,400 GPU-days
        to about half a GPU-day. Its weakness is the one flagged above: the controller trains the paths it
        already prefers, so early favourites are hard to dislodge (on NAS-Bench-201 ENAS collapses, like
        DARTS, to 54.30 %).
        """),
        code('''
        ctrl_view = ControllerView(space="nb201")
        display(ctrl_view)
        enas_log = nl.EventLog()
        enas = nl.search(space, "enas", "train", budget=P["enas_epochs"], dataset=P["dataset"], device=P["device"],
                         seed=0, strategy_options=P["enas"], estimator_options=TRAIN,
                         on_event=[enas_log, ctrl_view.on_event])
        ctrl_view.flush()
        print(f"{len(enas_log.of('controller'))} controller updates; chosen cell {enas.best.arch}: "
              f"{enas.best.val_acc:.1f} % from scratch")
        '''),
        md("""
        ## ProxylessNAS: one path at a time, and latency in the loss

        DARTS runs every op of every edge in each step, so its memory grows with the number of ops and it
        searches on a small *proxy* network. ProxylessNAS keeps DARTS-like α but **binarises** the paths:
        a step runs one sampled op per block (two for the α update), so it can search the real network on
        the real task. It also adds the expected latency to the loss,

        $$\\mathcal L = \\mathcal L_{CE} + \\lambda\\, \\mathbb E[\\text{latency}] = \\mathcal L_{CE} + \\lambda \\sum_{\\text{blocks}} \\sum_j p_j\\, F(o_j),$$

        where F(o) comes from a latency lookup table measured on the target device (here: this CPU). It
        searches the MobileNet-style space. We run it twice, without (λ = 0) and with a latency penalty.
        """),
        code('''
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
        '''),
        md("""
        ## What did it cost?

        We put the measured costs side by side: seconds of the search phase (supernet training plus
        scoring candidates), how many candidates each method looked at, and what the same number of
        candidates would have cost if each had been trained from scratch at our fidelity.
        """),
        code('''
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
        '''),
        md("""
        Published search costs on CIFAR-10 (GPU-days): NAS-RL 22,400 (800 GPUs x 28 days), NASNet-A 2,000,
        AmoebaNet 3,150, DARTS about 1 (second order; first order 1.5 for four runs), ENAS 0.5, PC-DARTS 0.1.
        One-shot methods buy a factor of thousands, and pay for it in ranking quality: the next notebook
        checks how much the inherited scores can be trusted.

        ## Exercises

        ### Exercise 1
        How many *distinct* architectures did SPOS score with inherited weights during its evolutionary
        search? Count them from the `population` events in `spos_log`.
        """),
        code('''
        n_scored = ...
        '''),
        code('''
        check("exercise 1", n_scored,
              lambda n: n == len({m["arch"] for e in spos_log.of("population") for m in e.payload["members"]}),
              "collect the 'arch' of every member of every population event in a set")
        '''),
        solution('''
        # Solution
        n_scored = len({m["arch"] for e in spos_log.of("population") for m in e.payload["members"]})
        check("exercise 1", n_scored,
              lambda n: n == len({m["arch"] for e in spos_log.of("population") for m in e.payload["members"]}))
        '''),
        md("""
        ### Exercise 2
        The speed-up of weight sharing: training `n_scored` candidates from scratch (each `sec_scratch`
        seconds) against the SPOS search phase (`search_seconds(spos)`). Compute the ratio.
        """),
        code('''
        speedup = ...
        '''),
        code('''
        check("exercise 2", speedup, lambda s: abs(s - n_scored * sec_scratch / search_seconds(spos)) < 1e-6 * max(1, s),
              "from-scratch seconds divided by SPOS search seconds")
        '''),
        solution('''
        # Solution
        speedup = n_scored * sec_scratch / search_seconds(spos)
        print(f"weight sharing was {speedup:.1f}x cheaper here; with real training (hours per network) the "
              f"factor grows into the thousands")
        check("exercise 2", speedup, lambda s: abs(s - n_scored * sec_scratch / search_seconds(spos)) < 1e-6 * max(1, s))
        '''),
        md("""
        ### Exercise 3 (open)
        Give ProxylessNAS a much larger λ (say 20). Which blocks become `skip`, and what happens to the
        accuracy of the re-trained network?
        """),
        code(FOOTER),
    ]


# ====================================================================== 06 pitfalls
@register("06_pitfalls")
def nb06():
    return [
        md("""
        # 06 · Four pitfalls, with numbers and corrections

        **Learning goals.** After this notebook you can recognise, measure and correct the four classic ways
        a NAS result misleads:
        1. **trusting one-shot rankings**: inherited-weight scores against training from scratch
           (Kendall τ), and the correction, re-training the top-k;
        2. **a proxy task that misleads**: a cheap low-fidelity setting that reorders architectures, and
           the correction, validating on the target task;
        3. **ignoring hardware**: the most accurate cell is rarely the fastest; a latency penalty or limit
           and the Pareto front;
        4. **an under-specified search space**: a space that can not express a residual connection, or has
           no attention primitive, caps what any strategy can find; the correction is to check a space
           against known designs and modern primitives before searching.

        Every number below is measured live at the chosen scale. At `classroom` scale the samples are
        small (about a dozen architectures), so correlations carry an uncertainty of roughly ±0.2: read
        them as a demonstration of the method, and use `gpu` scale (or the lab's tabular benchmark) for
        conclusions.
        """),
        params('''
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
        ''', FIDELITY, DATASET, extra='''
        for s in PRESETS:
            PRESETS[s].update(fidelity=FIDELITY[s], dataset=DATASET[s], device=DEVICE[s])
        '''),
        code(SETUP),
        code(LOAD_DATA),
        md("""
        ## The architectures, and the reference we compare everything with

        We draw distinct NB201 cells at random (from the 6,466 unique ones) and train each **from scratch**
        with the `train` estimator. These from-scratch accuracies are the reference ("truth") for the first
        two pitfalls. Mind that the reference is itself a short classroom training; at `gpu` scale it is
        longer and closer to what a deployed network would reach.
        """),
        code('''
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
        '''),
        md("""
        ## Pitfall 1: trusting one-shot rankings

        A supernet is trained once (uniform single paths, as SPOS) and every cell is scored with the
        weights it inherits. A search only needs the *order* to be right, so we measure agreement of
        orders: **Kendall τ** (the share of pairs ordered the same way minus the share ordered the other
        way: 1 identical, 0 unrelated, -1 reversed), Spearman ρ, and the overlap of the top-k. Published
        figures: weight-sharing τ near 0 in several studies (Yu et al., ICLR 2020), 0.38-0.51 on NAS-Bench-301
        after long supernet training (Ning et al.).
        """),
        code('''
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
        '''),
        md("""
        **Correction: re-train the top-k.** Use the cheap scores only to shortlist, then train the k best
        candidates from scratch and pick among those (SPOS does exactly this). *Regret* is how much true
        accuracy we lose against the best cell of the sample.
        """),
        code('''
        print(f"regret of trusting the one-shot pick:            {one['regret']:5.2f} points")
        print(f"regret after re-training the one-shot top-{one['k']}:      {one['regret_top_k']:5.2f} points")
        '''),
        md("""
        ## Pitfall 2: a proxy task that misleads

        Searching on a cheaper task (fewer images, one short epoch, a narrower network, another dataset)
        assumes the cheap task orders architectures like the target task. It often does not: short
        trainings favour networks that learn *fast* (few parameters, pooling, skips) over networks that
        end up *best*.
        """),
        code('''
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
        '''),
        md("""
        The lab's tabular benchmark (`nasbench_lab.bench`) was designed for exactly this comparison: every
        NB201 cell trained on Fashion-MNIST under a `full` protocol and under a `lowfi` one (one epoch, 1,024
        images, half the channels). When the table file exists, the next cell measures the proxy on all
        6,466 cells at once; until it has been built (it needs a GPU) the cell says so, and the classroom
        measurement above is the evidence.
        """),
        code('''
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
        '''),
        md("""
        **Correction: validate on the target task.** Shortlist with the proxy, then train the proxy's top-k
        on the target task (here: the from-scratch fidelity) and choose among those, and report only
        target-task numbers. Equally important: measure the proxy's τ against the target on a sample
        *before* trusting it, as we just did.
        """),
        code('''
        print(f"regret of the proxy's pick {prox['regret']:.2f} points; after validating its top-{prox['k']} "
              f"on the target: {prox['regret_top_k']:.2f} points")
        '''),
        md("""
        ## Pitfall 3: ignoring hardware

        Accuracy is free in a paper and paid for in latency in a product. We measure the inference
        latency of each trained cell's network on *this* device (median of repeated timed forward passes
        after a warm-up; FLOPs and parameter counts are only proxies for it) and look at the trade-off.
        """),
        code('''
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
        '''),
        md("""
        **Correction: put latency into the objective.** Two classic forms (MnasNet, Tan et al. 2019): a
        *soft* penalty, accuracy x (latency / target)^w, and a *hard* limit, latency ≤ L. We apply both to
        the same measured cells, with the median latency as target and limit, and compare the picks.
        """),
        code('''
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
        '''),
        md("""
        The same objective plugs into any search (`search(..., objective="latency_ms<=4")`). On the
        instant synthetic landscape, whose accuracy optimum is deliberately a heavy network, a
        hardware-aware evolution finds a different architecture; the Pareto panel shows every candidate it
        evaluated.
        """),
        code('''
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
        '''),
        md("""
        ## Pitfall 4: an under-specified search space

        No strategy can find what the space does not contain. Two checks before any search:

        * **Can it express the known good designs?** Take NB201 and remove `skip_connect` from its op set:
          the ResNet block (two convolutions plus an identity shortcut) is gone, not one of the remaining
          cells computes it. The check below runs over all 15,625 cells (CI checks its output).
        * **Does it contain modern primitives?** A chain without attention can not express a
          convolution-plus-attention network, whatever the strategy; `chain(attention=True)` adds spatial
          self-attention and squeeze-excitation.
        """),
        code('''
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
        ''', expected="NB201                        15625 cells, 3 compute the ResNet cell\n"
                      "NB201 without skip_connect    4096 cells, 0 compute the ResNet cell\n"
                      "chain(attention=False) size 1,528,823,808  expresses conv+attention: False\n"
                      "chain(attention=True ) size 8,589,934,592  expresses conv+attention: True\n"),
        md("""
        Does it matter in accuracy? We train three human designs from the chain spaces under the same
        protocol: a plain VGG-like stack, the ResNet-like chain (shortcuts) and a convolution + attention
        chain. With one short training each, differences of a point or two are noise; the point is that
        the comparison is only *possible* in a space that contains all three.
        """),
        code('''
        if P["train_chains"]:
            chain_est = nl.get_estimator("train", dataset=P["dataset"], device=P["device"], data=DATA,
                                         fidelity={**P["fidelity"], "skeleton": {"C": P["chain_C"]}})
            plain, rich = nl.get_space("chain"), nl.get_space("chain", attention=True)
            for sp, ref in ((plain, "vgg_like"), (plain, "resnet_like"), (rich, "conv_attention")):
                ev = chain_est.evaluate(sp, sp.reference(ref), seed=0)
                print(f"{ref:15s} {ev.val_acc:5.1f} %  {ev.metrics['params']:>8,} parameters   {sp.to_str(sp.reference(ref))}")
        else:
            print("skipped at this scale (set train_chains=True in the parameters)")
        '''),
        md("""
        ## Summary of the numbers

        The cell below collects this run's key figures in one place (they change with the scale and the
        machine; at `classroom` scale each rests on about a dozen cells).
        """),
        code('''
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
        '''),
        md("""
        ## Exercises

        ### Exercise 1: Kendall τ by hand
        Two estimators score four architectures: `a = [60, 70, 80, 90]` and `b = [61, 75, 72, 95]`. Count
        concordant and discordant pairs and compute τ = (C - D) / (number of pairs).
        """),
        code('''
        tau_by_hand = ...
        '''),
        code('''
        check("exercise 1", tau_by_hand,
              lambda t: abs(t - ranking.kendall_tau([60, 70, 80, 90], [61, 75, 72, 95])) < 1e-9,
              "6 pairs; only the pair (70, 80) is ordered the other way by b")
        '''),
        solution('''
        # Solution: 6 pairs, 5 concordant, 1 discordant: (5 - 1) / 6.
        tau_by_hand = (5 - 1) / 6
        check("exercise 1", tau_by_hand,
              lambda t: abs(t - ranking.kendall_tau([60, 70, 80, 90], [61, 75, 72, 95])) < 1e-9)
        '''),
        md("""
        ### Exercise 2: deploy under a budget
        Among the measured cells (`scratch`, `latency`), which one would you deploy if the latency must not
        exceed the **fastest quarter** of the cells (the 25th percentile of `latency`, as computed below)?
        Give its NB201 string.
        """),
        code('''
        budget_ms = sorted(latency.values())[max(0, len(latency) // 4 - 1)]
        deploy = ...              # an NB201 string from archs
        '''),
        code('''
        _feasible = [a for a in archs if latency[a] <= budget_ms]
        check("exercise 2", deploy, lambda d: d in _feasible and scratch[d] == max(scratch[a] for a in _feasible),
              "filter by latency <= budget_ms, then take the most accurate")
        '''),
        solution('''
        # Solution
        deploy = max((a for a in archs if latency[a] <= budget_ms), key=scratch.get)
        print(f"{deploy}: {scratch[deploy]:.1f} % at {latency[deploy]:.2f} ms (budget {budget_ms:.2f} ms)")
        check("exercise 2", deploy, lambda d: d in _feasible and scratch[d] == max(scratch[a] for a in _feasible))
        '''),
        md("""
        ### Exercise 3: is the proxy better than nothing?
        Draw 1,000 random orderings of the cells (shuffle the from-scratch scores) and compute how often a
        random ordering reaches a Kendall τ at least as high as the one-shot scores did. Put that fraction in
        `p_value` (use `random.Random(0)` for the shuffles).
        """),
        code('''
        p_value = ...
        '''),
        code('''
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
        '''),
        solution('''
        # Solution (a permutation test): a small p-value means the one-shot ranking carries real signal.
        p_value = _perm_p(oneshot, scratch)
        print(f"one-shot tau {one['kendall_tau']:+.2f}: reached by chance in {p_value:.0%} of random orderings")
        check("exercise 3", p_value, lambda p: 0 <= p <= 1 and abs(p - _perm_p(oneshot, scratch)) <= 0.05)
        '''),
        code(FOOTER),
    ]


# ====================================================================== 07 playground
@register("07_playground")
def nb07():
    return [
        md("""
        # 07 · Playground: the whole Lab, any space, any strategy, CPU or GPU

        **Learning goals.** After this notebook you can
        1. drive any combination of space, strategy and estimator from the `Lab` widget, on the CPU or a GPU;
        2. pass strategy and estimator options as JSON;
        3. keep runs in an SQLite store, and replay and compare them with the `RunBrowser`.

        There is little new theory here: this is the place to try your own experiments. A few suggestions
        are at the end.
        """),
        params('''
        PRESETS = {
            "ci":        {"strategy": "evolution", "estimator": "synthetic", "budget": 40,
                          "compare_with": "random"},
            "classroom": {"strategy": "evolution", "estimator": "train", "budget": 12,
                          "compare_with": "random"},
            "gpu":       {"strategy": "evolution", "estimator": "train", "budget": 60,
                          "compare_with": "random"},
        }
        ''', FIDELITY, DATASET, extra='''
        for s in PRESETS:
            PRESETS[s].update(fidelity=FIDELITY[s], dataset=DATASET[s], device=DEVICE[s])
        '''),
        code(SETUP),
        md("""
        ## The menu

        Every strategy runs on every space through the space contract (notebook 01); one-shot strategies
        need a space with a supernet (`nb201`, `darts`, `mobile`; ProxylessNAS needs `mobile`). Every
        multi-trial strategy runs with every estimator. `budget` means evaluations for multi-trial
        strategies and supernet epochs for one-shot ones.
        """),
        code('''
        from nasbench_lab.strategies import strategy_class

        for name in nl.list_strategies():
            cls = strategy_class(name)
            print(f"{name:10s} {cls.family:12s} {cls.summary}")
        print()
        print("estimators:", nl.list_estimators())
        print("spaces:    ", {n: nl.get_space(n).describe().get("size") for n in nl.list_spaces()})
        '''),
        md("""
        ## The Lab

        * **space / strategy / estimator / dataset / budget / device / seed**: the arguments of `search`.
          `device` can be `cpu`, `cuda` or `auto`.
        * **strategy opts / estimator opts**: JSON objects, e.g. `{"population": 10, "sample": 3}` for
          `evolution`, `{"order": 2, "remedy": "darts-"}` for `darts`, `{"lam": 1.0}` for `proxyless`,
          `{"fidelity": {"epochs": 2, "train_subset": 4000}}` for `train`.
        * **store**: a path; every run and evaluation is written there as it happens (and can be resumed
          with `nasbench-lab resume`).
        * **Run / Stop**: the search runs in a background thread; Stop ends it at the next check.

        The tabs follow the strategy: History and Best DAG always, Population for evolution and SPOS,
        Controller for RL and ENAS, Alphas for DARTS and ProxylessNAS, and Pareto when evaluations carry
        a cost. Below, the Lab is started from code, so the notebook also runs unattended.
        """),
        code('''
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
        '''),
        code('''
        if HAVE_WIDGETS:
            lab.wait()
            first = lab.result
            assert lab.state == "finished", lab.errors
        else:
            first = nl.search(**settings)
        print("first run:", first.run_id, first.best.arch, f"{first.best.val_acc:.1f} %")
        '''),
        md("""
        A second run into the same store, with another strategy, for a comparison:
        """),
        code('''
        second = nl.search(**{**settings, "strategy": P["compare_with"], "strategy_options": None})
        print("second run:", second.run_id, second.best.arch, f"{second.best.val_acc:.1f} %")
        '''),
        md("""
        ## The RunBrowser

        Select runs, then **Replay** (the panels of one stored run, exactly as they looked live) or
        **Compare** (the best-so-far curves of several runs on one axis, and a table). Here both are
        called from code.
        """),
        code('''
        if HAVE_WIDGETS:
            browser = RunBrowser(store_path)
            display(browser)
            panels = browser.replay(first.run_id)
            view = browser.compare([first.run_id, second.run_id])
            print("replayed panels:", list(panels))
        else:
            from nasbench_lab.store import open_store
            print([(r["strategy"], r["evaluations"], r["best_val_acc"]) for r in open_store(store_path).runs()])
        '''),
        md("""
        ## Exercise
        Using only the store (`nasbench_lab.store.open_store(store_path)`), find how many evaluations were
        stored for the **first** run. Put the number in `n_stored`.
        """),
        code('''
        n_stored = ...
        '''),
        code('''
        from nasbench_lab.store import open_store

        check("exercise", n_stored, lambda n: n == len(open_store(store_path).evaluation_rows(first.run_id)) == len(first.evaluations),
              "open_store(store_path).runs() lists the runs; .evaluation_rows(run_id) their evaluations")
        '''),
        solution('''
        # Solution
        store = open_store(store_path)
        n_stored = len(store.evaluation_rows(first.run_id))
        print({r["run_id"]: (r["strategy"], r["evaluations"]) for r in store.runs()})
        check("exercise", n_stored, lambda n: n == len(store.evaluation_rows(first.run_id)) == len(first.evaluations))
        '''),
        md("""
        ## Things to try

        * **DARTS on the DARTS space** (needs a GPU for anything but a toy): space `darts`, strategy `darts`,
          budget 10, strategy opts `{"skeleton": {"C": 8, "layers": 5}}`. Watch both cells in the Alphas tab.
        * **The collapse and its remedies**: `darts` on `nb201` with `{"remedy": "none"}`, `"early_stop"`
          and `"darts-"`, same seed; compare the skip share.
        * **RL on a macro space**: `reinforce` on `chain` with the `synthetic` estimator, budget 1000.
        * **Hardware-aware search**: `evolution` on `mobile` with the `synthetic` estimator and
          `search(..., objective="latency_ms<=4")` in code; or `proxyless` with `{"lam": 0}` vs `{"lam": 2}`.
        * **Local search**: `local` on `nb201` with the `synthetic` estimator; it climbs the neighbourhood
          graph (White et al. 2020).
        * **Many evaluations at once**: `search(..., executor="process")` evaluates in worker processes.
        """),
        code(FOOTER),
    ]


# ====================================================================== 08 benchmarking
@register("08_benchmarking")
def nb08():
    return [
        md("""
        # 08 · Benchmarking: racing strategies fairly, over many seeds

        **Learning goals.** After this notebook you can
        1. run a fair race: same space, same estimator, same budget, many seeds per strategy;
        2. read *anytime* curves (best so far against evaluations or time) with confidence bands;
        3. decide whether a difference between two strategies is real, and compare your ordering with the
           NAS-Bench-201 paper's.

        Reference: Dong & Yang, *NAS-Bench-201*, ICLR 2020 (CIFAR-10 test accuracy after a 12,000 s search
        budget: REA 93.92±0.30, REINFORCE 93.85±0.37, random search 93.70±0.36, BOHB 93.61±0.52; DARTS-V1/V2
        and ENAS collapse to the all-skip cell, 54.30).
        """),
        params('''
        PRESETS = {
            "ci":        {"seeds": 3,  "budget": 60,  "one_shot": False},
            "classroom": {"seeds": 20, "budget": 150, "one_shot": False},
            "gpu":       {"seeds": 50, "budget": 300, "one_shot": True},
        }
        ''', DATASET, extra='''
        for s in PRESETS:
            PRESETS[s].update(dataset=DATASET[s], device=DEVICE[s])
        '''),
        code(SETUP),
        md("""
        ## Why a tabular benchmark, and what we race on here

        A fair race needs many seeds per strategy (a search is a random process) and identical conditions.
        With real training that costs thousands of trainings per strategy. Tabular benchmarks
        (NAS-Bench-101/201/301) trained every architecture once, so a "evaluation" becomes a table lookup and
        a race costs seconds; the *simulated* cost (the recorded training time) still lets us plot against
        time.

        The lab's own table (`nasbench_lab.bench`: every NB201 cell trained on Fashion-MNIST) is used when it
        is installed. **When it is not** (it must be built once on a GPU), this notebook races on the
        instant `synthetic` estimator instead: a made-up landscape over the same NB201 space with a known
        optimum. The race mechanics are identical, but the numbers are not NB201 accuracies, so the
        comparison with the paper is about the *ordering* only.
        """),
        code('''
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
        '''),
        md("""
        ## The race

        Every strategy, every seed, the same budget of evaluations. The anytime panel fills in live: the
        mean best-so-far per strategy and a 95 % band (mean ± 1.96 standard errors over seeds).
        """),
        code('''
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
        '''),
        md("""
        Against (simulated) time instead of evaluations: strategies that prefer cheap architectures get more
        evaluations out of the same time budget.
        """),
        code('''
        viz.anytime_figure(runs, x="time")
        '''),
        md("""
        ## The final table

        For each strategy: the mean and 95 % confidence interval of the best validation score after the
        full budget, the test score of the architecture it picked (chosen on validation, reported on test),
        and, on the synthetic landscape, how often the known optimum was found.
        """),
        code('''
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
        '''),
        md("""
        ### Reading it

        * Overlapping confidence intervals mean the race can not tell two strategies apart at this number
          of seeds; in the NAS-Bench-201 paper REA, REINFORCE and random search are all within half a point
          and within each other's standard deviation. "Better" needs a test, not a ranking of means.
        * Local search is not in the paper's table; White et al. (2020) found it strong on NAS-Bench-201,
          because neighbouring cells tend to have similar accuracy. The same holds for any other strategy
          the registry lists (a predictor-guided search, for example): it races here, without a paper
          figure to compare with.
        * One-shot methods (DARTS, ENAS, SPOS) need supernet training on the data, so they are raced only
          at `gpu` scale, below, with the table scoring their final cells.
        """),
        code('''
        if P["one_shot"] and HAS_TABLE:
            for name in ("darts", "enas", "spos"):
                r = nl.search("nb201", name, "table", budget=10, dataset="fashion-mnist", device=P["device"], seed=0,
                              estimator_options=EST_OPTIONS)
                print(f"{name:6s} final cell {r.best.arch}: {r.best.val_acc:.2f} (table)")
        else:
            print("one-shot strategies are raced only at gpu scale with the tabular benchmark installed "
                  "(they train a supernet on Fashion-MNIST first); see notebooks 04 and 05 for them at classroom scale")
        '''),
        md("""
        ## Exercises

        ### Exercise 1: is evolution better than random search here?
        Using `table["evolution"]["values"]` and `table["random"]["values"]` (one final score per seed),
        compute the difference of the means and its 95 % confidence interval with the normal approximation,
        diff ± 1.96·sqrt(s1²/n1 + s2²/n2). Set `significant` to `True` if the interval excludes 0.
        """),
        code('''
        significant = ...
        '''),
        code('''
        def _significant(a, b):
            d = statistics.mean(a) - statistics.mean(b)
            half = 1.96 * math.sqrt(statistics.variance(a) / len(a) + statistics.variance(b) / len(b))
            return d - half > 0 or d + half < 0

        check("exercise 1", significant,
              lambda s: s == _significant(table["evolution"]["values"], table["random"]["values"]),
              "difference of means ± 1.96 * sqrt(var1/n1 + var2/n2); does it contain 0?")
        '''),
        solution('''
        # Solution
        significant = _significant(table["evolution"]["values"], table["random"]["values"])
        print("evolution vs random:", "significant" if significant else "not significant", "at 95 %")
        check("exercise 1", significant,
              lambda s: s == _significant(table["evolution"]["values"], table["random"]["values"]))
        '''),
        md("""
        ### Exercise 2: anytime performance
        After how many evaluations does the **mean** best-so-far of evolution first reach the mean *final*
        score of random search? Use `viz.anytime_curve(events)` (best-so-far per evaluation for one run) and
        average over the seeds; answer with an evaluation count (an integer), or `None` if it never does.
        """),
        code('''
        catch_up = ...
        '''),
        code('''
        def _catch_up():
            curves = [viz.anytime_curve(ev)[1] for ev in runs["evolution"]]
            target = table["random"]["mean"]
            for i in range(min(len(c) for c in curves)):
                if statistics.mean(c[i] for c in curves) >= target:
                    return i + 1
            return None

        check("exercise 2", catch_up, lambda n: n == _catch_up(),
              "mean over seeds of the best-so-far at each evaluation, first index >= the random mean")
        '''),
        solution('''
        # Solution
        catch_up = _catch_up()
        print(f"evolution reaches random search's final mean after {catch_up} of {P['budget']} evaluations")
        check("exercise 2", catch_up, lambda n: n == _catch_up())
        '''),
        code(FOOTER),
    ]


# ====================================================================== writing
def build(name: str) -> nbformat.NotebookNode:
    nb = notebook(NOTEBOOKS[name]())
    for i, cell in enumerate(nb.cells):
        cell.id = f"{name[:2]}-{i:02d}"          # why fixed ids: regenerating must not change the files
    nbformat.validate(nb)
    return nb


def main(argv=None) -> int:
    """Write every notebook next to this script; ``--check``: only report notebooks that are stale."""
    args = sys.argv[1:] if argv is None else list(argv)
    check_only = "--check" in args
    stale = []
    for name in NOTEBOOKS:
        text = nbformat.writes(build(name)) + "\n"
        path = HERE / f"{name}.ipynb"
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        stale.append(path.name)
        if not check_only:
            path.write_text(text, encoding="utf-8")
    verb = "stale" if check_only else "written"
    print(f"{len(stale)} notebook(s) {verb}: {', '.join(stale) or '-'}")
    return 1 if check_only and stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
