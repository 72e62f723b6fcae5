"""Measure what the CIFAR-10 table lacks: the training cost and the latency of the NB201 CIFAR network.

    python benchmarks/cifar10_costs.py [--out benchmarks/results/cifar10_costs] [--sample 96]
                                       [--phase steps|latency|all] [--threads 1] [--report]

AnalogNAS-Bench (the lab's CIFAR-10 table) records accuracies but no training time and no latency.
Races need a simulated cost and hardware-aware objectives need a latency, so both are measured here,
on the network the table trained: NB201 skeleton C=16, N=5, 3x32x32 inputs, 10 classes.

* ``steps``: for a stratified random sample of canonical cells, the seconds of one SGD training step
  at batch 256 (the table's batch size): 2 warm-up steps, then the median of 3 timed ones. The
  estimator fits a cost model on these records (``nasbench_lab.bench.cifar10.fit_step_model``).
* ``latency``: batch-1 inference latency (median of ``--repeats`` forwards after 3 warm-ups, ms) of
  every one of the 6,466 canonical cells, the figure the laptop table has per cell too. (The shipped
  run used 15 repeats for the first cells and 5 for the rest, when the shared machine got slow; each
  record says how many.)

Why CPU time (``time.process_time``) and not wall-clock time: the first run of this script shared its
two cores with other work, and wall-clock steps of the same network grew 3-6x whenever the other core
got busy (a 6-conv cell: 4 s idle, 24 s shared), which no model can fit. With one torch thread the
process's CPU time is the work of the step itself, and a busy neighbour does not stretch it (memory
bandwidth still does a little). Wall-clock seconds are recorded beside it for comparison.

Both append one JSON line per cell to ``<out>/steps.jsonl`` / ``<out>/latency.jsonl`` and skip the
cells already there, so an interrupted run resumes where it stopped. ``--report`` fits the step model
and prints its form, coefficients and R^2. ``--ship`` writes the package file
``nasbench_lab/bench/data/nb201_cifar10_costs.json`` (step records, fitted model, latencies) that the
CIFAR-10 table reads; run it once both phases are complete.
"""
from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROOT = Path(__file__).resolve().parents[1]
BATCH = 256


def _done(path: Path) -> set[str]:
    if not path.exists():
        return set()
    out = set()
    for line in path.read_text().splitlines():
        try:
            out.add(json.loads(line)["arch"])
        except (ValueError, KeyError):
            continue                                   # a line cut by an interruption: measured again
    return out


def _sample(unique, n: int, seed: int = 0) -> list:
    """Stratified by the number of 3x3 and 1x1 convs (what drives the cost), then random within."""
    from nasbench_lab.bench.cifar10 import op_counts
    rng = random.Random(seed)
    strata: dict = {}
    for a in unique:
        c = op_counts(a)
        strata.setdefault((c["nor_conv_3x3"], c["nor_conv_1x1"]), []).append(a)
    keys = sorted(strata)
    picked: list = []
    while len(picked) < n and any(strata.values()):
        for k in keys:
            if strata[k] and len(picked) < n:
                picked.append(strata[k].pop(rng.randrange(len(strata[k]))))
    return picked


def measure_steps(space, archs, out: Path) -> None:
    import torch
    import torch.nn.functional as F
    done = _done(out)
    x = torch.randn(BATCH, 3, 32, 32)
    y = torch.randint(0, 10, (BATCH,))
    for a in archs:
        if str(a) in done:
            continue
        torch.manual_seed(0)
        model = space.build(a, in_channels=3, num_classes=10, C=16, N=5)
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
        cpu, wall = [], []
        for k in range(5):
            t, c = time.perf_counter(), time.process_time()
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(x), y).backward()
            opt.step()
            cpu.append(time.process_time() - c)
            wall.append(time.perf_counter() - t)
        rec = {"arch": str(a), "step_s": statistics.median(cpu[2:]), "cpu_s": cpu, "wall_s": wall, "batch": BATCH,
               "clock": "process_time"}
        with out.open("a") as f:
            f.write(json.dumps(rec) + "\n")


WARMUP = 3


def measure_latency(space, archs, out: Path, repeats: int = 15) -> None:
    """Batch-1 forward of the eval-mode network, CPU time of one thread (see the module text)."""
    import torch
    done = _done(out)
    x = torch.randn(1, 3, 32, 32)
    for a in archs:
        if str(a) in done:
            continue
        torch.manual_seed(0)
        model = space.build(a, in_channels=3, num_classes=10, C=16, N=5).eval()
        times = []
        with torch.inference_mode():
            for k in range(WARMUP + repeats):
                c = time.process_time()
                model(x)
                if k >= WARMUP:
                    times.append(time.process_time() - c)
        with out.open("a") as f:
            f.write(json.dumps({"arch": str(a), "latency_ms": 1000 * statistics.median(times),
                                "clock": "process_time", "repeats": repeats}) + "\n")


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _read(path: Path) -> list[dict]:
    out = []
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "cifar10_costs"))
    ap.add_argument("--sample", type=int, default=96, help="cells whose training step is timed")
    ap.add_argument("--phase", choices=("steps", "latency", "all"), default="all")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=15, help="timed forwards per cell for the latency (median)")
    ap.add_argument("--report", action="store_true", help="fit and print the step model, measure nothing")
    ap.add_argument("--ship", action="store_true", help="write the package's cost file from the records")
    a = ap.parse_args(argv)
    import torch
    from nasbench_lab.bench import cifar10
    from nasbench_lab.spaces import get_space
    torch.set_num_threads(a.threads)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    space = get_space("nb201")
    unique = space.unique()
    if a.report or a.ship:
        steps = _read(out / "steps.jsonl")
        model = cifar10.fit_step_model(steps)
        print(json.dumps(model, indent=1))
        if a.ship:
            got = {r["arch"]: r["latency_ms"] for r in _read(out / "latency.jsonl")}
            # a list in NB201Space.unique() order (the key of both tables' rows), not a dict keyed by
            # 6,466 strings: 50 KB instead of 600 KB in the package
            lat = [round(got[str(a)], 3) if str(a) in got else None for a in unique]
            doc = {"network": "NB201 C=16 N=5, 3x32x32, 10 classes", "batch": BATCH,
                   "machine": f"{_cpu_name()}, torch {torch.__version__}, {a.threads} thread(s), CPU time",
                   "measured": time.strftime("%Y-%m-%d"), "command": "python benchmarks/cifar10_costs.py",
                   "step_model": model, "steps": steps, "latency_order": "NB201Space.unique()",
                   "latency": "batch-1 forward of the eval-mode network, median CPU time of 5 to 15 forwards "
                              "on one thread (ms)", "latency_ms": lat}
            path = cifar10.costs_path()
            path.write_text(json.dumps(doc, separators=(",", ":")))
            print(f"wrote {path} ({len(steps)} timed cells, {sum(v is not None for v in lat)} latencies)")
        return 0
    if a.phase in ("steps", "all"):
        measure_steps(space, _sample(unique, a.sample), out / "steps.jsonl")
    if a.phase in ("latency", "all"):
        measure_latency(space, unique, out / "latency.jsonl", a.repeats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
