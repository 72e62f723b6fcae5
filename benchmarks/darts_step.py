"""The lab's DARTS search step against the eager reference, same run, same device.

    python benchmarks/darts_step.py [--device cpu|cuda] [--steps N] [--rounds R] [--order 1|2]
                                    [--partial-channels K] [--reference PATH] [--json]

One step = an alpha step on a validation batch, then a weight step on a training batch (first order, as
``darts_step_seconds`` in benchmarks/reference.py, the eager reference written from quark0/darts;
``--reference PATH`` or NASBENCH_LAB_REFERENCE names another file with its API). Both sides build the
DARTS search network at the same size and time the same number of steps after 3 warm-up steps, on random
data already on the device. On CUDA the size is the reference configuration (C=16, 8 cells, batch 64,
32x32x3) and the lab runs as it trains (bf16 autocast + channels_last; also reported in fp32); on the
CPU a small configuration (C=8, 5 cells, batch 16), because one reference-size step takes ~17 s on 2
cores. Prints seconds per step for both and the ratio reference / lab (> 1: the lab is faster).
``--rounds R`` alternates reference and lab R times and reports the median of the R paired ratios (why
paired: on a shared machine the load drifts; a reference and a lab timing taken back to back see the
same load).
``--partial-channels K`` also times the lab with PC-DARTS' partial channels (K=4 in the paper) and
reports the activation memory a step saves for backward, plain and PC (bytes of the distinct tensors
autograd keeps, counted by a saved-tensors hook: the same figure on every device).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._reference import load_reference  # noqa: E402,F401 (oneshot_gpu_check imports it from here)
from nasbench_lab.oneshot import Precision  # noqa: E402
from nasbench_lab.spaces import get_space  # noqa: E402
from nasbench_lab.strategies.darts import Bilevel, DartsConfig  # noqa: E402
from nasbench_lab.train import resolve_device  # noqa: E402

def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def _lab_net(device, C, layers, image, amp, k):
    prec = Precision.for_device(device, amp)
    net = prec.model(get_space("darts").supernet(in_channels=image[0], num_classes=10, C=C, layers=layers,
                                                 partial_channels=k))
    return net, prec


def activation_mb(device, batch=64, C=16, layers=8, image=(3, 32, 32), k=1) -> float:
    """MB of the distinct tensors one forward of the lab's search network saves for its backward."""
    torch.manual_seed(0)
    net, prec = _lab_net(device, C, layers, image, False, k)
    net.train()
    x = prec.input(torch.randn(batch, *image, device=device))
    seen = {}

    def pack(t):
        seen[(t.untyped_storage().data_ptr(), t.dtype)] = t.untyped_storage().nbytes()
        return t
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        net(x).sum()
    return sum(seen.values()) / 2 ** 20


def lab_step_seconds(device, steps=20, batch=64, C=16, layers=8, image=(3, 32, 32), order=1, amp=None,
                     k=1) -> float:
    """Seconds per lab DARTS search step (``strategies.darts.Bilevel.step``), data on the device."""
    torch.manual_seed(0)
    net, prec = _lab_net(device, C, layers, image, amp, k)
    step = Bilevel(net, DartsConfig(order=order), prec)
    xt, yt = torch.randn(batch, *image, device=device), torch.randint(0, 10, (batch,), device=device)
    xv, yv = torch.randn(batch, *image, device=device), torch.randint(0, 10, (batch,), device=device)
    net.train()
    for _ in range(3):
        step.step(xt, yt, xv, yv)
    _sync(device)
    t = time.perf_counter()
    for _ in range(steps):
        step.step(xt, yt, xv, yv)
    _sync(device)
    return (time.perf_counter() - t) / steps


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="auto")
    ap.add_argument("--steps", type=int, default=None, help="timed steps (default 2 on CPU, 20 on CUDA)")
    ap.add_argument("--order", type=int, default=1, choices=(1, 2), help="lab step order (the reference is first order)")
    ap.add_argument("--rounds", type=int, default=1, help="paired reference/lab rounds; the median ratio is reported")
    ap.add_argument("--partial-channels", type=int, default=None, metavar="K",
                    help="also time the lab with PC-DARTS partial channels K, and the activation memory")
    ap.add_argument("--C", type=int, default=None)
    ap.add_argument("--layers", type=int, default=None)
    ap.add_argument("--batch", type=int, default=None)
    ap.add_argument("--reference", help="another reference file (default: benchmarks/reference.py)")
    ap.add_argument("--json", action="store_true", help="print one JSON object only")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    a = ap.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    dev = resolve_device(a.device)
    ref = load_reference(a.reference)
    cuda = dev.type == "cuda"
    cfg = {"C": a.C or (16 if cuda else 8), "layers": a.layers or (8 if cuda else 5),
           "batch": a.batch or (64 if cuda else 16), "image": (3, 32, 32)}
    steps = a.steps or (20 if cuda else 2)
    rounds = []
    for _ in range(max(1, a.rounds)):
        r = {"reference_s": ref.darts_step_seconds(dev, steps=steps, **cfg),
             "lab_s": lab_step_seconds(dev, steps=steps, order=a.order, **cfg)}
        if a.partial_channels:
            r["lab_pc_s"] = lab_step_seconds(dev, steps=steps, order=a.order, k=a.partial_channels, **cfg)
        rounds.append(r)
    med = lambda key: statistics.median(r[key] for r in rounds)                            # noqa: E731
    ratio = lambda key: statistics.median(r["reference_s"] / r[key] for r in rounds)       # noqa: E731
    ref_s, lab_s = med("reference_s"), med("lab_s")
    out = {"device": torch.cuda.get_device_name() if cuda else f"cpu ({torch.get_num_threads()} threads)",
           "config": {**cfg, "steps": steps, "rounds": len(rounds)},
           "order": a.order, "reference_s": round(ref_s, 4), "lab_s": round(lab_s, 4),
           "ratio_reference_over_lab": round(ratio("lab_s"), 3),
           "ratios_per_round": [round(r["reference_s"] / r["lab_s"], 3) for r in rounds]}
    if a.partial_channels:
        k = a.partial_channels
        out.update({"partial_channels": k, "lab_pc_s": round(med("lab_pc_s"), 4),
                    "ratio_reference_over_lab_pc": round(ratio("lab_pc_s"), 3),
                    "activation_mb_lab": round(activation_mb(dev, **cfg), 1),
                    "activation_mb_lab_pc": round(activation_mb(dev, k=k, **cfg), 1)})
    if cuda:                                     # like for like: the lab in plain fp32 as well
        lab32 = lab_step_seconds(dev, steps=steps, order=a.order, amp=False, **cfg)
        out["lab_fp32_s"] = round(lab32, 4)
        out["ratio_reference_over_lab_fp32"] = round(ref_s / lab32, 3)
    if a.json:
        print(json.dumps(out))
    else:
        print(f"DARTS search step on {out['device']} ({cfg}, {steps} steps, lab order {a.order})")
        print(f"  reference (eager fp32): {ref_s:.4f} s/step")
        print(f"  lab{' (bf16 + channels_last)' if cuda else ''}: {lab_s:.4f} s/step")
        if cuda:
            print(f"  lab (fp32): {out['lab_fp32_s']:.4f} s/step")
        print(f"  ratio reference / lab: {out['ratio_reference_over_lab']:.3f} (> 1: the lab is faster; "
              f"median of {len(rounds)} paired rounds: {out['ratios_per_round']})")
        if a.partial_channels:
            print(f"  lab PC-DARTS K={out['partial_channels']}: {out['lab_pc_s']:.4f} s/step, ratio reference / lab "
                  f"{out['ratio_reference_over_lab_pc']:.3f}; activations saved for backward "
                  f"{out['activation_mb_lab']} MB plain, {out['activation_mb_lab_pc']} MB PC")
        print(json.dumps(out))


if __name__ == "__main__":
    main()
