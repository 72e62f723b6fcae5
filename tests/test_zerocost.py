"""Zero-cost proxies: each one against an independent computation on a tiny network (oracle tests),
then the estimator on the real spaces (finite, deterministic, registered, searchable, bad options).

The oracles avoid the code under test: gradients by hand-written backprop in numpy, the Hessian-vector
product by finite differences of that gradient, the Jacobian by ``torch.autograd.functional.jacobian``,
the NASWOT kernel by hand and by numpy, synflow by its closed form.
"""
import math
import random

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import nasbench_lab as nl
from nasbench_lab import zerocost as zc
from nasbench_lab.config import fields
from nasbench_lab.estimators import EstimatorError
from nasbench_lab.spaces import get_space

pytestmark = pytest.mark.usefixtures("one_thread")


# ---------------------------------------------------------------------- a tiny MLP and its hand backprop
def mlp(seed=0, bias=True):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(8, 16, bias=bias), nn.ReLU(), nn.Linear(16, 3, bias=bias)).double()


def batch(seed=1, n=5):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 8, generator=g, dtype=torch.float64), torch.randint(0, 3, (n,), generator=g)


def np_params(net):
    w1, b1 = net[0].weight.detach().numpy().copy(), net[0].bias.detach().numpy().copy()
    w2, b2 = net[2].weight.detach().numpy().copy(), net[2].bias.detach().numpy().copy()
    return w1, b1, w2, b2


def hand_backprop(w1, b1, w2, b2, x, y):
    """Mean cross-entropy of relu(x W1^T + b1) W2^T + b2: pre-activations and gradients, by hand."""
    z1 = x @ w1.T + b1
    h = np.maximum(z1, 0)
    z2 = h @ w2.T + b2
    p = np.exp(z2 - z2.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    dz2 = (p - np.eye(3)[y]) / len(y)
    dw2 = dz2.T @ h
    dz1 = (dz2 @ w2) * (z1 > 0)
    dw1 = dz1.T @ x
    return {"z1": z1, "z2": z2, "dz1": dz1, "dz2": dz2, "dw1": dw1, "dw2": dw2}


@pytest.fixture
def tiny():
    net = mlp()
    x, y = batch()
    return net, x, y, hand_backprop(*np_params(net), x.numpy(), y.numpy())


# ---------------------------------------------------------------------- oracles
def test_synflow_closed_form_of_a_two_layer_net():
    net = mlp(bias=False)
    a1, a2 = (np.abs(m.weight.detach().numpy()) for m in (net[0], net[2]))
    r = np.ones(3) @ a2 @ a1 @ np.ones(8)          # sum over input-output paths of the |weight| products
    # each path's product appears once per layer in sum(theta * dR/dtheta): 2 layers -> 2 R
    assert zc.synflow(net, *batch()) == pytest.approx(2 * r, rel=1e-12)
    before = [p.detach().clone() for p in net.parameters()]
    net.train()
    zc.synflow(net, *batch())
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters())), "synflow changed the caller's weights"
    assert net.training and net[0].weight.dtype == torch.float64


def test_synflow_treats_batchnorm_as_off():
    torch.manual_seed(3)
    net = nn.Sequential(nn.Linear(8, 6, bias=False), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 3, bias=False))
    net.train()
    net(torch.randn(16, 8) * 5 + 3)                # running statistics far from their initial 0 / 1
    a1, a2 = (np.abs(m.weight.detach().double().numpy()) for m in (net[0], net[3]))
    r = np.ones(3) @ a2 @ a1 @ np.ones(8) / math.sqrt(1 + net[1].eps)
    assert zc.synflow(net, torch.zeros(4, 8)) == pytest.approx(2 * r, rel=1e-9)


def test_snip_and_grad_norm_by_hand(tiny):
    net, x, y, h = tiny
    w1, _, w2, _ = np_params(net)
    assert zc.snip(net, x, y) == pytest.approx(np.abs(h["dw1"] * w1).sum() + np.abs(h["dw2"] * w2).sum(), rel=1e-10)
    assert zc.grad_norm(net, x, y) == pytest.approx(np.linalg.norm(h["dw1"]) + np.linalg.norm(h["dw2"]), rel=1e-10)


def test_fisher_by_hand_on_linear_layers(tiny):
    net, x, y, h = tiny
    want = sum(0.5 * ((h[f"z{k}"] * h[f"dz{k}"]) ** 2).mean(0).sum() for k in (1, 2))
    assert zc.fisher(net, x, y) == pytest.approx(want, rel=1e-10)


def test_fisher_sums_positions_on_a_conv_layer():
    torch.manual_seed(0)
    conv, lin = nn.Conv2d(1, 2, 3, padding=1).double(), nn.Linear(32, 3).double()
    net = nn.Sequential(conv, nn.ReLU(), nn.Flatten(), lin)
    x, y = torch.randn(4, 1, 4, 4, dtype=torch.float64), torch.tensor([0, 1, 2, 1])
    a1 = F.conv2d(x, conv.weight, conv.bias, padding=1).detach().requires_grad_(True)
    a2 = lin(F.relu(a1).flatten(1))
    g1, g2 = torch.autograd.grad(F.cross_entropy(a2, y), [a1, a2])
    want = 0.5 * (a1 * g1).sum((2, 3)).pow(2).mean(0).sum() + 0.5 * (a2 * g2).pow(2).mean(0).sum()
    assert zc.fisher(net, x, y) == pytest.approx(float(want.detach()), rel=1e-10)


def test_grasp_against_a_finite_difference_hessian_vector_product(tiny):
    net, x, y, h = tiny
    w1, b1, w2, b2 = np_params(net)
    g1, g2 = h["dw1"], h["dw2"]
    eps = 1e-6

    def grad_at(s):
        o = hand_backprop(w1 + s * g1, b1, w2 + s * g2, b2, x.numpy(), y.numpy())
        return o["dw1"], o["dw2"]

    (p1, p2), (m1, m2) = grad_at(eps), grad_at(-eps)
    hg1, hg2 = (p1 - m1) / (2 * eps), (p2 - m2) / (2 * eps)
    want = -(w1 * hg1).sum() - (w2 * hg2).sum()
    assert zc.grasp(net, x, y) == pytest.approx(want, rel=1e-5, abs=1e-9)


def test_jacob_cov_against_an_explicit_jacobian(tiny):
    net, x, _, _ = tiny
    jac = torch.autograd.functional.jacobian(net, x)            # (N, classes, N, inputs)
    j = jac.sum(dim=(0, 1)).numpy()                             # d(sum of all outputs)/d(image n)
    v = np.clip(np.linalg.eigvals(np.corrcoef(j)).real, 0, None)
    want = -np.sum(np.log(v + 1e-5) + 1 / (v + 1e-5))
    assert zc.jacob_cov(net, x) == pytest.approx(want, rel=1e-8)


def test_jacob_cov_of_a_disconnected_network_is_the_minimum():
    net = nn.Sequential(nn.Linear(8, 3))
    nn.init.zeros_(net[0].weight)
    n, k = 5, 1e-5
    # all-ones correlation: eigenvalues n and 0 (n - 1 times)
    want = -(math.log(n + k) + 1 / (n + k)) - (n - 1) * (math.log(k) + 1 / k)
    assert zc.jacob_cov(net, torch.randn(n, 8)) == pytest.approx(want, rel=1e-9)


def test_naswot_hand_computed_kernel():
    net = nn.Sequential(nn.Linear(2, 3, bias=False), nn.ReLU(), nn.Linear(3, 1))
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]))
    x = torch.tensor([[1.0, -1.0], [-1.0, 1.0], [1.0, 1.0]])
    # pre-activations (1,-1,0), (-1,1,0), (1,1,2) -> codes 100, 010, 111 (0 is not > 0); N_A = 3
    # K = N_A - Hamming = [[3,1,1],[1,3,1],[1,1,3]], det = 3*8 - 1*2 + 1*(-2) = 20
    assert zc.naswot(net, x) == pytest.approx(math.log(20), rel=1e-12)


class _Functional(nn.Module):
    """ReLUs as the lab's NB201 cell calls them (functional) and as MobileNet does (nn.ReLU6)."""

    def __init__(self):
        super().__init__()
        self.l1, self.l2, self.l3, self.act6 = nn.Linear(8, 6), nn.Linear(6, 5), nn.Linear(5, 2), nn.ReLU6()

    def forward(self, x):
        return self.l3(self.act6(self.l2(F.relu(self.l1(x)))))


def test_naswot_sees_functional_relus_and_relu6():
    torch.manual_seed(0)
    net = _Functional()
    x = torch.randn(6, 8)
    with torch.no_grad():
        z1 = net.l1(x)
        z2 = net.l2(F.relu(z1))
    c = torch.cat([(z1 > 0), (z2 > 0)], 1).double().numpy()       # 11 units
    k = c @ c.T + (1 - c) @ (1 - c).T
    assert zc.naswot(net, x) == pytest.approx(np.linalg.slogdet(k)[1], rel=1e-10)


def test_naswot_singular_kernel_is_finite():
    net = nn.Sequential(nn.Linear(8, 3), nn.ReLU())
    x = torch.randn(1, 8).repeat(4, 1)                           # identical images: identical codes
    assert zc.naswot(net, x) == zc.LOG_ZERO


def test_baselines_and_normalisation(tiny):
    net, x, y, _ = tiny
    assert zc.params(net) == 8 * 16 + 16 + 16 * 3 + 3
    assert zc.flops(net, x) == 2 * (8 * 16 + 16 * 3)               # one image, a multiply-add = 2
    assert zc.normalise("synflow", 1e50) == pytest.approx(50 * math.log(10))
    assert zc.normalise("snip", 0.0) == zc.LOG_ZERO and math.isfinite(zc.LOG_ZERO)
    assert zc.normalise("grasp", -3.5) == -3.5 and zc.normalise("naswot", 7.0) == 7.0


def test_proxies_leave_the_network_as_they_found_it(tiny):
    net, x, y, _ = tiny
    net.eval()
    first = {p: zc.PROXIES[p].fn(net, x, y) for p in zc.PROXIES}
    assert not net.training and all(p.grad is None for p in net.parameters())
    assert {p: zc.PROXIES[p].fn(net, x, y) for p in reversed(zc.PROXY_NAMES)} == first


# ---------------------------------------------------------------------- the real spaces
@pytest.fixture(scope="module")
def synth():
    return zc.load_data("synthetic")


NB201_CELLS = ["best_cifar10", "resnet", "all_skip", "empty"]


def test_every_proxy_is_finite_on_nb201(synth):
    sp = get_space("nb201")
    for ref in NB201_CELLS:
        r = zc.score_all(sp, sp.reference(ref), data=synth, batch_size=32)
        assert set(r.scores) == set(zc.PROXIES)
        assert all(math.isfinite(v) for v in r.scores.values()), (ref, r.scores)
        assert all(s >= 0 for s in r.seconds.values()) and r.params > 0 and r.flops > 0
    best, empty = (zc.score_all(sp, sp.reference(c), data=synth, batch_size=32).scores
                   for c in ("best_cifar10", "empty"))
    for p in ("synflow", "snip", "grad_norm", "jacob_cov", "naswot", "params", "flops"):
        assert best[p] > empty[p], p                              # a cell that computes beats one that cannot


def test_deterministic_and_order_free(synth):
    sp = get_space("nb201")
    arch = sp.reference("resnet")
    a = zc.score_all(sp, arch, data=synth, seed=3, batch_size=16)
    b = zc.score_all(sp, arch, list(reversed(zc.PROXY_NAMES)), data=synth, seed=3, batch_size=16)
    assert a.scores == b.scores                                   # same seed, any order: the same numbers
    assert zc.score(sp, arch, "snip", data=synth, seed=3, batch_size=16) == a.scores["snip"]
    c = zc.score_all(sp, arch, ["synflow", "snip", "params"], data=synth, seed=4, batch_size=16)
    assert c.scores["synflow"] != a.scores["synflow"] and c.scores["snip"] != a.scores["snip"]
    assert c.scores["params"] == a.scores["params"]


@pytest.mark.parametrize("space, skeleton", [("chain", {"C": 8}), ("mobile", {"width_mult": 0.25}),
                                             ("darts", {"C": 4, "layers": 2})])
def test_other_spaces_smoke(synth, space, skeleton):
    sp = get_space(space)
    r = zc.score_all(sp, sp.sample(random.Random(0)), data=synth, batch_size=8, skeleton=skeleton)
    assert all(math.isfinite(v) for v in r.scores.values()), r.scores
    assert r.scores["naswot"] > zc.LOG_ZERO                        # its ReLUs (ReLU6 in mobile) were seen


def test_registered_and_searchable(synth):
    assert "zerocost" in nl.list_estimators()
    est = nl.get_estimator("zerocost", proxy="naswot", batch_size=16, data=synth, device="cpu")
    ev = est.evaluate(get_space("nb201"), get_space("nb201").reference("resnet"), seed=0)
    assert ev.test_acc is None and ev.cost > 0 and ev.metrics["proxy"] == "naswot"
    assert ev.val_acc == ev.metrics["score"] == ev.metrics["raw"] and ev.metrics["params"] > 0
    res = nl.search("nb201", "random", "zerocost", budget=3, dataset="synthetic", device="cpu",
                    estimator_options={"proxy": "synflow", "batch_size": 16})
    assert len(res.evaluations) == 3
    assert res.best.val_acc == max(e.val_acc for e in res.evaluations)
    assert res.best.metrics["proxy"] == "synflow" and math.isfinite(res.best.val_acc)


@pytest.mark.parametrize("options, words", [
    ({"proxy": "zen"}, ["proxy", "synflow", "naswot", "params"]),
    ({"batch_size": 1}, ["batch_size", "2"]),
    ({"batch_size": 0}, ["batch_size"]),
    ({"batch_size": "64"}, ["batch_size", "integer"]),
    ({"batch_size": True}, ["batch_size", "integer"]),
    ({"image_size": 2}, ["image_size"]),
    ({"proxie": "snip"}, ["proxie", "proxy", "batch_size"]),
    ({"dataset": "mnist"}, ["mnist", "fashion-mnist"]),
])
def test_bad_options(options, words):
    with pytest.raises(EstimatorError) as err:
        nl.get_estimator("zerocost", **options)
    assert all(w in str(err.value) for w in words), str(err.value)


def test_bad_proxy_names_in_the_function_api(synth):
    with pytest.raises(EstimatorError, match="choose from: synflow"):
        zc.score_all(get_space("nb201"), get_space("nb201").reference("resnet"), ["synflow", "zen"], data=synth)
    with pytest.raises(EstimatorError, match="larger than"):
        zc.score(get_space("nb201"), get_space("nb201").reference("resnet"), "snip", data=synth, batch_size=4000)


def test_option_choices_list_every_proxy():
    spec = {s.name: s for s in fields(zc.ZeroCostOptions)}["proxy"]
    assert spec.choices == zc.PROXY_NAMES and spec.doc
