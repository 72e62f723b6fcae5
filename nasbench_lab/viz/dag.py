"""Cell and network DAGs: any space's ``to_graph()``, and DARTS-style mixed edges weighted by alpha.

Layout: networkx's multipartite layout over topological generations (inputs left, output right, one
column per generation). Edges that skip a column are drawn as quadratic Bezier arcs, alternating above
and below, so a long edge never hides behind the nodes it jumps over (the NB201 cell is a chain of four
nodes with three such edges). Edges are coloured and labelled by op; arrows show the direction.
"""
from __future__ import annotations

from collections import defaultdict

import networkx as nx

from ..spaces import get_space
from ._spec import axis_name, axis_ref, base_layout, grid, op_colour, rgba, spec, to_figure

# Edges whose op is structural: drawn thinner and not labelled.
_QUIET = {"next", "concat"}
_CELL_TITLES = {"normal": "normal cell", "reduce": "reduction cell"}


def graph_layout(g: nx.DiGraph) -> dict:
    """Node -> (x, y), per cell (nodes sharing a ``cell`` attribute): one column per node in
    topological order (networkx's, ties broken by insertion order), except that all sources share the
    first column, stacked top to bottom in insertion order (DARTS: c_{k-2} above c_{k-1})."""
    pos = {}
    rank = {n: i for i, n in enumerate(g.nodes)}
    for _, nodes in _groups(g):
        sub = g.subgraph(nodes)
        order = list(nx.lexicographical_topological_sort(sub, key=lambda n: f"{rank[n]:09d}"))
        sources = sorted((n for n in order if sub.in_degree(n) == 0), key=rank.get)
        # why one unit per column and +-1 for stacked sources: arcs and labels keep the same size
        # whatever the cell length, and edges from the two inputs fan out instead of overlapping
        for i, n in enumerate(sources):
            pos[n] = (0.0, 0.0 if len(sources) == 1 else 1.0 - 2.0 * i / (len(sources) - 1))
        # with stacked inputs, wider columns keep the fan of input edges (and their labels) apart
        unit, col = (2.0 if len(sources) > 1 else 1.0), 1
        for n in order:
            if n not in pos:
                pos[n] = (unit * (col if sources else col - 1), 0.0)
                col += 1
    return pos


def _groups(g: nx.DiGraph) -> list[tuple]:
    groups: dict = defaultdict(list)
    for n, d in g.nodes(data=True):
        groups[d.get("cell")].append(n)
    return list(groups.items())


def _bezier(p0, p2, bend: float, n: int = 16) -> tuple[list, list]:
    """Points of a quadratic Bezier from p0 to p2 bent by ``bend`` (in units of the chord length)."""
    (x0, y0), (x2, y2) = p0, p2
    cx, cy = (x0 + x2) / 2 - (y2 - y0) * bend, (y0 + y2) / 2 + (x2 - x0) * bend  # control point on the normal
    xs, ys = [], []
    for k in range(n + 1):
        t = k / n
        xs.append((1 - t) ** 2 * x0 + 2 * (1 - t) * t * cx + t ** 2 * x2)
        ys.append((1 - t) ** 2 * y0 + 2 * (1 - t) * t * cy + t ** 2 * y2)
    return xs, ys


def _bends(g: nx.DiGraph, pos: dict) -> dict:
    """Bend per edge: straight unless it runs along a row of nodes past others; those arc above the
    row, a little higher for each further arc of the same length so they do not coincide."""
    seen: dict = defaultdict(int)
    bends = {}
    for u, v in sorted(g.edges(), key=lambda e: (abs(pos[e[1]][0] - pos[e[0]][0]), str(e))):
        (x0, y0), (x1, y1) = pos[u], pos[v]
        same_row = abs(y0 - y1) < 1e-9
        span = round(abs(x1 - x0), 6)
        if not same_row or sum(1 for x, y in pos.values() if abs(y - y0) < 1e-9 and
                               min(x0, x1) < x < max(x0, x1)) == 0:     # nothing in between: straight
            bends[(u, v)] = 0.0
            continue
        k = seen[span]
        seen[span] += 1
        bends[(u, v)] = (0.16 + 0.05 * k) * (1 if x1 > x0 else -1)
    return bends


def default_edge_style(u, v, d: dict) -> dict:
    op = str(d.get("op", ""))
    quiet = op in _QUIET or op == "skip"          # chain skips: the colour and the legend say it
    hover = f"{u} → {v}: {op}" + (" (+ residual)" if d.get("residual") else "")
    label = (None if quiet else op) if not d.get("residual") else ("+res" if quiet else f"{op} +res")
    return {"colour": op_colour(op), "width": 1.5 if op in _QUIET else 2.5, "opacity": 0.8 if op in _QUIET else 1.0,
            "dash": "dash" if op == "none" else "solid", "label": label, "legend": op, "hover": hover}


def graph_spec(g: nx.DiGraph, title: str | None = None, edge_style=None, show_labels: bool = True,
               height: int | None = None, per_edge: bool = False) -> dict:
    """The spec of a drawn DAG: one subplot row per cell, edges styled by ``edge_style(u, v, data)``
    (a dict with colour, width, opacity, dash, label, legend, hover; missing keys take the defaults).

    Edges of one style share a trace; ``per_edge`` gives every edge its own trace instead, so that
    animation frames of the same graph have the same traces in the same order."""
    edge_style = edge_style or default_edge_style
    groups = _groups(g)
    pos = graph_layout(g)
    bends = _bends(g, pos)
    titles = [_CELL_TITLES.get(c, str(c)) if c is not None else None for c, _ in groups]
    rows = len(groups)
    layout = base_layout(title, height=height or 110 + 230 * rows, showlegend=True)
    layout["legend"] = {"orientation": "h", "y": -0.02, "yanchor": "top"}
    layout.update(grid(rows, 1, titles if any(titles) else None, vspace=0.1 if rows > 1 else 0.0, top=0.97))
    annotations = layout["annotations"]
    data, legend_done = [], set()
    for k, (cell, nodes) in enumerate(groups):
        xa, ya = axis_ref("x", k), axis_ref("y", k)
        node_set = set(nodes)
        lines: dict = defaultdict(lambda: {"x": [], "y": [], "hover": []})
        for u, v, d in g.edges(data=True):
            if u not in node_set:
                continue
            st = {**default_edge_style(u, v, d), **edge_style(u, v, d)}
            xs, ys = _bezier(pos[u], pos[v], bends[(u, v)])
            key = (st["colour"], round(st["width"], 2), round(st["opacity"], 2), st["dash"], st["legend"])
            ln = lines[key + ((u, v),) if per_edge else key]
            ln["x"] += xs + [None]
            ln["y"] += ys + [None]
            ln["hover"] += [st["hover"]] * len(xs) + [None]
            # the arrow head sits a little before the target so the node marker does not hide it
            annotations.append({"x": xs[-3], "y": ys[-3], "ax": xs[-5], "ay": ys[-5], "xref": xa, "yref": ya,
                                "axref": xa, "ayref": ya, "showarrow": True, "arrowhead": 2, "arrowsize": 1.0,
                                "arrowwidth": max(1.0, min(st["width"], 3.0)),
                                "arrowcolor": rgba(st["colour"], st["opacity"]), "text": ""})
            if show_labels and st["label"]:
                mid = len(xs) // 2
                # why annotations, not a text trace: they get a white box, readable on top of the line
                annotations.append({"x": xs[mid], "y": ys[mid], "xref": xa, "yref": ya, "text": st["label"],
                                    "showarrow": False, "font": {"size": 9, "color": st["colour"]},
                                    "bgcolor": "rgba(255,255,255,0.85)", "borderpad": 1})
        for (colour, width, opacity, dash, legend, *_), ln in lines.items():
            show = legend is not None and legend not in legend_done
            legend_done.add(legend)
            data.append({"type": "scatter", "mode": "lines", "x": ln["x"], "y": ln["y"], "xaxis": xa, "yaxis": ya,
                         "line": {"color": rgba(colour, opacity), "width": width, "dash": dash},
                         "name": str(legend), "legendgroup": str(legend), "showlegend": show,
                         "hoverinfo": "text", "text": ln["hover"]})
        data.append(_node_trace(g, nodes, pos, xa, ya))
        xs_all = [pos[n][0] for n in nodes]
        ys_all = [pos[n][1] for n in nodes]
        arc = max([abs(b) * abs(pos[v][0] - pos[u][0]) / 2 for (u, v), b in bends.items() if u in node_set] + [0])
        layout[axis_name("x", k)].update({"range": [min(xs_all) - 0.4, max(xs_all) + 0.4], "visible": False})
        layout[axis_name("y", k)].update({"range": [min(ys_all) - 0.45, max(ys_all) + max(0.45, arc + 0.2)],
                                          "visible": False, "scaleanchor": xa, "scaleratio": 1})
    return spec(data, layout)


def _node_trace(g, nodes, pos, xa, ya) -> dict:
    labels = [str(g.nodes[n].get("label", n)) for n in nodes]
    colours = []
    for lab in labels:
        is_op = lab not in ("in", "out", "stem", "head") and not lab.isdigit() and not lab.startswith("c_")
        colours.append(op_colour(lab) if is_op else "#f0f0f0")
    long = any(len(lab) > 7 for lab in labels)
    hover = [f"{n}: {lab}" + "".join(f"<br>{k}: {v}" for k, v in g.nodes[n].items() if k not in ("label", "cell"))
             for n, lab in zip(nodes, labels)]
    return {"type": "scatter", "mode": "markers+text", "x": [pos[n][0] for n in nodes],
            "y": [pos[n][1] for n in nodes], "text": labels, "hovertext": hover, "hoverinfo": "text",
            "textposition": "bottom center" if long else "middle center", "textfont": {"size": 10},
            "marker": {"size": 16 if long else 30, "color": colours, "line": {"color": "#444", "width": 1}},
            "xaxis": xa, "yaxis": ya, "showlegend": False, "name": "nodes"}


def arch_graph(space, arch) -> nx.DiGraph:
    """``space.to_graph(arch)`` for a space name or object and an architecture value (a string from an
    event or a file: parse it with the space's ``from_str`` first)."""
    return get_space(space).to_graph(arch)


def dag_figure(space, arch=None, title: str | None = None, backend: str = "auto", **kw):
    """The DAG of one architecture (``space`` a name or space object), or of a ready networkx graph.

    Every space draws: NB201 (one cell), DARTS (normal and reduction cell side by side), chain and
    mobile (the layer sequence, node colour = op, arcs = skip connections).
    """
    g = space if isinstance(space, nx.DiGraph) else arch_graph(space, arch)
    if title is None and g.graph.get("arch"):
        title = f"{g.graph.get('space', '')}: {g.graph['arch']}"
        title = title if len(title) <= 110 else title[:107] + "..."
    return to_figure(graph_spec(g, title, **kw), backend)


# ---------------------------------------------------------------------------- alpha-weighted DAGs
def _parse_edge(name: str):
    a, sep, b = str(name).partition("->")
    if not sep:
        return None
    try:
        return int(a), int(b)
    except ValueError:
        return a.strip(), b.strip()


def alpha_graph(edges: list, ops: list, weights: list, cell: str | None = None) -> nx.DiGraph:
    """A DiGraph of mixed edges: each edge holds its softmaxed op weights (``weights[e][o]``).

    Edge names ``"i->j"`` give the endpoints. In a two-cell (DARTS) space, nodes 0 and 1 are the cell
    inputs c_{k-2}, c_{k-1}, node j >= 2 is intermediate j-2, an output node concatenates the
    intermediates, and the derived cell keeps the two strongest inputs per node (``none`` excluded), as
    the DARTS discretisation does. Otherwise the strongest op per edge wins (``none`` included, as on
    NB201). Names without '->' (one choice per block, e.g. ProxylessNAS on ``mobile``) form a chain.
    """
    darts = cell in ("normal", "reduce")
    g = nx.DiGraph(space="alphas", cell=cell)
    parsed = [_parse_edge(e) for e in edges]
    if any(p is None for p in parsed):
        parsed = [(k, k + 1) for k in range(len(edges))]
    nodes = sorted({n for p in parsed for n in p}, key=str)
    last = max(nodes, key=lambda n: (isinstance(n, int), n if isinstance(n, int) else 0)) if nodes else None
    first = min(nodes, key=lambda n: (not isinstance(n, int), n if isinstance(n, int) else 0)) if nodes else None
    for n in nodes:
        if darts and isinstance(n, int):
            label = {0: "c_{k-2}", 1: "c_{k-1}"}.get(n, str(n - 2))
        else:
            label = {first: "in", last: "out"}.get(n, str(n))
        g.add_node(n, label=label, cell=cell if darts else None)
    none_idx = ops.index("none") if "none" in ops else None
    for name, (u, v), row in zip(edges, parsed, weights):
        cand = [k for k in range(len(row)) if not (darts and k == none_idx)]
        best = max(cand, key=lambda k: row[k]) if cand else 0
        g.add_edge(u, v, op=ops[best] if best < len(ops) else str(best), strength=float(row[best]),
                   weights={ops[k] if k < len(ops) else str(k): float(row[k]) for k in range(len(row))},
                   name=str(name), kept=True, mixed=True, n_ops=len(row))
    if darts:
        for v in nodes:
            ins = sorted(g.in_edges(v, data=True), key=lambda e: -e[2]["strength"])
            for k, (_, _, d) in enumerate(ins):
                d["kept"] = k < 2
        out = "out"
        g.add_node(out, label="c_{k}", cell=cell)
        for n in nodes:
            if isinstance(n, int) and n >= 2:
                g.add_edge(n, out, op="concat", mixed=False)
    else:
        for _, _, d in g.edges(data=True):
            d["kept"] = d["op"] != "none"
    return g


MIN_KEPT_OPACITY = 0.55
"""Opacity floor of a kept edge: near-uniform alphas (the first epochs) must still draw a visible cell."""
MIN_DROPPED_OPACITY = 0.3
"""Opacity floor of an edge the discretisation drops (faint, dotted, but there)."""


def alpha_edge_style(u, v, d: dict) -> dict:
    """Width and opacity by the strongest op's weight, relative to the uniform 1/n_ops start (with floors)."""
    if not d.get("mixed"):
        return default_edge_style(u, v, d)
    n = max(2, d.get("n_ops", 2))
    s = d.get("strength", 0.0)
    rel = max(0.0, min(1.0, (s - 1.0 / n) / (1.0 - 1.0 / n)))
    ranked = sorted(d.get("weights", {}).items(), key=lambda kv: -kv[1])
    hover = f"{d.get('name', f'{u}->{v}')}<br>" + "<br>".join(f"{op}: {w:.3f}" for op, w in ranked)
    if not d.get("kept"):      # dropped by the discretisation: faint, dotted, no label (hover still tells)
        return {"colour": op_colour(d["op"]), "width": 1.2 + 1.8 * rel,
                "opacity": MIN_DROPPED_OPACITY + (0.6 - MIN_DROPPED_OPACITY) * rel,
                "dash": "dot", "label": None, "legend": d["op"], "hover": hover}
    return {"colour": op_colour(d["op"]), "width": 2.0 + 8.0 * rel,
            "opacity": MIN_KEPT_OPACITY + (1.0 - MIN_KEPT_OPACITY) * rel,
            "dash": "solid", "label": f"{d['op']} {s:.2f}", "legend": d["op"], "hover": hover}


def alpha_dag_spec(snapshot: dict, title: str | None = None, show_labels: bool = True, per_edge: bool = False) -> dict:
    """One ``alphas`` payload drawn: every cell, edges weighted by alpha (solid = kept when derived)."""
    w = snapshot.get("weights") or []
    per_cell = w if isinstance(w, dict) else {None: w}
    edges = snapshot.get("edges") or []
    g = nx.DiGraph()
    for cell, weights in per_cell.items():
        cell_edges = edges.get(cell) if isinstance(edges, dict) else edges
        sub = alpha_graph(list(cell_edges or [str(i) for i in range(len(weights))]), list(snapshot.get("ops") or []),
                          weights, cell)
        g = nx.union(g, nx.relabel_nodes(sub, {n: (cell, n) for n in sub.nodes}) if cell else sub)
    if title is None:
        title = f"alphas at epoch {snapshot.get('epoch', '?')}"
        if snapshot.get("step") is not None and isinstance(snapshot.get("epoch"), (int, float)):
            # a ``progress`` snapshot: within an epoch
            title = f"alphas at epoch {snapshot['epoch']:.2f} (step {snapshot['step']}/{snapshot.get('steps')})"
        if snapshot.get("skip_share") is not None:
            title += f" — skip_connect share {snapshot['skip_share']:.2f}"
    return graph_spec(g, title, edge_style=alpha_edge_style, show_labels=show_labels, per_edge=per_edge)


def alpha_dag_figure(snapshot: dict, title: str | None = None, backend: str = "auto", **kw):
    return to_figure(alpha_dag_spec(snapshot, title, **kw), backend)
