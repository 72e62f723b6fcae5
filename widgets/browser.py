"""``RunBrowser``: the runs in an SQLite store; replay one run's figures, or compare runs.

Replaying feeds the stored events (plus the stored evaluations, rebuilt as ``evaluation`` events) into
the same panels a live run uses, so a replayed figure is exactly the live one. Comparing draws the
runs' best-so-far curves on one axis (grouped by strategy when several seeds of one are picked) and a
table of their results.
"""
from __future__ import annotations

import html

from nasbench_lab.events import Event
from nasbench_lab.store import open_store
from nasbench_lab.strategies.base import rank_key

from ._base import widgets_available
from .views import PANELS, AnytimeView

KIND_TAB = {"population": "Population", "controller": "Controller", "alphas": "Alphas", "ranking": "Ranking"}


def _open(store):
    if hasattr(store, "runs") and hasattr(store, "events"):
        return store
    return open_store(store)


def stored_events(store, run_id: str) -> list[Event]:
    """A run's event stream rebuilt from the store: its stored events, with ``evaluation`` events made
    from the stored evaluations (best-so-far fields recomputed) and ``run_finished`` kept last."""
    st = _open(store)
    events = list(st.events(run_id))
    rows = st.evaluation_rows(run_id) if hasattr(st, "evaluation_rows") else \
        [e.to_dict() for e in st.evaluations(run_id)]
    best, best_key = None, None
    evals = []
    for i, r in enumerate(rows):
        obj = r.get("objective", r.get("val_acc"))
        metrics = r.get("metrics") or {}
        # ranked as the run ranked them (rank_key, the Tracker's rule): a failed evaluation's None or NaN
        # objective last, a partial one below every full one, a tie keeps the earlier. Why not ``>``: None
        # cannot be compared, and a NaN first row would stay the best forever.
        key = rank_key(obj, metrics)
        if best is None or key > best_key:
            best, best_key = r, key
        evals.append(Event("evaluation", {"index": r.get("idx", i), "arch": r["arch"], "val_acc": r.get("val_acc"),
                                          "test_acc": r.get("test_acc"), "cost": r.get("cost"),
                                          "metrics": metrics, "objective": obj, "best_arch": best["arch"],
                                          "best_val_acc": best.get("val_acc"),
                                          "best_test_acc": best.get("test_acc")}, run_id))
    head = [e for e in events if e.kind == "run_started"]
    tail = [e for e in events if e.kind in ("run_finished", "run_failed")]
    middle = [e for e in events if e.kind not in ("run_started", "run_finished", "run_failed")]
    return head + middle + evals + tail


def replay_panels(events, space=None) -> dict:
    """Panels (name -> view) filled with ``events``: History, Best DAG, Pareto, and the panels of the
    kinds present."""
    kinds = {getattr(e, "kind", None) for e in events}
    names = ["History", "Best DAG", *[KIND_TAB[k] for k in KIND_TAB if k in kinds], "Pareto"]
    panels = {}
    for name in names:
        cls = PANELS[name]
        view = cls(space=space, auto_refresh=False) if name in ("Best DAG", "Controller") else cls(auto_refresh=False)
        for ev in events:
            view.on_event(ev, redraw=False)
        view.refresh()
        panels[name] = view
    if "Ranking" in panels and not panels["Ranking"].has_data():
        del panels["Ranking"]
    return panels


def _label(r: dict) -> str:
    best = r.get("best_val_acc")
    best_txt = f"{best:.2f}" if isinstance(best, (int, float)) else "-"
    return (f"{r['run_id'][:8]} · {r.get('space')}/{r.get('strategy')}/{r.get('estimator')} · seed {r.get('seed')} · "
            f"{r.get('status')} · {r.get('evaluations')} evals · best {best_txt}")


def _fidelity_text(cfg: dict) -> str:
    """How the run's candidates were scored, short: '2 ep, 4000 img' (train), 'setting laptop' (table)."""
    est = cfg.get("estimator_config") or {}
    fid = est.get("fidelity")
    if isinstance(fid, dict):
        imgs = fid.get("train_subset")
        return f"{fid.get('epochs')} ep, {'all' if imgs is None else imgs} img"
    if est.get("setting"):
        return f"setting {est['setting']}" + (f", epoch {est['epoch']}" if est.get("epoch") else "")
    if est.get("name") == "synthetic":
        return "invented"
    return "-"


def _options_text(cfg: dict) -> str:
    opts = cfg.get("strategy_options") or {}
    text = ", ".join(f"{k}={v}" for k, v in opts.items()) or "defaults"
    return text if len(text) <= 60 else text[:57] + "..."


def runs_table(runs: list[dict]) -> str:
    cols = ("run_id", "space", "strategy", "estimator", "dataset", "fidelity", "options", "seed", "status",
            "evaluations", "best_val_acc", "best_test_acc")
    head = "".join(f"<th style='padding:2px 8px'>{c}</th>" for c in cols)
    body = ""
    for r in runs:
        cfg = r.get("config") or {}
        derived = {"dataset": cfg.get("dataset", "-"), "fidelity": _fidelity_text(cfg), "options": _options_text(cfg)}
        cells = []
        for c in cols:
            v = derived[c] if c in derived else r.get(c)
            v = f"{v:.2f}" if isinstance(v, float) else (v[:8] if c == "run_id" and v else v)
            cells.append(f"<td style='padding:2px 8px'>{html.escape(str(v))}</td>")
        body += "<tr>" + "".join(cells) + "</tr>"
    return f"<table style='border-collapse:collapse;font-size:12px'><tr>{head}</tr>{body}</table>"


class RunBrowser:
    """Browse a store: select runs, then Replay (the first selected) or Compare (all selected)."""

    def __init__(self, store):
        if not widgets_available():
            raise ImportError("RunBrowser needs ipywidgets, plotly and anywidget: pip install 'nasbench_lab[lab]'")
        import ipywidgets as w          # heavy UI package, optional: only when controls are built
        self.store = _open(store)
        self.runs = w.SelectMultiple(options=[], rows=8, description="runs", layout=w.Layout(width="900px"))
        self.refresh_button = w.Button(description="Refresh", icon="refresh")
        self.replay_button = w.Button(description="Replay", icon="play", button_style="info")
        self.compare_button = w.Button(description="Compare", icon="bar-chart", button_style="info")
        self.x_axis = w.Dropdown(options=["evaluations", "time"], value="evaluations", description="x")
        self.message = w.HTML()
        self.output = w.Tab()
        self.panels: dict = {}
        self.refresh_button.on_click(lambda _: self.refresh())
        self.replay_button.on_click(lambda _: self.replay())
        self.compare_button.on_click(lambda _: self.compare())
        self.widget = w.VBox([self.runs, w.HBox([self.refresh_button, self.replay_button, self.compare_button,
                                                 self.x_axis]), self.message, self.output])
        self.refresh()

    def refresh(self) -> None:
        runs = list(reversed(self.store.runs()))          # newest first
        self._runs = {r["run_id"]: r for r in runs}
        self.runs.options = [(_label(r), r["run_id"]) for r in runs]
        self.message.value = f"{len(runs)} runs in {html.escape(str(getattr(self.store, 'path', '')))}"

    def _selected(self, at_least: int) -> list[str]:
        ids = list(self.runs.value)
        if len(ids) < at_least:
            self.message.value = (f"<span style='color:#a00'>select at least {at_least} run"
                                  f"{'s' if at_least > 1 else ''}</span>")
            return []
        return ids

    def _show(self, panels: dict) -> None:
        self.panels = panels
        self.output.children = [p.widget for p in panels.values()]
        for i, name in enumerate(panels):
            self.output.set_title(i, name)

    def replay(self, run_id: str | None = None) -> dict:
        """Fill the panels with one stored run (the first selected); returns them."""
        ids = [run_id] if run_id else self._selected(1)
        if not ids:
            return {}
        rid = self.store.resolve(ids[0]) if hasattr(self.store, "resolve") else ids[0]
        run = self.store.run(rid)
        panels = replay_panels(stored_events(self.store, rid), space=run.get("space"))
        self._show(panels)
        self.message.value = runs_table([run])
        return panels

    def compare(self, run_ids: list[str] | None = None) -> AnytimeView:
        """Best-so-far curves of the selected runs on one axis, and a table of their results."""
        ids = list(run_ids) if run_ids else self._selected(2)
        if not ids:
            return None
        runs = [self.store.run(i) for i in ids]
        # several seeds of one strategy share a label (mean and band); otherwise one curve per run
        labels = [r.get("strategy") for r in runs]
        if len(set(labels)) == 1 and len({(r.get("space"), r.get("estimator")) for r in runs}) > 1:
            labels = [f"{r.get('strategy')} {r['run_id'][:6]}" for r in runs]
        view = AnytimeView(x=self.x_axis.value, auto_refresh=False)
        for label, r in zip(labels, runs):
            view.add_run(label, stored_events(self.store, r["run_id"]))
        self._show({"Compare": view})
        self.message.value = runs_table(runs)
        return view

    def _repr_mimebundle_(self, include=None, exclude=None):
        return self.widget._repr_mimebundle_(include=include, exclude=exclude)
