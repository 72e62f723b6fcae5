"""SPOS: single path one-shot NAS with uniform sampling (Guo, Zhang, Mu, Heng, Liu, Wei & Sun, "Single
Path One-Shot Neural Architecture Search with Uniform Sampling", ECCV 2020).

Two decoupled stages:

1. Supernet training: every mini-batch trains the path of one architecture drawn *uniformly* from the
   space. Why uniform and not learned (DARTS, ENAS): a learned distribution trains the weights of the
   paths it already likes and so confirms its own early guesses; uniform sampling treats all paths
   alike, which is what inherited-weight ranking needs.
2. Evolutionary search with inherited weights: a population of architectures, each scored by the
   supernet's validation accuracy along its path after its batch-norm statistics were recalibrated
   (Sec. 3.3: the running statistics of a supernet fit no single path). Each generation keeps the top
   ``parents`` and fills the population with mutations and crossovers of them.

Then the top ``top_k`` distinct architectures are returned, and the driver re-trains them from scratch
with the chosen estimator: inherited-weight rankings are biased (Yu et al. 2020; the ranking notebook
measures it), so the final choice is made on from-scratch accuracy. Paper settings: population 50,
20 generations, 10 parents, mutation probability 0.1 (here: one elementary mutation per child).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

from ..config import option
from ..errors import StrategyError
from ..oneshot import context_data, resolve_scale, scoring_stage
from ..weight_sharing import (PROGRESS_S, Batches, Precision, Progress, accuracy, build_supernet, cosine_lr,
                              recalibrate_bn, set_lr, skeleton_for, subset_size, train_uniform_epoch,
                              weight_optimizer)
from .base import OneShotStrategy


@dataclass
class SposConfig:
    scale: Literal["auto", "classroom", "reference"] = "auto"
    """classroom (small skeleton, 2,000 images), reference (paper skeleton, all images), auto (reference on CUDA)."""
    skeleton: dict | None = None
    """Supernet size options; None: the scale's skeleton."""
    train_subset: int | None = option(None, lo=1)
    """Training images for the supernet (None: by scale)."""
    val_subset: int | None = option(1000, lo=1)
    """Validation images that score each candidate."""
    batch_size: int = option(64, lo=1)
    """Supernet training batch size."""
    lr: float = 0.05
    """SGD learning rate, cosine-annealed per epoch to 0."""
    momentum: float = 0.9
    """SGD momentum."""
    weight_decay: float = 4e-5
    """Weight decay (SPOS: 4e-5)."""
    grad_clip: float = 5.0
    """Clip the gradient norm (0: off)."""
    population: int = option(10, lo=2)
    """Candidates per generation (paper: 50)."""
    generations: int = option(5, lo=1)
    """Evolution rounds (paper: 20)."""
    parents: int = option(4, lo=1)
    """Best candidates kept as parents each generation (paper: 10)."""
    crossover_share: float = option(0.5, lo=0.0, hi=1.0)
    """Fraction of the children made by crossover (the rest by mutation)."""
    bn_batches: int = option(5, lo=1)
    """Training batches that recalibrate batch norm per candidate."""
    bn_batch_size: int = 256
    """Images per recalibration batch."""
    top_k: int = option(3, lo=1)
    """Distinct best candidates returned for re-training from scratch."""
    amp: bool | None = None
    """bf16 autocast (None: on for CUDA)."""
    progress_s: float | None = option(PROGRESS_S, lo=0)
    """Seconds between within-epoch progress events (running accuracy, sampled path); None: epoch ends only."""

    def check(self) -> None:
        if self.parents > self.population:
            raise StrategyError(f"spos: parents must be in 1..population ({self.population}), got {self.parents}")


class SPOS(OneShotStrategy):
    name = "spos"
    summary = "SPOS: uniform single-path supernet, evolution on inherited weights (Guo et al. 2020)"
    config_class = SposConfig

    def run(self, ctx) -> list:
        cfg, space, rng = self.config, self.space, self.rng
        device, data = context_data(ctx)
        scale = resolve_scale(cfg.scale, device)
        prec = Precision.for_device(device, cfg.amp)
        net = build_supernet(space, data, skeleton_for(space.name, scale, cfg.skeleton), prec, ctx.seed)
        self.supernet = net
        n_t = subset_size(cfg.train_subset, scale, len(data.train_y))
        n_v = subset_size(cfg.val_subset, scale, len(data.val_y))
        tx, ty = data.train_x[:n_t], data.train_y[:n_t]
        vx, vy = data.val_x[:n_v], data.val_y[:n_v]
        train = Batches(tx, ty, cfg.batch_size, ctx.seed)
        opt = weight_optimizer(net, cfg.lr, cfg.momentum, cfg.weight_decay)

        # ---- stage 1: uniform single-path supernet training (budget = epochs)
        t0, epochs = time.perf_counter(), ctx.budget
        progress = Progress(ctx.emit, epochs, train.steps_per_epoch, cfg.progress_s)   # the paths as they are drawn
        for epoch in range(epochs):
            if ctx.stop.is_set():
                break
            set_lr(opt, cosine_lr(cfg.lr, 0.0, epoch, epochs))
            loss, acc, seen = train_uniform_epoch(net, opt, space, train, prec, rng, cfg.grad_clip, ctx.stop,
                                                  progress, epoch)
            if not seen or ctx.stop.is_set():
                break                                 # Stop mid-epoch: no accuracy pass
            probe = space.sample(rng)                 # one random path, batch statistics: a cheap progress signal
            ctx.emit("epoch", epoch=epoch + 1, of=epochs, train_loss=loss, train_acc=acc,
                     val_acc=accuracy(net, vx, vy, prec, train_mode_bn=True, arch=probe),
                     seconds=time.perf_counter() - t0)

        # ---- stage 2: evolutionary search scored with inherited weights
        cache: dict = {}

        def fitness(arch) -> float:
            key = space.canonical(arch)
            if key not in cache:
                recalibrate_bn(net, tx, prec, cfg.bn_batches, cfg.bn_batch_size, arch=arch)
                cache[key] = (accuracy(net, vx, vy, prec, arch=arch), arch)
            return cache[key][0]

        members, next_id = [], 0

        def add(arch, parent):
            nonlocal next_id
            members.append({"id": next_id, "arch": arch, "fitness": fitness(arch), "age": 0, "parent": parent})
            next_id += 1

        seen_keys = set()
        for _ in range(cfg.population * 20):           # a random, duplicate-free first population
            if len(members) >= cfg.population or ctx.stop.is_set():
                break
            a = space.sample(rng)
            if space.canonical(a) not in seen_keys:
                seen_keys.add(space.canonical(a))
                add(a, None)
        for gen in range(cfg.generations):
            if ctx.stop.is_set():
                break
            members.sort(key=lambda m: -m["fitness"])
            parents, removed = members[:cfg.parents], [m["id"] for m in members[cfg.parents:]]
            self._emit_population(ctx, gen, members, parents, removed)
            if gen == cfg.generations - 1:
                break
            members = [dict(m, age=m["age"] + 1) for m in parents]
            for _ in range(cfg.population * 20):
                if len(members) >= cfg.population or ctx.stop.is_set():
                    break
                if len(parents) > 1 and rng.random() < cfg.crossover_share:
                    a, b = rng.sample(parents, 2)
                    child, parent = space.crossover(a["arch"], b["arch"], rng), a["id"]
                else:
                    p = rng.choice(parents)
                    child, parent = space.mutate(p["arch"], rng), p["id"]
                key = space.canonical(child)
                if key not in seen_keys:               # a candidate is scored once; new ones only
                    seen_keys.add(key)
                    add(child, parent)
        best = sorted(cache.values(), key=lambda t: -t[0])     # stable: first scored wins a tie
        self.scores = {a: f for f, a in best}                   # every inherited-weight score (notebooks)
        return scoring_stage(ctx, [a for _, a in best[:cfg.top_k]])

    def _emit_population(self, ctx, gen, members, parents, removed):
        keep = {m["id"] for m in parents}
        ctx.emit("population", generation=gen,
                 members=[{"id": m["id"], "arch": self.space.to_str(m["arch"]), "fitness": m["fitness"],
                           "age": m["age"], "parent": m["parent"], "alive": m["id"] in keep} for m in members],
                 removed=removed)
