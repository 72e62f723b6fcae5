"""Exact but faster computations used by the primitives and the fused supernets.

Each piece here computes exactly what a plain PyTorch module would (the oracle tests in
tests/test_space_darts.py and tests/test_oneshot.py compare outputs, gradients and running statistics
on copied weights), only faster on the hardware a classroom has. Kept apart from ``ops.py`` so that the
primitive registry reads as the papers define the ops, and the speed tricks read as tricks.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


def _engine_needs(ctx, i: int) -> bool:
    """Whether this backward pass wants the gradient of input ``i`` of a custom autograd Function.
    Why ask the engine: ``backward(inputs=alphas)`` prunes every weight gradient; built-in ops see that,
    a Function's ``needs_input_grad`` only says that the input requires grad."""
    if not ctx.needs_input_grad[i]:
        return False
    node = ctx.next_functions[i][0]
    will_run = getattr(torch._C, "_will_engine_execute_node", None)   # what torch.utils.checkpoint asks
    if node is None or will_run is None:
        return True
    try:
        return will_run(node)
    except RuntimeError:             # a leaf inside autograd.grad(): the engine cannot tell, so compute it
        return True


class _DepthwiseSame(torch.autograd.Function):
    """A stride-1 depthwise conv with "same" padding whose input gradient is a forward conv (see
    ``DepthwiseConv2d``). The backward is made of differentiable ops on the saved tensors, so a
    gradient of the gradient (GraSP's Hessian product) is right too."""

    @staticmethod
    def forward(ctx, x, w, padding: int, dilation: int):
        ctx.save_for_backward(x, w)
        ctx.padding, ctx.dilation = padding, dilation
        return F.conv2d(x, w, None, 1, padding, dilation, w.shape[0])

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        p, d, c = ctx.padding, ctx.dilation, w.shape[0]
        gx = gw = None
        if _engine_needs(ctx, 0):
            # d out[h] / d x[h + d*i - p] = w[i]: dL/dx is the correlation of the output gradient with
            # w flipped, at the same padding and dilation ("same" padding: 2p = d(k-1))
            gx = F.conv2d(grad, w.flip(-2, -1), None, 1, p, d, c)
        if _engine_needs(ctx, 1) and w.shape[-1] >= 5:
            # dL/dw[c, i, j] = sum over b, h, w of x_padded[b, c, h + d*i, w + d*j] * grad[b, c, h, w]: per
            # (image, channel) pair, a correlation of the padded input with the output gradient as the
            # kernel, read at stride d. That is a depthwise forward conv over the b*c pairs (fast), then
            # a sum over the images: 2-5x faster than oneDNN's generic path for 5x5 kernels
            b, _, h, wd = x.shape
            pairs = F.conv2d(x.contiguous().view(1, b * c, h, wd),
                             grad.contiguous().view(b * c, 1, *grad.shape[2:]), None, d, p, 1, b * c)
            gw = pairs.view(b, c, *pairs.shape[2:]).sum(0).unsqueeze(1)
        elif _engine_needs(ctx, 1):      # 3x3 dilated: oneDNN's weight gradient is as fast here
            gw = torch.ops.aten.convolution_backward(grad, x, w, None, [1, 1], [p, p], [d, d], False, [0, 0], c,
                                                     [False, True, False])[1]
        return gx, gw, None, None


class DepthwiseConv2d(nn.Conv2d):
    """A depthwise conv (``groups == channels``), the same module, parameters and result as
    ``nn.Conv2d``, computed faster in two exact ways.

    * Dilation 2 at stride 2 with "same" padding (DARTS' ``dil_conv`` on a reduction edge) reads only
      the even rows and columns of its input: it is an undilated conv of ``x[:, :, ::2, ::2]`` at half
      the padding, a quarter of the work.
    * On the CPU, oneDNN (torch 2.x) runs the backward of a depthwise conv fast only for undilated 3x3
      kernels; a 5x5 or a dilated kernel takes a generic grouped-conv path that pads every channel
      to a 16x16 block, 3-10x slower than the forward (``ONEDNN_VERBOSE=1`` names the path). At
      stride 1 both gradients of a "same" conv are forward depthwise convs, which are fast, so they are
      computed that way (``_DepthwiseSame``); 3x3 dilated weight gradients stay oneDNN's (as fast).
      CPU only, without autocast: other devices' libraries have no such gap.
    """

    def forward(self, x):
        w, k = self.weight, self.kernel_size[0]
        (s, _), (p, _), (d, _) = self.stride, self.padding, self.dilation
        square = (self.kernel_size[1], self.stride[1], self.padding[1], self.dilation[1]) == (k, s, p, d)
        if not square or self.groups != self.in_channels or self.padding_mode != "zeros" or 2 * p != d * (k - 1):
            return super().forward(x)
        if d == s > 1 and p % s == 0:
            x, p, d, s = x[:, :, ::s, ::s], p // s, 1, 1
        if (s == 1 and (d > 1 or k != 3) and x.requires_grad and x.device.type == "cpu"
                and not torch.is_autocast_enabled("cpu")):
            # w.view_as(w): a leaf would leave autograd.grad(loss, alphas) unable to say that w is not needed
            return _DepthwiseSame.apply(x, w.view_as(w), p, d)
        return F.conv2d(x, w, None, s, p, d, self.groups)


def batch_norms(bns, y: torch.Tensor, scale: torch.Tensor | None = None) -> torch.Tensor:
    """The batch norms ``bns`` (no affine parameters, same settings) applied to their channel blocks of
    ``y`` (the channel-concatenation of their inputs) as ONE batch norm, each output channel multiplied
    by ``scale`` (None: by 1); every module's running statistics updated exactly as its own forward would.

    Why it is exact: batch norm is per channel, so normalising a concatenation is normalising each
    part; and without affine parameters, ``scale * BN(y)`` is ``BN(y; weight=scale)``. The fused
    supernets use it to run the ops of several edges, and their mixing weights, in one pass.
    """
    b0 = bns[0]
    training = b0.training or not b0.track_running_stats
    if len(bns) == 1:
        mean, var = b0.running_mean, b0.running_var         # updated in place by F.batch_norm
    else:
        mean = torch.cat([b.running_mean for b in bns])
        var = torch.cat([b.running_var for b in bns])
    y = F.batch_norm(y, mean, var, scale, None, training, b0.momentum if training else 0.0, b0.eps)
    if training and b0.track_running_stats:
        with torch.no_grad():                     # the updated running statistics back into each module
            if len(bns) > 1:
                torch._foreach_copy_([b.running_mean for b in bns], list(mean.chunk(len(bns))))
                torch._foreach_copy_([b.running_var for b in bns], list(var.chunk(len(bns))))
            torch._foreach_add_([b.num_batches_tracked for b in bns], 1)
    return y
