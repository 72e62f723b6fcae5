"""The Lab's run state: what the progress bar and status line say, from Run to the run's end, whatever
the student does meanwhile (switch the strategy dropdown, press Stop, select a tab, start a bad run).

Each test drives a real ``Lab`` without a browser: set ``.value``, call ``run``/``stop``, wait, read the
widgets' values. The one-shot runs are classroom-small (a few seconds on one CPU thread).
"""
from __future__ import annotations

import re
import time

import pytest

import viz_streams as vs
from nasbench_lab.events import Event

pytest.importorskip("ipywidgets")
pytest.importorskip("plotly")
pytest.importorskip("anywidget")

from nasbench_lab import widgets as W  # noqa: E402
from test_widgets import _wait  # noqa: E402  (one polling helper for the widget tests)

FAST = "synthetic"
# The smallest DARTS and SPOS searches worth a status line: two supernet epochs on a few images.
TINY_DARTS = {"skeleton": {"C": 4, "N": 1}, "train_subset": 128, "val_subset": 128, "eval_subset": 64,
              "batch_size": 32}
TINY_SPOS = {"scale": "classroom", "population": 4, "generations": 2}


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """Why: on a shared 2-core machine two OpenMP threads per process make a tiny step take seconds."""
    import torch
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _lab(**kw):
    kw.setdefault("estimator", FAST)
    kw.setdefault("dataset", "synthetic")
    return W.Lab(refresh_hz=10, **kw)


def _text(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


# ---------------------------------------------------------------------- one-shot: epochs, then candidates
def test_spos_bar_counts_supernet_epochs_then_the_scored_candidates():
    lab = _lab(strategy="spos", budget=2, strategy_options=TINY_SPOS)
    assert "Alphas" not in lab._shown                   # SPOS emits no alphas: no tab waiting for them
    bars = []
    lab.progress.observe(lambda _: bars.append((lab.progress.value, lab.progress.max)), names=["value", "max"])
    lab.run()
    assert lab.wait(120) and lab.state == "finished", lab.error.value
    n = len(lab.result.evaluations)                     # the final candidates the driver scored (top_k)
    assert n == 3
    assert (2, 2) in bars                               # stage 1: two supernet epochs of two
    assert bars[-1] == (n, n)                           # stage 2, ended: every candidate scored, a full bar
    assert lab.progress.bar_style == "success"
    assert f"final candidates scored {n}/{n}" in _text(lab.status.value)
    assert "Alphas" not in lab._shown


def test_darts_ends_with_a_full_bar_though_the_dropdown_moved_on():
    """One DARTS run; the dropdown switched to evolution while it runs. The tabs and the status line
    keep describing the DARTS run (the one on screen), and the finished bar is full."""
    lab = _lab(strategy="darts", budget=2, strategy_options=TINY_DARTS)
    lab.run()
    lab.strategy.value = "evolution"                    # the student prepares the next run
    assert "Alphas" in lab._shown and "Population" not in lab._shown
    assert _wait(lambda: "supernet epoch" in _text(lab.status.value), 30), lab.status.value
    assert lab.wait(120) and lab.state == "finished", lab.error.value
    assert "Alphas" in lab._shown
    assert "final candidates scored 1/1" in _text(lab.status.value), lab.status.value
    assert (lab.progress.value, lab.progress.max, lab.progress.bar_style) == (1, 1, "success")


# ---------------------------------------------------------------------- Stop
def test_stopping_is_shown_until_the_run_has_ended():
    # each evaluation sleeps 2 s without looking at the stop flag: Stop is heard, the run ends later
    lab = _lab(strategy="random", budget=3, estimator_options={"delay": 2.0})
    lab.run()
    time.sleep(0.3)
    lab.stop()
    assert lab.state == "stopping" and "stopping" in lab.status.value
    time.sleep(1.2)                                     # two heartbeats: they must not say "running" again
    assert lab.running and "stopping" in lab.status.value, lab.status.value
    assert lab.run_button.disabled                      # Run stays off until the search has ended
    assert lab.wait(10) and lab.state == "stopped"
    assert _text(lab.status.value).startswith("stopped")


def test_stop_does_not_wait_for_the_pace():
    lab = _lab(strategy="random", budget=10, pace=4.0)
    lab.run()
    time.sleep(0.5)                                     # inside the first evaluation's 4 s pace
    t0 = time.monotonic()
    lab.stop()
    assert lab.wait(5) and lab.state == "stopped"
    assert time.monotonic() - t0 < 1.0                  # a whole-pace sleep took ~3.5 s here


# ---------------------------------------------------------------------- a failure before the run starts
def test_a_run_refused_before_it_starts_leaves_nothing_of_the_last_run():
    lab = _lab(strategy="random", budget=5)
    lab.run()
    assert lab.wait(30) and lab.state == "finished" and lab.progress.value == 5
    lab.strategy_options.value = "{not json"
    lab.run()
    assert not lab.running and lab.state == "failed" and "JSON" in lab.error.value
    assert lab.progress.value == 0 and lab.progress.bar_style != "success"
    assert lab.result is None and lab.panels["History"].pane.points() == 0


def test_whitespace_in_the_advanced_boxes_means_no_options():
    lab = _lab(strategy="random", budget=5)
    lab.strategy_options.value, lab.estimator_options.value = " ", "\n"
    assert lab.problems() == [] and not lab.run_button.disabled
    lab.run()
    assert lab.wait(30) and lab.state == "finished", lab.error.value


# ---------------------------------------------------------------------- tabs, warnings, infeasibility
def test_a_new_tab_keeps_the_selected_one():
    lab = _lab(strategy="random")
    lab.tabs.selected_index = lab._shown.index("Pareto")
    for ev in vs.alphas_stream(2):                      # an Alphas tab appears, before Pareto
        lab._on_event(ev)
    lab._throttle.flush()
    assert "Alphas" in lab._shown
    assert lab._shown[lab.tabs.selected_index] == "Pareto"


def test_an_old_warning_is_gone_after_a_clean_run():
    lab = _lab(strategy="random", budget=5)
    lab._on_event(Event("ranking", {"oneshot": [1, 2, 3], "scratch": [1, 2]}, "x"))   # lengths differ
    lab._throttle.flush()
    assert lab.panels["Ranking"].errors and "warning" in lab.error.value
    lab._throttle.errors.append("ValueError: an earlier redraw failed")
    lab.run()
    assert lab.wait(30) and lab.state == "finished"
    assert lab.error.value == "" and not lab.panels["Ranking"].errors and not lab._throttle.errors


def test_the_status_says_when_no_candidate_met_a_hard_limit():
    lab = _lab(strategy="random", budget=5, objective="flops<=20M")    # synthetic cells are all past it
    lab.run()
    assert lab.wait(30) and lab.state == "finished", lab.error.value
    assert "no candidate met the limit of flops&lt;=20M" in lab.status.value
    lab.objective.value = "flops<=100G"                                 # every cell meets this one
    lab.run()
    assert lab.wait(30) and lab.state == "finished", lab.error.value
    assert "best" in lab.status.value and "no candidate met" not in lab.status.value
