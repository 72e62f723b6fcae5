"""The layer-wise chain space (Zoph & Le 2017 / ENAS-macro) and the general primitives in ops.py."""
from __future__ import annotations

import random

import pytest
import torch

from nasbench_lab.spaces import SpaceError, get_space
from nasbench_lab.spaces.chain import ChainArch, ChainSpace
from nasbench_lab.spaces.ops import PRIMITIVES, MBConv, SpatialSelfAttention, SqueezeExcite, make_op

torch.set_num_threads(2)
DARTS_NAMES = {"none", "max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5",
               "dil_conv_3x3", "dil_conv_5x5"}


@pytest.fixture(params=[False, True], ids=["plain", "attention"])
def space(request) -> ChainSpace:
    return get_space("chain", attention=request.param)


def test_registry_and_describe(space):
    assert isinstance(space, ChainSpace)
    d = space.describe()
    assert d["layers"] == 6 and d["reductions"] == [2, 4]
    assert ("attention" in d["ops"]) == space.attention
    # 6 (or 8) ops per layer and 15 skip bits for L = 6
    assert space.size() == len(space.ops) ** 6 * 2 ** 15


def test_string_round_trip_200(space):
    rng = random.Random(0)
    for _ in range(200):
        a = space.sample(rng)
        s = space.to_str(a)
        b = space.from_str(s)
        assert b == a and hash(b) == hash(a) and space.to_str(b) == s
        # whitespace around '|' is free
        assert space.from_str(s.replace(" | ", "|")) == a


def test_string_format_example():
    sp = ChainSpace(L=3)
    a = sp.from_str("conv_3x3 | sep_conv_5x5 1 | max_pool_3x3 01")
    assert a == ChainArch(("conv_3x3", "sep_conv_5x5", "max_pool_3x3"), ((), (1,), (0, 1)))
    assert str(a) == "conv_3x3 | sep_conv_5x5 1 | max_pool_3x3 01"


@pytest.mark.parametrize("bad, match", [
    ("conv_3x3 | conv_3x3 1", "expected 3 layers"),
    ("conv_3x3 | conv_3x3 1 | conv_3x3 01 | conv_3x3 001", "expected 3 layers"),
    ("conv_3x3 1 | conv_3x3 1 | conv_3x3 01", "layer 0 must be"),
    ("conv_3x3 | conv_3x3 | conv_3x3 01", "layer 1 must be"),
    ("conv_3x3 | conv_3x3 1 | conv_3x3 011", "exactly 2 skip bits"),
    ("conv_3x3 | conv_3x3 2 | conv_3x3 01", "exactly 1 skip bits"),
    ("conv_3x3 | conv_7x7 1 | conv_3x3 01", "unknown chain op 'conv_7x7'"),
    ("conv_3x3 | attention 1 | conv_3x3 01", "attention=True"),
    ("", "expected 3 layers"),
])
def test_bad_strings(bad, match):
    with pytest.raises(SpaceError, match=match):
        ChainSpace(L=3).from_str(bad)


def test_bad_inputs():
    sp = ChainSpace(L=3)
    with pytest.raises(SpaceError, match="must be a string"):
        sp.from_str(42)
    with pytest.raises(SpaceError, match="must be a string, got ChainArch"):    # strings only; values: check
        sp.from_str(sp.reference("vgg_like"))
    with pytest.raises(SpaceError, match="L=3"):
        sp.check(ChainSpace(L=4).reference("vgg_like"))
    with pytest.raises(SpaceError, match="must be a ChainArch, got str"):
        sp.check("conv_3x3 | conv_3x3 0 | conv_3x3 00")
    with pytest.raises(SpaceError, match="needs 6 decisions"):
        sp.from_decisions([0, 0])
    with pytest.raises(SpaceError, match="out of range"):
        sp.from_decisions([0, 99, 0, 0, 0, 0])
    with pytest.raises(SpaceError, match="reductions"):
        ChainSpace(L=3, reductions=(0,))
    with pytest.raises(SpaceError, match="unknown chain skeleton option"):
        sp.build(sp.reference("vgg_like"), N=5)
    with pytest.raises(TypeError):
        sp.sample(0)


def test_variation_operators(space):
    rng = random.Random(1)
    n_dec = len(space.decisions())
    expected_neighbours = sum(len(d.choices) - 1 for d in space.decisions())
    for _ in range(20):
        a, b = space.sample(rng), space.sample(rng)
        m = space.mutate(a, rng)
        da, dm = space.to_decisions(a), space.to_decisions(m)
        assert sum(x != y for x, y in zip(da, dm)) == 1
        nb = space.neighbours(a)
        assert len(nb) == len(set(nb)) == expected_neighbours
        assert m in nb and a not in nb
        c = space.crossover(a, b, rng)
        space.from_str(space.to_str(c))
        assert all(x in (y, z) for x, y, z in zip(space.to_decisions(c), da, space.to_decisions(b)))
        assert len(da) == n_dec


def test_decisions_round_trip(space):
    rng = random.Random(2)
    decs = space.decisions()
    assert len(decs) == 6 + 15
    assert decs[0].name == "layer 0 op" and decs[2].name == "layer 1 skip from 0" and decs[2].choices == (0, 1)
    for _ in range(50):
        a = space.sample(rng)
        ix = space.to_decisions(a)
        assert all(0 <= i < len(d.choices) for i, d in zip(ix, decs))
        assert space.from_decisions(ix) == a


def test_size_matches_brute_force():
    for sp in (ChainSpace(L=2), ChainSpace(L=3, attention=True)):
        archs = list(sp.enumerate())
        assert len(archs) == len(set(archs)) == sp.size()
    assert ChainSpace(L=2).size() == 6 ** 2 * 2
    with pytest.raises(SpaceError, match="too large"):
        ChainSpace().enumerate()


def test_references_and_graph(space):
    for name in space.references():
        a = space.reference(name)
        assert space.from_str(space.to_str(a)) == a
        g = space.to_graph(a)
        assert g.number_of_nodes() == space.L + 2
        assert [g.nodes[i]["label"] for i in range(space.L)] == list(a.ops)
        n_skips = sum(b for i, bits in enumerate(a.skips) for j, b in enumerate(bits) if j != i - 1)
        assert g.number_of_edges() == space.L + 1 + n_skips
        assert all("op" in d for _, _, d in g.edges(data=True))
    assert ("conv_attention" in space.references()) == space.attention
    r = space.reference("resnet_like")
    assert str(r) == "conv_3x3 | conv_3x3 0 | conv_3x3 00 | conv_3x3 010 | conv_3x3 0000 | conv_3x3 00010"
    assert space.to_graph(r).edges[1, 3]["op"] == "skip"
    assert [space.to_graph(r).edges[i - 1, i]["op"] for i in (2, 4)] == ["reduce", "reduce"]
    with pytest.raises(SpaceError, match="no reference"):
        space.reference("alexnet")


def _count(net):
    return sum(p.numel() for p in net.parameters())


def test_vgg_like_parameter_count():
    """Oracle by hand: stem, 6 conv-BN layers at 16/16/32/32/64/64, two pool+1x1 reductions, head."""
    C, sp = 16, ChainSpace()
    stem = 3 * C * 9 + 2 * C
    layers = sum(2 * (9 * c * c + 2 * c) for c in (C, 2 * C, 4 * C))
    reductions = sum(c * 2 * c + 4 * c for c in (C, 2 * C))
    head = 4 * C * 10 + 10
    assert _count(sp.build(sp.reference("vgg_like"))) == stem + layers + reductions + head == 101082
    # the all-pool chain has no learnable layer after the stem: only the skeleton remains
    assert _count(sp.build(sp.reference("all_pool"))) == stem + reductions + head


@pytest.mark.parametrize("shape", [(2, 1, 28, 28), (2, 3, 32, 32)])
def test_build_forward_backward(space, shape):
    rng = random.Random(3)
    archs = [space.reference(n) for n in space.references()] + [space.sample(rng) for _ in range(2)]
    for a in archs:
        net = space.build(a, in_channels=shape[1], num_classes=7, C=8)
        y = net(torch.randn(*shape))
        assert y.shape == (shape[0], 7) and torch.isfinite(y).all()
        y.square().mean().backward()
        assert net.stem[0].weight.grad is not None and net.stem[0].weight.grad.abs().sum() > 0


def test_skip_changes_output():
    sp, x = ChainSpace(L=3, reductions=(1,)), torch.randn(2, 3, 16, 16)
    torch.manual_seed(0)
    plain = sp.build(sp.from_str("conv_3x3 | conv_3x3 0 | conv_3x3 00")).eval()
    torch.manual_seed(0)
    skip = sp.build(sp.from_str("conv_3x3 | conv_3x3 0 | conv_3x3 10")).eval()   # crosses the reduction: adapter
    assert len(skip.adapters) == 1 and _count(skip) > _count(plain)
    assert skip(x).shape == plain(x).shape == (2, 10)


def test_small_and_custom_skeletons():
    for L, red in ((1, None), (2, None), (4, (1, 2, 3))):
        sp = ChainSpace(L=L, reductions=red)
        a = sp.sample(random.Random(L))
        assert sp.build(a, C=4)(torch.randn(2, 3, 32, 32)).shape == (2, 10)


# ---------------------------------------------------------------------- the general primitives
def test_primitive_names_do_not_clash_with_darts():
    mine = {"conv_3x3", "conv_5x5", "chain_sep_conv_3x3", "chain_sep_conv_5x5", "chain_max_pool_3x3",
            "chain_avg_pool_3x3", "se", "attention"}
    mine |= {f"mbconv{s}_k{k}_e{e}" for s in ("", "_se") for k in (3, 5, 7) for e in (3, 6)}
    assert mine <= set(PRIMITIVES) and not mine & DARTS_NAMES
    with pytest.raises(SpaceError, match="unknown op"):
        make_op("conv_9x9", 4, 4)


@pytest.mark.parametrize("name", ["conv_3x3", "conv_5x5", "chain_sep_conv_3x3", "chain_sep_conv_5x5",
                                  "chain_max_pool_3x3", "chain_avg_pool_3x3", "se", "attention",
                                  "mbconv_k5_e3", "mbconv_se_k7_e6"])
@pytest.mark.parametrize("c_in, c_out, stride", [(8, 8, 1), (8, 16, 2)])
def test_primitive_shapes(name, c_in, c_out, stride):
    op = make_op(name, c_in, c_out, stride)
    x = torch.randn(2, c_in, 9, 9, requires_grad=True)
    y = op(x)
    assert y.shape == (2, c_out, (9 - 1) // stride + 1, (9 - 1) // stride + 1)
    y.square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


@pytest.mark.parametrize("hw", [(1, 1), (4, 4), (7, 7), (8, 8), (28, 28), (32, 32), (5, 12)])
def test_attention_keeps_shape_and_trains(hw):
    att = SpatialSelfAttention(16)
    x = torch.randn(2, 16, *hw, requires_grad=True)
    y = att(x)
    assert y.shape == x.shape
    assert torch.allclose(y, x)            # zero-initialised positional conv and projection: identity
    y.square().sum().backward()
    assert att.proj.weight.grad.abs().sum() > 0 and att.pos.weight.grad.abs().sum() > 0
    # after an update the attention path is live and q/k/v get gradients
    with torch.no_grad():
        att.proj.weight.normal_(0, 0.1)
    att.zero_grad()
    att(x).square().sum().backward()
    assert att.kv.weight.grad.abs().sum() > 0
    # (one position: softmax over a single key is constant, so the queries get no gradient)
    assert (att.q.weight.grad.abs().sum() > 1e-4) == (hw[0] * hw[1] > 1)     # 1x1: zero up to rounding


def test_attention_options():
    assert SpatialSelfAttention(12).heads == 4 and SpatialSelfAttention(6).heads == 2
    with pytest.raises(ValueError, match="heads"):
        SpatialSelfAttention(10, heads=4)
    # key/value pooling above max_tokens keeps the output shape (PVT-style spatial reduction)
    att = SpatialSelfAttention(8, max_tokens=9)
    with torch.no_grad():
        att.proj.weight.normal_()
    assert att(torch.randn(1, 8, 10, 10)).shape == (1, 8, 10, 10)


def test_squeeze_excite_is_a_gate():
    se = SqueezeExcite(16)
    x = torch.rand(2, 16, 5, 5) + 0.1
    y = se(x)
    assert y.shape == x.shape and (y > 0).all() and (y < x).all()   # sigmoid gate in (0, 1)
    y.sum().backward()
    assert se.reduce.weight.grad.abs().sum() > 0


def test_mbconv_parameter_count_and_residual():
    """Oracle: expand 1x1 + BN, depthwise kxk + BN, project 1x1 + BN."""
    for ci, co, k, s, e in ((16, 16, 3, 1, 6), (16, 24, 5, 2, 3), (8, 8, 7, 1, 1)):
        m = MBConv(ci, co, k, s, e)
        mid = ci * e
        expand = 0 if e == 1 else ci * mid + 2 * mid
        assert _count(m) == expand + mid * k * k + 2 * mid + mid * co + 2 * co
        assert m.residual == (s == 1 and ci == co)
    # with every weight zeroed a residual MBConv is the identity
    m = MBConv(8, 8, 3, 1, 6).eval()
    for p in m.project.parameters():
        torch.nn.init.zeros_(p)
    x = torch.randn(1, 8, 6, 6)
    assert torch.allclose(m(x), x)
