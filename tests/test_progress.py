"""Issue 30: a one-shot search shows its first live point after a step, not after its first supernet epoch.

The ``progress`` events (``nasbench_lab.oneshot.Progress``): when they come and how they are throttled;
that each one-shot strategy at classroom scale sends its first one after its first step, long before
its first epoch ends, without changing the search; how the figures draw them (fractional epochs,
end-of-epoch semantics kept); and the Lab, the store and the replay with them.
"""
from __future__ import annotations

import time

import pytest

import viz_streams as vs
from nasbench_lab import EventLog, get_space, search, viz
from nasbench_lab.data import load_dataset
from nasbench_lab.events import KINDS, StopFlag
from nasbench_lab.oneshot import PROGRESS_PER_EPOCH, Progress
from nasbench_lab.viz import records as rec

pytestmark = pytest.mark.usefixtures("one_thread")

TINY_FIDELITY = {"epochs": 1, "train_subset": 64, "val_subset": 64, "test_subset": 0, "batch_size": 32}


@pytest.fixture(scope="module")
def syn():
    return load_dataset("synthetic")


# ---------------------------------------------------------------------- the throttle
class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def _steps(prog, clock, epochs, steps, dt):
    """Run the throttle over ``epochs`` x ``steps`` steps of ``dt`` seconds; the (epoch, step) reported."""
    out = []
    for e in range(epochs):
        for s in range(1, steps + 1):
            clock.t += dt
            if prog.due(e, s):
                prog.report(e, s, 3.0 * s, 2 * s, 4 * s)
                out.append((e, s))
    return out


def test_progress_reports_the_first_step_then_by_seconds_and_never_an_epochs_last_step():
    clock, log = Clock(), EventLog()
    prog = Progress(lambda kind, **p: log.events.append((kind, p)), epochs=2, steps=10, every_s=2.0, clock=clock)
    got = _steps(prog, clock, 2, 10, dt=0.5)                     # a slow CPU: 0.5 s a step
    assert got[0] == (0, 1)                                       # the first live point: after one step
    assert all(s != 10 for _, s in got)                           # the epoch event covers the last step
    assert [s for e, s in got if e == 0] == [1, 5, 9] and [s for e, s in got if e == 1] == [3, 7]
    kind, p = log.events[0]
    assert kind == "progress" and p["epoch"] == 0.1 and p["step"] == 1 and p["steps"] == 10 and p["of"] == 2
    assert p["train_loss"] == pytest.approx(0.75) and p["train_acc"] == pytest.approx(50.0)
    assert [q["epoch"] for _, q in log.events] == [0.1, 0.5, 0.9, 1.3, 1.7]      # fractional epochs


def test_progress_does_not_flood_a_fast_run_and_can_be_turned_off():
    clock = Clock()
    fast = Progress(lambda *a, **k: None, epochs=3, steps=1000, every_s=0.0, clock=clock)
    got = _steps(fast, clock, 3, 1000, dt=0.001)                  # a GPU: a thousand 1 ms steps an epoch
    per_epoch = [sum(e == k for e, _ in got) for k in range(3)]
    assert max(per_epoch) <= PROGRESS_PER_EPOCH and min(per_epoch) >= PROGRESS_PER_EPOCH - 1
    timed = Progress(lambda *a, **k: None, epochs=3, steps=1000, every_s=2.0, clock=(clock := Clock()))
    assert len(_steps(timed, clock, 3, 1000, dt=0.001)) == 2      # 3 s of steps: t=0.001 and t=2.001
    off = Progress(lambda *a, **k: None, epochs=3, steps=10, every_s=None, clock=(clock := Clock()))
    assert _steps(off, clock, 3, 10, dt=1.0) == []
    assert "progress" in KINDS


# ---------------------------------------------------------------------- the strategies at classroom scale
CASES = [("darts", "nb201", {}), ("enas", "nb201", {}), ("spos", "nb201", {}),
         ("proxyless", "mobile", {"latency_repeats": 1})]


@pytest.mark.parametrize("strategy,space,extra", CASES, ids=[c[0] for c in CASES])
def test_a_classroom_one_shot_run_reports_after_its_first_step(syn, strategy, space, extra):
    """Without ``progress`` the first thing a classroom run drew was its first ``epoch`` event (23 steps
    here, 31 on Fashion-MNIST: 13-30 s on a loaded 2-core CPU). Stopped at the first report: quick."""
    log, stop = EventLog(), StopFlag()

    def on(ev):
        log(ev)
        if ev.kind == "progress":
            stop.set()
    t0 = time.perf_counter()
    res = search(space, strategy, "lowfi", budget=3, dataset="synthetic", device="cpu", seed=0,
                 strategy_options={"scale": "classroom", **extra},
                 estimator_options={"data": syn, "fidelity": TINY_FIDELITY}, on_event=on, stop=stop)
    kinds = [e.kind for e in log.events]
    assert "progress" in kinds, kinds                              # the first point: before any epoch event
    assert kinds.index("progress") < (kinds.index("epoch") if "epoch" in kinds else len(kinds)), kinds
    p = log.of("progress")[0].payload
    assert p["step"] == 1 and p["steps"] == 1500 // 64 and p["of"] == 3
    assert p["epoch"] == round(1 / p["steps"], 4) and 0 <= p["train_acc"] <= 100 and p["train_loss"] > 0
    assert res.stopped and time.perf_counter() - t0 < 120
    sp = get_space(space)
    if strategy in ("darts", "proxyless"):                       # the alphas so far, as an alphas event has them
        rows = p["weights"] if isinstance(p["weights"], list) else [r for v in p["weights"].values() for r in v]
        assert len(rows) == len(p["edges"]) and all(abs(sum(r) - 1) < 1e-4 for r in rows)
        assert all(len(r) == len(p["ops"]) for r in rows)
    if strategy in ("enas", "spos", "proxyless"):                # the path this step trained
        assert sp.to_str(sp.from_str(p["arch"])) == p["arch"]
    if strategy == "enas":                                       # the frozen controller's policy along that path
        assert p["controller_step"] == 0 and len(p["probs"]) == len(p["decisions"]) == len(sp.decisions())
        assert all(abs(sum(r) - 1) < 1e-3 for r in p["probs"])


TINY = {"train_subset": 256, "val_subset": 128, "batch_size": 32}


@pytest.mark.parametrize("strategy,space,extra", [
    ("darts", "nb201", {"eval_subset": 64}),
    ("enas", "nb201", {"controller_steps": 2, "aggregate": 2, "final_samples": 4, "reward_batch": 64}),
    ("spos", "nb201", {"population": 4, "generations": 2, "parents": 2, "top_k": 1, "bn_batches": 1,
                       "bn_batch_size": 64}),
    ("proxyless", "mobile", {"eval_subset": 64, "skeleton": {"width_mult": 0.25}, "latency_table": "fake"}),
], ids=["darts", "enas", "spos", "proxyless"])
def test_progress_events_leave_the_search_and_its_epoch_events_as_they_were(syn, strategy, space, extra):
    """The same seed with a report at every allowed step and with none: the same epochs, alphas,
    controller updates and result (a report reads the state, it draws no random number)."""
    if extra.get("latency_table") == "fake":                      # a measured table differs run to run
        sp = get_space(space)
        extra = {**extra, "latency_table": {k.lut_key(): 0.01 * i for i, k in enumerate(
            sp.op_table_keys(None, input_size=16, width_mult=0.25))}}

    def run(progress_s):
        log = EventLog()
        res = search(space, strategy, "lowfi", budget=2, dataset="synthetic", device="cpu", seed=0,
                     strategy_options={**TINY, **extra, "progress_s": progress_s},
                     estimator_options={"data": syn, "fidelity": TINY_FIDELITY}, on_event=log)
        return res, log
    (r0, quiet), (r1, loud) = run(None), run(0)
    assert not quiet.of("progress")
    steps = 256 // 32
    got = [(e.payload["epoch"], e.payload["step"]) for e in loud.of("progress")]
    assert got == [(round(k + s / steps, 4), s) for k in range(2) for s in range(1, steps)]   # all but the last
    assert [e.kind for e in loud.events if e.kind != "progress"] == [e.kind for e in quiet.events]
    for kind in ("epoch", "alphas", "controller", "population"):
        a = [{k: v for k, v in e.payload.items() if k != "seconds"} for e in quiet.of(kind)]
        b = [{k: v for k, v in e.payload.items() if k != "seconds"} for e in loud.of(kind)]
        assert a == b, kind
    assert [e.arch for e in r0.evaluations] == [e.arch for e in r1.evaluations]


# ---------------------------------------------------------------------- the figures
def test_history_draws_the_running_accuracy_at_fractional_epochs_before_the_first_epoch():
    evs = vs.progress_stream(epochs=1, finish_last=False)        # inside the first epoch: no epoch event yet
    s = viz.history_spec(evs)
    assert [a["text"] for a in s["layout"]["annotations"]][:2] == ["evaluations", "training epochs"]
    run = next(t for t in s["data"] if t["name"].startswith("train_acc within"))
    assert run["x"] == [0.25, 0.5, 0.75] and run["y"] == [22, 24, 26] and run["xaxis"] == "x2"
    assert all(not t["x"] for t in s["data"] if t["name"].startswith("epoch "))


def test_history_keeps_one_point_per_epoch_and_draws_each_epochs_running_segment_to_it():
    evs = vs.progress_stream(epochs=2)
    s = viz.history_spec(evs)
    ep = next(t for t in s["data"] if t["name"] == "epoch train_acc")
    assert ep["x"] == [1, 2] and ep["y"] == [30, 40]             # end-of-epoch points as before
    run = next(t for t in s["data"] if t["name"].startswith("train_acc within"))
    # epoch 1's running accuracy ends on its epoch point; a gap; epoch 2's does the same
    assert run["x"] == [0.25, 0.5, 0.75, 1, None, 1.25, 1.5, 1.75, 2]
    assert run["y"] == [22, 24, 26, 30, None, 32, 34, 36, 40]
    assert "path |skip_connect~0|" in run["text"][0]
    assert viz.history_spec(vs.alphas_stream(3))["data"][-1]["name"] == "epoch val_acc"   # no progress: as before


@pytest.mark.parametrize("darts", [False, True])
def test_alpha_lines_pass_through_the_within_epoch_alphas_and_the_epochs_stay_whole(darts):
    evs = vs.progress_stream(epochs=2, darts=darts)
    h = rec.alpha_history(evs)                                    # the default: one entry per alphas event
    assert [c["epochs"] for c in h.values()][0] == [1, 2]
    hw = rec.alpha_history(evs, within_epoch=True)
    assert list(hw.values())[0]["epochs"] == [0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2]
    assert list(hw.values())[0]["derived"] == [None, None, None, "(derived)"] * 2
    s = viz.alpha_evolution_spec(evs)
    line = next(t for t in s["data"] if t["name"] == "skip_connect")
    assert line["x"] == [0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2]
    assert line["y"] == sorted(line["y"])                         # skip_connect grows through the epochs
    first = viz.alpha_evolution_spec(vs.progress_stream(epochs=1, darts=darts, finish_last=False))
    assert next(t for t in first["data"] if t["name"] == "skip_connect")["x"] == [0.25, 0.5, 0.75]
    assert viz.alpha_slider_spec(evs)["layout"]["sliders"][0]["steps"][-1]["label"] == "2"   # whole epochs


def test_alpha_history_thins_old_within_epoch_points_and_keeps_the_current_epochs():
    evs = vs.progress_stream(epochs=20, steps=40, every=2, finish_last=False)    # 19 x 19 + 19 snapshots
    h = rec.alpha_history(evs, within_epoch=True, limit=50)["cell"]
    epochs = h["epochs"]
    assert [e for e in epochs if e == int(e)] == list(range(1, 20))              # every epoch kept
    assert [e for e in epochs if e > 19] == [round(19 + s / 40, 4) for s in range(2, 40, 2)]   # the live tail
    assert len([e for e in epochs if e < 19 and e != int(e)]) <= 50 and epochs == sorted(epochs)


def test_controller_panel_starts_at_step_0_with_the_policy_before_the_first_update():
    first = vs.progress_stream(epochs=1, probs=True, finish_last=False)
    h = rec.controller_history(first, within_epoch=True)
    assert h["steps"] == [0] and h["reward_mean"] == [None] and len(h["probs"][0]) == 6
    assert rec.controller_history(first)["steps"] == []          # the default: controller events only
    s = viz.controller_spec(first)
    choice = next(t for t in s["data"] if t.get("legendgroup") == "choice 0")
    assert choice["x"] == [0] and choice["mode"] == "lines+markers"          # one point, drawn as a marker
    full = vs.progress_stream(epochs=3, probs=True)
    assert rec.controller_history(full, within_epoch=True)["steps"] == [0, 1, 2, 3]


def test_the_dag_title_says_a_snapshot_is_within_an_epoch():
    p = rec.records(vs.progress_stream(epochs=1, finish_last=False), "progress")[0]
    assert viz.alpha_dag_spec(p)["layout"]["title"]["text"].startswith("alphas at epoch 0.25 (step 2/8)")


# ---------------------------------------------------------------------- the panels, the Lab, the store
def _widgets():
    W = pytest.importorskip("nasbench_lab.widgets")
    if not W.widgets_available():
        pytest.skip("needs ipywidgets, plotly and anywidget")
    return W


def test_panels_have_points_before_the_first_epoch_event():
    W = _widgets()
    evs = vs.progress_stream(epochs=1, finish_last=False)
    hist, alphas = W.HistoryView(auto_refresh=False), W.AlphaView(auto_refresh=False)
    for v in (hist, alphas):
        for ev in evs:
            v.on_event(ev, redraw=False)
        v.refresh()
    assert hist.pane.points() == 3 and alphas.pane.points() > 0 and not hist.errors and not alphas.errors
    assert alphas.epochs() == [] and alphas.dag_pane.points() > 0
    assert alphas.dag_pane.spec["layout"]["title"]["text"].startswith("alphas at epoch 0.75")
    ctrl = W.ControllerView(space="nb201", auto_refresh=False)
    for ev in vs.progress_stream(epochs=1, probs=True, finish_last=False):
        ctrl.on_event(ev, redraw=False)
    ctrl.refresh()
    assert ctrl.pane.points() > 0 and not ctrl.errors


def test_alpha_slider_stays_on_whole_epochs_and_the_dag_follows_the_newest_snapshot():
    view = _widgets().AlphaView()
    for ev in vs.progress_stream(epochs=3, finish_last=False):   # two epochs, then inside the third
        view.on_event(ev)
    view.flush()
    assert view.epochs() == [1, 2]
    assert view.epoch_slider.max == 2 and view.epoch_slider.value == 2
    assert view.dag_pane.spec["layout"]["title"]["text"].startswith("alphas at epoch 2.75")
    view.epoch_slider.value = 1                                    # a whole epoch, picked by hand
    assert view.dag_pane.spec["layout"]["title"]["text"].startswith("alphas at epoch 1 ")


def test_lab_shows_a_one_shot_point_before_the_first_epoch_ends():
    """The Lab's History tab draws a point from the first step of a classroom DARTS run (93 steps an
    epoch here); before issue 30 it stayed empty until the epoch ended."""
    lab = _widgets().Lab(strategy="darts", estimator="synthetic", budget=6, refresh_hz=10,
                      strategy_options={"scale": "classroom", "batch_size": 16})
    hist = lab.panels["History"]
    lab.run()
    try:
        t0, seen = time.monotonic(), None
        while time.monotonic() - t0 < 60 and lab.running and seen is None:
            if hist.pane.points() > 0:
                seen = hist.pane.spec
            time.sleep(0.02)
        assert seen is not None, lab.error.value
        names = {t["name"]: [x for x in t["x"] if x is not None] for t in seen["data"]}
        assert names["train_acc within the epoch (running)"] and not names["epoch train_acc"]   # before epoch 1
        assert 0 < names["train_acc within the epoch (running)"][0] < 1                        # a fractional epoch
        assert _wait_for(lambda: "step" in lab.status.value and "train acc" in lab.status.value), lab.status.value
    finally:
        lab.stop()
        assert lab.wait(30)
    assert lab.state == "stopped", lab.error.value


def _wait_for(cond, timeout=10.0):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def test_progress_is_stored_and_replayed_as_drawn_live(tmp_path):
    pytest.importorskip("nasbench_lab.store")
    from nasbench_lab.store import open_store
    from nasbench_lab.widgets.browser import replay_panels, stored_events
    db = tmp_path / "runs.sqlite"
    live = _widgets().HistoryView(auto_refresh=False)
    res = search("nb201", "darts", "lowfi", budget=2, dataset="synthetic", device="cpu", seed=0, store=str(db),
                 strategy_options={**TINY, "eval_subset": 64, "progress_s": 0},
                 estimator_options={"fidelity": TINY_FIDELITY}, on_event=live.on_event)
    live.refresh()
    st = open_store(str(db))
    stored = st.events(res.run_id, "progress")
    assert len(stored) == 2 * (256 // 32 - 1) and stored[0].payload["step"] == 1
    panels = replay_panels(stored_events(st, res.run_id), space="nb201")
    replayed = next(t for t in panels["History"].pane.spec["data"] if t["name"].startswith("train_acc within"))
    shown = next(t for t in live.pane.spec["data"] if t["name"].startswith("train_acc within"))
    assert replayed["x"] == shown["x"] and replayed["y"] == pytest.approx(shown["y"])
    assert panels["Alphas"].epochs() == [1, 2]                    # the slider: whole epochs, as before
