"""Load ../shared/bench/reference.py (the eager baselines the benchmarks are measured against)."""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

CANDIDATES = [os.environ.get("NASBENCH_LAB_REFERENCE", ""),
              Path(__file__).resolve().parents[1] / "shared" / "bench" / "reference.py",
              Path(__file__).resolve().parents[2] / "shared" / "bench" / "reference.py"]


def load_reference(path=None):
    for p in [path, *CANDIDATES]:
        if p and Path(p).is_file():
            spec = importlib.util.spec_from_file_location("reference", str(p))
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
            return mod
    raise SystemExit("reference.py not found: pass --reference PATH or set NASBENCH_LAB_REFERENCE")
