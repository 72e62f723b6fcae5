"""Two pitfall figures: trusting one-shot rankings, and ignoring hardware.

* Ranking: one-shot score (inherited supernet weights, a proxy) against from-scratch accuracy for the same
  architectures, with Kendall tau, Spearman rho and the top-k overlap in view; the true top-k circled
  and the proxy's top-k marked, so the gap between them is visible at a glance.
* Pareto: accuracy against latency (or FLOPs, or parameters) with the front of non-dominated points.
"""
from __future__ import annotations

from ..objectives import parse_objective
from ._spec import BEST, HIGHLIGHT, REMOVED, base_layout, spec, to_figure
from .records import as_record, evaluation_rows, pareto_front, rank_stats

# Metric names under which a one-shot score may sit in an evaluation's metrics.
POINT = "#1f77b4"

ONE_SHOT_KEYS = ("oneshot_score", "one_shot_score", "supernet_acc", "inherited_acc", "proxy_score")


def ranking_data(events) -> dict:
    """{archs, pred, true} from ``ranking`` events (payload archs, oneshot, scratch), or else from
    evaluations whose metrics carry a one-shot score (``ONE_SHOT_KEYS``) next to val_acc."""
    archs, pred, true = [], [], []
    for item in events or ():
        kind, p = as_record(item)
        if kind == "ranking":
            archs, pred, true = list(p.get("archs") or []), list(p.get("oneshot") or []), list(p.get("scratch") or [])
            if not archs:
                archs = [str(i) for i in range(len(pred))]
    if pred:
        return {"archs": archs, "pred": pred, "true": true}
    for r in evaluation_rows(events):
        m = r.get("metrics") or {}
        key = next((k for k in ONE_SHOT_KEYS if m.get(k) is not None), None)
        if key is not None and r.get("val_acc") is not None:
            archs.append(r.get("arch"))
            pred.append(float(m[key]))
            true.append(float(r["val_acc"]))
    return {"archs": archs, "pred": pred, "true": true}


def ranking_spec(pred, true, archs=None, k: int = 5, x_label: str = "one-shot score",
                 y_label: str = "from-scratch accuracy", title: str | None = None) -> dict:
    if len(pred) != len(true):
        raise ValueError(f"pred and true must have the same length, got {len(pred)} and {len(true)}")
    archs = list(archs) if archs is not None else [str(i) for i in range(len(pred))]
    st = rank_stats(list(pred), list(true), k) if len(pred) >= 2 else None
    top_true = set(st["top_true"]) if st else set()
    top_pred = set(st["top_pred"]) if st else set()
    idx = range(len(pred))
    hover = [f"{archs[i]}<br>{x_label} {pred[i]:.3f}<br>{y_label} {true[i]:.3f}" for i in idx]
    data = [{"type": "scatter", "mode": "markers", "x": list(pred), "y": list(true), "name": "architectures",
             "text": hover, "hoverinfo": "text",
             # why one colour: per-point colours made the legend swatch disagree with the points; the
             # true top-k get their own (red circle) trace instead
             "marker": {"size": 8, "color": POINT, "opacity": 0.8}}]
    if st and st["top_k_overlap"] is not None:          # no top-k marks where every point is in both
        kk = st["k"]
        data.append({"type": "scatter", "mode": "markers", "x": [pred[i] for i in sorted(top_true)],
                     "y": [true[i] for i in sorted(top_true)], "name": f"true top-{kk}",
                     "marker": {"size": 16, "color": HIGHLIGHT, "symbol": "circle-open", "line": {"width": 2}},
                     "hoverinfo": "skip"})
        data.append({"type": "scatter", "mode": "markers", "x": [pred[i] for i in sorted(top_pred)],
                     "y": [true[i] for i in sorted(top_pred)], "name": f"one-shot top-{kk}",
                     "marker": {"size": 11, "color": BEST, "symbol": "diamond", "opacity": 0.9}, "hoverinfo": "skip"})
    text = "need at least 2 architectures"
    if st:
        overlap = (f"{st['top_k_overlap']:.0%}" if st["top_k_overlap"] is not None else st["top_k_note"])
        text = (f"Kendall τ = {st['kendall_tau']:.3f}<br>Spearman ρ = {st['spearman']:.3f}<br>"
                f"top-{st['k']} overlap = {overlap}<br>n = {st['n']}")
    layout = base_layout(title or "does the one-shot ranking agree with training from scratch?", height=420,
                         xaxis={"title": {"text": x_label}}, yaxis={"title": {"text": y_label}})
    layout["annotations"] = [{"text": text, "x": 0.01, "y": 0.99, "xref": "paper", "yref": "paper",
                              "xanchor": "left", "yanchor": "top", "showarrow": False, "align": "left",
                              "bgcolor": "rgba(255,255,255,0.85)", "bordercolor": "#999", "borderwidth": 1}]
    return spec(data, layout)


def ranking_figure(pred, true, archs=None, k: int = 5, backend: str = "auto", **kw):
    return to_figure(ranking_spec(pred, true, archs, k, **kw), backend)


_COST_LABELS = {"latency_ms": "latency (ms)", "flops": "FLOPs", "params": "parameters"}


def pareto_points(items, cost: str = "latency_ms", acc: str = "val_acc") -> list[dict]:
    """{arch, cost, acc} from evaluation events/rows (``cost`` looked up in metrics, then top level), or
    from plain dicts that already have those keys."""
    out = []
    for r in evaluation_rows(items):
        m = r.get("metrics") or {}
        c = m.get(cost, r.get(cost))
        a = r.get(acc, m.get(acc))
        if c is not None and a is not None:
            out.append({"arch": r.get("arch"), "cost": float(c), "acc": float(a)})
    return out


def objective_limit(objective, cost: str) -> float | None:
    """The hard limit an objective puts on ``cost`` (``'latency_ms<=4'`` -> 4.0), else None."""
    if not objective:
        return None
    try:
        obj = parse_objective(objective)
    except (ValueError, TypeError):
        return None
    return next((float(c.limit) for c in getattr(obj, "limits", ()) if c.metric == cost), None)


def pareto_spec(items, cost: str = "latency_ms", acc: str = "val_acc", log_x: bool | None = None,
                title: str | None = None, limit: float | None = None, objective: str | None = None) -> dict:
    """``limit`` (or the ``<=`` limit of ``objective`` on ``cost``): drawn as a dashed line, the points past
    it marked with a cross (they are what the constrained search had to refuse)."""
    if limit is None:
        limit = objective_limit(objective, cost)
    pts = pareto_points(items, cost, acc)
    costs, accs = [p["cost"] for p in pts], [p["acc"] for p in pts]
    front = pareto_front(costs, accs)
    on_front = set(front)
    idx = range(len(pts))
    data = [{"type": "scatter", "mode": "markers", "x": [costs[i] for i in idx if i not in on_front],
             "y": [accs[i] for i in idx if i not in on_front], "name": "dominated",
             "text": [pts[i]["arch"] for i in idx if i not in on_front], "hoverinfo": "text+x+y",
             "marker": {"size": 7, "color": REMOVED}},
            {"type": "scatter", "mode": "lines+markers", "x": [costs[i] for i in front], "y": [accs[i] for i in front],
             "name": "Pareto front", "text": [pts[i]["arch"] for i in front], "hoverinfo": "text+x+y",
             "line": {"color": HIGHLIGHT, "shape": "hv", "width": 2}, "marker": {"size": 10, "color": HIGHLIGHT}}]
    past = [i for i in idx if limit is not None and costs[i] > limit]
    if limit is not None:
        data.append({"type": "scatter", "mode": "markers", "x": [costs[i] for i in past],
                     "y": [accs[i] for i in past], "name": f"past the limit {cost} <= {limit:g}",
                     "text": [pts[i]["arch"] for i in past], "hoverinfo": "text+x+y",
                     "marker": {"size": 11, "color": "#000000", "symbol": "x-thin", "line": {"width": 2,
                                                                                              "color": "#000000"}}})
        ys = accs or [0.0]
        data.append({"type": "scatter", "mode": "lines", "x": [limit, limit], "y": [min(ys), max(ys)],
                     "name": f"limit {cost} = {limit:g}", "hoverinfo": "skip",
                     "line": {"color": "#000000", "dash": "dash", "width": 1.5}})
    if log_x is None:                      # FLOPs and parameters span decades; latencies rarely do
        pos = [c for c in costs if c > 0]
        log_x = bool(pos) and max(pos) / min(pos) > 50
    xaxis = {"title": {"text": _COST_LABELS.get(cost, cost)}}
    if log_x:
        xaxis["type"] = "log"
    head = f"{acc} vs {_COST_LABELS.get(cost, cost)}: {len(front)} of {len(pts)} on the front"
    if limit is not None:
        head += f"; {len(past)} past the limit {cost} <= {limit:g}"
    layout = base_layout(title or head,
                         height=400, xaxis=xaxis, yaxis={"title": {"text": acc}})
    return spec(data, layout)


def pareto_figure(items, cost: str = "latency_ms", acc: str = "val_acc", backend: str = "auto", **kw):
    return to_figure(pareto_spec(items, cost, acc, **kw), backend)
