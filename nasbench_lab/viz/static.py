"""The matplotlib fallback: draw any ``viz`` figure statically (PNG/PDF/SVG, nbconvert, no JavaScript).

``to_matplotlib`` renders the subset of plotly's JSON schema that the lab's builders use: scatter
traces (lines, markers, text, filled bands), heatmaps, subplot domains, axis ranges/titles/log scale,
annotations (titles and arrows) and the legend. Every builder is tested through it, so a figure that
plotly draws also exports to a PDF.
"""
from __future__ import annotations

import base64
import html
import io
import math
import re
import textwrap

import numpy as np


_DASH = {"solid": "-", "dash": "--", "dot": ":", "dashdot": "-.", "longdash": "--", "longdashdot": "-."}
# plotly marker symbols (without their -open / -dot variants) as matplotlib markers. plotly's "x" and
# "cross" are filled shapes (matplotlib "X", "P"); its "-thin" ones are bare strokes (matplotlib "x", "+").
_SYMBOL = {"circle": "o", "square": "s", "diamond": "D", "x": "X", "cross": "P", "star": "*",
           "triangle-up": "^", "triangle-down": "v", "triangle-left": "<", "triangle-right": ">",
           "pentagon": "p", "hexagon": "h", "x-thin": "x", "cross-thin": "+", "line-ns": "|", "line-ew": "_"}
_STROKE = {"x-thin", "cross-thin", "line-ns", "line-ew"}
_RGBA = re.compile(r"rgba?\(\s*([\d.]+)\s*,\s*([\d.]+)\s*,\s*([\d.]+)\s*(?:,\s*([\d.]+)\s*)?\)")



def as_spec(fig) -> dict:
    """The plain-dict form of a plotly Figure / FigureWidget / StaticFigure / spec."""
    if isinstance(fig, dict):
        return fig
    if hasattr(fig, "spec") and isinstance(fig.spec, dict):
        return fig.spec
    if hasattr(fig, "to_dict"):                       # plotly Figure / FigureWidget
        d = fig.to_dict()
        return {"data": list(d.get("data", [])), "layout": dict(d.get("layout", {})),
                **({"frames": d["frames"]} if d.get("frames") else {})}
    raise TypeError(f"not a figure: {type(fig).__name__}")


def mpl_colour(c, default="#1f77b4"):
    """A plotly colour string as something matplotlib takes (rgba() strings become tuples)."""
    if c is None:
        return default
    if isinstance(c, str):
        m = _RGBA.match(c.strip())
        if m:
            r, g, b, a = m.groups()
            return (float(r) / 255, float(g) / 255, float(b) / 255, float(a) if a is not None else 1.0)
    return c


def _nan(v):
    return math.nan if v is None else v


def _cmap(scale, reverse: bool = False):
    """A colour scale (a plotly name or [[position, colour], ...]) as a matplotlib colormap; ``reverse``:
    plotly's ``reversescale`` (the population colours its youngest members dark with it)."""
    from matplotlib.colors import LinearSegmentedColormap     # heavy (the lab extra): only when drawing
    if isinstance(scale, str) or not scale:
        import matplotlib                                     # loaded by the line above already
        name = {"viridis": "viridis", "blues": "Blues", "reds": "Reds", "rdbu": "RdBu"}.get(str(scale).lower(), "viridis")
        cmap = matplotlib.colormaps[name]
    else:
        cmap = LinearSegmentedColormap.from_list("plotly", [(float(p), mpl_colour(c)) for p, c in scale])
    return cmap.reversed() if reverse else cmap


def _scale_of(tr: dict) -> dict | None:
    """The colour-scale settings of a trace that shows a colour bar (plotly ``showscale``): a heatmap's
    own (shown unless switched off, as in plotly), or its markers' (shown only when asked); else None."""
    if tr.get("type") == "heatmap":
        return tr if tr.get("showscale", True) and tr.get("visible", True) is True else None
    marker = tr.get("marker") or {}
    col = marker.get("color")
    numeric = isinstance(col, (list, tuple)) and col and all(isinstance(c, (int, float)) or c is None for c in col)
    return marker if marker.get("showscale") and numeric and tr.get("visible", True) is True else None


_TAG = re.compile(r"</?[A-Za-z][^>]*>")
_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)


def _plain(text) -> str:
    """plotly's text markup as plain text: ``<br>`` a new line, other tags dropped, entities decoded.
    Why only tags that start with a letter: "n = 3 <= k = 5" is text, and a looser pattern ate it."""
    return html.unescape(_TAG.sub("", _BR.sub("\n", str(text))))


def _title_lines(title: str, w_px: float) -> list[tuple[str, float]]:
    """(text, font size) per line of a figure title: plotly's ``<br>`` breaks kept, a ``<sup>``/``<sub>``
    line smaller, and each wrapped to the figure's width. Why wrap: the Best DAG title carries the whole
    architecture string (a DARTS genotype is some 300 characters) and a one-line title ran off the PNG."""
    out = []
    for k, part in enumerate(_BR.split(str(title))):
        size = 8.0 if k and re.search(r"<su[bp]>", part, re.IGNORECASE) else 11.0
        text = _plain(part).strip()
        # about 0.58 em a character at 100 px per inch (72 pt): a safe average for DejaVu Sans
        chars = max(20, int(0.97 * w_px / (0.58 * size * 100 / 72)))
        out += [(line, size) for line in textwrap.wrap(text, chars, break_on_hyphens=False)]
    return out


def to_matplotlib(fig, width: float | None = None, height: float | None = None):
    """A ``matplotlib.figure.Figure`` drawing ``fig`` (a plotly Figure, a StaticFigure or a spec)."""
    from matplotlib.figure import Figure      # heavy (the lab extra): only when a static figure is drawn
    s = as_spec(fig)
    layout = s.get("layout", {}) or {}
    w_px = width or layout.get("width") or 900
    h_px = height or layout.get("height") or 450
    mfig = Figure(figsize=(w_px / 100, h_px / 100), dpi=100)
    margin = {"l": 60, "r": 30, "t": 60, "b": 60, **(layout.get("margin") or {})}
    ncol, legend_rows = _legend_grid(s, w_px)
    # room for the axis title and the legend below it (a row more for each row of a wrapped legend)
    margin["b"] = max(margin["b"], 59 + 16 * max(1, legend_rows))
    if any(_scale_of(tr) is not None for tr in s.get("data", [])):
        margin["r"] = max(margin["r"], 90)         # room for the colour bar, its ticks and its title
    title = layout.get("title")
    title = title.get("text") if isinstance(title, dict) else title
    lines = _title_lines(title, w_px) if title else []
    line_px = [size * 1.35 * 100 / 72 for _, size in lines]
    margin["t"] = max(margin["t"], 10 + sum(line_px) + 12)       # a wrapped title pushes the plot down
    left, bottom = margin["l"] / w_px, margin["b"] / h_px
    pw, ph = 1 - (margin["l"] + margin["r"]) / w_px, 1 - (margin["t"] + margin["b"]) / h_px

    def area(dx, dy):          # plot-area fractions -> figure fractions
        return left + dx * pw, bottom + dy * ph

    axes = {}

    def get_ax(xref: str, yref: str):
        key = (xref or "x", yref or "y")
        if key not in axes:
            xl = layout.get("xaxis" + key[0][1:], {}) or {}
            yl = layout.get("yaxis" + key[1][1:], {}) or {}
            xd, yd = xl.get("domain", [0, 1]), yl.get("domain", [0, 1])
            x0, y0 = area(xd[0], yd[0])
            ax = mfig.add_axes([x0, y0, (xd[1] - xd[0]) * pw, (yd[1] - yd[0]) * ph])
            _style_axis(ax, xl, yl)
            axes[key] = ax
        return axes[key]

    handles, bars = [], 0
    for tr in s.get("data", []):
        ax = get_ax(tr.get("xaxis", "x"), tr.get("yaxis", "y"))
        h = _draw_trace(ax, tr, axes)
        if h is not None and tr.get("showlegend", True) is not False and tr.get("name") and tr.get("type") != "heatmap":
            handles.append(h)
        sc = _scale_of(tr)
        if sc is not None and h is not None:
            _colour_bar(mfig, h, sc, area, bars, w_px)
            bars += 1
    if not axes:
        get_ax("x", "y")
    for ann in layout.get("annotations", []) or []:
        _draw_annotation(mfig, ann, axes, get_ax, area)
    y = 1 - 10 / h_px
    for (text, size), lh in zip(lines, line_px):
        mfig.text(0.01, y, text, ha="left", va="top", fontsize=size)
        y -= lh / h_px
    if handles and layout.get("showlegend", True) is not False:
        seen, uniq = set(), []
        for h in handles:
            if h.get_label() not in seen:
                seen.add(h.get_label())
                uniq.append(h)
        mfig.legend(handles=uniq, loc="lower center", ncol=max(1, min(ncol, len(uniq))), fontsize=8, frameon=False,
                    bbox_to_anchor=(0.5, 0.0))
    _fit_y_labels(mfig, list(axes.values()), left, pw)
    return mfig


def _fit_y_labels(mfig, axes: list, left: float, pw: float) -> None:
    """Move the plot area right until every y axis title is inside the figure. Why: plotly widens its
    left margin to fit the tick labels (automargin); with the fixed margin, ticks such as "89.5" pushed
    the title "val_acc" wholly off the PNG's left edge."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg     # heavy (the lab extra): drawing only
    renderer = FigureCanvasAgg(mfig).get_renderer()
    width = mfig.bbox.width
    # the y axis's own extent: its tick labels and its title, laid out as drawing will (only the axes
    # that have a title: a full draw of 28 small alpha panels would cost more than the fix)
    need = max([(4 - ax.yaxis.get_tightbbox(renderer).x0) / width for ax in axes if ax.get_ylabel()] + [0.0])
    if need <= 0 or need >= pw / 2:
        return
    shrink = (pw - need) / pw                     # the plot area, shifted and narrowed as one
    for ax in axes:
        x0, y0, w, h = ax.get_position().bounds
        ax.set_position([left + need + (x0 - left) * shrink, y0, w * shrink, h])


def _legend_grid(s: dict, w_px: float) -> tuple[int, int]:
    """Columns and rows of the legend below the plot: as many columns (at most 6) as the longest entry
    lets fit across the figure. Why: one row of long entries ("best so far by latency_ms<=3 ...") ran
    past both edges of the PNG, where plotly wraps its legend."""
    names = []
    for tr in s.get("data", []):
        if (tr.get("name") and tr.get("showlegend", True) is not False and tr.get("type") != "heatmap"
                and tr.get("visible", True) not in (False, "legendonly") and tr["name"] not in names):
            names.append(str(tr["name"]))
    if not names or (s.get("layout") or {}).get("showlegend", True) is False:
        return 1, 0
    # an entry: its handle and padding (about 45 px) and its text at 8 pt (about 6.7 px a character)
    widest = 45 + 6.7 * max(len(n) for n in names)
    ncol = max(1, min(6, len(names), int(0.96 * w_px // widest)))
    return ncol, -(-len(names) // ncol)


def _colour_bar(mfig, mappable, sc: dict, area, k: int, w_px: float) -> None:
    """plotly's colour bar (``showscale``): right of the plot area, ``len`` of its height, titled."""
    bar = sc.get("colorbar") or {}
    length = float(bar.get("len", 1.0))
    x0, y0 = area(1.0, 0.5 - length / 2)
    _, y1 = area(1.0, 0.5 + length / 2)
    thick = float(bar.get("thickness", 15)) / w_px
    cax = mfig.add_axes([x0 + (15 + 60 * k) / w_px, y0, thick, y1 - y0])
    cb = mfig.colorbar(mappable, cax=cax)
    cb.ax.tick_params(labelsize=8)
    t = bar.get("title")
    t = t.get("text") if isinstance(t, dict) else t
    if t:
        cax.set_title(_plain(t), fontsize=9, loc="left")


def _style_axis(ax, xl: dict, yl: dict):
    for lay, set_lim, set_label, set_scale, inv in ((xl, ax.set_xlim, ax.set_xlabel, ax.set_xscale, ax.invert_xaxis),
                                                    (yl, ax.set_ylim, ax.set_ylabel, ax.set_yscale, ax.invert_yaxis)):
        if lay.get("type") == "log":
            set_scale("log")
        rng = lay.get("range")
        if rng and None not in rng:
            set_lim(*(10 ** r for r in rng) if lay.get("type") == "log" else rng)
        t = lay.get("title")
        t = t.get("text") if isinstance(t, dict) else t
        if t:
            set_label(_plain(t), fontsize=9)
        if lay.get("autorange") == "reversed":
            inv()
    for lay, axis in ((xl, ax.xaxis), (yl, ax.yaxis)):
        if lay.get("nticks") and lay.get("type") != "log":
            # why: small multiples ask for few ticks; matplotlib's default ~6 (0.1985, 0.1990, ...) run into
            # the next panel
            from matplotlib.ticker import MaxNLocator    # heavy (the lab extra): only when drawing
            axis.set_major_locator(MaxNLocator(nbins=max(2, int(lay["nticks"]) - 1)))
    if xl.get("visible") is False and yl.get("visible") is False:
        ax.set_axis_off()
    ax.tick_params(labelsize=8)
    ax.grid(True, alpha=0.25)


def _draw_trace(ax, tr: dict, axes):
    kind = tr.get("type", "scatter")
    if tr.get("visible") in (False, "legendonly"):
        return None
    if kind == "heatmap":
        z = np.array([[_nan(v) for v in row] for row in tr.get("z", [])], dtype=float)
        im = ax.imshow(z, aspect="auto", cmap=_cmap(tr.get("colorscale"), tr.get("reversescale", False)),
                       origin="lower", vmin=tr.get("zmin"), vmax=tr.get("zmax"))
        if tr.get("x") is not None:
            ax.set_xticks(range(len(tr["x"])), [str(v) for v in tr["x"]], rotation=45, fontsize=7)
        if tr.get("y") is not None:
            ax.set_yticks(range(len(tr["y"])), [str(v) for v in tr["y"]], fontsize=7)
        return im                                  # for its colour bar (a heatmap has no legend entry)
    if kind not in ("scatter", "scattergl"):
        return None
    x = [_nan(v) for v in (tr.get("x") or [])]
    y = [_nan(v) for v in (tr.get("y") or [])]
    if not x and y:
        x = list(range(len(y)))
    mode = tr.get("mode", "lines+markers")
    line = tr.get("line") or {}
    marker = tr.get("marker") or {}
    name = tr.get("name")
    # None, not 1.0, when the trace sets none: matplotlib's alpha would override the alpha of an rgba()
    # colour (the population's faint parent -> child links came out black)
    opacity = tr.get("opacity")
    handle = None
    fill = tr.get("fill")
    if fill in ("toself", "tonexty", "tozeroy"):
        fc = mpl_colour(tr.get("fillcolor") or line.get("color"))
        if fill == "toself":
            handle = ax.fill(x, y, color=fc, linewidth=0, label=name)[0]
        elif fill == "tozeroy":
            handle = ax.fill_between(x, y, 0, color=fc, linewidth=0, label=name)
        else:
            prev = getattr(ax, "_nbl_prev", None)
            if prev is not None:
                handle = ax.fill_between(prev[0], prev[1], y, color=fc, linewidth=0, label=name)
    if "lines" in mode and x:
        width = line.get("width", 2)
        if width:
            (handle,) = ax.plot(x, y, color=mpl_colour(line.get("color")), linewidth=width * 0.75,
                                linestyle=_DASH.get(line.get("dash", "solid"), "-"), alpha=opacity, label=name,
                                drawstyle="steps-post" if line.get("shape") == "hv" else "default")
    if "markers" in mode and x:
        col = marker.get("color", line.get("color"))      # plotly: markers take the line colour by default
        kw = {}
        if isinstance(col, (list, tuple)) and col and all(isinstance(c, (int, float)) or c is None for c in col):
            kw = {"c": [_nan(c) for c in col], "vmin": marker.get("cmin"), "vmax": marker.get("cmax"),
                  "cmap": _cmap(marker.get("colorscale"), marker.get("reversescale", False))}
        elif isinstance(col, (list, tuple)):
            kw = {"c": [mpl_colour(c) for c in col]}
        else:
            kw = {"color": mpl_colour(col)}
        size = marker.get("size", 6)
        size = [(_nan(v) if v is not None else 6) ** 2 * 0.6 for v in size] if isinstance(size, (list, tuple)) \
            else size ** 2 * 0.6
        symbol = str(marker.get("symbol", "circle"))
        base = re.sub(r"-open|-dot", "", symbol)
        mline = marker.get("line") or {}
        edge = mline.get("color")
        extra = {}
        if base in _STROKE:
            # a bare stroke (x-thin: a point the limit refuses): drawn in the line colour and width, with
            # no face; a filled fallback would be a big disc hiding the points under it
            kw = {"color": mpl_colour(edge)} if edge else kw
            extra, edge = {"linewidths": float(mline.get("width", 1)) * 0.75}, None
        elif "-open" in symbol:                            # an open marker: only its outline, in its colour
            edge, kw = kw.get("color", kw.get("c")), {"facecolors": "none"}
        elif edge and mline.get("width", 1):
            extra = {"linewidths": float(mline.get("width", 1)) * 0.75}
        handle = ax.scatter(x, y, s=size, marker=_SYMBOL.get(base, "o"), alpha=marker.get("opacity", opacity),
                            label=name, zorder=3, **kw, **extra,
                            **({"edgecolors": mpl_colour(edge)} if edge and mline.get("width", 1) else {}))
    if "text" in mode and x:
        texts = tr.get("text") or []
        tcol = (tr.get("textfont") or {}).get("color")
        fsize = (tr.get("textfont") or {}).get("size", 10) * 0.8
        pos = tr.get("textposition", "middle center")
        va = "bottom" if str(pos).startswith("top") else "top" if str(pos).startswith("bottom") else "center"
        for k, (xi, yi) in enumerate(zip(x, y)):
            if k < len(texts) and texts[k] is not None and not (isinstance(xi, float) and math.isnan(xi)):
                c = tcol[k] if isinstance(tcol, (list, tuple)) else tcol
                ax.text(xi, yi, str(texts[k]), fontsize=fsize, color=mpl_colour(c, "#222"), ha="center",
                        va=va, zorder=4)
    ax._nbl_prev = (x, y)      # for a following fill='tonexty' trace (confidence bands)
    return handle


def _draw_annotation(mfig, ann: dict, axes, get_ax, area):
    text = _plain(ann.get("text", "") or "")
    xref, yref = ann.get("xref", "paper"), ann.get("yref", "paper")
    if xref == "paper" or yref == "paper":
        fx, fy = area(ann.get("x", 0.5), ann.get("y", 1.0))
        va = {"bottom": "bottom", "top": "top"}.get(ann.get("yanchor"), "center")
        ha = {"left": "left", "right": "right"}.get(ann.get("xanchor"), "center")
        if text:
            mfig.text(fx, fy, text, ha=ha, va=va, fontsize=9)
        return
    ax = get_ax(xref.replace(" domain", ""), yref.replace(" domain", ""))
    if ann.get("showarrow") and ann.get("axref", "pixel") not in ("pixel", None):
        ax.annotate("", xy=(ann["x"], ann["y"]), xytext=(ann["ax"], ann["ay"]),
                    arrowprops={"arrowstyle": "-|>", "color": mpl_colour(ann.get("arrowcolor"), "#444"),
                                "lw": ann.get("arrowwidth", 1)})
    if text:
        font = ann.get("font") or {}
        bbox = {"facecolor": mpl_colour(ann["bgcolor"]), "edgecolor": "none", "pad": 1} if ann.get("bgcolor") else None
        ax.text(ann.get("x"), ann.get("y"), text, fontsize=font.get("size", 10) * 0.75, ha="center", va="center",
                color=mpl_colour(font.get("color"), "#222"), bbox=bbox, zorder=5)


def to_png(fig, dpi: int = 90) -> bytes:
    buf = io.BytesIO()
    to_matplotlib(fig).savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def save(fig, path, include_plotlyjs=True) -> str:
    """Write ``fig`` to ``path``: .html through plotly (interactive; a PNG page without plotly),
    .png / .pdf / .svg through matplotlib. Returns the path."""
    path = str(path)
    ext = path.rsplit(".", 1)[-1].lower()
    if ext == "html":
        try:
            import plotly.graph_objects as go     # heavy (the lab extra): only to write HTML
            fig_obj = fig if hasattr(fig, "write_html") else go.Figure(as_spec(fig))
            fig_obj.write_html(path, include_plotlyjs=include_plotlyjs, auto_play=False)
        except ImportError:
            b64 = base64.b64encode(to_png(fig)).decode()
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(f'<html><body><img src="data:image/png;base64,{b64}"/></body></html>')
        return path
    if ext not in ("png", "pdf", "svg"):
        raise ValueError(f"cannot save a figure as {ext!r}: use .html, .png, .pdf or .svg")
    to_matplotlib(fig).savefig(path, format=ext, dpi=120)
    return path


class StaticFigure:
    """A spec that displays as a PNG (the no-plotly / no-JavaScript form of a figure)."""

    def __init__(self, spec: dict):
        self.spec = spec

    @property
    def data(self) -> list:
        return self.spec.get("data", [])

    @property
    def layout(self) -> dict:
        return self.spec.get("layout", {})

    def _repr_png_(self) -> bytes:
        return to_png(self.spec)

    def save(self, path) -> str:
        return save(self.spec, path)

    def to_matplotlib(self):
        return to_matplotlib(self.spec)
