"""Panels usable on their own in a notebook; each one subscribes to a run's events.

    from nasbench_lab import search
    from nasbench_lab.widgets import PopulationView, DagView
    pop, dag = PopulationView(), DagView("nb201")
    display(pop, dag)
    search("nb201", "evolution", "synthetic", budget=200, on_event=[pop.on_event, dag.on_event])

Each panel draws one ``nasbench_lab.viz`` figure from the events it has seen; it ignores event kinds it
does not draw, so any panel can be subscribed to any run.
"""
from __future__ import annotations

import textwrap

from nasbench_lab import viz
from nasbench_lab.spaces import get_space
from nasbench_lab.viz._spec import base_layout
from nasbench_lab.viz.records import as_record, records

from ._base import FigurePane, View


def empty_spec(message: str, height: int = 300) -> dict:
    """A blank figure that says what it is waiting for."""
    layout = base_layout(None, height=height, xaxis={"visible": False}, yaxis={"visible": False})
    layout["annotations"] = [{"text": message, "x": 0.5, "y": 0.5, "xref": "paper", "yref": "paper",
                              "showarrow": False, "font": {"size": 14, "color": "#888"}}]
    return {"data": [], "layout": layout}


def _space_of(events, default=None):
    for p in records(events, "run_started"):
        default = p.get("space", default)
    return default


class HistoryView(View):
    """Every evaluation and the best so far; supernet epochs for one-shot strategies, with their running
    accuracy within an epoch (``progress``) at fractional epochs."""

    kinds = ("evaluation", "epoch", "progress")
    title = "History"

    def spec(self) -> dict:
        evs = self.events()
        if not evs:
            return empty_spec("waiting for the first evaluation ...")
        return viz.history_spec(evs)


class DagView(View):
    """The DAG of the best architecture so far (or of one given architecture)."""

    kinds = ("run_started", "evaluation", "run_finished")
    title = "Best DAG"

    def __init__(self, space=None, arch=None, **kw):
        self.space, self.arch = space, arch
        self._cache: tuple = (None, None)
        super().__init__(**kw)

    def show_arch(self, arch, space=None) -> None:
        """Draw ``arch`` (an architecture value) now (it stays until a run's events name a better one)."""
        self.arch, self.space = str(arch), space or self.space       # kept as events carry it: its string
        self.refresh()

    def best(self) -> tuple:
        """(architecture string, validation accuracy) of the best so far (accuracy None when given by hand)."""
        best = (None if self.arch is None else str(self.arch), None)
        for item in self.events():
            kind, p = as_record(item)
            if kind == "evaluation" and p.get("best_arch"):
                best = (p["best_arch"], p.get("best_val_acc"))
            elif kind == "run_finished" and p.get("best_arch"):
                best = (p["best_arch"], p.get("best_val_acc"))
        return best

    def spec(self) -> dict:
        evs = self.events()
        space = _space_of(evs, self.space)
        arch, acc = self.best()
        if space is None or arch is None:
            return empty_spec("the best architecture so far appears here")
        key = (getattr(space, "name", space), arch, acc)
        if self._cache[0] != key:                 # why cache: the best changes rarely, redraws are frequent
            head = "best so far" + (f" ({acc:.2f})" if isinstance(acc, (int, float)) else "")
            # a DARTS genotype is ~400 characters: wrapped on lines of its own, not cut (plotly titles do
            # not wrap by themselves)
            lines = textwrap.wrap(arch, 110, break_on_hyphens=False)
            text = "<br>".join(f"<sup>{line}</sup>" for line in lines)     # small, line by line
            sp = get_space(space)                 # events carry strings: the drawing needs the value
            # the architecture on its own smaller line: plotly titles do not wrap
            spec = viz.dag_spec(sp, sp.from_str(arch), title=f"{head}<br>{text}")
            extra = 22 * len(lines)               # room for the wrapped lines above the drawing
            lay = spec["layout"]
            lay["margin"] = {**lay.get("margin", {}), "t": 40 + extra}
            lay["title"] = {**lay.get("title", {}), "yref": "container", "y": 1, "yanchor": "top",
                            "pad": {"t": 12}}
            if "height" in lay:
                lay["height"] += extra
            self._cache = (key, spec)
        return self._cache[1]


class AlphaView(View):
    """Alpha evolution per edge, and the alpha-weighted DAG at the epoch chosen on a slider.

    The lines also pass through the alphas of ``progress`` events (within an epoch); the slider stays on
    whole epochs (``alphas`` events), and while it follows the newest the DAG shows the newest snapshot,
    within an epoch too."""

    kinds = ("alphas", "progress")
    title = "Alphas"

    def _build(self) -> None:
        self.dag_pane = FigurePane()
        self.epoch_slider = self.follow = None
        self.selected_epoch = None
        if self.pane.widget is None:
            return
        import ipywidgets as w          # heavy UI package, optional: only when controls are built
        self.epoch_slider = w.IntSlider(value=0, min=0, max=0, description="epoch", continuous_update=False)
        self.follow = w.Checkbox(value=True, description="follow the newest epoch")
        self.epoch_slider.observe(self._on_slider, names="value")

    def _on_slider(self, change) -> None:
        if self._syncing:
            return
        self.selected_epoch = change["new"]
        if self.follow is not None and self.epochs() and change["new"] != self.epochs()[-1]:
            self.follow.value = False
        with self._draw_lock:
            self._draw_dag()

    _syncing = False

    def epochs(self) -> list:
        return [p.get("epoch", k) for k, p in enumerate(records(self.events(), "alphas"))]

    def newest(self) -> dict | None:
        """The newest alphas: of an ``alphas`` event, or of a ``progress`` event that came after it."""
        newest = None
        for item in self.events():
            kind, p = as_record(item)
            if kind == "alphas" or (kind == "progress" and p.get("weights")):
                newest = p
        return newest

    def _draw_dag(self) -> None:
        snaps = records(self.events(), "alphas")
        snap = self.newest()
        if snap is None:
            self.dag_pane.show(empty_spec("the cell as the alphas shape it appears here", 260))
            return
        if snaps and self.selected_epoch is not None and not (self.follow is not None and self.follow.value):
            snap = next((p for p in snaps if p.get("epoch") == self.selected_epoch), snap)
        self.dag_pane.show(viz.alpha_dag_spec(snap))

    def spec(self) -> dict:
        evs = self.events()
        if self.newest() is None:
            return empty_spec("alphas appear here once a differentiable strategy (darts, proxyless) runs")
        return viz.alpha_evolution_spec(evs)

    def refresh(self) -> None:
        with self._draw_lock:
            self._refresh_all()

    def _refresh_all(self) -> None:
        super().refresh()
        eps = self.epochs()
        if self.epoch_slider is not None and eps:
            self._syncing = True                  # moving the slider ourselves is not a user's choice
            try:
                lo, hi = min(eps), max(eps)
                if lo > self.epoch_slider.max:     # the traits validate min <= max at every step
                    self.epoch_slider.max, self.epoch_slider.min = hi, lo
                else:
                    self.epoch_slider.min, self.epoch_slider.max = lo, hi
                if self.follow.value:
                    self.epoch_slider.value = eps[-1]
            finally:
                self._syncing = False
        try:
            self._draw_dag()
        except Exception as exc:  # noqa: BLE001
            self.errors.append(f"AlphaView: {type(exc).__name__}: {exc}")

    def slider_figure(self, backend: str = "auto"):
        """A stand-alone plotly figure with its own epoch slider (for export)."""
        return viz.alpha_slider_figure(self.events(), backend=backend)

    @property
    def widget(self):
        if self.pane.widget is None:
            return None
        import ipywidgets as w          # heavy UI package, optional: only when controls are built
        if not hasattr(self, "_box"):
            self._box = w.VBox([w.HBox([self.epoch_slider, self.follow]), self.dag_pane.widget, self.pane.widget])
        return self._box


class PopulationView(View):
    """Population fitness over generations: alive (by age) vs removed, parent links, best and mean."""

    kinds = ("population",)
    title = "Population"

    def spec(self) -> dict:
        evs = self.events()
        if not evs:
            return empty_spec("population snapshots (evolution, spos) appear here")
        return viz.population_spec(evs)


class ControllerView(View):
    """RL controller: choice probabilities per decision, reward vs baseline, entropy (ENAS: from step 0,
    the policy its ``progress`` events report before the first update)."""

    kinds = ("run_started", "controller", "progress")
    title = "Controller"

    def __init__(self, space=None, max_decisions: int = 12, **kw):
        self.space, self.max_decisions = space, max_decisions
        super().__init__(**kw)

    def spec(self) -> dict:
        evs = self.events()
        if not records(evs, "controller") and not any(p.get("probs") for p in records(evs, "progress")):
            return empty_spec("controller probabilities (reinforce, enas) appear here")
        space = _space_of(evs, self.space)
        try:
            return viz.controller_spec(evs, space=space, max_decisions=self.max_decisions)
        except Exception:  # noqa: BLE001 - unknown space options: fall back to choice indices
            return viz.controller_spec(evs, max_decisions=self.max_decisions)


class RankingView(View):
    """One-shot score vs from-scratch accuracy, from ``ranking`` events, evaluations carrying a one-shot
    score, or scores given directly with ``set_scores``."""

    kinds = ("ranking", "evaluation")
    title = "Ranking"

    def __init__(self, k: int = 5, **kw):
        self.k = k
        self._given = None
        super().__init__(**kw)

    def set_scores(self, oneshot, scratch, archs=None, k: int | None = None) -> None:
        if isinstance(oneshot, dict) and isinstance(scratch, dict):
            archs = [a for a in oneshot if a in scratch]
            oneshot, scratch = [oneshot[a] for a in archs], [scratch[a] for a in archs]
        self._given = {"pred": list(oneshot), "true": list(scratch), "archs": archs}
        self.k = k or self.k
        self.refresh()

    def data(self) -> dict:
        return self._given or viz.ranking_data(self.events())

    def has_data(self) -> bool:
        return len(self.data()["pred"]) >= 2

    def spec(self) -> dict:
        d = self.data()
        if len(d["pred"]) < 2:
            return empty_spec("one-shot vs from-scratch scores appear here (set_scores, or a ranking event)")
        return viz.ranking_spec(d["pred"], d["true"], d["archs"], k=self.k)


class ParetoView(View):
    """Accuracy vs latency / FLOPs / parameters of every evaluation, with the Pareto front."""

    kinds = ("run_started", "evaluation")
    title = "Pareto"
    COSTS = ("latency_ms", "flops", "params")

    def __init__(self, cost: str | None = None, **kw):
        self.cost = cost
        super().__init__(**kw)

    def _build(self) -> None:
        self.cost_picker = None
        if self.pane.widget is None:
            return
        import ipywidgets as w          # heavy UI package, optional: only when controls are built
        self.cost_picker = w.Dropdown(options=["auto", *self.COSTS], value=self.cost or "auto", description="cost")
        self.cost_picker.observe(lambda ch: (setattr(self, "cost", None if ch["new"] == "auto" else ch["new"]),
                                             self.refresh()), names="value")

    def spec(self) -> dict:
        evs = self.events()
        cost = self.cost
        if cost is None:                          # the first cost the evaluations actually carry
            cost = next((c for c in self.COSTS if viz.pareto_points(evs, c)), "latency_ms")
            for p in records(evs, "run_started"):  # ... or the one the objective limits
                spec_ = str((p.get("config") or {}).get("objective") or "")
                cost = next((c for c in self.COSTS if f"{c}<=" in spec_ and viz.pareto_points(evs, c)), cost)
        if not viz.pareto_points(evs, cost):
            return empty_spec(f"evaluations with {cost} appear here")
        objective = None                          # the run's objective: its limit on this cost is drawn
        for p in records(evs, "run_started"):
            objective = (p.get("config") or {}).get("objective") or objective
        return viz.pareto_spec(evs, cost=cost, objective=objective)

    @property
    def widget(self):
        if self.pane.widget is None:
            return None
        import ipywidgets as w          # heavy UI package, optional: only when controls are built
        if not hasattr(self, "_box"):
            self._box = w.VBox([self.cost_picker, self.pane.widget])
        return self._box


class AnytimeView(View):
    """Best so far vs evaluations (or time) per strategy, mean and band over the runs (seeds) seen.

    Runs are told apart by ``run_id``; the label is the run's strategy (``label_by``) unless ``add_run``
    names it."""

    kinds = ("run_started", "evaluation")
    title = "Anytime"

    def __init__(self, x: str = "evaluations", label_by: str = "strategy", **kw):
        self.x, self.label_by = x, label_by
        self._runs: dict = {}                      # run_id -> (label, [evaluation payloads])
        super().__init__(**kw)

    def on_event(self, ev, redraw: bool = True) -> None:
        kind, p = as_record(ev)
        if kind not in self.kinds:
            return
        run_id = getattr(ev, "run_id", None) or (ev.get("run_id") if isinstance(ev, dict) else None) or "run"
        with self._lock:
            if kind == "run_started":
                self._runs[run_id] = (str(p.get(self.label_by, run_id)), [])
            else:
                self._runs.setdefault(run_id, (run_id, []))[1].append(p)
            self._events.append(ev)
        if redraw and self.auto_refresh:
            self._throttle()

    __call__ = on_event

    def add_run(self, label: str, events) -> None:
        with self._lock:
            self._runs[f"{label}#{len(self._runs)}"] = (label, viz.evaluation_rows(events))
        self.refresh()

    def reset(self) -> None:
        with self._lock:
            self._runs, self._events = {}, []

    def spec(self) -> dict:
        with self._lock:
            grouped: dict = {}
            for label, evals in self._runs.values():
                if evals:
                    grouped.setdefault(label, []).append(list(evals))
        if not grouped:
            return empty_spec("best-so-far curves appear here")
        return viz.anytime_spec(grouped, x=self.x)


PANELS = {"History": HistoryView, "Best DAG": DagView, "Alphas": AlphaView, "Population": PopulationView,
          "Controller": ControllerView, "Ranking": RankingView, "Pareto": ParetoView}
