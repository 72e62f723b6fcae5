"""Evolution: the population over time (Real et al., "Regularized Evolution for Image Classifier
Architecture Search", AAAI 2019).

Every member ever seen is one point at (generation it was born, fitness). Alive members are coloured
by age; members that left the population (aging removes the *oldest*, not the worst — the point of
regularized evolution) are grey. Thin lines join each child to its parent, and two lines follow the
best and the mean fitness of the living population.
"""
from __future__ import annotations

from ._spec import ALIVE, BEST, REMOVED, base_layout, spec, to_figure
from .records import population_history


def population_spec(events, title: str | None = None, show_links: bool = True) -> dict:
    h = population_history(events)
    members = list(h["members"].values())
    by_id = h["members"]
    data = []
    if show_links:
        lx, ly = [], []
        for m in members:
            p = by_id.get(m.get("parent"))
            if p is not None and p["fitness"] is not None and m["fitness"] is not None:
                lx += [p["born"], m["born"], None]
                ly += [p["fitness"], m["fitness"], None]
        data.append({"type": "scatter", "mode": "lines", "x": lx, "y": ly, "name": "parent → child",
                     "line": {"color": "rgba(120,120,120,0.35)", "width": 1}, "hoverinfo": "skip"})
    for alive in (False, True):
        ms = [m for m in members if m["alive"] == alive and m["fitness"] is not None]
        hover = [f"id {m['id']}<br>{m['arch']}<br>fitness {m['fitness']:.3f}<br>age {m.get('age')}"
                 f"<br>parent {m.get('parent')}<br>born gen {m['born']}"
                 + (f"<br>removed gen {m['removed_at']}" if m["removed_at"] is not None else "") for m in ms]
        marker = {"size": 9, "line": {"width": 0.5, "color": "#333"}}
        if alive:
            ages = [m.get("age") if isinstance(m.get("age"), (int, float)) else 0 for m in ms]
            marker.update({"color": ages, "colorscale": "Blues", "reversescale": True, "cmin": 0,
                           "cmax": max(ages + [1]), "showscale": bool(ms),
                           "colorbar": {"title": {"text": "age"}, "thickness": 10, "len": 0.6}})
        else:
            marker.update({"color": REMOVED, "size": 7, "symbol": "x", "line": {"width": 0}})
        data.append({"type": "scatter", "mode": "markers", "x": [m["born"] for m in ms],
                     "y": [m["fitness"] for m in ms], "name": "alive" if alive else "removed",
                     "text": hover, "hoverinfo": "text", "marker": marker,
                     "customdata": [m["id"] for m in ms]})
    for key, colour, dash in (("best", BEST, "solid"), ("mean", ALIVE, "dot")):
        data.append({"type": "scatter", "mode": "lines", "x": h["generations"], "y": h[key],
                     "name": f"{key} of population", "line": {"color": colour, "width": 2, "dash": dash,
                                                            "shape": "hv" if key == "best" else "linear"}})
    n_alive = h["size"][-1] if h["size"] else 0
    head = title or (f"population — generation {h['last_generation']}, {n_alive} alive, "
                     f"{len(members) - n_alive} removed" if members else "population — no snapshots yet")
    layout = base_layout(head, height=380, xaxis={"title": {"text": "generation (birth)"}},
                         yaxis={"title": {"text": "fitness"}})
    return spec(data, layout)


def population_figure(events, backend: str = "auto", **kw):
    return to_figure(population_spec(events, **kw), backend)
