"""Training throughput of the lab's one training loop against the eager reference, same run, same device.

    python benchmarks/train_throughput.py [--device cpu|cuda] [--steps 50] [--json]

Both train the NB201 network (C=16, N=1, all nor_conv_3x3 cell) on 28x28x1 data at batch 256 with
SGD-Nesterov; data already on the device. The reference is plain eager fp32 (shared/bench/reference.py,
`nb201_images_per_second`); the lab uses train.py as every estimator does (on CUDA: bf16 autocast,
channels_last and a captured CUDA graph; on the CPU: fp32, channels_last, a shared ReLU per node).
Prints images/s for both and the median over paired rounds of the ratio lab / reference (> 1 means the
lab is faster).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._reference import load_reference  # noqa: E402
from nasbench_lab.data import DATASETS, Splits  # noqa: E402
from nasbench_lab.spaces import get_space  # noqa: E402
from nasbench_lab.train import TrainConfig, resolve_device, train_model  # noqa: E402


def lab_images_per_second(device, ops="all_conv3x3", C=16, N=1, batch=256, steps=50, repeats=2) -> float:
    torch.manual_seed(0)
    space = get_space("nb201")
    n = 4096
    x = torch.randn(n, 1, 28, 28, device=device)
    y = torch.randint(0, 10, (n,), device=device)
    empty = x[:0], y[:0]
    data = Splits(DATASETS["fashion-mnist"], x, y, *empty, *empty, source="random")
    cfg = TrainConfig(epochs=max(1, -(-steps // (n // batch))), batch_size=batch, max_steps=steps,
                      val_subset=None, test_subset=0, grad_clip=None)   # the val split is empty: no evaluation
    best = 0.0
    for _ in range(repeats):                       # first repeat warms up cuDNN / the allocator
        model = space.build(space.reference(ops), 1, 10, C=C, N=N)
        if device.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        res = train_model(model, data, cfg)
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = max(best, res.steps * batch / (time.perf_counter() - t))
    return best


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="auto")
    ap.add_argument("--steps", type=int, default=None, help="timed steps (default 20 on CPU, 150 on CUDA)")
    ap.add_argument("--reference", help="path of shared/bench/reference.py")
    ap.add_argument("--rounds", type=int, default=3, help="paired reference/lab rounds (median ratio)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    dev = resolve_device(a.device)
    steps = a.steps or (150 if dev.type == "cuda" else 20)
    if dev.type == "cpu":
        torch.set_num_threads(torch.get_num_threads())
    ref = load_reference(a.reference)
    # Why paired rounds: these machines are noisy; each round measures the reference and the lab back to
    # back, and the median of the per-round ratios is far steadier than one ratio of two long runs.
    rounds = []
    for _ in range(a.rounds):
        r = ref.nb201_images_per_second(dev, steps=steps)
        lab = lab_images_per_second(dev, steps=steps)
        rounds.append((r, lab))
    ratios = sorted(lab / r for r, lab in rounds)
    med = lambda v: sorted(v)[len(v) // 2]  # noqa: E731
    out = {"device": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
           "threads": torch.get_num_threads(), "steps": steps, "rounds": a.rounds,
           "reference_img_per_s": round(med([r for r, _ in rounds]), 1),
           "lab_img_per_s": round(med([lab for _, lab in rounds]), 1),
           "ratio": round(med(ratios), 3), "ratios": [round(x, 3) for x in ratios]}
    if a.json:
        print(json.dumps(out))
    else:
        print(f"{out['device']}: reference {out['reference_img_per_s']:,.0f} img/s, lab {out['lab_img_per_s']:,.0f} "
              f"img/s, ratio {out['ratio']:.2f}x")


if __name__ == "__main__":
    main()
