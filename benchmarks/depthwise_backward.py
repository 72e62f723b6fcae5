"""What the lab's depthwise conv (``spaces.fast_ops.DepthwiseConv2d``) buys each supernet, same run, same device.

    python benchmarks/depthwise_backward.py [--device cpu] [--rounds R] [--steps N] [--threads T] [--json]

For each network below, one training step (forward, cross-entropy, backward into the weights) is timed
twice on the same weights and data: as the lab builds it, and with every ``DepthwiseConv2d`` turned
back into a plain ``nn.Conv2d`` (torch's own depthwise conv). Prints seconds per step for both and the
ratio plain / lab (> 1: the lab's conv is faster), the median of R paired rounds (why paired: on a
shared machine the load drifts; two timings taken back to back see the same load).

* ``darts``: the DARTS search network at the classroom size (C=8, 5 cells, batch 16), softmax mix;
* ``mobile``: the ProxylessNAS-style MBConv supernet, every candidate mixed (batch 32, 32x32);
* ``mobile_path``: the same supernet on one path, its largest architecture (k7_e6 blocks), as SPOS
  and ProxylessNAS train it.

The end-to-end figure against the eager reference stays ``benchmarks/darts_step.py``.
"""
from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from nasbench_lab.spaces import get_space  # noqa: E402
from nasbench_lab.spaces.fast_ops import DepthwiseConv2d  # noqa: E402
from nasbench_lab.train import resolve_device, to_channels_last  # noqa: E402


def plain(net: nn.Module) -> nn.Module:
    """A copy of ``net`` whose depthwise convs are torch's plain ``nn.Conv2d`` (same weights)."""
    net = copy.deepcopy(net)
    for m in net.modules():
        if isinstance(m, DepthwiseConv2d):
            m.__class__ = nn.Conv2d        # same attributes and parameters; only forward differs
    return net


def networks(device, small: bool = False):
    """name -> (network, batch of inputs, labels, forward keyword arguments)."""
    darts = get_space("darts").supernet(in_channels=3, num_classes=10, C=4 if small else 8, layers=3 if small else 5)
    mobile_space = get_space("mobile")
    mobile = mobile_space.supernet(in_channels=3, num_classes=10, width_mult=0.25 if small else 1.0)
    b = 4 if small else 16
    return {"darts": (darts, b, {}),
            "mobile": (mobile, 2 * b, {}),
            "mobile_path": (mobile, 2 * b, {"arch": mobile_space.reference("largest")})}


def step_seconds(net, batch, kwargs, device, steps: int) -> float:
    torch.manual_seed(0)
    net = to_channels_last(net.to(device)).train()
    x = torch.randn(batch, 3, 32, 32, device=device).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (batch,), device=device)
    weights = [p for n, p in net.named_parameters() if not n.startswith(("alphas", "betas"))]

    def step():
        F.cross_entropy(net(x, **kwargs), y).backward(inputs=weights)
    for _ in range(2):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - t) / steps


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--rounds", type=int, default=3, help="paired rounds; the median ratio is reported")
    ap.add_argument("--steps", type=int, default=3, help="timed steps per measurement")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    ap.add_argument("--small", action="store_true", help="tiny networks (a smoke run, not a figure)")
    ap.add_argument("--json", action="store_true", help="print one JSON object only")
    a = ap.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    dev = resolve_device(a.device)
    out = {"device": torch.cuda.get_device_name() if dev.type == "cuda" else f"cpu ({torch.get_num_threads()} threads)",
           "rounds": a.rounds, "steps": a.steps, "networks": {}}
    for name, (net, batch, kwargs) in networks(dev, a.small).items():
        base = plain(net)
        pairs = [(step_seconds(base, batch, kwargs, dev, a.steps), step_seconds(net, batch, kwargs, dev, a.steps))
                 for _ in range(max(1, a.rounds))]
        out["networks"][name] = {"plain_s": round(statistics.median(p for p, _ in pairs), 4),
                                 "lab_s": round(statistics.median(q for _, q in pairs), 4),
                                 "ratio_plain_over_lab": round(statistics.median(p / q for p, q in pairs), 3),
                                 "ratios_per_round": [round(p / q, 3) for p, q in pairs]}
    if not a.json:
        print(f"one training step, plain nn.Conv2d vs the lab's DepthwiseConv2d, on {out['device']}")
        for name, r in out["networks"].items():
            print(f"  {name:12s} plain {r['plain_s']:.4f} s  lab {r['lab_s']:.4f} s  ratio {r['ratio_plain_over_lab']:.3f} "
                  f"(rounds {r['ratios_per_round']})")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
