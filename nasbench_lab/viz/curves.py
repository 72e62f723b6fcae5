"""Curves over a run: the live history (every evaluation and the best so far, supernet epochs), and
anytime curves that race strategies (best-so-far against evaluations or simulated time, mean and a
confidence band over seeds, as in the NAS-Bench-201 and NATS-Bench papers' comparison plots).
"""
from __future__ import annotations

from ._spec import BEST, axis_name, axis_ref, base_layout, grid, rgba, series_colour, spec, to_figure
from ..objectives import parse_objective
from .records import (_num, anytime_curve, band, epoch_rows, evaluation_rows, incumbents, progress_rows,
                      records)


def _zoom_past_outliers(layout: dict, values: list) -> None:
    """Zoom the y axis onto the best 90 % of the scores when a few far-off ones (trainings that ended at
    chance, say) would squash the rest into a flat band. Why: on a good benchmark most cells score
    within a few points of each other, and the best-so-far line's steps, the thing to watch, vanish
    on an axis that also has to reach 10 %. The hidden points are counted in a note, never dropped
    silently."""
    v = sorted(x for x in values if isinstance(x, (int, float)) and x == x)
    if len(v) < 10:
        return
    lo, hi = v[len(v) // 10], v[-1]
    if lo - v[0] <= 2 * (hi - lo):
        return
    pad = 0.1 * (hi - lo) or 1.0
    layout["yaxis"]["range"] = [lo - pad, hi + pad]
    hidden = sum(x < lo - pad for x in v)
    layout.setdefault("annotations", []).append({
        "text": f"{hidden} evaluation(s) below {lo - pad:.1f} not shown (axis zoomed on the best 90 %)",
        "x": 0.99, "y": 0.02, "xref": "paper", "yref": "paper", "xanchor": "right", "yanchor": "bottom",
        "showarrow": False, "font": {"size": 11, "color": "#666"}, "bgcolor": "rgba(255,255,255,0.85)"})


def _running(progress: list, epochs: list) -> tuple[list, list, list]:
    """x, y and hover text of the running training accuracy within epochs (``progress`` events): one
    segment per epoch, ended at that epoch's own ``epoch`` point when it has one, a gap between epochs.
    Why segments: the running accuracy starts afresh each epoch, a line across epochs would be a lie."""
    ends = {r.get("epoch"): r.get("train_acc") for r in epochs}
    xs, ys, text, current = [], [], [], None

    def close(k):
        if k is not None and ends.get(k + 1) is not None:
            xs.append(k + 1), ys.append(ends[k + 1]), text.append(f"epoch {k + 1}: train_acc {ends[k + 1]:.2f}")
        xs.append(None), ys.append(None), text.append("")

    for r in progress:
        e = r.get("epoch")
        if not isinstance(e, (int, float)):
            continue
        if current is not None and int(e) != current:
            close(current)
        current = int(e)
        acc = r.get("train_acc")
        what = f"epoch {e:.2f} (step {r.get('step')}/{r.get('steps')})<br>running train_acc " + \
            (f"{acc:.2f}" if isinstance(acc, (int, float)) else "-")
        xs.append(e), ys.append(acc), text.append(what + (f"<br>path {r['arch']}" if r.get("arch") else ""))
    if current is not None:
        close(current)
    return xs[:-1], ys[:-1], text[:-1]


def _objective_of(events) -> str | None:
    """The run's objective as text ('latency_ms<=3', 'analog_1d'), from its ``run_started`` config;
    None for plain validation accuracy (or when the stream does not say)."""
    spec_ = None
    for p in records(events, "run_started"):
        spec_ = (p.get("config") or {}).get("objective") or spec_
    return None if spec_ in (None, "", "accuracy") else str(spec_)


def _breaks_limit(objective: str | None, rows: list) -> tuple[list[bool], str]:
    """Which rows break a hard limit of ``objective`` (``latency_ms<=3``), and the limits in words."""
    try:
        limits = getattr(parse_objective(objective), "limits", ()) if objective else ()
    except (ValueError, TypeError):
        limits = ()
    if not limits:
        return [False] * len(rows), ""

    def breaks(r):
        m = r.get("metrics") or {}
        return any(isinstance(m.get(c.metric), (int, float)) and m[c.metric] > c.limit for c in limits)
    return [breaks(r) for r in rows], ", ".join(f"{c.metric} <= {c.limit:g}" for c in limits)


def history_spec(events, title: str | None = None, y: str = "val_acc") -> dict:
    """Evaluations (points) and the best so far (step line); a second panel with the ``epoch`` events
    (supernet training of one-shot strategies) when there are any, and the running training accuracy
    within each epoch (``progress`` events, at fractional epochs: 0.25, 0.5, ...), so a one-shot run
    shows its first point after a step, not after its first epoch.

    The best-so-far line is the ``y`` of the run's best so far as the run ranks (``records.incumbents``:
    by the objective), so it names the same cell as the title, the status line and the result. With an
    objective other than accuracy the line may step *down* (a cell that the objective prefers but that
    scores less ``y``), the legend and the title say "by <objective>", and points that break a hard
    limit are crossed out."""
    evals = evaluation_rows(events)
    epochs = epoch_rows(events)
    progress = progress_rows(events)
    rows = 2 if epochs or progress else 1
    titles = ["evaluations", "training epochs"] if rows == 2 else None
    objective = _objective_of(events)
    if objective is None and any("objective" in r and _num(r["objective"]) != _num(r.get(y)) for r in evals):
        objective = "the run's objective"          # a stream without its run_started event: still say so
    inc = incumbents(evals, y)
    line = [evals[i].get(y) for i in inc]
    best = _num(line[-1]) if line else None
    by = f" by {objective}" if objective else ""
    head = title or (f"history — {len(evals)} evaluations" + (
        f", best {best:.2f}" + (f" ({y} of the best{by})" if by else "") if best is not None else ""))
    layout = base_layout(head, height=340 if rows == 1 else 560)
    layout.update(grid(rows, 1, titles, vspace=0.22, top=0.95 if rows == 2 else 1.0))
    xs = [r["index"] + 1 for r in evals]
    def score(v):                                  # 55.43, not 55.430228 (None stays readable)
        return f"{v:.2f}" if isinstance(v, (int, float)) else str(v)
    hover = [f"#{r['index'] + 1} {r.get('arch')}<br>{y} {score(r.get(y))}"
             + (f"<br>objective {score(r.get('objective'))}" if by and "objective" in r else "") for r in evals]
    broken, limits = _breaks_limit(objective if by else None, evals)
    # Until a cell within the limits turns up, the run's best is the one least over them (objectives.py):
    # that stretch is drawn apart, dotted, so the solid line only ever rests on cells the run may keep.
    # (Once one is within the limits no cell over them can win again, so the stretch is a prefix.)
    over = [broken[i] for i in inc]
    best_text = [f"best so far{by}: #{evals[i]['index'] + 1} {evals[i].get('arch')}<br>{y} {score(v)}"
                 for i, v in zip(inc, line)]
    data = [{"type": "scatter", "mode": "markers", "x": xs, "y": [r.get(y) for r in evals], "name": y,
             "text": hover, "hoverinfo": "text", "marker": {"size": 7, "color": "#1f77b4", "opacity": 0.75}},
            {"type": "scatter", "mode": "lines", "x": xs, "y": [None if o else v for v, o in zip(line, over)],
             "name": f"best so far{by}" + (f" (its {y})" if by else ""), "text": best_text,
             "hoverinfo": "text", "line": {"color": BEST, "width": 2.5, "shape": "hv"}}]
    if any(over):
        # the dotted stretch runs on to the first point of the solid line, so the two join
        data.append({"type": "scatter", "mode": "lines", "x": xs, "text": best_text, "hoverinfo": "text",
                     "y": [v if o or (k and over[k - 1]) else None for k, (v, o) in enumerate(zip(line, over))],
                     "name": "best so far: least over the limit (none within it yet)",
                     "line": {"color": BEST, "width": 1.5, "dash": "dot", "shape": "hv"}})
    if any(broken):
        # crossed out, on top of their own points: the cells the constrained run could not take, however
        # accurate (why the line passes under them)
        data.append({"type": "scatter", "mode": "markers", "x": [x for x, b in zip(xs, broken) if b],
                     "y": [r.get(y) for r, b in zip(evals, broken) if b], "name": f"breaks {limits}",
                     "hoverinfo": "skip",
                     "marker": {"size": 10, "color": "#000000", "symbol": "x-thin",
                                "line": {"width": 1.5, "color": "#000000"}}})
    if any(r.get("test_acc") is not None for r in evals):
        data.append({"type": "scatter", "mode": "markers", "x": xs, "y": [r.get("test_acc") for r in evals],
                     "name": "test_acc", "visible": "legendonly", "marker": {"size": 5, "color": "#2ca02c"}})
    layout["xaxis"].update({"title": {"text": "evaluation"}})
    layout["yaxis"].update({"title": {"text": y}})
    _zoom_past_outliers(layout, [r.get(y) for r in evals])
    if rows == 2:
        ex = [r.get("epoch") for r in epochs]
        for k, (key, colour) in enumerate((("train_acc", "#9467bd"), ("val_acc", "#d62728"))):
            data.append({"type": "scatter", "mode": "lines+markers", "x": ex, "y": [r.get(key) for r in epochs],
                         "name": f"epoch {key}", "xaxis": axis_ref("x", 1), "yaxis": axis_ref("y", 1),
                         "line": {"color": colour}, "marker": {"size": 4}})
        if progress:
            px, py, ptext = _running(progress, epochs)
            data.append({"type": "scatter", "mode": "lines+markers", "x": px, "y": py, "text": ptext,
                         "hoverinfo": "text", "name": "train_acc within the epoch (running)",
                         "xaxis": axis_ref("x", 1), "yaxis": axis_ref("y", 1),
                         "line": {"color": "#9467bd", "width": 1, "dash": "dot"}, "marker": {"size": 3}})
        layout[axis_name("x", 1)].update({"title": {"text": "epoch"}})
    return spec(data, layout)


def history_figure(events, backend: str = "auto", **kw):
    return to_figure(history_spec(events, **kw), backend)


def _curve(run, x: str, y: str):
    if isinstance(run, tuple) and len(run) == 2 and all(isinstance(v, (list, tuple)) for v in run):
        return list(run[0]), list(run[1])
    return anytime_curve(run, x, y)


MIN_BAND_SEEDS = 3
"""Fewest seeds a confidence band is drawn from."""


def anytime_spec(runs: dict, x: str = "evaluations", y: str = "val_acc", z: float = 1.96, points: int = 200,
                 show_runs: bool | None = None, title: str | None = None, ylabel: str | None = None,
                 log_x: bool = False, from_shared: bool | None = None) -> dict:
    """``runs``: {label: [run, run, ...]} with one run per seed, each an event list, evaluation rows or a
    ready (xs, ys) pair (e.g. ``race.curves``: regret against time). Draws the mean and a
    mean +- z * standard-error band per label. ``ylabel``: what the y values are (default "best <y>").
    ``log_x``: a logarithmic x axis (and a log-spaced grid). Why: races start every curve at the same
    high regret and separate late; on a linear axis the first queries fill most of the picture and the
    strategies merge into one line, on a log axis each decade of budget gets the same room.
    ``from_shared`` (default: with ``log_x``): start the x axis where every run of every label has made
    its first evaluation. Why: before that point a mean is over the runs that happen to have started
    (a biased few) and its band over a handful of them fills the picture."""
    if not isinstance(runs, dict):
        raise ValueError("runs must be a dict {label: [run per seed, ...]}")
    data, banded, thin = [], 0, []
    if from_shared is None:
        from_shared = log_x
    starts = [c[0][0] for seeds in runs.values() for c in (_curve(r, x, y) for r in seeds) if c[0]]
    shared = max(starts) if (from_shared and starts) else None
    for i, (label, seeds) in enumerate(runs.items()):
        colour = series_colour(i)
        curves = [_curve(r, x, y) for r in seeds]
        curves = [c for c in curves if c[0]]
        if not curves:
            continue
        lo, hi = min(c[0][0] for c in curves), max(c[0][-1] for c in curves)
        if shared is not None and shared < hi:
            lo = shared
        if log_x and lo > 0 and hi > lo:                # log-spaced: each decade gets the same number of points
            grid_x = [lo * (hi / lo) ** (k / (points - 1)) for k in range(points)]
        elif x == "evaluations":
            grid_x = list(range(int(lo) if shared is not None else 1, max(max(c[0]) for c in curves) + 1))
        else:                                           # simulated time: a regular grid over the range
            grid_x = [lo + (hi - lo) * k / (points - 1) for k in range(points)] if hi > lo else [lo]
        b = band(curves, grid_x, z)
        if show_runs or (show_runs is None and len(curves) <= 3):
            for xs, ys in curves:
                data.append({"type": "scatter", "mode": "lines", "x": xs, "y": ys, "showlegend": False,
                             "legendgroup": label, "line": {"color": rgba(colour, 0.3), "width": 1, "shape": "hv"},
                             "hoverinfo": "skip", "name": f"{label} (seed)"})
        # why 3: a standard error from two seeds is one difference; its "95 %" band is noise drawn as
        # certainty. Fewer seeds: the runs are drawn and the figure says why there is no band.
        if len(curves) >= MIN_BAND_SEEDS:
            banded += 1
            data.append({"type": "scatter", "mode": "lines", "x": b["x"], "y": b["lo"], "showlegend": False,
                         "legendgroup": label, "line": {"width": 0, "shape": "hv"}, "hoverinfo": "skip",
                         "name": f"{label} lower"})
            data.append({"type": "scatter", "mode": "lines", "x": b["x"], "y": b["hi"], "fill": "tonexty",
                         "fillcolor": rgba(colour, 0.18), "line": {"width": 0, "shape": "hv"}, "showlegend": False,
                         "legendgroup": label, "hoverinfo": "skip", "name": f"{label} upper"})
        else:
            thin.append(f"{label}: {len(curves)} seed{'s' if len(curves) != 1 else ''}")
        data.append({"type": "scatter", "mode": "lines", "x": b["x"], "y": b["mean"], "legendgroup": label,
                     "name": f"{label} (n={len(curves)})", "line": {"color": colour, "width": 2.5, "shape": "hv"}})
    what = "95 %" if abs(z - 1.96) < 1e-9 else f"{z} SE"
    what_y = ylabel or f"best {y} so far"
    head = title or (f"{what_y} (mean and {what} band over seeds)" if banded else
                     f"{what_y} (mean over seeds; no band)")
    xlabel = "evaluations" if x == "evaluations" else "time (s, simulated where the estimator is a table)"
    xaxis = {"title": {"text": xlabel + (" (log scale)" if log_x else "")}, **({"type": "log"} if log_x else {})}
    layout = base_layout(head, height=380, xaxis=xaxis, yaxis={"title": {"text": ylabel or f"best {y}"}})
    if thin:
        layout["annotations"] = [{"text": f"no {what} band where fewer than {MIN_BAND_SEEDS} seeds: "
                                          + "; ".join(thin), "x": 0.99, "y": 0.02, "xref": "paper", "yref": "paper",
                                  "xanchor": "right", "yanchor": "bottom", "showarrow": False,
                                  "font": {"size": 11, "color": "#666"}, "bgcolor": "rgba(255,255,255,0.85)"}]
    return spec(data, layout)


def anytime_figure(runs: dict, backend: str = "auto", **kw):
    return to_figure(anytime_spec(runs, **kw), backend)
