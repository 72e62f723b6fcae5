"""Reading AnalogNAS-Bench safely: where its file is, what its keys mean, and the lab's cache of it.

Source: **AnalogNAS-Bench** (H. Benmeziane et al., "AnalogNAS-Bench: A NAS Benchmark for Analog
In-Memory Computing", IBM, arXiv:2506.18495, 2025; PyPI package ``analog-nasbench``). What the table
built from it means is in ``cifar10.py``; this module only gets the numbers out, safely.

**Reading it safely.** The package ships a ``pickle`` file and reads it with ``pickle.load``; unpickling
can run any function the file names. The lab never imports or runs the package: ``locate`` finds the
file through the installed distribution's metadata and ``read_source`` reads it with
``_RecordUnpickler``, which admits the file's two record classes (mapped onto inert classes of its
own, whose class attributes cannot be changed) and refuses every other global, so a crafted file
fails with a ``TableError`` without running anything or changing the lab. The records are converted once into the lab's own pickle-free ``.npz`` in the user cache, keyed
by the package version and the file's SHA-256 (``load_arrays``); later loads read only that.

**The mapping.** The file's keys are tuples of six op indices in NASLib's encoding: ops in the order
``NASLIB_OPS`` (the order the AnalogNAS-Bench paper lists too: skip 0, zeroize 1, 3x3 conv 2, 1x1 conv
3, 3x3 average pool 4) and edges in NASLib's order ``NASLIB_EDGES`` (node by *source*: 0->1, 0->2,
0->3, 1->2, 1->3, 2->3), which is not the NB201 string's order (node by *target*). Proved with data in
``tests/test_bench_cifar10.py``: under this mapping independently trained isomorphic strings agree
(Kendall tau 0.90); with the NB201 string's edge order 0.64, with NB201's op order 0.39. Permuting the
three ops that are neither skip nor none keeps isomorphism, so two more facts decide their order: the
NB201 paper's best CIFAR-10 cell ranks 3rd of 15,625 strings under this mapping (6,589th with the two
convs swapped), and accuracy rises with parameters most under it (tau 0.57; 0.37 with 1x1 and pool
swapped).
"""
from __future__ import annotations

import hashlib
import io
import json
import math
import os
import pickle
import tempfile
import time
from importlib import metadata
from pathlib import Path

import numpy as np
import torch

from ..hardware import count_macs
from ..ranking import kendall_tau_finite
from ..spaces.nb201 import EDGES, OPS, NB201Arch, NB201Space
from ..train import count_params
from .table import TableError

PACKAGE = "analog-nasbench"
INSTALL = f"pip install {PACKAGE}"
SOURCE_FILE = "analognasbench/data.anb"
FORMAT = 1
"""Version of the cache's layout and of what ``convert`` computes into it (bump it with any change there:
the cache key holds the package version and the file's hash, not the lab's code); another format is rebuilt."""
MAX_SOURCE_BYTES = 64 * 2 ** 20
"""The published file is 5.6 MB; anything far larger is refused before it is read."""

NASLIB_OPS = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
NASLIB_EDGES = ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))

SECONDS = {"1min": 60, "1h": 3600, "1d": 86400, "1mo": 2592000}
# name -> (attribute of the source record, what it is). Accuracies in %, CIFAR-10 test set.
METRICS = {
    "test_acc": ("baseline_accuracy", "digital fp32 network, test accuracy (mean of 25 passes)"),
    "ptq_acc": ("ptq_accuracy", "after post-training quantization"),
    "qat_acc": ("qat_accuracy", "after quantization-aware training"),
    "noisy_acc": ("noisy_accuracy", "the digitally trained network on simulated analog hardware"),
    "analog_acc": ("analog_accuracy", "hardware-aware trained, on simulated analog hardware"),
    **{f"noisy_{k}": (f"baseline_drift_{s}", f"the digitally trained network on analog hardware after {k} of drift")
       for k, s in SECONDS.items()},
    **{f"analog_{k}": (f"analog_drift_{s}", f"hardware-aware trained, on analog hardware after {k} of drift")
       for k, s in SECONDS.items()},
}
HARDWARE_METRICS = tuple(m for m in METRICS if m != "test_acc")

def op_indices_to_arch(key) -> NB201Arch:
    """The NB201 cell of one of the file's keys (six op indices, NASLib's op and edge order)."""
    ops = [None] * 6
    for (edge, k) in zip(NASLIB_EDGES, key):
        ops[EDGES.index(edge)] = NASLIB_OPS[k]
    return NB201Arch(tuple(ops))


def arch_to_op_indices(arch: NB201Arch) -> tuple:
    return tuple(NASLIB_OPS.index(arch.edge(i, j)) for i, j in NASLIB_EDGES)


def string_index(arch: NB201Arch) -> int:
    """Position of ``arch`` in ``NB201Space.enumerate()`` (base-5 digits in OPS order): the table's row."""
    i = 0
    for op in arch.ops:
        i = i * len(OPS) + OPS.index(op)
    return i


# ---------------------------------------------------------------------- reading the source safely
class _Refused(pickle.UnpicklingError):
    """The file names something the restricted unpickler does not admit."""


class _Sealed(type):
    """Metaclass of the stand-ins: their class attributes cannot be set or deleted.

    Why: a crafted pickle can push an admitted class itself and BUILD it, and pickle's slot state then
    calls ``setattr`` on the class; the file is refused afterwards, but the class would stay changed for
    the rest of the process (and every later read). Instances stay writable: that is how records load.
    """

    def __setattr__(cls, name, value):
        raise _Refused(f"it sets the attribute {name!r} of a record class")

    def __delattr__(cls, name):
        raise _Refused(f"it deletes the attribute {name!r} of a record class")


class _SourceRecord(metaclass=_Sealed):
    """Inert stand-in for ``analognasbench.data.Architecture``: the unpickler fills its ``__dict__``."""


class _SourceDrift(metaclass=_Sealed):
    """Inert stand-in for ``analognasbench.data.DriftMeasurement`` (``value``, ``uncertainty``)."""


class _RecordUnpickler(pickle.Unpickler):
    """The "restricting globals" recipe of the ``pickle`` docs: only the file's two record classes, and
    those mapped onto inert classes with no code of their own; every other global is refused."""

    ALLOWED = {("analognasbench.data", "Architecture"): _SourceRecord,
               ("analognasbench.data", "DriftMeasurement"): _SourceDrift}

    def find_class(self, module, name):
        try:
            return self.ALLOWED[(module, name)]
        except KeyError:
            raise _Refused(f"it names the global {module}.{name}, which the lab refuses to load "
                                         f"(only AnalogNAS-Bench's record classes are admitted)") from None

    def persistent_load(self, pid):
        raise _Refused("it uses persistent ids, which AnalogNAS-Bench's file does not")


def read_source(path) -> dict:
    """{op-index tuple: record} from an AnalogNAS-Bench file, read without running anything it names."""
    path = Path(path)
    size = path.stat().st_size
    if size > MAX_SOURCE_BYTES:
        raise TableError(f"{path} is {size:,} bytes; AnalogNAS-Bench's file is about 5.6 MB: refused")
    raw = path.read_bytes()
    try:
        data = _RecordUnpickler(io.BytesIO(raw)).load()
    except _Refused as exc:
        raise TableError(f"refused to read {path}: {exc}") from None
    except Exception as exc:          # truncated or foreign bytes raise anything from EOFError to KeyError
        raise TableError(f"{path} is not an AnalogNAS-Bench data file ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0] if str(exc) else 'unreadable'})") from None
    if not isinstance(data, dict) or not data:
        raise TableError(f"{path} is not an AnalogNAS-Bench data file (expected a dict of records)")
    for key, rec in data.items():
        if (not isinstance(key, tuple) or len(key) != 6 or not all(type(k) is int and 0 <= k < 5 for k in key)
                or not isinstance(rec, _SourceRecord)):
            raise TableError(f"{path} is not an AnalogNAS-Bench data file (a key {str(key)[:40]} or its record "
                             f"is not of the published form)")
    return data


def _value(rec, attr: str) -> tuple[float, float]:
    """(value, uncertainty) of one metric: a float, or a drift record 'value ± uncertainty'."""
    v = getattr(rec, attr, None)
    if isinstance(v, _SourceDrift):
        return _number(getattr(v, "value", None)), _number(getattr(v, "uncertainty", None))
    return _number(v), math.nan


def _number(v) -> float:
    """A finite float, or NaN for anything else (a missing, foreign or absurd value is no measurement)."""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        try:
            x = float(v)
        except OverflowError:
            return math.nan
        return x if math.isfinite(x) else math.nan
    return math.nan


def locate() -> tuple[Path, str]:
    """(data file, package version) of the installed ``analog-nasbench`` distribution, found through its
    metadata (never by importing it)."""
    try:
        dist = metadata.distribution(PACKAGE)
    except metadata.PackageNotFoundError:
        raise TableError(f"the CIFAR-10 table needs the AnalogNAS-Bench data: {INSTALL}") from None
    path = Path(str(dist.locate_file(SOURCE_FILE)))
    if not path.is_file():
        raise TableError(f"{PACKAGE} {dist.version} is installed but its data file {SOURCE_FILE} is missing; "
                         f"reinstall it: pip install --force-reinstall {PACKAGE}")
    return path, dist.version


def cache_dir() -> Path:
    # why ``or``: an empty variable means "unset", not the current folder (the source tree, run from a checkout)
    base = os.environ.get("NASBENCH_LAB_CACHE") or \
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "nasbench_lab"
    return Path(base).expanduser()


def convert(source: Path, version: str, sha256: str) -> dict:
    """The lab's arrays from the source file: one row per NB201 string, in ``enumerate()`` order."""
    data = read_source(source)
    space = NB201Space()
    n = space.size()
    arrays = {m: np.full(n, np.nan, np.float32) for m in METRICS}
    arrays.update({f"{m}_std": np.full(n, np.nan, np.float32) for m in METRICS if METRICS[m][0].count("drift")})
    for key, rec in data.items():
        i = string_index(op_indices_to_arch(key))
        for m, (attr, _) in METRICS.items():
            v, u = _value(rec, attr)
            arrays[m][i] = v
            if f"{m}_std" in arrays:
                arrays[f"{m}_std"][i] = u
    unique = space.unique()
    cls = {a: k for k, a in enumerate(unique)}
    archs = list(space.enumerate())
    arrays["cell"] = np.array([cls[space.canonical(a)] for a in archs], np.int32)
    # Params and MACs (NB201 convention: C=16, N=5, 3x32x32, edges into dead nodes counted) are additive
    # in the edges' ops (every cell of a stage has the same width), so five networks give all 15,625;
    # tests/test_bench_cifar10.py checks the sums against networks built from random strings.
    base_arch = NB201Arch(("none",) * 6)

    def measure(arch):
        with torch.random.fork_rng(devices=[]):
            net = space.build(arch, in_channels=3, num_classes=10, C=16, N=5)
        return count_params(net), count_macs(net, (3, 32, 32), dead_edges=True)
    p0, m0 = measure(base_arch)
    per_op = {op: tuple(x - y for x, y in zip(measure(NB201Arch((op,) + ("none",) * 5)), (p0, m0)))
              for op in OPS if op != "none"}
    params = np.full(n, p0, np.int64)
    macs = np.full(n, m0, np.int64)
    for i, a in enumerate(archs):
        for op in a.ops:
            if op != "none":
                params[i] += per_op[op][0]
                macs[i] += per_op[op][1]
    arrays["params"], arrays["macs"] = params, macs
    meta = {"format": FORMAT, "package": PACKAGE, "version": version, "sha256": sha256, "records": len(data),
            "converted": time.strftime("%Y-%m-%d %H:%M:%S"), "source": str(source)}
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    return arrays


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_arrays(source: Path | None = None, version: str | None = None, cache: Path | None = None,
                rebuild: bool = False) -> tuple[dict, dict, Path]:
    """(arrays, meta, cache path): the cached conversion when it matches the source, else a new one.

    A cache that is damaged, of another format or of another source (version or hash) is rebuilt and
    replaced; one that cannot be written is kept in memory for this session only."""
    if source is None:
        source, version = locate()
    sha = _sha256(Path(source))
    folder = Path(cache) if cache is not None else cache_dir()
    path = folder / f"nb201_cifar10-{PACKAGE}-{version}-{sha[:12]}.npz"
    if path.exists() and not rebuild:
        got = _read_cache(path)
        if got is not None and got[1].get("sha256") == sha and got[1].get("format") == FORMAT \
                and got[1].get("version") == version:
            return got[0], got[1], path
    arrays = convert(Path(source), version, sha)
    meta = json.loads(arrays["meta"].tobytes().decode())
    tmp = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp.npz", dir=folder)
        with os.fdopen(fd, "wb") as f:
            np.savez_compressed(f, **arrays)
        os.replace(tmp, path)                      # atomic: a reader never sees half a cache
        tmp = None
    except OSError:
        pass                                        # a read-only or full cache folder: converted again next time
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
    return arrays, meta, path


def _read_cache(path: Path):
    """(arrays, meta) of a cache file, or None when it is not one (damaged, foreign, truncated)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        meta = json.loads(arrays["meta"].tobytes().decode("utf-8"))
        n = NB201Space().size()
        cells = len(NB201Space().unique())
        shaped = all(arrays[m].shape == (n,) for m in (*METRICS, "cell", "params", "macs"))
        typed = (all(arrays[m].dtype.kind == "f" for m in METRICS)
                 and all(arrays[m].dtype.kind == "i" for m in ("cell", "params", "macs")))
        if not (isinstance(meta, dict) and shaped and typed and 0 <= arrays["cell"].min()
                and arrays["cell"].max() < cells):
            return None
    except Exception:  # noqa: BLE001 - damaged bytes raise anything (zlib.error, BadZipFile, ...): rebuild
        return None
    return arrays, meta


def isomorphic_agreement(data: dict, ops=NASLIB_OPS, edges=NASLIB_EDGES, attr: str = "baseline_accuracy"):
    """(Kendall tau, classes): how well two strings of one cell agree when the file's keys are read with
    this op and edge order. Independent trainings of a cell agree (tau ~0.9) only under the right
    mapping; a wrong order puts unrelated strings in one class. The data's own proof of the mapping."""
    space = NB201Space()
    pairs: dict = {}
    for key, rec in data.items():
        o = [None] * 6
        for edge, k in zip(edges, key):
            o[EDGES.index(edge)] = ops[k]
        cls = space.expression(NB201Arch(tuple(o)))
        if len(pairs.setdefault(cls, [])) < 2:
            pairs[cls].append(_value(rec, attr)[0])
    two = [p for p in pairs.values() if len(p) == 2]
    return kendall_tau_finite([p[0] for p in two], [p[1] for p in two]), len(two)
