"""Make ``import nasbench_lab.widgets`` work from a source checkout that was never ``pip install``-ed.

The ipywidgets layer lives in the top-level ``widgets/`` folder; an install maps it to
``nasbench_lab.widgets`` (pyproject's package-dir). Without an install there is no such mapping, so
this finder, placed *last* on ``sys.meta_path``, answers for exactly that one name and only when no
other finder did (an installed or editable copy always wins). It imports nothing itself: the core still
loads without ipywidgets or plotly.
"""
from __future__ import annotations

import importlib.abc
import importlib.util
import os
import sys

_NAME = "nasbench_lab.widgets"
_INIT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "widgets", "__init__.py")


class SourceWidgetsFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name != _NAME or not os.path.isfile(_INIT):
            return None
        return importlib.util.spec_from_file_location(name, _INIT, submodule_search_locations=[os.path.dirname(_INIT)])


def install() -> None:
    """Add the finder once (idempotent across reloads)."""
    if os.path.isfile(_INIT) and not any(type(f).__name__ == "SourceWidgetsFinder" for f in sys.meta_path):
        sys.meta_path.append(SourceWidgetsFinder())
