"""The course notebooks: jupytext pairs, the code they share (nasbench_lab.course) and the two editions.

* every notebooks/NN_name.ipynb agrees with its py:percent source, and a stale pair (on either side) is
  reported with the command that syncs it, which does sync it;
* every notebook has the structure the course promises (parameters cell, learning goals, exercises
  with tagged solutions, outputs only where nbval compares them, the shared module imported);
* check() and settings();
* `nasbench-lab course export`: the student edition has no solution cells, the teacher edition all of
  them; bad input exits 2 with one line. Why the editions are checked by their structure and not run
  again: the teacher edition is the committed notebooks cell for cell (outputs included), which nbval
  runs once; the student edition is them without the solutions, so it runs when no kept cell needs a
  name only a solution defines (checked for every notebook). One student notebook runs, to see its
  checks say "not answered yet".
"""
import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from nasbench_lab import course
from nasbench_lab.cli import main

jupytext = pytest.importorskip("jupytext")
pytest.importorskip("nbconvert")

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = [p.stem for p in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))]


def _solutions(nb) -> int:
    return sum(course.SOLUTION_TAG in c.metadata.get("tags", []) for c in nb.cells)


# ---------------------------------------------------------------------- the pairs
def test_the_course_is_ten_pairs():
    assert NAMES[0] == "00_start_here" and NAMES[-1] == "09_zero_cost" and len(NAMES) == 10
    assert sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]_*.py")) == NAMES


def test_every_pair_is_in_sync():
    stale = course.out_of_sync(NOTEBOOKS)
    assert not stale, "\n".join(stale)


@pytest.fixture
def course_copy(tmp_path, monkeypatch):
    """A copy of notebook 03's pair in tmp/notebooks, with tmp as the working directory."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    for ext in ("ipynb", "py"):
        shutil.copy2(NOTEBOOKS / f"03_evolution.{ext}", folder)
    monkeypatch.chdir(tmp_path)
    return folder


def _sync(folder, name):
    subprocess.run([sys.executable, "-m", "jupytext", "--sync", str(folder / name)], check=True,
                   capture_output=True)


def test_a_stale_notebook_is_named_with_the_command_that_syncs_it(course_copy):
    py = course_copy / "03_evolution.py"
    py.write_text(py.read_text().replace("# %% [markdown]\n# ## ", "# %%\nprint('a new cell')\n\n# %% [markdown]\n# ## ", 1))
    (line,) = course.out_of_sync(course_copy)
    assert "notebooks/03_evolution.ipynb" in line and "cells in the notebook" in line
    assert line.endswith("sync them with: jupytext --sync notebooks/03_evolution.py")
    _sync(course_copy, "03_evolution.py")                    # the .py is newer: it updates the notebook
    assert course.out_of_sync(course_copy) == []
    assert "print('a new cell')" in (course_copy / "03_evolution.ipynb").read_text()


def test_a_stale_source_is_named_too_and_the_same_command_syncs_it(course_copy):
    ipynb = course_copy / "03_evolution.ipynb"
    nb = nbformat.read(ipynb, as_version=4)
    i = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and i > 2)
    nb.cells[i].source += "\nprint('edited in JupyterLab without jupytext')"
    nbformat.write(nb, ipynb)
    newer = (course_copy / "03_evolution.py").stat().st_mtime + 10
    os.utime(ipynb, (newer, newer))                          # jupytext --sync takes the newer file as input
    (line,) = course.out_of_sync(course_copy)
    assert f"cell {i} differs in its source" in line
    assert line.endswith("jupytext --sync notebooks/03_evolution.py")
    _sync(course_copy, "03_evolution.py")
    assert course.out_of_sync(course_copy) == []
    assert "edited in JupyterLab without jupytext" in (course_copy / "03_evolution.py").read_text()


def test_a_changed_tag_is_out_of_sync_and_a_missing_source_is_named(course_copy):
    py = course_copy / "03_evolution.py"
    py.write_text(py.read_text().replace('tags=["solution"]', "", 1))   # a solution cell no longer tagged
    (line,) = course.out_of_sync(course_copy)
    assert "differs in its tags" in line
    py.unlink()
    (line,) = course.out_of_sync(course_copy)
    assert line == ("notebooks/03_evolution.ipynb has no py:percent source; create it with: "
                    "jupytext --set-formats ipynb,py:percent notebooks/03_evolution.ipynb")


# ---------------------------------------------------------------------- what each notebook promises
@pytest.mark.parametrize("name", NAMES)
def test_notebook_structure(name):
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    assert nb.metadata.kernelspec.name == "python3"
    assert nb.metadata.jupytext.formats == "ipynb,py:percent"
    assert "Learning goals" in nb.cells[0].source
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1
    src = params[0].source
    assert 'os.environ.get("NASBENCH_LAB_SCALE", "classroom")' in src
    assert all(f'"{s}"' in src for s in course.SCALES)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert sum("P = settings(SCALE, PRESETS)" in s for s in code) == 1
    assert not any("def check(" in s for s in code)          # one checker, in nasbench_lab.course
    solutions = [c for c in nb.cells if course.SOLUTION_TAG in c.metadata.get("tags", [])]
    assert solutions and all(c.cell_type == "code" and "check(" in c.source for c in solutions)
    assert all(c.metadata.get("jupyter", {}).get("source_hidden") for c in solutions)
    for c in nb.cells:                      # outputs only where nbval compares them
        if c.cell_type == "code" and c.outputs:
            assert "# NBVAL_CHECK_OUTPUT" in c.source


# ---------------------------------------------------------------------- check() and settings()
def test_check_reports_an_unanswered_exercise_and_asserts_an_answered_one(capsys):
    course.check("exercise 1", ..., lambda a: a == 4)
    assert capsys.readouterr().out == "exercise 1: not answered yet (replace the ... and run the cell again)\n"
    course.check("exercise 1", 4, lambda a: a == 4)
    assert capsys.readouterr().out == "exercise 1: correct\n"
    course.check("exercise 2", None, lambda a: a is None)     # None is an answer, not the placeholder
    assert capsys.readouterr().out == "exercise 2: correct\n"
    with pytest.raises(AssertionError, match=r"^exercise 1: not yet\. two plus two$"):
        course.check("exercise 1", 5, lambda a: a == 4, "two plus two")
    with pytest.raises(AssertionError, match="exercise 1: not yet, checking the answer raised TypeError"):
        course.check("exercise 1", "four", lambda a: abs(a - 4) < 1e-9, "a number")


def test_settings_put_the_notebook_presets_over_the_shared_ones():
    presets = {s: {"budget": 3, "device": "cpu" if s == "gpu" else "auto"} for s in course.SCALES}
    p = course.settings("ci", presets)
    assert p["budget"] == 3 and p["dataset"] == "synthetic" and p["threads"] == 1
    assert p["device"] == "auto"                              # the notebook's own value wins
    assert course.settings("gpu", presets)["fidelity"]["skeleton"] == {"C": 16, "N": 1}
    p["fidelity"]["epochs"] = 99                              # a notebook edits its own copy only
    assert course.settings("ci", presets)["fidelity"]["epochs"] == 1
    with pytest.raises(course.CourseError, match="NASBENCH_LAB_SCALE must be one of"):
        course.settings("laptop", presets)
    with pytest.raises(course.CourseError, match="no 'gpu' entry"):
        course.settings("gpu", {"ci": {}})


# ---------------------------------------------------------------------- editions
@pytest.fixture(scope="module")
def editions(tmp_path_factory):
    """Both editions exported through the CLI, as {edition: folder}."""
    root = tmp_path_factory.mktemp("editions")
    for edition in course.EDITIONS:
        assert main(["course", "export", str(root / edition), "--edition", edition]) == 0
    return {e: root / e for e in course.EDITIONS}


def test_the_student_edition_has_no_solutions_and_the_teacher_edition_all_of_them(editions):
    for name in NAMES:
        source = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
        student = nbformat.read(editions["student"] / f"{name}.ipynb", as_version=4)
        teacher = nbformat.read(editions["teacher"] / f"{name}.ipynb", as_version=4)
        assert _solutions(student) == 0
        assert _solutions(teacher) == _solutions(source) > 0
        assert [c.source for c in teacher.cells] == [c.source for c in source.cells]
        kept = [c for c in source.cells if course.SOLUTION_TAG not in c.metadata.get("tags", [])]
        assert [_unmarked(c.source) for c in student.cells] == [_unmarked(c.source) for c in kept]
        assert [c.get("outputs") for c in teacher.cells] == [c.get("outputs") for c in source.cells]
        for nb, edition in ((student, "student"), (teacher, "teacher")):
            assert "jupytext" not in nb.metadata and nb.metadata.nasbench_lab.edition == edition


def _unmarked(source: str) -> str:
    return "".join(ln for ln in source.splitlines(keepends=True) if ln.strip() != "# NBVAL_CHECK_OUTPUT")


def test_the_student_handout_has_no_nbval_markers_or_stored_outputs(editions):
    """Issue 30: the handout kept `# NBVAL_CHECK_OUTPUT` and the outputs nbval compares (notebooks 01
    and 06); the teacher edition keeps both, so nbval still checks it."""
    marked = 0
    for name in NAMES:
        source = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
        student = nbformat.read(editions["student"] / f"{name}.ipynb", as_version=4)
        teacher = nbformat.read(editions["teacher"] / f"{name}.ipynb", as_version=4)
        marked += sum("NBVAL_CHECK_OUTPUT" in c.source for c in teacher.cells)
        assert sum("NBVAL_CHECK_OUTPUT" in c.source for c in teacher.cells) == \
            sum("NBVAL_CHECK_OUTPUT" in c.source for c in source.cells)
        for c in student.cells:
            if c.cell_type == "code":            # (notebook 01's prose still names the marker)
                assert "NBVAL" not in c.source
                assert c.outputs == [] and c.execution_count is None, (name, c.source[:60])
    assert marked >= 3                                  # the test sees the markers it says are gone


def test_dropping_the_markers_keeps_the_rest_of_the_cell():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("#  NBVAL_CHECK_OUTPUT\nprint(1)  # NBVAL_CHECK_OUTPUT stays: not a comment line\n",
                                  outputs=[nbformat.v4.new_output("stream", text="1\n")], execution_count=3),
        nbformat.v4.new_code_cell("x = 1\n## NBVAL_CHECK_OUTPUT\ny = 2", execution_count=4),
        nbformat.v4.new_code_cell("# NBVAL_CHECK_OUTPUT_NOT\nz = 3", execution_count=5),
        nbformat.v4.new_markdown_cell("# NBVAL_CHECK_OUTPUT"),
    ])
    course._drop_nbval_checks(nb)
    assert [c.source for c in nb.cells] == ["print(1)  # NBVAL_CHECK_OUTPUT stays: not a comment line\n",
                                            "x = 1\ny = 2", "# NBVAL_CHECK_OUTPUT_NOT\nz = 3",
                                            "# NBVAL_CHECK_OUTPUT"]
    assert [c.get("execution_count") for c in nb.cells[:3]] == [None, None, 5]
    assert nb.cells[0].outputs == []


def test_export_prints_the_written_paths(tmp_path, capsys):
    assert main(["course", "export", str(tmp_path / "out"), "--edition", "student"]) == 0
    assert capsys.readouterr().out.split() == [str(tmp_path / "out" / f"{n}.ipynb") for n in NAMES]


def _cli(*args):
    p = subprocess.run([sys.executable, "-m", "nasbench_lab.cli", *args], capture_output=True, text=True,
                       timeout=120)
    return p.returncode, p.stderr


@pytest.mark.parametrize("args, needle", [
    (["--edition", "answers"], "invalid choice: 'answers'"),
    ([], "the following arguments are required: --edition"),
    (["--edition", "student", "--source", "{tmp}"], "no course notebooks"),
])
def test_export_bad_input_exits_2_with_one_line(tmp_path, args, needle):
    rc, err = _cli("course", "export", str(tmp_path / "out"), *[a.format(tmp=tmp_path) for a in args])
    assert rc == 2 and len(err.strip().splitlines()) == 1 and needle in err, err
    assert "Traceback" not in err


def test_export_into_a_file_or_below_one_exits_2_with_one_line(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("not a folder")
    for target, needle in ((afile, "is a file, not a folder"), (afile / "sub", "cannot write the teacher edition")):
        rc, err = _cli("course", "export", str(target), "--edition", "teacher")
        assert rc == 2 and len(err.strip().splitlines()) == 1 and needle in err, err
        assert "Traceback" not in err


def test_export_refuses_a_course_out_of_sync(tmp_path):
    src = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOKS, src, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    py = src / "01_search_spaces.py"
    py.write_text(py.read_text() + "\n# %%\nprint('unsynced edit')\n")
    with pytest.raises(course.CourseError, match="01_search_spaces.*jupytext --sync .*01_search_spaces.py"):
        course.export(tmp_path / "out", "student", source=src)


# ---------------------------------------------------------------------- the editions run
def _names(source: str) -> tuple[set, set]:
    """(names a cell defines, names it reads), from its code (IPython's %magic and !shell lines left out)."""
    code = "\n".join(ln for ln in source.splitlines() if not ln.lstrip().startswith(("%", "!")))
    defined, read = set(), set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else defined).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            defined.add(node.name)
        elif isinstance(node, ast.arg):
            defined.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            defined |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return defined, read


@pytest.mark.parametrize("name", NAMES)
def test_the_student_edition_needs_nothing_its_solutions_defined(name):
    """Run All works for a student: no cell the student edition keeps reads a name that only a solution
    cell defines (what would break it, the committed notebooks running under nbval otherwise)."""
    source = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    code = [(course.SOLUTION_TAG in c.metadata.get("tags", []), _names(c.source))
            for c in source.cells if c.cell_type == "code"]
    kept_defined = set().union(*(d for sol, (d, _) in code if not sol))
    only_solutions = set().union(*(d for sol, (d, _) in code if sol)) - kept_defined
    needed = set().union(*(r for sol, (_, r) in code if not sol)) & only_solutions
    assert not needed, f"{name}: kept cells read {sorted(needed)}, which only a solution defines"


@pytest.mark.notebooks
def test_a_student_notebook_runs_and_reports_the_exercises_unanswered(editions, monkeypatch):
    """One notebook of the student edition runs (the others are the same export of notebooks nbval runs),
    and a check cell without its solution says 'not answered yet'."""
    from nbclient import NotebookClient

    nb = nbformat.read(editions["student"] / "01_search_spaces.ipynb", as_version=4)
    monkeypatch.setenv("NASBENCH_LAB_SCALE", "ci")            # the kernel inherits this environment
    NotebookClient(nb, timeout=600, resources={"metadata": {"path": str(editions["student"])}}).execute()
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert printed.count("not answered yet") == 3 and ": correct" not in printed

