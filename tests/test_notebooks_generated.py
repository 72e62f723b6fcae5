"""The committed course notebooks are exactly what notebooks/_make_notebooks.py generates, and each has
the parts the course promises (kernelspec, one parameters cell reading NASBENCH_LAB_SCALE with the three
scales, learning goals, exercises with solutions). The notebooks themselves run under nbval."""
import importlib.util
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def _maker():
    spec = importlib.util.spec_from_file_location("make_notebooks", NOTEBOOKS / "_make_notebooks.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_committed_notebooks_match_the_generator(capsys):
    assert _maker().main(["--check"]) == 0, capsys.readouterr().out


@pytest.mark.parametrize("name", list(_maker().NOTEBOOKS))
def test_notebook_structure(name):
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    assert nb.metadata.kernelspec.name == "python3"
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1
    src = params[0].source
    assert 'os.environ.get("NASBENCH_LAB_SCALE", "classroom")' in src
    assert all(f'"{s}"' in src for s in ("ci", "classroom", "gpu"))
    assert "Learning goals" in nb.cells[0].source
    solutions = [c for c in nb.cells if "solution" in c.metadata.get("tags", [])]
    assert solutions and all("check(" in c.source for c in solutions)
    for c in nb.cells:                      # outputs only where nbval compares them
        if c.cell_type == "code" and c.outputs:
            assert "# NBVAL_CHECK_OUTPUT" in c.source
