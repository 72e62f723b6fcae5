"""nasbench_lab: an interactive workbench for learning and exploring Neural Architecture Search.

The core library has no UI imports; ``nasbench_lab.widgets`` and ``nasbench_lab.viz`` add the UI.
"""
from .estimators import get_estimator, list_estimators
from .events import Event, EventBus, EventLog, StopFlag
from .search import SearchResult, resume, search
from .spaces import get_space, list_spaces
from .strategies import list_strategies
from .store import open_store
from .version import __version__
from ._source_widgets import install as _install_widgets_finder

_install_widgets_finder()          # `import nasbench_lab.widgets` from an uninstalled checkout

__all__ = ["Event", "EventBus", "EventLog", "SearchResult", "StopFlag", "get_estimator", "get_space", "list_estimators",
           "list_spaces", "list_strategies", "open_store", "resume", "search", "__version__"]
