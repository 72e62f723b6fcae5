"""Figure specs: plain dicts in plotly's JSON schema, and what turns them into figures.

Why dicts and not ``plotly.graph_objects`` all the way down: a spec is pure data, so every builder in
``viz`` is a pure function (data in, dict out) that is trivially testable, a spec can be rendered by
plotly (interactive) *or* by matplotlib (static export, nbconvert, PDF) from the same source, and the
builders still work where plotly is not installed.
"""
from __future__ import annotations

import zlib

from .static import StaticFigure

# Fixed colours for the ops the lab's spaces use, so one op has one colour in every figure.
OP_COLOURS = {
    # NB201
    "none": "#c7c7c7", "skip_connect": "#ff7f0e", "nor_conv_1x1": "#9467bd", "nor_conv_3x3": "#1f77b4",
    "avg_pool_3x3": "#2ca02c",
    # DARTS
    "max_pool_3x3": "#98df8a", "sep_conv_3x3": "#9467bd", "sep_conv_5x5": "#c5b0d5", "sep_conv_7x7": "#7b4173",
    "dil_conv_3x3": "#d62728", "dil_conv_5x5": "#ff9896", "conv_7x1_1x7": "#8c564b",
    # chain
    "conv_3x3": "#1f77b4", "conv_5x5": "#17becf", "attention": "#e377c2", "se": "#bcbd22",
    # mobile (kernel: hue, expansion: shade)
    "k3_e3": "#9ecae1", "k3_e6": "#3182bd", "k5_e3": "#a1d99b", "k5_e6": "#31a354", "k7_e3": "#fdae6b",
    "k7_e6": "#e6550d", "skip": "#ff7f0e",
    # structural edges of to_graph()
    "next": "#7f7f7f", "reduce": "#17becf", "concat": "#bdbdbd",
}
_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
            "#bcbd22", "#17becf")
ALIVE = "#1f77b4"
REMOVED = "#bdbdbd"
HIGHLIGHT = "#d62728"
BEST = "#ff7f0e"


def op_colour(op: str) -> str:
    """The colour of an op; an unknown op gets a stable palette colour from its name.

    Why crc32 and not ``hash``: Python salts string hashes per process, and a colour must not change
    between the kernel that drew a figure and the one that replays it.
    """
    if op in OP_COLOURS:
        return OP_COLOURS[op]
    if "+" in op:                                   # two ops on one DARTS edge: colour of the first
        return op_colour(op.split("+")[0])
    return _PALETTE[zlib.crc32(str(op).encode()) % len(_PALETTE)]


def data_range(values, extra=(), pad: float = 0.08, lo: float = 0.0, hi: float = 1.0) -> list:
    """A y range around ``values`` (and ``extra``, e.g. the uniform level), padded, clipped to [lo, hi].

    Why not a fixed 0-1: weights that move from 0.20 to 0.26 are a flat line on a 0-1 axis; the lesson
    (the alphas leave uniform) must be visible at the scale they actually move.
    """
    vals = [float(v) for v in [*values, *extra] if v is not None]
    if not vals:
        return [lo, hi]
    a, b = min(vals), max(vals)
    span = max(b - a, 0.02)
    return [max(lo, a - pad * span), min(hi, b + pad * span)]


def series_colour(i: int) -> str:
    return _PALETTE[i % len(_PALETTE)]


def rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[k:k + 2], 16) for k in (0, 2, 4))
    return f"rgba({r},{g},{b},{max(0.0, min(1.0, alpha)):.3f})"


def axis_name(kind: str, k: int) -> str:
    """Layout key of the k-th axis (0-based): xaxis, xaxis2, ..."""
    return f"{kind}axis" if k == 0 else f"{kind}axis{k + 1}"


def axis_ref(kind: str, k: int) -> str:
    """Trace reference of the k-th axis: x, x2, ..."""
    return kind if k == 0 else f"{kind}{k + 1}"


def grid(rows: int, cols: int, titles=None, hspace: float = 0.06, vspace: float = 0.12,
         heights=None, top: float = 1.0) -> dict:
    """Layout entries for a rows x cols grid of subplots (row-major; subplot k uses x{k+1}/y{k+1}).

    Returns layout keys (``xaxis``, ``yaxis2``, ...) plus ``annotations`` holding the subplot titles.
    ``heights``: relative row heights (top row first). Written by hand so specs need no plotly.
    """
    heights = list(heights or [1.0] * rows)
    total = sum(heights)
    usable_h = top - vspace * (rows - 1)
    width = (1.0 - hspace * (cols - 1)) / cols
    layout: dict = {"annotations": []}
    y_top = top
    for r in range(rows):
        h = usable_h * heights[r] / total
        for c in range(cols):
            k = r * cols + c
            x0 = c * (width + hspace)
            layout[axis_name("x", k)] = {"domain": [x0, x0 + width], "anchor": axis_ref("y", k)}
            layout[axis_name("y", k)] = {"domain": [max(0.0, y_top - h), y_top], "anchor": axis_ref("x", k)}
            if titles is not None and k < len(titles) and titles[k]:
                layout["annotations"].append({"text": titles[k], "x": x0 + width / 2, "y": y_top,
                                              "xref": "paper", "yref": "paper", "xanchor": "center",
                                              "yanchor": "bottom", "showarrow": False, "font": {"size": 12}})
        y_top -= h + vspace
    return layout


def base_layout(title: str | None = None, height: int | None = None, **extra) -> dict:
    layout = {"template": "plotly_white", "margin": {"l": 50, "r": 20, "t": 60 if title else 30, "b": 50},
              "legend": {"orientation": "h", "y": -0.2, "yanchor": "top"}, "hovermode": "closest"}
    if title:
        layout["title"] = {"text": title, "x": 0.01, "xanchor": "left"}
    if height:
        layout["height"] = height
    layout.update(extra)
    return layout


def spec(data: list, layout: dict, frames: list | None = None) -> dict:
    out = {"data": data, "layout": layout}
    if frames:
        out["frames"] = frames
    return out


def has_plotly() -> bool:
    try:
        import plotly.graph_objects  # noqa: F401   # heavy (and the lab extra): imported when a figure is made
    except ImportError:
        return False
    return True


def to_figure(s: dict, backend: str = "auto"):
    """Turn a spec into a figure: a plotly ``Figure`` when plotly is installed (backend 'auto' or
    'plotly'), else (or with backend 'static') a ``StaticFigure`` that displays as a PNG via matplotlib.
    backend 'spec' returns the dict itself."""
    if backend == "spec":
        return s
    if backend not in ("auto", "plotly", "static"):
        raise ValueError(f"backend must be 'auto', 'plotly', 'static' or 'spec', got {backend!r}")
    if backend == "static" or (backend == "auto" and not has_plotly()):
        return StaticFigure(s)
    import plotly.graph_objects as go                   # heavy (and the lab extra): only for a plotly figure
    # why skip_invalid=False (the default): a typo in a builder should fail the tests, not vanish
    return go.Figure(s)
