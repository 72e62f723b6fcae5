"""Does zero-cost guidance beat random search on the table, and at which time budget?

    python benchmarks/zerocost_race.py [--seeds 500] [--trainings 5,10,20,60] [--proxies synflow,params]
                                       [--workers N]

Races random search against ``zerocost_guided`` (a pool of 100 cells scored by the proxy, the best 5
looked up; the scoring seconds charged) on the shipped table, every run to the largest budget, then
reads each run's test regret at every budget: what it had found by then (these strategies are anytime,
none plans for the budget; a run stopped by a budget also keeps the one evaluation that crosses it, so
its final regret is a little lower than the reading at the same time). A budget is
counted in typical trainings of one cell (``race.typical_cost``). Prints one JSON line per budget:
mean regret with 95 % bootstrap CI per strategy, and the Holm-corrected Mann-Whitney statement of each
pair. Why many seeds: the guided runs' lead at a few trainings is a few tenths of a point, the size of a
100-seed confidence interval; notebook 09 races 100 seeds and prints the same reading.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from nasbench_lab import race  # noqa: E402
from nasbench_lab.estimators.table import TableEstimator  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=500)
    ap.add_argument("--trainings", default="5,10,20,60", help="budgets, in typical trainings of one cell")
    ap.add_argument("--proxies", default="synflow,params")
    ap.add_argument("--workers", type=int, default=1)
    a = ap.parse_args(argv)
    budgets = sorted(int(n) for n in a.trainings.split(","))
    est = TableEstimator()
    typical = race.typical_cost(est)
    entries = {"random": ("random", None)}
    entries.update({f"guided ({p})": ("zerocost_guided", {"proxy": p}) for p in a.proxies.split(",")})
    t0 = time.perf_counter()
    result = race.race(entries, est, range(a.seeds), budget=2000, time_budget=budgets[-1] * typical,
                       workers=a.workers)
    seconds = time.perf_counter() - t0
    for n in budgets:
        at = n * typical
        rows = {r["strategy"]: {"regret": round(r["mean"], 3), "ci": [round(c, 3) for c in r["ci"]]}
                for r in race.summary(result, at=at)}
        print(json.dumps({"trainings": n, "simulated_s": round(at, 1), "seeds": a.seeds, "regret": rows,
                          "pairs": [p["statement"] for p in race.compare(result, at=at)]}))
    print(json.dumps({"race_seconds": round(seconds, 1), "workers": a.workers, "setting": est.setting}))


if __name__ == "__main__":
    main()
