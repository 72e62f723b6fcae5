"""The primitive registry: the operations spaces put on edges and layers.

Each primitive is a factory ``(C_in, C_out, stride, affine) -> nn.Module`` registered by name in
``PRIMITIVES``. Spaces choose the names they offer; the registry is shared so that a student can see
that, e.g., DARTS' ``sep_conv_3x3`` is the same thing in every space that offers it.
"""
from __future__ import annotations

import torch.nn as nn


class ReLUConvBN(nn.Module):
    """ReLU -> Conv -> BN, the basic unit of the NB201 and DARTS cells (pre-activation order)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int,
                 dilation: int = 1, affine: bool = True):
        super().__init__()
        self.relu = nn.ReLU(inplace=False)
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride, padding, dilation=dilation, bias=False)
        self.bn = nn.BatchNorm2d(c_out, affine=affine)

    def forward(self, x):
        return self.bn(self.conv(self.relu(x)))


PRIMITIVES: dict = {}
"""name -> factory(C_in, C_out, stride, affine) -> nn.Module; filled below."""


def register(name: str):
    def deco(factory):
        PRIMITIVES[name] = factory
        return factory
    return deco


def make_op(name: str, c_in: int, c_out: int, stride: int = 1, affine: bool = True) -> nn.Module:
    from .base import SpaceError
    if name not in PRIMITIVES:
        raise SpaceError(f"unknown op {name!r}; known ops: {', '.join(sorted(PRIMITIVES))}")
    return PRIMITIVES[name](c_in, c_out, stride, affine)


@register("nor_conv_3x3")
def _nor3(ci, co, s, affine):
    return ReLUConvBN(ci, co, 3, s, 1, affine=affine)


@register("nor_conv_1x1")
def _nor1(ci, co, s, affine):
    return ReLUConvBN(ci, co, 1, s, 0, affine=affine)


# ---------------------------------------------------------------------------------------------------
# General primitives for the macro spaces (chain: Zoph & Le 2017 / ENAS-macro, Pham et al. 2018;
# mobile: MobileNet-V2, Sandler et al. 2018 / ProxylessNAS, Cai et al. 2019) and the attention-style
# primitives a space can opt into (squeeze-excitation, Hu et al. 2018; spatial self-attention).
# Names never clash with the DARTS names (none, max/avg_pool_3x3, skip_connect, sep/dil_conv_*):
# the chain space's own separable convs and pools live under a ``chain_`` prefix.
# ---------------------------------------------------------------------------------------------------
import math as _math

import torch as _torch
import torch.nn.functional as _F


class ConvBNReLU(nn.Sequential):
    """Conv -> BN -> activation (post-activation order, as in VGG/MobileNet). ``act=None``: no activation."""

    def __init__(self, c_in: int, c_out: int, kernel: int = 3, stride: int = 1, groups: int = 1,
                 act: str | None = "relu", affine: bool = True):
        layers = [nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, groups=groups, bias=False),
                  nn.BatchNorm2d(c_out, affine=affine)]
        if act == "relu":
            layers.append(nn.ReLU(inplace=False))
        elif act == "relu6":
            layers.append(nn.ReLU6(inplace=False))
        elif act is not None:
            raise ValueError(f"unknown activation {act!r}; use 'relu', 'relu6' or None")
        super().__init__(*layers)


class DWSeparableConv(nn.Module):
    """One depthwise-separable conv: kxk depthwise (stride) -> 1x1 pointwise -> BN -> ReLU.

    Why not DARTS' ``sep_conv``: that one stacks the separable unit twice (ReLU-first); ENAS-macro's
    separable layer is a single unit, so a chain layer has the same depth whatever its op.
    """

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1, affine: bool = True):
        super().__init__()
        self.depthwise = nn.Conv2d(c_in, c_in, kernel, stride, kernel // 2, groups=c_in, bias=False)
        self.pointwise = nn.Conv2d(c_in, c_out, 1, bias=False)
        self.bn = nn.BatchNorm2d(c_out, affine=affine)

    def forward(self, x):
        return _F.relu(self.bn(self.pointwise(self.depthwise(x))))


class Pool(nn.Module):
    """3x3 max/avg pooling (stride 1 or 2); a 1x1 conv-BN adapts the channels when they change."""

    def __init__(self, kind: str, c_in: int, c_out: int, stride: int = 1, affine: bool = True):
        super().__init__()
        if kind == "max":
            self.pool = nn.MaxPool2d(3, stride, 1)
        elif kind == "avg":
            # why count_include_pad=False: border pixels are not pulled towards zero
            self.pool = nn.AvgPool2d(3, stride, 1, count_include_pad=False)
        else:
            raise ValueError(f"unknown pooling {kind!r}; use 'max' or 'avg'")
        self.proj = None if c_in == c_out else ConvBNReLU(c_in, c_out, 1, act=None, affine=affine)

    def forward(self, x):
        x = self.pool(x)
        return x if self.proj is None else self.proj(x)


class SqueezeExcite(nn.Module):
    """Squeeze-and-excitation (Hu et al., CVPR 2018): channel attention from globally pooled features.

    x * sigmoid(W2 relu(W1 avgpool(x))); the hidden width is C / reduction (at least 8). Shape-preserving.
    """

    def __init__(self, channels: int, reduction: int = 4):
        super().__init__()
        hidden = max(8, channels // reduction)
        self.reduce = nn.Conv2d(channels, hidden, 1)
        self.expand = nn.Conv2d(hidden, channels, 1)

    def forward(self, x):
        s = _F.adaptive_avg_pool2d(x, 1)
        return x * _torch.sigmoid(self.expand(_F.relu(self.reduce(s))))


class SpatialSelfAttention(nn.Module):
    """Light multi-head self-attention over the H*W positions of a feature map, with a residual.

    x + proj(MHSA(BN(x))), shape-preserving. Two tricks keep it usable in small CNNs:
    - a depthwise 3x3 conv adds a *conditional positional encoding* (Chu et al., CPVT 2021) — plain
      attention is blind to where a pixel is;
    - when H*W exceeds ``max_tokens``, keys/values are average-pooled (the spatial reduction of PVT,
      Wang et al. 2021), so the cost is at most (H*W) x max_tokens instead of (H*W)^2.
    The output projection starts at zero, so a freshly built layer is the identity (why: inserting
    attention into a trained or shallow network then does not disturb the signal at initialisation).
    """

    def __init__(self, channels: int, heads: int | None = None, max_tokens: int = 256):
        super().__init__()
        if heads is None:
            heads = next(h for h in (4, 2, 1) if channels % h == 0)
        if channels % heads:
            raise ValueError(f"attention: {channels} channels are not divisible into {heads} heads")
        self.heads, self.max_tokens = heads, max_tokens
        self.pos = nn.Conv2d(channels, channels, 3, 1, 1, groups=channels)
        self.norm = nn.BatchNorm2d(channels)
        self.q = nn.Conv2d(channels, channels, 1, bias=False)
        self.kv = nn.Conv2d(channels, 2 * channels, 1, bias=False)
        self.proj = nn.Conv2d(channels, channels, 1)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, x):
        x = x + self.pos(x)
        b, c, h, w = x.shape
        y = self.norm(x)
        src = y
        if h * w > self.max_tokens:
            r = _math.ceil(_math.sqrt(h * w / self.max_tokens))
            src = _F.avg_pool2d(y, r, r, ceil_mode=True)
        d = c // self.heads
        q = self.q(y).reshape(b, self.heads, d, h * w).transpose(2, 3)            # b, heads, HW, d
        k, v = self.kv(src).reshape(b, 2, self.heads, d, -1).transpose(3, 4).unbind(1)
        out = _F.scaled_dot_product_attention(q, k, v)                           # b, heads, HW, d
        return x + self.proj(out.transpose(2, 3).reshape(b, c, h, w))


class MBConv(nn.Module):
    """MobileNet-V2 inverted residual: 1x1 expand -> kxk depthwise (stride) -> [SE] -> 1x1 project.

    ReLU6 after expand and depthwise, a linear bottleneck (no activation after the projection), and an
    identity shortcut when stride is 1 and the channels stay the same. With ``expand == 1`` the
    expansion conv is omitted (MobileNet-V2's first block).
    """

    def __init__(self, c_in: int, c_out: int, kernel: int = 3, stride: int = 1, expand: int = 6,
                 se: bool = False, affine: bool = True):
        super().__init__()
        mid = c_in * expand
        self.expand = None if expand == 1 else ConvBNReLU(c_in, mid, 1, act="relu6", affine=affine)
        self.depthwise = ConvBNReLU(mid, mid, kernel, stride, groups=mid, act="relu6", affine=affine)
        self.se = SqueezeExcite(mid) if se else None
        self.project = ConvBNReLU(mid, c_out, 1, act=None, affine=affine)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x):
        y = x if self.expand is None else self.expand(x)
        y = self.depthwise(y)
        if self.se is not None:
            y = self.se(y)
        y = self.project(y)
        return x + y if self.residual else y


def _adapted(op: nn.Module, c_in: int, c_out: int, stride: int, affine: bool) -> nn.Module:
    """Shape-preserving ops (se, attention) put behind a 1x1 conv-BN-ReLU when channels/stride change."""
    if c_in == c_out and stride == 1:
        return op
    return nn.Sequential(ConvBNReLU(c_in, c_out, 1, stride, affine=affine), op)


@register("conv_3x3")
def _conv3(ci, co, s, affine):
    return ConvBNReLU(ci, co, 3, s, affine=affine)


@register("conv_5x5")
def _conv5(ci, co, s, affine):
    return ConvBNReLU(ci, co, 5, s, affine=affine)


@register("chain_sep_conv_3x3")
def _dwsep3(ci, co, s, affine):
    return DWSeparableConv(ci, co, 3, s, affine=affine)


@register("chain_sep_conv_5x5")
def _dwsep5(ci, co, s, affine):
    return DWSeparableConv(ci, co, 5, s, affine=affine)


@register("chain_max_pool_3x3")
def _cmax(ci, co, s, affine):
    return Pool("max", ci, co, s, affine=affine)


@register("chain_avg_pool_3x3")
def _cavg(ci, co, s, affine):
    return Pool("avg", ci, co, s, affine=affine)


@register("se")
def _se(ci, co, s, affine):
    return _adapted(SqueezeExcite(co), ci, co, s, affine)


@register("attention")
def _attn(ci, co, s, affine):
    return _adapted(SpatialSelfAttention(co), ci, co, s, affine)


def _register_mbconv(kernel: int, expand: int, se: bool) -> None:
    name = f"mbconv{'_se' if se else ''}_k{kernel}_e{expand}"
    register(name)(lambda ci, co, s, affine: MBConv(ci, co, kernel, s, expand, se=se, affine=affine))


for _k in (3, 5, 7):
    for _e in (3, 6):
        for _se_flag in (False, True):
            _register_mbconv(_k, _e, _se_flag)
del _k, _e, _se_flag
