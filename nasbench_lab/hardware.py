"""Hardware metrics: parameters, FLOPs, latency measured on the current device, per-op latency lookup
tables, and the accuracy/latency Pareto front.

The pitfall this module answers: "ignoring hardware". FLOPs and parameter counts are proxies; what a
deployment pays is latency on *its* device, which depends on memory traffic, kernel launches and batch
size as much as on arithmetic (a depthwise 7x7 conv has few FLOPs and is slow on many devices). So
latency is measured, not computed: warm-up runs first (allocator, cuDNN autotuning, caches), then the
median of repeated timings (robust to the odd scheduler hiccup), each one synchronised with the GPU.

Lookup tables (ProxylessNAS, Cai et al. 2019; FBNet, Wu et al. 2019): a network's latency is modelled
as the sum of its blocks' latencies, each measured once per (op, input shape) and stored in a table,
so a search can price millions of candidates without running them. Tables are JSON (house rule 10).
"""
from __future__ import annotations

import itertools
import json
import math
import statistics
import time
from pathlib import Path

import torch
import torch.nn as nn

from .errors import HardwareError
from .train import count_flops, count_params, resolve_device, to_channels_last

__all__ = ["count_params", "count_flops", "count_macs", "measure_latency", "profile", "latency_table", "table_latency",
           "save_table", "load_table", "pareto_front", "HardwareError"]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@torch.no_grad()
def count_macs(model: nn.Module, input_shape, dead_edges: bool = True, device="cpu") -> int:
    """Multiply-accumulates of one forward pass of one image, counted as NAS papers publish them.

    Counted: convolutions and linear layers (one multiply-add = 1; batch norm, activations, pooling and
    additions are not counted). NAS-Bench-201's published "FLOPs" (7.78 M to 220.12 M on CIFAR-10 at
    C=16, N=5) are this number with ``dead_edges=True``: an edge into a node that never reaches the cell
    output is counted although it cannot change the result. The lab's networks skip such edges, so
    ``dead_edges=False`` gives the MACs that really run ("live" MACs; ``count_flops`` is about twice that).

    Why hooks and shapes, not a formula per space: a module that never ran (a dead edge) gets the
    spatial size of the input of its nearest ancestor that did run, with its own stride applied; that
    is exact for the stride-1 cells it is used for.
    """
    was_training = model.training
    model.eval()
    names = {m: n for n, m in model.named_modules()}
    in_size: dict[str, tuple] = {}                      # module name -> input (H, W), for modules that ran
    ran: dict[str, int] = {}                            # conv/linear name -> MACs measured while running

    def pre(m, args):
        if args and isinstance(args[0], torch.Tensor) and args[0].dim() == 4:
            in_size[names[m]] = tuple(args[0].shape[-2:])

    def post(m, args, out):
        if isinstance(m, nn.Conv2d):
            ran[names[m]] = out[0].numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
        elif isinstance(m, nn.Linear):
            ran[names[m]] = out[0].numel() * m.in_features

    hooks = [m.register_forward_pre_hook(pre) for m in model.modules()]
    hooks += [m.register_forward_hook(post) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    try:
        model(torch.zeros(1, *input_shape, device=device))
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    total = sum(ran.values())
    if not dead_edges:
        return int(total)
    for name, m in model.named_modules():
        if not isinstance(m, nn.Conv2d) or name in ran:
            continue
        parent = name
        while parent and parent not in in_size:
            parent = parent.rpartition(".")[0]
        h, w = in_size.get(parent, tuple(input_shape[-2:]))
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = m.kernel_size, m.stride, m.padding, m.dilation
        oh, ow = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1, (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
        total += oh * ow * m.out_channels * (m.in_channels // m.groups) * kh * kw
    return int(total)


@torch.no_grad()
def measure_latency(model: nn.Module, input_shape, device="auto", batch_sizes=(1, 64), warmup: int = 5,
                    repeats: int = 20, amp: bool | None = None, channels_last: bool | None = None) -> dict[int, float]:
    """Median inference latency (milliseconds per forward pass) of ``model`` at each batch size.

    input_shape: (C, H, W) of one image. amp / channels_last: bf16 autocast and channels_last memory
    format (None: on for CUDA, as the lab trains). The model is put in eval mode for the measurement
    and back in its previous mode afterwards; it is moved to ``device``.
    """
    device = resolve_device(device)
    sizes = [int(b) for b in batch_sizes]
    if not sizes or any(b < 1 for b in sizes):
        raise HardwareError(f"batch_sizes must be positive integers, got {batch_sizes!r}")
    if warmup < 0 or repeats < 1:
        raise HardwareError(f"warmup must be >= 0 and repeats >= 1, got {warmup}, {repeats}")
    cuda = device.type == "cuda"
    amp = cuda if amp is None else bool(amp)
    cl = cuda if channels_last is None else bool(channels_last)
    was_training = model.training
    model = model.to(device).eval()
    if cl:
        model = to_channels_last(model)
    out = {}
    for b in sizes:
        x = torch.randn(b, *input_shape, device=device)
        if cl:
            x = x.contiguous(memory_format=torch.channels_last)
        times = []
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            for k in range(warmup + repeats):
                _sync(device)
                t = time.perf_counter()
                model(x)
                _sync(device)                     # why: CUDA launches are asynchronous; time the work, not the launch
                if k >= warmup:
                    times.append(time.perf_counter() - t)
        out[b] = 1000.0 * statistics.median(times)
    model.train(was_training)
    return out


def profile(model: nn.Module, input_shape, device="auto", batch: int = 64, **latency_options) -> dict:
    """Parameters, forward FLOPs per image and latency at batch 1 and ``batch`` (ms) of one model."""
    device = resolve_device(device)
    model = model.to(device)
    params = count_params(model)
    flops = count_flops(model, tuple(input_shape), device)
    lat = measure_latency(model, input_shape, device, batch_sizes=sorted({1, int(batch)}), **latency_options)
    return {"params": params, "flops": flops, "latency_ms": lat[1], f"latency_ms_b{batch}": lat[int(batch)],
            "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"}


# ---------------------------------------------------------------------- lookup tables
def latency_table(space, input_size: int | tuple = 32, width_mult: float = 1.0, device="auto", batch: int = 1,
                  warmup: int = 3, repeats: int = 10, keys=None) -> dict[str, float]:
    """Measure every block op of ``space`` (one with ``op_table_keys``, e.g. ``mobile``) at its input
    shape: {lut_key: milliseconds}. Equal ops at equal shapes are measured once."""
    if not hasattr(space, "op_table_keys"):
        raise HardwareError(f"space {getattr(space, 'name', space)!r} has no per-op latency keys (try 'mobile')")
    device = resolve_device(device)
    keys = keys if keys is not None else space.op_table_keys(None, input_size=input_size, width_mult=width_mult)
    table = {}
    for key in keys:
        k = key.lut_key()
        if k not in table:
            with torch.random.fork_rng(devices=[]):
                module = key.module()
            table[k] = measure_latency(module, key.input_shape, device, (batch,), warmup, repeats)[batch]
    return table


def table_latency(space, arch, table: dict, input_size: int | tuple = 32, width_mult: float = 1.0) -> float:
    """Predicted latency (ms) of ``arch``'s searchable blocks: the sum of their table entries."""
    total = 0.0
    for key in space.op_table_keys(arch, input_size=input_size, width_mult=width_mult):
        if key.lut_key() not in table:
            raise HardwareError(f"latency table has no entry {key.lut_key()!r}; measure it with latency_table()")
        total += table[key.lut_key()]
    return total


def save_table(table: dict, path, meta: dict | None = None) -> None:
    """Write a lookup table as JSON: {"meta": {...device, input size...}, "latency_ms": {key: ms}}."""
    Path(path).write_text(json.dumps({"meta": meta or {}, "latency_ms": table}, indent=1, sort_keys=True))


def load_table(path) -> dict[str, float]:
    data = json.loads(Path(path).read_text())
    if not isinstance(data, dict) or not isinstance(data.get("latency_ms"), dict):
        raise HardwareError(f"{path} is not a latency table (expected a 'latency_ms' object)")
    return {str(k): float(v) for k, v in data["latency_ms"].items()}


# ---------------------------------------------------------------------- Pareto front
def _pair(p, acc_key: str, cost_key: str) -> tuple[float, float]:
    if isinstance(p, dict):
        return float(p[acc_key]), float(p[cost_key])
    acc, cost = p
    return float(acc), float(cost)


def pareto_front(points, acc_key: str = "val_acc", cost_key: str = "latency_ms") -> list[int]:
    """Indices of the non-dominated points, cheapest first: no other point is at least as accurate and
    at least as cheap while strictly better in one of the two. Points are (accuracy, cost) pairs or
    dicts with ``acc_key`` and ``cost_key``; points with a NaN are never on the front; exact duplicates
    of a front point are all on it."""
    vals = [_pair(p, acc_key, cost_key) for p in points]
    order = sorted((i for i, (a, c) in enumerate(vals) if not (math.isnan(a) or math.isnan(c))),
                   key=lambda i: (vals[i][1], -vals[i][0]))
    front, best_cheaper = [], -math.inf          # best accuracy among strictly cheaper points
    for _, group in itertools.groupby(order, key=lambda i: vals[i][1]):
        group = list(group)
        top = vals[group[0]][0]                  # sorted by accuracy, best first, within one cost
        if top > best_cheaper:
            front += [i for i in group if vals[i][0] == top]
            best_cheaper = top
    return front
