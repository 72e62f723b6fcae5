"""``Lab``: pick a space, a strategy, an estimator, a dataset, a budget, a device and a seed, press Run,
and watch the search happen.

The search runs in a background thread (``nasbench_lab.search`` with ``on_event`` and a ``StopFlag``),
so the kernel stays responsive: other cells run while it searches. Events land in the panels; one
throttle redraws whatever changed a few times per second. Stop sets the flag: multi-trial strategies
check it between evaluations and the training loop between steps, one-shot strategies between steps;
the status line says "stopping" until the search has ended.
Errors (bad options, a missing dataset, a crash in the strategy) are shown in the widget.

The dashboard's tabs follow the strategy (while a run is on, the running one): History and Best DAG
always; Population for evolution-style strategies, Controller for RL ones, Alphas for differentiable
ones; and any tab whose events arrive (so a new strategy that emits a known kind gets its panel without
UI changes); Ranking once one-shot scores arrive.

The controls' forms, presets, warnings and the parameters Run starts with are in ``lab_controls.py``
(``LabControls``, a mixin of ``Lab``), the status line and its heartbeat in ``lab_status.py``
(``LabStatus``); this file builds the controls, runs the search and draws it.
"""
from __future__ import annotations

import base64
import threading
import time

from nasbench_lab import get_estimator, list_estimators, list_spaces, list_strategies, search
from nasbench_lab.events import StopFlag
from nasbench_lab.viz import to_png
from nasbench_lab.viz.records import as_record

from ._base import Throttle, widgets_available
from .lab_controls import LabControls
from .lab_status import ACTIVE, LabStatus
from .presets import default_estimator
from .views import PANELS

# Which panel a kind of event feeds (a tab appears when its first event arrives).
KIND_TAB = {"population": "Population", "controller": "Controller", "alphas": "Alphas", "ranking": "Ranking"}
# Tabs shown as soon as a strategy is picked (they then wait for their first event).
STRATEGY_TABS = {"evolution": ("Population",), "spos": ("Population",), "reinforce": ("Controller",),
                 "enas": ("Controller",), "darts": ("Alphas",), "proxyless": ("Alphas",)}
ALWAYS = ("History", "Best DAG")
LAST = ("Pareto",)
DATASETS = ("synthetic", "fashion-mnist", "cifar10")
DEVICES = ("cpu", "auto", "cuda")


def _label(name: str, what: str) -> str:
    """Menu label: the synthetic estimator and dataset are marked as invented wherever they appear."""
    if name == "synthetic":
        return "synthetic (invented scores)" if what == "estimator" else "synthetic (invented images)"
    return name


def _pause(seconds: float, stop: StopFlag) -> None:
    """Sleep ``seconds``, or less when ``stop`` is set meanwhile. Why in 50 ms slices: ``StopFlag`` has no
    ``wait``; one ``time.sleep`` of the whole pace held Stop back for up to the pace (seconds)."""
    end = time.perf_counter() + seconds
    while not stop.is_set() and time.perf_counter() < end:
        time.sleep(min(0.05, max(0.0, end - time.perf_counter())))


def _default(options, *preferred):
    return next((p for p in preferred if p in options), options[0] if options else None)


class Lab(LabControls, LabStatus):
    """The whole workbench in one widget. Constructor arguments preset the controls.

    Strategy and estimator options are forms generated from their typed config dataclasses (``forms.py``:
    each field's docstring is its tooltip, a bad value shows its message next to the field and disables
    Run); ``strategy_options`` / ``estimator_options`` fill those forms, and whatever is not a field of
    them goes to the collapsed "advanced" JSON boxes. A preset menu offers classroom settings per strategy,
    and a warnings line says when a setting defeats the strategy (``presets.py``); ``preset="classroom"``
    starts from the first classroom preset (its label or the start of it).
    """

    def __init__(self, space: str = "nb201", strategy: str | None = None, estimator: str | None = None,
                 dataset: str | None = None, budget: int = 30, device: str = "cpu", seed: int = 0, store=None,
                 strategy_options: dict | None = None, estimator_options: dict | None = None,
                 objective: str | None = None, refresh_hz: float = 4.0, preset: str | None = None,
                 pace: float = 0.0):
        if not widgets_available():
            raise ImportError("Lab needs ipywidgets, plotly and anywidget: pip install 'nasbench_lab[lab]' "
                              "(the panels in nasbench_lab.widgets still draw static figures without them)")
        import ipywidgets as w          # heavy UI package, optional: only when controls are built
        strategies, estimators = list_strategies(), list_estimators()
        estimator = estimator or default_estimator(estimators)
        if dataset is None:
            dataset = "synthetic" if estimator == "synthetic" else "fashion-mnist"
        lay = w.Layout(width="240px")
        self.space = w.Dropdown(options=list_spaces(), value=space, description="space", layout=lay)
        self.strategy = w.Dropdown(options=strategies, value=strategy or _default(strategies, "evolution", "random"),
                                   description="strategy", layout=lay)
        self.estimator = w.Dropdown(options=[(_label(e, "estimator"), e) for e in estimators], value=estimator,
                                    description="estimator", layout=w.Layout(width="320px"))
        self.dataset = w.Dropdown(options=[(_label(d, "dataset"), d) for d in dict.fromkeys((dataset, *DATASETS))],
                                  value=dataset, description="dataset", layout=w.Layout(width="320px"))
        self.budget = w.BoundedIntText(value=budget, min=1, max=10 ** 6, description="budget", layout=lay)
        self.device = w.Dropdown(options=list(dict.fromkeys((device, *DEVICES))), value=device,
                                 description="device", layout=lay)
        self.seed = w.IntText(value=seed, description="seed", layout=lay)
        self.store = w.Text(value="" if store is None else str(store), placeholder="(no store)",
                            description="store", layout=lay)
        self.objective = w.Text(value=objective or "", placeholder="accuracy (or e.g. latency_ms<=4)",
                                description="objective", layout=w.Layout(width="490px"), continuous_update=False,
                                tooltip="What the search maximises: accuracy, or with a hard limit such as "
                                        "latency_ms<=4 or flops<=20M, or a soft penalty params:target=1e5")
        self.preset = w.Dropdown(options=["(custom)"], value="(custom)", description="preset",
                                 layout=w.Layout(width="490px"))
        # Why a pace: a table lookup takes microseconds, so a 60-evaluation run on a table is over before
        # the first redraw and there is nothing to watch; a pace spreads instant evaluations out in time
        # (it never slows a real training, which takes longer than the pace anyway).
        self.pace = w.BoundedFloatText(value=pace, min=0.0, max=5.0, step=0.05, description="pace (s)",
                                       layout=w.Layout(width="170px"),
                                       tooltip="at least this many seconds per evaluation, so that instant "
                                               "table lookups can be watched; 0: as fast as possible")
        # The advanced boxes: JSON for options the forms do not have (collapsed by default).
        self.strategy_options = w.Text(value="{}", description="strategy opts",
                                       layout=w.Layout(width="490px"), style={"description_width": "90px"},
                                       continuous_update=False)
        self.estimator_options = w.Text(value="{}", description="estimator opts",
                                        layout=w.Layout(width="490px"), style={"description_width": "90px"},
                                        continuous_update=False)
        self.advanced = w.Accordion(children=[w.HBox([self.strategy_options, self.estimator_options])])
        self.advanced.set_title(0, "advanced: extra options as JSON")
        self.advanced.selected_index = None
        self.strategy_box, self.estimator_box = w.VBox(), w.VBox()
        self._strategy_forms: dict = {}
        self._estimator_forms: dict = {}
        self.advice = w.HTML(value="")
        self.run_button = w.Button(description="Run", button_style="success", icon="play")
        self.stop_button = w.Button(description="Stop", button_style="danger", icon="stop", disabled=True)
        self.progress = w.IntProgress(value=0, min=0, max=budget, description="progress")
        self.status = w.HTML(value="<b>ready</b>")
        self.error = w.HTML(value="")
        self.tabs = w.Tab()
        self.panels = {name: self._make_panel(name) for name in PANELS}
        self._applying = False
        self.state = "ready"
        self.run_button.on_click(lambda _: self.run())
        self.stop_button.on_click(lambda _: self.stop())
        self.strategy.observe(self._on_strategy, names="value")
        self.estimator.observe(lambda _: self._show_forms(), names="value")
        for ctl in (self.budget, self.dataset, self.strategy_options, self.estimator_options, self.objective):
            ctl.observe(lambda _: self._update(), names="value")
        self.preset.observe(self._on_preset, names="value")
        self.tabs.observe(self._on_tab, names="selected_index")
        self.widget = w.VBox([
            w.HBox([self.space, self.strategy, self.estimator, self.dataset]),
            w.HBox([self.budget, self.device, self.seed, self.store]),
            w.HBox([self.preset, self.objective, self.pace]),
            w.HBox([self.strategy_box, self.estimator_box],       # wrap: a long message never clips a form
                   layout=w.Layout(align_items="flex-start", flex_flow="row wrap", grid_gap="0 24px")),
            self.advanced, self.advice,
            w.HBox([self.run_button, self.stop_button, self.progress, self.status]),
            self.error, self.tabs])
        self._shown: list[str] = []
        self._set_tabs(self._tabs_for_strategy())
        self._fill_presets()
        self._show_forms()
        self._fill(self.strategy_form, strategy_options, self.strategy_options)
        self._fill_estimator(estimator_options)
        max_hz = self.panels["History"].pane.max_hz          # PNG frames (Voila) are redrawn less often
        self._throttle = Throttle(self._redraw, min(refresh_hz, max_hz or refresh_hz))
        self._stop_flag: StopFlag | None = None
        self._thread: threading.Thread | None = None
        self._init_status()                 # the counts the status line shows, and their locks (lab_status.py)
        self.result = None
        self.errors: list[str] = []
        if preset is not None:
            self.preset.value = self._preset_label(preset)       # applies it (see _on_preset)

    # ------------------------------------------------------------------ panels and tabs
    def _make_panel(self, name):
        cls = PANELS[name]
        if name in ("Best DAG", "Controller"):
            return cls(space=None, auto_refresh=False)
        return cls(auto_refresh=False)

    def _tabs_for_strategy(self) -> list[str]:
        # while a run is on, its own strategy's tabs: the dropdown may already name the next run's
        running = self._run_params["strategy"] if self.state in ACTIVE and self._run_params else None
        extra = STRATEGY_TABS.get(running or self.strategy.value, ())
        return [*ALWAYS, *extra, *[t for t in LAST if t not in extra]]

    def _set_tabs(self, names: list[str]) -> None:
        order = list(PANELS)
        names = sorted(dict.fromkeys(names), key=order.index)
        if names == self._shown:
            return
        i = self.tabs.selected_index
        keep = self._shown[i] if i is not None and 0 <= i < len(self._shown) else None
        self._shown = names
        self.tabs.children = [self.panels[n].widget for n in names]
        for i, n in enumerate(names):
            self.tabs.set_title(i, n)
        if keep in names:           # why: a tab inserted before the one the student reads moves it by one
            self.tabs.selected_index = names.index(keep)

    def _on_tab(self, change) -> None:
        i = change["new"]
        if i is not None and 0 <= i < len(self._shown) and self.panels[self._shown[i]].dirty:
            self.panels[self._shown[i]].refresh()

    # ------------------------------------------------------------------ run / stop
    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def run(self) -> None:
        """What the Run button does: start a search in a background thread (returns at once)."""
        if self.running:
            return
        self.error.value = ""
        self.errors = []
        self._throttle.errors.clear()        # an earlier run's failed redraw is no warning about this one
        try:
            params, problem = self._params(), None
        except ValueError as exc:
            params, problem = None, str(exc)
        for p in self.panels.values():
            p.reset()
            if params is not None and hasattr(p, "space"):
                p.space = params["space"]
        self.result = None
        self._reset_status(params)
        if problem is not None:
            # why the reset above even so: the last run's "finished", green bar and panels would otherwise
            # stand next to this error as if they were what the failed run did
            self.state = "failed"
            self._throttle.flush()
            self._show_error(problem)
            return
        self._stop_flag = StopFlag()
        self.state = "running"
        self._set_tabs(self._tabs_for_strategy())
        self.run_button.disabled, self.stop_button.disabled = True, False
        self.status.value = f"<b>running</b> {params['strategy']} on {params['space']} ..."
        self._thread = threading.Thread(target=self._work, args=(params, self._stop_flag), daemon=True,
                                        name="nasbench-lab-search")
        self._thread.start()
        threading.Thread(target=self._heartbeat, args=(self._thread,), daemon=True,
                         name="nasbench-lab-heartbeat").start()

    def stop(self) -> None:
        """What the Stop button does: ask the search to stop (it ends at its next check)."""
        with self._state_lock:              # the run may end meanwhile: then it says so, not "stopping"
            if self._stop_flag is None or self.state != "running":
                return
            self._stop_flag.set()
            self.state = "stopping"         # the status line keeps saying so until the search has ended
            self._show_status()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the search thread ends (scripts, tests); True if it ended."""
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.running

    def _work(self, params: dict, stop: StopFlag) -> None:
        try:
            self.result = search(**{**params, "estimator": self._estimator(params, stop)},
                                 on_event=self._on_event, stop=stop)
            with self._state_lock:
                self.state = "stopped" if self.result.stopped else "finished"
        except BaseException as exc:  # noqa: BLE001 - everything goes to the widget, nothing to a log
            with self._state_lock:
                self.state = "failed"
            self._show_error(f"{type(exc).__name__}: {exc}".splitlines()[0])
        finally:
            self._throttle.flush()
            self.run_button.disabled, self.stop_button.disabled = bool(self.problems()), True
            if self._throttle.errors:              # a redraw that failed cannot report itself: do it here
                self._show_error("; ".join(self._throttle.errors[-3:]), kind="warning")

    def _estimator(self, params: dict, run_stop: StopFlag):
        """The estimator, built here so that its training loop's per-epoch events reach the heartbeat.

        Why not through the run's event bus: the driver does not forward a candidate's epochs there (the
        History panel reads bus epochs as supernet epochs); the Lab only needs them for its status line.
        """
        est = get_estimator(params["estimator"], dataset=params["dataset"], device=params["device"],
                            **(params["estimator_options"] or {}))
        inner = est.evaluate
        pace = float(self.pace.value or 0.0)

        def evaluate(space, arch, seed=0, emit=None, stop=None, **fidelity):
            # fidelity: the epochs/continues of a multi-fidelity strategy's trial, passed through
            t = time.perf_counter()
            ev = inner(space, arch, seed=seed, emit=emit or self._on_train_event, stop=stop, **fidelity)
            _pause(pace - (time.perf_counter() - t), stop or run_stop)       # paced for watching
            return ev
        est.evaluate = evaluate
        return est

    def _on_train_event(self, kind, **payload) -> None:
        if kind == "epoch":
            self._epoch = (payload.get("epoch"), payload.get("of"))
            self._step = None
        elif kind == "step":
            self._step = (payload.get("epoch"), payload.get("step"), payload.get("of"))

    # ------------------------------------------------------------------ events in, redraws out
    def _on_event(self, ev) -> None:
        """Subscriber on the search's event bus (runs in the search thread): record, then throttle."""
        try:
            kind, p = as_record(ev)
            self._note_event(kind, p)                 # what the status line shows (lab_status.py)
            for panel in self.panels.values():
                panel.on_event(ev, redraw=False)
        except Exception as exc:  # noqa: BLE001 - shown in the widget
            self.errors.append(f"event {getattr(ev, 'kind', '?')}: {type(exc).__name__}: {exc}")
        self._throttle()

    def _redraw(self) -> None:
        with self._lock:
            kinds = set(self._seen_kinds)
        wanted = list(self._shown) + [KIND_TAB[k] for k in kinds if k in KIND_TAB]
        if "Ranking" not in wanted and self.panels["Ranking"].has_data():
            wanted.append("Ranking")
        self._set_tabs(wanted)
        # why only the selected tab while running: each redraw holds the GIL for tens of milliseconds;
        # hidden tabs catch up when they are selected (and all of them once the run ends)
        selected = self.tabs.selected_index
        for i, name in enumerate(self._shown):
            panel = self.panels[name]
            if panel.dirty and (i == selected or self.state not in ACTIVE):
                panel.refresh()
        self._show_status()
        problems = self.errors + [e for p in self.panels.values() for e in p.errors]
        if problems and self.state != "failed":
            self._show_error("; ".join(problems[-3:]), kind="warning")

    # ------------------------------------------------------------------ display
    def static(self, panel: str = "History"):
        """A static (matplotlib) figure of one panel: for nbconvert/PDF or a terminal."""
        return self.panels[panel].static()

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = dict(self.widget._repr_mimebundle_(include=include, exclude=exclude) or {})
        bundle["text/plain"] = f"<Lab: {self.state}>"
        try:                                       # a front-end without widgets shows the history instead
            bundle["image/png"] = base64.b64encode(to_png(self.panels["History"].spec(), dpi=72)).decode("ascii")
        except Exception:  # noqa: BLE001
            pass
        return bundle
