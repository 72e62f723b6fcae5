"""The figures and widget helpers say what the run did: the History line follows the run's objective,
presets give the same settings whatever came before, forms refuse what their controls cannot hold, the
static (matplotlib) export keeps colour scales, thin crosses, long titles and legends in the picture,
a replayed run ranks failed evaluations last, and a top-k overlap of k or fewer points is not a number."""
from __future__ import annotations

import itertools
import math
import random

import pytest

import viz_streams as vs
from nasbench_lab import EventLog, get_estimator, get_space, list_strategies, search, viz
from nasbench_lab.events import Event
from nasbench_lab.viz import records as rec

pytest.importorskip("matplotlib")


# ---------------------------------------------------------------------------- 1. History follows the objective
def _stream(rows, objective):
    """run_started with ``objective`` in its config, then one evaluation per (val_acc, latency_ms, objective)."""
    evs = [Event("run_started", {"space": "nb201", "strategy": "random", "config": {"objective": objective}}, "r")]
    for i, (val, lat, obj) in enumerate(rows):
        evs.append(Event("evaluation", {"index": i, "arch": f"a{i}", "val_acc": val, "metrics": {"latency_ms": lat},
                                        "objective": obj}, "r"))
    return evs


def _best_line(spec):
    """The best-so-far values, the solid line and its dotted lead-in (before a cell within the limit) merged."""
    lines = [t for t in spec["data"] if t["name"].startswith("best so far")]
    return [next((v for v in vals if v is not None), None) for vals in zip(*(t["y"] for t in lines))]


def test_history_line_is_the_best_under_a_latency_limit_not_the_most_accurate():
    # objectives.py: within the limit the objective is val_acc, over it -(latency / limit)
    rows = [(93.0, 5.0, -5 / 3), (90.0, 2.0, 90.0), (95.0, 4.0, -4 / 3), (91.0, 2.5, 91.0), (89.0, 1.0, 89.0)]
    s = viz.history_spec(_stream(rows, "latency_ms<=3"))
    solid = next(t for t in s["data"] if t["name"].startswith("best so far by latency_ms<=3"))
    assert solid["y"] == [None, 90.0, 90.0, 91.0, 91.0]            # never 93 or 95: both are too slow
    assert _best_line(s) == [93.0, 90.0, 90.0, 91.0, 91.0]          # the run's best before a feasible cell
    title = s["layout"]["title"]["text"]
    assert "best 91.00" in title and "by latency_ms<=3" in title, title
    crossed = next(t for t in s["data"] if t["name"].startswith("breaks latency_ms <= 3"))
    assert crossed["x"] == [1, 3] and crossed["marker"]["symbol"] == "x-thin"


def test_history_line_follows_another_accuracy_it_may_step_down():
    rows = [(93.0, 1.0, 80.0), (92.0, 1.0, 82.0), (94.0, 1.0, 81.0)]     # objective: say analog_1d
    s = viz.history_spec(_stream(rows, "analog_1d"))
    assert _best_line(s) == [93.0, 92.0, 92.0]                         # the val_acc of the best by analog_1d
    assert "best 92.00 (val_acc of the best by analog_1d)" in s["layout"]["title"]["text"]
    plain = viz.history_spec(vs.evaluation_stream(8))                  # accuracy: the running maximum, as ever
    vals = [e.payload["val_acc"] for e in vs.evaluation_stream(8) if e.kind == "evaluation"]
    best = next(t for t in plain["data"] if t["name"] == "best so far")
    assert best["y"] == list(itertools.accumulate(vals, max)) and " by " not in plain["layout"]["title"]["text"]


@pytest.mark.parametrize("objective", ["analog_1d", "latency_ms<=3"])
def test_history_of_a_real_cifar10_run_agrees_with_its_events(objective):
    from widgets.presets import cifar10_available
    if not cifar10_available():
        pytest.skip("no CIFAR-10 table")
    log = EventLog()
    res = search(space="nb201", strategy="evolution", estimator="table", dataset="cifar10", budget=30, seed=0,
                 objective=objective, on_event=log)
    s = viz.history_spec(log.events)
    bests = [e.payload["best_val_acc"] for e in log.events if e.kind == "evaluation"]
    assert _best_line(s) == bests and bests[-1] == res.best.val_acc
    assert f"best {res.best.val_acc:.2f}" in s["layout"]["title"]["text"] and objective in s["layout"]["title"]["text"]


# ---------------------------------------------------------------------------- 2, 3. presets
from widgets import presets as P  # noqa: E402  (pure Python: no widget stack needed)


def _widgets():
    for name in ("ipywidgets", "plotly", "anywidget"):
        pytest.importorskip(name)
    from nasbench_lab import widgets as W
    return W


def _all_presets():
    return [(s, label) for s in list_strategies() for label in P.presets(s)]


def test_every_preset_applies_the_same_after_every_other_one():
    """After any preset A (of any strategy), preset B gives exactly the settings B gives on a fresh Lab,
    and those settings run: the proxyless preset's "mobile" space no longer leaks into a table preset."""
    W = _widgets()
    pairs = _all_presets()
    fresh = {}
    for strategy, label in pairs:
        lab = W.Lab(refresh_hz=10, strategy=strategy, preset=label)
        fresh[(strategy, label)] = lab._params()
        assert lab._params()["space"] == P.presets(strategy)[label]["space"], (strategy, label)
    lab = W.Lab(refresh_hz=10)
    for (sa, a), (sb, b) in itertools.product(pairs, pairs):
        lab.strategy.value = sa
        lab.preset.value = a
        lab.strategy.value = sb
        lab.preset.value = b
        assert lab._params() == fresh[(sb, b)], f"{sb}: {b!r} after {sa}: {a!r}"
        assert not lab.problems(), (sa, a, sb, b, lab.problems())
    # and the instant estimators answer on the settings the presets give
    for p in {(p["space"], p["estimator"], p["dataset"]): p for p in fresh.values()}.values():
        if p["estimator"] in ("table", "synthetic"):
            space = get_space(p["space"])
            est = get_estimator(p["estimator"], dataset=p["dataset"], **(p["estimator_options"] or {}))
            assert est.evaluate(space, space.sample(random.Random(0))).val_acc is not None, p


@pytest.mark.parametrize("strategy", ["successive_halving", "hyperband"])
def test_multi_fidelity_presets_follow_the_table_argument(strategy):
    (label, without), = P.presets(strategy, table=False).items()
    assert without["estimator"] == "train" and "train, 2 epochs" in label, label
    (label, with_table), = P.presets(strategy, table=True).items()
    assert with_table["estimator"] == "table" and with_table["dataset"] == "fashion-mnist", label


# ---------------------------------------------------------------------------- 4. forms
def test_form_refuses_a_value_its_control_cannot_hold_and_says_so():
    W = _widgets()
    lab = W.Lab(refresh_hz=10, estimator="synthetic", dataset="synthetic", budget=30,
                strategy_options={"population": 10.7, "aging": "no"})
    f = lab.strategy_form
    assert f.controls["population"].value == 20 and f.controls["aging"].value is True      # untouched
    assert "'population' must be an integer, got 10.7" in f.errors["population"]
    assert "10.7" in f.messages["population"].value and "'aging' must be true or false" in f.errors["aging"]
    assert lab.run_button.disabled
    with pytest.raises(ValueError, match="population"):
        lab._params()
    f.controls["population"].value = 12                               # an edit replaces the refused value
    f.controls["aging"].value = False
    assert not f.errors and not lab.run_button.disabled
    assert lab._params()["strategy_options"] == {"population": 12, "aging": False}
    darts = W.Lab(refresh_hz=10, strategy="darts", strategy_options={"remedy": "dart"})   # a Literal's value
    assert "must be one of 'none', 'early_stop', 'darts-', got 'dart'" in darts.strategy_form.errors["remedy"]
    ok = W.Lab(refresh_hz=10, strategy_options={"population": 12.0, "sample": 3})           # 12.0 is an integer
    assert ok.strategy_form.values() == {"population": 12, "sample": 3} and not ok.problems()


# ---------------------------------------------------------------------------- 5. static export
def _texts_inside(mfig):
    """(text, inside) for the figure's own texts (title lines, notes), legend entries and axis titles:
    inside when it lies within the figure's width (nothing runs off the PNG)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    renderer = FigureCanvasAgg(mfig).get_renderer()
    mfig.draw_without_rendering()                 # axis titles find their place at drawing time
    width = mfig.bbox.width
    texts = [*mfig.texts, *(t for lg in mfig.legends for t in lg.get_texts()),
             *(lab for ax in mfig.axes for lab in (ax.xaxis.label, ax.yaxis.label))]
    out = []
    for t in texts:
        if t.get_visible() and t.get_text().strip():
            bb = t.get_window_extent(renderer)
            out.append((t.get_text(), bool(bb.x0 >= -1 and bb.x1 <= width + 1)))
    return out


def test_static_population_keeps_reversed_colours_and_the_age_bar():
    log = EventLog()
    search(space="nb201", strategy="evolution", estimator="synthetic", budget=30, seed=0, on_event=log,
           strategy_options={"population": 8, "sample": 3})
    s = viz.population_spec(log.events)
    alive = next(t for t in s["data"] if t["name"] == "alive")
    assert alive["marker"]["reversescale"] and alive["marker"]["showscale"]
    mfig = viz.to_matplotlib(s)
    coll = next(c for ax in mfig.axes for c in ax.collections if c.get_label() == "alive")

    def lightness(rgba):
        return sum(rgba[:3])
    young, old = coll.to_rgba(0.0), coll.to_rgba(float(alive["marker"]["cmax"]))
    assert lightness(young) < lightness(old)                  # as plotly draws it: the newest members dark
    assert any(ax.get_title(loc="left") == "age" for ax in mfig.axes)      # the colour bar, titled


def test_static_thin_cross_is_a_cross_not_a_disc():
    from matplotlib.markers import MarkerStyle
    rows = [{"arch": f"a{i}", "val_acc": 80 + i, "metrics": {"latency_ms": 1.0 + i}} for i in range(6)]
    mfig = viz.to_matplotlib(viz.pareto_spec(rows, cost="latency_ms", objective="latency_ms<=4"))
    past = next(c for ax in mfig.axes for c in ax.collections if c.get_label().startswith("past the limit"))
    cross = MarkerStyle("x").get_path().transformed(MarkerStyle("x").get_transform())
    got = past.get_paths()[0]                                          # a bare x, not the "o" fallback
    assert got.vertices.shape == cross.vertices.shape and (abs(got.vertices - cross.vertices) < 1e-9).all()


def test_static_long_titles_and_legends_stay_in_the_picture():
    genotype = "Genotype(normal=[" + ", ".join(f"('sep_conv_3x3', {i % 3})" for i in range(14)) + "])"
    s = viz.history_spec(_stream([(93.0, 5.0, -5 / 3), (90.0, 2.0, 90.0)], "latency_ms<=3"),
                         title=f"best so far (91.00)<br><sup>{genotype}</sup>")
    s["layout"]["title"]["text"] += " " + "|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|" * 8    # no spaces to break at
    mfig = viz.to_matplotlib(s)
    texts = _texts_inside(mfig)
    assert texts and all(ok for _, ok in texts), [t for t, ok in texts if not ok]
    title_lines = [t for t in mfig.texts if "sep_conv_3x3" in t.get_text() or "nor_conv" in t.get_text()]
    assert len(title_lines) >= 3                                       # wrapped, not one line off the edge
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    r = FigureCanvasAgg(mfig).get_renderer()
    lowest = min(t.get_window_extent(r).y0 for t in title_lines)
    assert lowest >= max(ax.get_window_extent(r).y1 for ax in mfig.axes)       # above the plot, not on it
    long_names = {"data": [{"type": "scatter", "mode": "lines", "x": [0, 1], "y": [k, k + 1],
                            "name": f"series {k}: a legend entry as long as a sentence"} for k in range(5)],
                  "layout": {"height": 360}}
    assert all(ok for _, ok in _texts_inside(viz.to_matplotlib(long_names)))    # the legend wraps into rows
    # tick labels such as "92.5" used to push the y axis title partly off the left edge
    plain = viz.to_matplotlib(viz.history_spec(_stream([(93.0, 5.0, -5 / 3), (90.0, 2.0, 90.0)], "latency_ms<=3")))
    assert all(ok for _, ok in _texts_inside(plain)), [t for t, ok in _texts_inside(plain) if not ok]


def test_static_annotation_keeps_text_that_looks_like_a_tag():
    mfig = viz.to_matplotlib(viz.ranking_spec([0.3, 0.5, 0.4], [60.0, 70.0, 65.0]))
    text = "\n".join(t.get_text() for t in mfig.texts)
    assert "n = 3 <= k = 5" in text and "Spearman" in text.split("\n")[1], text


# ---------------------------------------------------------------------------- 6. replayed runs rank like the run
@pytest.mark.parametrize("first", [None, math.nan])
def test_replayed_best_ranks_a_failed_evaluation_last(first):
    from nasbench_lab.widgets.browser import stored_events

    class Store:
        def events(self, run_id):
            return []

        def evaluation_rows(self, run_id):
            return [{"idx": 0, "arch": "a", "val_acc": first, "objective": first, "metrics": {}},
                    {"idx": 1, "arch": "b", "val_acc": 90.0, "objective": 90.0, "metrics": {}},
                    {"idx": 2, "arch": "c", "val_acc": 95.0, "objective": 95.0, "metrics": {"partial": True}},
                    {"idx": 3, "arch": "d", "val_acc": 90.0, "objective": 90.0, "metrics": {}}]

        def runs(self):
            return []

    evs = stored_events(Store(), "x")
    assert [e.payload["best_arch"] for e in evs] == ["a", "b", "b", "b"]      # partial below full; a tie keeps b
    assert evs[-1].payload["best_val_acc"] == 90.0


# ---------------------------------------------------------------------------- 7. top-k overlap of n <= k
def test_top_k_overlap_is_not_a_number_when_every_point_is_in_the_top_k():
    st = rec.rank_stats([0.3, 0.5, 0.4], [60.0, 70.0, 65.0], k=5)
    assert st["top_k_overlap"] is None and "n = 3 <= k = 5" in st["top_k_note"]
    s = viz.ranking_spec([0.3, 0.5, 0.4], [60.0, 70.0, 65.0], k=5)
    text = s["layout"]["annotations"][0]["text"]
    assert "top-5 overlap = n/a" in text and "100%" not in text
    assert not any("top-" in t["name"] for t in s["data"])             # no circles around every point
    assert rec.rank_stats([0.3, 0.5, 0.4], [60.0, 70.0, 65.0], k=3)["top_k_overlap"] is None     # n == k too
    four = rec.rank_stats([0.1, 0.2, 0.3, 0.4], [4.0, 3.0, 2.0, 1.0], k=2)
    assert four["top_k_overlap"] == 0.0 and four["top_k_note"] is None


def test_the_best_dag_shows_a_whole_darts_genotype():
    """A DARTS genotype (~400 characters) was cut to 147 with "..."; it is wrapped on lines of its own,
    with room made above the drawing for them."""
    import random
    from nasbench_lab.events import Event
    from nasbench_lab.spaces import get_space
    from nasbench_lab.widgets.views import PANELS
    sp = get_space("darts")
    arch = sp.to_str(sp.sample(random.Random(0)))
    view = PANELS["Best DAG"](space=None, auto_refresh=False)
    view.on_event(Event("run_started", {"space": "darts", "strategy": "random", "estimator": "synthetic",
                                        "budget": 1, "seed": 0, "config": {}}), redraw=False)
    view.on_event(Event("evaluation", {"index": 0, "arch": arch, "val_acc": 50.0, "best_arch": arch,
                                       "best_val_acc": 50.0, "objective": 50.0, "metrics": {}}), redraw=False)
    title = view.spec()["layout"]["title"]["text"]
    shown = title.split("<br>", 1)[1].replace("<sup>", "").replace("</sup>", "").replace("<br>", " ")
    assert "..." not in title and shown.split() == arch.split()
    assert view.spec()["layout"]["margin"]["t"] >= 22 * title.count("<sup>")


def test_an_anytime_curve_follows_what_the_run_maximised():
    """RunBrowser's Compare and notebooks draw ``anytime_curve``: with a latency limit the line stays on
    the cells the run accepted, and ``y="test_acc"`` is the test accuracy of the cell it would hand back
    (never the best test accuracy it happened to see)."""
    from nasbench_lab.viz import anytime_curve
    rows = [{"arch": "a", "val_acc": 70.0, "test_acc": 69.0, "objective": 70.0, "cost": 1.0, "metrics": {}},
            {"arch": "b", "val_acc": 80.0, "test_acc": 79.0, "objective": -0.5, "cost": 1.0, "metrics": {}},
            {"arch": "c", "val_acc": 72.0, "test_acc": 68.0, "objective": 72.0, "cost": 1.0, "metrics": {}}]
    assert anytime_curve(rows) == ([1, 2, 3], [70.0, 70.0, 72.0])       # b broke the limit (objective < 0)
    assert anytime_curve(rows, y="test_acc")[1] == [69.0, 69.0, 68.0]
    assert anytime_curve(rows, x="time")[0] == [1.0, 2.0, 3.0]
