"""The store's event subscriber: writes one run's evaluations and events into the SQLite store as they
come (``Store.attach`` makes one per attempt of a run; ``store.py`` explains the tables and resume).
"""
from __future__ import annotations

import dataclasses
import json
import threading
import time
from typing import TYPE_CHECKING

from .errors import StoreError
from .events import Event
from .strategies.base import rank_key

if TYPE_CHECKING:                 # why: store.py imports this module, so a runtime import would be circular
    from .store import Store

LIFECYCLE = ("run_started", "run_finished", "run_failed")


def json_default(o):
    """JSON for what the events carry besides plain values: dataclasses, numpy/torch scalars, sets, tuples."""
    if dataclasses.is_dataclass(o) and not isinstance(o, type):
        return dataclasses.asdict(o)
    if hasattr(o, "item"):                      # numpy / torch scalars
        return o.item()
    if isinstance(o, (set, tuple)):
        return list(o)
    return repr(o)


def dumps(obj) -> str:
    """Compact JSON, as the store keeps payloads, configs and metrics."""
    return json.dumps(obj, default=json_default, separators=(",", ":"))


class Recorder:
    """The store's subscriber for one attempt of one run (made by ``Store.attach``).

    It writes through one connection of its own, serialised by a lock, so events may arrive from any
    thread. Each evaluation is one transaction, committed before ``emit`` returns. Other events are
    committed at once, except while evaluations stream in fast (the last one committed less than
    ``DEFER_S`` ago): then they join the next evaluation's transaction (a population snapshot is emitted
    just before its evaluation). Why: a commit is the dominant cost of a fast run, and an event left
    uncommitted by a kill belongs to the interrupted evaluation, which the resumed run emits again.
    One-shot runs (epochs, alphas, no evaluations until the end) and slow runs commit every event.
    """

    #: Events arriving within this many seconds of the last evaluation's commit wait for the next commit.
    DEFER_S = 0.2

    def __init__(self, store: Store, run_id: str, attempt: int, stored: int, replayed: int, best: float | None):
        self.store, self.run_id, self.attempt = store, run_id, attempt
        self.count = stored              # evaluations committed for this run
        self.to_replay = replayed        # replayed evaluations still to come (their events are not stored)
        self.conn = store._connect()
        # The rank (``rank_key``) of the run's best so far; ``best`` is its objective, as stored.
        self._best_key = self._stored_best_key(best) if stored else None
        self._last_eval = float("-inf")          # monotonic time of the last evaluation's commit
        self._lock = threading.Lock()

    def __call__(self, ev: Event) -> None:
        with self._lock:
            if ev.kind == "evaluation":
                if ev.payload.get("replayed"):
                    self.to_replay -= 1
                else:
                    self._evaluation(ev)
            elif ev.kind in LIFECYCLE:
                self._lifecycle(ev)
            elif self.to_replay <= 0:
                self._event(ev)
                if time.monotonic() - self._last_eval > self.DEFER_S:
                    self._commit()

    def _commit(self) -> None:
        self.conn.commit()

    def _stored_best_key(self, best: float | None) -> tuple | None:
        """The rank of the evaluation the runs row names as best (objective ``best``). Why read its
        evaluation row: whether it is a partial evaluation is in its metrics, not in the runs row."""
        row = self.conn.execute(
            "SELECT e.metrics FROM runs r JOIN evaluations e ON e.run_id=r.run_id AND e.arch=r.best_arch"
            " WHERE r.run_id=? AND e.objective IS ? LIMIT 1", (self.run_id, best)).fetchone()
        return None if row is None else rank_key(best, json.loads(row[0] or "{}"))

    def _event(self, ev: Event) -> None:
        self.conn.execute(
            "INSERT INTO events (run_id, attempt, seq, kind, time, after, payload) VALUES (?,?,?,?,?,?,?)",
            (self.run_id, self.attempt, ev.seq, ev.kind, ev.time, self.count, dumps(ev.payload)))

    def _evaluation(self, ev: Event) -> None:
        p = ev.payload
        # Why check the position: the run's evaluation ``index`` and the store's row number must be the
        # same evaluation. Written anywhere else (a resumed run that evaluated again instead of
        # replaying), the store would hold repeats and more evaluations than the budget.
        if p.get("index", self.count) != self.count:
            raise StoreError(f"run {self.run_id!r}: evaluation {p['index']} arrived where the store expects "
                             f"evaluation {self.count}; it is not recorded")
        obj = p.get("objective")
        key = rank_key(obj, p.get("metrics"))        # the run's own rule (its Tracker), so both name one best
        better = self._best_key is None or key > self._best_key
        try:
            self.conn.execute("INSERT INTO evaluations VALUES (?,?,?,?,?,?,?,?,?,?)",
                              (self.run_id, self.count, p["arch"], p["val_acc"], p.get("test_acc"),
                               p.get("cost", 0.0), obj, dumps(p.get("metrics") or {}), ev.time, self.attempt))
            if better:
                self.conn.execute("UPDATE runs SET evaluations=?, updated=?, best_arch=?, best_val_acc=?,"
                                  " best_test_acc=?, best_objective=? WHERE run_id=?",
                                  (self.count + 1, ev.time, p["arch"], p["val_acc"], p.get("test_acc"), obj,
                                   self.run_id))
            else:
                self.conn.execute("UPDATE runs SET evaluations=?, updated=? WHERE run_id=?",
                                  (self.count + 1, ev.time, self.run_id))
            self._commit()                          # one transaction per evaluation, committed now
            self._last_eval = time.monotonic()
        except BaseException:
            self.conn.rollback()
            raise
        self.count += 1
        if better:
            self._best_key = key

    def _lifecycle(self, ev: Event) -> None:
        self._event(ev)
        if ev.kind == "run_finished":
            status = "stopped" if ev.payload.get("stopped") else "finished"
            self.conn.execute("UPDATE runs SET status=?, updated=? WHERE run_id=?", (status, ev.time, self.run_id))
        elif ev.kind == "run_failed":
            self.conn.execute("UPDATE runs SET status='failed', error=?, updated=? WHERE run_id=?",
                              (ev.payload.get("error"), ev.time, self.run_id))
        self._commit()
        if ev.kind != "run_started":              # the run is over: release the connection
            self.store._active.discard(self.run_id)
            self.store._release(self.conn)
            self.conn = _Closed(self.store)


class _Closed:
    """Stands in for a released recorder connection; reconnects if a late event still arrives."""

    def __init__(self, store):
        self.store = store

    def __getattr__(self, name):
        raise AttributeError(name)

    def execute(self, *args):
        return self.store._conn().execute(*args)

    def commit(self):
        self.store._conn().commit()

    def rollback(self):
        self.store._conn().rollback()
