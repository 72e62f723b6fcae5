"""The one training loop: optimizer oracle, FLOP counting against hand arithmetic, determinism, errors."""
import math

import pytest
import torch
import torch.nn as nn

from nasbench_lab.data import load_dataset
from nasbench_lab.spaces import get_space
from nasbench_lab.train import (_SGD, TrainConfig, TrainingError, count_flops, count_params, resolve_device,
                                to_channels_last, train_model)


@pytest.mark.parametrize("nesterov, clip", [(True, None), (False, None), (True, 0.5)])
def test_foreach_sgd_equals_torch_sgd(nesterov, clip):
    torch.manual_seed(0)
    a = nn.Sequential(nn.Linear(5, 7), nn.ReLU(), nn.Linear(7, 3))
    b = nn.Sequential(nn.Linear(5, 7), nn.ReLU(), nn.Linear(7, 3))
    b.load_state_dict(a.state_dict())
    ours = _SGD(a.parameters(), 0.9, nesterov, 5e-4, clip)
    ref = torch.optim.SGD(b.parameters(), lr=0.1, momentum=0.9, nesterov=nesterov, weight_decay=5e-4)
    for step in range(5):
        x = torch.randn(8, 5)
        lr = 0.1 * (1 + math.cos(step))
        la, lb = a(x).pow(2).mean(), b(x).pow(2).mean()
        ours.step(torch.autograd.grad(la, ours.params), torch.tensor(lr))
        ref.zero_grad()
        lb.backward()
        if clip:
            nn.utils.clip_grad_norm_(b.parameters(), clip)
        for g in ref.param_groups:
            g["lr"] = lr
        ref.step()
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)


def test_channels_last_keeps_default_strides_where_both_layouts_agree():
    """to_channels_last: real NHWC weights become channels_last; the 1x1 and one-input-channel weights,
    whose bytes are the same in both layouts, keep the default strides (their channels_last strides
    corrupted the heap in oneDNN's convolution backward on an AVX2 AMD EPYC); the outputs and the
    gradients are those of the default layout."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 6, 1), nn.Conv2d(6, 6, 3, groups=6),
                        nn.Conv2d(6, 5, 3))
    ref = [m.weight.detach().clone() for m in net if isinstance(m, nn.Conv2d)]
    x = torch.randn(2, 1, 9, 9)
    y_ref = net(x)
    g_ref = torch.autograd.grad(y_ref.square().sum(), [m.weight for m in net if isinstance(m, nn.Conv2d)])
    cl = to_channels_last(net)
    convs = [m for m in cl if isinstance(m, nn.Conv2d)]
    for m, w0 in zip(convs, ref):
        assert torch.equal(m.weight, w0)
        both = w0.is_contiguous() and w0.is_contiguous(memory_format=torch.channels_last)
        assert m.weight.stride() == (w0.stride() if both else m.weight.contiguous(memory_format=torch.channels_last).stride())
    assert not convs[-1].weight.is_contiguous()            # a dense 3x3 over 6 channels is really NHWC
    y = cl(x.contiguous(memory_format=torch.channels_last))
    assert y.is_contiguous(memory_format=torch.channels_last)
    g = torch.autograd.grad(y.square().sum(), [m.weight for m in convs])
    torch.testing.assert_close(y, y_ref, rtol=1e-5, atol=1e-5)
    for a, b in zip(g, g_ref):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


def test_flops_of_a_known_conv_match_hand_arithmetic():
    conv = nn.Conv2d(3, 8, 3, padding=1, bias=False)
    # each of 8*32*32 outputs takes 3*3*3 multiply-adds; a multiply-add counts 2 FLOPs
    assert count_flops(conv, (3, 32, 32)) == 2 * 8 * 32 * 32 * 3 * 3 * 3
    lin = nn.Linear(100, 10)
    assert count_flops(lin, (100,)) == 2 * 100 * 10
    assert count_params(conv) == 8 * 3 * 3 * 3


def test_training_is_deterministic_and_learns():
    data = load_dataset("synthetic")
    space = get_space("nb201")
    arch = space.reference("resnet")
    cfg = TrainConfig(epochs=2, batch_size=64, train_subset=512, val_subset=300, test_subset=300, seed=3)
    results = []
    for _ in range(2):
        torch.manual_seed(0)
        results.append(train_model(space.build(arch, 1, 10, C=4, N=1), data, cfg))
    a, b = results
    assert a.val_curve == b.val_curve and a.test_acc == b.test_acc and a.train_loss == b.train_loss
    assert len(a.val_curve) == 2 and a.steps == 2 * (512 // 64) and a.images == 1024
    assert a.val_acc > 20.0            # well above the 10 % of chance on ten classes


def test_stop_flag_and_max_steps():
    data = load_dataset("synthetic")
    net = get_space("nb201").build(get_space("nb201").reference("resnet"), 1, 10, C=4, N=1)
    res = train_model(net, data, TrainConfig(epochs=5, batch_size=64, train_subset=256, max_steps=3, test_subset=0))
    assert res.steps == 3 and res.test_acc is None


def test_nan_loss_stops_with_a_clear_error():
    data = load_dataset("synthetic")
    net = get_space("nb201").build(get_space("nb201").reference("resnet"), 1, 10, C=4, N=1)
    with pytest.raises(TrainingError, match="diverged"):
        train_model(net, data, TrainConfig(epochs=1, batch_size=64, train_subset=256, lr=1e30, grad_clip=None,
                                           test_subset=0))


def test_device_resolution():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type in ("cpu", "cuda")
    if not torch.cuda.is_available():
        with pytest.raises(TrainingError, match="no CUDA GPU"):
            resolve_device("cuda")
    with pytest.raises(TrainingError, match="unknown device"):
        resolve_device("tpu9")
