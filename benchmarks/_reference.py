"""Load the eager reference implementations the benchmarks measure the lab against.

Default: benchmarks/reference.py, in this repository, so every speed figure can be reproduced from a
clone. A script's ``--reference PATH``, or else ``NASBENCH_LAB_REFERENCE``, names another file with the
same API (for instance ../shared/bench/reference.py, which the lab's first figures were measured with).
"""
from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

DEFAULT = Path(__file__).resolve().parent / "reference.py"


def reference_path(path=None) -> Path:
    """The file to load: ``path``, else $NASBENCH_LAB_REFERENCE, else benchmarks/reference.py."""
    named = path or os.environ.get("NASBENCH_LAB_REFERENCE", "")
    return Path(named) if named else DEFAULT


def load_reference(path=None):
    """The reference module; a named file that is not there ends the script with one line, status 2."""
    p = reference_path(path)
    if not p.is_file():
        where = "--reference" if path else "NASBENCH_LAB_REFERENCE"
        print(f"{where} {str(p)!r}: no such file (leave it out to use benchmarks/reference.py of this repository)",
              file=sys.stderr)
        raise SystemExit(2)
    spec = importlib.util.spec_from_file_location("reference", str(p))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
