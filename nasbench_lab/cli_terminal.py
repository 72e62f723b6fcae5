"""What ``nasbench-lab`` shows on the terminal: strict JSON for ``--json``, the progress bar and the
long-run note (both subscribers of the event stream, like the store), Ctrl-C handling, the result lines.
The core never prints (house rule 6); these are its terminal consumers.
"""
from __future__ import annotations

import json
import sys


def finite(obj):
    """NaN and infinity are not JSON: write them as null (a score the run could not compute)."""
    if isinstance(obj, float):
        return obj if obj == obj and abs(obj) != float("inf") else None
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite(v) for v in obj]
    return obj


def to_json(obj) -> str:
    """What ``--json`` prints: strict JSON (``allow_nan=False`` after mapping NaN to null)."""
    return json.dumps(finite(obj), allow_nan=False, default=str)


def note(message: str) -> None:
    """One ``nasbench-lab: note:`` line on stderr (also without a terminal: logs keep it)."""
    sys.stderr.write(f"nasbench-lab: note: {message}\n")


def warn_cost(ev) -> None:
    """One line on stderr when a run is estimated to take long (also without a terminal)."""
    est = ev.payload.get("estimated_seconds") if ev.kind == "run_started" else None
    if est and est > 900:
        from .search import format_duration
        b = ev.payload["budget"]
        sys.stderr.write(f"nasbench-lab: note: {b:,} evaluations at this fidelity will take about {format_duration(est)} "
                         f"here ({est / b:.1f} s each); Ctrl-C stops, `resume` continues\n")


class Progress:
    """A tqdm bar on stderr fed by the event stream (only on a terminal, never with --json)."""

    def __init__(self, args, family: str):
        self.bar, self.family = None, family
        self.enabled = not (args.json or args.no_progress) and sys.stderr.isatty()

    def __enter__(self):
        return self if self.enabled else None

    def __call__(self, ev) -> None:
        try:
            from tqdm import tqdm
        except ImportError:
            return
        p = ev.payload
        if ev.kind == "run_started":
            unit = "epoch" if self.family == "one-shot" else "eval"
            from .search import format_duration
            est = p.get("estimated_seconds")
            desc = f"{p['strategy']} on {p['space']}" + (f" (~{format_duration(est)} est.)" if est else "")
            self.bar = tqdm(total=p["budget"], unit=unit, desc=desc, file=sys.stderr)
        elif self.bar is None:
            return
        elif ev.kind == "evaluation" and self.family != "one-shot":
            self.bar.update(1)
            self.bar.set_postfix(best=f"{p['best_val_acc']:.2f}", refresh=False)
        elif ev.kind == "epoch" and self.family == "one-shot":
            self.bar.update(1)
        elif ev.kind in ("run_finished", "run_failed"):
            self.bar.close()

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.close()


class GracefulStop:
    """First Ctrl-C: finish the current evaluation and stop (the run is resumable); second: abort."""

    def __enter__(self):
        import signal
        import threading
        from .events import StopFlag
        self.flag, self._old = StopFlag(), None
        if threading.current_thread() is threading.main_thread():
            def handler(signum, frame):
                if self.flag.is_set():
                    raise KeyboardInterrupt
                self.flag.set()
                sys.stderr.write("\nstopping after the current evaluation (Ctrl-C again to abort)\n")
            self._old = signal.signal(signal.SIGINT, handler)
        return self.flag

    def __exit__(self, *exc):
        import signal
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)


def _store_hint(args, store) -> tuple[str | None, str]:
    """The store's path as people read it, and the flag a later command needs to find it again."""
    if store is None:
        return None, ""
    path = getattr(store, "path", store)
    from .cli_runs import shown_path
    return shown_path(path), (f" --store {path}" if getattr(args, "store", None) else "")


def print_result(args, result, store=None) -> None:
    """The run's result on stdout; where it is recorded on stderr (and in the JSON as ``store``)."""
    where, flag = _store_hint(args, store)
    if args.json:
        print(json.dumps({**result.to_json_dict(), "store": where}))
    else:
        _print_text(result)
    if where is not None:
        sys.stderr.write(f"nasbench-lab: run {result.run_id} is recorded in {where} "
                         f"(nasbench-lab show {result.run_id}{flag})\n")
    if result.stopped and where is not None:
        sys.stderr.write(f"nasbench-lab: continue it with: nasbench-lab resume {result.run_id}{flag}\n")


def _print_text(result) -> None:
    b = result.best
    state = "stopped" if result.stopped else "done"
    print(f"run {result.run_id} ({state}): {result.strategy} on {result.space} with {result.estimator}, "
          f"{len(result.evaluations)} evaluations in {result.seconds:.1f} s")
    if b is not None:
        test = "n/a" if b.test_acc is None else f"{b.test_acc:.2f} %"
        if "proxy" in b.metrics:                       # a zero-cost score is not an accuracy
            print(f"best: {b.arch}\n  {b.metrics['proxy']} score {b.val_acc:.4g} (zero-cost, higher is better)")
        else:
            print(f"best: {b.arch}\n  val acc {b.val_acc:.2f} %, test acc {test}")
