"""The zero-cost-guided strategy: it evaluates the proxy's best of each pool, charges the scoring time,
and warm-starts regularized evolution or the predictor."""
from __future__ import annotations

import pytest

from nasbench_lab import EventLog, get_space, search
from nasbench_lab.strategies import StrategyError
from nasbench_lab.zerocost import score

OPTS = {"pool": 6, "top": 2, "scores": "compute", "proxy": "params"}


def test_each_pool_yields_its_best_scored_cells_and_the_time_is_charged():
    log = EventLog()
    res = search("nb201", "zerocost_guided", "synthetic", budget=6, seed=0, strategy_options=OPTS, on_event=log)
    pools = log.of("zerocost")
    assert len(pools) == 3 and all(p.payload["scored"] == 6 for p in pools)
    chosen = [c["arch"] for p in pools for c in p.payload["chosen"]]
    assert [str(e.arch) for e in res.evaluations] == chosen
    space = get_space("nb201")
    for p in pools:                                  # the chosen are the pool's best by the proxy, in order
        scores = [c["score"] for c in p.payload["chosen"]]
        assert scores == sorted(scores, reverse=True)
        assert scores[0] == pytest.approx(score(space, space.from_str(p.payload["chosen"][0]["arch"]), "params", image_size=16,
                                                skeleton={"C": 8, "N": 1}))
    last = log.of("evaluation")[-1].payload
    assert last["elapsed_cost"] > sum(e.cost for e in res.evaluations)   # scoring seconds are counted


def test_evolution_warm_start_uses_the_proxys_best_as_population():
    log = EventLog()
    res = search("nb201", "zerocost_guided", "synthetic", budget=14, seed=1, on_event=log,
                 strategy_options={**OPTS, "then": "evolution", "population": 4, "sample": 2})
    first = log.of("zerocost")
    assert len(first) == 1                           # one pool, then evolution
    assert [str(e.arch) for e in res.evaluations[:4]] == [c["arch"] for c in first[0].payload["chosen"]]
    pops = log.of("population")
    assert pops and all(len([m for m in p.payload["members"] if m["alive"]]) <= 4 for p in pops)
    assert any(m["parent"] is not None for m in pops[-1].payload["members"])   # children of the warm start


def test_predictor_warm_start_fits_its_first_surrogate_on_the_proxys_best():
    log = EventLog()
    res = search("nb201", "zerocost_guided", "synthetic", budget=16, seed=2, on_event=log,
                 strategy_options={**OPTS, "then": "predictor", "population": 5})
    first = log.of("zerocost")
    assert len(first) == 1                           # one pool, then the predictor: no random initial cells
    assert [str(e.arch) for e in res.evaluations[:5]] == [c["arch"] for c in first[0].payload["chosen"]]
    rounds = log.of("predictor")
    assert rounds and rounds[0].payload["train_size"] == 5
    chosen = {c["arch"] for r in rounds for c in r.payload["chosen"]}
    assert {str(e.arch) for e in res.evaluations[5:]} <= chosen   # every later cell is a surrogate's pick
    space = get_space("nb201")
    assert len({space.canonical(e.arch) for e in res.evaluations}) == 16   # no repeats


def test_shipped_scores_and_bad_options():
    from nasbench_lab.strategies.zerocost_guided import SHIPPED
    if SHIPPED.exists():
        res = search("nb201", "zerocost_guided", "synthetic", budget=5, seed=0, strategy_options={"scores": "shipped"})
        assert len(res.evaluations) == 5
    with pytest.raises(StrategyError, match="nb201 only"):
        search("chain", "zerocost_guided", "synthetic", budget=2, strategy_options={"scores": "shipped"})
    with pytest.raises(StrategyError, match="'proxy' must be one of"):
        search("nb201", "zerocost_guided", "synthetic", budget=2, strategy_options={"proxy": "magic"})
    with pytest.raises(StrategyError, match="top"):
        search("nb201", "zerocost_guided", "synthetic", budget=2, strategy_options={"pool": 3, "top": 5})
