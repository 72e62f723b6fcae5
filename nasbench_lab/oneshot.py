"""What the one-shot strategies (DARTS, ENAS, SPOS, ProxylessNAS) share besides the supernet steps.

Kept out of the strategy files so that each of those reads as its paper: here are the boring parts
(which scale, which data and device, the derived architecture, the ``alphas`` payload). The supernet
steps themselves (batches, mixed precision, the SGD step, batch-norm recalibration, accuracy) are in
``weight_sharing.py``, beside the training loop, because the ``supernet`` estimator uses them too; they
are re-exported here for code that imported them from this module. Nothing here prints.

Scales: ``classroom`` and ``reference`` (see weight_sharing.py); ``auto`` picks ``reference`` on CUDA and
``classroom`` elsewhere.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .data import Splits, load_dataset
from .errors import StrategyError
from .estimators import Fidelity
from .train import resolve_device
# re-exported: notebooks, tests and benchmarks import these from here
from .weight_sharing import (CLASSROOM_IMAGES, PROGRESS_PER_EPOCH, PROGRESS_S, REFERENCE_SKELETON,  # noqa: F401
                             Batches, Precision, Progress, accuracy, build_supernet, cosine_lr, path_step,
                             recalibrate_bn, set_lr, skeleton_for, subset_size, train_uniform_epoch,
                             weight_optimizer)

SCALES = ("auto", "classroom", "reference")


def check(cond: bool, message: str) -> None:
    """StrategyError(message) unless ``cond``: for what a one-shot run finds out while it runs."""
    if not cond:
        raise StrategyError(message)


def resolve_scale(scale: str, device: torch.device) -> str:
    """``auto`` as ``reference`` on CUDA and ``classroom`` elsewhere (the option's type allows only SCALES)."""
    if scale == "auto":
        return "reference" if device.type == "cuda" else "classroom"
    return scale


def scoring_stage(ctx, candidates: list) -> list:
    """Emit ``stage`` (the supernet search is over; the run's estimator now scores ``candidates``, with
    ``train`` by re-training each from scratch) and return ``candidates``. Why an event: that scoring can
    take longer than the search, and a progress display must not sit at 100 % through it. Not emitted
    after a Stop: the driver then scores nothing."""
    if candidates and not ctx.stop.is_set():
        est = ctx.estimator
        ctx.emit("stage", name="scoring", candidates=len(candidates), estimator=getattr(est, "name", "?"),
                 trains=isinstance(getattr(est, "fidelity", None), Fidelity))
    return candidates


# ---------------------------------------------------------------------- device, data, network
def context_data(ctx) -> tuple[torch.device, Splits]:
    """The run's device and data: ``ctx.data`` if set, else the estimator's, else ``load_dataset``."""
    est = ctx.estimator
    device = resolve_device(ctx.device if ctx.device is not None else getattr(est, "device", None) or "auto")
    if ctx.data is None:
        data = getattr(est, "data", None)
        if data is None:
            data = load_dataset(getattr(est, "dataset", "fashion-mnist"), device=device)
        ctx.data = data
    data = ctx.data if ctx.data.device == device else ctx.data.to(device)
    return device, data


# ---------------------------------------------------------------------- the alphas payload
def arch_weights(net) -> torch.Tensor | dict:
    """The mixing weights the supernet's default forward uses (softmax of the alphas, masked where a
    supernet marks choices as not allowed)."""
    if hasattr(net, "arch_weights"):
        return net.arch_weights()
    alphas = net.arch_parameters()[0]
    if hasattr(net, "allowed"):
        alphas = alphas.masked_fill(~net.allowed.to(alphas.device), float("-inf"))
    return F.softmax(alphas, dim=-1)


def to_lists(w) -> list | dict:
    if isinstance(w, dict):
        return {k: to_lists(v) for k, v in w.items()}
    return [[round(float(v), 6) for v in row] for row in w.detach().float().cpu().tolist()]


def derive(net):
    """The supernet's discrete architecture (argmax of the mixing weights; each supernet knows how)."""
    return net.derive()


def skip_share(arch) -> float:
    """Fraction of skip connections in an architecture: the DARTS collapse indicator. For a DARTS
    genotype it is the normal cell's (the cell that collapses; reduction cells hold pools)."""
    if hasattr(arch, "normal"):
        ops = [op for op, _ in arch.normal]
    elif hasattr(arch, "ops"):
        ops = list(arch.ops)
    elif hasattr(arch, "choices"):
        ops = list(arch.choices)
    else:
        return float("nan")
    return sum(op in ("skip_connect", "skip") for op in ops) / max(1, len(ops))


def trend(values: list, window: int = 3) -> float:
    """Least-squares slope of the last ``window`` values (per epoch); 0 with fewer than two."""
    v = values[-window:]
    if len(v) < 2:
        return 0.0
    mx, my = (len(v) - 1) / 2, sum(v) / len(v)
    return sum((i - mx) * (y - my) for i, y in enumerate(v)) / sum((i - mx) ** 2 for i in range(len(v)))


@torch.no_grad()
def alpha_fields(net, weights=None) -> dict:
    """``edges``, ``ops`` and ``weights`` of the alphas payload (``progress`` events carry them too)."""
    w = arch_weights(net) if weights is None else weights
    names = net.edge_names() if hasattr(net, "edge_names") else net.block_names()
    return {"edges": list(names), "ops": list(net.op_names()), "weights": to_lists(w)}


def emit_alphas(emit, net, space, epoch: int, arch, shares: list, weights=None, **extra) -> None:
    """Emit the ``alphas`` event of one epoch. ``arch`` is the derived architecture, ``shares`` the skip
    shares so far (this epoch's last); the payload adds ``skip_trend``, their recent slope per epoch."""
    emit("alphas", epoch=epoch, **alpha_fields(net, weights), derived=space.to_str(arch), skip_share=shares[-1],
         skip_trend=round(trend(shares), 6), **extra)
