"""What ``nasbench-lab`` shows on the terminal: strict JSON for ``--json``, the progress bar and the
long-run note (both subscribers of the event stream, like the store), Ctrl-C handling, the result lines.
The core never prints (house rule 6); these are its terminal consumers.
"""
from __future__ import annotations

import json
import sys


ACCURACY_DIGITS = 6
"""Significant digits JSON keeps of an accuracy that is no float32 (a mean of seeds, a ratio computed in
double precision): 4 decimals of a percentage from 10 to 100, finer than any test split's step (0.01 %
with 10,000 images); a zero-cost score reported as ``val_acc`` keeps its relative precision."""


def _accuracy_key(key) -> bool:
    return isinstance(key, str) and (key.endswith("_acc") or key in ("val_curve", "curve"))


def _float32_shortest(x: float) -> float | None:
    """``x`` as the shortest decimal that is the same float32, when ``x`` is exactly a float32 value
    (else None).

    Why: the table stores float32 and SQLite and JSON hand it on as a double, so 76.6 arrives as
    76.5999984741211: digits the number never had. Such a value is printed at the precision it
    carries (within half a float32 step). Only below 2**24, where a float32 still holds whole numbers
    exactly: a timestamp is never shortened."""
    import struct
    if not abs(x) < 2 ** 24 or struct.unpack("f", struct.pack("f", x))[0] != x:
        return None
    for digits in range(1, 10):
        short = float(f"{x:.{digits}g}")
        if struct.unpack("f", struct.pack("f", short))[0] == x:
            return short
    return x


def honest(obj, accuracy: bool = False):
    """JSON-ready numbers at the precision they carry: NaN/inf as null (a score the run could not
    compute), float32 values without float32 noise, other accuracies (keys ending in ``_acc``, curves)
    to ACCURACY_DIGITS significant digits, other doubles (seconds, Kendall tau) as they are."""
    if isinstance(obj, float):
        if obj != obj or abs(obj) == float("inf"):
            return None
        short = _float32_shortest(obj)
        if short is not None:
            return short
        return float(f"{obj:.{ACCURACY_DIGITS}g}") if accuracy else obj
    if isinstance(obj, dict):
        return {k: honest(v, accuracy or _accuracy_key(k)) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [honest(v, accuracy) for v in obj]
    return obj


def to_json(obj) -> str:
    """What ``--json`` prints: strict JSON (``allow_nan=False``), numbers as ``honest`` writes them."""
    return json.dumps(honest(obj), allow_nan=False, default=str)


def plural(n: int, word: str) -> str:
    """ "1 evaluation", "2 evaluations", "1,000 evaluations"."""
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def seeds_text(seeds) -> str:
    """ "seed 0", "seeds 0 and 1", "seeds 0, 1 and 2"."""
    seeds = [str(s) for s in seeds]
    if len(seeds) == 1:
        return f"seed {seeds[0]}"
    return f"seeds {', '.join(seeds[:-1])} and {seeds[-1]}"


def accuracy_source(estimator: str, seed, metrics: list) -> str:
    """What an evaluation's accuracy is, in words: one training (whose seed) or a mean, or no training
    at all. ``metrics``: the metrics dicts of the evaluations the words are about."""
    m = metrics[0] if metrics else {}
    partial = " (some after fewer epochs: a multi-fidelity rung)" if any(x.get("partial") for x in metrics) else ""
    table_seeds = sorted({x["table_seed"] for x in metrics if "table_seed" in x})
    if table_seeds:
        return f"one training each: the table's record of training {seeds_text(table_seeds)}{partial}"
    if m.get("table") == "cifar10":
        return "val: the string's one training; test: mean of all trainings of its cell (CIFAR-10 table)"
    if m.get("inherited"):
        return "inherited supernet weights, not one training of its own"
    if estimator == "synthetic":
        return "a synthetic score, no training"
    if estimator in ("train", "lowfi"):
        return f"one training from scratch each, seed {seed}{partial}"
    return f"one evaluation each by the {estimator} estimator"


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


def print_result(args, result, store=None, seed=None) -> None:
    """The run's result on stdout; where it is recorded on stderr (and in the JSON as ``store``).
    ``seed``: the run's seed, which a training estimator trains with."""
    where, flag = _store_hint(args, store)
    if args.json:
        print(to_json({**result.to_json_dict(), "store": where}))
    else:
        _print_text(result, seed)
    if where is not None:
        sys.stderr.write(f"nasbench-lab: run {result.run_id} is recorded in {where} "
                         f"(nasbench-lab show {result.run_id}{flag})\n")
    if result.stopped and where is not None:
        sys.stderr.write(f"nasbench-lab: continue it with: nasbench-lab resume {result.run_id}{flag}\n")


def _print_text(result, seed) -> None:
    b = result.best
    state = "stopped" if result.stopped else "done"
    print(f"run {result.run_id} ({state}): {result.strategy} on {result.space} with {result.estimator}, "
          f"{plural(len(result.evaluations), 'evaluation')} in {result.seconds:.1f} s")
    if b is not None:
        test = "n/a" if b.test_acc is None else f"{b.test_acc:.2f} %"
        if "proxy" in b.metrics:                       # a zero-cost score is not an accuracy
            print(f"best: {b.arch}\n  {b.metrics['proxy']} score {b.val_acc:.4g} (zero-cost, higher is better)")
        else:
            source = accuracy_source(result.estimator, seed, [b.metrics]).replace(" each", "")
            print(f"best: {b.arch}\n  val acc {b.val_acc:.2f} %, test acc {test} ({source})")
