"""What every panel shares: a throttle, a figure pane, and the ``View`` base class.

A view keeps the events it cares about and redraws its figure from them (the figure is a pure function of
the events, built by ``nasbench_lab.viz``). Events may arrive from the search thread at any rate; redraws
are throttled to a few per second and each sends the whole figure once (``liveplot.LivePlot``), so a fast
strategy does not flood the browser and a slow one still shows every change within a fraction of a second.

Without ipywidgets/plotly (or without a widget front-end: nbconvert, PDF) a view still works: it keeps
its data and shows a static PNG drawn by matplotlib.
"""
from __future__ import annotations

import base64
import os
import threading
import time

from nasbench_lab.viz import as_spec, save, to_figure, to_png
from nasbench_lab.viz.records import as_record


def widgets_available() -> bool:
    """True when ipywidgets, plotly and anywidget (the live figures, see liveplot.py) can be used."""
    try:
        import anywidget  # noqa: F401         # heavy UI packages, probed (not used) here
        import ipywidgets  # noqa: F401
        import plotly.graph_objects  # noqa: F401
    except Exception:  # noqa: BLE001 - any missing piece means: static figures
        return False
    return True


class Throttle:
    """Call ``fn`` at most ``hz`` times per second. A call that comes too soon is deferred, not dropped:
    one timer fires at the next free slot, so the last state is always drawn. Calls never overlap."""

    def __init__(self, fn, hz: float = 4.0):
        if hz <= 0:
            raise ValueError(f"refresh rate must be > 0 per second, got {hz!r}")
        self.fn, self.interval = fn, 1.0 / hz
        self._lock = threading.Lock()
        self._run_lock = threading.Lock()
        self._last = 0.0
        self._timer: threading.Timer | None = None
        self.errors: list[str] = []
        self.calls = 0

    def __call__(self) -> None:
        with self._lock:
            now = time.monotonic()
            wait = self._last + self.interval - now
            if self._timer is not None:
                return                                    # a redraw is already scheduled
            if wait > 0:
                self._timer = threading.Timer(wait, self._fire)
                self._timer.daemon = True
                self._timer.start()
                return
            self._last = now
        self._run()

    def _fire(self) -> None:
        with self._lock:
            self._timer = None
            self._last = time.monotonic()
        self._run()

    def _run(self) -> None:
        with self._run_lock:
            try:
                self.calls += 1
                self.fn()
            except Exception as exc:  # noqa: BLE001 - a broken redraw must not kill the search thread
                self.errors.append(f"{type(exc).__name__}: {exc}")

    def flush(self) -> None:
        """Cancel a pending call and run now (the final redraw of a run)."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._last = time.monotonic()
        self._run()


def figure_mode() -> str:
    """How panes draw: 'plotly' (a live, interactive plotly figure: liveplot.LivePlot, in JupyterLab and
    Voila alike), 'image' (PNG frames in an ipywidgets Image: NASBENCH_LAB_FIGURES=image, for front-ends
    without anywidget) or 'none' (no widget stack: the spec is kept and shown statically)."""
    if not widgets_available():
        return "none"
    return "image" if os.environ.get("NASBENCH_LAB_FIGURES", "").strip().lower() == "image" else "plotly"


class FigurePane:
    """A live figure: a LivePlot, PNG frames in an Image widget, or just the latest spec."""

    def __init__(self, height: int | None = None, mode: str | None = None):
        self.spec: dict = {"data": [], "layout": {}}
        self.widget = None
        self.updates = 0
        self.mode = mode or figure_mode()
        #: the most redraws per second worth asking for (a PNG frame costs a matplotlib render)
        self.max_hz = 1.0 if self.mode == "image" else None
        if self.mode == "plotly":
            from .liveplot import LivePlot          # imports anywidget (heavy UI): only for live figures
            self.widget = LivePlot(height=height)
        elif self.mode == "image":
            import ipywidgets as w                  # heavy UI package: only when a figure is shown
            self.widget = w.Image(format="png", layout=w.Layout(max_width="100%"))

    def show(self, spec: dict) -> None:
        if spec is self.spec:                      # a cached, unchanged figure: nothing to send
            return
        self.spec = spec
        self.updates += 1
        if self.mode == "plotly":
            self.widget.show(spec)
        elif self.mode == "image":
            self.widget.value = to_png(spec, dpi=80)

    def points(self) -> int:
        """How many data points the shown figure holds (what a test can assert on)."""
        return sum(len([v for v in (t.get("x") or []) if v is not None]) for t in self.spec.get("data", []))


class View:
    """Base of the panels: subscribe with ``view.on_event`` (e.g. ``search(..., on_event=view.on_event)``).

    Subclasses set ``kinds`` (the event kinds they draw from) and implement ``spec()``. ``figure()`` returns a
    plotly figure of the current state, ``static()`` a matplotlib-drawn one, ``save(path)`` exports it.
    """

    kinds: tuple = ()
    title = "view"

    def __init__(self, events=None, refresh_hz: float = 4.0, auto_refresh: bool = True):
        self._lock = threading.Lock()
        self._draw_lock = threading.RLock()
        self._events: list = []
        self.auto_refresh = auto_refresh
        self.dirty = False
        self.errors: list[str] = []
        self.pane = FigurePane()
        self._throttle = Throttle(self.refresh, min(refresh_hz, self.pane.max_hz or refresh_hz))
        self._build()
        for ev in events or ():
            self.on_event(ev, redraw=False)
        self.refresh()

    # ------------------------------------------------------------------ events in
    def wants(self, kind) -> bool:
        return kind in self.kinds

    def on_event(self, ev, redraw: bool = True) -> None:
        """Take one event (``Event``, its dict form or a store row); other kinds are ignored."""
        try:
            kind, _ = as_record(ev)
        except TypeError as exc:
            self.errors.append(str(exc))
            return
        if kind == "run_started":
            self.reset()
        if not self.wants(kind):
            return
        with self._lock:
            self._events.append(ev)
            self.dirty = True
        if redraw and self.auto_refresh:
            self._throttle()

    __call__ = on_event

    def events(self) -> list:
        with self._lock:
            return list(self._events)

    def reset(self) -> None:
        with self._lock:
            self._events = []
            self.dirty = True
            self.errors = []            # an earlier run's bad event or redraw is no warning about the next

    # ------------------------------------------------------------------ figure out
    def spec(self) -> dict:
        raise NotImplementedError

    def refresh(self) -> None:
        """Redraw now (views inside a ``Lab`` are redrawn by the Lab's own throttle). Redraws of one
        view never overlap: the throttle's timer thread and a tab or slider click may both ask."""
        with self._draw_lock:
            self.dirty = False
            try:
                self.pane.show(self.spec())
            except Exception as exc:  # noqa: BLE001 - shown by the Lab, never raised into the search
                self.errors.append(f"{type(self).__name__}: {type(exc).__name__}: {exc}")

    def flush(self) -> None:
        self._throttle.flush()

    def figure(self, backend: str = "auto"):
        return to_figure(self.spec(), backend)

    def static(self):
        return to_figure(self.spec(), "static")

    def save(self, path) -> str:
        return save(self.spec(), path)

    # ------------------------------------------------------------------ display
    def _build(self) -> None:
        """Subclasses with controls (sliders, dropdowns) build them here."""

    @property
    def widget(self):
        """The ipywidgets widget (None without the widget stack)."""
        return self.pane.widget

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = {"text/plain": f"<{type(self).__name__}: {len(self.events())} events>"}
        w = self.widget
        if w is not None:
            got = w._repr_mimebundle_(include=include, exclude=exclude) or {}
            bundle.update(got[0] if isinstance(got, tuple) else got)     # anywidget: (data, metadata)
        # the static fallback: front-ends without the widget manager (nbconvert to PDF, plain
        # renderers) pick the PNG; JupyterLab and Voila prefer the live widget
        try:
            bundle["image/png"] = base64.b64encode(to_png(as_spec(self.spec()), dpi=72)).decode("ascii")
        except Exception:  # noqa: BLE001 - no matplotlib: the text form is all there is
            pass
        return bundle
