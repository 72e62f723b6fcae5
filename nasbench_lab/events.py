"""The event stream every strategy emits.

The core never prints or draws (house rule 6). A strategy calls ``emit(kind, **payload)``; consumers
(the SQLite store, the CLI progress bar, the widgets, a notebook's list) subscribe to an ``EventBus``.
Payloads are JSON-able dicts so the store can write them verbatim and a run can be replayed.

Kinds and their payloads (every event also carries ``run_id``, ``seq`` and ``time``):

``run_started``   space, strategy, estimator, budget, seed, config (dict)
``evaluation``    index (0-based), arch (string), val_acc, test_acc (or None), cost (seconds, real
                  or simulated), metrics (dict: params, flops, latency_ms, curve, ...), objective
                  (the value the strategy maximises), best_arch, best_val_acc, best_test_acc (best so
                  far; a partial, fewer-epoch evaluation never replaces a full one), elapsed_cost (the
                  run's summed cost so far: what a time budget counts)
``epoch``         epoch, of (total epochs), train_loss, train_acc, val_acc, seconds; one-shot
                  strategies and the training loop emit it
``progress``      epoch (the position in epochs: 0.25 is a quarter of the first; always below the next
                  ``epoch`` event's number), step (within the epoch, from 1), steps (per epoch), of (total
                  epochs), train_loss, train_acc (running, over this epoch's steps so far), seconds; every few
                  steps of a one-shot search (the run's first step, then at most every ``progress_s`` seconds
                  and 20 times an epoch; never an epoch's last step: its ``epoch`` event follows). It adds what
                  the strategy moves within an epoch: DARTS and ProxylessNAS edges, ops, weights (as ``alphas``);
                  ENAS, SPOS and ProxylessNAS arch (the path just trained); ENAS decisions, probs (the frozen
                  controller's, along that path) and controller_step (updates so far). ``epoch``, ``alphas``
                  and ``controller`` keep their meaning: one per epoch (per controller update)
``alphas``        epoch, edges (list of edge names), ops (list of op names), weights (one list of
                  softmaxed op weights per edge; for two-cell spaces a dict cell -> that structure),
                  derived (architecture string), skip_share (fraction of skip_connect in ``derived``)
``population``    generation, members: list of {id, arch, fitness, age, parent, alive} (with crossover
                  also parent2); removed (list of ids that left the population at this step)
``controller``    step, decisions (list of names), probs (one list of choice probabilities per
                  decision), reward_mean, baseline, entropy
                  DARTS adds skip_trend, collapsed, remedy, beta, early_stopped; ProxylessNAS adds
                  expected_latency_ms, derived_latency_ms, lam
``ranking``       archs, oneshot (the strategy's inherited-weight scores), scratch (the estimator's val_acc
                  of the same architectures); one-shot strategies that keep scores (SPOS) emit it at the end
``local``         step, move (improve / restart / ...), arch, fitness, neighbours, restarts (local search)
``predictor``     round, train_size, candidates, chosen (list of {arch, mean, std}), fit_corr
``rung``          bracket, rung, epochs, archs, scores, promoted (successive halving; Hyperband adds s)
``zerocost``      pool, proxy, scored (cells scored), chosen (list of {arch, score}) (zero-cost-guided search)
``stage``         name ("scoring"), candidates (how many), estimator (its name), trains (True when it trains
                  each from scratch); one-shot strategies emit it when their search ends and the driver's
                  scoring of the final candidates begins (with ``train``: often the longest part of a run)
``run_finished``  best_arch, best_val_acc, best_test_acc, evaluations, seconds, stopped
``run_failed``    error (one line), evaluations (how many finished before the failure)

``evaluation`` events replayed on resume carry ``replayed=True`` (the store does not write them twice).
Later strategies may add kinds; consumers ignore kinds they do not know.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

KINDS = ("run_started", "evaluation", "epoch", "progress", "alphas", "population", "controller", "ranking", "local",
         "predictor", "rung", "zerocost", "stage", "run_finished", "run_failed")


@dataclass(frozen=True)
class Event:
    kind: str
    """One of KINDS (or a kind a later strategy adds)."""
    payload: dict
    """JSON-able fields documented in the module docstring."""
    run_id: str = ""
    """The run this event belongs to."""
    seq: int = 0
    """Position in the run's stream, from 0."""
    time: float = 0.0
    """Wall-clock time (seconds since the epoch) when it was emitted."""

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "run_id": self.run_id, "seq": self.seq, "time": self.time,
                "payload": self.payload}


Subscriber = Callable[[Event], None]


class EventBus:
    """Fan-out of events to subscribers. One bus per run; thread-safe ``emit``.

    A subscriber that raises does not stop the search: the exception is kept in ``errors`` (the UI
    shows them) — a broken plot must never lose an evaluation. A *critical* subscriber (the store) is
    the exception: when it cannot record an event the run must not go on as if it had (a run that says
    "6 evaluations recorded" with 5 in the store), so its exception is raised from ``emit`` once every
    other subscriber has seen the event; the strategy's loop ends there and the run fails, saying why.
    """

    def __init__(self, run_id: str = "", subscribers: list[Subscriber] | None = None):
        self.run_id = run_id
        self._subscribers: list[Subscriber] = list(subscribers or [])
        self._critical: list[Subscriber] = []
        self._seq = 0
        self._lock = threading.Lock()
        self.errors: list[str] = []

    def subscribe(self, fn: Subscriber, critical: bool = False) -> Subscriber:
        self._subscribers.append(fn)
        if critical:
            self._critical.append(fn)
        return fn

    def unsubscribe(self, fn: Subscriber) -> None:
        if fn in self._subscribers:
            self._subscribers.remove(fn)
        self._critical = [c for c in self._critical if c is not fn]

    def emit(self, kind: str, **payload) -> Event:
        with self._lock:
            ev = Event(kind, payload, self.run_id, self._seq, time.time())
            self._seq += 1
        failed = None
        for fn in list(self._subscribers):
            try:
                fn(ev)
            except Exception as exc:  # noqa: BLE001 - see class docstring
                self.errors.append(f"{getattr(fn, '__name__', fn)}: {type(exc).__name__}: {exc}")
                if failed is None and any(fn is c for c in self._critical) and kind != "run_failed":
                    failed = exc            # why not for run_failed: the run is failing already, say why it did
        if failed is not None:
            raise failed
        return ev

    __call__ = emit


@dataclass
class EventLog:
    """The simplest subscriber: keeps every event in a list (notebooks, tests)."""

    events: list[Event] = field(default_factory=list)

    def __call__(self, ev: Event) -> None:
        self.events.append(ev)

    def of(self, kind: str) -> list[Event]:
        return [e for e in self.events if e.kind == kind]


class StopFlag:
    """Set from another thread (the widget's Stop button, Ctrl-C handler); strategies poll it."""

    def __init__(self):
        self._ev = threading.Event()

    def set(self) -> None:
        self._ev.set()

    def is_set(self) -> bool:
        return self._ev.is_set()

    __bool__ = is_set
