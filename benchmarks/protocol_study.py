"""Choose the laptop benchmark's protocol by measurement (issue 10).

For each candidate protocol in ``bench.protocol.CANDIDATES``, train the same cells that the GPU `full`
setting already has records for (data/bench_build), with two seeds, and report

  (i)  the Kendall tau between the two seeds: the noise floor, how much of the ranking is signal;
  (ii) the Kendall tau against the GPU `full` records on the same cells: does the cheap protocol rank
       architectures as the bigger one does;
  (iii) seconds per cell on this CPU (one torch thread per worker).

Proxy candidates (one seed) are scored against the main candidates instead.

    python benchmarks/protocol_study.py --cells 200 --workers 2      # trains (resumable), then reports
    python benchmarks/protocol_study.py --report                      # report only
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nasbench_lab.bench.builder import build, read_records  # noqa: E402
from nasbench_lab.bench.protocol import CANDIDATES, get_protocol  # noqa: E402
from nasbench_lab.ranking import kendall_tau  # noqa: E402


def gpu_records(gpu_dir) -> dict[int, float]:
    """index -> final validation accuracy of the GPU `full` setting, seed 0."""
    return {r["index"]: r["val_curve"][-1] for r in read_records(gpu_dir)
            if r.get("setting") == "full" and r.get("seed") == 0}


def pick_cells(gpu: dict, n: int, seed: int = 0) -> list[int]:
    idx = sorted(gpu)
    return sorted(random.Random(seed).sample(idx, min(n, len(idx))))


def tau_on(a: dict, b: dict) -> tuple[float, int]:
    common = sorted(set(a) & set(b))
    if len(common) < 3:
        return float("nan"), len(common)
    return kendall_tau([a[i] for i in common], [b[i] for i in common]), len(common)


def report(out_dir, gpu: dict, cells: list[int]) -> dict:
    recs = read_records(out_dir)
    by = {}
    for r in recs:
        by.setdefault((r["setting"], r["seed"]), {})[r["index"]] = r
    rows = {}
    for name in CANDIDATES:
        proto = get_protocol(name)
        s0 = {i: r["val_curve"][-1] for i, r in by.get((name, 0), {}).items()}
        if not s0:
            continue
        s1 = {i: r["val_curve"][-1] for i, r in by.get((name, 1), {}).items()}
        secs = [r["seconds"] for r in by[(name, 0)].values()]
        row = {"cells": len(s0), "seconds_median": round(statistics.median(secs), 3),
               "seconds_mean": round(statistics.mean(secs), 3),
               "val_median": round(statistics.median(s0.values()), 2),
               "tau_vs_gpu_full": round(tau_on(s0, gpu)[0], 4)}
        if len(proto.seeds) > 1 and s1:
            row["tau_seed0_vs_seed1"] = round(tau_on(s0, s1)[0], 4)
            mean = {i: (s0[i] + s1[i]) / 2 for i in set(s0) & set(s1)}
            row["tau_mean_of_seeds_vs_gpu_full"] = round(tau_on(mean, gpu)[0], 4)
        else:          # a proxy: how well does it rank like each main candidate?
            for other in CANDIDATES:
                o = by.get((other, 0))
                if o and len(get_protocol(other).seeds) > 1:
                    row[f"tau_vs_{other}"] = round(tau_on(s0, {i: r["val_curve"][-1] for i, r in o.items()})[0], 4)
        rows[name] = row
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gpu-dir", default=str(ROOT / "data" / "bench_build"))
    ap.add_argument("--out", default=str(ROOT / "data" / "protocol_study"))
    ap.add_argument("--cells", type=int, default=200)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--candidates", default=",".join(CANDIDATES))
    ap.add_argument("--report", action="store_true", help="only report on what is trained")
    a = ap.parse_args(argv)
    gpu = gpu_records(a.gpu_dir)
    cells = pick_cells(gpu, a.cells)
    if not a.report:
        summary = build(a.out, settings=tuple(a.candidates.split(",")), device="cpu", workers=a.workers,
                        threads=1, indices=cells)
        print(json.dumps(summary), flush=True)
    print(json.dumps(report(a.out, gpu, cells), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
