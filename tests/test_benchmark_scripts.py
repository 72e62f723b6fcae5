"""The benchmark scripts' lab-side measurements run at a tiny size (the GPU session calls them with
device time that cannot be spent finding a script broken by a later change of the library)."""
import importlib.util
import json
import math
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]


def _load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_train_throughput_times_the_lab_training_loop():
    ips = _load("train_throughput").lab_images_per_second(torch.device("cpu"), C=4, batch=32, steps=2, repeats=1)
    assert math.isfinite(ips) and ips > 0


def test_darts_step_times_first_and_second_order_and_partial_channels():
    ds = _load("darts_step")
    cpu = torch.device("cpu")
    tiny = {"batch": 2, "C": 4, "layers": 3, "image": (1, 8, 8)}
    for kw in ({}, {"order": 2}, {"k": 2}):
        assert ds.lab_step_seconds(cpu, steps=1, **tiny, **kw) > 0
    assert ds.activation_mb(cpu, k=2, **tiny) < ds.activation_mb(cpu, **tiny)


def test_depthwise_backward_times_plain_and_lab_convs_on_every_supernet(capsys):
    db = _load("depthwise_backward")
    db.main(["--small", "--rounds", "1", "--steps", "1", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert set(out["networks"]) == {"darts", "mobile", "mobile_path"}
    for r in out["networks"].values():
        assert r["plain_s"] > 0 and r["lab_s"] > 0 and math.isfinite(r["ratio_plain_over_lab"])


def test_depthwise_backward_plain_copy_has_no_lab_conv_left():
    db = _load("depthwise_backward")
    from nasbench_lab.spaces.fast_ops import DepthwiseConv2d
    net = db.networks(torch.device("cpu"), small=True)["darts"][0]
    assert any(isinstance(m, DepthwiseConv2d) for m in net.modules())
    assert not any(isinstance(m, DepthwiseConv2d) for m in db.plain(net).modules())


def test_supernet_ground_truth_trains_scores_and_resumes(tmp_path):
    sgt = _load("supernet_ground_truth")
    out = tmp_path / "sgt.json"
    args = ["--epochs", "1", "--train-subset", "128", "--val-subset", "128", "--cells", "2", "--out", str(out),
            "--work", str(tmp_path / "work")]
    assert sgt.main(args) == 0
    first = json.loads(out.read_text())
    assert len(first["cells"]["score"]) == 2 and first["settings"]["epochs"] == 1
    assert sgt.main(args[:-4] + ["--cells", "3", "--out", str(out), "--work", str(tmp_path / "work")]) == 0
    again = json.loads(out.read_text())                   # the first two kept, one more scored
    assert again["cells"]["index"][:2] == first["cells"]["index"] and len(again["cells"]["score"]) == 3


def test_a_progress_file_resumes_skips_a_cut_line_and_refuses_other_settings(tmp_path):
    from benchmarks._progress import ProgressFile
    path = tmp_path / "p" / "study.partial.jsonl"
    with ProgressFile(path, {"seed": 0}).appending(train_seconds=1.5) as prog:
        prog.add({"index": 3, "score": 0.5})
        prog.add({"index": 7, "score": 0.25})
    with path.open("a") as f:
        f.write('{"index": 9, "sco')                       # a run killed in the middle of a line
    again = ProgressFile(path, {"seed": 0})
    assert sorted(again.done) == [3, 7] and again.header == {"config": {"seed": 0}, "train_seconds": 1.5}
    with again.appending() as prog:                          # the header is not written twice
        prog.add({"index": 9, "score": 1.0})
    assert sorted(ProgressFile(path, {"seed": 0}).done) == [3, 7, 9]
    with pytest.raises(SystemExit, match=r"was made with other settings \(\{'seed': 0\}\); pass --fresh"):
        ProgressFile(path, {"seed": 1}, hint="pass --fresh")
    fresh = ProgressFile(path, {"seed": 1}, fresh=True)
    assert fresh.done == {}
    with fresh.appending():
        pass
    assert path.read_text() == '{"config": {"seed": 1}}\n'   # --fresh: the old scores are gone


def test_a_progress_file_may_plan_more_items_and_the_order_keeps_its_first_sample(tmp_path):
    from benchmarks._progress import ProgressFile
    path = tmp_path / "study.partial.jsonl"
    with ProgressFile(path, {"seed": 0, "cells": 10}).appending() as prog:
        prog.add({"index": 1})
    assert sorted(ProgressFile(path, {"seed": 0, "cells": 99}, ignore=("cells",)).done) == [1]
    with pytest.raises(SystemExit, match="other settings"):
        ProgressFile(path, {"seed": 0, "cells": 99})
    order = _load("zerocost_cifar10").sample_order(6466)
    import random
    assert order[:1000] == random.Random(0).sample(range(6466), 1000)       # the shipped 1,000-cell sample
    assert sorted(order) == list(range(6466))
