"""``Lab``: pick a space, a strategy, an estimator, a dataset, a budget, a device and a seed, press Run,
and watch the search happen.

The search runs in a background thread (``nasbench_lab.search`` with ``on_event`` and a ``StopFlag``),
so the kernel stays responsive: other cells run while it searches. Events land in the panels; one
throttle redraws whatever changed a few times per second. Stop sets the flag: multi-trial strategies
check it between evaluations and the training loop between steps, one-shot strategies between steps.
Errors (bad options, a missing dataset, a crash in the strategy) are shown in the widget.

The dashboard's tabs follow the strategy: History and Best DAG always; Population for evolution-style
strategies, Controller for RL ones, Alphas for differentiable ones; and any tab whose events arrive
(so a new strategy that emits a known kind gets its panel without UI changes); Ranking once one-shot
scores arrive.
"""
from __future__ import annotations

import json
import threading
import time

from nasbench_lab import list_estimators, list_spaces, list_strategies, search
from nasbench_lab.events import StopFlag
from nasbench_lab.viz.records import as_record

from ._base import Throttle, widgets_available
from .views import PANELS

# Which panel a kind of event feeds (a tab appears when its first event arrives).
KIND_TAB = {"population": "Population", "controller": "Controller", "alphas": "Alphas", "ranking": "Ranking"}
# Tabs shown as soon as a strategy is picked (they then wait for their first event).
STRATEGY_TABS = {"evolution": ("Population",), "spos": ("Population", "Alphas"), "reinforce": ("Controller",),
                 "enas": ("Controller",), "darts": ("Alphas",), "proxyless": ("Alphas",)}
ALWAYS = ("History", "Best DAG")
LAST = ("Pareto",)
DATASETS = ("synthetic", "fashion-mnist", "cifar10")
DEVICES = ("cpu", "auto", "cuda")


def _default(options, *preferred):
    return next((p for p in preferred if p in options), options[0] if options else None)


class Lab:
    """The whole workbench in one widget. Constructor arguments preset the controls."""

    def __init__(self, space: str = "nb201", strategy: str | None = None, estimator: str | None = None,
                 dataset: str = "synthetic", budget: int = 30, device: str = "cpu", seed: int = 0, store=None,
                 strategy_options: dict | None = None, estimator_options: dict | None = None,
                 refresh_hz: float = 4.0):
        if not widgets_available():
            raise ImportError("Lab needs ipywidgets, plotly and anywidget: pip install 'nasbench_lab[lab]' "
                              "(the panels in nasbench_lab.widgets still draw static figures without them)")
        import ipywidgets as w
        strategies, estimators = list_strategies(), list_estimators()
        lay = w.Layout(width="240px")
        self.space = w.Dropdown(options=list_spaces(), value=space, description="space", layout=lay)
        self.strategy = w.Dropdown(options=strategies, value=strategy or _default(strategies, "evolution", "random"),
                                   description="strategy", layout=lay)
        self.estimator = w.Dropdown(options=estimators, value=estimator or _default(estimators, "synthetic", "train"),
                                    description="estimator", layout=lay)
        self.dataset = w.Dropdown(options=list(dict.fromkeys((dataset, *DATASETS))), value=dataset,
                                  description="dataset", layout=lay)
        self.budget = w.BoundedIntText(value=budget, min=1, max=10 ** 6, description="budget", layout=lay)
        self.device = w.Dropdown(options=list(dict.fromkeys((device, *DEVICES))), value=device,
                                 description="device", layout=lay)
        self.seed = w.IntText(value=seed, description="seed", layout=lay)
        self.store = w.Text(value="" if store is None else str(store), placeholder="(no store)",
                            description="store", layout=lay)
        self.strategy_options = w.Text(value=json.dumps(strategy_options or {}), description="strategy opts",
                                       layout=w.Layout(width="490px"), style={"description_width": "90px"})
        self.estimator_options = w.Text(value=json.dumps(estimator_options or {}), description="estimator opts",
                                        layout=w.Layout(width="490px"), style={"description_width": "90px"})
        self.run_button = w.Button(description="Run", button_style="success", icon="play")
        self.stop_button = w.Button(description="Stop", button_style="danger", icon="stop", disabled=True)
        self.progress = w.IntProgress(value=0, min=0, max=budget, description="progress")
        self.status = w.HTML(value="<b>ready</b>")
        self.error = w.HTML(value="")
        self.tabs = w.Tab()
        self.panels = {name: self._make_panel(name) for name in PANELS}
        self.run_button.on_click(lambda _: self.run())
        self.stop_button.on_click(lambda _: self.stop())
        self.strategy.observe(lambda _: self._set_tabs(self._tabs_for_strategy()), names="value")
        self.tabs.observe(self._on_tab, names="selected_index")
        self.widget = w.VBox([
            w.HBox([self.space, self.strategy, self.estimator, self.dataset]),
            w.HBox([self.budget, self.device, self.seed, self.store]),
            w.HBox([self.strategy_options, self.estimator_options]),
            w.HBox([self.run_button, self.stop_button, self.progress, self.status]),
            self.error, self.tabs])
        self._shown: list[str] = []
        self._set_tabs(self._tabs_for_strategy())
        max_hz = self.panels["History"].pane.max_hz          # PNG frames (Voila) are redrawn less often
        self._throttle = Throttle(self._redraw, min(refresh_hz, max_hz or refresh_hz))
        self._stop_flag: StopFlag | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._seen_kinds: set = set()
        self._counts = {"evaluation": 0, "epoch": 0}
        self._best = None
        self._t0 = 0.0
        self.result = None
        self.errors: list[str] = []
        self.state = "ready"

    # ------------------------------------------------------------------ panels and tabs
    def _make_panel(self, name):
        cls = PANELS[name]
        if name in ("Best DAG", "Controller"):
            return cls(space=None, auto_refresh=False)
        return cls(auto_refresh=False)

    def _tabs_for_strategy(self) -> list[str]:
        extra = STRATEGY_TABS.get(self.strategy.value, ())
        return [*ALWAYS, *extra, *[t for t in LAST if t not in extra]]

    def _set_tabs(self, names: list[str]) -> None:
        order = list(PANELS)
        names = sorted(dict.fromkeys(names), key=order.index)
        if names == self._shown:
            return
        self._shown = names
        self.tabs.children = [self.panels[n].widget for n in names]
        for i, n in enumerate(names):
            self.tabs.set_title(i, n)

    def _on_tab(self, change) -> None:
        i = change["new"]
        if i is not None and 0 <= i < len(self._shown) and self.panels[self._shown[i]].dirty:
            self.panels[self._shown[i]].refresh()

    # ------------------------------------------------------------------ run / stop
    def _params(self) -> dict:
        def options(text, what):
            try:
                value = json.loads(text.value or "{}")
            except json.JSONDecodeError as exc:
                raise ValueError(f"{what} options must be a JSON object: {exc}") from None
            if not isinstance(value, dict):
                raise ValueError(f"{what} options must be a JSON object, got {text.value!r}")
            return value
        return {"space": self.space.value, "strategy": self.strategy.value, "estimator": self.estimator.value,
                "dataset": self.dataset.value, "budget": int(self.budget.value), "device": self.device.value,
                "seed": int(self.seed.value), "store": self.store.value.strip() or None,
                "strategy_options": options(self.strategy_options, "strategy") or None,
                "estimator_options": options(self.estimator_options, "estimator") or None}

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def run(self) -> None:
        """What the Run button does: start a search in a background thread (returns at once)."""
        if self.running:
            return
        self.error.value = ""
        self.errors = []
        try:
            params = self._params()
        except ValueError as exc:
            self._show_error(str(exc))
            return
        for p in self.panels.values():
            p.reset()
            if hasattr(p, "space"):
                p.space = params["space"]
        self._seen_kinds, self._counts, self._best, self.result = set(), {"evaluation": 0, "epoch": 0}, None, None
        self._set_tabs(self._tabs_for_strategy())
        self.progress.max, self.progress.value, self.progress.bar_style = params["budget"], 0, ""
        self._stop_flag = StopFlag()
        self.state = "running"
        self._t0 = time.perf_counter()
        self.run_button.disabled, self.stop_button.disabled = True, False
        self.status.value = f"<b>running</b> {params['strategy']} on {params['space']} ..."
        self._thread = threading.Thread(target=self._work, args=(params, self._stop_flag), daemon=True,
                                        name="nasbench-lab-search")
        self._thread.start()

    def stop(self) -> None:
        """What the Stop button does: ask the search to stop (it ends at its next check)."""
        if self._stop_flag is not None and self.running:
            self._stop_flag.set()
            self.status.value = "<b>stopping ...</b>"

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the search thread ends (scripts, tests); True if it ended."""
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.running

    def _work(self, params: dict, stop: StopFlag) -> None:
        try:
            self.result = search(**params, on_event=self._on_event, stop=stop)
            self.state = "stopped" if self.result.stopped else "finished"
        except BaseException as exc:  # noqa: BLE001 - everything goes to the widget, nothing to a log
            self.state = "failed"
            self._show_error(f"{type(exc).__name__}: {exc}".splitlines()[0])
        finally:
            self._throttle.flush()
            self.run_button.disabled, self.stop_button.disabled = False, True
            if self._throttle.errors:              # a redraw that failed cannot report itself: do it here
                self._show_error("; ".join(self._throttle.errors[-3:]), kind="warning")

    # ------------------------------------------------------------------ events in, redraws out
    def _on_event(self, ev) -> None:
        """Subscriber on the search's event bus (runs in the search thread): record, then throttle."""
        try:
            kind, p = as_record(ev)
            with self._lock:
                self._seen_kinds.add(kind)
                if kind in self._counts:
                    self._counts[kind] += 1
                if kind == "evaluation":
                    self._best = (p.get("best_arch"), p.get("best_val_acc"))
            for panel in self.panels.values():
                panel.on_event(ev, redraw=False)
        except Exception as exc:  # noqa: BLE001 - shown in the widget
            self.errors.append(f"event {getattr(ev, 'kind', '?')}: {type(exc).__name__}: {exc}")
        self._throttle()

    def _redraw(self) -> None:
        with self._lock:
            kinds, counts, best = set(self._seen_kinds), dict(self._counts), self._best
        wanted = list(self._shown) + [KIND_TAB[k] for k in kinds if k in KIND_TAB]
        if "Ranking" not in wanted and self.panels["Ranking"].has_data():
            wanted.append("Ranking")
        self._set_tabs(wanted)
        # why only the selected tab while running: each redraw holds the GIL for tens of milliseconds;
        # hidden tabs catch up when they are selected (and all of them once the run ends)
        selected = self.tabs.selected_index
        for i, name in enumerate(self._shown):
            panel = self.panels[name]
            if panel.dirty and (i == selected or self.state != "running"):
                panel.refresh()
        done = counts["evaluation"]
        one_shot = counts["epoch"] > 0 and self.strategy.value in ("darts", "enas", "spos", "proxyless")
        self.progress.value = min(self.progress.max, counts["epoch"] if one_shot and not done else done)
        secs = time.perf_counter() - self._t0
        best_txt = f", best {best[1]:.2f}" if best and best[1] is not None else ""
        what = f"epoch {counts['epoch']}" if one_shot and not done else f"{done}/{self.progress.max} evaluations"
        if self.state == "running":
            self.status.value = f"<b>running</b> — {what}{best_txt} — {secs:.1f} s"
        else:
            colour = {"finished": "green", "stopped": "#b8860b", "failed": "red"}.get(self.state, "black")
            self.status.value = f"<b style='color:{colour}'>{self.state}</b> — {what}{best_txt} — {secs:.1f} s"
            self.progress.bar_style = {"finished": "success", "stopped": "warning", "failed": "danger"}.get(
                self.state, "")
        problems = self.errors + [e for p in self.panels.values() for e in p.errors]
        if problems and self.state != "failed":
            self._show_error("; ".join(problems[-3:]), kind="warning")

    def _show_error(self, message: str, kind: str = "error") -> None:
        import html
        colour = "#a00" if kind == "error" else "#8a6d00"
        self.error.value = (f"<div style='color:{colour};border:1px solid {colour};padding:4px 8px;"
                            f"border-radius:4px'><b>{kind}:</b> {html.escape(message)}</div>")
        if kind == "error":
            self.errors.append(message)
            self.status.value = f"<b style='color:red'>failed</b>"

    # ------------------------------------------------------------------ display
    def static(self, panel: str = "History"):
        """A static (matplotlib) figure of one panel: for nbconvert/PDF or a terminal."""
        return self.panels[panel].static()

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = dict(self.widget._repr_mimebundle_(include=include, exclude=exclude) or {})
        bundle["text/plain"] = f"<Lab: {self.state}>"
        try:                                       # a front-end without widgets shows the history instead
            import base64
            from nasbench_lab.viz import to_png
            bundle["image/png"] = base64.b64encode(to_png(self.panels["History"].spec(), dpi=72)).decode("ascii")
        except Exception:  # noqa: BLE001
            pass
        return bundle
