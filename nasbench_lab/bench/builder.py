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
import multiprocessing as mp
import queue
import threading
import time
from pathlib import Path

import torch

from ..data import dataset_info, load_dataset
from ..executors import RayExecutor
from ..hardware import count_macs, measure_latency
from ..spaces.nb201 import NB201Space
from ..train import count_flops, count_params, resolve_device, train_model
from .protocol import Protocol, get_protocol
from .table import read_jsonl, read_records


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


def done_tasks(out_dir) -> set:
    return {(r["setting"], r["seed"], r["index"]) for r in read_records(out_dir) if "setting" in r}


def cell_costs(model, input_shape, latency: bool = True, repeats: int = 7) -> dict:
    """What a cell costs, independent of seed and training: params, MACs (published convention: dead
    edges counted), live MACs, FLOPs (torch's counter: 2 per multiply-add, live edges only) and, on the
    CPU, the batch-1 forward latency (ms, median of ``repeats``, with the process's torch threads).
    """
    out = {"params": count_params(model), "macs": count_macs(model, input_shape),
           "macs_live": count_macs(model, input_shape, dead_edges=False), "flops": count_flops(model, input_shape)}
    if latency:
        out["latency_ms"] = round(measure_latency(model, input_shape, "cpu", batch_sizes=(1,), warmup=2,
                                                  repeats=repeats)[1], 5)
        out["latency_device"] = f"cpu ({torch.get_num_threads()} thread{'s' * (torch.get_num_threads() > 1)})"
    return out


def train_one(space: NB201Space, arch, protocol: Protocol, seed: int, data, build_lock=None,
              cuda_graph: bool | None = None) -> dict:
    """Train one cell under ``protocol`` and return its record (JSON-able).

    The first seed's record also carries the cell's costs (``cell_costs``). On the CPU that includes the
    batch-1 latency, measured here in the worker right before training: one thread on its own core, as
    the laptop build runs (the other core trains another cell meanwhile). On a GPU, where several
    trainings share the device, latency is left to ``measure_costs`` run alone afterwards.
    """
    lock = build_lock or _NullLock()
    with lock:                       # the global torch seed is process-wide: build one model at a time
        torch.manual_seed(seed)
        model = space.build(arch, in_channels=data.info.in_channels, num_classes=data.info.num_classes,
                            C=protocol.C, N=protocol.N)
    costs = {"params": count_params(model)}
    if seed == protocol.seeds[0]:
        costs = cell_costs(model, tuple(data.train_x.shape[1:]), latency=data.device.type == "cpu")
    cfg = protocol.train_config(seed)
    cfg.cuda_graph = cuda_graph
    res = train_model(model, data, cfg)
    return {"arch": str(arch), "val_curve": [round(v, 3) for v in res.val_curve],
            "test_acc": None if res.test_acc is None else round(res.test_acc, 3),
            "train_loss": round(res.train_loss, 5), "train_acc": round(res.train_acc, 3),
            "seconds": round(res.seconds, 4), **costs,
            "cuda_graph": res.cuda_graph, "graph_error": res.graph_error}


class _NullLock:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def run_worker(worker_id: int, tasks: list, out_dir: str | None, device: str = "auto", threads: int = 1,
               deadline: float | None = None, data_root: str | None = None, sink=None, errors_out=None) -> int:
    """Run ``tasks`` with ``threads`` training threads (each on its own CUDA stream); returns tasks done.

    Records go to ``out_dir``/shard-<worker_id>.jsonl, or to ``sink(record)`` when given (a Ray worker
    hands them back to the driver, which writes them: the cluster needs no shared file system).
    """
    dev = resolve_device(device)
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True       # fixed shapes: let cuDNN pick its fastest kernels once
    else:
        # CPU: ``threads`` is torch's intra-op thread count and there is one training loop per process
        # (one process per core and one thread each is fastest for these small networks).
        torch.set_num_threads(max(1, threads))
        threads = 1
    space = NB201Space()
    unique = space.unique()
    datasets = {}                                    # (dataset, image size) -> Splits, loaded once per worker
    for setting in sorted({t[0] for t in tasks}):
        key = _data_key(get_protocol(setting))
        if key not in datasets:
            datasets[key] = load_dataset(key[0], root=data_root, device=dev, download=False, image_size=key[1])
    if dev.type == "cuda":
        torch.cuda.synchronize()
    work: queue.Queue = queue.Queue()
    for t in tasks:
        work.put(t)
    write_lock, build_lock = threading.Lock(), threading.Lock()
    path = None if sink is not None else Path(out_dir) / f"shard-{worker_id:03d}.jsonl"
    counter = [0]
    errors: list[str] = [] if errors_out is None else errors_out

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
                        rec = train_one(space, unique[index], proto, seed, datasets[_data_key(proto)], build_lock,
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
                    if sink is not None:
                        sink(rec)
                    else:
                        with open(path, "a") as f:
                            f.write(json.dumps(rec) + "\n")
                            f.flush()
                    counter[0] += 1

    pool = [threading.Thread(target=loop, daemon=True) for _ in range(max(1, threads))]
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    if errors and path is not None:
        with open(Path(out_dir) / f"errors-{worker_id:03d}.txt", "a") as f:
            f.write("\n".join(errors) + "\n")
    return counter[0]


def _data_key(proto: Protocol) -> tuple:
    return proto.dataset, proto.image_size


def _worker_entry(args):
    return run_worker(*args)


class _RayBuildWorker:
    """A Ray actor: trains chunks of tasks and hands the records back (datasets loaded once)."""

    def __init__(self, device: str, threads: int, data_root: str | None):
        self.device, self.threads, self.data_root = device, threads, data_root

    def run(self, tasks: list) -> tuple:
        records, errors = [], []
        run_worker(0, [tuple(t) for t in tasks], None, self.device, self.threads, None, self.data_root,
                   sink=records.append, errors_out=errors)
        return records, errors


def _ray_build(out: Path, todo: list, workers: int, threads: int, device: str, deadline, data_root,
               address, chunk: int) -> int:
    """Spread ``todo`` over Ray actors in chunks; the driver appends records to one shard as they arrive.

    Why chunks and not one task per call: a call costs milliseconds of scheduling and the actor's
    datasets stay loaded, while a kill loses at most the chunks in flight (finished ones are on disk).
    """
    ex = RayExecutor(workers=workers, address=address, num_cpus=float(threads))
    ray = ex._ray()
    try:
        cls = ray.remote(num_cpus=threads)(_RayBuildWorker)
        actors = [cls.remote(device, threads, data_root) for _ in range(workers)]
        chunks = [todo[i:i + chunk] for i in range(0, len(todo), max(1, chunk))]
        shard = out / f"shard-{len(list(out.glob('shard-*.jsonl'))):03d}.jsonl"
        pending, n, errors = {}, 0, []

        def submit(actor):
            if chunks and (deadline is None or time.time() < deadline):
                pending[actor.run.remote(chunks.pop(0))] = actor

        for a in actors:
            submit(a)
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            actor = pending.pop(ready[0])
            records, errs = ray.get(ready[0])
            with open(shard, "a") as f:
                for rec in records:
                    f.write(json.dumps(rec) + "\n")
                f.flush()
            n += len(records)
            errors += errs
            submit(actor)
        if errors:
            with open(out / "errors-ray.txt", "a") as f:
                f.write("\n".join(errors) + "\n")
        return n
    finally:
        ex.close()


def build(out_dir, settings=("laptop", "laptop-lowfi"), start: int = 0, end: int | None = None,
          device: str = "auto", workers: int = 1, threads: int = 1, time_limit: float | None = None,
          data_root: str | None = None, limit: int | None = None, indices=None, executor: str = "process",
          ray_address: str | None = None, chunk: int = 16) -> dict:
    """Train every task not yet in ``out_dir``; returns a summary (tasks done, seconds, images/s).

    ``workers`` processes x ``threads`` threads (on the CPU: torch threads per process);
    ``time_limit`` seconds: stop starting new tasks after it (the build is resumable, so a later call
    finishes the rest). ``limit``: at most this many tasks. ``executor="ray"``: ``workers`` Ray actors
    (on the cluster at ``ray_address``, else a local Ray instance) train ``chunk`` tasks at a time.
    """
    if executor not in ("process", "ray"):
        raise ValueError(f"unknown build executor {executor!r}; use process or ray")
    if not isinstance(workers, int) or workers < 1 or threads < 1:
        raise ValueError(f"workers and threads must be positive integers, got {workers!r} and {threads!r}")
    out = Path(out_dir)
    todo_all = task_list(settings, start, end, indices)       # checks settings and range before any file
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"cannot use {out} as the build folder: "
                         f"{'it is a file, not a directory' if out.is_file() else exc.strerror or exc}") from None
    done = done_tasks(out)
    todo = [t for t in todo_all if t not in done][:limit]
    deadline = time.time() + time_limit if time_limit else None
    t0 = time.time()
    if executor == "ray":
        n = _ray_build(out, todo, workers, threads, device, deadline, data_root, ray_address, chunk)
    elif workers <= 1:
        n = run_worker(len(list(out.glob("shard-*.jsonl"))), todo, str(out), device, threads, deadline, data_root)
    else:
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
    finished = done_tasks(out)                       # read once: it parses every shard
    remaining = len([t for t in todo_all if t not in finished])
    return {"tasks_done": n, "by_setting": by_setting, "remaining": remaining, "seconds": round(seconds, 2),
            "train_images_per_s": round(images / seconds, 1) if seconds > 0 else None,
            "tasks_per_s": round(n / seconds, 3) if seconds > 0 else None}


def measure_costs(out_dir, setting: str, device: str = "cpu", latency: bool = True, repeats: int = 7,
                  time_limit: float | None = None, start: int = 0, end: int | None = None,
                  only_missing: bool = True) -> int:
    """Params, MACs, FLOPs and batch-1 latency of every cell's network under ``setting``, one at a time,
    appended to ``costs-<setting>.jsonl`` (merge prefers these to the costs in the training records).

    Run it alone on the device (never during a GPU build: latency under contention is meaningless).
    ``only_missing``: skip cells whose costs (with latency, if asked) are already recorded, in the
    training records or in the costs file; returns the number of cells measured.
    """
    dev = resolve_device(device)
    proto = get_protocol(setting)
    info = dataset_info(proto.dataset)
    size = proto.image_size or info.image_size
    shape = (info.in_channels, size, size)
    space = NB201Space()
    unique = space.unique()
    path = Path(out_dir) / f"costs-{setting}.jsonl"
    need = "latency_ms" if latency else "macs"
    have = {r["index"] for r in read_jsonl(path) if need in r}
    if only_missing:
        have |= {r["index"] for r in read_records(out_dir) if r.get("setting") == setting and need in r}
    end = len(unique) if end is None else end
    deadline = time.time() + time_limit if time_limit else None
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"cpu ({torch.get_num_threads()} threads)"
    n = 0
    with open(path, "a") as f:
        for i in range(start, end):
            if i in have:
                continue
            if deadline and time.time() > deadline:
                break
            model = space.build(unique[i], info.in_channels, info.num_classes, C=proto.C, N=proto.N)
            rec = {"index": i, **cell_costs(model, shape, latency=False)}
            if latency:
                rec["latency_ms"] = round(measure_latency(model, shape, dev, batch_sizes=(1,), warmup=2,
                                                          repeats=repeats)[1], 5)
                rec["latency_device"] = name
            f.write(json.dumps(rec) + "\n")
            f.flush()
            n += 1
    return n


def measure_latencies(out_dir, setting: str = "full", device: str = "auto", repeats: int = 7,
                      time_limit: float | None = None, start: int = 0, end: int | None = None) -> int:
    """Batch-1 latency (and the other costs) of every cell not yet measured: ``measure_costs``."""
    return measure_costs(out_dir, setting, device, True, repeats, time_limit, start, end)
