"""The ipywidgets layer of the lab, importable as ``nasbench_lab.widgets``.

* ``Lab``: the whole workbench (controls, Run/Stop, progress, a dashboard whose tabs follow the strategy).
* ``RunBrowser``: past runs in an SQLite store; replay their figures, compare runs.
* Panels usable on their own, each subscribing to a run's events with ``view.on_event``: ``HistoryView``,
  ``DagView``, ``AlphaView``, ``PopulationView``, ``ControllerView``, ``RankingView``, ``ParetoView``,
  ``AnytimeView``.

Works in JupyterLab 4 and Voila. Without ipywidgets/plotly, or without a widget front-end (nbconvert,
PDF), the panels show static matplotlib figures. This package imports the library, never the reverse.
"""
from ._base import FigurePane, Throttle, View, figure_mode, widgets_available
from .browser import RunBrowser, replay_panels, stored_events
from .lab import Lab
from .views import (PANELS, AlphaView, AnytimeView, ControllerView, DagView, HistoryView, ParetoView, PopulationView,
                    RankingView)

__all__ = ["PANELS", "AlphaView", "AnytimeView", "ControllerView", "DagView", "FigurePane", "HistoryView", "Lab",
           "ParetoView", "PopulationView", "RankingView", "RunBrowser", "Throttle", "View", "replay_panels",
           "stored_events", "figure_mode", "widgets_available"]
