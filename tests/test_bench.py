"""The tabular benchmark: builder (tiny scale, resume, shards), merge, query API, table estimator, CLI."""
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from nasbench_lab.bench import BenchTable, TableError, builder, merge
from nasbench_lab.cli import main
from nasbench_lab.spaces import get_space

ROOT = Path(__file__).resolve().parents[1]


def _fake(path):
    spec = importlib.util.spec_from_file_location("fake_table", ROOT / "benchmarks" / "_fake_table.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.write_fake_table(path)


def test_task_order_covers_the_space_once_before_second_seeds():
    tasks = builder.task_list(("full", "lowfi"), 0, 3)
    assert tasks[:6] == [("full", 0, 0), ("full", 0, 1), ("full", 0, 2), ("lowfi", 0, 0), ("lowfi", 0, 1),
                         ("lowfi", 0, 2)]
    assert len(tasks) == 12 and len(builder.task_list()) == 6466 * 4
    with pytest.raises(ValueError, match="0 <= start < end"):
        builder.task_list(("full",), 10, 5)


def test_tiny_build_resume_shards_merge_and_query(tmp_path):
    out = tmp_path / "build"
    s1 = builder.build(out, settings=("tiny",), start=0, end=3, device="cpu")
    assert s1["tasks_done"] == 6 and s1["remaining"] == 0
    again = builder.build(out, settings=("tiny",), start=0, end=3, device="cpu")
    assert again["tasks_done"] == 0                          # resumed: nothing is trained twice
    builder.build(out, settings=("tiny",), start=3, end=5, device="cpu")   # another shard (range)
    recs = builder.read_records(out)
    assert sorted((r["seed"], r["index"]) for r in recs) == sorted((s, i) for s in (0, 1) for i in range(5))
    with open(next(out.glob("shard-*.jsonl")), "a") as f:
        f.write('{"torn": ')                                 # a kill mid-write leaves a torn line
    assert len(builder.read_records(out)) == 10
    assert builder.measure_latencies(out, "tiny", "cpu", repeats=2, end=5) == 5
    table = BenchTable(merge(out, tmp_path / "t.npz"))
    info = table.info()
    assert info["settings"]["tiny"]["covered"] == 5 and info["architectures"] == 6466
    space = get_space("nb201")
    first = space.unique()[1]
    r = table.query(str(first), "tiny")
    rec = [x for x in recs if x["index"] == 1]
    assert r["canonical"] == str(first)
    assert r["test_acc"] == pytest.approx(np.mean([x["test_acc"] for x in rec]), abs=1e-3)
    assert r["params"] == rec[0]["params"] and r["latency_ms"] > 0
    assert table.query(str(first), "tiny", seed=1)["val_curve"] == pytest.approx(
        [x for x in rec if x["seed"] == 1][0]["val_curve"], abs=1e-3)
    assert np.isnan(table.scores("tiny")[100])               # not built: missing, not invented


def test_query_maps_every_string_to_its_canonical_row(tmp_path):
    table = BenchTable(_fake(tmp_path / "fake.npz"))
    space = get_space("nb201")
    # node 1 feeds nothing: the conv on 0->1 is dead, the cell is the all-none cell's twin
    twin = "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|"
    assert table.query(twin)["canonical"] == str(space.canonical(space.from_str(twin)))
    assert table.row(twin) == table.row("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    r3 = table.query(str(space.reference("best_cifar10")), epoch=2, seed=0)
    assert r3["epoch"] == 2 and r3["test_acc"] is None and r3["cost"] == pytest.approx(10.0 * 2 / 3, rel=1e-5)
    with pytest.raises(TableError, match="epoch must be between 1 and 3"):
        table.query(twin, epoch=4)
    with pytest.raises(TableError, match="seed 7 not in the table"):
        table.query(twin, seed=7)
    with pytest.raises(ValueError, match="unknown nb201 op"):
        table.query("|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    with pytest.raises(TableError, match="not found"):
        BenchTable(tmp_path / "missing.npz")


def test_table_estimator_drives_a_search(tmp_path):
    import nasbench_lab as nl
    path = _fake(tmp_path / "fake.npz")
    res = nl.search("nb201", "evolution", "table", budget=60, seed=0, estimator_options={"path": path})
    assert len(res.evaluations) == 60
    assert all(e.metrics["simulated"] for e in res.evaluations)
    with pytest.raises(ValueError, match="covers the nb201 space only"):
        nl.search("chain", "random", "table", budget=1, estimator_options={"path": path})


def test_bench_cli(tmp_path, capsys):
    path = _fake(tmp_path / "fake.npz")
    assert main(["bench", "info", "--table", path, "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert set(info["settings"]) == {"full", "lowfi"} and info["tau_lowfi_vs_full"] is not None
    assert main(["bench", "query", "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "--table", path, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["params"] == 0
    assert main(["bench", "query", "|x~0|", "--table", path]) == 2
