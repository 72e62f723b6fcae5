"""The lab's eager references (benchmarks/reference.py) compute what the first references computed.

The lab's speed figures were first measured against ../shared/bench/reference.py, a file outside the
repository. benchmarks/reference.py was written here from the papers' code to replace it; these tests
show the two agree, in float64, on the same weights and inputs: parameter counts, logits and every
gradient of the NAS-Bench-201 network (three cells) and of the DARTS search network, and each
baseline's timed loop run for a few steps (4 first-order DARTS search steps, 6 NB201 training steps):
weights, alphas, and BN statistics after them.

Where the first file is present (this project's machines; or NASBENCH_LAB_REFERENCE names it) each
scenario is compared with it tensor by tensor. Everywhere, including a fresh clone, each scenario is
also compared with RECORD: four projections of what the first file computed, taken with
``python tests/test_reference.py PATH`` (and checked against it here whenever it is present), so the
proof travels with the repository and nothing skips.

Why fixed patterns instead of random numbers: the record must not depend on a torch version's random
number generator. Weights are sines, inputs and the baselines' own random draws (patched in through
``_Draws``) are fixed functions of their position.
"""
from __future__ import annotations

import contextlib
import importlib.util
import math
import os
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
OURS = ROOT / "benchmarks" / "reference.py"
CPU = torch.device("cpu")


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, str(path))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def first_reference_path() -> Path | None:
    """The file the lab's figures were first measured against, where this machine has it."""
    named = os.environ.get("NASBENCH_LAB_REFERENCE", "")
    for p in ([Path(named)] if named else []) + [ROOT.parent / "shared" / "bench" / "reference.py",
                                                   ROOT / "shared" / "bench" / "reference.py"]:
        if p.is_file() and p.resolve() != OURS.resolve():
            return p
    return None


# ---------------------------------------------------------------------- fixed numbers
def _pattern(n: int, seed: float, scale: float = 0.5) -> torch.Tensor:
    return scale * torch.sin(0.61 * torch.arange(n, dtype=torch.float64) + 1.37 * seed)


def _fix_weights(net):
    """Every parameter (alphas included) a sine of its position; BN statistics stay at their defaults."""
    with torch.no_grad():
        for i, p in enumerate(net.parameters()):
            p.copy_(_pattern(p.numel(), i).reshape(p.shape))


class _Draws:
    """Stands in for ``torch`` inside a reference module: ``randn`` and ``randint`` return fixed patterns
    (the n-th call its own), every other name is torch's own."""

    def __init__(self):
        self.calls = 0

    def __getattr__(self, name):
        return getattr(torch, name)

    @staticmethod
    def _size(size):
        return tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list, torch.Size)) else size

    def randn(self, *size, device=None, dtype=None, **_):
        self.calls += 1
        size = self._size(size)
        return _pattern(math.prod(size), 100 + self.calls, 1.0).reshape(size).to(device=device, dtype=dtype)

    def randint(self, low, high, size, device=None, **_):
        self.calls += 1
        n = math.prod(size)
        return (low + (torch.arange(n) * 7 + 3 * self.calls) % (high - low)).reshape(size).to(device)


@contextlib.contextmanager
def _float64_and_fixed(mod, network: str):
    """Inside: float64 by default, ``mod``'s random draws fixed, and every ``network`` it builds given the
    fixed weights; yields the list of networks built. Everything is put back afterwards."""
    made, saved = [], (torch.get_default_dtype(), mod.torch, getattr(mod, network))

    class Fixed(saved[2]):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            _fix_weights(self)
            made.append(self)

    torch.set_default_dtype(torch.float64)
    mod.torch = _Draws()
    setattr(mod, network, Fixed)
    try:
        yield made
    finally:
        torch.set_default_dtype(saved[0])
        mod.torch = saved[1]
        setattr(mod, network, saved[2])


# ---------------------------------------------------------------------- the scenarios
NB201_CELLS = [("nor_conv_3x3",) * 6,
               ("nor_conv_1x1", "none", "avg_pool_3x3", "skip_connect", "nor_conv_3x3", "none"),
               ("none", "none", "skip_connect", "avg_pool_3x3", "none", "nor_conv_1x1")]


def _logits_and_grads(net, x) -> list[torch.Tensor]:
    net.train()
    logits = net(x)
    (logits * _pattern(logits.numel(), 7).reshape(logits.shape)).sum().backward()
    return [logits.detach()] + [p.grad for p in net.parameters()]


def nb201_forward(mod, cell: int) -> list[torch.Tensor]:
    with _float64_and_fixed(mod, "NB201Net"):
        net = mod.NB201Net(list(NB201_CELLS[cell]), C=4, N=1, in_channels=1)
        return _logits_and_grads(net, _pattern(2 * 64, 3, 1.0).reshape(2, 1, 8, 8))


def darts_forward(mod) -> list[torch.Tensor]:
    with _float64_and_fixed(mod, "DartsSearchNet"):
        net = mod.DartsSearchNet(C=4, layers=3)
        return _logits_and_grads(net, _pattern(2 * 3 * 64, 5, 1.0).reshape(2, 3, 8, 8))


def darts_steps(mod) -> list[torch.Tensor]:
    """The timed loop of darts_step_seconds (3 warm-up steps + 1), then every weight, alpha and statistic."""
    with _float64_and_fixed(mod, "DartsSearchNet") as made:
        mod.darts_step_seconds(CPU, steps=1, batch=2, C=4, layers=3, image=(3, 8, 8))
    return [t.detach().double() for t in made[0].state_dict().values()]


def nb201_steps(mod) -> list[torch.Tensor]:
    """The timed loop of nb201_images_per_second (5 warm-up steps + 1), then the whole state."""
    with _float64_and_fixed(mod, "NB201Net") as made:
        mod.nb201_images_per_second(CPU, ops=NB201_CELLS[1], C=4, N=1, batch=4, steps=1, image=(1, 8, 8))
    return [t.detach().double() for t in made[0].state_dict().values()]


SCENARIOS = {"nb201_forward_all_conv3x3": lambda m: nb201_forward(m, 0),
             "nb201_forward_mixed": lambda m: nb201_forward(m, 1),
             "nb201_forward_sparse": lambda m: nb201_forward(m, 2),
             "darts_forward": darts_forward,
             "darts_steps": darts_steps,
             "nb201_steps": nb201_steps}


def projections(tensors: list[torch.Tensor]) -> list[float]:
    """Four numbers that move when any element of any tensor does (or when two tensors swap places)."""
    out = []
    for k in range(4):
        total = 0.0
        for i, t in enumerate(tensors):
            total += float((t.flatten().double() * _pattern(t.numel(), 11 * k + i, 1.0)).sum())
        out.append(total)
    return out


# What ../shared/bench/reference.py computed (python tests/test_reference.py /work/shared/bench/reference.py).
RECORD = {
    'nb201_forward_all_conv3x3': [4.061560774307596, 1.8393687877599647, -7.01672900294213, 9.433854263766385],
    'nb201_forward_mixed': [2.9661993167050733, 0.9164272201848505, -4.438550387881094, 6.214640336655603],
    'nb201_forward_sparse': [2.1914545279866866, 0.6516254435402526, -3.238369546081106, 4.551206559938181],
    'darts_forward': [-2.867279044754744, -1.973598921117469, 6.038104203127016, -7.727345131541299],
    'darts_steps': [-1061.4951619182223, 779.6386906182256, -191.08860685120086, -472.63175238016436],
    'nb201_steps': [-574.3708291160166, 412.3382455388426, -88.10038969338294, -270.7943233603332],
}


# ---------------------------------------------------------------------- the tests
@pytest.fixture(scope="module")
def ours():
    return _load(OURS, "lab_reference")


@pytest.fixture(scope="module")
def first():
    path = first_reference_path()
    return _load(path, "first_reference") if path else None


def test_the_published_sizes(ours):
    n = lambda net: sum(p.numel() for p in net.parameters())                           # noqa: E731
    assert n(ours.NB201Net(["nor_conv_3x3"] * 6)) == 1_531_546        # NAS-Bench-201's largest cell
    assert n(ours.NB201Net(["none"] * 6)) == n(ours.NB201Net(["skip_connect", "avg_pool_3x3"] * 3)) == 73_306
    net = ours.DartsSearchNet()
    assert sum(p.numel() for p in net.weight_parameters()) == 1_930_618
    assert [tuple(a.shape) for a in net.arch_parameters()] == [(14, 8), (14, 8)]
    assert len(net.weight_parameters()) + 2 == len(list(net.parameters()))


def test_the_same_parameters_in_the_same_order_as_the_first_reference(ours, first):
    """Positional weight copies between the two (and into the lab's networks) rely on this."""
    if first is None:
        return                     # the shapes are compared through every scenario's record below
    for ops in NB201_CELLS:
        a, b = ours.NB201Net(list(ops), 8, 2, 1), first.NB201Net(list(ops), 8, 2, 1)
        assert [t.shape for t in a.state_dict().values()] == [t.shape for t in b.state_dict().values()]
    a, b = ours.DartsSearchNet(C=4, layers=5), first.DartsSearchNet(C=4, layers=5)
    assert [t.shape for t in a.state_dict().values()] == [t.shape for t in b.state_dict().values()]
    assert sum(p.numel() for p in a.weight_parameters()) == sum(p.numel() for p in b.weight_parameters())


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_computes_what_the_first_reference_computed(ours, first, name):
    mine = SCENARIOS[name](ours)
    scale = sum(float(t.abs().sum()) for t in mine)
    if first is not None:
        theirs = SCENARIOS[name](first)
        assert [t.shape for t in mine] == [t.shape for t in theirs]
        for i, (a, b) in enumerate(zip(mine, theirs)):
            torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12, msg=lambda m, i=i: f"{name}, tensor {i}: {m}")
        # the record below is what the first reference computes today
        assert all(math.isclose(r, t, rel_tol=1e-9, abs_tol=1e-12 * scale)
                   for r, t in zip(RECORD[name], projections(theirs))), (name, projections(theirs))
    got = projections(mine)
    assert all(math.isclose(r, g, rel_tol=1e-9, abs_tol=1e-12 * scale) for r, g in zip(RECORD[name], got)), \
        (name, RECORD[name], got)


def test_the_fixed_draws_reach_the_baselines(ours):
    """The step scenarios really run on fixed data: two runs agree exactly, and the draws were taken."""
    assert all(torch.equal(a, b) for a, b in zip(darts_steps(ours), darts_steps(ours)))
    draws = _Draws()
    assert draws.randn(2, 3).shape == draws.randn((2, 3)).shape == (2, 3)
    assert sorted(draws.randint(0, 10, (10,)).tolist()) == list(range(10))
    assert draws.calls == 3 and draws.nn is torch.nn


if __name__ == "__main__":                 # print RECORD from the first reference: python tests/test_reference.py PATH
    torch.set_num_threads(1)
    source = _load(Path(sys.argv[1]), "first_reference")
    print("RECORD = {")
    for key, run in SCENARIOS.items():
        print(f"    {key!r}: {projections(run(source))!r},")
    print("}")
