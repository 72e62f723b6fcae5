"""NB201 space: oracle tests against the published figures and the eager reference network."""
import itertools
import random

import pytest
import torch

from nasbench_lab.spaces import SpaceError, get_space
from nasbench_lab.spaces.nb201 import EDGES, OPS, NB201Arch, _node_expressions


@pytest.fixture(scope="module")
def space():
    return get_space("nb201")


def test_size_and_unique_count(space):
    archs = list(space.enumerate())
    assert len(archs) == len(set(archs)) == 15_625 == space.size()
    assert len({space.expression(a) for a in archs}) == 6_466
    assert len(space.unique()) == 6_466
    assert len({space.canonical(a) for a in archs}) == 6_466


def test_alternative_zero_rules_give_the_other_published_counts():
    """The ANCHORS explain 6,466 by contrast: proper zero removal gives 5,390, ignoring zeros 12,751."""
    def expr(ops, proper):
        nodes = ["x"]
        for j in (1, 2, 3):
            terms = []
            for i in range(j):
                op = ops[EDGES.index((i, j))]
                if op == "none" or nodes[i] == "#":
                    if not proper:
                        terms.append("#")
                    continue
                terms.append(nodes[i] if op == "skip_connect" else f"({nodes[i]})@{op}")
            nodes.append("+".join(sorted(terms)) if terms else "#")
        return nodes[3]

    def expr_ignore(ops):
        nodes = ["x"]
        for j in (1, 2, 3):
            terms = [nodes[i] if ops[EDGES.index((i, j))] == "skip_connect" else
                     f"({nodes[i]})@{ops[EDGES.index((i, j))]}" for i in range(j)]
            nodes.append("+".join(sorted(terms)))
        return nodes[3]

    all_ops = list(itertools.product(OPS, repeat=6))
    assert len({expr(o, proper=True) for o in all_ops}) == 5_390
    assert len({expr_ignore(o) for o in all_ops}) == 12_751
    assert len({_node_expressions(o)[3] for o in all_ops}) == 6_466


def test_canonical_is_a_class_member_and_idempotent(space):
    rng = random.Random(0)
    for _ in range(300):
        a = space.sample(rng)
        c = space.canonical(a)
        assert space.expression(c) == space.expression(a)
        assert space.canonical(c) == c


def test_string_round_trip_of_every_cell(space):
    for a in space.enumerate():
        s = str(a)
        assert space.from_str(s) == a and space.to_str(a) == s


@pytest.mark.parametrize("bad, needle", [
    ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|", "3 node groups"),
    ("|conv_9x9~0|+|none~0|none~1|+|none~0|none~1|none~2|", "unknown nb201 op 'conv_9x9'"),
    ("|none~1|+|none~0|none~1|+|none~0|none~1|none~2|", "expected 'op~0'"),
    ("|none~0|+|none~0|+|none~0|none~1|none~2|", "node 2 needs 2 inputs"),
    ("", "3 node groups"),
])
def test_malformed_strings_name_the_problem(space, bad, needle):
    with pytest.raises(SpaceError, match=needle.replace("|", r"\|").replace("(", r"\(")):
        space.from_str(bad)
    assert issubclass(SpaceError, ValueError)


def test_parameter_counts_match_the_published_range(space):
    n = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert n(space.build(space.reference("empty"), 3, 10)) == 73_306
    assert n(space.build(space.reference("all_conv3x3"), 3, 10)) == 1_531_546
    counts = [n(space.build(space.sample(random.Random(s)), 3, 10)) for s in range(20)]
    assert all(73_306 <= c <= 1_531_546 for c in counts)


def test_same_outputs_as_the_reference_network(space, reference):
    """Copy the reference's weights into ours: identical outputs and parameter counts, for many cells."""
    rng = random.Random(1)
    x = torch.randn(4, 1, 28, 28)
    for _ in range(12):
        arch = space.sample(rng)
        torch.manual_seed(0)
        ref = reference.NB201Net(list(arch.ops), C=8, N=2, in_channels=1).eval()
        ours = space.build(arch, 1, 10, C=8, N=2).eval()
        rp, op = list(ref.parameters()), list(ours.parameters())
        assert [p.shape for p in rp] == [p.shape for p in op]
        ours.load_state_dict(dict(zip(ours.state_dict().keys(), ref.state_dict().values())))
        torch.testing.assert_close(ours(x), ref(x), rtol=1e-5, atol=1e-5)


def test_variation_operators(space):
    rng = random.Random(2)
    a = space.sample(rng)
    for _ in range(50):
        m = space.mutate(a, rng)
        assert sum(x != y for x, y in zip(a.ops, m.ops)) == 1
    nb = space.neighbours(a)
    assert len(nb) == len(set(nb)) == 24 and a not in nb
    b = space.sample(rng)
    c = space.crossover(a, b, rng)
    assert all(x in (y, z) for x, y, z in zip(c.ops, a.ops, b.ops))
    d = space.decisions()
    assert len(d) == 6 and all(len(x.choices) == 5 for x in d)
    assert space.from_decisions(space.to_decisions(a)) == a


def test_references_and_graph(space):
    for name in space.references():
        a = space.reference(name)
        assert isinstance(a, NB201Arch)
    g = space.to_graph(space.reference("resnet"))
    assert g.number_of_nodes() == 4 and g.number_of_edges() == 6
    assert g.edges[0, 1]["op"] == "nor_conv_3x3" and g.edges[0, 3]["op"] == "skip_connect"
    with pytest.raises(SpaceError, match="no reference 'vgg'"):
        space.reference("vgg")


def test_build_forward_backward_and_dead_nodes(space):
    x = torch.randn(2, 3, 32, 32)
    # node 1 feeds nothing live here: its conv is dead and must not change the output or get a gradient
    arch = space.from_str("|nor_conv_3x3~0|+|skip_connect~0|none~1|+|none~0|none~1|nor_conv_1x1~2|")
    net = space.build(arch, 3, 10, C=4, N=1)
    net(x).sum().backward()
    cell = net.cells[0]
    assert cell.edges["01"].conv.weight.grad is None
    assert cell.edges["23"].conv.weight.grad is not None
