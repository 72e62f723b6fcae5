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
# # 02 · Reinforcement learning: a controller that writes architectures
#
# **Learning goals.** After this notebook you can
# 1. explain how a search space becomes a sequence of *tokens* (decisions) that a recurrent
#    controller emits one by one;
# 2. write down the REINFORCE update with a baseline, and say why the baseline is there;
# 3. read the controller's live plots: choice probabilities, reward against baseline, entropy;
# 4. estimate what RL-based NAS costs when every reward is a trained network.
#
# Paper: Zoph & Le, *Neural Architecture Search with Reinforcement Learning*, ICLR 2017.

# %% tags=["parameters"]
# Parameters: the only cell you need to edit. The environment variable NASBENCH_LAB_SCALE overrides
# SCALE (CI sets it to 'ci'). 'ci': seconds, synthetic data. 'classroom': a few minutes on a 2-core
# laptop CPU with Fashion-MNIST. 'gpu': bigger runs on a CUDA device. PRESETS: this notebook's settings
# per scale; the settings all lessons share (fidelity, dataset, device, threads) come from
# nasbench_lab.course, and a key named here overrides the shared one.
import os

SCALE = os.environ.get("NASBENCH_LAB_SCALE", "classroom")
PRESETS = {
    "ci":        {"rl_budget": 100, "seeds": 2, "real_budget": 5},
    "classroom": {"rl_budget": 500, "seeds": 5, "real_budget": 10},
    "gpu":       {"rl_budget": 1000, "seeds": 10, "real_budget": 50},
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
# ## From a space to tokens
#
# An RL controller does not know what a cell is. It only makes a fixed sequence of categorical
# choices, the space's `decisions()`: for NB201, one op per edge (6 decisions of 5 options); for the
# chain space, per layer an op and then one skip bit per earlier layer. Any list of choice indices
# maps back to an architecture with `from_decisions`. That is the whole interface between the
# controller and the space.

# %%
space = nl.get_space("nb201")
for d in space.decisions():
    print(f"{d.name:16s} {d.choices}")
print(len(nl.get_space("chain").decisions()), "decisions in the 6-layer chain space")

# %% [markdown]
# ## The controller
#
# An LSTM reads the token it chose at step t-1 and outputs a softmax over the options of decision t.
# Sampling from it token by token writes one architecture; the product of the chosen probabilities
# is the probability P(a; θ) of that architecture under the controller's parameters θ. Fresh, the
# controller is close to uniform.

# %%
from nasbench_lab.strategies.reinforce import Controller

controller = Controller([len(d.choices) for d in space.decisions()], hidden=64)
tokens = controller.sample(random.Random(0))
print("tokens:", tokens)
print("architecture:", space.to_str(space.from_decisions(tokens)))

# %% [markdown]
# ## REINFORCE with a baseline
#
# The reward R of an architecture a is its validation accuracy after training. We want θ that
# maximises the expected reward J(θ) = E[R]. We can not differentiate through training, but the
# policy-gradient identity (Williams, 1992) only needs log-probabilities:
#
# $$\nabla_\theta J \approx \frac{1}{m}\sum_{k=1}^{m} (R_k - b)\,\nabla_\theta \log P(a_k;\theta)$$
#
# over a batch of m sampled architectures. The **baseline** b (here a moving average of past
# rewards) does not change the expected gradient, but without it every sampled architecture (all
# have positive accuracy) would be pushed up; with it, only architectures *better than usual* are
# made more likely, and worse ones less likely. A small **entropy bonus** keeps the controller from
# becoming certain too early.
#
# ## A first run on an instant landscape
#
# Real rewards cost a training run each. To watch the controller learn we first use the `synthetic`
# estimator (a made-up landscape over the same space, instant, with a known optimum). The
# controller panel shows, per decision, how the choice probabilities move, and the reward against
# the baseline.

# %%
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

# %%
viz.controller_figure(log.events, space=space)

# %% [markdown]
# Is the controller better than drawing at random? On this landscape both eventually stumble on
# good cells; the difference is in *what they sample*: a learning controller samples better and
# better architectures, random search does not. We compare both over several seeds: the mean
# reward of the last 100 samples, and the best found.

# %%
from nasbench_lab.estimators.synthetic import SyntheticEstimator

optimum = SyntheticEstimator().optimum(space)
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

# %% [markdown]
# ## What it costs with real rewards
#
# Now the real thing: every reward is a network trained from scratch (at the classroom fidelity: a
# small NB201 network, one short epoch). Watch the seconds per evaluation.

# %%
from nasbench_lab.data import load_dataset
from nasbench_lab.train import resolve_device

# Loaded once and handed to every estimator (estimator_options={"data": DATA}): each search would
# otherwise read and normalise the dataset again.
DATA = load_dataset(P["dataset"], device=resolve_device(P["device"]))
TRAIN = {"data": DATA, "fidelity": P["fidelity"]}       # estimator_options of the train estimator
print(DATA.info.description, "| train/val/test:", len(DATA.train_y), len(DATA.val_y), len(DATA.test_y))

# %%
real_log = nl.EventLog()
real = nl.search("nb201", "reinforce", "train", budget=P["real_budget"], dataset=P["dataset"],
                 device=P["device"], seed=0, estimator_options=TRAIN, on_event=real_log)
sec_per_eval = real.seconds / len(real.evaluations)
print(f"{len(real.evaluations)} rewards in {real.seconds:.0f} s: {sec_per_eval:.1f} s per reward; "
      f"{len(real_log.of('controller'))} controller updates (batch of 5)")
print("best:", real.best.arch, f"{real.best.val_acc:.1f} %")

# %% [markdown]
# A handful of updates teaches the controller almost nothing: REINFORCE needs hundreds to thousands
# of rewards. Zoph & Le trained 12,800 child networks on CIFAR-10 with 800 GPUs for 28 days
# (about 22,400 GPU-days). At our classroom fidelity that many rewards would take the time printed
# below on this machine; with real training (hundreds of epochs on full data) it is months. This
# cost is what weight sharing (notebook 05) attacks.

# %%
hours = 12_800 * sec_per_eval / 3600
print(f"12,800 classroom-fidelity rewards at {sec_per_eval:.1f} s each: {hours:.1f} hours on this machine")

# %% [markdown]
# ## Exercises
#
# ### Exercise 1: the baseline, by hand
# The strategy keeps b as an exponential moving average: at the first update b starts at that
# batch's mean reward, and after every update b ← 0.9·b + 0.1·(mean reward of the batch). Using only
# the `reward_mean` of each `controller` event of the first run (`steps`), compute the list of
# baselines after each update, and compare with the `baseline` the events report.

# %%
rewards = [e.payload["reward_mean"] for e in steps]
my_baselines = ...        # a list, one value per update

# %%
check("exercise 1", my_baselines,
      lambda b: len(b) == len(steps) and all(abs(x - e.payload["baseline"]) < 1e-3 for x, e in zip(b, steps)),
      "b_1 = r_1, then b_k = 0.9 * b_(k-1) + 0.1 * r_k")

# %% jupyter={"source_hidden": true} tags=["solution"]
# Solution
my_baselines, b = [], None
for r in rewards:
    b = r if b is None else b
    b = 0.9 * b + 0.1 * r
    my_baselines.append(b)
check("exercise 1", my_baselines,
      lambda b: len(b) == len(steps) and all(abs(x - e.payload["baseline"]) < 1e-3 for x, e in zip(b, steps)))

# %% [markdown]
# ### Exercise 2: the sign of the update
# An architecture earns a reward of 70 % while the baseline is 75 %. After the REINFORCE step, is
# that architecture `"more"` or `"less"` likely to be sampled?

# %%
direction = ...           # "more" or "less"

# %%
check("exercise 2", direction, lambda d: d == "less", "look at the sign of (R - b)")

# %% jupyter={"source_hidden": true} tags=["solution"]
# Solution: R - b = -5 < 0, so the step lowers log P(a): the architecture becomes less likely.
direction = "less"
check("exercise 2", direction, lambda d: d == "less")

# %% [markdown]
# ### Exercise 3: GPU-days
# Suppose one reward takes `sec_per_eval` seconds (as measured above) on one device. How many
# device-days do 12,800 rewards take? Put the number in `device_days`.

# %%
device_days = ...

# %%
check("exercise 3", device_days, lambda d: abs(d - 12_800 * sec_per_eval / 86_400) < 1e-6 * max(1, d),
      "a day has 86,400 seconds")

# %% jupyter={"source_hidden": true} tags=["solution"]
# Solution
device_days = 12_800 * sec_per_eval / 86_400
print(f"{device_days:.2f} device-days at classroom fidelity (NAS-RL: about 22,400 GPU-days)")
check("exercise 3", device_days, lambda d: abs(d - 12_800 * sec_per_eval / 86_400) < 1e-6 * max(1, d))

# %%
print(f"this notebook ran in {time.perf_counter() - T0:.0f} s at scale {SCALE!r}")
