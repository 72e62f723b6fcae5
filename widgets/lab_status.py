"""The ``Lab``'s status line: what is done, the best so far, what trains now, the time, the estimate.

A mixin of ``Lab`` (lab.py), which owns the state it reads (the counts, the last epoch, step and
progress events, the clock) and calls ``_show_status`` from its throttled redraw and from the heartbeat
thread here. Kept apart so that lab.py reads in one sitting: there the run and its panels, here the one
line that tells a student whether anything is happening.
"""
from __future__ import annotations

import html
import threading
import time

from nasbench_lab.search import format_duration

from .presets import ONE_SHOT


class LabStatus:
    """The status line, progress bar and error box of a ``Lab`` (see the module text)."""

    def _heartbeat(self, thread: threading.Thread, every: float = 0.5) -> None:
        """While the search runs: the status line's elapsed time and epoch, twice a second (a candidate
        that trains for a minute must not look like a hung kernel)."""
        while thread.is_alive():
            thread.join(every)
            if thread.is_alive() and self.state == "running":
                self._show_status()

    def _show_status(self, counts=None, best=None) -> None:
        """The status line and the progress bar: what is done, the best so far, what trains now, time."""
        if counts is None:
            with self._lock:
                counts, best = dict(self._counts), self._best
        epoch, prog = self._epoch, self._progress
        done = counts["evaluation"]
        one_shot = (counts["epoch"] > 0 or prog is not None) and self.strategy.value in ONE_SHOT
        self.progress.value = min(self.progress.max, counts["epoch"] if one_shot and not done else done)
        now = time.perf_counter()
        secs = now - self._t0
        best_txt = f", best {best[1]:.2f}" if best and best[1] is not None else ""
        if one_shot and not done:
            total = epoch[1] if epoch and epoch[1] else (prog or {}).get("of")
            of = f"/{total}" if total else ""
            what = f"supernet epoch {counts['epoch']}{of}"
            if prog is not None and isinstance(prog.get("train_acc"), (int, float)):    # within the next epoch
                what += (f" (epoch {counts['epoch'] + 1}: step {prog.get('step')}/{prog.get('steps')}, "
                         f"train acc {prog['train_acc']:.1f} %)")
        else:
            what = f"{done}/{self.progress.max} evaluations"
        if self.state == "running":
            now_txt = ""
            if not (one_shot and not done) and self.strategy.value not in ONE_SHOT:
                step = self._step
                ep = f"epoch {epoch[0]}/{epoch[1]} done, " if epoch and epoch[0] is not None else ""
                if step and step[1] is not None:
                    ep += f"epoch {step[0]} step {step[1]}/{step[2]}, "
                now_txt = f" — candidate {done + 1}: {ep}{now - self._cand_t0:.0f} s on it"
            self.status.value = f"<b>running</b> — {what}{best_txt}{now_txt} — {secs:.1f} s{self._estimate_text()}"
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
