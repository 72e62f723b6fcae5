# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # nasbench_lab · the classroom app
#
# The Lab on its own page, for a projector or a student's browser: `voila notebooks/app.ipynb`
# (needs the `lab` extra and `pip install voila`). Pick a space, a strategy and a *classroom* preset,
# press **Run**, and watch the search live; every figure is interactive (hover a point for its
# architecture, drag to zoom, double-click to reset). **Stop** ends a run at its next step. Runs are
# kept in `nasbench_runs.sqlite` next to this notebook, the store the command line uses by default
# (`nasbench-lab runs` in this folder lists them); the second panel replays and compares them.

# %%
import os
import pathlib
import sys

try:
    import nasbench_lab  # noqa: F401
except ImportError:           # an uninstalled checkout: the package sits one folder above notebooks/
    sys.path.insert(0, str(pathlib.Path.cwd().resolve().parent))
from IPython.display import display
from nasbench_lab.store import DEFAULT_STORE
from nasbench_lab.widgets import Lab, RunBrowser, widgets_available

STORE = os.environ.get("NASBENCH_LAB_APP_STORE", DEFAULT_STORE)     # the tests point it elsewhere
if widgets_available():
    lab = Lab(space="nb201", strategy="evolution", preset="classroom", store=STORE)
    display(lab)
else:
    print("the app needs ipywidgets, plotly and anywidget: pip install 'nasbench_lab[lab]'")

# %% [markdown]
# ## Past runs

# %%
if widgets_available():
    display(RunBrowser(STORE))
