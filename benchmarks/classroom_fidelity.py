"""Does the classroom fidelity separate good NB201 cells from bad ones, in ~10 s per cell on a laptop CPU?

    python benchmarks/classroom_fidelity.py [--dataset fashion-mnist] [--device cpu] [--seeds 0]

Trains the nb201 reference cells (and a few random ones) with the `train` estimator's default fidelity
(NB201 C=8, N=1; 2 epochs over 4,000 Fashion-MNIST images; batch 128) and prints validation / test
accuracy and seconds per cell. Expected ordering (NB201 paper and ANCHORS): conv-heavy cells >
the ResNet-like cell > all-skip (the DARTS collapse cell) >> the empty cell (chance, 10 %).
"""
from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from nasbench_lab.estimators import get_estimator  # noqa: E402
from nasbench_lab.spaces import get_space  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="fashion-mnist")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--random", type=int, default=3, help="random cells added to the references")
    a = ap.parse_args(argv)
    space = get_space("nb201")
    est = get_estimator("train", dataset=a.dataset, device=a.device, download=False)
    cells = [(n, space.reference(n)) for n in ("best_cifar10", "all_conv3x3", "resnet", "all_skip", "empty")]
    rng = random.Random(0)
    cells += [(f"random{i}", space.sample(rng)) for i in range(a.random)]
    rows = []
    for seed in (int(s) for s in a.seeds.split(",")):
        for name, arch in cells:
            ev = est.evaluate(space, arch, seed=seed)
            rows.append({"cell": name, "seed": seed, "arch": str(ev.arch), "val_acc": ev.val_acc, "test_acc": ev.test_acc,
                         "seconds": round(ev.cost, 2), "params": ev.metrics["params"]})
            print(json.dumps(rows[-1]), flush=True)
    secs = [r["seconds"] for r in rows]
    print(json.dumps({"summary": {"threads": torch.get_num_threads(), "median_seconds": sorted(secs)[len(secs) // 2],
                                  "max_seconds": max(secs)}}))


if __name__ == "__main__":
    main()
