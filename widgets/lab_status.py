"""The ``Lab``'s status line: what is done, the best so far, what trains now, the time, the estimate.

A mixin of ``Lab`` (lab.py), which calls ``_note_event`` from its event subscriber and ``_show_status``
from its throttled redraw and from the heartbeat thread here. This part keeps what the line needs (the
counts, the last epoch, step, progress and stage events, the clock, the parameters of the run that is
on). Kept apart so that lab.py reads in one sitting: there the run and its panels, here the one line that
tells a student whether anything is happening.

What the bar counts: a multi-trial search's evaluations (of the budget); a one-shot search's supernet
epochs, then, once its ``stage`` event says how many final candidates the run's estimator scores, those.
"""
from __future__ import annotations

import html
import threading
import time

from nasbench_lab.objectives import parse_objective
from nasbench_lab.search import format_duration

from .presets import ONE_SHOT

# The states in which a search thread is on: "stopping" is Stop pressed, the search not yet ended.
ACTIVE = ("running", "stopping")


class LabStatus:
    """The status line, progress bar and error box of a ``Lab`` (see the module text)."""

    def _init_status(self) -> None:
        """The locks and the empty status state (the constructor calls it once)."""
        self._lock = threading.Lock()              # the event counts: the search thread writes, redraws read
        # Why a second lock: a state change (Stop, the run's end) and a status redraw must not interleave,
        # or the heartbeat can write "running" after the run's final "finished" line
        self._state_lock = threading.RLock()
        self._reset_status(None)

    def _reset_status(self, params: dict | None) -> None:
        """Forget the last run: counts, epochs, stage, clock; the bar back to empty (``params``: the run
        about to start, or None when there is none)."""
        with self._lock:
            self._run_params = params           # what runs (the dropdowns may name another meanwhile)
            self._seen_kinds, self._counts, self._best = set(), {"evaluation": 0, "epoch": 0}, None
            self._epoch = None                  # the last epoch event: (epoch, of), for the heartbeat
            self._estimate = None               # run_started's estimated_seconds (large multi-trial budgets)
            self._step = None                   # the candidate's training step: (epoch, step, of), for the heartbeat
            self._progress = None               # a one-shot search's last progress event since its last epoch
            self._stage = None                  # a one-shot search's "stage" event: its scoring has begun
            self._feasible = False              # an evaluation met the objective's hard limits
            try:
                objective = params and params.get("objective")
                self._limits = bool(objective) and bool(getattr(parse_objective(objective), "limits", ()))
            except ValueError:                  # the run itself fails on it, saying why
                self._limits = False
            self._t0 = self._cand_t0 = time.perf_counter()
        self.progress.value, self.progress.bar_style = 0, ""
        if params is not None:
            self.progress.max = params["budget"]

    def _note_event(self, kind: str, p: dict) -> None:
        """Record what the status line shows from one event of the run (the search thread calls it)."""
        with self._lock:
            self._seen_kinds.add(kind)
            if kind in self._counts:
                self._counts[kind] += 1
            if kind == "run_started":
                self._estimate = p.get("estimated_seconds")
            elif kind == "evaluation":
                self._best = (p.get("best_arch"), p.get("best_val_acc"))
                obj = p.get("objective")
                # why >= 0 means feasible: a hard limit scores a candidate past it -(metric / limit) < -1,
                # every other objective is an accuracy times positive factors (nasbench_lab/objectives.py)
                self._feasible = self._feasible or (isinstance(obj, (int, float)) and obj >= 0)
                self._epoch, self._step, self._cand_t0 = None, None, time.perf_counter()
            elif kind == "epoch":
                self._epoch, self._progress = (p.get("epoch"), p.get("of")), None
            elif kind == "progress":
                self._progress = p
            elif kind == "stage":
                # the supernet's last epoch is no candidate's: the scoring's own epochs come from the estimator
                self._stage, self._epoch, self._step, self._cand_t0 = p, None, None, time.perf_counter()

    def _heartbeat(self, thread: threading.Thread, every: float = 0.5) -> None:
        """While the search runs: the status line's elapsed time and epoch, twice a second (a candidate
        that trains for a minute must not look like a hung kernel)."""
        while thread.is_alive():
            thread.join(every)
            if thread.is_alive() and self.state in ACTIVE:
                self._show_status()

    def _bar_and_text(self, counts: dict, epoch, prog, stage) -> tuple[int, int, str]:
        """The bar's max and value and the words for what they count (see the module text)."""
        run = self._run_params or {}
        done = counts["evaluation"]
        if run.get("strategy") not in ONE_SHOT:
            total = run.get("budget", self.progress.max)
            return total, done, f"{done}/{total} evaluations"
        if stage is None:                           # stage 1: the supernet trains
            total = (epoch[1] if epoch and epoch[1] else (prog or {}).get("of")) or run.get("budget", 1)
            what = f"supernet epoch {counts['epoch']}/{total}"
            if prog is not None and isinstance(prog.get("train_acc"), (int, float)):    # within the next epoch
                what += (f" (epoch {counts['epoch'] + 1}: step {prog.get('step')}/{prog.get('steps')}, "
                         f"train acc {prog['train_acc']:.1f} %)")
            return total, counts["epoch"], what
        n = stage.get("candidates") or 1              # stage 2: the run's estimator scores the final candidates
        return n, done, f"supernet trained ({counts['epoch']} epochs), final candidates scored {done}/{n}"

    def _show_status(self) -> None:
        """The status line and the progress bar: what is done, the best so far, what trains now, time."""
        with self._state_lock:
            with self._lock:
                counts, best, feasible = dict(self._counts), self._best, self._feasible
                epoch, prog, stage, step = self._epoch, self._progress, self._stage, self._step
            total, value, what = self._bar_and_text(counts, epoch, prog, stage)
            if self.state == "finished":
                value = total                          # a run that ended of itself has done all there is
            self.progress.max = max(1, total)          # max first: a value past the old max would be clipped
            self.progress.value = min(self.progress.max, value)
            now = time.perf_counter()
            secs = now - self._t0
            best_txt = f", best {best[1]:.2f}" if best and best[1] is not None else ""
            if best_txt and self._limits and not feasible:
                limit = html.escape(str(self._run_params.get("objective")))
                best_txt += (f" <span style='color:#a05a00'>(no candidate met the limit of {limit}: this best "
                             f"is the one least over it)</span>")
            if self.state == "running":
                now_txt = ""
                candidates = (self._run_params or {}).get("strategy") not in ONE_SHOT or stage is not None
                if candidates:                         # a candidate trains (not a supernet): name its epoch
                    ep = f"epoch {epoch[0]}/{epoch[1]} done, " if epoch and epoch[0] is not None else ""
                    if step and step[1] is not None:
                        ep += f"epoch {step[0]} step {step[1]}/{step[2]}, "
                    now_txt = f" — candidate {counts['evaluation'] + 1}: {ep}{now - self._cand_t0:.0f} s on it"
                self.status.value = (f"<b>running</b> — {what}{best_txt}{now_txt} — {secs:.1f} s"
                                     f"{self._estimate_text()}")
            elif self.state == "stopping":             # kept until the run ends: Stop was heard
                self.status.value = f"<b style='color:#b8860b'>stopping ...</b> — {what}{best_txt} — {secs:.1f} s"
            else:
                colour = {"finished": "green", "stopped": "#b8860b", "failed": "red"}.get(self.state, "black")
                self.status.value = f"<b style='color:{colour}'>{self.state}</b> — {what}{best_txt} — {secs:.1f} s"
                self.progress.bar_style = {"finished": "success", "stopped": "warning", "failed": "danger"}.get(
                    self.state, "")

    def _estimate_text(self) -> str:
        """" of about 3 h (estimate)": the run's cost as the search timed it before the first evaluation.

        Why in the status line from the start: "budget 5000" at a training fidelity is days of CPU; the
        student should read that at once and press Stop, not infer it from the progress bar an hour later.
        """
        est = self._estimate
        if not est:
            return ""
        long = est > 900
        style = " style='color:#a05a00'" if long else ""
        tail = "; Stop ends it" if long else ""
        return f" <span{style}>of about {format_duration(est)} (estimated{tail})</span>"

    def _show_error(self, message: str, kind: str = "error") -> None:
        colour = "#a00" if kind == "error" else "#8a6d00"
        self.error.value = (f"<div style='color:{colour};border:1px solid {colour};padding:4px 8px;"
                            f"border-radius:4px'><b>{kind}:</b> {html.escape(message)}</div>")
        if kind == "error":
            self.errors.append(message)
            self.status.value = "<b style='color:red'>failed</b>"
