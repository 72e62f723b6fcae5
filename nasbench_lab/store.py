"""The experiment store: every run, evaluation and event in one SQLite file (stdlib, WAL).

A search writes as it goes, so a run interrupted in any way (the Stop button, Ctrl-C, ``kill -9``, a
crash) keeps everything it finished, and ``resume(run_id, store)`` (the driver, search.py) continues it:

* ``runs``:        one row per run: config (JSON), seed, status (running / finished / stopped / failed),
                   versions (python, torch, lab), best so far, number of evaluations;
* ``evaluations``: one row per finished evaluation, committed in its own transaction when it finishes;
* ``events``:      every other event (population snapshots, controller probabilities, epochs, ...).

Why WAL + ``synchronous=NORMAL``: each commit is an append to the write-ahead log without an fsync, so
one transaction per evaluation costs tens of microseconds, and a committed transaction survives the
death of the process (``kill -9``). Only a power failure or OS crash may lose the last commits.

How resume avoids losing or repeating work: the resumed search is rebuilt from the stored config and
seed and given the stored evaluations as ``replay``; the driver re-tells them to the strategy without
re-evaluating (their events carry ``replayed=True`` and are not stored again), so for a deterministic
estimator and the sequential driver the resumed run ends exactly where an uninterrupted one would.
Events that the strategy emits again while being replayed were stored the first time and are dropped;
events stored after the last committed evaluation (the interrupted evaluation's epochs, say) are
removed, because the resumed run produces them again.

Thread-safety: SQLite connections belong to the thread that made them, so the store keeps one per
thread (the widgets run a search in a background thread while the notebook reads the same store).

Two parts live beside this file: ``recorder.py``, the subscriber that writes a run's events as they
come, and ``storefile.py``, which refuses a path that is not a store before SQLite touches it.
"""
from __future__ import annotations

import csv
import json
import os
import platform
import socket
import sqlite3
import threading
import time
from pathlib import Path
from urllib.parse import quote

import torch

from .estimators import Evaluation
from .events import Event
from .recorder import LIFECYCLE, Recorder, json_default, dumps
from .spaces import get_space
from .storefile import StoreError, check_file, sql_errors, sqlite_message
from .version import __version__

METRIC_COLUMNS = ("params", "macs", "flops", "latency_ms")
#: ``PRAGMA application_id`` of a nasbench_lab store ("NASL"): how the store knows a file is its own.
APPLICATION_ID = 0x4E41534C
_TABLES = {"runs": {"run_id", "status", "config", "evaluations"}, "evaluations": {"run_id", "idx", "arch", "val_acc"},
           "events": {"run_id", "kind", "payload"}}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, created REAL, updated REAL, status TEXT, space TEXT, strategy TEXT,
    estimator TEXT, seed INTEGER, budget INTEGER, config TEXT, versions TEXT, attempts INTEGER,
    pid INTEGER, host TEXT, evaluations INTEGER DEFAULT 0, best_arch TEXT, best_val_acc REAL,
    best_test_acc REAL, best_objective REAL, error TEXT);
CREATE TABLE IF NOT EXISTS evaluations (
    run_id TEXT, idx INTEGER, arch TEXT, val_acc REAL, test_acc REAL, cost REAL, objective REAL,
    metrics TEXT, time REAL, attempt INTEGER, PRIMARY KEY (run_id, idx));
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT, attempt INTEGER, seq INTEGER, kind TEXT,
    time REAL, after INTEGER, payload TEXT);
CREATE INDEX IF NOT EXISTS events_by_run ON events (run_id, kind);
"""


def versions() -> dict:
    return {"python": platform.python_version(), "torch": torch.__version__, "nasbench_lab": __version__,
            "platform": platform.platform()}


class Store:
    """An SQLite experiment store at ``path`` (``":memory:"`` for a throwaway one).

    ``readonly``: open an existing store for reading only (``runs``/``show``; works on read-only files
    and never creates one). A file that is not a store (another program's database, a text file, a
    damaged database) raises StoreError and is left untouched.
    """

    timeout = 30.0
    """Seconds a connection waits for another process's write lock before the write fails."""

    def __init__(self, path, readonly: bool = False):
        if not isinstance(path, (str, os.PathLike)):
            raise StoreError(f"store must be a path, got {type(path).__name__}")
        self.path = str(path)
        self.readonly = bool(readonly)
        self._memory = self.path == ":memory:"
        self._uri = f"file:nasbench_lab_{id(self)}?mode=memory&cache=shared" if self._memory else None
        self._local = threading.local()
        self._all: list = []                   # every thread's connection, so close() can close them all
        self._all_lock = threading.Lock()
        self._active: set = set()              # run ids being recorded by this object right now
        if not self._memory:
            check_file(Path(self.path), self.readonly)
        try:
            self._conn()                       # check / create the schema now (and keep a memory database alive)
        except sqlite3.Error as exc:
            self.close()
            raise StoreError(f"store {self.path}: {sqlite_message(exc)}") from None

    # ------------------------------------------------------------------ connections
    def _connect(self) -> sqlite3.Connection:
        """A new connection (check_same_thread off: the owner serialises its use)."""
        if self._memory:
            conn = sqlite3.connect(self._uri, uri=True, check_same_thread=False, timeout=self.timeout)
        elif self.readonly:
            conn = sqlite3.connect(f"file:{quote(os.path.abspath(self.path))}?mode=ro", uri=True,
                                   check_same_thread=False, timeout=self.timeout)
        else:
            conn = sqlite3.connect(self.path, check_same_thread=False, timeout=self.timeout)
        try:
            self._adopt(conn)
        except BaseException:
            conn.close()
            raise
        with self._all_lock:
            self._all.append(conn)
        return conn

    def _adopt(self, conn: sqlite3.Connection) -> None:
        """Check that the database is a store (or empty), then set it up; never writes into a foreign one."""
        app = conn.execute("PRAGMA application_id").fetchone()[0]
        tables = {name: {c[1] for c in conn.execute(f"PRAGMA table_info('{name}')")}
                  for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
                  if not name.startswith("sqlite_")}
        ours = app == APPLICATION_ID or (app == 0 and tables and all(
            need <= tables.get(t, set()) for t, need in _TABLES.items()))          # a store of lab 0.1
        if not ours and (app != 0 or tables):
            what = f"application id {app:#x}" if app else f"tables: {', '.join(sorted(tables)[:6])}"
            raise StoreError(f"{self.path} is an SQLite database of another program ({what}), not a nasbench_lab "
                             f"store; nothing was changed")
        if self.readonly:
            if not tables:
                raise StoreError(f"{self.path} is an empty database, not a nasbench_lab store")
            return
        if not self._memory:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
        conn.executescript(_SCHEMA)
        if app != APPLICATION_ID:
            conn.execute(f"PRAGMA application_id={APPLICATION_ID}")

    def _release(self, conn) -> None:
        with self._all_lock:
            if conn in self._all:
                self._all.remove(conn)
        conn.close()

    def _conn(self) -> sqlite3.Connection:
        """This thread's connection (SQLite connections are per thread)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    def close(self) -> None:
        with self._all_lock:
            for conn in self._all:
                try:
                    conn.close()
                except sqlite3.ProgrammingError:
                    pass
            self._all.clear()
        self._local = threading.local()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------------ writing
    @sql_errors
    def attach(self, bus, config: dict, replayed: int = 0) -> Recorder:
        """Record the run of ``bus`` (new, or resumed when it exists and ``replayed`` evaluations are re-told)."""
        run_id = bus.run_id
        conn = self._conn()
        row = conn.execute("SELECT evaluations, attempts, best_objective FROM runs WHERE run_id=?", (run_id,)).fetchone()
        now = time.time()
        with conn:
            if row is None:
                if replayed:
                    raise StoreError(f"cannot replay {replayed} evaluations into the new run {run_id!r}")
                conn.execute("INSERT INTO runs (run_id, created, updated, status, space, strategy, estimator, seed,"
                             " budget, config, versions, attempts, pid, host, evaluations) VALUES"
                             " (?,?,?,?,?,?,?,?,?,?,?,?,?,?,0)",
                             (run_id, now, now, "running", config.get("space"), config.get("strategy"),
                              config.get("estimator"), config.get("seed"), config.get("budget"), dumps(config),
                              dumps(versions()), 1, os.getpid(), socket.gethostname()))
                stored, attempt, best = 0, 1, None
            else:
                stored, attempts, best = row
                if replayed != stored:
                    raise StoreError(f"run {run_id!r} already has {stored} evaluations; continue it with "
                                     f"resume({run_id!r}, store) instead of starting it again")
                attempt = attempts + 1
                conn.execute("UPDATE runs SET status='running', updated=?, attempts=?, pid=?, host=?, budget=?,"
                             " config=?, error=NULL WHERE run_id=?",
                             (now, attempt, os.getpid(), socket.gethostname(), config.get("budget"), dumps(config),
                              run_id))
                # Events after the last committed evaluation belong to the interrupted one: dropped,
                # the resumed run emits them again.
                conn.execute("DELETE FROM events WHERE run_id=? AND after>=? AND kind NOT IN (?,?,?)",
                             (run_id, stored, *LIFECYCLE))
        rec = Recorder(self, run_id, attempt, stored, replayed, best)
        self._active.add(run_id)
        bus.subscribe(rec, critical=True)          # an event it cannot write stops the run (events.py)
        return rec

    # ------------------------------------------------------------------ reading
    @sql_errors
    def resolve(self, run_id: str) -> str:
        """The full run id for ``run_id`` or a unique prefix of one."""
        if not isinstance(run_id, str) or not run_id.strip():
            raise StoreError("a run id is needed (`nasbench-lab runs` lists them); an empty one names no run")
        conn = self._conn()
        if conn.execute("SELECT 1 FROM runs WHERE run_id=?", (run_id,)).fetchone():
            return run_id
        ids = [r[0] for r in conn.execute("SELECT run_id FROM runs WHERE run_id LIKE ? ESCAPE '\\'",
                                          (run_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%",))]
        if len(ids) == 1:
            return ids[0]
        if not ids:
            raise StoreError(f"no run {run_id!r} in store {self.path}")
        raise StoreError(f"run id {run_id!r} is ambiguous in store {self.path}: {', '.join(ids[:5])}")

    def _run_dict(self, r) -> dict:
        keys = ("run_id", "created", "updated", "status", "space", "strategy", "estimator", "seed", "budget", "config",
                "versions", "attempts", "pid", "host", "evaluations", "best_arch", "best_val_acc", "best_test_acc",
                "best_objective", "error")
        d = dict(zip(keys, r))
        d["config"], d["versions"] = json.loads(d["config"] or "{}"), json.loads(d["versions"] or "{}")
        d["best"] = None if d["best_arch"] is None else {"arch": d["best_arch"], "val_acc": d["best_val_acc"],
                                                          "test_acc": d["best_test_acc"],
                                                          "objective": d["best_objective"]}
        return d

    @sql_errors
    def runs(self) -> list[dict]:
        """Every run, oldest first (dicts with run_id, status, space, strategy, estimator, evaluations, best...)."""
        return [self._run_dict(r) for r in self._conn().execute("SELECT * FROM runs ORDER BY created, run_id")]

    @sql_errors
    def run(self, run_id: str) -> dict:
        run_id = self.resolve(run_id)
        return self._run_dict(self._conn().execute("SELECT * FROM runs WHERE run_id=?", (run_id,)).fetchone())

    @sql_errors
    def evaluation_rows(self, run_id: str) -> list[dict]:
        """Evaluations with their store columns (idx, objective, time, attempt), in the order they finished."""
        run_id = self.resolve(run_id)
        cur = self._conn().execute("SELECT idx, arch, val_acc, test_acc, cost, objective, metrics, time, attempt "
                                   "FROM evaluations WHERE run_id=? ORDER BY idx", (run_id,))
        keys = ("idx", "arch", "val_acc", "test_acc", "cost", "objective", "metrics", "time", "attempt")
        rows = [dict(zip(keys, r)) for r in cur]
        for r in rows:
            r["metrics"] = json.loads(r["metrics"] or "{}")
        return rows

    @sql_errors
    def evaluations(self, run_id: str, space=None) -> list[Evaluation]:
        """The run's evaluations in the order they finished, each architecture parsed back into its value by
        ``space`` (a space or its name; default: the space the run's config names). The stored strings
        themselves are in ``evaluation_rows``."""
        rows = self.evaluation_rows(run_id)
        sp = get_space(space if space is not None else self.run(run_id)["config"].get("space", "nb201"))
        return [Evaluation(sp.from_str(r["arch"]), r["val_acc"], r["test_acc"], r["cost"], r["metrics"])
                for r in rows]

    @sql_errors
    def events(self, run_id: str, kind: str | None = None) -> list[Event]:
        """Stored events (every kind but ``evaluation``, which lives in ``evaluations``), in arrival order."""
        run_id = self.resolve(run_id)
        sql = "SELECT kind, payload, seq, time FROM events WHERE run_id=?"
        args: tuple = (run_id,)
        if kind is not None:
            sql, args = sql + " AND kind=?", (run_id, kind)
        return [Event(k, json.loads(p), run_id, s, t) for k, p, s, t in self._conn().execute(sql + " ORDER BY id", args)]

    # ------------------------------------------------------------------ export / import
    @sql_errors
    def export(self, run_id: str, path, fmt: str | None = None) -> Path:
        """Write the run to ``path`` as CSV (evaluations) or JSON (run, evaluations, events)."""
        path = Path(path)
        fmt = (fmt or path.suffix.lstrip(".")).lower()
        if path.is_dir():
            raise StoreError(f"export path {path} is a directory; give a file name ending in .csv or .json")
        if fmt not in ("csv", "json"):
            raise StoreError(f"unknown export format {fmt!r}; use csv or json (from the file suffix or fmt=)")
        if not path.parent.is_dir():
            raise StoreError(f"cannot export to {path}: the folder {path.parent} does not exist")
        run = self.run(run_id)
        rows = self.evaluation_rows(run["run_id"])
        try:
            return self._write_export(path, fmt, run, rows)
        except OSError as exc:
            raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from None

    def _write_export(self, path: Path, fmt: str, run: dict, rows: list) -> Path:
        if fmt == "csv":
            with open(path, "w", newline="") as f:
                w = csv.writer(f)
                w.writerow(["idx", "arch", "val_acc", "test_acc", "cost", "objective", *METRIC_COLUMNS, "time",
                            "metrics"])
                for r in rows:
                    m = r["metrics"]
                    w.writerow([r["idx"], r["arch"], r["val_acc"], r["test_acc"], r["cost"], r["objective"],
                                *[m.get(k) for k in METRIC_COLUMNS], r["time"], dumps(m)])
        elif fmt == "json":
            doc = {"format": "nasbench_lab.run/1", "run": run, "evaluations": rows,
                   "events": [e.to_dict() for e in self.events(run["run_id"])]}
            path.write_text(json.dumps(doc, default=json_default, indent=1))
        return path

    @sql_errors
    def import_json(self, path) -> str:
        """Load a run exported with ``export(..., 'json')``; returns its run id."""
        try:
            doc = json.loads(Path(path).read_text())
            run = doc["run"]
            if doc.get("format") != "nasbench_lab.run/1":
                raise KeyError("format")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise StoreError(f"{path}: not a nasbench_lab run export ({type(exc).__name__}: {exc})") from None
        conn = self._conn()
        if conn.execute("SELECT 1 FROM runs WHERE run_id=?", (run["run_id"],)).fetchone():
            raise StoreError(f"run {run['run_id']!r} is already in store {self.path}")
        with conn:
            conn.execute("INSERT INTO runs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                         (run["run_id"], run["created"], run["updated"], run["status"], run["space"], run["strategy"],
                          run["estimator"], run["seed"], run["budget"], dumps(run["config"]), dumps(run["versions"]),
                          run["attempts"], run["pid"], run["host"], run["evaluations"], run["best_arch"],
                          run["best_val_acc"], run["best_test_acc"], run["best_objective"], run["error"]))
            conn.executemany("INSERT INTO evaluations VALUES (?,?,?,?,?,?,?,?,?,?)",
                             [(run["run_id"], r["idx"], r["arch"], r["val_acc"], r["test_acc"], r["cost"],
                               r["objective"], dumps(r["metrics"]), r["time"], r["attempt"])
                              for r in doc["evaluations"]])
            conn.executemany("INSERT INTO events (run_id, attempt, seq, kind, time, after, payload) "
                             "VALUES (?,?,?,?,?,?,?)",
                             [(run["run_id"], None, e["seq"], e["kind"], e["time"], None, dumps(e["payload"]))
                              for e in doc["events"]])
        return run["run_id"]


#: Where the command line records runs when neither ``--store`` nor ``$NASBENCH_LAB_STORE`` names a file:
#: this name in the working directory. Why there and not in a user data folder: it is the convention of
#: experiment trackers (MLflow's ./mlruns, TensorBoard's ./runs, W&B's ./wandb): runs live beside the
#: work that made them, a plain ``ls`` shows the file, a notebook started in the same folder finds it,
#: and deleting a project deletes its runs. A hidden per-user folder would mix every project's runs in
#: one file that a newcomer would never come across.
DEFAULT_STORE = "nasbench_runs.sqlite"


def default_store_path() -> tuple[str, bool]:
    """The store the command line uses when no ``--store`` is given, and whether a person named it:
    ``($NASBENCH_LAB_STORE, True)`` when that variable is set, else ``(DEFAULT_STORE, False)``."""
    env = os.environ.get("NASBENCH_LAB_STORE")
    return (env, True) if env else (DEFAULT_STORE, False)


def open_store(path_or_store, readonly: bool = False) -> Store:
    """A ``Store`` for a path (created when missing, unless ``readonly``), or the store itself."""
    if isinstance(path_or_store, Store):
        return path_or_store
    if not isinstance(path_or_store, (str, os.PathLike)):
        raise StoreError(f"store must be a path or a Store, got {type(path_or_store).__name__}")
    return Store(path_or_store, readonly=readonly)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


__all__ = ["APPLICATION_ID", "DEFAULT_STORE", "Recorder", "Store", "StoreError", "default_store_path", "open_store",
           "versions"]
