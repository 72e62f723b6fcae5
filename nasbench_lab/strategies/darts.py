"""DARTS: differentiable architecture search (Liu, Simonyan & Yang, "DARTS: Differentiable Architecture
Search", ICLR 2019; reference code quark0/darts).

Every edge of the supernet outputs a softmax(alpha)-weighted mix of all candidate ops, which makes the
architecture continuous. Search is a bilevel problem: the network weights w minimise the training loss,
the alphas minimise the validation loss of w*(alpha). Each step (i) updates alpha on a *validation*
batch, either first order (treat w as fixed) or second order (one virtual SGD step of w, the
implicit term by a finite-difference Hessian-vector product, Eq. 7-8 of the paper), then (ii) updates
w on a *training* batch. The discrete architecture is derived at the end (NB201: argmax per edge; DARTS
space: top-2 inputs per node, ``none`` excluded).

The skip-connection collapse (Zela et al., "Understanding and Robustifying DARTS", ICLR 2020; NB201
reports DARTS ending at the all-skip cell, 54.30 %): skip connections win the softmax because they
make the supernet easy to train, not because the derived network is good. Every epoch this file emits
the alphas, the derived cell, its skip share and the share's trend, and flags ``collapsed`` (and every
few steps the alphas so far, in ``progress`` events: the lines move within an epoch). Remedies
(``remedy=``):

* ``early_stop``: stop once the derived cell has too many skips and keep the cell of the epoch before
  (the criterion of DARTS+, Liang et al. 2019, with the roll-back of DARTS-ES, Zela et al. 2020);
* ``darts-``: an auxiliary skip connection with a weight beta decaying linearly from 1 to 0
  (DARTS-, Chu et al., ICLR 2021), so skip no longer has to win alpha to keep the gradient flowing.

Cheaper and steadier: ``partial_channels=K`` is PC-DARTS (Xu et al., ICLR 2020): each edge mixes a
1/K sample of its channels (memory and time per step drop, so a larger batch fits) and edge
normalisation weighs the edges into a node by learned betas, which the optimiser here updates with the
alphas (see spaces/darts_supernet.py).

Defaults are the reference hyperparameters (ANCHORS.md); ``scale`` picks the skeleton and images.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..config import option
from ..oneshot import (alpha_fields, arch_weights, check, context_data, derive, emit_alphas, resolve_scale,
                       scoring_stage, skip_share)
from ..weight_sharing import (PROGRESS_S, Batches, Precision, Progress, accuracy, build_supernet, cosine_lr, set_lr,
                              skeleton_for, subset_size)
from .base import OneShotStrategy

REMEDIES = ("none", "early_stop", "darts-")


@dataclass
class DartsConfig:
    order: int = option(1, lo=1, hi=2)
    """1: first-order approximation; 2: second order (unrolled, finite-difference Hessian)."""
    scale: Literal["auto", "classroom", "reference"] = "auto"
    """classroom (small skeleton, 2,000 images), reference (paper skeleton, all images), auto (reference on CUDA)."""
    skeleton: dict | None = None
    """Supernet size options (e.g. {'C': 8, 'N': 1}); None: the scale's skeleton."""
    train_subset: int | None = option(None, lo=1)
    """Training-split images that train the weights (None: by scale)."""
    val_subset: int | None = option(None, lo=1)
    """Validation-split images that train the alphas (None: by scale)."""
    eval_subset: int = option(1000, lo=1)
    """Validation images for the per-epoch supernet accuracy."""
    batch_size: int = option(64, lo=1)
    """Batch size of both the weight and the alpha steps (reference: 64)."""
    lr: float = option(0.025, gt=0)
    """Weight SGD learning rate, cosine-annealed per epoch to ``lr_min``."""
    lr_min: float = 0.001
    """Final weight learning rate."""
    momentum: float = 0.9
    """Weight SGD momentum."""
    weight_decay: float = 3e-4
    """Weight decay of the weights."""
    grad_clip: float = 5.0
    """Clip the weights' gradient norm (0: off)."""
    arch_lr: float = option(3e-4, gt=0)
    """Adam learning rate of the alphas."""
    arch_betas: tuple = (0.5, 0.999)
    """Adam betas of the alphas."""
    arch_weight_decay: float = 1e-3
    """Weight decay of the alphas."""
    remedy: Literal["none", "early_stop", "darts-"] = "none"
    """Collapse remedy: none, early_stop, darts- (see the module docstring)."""
    es_skip_share: float | None = None
    """early_stop: stop when the derived cell's skip share reaches this (None: 2/8 DARTS, 3/6 NB201)."""
    aux_skip_beta: float = 1.0
    """darts-: initial weight of the auxiliary skip connection (decays linearly to 0)."""
    collapse_share: float = 0.5
    """Skip share at which an epoch is flagged ``collapsed`` in the alphas event."""
    fd_epsilon: float = option(0.01, gt=0)
    """Second order: finite-difference step is fd_epsilon / ||dL_val/dw'|| (as the paper)."""
    amp: bool | None = None
    """bf16 autocast (None: on for CUDA)."""
    partial_channels: int = option(1, lo=1)
    """PC-DARTS K (DARTS space): each edge mixes 1/K of its channels (paper: 4); 1 is plain DARTS."""
    edge_normalization: bool | None = None
    """PC-DARTS edge normalisation (per-edge betas); None: on exactly when partial_channels > 1."""
    progress_s: float | None = option(PROGRESS_S, lo=0)
    """Seconds between within-epoch progress events (running accuracy, alphas so far); None: epoch ends only."""


class Bilevel:
    """The DARTS search step on one supernet: an alpha step on a validation batch, then a weight step
    on a training batch. The benchmark (benchmarks/darts_step.py) times exactly this."""

    def __init__(self, net: nn.Module, cfg: DartsConfig, prec: Precision):
        self.net, self.cfg, self.prec = net, cfg, prec
        self.W, self.A = list(net.weight_parameters()), list(net.arch_parameters())
        self.w_opt = torch.optim.SGD(self.W, cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
        self.a_opt = torch.optim.Adam(self.A, cfg.arch_lr, betas=cfg.arch_betas, weight_decay=cfg.arch_weight_decay)
        self.beta = 0.0
        self._skip = net.op_names().index("skip_connect") if "skip_connect" in net.op_names() else None

    def mixing(self):
        """Weights for the supernet's forward: None (its own softmax) unless DARTS-' auxiliary skip is on."""
        if not self.beta or self._skip is None:
            return None
        w = arch_weights(self.net)
        bump = lambda t: t + self.beta * F.one_hot(torch.tensor(self._skip), t.shape[-1]).to(t)  # noqa: E731
        # why only the normal cell of the DARTS space: there skip is the identity, exactly DARTS-' x + ...;
        # in reduction cells it is a FactorizedReduce with weights of its own
        return {**w, "normal": bump(w["normal"])} if isinstance(w, dict) else bump(w)

    def loss(self, x, y, amp: bool | None = None):
        with torch.autocast(self.prec.device.type, dtype=torch.bfloat16, enabled=self.prec.amp if amp is None else amp):
            logits = self.net(self.prec.input(x), weights=self.mixing())
            return F.cross_entropy(logits, y), logits

    def step(self, xt, yt, xv, yv):
        self.a_opt.zero_grad(set_to_none=True)
        if self.cfg.order == 2:
            self._unrolled_grad(xt, yt, xv, yv, self.w_opt.param_groups[0]["lr"])
        else:
            # why inputs=: only the alphas need gradients here; autograd then skips every weight gradient
            self.loss(xv, yv)[0].backward(inputs=self.A)
        self.a_opt.step()
        loss, logits = self.loss(xt, yt)
        self.w_opt.zero_grad(set_to_none=True)
        loss.backward(inputs=self.W)
        if self.cfg.grad_clip:
            nn.utils.clip_grad_norm_(self.W, self.cfg.grad_clip)
        self.w_opt.step()
        return loss.detach().float(), (logits.detach().argmax(1) == yt).sum()

    def _unrolled_grad(self, xt, yt, xv, yv, eta: float) -> None:
        """Second-order alpha gradient: dL_val(w', a)/da - eta * H dL_val/dw', w' = w - eta * dL_train/dw."""
        W, A, cfg = self.W, self.A, self.cfg
        g = torch.autograd.grad(self.loss(xt, yt)[0], W, allow_unused=True)
        backup = [p.detach().clone() for p in W]
        with torch.no_grad():                         # the virtual step, with the optimiser's momentum and decay
            for p, gi in zip(W, g):
                if gi is None:
                    continue
                d = gi + cfg.weight_decay * p
                buf = self.w_opt.state.get(p, {}).get("momentum_buffer")
                if buf is not None:
                    d = d + cfg.momentum * buf
                p.sub_(eta * d)
        grads = torch.autograd.grad(self.loss(xv, yv)[0], A + W, allow_unused=True)
        ga = grads[:len(A)]
        gw = [torch.zeros_like(p) if v is None else v for p, v in zip(W, grads[len(A):])]
        r = cfg.fd_epsilon / torch.sqrt(sum((v.float() ** 2).sum() for v in gw)).clamp_min(1e-12)

        def alpha_grad_at(sign: float):
            with torch.no_grad():
                for p, b, v in zip(W, backup, gw):
                    p.copy_(b + sign * r * v)
            # why fp32: a difference of two nearly equal gradients drowns in bf16 rounding
            return torch.autograd.grad(self.loss(xt, yt, amp=False)[0], A)

        g_plus, g_minus = alpha_grad_at(1.0), alpha_grad_at(-1.0)
        with torch.no_grad():
            for p, b in zip(W, backup):
                p.copy_(b)
        for a, gv, gp, gm in zip(A, ga, g_plus, g_minus):
            a.grad = gv - eta * (gp - gm) / (2 * r)


class DartsSearch(OneShotStrategy):
    name = "darts"
    summary = "DARTS: softmax-relaxed edges, bilevel gradient descent (Liu et al. 2019)"
    config_class = DartsConfig

    def run(self, ctx) -> list:
        cfg, space = self.config, self.space
        device, data = context_data(ctx)
        scale = resolve_scale(cfg.scale, device)
        prec = Precision.for_device(device, cfg.amp)
        skeleton = skeleton_for(space.name, scale, cfg.skeleton)
        if cfg.partial_channels != 1 or cfg.edge_normalization is not None:
            check(space.name == "darts", f"partial_channels/edge_normalization (PC-DARTS) need the darts space, "
                                         f"not {space.name!r}")
            skeleton.update(partial_channels=cfg.partial_channels, edge_normalization=cfg.edge_normalization)
        net = build_supernet(space, data, skeleton, prec, ctx.seed)
        check(bool(net.arch_parameters()), f"space {space.name!r}: its supernet has no alphas for DARTS")
        n_t = subset_size(cfg.train_subset, scale, len(data.train_y))
        n_v = subset_size(cfg.val_subset, scale, len(data.val_y))
        train = Batches(data.train_x[:n_t], data.train_y[:n_t], cfg.batch_size, ctx.seed)
        val = Batches(data.val_x[:n_v], data.val_y[:n_v], cfg.batch_size, ctx.seed + 1)
        ex, ey = data.val_x[:cfg.eval_subset], data.val_y[:cfg.eval_subset]
        es_limit = cfg.es_skip_share if cfg.es_skip_share is not None else (0.25 if space.name == "darts" else 0.5)
        bilevel = Bilevel(net, cfg, prec)
        epochs, shares, previous, t0 = ctx.budget, [], None, time.perf_counter()
        # why every few steps: an epoch can take a minute on a CPU; the alphas move within it (oneshot.Progress)
        progress = Progress(ctx.emit, epochs, train.steps_per_epoch, cfg.progress_s)
        self.history = []                              # derived architecture per epoch (for notebooks)
        self.supernet = net                            # kept for notebooks (inspect, re-derive)
        for epoch in range(epochs):
            if ctx.stop.is_set():
                break
            set_lr(bilevel.w_opt, cosine_lr(cfg.lr, cfg.lr_min, epoch, epochs))
            if cfg.remedy == "darts-":
                bilevel.beta = cfg.aux_skip_beta * (1 - epoch / epochs)
            net.train()
            loss_sum, correct, seen = torch.zeros((), device=device), torch.zeros((), device=device), 0
            for k in range(train.steps_per_epoch):
                if ctx.stop.is_set():
                    break
                (xt, yt), (xv, yv) = train.next(), val.next()
                loss, corr = bilevel.step(xt, yt, xv, yv)
                loss_sum += loss * len(yt)
                correct += corr
                seen += len(yt)
                if progress.due(epoch, k + 1):
                    progress.report(epoch, k + 1, loss_sum, correct, seen, **alpha_fields(net))
            if seen == 0 or ctx.stop.is_set():
                break                                  # Stop mid-epoch: no accuracy pass, derive at once
            mean_loss = loss_sum.item() / seen
            check(math.isfinite(mean_loss), f"darts diverged: loss {mean_loss} in epoch {epoch + 1}; lower lr")
            val_acc = accuracy(net, ex, ey, prec, weights=bilevel.mixing())
            ctx.emit("epoch", epoch=epoch + 1, of=epochs, train_loss=mean_loss, train_acc=100.0 * correct.item() / seen,
                     val_acc=val_acc, seconds=time.perf_counter() - t0)
            arch = derive(net)
            shares.append(skip_share(arch))
            stop_now = cfg.remedy == "early_stop" and shares[-1] >= es_limit
            emit_alphas(ctx.emit, net, space, epoch + 1, arch, shares, collapsed=shares[-1] >= cfg.collapse_share,
                        remedy=cfg.remedy, beta=bilevel.beta, early_stopped=stop_now)
            self.history.append(arch)
            if stop_now:
                # why the epoch before: the cell that tripped the criterion already carries the collapse
                return scoring_stage(ctx, [previous if previous is not None else arch])
            previous = arch
        return scoring_stage(ctx, [previous] if previous is not None else [derive(net)])
