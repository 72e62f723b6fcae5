"""The lab's DARTS search step against the eager reference, same run, same device.

    python benchmarks/darts_step.py [--device cpu|cuda] [--steps N] [--order 1|2] [--reference PATH] [--json]

One step = an alpha step on a validation batch, then a weight step on a training batch (first order,
as ``darts_step_seconds`` in shared/bench/reference.py). Both sides build the DARTS search network at
the same size and time the same number of steps after 3 warm-up steps, on random data already on the
device. On CUDA the size is the reference configuration (C=16, 8 cells, batch 64, 32x32x3) and the lab
runs as it trains (bf16 autocast + channels_last; also reported in fp32); on the CPU a small
configuration (C=8, 5 cells, batch 16), because one reference-size step takes ~17 s on 2 cores.
Prints seconds per step for both and the ratio reference / lab (> 1: the lab is faster).
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from nasbench_lab.oneshot import Precision  # noqa: E402
from nasbench_lab.spaces import get_space  # noqa: E402
from nasbench_lab.strategies.darts import Bilevel, DartsConfig  # noqa: E402
from nasbench_lab.train import resolve_device  # noqa: E402

REFERENCE_CANDIDATES = [Path(__file__).resolve().parents[2] / "shared" / "bench" / "reference.py",
                        Path(__file__).resolve().parents[1] / "shared" / "bench" / "reference.py",
                        Path(__file__).resolve().parents[1] / ".gpu" / "reference.py"]


def load_reference(path=None):
    for p in ([Path(path)] if path else REFERENCE_CANDIDATES):
        if p.is_file():
            spec = importlib.util.spec_from_file_location("darts_reference", str(p))
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
            return mod
    raise SystemExit(f"reference.py not found (looked at {', '.join(map(str, REFERENCE_CANDIDATES))}); "
                     "pass --reference PATH")


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def lab_step_seconds(device, steps=20, batch=64, C=16, layers=8, image=(3, 32, 32), order=1, amp=None) -> float:
    """Seconds per lab DARTS search step (``strategies.darts.Bilevel.step``), data on the device."""
    torch.manual_seed(0)
    prec = Precision.for_device(device, amp)
    net = prec.model(get_space("darts").supernet(in_channels=image[0], num_classes=10, C=C, layers=layers))
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
    ap.add_argument("--C", type=int, default=None)
    ap.add_argument("--layers", type=int, default=None)
    ap.add_argument("--batch", type=int, default=None)
    ap.add_argument("--reference", help="path of shared/bench/reference.py")
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
    ref_s = ref.darts_step_seconds(dev, steps=steps, **cfg)
    lab_s = lab_step_seconds(dev, steps=steps, order=a.order, **cfg)
    out = {"device": torch.cuda.get_device_name() if cuda else f"cpu ({torch.get_num_threads()} threads)",
           "config": {**cfg, "steps": steps},
           "order": a.order, "reference_s": round(ref_s, 4), "lab_s": round(lab_s, 4),
           "ratio_reference_over_lab": round(ref_s / lab_s, 3)}
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
        print(f"  ratio reference / lab: {out['ratio_reference_over_lab']:.3f} (> 1: the lab is faster)")
        print(json.dumps(out))


if __name__ == "__main__":
    main()
