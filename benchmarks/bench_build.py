"""Throughput of the benchmark builder against the eager reference, same run, same device.

    python benchmarks/bench_build.py --device cuda --tasks 256 --workers 4 --threads 4 [--json]

The builder trains many NB201 cells at once (CUDA-graph steps, several threads on their own streams,
several processes; see nasbench_lab/bench/builder.py). It counts *training* images only, while its
wall time also holds model construction, validation every epoch and the final test: a conservative
figure. The reference is `nb201_images_per_second` of shared/bench/reference.py: one eager fp32
process, batch 256, on (a) the all-3x3 cell and (b) the same sampled cells as the builder. Ratio > 1
means the builder is faster.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._reference import load_reference  # noqa: E402
from nasbench_lab.bench import builder  # noqa: E402
from nasbench_lab.spaces.nb201 import NB201Space  # noqa: E402
from nasbench_lab.train import resolve_device  # noqa: E402


def reference_figures(ref, dev, sample_archs, steps):
    all3 = ref.nb201_images_per_second(dev, steps=steps)
    per = []
    for a in sample_archs:
        per.append(ref.nb201_images_per_second(dev, ops=tuple(a.ops), steps=steps))
    harmonic = len(per) / sum(1 / p for p in per) if per else None     # time-weighted mean over cells
    return all3, harmonic


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="auto")
    ap.add_argument("--setting", default="full")
    ap.add_argument("--tasks", type=int, default=64)
    ap.add_argument("--offset", type=int, default=0, help="first cell of the strided sample")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", help="build folder (default: a temporary one); records count toward a build there")
    ap.add_argument("--data-root")
    ap.add_argument("--reference")
    ap.add_argument("--ref-archs", type=int, default=8, help="sampled cells the reference also trains")
    ap.add_argument("--ref-steps", type=int, default=None)
    ap.add_argument("--skip-reference", action="store_true")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    dev = resolve_device(a.device)
    out = a.out or tempfile.mkdtemp(prefix="bench_build_")
    space = NB201Space()
    unique = space.unique()
    rng = random.Random(0)
    sample = [unique[i] for i in rng.sample(range(len(unique)), a.ref_archs)]
    res = {"device": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu", "setting": a.setting,
           "workers": a.workers, "threads": a.threads}
    if not a.skip_reference:
        ref = load_reference(a.reference)
        steps = a.ref_steps or (60 if dev.type == "cuda" else 3)
        all3, sampled = reference_figures(ref, dev, sample, steps)
        res.update(reference_all3x3_img_per_s=round(all3, 1), reference_sampled_img_per_s=round(sampled, 1))
    # Build a strided sample of the cells not yet built in ``out`` (every k-th one) so the mix of cells is
    # representative, and a resumed build folder still gives ``--tasks`` tasks to time.
    done = builder.done_tasks(out)
    pending = sorted({t[2] for t in builder.task_list((a.setting,)) if t not in done})
    stride = max(1, len(pending) // max(1, a.tasks))
    summary = builder.build(out, settings=(a.setting,), start=0, end=None, device=str(dev), workers=a.workers,
                            threads=a.threads, data_root=a.data_root, limit=a.tasks,
                            indices=pending[a.offset % stride::stride][:a.tasks])
    res.update(build=summary, records_before=len(done), out=out)
    if not a.skip_reference and summary.get("train_images_per_s"):
        res["ratio_vs_reference_all3x3"] = round(summary["train_images_per_s"] / res["reference_all3x3_img_per_s"], 3)
        res["ratio_vs_reference_sampled"] = round(summary["train_images_per_s"] / res["reference_sampled_img_per_s"], 3)
    if a.json:
        print(json.dumps(res))
    else:
        print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
