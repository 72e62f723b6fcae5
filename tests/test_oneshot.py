"""The one-shot family: the NB201 supernet (parameter count against an independent count, the three
forward modes), the DARTS second-order gradient against exact double backward, tiny-budget runs of
darts (first and second order, both remedies), enas, spos and proxyless through ``search``, and the
``supernet`` estimator (multi-trial search on it, save/load)."""
from __future__ import annotations

import importlib.util
import random

import pytest
import torch

from nasbench_lab import EventLog, get_estimator, get_space, search
from nasbench_lab.data import load_dataset
from nasbench_lab.oneshot import Precision
from nasbench_lab.spaces import SpaceError
from nasbench_lab.strategies import StrategyError, list_strategies, strategy_class

ONE_SHOT = [s for s in list_strategies() if strategy_class(s).family == "one-shot"]


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def syn():
    return load_dataset("synthetic")


def n_params(params) -> int:
    return sum(p.numel() for p in params)


# ---------------------------------------------------------------------- the NB201 supernet
def closed_form_nb201_supernet(C, N, in_channels=3, num_classes=10) -> int:
    """Independent count: stem conv+BN; per search cell 6 edges x (1x1 + 3x3 conv, BN without affine);
    two residual blocks (2 conv3x3 + BN each, 1x1 shortcut); last BN; linear."""
    total = in_channels * C * 9 + 2 * C
    c = C
    for stage in range(3):
        if stage:
            total += c * 2 * c * 9 + 2 * 2 * c + 2 * c * 2 * c * 9 + 2 * 2 * c + c * 2 * c
            c *= 2
        total += N * 6 * (c * c + 9 * c * c)
    return total + 2 * c + c * num_classes + num_classes


def test_nb201_supernet_weight_count_equals_the_reference(reference):
    net = get_space("nb201").supernet()                         # C=16, N=5, 32x32x3, 10 classes
    assert n_params(net.weight_parameters()) == closed_form_nb201_supernet(16, 5) == 1_686_106
    assert n_params(net.arch_parameters()) == 30 and tuple(net.alphas.shape) == (6, 5)
    # against the reference's stand-alone network: the all-3x3 NB201 net (1,531,546 in ANCHORS.md)
    # plus one 1x1 conv per edge, minus the affine BN parameters the search cells drop
    all3 = n_params(reference.NB201Net(["nor_conv_3x3"] * 6, 16, 5).parameters())
    assert all3 == 1_531_546
    assert n_params(net.weight_parameters()) == all3 + sum(5 * 6 * (c * c - 2 * c) for c in (16, 32, 64))
    small = get_space("nb201").supernet(in_channels=1, num_classes=7, C=6, N=2)
    assert n_params(small.weight_parameters()) == closed_form_nb201_supernet(6, 2, 1, 7)


def test_darts_supernet_weight_count_is_the_published_one():
    net = get_space("darts").supernet()
    assert round(n_params(net.weight_parameters()) / 1e6, 2) == 1.93       # ANCHORS.md: 1.93 M


def test_nb201_supernet_forward_modes_agree():
    space = get_space("nb201")
    torch.manual_seed(0)
    net = space.supernet(in_channels=1, C=4, N=1)
    x = torch.randn(8, 1, 16, 16)
    rng = random.Random(0)
    for _ in range(4):
        arch = space.sample(rng)
        onehot = torch.zeros(6, 5)
        for e, op in enumerate(arch.ops):
            onehot[e, space.decisions()[e].choices.index(op)] = 1.0
        path = net(x, arch=arch)
        assert torch.allclose(path, net(x, weights=onehot), atol=1e-6)              # zero ops skipped
        assert torch.allclose(path, net(x, weights=onehot.requires_grad_()), atol=1e-6)  # all ops run
        with pytest.raises(SpaceError, match="got str"):            # a string is parsed first (from_str)
            net(x, arch=str(arch))
    empty = net(x, arch=space.reference("empty"))                  # every edge 'none': a constant output
    assert torch.allclose(empty, empty[:1].expand_as(empty))
    w = torch.full((6, 5), 0.1)
    w[torch.arange(6), torch.tensor([3, 1, 2, 4, 0, 3])] = 0.9
    assert str(net.derive(w)) == "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|"
    assert net.edge_names() == ["0->1", "0->2", "1->2", "0->3", "1->3", "2->3"] and net.op_names()[0] == "none"
    with pytest.raises(SpaceError, match="shape"):
        net(x, weights=torch.zeros(5, 5))
    with pytest.raises(SpaceError, match="either"):
        net(x, weights=onehot, arch=arch)


def _grads(module, out, extra):
    params = list(module.parameters()) + extra
    return torch.autograd.grad((out * torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)).sum(),
                               params, allow_unused=True)


@pytest.mark.parametrize("space_name", ["nb201", "darts"])
def test_fused_mix_equals_the_op_by_op_mix(space_name):
    """The fast DARTS mix (edges of one node computed together, mixing weights inside the batch norms)
    gives the op-by-op loop's outputs, gradients (weights, mixing weights, input) and running statistics,
    in float64."""
    torch.manual_seed(0)
    if space_name == "nb201":
        from nasbench_lab.spaces.nb201_supernet import SearchCell
        a, b = SearchCell(4).double(), SearchCell(4).double()
        w = torch.softmax(torch.randn(6, 5, dtype=torch.float64), -1).requires_grad_()
        run_fused = lambda m, x: m(x, weights=w)                                          # noqa: E731
        run_loop = lambda m, x: m(x, weights=w, active=[[True] * 5] * 6)                 # noqa: E731
    else:
        from nasbench_lab.spaces.darts_supernet import MixedOp
        a, b = MixedOp(4, 2).double(), MixedOp(4, 2).double()
        w = torch.softmax(torch.randn(8, dtype=torch.float64), -1).requires_grad_()
        run_fused = lambda m, x: m(x, w)                                                  # noqa: E731
        run_loop = lambda m, x: m(x, w, [True] * 8)                                       # noqa: E731
    b.load_state_dict(a.state_dict())
    x = torch.randn(3, 4, 9, 9, dtype=torch.float64, requires_grad=True)
    fused, loop = run_fused(a, x), run_loop(b, x)
    assert torch.allclose(fused, loop, atol=1e-12)
    for g, h in zip(_grads(a, fused, [w, x]), _grads(b, loop, [w, x])):
        assert (g is None) == (h is None)
        assert g is None or torch.allclose(g, h, atol=1e-10)
    for (name, u), (_, v) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.allclose(u.double(), v.double(), atol=1e-12), name


def test_second_order_gradient_equals_exact_double_backward():
    """DARTS' Eq. 7 is exact; only its Hessian-vector product is a finite difference. In float64, with
    a small difference step (why: this tiny network's batch norms are very curved, and the paper's
    0.01 step then measures the curvature, not the derivative), it must agree with the true
    derivative of L_val(w - eta * (dL_train/dw + wd * w), alpha)."""
    from nasbench_lab.strategies.darts import Bilevel, DartsConfig
    torch.manual_seed(0)
    net = get_space("nb201").supernet(in_channels=1, num_classes=3, C=3, N=1).double()
    net.alphas.data.normal_(0, 0.5)
    xt, xv = torch.randn(6, 1, 8, 8, dtype=torch.float64), torch.randn(6, 1, 8, 8, dtype=torch.float64)
    yt, yv = torch.randint(0, 3, (6,)), torch.randint(0, 3, (6,))
    cfg = DartsConfig(order=2, fd_epsilon=1e-6)
    bil = Bilevel(net, cfg, Precision(torch.device("cpu"), False, False))
    eta = 0.1
    bil._unrolled_grad(xt, yt, xv, yv, eta)
    approx = net.alphas.grad.clone()
    W = bil.W
    # exact: differentiate through the virtual step with create_graph
    lt = torch.nn.functional.cross_entropy(net(xt), yt)
    g = torch.autograd.grad(lt, W, create_graph=True)
    unrolled = [p - eta * (gi + cfg.weight_decay * p) for p, gi in zip(W, g)]
    saved = [p.data.clone() for p in W]
    # evaluate L_val at w' functionally
    names = [n for n, p in net.named_parameters() if n != "alphas"]
    params = dict(zip(names, unrolled))
    params["alphas"] = net.alphas
    lv = torch.nn.functional.cross_entropy(torch.func.functional_call(net, params, (xv,)), yv)
    (exact,) = torch.autograd.grad(lv, [net.alphas])
    assert all(torch.equal(p.data, s) for p, s in zip(W, saved))    # the step restored the weights
    assert torch.allclose(approx, exact, rtol=1e-4, atol=1e-7), (approx - exact).abs().max()


# ---------------------------------------------------------------------- strategies through search()
TINY = {"train_subset": 96, "val_subset": 96, "batch_size": 32}
# the driver re-trains the final candidates with this estimator fidelity: tiny, the strategies are under test
TINY_FIDELITY = {"epochs": 1, "train_subset": 64, "val_subset": 64, "test_subset": 0, "batch_size": 32}


def run(space, strategy, syn, budget=2, **options):
    log = EventLog()
    res = search(space, strategy, "lowfi", budget=budget, dataset="synthetic", device="cpu", seed=0,
                 strategy_options=options, estimator_options={"data": syn, "fidelity": TINY_FIDELITY}, on_event=log)
    sp = get_space(space)
    assert res.evaluations, "the driver scored no final candidate"
    for ev in res.evaluations:
        assert sp.check(ev.arch) is ev.arch                          # a valid architecture value of the space
    assert [e.payload["epoch"] for e in log.of("epoch")][:budget] == list(range(1, budget + 1))
    assert log.of("run_finished")
    return res, log


def check_alphas(log, budget, n_edges, n_ops):
    snaps = log.of("alphas")
    assert [e.payload["epoch"] for e in snaps] == list(range(1, budget + 1))     # one snapshot per epoch
    for e in snaps:
        p = e.payload
        assert len(p["edges"]) == n_edges and len(p["ops"]) == n_ops
        rows = p["weights"] if isinstance(p["weights"], list) else [r for v in p["weights"].values() for r in v]
        assert all(abs(sum(r) - 1) < 1e-4 for r in rows)
        assert 0 <= p["skip_share"] <= 1 and "skip_trend" in p and "derived" in p


@pytest.mark.parametrize("order", [1, 2])
def test_darts_on_nb201(syn, order):
    res, log = run("nb201", "darts", syn, budget=3, order=order, eval_subset=64, **TINY)
    check_alphas(log, 3, 6, 5)
    assert str(res.best.arch) == log.of("alphas")[-1].payload["derived"]


def test_darts_on_the_darts_space(syn):
    res, log = run("darts", "darts", syn, budget=1, skeleton={"C": 4, "layers": 3}, eval_subset=32,
                   train_subset=32, val_subset=32, batch_size=16)
    check_alphas(log, 1, 14, 8)
    assert set(log.of("alphas")[0].payload["weights"]) == {"normal", "reduce"}
    assert "none" not in str(res.best.arch)


@pytest.mark.parametrize("order", [1, 2])
def test_pc_darts_on_the_darts_space(syn, order):
    """PC-DARTS (partial_channels=2): a search runs in both orders, and its bilevel step trains the
    betas of edge normalisation together with the alphas."""
    from nasbench_lab.strategies.darts import Bilevel, DartsConfig
    torch.manual_seed(0)
    net = get_space("darts").supernet(C=4, layers=3, partial_channels=2, in_channels=syn.info.in_channels)
    before = [a.detach().clone() for a in net.arch_parameters()]
    step = Bilevel(net, DartsConfig(order=order, arch_lr=0.05), Precision.for_device(torch.device("cpu"), False))
    x, y = syn.train_x[:8], syn.train_y[:8]
    step.step(x, y, syn.val_x[:8], syn.val_y[:8])
    assert len(before) == 4 and all(not torch.equal(b, a) for b, a in zip(before, net.arch_parameters()))
    res, log = run("darts", "darts", syn, budget=2, skeleton={"C": 4, "layers": 3}, eval_subset=32,
                   train_subset=32, val_subset=32, batch_size=16, partial_channels=2, order=order)
    check_alphas(log, 2, 14, 8)
    assert "none" not in str(res.best.arch)
    with pytest.raises(StrategyError, match="PC-DARTS.*need the darts space"):
        search("nb201", "darts", budget=1, dataset="synthetic", device="cpu", strategy_options={"partial_channels": 2})
    with pytest.raises(StrategyError, match="'partial_channels' must be >= 1, got 0"):
        search("darts", "darts", budget=1, dataset="synthetic", device="cpu", strategy_options={"partial_channels": 0})


def test_darts_remedies(syn):
    _, log = run("nb201", "darts", syn, budget=3, remedy="darts-", eval_subset=64, **TINY)
    assert [round(e.payload["beta"], 4) for e in log.of("alphas")] == [1.0, 0.6667, 0.3333]
    # a limit of 0 trips at once: the run stops after one epoch of three and reports it
    res3 = search("nb201", "darts", "lowfi", budget=3, dataset="synthetic", device="cpu",
                  estimator_options={"data": syn, "fidelity": TINY_FIDELITY},
                  strategy_options={"remedy": "early_stop", "es_skip_share": 0.0, "eval_subset": 64, **TINY},
                  on_event=(log3 := EventLog()))
    assert len(log3.of("alphas")) == 1 and log3.of("alphas")[0].payload["early_stopped"] is True
    assert str(res3.best.arch) == log3.of("alphas")[0].payload["derived"]


def test_enas(syn):
    res, log = run("nb201", "enas", syn, budget=2, controller_steps=2, aggregate=2, final_samples=4,
                   train_subset=96, val_subset=128, reward_batch=64, batch_size=32)
    ctrl = log.of("controller")
    assert len(ctrl) == 4 and [e.payload["step"] for e in ctrl] == [1, 2, 3, 4]
    p = ctrl[-1].payload
    assert len(p["probs"]) == len(p["decisions"]) == 6 and all(abs(sum(r) - 1) < 1e-3 for r in p["probs"])
    assert 0 <= p["reward_mean"] <= 1 and p["entropy"] > 0


def test_spos(syn):
    res, log = run("nb201", "spos", syn, budget=2, population=4, generations=2, parents=2, top_k=2,
                   bn_batches=1, bn_batch_size=64, **TINY)
    pops = log.of("population")
    assert [e.payload["generation"] for e in pops] == [0, 1]
    assert len(res.evaluations) == 2                                  # the top-2, re-trained by the estimator
    fit = {m["arch"]: m["fitness"] for e in pops for m in e.payload["members"]}
    best_two = sorted(fit.values(), reverse=True)[:2]
    assert sorted((fit[str(e.arch)] for e in res.evaluations), reverse=True) == best_two   # the inherited-weight top-2
    assert all(0 <= m["fitness"] <= 100 for e in pops for m in e.payload["members"])


def fake_table(space, input_size=16, width_mult=0.5):
    """Latency proportional to kernel^2 x expansion (skip: 0): no timing noise in the test."""
    table = {}
    for key in space.op_table_keys(None, input_size=input_size, width_mult=width_mult):
        if key.choice == "skip":
            table[key.lut_key()] = 0.0
        else:
            k, e = int(key.choice[1]), int(key.choice.split("_e")[1])
            table[key.lut_key()] = 0.01 * k * k * e
    return table


def test_proxyless_and_its_latency_knob(syn):
    space = get_space("mobile")
    table = fake_table(space, width_mult=0.25)
    tiny = dict(TINY, skeleton={"width_mult": 0.25}, eval_subset=64, latency_table=table)
    _, log0 = run("mobile", "proxyless", syn, budget=1, lam=0.0, **tiny)
    check_alphas(log0, 1, space.num_blocks, 7)
    res, log = run("mobile", "proxyless", syn, budget=2, lam=20.0, arch_lr=0.05, **tiny)
    uniform = log0.of("alphas")[0].payload
    last = log.of("alphas")[-1].payload
    # a heavy latency penalty pulls the expected latency below what accuracy alone gives
    assert last["expected_latency_ms"] < uniform["expected_latency_ms"]
    assert last["lam"] == 20.0


def test_proxyless_measures_its_table_on_the_device(syn):
    _, log = run("mobile", "proxyless", syn, budget=1, latency_repeats=1, eval_subset=32, train_subset=32,
                 val_subset=32, batch_size=16, skeleton={"width_mult": 0.25})
    assert log.of("alphas")[0].payload["expected_latency_ms"] > 0


# tiny settings per one-shot strategy (one that is not listed runs with TINY alone) and the space it needs
SMOKE = {"darts": {"eval_subset": 64},
         "enas": {"controller_steps": 1, "aggregate": 2, "final_samples": 2, "reward_batch": 64},
         "spos": {"population": 4, "generations": 1, "parents": 2, "top_k": 1, "bn_batches": 1, "bn_batch_size": 64},
         "proxyless": {"eval_subset": 32, "skeleton": {"width_mult": 0.25}, "latency_repeats": 1}}
SMOKE_SPACE = {"proxyless": "mobile"}


@pytest.mark.parametrize("name", ONE_SHOT)
def test_every_one_shot_strategy_runs(syn, name):
    """Over the registry: a new one-shot strategy is run (one epoch, its candidates scored) automatically."""
    space = SMOKE_SPACE.get(name, "nb201")
    res, log = run(space, name, syn, budget=1, **{**TINY, **SMOKE.get(name, {})})
    assert type(res.best.arch) is get_space(space).arch_type and log.of("epoch")


def test_options_are_checked():
    for name in ONE_SHOT:
        assert name in list_strategies()
        with pytest.raises(StrategyError, match="unknown option"):
            search("nb201" if name != "proxyless" else "mobile", name, budget=1, dataset="synthetic",
                   strategy_options={"no_such_knob": 1})
    with pytest.raises(StrategyError, match="order"):
        search("nb201", "darts", budget=1, dataset="synthetic", strategy_options={"order": 3})
    with pytest.raises(StrategyError, match="mobile"):
        search("nb201", "proxyless", budget=1, dataset="synthetic")
    with pytest.raises(ValueError, match="scale"):
        search("nb201", "spos", budget=1, dataset="synthetic", device="cpu", strategy_options={"scale": "huge"})


# ---------------------------------------------------------------------- the supernet estimator
def test_supernet_estimator_under_a_multi_trial_strategy(syn, tmp_path):
    opts = {"data": syn, "epochs": 1, "train_subset": 128, "val_subset": 200, "bn_batches": 1, "bn_batch_size": 64}
    res = search("nb201", "random", "supernet", budget=3, dataset="synthetic", device="cpu", estimator_options=opts)
    assert len(res.evaluations) == 3 and all(e.metrics["inherited"] for e in res.evaluations)
    est = get_estimator("supernet", dataset="synthetic", device="cpu", **opts)
    space = get_space("nb201")
    arch = space.reference("best_cifar10")
    first = est.evaluate(space, arch)
    assert est.evaluate(space, arch).val_acc == first.val_acc              # deterministic on the CPU
    for name in ("sn.pt", "sn.safetensors"):
        if name.endswith("safetensors") and importlib.util.find_spec("safetensors") is None:
            continue
        est.save(space, tmp_path / name)
        loaded = get_estimator("supernet", dataset="synthetic", device="cpu", path=tmp_path / name,
                               **{k: v for k, v in opts.items() if k != "epochs"})
        assert loaded.evaluate(space, arch).val_acc == first.val_acc
    with pytest.raises(ValueError, match="does not exist"):
        get_estimator("supernet", dataset="synthetic", device="cpu", path=tmp_path / "missing.pt",
                      data=syn).evaluate(space, arch)
    with pytest.raises(ValueError, match="unknown option.*no_such_option"):
        get_estimator("supernet", no_such_option=1)


def test_spos_emits_the_ranking_of_its_candidates():
    """SPOS' inherited-weight scores of its final picks next to the estimator's scores of the same picks."""
    from nasbench_lab import EventLog, search
    log = EventLog()
    res = search("nb201", "spos", "synthetic", budget=1, dataset="synthetic", device="cpu", on_event=log,
                 strategy_options={"top_k": 3})
    (ev,) = log.of("ranking")
    p = ev.payload
    assert len(p["archs"]) == len(p["oneshot"]) == len(p["scratch"]) == len(res.evaluations) == 3
    assert p["scratch"] == [e.val_acc for e in res.evaluations]
    assert all(0 <= x <= 100 for x in p["oneshot"])
