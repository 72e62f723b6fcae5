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
torch.set_num_threads(max(1, min(2, torch.get_num_threads())))

ROOT = Path(__file__).resolve().parents[1]


def _find_reference():
    for p in (os.environ.get("NASBENCH_LAB_REFERENCE", ""), ROOT / "shared" / "bench" / "reference.py",
              ROOT.parent / "shared" / "bench" / "reference.py"):
        if p and Path(p).is_file():
            return Path(p)
    return None


def load_reference():
    """The eager reference implementations (../shared/bench/reference.py) as a module, or None."""
    path = _find_reference()
    if path is None:
        return None
    spec = importlib.util.spec_from_file_location("reference", str(path))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="session")
def reference_or_none():
    """The reference module, or None where it is absent (for tests with a reference-free part)."""
    return load_reference()


@pytest.fixture(scope="session")
def reference():
    """The reference module; tests that need it skip where it is absent (e.g. a bare clone)."""
    mod = load_reference()
    if mod is None:
        pytest.skip("shared/bench/reference.py not available here")
    return mod


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
