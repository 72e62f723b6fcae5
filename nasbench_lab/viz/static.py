"""The matplotlib fallback: draw any ``viz`` figure statically (PNG/PDF/SVG, nbconvert, no JavaScript).

``to_matplotlib`` renders the subset of plotly's JSON schema that the lab's builders use: scatter
traces (lines, markers, text, filled bands), heatmaps, subplot domains, axis ranges/titles/log scale,
annotations (titles and arrows) and the legend. Every builder is tested through it, so a figure that
plotly draws also exports to a PDF.
"""
from __future__ import annotations

import base64
import io
import math
import re

import numpy as np


_DASH = {"solid": "-", "dash": "--", "dot": ":", "dashdot": "-.", "longdash": "--", "longdashdot": "-."}
_SYMBOL = {"circle": "o", "square": "s", "diamond": "D", "x": "x", "cross": "P", "star": "*",
           "triangle-up": "^", "triangle-down": "v", "circle-open": "o"}
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


def _cmap(scale):
    from matplotlib.colors import LinearSegmentedColormap     # heavy (the lab extra): only when drawing
    if isinstance(scale, str) or not scale:
        import matplotlib                                     # loaded by the line above already
        name = {"viridis": "viridis", "blues": "Blues", "reds": "Reds", "rdbu": "RdBu"}.get(str(scale).lower(), "viridis")
        return matplotlib.colormaps[name]
    return LinearSegmentedColormap.from_list("plotly", [(float(p), mpl_colour(c)) for p, c in scale])


def to_matplotlib(fig, width: float | None = None, height: float | None = None):
    """A ``matplotlib.figure.Figure`` drawing ``fig`` (a plotly Figure, a StaticFigure or a spec)."""
    from matplotlib.figure import Figure      # heavy (the lab extra): only when a static figure is drawn
    s = as_spec(fig)
    layout = s.get("layout", {}) or {}
    w_px = width or layout.get("width") or 900
    h_px = height or layout.get("height") or 450
    mfig = Figure(figsize=(w_px / 100, h_px / 100), dpi=100)
    margin = {"l": 60, "r": 30, "t": 60, "b": 60, **(layout.get("margin") or {})}
    margin["b"] = max(margin["b"], 75)             # room for the axis title and the legend below it
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

    handles = []
    for tr in s.get("data", []):
        ax = get_ax(tr.get("xaxis", "x"), tr.get("yaxis", "y"))
        h = _draw_trace(ax, tr, axes)
        if h is not None and tr.get("showlegend", True) is not False and tr.get("name"):
            handles.append(h)
    if not axes:
        get_ax("x", "y")
    for ann in layout.get("annotations", []) or []:
        _draw_annotation(mfig, ann, axes, get_ax, area)
    title = layout.get("title")
    title = title.get("text") if isinstance(title, dict) else title
    if title:
        mfig.suptitle(re.sub(r"<[^>]+>", " ", str(title)), x=0.01, ha="left", fontsize=11)
    if handles and layout.get("showlegend", True) is not False:
        seen, uniq = set(), []
        for h in handles:
            if h.get_label() not in seen:
                seen.add(h.get_label())
                uniq.append(h)
        mfig.legend(handles=uniq, loc="lower center", ncol=min(6, len(uniq)), fontsize=8, frameon=False,
                    bbox_to_anchor=(0.5, 0.0))
    return mfig


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
            set_label(re.sub(r"<[^>]+>", " ", str(t)), fontsize=9)
        if lay.get("autorange") == "reversed":
            inv()
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
        im = ax.imshow(z, aspect="auto", cmap=_cmap(tr.get("colorscale")), origin="lower",
                       vmin=tr.get("zmin"), vmax=tr.get("zmax"))
        if tr.get("x") is not None:
            ax.set_xticks(range(len(tr["x"])), [str(v) for v in tr["x"]], rotation=45, fontsize=7)
        if tr.get("y") is not None:
            ax.set_yticks(range(len(tr["y"])), [str(v) for v in tr["y"]], fontsize=7)
        return None if im is None else None
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
    opacity = tr.get("opacity", 1.0)
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
            kw = {"c": [_nan(c) for c in col], "cmap": _cmap(marker.get("colorscale")),
                  "vmin": marker.get("cmin"), "vmax": marker.get("cmax")}
        elif isinstance(col, (list, tuple)):
            kw = {"c": [mpl_colour(c) for c in col]}
        else:
            kw = {"color": mpl_colour(col)}
        size = marker.get("size", 6)
        size = [(_nan(v) if v is not None else 6) ** 2 * 0.6 for v in size] if isinstance(size, (list, tuple)) \
            else size ** 2 * 0.6
        symbol = marker.get("symbol", "circle")
        edge = (marker.get("line") or {}).get("color")
        if symbol == "circle-open":                        # an open marker: only its outline, in its colour
            edge, kw = kw.get("color", kw.get("c")), {"facecolors": "none"}
        handle = ax.scatter(x, y, s=size, marker=_SYMBOL.get(symbol, "o"), alpha=marker.get("opacity", opacity),
                            label=name, zorder=3, **kw,
                            **({"edgecolors": mpl_colour(edge)} if edge and symbol != "x" else {}))
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
    text = re.sub(r"<[^>]+>", " ", str(ann.get("text", "") or ""))
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
