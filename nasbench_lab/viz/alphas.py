"""DARTS alpha evolution: per edge, the softmaxed weight of every op across epochs; and the cell DAG
as it was at each epoch (a slider over the ``alphas`` events).

This is the figure that shows the skip-connection collapse (Zela et al., "Understanding and Robustifying
Differentiable Architecture Search", ICLR 2020): the orange skip_connect lines climb on edge after edge.
"""
from __future__ import annotations

import math

from ._spec import axis_name, axis_ref, base_layout, data_range, grid, op_colour, spec, to_figure
from .dag import alpha_dag_spec
from .records import alpha_history, records

_CELL_NAMES = {"normal": "normal", "reduce": "reduce", "cell": ""}
WITHIN_EPOCH_POINTS = 100
"""The most within-epoch snapshots (``progress`` events) drawn on the lines besides the epochs' own."""


def alpha_evolution_spec(events, cell: str | None = None, edges: list | None = None, cols: int | None = None,
                         title: str | None = None, within_epoch: bool = True) -> dict:
    """One small panel per edge (all cells, or only ``cell``), one line per op: weight vs epoch.
    ``within_epoch``: the lines also pass through the alphas of ``progress`` events (fractional epochs),
    so they move during an epoch and the first points come after a few steps, not after an epoch."""
    hist = alpha_history(events, within_epoch=within_epoch, limit=WITHIN_EPOCH_POINTS)
    cells = [cell] if cell is not None else list(hist)
    if cell is not None and cell not in hist:
        raise ValueError(f"no alphas for cell {cell!r}; cells seen: {', '.join(hist) or 'none'}")
    panels = []                                    # (cell, edge index, edge name)
    for c in cells:
        h = hist[c]
        for e, name in enumerate(h["edges"]):
            if edges is None or name in edges or e in edges:
                panels.append((c, e, name))
    n = max(1, len(panels))
    cols = cols or min(7, n)
    rows = math.ceil(n / cols)
    titles = [f"{_CELL_NAMES.get(c, c)} {name}".strip() for c, _, name in panels]
    layout = base_layout(title or "alpha evolution: softmax weight of each op per edge",
                         height=max(300, 80 + 170 * rows))
    layout.update(grid(rows, cols, titles, hspace=0.07, vspace=0.35 / max(rows, 1), top=0.95))
    data, shown = [], set()
    for k, (c, e, _) in enumerate(panels):
        h = hist[c]
        panel_ys = []
        for o, op in enumerate(h["ops"]):
            ys = [w[e][o] if e < len(w) and o < len(w[e]) else None for w in h["weights"]]
            panel_ys += ys
            data.append({"type": "scatter", "mode": "lines", "x": h["epochs"], "y": ys, "name": op,
                         "legendgroup": op, "showlegend": op not in shown, "xaxis": axis_ref("x", k),
                         "yaxis": axis_ref("y", k), "line": {"color": op_colour(op), "width": 1.8},
                         "hovertemplate": f"{op}<br>epoch %{{x}}: %{{y:.3f}}<extra></extra>"})
            shown.add(op)
        uniform = 1.0 / max(1, len(h["ops"]))
        if h["epochs"]:                 # the start: every op at 1/n_ops; the lesson is leaving this line
            data.append({"type": "scatter", "mode": "lines", "x": [min(h["epochs"]), max(h["epochs"])],
                         "y": [uniform, uniform], "name": f"uniform 1/{len(h['ops'])}", "legendgroup": "uniform",
                         "showlegend": "uniform" not in shown, "xaxis": axis_ref("x", k), "yaxis": axis_ref("y", k),
                         "line": {"color": "#555555", "width": 1, "dash": "dash"}, "hoverinfo": "skip"})
            shown.add("uniform")
        layout[axis_name("y", k)].update({"range": data_range(panel_ys, [uniform]), "showticklabels": True,
                                          "tickfont": {"size": 9}, "nticks": 4})
        layout[axis_name("x", k)].update({"tickfont": {"size": 9}})
    return spec(data, layout)


def alpha_evolution_figure(events, cell=None, edges=None, backend: str = "auto", **kw):
    return to_figure(alpha_evolution_spec(events, cell, edges, **kw), backend)


def skip_share_spec(events, title: str | None = None) -> dict:
    """Share of skip_connect in the derived cell per epoch: the collapse as one line."""
    snaps = records(events, "alphas")
    xs = [p.get("epoch", k) for k, p in enumerate(snaps)]
    ys = [p.get("skip_share") for p in snaps]
    data = [{"type": "scatter", "mode": "lines+markers", "x": xs, "y": ys, "name": "skip_connect share",
             "line": {"color": op_colour("skip_connect")}}]
    return spec(data, base_layout(title or "skip_connect share of the derived cell", height=260,
                                  xaxis={"title": {"text": "epoch"}},
                                  yaxis={"title": {"text": "share"}, "range": [0, 1.02]}))


def alpha_slider_spec(events, max_frames: int = 40, show_labels: bool = True) -> dict:
    """The alpha-weighted DAG with a slider (and a play button) over epochs.

    Why one trace per edge (``per_edge``): plotly animates frames trace by trace, so every frame must
    have the same traces in the same order, whatever the edge styles are at that epoch.
    """
    snaps = records(events, "alphas")
    if not snaps:
        return spec([], base_layout("alphas: no epochs yet", height=300))
    step = max(1, math.ceil(len(snaps) / max_frames))
    picked = list(range(0, len(snaps), step))
    if picked[-1] != len(snaps) - 1:
        picked.append(len(snaps) - 1)             # the newest epoch is always a frame
    frames = []
    for i in picked:
        s = alpha_dag_spec(snaps[i], show_labels=show_labels, per_edge=True)
        frames.append({"name": str(snaps[i].get("epoch", i)), "data": s["data"],
                       "layout": {"annotations": s["layout"]["annotations"], "title": s["layout"]["title"]}})
    last = alpha_dag_spec(snaps[picked[-1]], show_labels=show_labels, per_edge=True)
    layout = last["layout"]
    layout["height"] = layout.get("height", 300) + 70
    layout["margin"] = {**layout.get("margin", {}), "b": 90}
    layout["sliders"] = [{"active": len(frames) - 1, "currentvalue": {"prefix": "epoch "}, "pad": {"t": 40},
                          "steps": [{"label": f["name"], "method": "animate",
                                     "args": [[f["name"]], {"mode": "immediate", "frame": {"duration": 0,
                                                                                          "redraw": True},
                                                            "transition": {"duration": 0}}]} for f in frames]}]
    layout["updatemenus"] = [{"type": "buttons", "showactive": False, "x": 0, "y": -0.05, "xanchor": "right",
                              "buttons": [{"label": "play", "method": "animate",
                                           "args": [None, {"frame": {"duration": 400, "redraw": True},
                                                           "fromcurrent": True}]}]}]
    return spec(last["data"], layout, frames)


def alpha_slider_figure(events, backend: str = "auto", **kw):
    return to_figure(alpha_slider_spec(events, **kw), backend)


def alpha_dag_at(events, epoch: int | None = None, backend: str = "auto", **kw):
    """The alpha-weighted DAG at one epoch (the newest when ``epoch`` is None)."""
    snaps = records(events, "alphas")
    if not snaps:
        raise ValueError("no alphas events: run a one-shot strategy that emits them (e.g. darts)")
    snap = snaps[-1]
    if epoch is not None:
        match = [p for p in snaps if p.get("epoch") == epoch]
        if not match:
            raise ValueError(f"no alphas for epoch {epoch}; epochs: {[p.get('epoch') for p in snaps]}")
        snap = match[-1]
    return to_figure(alpha_dag_spec(snap, **kw), backend)
