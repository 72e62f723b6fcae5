"""Where evaluations run: in this process (default), in local worker processes, or on a Ray cluster.

The strategy never knows. The driver (strategies/base.py) either asks the executor to ``evaluate`` one
candidate and waits (sequential strategies, and every strategy when there is one slot), or, for
strategies marked ``asynchronous`` (random, evolution, reinforce), keeps ``slots`` candidates in flight
with ``submit`` / ``wait`` and tells each result as soon as it arrives (asynchronous evolution, as in
Real et al. 2019, where hundreds of workers never waited for each other).

Workers rebuild the space and the estimator from a *recipe*: names plus JSON-able options (the run's
``RunContext.recipe``), never by unpickling objects. An architecture travels as its string both ways
(``space.to_str`` out, the submitted value put back by ``result``). (Results travel back through the
standard multiprocessing / Ray channels, which serialise internally; nothing is pickled to disk.)

* ``InProcessExecutor``: one evaluation at a time, here; deterministic; the default.
* ``ProcessExecutor(workers, devices)``: a pool of ``spawn``-ed processes (several CPU cores, or one
  GPU each with ``devices=["cuda:0", "cuda:1"]``). Scripts using it need the usual
  ``if __name__ == "__main__":`` guard (spawn re-imports the main module).
* ``RayExecutor(workers, address, num_gpus)``: one Ray actor per worker; ``num_gpus=0.25`` packs four
  workers on each GPU. Needs the ``distributed`` extra (``pip install 'nasbench_lab[distributed]'``).
"""
from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import json
import multiprocessing
import os
import signal
import socket
import threading

import torch

from .errors import ExecutorError
from .estimators import get_estimator
from .spaces import get_space


class Executor:
    """Base class: the in-process behaviour; subclasses add workers."""

    name = "inprocess"
    #: How many evaluations may be in flight at once.
    slots = 1

    def evaluate(self, ctx, arch):
        """Score one architecture and wait for it."""
        return self.result(self.submit(ctx, arch), arch)

    def result(self, fut: cf.Future, arch):
        """The Evaluation of a finished ``fut`` with its architecture as the value submitted (a worker
        sends back the string it was given); a worker's exception is raised here."""
        ev = fut.result()
        return ev if ev.arch is arch else dataclasses.replace(ev, arch=arch)

    def submit(self, ctx, arch) -> cf.Future:
        fut: cf.Future = cf.Future()
        try:
            fut.set_result(ctx.estimator.evaluate(ctx.space, arch, seed=ctx.seed, stop=ctx.stop))
        except Exception as exc:  # noqa: BLE001 - handed to the driver through the future
            fut.set_exception(exc)
        return fut

    def wait(self, futures, timeout=None) -> list:
        """The futures among ``futures`` that are done (at least one unless ``timeout`` runs out)."""
        done, _ = cf.wait(futures, timeout=timeout, return_when=cf.FIRST_COMPLETED)
        return [f for f in futures if f in done]       # submission order: deterministic when several are done

    def close(self) -> None:
        """Release workers (idempotent)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class InProcessExecutor(Executor):
    name = "inprocess"

    def evaluate(self, ctx, arch):
        return ctx.estimator.evaluate(ctx.space, arch, seed=ctx.seed, stop=ctx.stop)


def _jsonable_recipe(ctx) -> str:
    recipe = ctx.recipe
    if not recipe or not recipe.get("estimator"):
        raise ExecutorError("worker executors need the estimator by name (e.g. estimator='train'), "
                            "not an estimator object")
    opts = {k: dataclasses.asdict(v) if dataclasses.is_dataclass(v) else v
            for k, v in recipe.get("estimator_options", {}).items()}
    try:
        return json.dumps({**recipe, "estimator_options": opts}, sort_keys=True)
    except TypeError as exc:
        raise ExecutorError(f"worker executors need JSON-able estimator options: {exc}") from None


def _build(recipe_json: str, device=None):
    recipe = json.loads(recipe_json)
    opts = dict(recipe["estimator_options"])
    if device is not None:
        opts["device"] = device
    return get_space(recipe["space"]), get_estimator(recipe["estimator"], **opts)


# Why module-level state here: it exists only inside the pool's worker processes (one space and one
# estimator per worker, so a dataset is loaded once per worker rather than once per evaluation).
_WORKER: dict = {}


def _worker_init(recipe_json: str, devices, threads: int) -> None:
    # Why workers ignore Ctrl-C: a terminal sends it to the whole process group, workers included; a
    # worker that died of it would break the pool and lose every evaluation in flight. The driver decides
    # what a Ctrl-C means (finish the first evaluation, drop the rest), and ``close`` ends the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    torch.set_num_threads(threads)       # two workers on two cores must not each start two threads
    device = devices.get() if devices is not None else None
    _WORKER["space"], _WORKER["estimator"] = _build(recipe_json, device)


def _scored(space, est, arch_str: str, seed: int):
    """A worker's evaluation of ``arch_str``, ready to travel back: the architecture as the string it came
    as, and which worker scored it (metrics['worker'] = 'host:pid': shows the parallelism, helps debugging)."""
    ev = est.evaluate(space, space.from_str(arch_str), seed=seed)
    ev.arch = arch_str
    ev.metrics["worker"] = f"{socket.gethostname()}:{os.getpid()}"
    return ev


def _worker_evaluate(arch_str: str, seed: int):
    return _scored(_WORKER["space"], _WORKER["estimator"], arch_str, seed)


class ProcessExecutor(Executor):
    """A pool of spawned worker processes on this machine."""

    name = "process"

    def __init__(self, workers: int | None = None, devices: list | None = None):
        if workers is None:
            workers = len(devices or []) or os.cpu_count() or 1
        if not isinstance(workers, int) or workers < 1:
            raise ExecutorError(f"process executor: workers must be a positive integer, got {workers!r}")
        self.slots, self.devices = workers, list(devices) if devices else None
        self._pool, self._recipe, self._futures = None, None, []

    def _ensure(self, ctx):
        recipe = _jsonable_recipe(ctx)
        if self._pool is not None and recipe == self._recipe:
            return self._pool
        self.close()
        mp = multiprocessing.get_context("spawn")   # fork + torch threads can deadlock; spawn is safe
        queue = None
        if self.devices:
            queue = mp.Queue()
            for i in range(self.slots):
                queue.put(self.devices[i % len(self.devices)])
        threads = max(1, (os.cpu_count() or 1) // self.slots)
        self._pool = cf.ProcessPoolExecutor(self.slots, mp_context=mp, initializer=_worker_init,
                                            initargs=(recipe, queue, threads))
        self._recipe = recipe
        return self._pool

    def submit(self, ctx, arch) -> cf.Future:
        fut = self._ensure(ctx).submit(_worker_evaluate, ctx.space.to_str(arch), ctx.seed)
        self._futures = [f for f in self._futures if not f.done()] + [fut]
        return fut

    def close(self) -> None:
        """Release the workers. An evaluation still running here was dropped by the driver (a stop, a
        failure): its worker is terminated rather than waited for (a training can take minutes)."""
        if self._pool is None:
            return
        dropped = any(not f.done() for f in self._futures)
        if dropped:
            # Why the private ``_processes``: ``terminate_workers()`` only arrives in Python 3.14.
            procs = list((getattr(self._pool, "_processes", None) or {}).values())
            self._pool.shutdown(wait=False, cancel_futures=True)
            for p in procs:
                p.terminate()
            for p in procs:
                p.join(timeout=10)
        else:
            self._pool.shutdown(wait=True, cancel_futures=True)
        self._pool, self._futures = None, []


class _RayWorker:
    """The body of one Ray actor: a space and an estimator, built once."""

    def __init__(self, recipe_json: str):
        self.space, self.estimator = _build(recipe_json)

    def evaluate(self, arch_str: str, seed: int):
        return _scored(self.space, self.estimator, arch_str, seed)


def parse_ray_address(address: str) -> tuple[str, int] | None:
    """``HOST:PORT`` or ``ray://HOST:PORT`` as (host, port); None for Ray's own ``auto`` / ``local``.

    Why by hand and ASCII only: ``str.isdigit`` and ``int`` accept other scripts' digits ('²',
    '٣'), which gave a raw "invalid literal for int()" or silently read port 3."""
    if address in ("auto", "local"):
        return None
    hostport = address.split("://", 1)[-1]
    host, sep, port = hostport.rpartition(":")
    if not sep:
        raise ExecutorError(f"ray address must look like HOST:PORT, ray://HOST:PORT or auto, got {address!r}")
    if not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
        raise ExecutorError(f"ray address {address!r}: the port must be a number from 1 to 65535, got {port!r}")
    return host.strip("[]") or "127.0.0.1", int(port)       # [::1]:6379 -> ::1 (IPv6 in brackets)


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """Fail fast on a bad --ray-address: Ray itself retries an unreachable head for minutes."""
    hostport = parse_ray_address(address)
    if hostport is None:
        return
    try:
        socket.create_connection(hostport, timeout=timeout).close()
    except OSError as exc:
        raise ExecutorError(f"cannot reach the Ray cluster at {address}: {exc.strerror or exc}") from None


class RayExecutor(Executor):
    """Evaluations as Ray actor tasks; ``num_gpus`` may be a fraction (several workers per GPU)."""

    name = "ray"

    def __init__(self, workers: int = 2, address: str | None = None, num_gpus: float = 0.0, num_cpus: float = 1.0,
                 init_options: dict | None = None):
        if not isinstance(workers, int) or workers < 1:
            raise ExecutorError(f"ray executor: workers must be a positive integer, got {workers!r}")
        if num_gpus < 0 or num_cpus < 0:
            raise ExecutorError("ray executor: num_gpus and num_cpus must be >= 0")
        if address:
            parse_ray_address(address)       # a malformed address is refused now, before a run starts
        self.slots, self.address, self.num_gpus, self.num_cpus = workers, address, float(num_gpus), float(num_cpus)
        self.init_options = dict(init_options or {})
        self._actors, self._load, self._recipe, self._started_ray = [], {}, None, False
        self._lock = threading.Lock()

    def _ray(self):
        try:
            import ray                       # heavy and optional (the distributed extra): only when used
        except ImportError:
            raise ExecutorError("the ray executor needs Ray: pip install 'nasbench_lab[distributed]'") from None
        if not ray.is_initialized():
            opts = {"include_dashboard": False, "log_to_driver": False, **self.init_options}
            if self.address:
                _check_reachable(self.address)
                opts["address"] = self.address
            try:
                ray.init(**opts)
            except (ConnectionError, TimeoutError, ValueError, RuntimeError) as exc:
                where = f"the cluster at {self.address}" if self.address else "a local Ray instance"
                raise ExecutorError(f"could not start or reach {where}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
            self._started_ray = True
        return ray

    def _ensure(self, ctx):
        recipe = _jsonable_recipe(ctx)
        ray = self._ray()
        if self._actors and recipe == self._recipe:
            return
        self._kill_actors()
        cls = ray.remote(num_cpus=self.num_cpus, num_gpus=self.num_gpus)(_RayWorker)
        self._actors = [cls.remote(recipe) for _ in range(self.slots)]
        self._load = {i: 0 for i in range(self.slots)}
        self._recipe = recipe

    def submit(self, ctx, arch) -> cf.Future:
        self._ensure(ctx)
        with self._lock:                     # the least busy actor (the driver keeps <= slots in flight)
            i = min(self._load, key=self._load.get)
            self._load[i] += 1
        fut = self._actors[i].evaluate.remote(ctx.space.to_str(arch), ctx.seed).future()

        def _release(_f, i=i):
            with self._lock:
                self._load[i] -= 1
        fut.add_done_callback(_release)
        return fut

    def _kill_actors(self) -> None:
        if self._actors:
            import ray                       # loaded already when there are actors (see _ray)
            for a in self._actors:
                ray.kill(a)
        self._actors, self._load = [], {}

    def close(self) -> None:
        self._kill_actors()
        self._recipe = None
        if self._started_ray:
            import ray                       # loaded already when this executor started it
            ray.shutdown()
            self._started_ray = False


EXECUTORS = {"inprocess": InProcessExecutor, "process": ProcessExecutor, "ray": RayExecutor}


def list_executors() -> list[str]:
    return list(EXECUTORS)


def get_executor(spec=None, **options) -> Executor:
    """An executor from a name (``inprocess``, ``process``, ``ray``) and options, or the object itself."""
    if spec is None:
        spec = "inprocess"
    if isinstance(spec, Executor):
        if options:
            raise ExecutorError("options are only accepted with an executor name")
        return spec
    if spec not in EXECUTORS:
        raise ExecutorError(f"unknown executor {spec!r}; choose one of: {', '.join(EXECUTORS)}")
    try:
        return EXECUTORS[spec](**options)
    except TypeError as exc:
        raise ExecutorError(f"bad option for executor {spec!r}: {exc}") from None


__all__ = ["Executor", "ExecutorError", "InProcessExecutor", "ProcessExecutor", "RayExecutor", "get_executor",
           "list_executors"]
