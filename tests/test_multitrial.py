"""Multi-trial strategies (random, evolution, reinforce, local), the synthetic estimator, objectives.

The strategy x space smoke grid is parametrised over the registries, so a new multi-trial strategy or
space is tested automatically. The statistical test compares strategies on the synthetic estimator,
whose global optimum is known, over a fixed set of seeds (see ``test_beats_random``).
"""
from __future__ import annotations

import math
import random
import statistics

import pytest

from nasbench_lab import EventLog, get_space, list_spaces, list_strategies, search
from nasbench_lab.objectives import ObjectiveError, Objective, objective_spec, parse_objective
from nasbench_lab.strategies import StrategyError, strategy_class
from nasbench_lab.estimators.synthetic import SyntheticEstimator

MULTI_TRIAL = [s for s in list_strategies() if strategy_class(s).family == "multi-trial"]
# Smoke options where a default is sized for real runs: zero-cost scoring of 100-cell pools of DARTS
# networks would make the smoke test slow, not more thorough.
SMOKE_OPTIONS = {"zerocost_guided": {"pool": 8, "top": 3, "scores": "compute"}}


def test_the_issue_strategies_are_registered():
    assert {"random", "evolution", "reinforce", "local"} <= set(MULTI_TRIAL)


# ---------------------------------------------------------------------- every strategy on every space
@pytest.mark.parametrize("space", list_spaces())
@pytest.mark.parametrize("strategy", MULTI_TRIAL)
def test_every_strategy_on_every_space(strategy, space):
    log = EventLog()
    res = search(space, strategy, "synthetic", budget=12, seed=3, on_event=log,
                 strategy_options=SMOKE_OPTIONS.get(strategy))
    sp = get_space(space)
    assert len(res.evaluations) == 12
    for ev in res.evaluations:
        assert sp.check(ev.arch) is ev.arch                        # a valid architecture value of the space
    objs = [e.payload["objective"] for e in log.of("evaluation")]
    assert res.best.val_acc == max(e.val_acc for e in res.evaluations) and max(objs) == res.best.val_acc
    assert [e.kind for e in log.events][0] == "run_started" and log.events[-1].kind == "run_finished"


def test_same_seed_same_run_different_seed_different_run():
    for strategy in ("evolution", "reinforce", "local"):
        a = search("nb201", strategy, "synthetic", budget=25, seed=5)
        b = search("nb201", strategy, "synthetic", budget=25, seed=5)
        c = search("nb201", strategy, "synthetic", budget=25, seed=6)
        assert [e.arch for e in a.evaluations] == [e.arch for e in b.evaluations], strategy
        assert [e.arch for e in a.evaluations] != [e.arch for e in c.evaluations], strategy


def test_bad_strategy_options_name_the_problem():
    with pytest.raises(StrategyError, match="sample"):
        search("nb201", "evolution", "synthetic", budget=5, strategy_options={"population": 4, "sample": 9})
    with pytest.raises(StrategyError, match="unknown option"):
        search("nb201", "local", "synthetic", budget=5, strategy_options={"bogus": 1})
    with pytest.raises(StrategyError, match="lr"):
        search("nb201", "reinforce", "synthetic", budget=5, strategy_options={"lr": -1})


# ---------------------------------------------------------------------- synthetic estimator (oracle)
def test_synthetic_optimum_is_the_brute_force_optimum_on_nb201():
    sp, est = get_space("nb201"), SyntheticEstimator()
    for seed in (0, 1):
        scores = {sp.to_str(a): est.evaluate(sp, a, seed=seed).val_acc for a in sp.enumerate()}
        best = max(scores, key=scores.get)
        assert best == sp.to_str(est.optimum(sp))
        runner_up = sorted(scores.values())[-2]
        assert scores[best] - runner_up > 0.5 * (55.0 / est.landscape(sp).max_raw)  # a strict optimum


@pytest.mark.parametrize("space", list_spaces())
def test_synthetic_optimum_beats_all_its_neighbours(space):
    sp, est = get_space(space), SyntheticEstimator()
    opt = est.optimum(sp)
    top = est.evaluate(sp, opt, seed=7).val_acc
    assert est.score(sp, opt) == pytest.approx(95.0)
    assert all(est.evaluate(sp, n, seed=7).val_acc < top for n in sp.neighbours(opt))
    again = est.evaluate(sp, sp.from_str(sp.to_str(opt)), seed=7)          # deterministic
    assert again.val_acc == top and set(again.metrics) >= {"params", "flops", "latency_ms"}


# ---------------------------------------------------------------------- statistical test
SEEDS = range(12)


def _regrets(space, strategy, budget):
    sp, est = get_space(space), SyntheticEstimator()
    opt = est.score(sp, est.optimum(sp))
    return [opt - est.score(sp, search(sp, strategy, est, budget=budget, seed=s).best.arch) for s in SEEDS]


@pytest.mark.parametrize("space,strategy", [("nb201", "evolution"), ("nb201", "reinforce"),
                                            ("mobile", "evolution"), ("mobile", "reinforce"),
                                            ("mobile", "predictor")])
def test_beats_random(space, strategy):
    """Evolution and REINFORCE beat random search at equal budget (100 evaluations), seeds 0-11.

    Regret = (noiseless score of the optimum) - (noiseless score of the best architecture found), in
    accuracy points. Two conditions, both required: the mean regret is at least 5 points lower than
    random's, and the strategy has the lower regret on at least 10 of the 12 seeds (a one-sided sign
    test, p = 0.019 under "no better than random"). Measured when written: random ~19.5 (nb201) and
    ~31 (mobile); evolution ~4 / ~19; REINFORCE ~4 / ~12, winning 16/16 on nb201 and 14-16/16 on
    mobile over seeds 0-15; the margins guard against a regression, not a lucky run. (The predictor
    finds the optimum almost every time here: the synthetic landscape is nearly additive, which suits
    its linear surrogate far better than real accuracies do.)
    """
    base = _regrets(space, "random", 100)
    mine = _regrets(space, strategy, 100)
    wins = sum(m < b for m, b in zip(mine, base))
    p = sum(math.comb(len(SEEDS), k) for k in range(wins, len(SEEDS) + 1)) / 2 ** len(SEEDS)
    assert statistics.mean(base) - statistics.mean(mine) >= 5.0, (base, mine)
    assert wins >= 10 and p < 0.05, (wins, base, mine)


# ---------------------------------------------------------------------- evolution
def test_evolution_aging_removes_the_oldest_and_keeps_p_members():
    log = EventLog()
    search("nb201", "evolution", "synthetic", budget=40, seed=1, on_event=log,
           strategy_options={"population": 8, "sample": 3})
    pops = log.of("population")
    assert [e.payload["generation"] for e in pops] == list(range(1, 41))
    born = {}
    for e in pops:
        alive = [m for m in e.payload["members"] if m["alive"]]
        assert len(alive) == min(8, e.payload["generation"])
        for m in e.payload["members"]:
            born.setdefault(m["id"], e.payload["generation"])
            assert set(m) >= {"id", "arch", "fitness", "age", "parent", "alive"}
        if e.payload["removed"]:
            (rid,) = e.payload["removed"]
            assert rid == min(m["id"] for m in e.payload["members"])         # the oldest dies
            assert not [m for m in e.payload["members"] if m["id"] == rid][0]["alive"]
    first_children = [m for e in pops for m in e.payload["members"] if m["id"] >= 8]
    assert all(m["parent"] is not None for m in first_children)                # mutants know their parent
    assert all(m["parent"] is None for e in pops[:8] for m in e.payload["members"])


def test_non_aging_removes_the_worst_and_crossover_links_two_parents():
    log = EventLog()
    search("nb201", "evolution", "synthetic", budget=40, seed=2, on_event=log,
           strategy_options={"population": 8, "sample": 3, "aging": False, "crossover": 0.5})
    for e in log.of("population"):
        if e.payload["removed"]:
            (rid,) = e.payload["removed"]
            fit = {m["id"]: m["fitness"] for m in e.payload["members"]}
            assert fit[rid] == min(fit.values())
    kids = [m for e in log.of("population") for m in e.payload["members"]]
    assert any(m.get("parent2") is not None for m in kids)


# ---------------------------------------------------------------------- reinforce
def test_reinforce_controller_events():
    log = EventLog()
    sp = get_space("chain")
    search(sp, "reinforce", "synthetic", budget=20, seed=0, on_event=log, strategy_options={"batch": 5})
    ctl = log.of("controller")
    assert [e.payload["step"] for e in ctl] == [1, 2, 3, 4]
    for e in ctl:
        p = e.payload
        assert p["decisions"] == [d.name for d in sp.decisions()]
        assert [len(row) for row in p["probs"]] == [len(d.choices) for d in sp.decisions()]
        assert all(abs(sum(row) - 1) < 1e-3 for row in p["probs"])
        assert 0 < p["entropy"] <= math.log(6) + 1e-6 and 40 <= p["reward_mean"] <= 100
        assert p["baseline"] is not None


def test_reinforce_learns_the_preferred_choices():
    """After 200 rewards the controller puts more mass on the optimum's choices than uniform does."""
    log = EventLog()
    sp, est = get_space("nb201"), SyntheticEstimator()
    search(sp, "reinforce", est, budget=200, seed=0, on_event=log)
    last = log.of("controller")[-1].payload["probs"]
    pref = est.landscape(sp).preferred
    assert statistics.mean(row[p] for row, p in zip(last, pref)) > 0.5       # uniform: 0.2


def test_reinforce_independent_policy_learns_and_reports():
    """The NB201 paper's policy (one softmax per decision): starts uniform, learns the optimum's choices,
    and its controller events have the same form as the LSTM's."""
    log = EventLog()
    sp, est = get_space("nb201"), SyntheticEstimator()
    # lr 0.1: Adam moves each logit by about lr per update, and 200 rewards are only 40 updates
    search(sp, "reinforce", est, budget=200, seed=0, on_event=log,
           strategy_options={"controller": "independent", "lr": 0.1})
    ctl = log.of("controller")
    first, last = ctl[0].payload, ctl[-1].payload
    assert [len(r) for r in first["probs"]] == [len(d.choices) for d in sp.decisions()]
    assert first["entropy"] == pytest.approx(math.log(5), abs=1e-5)           # uniform before the first update
    pref = est.landscape(sp).preferred
    assert statistics.mean(row[p] for row, p in zip(last["probs"], pref)) > 0.5
    assert last["entropy"] < first["entropy"]


def test_reinforce_rejects_an_unknown_controller():
    with pytest.raises(StrategyError, match="'controller' must be one of"):
        search("nb201", "reinforce", "synthetic", budget=5, strategy_options={"controller": "gru"})


# ---------------------------------------------------------------------- local search
def test_local_search_climbs_and_never_reevaluates():
    log = EventLog()
    res = search("nb201", "local", "synthetic", budget=150, seed=0, on_event=log)
    sp = get_space("nb201")
    canon = [sp.canonical(e.arch) for e in res.evaluations]
    assert len(set(canon)) == len(canon)                              # memory of seen architectures
    moves = [e.payload for e in log.of("local")]
    assert moves[0]["move"] == "start" and any(m["move"] == "restart" for m in moves)
    for a, b in zip(moves, moves[1:]):
        if b["move"] == "improve":
            assert b["fitness"] > a["fitness"]                        # hill climbing only goes up


def test_first_improvement_variant_runs():
    res = search("darts", "local", "synthetic", budget=60, seed=0, strategy_options={"first_improvement": True})
    assert len(res.evaluations) == 60


# ---------------------------------------------------------------------- predictor
def test_predictor_rounds_propose_unseen_candidates():
    log = EventLog()
    res = search("chain", "predictor", "synthetic", budget=40, seed=0, on_event=log,
                 strategy_options={"initial": 10, "batch": 5})
    rounds = [e.payload for e in log.of("predictor")]
    assert [r["round"] for r in rounds] == list(range(1, 7)) and rounds[0]["train_size"] == 10
    assert all(len(r["chosen"]) == 5 and r["candidates"] >= 5 for r in rounds)
    assert rounds[-1]["fit_corr"] > 0.5                               # the surrogate fits what it saw
    sp = get_space("chain")
    canon = [sp.canonical(e.arch) for e in res.evaluations]
    assert len(set(canon)) == len(canon)


# ---------------------------------------------------------------------- objectives
def _ev(val, **m):
    from nasbench_lab.estimators import Evaluation
    return Evaluation("x", val, None, 0.0, m)


def test_objective_parsing_and_values():
    assert parse_objective(None)(_ev(80.0)) == 80.0
    assert parse_objective("accuracy")(_ev(80.0)) == 80.0
    hard = parse_objective("flops<=20M")
    assert isinstance(hard, Objective) and hard.limits[0].limit == 20e6
    assert hard(_ev(70.0, flops=10e6)) == 70.0
    assert hard(_ev(99.0, flops=30e6)) == pytest.approx(-1.5)       # infeasible: below every feasible one
    soft = parse_objective("params:target=1e5")                      # MnasNet w = -0.07
    assert soft(_ev(80.0, params=2e5)) == pytest.approx(80.0 * 2 ** -0.07)
    assert soft(_ev(80.0, params=5e4)) == pytest.approx(80.0 * 0.5 ** -0.07)
    asym = parse_objective("latency:target=5,alpha=0,beta=-1")
    assert asym(_ev(80.0, latency_ms=2.0)) == 80.0 and asym(_ev(80.0, latency_ms=10.0)) == pytest.approx(40.0)
    both = parse_objective("params:target=1e5,w=-0.1; latency_ms<=8")
    assert both(_ev(80.0, params=1e5, latency_ms=9.0)) < 0
    assert objective_spec(parse_objective(both.spec)) == both.spec                   # round trip (resume)


@pytest.mark.parametrize("spec,words", [
    ("flops<20e6", "only '<='"), ("flop<=abc", "not a number"), ("speed<=3", "unknown metric"),
    ("params:w=-0.1", "needs target"), ("params:target=1e5,gamma=2", "expected target"),
    ("params<=-5", "positive"), ("", "empty objective"), ("accuracy;;flops<=1", "empty term"),
    ("params:target=1,w=1,alpha=0", "not both"), ("maximise it", "not understood")])
def test_objective_errors_name_the_problem(spec, words):
    with pytest.raises(ObjectiveError, match=words):
        parse_objective(spec)


def test_missing_metric_fails_the_run_with_a_clear_error():
    from nasbench_lab.estimators import Estimator, Evaluation

    class NoMetrics(Estimator):
        name = "nometrics"

        def evaluate(self, space, arch, seed=0, emit=None, stop=None):
            return Evaluation(arch, 50.0)

    with pytest.raises(ObjectiveError, match="latency_ms"):
        search("nb201", "random", NoMetrics(), budget=3, objective="latency_ms<=5")


def test_hard_limit_changes_the_answer_on_every_strategy():
    """The 'ignoring hardware' pitfall: the accuracy optimum is heavy; a FLOPs limit finds another cell."""
    sp, est = get_space("nb201"), SyntheticEstimator()
    opt = est.evaluate(sp, est.optimum(sp))
    limit = 0.6 * opt.metrics["flops"]
    spec = f"flops<={limit}"
    feasible = [e for e in (est.evaluate(sp, a) for a in sp.enumerate()) if e.metrics["flops"] <= limit]
    best_feasible = max(e.val_acc for e in feasible)
    assert best_feasible < opt.val_acc
    for strategy in ("random", "evolution", "reinforce", "local"):
        res = search(sp, strategy, est, budget=120, seed=0, objective=spec)
        assert res.best.metrics["flops"] <= limit, strategy
        assert res.best.val_acc <= best_feasible


def test_soft_penalty_prefers_lighter_networks():
    res_acc = [search("nb201", "evolution", "synthetic", budget=150, seed=s) for s in range(4)]
    res_pen = [search("nb201", "evolution", "synthetic", budget=150, seed=s,
                      objective="params:target=1e5,w=-0.3") for s in range(4)]
    mean_params = lambda rs: statistics.mean(r.best.metrics["params"] for r in rs)  # noqa: E731
    assert mean_params(res_pen) < mean_params(res_acc)


def test_rng_is_the_callers():
    """Strategies draw only from the run's random.Random: the global random module is untouched."""
    state = random.getstate()
    search("nb201", "evolution", "synthetic", budget=30, seed=0)
    search("nb201", "local", "synthetic", budget=30, seed=0)
    assert random.getstate() == state
