"""How fast strategies race on the tabular benchmark: S strategies x R seeds x Q queries.

    python benchmarks/race_table.py [--runs 100] [--queries 200] [--strategies random,evolution,...]
                                    [--workers N] [--table PATH]

Targets (issues: tabular benchmark, lessons on ground truth): regularized evolution alone, 100 runs x
200 queries, under 10 s on a 2-core laptop CPU; the seven raced strategies together (random, evolution,
reinforce, local, predictor, hyperband, tpe) under 30 s. Prints one JSON line per strategy and a total.
Uses the shipped table when it exists; otherwise a table of the same shape with made-up accuracies
(benchmarks/_fake_table.py): the timing does not depend on the values, and the output says which.
``--workers N`` splits each strategy's seeds over N processes (a laptop's cores; the seconds are wall
clock, and the output names the worker count). REINFORCE races with the NAS-Bench-201 paper's policy
(one softmax per decision) and TPE with the multivariate model of BOHB, the forms that paper raced.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import nasbench_lab as nl  # noqa: E402
from nasbench_lab.bench import BenchTable, default_path  # noqa: E402
from nasbench_lab.estimators.table import TableEstimator  # noqa: E402

RACED = "random,evolution,reinforce,local,predictor,hyperband,tpe"
OPTIONS = {"evolution": {"population": 10, "sample": 3},        # the NB201 paper's REA settings
           "reinforce": {"controller": "independent"}}            # and its REINFORCE policy


def _race(path: str, name: str, seeds: list[int], queries: int) -> list[float]:
    """Best test accuracy of each seed's run (a worker process's share, or all seeds in one)."""
    est = TableEstimator(table=BenchTable(path))
    space = nl.get_space("nb201")        # one instance: its isomorphism table is built once (see race.py)
    best = []
    for seed in seeds:
        r = nl.search(space, name, est, budget=queries, seed=seed, strategy_options=OPTIONS.get(name))
        best.append(r.best.test_acc if r.best.test_acc is not None else r.best.val_acc)
    return best


def _warm(path: str, names: list[str]) -> None:
    """Imports and first-use costs (a worker pays them once, before the clock starts)."""
    for name in names:
        _race(path, name, [10 ** 6], 5)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--strategies", default=RACED)
    ap.add_argument("--strategy", help="one strategy only (same as --strategies NAME)")
    ap.add_argument("--workers", type=int, default=1, help="processes per strategy (default 1)")
    ap.add_argument("--table")
    a = ap.parse_args(argv)
    if a.workers < 1:
        ap.error("--workers must be >= 1")
    names = [a.strategy] if a.strategy else [s for s in a.strategies.split(",") if s]
    path = a.table or (default_path() if default_path().exists() else None)
    kind = "shipped" if path else "fake (made-up values, same shape)"
    if path is None:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from _fake_table import write_fake_table
        path = write_fake_table(Path(tempfile.mkdtemp()) / "fake.npz")
    t0 = time.perf_counter()
    BenchTable(path)
    load = time.perf_counter() - t0
    total = 0.0
    pool = None
    if a.workers > 1:
        pool = concurrent.futures.ProcessPoolExecutor(a.workers)
        list(pool.map(_warm, [str(path)] * a.workers, [names] * a.workers))
    else:
        _warm(str(path), names)
    for name in names:
        t = time.perf_counter()
        if pool is None:
            best = _race(str(path), name, list(range(a.runs)), a.queries)
        else:
            shares = [list(range(i, a.runs, a.workers)) for i in range(a.workers)]
            best = [b for part in pool.map(_race, [str(path)] * a.workers, [name] * a.workers, shares,
                                           [a.queries] * a.workers) for b in part]
        secs = time.perf_counter() - t
        total += secs
        print(json.dumps({"table": kind, "strategy": name, "runs": a.runs, "queries": a.queries, "workers": a.workers,
                          "seconds": round(secs, 2), "queries_per_s": round(a.runs * a.queries / secs),
                          "mean_best_test_acc": round(sum(best) / len(best), 3)}))
    if pool is not None:
        pool.shutdown()
    print(json.dumps({"table": kind, "strategies": names, "runs": a.runs, "queries": a.queries, "workers": a.workers,
                      "total_seconds": round(total, 2), "table_load_s": round(load, 3),
                      "target_total_s": 30.0, "ratio_target_over_total": round(30.0 / total, 2),
                      "evolution_target_s": 10.0}))


if __name__ == "__main__":
    main()
