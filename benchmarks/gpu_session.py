"""Everything the lab measures on a lent GPU, in one time-boxed run (the device time is short and shared).

    python benchmarks/gpu_session.py --out OUTDIR --seconds 560 --data-root .gpu/data

On the device machine, with Fashion-MNIST's four idx .gz files copied to .gpu/data here first (31 MB;
carry ".gpu"), give `run` the command
``python benchmarks/gpu_session.py --out $OUT --seconds 500 --data-root .gpu/data`` and carry=[".gpu"].

Phases, each a subprocess with its own timeout, results appended to OUTDIR/results.jsonl, in order of
what is missing most:
1. environment (GPU name, torch version);
2. darts_step.py at the reference configuration: the lab's DARTS step against the eager reference, 3
   paired rounds, also with PC-DARTS' partial channels (issue 14's 10x target);
3. train_throughput.py: the lab's training loop vs the eager reference;
4. probes of the builder's process x thread layout (bench_build.py against the reference; their
   records count toward the build);
5. the benchmark table build (full + lowfi settings, 2 seeds) with the best layout, until its deadline.
   It continues the committed GPU build: the build folder starts with data/bench_build's shards, so
   the cells they hold are not trained again;
6. batch-1 latency of every cell, alone on the GPU;
7. one-shot checks (oneshot_gpu_check.py, when present);
8. OUTDIR/build.tgz with the shard files this run wrote (not the committed ones), to unpack into
   data/bench_build and merge into the shipped table on the developer machine.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--seconds", type=float, default=560)
    ap.add_argument("--data-root", default=".gpu/data")
    ap.add_argument("--build-dir", default="/tmp/nb201_build")
    ap.add_argument("--resume-from", default=str(ROOT / "data" / "bench_build"),
                    help="a committed build folder whose shards the build continues ('' for none)")
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
    if not a.no_oneshot:
        # on CUDA darts_step's default size is the reference configuration (C=16, 8 cells, batch 64)
        run("darts_step", ["benchmarks/darts_step.py", "--device", dev, "--steps", "20" if dev == "cuda" else "1",
                           "--rounds", "3" if dev == "cuda" else "1", "--partial-channels", "4", "--json"], 200)
    run("train_throughput", ["benchmarks/train_throughput.py", "--device", dev, "--json"], 90)

    bdir = a.build_dir
    seeded = seed_build(Path(bdir), Path(a.resume_from) if a.resume_from else None)
    note("resume", shards=len(seeded), records=len(builder_done(bdir)))
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

    if not a.no_oneshot and (ROOT / "benchmarks" / "oneshot_gpu_check.py").exists():
        run("oneshot_gpu_check", ["benchmarks/oneshot_gpu_check.py", "--device", dev] + ([] if dev == "cuda" else ["--tiny"]),
            max(10, t_end - time.time() - 20))

    packed = pack_new(Path(bdir), seeded, out / "build.tgz")
    note("done", seconds_left=round(t_end - time.time(), 1), packed=packed)


def builder_done(bdir) -> set:
    # imported here, not at the top: the session's own process stays light
    from nasbench_lab.bench import builder
    return builder.done_tasks(bdir)


def seed_build(bdir: Path, committed: Path | None) -> set[str]:
    """Copy the committed build's shards into ``bdir`` (the builder skips the tasks they hold, and names
    its new shards after the existing ones); returns the names copied."""
    bdir.mkdir(parents=True, exist_ok=True)
    names = set()
    for p in sorted(committed.glob("shard-*.jsonl")) if committed and committed.is_dir() else []:
        if not (bdir / p.name).exists():
            shutil.copyfile(p, bdir / p.name)
        names.add(p.name)
    return names


def pack_new(bdir: Path, seeded: set[str], tgz: Path) -> list[str]:
    """Write ``tgz`` with the files of ``bdir`` that did not come from the committed build."""
    files = sorted(p for p in bdir.glob("*") if p.is_file() and p.name not in seeded)
    with tarfile.open(tgz, "w:gz") as tar:
        for p in files:
            tar.add(p, arcname=p.name)
    return [p.name for p in files]


if __name__ == "__main__":
    main()
