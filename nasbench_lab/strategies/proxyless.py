"""ProxylessNAS: direct architecture search on the target task and hardware (Cai, Zhu & Han,
"ProxylessNAS: Direct Neural Architecture Search on Target Task and Hardware", ICLR 2019).

DARTS runs every candidate op of every edge at once, so its memory grows with the number of ops and
it must search on a small proxy network. ProxylessNAS binarises the paths: each block keeps
architecture parameters alpha (probabilities p = softmax(alpha)), but a forward pass runs *one* path
chosen by binary gates sampled from p. Per step:

* weight step (training batch): sample one op per block from p, train that path;
* alpha step (validation batch), the "two paths" trick of Sec. 3.2.1: per block sample two
  candidates from p, renormalise their probabilities, sample the active gate among them, and update
  the two alphas with dL/dalpha_i = sum_j dL/dg_j p_j (delta_ij - p_i) (Eq. 4) over the two paths.

Latency enters the loss as its expectation, E[LAT] = sum_blocks sum_j p_j F(o_j) with F a per-op
latency table measured on the current device (``hardware.latency_table``), which is differentiable in
alpha (Eq. 5-6: loss = CE + lambda * E[LAT]). Here E[LAT] is divided by its value under uniform
probabilities, so ``lam`` is unit-free: 0 ignores latency, larger values buy speed with accuracy.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F

from ..config import option
from ..hardware import latency_table
from ..oneshot import (alpha_fields, arch_weights, check, context_data, derive, emit_alphas, resolve_scale,
                       scoring_stage, skip_share)
from ..weight_sharing import (PROGRESS_S, Batches, Precision, Progress, accuracy, build_supernet, cosine_lr,
                              path_step, set_lr, skeleton_for, subset_size, weight_optimizer)
from .base import OneShotStrategy

# why a tiny but nonzero gate on the inactive sampled path: the supernet runs only ops with a nonzero
# weight, and Eq. 4 needs dL/dg of both sampled paths, i.e. both outputs; 1e-9 leaves the forward value
# unchanged at fp32 precision (the paper recomputes the second output in its backward hook instead)
_INACTIVE_GATE = 1e-9


@dataclass
class ProxylessConfig:
    lam: float = option(0.1, lo=0.0)
    """Weight of the normalised expected latency in the alpha loss (0: accuracy only)."""
    scale: Literal["auto", "classroom", "reference"] = "auto"
    """classroom (width 0.5, 2,000 images), reference (width 1.0, all images), auto (reference on CUDA)."""
    skeleton: dict | None = None
    """Supernet options (e.g. {'width_mult': 0.5}); None: the scale's skeleton."""
    train_subset: int | None = option(None, lo=1)
    """Training images for the weights (None: by scale)."""
    val_subset: int | None = option(None, lo=1)
    """Validation images for the alphas (None: by scale)."""
    eval_subset: int = option(1000, lo=1)
    """Validation images for the per-epoch accuracy of the derived path."""
    batch_size: int = option(64, lo=1)
    """Batch size of the weight and alpha steps."""
    lr: float = 0.05
    """Weight SGD learning rate (cosine per epoch to 0)."""
    momentum: float = 0.9
    """Weight SGD momentum."""
    weight_decay: float = 4e-5
    """Weight decay of the weights."""
    grad_clip: float = 5.0
    """Clip the weights' gradient norm (0: off)."""
    arch_lr: float = 1e-3
    """Adam learning rate of the alphas (ProxylessNAS: 1e-3, betas (0, 0.999))."""
    warmup_epochs: int = option(0, lo=0)
    """Leading epochs that train only the weights (alphas frozen)."""
    latency_table: dict | None = None
    """Precomputed {lut_key: ms} (see hardware.latency_table); None: measured now on the run's device."""
    latency_repeats: int = option(10, lo=1)
    """Timed repeats per table entry when measuring."""
    amp: bool | None = None
    """bf16 autocast (None: on for CUDA)."""
    progress_s: float | None = option(PROGRESS_S, lo=0)
    """Seconds between within-epoch progress events (running accuracy, alphas, sampled path); None: epoch ends only."""


class ProxylessNAS(OneShotStrategy):
    name = "proxyless"
    summary = "ProxylessNAS: binarised two-path gates, latency in the loss (Cai et al. 2019)"
    config_class = ProxylessConfig

    def __init__(self, space, rng, emit, **options):
        super().__init__(space, rng, emit, **options)
        check(hasattr(space, "op_table_keys"), f"proxyless needs a space with per-op latency keys "
                                               f"(the 'mobile' space), got {space.name!r}")

    def latency_matrix(self, net, data, skeleton, device) -> tuple[torch.Tensor, dict]:
        """[blocks, ops] latency (ms) of every allowed op at its input shape; 0 where not allowed."""
        keys = self.space.op_table_keys(None, input_size=tuple(data.train_x.shape[-2:]),
                                        width_mult=skeleton.get("width_mult", 1.0))
        table = self.config.latency_table
        if table is None:
            table = latency_table(self.space, device=device, repeats=self.config.latency_repeats, keys=keys)
        names = net.op_names()
        lat = torch.zeros(tuple(net.arch_parameters()[0].shape))
        for key in keys:
            check(key.lut_key() in table, f"latency table has no entry {key.lut_key()!r}")
            lat[key.block, names.index(key.choice)] = float(table[key.lut_key()])
        return lat, table

    def run(self, ctx) -> list:
        cfg, space = self.config, self.space
        device, data = context_data(ctx)
        scale = resolve_scale(cfg.scale, device)
        prec = Precision.for_device(device, cfg.amp)
        skeleton = skeleton_for(space.name, scale, cfg.skeleton)
        net = build_supernet(space, data, skeleton, prec, ctx.seed)
        self.supernet = net
        lat, self.table = self.latency_matrix(net, data, skeleton, device)
        lat = lat.to(device)
        alphas = net.arch_parameters()[0]
        allowed = getattr(net, "allowed", torch.ones_like(alphas, dtype=torch.bool)).to(device)
        uniform = allowed.float() / allowed.float().sum(1, keepdim=True)
        lat_ref = float((uniform * lat).sum())        # E[LAT] at uniform probabilities: the unit of the penalty
        names = net.op_names()
        w_opt = weight_optimizer(net, cfg.lr, cfg.momentum, cfg.weight_decay, nesterov=True)
        a_opt = torch.optim.Adam([alphas], cfg.arch_lr, betas=(0.0, 0.999), eps=1e-8)
        gen = torch.Generator().manual_seed(ctx.seed)
        n_t = subset_size(cfg.train_subset, scale, len(data.train_y))
        n_v = subset_size(cfg.val_subset, scale, len(data.val_y))
        train = Batches(data.train_x[:n_t], data.train_y[:n_t], cfg.batch_size, ctx.seed)
        val = Batches(data.val_x[:n_v], data.val_y[:n_v], cfg.batch_size, ctx.seed + 1)
        ex, ey = data.val_x[:cfg.eval_subset], data.val_y[:cfg.eval_subset]

        def probs():
            return arch_weights(net)

        def sampled_arch():
            idx = torch.multinomial(probs().detach().float().cpu(), 1, generator=gen).flatten().tolist()
            return net.choose(idx)

        def alpha_step(xv, yv):
            p = probs()
            pair = torch.multinomial(p.detach().float().cpu(), 2, replacement=False, generator=gen).to(device)
            p2 = F.softmax(alphas.gather(1, pair), dim=-1).detach()           # renormalised over the two
            first = torch.rand(len(p2), generator=gen).to(device) < p2[:, 0]
            active = torch.where(first, pair[:, 0], pair[:, 1])
            other = torch.where(first, pair[:, 1], pair[:, 0])
            gates = torch.zeros_like(alphas, dtype=torch.float32)
            gates.scatter_(1, active[:, None], 1.0).scatter_(1, other[:, None], _INACTIVE_GATE)
            gates.requires_grad_(True)
            with prec.autocast():
                loss = F.cross_entropy(net(prec.input(xv), weights=gates), yv)
            (dg,) = torch.autograd.grad(loss, [gates])
            g2 = dg.gather(1, pair).float()
            grad = torch.zeros_like(alphas).scatter_(1, pair, p2 * (g2 - (g2 * p2).sum(1, keepdim=True)))
            lat_loss = cfg.lam * (probs() * lat).sum() / lat_ref
            (g_lat,) = torch.autograd.grad(lat_loss, [alphas]) if cfg.lam > 0 else (torch.zeros_like(alphas),)
            a_opt.zero_grad(set_to_none=True)
            alphas.grad = grad + g_lat
            a_opt.step()

        t0, epochs, shares = time.perf_counter(), ctx.budget, []
        # why every few steps: an epoch can take a minute on a CPU; the alphas move within it (oneshot.Progress)
        progress = Progress(ctx.emit, epochs, train.steps_per_epoch, cfg.progress_s)
        for epoch in range(epochs):
            if ctx.stop.is_set():
                break
            set_lr(w_opt, cosine_lr(cfg.lr, 0.0, epoch, epochs))
            loss_sum, correct, seen = 0.0, 0, 0
            for k in range(train.steps_per_epoch):
                if ctx.stop.is_set():
                    break
                net.train()
                xb, yb = train.next()
                path = sampled_arch()
                loss, corr = path_step(net, w_opt, xb, yb, prec, cfg.grad_clip, arch=path)
                loss_sum, correct, seen = loss_sum + loss * len(yb), correct + corr, seen + len(yb)
                if epoch >= cfg.warmup_epochs:
                    alpha_step(*val.next())
                if progress.due(epoch, k + 1):
                    progress.report(epoch, k + 1, loss_sum, correct, seen, arch=space.to_str(path), **alpha_fields(net))
            if not seen or ctx.stop.is_set():
                break                                  # Stop mid-epoch: no accuracy pass, derive at once
            arch = derive(net)
            ctx.emit("epoch", epoch=epoch + 1, of=epochs, train_loss=float(loss_sum) / seen,
                     train_acc=100.0 * float(correct) / seen,
                     val_acc=accuracy(net, ex, ey, prec, train_mode_bn=True, arch=arch),
                     seconds=time.perf_counter() - t0)
            shares.append(skip_share(arch))
            with torch.no_grad():
                expected = float((probs() * lat).sum())
                derived_ms = float(sum(lat[k, names.index(c)] for k, c in enumerate(arch.choices)))
            emit_alphas(ctx.emit, net, space, epoch + 1, arch, shares, expected_latency_ms=expected,
                        derived_latency_ms=derived_ms, lam=cfg.lam)
        return scoring_stage(ctx, [derive(net)])
