"""A table file with the shipped table's exact shape and fields but *made-up* accuracies.

Only for measuring speed (query, driver, store) and for testing the query API when the real table has
not been built. The numbers come from a simple structural score plus noise; they are not results.
"""
from __future__ import annotations

import json

import numpy as np

from nasbench_lab.bench.protocol import get_protocol
from nasbench_lab.spaces.nb201 import NB201Space


def write_fake_table(path, seed: int = 0, settings=("full", "lowfi")) -> str:
    rng = np.random.default_rng(seed)
    archs = NB201Space().unique()
    weight = {"none": 0.0, "skip_connect": 1.0, "nor_conv_1x1": 2.0, "nor_conv_3x3": 3.0, "avg_pool_3x3": 0.5}
    base = np.array([sum(weight[o] for o in a.ops) for a in archs], dtype=np.float32)
    arrays = {"archs": np.array([str(a) for a in archs])}
    meta = {"protocols": {}, "fake": True, "note": "made-up accuracies for speed tests only"}
    for s in settings:
        p = get_protocol(s)
        S, E, A = len(p.seeds), p.epochs, len(archs)
        final = 60 + 2 * base[:, None] + rng.normal(0, 1, (A, S)).astype(np.float32)
        curve = final[:, :, None] - np.linspace(E - 1, 0, E, dtype=np.float32)[None, None, :] * 3
        arrays.update({f"{s}.val_curve": curve.astype(np.float32), f"{s}.test_acc": (final - 0.5).astype(np.float32),
                       f"{s}.train_loss": np.full((A, S), 0.5, np.float32),
                       f"{s}.seconds": np.full((A, S), 10.0, np.float32),
                       f"{s}.params": (1000 * base).astype(np.int64), f"{s}.flops": (10**6 * base).astype(np.int64)})
        meta["protocols"][s] = p.to_dict()
    arrays["latency_ms"] = (0.1 + 0.05 * base).astype(np.float32)
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    np.savez_compressed(path, **arrays)
    return str(path)
