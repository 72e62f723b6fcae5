"""The course notebooks: the code they share, the check that their two files agree, and the export of an
edition for students or for teachers.

The course is ``notebooks/00_start_here.ipynb`` ... ``09_zero_cost.ipynb``. Each notebook is paired by
jupytext with a ``py:percent`` source (``notebooks/00_start_here.py`` ...): instructors edit either one
(JupyterLab opens the .py as a notebook once jupytext is installed) and ``jupytext --sync`` brings the
other up to date. The .ipynb keeps what the .py cannot hold: the expected outputs of the cells marked
``# NBVAL_CHECK_OUTPUT``, which nbval compares against.

What lives here, written once instead of nine times:

* ``settings(scale, presets)``: the settings of one notebook at one scale (``ci``: seconds, synthetic
  data; ``classroom``: a few minutes on a 2-core laptop CPU with Fashion-MNIST; ``gpu``: bigger runs on
  a CUDA device), the notebook's own ``PRESETS`` over the settings all lessons share;
* ``check(name, answer, is_right, hint)``: the exercise checker;
* ``out_of_sync(folder)``: the notebook pairs whose .ipynb and .py differ, each with the command that
  syncs it;
* ``export(directory, edition)``: the ``student`` edition (no solution cells, no nbval markers or
  expected outputs) or the ``teacher`` edition (with them). A solution cell is a code cell tagged
  ``solution``; jupytext keeps the tag in the .py as ``# %% tags=["solution"]``.

Nothing here is imported by the core library: jupytext, nbformat and nbconvert come with the ``lab``
extra and are imported only by the functions that need them.
"""
from __future__ import annotations

import copy
import importlib
import os
from pathlib import Path

from .errors import CourseError

SCALES = ("ci", "classroom", "gpu")
EDITIONS = ("student", "teacher")
SOLUTION_TAG = "solution"
CHECK_MARKER = "NBVAL_CHECK_OUTPUT"   # nbval compares the stored outputs of the cells carrying it
PLACEHOLDER = ...                  # what an answer cell holds until the student answers (see check)


# ---------------------------------------------------------------------- what the notebooks import
def _shared(scale: str) -> dict:
    """The settings every lesson shares at ``scale``: training fidelity of the ``train`` estimator,
    dataset, device and torch CPU threads.

    Why a function and not module-level dicts: each call returns new dicts, so a notebook that changes its
    ``P["fidelity"]`` does not change the next notebook's (no module-level mutable state, house rule 5).
    """
    # classroom: NB201 C=8, N=1 (the classroom skeleton), one epoch over 2,000 Fashion-MNIST images,
    # 1-6 s of CPU per cell; ci: the same on 256 synthetic 16x16 images, well under a second.
    fidelity = {
        "ci": {"epochs": 1, "train_subset": 256, "val_subset": 256, "test_subset": 256, "batch_size": 32,
               "lr": 0.05},
        "classroom": {"epochs": 1, "train_subset": 2000, "val_subset": 1000, "test_subset": 1000,
                      "batch_size": 32, "lr": 0.05},
        "gpu": {"epochs": 3, "train_subset": 20000, "val_subset": 5000, "test_subset": None, "batch_size": 128,
                "lr": 0.1, "skeleton": {"C": 16, "N": 1}},
    }
    dataset = {"ci": "synthetic", "classroom": "fashion-mnist", "gpu": "fashion-mnist"}
    device = {"ci": "cpu", "classroom": "cpu", "gpu": "auto"}
    # Why one thread on the CPU scales: the classroom networks are tiny, and on a 2-core machine that also
    # runs the browser (or on a shared one) a second thread mostly waits on the first; one thread is as
    # fast and far steadier.
    threads = {"ci": 1, "classroom": 1, "gpu": 4}
    return {"fidelity": fidelity[scale], "dataset": dataset[scale], "device": device[scale],
            "threads": threads[scale]}


def settings(scale: str, presets: dict) -> dict:
    """The settings ``P`` of one notebook at ``scale``: the shared ones (``fidelity``, ``dataset``,
    ``device``, ``threads``) with the notebook's own ``presets[scale]`` on top, so a notebook may override
    a shared setting by naming it in its ``PRESETS``. Returns a new dict (a deep copy of ``presets``'s)."""
    if scale not in SCALES:
        raise CourseError(f"NASBENCH_LAB_SCALE must be one of {sorted(SCALES)}, got {scale!r}")
    if scale not in presets:
        raise CourseError(f"this notebook's PRESETS has no {scale!r} entry (it has {sorted(presets)})")
    return {**_shared(scale), **copy.deepcopy(presets[scale])}


def check(name: str, answer, is_right, hint: str = "") -> None:
    """The exercise checker: prints ``NAME: correct``, or ``NAME: not answered yet`` while ``answer`` is
    still the placeholder ``...``; a wrong answer raises AssertionError with ``hint``.

    Why ``...`` and not also ``None`` as the placeholder: ``None`` is a real answer to some exercises
    ("... or None if it never does"). Why an unanswered exercise prints instead of raising: the student
    edition has no solution cells, and Run All must get past every exercise a student has not done yet.
    Why a wrong answer still raises: the student sees the cell fail, and in the teacher edition a
    solution that no longer satisfies its check fails the notebook run in CI.
    Why it prints (core code is silent, house rule 6): this is not core code but the notebooks' own voice.
    """
    if answer is PLACEHOLDER:
        print(f"{name}: not answered yet (replace the ... and run the cell again)")
        return
    try:
        right = is_right(answer)
    except Exception as exc:           # e.g. a number where a string was asked: still a plain "not yet"
        raise AssertionError(f"{name}: not yet, checking the answer raised {type(exc).__name__}: {exc}. "
                             f"{hint}".rstrip()) from exc
    assert right, f"{name}: not yet. {hint}".rstrip()
    print(f"{name}: correct")


# ---------------------------------------------------------------------- the course's files
def course_dir() -> Path:
    """The ``notebooks/`` folder of this checkout (the course ships with the repository, not the wheel)."""
    return Path(__file__).resolve().parent.parent / "notebooks"


def notebooks(folder: str | os.PathLike | None = None) -> list[Path]:
    """The course notebooks in ``folder`` (default: ``course_dir()``), in order: ``NN_name.ipynb``."""
    folder = Path(folder) if folder is not None else course_dir()
    if not folder.is_dir():
        raise CourseError(f"no course folder at {folder}")
    found = sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    if not found:
        raise CourseError(f"no course notebooks (NN_name.ipynb) in {folder}")
    return found


def _shown(path: Path) -> str:
    """``path`` as the user would type it: relative to the working directory when it lies below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _lab_module(name: str):
    """Import one of the ``lab`` extra's modules, or say in one line how to install it."""
    try:
        return importlib.import_module(name)
    except ImportError:
        raise CourseError(f"the course tools need {name.split('.')[0]}, part of the lab extra: "
                          "pip install 'nasbench_lab[lab]'") from None


def _cells(nb) -> list[tuple]:
    """What a pair must agree on, per cell: its type, its source and its tags (``parameters`` and
    ``solution`` drive papermill and the export). Other metadata and outputs live in the .ipynb only."""
    return [(c.cell_type, c.source, tuple(c.metadata.get("tags", ()))) for c in nb.cells]


def out_of_sync(folder: str | os.PathLike | None = None) -> list[str]:
    """One line per course notebook (or the app) in ``folder`` whose .ipynb and .py sources disagree, naming the file
    and the command that syncs it; ``[]`` when every pair agrees.

    Both files are read with jupytext and compared cell by cell (type, source, tags), so a pair that only
    differs in timestamps or in outputs is in sync, and one edited on either side is not.
    """
    jupytext = _lab_module("jupytext")
    folder = Path(folder) if folder is not None else course_dir()
    # the course notebooks and the classroom app (app.ipynb, not a lesson: no export, no number)
    stems = sorted({p.stem for pat in ("[0-9][0-9]_*", "app") for p in folder.glob(pat + ".ipynb")} |
                   {p.stem for pat in ("[0-9][0-9]_*", "app") for p in folder.glob(pat + ".py")})
    problems = []
    for stem in stems:
        ipynb, py = folder / f"{stem}.ipynb", folder / f"{stem}.py"
        if not py.exists():
            problems.append(f"{_shown(ipynb)} has no py:percent source; create it with: "
                            f"jupytext --set-formats ipynb,py:percent {_shown(ipynb)}")
            continue
        if not ipynb.exists():
            problems.append(f"{_shown(py)} has no notebook; create it with: jupytext --sync {_shown(py)}")
            continue
        a, b = _cells(jupytext.read(ipynb)), _cells(jupytext.read(py))
        if a == b:
            continue
        if len(a) != len(b):
            where = f"{len(a)} cells in the notebook, {len(b)} in the source"
        else:
            i = next(i for i, (x, y) in enumerate(zip(a, b)) if x != y)
            part = "type" if a[i][0] != b[i][0] else "source" if a[i][1] != b[i][1] else "tags"
            where = f"cell {i} differs in its {part}"
        problems.append(f"{_shown(ipynb)} and {_shown(py)} are out of sync ({where}); "
                        f"sync them with: jupytext --sync {_shown(py)}")
    return problems


# ---------------------------------------------------------------------- editions
def export(directory: str | os.PathLike, edition: str, source: str | os.PathLike | None = None) -> list[Path]:
    """Write the ``edition`` of the course into ``directory`` (created if missing) and return the paths
    written, one .ipynb per course notebook.

    ``student``: the solution cells (tag ``solution``) and their outputs removed, so Run All shows the
    check cells' "not answered yet" instead of the answers; the ``# NBVAL_CHECK_OUTPUT`` marker lines
    and the outputs stored for nbval removed as well, so the handout holds only what a student runs.
    ``teacher``: every cell, solutions, markers and expected outputs included (nbval checks it as it
    checks the committed notebooks).
    ``source``: the course folder (default: ``course_dir()``); a pair out of sync is refused, because
    which of its two files holds the instructor's last edit is not for the export to guess.
    """
    if edition not in EDITIONS:
        raise CourseError(f"unknown edition {edition!r}; choose one of: {', '.join(EDITIONS)}")
    paths = notebooks(source)
    stale = out_of_sync(paths[0].parent)
    if stale:
        more = f" (and {len(stale) - 1} more)" if len(stale) > 1 else ""
        raise CourseError(stale[0] + more)
    out = Path(directory)
    if out.exists() and not out.is_dir():
        raise CourseError(f"{out} is a file, not a folder to export the course into")
    if out.resolve() == paths[0].parent.resolve():
        raise CourseError(f"{out} is the course folder itself; export into another folder")

    nbformat = _lab_module("nbformat")
    TagRemovePreprocessor = _lab_module("nbconvert.preprocessors").TagRemovePreprocessor

    # The real tool for the job: nbconvert's TagRemovePreprocessor drops every cell carrying one of the
    # tags, outputs and all (its `enabled` flag only gates it inside an nbconvert exporter; called
    # directly, preprocess() always runs).
    remove = TagRemovePreprocessor(remove_cell_tags={SOLUTION_TAG} if edition == "student" else set())
    try:
        out.mkdir(parents=True, exist_ok=True)
        written = []
        for path in paths:
            nb = nbformat.read(path, as_version=4)
            nb, _ = remove.preprocess(nb, {})
            if edition == "student":
                _drop_nbval_checks(nb)
            # Why drop the pairing: an exported copy is a standalone handout; with the pairing metadata
            # JupyterLab (with jupytext) would write a .py next to each copy on its first save.
            nb.metadata.pop("jupytext", None)
            nb.metadata["nasbench_lab"] = {"edition": edition}
            target = out / path.name
            nbformat.write(nb, target)
            written.append(target)
    except OSError as exc:               # unwritable folder, full disk: one clear line, not a traceback
        raise CourseError(f"cannot write the {edition} edition into {out}: {exc.strerror or exc}") from None
    return written


def _is_check_marker(line: str) -> bool:
    text = line.strip()
    return text.startswith("#") and text.lstrip("#").strip() == CHECK_MARKER


def _drop_nbval_checks(nb) -> None:
    """Remove, in place, the ``# NBVAL_CHECK_OUTPUT`` lines and the outputs stored for nbval to compare.

    Why: they are the course's own test harness. In a handout the marker is noise a student asks about,
    and a stored output shows what a cell prints before the student has run it, unlike every other cell
    of the handout. The line test is nbval's own: a comment whose text is the marker."""
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        lines = cell.source.splitlines(keepends=True)
        kept = [ln for ln in lines if not _is_check_marker(ln)]
        if len(kept) != len(lines):
            cell.source = "".join(kept)
            cell.outputs, cell.execution_count = [], None
