"""ENAS: efficient neural architecture search via parameter sharing (Pham, Guan, Zoph, Le & Dean,
"Efficient Neural Architecture Search via Parameter Sharing", ICML 2018).

Zoph & Le's RL search (an RNN controller emits an architecture token by token, REINFORCE on the
child's validation accuracy) costs thousands of GPU-days because every child is trained from scratch.
ENAS makes all children share one set of weights, the supernet. Each epoch alternates:

1. shared-weight training: one pass over the training split, every mini-batch along the path of an
   architecture sampled from the controller (the controller is frozen here);
2. controller training: sample architectures, reward = the supernet's accuracy along that path on a
   validation batch, REINFORCE with a moving-average baseline and an entropy bonus (the weights are
   frozen here).

At the end it samples architectures, scores each on a validation batch, and returns the best. The
controller's hyperparameters are those of the NB201 re-implementation of ENAS (LSTM width 32, Adam lr
1e-3, temperature 5, tanh constant 2.5, baseline decay 0.99, entropy weight 1e-4); NB201 reports ENAS
collapsing too (54.30 %), which a notebook can reproduce with ``scale='reference'`` on a GPU.
The controller works on any space through ``space.decisions()`` / ``from_decisions`` (house rule 3).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn as nn

from ..config import option
from ..oneshot import context_data, resolve_scale, scoring_stage
from ..weight_sharing import (PROGRESS_S, Batches, Precision, Progress, build_supernet, cosine_lr, path_step, set_lr,
                              skeleton_for, subset_size, weight_optimizer)
from .base import OneShotStrategy


@dataclass
class EnasConfig:
    scale: Literal["auto", "classroom", "reference"] = "auto"
    """classroom (small skeleton, 2,000 images), reference (paper skeleton, all images), auto (reference on CUDA)."""
    skeleton: dict | None = None
    """Supernet size options; None: the scale's skeleton."""
    train_subset: int | None = option(None, lo=1)
    """Training images for the shared weights (None: by scale)."""
    val_subset: int | None = option(None, lo=1)
    """Validation images the rewards are drawn from (None: by scale)."""
    batch_size: int = option(64, lo=1)
    """Shared-weight training batch size."""
    reward_batch: int = option(256, lo=1)
    """Validation images per reward (one batch, as ENAS)."""
    lr: float = 0.05
    """Shared-weight SGD learning rate (cosine-annealed per epoch to lr_min)."""
    lr_min: float = 0.001
    """Final shared-weight learning rate."""
    momentum: float = 0.9
    """Shared-weight SGD momentum."""
    weight_decay: float = 1e-4
    """Shared-weight decay (ENAS: 1e-4)."""
    grad_clip: float = 5.0
    """Clip the shared weights' gradient norm (0: off)."""
    hidden: int = option(32, lo=1)
    """LSTM controller width."""
    controller_lr: float = 1e-3
    """Adam learning rate of the controller."""
    temperature: float = option(5.0, gt=0)
    """Logits are divided by this before the tanh squashing."""
    tanh_constant: float = 2.5
    """logits = tanh_constant * tanh(logits / temperature): keeps the policy from saturating early."""
    entropy_weight: float = 1e-4
    """Entropy bonus in the controller loss (exploration)."""
    baseline_decay: float = option(0.99, lo=0.0, lt=1.0)
    """Moving-average decay of the reward baseline."""
    controller_steps: int | None = option(None, lo=1)
    """Controller updates per epoch (None: 10 classroom, 50 reference)."""
    aggregate: int | None = option(None, lo=1)
    """Sampled architectures per controller update (None: 4 classroom, 20 reference)."""
    final_samples: int | None = option(None, lo=1)
    """Architectures sampled at the end to pick from (None: 20 classroom, 100 reference)."""
    top_k: int = option(1, lo=1)
    """Distinct best architectures returned for the estimator."""
    amp: bool | None = None
    """bf16 autocast for the supernet (None: on for CUDA)."""
    progress_s: float | None = option(PROGRESS_S, lo=0)
    """Seconds between within-epoch progress events (running accuracy, sampled path); None: epoch ends only."""


class Controller(nn.Module):
    """Autoregressive LSTM policy: one softmax head per decision, fed the embedding of the last choice."""

    def __init__(self, sizes: list[int], hidden: int, temperature: float, tanh_constant: float):
        super().__init__()
        self.sizes, self.temperature, self.tanh_constant = sizes, temperature, tanh_constant
        self.start = nn.Parameter(torch.zeros(1, hidden))
        self.lstm = nn.LSTMCell(hidden, hidden)
        self.heads = nn.ModuleList(nn.Linear(hidden, n) for n in sizes)
        self.embeds = nn.ModuleList(nn.Embedding(n, hidden) for n in sizes)
        for p in self.parameters():                    # ENAS' uniform(-0.1, 0.1) initialisation
            nn.init.uniform_(p, -0.1, 0.1)

    def forward(self, gen: torch.Generator):
        """Sample one architecture: (indices, summed log-prob, summed entropy, per-decision probs)."""
        h = c = torch.zeros_like(self.start)
        inp, idx, logp, ent, probs = self.start, [], 0.0, 0.0, []
        for t in range(len(self.sizes)):
            h, c = self.lstm(inp, (h, c))
            logits = self.tanh_constant * torch.tanh(self.heads[t](h) / self.temperature)
            p = torch.softmax(logits, -1)[0]
            k = int(torch.multinomial(p.detach(), 1, generator=gen))
            logp = logp + torch.log(p[k])
            ent = ent - (p * torch.log(p)).sum()
            probs.append([round(float(v), 4) for v in p.detach()])
            idx.append(k)
            inp = self.embeds[t](torch.tensor([k]))
        return idx, logp, ent, probs


class ENAS(OneShotStrategy):
    name = "enas"
    summary = "ENAS: LSTM controller + REINFORCE over a shared supernet (Pham et al. 2018)"
    config_class = EnasConfig

    def run(self, ctx) -> list:
        cfg, space = self.config, self.space
        device, data = context_data(ctx)
        scale = resolve_scale(cfg.scale, device)
        classroom = scale == "classroom"
        steps = cfg.controller_steps or (10 if classroom else 50)
        aggregate = cfg.aggregate or (4 if classroom else 20)
        final = cfg.final_samples or (20 if classroom else 100)
        prec = Precision.for_device(device, cfg.amp)
        net = build_supernet(space, data, skeleton_for(space.name, scale, cfg.skeleton), prec, ctx.seed)
        decisions = space.decisions()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(ctx.seed)
            # why on the CPU: one tiny LSTM step per decision is all launch latency on a GPU
            ctrl = Controller([len(d.choices) for d in decisions], cfg.hidden, cfg.temperature, cfg.tanh_constant)
        c_opt = torch.optim.Adam(ctrl.parameters(), cfg.controller_lr, betas=(0.0, 0.999), eps=1e-3)
        gen = torch.Generator().manual_seed(ctx.seed)
        w_opt = weight_optimizer(net, cfg.lr, cfg.momentum, cfg.weight_decay)
        n_t = subset_size(cfg.train_subset, scale, len(data.train_y))
        n_v = subset_size(cfg.val_subset, scale, len(data.val_y))
        train = Batches(data.train_x[:n_t], data.train_y[:n_t], cfg.batch_size, ctx.seed)
        val = Batches(data.val_x[:n_v], data.val_y[:n_v], cfg.reward_batch, ctx.seed + 1)

        @torch.no_grad()
        def reward(arch) -> float:
            # why batch statistics: running statistics average over every sampled path and fit none
            net.train()
            xv, yv = val.next()
            with prec.autocast():
                return (net(prec.input(xv), arch=arch).argmax(1) == yv).float().mean().item()

        baseline, t0, updates = None, time.perf_counter(), 0
        epochs = ctx.budget
        names = [d.name for d in decisions]
        # why every few steps: the shared-weight pass of an epoch can take a minute on a CPU (oneshot.Progress)
        progress = Progress(ctx.emit, epochs, train.steps_per_epoch, cfg.progress_s)
        for epoch in range(epochs):
            if ctx.stop.is_set():
                break
            set_lr(w_opt, cosine_lr(cfg.lr, cfg.lr_min, epoch, epochs))
            net.train()
            loss_sum, correct, seen = 0.0, 0, 0
            for k in range(train.steps_per_epoch):
                if ctx.stop.is_set():
                    break
                with torch.no_grad():
                    idx, _, _, probs = ctrl(gen)
                    arch = space.from_decisions(idx)
                xb, yb = train.next()
                loss, corr = path_step(net, w_opt, xb, yb, prec, cfg.grad_clip, arch=arch)
                loss_sum, correct, seen = loss_sum + loss * len(yb), correct + corr, seen + len(yb)
                if progress.due(epoch, k + 1):
                    # the controller is frozen in this phase: its probabilities are those of the last update
                    progress.report(epoch, k + 1, loss_sum, correct, seen, arch=space.to_str(arch),
                                    decisions=names, probs=probs, controller_step=updates)
            epoch_rewards = []
            for _ in range(steps):
                if ctx.stop.is_set():
                    break
                c_opt.zero_grad(set_to_none=True)
                rewards, ents = [], []
                for _ in range(aggregate):
                    idx, logp, ent, probs = ctrl(gen)
                    r = reward(space.from_decisions(idx))
                    baseline = r if baseline is None else cfg.baseline_decay * baseline + (1 - cfg.baseline_decay) * r
                    # REINFORCE: raise the log-probability of architectures that beat the baseline
                    ((-logp * (r - baseline) - cfg.entropy_weight * ent) / aggregate).backward()
                    rewards.append(r)
                    ents.append(float(ent.detach()))
                c_opt.step()
                updates += 1
                epoch_rewards += rewards
                ctx.emit("controller", step=updates, decisions=names, probs=probs,
                         reward_mean=sum(rewards) / len(rewards), baseline=baseline, entropy=sum(ents) / len(ents))
            if seen:
                ctx.emit("epoch", epoch=epoch + 1, of=epochs, train_loss=float(loss_sum) / seen,
                         train_acc=100.0 * float(correct) / seen,
                         val_acc=100.0 * sum(epoch_rewards) / max(1, len(epoch_rewards)),
                         seconds=time.perf_counter() - t0)
        self.supernet, self.controller = net, ctrl     # kept for notebooks
        scored = {}
        with torch.no_grad():
            for _ in range(final):
                if ctx.stop.is_set() and scored:      # Stop: keep what is scored so far (one at least)
                    break
                arch = space.from_decisions(ctrl(gen)[0])
                key = space.canonical(arch)
                if key not in scored:
                    scored[key] = (reward(arch), arch)
        ranked = sorted(scored.values(), key=lambda t: -t[0])
        return scoring_stage(ctx, [a for _, a in ranked[:cfg.top_k]])
