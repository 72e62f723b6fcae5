"""pytest collects the course notebooks through nbval (``--nbval-lax``, see pyproject.toml).

Why a default scale here: the notebooks default to ``classroom`` (minutes each, for students), while a
test run wants ``ci`` (seconds each). An explicit ``NASBENCH_LAB_SCALE`` in the environment still wins.
The kernels nbval starts inherit this process's environment.
"""
import os

import pytest

os.environ.setdefault("NASBENCH_LAB_SCALE", "ci")
os.environ.setdefault("NASBENCH_LAB_OFFLINE", "1")          # tests never download
# the classroom app keeps its runs next to itself; under test, in a temporary folder instead
os.environ.setdefault("NASBENCH_LAB_APP_STORE", os.path.join(__import__("tempfile").mkdtemp(), "runs.sqlite"))

# Why: the notebooks' jupytext sources (00_start_here.py ...) are scripts that run a whole lesson when
# imported. Their names never match pytest's default test_*.py, but a run with --doctest-modules or a
# wider python_files would import them; the .ipynb twins are what nbval runs.
collect_ignore_glob = ["[0-9][0-9]_*.py"]


def pytest_collection_modifyitems(items):
    """nbval's cells carry the ``notebooks`` marker, so ``-m "not notebooks"`` leaves the slow layer out."""
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.notebooks)
