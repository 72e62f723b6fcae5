"""The RL controller (Zoph & Le, "Neural Architecture Search with Reinforcement Learning", ICLR 2017):
the probability of each choice, per decision, over controller steps; then the reward against the
moving-average baseline (REINFORCE pushes up the choices whose reward beat the baseline) and the
policy's entropy (how far it still explores).
"""
from __future__ import annotations

import math

from ..spaces import get_space
from ._spec import axis_name, axis_ref, base_layout, data_range, grid, op_colour, series_colour, spec, to_figure
from .records import controller_history


def _choice_names(h: dict, choices, space, n_dec: int) -> list:
    if choices is None and h.get("choices"):
        choices = h["choices"]
    if choices is None and space is not None:
        sp = get_space(space)
        choices = [list(d.choices) for d in sp.decisions()]
    if choices is None:
        return [None] * n_dec
    return [[str(c) for c in row] for row in choices] + [None] * max(0, n_dec - len(choices))


def controller_spec(events, choices=None, space=None, max_decisions: int = 12, cols: int = 3,
                    title: str | None = None, within_epoch: bool = True) -> dict:
    """``choices``: names per decision (else the events' own, else ``space.decisions()``, else indices).
    ``within_epoch``: ENAS' ``progress`` events give step 0, the policy before its first update (ENAS
    trains the shared weights first), so the panel has its first point after one step."""
    h = controller_history(events, within_epoch=within_epoch)
    # why markers while there is one step: a line through one point is not drawn
    mode = "lines" if len(h["steps"]) > 1 else "lines+markers"
    probs = h["probs"]
    n_dec = max([len(p) for p in probs] + [len(h["decisions"])])
    names = _choice_names(h, choices, space, n_dec)
    shown_dec = list(range(min(n_dec, max_decisions)))
    n = len(shown_dec) + 2
    cols = max(1, min(cols, n))
    rows = math.ceil(n / cols)
    titles = [h["decisions"][d] if d < len(h["decisions"]) else f"decision {d}" for d in shown_dec]
    titles += ["reward vs baseline", "entropy"]
    head = title or ("controller probabilities per decision" +
                     (f" (first {len(shown_dec)} of {n_dec})" if n_dec > len(shown_dec) else ""))
    # why 3 columns and 240 px a row: 8 panels in 4 columns left ticks unreadable (issue 12)
    layout = base_layout(head, height=max(340, 90 + 240 * rows))
    layout.update(grid(rows, cols, titles, hspace=0.08, vspace=0.32 / max(rows, 1), top=0.93))
    data, legend_done = [], set()
    for k, d in enumerate(shown_dec):
        n_choice = max([len(p[d]) for p in probs if d < len(p)] + [0])
        panel_ys = []
        for c in range(n_choice):
            label = names[d][c] if names[d] and c < len(names[d]) else f"choice {c}"
            colour = op_colour(label) if names[d] else series_colour(c)
            ys = [p[d][c] if d < len(p) and c < len(p[d]) else None for p in probs]
            panel_ys += ys
            data.append({"type": "scatter", "mode": mode, "x": h["steps"], "y": ys, "name": label,
                         "legendgroup": label, "showlegend": label not in legend_done, "xaxis": axis_ref("x", k),
                         "yaxis": axis_ref("y", k), "line": {"color": colour, "width": 1.8},
                         "hovertemplate": f"{label}<br>step %{{x}}: %{{y:.3f}}<extra></extra>"})
            legend_done.add(label)
        extra = []
        if n_choice and h["steps"]:     # the untrained policy: every choice at 1/n; learning leaves it
            uniform = 1.0 / n_choice
            extra = [uniform]
            data.append({"type": "scatter", "mode": "lines", "x": [min(h["steps"]), max(h["steps"])],
                         "y": [uniform, uniform], "name": "uniform 1/n", "legendgroup": "uniform",
                         "showlegend": "uniform" not in legend_done, "xaxis": axis_ref("x", k),
                         "yaxis": axis_ref("y", k), "line": {"color": "#555555", "width": 1, "dash": "dash"},
                         "hoverinfo": "skip"})
            legend_done.add("uniform")
        layout[axis_name("y", k)].update({"range": data_range(panel_ys, extra), "tickfont": {"size": 10},
                                          "nticks": 5})
        layout[axis_name("x", k)].update({"tickfont": {"size": 10}})
    kr, ke = len(shown_dec), len(shown_dec) + 1
    for key, colour, dash in (("reward_mean", "#2ca02c", "solid"), ("baseline", "#7f7f7f", "dash")):
        data.append({"type": "scatter", "mode": "lines+markers", "x": h["steps"], "y": h[key], "name": key,
                     "xaxis": axis_ref("x", kr), "yaxis": axis_ref("y", kr), "marker": {"size": 4},
                     "line": {"color": colour, "dash": dash}})
    data.append({"type": "scatter", "mode": "lines", "x": h["steps"], "y": h["entropy"], "name": "entropy",
                 "xaxis": axis_ref("x", ke), "yaxis": axis_ref("y", ke), "line": {"color": "#8c564b"}})
    for k in (kr, ke):
        layout[axis_name("x", k)].update({"title": {"text": "step"}, "tickfont": {"size": 10}})
    return spec(data, layout)


def controller_figure(events, backend: str = "auto", **kw):
    return to_figure(controller_spec(events, **kw), backend)
