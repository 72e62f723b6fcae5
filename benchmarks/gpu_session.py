"""Everything the lab measures on a lent GPU, in one time-boxed run (the device time is short and shared).

    python benchmarks/gpu_session.py --out OUTDIR --seconds 560 --data-root .gpu/data

Phases, each a subprocess with its own timeout, results appended to OUTDIR/results.jsonl:
1. environment (GPU name, torch version);
2. train_throughput.py: the lab's training loop vs the eager reference (issue: core);
3. probes of the builder's process x thread layout (their records count toward the build);
4. the benchmark table build (full + lowfi settings, 2 seeds) with the best layout, until its deadline;
5. batch-1 latency of every cell, alone on the GPU;
6. one-shot checks: darts_step.py and oneshot_gpu_check.py (when present);
7. OUTDIR/build.tgz with the shard files, to merge into the shipped table on the developer machine.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--seconds", type=float, default=560)
    ap.add_argument("--data-root", default=".gpu/data")
    ap.add_argument("--build-dir", default="/tmp/nb201_build")
    ap.add_argument("--skip-build", action="store_true")
    ap.add_argument("--device", default="cuda", help="cpu for a dry run of the script itself")
    ap.add_argument("--settings", default="full,lowfi")
    ap.add_argument("--probe-setting", default="full")
    ap.add_argument("--reserve", type=float, default=170, help="seconds kept after the build for later phases")
    ap.add_argument("--layouts", default="4x4,8x2", help="workers x threads layouts to probe")
    ap.add_argument("--no-oneshot", action="store_true")
    ap.add_argument("--skip-latency", action="store_true")
    a = ap.parse_args()
    t_end = time.time() + a.seconds
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    log = open(out / "log.txt", "a")
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")

    def note(kind, **payload):
        payload.update(phase=kind, t=round(time.time() - (t_end - a.seconds), 1))
        with open(out / "results.jsonl", "a") as f:
            f.write(json.dumps(payload) + "\n")
        print(json.dumps(payload), flush=True)

    def run(kind, args, timeout):
        timeout = max(5, min(timeout, t_end - time.time() - 5))
        t = time.time()
        # Why a new session: the builder spawns worker processes; on a timeout the whole group must go,
        # or orphaned workers would keep the GPU busy during the next phases.
        proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
            p = subprocess.CompletedProcess(args, proc.returncode, stdout, stderr)
            log.write(f"=== {kind} rc={p.returncode}\n{p.stdout}\n{p.stderr[-4000:]}\n")
            log.flush()
            last = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
            result = json.loads(last[-1]) if last else None
            note(kind, rc=p.returncode, seconds=round(time.time() - t, 1), result=result,
                 stderr=p.stderr[-600:] if p.returncode else "")
            return result
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            stdout, stderr = proc.communicate()
            log.write(f"=== {kind} TIMEOUT after {timeout:.0f}s\n{stdout}\n{stderr[-4000:]}\n")
            note(kind, rc="timeout", seconds=round(time.time() - t, 1))
            return None

    import torch
    note("env", torch=torch.__version__, cuda=torch.version.cuda,
         gpu=torch.cuda.get_device_name() if torch.cuda.is_available() else None, cpus=os.cpu_count())
    dev = a.device
    settings = tuple(a.settings.split(","))
    run("train_throughput", ["benchmarks/train_throughput.py", "--device", dev, "--json"], 90)

    bdir = a.build_dir
    common = ["benchmarks/bench_build.py", "--device", dev, "--out", bdir, "--data-root", a.data_root, "--json",
              "--setting", a.probe_setting]
    layouts = [tuple(int(v) for v in x.split("x")) for x in a.layouts.split(",")]
    best, best_ips = (8, 2), 0.0
    for i, (w, th) in enumerate(layouts):
        extra = [] if i == 0 else ["--skip-reference"]
        r = run(f"probe_w{w}_t{th}", common + ["--workers", str(w), "--threads", str(th), "--offset", str(i),
                                               "--tasks", str(8 * w * th)] + extra, 120)
        ips = ((r or {}).get("build") or {}).get("train_images_per_s") or 0.0
        if ips > best_ips:
            best, best_ips = (w, th), ips
    note("layout", workers=best[0], threads=best[1], train_images_per_s=best_ips)

    if not a.skip_build:
        budget = t_end - time.time() - a.reserve    # leave time for latency (+ one-shot checks) + packing
        if budget > 30:
            code = ("import json,sys; from nasbench_lab.bench import builder; "
                    f"print(json.dumps(builder.build({bdir!r}, settings={settings!r}, device={dev!r}, "
                    f"workers={best[0]}, threads={best[1]}, time_limit={budget:.0f}, data_root={a.data_root!r})))")
            run("build", ["-c", code], budget + 60)
        lat = ("import json; from nasbench_lab.bench import builder; "
               f"print(json.dumps({{'latencies': builder.measure_latencies({bdir!r}, {settings[0]!r}, {dev!r}, "
               f"time_limit=45)}}))")
        if not a.skip_latency:
            run("latency", ["-c", lat], 70)

    if a.no_oneshot:
        pass
    elif (ROOT / "benchmarks" / "darts_step.py").exists():
        run("darts_step", ["benchmarks/darts_step.py", "--device", dev, "--steps", "10" if dev == "cuda" else "1",
                        "--json"], 80)
    if not a.no_oneshot and (ROOT / "benchmarks" / "oneshot_gpu_check.py").exists():
        run("oneshot_gpu_check", ["benchmarks/oneshot_gpu_check.py", "--device", dev] + ([] if dev == "cuda" else ["--tiny"]),
            max(10, t_end - time.time() - 20))

    with tarfile.open(out / "build.tgz", "w:gz") as tar:
        for p in Path(bdir).glob("*"):
            tar.add(p, arcname=p.name)
    note("done", seconds_left=round(t_end - time.time(), 1))


if __name__ == "__main__":
    main()
