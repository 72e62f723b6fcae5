"""Synthetic event streams with the payloads documented in nasbench_lab/events.py (for viz/widget tests).

They go through a real ``EventBus`` so the events have the same shape (kind, payload, run_id, seq,
time) as a live run's. Values are made up but structured: fitness rises, skip_connect's alpha grows
(the DARTS collapse), the controller's policy sharpens.
"""
from __future__ import annotations

import math
import random

from nasbench_lab.events import EventBus, EventLog

NB201_OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]
NB201_EDGES = ["0->1", "0->2", "1->2", "0->3", "1->3", "2->3"]
DARTS_OPS = ["none", "max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5",
             "dil_conv_3x3", "dil_conv_5x5"]
DARTS_EDGES = [f"{i}->{j + 2}" for j in range(4) for i in range(j + 2)]


def _bus(run_id="synthetic"):
    log = EventLog()
    return EventBus(run_id, [log]), log


def _softmax(xs):
    m = max(xs)
    e = [math.exp(x - m) for x in xs]
    s = sum(e)
    return [v / s for v in e]


def evaluation_stream(n=12, space="nb201", seed=0, with_latency=True, oneshot=False):
    from nasbench_lab import get_space
    sp = get_space(space)
    rng = random.Random(seed)
    bus, log = _bus()
    bus.emit("run_started", space=sp.name, strategy="random", estimator="synthetic", budget=n, seed=seed, config={})
    best = None
    for i in range(n):
        arch = sp.to_str(sp.sample(rng))
        val = 50 + 40 * rng.random()
        metrics = {"params": rng.randint(10_000, 2_000_000), "flops": rng.randint(10 ** 6, 10 ** 9)}
        if with_latency:
            metrics["latency_ms"] = 0.5 + 5 * rng.random()
        if oneshot:
            metrics["supernet_acc"] = val / 100 * 0.6 + 0.3 * rng.random()
        if best is None or val > best[1]:
            best = (arch, val)
        bus.emit("evaluation", index=i, arch=arch, val_acc=val, test_acc=val - 1, cost=1.0 + rng.random(),
                 metrics=metrics, objective=val, best_arch=best[0], best_val_acc=best[1])
    bus.emit("run_finished", best_arch=best[0], best_val_acc=best[1], best_test_acc=best[1] - 1, evaluations=n,
             seconds=1.0)
    return log.events


def alphas_stream(epochs=6, darts=False, seed=0):
    rng = random.Random(seed)
    bus, log = _bus()
    ops = DARTS_OPS if darts else NB201_OPS
    edges = DARTS_EDGES if darts else NB201_EDGES
    cells = ("normal", "reduce") if darts else (None,)
    skip = ops.index("skip_connect")
    logits = {c: [[rng.gauss(0, 0.1) for _ in ops] for _ in edges] for c in cells}
    for ep in range(1, epochs + 1):
        for c in cells:
            for row in logits[c]:
                row[skip] += 0.4                     # the collapse: skip_connect grows every epoch
                row[rng.randrange(len(ops))] += 0.2
        w = {c: [_softmax(r) for r in logits[c]] for c in cells}
        weights = w if darts else w[None]
        bus.emit("epoch", epoch=ep, of=epochs, train_loss=2.0 / ep, train_acc=40 + 5 * ep, val_acc=35 + 5 * ep,
                 seconds=1.0)
        bus.emit("alphas", epoch=ep, edges=edges, ops=ops, weights=weights, derived="(derived)",
                 skip_share=min(1.0, 0.15 * ep))
    return log.events


def population_stream(generations=15, P=6, seed=0):
    """Aging evolution: the oldest member dies each generation; the child's parent is a tournament winner."""
    rng = random.Random(seed)
    bus, log = _bus()
    pop, next_id = [], 0
    for _ in range(P):
        pop.append({"id": next_id, "arch": f"a{next_id}", "fitness": rng.uniform(40, 60), "born": 0, "parent": None})
        next_id += 1
    for g in range(generations):
        removed = []
        if g > 0:
            parent = max(rng.sample(pop, 3), key=lambda m: m["fitness"])
            pop.append({"id": next_id, "arch": f"a{next_id}", "fitness": parent["fitness"] + rng.uniform(-3, 5),
                        "born": g, "parent": parent["id"]})
            next_id += 1
            removed.append(pop.pop(0)["id"])
        members = [{"id": m["id"], "arch": m["arch"], "fitness": m["fitness"], "age": g - m["born"],
                    "parent": m["parent"], "alive": True} for m in pop]
        bus.emit("population", generation=g, members=members, removed=removed)
    return log.events


def controller_stream(steps=10, n_decisions=6, n_choices=5, seed=0, with_choices=False):
    rng = random.Random(seed)
    bus, log = _bus()
    logits = [[0.0] * n_choices for _ in range(n_decisions)]
    baseline = 0.0
    for s in range(steps):
        for row in logits:
            row[0] += 0.3
            row[rng.randrange(n_choices)] += 0.1
        probs = [_softmax(r) for r in logits]
        reward = 0.5 + 0.04 * s + 0.05 * rng.random()
        baseline = 0.9 * baseline + 0.1 * reward
        ent = sum(-sum(p * math.log(p) for p in row) for row in probs) / n_decisions
        extra = {"choices": [NB201_OPS[:n_choices]] * n_decisions} if with_choices else {}
        bus.emit("controller", step=s, decisions=[f"edge {e} op" for e in NB201_EDGES[:n_decisions]] +
                 [f"d{k}" for k in range(6, n_decisions)], probs=probs, reward_mean=reward, baseline=baseline,
                 entropy=ent, **extra)
    return log.events


def progress_stream(epochs=2, steps=8, every=2, darts=False, probs=False, finish_last=True, seed=0):
    """A one-shot search as it streams (issue 30): within each epoch a ``progress`` event every ``every``
    steps (running accuracy, the alphas so far, a path; the controller's probabilities with ``probs``),
    then the epoch's ``epoch`` and ``alphas`` events; ``finish_last=False`` ends inside the last epoch."""
    rng = random.Random(seed)
    bus, log = _bus()
    ops = DARTS_OPS if darts else NB201_OPS
    edges = DARTS_EDGES if darts else NB201_EDGES
    cells = ("normal", "reduce") if darts else (None,)
    logits = {c: [[rng.gauss(0, 0.1) for _ in ops] for _ in edges] for c in cells}
    bus.emit("run_started", space="darts" if darts else "nb201", strategy="enas" if probs else "darts",
             estimator="train", budget=epochs, seed=seed, config={})

    def weights():
        w = {c: [_softmax(r) for r in logits[c]] for c in cells}
        return w if darts else w[None]

    for ep in range(epochs):
        for step in range(1, steps + 1):
            for c in cells:
                for row in logits[c]:
                    row[ops.index("skip_connect")] += 0.4 / steps
            if step % every or step == steps:
                continue
            extra = ({"decisions": [f"edge {e} op" for e in NB201_EDGES], "probs": [_softmax([0.1 * ep, 0, 0, 0, 0])
                                                                                    for _ in NB201_EDGES],
                      "controller_step": ep} if probs else {"edges": edges, "ops": ops, "weights": weights()})
            bus.emit("progress", epoch=round(ep + step / steps, 4), step=step, steps=steps, of=epochs,
                     train_loss=2.0, train_acc=20 + 10 * ep + step, seconds=1.0, arch="|skip_connect~0|", **extra)
        if ep == epochs - 1 and not finish_last:
            break
        bus.emit("epoch", epoch=ep + 1, of=epochs, train_loss=1.5, train_acc=30 + 10 * ep, val_acc=25 + 10 * ep,
                 seconds=1.0)
        if probs:
            bus.emit("controller", step=ep + 1, decisions=[f"edge {e} op" for e in NB201_EDGES],
                     probs=[_softmax([0.1 * (ep + 1), 0, 0, 0, 0]) for _ in NB201_EDGES], reward_mean=0.3,
                     baseline=0.3, entropy=1.5)
        else:
            bus.emit("alphas", epoch=ep + 1, edges=edges, ops=ops, weights=weights(), derived="(derived)",
                     skip_share=0.2)
    return log.events
