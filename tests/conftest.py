"""Shared test fixtures. Tests never download: NASBENCH_LAB_OFFLINE keeps every dataset lookup local."""
import importlib.util
import os
import tempfile
from pathlib import Path

import pytest
import torch

os.environ.setdefault("NASBENCH_LAB_OFFLINE", "1")
# The CIFAR-10 table's converted cache goes to a folder of this test session, never the user's ~/.cache
# (subprocess tests inherit it, so the conversion runs once per session).
os.environ.setdefault("NASBENCH_LAB_CACHE", tempfile.mkdtemp(prefix="nasbench_lab_cache_"))
# The CLI records every search in ./nasbench_runs.sqlite by default; tests that do not name a store must
# not leave one in the folder pytest runs from (tests of the default itself remove this variable).
os.environ.setdefault("NASBENCH_LAB_STORE", os.path.join(tempfile.mkdtemp(prefix="nasbench_lab_store_"), "runs.sqlite"))
torch.set_num_threads(max(1, min(2, torch.get_num_threads())))

ROOT = Path(__file__).resolve().parents[1]


def reference_path() -> Path:
    """The eager reference implementations: benchmarks/reference.py (in the repository, so a clone has
    them), or the file NASBENCH_LAB_REFERENCE names (e.g. ../shared/bench/reference.py)."""
    named = os.environ.get("NASBENCH_LAB_REFERENCE", "")
    return Path(named) if named else ROOT / "benchmarks" / "reference.py"


def load_reference():
    """The reference module; a NASBENCH_LAB_REFERENCE that names no file is an error, never a skip."""
    path = reference_path()
    if not path.is_file():
        raise pytest.UsageError(f"NASBENCH_LAB_REFERENCE={path}: no such file "
                                "(unset it to use benchmarks/reference.py)")
    spec = importlib.util.spec_from_file_location("reference", str(path))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="session")
def reference():
    """The eager reference implementations as a module (see benchmarks/reference.py)."""
    return load_reference()


@pytest.fixture(scope="session")
def fmnist_available():
    from nasbench_lab.data import find_datasets
    return find_datasets()["fashion-mnist"] is not None


@pytest.fixture(scope="module")
def one_thread():
    """Torch on one thread for a module: the networks are tiny, and on a shared 2-core machine thread
    hand-offs cost more than the maths (measured up to 20x slower with two threads under load)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
