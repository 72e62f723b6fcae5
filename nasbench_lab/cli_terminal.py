"""What ``nasbench-lab`` shows while and after it runs. The core never prints (house rule 6); these are
its terminal consumers, subscribed to the event stream like the store. Top to bottom:

* numbers: ``--json`` at the precision values carry (``honest``), plurals, what an accuracy is (one
  training and its seed, a table's record, a mean of seeds: ``accuracy_source``);
* the long-run note, and ``Progress``: a bar on a terminal, plain lines every 10 s elsewhere, stages;
* ``GracefulStop``: what Ctrl-C does (the evaluation in flight finishes first);
* the result lines, and where the run is recorded.
"""
from __future__ import annotations

import json
import os
import signal
import struct
import sys
import threading
import time

from tqdm import tqdm

from .events import StopFlag
from .search import format_duration


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
        b = ev.payload["budget"]
        sys.stderr.write(f"nasbench-lab: note: {b:,} evaluations at this fidelity will take about {format_duration(est)} "
                         f"here ({est / b:.1f} s each); Ctrl-C stops, `resume` continues\n")


def clock(seconds: float) -> str:
    """A duration as a progress line says it: "42 s", "1 min 3 s", "2 h 5 min"."""
    s = int(round(max(0.0, seconds)))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    return f"{s // 3600} h {s % 3600 // 60} min"


class Progress:
    """What a run shows while it runs, fed by the event stream like the store.

    On a terminal a tqdm bar (not with --json); on any other stderr (a log file, CI, a notebook's ``!``
    cell) one plain line every INTERVAL seconds, e.g. ``search: 12/40 evaluations, best 71.20 % val,
    1 min 3 s elapsed, ~2 min left``; ``--no-progress`` silences both. A clock thread keeps them alive
    while one long training sends no event. Stages: a search's evaluations; a one-shot strategy's
    supernet epochs (within one, its steps and train accuracy: the ``progress`` event), then the scoring
    of its chosen cells (the ``stage`` event: a bar and a line of its own, not a bar sitting at 100 %
    through a re-training); ``train``'s epochs.
    """

    INTERVAL = 10.0
    """Seconds between plain lines (why 10: a log shows life without a line per evaluation)."""
    TICK = 1.0
    """Seconds between the clock thread's looks (the bar's elapsed time, a plain line that is due)."""

    def __init__(self, args, family: str = "multi-trial"):
        self.terminal = sys.stderr.isatty()
        self.enabled = not getattr(args, "no_progress", False) and not (self.terminal and args.json)
        self.family = family
        self.bar = None
        self.lock = threading.RLock()
        self.label, self.what, self.unit, self.total, self.estimate = "search", "evaluations", "eval", 0, None
        self.done = self.fresh = 0                   # units finished (fresh: this attempt, not replayed)
        self.best, self.detail, self.steps, self.staged = "", "", None, False
        self.t0 = self.stage_t0 = self.t_done = self.last_line = time.monotonic()
        self._quit = threading.Event()
        self._clock: threading.Thread | None = None

    def __enter__(self):
        return self if self.enabled else None

    def __exit__(self, *exc):
        self._quit.set()
        with self.lock:
            if self.bar is not None:
                self.bar.close()
                self.bar = None

    # ------------------------------------------------------------------ stages
    def begin(self, label: str, total: int, what: str, unit: str, estimate: float | None = None) -> None:
        """A new stage: ``total`` units of ``what`` (its own bar on a terminal)."""
        with self.lock:
            self.label, self.total, self.what, self.unit, self.estimate = label, total, what, unit, estimate
            self.done = self.fresh = 0
            self.best, self.detail, self.steps = "", "", None
            self.stage_t0 = time.monotonic()
            if self.terminal:
                if self.bar is not None:
                    self.bar.close()
                est = f" (~{clock(estimate)} est.)" if estimate else ""
                self.bar = tqdm(total=total, unit=unit, desc=f"{label}: {what}{est}", file=sys.stderr)
        if self._clock is None:
            self._clock = threading.Thread(target=self._run_clock, name="nasbench-lab progress", daemon=True)
            self._clock.start()

    def __call__(self, ev) -> None:
        p = ev.payload
        with self.lock:
            if ev.kind == "run_started":
                one_shot = self.family == "one-shot"
                self.t0 = time.monotonic()
                self.begin(p["strategy"], p["budget"], "supernet epochs" if one_shot else "evaluations",
                           "epoch" if one_shot else "eval", p.get("estimated_seconds"))
            elif ev.kind == "stage":
                self._stage(p)
            elif ev.kind == "evaluation" and (self.family != "one-shot" or self.what != "supernet epochs"):
                self._advance(1, fresh=not p.get("replayed"))
                m = p.get("metrics") or {}
                b = p.get("best_val_acc")
                if b is not None:
                    self.best = f"best {m['proxy']} score {b:.4g}" if "proxy" in m else f"best {b:.2f} % val"
            elif ev.kind == "epoch" and self.what in ("supernet epochs", "epochs"):
                self._advance(p["epoch"] - self.done)
                self.steps = None
                for key, word in (("val_acc", "val acc"), ("train_acc", "train acc")):
                    if p.get(key) is not None and p[key] == p[key]:
                        self.detail = f"{word} {p[key]:.2f} % after epoch {p['epoch']}"
                        break
            elif ev.kind == "step" and self.what == "epochs":
                self.steps = (p["epoch"], p["step"], p["of"])
            elif ev.kind == "progress" and self.what == "supernet epochs":
                # within a supernet epoch (minutes on a CPU): its step and running train accuracy
                self.steps = (self.done + 1, p["step"], p["steps"])
                if p.get("train_acc") is not None:
                    self.detail = f"train acc {p['train_acc']:.2f} % in epoch {self.done + 1}"
                if self.bar is not None:
                    self.bar.set_postfix_str(f"epoch {self.done + 1} step {p['step']}/{p['steps']}, "
                                             f"{self.detail}", refresh=False)
            elif ev.kind in ("run_finished", "run_failed"):
                self._quit.set()
                if self.bar is not None:
                    self.bar.close()
                    self.bar = None

    def _stage(self, p: dict) -> None:
        n, est = p["candidates"], p["estimator"]
        doing = "re-trained from scratch" if p.get("trains") else f"scored by {est}"
        if not self.terminal:
            self._write(f"{self.label}: supernet search done ({self.done}/{self.total} epochs, "
                        f"{clock(time.monotonic() - self.t0)}); now {plural(n, 'chosen cell')} "
                        f"{'re-trained from scratch' if p.get('trains') else 'scored'} by the {est} estimator")
        self.begin(self.label, n, f"chosen cells {doing}", "cell")
        self.staged = True

    def _advance(self, n: int, fresh: bool = True) -> None:
        self.done += n
        if fresh:
            self.fresh += n
            self.t_done = time.monotonic()
        if self.bar is not None:
            self.bar.update(n)
            if self.best or self.detail:
                self.bar.set_postfix_str(self.best or self.detail, refresh=False)

    # ------------------------------------------------------------------ plain lines
    def line(self) -> str:
        """The progress line a log gets now."""
        now = time.monotonic()
        stage = now - self.stage_t0
        parts = [f"{self.label}: {self.done}/{self.total} {self.what}"]
        if self.steps is not None:
            parts[0] += f" (epoch {self.steps[0]}: step {self.steps[1]}/{self.steps[2]})"
        parts += [x for x in (self.best, self.detail) if x]
        if self.staged:
            parts.append(f"{clock(stage)} in this stage")
        parts.append(f"{clock(now - self.t0)} elapsed")
        left = self._left(stage)
        if left is not None:
            parts.append(f"~{clock(left)} left")
        return ", ".join(parts)

    def _left(self, stage: float) -> float | None:
        """Seconds left in this stage at the rate so far (or the run's estimate before a first result)."""
        if self.steps is not None:               # ``train``: steps are the finer clock
            epoch, step, of = self.steps
            done, todo = (epoch - 1) * of + step, self.total * of
            return stage / done * (todo - done) if done else None
        if self.fresh:                           # the rate up to the last result, counted down since then
            per = (self.t_done - self.stage_t0) / self.fresh
            return max(0.0, per * max(0, self.total - self.done) - (time.monotonic() - self.t_done))
        return max(0.0, self.estimate - stage) if self.estimate else None

    def _write(self, text: str) -> None:
        sys.stderr.write(text + "\n")
        sys.stderr.flush()
        self.last_line = time.monotonic()

    def _run_clock(self) -> None:
        while not self._quit.wait(min(self.TICK, self.INTERVAL)):
            with self.lock:
                if self._quit.is_set():
                    return
                if self.bar is not None:
                    self.bar.refresh()               # the elapsed time moves during a long evaluation
                elif not self.terminal and time.monotonic() - self.last_line >= self.INTERVAL:
                    self._write(self.line())


class GracefulStop:
    """Ctrl-C during a search, as its message says.

    The first Ctrl-C lets the evaluation in flight finish, then stops: it is recorded, and ``resume``
    continues the run. Why the stop flag waits for that evaluation's event instead of being set at
    once: the training loop checks the flag between steps, so setting it would cut the training short
    and the driver would drop it as unfinished (0 evaluations after 44 s of training). A one-shot
    strategy's supernet training is no evaluation: there the flag is set at once and the message says
    that no cell will be scored; once it scores its chosen cells (the ``stage`` event), Ctrl-C finishes
    the one in flight like any evaluation. The second Ctrl-C stops at once (KeyboardInterrupt: the
    evaluation in flight is lost, the finished ones are kept in the store).

    Used as the search's ``stop`` (anything with ``is_set``) and subscribed to its events.
    """

    def __init__(self, family: str = "multi-trial", in_flight: int = 1):
        self.flag = StopFlag()
        self.asked = False                             # the first Ctrl-C came
        self.evaluating = family != "one-shot"         # False while a supernet trains
        self.slots = in_flight                         # evaluations in flight at once (async strategies)
        self._old = None

    def is_set(self) -> bool:
        return self.flag.is_set()

    __bool__ = is_set

    def __call__(self, ev) -> None:
        if ev.kind == "stage":
            self.evaluating = True
        elif ev.kind == "evaluation" and self.asked and not ev.payload.get("replayed"):
            self.flag.set()                            # the evaluation in flight is finished and recorded

    def request(self) -> str:
        """The first Ctrl-C (also what tests call): ask to stop; returns the line that says what happens."""
        self.asked = True
        if not self.evaluating:
            self.flag.set()
            return ("stopping the supernet training at its next step; a one-shot run stopped before its end "
                    "scores no cell (Ctrl-C again: stop at once)")
        if self.slots > 1:
            return ("finishing the first of the evaluations in flight, then stopping; it will be recorded and "
                    "the others dropped (Ctrl-C again: stop at once and lose it)")
        return ("finishing the evaluation in flight, then stopping; it will be recorded (Ctrl-C again: stop at "
                "once and lose it)")

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            def handler(signum, frame):
                if self.asked:
                    raise KeyboardInterrupt                # the second: at once
                sys.stderr.write(f"\nnasbench-lab: Ctrl-C: {self.request()}\n")
                sys.stderr.flush()
            self._old = signal.signal(signal.SIGINT, handler)
        return self

    def __exit__(self, kind, exc, tb):
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)


def shown_path(path: str) -> str:
    """A store path as people should read it: absolute, so it can be found from any folder."""
    return path if path == ":memory:" else os.path.abspath(path)


def _store_hint(args, store) -> tuple[str | None, str]:
    """The store's path as people read it, and the flag a later command needs to find it again."""
    if store is None:
        return None, ""
    path = getattr(store, "path", store)
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
