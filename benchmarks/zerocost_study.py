"""Zero-cost proxies against the lab's tabular benchmark (issue 16).

Scores the canonical NB201 cells of the shipped table (all 6,466, or a fixed random subset) with every
proxy of ``nasbench_lab.zerocost``, on the table's ``laptop`` protocol (Fashion-MNIST at 16x16, skeleton
C=8, N=1; one batch of 64 training images; seed 0), records the seconds each proxy takes per cell, and
reports Spearman rho and Kendall tau of each proxy against

* the ``laptop`` test accuracy: seed 0, seed 1, and the mean of both (cells that have both seeds);
* the ``laptop-lowfi`` validation accuracy (the table's 1-epoch training proxy);
* the GPU ``full`` test accuracy (seed 0), on the cells that setting has;

side by side with the published figures: NAS-Bench-201 CIFAR-10, all 15,625 cells, Spearman with the
final test accuracy (Abdelfattah et al., ICLR 2021, Table 1), NASWOT's Kendall tau (Mellor et al., ICML
2021) and the #params baseline. Dataset, resolution, network size and training length all differ from
those papers (Fashion-MNIST 16x16, C=8 N=1, 2 epochs vs CIFAR-10 32x32, C=16 N=5, 200 epochs), so the
comparison is of the ordering of the proxies, not of the numbers.

    python benchmarks/zerocost_study.py --cells 100 --out /tmp/zc100.json     # a check, ~1 minute
    python benchmarks/zerocost_study.py                                        # all 6,466 cells
    python benchmarks/zerocost_study.py --report                               # summary of what is scored

Resumable: every scored cell is appended to a JSON-lines file (``--partial``, default
``data/zerocost_study/<out name>.partial.jsonl``) as it finishes, and a rerun skips the cells it holds;
the output JSON (per-cell scores, per-cell seconds, summary; no pickle) is rewritten at the end.
"""
from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._progress import ProgressFile, write_result  # noqa: E402
from nasbench_lab import zerocost as zc  # noqa: E402
from nasbench_lab.bench.table import BenchTable  # noqa: E402
from nasbench_lab.ranking import kendall_tau, spearman  # noqa: E402

DEFAULT_OUT = ROOT / "nasbench_lab" / "bench" / "data" / "zerocost_laptop.json"

PUBLISHED = zc.PUBLISHED


def _targets(table: BenchTable) -> dict[str, np.ndarray]:
    """name -> one ground-truth value per canonical cell (NaN where the table has none)."""
    s0, s1 = table.scores("laptop", "test_acc", seed=0), table.scores("laptop", "test_acc", seed=1)
    out = {"laptop test s0": s0, "laptop test s1": s1,
           "laptop test mean": np.where(np.isfinite(s0) & np.isfinite(s1), (s0 + s1) / 2, np.nan)}
    if "laptop-lowfi" in table.settings:
        out["lowfi val"] = table.scores("laptop-lowfi", "val_acc")
    if "full" in table.settings:
        out["GPU full test"] = table.scores("full", "test_acc", seed=0)
    return out


def _kendall(a, b) -> float:
    # Why scipy when present: ranking.kendall_tau is O(n^2) in memory (21 M pairs at 6,466 cells, about
    # 1 GB); scipy's tau-b is the same number (tests/test_ranking.py checks that) in O(n log n).
    try:
        from scipy.stats import kendalltau
        return float(kendalltau(a, b).statistic)
    except ImportError:
        return kendall_tau(a, b)


def _clean(v):
    return None if v is None or (isinstance(v, float) and not math.isfinite(v)) else v


def summarise(rows: list[dict], proxies: list[str], table: BenchTable) -> dict:
    """Per proxy: seconds per cell and rho/tau against every target, on the cells that have it."""
    idx = np.array([r["index"] for r in rows], dtype=int)
    targets = _targets(table)
    out = {"cells": len(rows), "proxies": {}, "reference": {}}
    for p in proxies:
        sc = np.array([r["scores"][p] for r in rows], dtype=float)
        secs = [r["seconds"][p] for r in rows]
        row = {"seconds_mean": statistics.mean(secs), "seconds_median": statistics.median(secs), "targets": {}}
        for name, truth in targets.items():
            t = truth[idx]
            ok = np.isfinite(t) & np.isfinite(sc)
            if ok.sum() >= 3:
                row["targets"][name] = {"n": int(ok.sum()), "spearman": _clean(spearman(sc[ok], t[ok])),
                                        "kendall": _clean(_kendall(sc[ok], t[ok]))}
        if p in PUBLISHED:
            kind, value, source = PUBLISHED[p]
            row["published"] = {"metric": kind, "value": value, "source": source}
        out["proxies"][p] = row
    # the lab's own yardsticks on the same cells: the training proxy and the seed-to-seed noise floor
    main = targets["laptop test mean"][idx]
    for name, other in (("lowfi val vs laptop test mean", targets.get("lowfi val")),
                        ("laptop test s0 vs s1", None)):
        a, b = (targets["laptop test s0"][idx], targets["laptop test s1"][idx]) if other is None else (other[idx], main)
        ok = np.isfinite(a) & np.isfinite(b)
        if ok.sum() >= 3:
            out["reference"][name] = {"n": int(ok.sum()), "spearman": _clean(spearman(a[ok], b[ok])),
                                      "kendall": _clean(_kendall(a[ok], b[ok]))}
    out["build_seconds_mean"] = statistics.mean(r["build_seconds"] for r in rows) if rows else None
    return out


def print_summary(s: dict, config: dict) -> None:
    targets = sorted({t for p in s["proxies"].values() for t in p["targets"]},
                     key=lambda t: list(_TARGET_ORDER).index(t) if t in _TARGET_ORDER else 99)
    print(f"\nZero-cost proxies on {s['cells']:,} NB201 cells of the lab's table ({config['dataset']} "
          f"{config['image_size']}x{config['image_size']}, skeleton {config['skeleton']}, batch "
          f"{config['batch_size']}, seed {config['seed']})")
    for metric in ("spearman", "kendall"):
        head = f"{'proxy':<10} {'ms/cell':>8} " + " ".join(f"{t:>16}" for t in targets)
        print(f"\n{metric.capitalize()} against ...")
        print(head + f"   published {metric} (NB201 CIFAR-10, all cells, final test acc)")
        for p, row in s["proxies"].items():
            cells = " ".join(f"{_fmt(row['targets'].get(t, {}).get(metric)):>16}" for t in targets)
            pub = row.get("published")
            pub_text = f"{pub['value']:.3f}  ({pub['source']})" if pub and pub["metric"] == metric else "-"
            print(f"{p:<10} {1000 * row['seconds_mean']:>8.1f} {cells}   {pub_text}")
        ns = {t: max((row['targets'].get(t, {}).get('n', 0) for row in s['proxies'].values()), default=0)
              for t in targets}
        print(f"{'(cells)':<10} {'':>8} " + " ".join(f"{ns[t]:>16}" for t in targets))
    print("\nYardsticks on the same cells:")
    for name, r in s["reference"].items():
        print(f"  {name:<32} spearman {_fmt(r['spearman'])}  kendall {_fmt(r['kendall'])}  (n={r['n']})")
    print(f"  batch + network build + parameter count: {1000 * (s['build_seconds_mean'] or 0):.1f} ms per cell "
          "(shared by all proxies)")
    print("\nNot the published setting: Fashion-MNIST at 16x16, C=8 N=1, 2 training epochs on 3,000 images "
          "(the laptop table) instead of CIFAR-10 32x32, C=16 N=5, 200 epochs; 6,466 canonical cells, not "
          "15,625. Compare the order of the proxies, not the numbers.")


_TARGET_ORDER = ("laptop test s0", "laptop test s1", "laptop test mean", "lowfi val", "GPU full test")


def _fmt(v) -> str:
    return "-" if v is None else f"{v:+.3f}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", type=int, default=None, help="a fixed random subset of this many cells (default: all)")
    ap.add_argument("--cell-seed", type=int, default=0, help="which subset --cells draws")
    ap.add_argument("--proxies", default=",".join(zc.PROXY_NAMES))
    ap.add_argument("--seed", type=int, default=0, help="network init and minibatch seed")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1: fastest for these tiny nets)")
    ap.add_argument("--table", default=None, help="benchmark table (.npz; default: the shipped one)")
    ap.add_argument("--out", default=str(DEFAULT_OUT))
    ap.add_argument("--partial", default=None, help="JSON-lines progress file (default under data/zerocost_study/)")
    ap.add_argument("--fresh", action="store_true", help="ignore (overwrite) the progress file")
    ap.add_argument("--report", action="store_true", help="summarise the progress file only; score nothing")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    proxies = zc.check_proxies(a.proxies.split(","))
    table = BenchTable(a.table)
    proto = table.protocol("laptop")
    config = {"dataset": proto.dataset, "image_size": proto.image_size, "skeleton": {"C": proto.C, "N": proto.N},
              "batch_size": a.batch_size, "seed": a.seed, "proxies": proxies}
    n = len(table.archs)
    cells = list(range(n)) if a.cells is None else sorted(random.Random(a.cell_seed).sample(range(n), min(a.cells, n)))
    out = Path(a.out)
    partial = Path(a.partial) if a.partial else ROOT / "data" / "zerocost_study" / f"{out.stem}.partial.jsonl"
    progress = ProgressFile(partial, config, fresh=a.fresh, hint="pass --fresh to start again or another --partial")
    done = progress.done
    todo = [i for i in cells if i not in done]
    if not a.report and todo:
        data = zc.load_data(proto.dataset, proto.image_size)
        space = table.space
        t0 = time.perf_counter()
        with progress.appending():
            for k, i in enumerate(todo):
                r = zc.score_all(space, space.from_str(table.archs[i]), proxies, data=data, seed=a.seed, batch_size=a.batch_size,
                                 image_size=proto.image_size, skeleton=config["skeleton"], device="cpu")
                progress.add({"index": i, "arch": str(r.arch), "scores": r.scores, "raw": r.raw, "seconds": r.seconds,
                              "build_seconds": r.build_seconds})
                if (k + 1) % 100 == 0 or k + 1 == len(todo):
                    el = time.perf_counter() - t0
                    print(f"{k + 1:,}/{len(todo):,} cells, {el:.0f} s, ~{el / (k + 1) * (len(todo) - k - 1):.0f} s "
                          "to go", file=sys.stderr, flush=True)
    rows = [done[i] for i in cells if i in done]
    if not rows:
        print("nothing scored yet", file=sys.stderr)
        return 1
    s = summarise(rows, proxies, table)
    print_summary(s, config)
    result = {"config": {**config, "table": str(table.path), "cells_requested": len(cells)},
              "summary": s,
              "cells": {"index": [r["index"] for r in rows], "arch": [r["arch"] for r in rows],
                        "scores": {p: [float(f"{r['scores'][p]:.9g}") for r in rows] for p in proxies},
                        "seconds": {p: [round(r["seconds"][p], 5) for r in rows] for p in proxies}}}
    write_result(out, result, f"{len(rows):,} cells")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
