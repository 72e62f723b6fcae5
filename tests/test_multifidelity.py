"""Multi-fidelity strategies (successive halving, Hyperband), TPE through Optuna, and time budgets.

Oracles: the rung ladder and Hyperband's bracket sizes against Li et al. (JMLR 2018, Table 1: R=81,
eta=3), promotions against a brute-force sort of the rung's scores, and the simulated cost of a
promoted trial against the table's own record (the first epochs are not paid twice).
"""
from __future__ import annotations

from collections import Counter

import pytest

import nasbench_lab as nl
from nasbench_lab import EventLog, search
from nasbench_lab.strategies import StrategyError
from nasbench_lab.strategies.successive_halving import rung_epochs
from nasbench_lab.estimators.synthetic import SyntheticEstimator


def test_rung_ladder():
    assert rung_epochs(1, 81, 3) == [1, 3, 9, 27, 81]
    assert rung_epochs(1, 2, 2) == [1, 2]            # the laptop table: 2 epochs per cell
    assert rung_epochs(1, 3, 2) == [2, 3]            # the GPU setting: 3 epochs
    assert rung_epochs(1, 2, 3) == [2]               # eta 3 on 2 epochs: one rung, i.e. random search
    with pytest.raises(StrategyError, match="below min_epochs"):
        rung_epochs(4, 2, 2)


def test_hyperband_brackets_match_li_et_al_table_1():
    """R = 81, eta = 3: brackets s = 4..0 train (81, 27, 9, 3, 1), (34, 11, 3, 1), (15, 5, 1), (8, 2), (5)
    architectures at (1, 3, 9, 27, 81), (3, 9, 27, 81), (9, 27, 81), (27, 81), (81) epochs."""
    log = EventLog()
    n = 81 + 27 + 9 + 3 + 1 + 34 + 11 + 3 + 1 + 15 + 5 + 1 + 8 + 2 + 5
    search("nb201", "hyperband", SyntheticEstimator(epochs=81), budget=n, seed=0, on_event=log,
           strategy_options={"eta": 3})
    rungs = [(e.payload["s"], e.payload["epochs"], len(e.payload["archs"])) for e in log.of("rung")]
    assert rungs == [(4, 1, 81), (4, 3, 27), (4, 9, 9), (4, 27, 3), (4, 81, 1),
                     (3, 3, 34), (3, 9, 11), (3, 27, 3), (3, 81, 1),
                     (2, 9, 15), (2, 27, 5), (2, 81, 1), (1, 27, 8), (1, 81, 2), (0, 81, 5)]


def test_successive_halving_promotes_the_best_and_continues_them():
    log = EventLog()
    est = SyntheticEstimator(epochs=4)
    res = search("nb201", "successive_halving", est, budget=16 + 8 + 4, seed=1, on_event=log,
                 strategy_options={"n": 16, "eta": 2})
    r0, r1, r2 = log.of("rung")[:3]
    assert [r.payload["epochs"] for r in (r0, r1, r2)] == [1, 2, 4]
    ranked = [a for _, a in sorted(zip(r0.payload["scores"], r0.payload["archs"]), key=lambda t: -t[0])]
    assert r0.payload["promoted"] == ranked[:8] and r1.payload["archs"] == ranked[:8]
    epochs = [e.metrics["epochs"] for e in res.evaluations]
    assert epochs == [1] * 16 + [2] * 8 + [4] * 4
    # partial rungs are never the best, and the best is one of the fully trained four
    assert res.best.metrics["epochs"] == 4 and res.best.test_acc is not None
    assert all(e.metrics.get("partial") for e in res.evaluations[:24])
    # a promoted trial pays only for the epochs it adds: rungs 1 + 2 + 4 epochs cost one full training
    a = res.evaluations[-1].arch
    paid = sum(e.cost for e in res.evaluations if e.arch == a)
    assert paid == pytest.approx(est.evaluate(nl.get_space("nb201"), a).cost, rel=1e-3)


def test_multi_fidelity_on_the_shipped_table():
    from nasbench_lab.bench import BenchTable, default_path
    if not default_path().exists():
        pytest.skip("no shipped table")
    table = BenchTable()
    log = EventLog()
    res = search("nb201", "hyperband", "table", budget=30, seed=0, on_event=log)
    assert {e.metrics["epochs"] for e in res.evaluations} == {1, 2}
    first = res.evaluations[0]
    rec = table.query(first.arch, seed=first.metrics["table_seed"], epoch=1)
    assert first.metrics["partial"] and first.val_acc == rec["val_acc"] and first.test_acc is None
    assert first.metrics["curve"] == rec["val_curve"][:1]          # no peeking at the later epoch
    promoted = [e for e in res.evaluations if e.metrics["epochs"] == 2 and e.arch in
                {x.arch for x in res.evaluations if x.metrics["epochs"] == 1}]
    assert promoted
    full = table.query(promoted[0].arch, seed=promoted[0].metrics["table_seed"])
    assert promoted[0].cost == pytest.approx(full["cost"] / 2, rel=1e-6)   # the second of two epochs


def test_a_fixed_epoch_table_cannot_run_hyperband():
    from nasbench_lab.bench import default_path
    if not default_path().exists():
        pytest.skip("no shipped table")
    with pytest.raises(StrategyError, match="its epoch option fixes one"):
        search("nb201", "hyperband", "table", budget=5, estimator_options={"epoch": 1})


@pytest.mark.slow
def test_hyperband_really_trains_for_the_rung_epochs():
    fid = {"epochs": 2, "train_subset": 64, "val_subset": 32, "test_subset": 32, "batch_size": 32}
    res = search("nb201", "successive_halving", "train", budget=3, dataset="synthetic", device="cpu",
                 estimator_options={"fidelity": fid}, strategy_options={"n": 2})
    assert [len(e.metrics["curve"]) for e in res.evaluations] == [1, 1, 2]
    assert res.evaluations[0].metrics["partial"] and "partial" not in res.evaluations[2].metrics


@pytest.mark.parametrize("strategy", ["random", "evolution", "hyperband", "tpe"])
def test_time_budget_stops_on_simulated_seconds(strategy):
    res = search("nb201", strategy, "synthetic", budget=10_000, seed=2, time_budget=500.0)
    spent = [e.cost for e in res.evaluations]
    assert sum(spent) >= 500.0 and sum(spent[:-1]) < 500.0     # stops at the first evaluation past it
    log = EventLog()
    search("nb201", strategy, "synthetic", budget=10_000, seed=2, time_budget=500.0, on_event=log)
    last = log.of("evaluation")[-1].payload
    assert last["elapsed_cost"] == pytest.approx(sum(spent))
    assert log.of("run_started")[0].payload["config"]["time_budget"] == 500.0


def test_time_budget_resume_keeps_it(tmp_path):
    st = nl.open_store(tmp_path / "s.sqlite")
    stop = nl.StopFlag()
    part = search("nb201", "hyperband", "synthetic", budget=10_000, seed=4, time_budget=400.0, store=st, stop=stop,
                  on_event=lambda ev: stop.set() if ev.kind == "evaluation" and ev.payload["index"] == 5 else None)
    full = search("nb201", "hyperband", "synthetic", budget=10_000, seed=4, time_budget=400.0)
    res = nl.resume(part.run_id, st)
    assert [(e.arch, e.metrics["epochs"]) for e in res.evaluations] == [(e.arch, e.metrics["epochs"])
                                                                       for e in full.evaluations]


def test_tpe_beats_random_on_the_synthetic_landscape():
    """TPE models which choices score well; on the nearly additive synthetic landscape it must find
    better cells than uniform sampling with the same 60 queries (12 seeds, means)."""
    tpe = [search("nb201", "tpe", "synthetic", budget=60, seed=s).best.val_acc for s in range(12)]
    rnd = [search("nb201", "random", "synthetic", budget=60, seed=s).best.val_acc for s in range(12)]
    assert sum(tpe) / 12 > sum(rnd) / 12


def test_tpe_never_spends_a_query_on_a_cell_it_has_seen():
    space = nl.get_space("nb201")
    res = search("nb201", "tpe", "synthetic", budget=80, seed=3)
    canon = Counter(space.canonical(e.arch) for e in res.evaluations)
    assert max(canon.values()) == 1


def test_tpe_without_optuna_says_how_to_get_it(monkeypatch):
    import builtins
    real = builtins.__import__

    def no_optuna(name, *a, **k):
        if name == "optuna" or name.startswith("optuna."):
            raise ImportError(name)
        return real(name, *a, **k)
    monkeypatch.setattr(builtins, "__import__", no_optuna)
    with pytest.raises(StrategyError, match=r"nasbench_lab\[bo\]"):
        search("nb201", "tpe", "synthetic", budget=3)


def test_tpe_is_silent(capfd):
    search("nb201", "tpe", "synthetic", budget=15, seed=0)
    out, err = capfd.readouterr()
    assert out == "" and err == ""
