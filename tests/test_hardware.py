"""Hardware metrics: the Pareto front against brute force, latency measurement (shape of the result,
batch sizes, errors), profile() against count_params/count_flops, per-op latency tables for the mobile
space (one entry per distinct op and shape, table latency = sum of its entries, JSON round trip)."""
from __future__ import annotations

import math
import random

import pytest
import torch.nn as nn

from nasbench_lab.hardware import (HardwareError, latency_table, load_table, measure_latency, pareto_front, profile,
                                   save_table, table_latency)
from nasbench_lab.spaces import get_space
from nasbench_lab.train import count_flops, count_params


pytestmark = pytest.mark.usefixtures("one_thread")


def brute_front(points):
    """i is on the front iff no j is at least as accurate and as cheap and strictly better in one."""
    out = []
    for i, (a, c) in enumerate(points):
        if math.isnan(a) or math.isnan(c):
            continue
        if not any((b >= a and d <= c and (b > a or d < c)) for j, (b, d) in enumerate(points)
                   if j != i and not (math.isnan(b) or math.isnan(d))):
            out.append(i)
    return out


def test_pareto_front_against_brute_force():
    rng = random.Random(0)
    for trial in range(300):
        n = rng.randint(1, 30)
        # coarse grids make ties and exact duplicates common
        pts = [(rng.randint(0, 8) * 5.0, rng.randint(1, 8) * 0.5) for _ in range(n)]
        if trial % 10 == 0:
            pts.append((float("nan"), 1.0))
        front = pareto_front(pts)
        assert sorted(front) == brute_front(pts), pts
        costs = [pts[i][1] for i in front]
        assert costs == sorted(costs)                                 # cheapest first
    dicts = [{"val_acc": 90, "latency_ms": 3}, {"val_acc": 80, "latency_ms": 1}, {"val_acc": 70, "latency_ms": 2}]
    assert pareto_front(dicts) == [1, 0]
    assert pareto_front([{"acc": 1, "ms": 1}], acc_key="acc", cost_key="ms") == [0]


def test_measure_latency_and_profile():
    net = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10))
    net.train()
    lat = measure_latency(net, (1, 16, 16), "cpu", batch_sizes=(1, 8), warmup=1, repeats=3)
    assert set(lat) == {1, 8} and all(v > 0 for v in lat.values())
    assert net.training                                               # mode restored
    p = profile(net, (1, 16, 16), "cpu", batch=8, warmup=1, repeats=3)
    assert p["params"] == count_params(net) == 8 * 9 + 8 + 80 + 10
    assert p["flops"] == count_flops(net, (1, 16, 16)) > 2 * 8 * 9 * 256
    assert p["latency_ms"] > 0 and p["latency_ms_b8"] > 0 and p["device"] == "cpu"
    with pytest.raises(HardwareError, match="batch_sizes"):
        measure_latency(net, (1, 16, 16), "cpu", batch_sizes=())
    with pytest.raises(HardwareError, match="repeats"):
        measure_latency(net, (1, 16, 16), "cpu", repeats=0)


def test_mobile_latency_table(tmp_path):
    space = get_space("mobile")
    keys = space.op_table_keys(None, input_size=16, width_mult=0.25)
    table = latency_table(space, input_size=16, width_mult=0.25, device="cpu", warmup=0, repeats=1)
    assert set(table) == {k.lut_key() for k in keys}                  # one entry per distinct op and shape
    assert all(v >= 0 for v in table.values())
    arch = space.reference("mobilenet_v2_like")
    expected = sum(table[k.lut_key()] for k in space.op_table_keys(arch, input_size=16, width_mult=0.25))
    assert table_latency(space, arch, table, input_size=16, width_mult=0.25) == pytest.approx(expected)
    save_table(table, tmp_path / "lut.json", meta={"device": "cpu"})
    assert load_table(tmp_path / "lut.json") == pytest.approx(table)
    with pytest.raises(HardwareError, match="no entry"):
        table_latency(space, arch, {}, input_size=16, width_mult=0.25)
    with pytest.raises(HardwareError, match="latency keys"):
        latency_table(get_space("nb201"))
    (tmp_path / "bad.json").write_text("[1, 2]")
    with pytest.raises(HardwareError, match="not a latency table"):
        load_table(tmp_path / "bad.json")
