"""Figures for NAS runs: pure functions from data (events, store rows, tables) to figures.

Every builder exists twice: ``*_spec(...)`` returns a plain dict in plotly's JSON schema (pure data,
what the tests and the widgets use), ``*_figure(...)`` turns it into a plotly ``Figure`` (or, without
plotly or with ``backend="static"``, a ``StaticFigure`` drawn by matplotlib). ``save(fig, path)`` writes
HTML (plotly) or PNG/PDF/SVG (matplotlib) for static export and nbconvert.

The core library never imports this package (house rule 7); plotly and matplotlib are imported only
when a figure is made or drawn.

    from nasbench_lab import search, EventLog
    from nasbench_lab import viz
    log = EventLog()
    result = search("nb201", "random", budget=5, dataset="synthetic", on_event=log)
    viz.history_figure(log.events)
    viz.dag_figure("nb201", result.best.arch)
"""
from ._spec import OP_COLOURS, op_colour, to_figure
from .alphas import (alpha_dag_at, alpha_evolution_figure, alpha_evolution_spec, alpha_slider_figure,
                     alpha_slider_spec, skip_share_spec)
from .controller import controller_figure, controller_spec
from .curves import anytime_figure, anytime_spec, history_figure, history_spec
from .dag import alpha_dag_figure, alpha_dag_spec, alpha_graph, arch_graph, dag_figure, graph_layout, graph_spec
from .population import population_figure, population_spec
from .records import (alpha_history, anytime_curve, band, best_so_far, controller_history, evaluation_rows,
                      pareto_front, population_history, rank_stats)
from .static import StaticFigure, as_spec, save, to_matplotlib, to_png
from .tradeoffs import pareto_figure, pareto_points, pareto_spec, ranking_data, ranking_figure, ranking_spec


def dag_spec(space, arch, title=None, **kw) -> dict:
    """The spec of ``dag_figure`` (one architecture of a space)."""
    return dag_figure(space, arch, title, backend="spec", **kw)


__all__ = ["OP_COLOURS", "StaticFigure", "alpha_dag_at", "alpha_dag_figure", "alpha_dag_spec", "alpha_evolution_figure",
           "alpha_evolution_spec", "alpha_graph", "alpha_history", "alpha_slider_figure", "alpha_slider_spec",
           "anytime_curve", "anytime_figure", "anytime_spec", "arch_graph", "as_spec", "band", "best_so_far",
           "controller_figure", "controller_history", "controller_spec", "dag_figure", "dag_spec",
           "evaluation_rows", "graph_layout", "graph_spec", "history_figure", "history_spec", "op_colour",
           "pareto_figure", "pareto_front", "pareto_points", "pareto_spec", "population_figure",
           "population_history", "population_spec", "rank_stats", "ranking_data", "ranking_figure",
           "ranking_spec", "save", "skip_share_spec", "to_figure", "to_matplotlib", "to_png"]
