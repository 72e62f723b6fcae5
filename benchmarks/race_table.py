"""How fast strategies race on the tabular benchmark: R runs of regularized evolution x Q queries.

    python benchmarks/race_table.py [--runs 100] [--queries 200] [--strategy evolution] [--table PATH]

Target (issue: tabular benchmark): 100 runs x 200 queries in under 10 s on a 2-core laptop CPU, so a
class can race five strategies over a hundred seeds in a minute. Uses the shipped table when it exists;
otherwise a table of the same shape with made-up accuracies (benchmarks/_fake_table.py) -- the timing
does not depend on the values, and the output says which one was used.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import nasbench_lab as nl  # noqa: E402
from nasbench_lab.bench import BenchTable, default_path  # noqa: E402
from nasbench_lab.bench.estimator import TableEstimator  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--strategy", default="evolution")
    ap.add_argument("--table")
    a = ap.parse_args(argv)
    path = a.table or (default_path() if default_path().exists() else None)
    kind = "shipped" if path else "fake (made-up values, same shape)"
    if path is None:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from _fake_table import write_fake_table
        path = write_fake_table(Path(tempfile.mkdtemp()) / "fake.npz")
    t0 = time.perf_counter()
    est = TableEstimator(table=BenchTable(path))
    load = time.perf_counter() - t0
    best = []
    t = time.perf_counter()
    for seed in range(a.runs):
        r = nl.search("nb201", a.strategy, est, budget=a.queries, seed=seed)
        best.append(r.best.test_acc if r.best.test_acc is not None else r.best.val_acc)
    secs = time.perf_counter() - t
    out = {"table": kind, "strategy": a.strategy, "runs": a.runs, "queries": a.queries,
           "seconds": round(secs, 2), "table_load_s": round(load, 3),
           "queries_per_s": round(a.runs * a.queries / secs), "target_s": 10.0,
           "ratio_target_over_time": round(10.0 / secs, 2),
           "mean_best_test_acc": round(sum(best) / len(best), 3)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
