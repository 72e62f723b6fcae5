"""Figure builders (nasbench_lab.viz): every builder from synthetic event streams, every space's DAG,
oracle checks against brute force / scipy / the spaces' own discretisation, and the static fallback."""
from __future__ import annotations

import itertools
import json
import random
import subprocess
import sys

import pytest

import viz_streams as vs
from nasbench_lab import EventLog, get_space, list_spaces, search, viz
from nasbench_lab.events import Event
from nasbench_lab.viz import records as rec

pytest.importorskip("matplotlib")


def _legend_names(s):
    return {t["name"] for t in s["data"] if t.get("showlegend", True) and t.get("mode") == "lines"}


# ---------------------------------------------------------------------------- DAGs of every space
@pytest.mark.parametrize("space_name", list_spaces())
def test_dag_every_space(space_name):
    space = get_space(space_name)
    archs = [space.sample(random.Random(s)) for s in range(3)] + [space.reference(r) for r in space.references()]
    for arch in archs:
        g = space.to_graph(arch)
        s = viz.dag_spec(space, arch)
        nodes = [t for t in s["data"] if t["name"] == "nodes"]
        assert sum(len(t["x"]) for t in nodes) == g.number_of_nodes()
        assert sorted(str(lab) for t in nodes for lab in t["text"]) == \
            sorted(str(d.get("label")) for _, d in g.nodes(data=True))
        ops = {str(d["op"]) for *_, d in g.edges(data=True)}
        assert _legend_names(s) == ops                       # one legend entry per op present
        for t in s["data"]:                                   # each op's edges drawn in that op's colour
            if t.get("mode") == "lines":
                rgb = viz._spec.rgba(viz.op_colour(t["name"]), 1.0).rsplit(",", 1)[0]
                assert t["line"]["color"].rsplit(",", 1)[0] == rgb
        arrows = [a for a in s["layout"]["annotations"] if a.get("showarrow")]
        assert len(arrows) == g.number_of_edges()
        # one subplot per cell: DARTS draws normal and reduction cells
        n_cells = len({d.get("cell") for _, d in g.nodes(data=True)})
        assert ("xaxis2" in s["layout"]) == (n_cells > 1)
    fig = viz.dag_figure(space, archs[0])
    assert space.to_str(archs[0])[:60] in fig.layout.title.text
    viz.to_matplotlib(s)                                      # the static fallback draws it too


def test_dag_labels_and_layout_nb201():
    space = get_space("nb201")
    arch = space.reference("best_cifar10")
    s = viz.dag_spec(space, arch)
    labels = [a["text"] for a in s["layout"]["annotations"] if a.get("text")]
    assert sorted(labels) == sorted(arch.ops)                # every edge labelled by its op
    pos = viz.graph_layout(space.to_graph(arch))
    assert [pos[n][0] for n in range(4)] == [0.0, 1.0, 2.0, 3.0]   # topological order left to right
    # edges that skip a node are arcs (their midpoint leaves the row), neighbours are straight
    mids = {a["text"]: a["y"] for a in s["layout"]["annotations"] if a.get("text")}
    assert any(abs(y) > 0.1 for y in mids.values())


def test_darts_layout_inputs_stacked():
    space = get_space("darts")
    g = space.to_graph(space.reference("DARTS_V2"))
    pos = viz.graph_layout(g)
    for cell in ("normal", "reduce"):
        a, b = pos[(cell, "c_{k-2}")], pos[(cell, "c_{k-1}")]
        assert a[0] == b[0] == 0.0 and a[1] > b[1]           # both inputs in the first column, k-2 on top
        assert pos[(cell, "c_{k}")][0] > max(pos[(cell, str(k))][0] for k in range(4))


# ---------------------------------------------------------------------------- alphas
def test_alpha_dag_matches_darts_derive():
    """The kept (solid) edges of the alpha DAG are exactly the genotype DARTS' own discretisation derives."""
    torch = pytest.importorskip("torch")
    from nasbench_lab.spaces.darts_supernet import DartsSupernet
    net = DartsSupernet(C=4, layers=2)
    gen = torch.Generator().manual_seed(0)
    w = {c: torch.softmax(torch.randn(14, 8, generator=gen), -1) for c in ("normal", "reduce")}
    geno = net.derive(w)
    for cell in ("normal", "reduce"):
        g = viz.alpha_graph(net.edge_names(), net.op_names(), w[cell].tolist(), cell)
        kept = sorted((v - 2, u, d["op"]) for u, v, d in g.edges(data=True) if d.get("mixed") and d["kept"])
        expected = sorted((e // 2, inp, op) for e, (op, inp) in enumerate(geno.cell(cell)))
        assert kept == expected


def test_alpha_dag_style_by_weight():
    events = vs.alphas_stream(epochs=5)
    snap = rec.records(events, "alphas")[-1]
    g = viz.alpha_graph(snap["edges"], snap["ops"], snap["weights"])
    style = {(u, v): viz.dag.alpha_edge_style(u, v, d) for u, v, d in g.edges(data=True)}
    strength = {(u, v): d["strength"] for u, v, d in g.edges(data=True)}
    pairs = sorted(style, key=strength.get)
    assert [style[e]["width"] for e in pairs] == sorted(style[e]["width"] for e in pairs)
    assert [style[e]["opacity"] for e in pairs] == sorted(style[e]["opacity"] for e in pairs)
    for (u, v), d in ((e[:2], e[2]) for e in g.edges(data=True)):
        assert d["op"] == snap["ops"][max(range(len(snap["ops"])), key=lambda k: snap["weights"][
            snap["edges"].index(f"{u}->{v}")][k])]
    # DARTS two-cell snapshots draw both cells; mobile-style block names form a chain
    s = viz.alpha_dag_spec(rec.records(vs.alphas_stream(3, darts=True), "alphas")[-1])
    assert "xaxis2" in s["layout"]
    chain = viz.alpha_graph([f"stage0.block{b}" for b in range(4)], ["k3_e3", "k5_e6", "skip"],
                            [[0.2, 0.7, 0.1]] * 4)
    assert list(chain.edges) == [(0, 1), (1, 2), (2, 3), (3, 4)]


@pytest.mark.parametrize("darts", [False, True])
def test_alpha_evolution(darts):
    events = vs.alphas_stream(epochs=7, darts=darts)
    s = viz.alpha_evolution_spec(events)
    n_cells, n_edges, n_ops = (2, 14, 8) if darts else (1, 6, 5)
    uniform = [t for t in s["data"] if t.get("legendgroup") == "uniform"]
    assert len(uniform) == n_cells * n_edges                               # one dashed 1/n line per panel
    assert all(t["line"]["dash"] == "dash" and t["y"] == [1 / n_ops] * 2 for t in uniform)
    assert len(s["data"]) - len(uniform) == n_cells * n_edges * n_ops
    snaps = rec.records(events, "alphas")
    first = s["data"][0]
    w0 = snaps[0]["weights"]["normal"] if darts else snaps[0]["weights"]
    assert first["x"] == list(range(1, 8)) and first["y"][0] == pytest.approx(w0[0][0])
    skip = [t for t in s["data"] if t["name"] == "skip_connect"]
    assert all(t["y"][-1] > t["y"][0] for t in skip)          # the synthetic collapse is visible
    one = viz.alpha_evolution_spec(events, cell="reduce" if darts else "cell")
    assert len(one["data"]) == n_edges * (n_ops + 1)
    with pytest.raises(ValueError, match="no alphas for cell"):
        viz.alpha_evolution_spec(events, cell="bogus")


def test_alpha_slider_frames():
    events = vs.alphas_stream(epochs=9, darts=True)
    s = viz.alpha_slider_spec(events)
    assert [f["name"] for f in s["frames"]] == [str(e) for e in range(1, 10)]
    assert all(len(f["data"]) == len(s["data"]) for f in s["frames"])    # plotly animates trace by trace
    assert [st["label"] for st in s["layout"]["sliders"][0]["steps"]] == [str(e) for e in range(1, 10)]
    capped = viz.alpha_slider_spec(vs.alphas_stream(epochs=50), max_frames=10)
    assert len(capped["frames"]) <= 11 and capped["frames"][-1]["name"] == "50"
    fig = viz.alpha_slider_figure(events)
    assert len(fig.frames) == 9
    assert viz.alpha_dag_at(events, epoch=3).layout.title.text.startswith("alphas at epoch 3")


# ---------------------------------------------------------------------------- population / controller
def test_population_synthetic():
    events = vs.population_stream(generations=15, P=6)
    h = viz.population_history(events)
    alive = [m for m in h["members"].values() if m["alive"]]
    assert len(alive) == 6 and len(h["members"]) == 6 + 14
    s = viz.population_spec(events)
    by = {t["name"]: t for t in s["data"]}
    assert len(by["alive"]["x"]) == 6 and len(by["removed"]["x"]) == 14
    n_links = sum(1 for m in h["members"].values() if m["parent"] is not None)
    assert by["parent → child"]["x"].count(None) == n_links
    last = rec.records(events, "population")[-1]
    assert by["best of population"]["y"][-1] == pytest.approx(max(m["fitness"] for m in last["members"]))


def test_population_from_real_evolution():
    log = EventLog()
    search("nb201", "evolution", "synthetic", budget=40, seed=1, on_event=log)
    snaps = log.of("population")
    assert snaps
    h = viz.population_history(log.events)
    last = snaps[-1].payload
    alive_ids = {m["id"] for m in last["members"] if m["alive"]}
    assert {m["id"] for m in h["members"].values() if m["alive"]} == alive_ids
    viz.to_matplotlib(viz.population_spec(log.events))


def test_controller_synthetic_and_real():
    events = vs.controller_stream(steps=10, n_decisions=6, n_choices=5)
    s = viz.controller_spec(events, space="nb201")
    names = {t["name"] for t in s["data"]}
    assert set(get_space("nb201").decisions()[0].choices) <= names
    assert {"reward_mean", "baseline", "entropy"} <= names
    assert len(s["data"]) == 6 * (5 + 1) + 3                                # + a dashed uniform line each
    capped = viz.controller_spec(vs.controller_stream(steps=3, n_decisions=20, n_choices=3), max_decisions=4)
    assert len(capped["data"]) == 4 * (3 + 1) + 3 and "first 4 of 20" in capped["layout"]["title"]["text"]
    log = EventLog()
    search("nb201", "reinforce", "synthetic", budget=12, seed=0, on_event=log)
    ctrl = log.of("controller")
    assert ctrl
    s = viz.controller_spec(log.events, space="nb201")
    probs = ctrl[-1].payload["probs"]
    first = next(t for t in s["data"] if t.get("xaxis") in (None, "x"))
    assert first["y"][-1] == pytest.approx(probs[0][0])


# ---------------------------------------------------------------------------- ranking / pareto / curves
def test_ranking_against_scipy():
    stats = pytest.importorskip("scipy.stats")
    rng = random.Random(3)
    pred = [round(rng.random(), 1) for _ in range(40)]          # rounding makes ties
    true = [p + rng.gauss(0, 0.3) for p in pred]
    st = rec.rank_stats(pred, true, k=5)
    assert st["kendall_tau"] == pytest.approx(stats.kendalltau(pred, true)[0])
    assert st["spearman"] == pytest.approx(stats.spearmanr(pred, true)[0])
    s = viz.ranking_spec(pred, true, k=5)
    top = next(t for t in s["data"] if t["name"] == "true top-5")
    best5 = sorted(range(40), key=lambda i: -true[i])[:5]
    assert sorted(top["y"]) == sorted(true[i] for i in best5)
    assert f"{stats.kendalltau(pred, true)[0]:.3f}" in s["layout"]["annotations"][0]["text"]
    d = viz.ranking_data(vs.evaluation_stream(12, oneshot=True))
    assert len(d["pred"]) == 12
    with pytest.raises(ValueError):
        viz.ranking_spec([1, 2], [1])


def test_rank_stats_matches_scipy():
    stats = pytest.importorskip("scipy.stats")
    a = [1, 2, 2, 3, 5, 5, 7, 1]
    b = [2, 1, 3, 3, 6, 4, 9, 0]
    st = rec.rank_stats(a, b, k=3)
    assert st["kendall_tau"] == pytest.approx(stats.kendalltau(a, b)[0])
    assert st["spearman"] == pytest.approx(stats.spearmanr(a, b)[0])


def test_pareto_front_brute_force():
    rng = random.Random(0)
    for _ in range(20):
        costs = [rng.randint(1, 8) for _ in range(15)]
        accs = [rng.randint(1, 8) for _ in range(15)]
        front = set(rec.pareto_front(costs, accs))
        brute = {i for i in range(15) if not any(costs[j] <= costs[i] and accs[j] >= accs[i] and
                                                 (costs[j] < costs[i] or accs[j] > accs[i]) for j in range(15))}
        # duplicates of a front point: both the local sweep and brute force may keep either; compare values
        assert {(costs[i], accs[i]) for i in front} == {(costs[i], accs[i]) for i in brute}
    events = vs.evaluation_stream(30)
    s = viz.pareto_spec(events, cost="latency_ms")
    front_trace = next(t for t in s["data"] if t["name"] == "Pareto front")
    pts = viz.pareto_points(events, "latency_ms")
    assert len(front_trace["x"]) + len(s["data"][0]["x"]) == len(pts)
    spread = [{"arch": str(k), "val_acc": 50 + k, "metrics": {"flops": 10 ** (5 + k)}} for k in range(4)]
    assert viz.pareto_spec(spread, cost="flops")["layout"]["xaxis"]["type"] == "log"     # decades: log axis
    assert "type" not in viz.pareto_spec(events, cost="latency_ms")["layout"]["xaxis"]


def test_history_and_anytime():
    events = vs.evaluation_stream(10) + vs.alphas_stream(3)
    s = viz.history_spec(events)
    vals = [e.payload["val_acc"] for e in events if e.kind == "evaluation"]
    best = next(t for t in s["data"] if t["name"] == "best so far")
    assert best["y"] == list(itertools.accumulate(vals, max))
    assert "xaxis2" in s["layout"]                             # the epoch panel of one-shot runs
    runs = [vs.evaluation_stream(8, seed=k) for k in range(4)]
    s = viz.anytime_spec({"random": runs})
    mean = next(t for t in s["data"] if t["name"] == "random (n=4)")
    curves = [list(itertools.accumulate([e.payload["val_acc"] for e in r if e.kind == "evaluation"], max))
              for r in runs]
    assert mean["y"] == pytest.approx([sum(c[i] for c in curves) / 4 for i in range(8)])
    lo = next(t for t in s["data"] if t["name"] == "random lower")["y"]
    hi = next(t for t in s["data"] if t["name"] == "random upper")["y"]
    assert all(a <= m <= b for a, m, b in zip(lo, mean["y"], hi))
    xs, _ = rec.anytime_curve(runs[0], x="time")
    costs = [e.payload["cost"] for e in runs[0] if e.kind == "evaluation"]
    assert xs == pytest.approx(list(itertools.accumulate(costs)))
    st = viz.anytime_spec({"random": runs}, x="time")
    assert st["layout"]["xaxis"]["title"]["text"].startswith("time")
    with pytest.raises(ValueError):
        rec.anytime_curve(runs[0], x="bogus")


# ---------------------------------------------------------------------------- records, static export, layering
def test_records_accept_every_form():
    ev = Event("evaluation", {"arch": "a", "val_acc": 50.0}, "r", 0, 0.0)
    forms = [ev, ev.to_dict(), {**ev.to_dict(), "payload": json.dumps(ev.payload)}, ("evaluation", ev.payload),
             {"kind": "evaluation", "arch": "a", "val_acc": 50.0}]
    for f in forms:
        assert rec.as_record(f) == ("evaluation", {"arch": "a", "val_acc": 50.0})
    rows = rec.evaluation_rows([{"idx": 0, "arch": "a", "val_acc": 1.0, "metrics": "{\"params\": 3}"}])
    assert rows[0]["metrics"] == {"params": 3}
    with pytest.raises(TypeError):
        rec.as_record(42)


ALL_SPECS = {
    "dag": lambda: viz.dag_spec("nb201", get_space("nb201").reference("resnet")),
    "alpha_dag": lambda: viz.alpha_dag_spec(rec.records(vs.alphas_stream(3, darts=True), "alphas")[-1]),
    "alpha_evolution": lambda: viz.alpha_evolution_spec(vs.alphas_stream(4)),
    "skip_share": lambda: viz.skip_share_spec(vs.alphas_stream(4)),
    "population": lambda: viz.population_spec(vs.population_stream(8)),
    "controller": lambda: viz.controller_spec(vs.controller_stream(5)),
    "ranking": lambda: viz.ranking_spec([1, 2, 3, 4], [2, 1, 4, 3], k=2),
    "anytime": lambda: viz.anytime_spec({"a": [vs.evaluation_stream(5, seed=k) for k in range(3)]}),
    "pareto": lambda: viz.pareto_spec(vs.evaluation_stream(10)),
    "history": lambda: viz.history_spec(vs.evaluation_stream(5)),
}


@pytest.mark.parametrize("name", list(ALL_SPECS))
def test_every_builder_plotly_and_static(name, tmp_path):
    s = ALL_SPECS[name]()
    json.dumps(s)                                               # pure data
    fig = viz.to_figure(s)                                      # plotly validates every property
    assert len(fig.data) == len(s["data"])
    mfig = viz.to_matplotlib(fig)
    assert mfig.axes
    static = viz.to_figure(s, backend="static")
    assert static._repr_png_()[:4] == b"\x89PNG"


def test_save_formats(tmp_path):
    s = ALL_SPECS["population"]()
    for ext in ("png", "pdf", "svg", "html"):
        p = viz.save(s, tmp_path / f"fig.{ext}")
        assert (tmp_path / f"fig.{ext}").stat().st_size > 1000, p
    assert (tmp_path / "fig.pdf").read_bytes()[:4] == b"%PDF"
    with pytest.raises(ValueError, match="cannot save"):
        viz.save(s, tmp_path / "fig.jpg")


def test_without_plotly_builders_give_static_figures(monkeypatch):
    monkeypatch.setattr(viz._spec, "has_plotly", lambda: False)
    fig = viz.history_figure(vs.evaluation_stream(4))
    assert isinstance(fig, viz.StaticFigure) and fig._repr_png_()[:4] == b"\x89PNG"


def test_core_imports_no_ui():
    code = ("import sys, nasbench_lab as nl; nl.search('nb201', 'random', 'synthetic', budget=3); "
            "bad = [m for m in ('plotly', 'ipywidgets', 'matplotlib', 'anywidget', 'nasbench_lab.viz') "
            "if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


TINY_DARTS = {"skeleton": {"C": 4, "N": 1}, "train_subset": 128, "val_subset": 128, "eval_subset": 64,
              "batch_size": 32}


def test_alphas_from_a_real_darts_run():
    """The alpha DAG of a real (tiny) DARTS run on NB201 keeps exactly the cell the strategy derived."""
    torch = pytest.importorskip("torch")
    n = torch.get_num_threads()
    torch.set_num_threads(1)                  # tiny convolutions: one thread is fastest on a shared CPU
    try:
        log = EventLog()
        search("nb201", "darts", "synthetic", budget=2, dataset="synthetic", device="cpu", on_event=log,
               strategy_options=TINY_DARTS)
    finally:
        torch.set_num_threads(n)
    snaps = log.of("alphas")
    assert [e.payload["epoch"] for e in snaps] == [1, 2]
    last = snaps[-1].payload
    g = viz.alpha_graph(last["edges"], last["ops"], last["weights"])
    derived = get_space("nb201").from_str(last["derived"])
    assert [g.edges[u, v]["op"] for u, v in ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))] == list(derived.ops)
    s = viz.alpha_evolution_spec(log.events, within_epoch=False)
    assert len(s["data"]) == 6 * (5 + 1) and all(t["x"] == [1, 2] for t in s["data"])
    # by default the lines also pass through the alphas of the progress events, at fractional epochs
    lines = [t for t in viz.alpha_evolution_spec(log.events)["data"] if t["legendgroup"] != "uniform"]
    assert all(t["x"] == sorted(t["x"]) and {1, 2} <= set(t["x"]) and 0 < t["x"][0] < 1 for t in lines)
    assert len(viz.alpha_slider_spec(log.events)["frames"]) == 2


# ---------------------------------------------------------------------------- issue 12: figures that read
def test_alpha_and_controller_axes_follow_the_data_not_0_to_1():
    events = vs.alphas_stream(epochs=5, darts=False)
    s = viz.alpha_evolution_spec(events)
    lo, hi = s["layout"]["yaxis"]["range"]
    ys = [y for t in s["data"] if t.get("yaxis") in (None, "y") for y in t["y"]]
    assert lo <= min(ys) and hi >= max(ys) and lo <= 0.2 <= hi
    assert (lo, hi) != (0, 1.02) and hi - lo < 1.0
    # near-uniform weights (0.19..0.21): the axis zooms in, the movement is visible
    flat = [{"kind": "alphas", "payload": {"epoch": e, "edges": ["a"], "ops": list("vwxyz"),
                                            "weights": [[0.2 + 0.002 * e, 0.2 - 0.002 * e, 0.2, 0.2, 0.2]]}}
            for e in range(1, 6)]
    lo, hi = viz.alpha_evolution_spec(flat)["layout"]["yaxis"]["range"]
    assert hi - lo < 0.05
    c = viz.controller_spec(vs.controller_stream(steps=10, n_decisions=6, n_choices=5), space="nb201")
    assert c["layout"]["yaxis"]["range"] != [0, 1.02]
    assert any(t.get("legendgroup") == "uniform" and t["line"]["dash"] == "dash" and t["y"][0] == 0.2
               for t in c["data"])


def test_controller_tab_is_readable():
    c = viz.controller_spec(vs.controller_stream(steps=10, n_decisions=6, n_choices=5), space="nb201")
    dom = c["layout"]["xaxis"]["domain"]
    assert dom[1] - dom[0] > 0.25                                          # at most 3 columns
    assert c["layout"]["xaxis"]["tickfont"]["size"] >= 10
    rows = 3
    assert c["layout"]["height"] / rows >= 230                             # a row is not cramped


def test_dag_edges_stay_visible_when_alphas_are_uniform():
    from nasbench_lab.viz.dag import MIN_DROPPED_OPACITY, MIN_KEPT_OPACITY, alpha_edge_style
    kept = alpha_edge_style(0, 1, {"mixed": True, "n_ops": 5, "strength": 0.2, "kept": True, "op": "nor_conv_3x3",
                                   "weights": {"nor_conv_3x3": 0.2}})
    dropped = alpha_edge_style(0, 1, {"mixed": True, "n_ops": 5, "strength": 0.2, "kept": False, "op": "none",
                                      "weights": {"none": 0.2}})
    assert kept["opacity"] >= MIN_KEPT_OPACITY >= 0.5 and dropped["opacity"] >= MIN_DROPPED_OPACITY >= 0.3
    assert kept["width"] >= 2.0


def test_conv_1x1_and_3x3_have_clearly_different_colours():
    from nasbench_lab.viz._spec import op_colour

    def rgb(h):
        return [int(h.lstrip("#")[k:k + 2], 16) for k in (0, 2, 4)]
    a, b = rgb(op_colour("nor_conv_1x1")), rgb(op_colour("nor_conv_3x3"))
    assert sum((x - y) ** 2 for x, y in zip(a, b)) ** 0.5 > 100
    ops = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]
    assert len({op_colour(o) for o in ops}) == len(ops)


def test_ranking_legend_colour_matches_the_points():
    s = viz.ranking_spec([0.1, 0.5, 0.3, 0.9, 0.7, 0.2], [60, 70, 65, 90, 80, 61], k=2)
    pts = s["data"][0]
    assert isinstance(pts["marker"]["color"], str)                         # one colour: the legend swatch
    assert any(t["name"].startswith("true top-") for t in s["data"])


def test_pareto_draws_the_objective_limit_and_marks_points_past_it():
    rows = [{"arch": f"a{i}", "val_acc": 80 + i, "metrics": {"latency_ms": 1.0 + i}} for i in range(6)]
    s = viz.pareto_spec(rows, cost="latency_ms", objective="latency_ms<=4")
    limit = next(t for t in s["data"] if t["name"].startswith("limit"))
    assert limit["x"] == [4.0, 4.0] and limit["line"]["dash"] == "dash"
    past = next(t for t in s["data"] if t["name"].startswith("past the limit"))
    assert past["x"] == [5.0, 6.0] and "2 past the limit" in s["layout"]["title"]["text"]
    assert not any(t["name"].startswith("limit") for t in viz.pareto_spec(rows, cost="latency_ms")["data"])


def test_no_95_band_from_fewer_than_3_seeds():
    two = viz.anytime_spec({"random": [vs.evaluation_stream(8, seed=k) for k in range(2)]})
    assert not any(t.get("fill") == "tonexty" for t in two["data"])
    assert "no band" in two["layout"]["title"]["text"]
    assert "fewer than 3 seeds" in two["layout"]["annotations"][0]["text"] and "random: 2 seeds" in \
        two["layout"]["annotations"][0]["text"]
    three = viz.anytime_spec({"random": [vs.evaluation_stream(8, seed=k) for k in range(3)]})
    assert any(t.get("fill") == "tonexty" for t in three["data"]) and "95 %" in three["layout"]["title"]["text"]


def test_history_hover_shows_scores_to_two_decimals():
    evs = list(vs.evaluation_stream(3))
    s = viz.history_spec(evs)
    text = s["data"][0]["text"]
    assert len(text) == 3 and all(t.split("val_acc ")[1].count(".") == 1 for t in text)
    assert all(len(t.split("val_acc ")[1].split(".")[1]) == 2 for t in text), text


def test_anytime_log_x_spaces_the_grid_by_decades():
    runs = [([1.0, 10.0, 100.0, 1000.0], [60.0, 5.0, 2.0, 1.0]), ([2.0, 20.0, 200.0, 1000.0], [50.0, 4.0, 1.5, 0.5]),
            ([1.5, 15.0, 150.0, 1000.0], [55.0, 6.0, 1.0, 0.8])]
    s = viz.anytime_spec({"a": runs}, x="time", log_x=True, points=31, from_shared=False)
    assert s["layout"]["xaxis"]["type"] == "log" and "log scale" in s["layout"]["xaxis"]["title"]["text"]
    mean = next(t for t in s["data"] if t["name"].startswith("a (n="))
    xs = mean["x"]
    ratios = [b / a for a, b in zip(xs, xs[1:])]
    assert max(ratios) / min(ratios) < 1.0001 and xs[0] == 1.0 and xs[-1] == pytest.approx(1000.0)
    assert "type" not in viz.anytime_spec({"a": runs}, x="time")["layout"]["xaxis"]


def test_history_zooms_past_far_outliers_and_says_how_many_are_hidden():
    evs = [{"kind": "evaluation", "payload": {"index": i, "arch": f"a{i}", "val_acc": v, "best_val_acc": None}}
           for i, v in enumerate([90.0, 91.0, 10.0, 92.0, 89.0, 93.0, 10.0, 91.5, 90.5, 92.5, 88.0, 93.2,
                                  90.2, 91.2, 89.5, 92.2, 90.8, 91.8, 89.9, 92.8])]
    s = viz.history_spec(evs)
    lo, hi = s["layout"]["yaxis"]["range"]
    assert 80 < lo < 89 and hi > 93.2
    assert "2 evaluation(s) below" in s["layout"]["annotations"][-1]["text"]
    flat = [dict(e, payload={**e["payload"], "val_acc": 50.0 + i}) for i, e in enumerate(evs)]
    assert "range" not in viz.history_spec(flat)["layout"]["yaxis"]          # nothing far off: no zoom


def test_anytime_from_shared_starts_where_every_run_has_begun():
    runs = [([1.0, 10.0, 100.0], [60.0, 5.0, 2.0]), ([20.0, 200.0], [50.0, 1.5]), ([5.0, 50.0, 100.0], [55.0, 6.0, 1.0])]
    s = viz.anytime_spec({"a": runs}, x="time", log_x=True)
    mean = next(t for t in s["data"] if t["name"].startswith("a (n="))
    assert mean["x"][0] == 20.0 and None not in mean["y"]
    assert viz.anytime_spec({"a": runs}, x="time", log_x=True, from_shared=False)["data"][-1]["x"][0] == 1.0
