"""Race multi-trial strategies on a truth and test every pair: the NB201 paper's Table 5 experiment.

    python benchmarks/race_cifar10.py [--dataset cifar10|fashion-mnist|both] [--runs 100] [--queries 100]
                                      [--strategies random,evolution,reinforce,local] [--workers 1] [--json]

Each strategy searches the table ``--runs`` times (seeds 0..runs-1) with ``--queries`` queries. What is
reported is the test regret of each run's incumbent (chosen on the score the strategy saw: one
training of the string on CIFAR-10, one seed's validation accuracy on the laptop table) against the
truth (the mean over the cell's isomorphic trainings on CIFAR-10, over its two seeds on the laptop
table): mean with a 95 % bootstrap interval, median, and a two-sided Mann-Whitney U test per pair,
Holm-corrected (``nasbench_lab.race``). ``--dataset both`` races the same strategies on both truths:
on CIFAR-10 (noise floor tau 0.90) strategies can be told apart; on the laptop table (tau 0.28) the
same comparison mostly cannot, which is the lesson about benchmarks.

REINFORCE races with the NB201 paper's policy (one softmax per decision) and evolution with its REA
settings (population 10, tournament 3), the forms that paper raced.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

OPTIONS = {"evolution": {"population": 10, "sample": 3}, "reinforce": {"controller": "independent"}}


def run(dataset: str, names: list[str], runs: int, queries: int, workers: int) -> dict:
    from nasbench_lab import race as R
    from nasbench_lab.estimators.table import TableEstimator
    est = TableEstimator(dataset=dataset)
    noise = est.table.noise_floor()[0] if dataset == "cifar10" else \
        est.table.info()["settings"][est.setting].get("tau_seed0_vs_seed1")
    t = time.perf_counter()
    res = R.race({n: ("reinforce" if n.startswith("reinforce") else n, OPTIONS.get(n)) for n in names}, est,
                 seeds=range(runs), budget=queries, workers=workers)
    secs = time.perf_counter() - t
    rows = R.summary(res, x="queries")
    pairs = R.compare(res, x="queries")
    return {"dataset": dataset, "runs": runs, "queries": queries, "seconds": round(secs, 1), "noise_floor_tau": noise,
            "summary": [{**r, "ci": [round(r["ci"][0], 3), round(r["ci"][1], 3)], "mean": round(r["mean"], 3),
                         "median": round(r["median"], 3)} for r in rows],
            "pairs": [{k: p[k] for k in ("a", "b", "p_holm", "significant", "better")} for p in pairs],
            "significant_pairs": sum(p["significant"] for p in pairs), "all_pairs": len(pairs)}


def text(r: dict) -> str:
    lines = [f"{r['dataset']}: {r['runs']} seeds x {r['queries']} queries ({r['seconds']} s); noise floor tau "
             f"{r['noise_floor_tau']:.2f}",
             f"  {'strategy':<12} {'mean regret':>11} {'95% CI':>17} {'median':>7} {'optimum':>8}"]
    for s in r["summary"]:
        lines.append(f"  {s['strategy']:<12} {s['mean']:>11.3f} {s['ci'][0]:>8.3f}-{s['ci'][1]:<8.3f} "
                     f"{s['median']:>7.3f} {s['optimum']:>8}")
    lines.append(f"  significant pairs (Holm, alpha 0.05): {r['significant_pairs']} of {r['all_pairs']}")
    for p in r["pairs"]:
        verdict = f"{p['better']} better" if p["significant"] else "no significant difference"
        lines.append(f"    {p['a']} vs {p['b']}: Holm p {p['p_holm']:.2g}, {verdict}")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", choices=("cifar10", "fashion-mnist", "both"), default="cifar10")
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--strategies", default="random,evolution,reinforce,local")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    names = [s for s in a.strategies.split(",") if s]
    datasets = ["cifar10", "fashion-mnist"] if a.dataset == "both" else [a.dataset]
    for d in datasets:
        r = run(d, names, a.runs, a.queries, a.workers)
        print(json.dumps(r) if a.json else text(r), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
