"""The MBConv space (MobileNet-V2 blocks, ProxylessNAS-style search) and its supernet."""
from __future__ import annotations

import random

import pytest
import torch
import torch.nn.functional as F

from nasbench_lab.spaces import SpaceError, get_space
from nasbench_lab.spaces.mobile import CHOICES, MobileArch, MobileSpace, Stage, mobile_block
from nasbench_lab.spaces.ops import MBConv, SqueezeExcite

torch.set_num_threads(2)
TINY = ((8, 1, 1), (16, 2, 2), (16, 2, 1))   # 5 blocks: cheap supernet tests


@pytest.fixture(params=[False, True], ids=["plain", "se"])
def space(request) -> MobileSpace:
    return get_space("mobile", se=request.param)


def test_registry_and_skeleton(space):
    assert isinstance(space, MobileSpace) and space.num_blocks == 10
    firsts = {0, 2, 5, 8}      # the first block of each default stage
    for k, a in enumerate(space.allowed):
        assert ("skip" in a) == (k not in firsts) and len(a) == (6 if k in firsts else 7)
    assert space.size() == 6 ** 4 * 7 ** 6
    sk = space.skeleton()
    assert [s for _, _, s in sk["blocks"]] == [1, 1, 2, 1, 1, 2, 1, 1, 1, 1]
    assert sk["blocks"][0][0] == 16 and sk["blocks"][-1][1] == 96
    assert space.describe()["se"] == space.se


def test_string_round_trip_200(space):
    rng = random.Random(0)
    for _ in range(200):
        a = space.sample(rng)
        s = space.to_str(a)
        assert space.from_str(s) == a and hash(space.from_str(s)) == hash(a)
        assert space.from_str(s.replace("|", " | ")) == a
        assert all(a.choices[k] != "skip" for k in (0, 2, 5, 8))


@pytest.mark.parametrize("bad, match", [
    ("k3_e6|k3_e6", "expected 10 block choices"),
    ("", "expected 10 block choices"),
    ("k3_e6|" * 10 + "k3_e6", "expected 10 block choices"),
    ("k9_e6|" + "k3_e6|" * 8 + "k3_e6", "unknown mobile choice 'k9_e6' at block 0"),
    ("k3_e6|k3_e6|skip|" + "k3_e6|" * 6 + "k3_e6", "block 2 .*cannot be 'skip'"),
    ("k3_e6||" + "k3_e6|" * 7 + "k3_e6", "unknown mobile choice '' at block 1"),
])
def test_bad_strings(bad, match):
    with pytest.raises(SpaceError, match=match):
        MobileSpace().from_str(bad)


def test_bad_inputs():
    sp = MobileSpace()
    with pytest.raises(SpaceError, match="must be a string"):
        sp.from_str(None)
    with pytest.raises(SpaceError, match="has 10"):
        sp.check(MobileArch(("k3_e3",)))
    with pytest.raises(SpaceError, match="must be a string, got MobileArch"):
        sp.from_str(sp.reference("smallest"))
    with pytest.raises(SpaceError, match="needs 10 decisions"):
        sp.from_decisions([0])
    with pytest.raises(SpaceError, match="out of range"):
        sp.from_decisions([6] + [0] * 9)     # block 0 has 6 choices (no skip)
    with pytest.raises(SpaceError, match="stage"):
        MobileSpace(stages=[(8, 1, 3)])
    with pytest.raises(SpaceError, match="unknown mobile skeleton option"):
        sp.build(sp.reference("smallest"), C=16)
    with pytest.raises(SpaceError, match="needs stride 1"):
        mobile_block("skip", 8, 16, 1)
    with pytest.raises(SpaceError, match="needs stride 1"):
        mobile_block("skip", 8, 8, 2)
    with pytest.raises(SpaceError, match="unknown mobile choice"):
        mobile_block("k4_e6", 8, 8, 1)


def test_variation_operators(space):
    rng = random.Random(1)
    n_nb = sum(len(a) - 1 for a in space.allowed)
    for _ in range(30):
        a, b = space.sample(rng), space.sample(rng)
        m = space.mutate(a, rng)
        assert sum(x != y for x, y in zip(a.choices, m.choices)) == 1
        space.from_str(space.to_str(m))
        nb = space.neighbours(a)
        assert len(nb) == len(set(nb)) == n_nb and m in nb and a not in nb
        for n in nb:
            space.from_str(str(n))
        c = space.crossover(a, b, rng)
        space.from_str(str(c))
        assert all(x in (y, z) for x, y, z in zip(c.choices, a.choices, b.choices))


def test_decisions_round_trip(space):
    rng = random.Random(2)
    decs = space.decisions()
    assert [d.choices for d in decs] == list(space.allowed)
    assert decs[0].name == "stage0.block0 op"
    for _ in range(50):
        a = space.sample(rng)
        assert space.from_decisions(space.to_decisions(a)) == a


def test_size_matches_brute_force():
    sp = MobileSpace(stages=TINY)
    archs = list(sp.enumerate())
    assert len(archs) == len(set(archs)) == sp.size() == 6 * 6 * 7 * 6 * 7
    with pytest.raises(SpaceError, match="too large"):
        MobileSpace().enumerate()


def test_references_and_graph(space):
    assert str(space.reference("mobilenet_v2_like")) == "|".join(["k3_e6"] * 10)
    assert str(space.reference("smallest")) == "k3_e3|skip|k3_e3|skip|skip|k3_e3|skip|skip|k3_e3|skip"
    for name in space.references():
        a = space.reference(name)
        assert space.from_str(space.to_str(a)) == a
        g = space.to_graph(a)
        assert g.number_of_nodes() == 12 and g.number_of_edges() == 11
        assert [g.nodes[k]["label"] for k in range(10)] == list(a.choices)
        assert sum(d["op"] == "reduce" for *_, d in g.edges(data=True)) == 2
    with pytest.raises(SpaceError, match="no reference"):
        space.reference("resnet50")


def _count(net):
    return sum(p.numel() for p in net.parameters())


def test_parameter_ordering_of_references(space):
    n = {r: _count(space.build(space.reference(r))) for r in space.references()}
    assert n["smallest"] < n["mobilenet_v2_like"] < n["largest"]
    rng = random.Random(4)
    for _ in range(5):
        assert n["smallest"] <= _count(space.build(space.sample(rng))) <= n["largest"]
    has_se = any(isinstance(m, SqueezeExcite) for m in space.build(space.reference("largest")).modules())
    assert has_se == space.se


@pytest.mark.parametrize("shape", [(2, 1, 28, 28), (2, 3, 32, 32)])
def test_build_forward_backward(space, shape):
    rng = random.Random(3)
    archs = [space.reference(n) for n in space.references()] + [space.sample(rng)]
    for a in archs:
        net = space.build(a, in_channels=shape[1], num_classes=5, width_mult=0.5)
        y = net(torch.randn(*shape))
        assert y.shape == (shape[0], 5) and torch.isfinite(y).all()
        y.square().mean().backward()
        assert all(p.grad is not None for p in net.parameters())


def test_op_table_keys():
    sp = MobileSpace()
    a = sp.reference("mobilenet_v2_like")
    keys = sp.op_table_keys(a, input_size=28)
    assert [k.block for k in keys] == list(range(10))
    assert [k.height for k in keys] == [28, 28, 28, 14, 14, 14, 7, 7, 7, 7]
    assert keys[2].lut_key() == "k3_e6:24x28x28->40:s2:se0"
    # oracle: running each keyed module on its input shape yields the next key's input shape
    for k, nxt in zip(keys, keys[1:]):
        out = k.module()(torch.zeros(1, *k.input_shape))
        assert out.shape[1:] == nxt.input_shape
    every = sp.op_table_keys(input_size=(32, 32))
    assert len(every) == sum(len(x) for x in sp.allowed)
    assert {k.choice for k in every if k.block == 0} == set(CHOICES) - {"skip"}


# ---------------------------------------------------------------------- the supernet
@pytest.fixture
def supernet():
    torch.manual_seed(0)
    sp = MobileSpace(stages=TINY)
    return sp, sp.supernet(in_channels=1, num_classes=4)


def test_supernet_parameters(supernet):
    sp, net = supernet
    (alphas,) = net.arch_parameters()
    assert alphas.shape == (5, len(CHOICES)) and not alphas.any()
    w_ids = {id(p) for p in net.weight_parameters()}
    assert id(alphas) not in w_ids and len(w_ids) + 1 == len(list(net.parameters()))
    assert net.op_names() == list(CHOICES) and net.block_names() == sp.block_names()
    # every block holds all its allowed candidates
    assert [sorted(b.keys()) for b in net.blocks] == [sorted(a) for a in sp.allowed]


def test_supernet_mixed_mode(supernet):
    sp, net = supernet
    x = torch.randn(2, 1, 16, 16)
    with torch.no_grad():
        net.alphas.normal_()
    y = net(x)
    y.square().sum().backward()
    g = net.alphas.grad
    assert y.shape == (2, 4)
    assert (g[~net.allowed] == 0).all() and (g[net.allowed] != 0).all()
    # mixed mode = explicit weights equal to softmax over the allowed choices
    net.eval()
    w = F.softmax(net.alphas.detach().masked_fill(~net.allowed, float("-inf")), dim=-1)
    assert torch.allclose(net(x), net(x, weights=w), atol=1e-6)


def test_supernet_sparse_weights_and_discrete_path(supernet):
    sp, net = supernet
    net.eval()
    x = torch.randn(2, 1, 16, 16)
    calls = []
    for k, block in enumerate(net.blocks):
        for c, m in block.items():
            m.register_forward_hook(lambda mod, inp, out, k=k, c=c: calls.append((k, c)))
    arch = sp.from_str("k5_e3|k3_e6|skip|k7_e6|k3_e3")
    onehot = torch.zeros(5, len(CHOICES))
    for k, c in enumerate(arch.choices):
        onehot[k, CHOICES.index(c)] = 1.0
    y_sparse = net(x, weights=onehot)
    assert calls == list(enumerate(arch.choices))        # only the weighted ops ran
    calls.clear()
    y_path = net(x, arch=arch)
    assert calls == list(enumerate(arch.choices)) and torch.allclose(y_sparse, y_path, atol=1e-6)
    # two active paths per block (ProxylessNAS' sampled gates); gradient reaches exactly those gates
    calls.clear()
    gates = onehot.clone()
    gates[:, CHOICES.index("k3_e3")] += 1.0
    gates[0, CHOICES.index("k5_e3")] = 0.0               # block 0: only one path
    gates.requires_grad_(True)
    net(x, weights=gates).square().sum().backward()
    assert len(calls) == int((gates != 0).sum())
    assert (gates.grad[gates == 0] == 0).all() and gates.grad[gates != 0].abs().sum() > 0


def test_supernet_bad_calls(supernet):
    sp, net = supernet
    x = torch.randn(1, 1, 8, 8)
    with pytest.raises(SpaceError, match="shape"):
        net(x, weights=torch.ones(3, 3))
    bad = torch.zeros(5, len(CHOICES))
    bad[:, 0] = 1.0
    bad[0, CHOICES.index("skip")] = 0.5
    with pytest.raises(SpaceError, match="skip"):
        net(x, weights=bad)
    with pytest.raises(SpaceError, match="all zero"):
        net(x, weights=torch.zeros(5, len(CHOICES)))
    with pytest.raises(SpaceError, match="either"):
        net(x, weights=bad, arch=sp.reference("smallest"))
    with pytest.raises(SpaceError):
        net(x, arch="k3_e3|skip")


def test_supernet_default_skeleton_runs():
    net = MobileSpace(se=True).supernet()
    y = net(torch.randn(1, 3, 16, 16))
    y.sum().backward()
    assert y.shape == (1, 10) and net.alphas.grad is not None


def test_custom_stages_and_width_mult():
    sp = MobileSpace(stages=[Stage(8, 2, 2), (12, 1, 2)], stem_channels=8, head_channels=32)
    assert sp.num_blocks == 3 and sp.allowed[1] == CHOICES
    net = sp.build(sp.reference("largest"), width_mult=2.0)
    assert net(torch.randn(2, 3, 28, 28)).shape == (2, 10)
    assert sp.skeleton(2.0)["blocks"][0] == (16, 16, 2)
    assert isinstance(mobile_block("k7_e3", 8, 16, 2), MBConv)
