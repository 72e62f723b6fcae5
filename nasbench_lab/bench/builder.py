"""Build the lab's tabular benchmark: train every canonical NB201 cell under a fixed protocol.

The work is a list of tasks ``(setting, seed, index)`` where ``index`` points into the 6,466 canonical
cells (``NB201Space.unique()`` order). Results are appended as JSON lines to one shard file per worker
in an output folder, flushed after every task, so a build can be killed at any moment and resumed
(finished tasks are skipped), split by architecture range (``start``/``end``) over calls or machines,
and merged into the shipped table at the end (``merge``).

Speed (why it is built this way): one NB201 network at C=16, N=1 is far too small to keep a GPU busy
from one Python thread; the eager reference is launch-bound at ~25k images/s. Here each training step
is captured once as a CUDA graph (train.py) so a step costs three host calls, and each worker process
runs several training threads, each on its own CUDA stream, so kernels of different architectures run
concurrently on the GPU. Several worker processes add host-side parallelism for model construction
and evaluation. The task order puts the cheap low-fidelity setting and the first seed of every
architecture before the second seed, so a build cut short still covers the whole space once.
"""
from __future__ import annotations

import json
import queue
import threading
import time
from pathlib import Path

import torch

from ..spaces.nb201 import NB201Space
from .protocol import Protocol, get_protocol


def task_list(settings=("full", "lowfi"), start: int = 0, end: int | None = None, indices=None) -> list[tuple]:
    """All (setting, seed, index) tasks in build order.

    Order: every setting's first seed, then every setting's second seed, ... so a build that is cut
    short still covers the whole space once (the first seed) before it starts on the noise estimate.
    """
    n = len(NB201Space().unique())
    end = n if end is None else min(end, n)
    if not 0 <= start < end:
        raise ValueError(f"architecture range must satisfy 0 <= start < end <= {n}, got {start}..{end}")
    rows = [i for i in (indices if indices is not None else range(start, end)) if start <= i < end]
    protos = [get_protocol(s) for s in settings]
    rounds = max(len(p.seeds) for p in protos)
    return [(p.name, p.seeds[k], i) for k in range(rounds) for p in protos if k < len(p.seeds) for i in rows]


def read_records(out_dir) -> list[dict]:
    """Every record in the shard files of ``out_dir`` (a torn last line from a kill is ignored)."""
    recs = []
    for path in sorted(Path(out_dir).glob("shard-*.jsonl")):
        with open(path) as f:
            for line in f:
                try:
                    recs.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
    return recs


def done_tasks(out_dir) -> set:
    return {(r["setting"], r["seed"], r["index"]) for r in read_records(out_dir) if "setting" in r}


def train_one(space: NB201Space, arch, protocol: Protocol, seed: int, data, build_lock=None,
              cuda_graph: bool | None = None) -> dict:
    """Train one cell under ``protocol`` and return its record (JSON-able)."""
    from ..train import count_flops, count_params, train_model
    lock = build_lock or _NullLock()
    with lock:                       # the global torch seed is process-wide: build one model at a time
        torch.manual_seed(seed)
        model = space.build(arch, in_channels=data.info.in_channels, num_classes=data.info.num_classes,
                            C=protocol.C, N=protocol.N)
    # params/FLOPs do not depend on the seed: measure them once (the first seed) and save host time
    first = seed == protocol.seeds[0]
    params = count_params(model)
    flops = count_flops(model, tuple(data.train_x.shape[1:])) if first else -1
    cfg = protocol.train_config(seed)
    cfg.cuda_graph = cuda_graph
    res = train_model(model, data, cfg)
    return {"arch": str(arch), "val_curve": [round(v, 3) for v in res.val_curve],
            "test_acc": None if res.test_acc is None else round(res.test_acc, 3),
            "train_loss": round(res.train_loss, 5), "train_acc": round(res.train_acc, 3),
            "seconds": round(res.seconds, 4), "params": params, "flops": flops,
            "cuda_graph": res.cuda_graph, "graph_error": res.graph_error}


class _NullLock:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def run_worker(worker_id: int, tasks: list, out_dir: str, device: str = "auto", threads: int = 1,
               deadline: float | None = None, data_root: str | None = None) -> int:
    """Run ``tasks`` with ``threads`` training threads (each on its own CUDA stream); returns tasks done."""
    from ..data import load_dataset
    from ..train import resolve_device
    dev = resolve_device(device)
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True       # fixed shapes: let cuDNN pick its fastest kernels once
    elif threads > 1:
        threads = 1                                  # CPU: the training itself is multithreaded
    space = NB201Space()
    unique = space.unique()
    datasets = {}
    for setting in sorted({t[0] for t in tasks}):
        name = get_protocol(setting).dataset
        if name not in datasets:
            datasets[name] = load_dataset(name, root=data_root, device=dev, download=False)
    if dev.type == "cuda":
        torch.cuda.synchronize()
    work: queue.Queue = queue.Queue()
    for t in tasks:
        work.put(t)
    write_lock, build_lock = threading.Lock(), threading.Lock()
    path = Path(out_dir) / f"shard-{worker_id:03d}.jsonl"
    counter = [0]
    errors: list[str] = []

    def loop():
        stream = torch.cuda.Stream(dev) if dev.type == "cuda" else None
        with (torch.cuda.stream(stream) if stream is not None else _NullLock()):
            while deadline is None or time.time() < deadline:
                try:
                    setting, seed, index = work.get_nowait()
                except queue.Empty:
                    return
                proto = get_protocol(setting)
                rec = None
                # Why a second, eager try: on the first H200 build, 3 % of tasks died with "operation not
                # permitted when stream is capturing" (another thread captured a graph at that moment);
                # the same task without a graph is slower but cannot hit that.
                for graph in (None, False):
                    try:
                        rec = train_one(space, unique[index], proto, seed, datasets[proto.dataset], build_lock,
                                        cuda_graph=graph)
                        break
                    except Exception as exc:  # noqa: BLE001 - one bad task must not end the build
                        errors.append(f"{setting}/{seed}/{index} (graph={graph}): "
                                      f"{type(exc).__name__}: {exc}".splitlines()[0])
                        if dev.type != "cuda":
                            break
                if rec is None:
                    continue
                rec.update(setting=setting, seed=seed, index=index, worker=worker_id, time=time.time())
                with write_lock:
                    with open(path, "a") as f:
                        f.write(json.dumps(rec) + "\n")
                        f.flush()
                    counter[0] += 1

    pool = [threading.Thread(target=loop, daemon=True) for _ in range(max(1, threads))]
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    if errors:
        with open(Path(out_dir) / f"errors-{worker_id:03d}.txt", "a") as f:
            f.write("\n".join(errors) + "\n")
    return counter[0]


def _worker_entry(args):
    return run_worker(*args)


def build(out_dir, settings=("full", "lowfi"), start: int = 0, end: int | None = None, device: str = "auto",
          workers: int = 1, threads: int = 1, time_limit: float | None = None, data_root: str | None = None,
          limit: int | None = None, indices=None) -> dict:
    """Train every task not yet in ``out_dir``; returns a summary (tasks done, seconds, images/s).

    ``workers`` processes x ``threads`` threads; ``time_limit`` seconds: stop starting new tasks after it
    (the build is resumable, so a later call finishes the rest). ``limit``: at most this many tasks.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    todo_all = task_list(settings, start, end, indices)
    done = done_tasks(out)
    todo = [t for t in todo_all if t not in done][:limit]
    deadline = time.time() + time_limit if time_limit else None
    t0 = time.time()
    if workers <= 1:
        n = run_worker(0, todo, str(out), device, threads, deadline, data_root)
    else:
        import multiprocessing as mp
        # Why a fresh worker id per call: each process appends to its own shard; ids never collide
        # across resumed calls because we start after the highest existing shard number.
        base = len(list(out.glob("shard-*.jsonl")))
        chunks = [todo[w::workers] for w in range(workers)]
        ctx = mp.get_context("spawn")
        with ctx.Pool(workers) as pool:
            n = sum(pool.map(_worker_entry, [(base + w, chunks[w], str(out), device, threads, deadline, data_root)
                                             for w in range(workers)]))
    seconds = time.time() - t0
    images = 0
    by_setting: dict = {}
    for s, _seed, _i in todo:
        by_setting.setdefault(s, 0)
    recs = [r for r in read_records(out) if r.get("time", 0) >= t0]
    for r in recs:
        p = get_protocol(r["setting"])
        images += len(r["val_curve"]) * ((p.train_subset or 0) // p.batch_size) * p.batch_size
        by_setting[r["setting"]] = by_setting.get(r["setting"], 0) + 1
    remaining = len([t for t in todo_all if t not in done_tasks(out)])
    return {"tasks_done": n, "by_setting": by_setting, "remaining": remaining, "seconds": round(seconds, 2),
            "train_images_per_s": round(images / seconds, 1) if seconds > 0 else None,
            "tasks_per_s": round(n / seconds, 3) if seconds > 0 else None}


def measure_latencies(out_dir, setting: str = "full", device: str = "auto", repeats: int = 7,
                      time_limit: float | None = None, start: int = 0, end: int | None = None) -> int:
    """Batch-1 forward latency (ms, median of ``repeats``) of every cell's network, one at a time.

    Run it alone on the device (never during training): latency under contention is meaningless.
    """
    from ..train import resolve_device
    dev = resolve_device(device)
    proto = get_protocol(setting)
    from ..data import dataset_info
    info = dataset_info(proto.dataset)
    space = NB201Space()
    unique = space.unique()
    path = Path(out_dir) / "latency.jsonl"
    have = set()
    if path.exists():
        with open(path) as f:
            for line in f:
                try:
                    have.add(json.loads(line)["index"])
                except (json.JSONDecodeError, KeyError):
                    continue
    end = len(unique) if end is None else end
    deadline = time.time() + time_limit if time_limit else None
    from ..hardware import measure_latency
    shape = (info.in_channels, info.image_size, info.image_size)
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"
    n = 0
    with open(path, "a") as f:
        for i in range(start, end):
            if i in have:
                continue
            if deadline and time.time() > deadline:
                break
            model = space.build(unique[i], info.in_channels, info.num_classes, C=proto.C, N=proto.N)
            ms = measure_latency(model, shape, dev, batch_sizes=(1,), warmup=2, repeats=repeats)[1]
            f.write(json.dumps({"index": i, "latency_ms": round(ms, 5), "device": name}) + "\n")
            n += 1
        f.flush()
    return n
