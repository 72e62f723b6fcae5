"""The shipped tabular benchmark: file format, merge, and the query API.

File format (no pickle): one compressed NumPy ``.npz`` read with ``allow_pickle=False``. Arrays:

``archs``                   the 6,466 canonical NB201 strings (unicode array), row order of every array
``meta``                    UTF-8 JSON (as uint8): protocols, build figures, device, date
``<setting>.val_curve``     float32 [archs, seeds, epochs]: validation accuracy (%) after each epoch
``<setting>.test_acc``      float32 [archs, seeds]: test accuracy (%) after the last epoch
``<setting>.train_loss``    float32 [archs, seeds]
``<setting>.seconds``       float32 [archs, seeds]: measured training seconds (the simulated cost)
``<setting>.params``        int64 [archs];  ``<setting>.flops`` int64 [archs] (forward FLOPs per image)
``latency_ms``              float32 [archs]: batch-1 forward latency of the full-setting network
Missing values are NaN (a partial build is still a valid, smaller table; ``info`` reports coverage).
"""
from __future__ import annotations

import json
import time
import warnings
import zipfile
from importlib import resources
from pathlib import Path

import numpy as np

from ..errors import TableError
from ..ranking import kendall_tau
from ..spaces.nb201 import NB201Arch, NB201Space
from .protocol import Protocol, get_protocol

TABLE_NAME = "nb201_fmnist.npz"


def as_arch(space: NB201Space, arch) -> NB201Arch:
    """``arch`` as an NB201Arch: the value itself, or a published string parsed. Why the tables take both:
    their query API is where strings arrive from the command line and data files (``bench query``, race
    records), while the library hands them the value."""
    return space.check(arch) if isinstance(arch, NB201Arch) else space.from_str(arch)


def default_path() -> Path:
    """The table shipped inside the package (works for editable and regular installs)."""
    return Path(str(resources.files("nasbench_lab.bench") / "data" / TABLE_NAME))


COSTS = ("params", "macs", "macs_live", "flops")
"""Integer cost arrays per setting (-1 where unknown); ``latency_ms`` is float (NaN where unknown)."""


def read_jsonl(path) -> list[dict]:
    """The JSON lines of ``path`` ([] when it does not exist); a torn last line from a kill is ignored."""
    rows = []
    if Path(path).exists():
        for line in Path(path).read_text().splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return rows


def read_records(out_dir) -> list[dict]:
    """Every record in the shard files of the build folder ``out_dir`` (``builder`` writes them)."""
    return [r for path in sorted(Path(out_dir).glob("shard-*.jsonl")) for r in read_jsonl(path)]


def merge(out_dirs, path=None, settings=None, extra_meta: dict | None = None, default: str | None = None) -> Path:
    """Collect the shard records and cost files of one or more build folders into one table file.

    ``out_dirs``: a folder or a list of them (the laptop build and the GPU build go into one table, one
    setting each). ``default``: the setting queries use when none is named (else laptop, then full,
    then the first one).
    """
    dirs = [Path(d) for d in ([out_dirs] if isinstance(out_dirs, (str, Path)) else out_dirs)]
    space = NB201Space()
    unique = space.unique()
    recs, sources = [], {}
    for d in dirs:
        for r in read_records(d):
            recs.append(r)
            sources.setdefault(r["setting"], str(d))
    if not recs:
        raise TableError(f"no build records in {', '.join(map(str, dirs))} (shard-*.jsonl files); "
                         f"run `nasbench-lab bench build --out FOLDER` first")
    settings = list(settings or sorted({r["setting"] for r in recs}))
    arrays: dict[str, np.ndarray] = {"archs": np.array([str(a) for a in unique])}
    meta = {"protocols": {}, "built": time.strftime("%Y-%m-%d %H:%M:%S"), "sources": sources,
            **(extra_meta or {})}
    if default is None:
        default = next((s for s in ("laptop", "full") if s in settings), settings[0] if settings else None)
    if default is not None and default not in settings:
        raise TableError(f"default setting {default!r} is not among the merged settings {settings}")
    meta["default_setting"] = default
    A = len(unique)
    for s in settings:
        p = get_protocol(s)
        seeds = list(p.seeds)
        meta["protocols"][s] = p.to_dict()
        curve = np.full((A, len(seeds), p.epochs), np.nan, np.float32)
        test, loss, secs = (np.full((A, len(seeds)), np.nan, np.float32) for _ in range(3))
        costs = {c: np.full(A, -1, np.int64) for c in COSTS}
        lat = np.full(A, np.nan, np.float32)
        graphs = 0

        def take(r, i):
            for c in COSTS:
                if r.get(c, -1) is not None and r.get(c, -1) >= 0:     # older records: flops -1 on seed 1
                    costs[c][i] = r[c]
            if r.get("latency_ms") is not None:
                lat[i] = r["latency_ms"]
                meta.setdefault("latency_device", {})[s] = r.get("latency_device")

        for r in recs:
            if r.get("setting") != s or r["seed"] not in seeds:
                continue
            i, k = r["index"], seeds.index(r["seed"])
            c = r["val_curve"][:p.epochs]
            curve[i, k, :len(c)] = c
            test[i, k] = np.nan if r["test_acc"] is None else r["test_acc"]
            loss[i, k], secs[i, k] = r["train_loss"], r["seconds"]
            take(r, i)
            graphs += bool(r.get("cuda_graph"))
        for d in dirs:                                   # a separate costs pass wins over the records
            for r in read_jsonl(d / f"costs-{s}.jsonl"):
                take(r, r["index"])
        arrays.update({f"{s}.val_curve": curve, f"{s}.test_acc": test, f"{s}.train_loss": loss,
                       f"{s}.seconds": secs, f"{s}.latency_ms": lat, **{f"{s}.{c}": v for c, v in costs.items()}})
        meta.setdefault("records", {})[s] = int(np.isfinite(test).sum())
        meta.setdefault("cuda_graph_records", {})[s] = graphs
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    path = Path(path) if path else default_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)
    return path


class BenchTable:
    """Query the tabular benchmark: any of the 15,625 NB201 strings, by setting, epoch and seed."""

    def __init__(self, path=None):
        path = Path(path) if path else default_path()
        if path.is_dir():
            raise TableError(f"benchmark table path {path} is a directory; give the .npz file")
        if not path.is_file():
            raise TableError(f"benchmark table not found at {path}; build one with `nasbench-lab bench build` "
                             f"(a laptop CPU builds the laptop setting in an afternoon) or pass the path of one")
        with open(path, "rb") as f:
            head = f.read(4)
        if head != b"PK\x03\x04":
            # Why check first: np.load guesses the format from the bytes and, for anything that is not
            # .npy/.npz, says "contains pickled data", which would send the user looking for a pickle.
            raise TableError(f"{path} is not a benchmark table (not an .npz file); rebuild it with "
                             f"`nasbench-lab bench merge`")
        try:
            with np.load(path, allow_pickle=False) as z:
                self._a = {k: z[k] for k in z.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            raise TableError(f"cannot read benchmark table {path}: {str(exc).splitlines()[0]}") from None
        self.path = path
        missing = [k for k in ("meta", "archs") if k not in self._a]
        if missing:
            raise TableError(f"{path} is not a benchmark table: it has no {' and no '.join(missing)} array")
        try:
            self.meta = json.loads(self._a["meta"].tobytes().decode("utf-8"))
            if not isinstance(self.meta, dict) or not isinstance(self.meta.get("protocols"), dict):
                raise ValueError("no protocols")
        except (UnicodeDecodeError, ValueError) as exc:
            raise TableError(f"{path}: the table's metadata is damaged ({type(exc).__name__}); rebuild the table") from None
        if not self.meta["protocols"]:
            raise TableError(f"{path} holds no benchmark setting")
        self.archs = [str(a) for a in self._a["archs"]]
        self._row = {a: i for i, a in enumerate(self.archs)}
        self._row_of: dict[NB201Arch, int] = {}      # arch value -> row, filled as asked
        self.space = NB201Space()
        self._protocols: dict[str, Protocol] = {}

    # ------------------------------------------------------------------ basics
    @property
    def settings(self) -> list[str]:
        return list(self.meta["protocols"])

    @property
    def default_setting(self) -> str:
        """The setting answered when none is named (the CPU-built ``laptop`` one in the shipped table)."""
        d = self.meta.get("default_setting")
        return d if d in self.meta["protocols"] else self.settings[0]

    def protocol(self, setting: str | None = None) -> Protocol:
        setting = setting or self.default_setting
        if setting not in self._protocols:
            self._check_setting(setting)
            self._protocols[setting] = Protocol.from_dict(self.meta["protocols"][setting])
        return self._protocols[setting]

    def _check_setting(self, setting):
        if setting not in self.meta["protocols"]:
            raise TableError(f"setting {setting!r} is not in this table; it has: {', '.join(self.settings)}")

    def row(self, arch) -> int:
        """Row of ``arch`` (an NB201Arch or its string, any of the 15,625: mapped through ``canonical``)."""
        a = as_arch(self.space, arch)
        # Why a memo by value: races query the same few thousand cells millions of times; a known value
        # costs one dict lookup, with no string made or parsed.
        i = self._row_of.get(a)
        if i is None:
            i = self._row_of[a] = self._row[str(self.space.canonical(a))]
        return i

    def array(self, name: str, setting: str | None = None) -> np.ndarray:
        key = f"{setting or self.default_setting}.{name}"
        if key not in self._a and name in self._a:        # tables of the first format: one latency array
            key = name
        if key not in self._a:
            raise TableError(f"no array {key!r} in the table")
        return self._a[key]

    # ------------------------------------------------------------------ queries
    def query(self, arch, setting: str | None = None, seed: int | None = None, epoch: int | None = None) -> dict:
        """One architecture's record. seed None: mean over seeds; epoch None: the last (1-based)."""
        setting = setting or self.default_setting
        p = self.protocol(setting)
        i = self.row(arch)
        seeds = list(p.seeds)
        if seed is not None and seed not in seeds:
            raise TableError(f"seed {seed} not in the table; seeds are {seeds}")
        if epoch is not None and not 1 <= epoch <= p.epochs:
            raise TableError(f"epoch must be between 1 and {p.epochs}, got {epoch}")
        ks = [seeds.index(seed)] if seed is not None else list(range(len(seeds)))
        # Plain Python on one row: a query must cost microseconds (races make hundreds of thousands).
        curves = self.array("val_curve", setting)[i].tolist()             # [seeds][epochs]
        secs = self.array("seconds", setting)[i].tolist()
        test = self.array("test_acc", setting)[i].tolist()
        e = (epoch or p.epochs) - 1
        # Why the fastest of the seeds' measured times, whatever seed is asked: the build shares its
        # machine, and a pause or a busy moment makes one measurement far too long (never too short), so
        # the lowest is the best estimate of what training the cell costs. Seeds do not change the work.
        cost = min((v for v in secs if v == v), default=None)
        return {"arch": arch if isinstance(arch, str) else str(arch), "canonical": self.archs[i],
                "setting": setting, "seed": seed, "epoch": e + 1,
                "val_acc": _mean([curves[k][e] for k in ks]),
                "test_acc": _mean([test[k] for k in ks]) if epoch in (None, p.epochs) else None,
                "val_curve": [_mean([curves[k][j] for k in ks]) for j in range(p.epochs)],
                "train_loss": _mean([float(self.array("train_loss", setting)[i, k]) for k in ks]),
                **{c: self._cost(c, setting, i) for c in ("params", "macs", "macs_live", "flops")},
                "latency_ms": _mean([float(self.array("latency_ms", setting)[i])]),
                # simulated cost: the measured training time, pro rata for an earlier epoch
                "cost": None if cost is None else cost * (e + 1) / p.epochs}

    def _cost(self, name: str, setting: str, i: int) -> int | None:
        key = f"{setting}.{name}"
        if key not in self._a:
            return None
        v = int(self._a[key][i])
        return None if v < 0 else v

    def scores(self, setting: str | None = None, metric: str = "val_acc", seed: int | None = None) -> np.ndarray:
        """One number per canonical architecture (NaN where missing)."""
        setting = setting or self.default_setting
        with np.errstate(all="ignore"), _quiet():
            if metric == "val_acc":
                v = self.array("val_curve", setting)[:, :, -1]
            elif metric in ("test_acc", "train_loss", "seconds"):
                v = self.array(metric, setting)
            else:
                raise TableError(f"unknown metric {metric!r}; use val_acc, test_acc, train_loss or seconds")
            if seed is None:
                return np.nanmean(v, axis=1)
            return v[:, list(self.protocol(setting).seeds).index(seed)]

    def best(self, setting: str | None = None, metric: str = "val_acc") -> dict:
        s = self.scores(setting, metric)
        return self.query(self.archs[int(np.nanargmax(s))], setting)

    def info(self) -> dict:
        """Per setting: protocol, coverage, best cell, spread, the noise floor (seed vs seed Kendall tau);
        between settings: each proxy against its target, and the default setting against the others
        on the cells both have (the CPU table against the GPU records)."""
        out = {"path": str(self.path), "architectures": len(self.archs), "default_setting": self.default_setting,
               "settings": {}, "meta": {k: v for k, v in self.meta.items() if k != "protocols"}, "agreement": []}
        for s in self.settings:
            p = self.protocol(s)
            test = self.scores(s, "test_acc")
            ok = np.isfinite(test)
            per_seed = [int(np.isfinite(self.scores(s, "test_acc", k)).sum()) for k in p.seeds]
            d = {"protocol": p.to_dict(), "covered": int(ok.sum()), "covered_per_seed": per_seed}
            if ok.any():
                d["best"] = self.best(s, "val_acc")
                d["test_acc"] = _spread(test)
                d["val_acc"] = _spread(self.scores(s, "val_acc"))
                secs = self.scores(s, "seconds")
                d["train_seconds"] = {"median": float(np.nanmedian(secs)),
                                      "total": float(np.nansum(self.array("seconds", s)))}
                if len(p.seeds) >= 2:
                    d["tau_seed0_vs_seed1"] = self._tau((s, "test_acc", p.seeds[0]), (s, "test_acc", p.seeds[1]))
                    d["tau_seed0_vs_seed1_val"] = self._tau((s, "val_acc", p.seeds[0]), (s, "val_acc", p.seeds[1]))
            out["settings"][s] = d
        # Why proxy val vs target test: the proxy pitfall is searching on the cheap score and deploying
        # the pick, which is then judged by the target task's held-out accuracy.
        for s in self.settings:
            target = self.protocol(s).proxy_of
            if target in self.settings:
                out["agreement"].append(self._agreement((s, "val_acc"), (target, "test_acc"), "proxy"))
        main = self.default_setting
        for s in self.settings:
            if s != main and not self.protocol(s).proxy_of and not self.protocol(main).proxy_of:
                out["agreement"].append(self._agreement((main, "test_acc"), (s, "test_acc"), "setting"))
        return out

    def _tau(self, a: tuple, b: tuple) -> float | None:
        x, y = self.scores(a[0], a[1], *a[2:]), self.scores(b[0], b[1], *b[2:])
        m = np.isfinite(x) & np.isfinite(y)
        return float(kendall_tau(x[m], y[m])) if m.sum() > 2 else None

    def _agreement(self, a: tuple, b: tuple, kind: str) -> dict:
        x, y = self.scores(a[0], a[1]), self.scores(b[0], b[1])
        m = np.isfinite(x) & np.isfinite(y)
        return {"kind": kind, "a": f"{a[0]} {a[1]}", "b": f"{b[0]} {b[1]}", "cells": int(m.sum()),
                "kendall_tau": self._tau(a, b)}


def _spread(v: np.ndarray) -> dict:
    return {q: float(np.nanpercentile(v, x)) for q, x in
            (("min", 0), ("p25", 25), ("median", 50), ("p75", 75), ("max", 100))}


def _mean(values) -> float | None:
    """Mean of the finite values; None when there are none (a cell a partial build did not cover)."""
    vals = [v for v in values if v == v]                     # v == v is False only for NaN
    return sum(vals) / len(vals) if vals else None


class _quiet:
    """Silence numpy's 'mean of empty slice' warnings for rows a partial build does not cover."""

    def __enter__(self):
        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore", category=RuntimeWarning)

    def __exit__(self, *a):
        return self._w.__exit__(*a)
