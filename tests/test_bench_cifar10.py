"""The CIFAR-10 table (AnalogNAS-Bench): the mapping proved with data, the restricted reader, the cache,
every string answering, truths over isomorphic trainings, and the estimator, CLI and races on it."""
import io
import json
import os
import pickle
import random
import subprocess
import sys

import numpy as np
import pytest

from nasbench_lab.bench import analognas, cifar10
from nasbench_lab.bench.analognas import NASLIB_EDGES, NASLIB_OPS
from nasbench_lab.bench.table import TableError
from nasbench_lab.spaces import get_space

pytest.importorskip("scipy")
NB201_BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"


@pytest.fixture(scope="module")
def source():
    """The installed package's data file (the test extra installs analog-nasbench: no skip)."""
    path, version = analognas.locate()
    return path, version


@pytest.fixture(scope="module")
def data(source):
    return analognas.read_source(source[0])


@pytest.fixture(scope="module")
def table():
    from nasbench_lab.bench.cifar10 import Cifar10Table
    return Cifar10Table()


# ---------------------------------------------------------------------- the mapping, proved with data
def test_naslib_mapping_makes_isomorphic_trainings_agree(data):
    tau, classes = analognas.isomorphic_agreement(data)
    assert classes == 1350                       # cells of two or more strings under NB201's isomorphism rule
    assert tau > 0.85, tau                       # independent trainings of one cell agree


@pytest.mark.parametrize("ops,edges,why", [
    (NASLIB_OPS, ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3)), "the NB201 string's edge order"),
    (("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"), NASLIB_EDGES, "NB201's op order"),
    (("none", "skip_connect", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3"), NASLIB_EDGES, "skip and none swapped"),
    (NASLIB_OPS, ((0, 1), (0, 2), (0, 3), (1, 2), (2, 3), (1, 3)), "two edges swapped"),
])
def test_a_wrong_mapping_destroys_the_agreement(data, ops, edges, why):
    tau, _ = analognas.isomorphic_agreement(data, ops, edges)
    assert tau < 0.75, (why, tau)


def test_order_of_conv_and_pool_ops_checked_against_the_paper_and_params(table):
    """Permuting the three ops that are neither skip nor none (3x3, 1x1, pool) keeps isomorphism, so the
    agreement above cannot decide their order. Two facts do, for each of the 6 orders: the NB201 paper's
    best CIFAR-10 cell must rank near the top (it decides 3x3 against the others), and accuracy must rise
    with parameters the most under the right order (it decides 1x1 against pool, which the best cell
    lacks). Under a permutation pi, string s gets the record our mapping gives pi^-1(s)."""
    import itertools
    import re
    from nasbench_lab.bench.cifar10 import _tau
    space = get_space("nb201")
    own, params = table.scores("test_acc", truth=False), table._a["params"].astype(float)
    archs = [str(a) for a in space.enumerate()]
    three = ("nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
    found = {}
    for perm in itertools.permutations(three):
        inv = {p: o for o, p in zip(three, perm)}

        def back(s):
            return re.sub("|".join(three), lambda m: inv[m.group(0)], s)
        rank = int((own > own[table.row(back(NB201_BEST))]).sum()) + 1
        tau = _tau(own[[table.row(back(a)) for a in archs]], params)
        found[perm] = (rank, tau)
    right = found.pop(three)
    assert right[0] <= 20, right                                       # 3rd of 15,625 strings
    for perm, (rank, tau) in found.items():
        assert rank > 1000 or tau < right[1] - 0.1, (perm, rank, tau, right)


def test_op_indices_round_trip():
    space = get_space("nb201")
    rng = random.Random(0)
    for _ in range(200):
        a = space.sample(rng)
        assert analognas.op_indices_to_arch(analognas.arch_to_op_indices(a)) == a
    # NASLib's (0, 0, 0, 0, 0, 1): edge 2->3 is 'none', every other edge a skip
    assert str(analognas.op_indices_to_arch((0, 0, 0, 0, 0, 1))) == \
        "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|none~2|"


# ---------------------------------------------------------------------- the restricted reader
def _evil(tmp_path, marker):
    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))
    path = tmp_path / "evil.anb"
    path.write_bytes(pickle.dumps({(0, 0, 0, 0, 0, 0): Evil()}))
    return path


def test_a_crafted_file_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "ran"
    path = _evil(tmp_path, marker)
    with pytest.raises(TableError, match=r"refused to read .*(posix|os|nt)\.system"):
        analognas.read_source(path)
    assert not marker.exists()
    # and through the whole loader, with the cache folder untouched
    with pytest.raises(TableError, match="refused"):
        analognas.load_arrays(source=path, version="0.0", cache=tmp_path / "cache")
    assert not marker.exists() and not (tmp_path / "cache").exists()


def _tamper_with_the_stand_in() -> bytes:
    """A pickle that pushes an admitted class itself and BUILDs it with slot state: pickle then calls
    ``setattr`` on the class (changing it for the whole process) before anything else is checked."""
    return (b"\x80\x04" + b"c" + b"analognasbench.data\nArchitecture\n"
            + b"N}\x8c\x11baseline_accuracyG@X\xc0\x00\x00\x00\x00\x00s\x86b.")


def test_a_crafted_file_cannot_change_the_record_classes(tmp_path):
    path = tmp_path / "tamper.anb"
    path.write_bytes(_tamper_with_the_stand_in())
    with pytest.raises(TableError, match="refused to read .*sets the attribute 'baseline_accuracy'"):
        analognas.read_source(path)
    assert not hasattr(analognas._SourceRecord, "baseline_accuracy")


@pytest.mark.parametrize("payload,match", [
    (b"not a pickle at all", "not an AnalogNAS-Bench data file"),
    (pickle.dumps([1, 2, 3]), "expected a dict"),
    (pickle.dumps({"key": 1}), "not of the published form"),
    (pickle.dumps({(0, 0, 0, 0, 0, 0): io.BytesIO}), "refused"),
])
def test_foreign_or_damaged_sources_name_the_problem(tmp_path, payload, match):
    path = tmp_path / "x.anb"
    path.write_bytes(payload)
    with pytest.raises(TableError, match=match):
        analognas.read_source(path)


def test_truncated_source(tmp_path, source):
    path = tmp_path / "cut.anb"
    path.write_bytes(source[0].read_bytes()[:100_000])
    with pytest.raises(TableError, match="not an AnalogNAS-Bench data file"):
        analognas.read_source(path)


def test_missing_package_gives_one_line_naming_pip(monkeypatch):
    from importlib import metadata

    def gone(name):
        raise metadata.PackageNotFoundError(name)
    monkeypatch.setattr(metadata, "distribution", gone)
    with pytest.raises(TableError, match=r"^the CIFAR-10 table needs the AnalogNAS-Bench data: pip install analog-nasbench$"):
        analognas.locate()


# ---------------------------------------------------------------------- the cache
def test_cache_is_keyed_and_rebuilt(tmp_path, source):
    path, version = source
    arrays, meta, cache = analognas.load_arrays(source=path, version=version, cache=tmp_path)
    assert cache.parent == tmp_path and version in cache.name and meta["sha256"][:12] in cache.name
    assert meta["format"] == analognas.FORMAT and meta["records"] == 15625
    stamp = cache.stat().st_mtime_ns
    again = analognas.load_arrays(source=path, version=version, cache=tmp_path)
    assert again[2] == cache and cache.stat().st_mtime_ns == stamp          # read, not converted again
    cache.write_bytes(b"PK\x03\x04 damaged")                                # damaged: rebuilt
    fixed, _, _ = analognas.load_arrays(source=path, version=version, cache=tmp_path)
    assert np.array_equal(fixed["test_acc"], arrays["test_acc"], equal_nan=True)
    other = dict(arrays, meta=np.frombuffer(json.dumps({**meta, "sha256": "0" * 64}).encode(), np.uint8))
    np.savez_compressed(cache, **other)                                       # foreign (another source): rebuilt
    _, meta2, _ = analognas.load_arrays(source=path, version=version, cache=tmp_path)
    assert meta2["sha256"] == meta["sha256"]
    assert analognas._read_cache(cache)[1]["sha256"] == meta["sha256"]
    # another version of the package is another cache file
    _, _, cache3 = analognas.load_arrays(source=path, version="9.9", cache=tmp_path)
    assert cache3 != cache and cache3.exists()


def test_any_damage_to_the_cache_rebuilds_it(tmp_path, source):
    """Flipped bytes inside the compressed data (zlib errors), wrong dtypes or cell ids: never a traceback."""
    path, version = source
    arrays, _, cache = analognas.load_arrays(source=path, version=version, cache=tmp_path)
    good = cache.read_bytes()
    damaged = []
    for at in range(len(good) // 3, len(good) // 3 + 40 * 997, 997):         # inside the compressed members
        raw = bytearray(good)
        raw[at] ^= 0xFF
        cache.write_bytes(bytes(raw))
        damaged.append(analognas._read_cache(cache) is None)
        fixed, _, _ = analognas.load_arrays(source=path, version=version, cache=tmp_path)
        assert np.array_equal(fixed["test_acc"], arrays["test_acc"], equal_nan=True)
    assert any(damaged)
    for bad in ({"cell": arrays["cell"].astype(np.float64)}, {"cell": arrays["cell"] + 10_000},
                {"test_acc": arrays["test_acc"].astype(np.int32)}):
        np.savez_compressed(cache, **{**arrays, **bad})
        assert analognas._read_cache(cache) is None


def test_an_empty_xdg_cache_home_is_unset_not_the_current_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("NASBENCH_LAB_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", "")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert analognas.cache_dir() == tmp_path / ".cache" / "nasbench_lab"
    monkeypatch.setenv("NASBENCH_LAB_CACHE", "~/lab-cache")
    assert analognas.cache_dir() == tmp_path / "lab-cache"


def test_cache_holds_no_pickle(table):
    with np.load(table.path, allow_pickle=False) as z:        # would raise on an object array
        assert {"test_acc", "cell", "params", "macs", "meta"} <= set(z.files)


# ---------------------------------------------------------------------- queries and truths
def test_every_string_answers(table):
    space = get_space("nb201")
    rows = set()
    for a in space.enumerate():
        r = table.query(a)
        assert r["test_acc"] is not None and 0 < r["test_acc"] <= 100
        assert all(v is not None for v in r["truth"].values())
        rows.add(table.row(a))
    assert len(rows) == 15625


def test_isomorphic_strings_share_a_truth_but_keep_their_own_training(table):
    space = get_space("nb201")
    by_cell = {}
    for a in space.enumerate():
        by_cell.setdefault(table.cell(a), []).append(a)
    differing = 0
    for members in by_cell.values():
        if len(members) < 2:
            continue
        rs = [table.query(m) for m in members]
        assert len({json.dumps(r["truth"]) for r in rs}) == 1
        assert rs[0]["trainings"] == len(members)
        assert rs[0]["truth"]["test_acc"] == pytest.approx(np.mean([r["test_acc"] for r in rs]), abs=1e-3)
        differing += len({r["test_acc"] for r in rs}) > 1
    assert differing > 1000                      # own trainings really differ


def test_params_and_macs_match_built_networks(table):
    from nasbench_lab.hardware import count_macs
    from nasbench_lab.train import count_params
    space = get_space("nb201")
    rng = random.Random(3)
    for a in [space.sample(rng) for _ in range(4)] + [space.from_str(NB201_BEST)]:
        net = space.build(a, in_channels=3, num_classes=10, C=16, N=5)
        r = table.query(a)
        assert r["params"] == count_params(net)
        assert r["macs"] == count_macs(net, (3, 32, 32), dead_edges=True)
    lo, hi = table._a["macs"].min(), table._a["macs"].max()
    assert (round(lo / 1e6, 2), round(hi / 1e6, 2)) == (7.78, 220.12)       # NB201's published range


def test_info_reports_noise_floor_transfer_and_hardware(table):
    from nasbench_lab.bench import BenchTable
    info = table.info(laptop=BenchTable())
    assert 0.85 < info["noise_floor"]["kendall_tau"] < 0.95 and info["noise_floor"]["cells"] == 1350
    assert info["cells"] == 6466 and info["covered"] == 15625
    # the trainings at chance are exactly the strings whose output no path reaches
    assert info["at_chance"] == info["at_chance_disconnected"] == 341
    assert sum(not cifar10._reaches_output(a) for a in get_space("nb201").enumerate()) == 341
    assert -1 <= info["transfer"]["kendall_tau"] <= 1 and info["transfer"]["cells"] == 6466
    assert set(info["hardware"]) == set(analognas.HARDWARE_METRICS)
    from nasbench_lab.objectives import SCORES                 # what an objective may maximise: the same list
    assert SCORES == analognas.HARDWARE_METRICS
    assert info["hardware"]["ptq_acc"]["kendall_tau_vs_test_acc"] > info["hardware"]["noisy_acc"]["kendall_tau_vs_test_acc"]


# ---------------------------------------------------------------------- estimator, search, race
def test_search_chooses_on_own_training_and_reports_the_truth(table):
    import nasbench_lab as nl
    r = nl.search("nb201", "evolution", "table", budget=60, dataset="cifar10", seed=0)
    for ev in r.evaluations:
        q = table.query(ev.arch)
        assert ev.val_acc == q["test_acc"] and ev.test_acc == q["truth"]["test_acc"]
        assert ev.metrics["trainings"] == q["trainings"]
    assert r.best.val_acc == max(e.val_acc for e in r.evaluations)


def test_objective_can_name_a_hardware_accuracy():
    import nasbench_lab as nl
    r = nl.search("nb201", "random", "table", budget=40, dataset="cifar10", seed=1, objective="analog_1d; macs<=50M")
    feasible = [e for e in r.evaluations if e.metrics["macs"] <= 50e6]
    assert feasible and r.best.metrics["analog_1d"] == max(e.metrics["analog_1d"] for e in feasible)


def test_multi_fidelity_is_refused_naming_the_laptop_table():
    import nasbench_lab as nl
    with pytest.raises(ValueError, match="no learning curves.*laptop table"):
        nl.search("nb201", "hyperband", "table", budget=10, dataset="cifar10")


@pytest.mark.parametrize("opts,match", [({"epoch": 1}, "no learning curves"), ({"seed": 0}, "one training"),
                                        ({"setting": "laptop"}, "one protocol"), ({"dataset": "cifar100"}, "cifar100")])
def test_estimator_options_that_do_not_apply(opts, match):
    from nasbench_lab.estimators import get_estimator
    with pytest.raises(ValueError, match=match):
        get_estimator("table", **{"dataset": "cifar10", **opts})


def test_race_reports_regret_against_the_cell_truth(table):
    from nasbench_lab import race as R
    from nasbench_lab.estimators.table import TableEstimator
    est = TableEstimator(dataset="cifar10", table=table)
    res = R.race({"random": None, "evolution": {"population": 10, "sample": 3}}, est, seeds=range(3), budget=30)
    truth, best = table.truth()
    for traces in res.values():
        for t in traces:
            assert t.final == pytest.approx(best - truth(t.incumbent)) and t.final >= 0
            assert t.seconds[-1] > 0 if table.costs else True


def test_cli_cifar10(tmp_path):
    env = {**os.environ, "NASBENCH_LAB_OFFLINE": "1"}

    def cli(*args):
        p = subprocess.run([sys.executable, "-m", "nasbench_lab.cli", *args], capture_output=True, text=True,
                           env=env, timeout=300)
        return p.returncode, p.stdout, p.stderr
    rc, out, err = cli("search", "--space", "nb201", "--strategy", "evolution", "--estimator", "table",
                       "--dataset", "cifar10", "--budget", "50", "--json")
    assert rc == 0, err
    assert json.loads(out)["evaluations"] == 50
    rc, out, err = cli("bench", "query", "--dataset", "cifar10", NB201_BEST, "--json")
    assert rc == 0 and json.loads(out)["analog_1d"] is not None
    rc, out, err = cli("bench", "info", "--dataset", "cifar10")
    assert rc == 0 and "noise floor" in out and "AnalogNAS-Bench" in out
    for args in (("bench", "info", "--dataset", "cifar-10"), ("bench", "query", "--dataset", "imagenet", NB201_BEST),
                 ("search", "--estimator", "table", "--dataset", "cifar100", "--budget", "3"),
                 ("bench", "info", "--dataset", "cifar10", "--table", str(tmp_path / "x.npz")),
                 ("search", "--strategy", "hyperband", "--estimator", "table", "--dataset", "cifar10")):
        rc, out, err = cli(*args)
        assert rc == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, (args, err)


# ---------------------------------------------------------------------- the measured cost
def test_step_model_recovers_a_known_linear_cost():
    from nasbench_lab.bench.cifar10 import COST_FEATURES, fit_step_model, op_counts, predict_step
    space = get_space("nb201")
    rng = random.Random(0)
    true = {"nor_conv_3x3": 0.4, "nor_conv_1x1": 0.1, "avg_pool_3x3": 0.2, "skip_connect": 0.01}
    recs = []
    for _ in range(40):
        a = space.sample(rng)
        n = op_counts(a)
        recs.append({"arch": str(a), "step_s": 0.5 + sum(true[f] * n[f] for f in COST_FEATURES)})
    m = fit_step_model(recs)
    assert m["intercept"] == pytest.approx(0.5, abs=1e-9) and m["r2"] == pytest.approx(1.0)
    assert all(m["coef"][f] == pytest.approx(true[f], abs=1e-9) for f in COST_FEATURES)
    a = space.from_str(NB201_BEST)
    assert predict_step(m, a) == pytest.approx(0.5 + 0.4 * op_counts(a)["nor_conv_3x3"] + 0.01)
    with pytest.raises(TableError, match="at least"):
        fit_step_model(recs[:3])


def test_op_counts_skip_edges_that_cannot_reach_the_output():
    from nasbench_lab.bench.cifar10 import op_counts
    space = get_space("nb201")
    # node 1 feeds nothing (1->2, 1->3 are none): its conv never runs in the lab's network
    a = space.from_str("|nor_conv_3x3~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|none~1|avg_pool_3x3~2|")
    assert op_counts(a) == {"none": 0, "skip_connect": 1, "nor_conv_1x1": 1, "nor_conv_3x3": 0, "avg_pool_3x3": 1}


def test_shipped_costs_agree_with_their_records(table):
    """The shipped cost file: its fitted model is the fit of its own records, and it covers every cell."""
    from nasbench_lab.bench.cifar10 import STEPS, fit_step_model, load_costs
    doc = load_costs()
    if doc is None:
        pytest.fail("nasbench_lab/bench/data/nb201_cifar10_costs.json is not shipped")
    refit = fit_step_model(doc["steps"])
    assert refit["intercept"] == pytest.approx(doc["step_model"]["intercept"])
    assert refit["r2"] > 0.8, refit
    assert len(doc["latency_ms"]) == 6466 and all(v is not None and v > 0 for v in doc["latency_ms"])
    r = table.query(NB201_BEST)
    assert r["cost"] == pytest.approx(r["step_s"] * STEPS) and r["latency_ms"] > 0


def test_race_script_runs_and_tests_every_pair():
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "race_cifar10.py"
    spec = importlib.util.spec_from_file_location("race_cifar10", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    r = mod.run("cifar10", ["random", "local", "evolution"], runs=6, queries=20, workers=1)
    assert [s["strategy"] for s in r["summary"]] and r["all_pairs"] == 3 and len(r["pairs"]) == 3
    assert 0.85 < r["noise_floor_tau"] < 0.95
    assert "significant pairs" in mod.text(r)


def test_info_names_both_truths_and_what_brings_the_missing_one(monkeypatch, capsys):
    from importlib import metadata
    from nasbench_lab.cli import main
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "analog-nasbench" in out and "laptop table" in out

    def gone(name):
        raise metadata.PackageNotFoundError(name)
    monkeypatch.setattr(metadata, "distribution", gone)
    assert main(["info"]) == 0
    assert "pip install analog-nasbench" in capsys.readouterr().out
