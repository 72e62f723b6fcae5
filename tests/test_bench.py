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
    first_seed = [r for r in recs if r["seed"] == 0]
    assert all(r["macs"] > 0 and r["flops"] > 0 and r["latency_ms"] > 0 for r in first_seed)
    assert builder.measure_costs(out, "tiny", "cpu", repeats=2, end=5) == 0     # the records have them
    assert builder.measure_costs(out, "tiny", "cpu", repeats=2, end=7) == 2     # cells 5, 6: not trained
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
    assert r["macs"] == [x for x in rec if x["seed"] == 0][0]["macs"] and r["flops"] > 0
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


def test_table_estimator_on_a_table_whose_second_seed_is_partly_built(tmp_path):
    """While seed 1 is being built, a search seed that maps to it uses the cell's seed-0 record (and says
    so in table_seed); an explicitly requested seed is never swapped."""
    import nasbench_lab as nl
    path = _fake(tmp_path / "fake.npz")
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    missing = np.arange(len(arrays["archs"])) % 2 == 1                 # every other cell lacks seed 1
    for key in ("full.val_curve", "full.test_acc"):
        arrays[key][missing, 1] = np.nan
    partial = tmp_path / "partial.npz"
    np.savez_compressed(partial, **arrays)
    res = nl.search("nb201", "random", "table", budget=40, seed=1, estimator_options={"path": str(partial)})
    used = {e.metrics["table_seed"] for e in res.evaluations}
    assert used == {0, 1}                                              # both kinds of cell were drawn
    table = BenchTable(partial)
    for e in res.evaluations:
        q = table.query(e.arch, "full", seed=e.metrics["table_seed"])
        assert e.val_acc == q["val_acc"]
    with pytest.raises(ValueError, match="has no full result for seed 1"):
        nl.search("nb201", "random", "table", budget=40, seed=0,
                  estimator_options={"path": str(partial), "seed": 1})


def test_bench_cli(tmp_path, capsys):
    path = _fake(tmp_path / "fake.npz")
    assert main(["bench", "info", "--table", path, "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert set(info["settings"]) == {"full", "lowfi"}
    proxy = [a for a in info["agreement"] if a["kind"] == "proxy"]
    assert proxy and proxy[0]["a"] == "lowfi val_acc" and proxy[0]["kendall_tau"] > 0.5
    assert main(["bench", "info", "--table", path]) == 0
    text = capsys.readouterr().out
    assert "default setting full" in text and "Kendall tau lowfi val_acc vs full test_acc" in text
    assert main(["bench", "query", "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "--table", path, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["params"] == 0
    assert main(["bench", "query", "|x~0|", "--table", path]) == 2


def test_macs_follow_the_published_convention_and_flops_count_what_runs():
    """NAS-Bench-201's published range on CIFAR-10 (C=16, N=5, 32x32x3): 7.78 M to 220.12 M MACs,
    counting convolutions on edges into nodes that never reach the output."""
    from nasbench_lab.hardware import count_macs
    from nasbench_lab.train import count_flops
    space = get_space("nb201")
    conv3 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    empty = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
    dead = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|none~0|none~1|none~2|"   # node 3 gets nothing
    macs = {a: count_macs(space.build(space.from_str(a), 3, 10, C=16, N=5), (3, 32, 32)) for a in (conv3, empty, dead)}
    assert round(macs[empty] / 1e6, 2) == 7.78 and round(macs[conv3] / 1e6, 2) == 220.12
    # 15 cells x 3 dead 3x3 convs x (32*32*16*16*9) each: counted as published, not run
    assert macs[dead] - macs[empty] == 15 * 3 * 2_359_296
    net = space.build(space.from_str(dead), 3, 10, C=16, N=5)
    assert count_macs(net, (3, 32, 32), dead_edges=False) == macs[empty]
    assert count_flops(net, (3, 32, 32)) == 2 * macs[empty]            # FLOPs = 2 x the MACs that run


def test_the_macs_objective_limits_macs_not_flops():
    from nasbench_lab.estimators import Evaluation
    from nasbench_lab.objectives import parse_objective
    ev = Evaluation("x", 70.0, None, 1.0, {"macs": 50e6, "flops": 100e6})
    assert parse_objective("macs<=60M")(ev) == 70.0            # 50 M MACs fit, although 100 M FLOPs do not
    assert parse_objective("flops<=60M")(ev) < 0
    assert parse_objective("mac<=40M")(ev) < 0


@pytest.mark.ray
@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="ray is not installed (the distributed extra)")
def test_ray_build_spreads_chunks_and_resumes(tmp_path):
    out = tmp_path / "ray_build"
    s = builder.build(out, settings=("tiny",), start=0, end=4, device="cpu", workers=2, executor="ray", chunk=3)
    assert s["tasks_done"] == 8 and s["remaining"] == 0
    recs = builder.read_records(out)
    assert sorted((r["seed"], r["index"]) for r in recs) == sorted((k, i) for k in (0, 1) for i in range(4))
    again = builder.build(out, settings=("tiny",), start=0, end=5, device="cpu", workers=2, executor="ray")
    assert again["tasks_done"] == 2                                      # only cell 4's two seeds are new
    with pytest.raises(ValueError, match="unknown build executor"):
        builder.build(out, settings=("tiny",), executor="slurm")


def test_merge_of_two_folders_keeps_one_setting_each_and_a_default(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    builder.build(a, settings=("tiny",), start=0, end=2, device="cpu")
    builder.build(b, settings=("tiny-lowfi",), start=0, end=3, device="cpu")
    table = BenchTable(merge([a, b], tmp_path / "t.npz", default="tiny"))
    assert table.settings == ["tiny", "tiny-lowfi"] and table.default_setting == "tiny"
    assert table.query(table.archs[1])["setting"] == "tiny"
    info = table.info()
    assert info["settings"]["tiny-lowfi"]["covered_per_seed"] == [3]
    assert [x["kind"] for x in info["agreement"]] == ["proxy"] and info["agreement"][0]["cells"] == 2
    with pytest.raises(TableError, match="default setting 'nope'"):
        merge([a], tmp_path / "u.npz", default="nope")


def test_gpu_session_continues_the_committed_build_and_packs_only_new_shards(tmp_path):
    spec = importlib.util.spec_from_file_location("gpu_session", ROOT / "benchmarks" / "gpu_session.py")
    gs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gs)
    committed, bdir = tmp_path / "committed", tmp_path / "build"
    committed.mkdir()
    rec = {"setting": "full", "seed": 0, "index": 3, "test_acc": 50.0}
    (committed / "shard-000.jsonl").write_text(json.dumps(rec) + "\n")
    (committed / "notes.txt").write_text("not a shard")
    seeded = gs.seed_build(bdir, committed)
    assert seeded == {"shard-000.jsonl"} and builder.done_tasks(bdir) == {("full", 0, 3)}
    assert ("full", 0, 3) not in [t for t in builder.task_list(("full",), 0, 5) if t not in builder.done_tasks(bdir)]
    (bdir / "shard-001.jsonl").write_text(json.dumps({**rec, "index": 4}) + "\n")   # what the run trained
    packed = gs.pack_new(bdir, seeded, tmp_path / "build.tgz")
    assert packed == ["shard-001.jsonl"]
    import tarfile
    with tarfile.open(tmp_path / "build.tgz") as tar:
        assert tar.getnames() == ["shard-001.jsonl"]
    assert gs.seed_build(tmp_path / "fresh", None) == set()
