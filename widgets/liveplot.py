"""A live plotly figure that works in JupyterLab and in Voila alike: a small anywidget around plotly.js.

Why not plotly's own ``FigureWidget``: it is an anywidget whose front-end module is the whole 5 MB
plotly bundle, inlined into every widget's state. anywidget gives each widget two seconds to import its
module; a page that restores several figures at once (Voila renders a notebook only after running it,
so all the Lab's panels arrive together) parses the bundle once per figure, misses the two seconds on
a busy laptop, and logs "[anywidget] Failed to initialize model": the figure keeps its first state and
ignores every update. Here the module is a few lines that import at once; plotly.js is fetched from
the kernel once per page (the first figure asks, every figure awaits the same promise) and each
figure draws with ``Plotly.react``, which diffs against what is shown.

The state is the whole figure (``figure`` trait, plain JSON), so a view that connects late (Voila, a
reloaded tab) draws what is shown now, not an empty first state.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import anywidget
import traitlets

_ESM = r"""
// Why a page-wide promise: every figure on the page shares one copy of plotly.js, loaded once.
function loadPlotly(model) {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!window.__nasbenchLabPlotly) {
    window.__nasbenchLabPlotly = new Promise((resolve, reject) => {
      const onMsg = (msg, buffers) => {
        if (!msg || msg.type !== "plotly.js") return;
        model.off("msg:custom", onMsg);
        const bytes = buffers[0].buffer ? buffers[0] : new Uint8Array(buffers[0]);
        const url = URL.createObjectURL(new Blob([bytes], { type: "text/javascript" }));
        // plotly.min.js is UMD: with an AMD loader on the page it would register there, not on window
        const amd = window.define;
        window.define = undefined;
        const script = document.createElement("script");
        script.src = url;
        script.onload = () => { window.define = amd; resolve(window.Plotly); };
        script.onerror = (e) => { window.define = amd; window.__nasbenchLabPlotly = null; reject(e); };
        document.head.appendChild(script);
      };
      model.on("msg:custom", onMsg);
      model.send({ type: "need-plotly.js" });
    });
  }
  return window.__nasbenchLabPlotly;
}

function render({ model, el }) {
  const div = document.createElement("div");
  div.style.width = "100%";
  el.appendChild(div);
  let alive = true;
  const draw = (Plotly) => {
    if (!alive) return;
    const fig = model.get("figure") || {};
    Plotly.react(div, fig.data || [], fig.layout || {}, { responsive: true, displaylogo: false });
  };
  loadPlotly(model).then((Plotly) => {
    draw(Plotly);
    model.on("change:figure", () => draw(Plotly));
  }).catch((e) => { div.textContent = "plotly.js did not load: " + e; });
  return () => { alive = false; if (window.Plotly) window.Plotly.purge(div); };
}

export default { render };
"""


@lru_cache(maxsize=1)
def _plotly_js() -> bytes:
    """plotly.js as shipped inside the plotly Python package (no network, same version as plotly.py)."""
    import plotly                          # heavy: the figures' package, loaded when the first live plot shows
    return (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_bytes()


def plain_figure(spec: dict) -> dict:
    """``spec`` as plotly.js reads it: validated by plotly.py, the default template applied, JSON types.

    Why through ``go.Figure``: the Lab's figures should look the same here as in a static export
    (template, colourway), and a typo in a spec should fail in Python with plotly's message, not as a
    blank plot in the browser.
    """
    import plotly.graph_objects as go      # heavy: loaded when the first live plot shows
    import plotly.io as pio                # (the same package)
    return json.loads(pio.to_json(go.Figure(spec), validate=True, remove_uids=True))


class LivePlot(anywidget.AnyWidget):
    """A plotly figure whose ``figure`` (a plotly JSON dict) is redrawn in every connected view."""

    _esm = _ESM
    figure = traitlets.Dict().tag(sync=True)

    def __init__(self, height: int | None = None, **kw):
        super().__init__(**kw)
        self._height = height
        self.on_msg(self._on_front_end)
        self.show({"data": [], "layout": {}})

    def show(self, spec: dict) -> None:
        fig = plain_figure(spec)
        if self._height and "height" not in fig.get("layout", {}):
            fig.setdefault("layout", {})["height"] = self._height
        self.figure = fig

    @property
    def data(self) -> list:
        """The traces as shown (plotly JSON dicts)."""
        return self.figure.get("data", [])

    @property
    def layout(self) -> dict:
        return self.figure.get("layout", {})

    def _on_front_end(self, _widget, content, _buffers) -> None:
        if isinstance(content, dict) and content.get("type") == "need-plotly.js":
            self.send({"type": "plotly.js"}, buffers=[_plotly_js()])
