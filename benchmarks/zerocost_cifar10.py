"""Zero-cost proxies on the real NB201 CIFAR network against the CIFAR-10 truth (issue 28, notebook 09).

    python benchmarks/zerocost_cifar10.py [--cells 1000] [--batch fmnist|noise] [--report]
                                          [--out nasbench_lab/bench/data/zerocost_cifar10.json]

Every proxy of ``nasbench_lab.zerocost`` scores canonical NB201 cells on the network the CIFAR-10 table
trained (skeleton C=16, N=5, 3x32x32 inputs, 10 classes), one seeded initialisation and one fixed
batch of 64 images per cell, and is compared (Spearman rho, Kendall tau) with the cell's CIFAR-10
truth (mean test accuracy of its isomorphic trainings, AnalogNAS-Bench, 200 epochs), beside the
published figures on NB201 CIFAR-10 (Abdelfattah et al., ICLR 2021, Table 1; Mellor et al., ICML
2021 for NASWOT) and the #params baseline.

Which batch the data-dependent proxies see: CIFAR-10 images are not on this machine (the lab's course
runs offline), so ``--batch fmnist`` (the shipped study) feeds 64 Fashion-MNIST training images
resized to 32x32 with the grey channel repeated three times (natural-image statistics, the right
shape, the wrong task), and ``--batch noise`` 64 standard-normal 3x32x32 images with random labels (no
data at all). The notebook shows both on the same cells: what changes with the batch is measured, not
assumed. Data-free proxies (synflow, #params, FLOPs) do not change.

The cells are a fixed random order of the 6,466 canonical cells (``sample_order``), scored in that
order, so whatever has been scored at any moment is itself a random sample; ``--cells N`` plans the
first N (a larger N later extends the same study), and ``--limit N`` (the noise batch's check) scores
the first N of the same cells.
Resumable: each scored cell is appended to ``<out>.partial.jsonl`` as it finishes; a rerun skips what
it holds. ``--report`` summarises and writes the output JSON from what is there.
"""
from __future__ import annotations

import argparse
import dataclasses
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._progress import ProgressFile, write_result  # noqa: E402
from nasbench_lab import zerocost as zc  # noqa: E402
from nasbench_lab.data import Splits  # noqa: E402
from nasbench_lab.spaces import get_space  # noqa: E402

DEFAULT_OUT = ROOT / "nasbench_lab" / "bench" / "data" / "zerocost_cifar10.json"
SKELETON = {"C": 16, "N": 5}
BATCH = 64
BATCH_SOURCES = {"fmnist": "64 Fashion-MNIST training images resized to 32x32, grey channel repeated x3",
                 "noise": "64 standard-normal 3x32x32 images, random labels"}
PUBLISHED = zc.PUBLISHED                  # Abdelfattah et al. 2021, Mellor et al. 2021, #params


def cifar_shaped_batch(kind: str, seed: int = 0) -> Splits:
    """A Splits whose training split is the one batch every cell is scored on (3x32x32, 10 classes)."""
    g = torch.Generator().manual_seed(seed)
    if kind == "noise":
        x = torch.randn(BATCH, 3, 32, 32, generator=g)
        y = torch.randint(0, 10, (BATCH,), generator=g)
        source = BATCH_SOURCES["noise"]
    else:
        fm = zc.load_data("fashion-mnist", 32)
        idx = torch.randperm(len(fm.train_y), generator=g)[:BATCH]
        x = fm.train_x[idx].repeat(1, 3, 1, 1).contiguous()        # grey to three equal channels
        y = fm.train_y[idx]
        source = BATCH_SOURCES["fmnist"]
    info = dataclasses.replace(zc.load_data("synthetic", 16).info, name=f"cifar-shaped {kind}", in_channels=3,
                               image_size=32, num_classes=10)
    empty = x[:0]
    return Splits(info, x, y, empty, y[:0], empty, y[:0], source=source)


def _truth():
    from nasbench_lab.bench.cifar10 import Cifar10Table
    return Cifar10Table().scores("test_acc")


def summarise(rows: list[dict], proxies: list[str]) -> dict:
    from scipy.stats import kendalltau, spearmanr
    truth = _truth()
    y = np.array([truth[r["index"]] for r in rows])
    out = {}
    for p in proxies:
        x = np.array([r["scores"][p] for r in rows], float)
        ok = np.isfinite(x) & np.isfinite(y)
        pub = PUBLISHED.get(p)
        out[p] = {"spearman": float(spearmanr(x[ok], y[ok]).statistic), "kendall": float(kendalltau(x[ok], y[ok]).statistic),
                  "cells": int(ok.sum()), "seconds_median": float(np.median([r["seconds"][p] for r in rows])),
                  "published": None if pub is None else {"metric": pub[0], "value": pub[1], "source": pub[2]}}
    return out


FIRST = 1000
"""The first sample, drawn alone (seed 0) before the study was extended; its order is kept."""


def sample_order(n: int) -> list[int]:
    """Every cell once, in the order the study scores them: the first 1,000-cell sample, then the other
    cells in a random order of their own (seed 1). Why two draws: the first sample was drawn (and scored)
    as ``random.Random(0).sample(range(n), 1000)``, which is not a prefix of a longer draw; appending a
    random order of the rest keeps every prefix a uniform random sample, so a study stopped anywhere
    still is one, and the first 1,000 cells' scores stay valid."""
    first = random.Random(0).sample(range(n), min(FIRST, n))
    rest = sorted(set(range(n)) - set(first))
    random.Random(1).shuffle(rest)
    return first + rest


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", type=int, default=1000, help="size of the sample (6466: every cell)")
    ap.add_argument("--limit", type=int, default=None, help="score only the first N cells of the sample")
    ap.add_argument("--batch", choices=("fmnist", "noise"), default="fmnist")
    ap.add_argument("--proxies", default=",".join(zc.PROXY_NAMES))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None)
    ap.add_argument("--report", action="store_true")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    proxies = zc.check_proxies(a.proxies.split(","))
    out = Path(a.out) if a.out else DEFAULT_OUT.with_name(f"zerocost_cifar10_{a.batch}.json")
    partial = ROOT / "data" / "zerocost_study" / f"{out.stem}.partial.jsonl"
    space = get_space("nb201")
    unique = space.unique()
    cells = sample_order(len(unique))[:min(a.cells, len(unique))][:a.limit]
    config = {"network": "NB201 C=16 N=5, 3x32x32, 10 classes", "batch": a.batch, "batch_size": BATCH, "seed": 0,
              "proxies": proxies, "cells": a.cells}
    progress = ProgressFile(partial, config, ignore=("cells",))       # a longer plan extends the same order
    done = progress.done
    todo = [i for i in cells if i not in done]
    if not a.report and todo:
        data = cifar_shaped_batch(a.batch)
        t0 = time.perf_counter()
        with progress.appending():
            for k, i in enumerate(todo):
                r = zc.score_all(space, unique[i], proxies, data=data, seed=0, batch_size=BATCH, image_size=None,
                                 skeleton=SKELETON, device="cpu")
                progress.add({"index": i, "arch": str(r.arch), "scores": r.scores, "seconds": r.seconds})
                if (k + 1) % 50 == 0:
                    el = time.perf_counter() - t0
                    print(f"{k + 1}/{len(todo)} cells, {el:.0f} s, ~{el / (k + 1) * (len(todo) - k - 1):.0f} s to go",
                          file=sys.stderr, flush=True)
    rows = [done[i] for i in cells if i in done]
    if not rows:
        print("nothing scored yet", file=sys.stderr)
        return 1
    s = summarise(rows, proxies)
    for p, v in s.items():
        pub = v["published"]
        paper = "-" if pub is None else "{metric} {value:.2f} ({source})".format(**pub)
        print(f"{p:<10} spearman {v['spearman']:+.3f}  kendall {v['kendall']:+.3f}  ({v['cells']} cells, "
              f"{v['seconds_median'] * 1000:.0f} ms)  published: {paper}")
    result = {"config": {**config, "batch_source": BATCH_SOURCES[a.batch], "cells_scored": len(rows)},
              "summary": s,
              "cells": {"index": [r["index"] for r in rows], "arch": [r["arch"] for r in rows],
                        "scores": {p: [float(f"{r['scores'][p]:.9g}") for r in rows] for p in proxies}}}
    write_result(out, result, f"{len(rows)} cells")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
