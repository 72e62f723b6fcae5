"""From event streams and store rows to the tables the figures draw. No plotting here.

Everything in ``viz`` reads events through ``records``: it accepts ``Event`` objects, their
``to_dict()`` form, rows read back from the SQLite store (payload possibly still a JSON string) and
``(kind, payload)`` pairs, so a live run and a replayed one draw exactly the same figure.
The payload fields are the ones documented in ``nasbench_lab.events``.
"""
from __future__ import annotations

import json
import math
from typing import Iterable

from .. import ranking
from ..hardware import pareto_front as _hardware_front
from ..strategies.base import rank_key


def as_record(item) -> tuple[str | None, dict]:
    """``(kind, payload)`` of one event-like item; kind is None for a bare evaluation row."""
    if hasattr(item, "kind") and hasattr(item, "payload"):
        kind, payload = item.kind, item.payload
    elif isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[0], str):
        kind, payload = item
    elif isinstance(item, dict) and "kind" in item:
        kind = item["kind"]
        payload = item.get("payload")
        if payload is None:                      # a flat row: the payload fields sit next to 'kind'
            payload = {k: v for k, v in item.items() if k not in ("kind", "run_id", "seq", "time")}
    elif hasattr(item, "to_dict"):               # an Evaluation dataclass
        kind, payload = None, item.to_dict()
    elif isinstance(item, dict):
        kind, payload = None, item
    else:
        raise TypeError(f"cannot read an event from {type(item).__name__}")
    if isinstance(payload, str):                 # the store may hand back the JSON text
        payload = json.loads(payload)
    return kind, dict(payload or {})


def records(events: Iterable, kind: str | None = None) -> list[dict]:
    """Payloads of the events of one kind (all events when kind is None), in stream order."""
    out = []
    for item in events or ():
        k, p = as_record(item)
        if kind is None or k == kind:
            out.append(p)
    return out


def evaluation_rows(items: Iterable) -> list[dict]:
    """Evaluation records from events (kind ``evaluation``) or store rows / ``Evaluation`` objects."""
    rows = []
    for item in items or ():
        k, p = as_record(item)
        if k not in (None, "evaluation"):
            continue
        p = dict(p)
        if isinstance(p.get("metrics"), str):
            p["metrics"] = json.loads(p["metrics"])
        p.setdefault("metrics", {})
        p.setdefault("index", len(rows))
        rows.append(p)
    rows.sort(key=lambda r: r["index"])
    return rows


def _num(v) -> float | None:
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def best_so_far(values: Iterable) -> list[float | None]:
    """Running maximum (None entries keep the previous best)."""
    out, best = [], None
    for v in values:
        v = _num(v)
        if v is not None and (best is None or v > best):
            best = v
        out.append(best)
    return out


def incumbents(rows: list[dict], y: str = "val_acc") -> list[int]:
    """For each evaluation row, the position of the best row so far *as the run ranks them*: by the
    row's ``objective`` (what the strategy maximised; ``y`` where a row has none), through
    ``rank_key``, the function the run's own best-so-far uses (a tie keeps the earlier row, a missing
    or NaN objective and a partial evaluation rank last). Why not the running maximum of ``y``: with an
    objective such as ``latency_ms<=3`` or ``analog_1d`` the most accurate cell so far may be one the run
    refused (too slow) or ranked lower, and a line through it would contradict the run's result."""
    out, best, best_key = [], -1, None
    for i, r in enumerate(rows):
        obj = _num(r["objective"]) if "objective" in r else _num(r.get(y))
        key = rank_key(obj, r.get("metrics"))
        if best < 0 or key > best_key:
            best, best_key = i, key
        out.append(best)
    return out


def anytime_curve(items: Iterable, x: str = "evaluations", y: str = "val_acc") -> tuple[list, list]:
    """``y`` of the run's best so far (``incumbents``: as the run ranks, by its objective) against
    evaluations (1, 2, ...) or against time (cumulative ``cost``). Why not the running maximum of ``y``:
    two runs compared side by side must each be drawn by what it maximised (a latency-limited run's
    line must not jump to a cell it refused), and ``y="test_acc"`` then reads the test accuracy of the
    cell the run would hand back, never the best test accuracy it happened to see."""
    if x not in ("evaluations", "time"):
        raise ValueError(f"x must be 'evaluations' or 'time', got {x!r}")
    rows = evaluation_rows(items)
    ys = [_num(rows[k].get(y)) for k in incumbents(rows, y)]
    if x == "evaluations":
        xs = [i + 1 for i in range(len(rows))]
    else:
        xs, t = [], 0.0
        for r in rows:
            t += _num(r.get("cost")) or 0.0
            xs.append(t)
    return xs, ys


def step_value(xs: list, ys: list, at: float) -> float | None:
    """The value of a best-so-far step function at ``at`` (None before its first point)."""
    val = None
    for x, y in zip(xs, ys):
        if x > at:
            break
        val = y
    return val


def band(curves: list[tuple[list, list]], grid: list[float] | None = None, z: float = 1.96) -> dict:
    """Mean and a normal-approximation confidence band (mean +- z * standard error) of several
    best-so-far curves on a common grid. Only curves that have started count at a grid point."""
    if grid is None:
        grid = sorted({x for xs, _ in curves for x in xs})
    mean, lo, hi, n = [], [], [], []
    for g in grid:
        vals = [v for xs, ys in curves if (v := step_value(xs, ys, g)) is not None]
        n.append(len(vals))
        if not vals:
            mean.append(None), lo.append(None), hi.append(None)
            continue
        m = sum(vals) / len(vals)
        sd = math.sqrt(sum((v - m) ** 2 for v in vals) / (len(vals) - 1)) if len(vals) > 1 else 0.0
        half = z * sd / math.sqrt(len(vals))
        mean.append(m), lo.append(m - half), hi.append(m + half)
    return {"x": list(grid), "mean": mean, "lo": lo, "hi": hi, "n": n}


def alpha_history(events: Iterable, within_epoch: bool = False, limit: int | None = None) -> dict:
    """``alphas`` events as {cell: {epochs, edges, ops, weights[T][E][O], derived, skip_share}}.

    Single-cell spaces use the cell key ``"cell"``; two-cell spaces (DARTS) send ``weights`` as a dict
    cell -> per-edge lists, and keep their own keys ("normal", "reduce").

    ``within_epoch``: also the alphas that ``progress`` events carry, at their fractional epochs (0.25, ...;
    ``derived`` and ``skip_share`` None there), so the lines move before an epoch ends. ``limit``: keep
    about that many of those at most, evenly thinned, and always every one after the newest ``alphas``
    event (why: a long GPU run sends hundreds, and each one is a point on every op's line of every edge).
    """
    snaps = [(k, p) for k, p in (as_record(item) for item in events or ())
             if k == "alphas" or (within_epoch and k == "progress" and p.get("weights"))]
    if within_epoch and limit:
        last = max((i for i, (k, _) in enumerate(snaps) if k == "alphas"), default=-1)
        done = sum(k == "progress" for k, _ in snaps[:last + 1])
        stride, n = max(1, math.ceil(done / max(1, limit))), 0
        kept = []
        for i, (k, p) in enumerate(snaps):
            if k == "progress" and i < last:
                n += 1
                if (n - 1) % stride:
                    continue
            kept.append((k, p))
        snaps = kept
    out: dict = {}
    for _, p in snaps:
        w = p.get("weights") or []
        per_cell = w if isinstance(w, dict) else {"cell": w}
        edges = p.get("edges")
        for cell, weights in per_cell.items():
            cell_edges = edges.get(cell) if isinstance(edges, dict) else edges
            h = out.setdefault(cell, {"epochs": [], "edges": list(cell_edges or
                                                                   [str(i) for i in range(len(weights))]),
                                      "ops": list(p.get("ops") or []), "weights": [], "derived": [],
                                      "skip_share": []})
            h["epochs"].append(p.get("epoch", len(h["epochs"])))
            h["weights"].append([[float(v) for v in row] for row in weights])
            h["derived"].append(p.get("derived"))
            h["skip_share"].append(p.get("skip_share"))
    return out


def population_history(events: Iterable) -> dict:
    """``population`` events as per-generation statistics plus one record per member ever seen.

    A member is alive when the latest snapshot lists it as alive and no ``removed`` list named it since.
    """
    gens, best, mean, size = [], [], [], []
    members: dict = {}
    last_gen = None
    for k, p in enumerate(records(events, "population")):
        g = p.get("generation", k)
        last_gen = g
        alive_now = set()
        fits = []
        for m in p.get("members", []):
            mid = m.get("id")
            rec = members.setdefault(mid, {"id": mid, "arch": m.get("arch"), "fitness": _num(m.get("fitness")),
                                           "parent": m.get("parent"), "born": g, "removed_at": None})
            rec["age"] = m.get("age")
            rec["last_seen"] = g
            if m.get("alive", True):
                alive_now.add(mid)
                if rec["fitness"] is not None:
                    fits.append(rec["fitness"])
            elif rec["removed_at"] is None:
                rec["removed_at"] = g
        for mid in p.get("removed", []) or []:
            if mid in members and members[mid]["removed_at"] is None:
                members[mid]["removed_at"] = g
            alive_now.discard(mid)
        for mid, rec in members.items():
            rec["alive"] = mid in alive_now
        gens.append(g)
        size.append(len(alive_now))
        best.append(max(fits) if fits else None)
        mean.append(sum(fits) / len(fits) if fits else None)
    return {"generations": gens, "best": best, "mean": mean, "size": size, "members": members,
            "last_generation": last_gen}


def controller_history(events: Iterable, within_epoch: bool = False) -> dict:
    """``controller`` events as steps, decision names, probs[T][D][C] and the reward statistics.

    ``within_epoch``: when ``progress`` events carry the controller's probabilities (ENAS trains the
    shared weights before its first update), the first of them before the first update becomes step 0,
    the policy before any update (reward, baseline and entropy None there)."""
    h = {"steps": [], "decisions": [], "choices": None, "probs": [], "reward_mean": [], "baseline": [],
         "entropy": []}
    started = False
    for item in events or ():
        kind, p = as_record(item)
        if kind == "progress" and within_epoch and not started and p.get("probs"):
            # step 0, one point: the policy stays frozen until the first update, whatever path is sampled
            p = {"step": 0, "decisions": p.get("decisions"), "probs": p["probs"]}
        elif kind != "controller":
            continue
        started = True
        h["steps"].append(p.get("step", len(h["steps"])))
        h["decisions"] = list(p.get("decisions") or h["decisions"])
        if p.get("choices"):
            h["choices"] = [list(c) for c in p["choices"]]
        h["probs"].append([[float(v) for v in row] for row in p.get("probs", [])])
        for key in ("reward_mean", "baseline", "entropy"):
            h[key].append(_num(p.get(key)))
    return h


def epoch_rows(events: Iterable) -> list[dict]:
    return records(events, "epoch")


def progress_rows(events: Iterable) -> list[dict]:
    """``progress`` events: a one-shot search's running accuracy within an epoch, at fractional epochs."""
    return records(events, "progress")


def pareto_front(costs: list, accs: list) -> list[int]:
    """Indices of the points no other point beats (lower or equal cost and higher or equal accuracy,
    strictly better in one), sorted by cost. None entries are skipped. A thin adapter over
    ``nasbench_lab.hardware.pareto_front`` (separate cost/accuracy lists in, one marker per point out)."""
    pts = [(i, _num(c), _num(a)) for i, (c, a) in enumerate(zip(costs, accs))]
    pts = [(i, c, a) for i, c, a in pts if c is not None and a is not None]
    front, last = [], None
    for k in _hardware_front([(a, c) for _, c, a in pts]):
        i, c, a = pts[k]
        # why: hardware keeps every exact duplicate of a front point (adjacent, lowest index first);
        # the plot keeps only the first, so one marker is drawn per front point
        if (c, a) != last:
            front.append(i)
        last = (c, a)
    return front


def rank_stats(pred: list, true: list, k: int = 5) -> dict:
    """Kendall tau-b, Spearman rho and top-k overlap of two scorings of the same architectures
    (the numbers come from ``nasbench_lab.ranking``; this adds which points are in each top-k). With
    ``n <= k`` the overlap is None and ``top_k_note`` says why (it would be 100 % by construction)."""
    n = len(pred)
    if n != len(true):
        raise ValueError(f"pred and true must have the same length, got {n} and {len(true)}")
    tau = float(ranking.kendall_tau(pred, true)) if n >= 2 else None
    rho = float(ranking.spearman(pred, true)) if n >= 2 else None
    k = max(1, int(k))
    if n <= k:
        # Why not a number: with n <= k both top-k sets are every architecture, so the overlap is 100 %
        # whatever the two rankings say (SPOS's classroom run scores 3 cells against k = 5).
        return {"kendall_tau": tau, "spearman": rho, "k": k, "top_k_overlap": None,
                "top_k_note": f"n/a (n = {n} <= k = {k}: every architecture is in both top-{k})",
                "top_pred": [], "top_true": [], "n": n}
    top_pred = set(sorted(range(n), key=lambda i: -pred[i])[:k])
    top_true = set(sorted(range(n), key=lambda i: -true[i])[:k])
    return {"kendall_tau": tau, "spearman": rho, "k": k, "top_k_overlap": len(top_pred & top_true) / k,
            "top_k_note": None, "top_pred": sorted(top_pred), "top_true": sorted(top_true), "n": n}
