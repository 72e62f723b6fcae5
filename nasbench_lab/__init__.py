"""nasbench_lab: an interactive workbench for learning and exploring Neural Architecture Search.

The core library has no UI imports; ``nasbench_lab.widgets`` and ``nasbench_lab.viz`` add the UI.
"""
from .spaces import get_space, list_spaces

__version__ = "0.1.0"

__all__ = ["get_space", "list_spaces", "__version__"]
