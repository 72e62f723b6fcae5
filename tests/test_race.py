"""Races (nasbench_lab.race): regret bookkeeping against brute force, the summaries, the tests."""
from __future__ import annotations

import numpy as np
import pytest

from nasbench_lab import get_space, race, search
from nasbench_lab.race import RaceError, Trace
from nasbench_lab.estimators.synthetic import SyntheticEstimator


def _synthetic_truth():
    est, space = SyntheticEstimator(), get_space("nb201")
    best = est.score(space, est.optimum(space))
    return est, (lambda a: est.score(space, space.from_str(a))), best     # a race's truth reads event strings


def test_trace_regret_is_best_minus_truth_of_the_val_incumbent():
    est, truth, best = _synthetic_truth()
    res = race.race(["evolution"], est, [3], budget=40, truth=truth, best=best)
    trace = res["evolution"][0]
    run = search("nb201", "evolution", est, budget=40, seed=3)
    # brute force: after each evaluation, the incumbent is the best by val so far
    inc, expect, spent, costs = None, [], 0.0, []
    for ev in run.evaluations:
        if inc is None or ev.val_acc > inc.val_acc:
            inc = ev
        expect.append(best - truth(str(inc.arch)))
        spent += ev.cost
        costs.append(spent)
    assert trace.regret == pytest.approx(expect) and trace.seconds == pytest.approx(costs)
    assert trace.queries == list(range(1, 41)) and trace.incumbent == str(inc.arch) and trace.final == expect[-1]


def test_regret_at_is_a_step_function():
    t = Trace("x", 0, queries=[1, 2, 3], seconds=[10.0, 25.0, 40.0], regret=[3.0, 1.0, 0.5])
    m = race.regret_at([t], [0, 10, 24.9, 25, 100], "seconds")
    assert np.isnan(m[0, 0]) and m[0, 1:].tolist() == [3.0, 3.0, 1.0, 0.5]
    assert race.regret_at([t], [2], "queries")[0, 0] == 1.0
    with pytest.raises(RaceError, match="seconds"):
        race.regret_at([t], [1], "minutes")


def test_summary_and_compare_find_a_real_difference():
    est, truth, best = _synthetic_truth()
    res = race.race({"random": None, "local": None}, est, range(12), budget=60, truth=truth, best=best)
    rows = race.summary(res)
    assert [r["strategy"] for r in rows] == sorted(res, key=lambda n: np.mean([t.final for t in res[n]]))
    for r in rows:
        lo, hi = r["ci"]
        assert lo <= r["mean"] <= hi and r["runs"] == 12
    pairs = race.compare(res)
    assert len(pairs) == 1 and 0 <= pairs[0]["p"] <= pairs[0]["p_holm"] <= 1
    from scipy.stats import mannwhitneyu
    f = race.finals(res)
    assert pairs[0]["p"] == pytest.approx(mannwhitneyu(f["random"], f["local"], alternative="two-sided").pvalue)


def test_holm_correction_against_hand_computation():
    res = {n: [Trace(n, s, [1], [1.0], [v]) for s, v in enumerate(vals)]
           for n, vals in {"a": [0, 0, 0, 0, 0, 0.1], "b": [1, 1, 1, 1, 1.1, 1], "c": [0, 0.1, 0, 0, 0, 0]}.items()}
    pairs = race.compare(res)
    ps = sorted(p["p"] for p in pairs)
    holm = sorted(p["p_holm"] for p in pairs)
    assert holm[0] == pytest.approx(min(1, 3 * ps[0]))
    assert holm[1] == pytest.approx(max(holm[0], min(1, 2 * ps[1])))
    assert holm[2] == pytest.approx(max(holm[1], ps[2]))
    ab = next(p for p in pairs if {p["a"], p["b"]} == {"a", "b"})
    assert ab["significant"] and "a has lower regret than b" in ab["statement"]
    assert ab["better"] == "a"
    ac = next(p for p in pairs if {p["a"], p["b"]} == {"a", "c"})
    assert not ac["significant"] and ac["better"] is None            # a and c are the same runs, reordered


def test_time_budget_and_bad_input():
    est, truth, best = _synthetic_truth()
    res = race.race(["random"], est, [0, 1], budget=1000, time_budget=300.0, truth=truth, best=best)
    assert all(t.seconds[-1] >= 300.0 and t.seconds[-2] < 300.0 for t in res["random"])
    with pytest.raises(RaceError, match="at least one strategy"):
        race.race([], est, [0], budget=3, truth=truth, best=best)
    with pytest.raises(RaceError, match="at least one seed"):
        race.race(["random"], est, [], budget=3, truth=truth, best=best)
    with pytest.raises(RaceError, match="together with truth"):
        race.race(["random"], est, [0], budget=3, truth=truth)
    with pytest.raises(RaceError, match="table estimator"):
        race.race(["random"], est, [0], budget=3, truth=truth, best=best, workers=2)
    with pytest.raises(RaceError, match="workers"):
        race.race(["random"], est, [0], budget=3, truth=truth, best=best, workers=0)
    with pytest.raises(RaceError, match="give truth .* together with best"):
        race.race(["random"], est, [0], budget=3, best=best)


def test_a_time_budgeted_race_is_judged_at_its_budget():
    """The last evaluation of each run ends past the budget (the driver checks before it asks), by a
    different amount per strategy: finals, summary and compare read the runs at the budget."""
    est, truth, best = _synthetic_truth()
    res = race.race(["random"], est, [0, 1, 2], budget=1000, time_budget=300.0, truth=truth, best=best)
    at_budget = race.finals(res, at=300.0)["random"]
    assert race.finals(res)["random"] == at_budget
    assert [t.used for t in res["random"]] == [t.queries[-2] for t in res["random"]]
    assert race.summary(res)[0]["mean"] == pytest.approx(float(np.mean(at_budget)))


def test_compare_takes_the_direction_from_the_rank_test_not_the_means():
    """Skewed regrets: A ends on the optimum in 9 of 10 runs and far off once (mean 1.0), B always 0.5
    away (mean 0.5). The rank test says A tends lower; so must the statement."""
    def traces(name, values):
        return [Trace(name, i, [1], [1.0], [v]) for i, v in enumerate(values)]
    (pair,) = race.compare({"A": traces("A", [0.0] * 9 + [10.0]), "B": traces("B", [0.5] * 10)})
    assert pair["significant"] and pair["better"] == "A" and pair["a_lower"] == pytest.approx(0.9)
    assert pair["statement"].startswith("A has lower regret than B")


def test_on_the_shipped_table_workers_give_the_same_race():
    from nasbench_lab.bench import default_path
    from nasbench_lab.estimators.table import TableEstimator
    if not default_path().exists():
        pytest.skip("no shipped table")
    est = TableEstimator()
    truth, best = race.table_truth(est.table)
    assert best == pytest.approx(float(np.nanmax(est.table.scores(None, "test_acc"))))
    a = race.race(["evolution", "hyperband"], est, range(3), budget=60, time_budget=60.0)
    b = race.race(["evolution", "hyperband"], est, range(3), budget=60, time_budget=60.0, workers=2)
    for n in a:
        assert [(t.seed, t.regret, t.seconds) for t in a[n]] == [(t.seed, t.regret, t.seconds) for t in b[n]]
    assert all(min(t.regret) >= 0 for ts in a.values() for t in ts)


def test_a_race_on_a_proxy_setting_is_judged_by_its_target_truth():
    """Searching the 1-epoch proxy (laptop-lowfi) is the proxy pitfall; its regret is measured against
    the target task (laptop), not against the proxy's own 1-epoch test accuracy."""
    from nasbench_lab.bench import BenchTable
    table = BenchTable()
    assert table.protocol("laptop-lowfi").proxy_of == "laptop"
    truth, best = race.table_truth(table, "laptop-lowfi")
    assert (truth, best)[1] == race.table_truth(table, "laptop")[1] == pytest.approx(77.18, abs=0.01)
