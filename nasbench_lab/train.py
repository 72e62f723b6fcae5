"""The one training loop. Every estimator (from scratch, low fidelity, the benchmark builder) uses it.

SGD with Nesterov momentum and a per-step cosine schedule to zero (as NAS-Bench-201), cross-entropy,
optional gradient clipping. Tensors are channels_last (faster for these small convnets on both cuDNN
and the CPU's oneDNN). On CUDA it trains in bf16 autocast and replays the step as a CUDA graph; on the
CPU it is fp32, seeded, and deterministic: the same seed gives the same numbers.

Data are whole tensors on the device (see data.py); a batch is an index slice, so an epoch costs no
Python data loading at all.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F

from .data import Splits
from .errors import TrainingError

# Classroom skeletons: small enough that one candidate trains in ~10 s on a 2-core laptop CPU (the size
# of network every estimator builds unless told otherwise; the one-shot family's classroom scale too).
CLASSROOM_SKELETON = {"nb201": {"C": 8, "N": 1}, "darts": {"C": 8, "layers": 5},
                      "chain": {"C": 16}, "mobile": {"width_mult": 0.5}}


@dataclass
class TrainConfig:
    """How a candidate is trained. The defaults are the classroom fidelity (seconds on a laptop CPU)."""

    epochs: int = 2
    """Passes over the (possibly subsetted) training split."""
    batch_size: int = 128
    """Mini-batch size for training."""
    lr: float = 0.1
    """Peak learning rate; cosine-annealed to 0 over all steps."""
    momentum: float = 0.9
    """SGD momentum."""
    nesterov: bool = True
    """Nesterov momentum (as NAS-Bench-201)."""
    weight_decay: float = 5e-4
    """L2 weight decay."""
    grad_clip: float | None = 5.0
    """Clip the global gradient norm to this value (None: no clipping)."""
    train_subset: int | None = None
    """Use only the first this-many images of the (shuffled, fixed) training split; None = all."""
    val_subset: int | None = None
    """Validate on the first this-many validation images; None = all."""
    test_subset: int | None = None
    """Test on the first this-many test images; None = all. 0 skips the test."""
    max_steps: int | None = None
    """Stop after this many optimisation steps in total (a step budget); None = no limit."""
    augment: bool = False
    """Random crop (pad 4 on 32x32, 2 on 28x28) and horizontal flip, done on the device."""
    amp: bool | None = None
    """bf16 autocast; None = on for CUDA, off on the CPU."""
    channels_last: bool | None = None
    """channels_last memory format; None = on (faster for these convnets with cuDNN and with oneDNN on
    the CPU: +20 % measured on a 2-core CPU)."""
    eval_batch_size: int = 1024
    """Batch size for validation and test passes."""
    cuda_graph: bool | None = None
    """Capture the training step as a CUDA graph (no per-kernel launch cost); None = on for CUDA
    without augmentation. Falls back to eager execution if capture fails."""
    seed: int = 0
    """Seeds the weight initialisation and the batch order."""


@dataclass
class TrainResult:
    val_acc: float
    """Validation accuracy (%) after the last epoch."""
    test_acc: float | None
    """Test accuracy (%) after training; None when the test was skipped."""
    val_curve: list = field(default_factory=list)
    """Validation accuracy (%) after each epoch."""
    train_loss: float = float("nan")
    """Mean training loss over the last epoch."""
    train_acc: float = float("nan")
    """Training accuracy (%) over the last epoch."""
    seconds: float = 0.0
    """Wall-clock training time (validation and test included)."""
    steps: int = 0
    images: int = 0
    """Training images processed (for throughput)."""
    cuda_graph: bool = False
    """Whether the step ran as a captured CUDA graph."""
    graph_error: str | None = None
    """Why graph capture failed, when it did."""
    interrupted: bool = False
    """True when ``stop`` ended the training before its last step (its accuracies are no result)."""

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def to_channels_last(model: nn.Module) -> nn.Module:
    """``model`` in the channels_last memory format, except its 4-d weights whose layout is the same in
    both formats (1x1 kernels, or one input channel): those keep the default strides.

    Why: such a weight holds the same bytes either way; only the strides of its size-1 dimensions
    differ. With the channels_last strides, oneDNN's convolution backward corrupted the heap on a
    2-core AMD EPYC (AVX2, no AVX-512) under torch 2.14.1: glibc aborted with "corrupted size vs.
    prev_size", or a search hung (PC-DARTS on the DARTS space in tests/test_oneshot.py, every run).
    The default strides avoid it at no cost: the inputs stay channels_last, so the convolutions
    still run in NHWC.
    """
    model = model.to(memory_format=torch.channels_last)
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() == 4 and p.is_contiguous():
                p.data = p.data.clone(memory_format=torch.contiguous_format)
    return model


def resolve_device(device="auto") -> torch.device:
    """'auto' -> cuda when available, else cpu. Raises TrainingError for cuda without a GPU."""
    if isinstance(device, torch.device):
        return device
    name = str(device or "auto")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise TrainingError("device 'cuda' requested but no CUDA GPU is available (use --device cpu or auto)")
    try:
        return torch.device(name)
    except RuntimeError:
        raise TrainingError(f"unknown device {name!r}; use auto, cpu or cuda") from None


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def count_flops(model: nn.Module, input_shape, device="cpu") -> int:
    """Forward FLOPs for one image (a multiply-add counts 2), by torch's own flop counter."""
    from torch.utils.flop_counter import FlopCounterMode     # ~0.2 s more of torch: only when FLOPs are counted
    was_training = model.training
    model.eval()
    x = torch.zeros(1, *input_shape, device=device)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(x)
    model.train(was_training)
    return int(counter.get_total_flops())


def _augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random crop with zero padding and horizontal flip, vectorised on the device."""
    n, _, h, w = x.shape
    pad = 4 if h >= 32 else 2
    xp = F.pad(x, (pad, pad, pad, pad))
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=gen, device="cpu").to(x.device)
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=gen, device="cpu").to(x.device)
    rows = (dy.view(n, 1) + torch.arange(h, device=x.device).view(1, h))        # n, h
    cols = (dx.view(n, 1) + torch.arange(w, device=x.device).view(1, w))        # n, w
    idx_n = torch.arange(n, device=x.device).view(n, 1, 1)
    out = xp.permute(0, 2, 3, 1)[idx_n, rows.view(n, h, 1), cols.view(n, 1, w)].permute(0, 3, 1, 2)
    flip = torch.rand(n, generator=gen).to(x.device) < 0.5
    return torch.where(flip.view(n, 1, 1, 1), out.flip(3), out)


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1024,
             amp: bool = False, channels_last: bool = False) -> float:
    """Accuracy (%) of ``model`` on (x, y)."""
    if len(y) == 0:
        return float("nan")
    model.eval()
    correct = 0
    for i in range(0, len(y), batch_size):
        xb = x[i:i + batch_size]
        if channels_last:
            xb = xb.contiguous(memory_format=torch.channels_last)
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=amp):
            correct += (model(xb).argmax(1) == y[i:i + batch_size]).sum().item()
    return 100.0 * correct / len(y)


class _SGD:
    """SGD with (Nesterov) momentum and decoupled-from-nothing L2 decay, written with foreach ops.

    Why not torch.optim.SGD: the learning rate here is a device tensor, so the whole step (forward,
    backward, clip, update) can be captured once as a CUDA graph and replayed with a new rate each step.
    Zero-initialised momentum buffers give exactly PyTorch's first step (buf = grad, no dampening).
    """

    def __init__(self, params, momentum, nesterov, weight_decay, grad_clip):
        self.params = [p for p in params if p.requires_grad]
        self.bufs = [torch.zeros_like(p) for p in self.params]
        self.momentum, self.nesterov, self.wd, self.clip = momentum, nesterov, weight_decay, grad_clip

    @torch.no_grad()
    def step(self, grads, lr: torch.Tensor) -> None:
        pairs = [(p, g, b) for p, g, b in zip(self.params, grads, self.bufs) if g is not None]
        if not pairs:
            return
        ps, gs, bs = (list(t) for t in zip(*pairs))
        if self.clip:
            norm = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(gs)))
            torch._foreach_mul_(gs, torch.clamp(self.clip / (norm + 1e-6), max=1.0))
        if self.wd:
            torch._foreach_add_(gs, ps, alpha=self.wd)
        if self.momentum:
            torch._foreach_mul_(bs, self.momentum)
            torch._foreach_add_(bs, gs)
            if self.nesterov:
                torch._foreach_add_(gs, bs, alpha=self.momentum)
            else:
                gs = bs
        torch._foreach_add_(ps, torch._foreach_mul(gs, lr), alpha=-1.0)


def _check(cfg: TrainConfig) -> None:
    """Refuse a configuration that would train nonsense (NaN rates, no validation images, ...)."""
    def whole(name, lo, allow_none=False):
        v = getattr(cfg, name)
        if v is None and allow_none:
            return
        if isinstance(v, bool) or not isinstance(v, int) or v < lo:
            raise TrainingError(f"training option {name!r} must be an integer >= {lo}"
                                f"{' or None' if allow_none else ''}, got {v!r}")
    whole("epochs", 1)
    whole("batch_size", 1)
    whole("train_subset", 1, allow_none=True)
    whole("val_subset", 1, allow_none=True)            # 0 would make the score NaN
    whole("test_subset", 0, allow_none=True)
    whole("max_steps", 1, allow_none=True)
    for name in ("lr", "momentum", "weight_decay"):
        v = getattr(cfg, name)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
            raise TrainingError(f"training option {name!r} must be a finite number >= 0, got {v!r}")
    if cfg.lr == 0:
        raise TrainingError("training option 'lr' must be > 0 (a zero learning rate trains nothing)")


def train_model(model: nn.Module, data: Splits, config: TrainConfig | None = None,
                emit=None, stop=None) -> TrainResult:
    """Train ``model`` (already built; moved here to the data's device) and measure it.

    ``emit(kind, **payload)`` receives one ``epoch`` event per epoch (and ``step`` events, at most two a
    second, while an epoch runs); ``stop`` (anything with
    ``is_set()``) ends training early between steps, and the result says so (``interrupted``; its test
    is skipped). Raises TrainingError on a NaN/inf loss.
    """
    cfg = config or TrainConfig()
    _check(cfg)
    device = data.device
    cuda = device.type == "cuda"
    amp = cuda if cfg.amp is None else bool(cfg.amp)
    cl = True if cfg.channels_last is None else bool(cfg.channels_last)
    graph = (cuda and not cfg.augment) if cfg.cuda_graph is None else bool(cfg.cuda_graph and cuda)
    if graph and torch.cuda.current_stream(device) == torch.cuda.default_stream(device):
        # Why: a graph must be captured on a side stream, and the eager warm-up steps must run on that
        # same stream (lazily created per-stream state such as cuBLAS workspaces then exists before capture).
        side = torch.cuda.Stream(device)
        side.wait_stream(torch.cuda.current_stream(device))
        with torch.cuda.stream(side):
            res = train_model(model, data, config, emit, stop)
        torch.cuda.current_stream(device).wait_stream(side)
        return res
    model = model.to(device)
    if cl:
        model = to_channels_last(model)
    n_train = len(data.train_y) if cfg.train_subset is None else min(cfg.train_subset, len(data.train_y))
    tx, ty = data.train_x[:n_train], data.train_y[:n_train]
    vx, vy = data.val_x[:cfg.val_subset], data.val_y[:cfg.val_subset]
    batch = min(cfg.batch_size, n_train)
    steps_per_epoch = max(1, n_train // batch)          # drop the last partial batch: fixed shapes
    total = cfg.epochs * steps_per_epoch
    if cfg.max_steps is not None:
        total = min(total, cfg.max_steps)

    gen = torch.Generator().manual_seed(cfg.seed)       # batch order: reproducible, caller's state untouched
    opt = _SGD(model.parameters(), cfg.momentum, cfg.nesterov, cfg.weight_decay, cfg.grad_clip)
    lr_t = torch.zeros((), device=device)
    idx_buf = torch.zeros(batch, dtype=torch.long, device=device)
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)

    def step_fn():
        """One optimisation step on the batch named by idx_buf (eager, or captured once as a graph)."""
        xb, yb = tx.index_select(0, idx_buf), ty.index_select(0, idx_buf)
        if cfg.augment:
            xb = _augment(xb, gen)
        if cl:
            xb = xb.contiguous(memory_format=torch.channels_last)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            logits = model(xb)
            loss = F.cross_entropy(logits.float(), yb)
        grads = torch.autograd.grad(loss, opt.params, allow_unused=True)   # unused: dead cell nodes
        opt.step(grads, lr_t)
        loss_sum.add_(loss.detach() * batch)
        correct.add_((logits.detach().argmax(1) == yb).sum())

    res = TrainResult(val_acc=float("nan"), test_acc=None)
    t0 = time.perf_counter()
    next_beat = t0 + 0.5
    step, captured = 0, None
    for epoch in range(cfg.epochs):
        if step >= total or (stop is not None and stop.is_set()):
            break
        model.train()
        perm = torch.randperm(n_train, generator=gen).to(device)
        loss_sum.zero_()
        correct.zero_()
        seen = 0
        for k in range(steps_per_epoch):
            if step >= total or (stop is not None and stop.is_set()):
                break
            idx_buf.copy_(perm[k * batch:(k + 1) * batch])
            lr_t.fill_(0.5 * cfg.lr * (1 + math.cos(math.pi * step / total)))   # cosine to 0, per step
            if captured is not None:
                captured.replay()
            else:
                step_fn()
                # Why capture after 3 eager steps: cuDNN picks its kernels and the allocator warms up on
                # real steps (which count as training); the graph then replays the identical step.
                if graph and step == 2 and total > 4:
                    captured = _capture(step_fn, res)
            seen += batch
            step += 1
            # a sign of life between epochs (a long epoch must not look like a hung kernel), at most
            # twice a second: one clock read per step costs nothing next to the step
            if emit is not None and time.perf_counter() >= next_beat:
                emit("step", step=k + 1, of=steps_per_epoch, epoch=epoch + 1)
                next_beat = time.perf_counter() + 0.5
        if seen == 0:
            break
        mean_loss = loss_sum.item() / seen               # one host sync per epoch, not per step
        if not math.isfinite(mean_loss):
            raise TrainingError(f"training diverged: loss is {mean_loss} in epoch {epoch + 1} "
                                f"(lower the learning rate, now {cfg.lr})")
        res.train_loss, res.train_acc = mean_loss, 100.0 * correct.item() / seen
        res.val_acc = evaluate(model, vx, vy, cfg.eval_batch_size, amp, cl)
        res.val_curve.append(res.val_acc)
        res.images += seen
        if emit is not None:
            emit("epoch", epoch=epoch + 1, of=cfg.epochs, train_loss=res.train_loss, train_acc=res.train_acc,
                 val_acc=res.val_acc, seconds=time.perf_counter() - t0)
    res.steps = step
    res.cuda_graph = captured is not None
    res.interrupted = step < total and stop is not None and stop.is_set()
    if cfg.test_subset != 0 and not res.interrupted:
        res.test_acc = evaluate(model, data.test_x[:cfg.test_subset], data.test_y[:cfg.test_subset],
                                cfg.eval_batch_size, amp, cl)
    res.seconds = time.perf_counter() - t0
    return res


def _capture(step_fn, res: TrainResult):
    """Capture ``step_fn`` as a CUDA graph; on any failure keep training eagerly (and say why)."""
    # Why not the torch.cuda.graph context manager: it synchronises the whole device and captures on a
    # stream shared by all threads; the benchmark builder captures from several threads at once, each
    # on its own stream, so we capture on the current stream and only restrict the capturing thread.
    try:
        g = torch.cuda.CUDAGraph()
        g.capture_begin(capture_error_mode="thread_local")
        try:
            step_fn()
        finally:
            g.capture_end()
        return g
    except Exception as exc:  # noqa: BLE001 - a graph is an optimisation, never a reason to fail
        res.graph_error = f"{type(exc).__name__}: {exc}".splitlines()[0]
        return None
