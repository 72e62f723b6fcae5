"""The primitive registry: the operations spaces put on edges and layers.

Each primitive is a factory ``(C_in, C_out, stride, affine) -> nn.Module`` registered by name in
``PRIMITIVES``. Spaces choose the names they offer; the registry is shared so that a student can see
that, e.g., DARTS' ``sep_conv_3x3`` is the same thing in every space that offers it.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import SpaceError
from .fast_ops import DepthwiseConv2d


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
# The DARTS primitives (Liu et al., "DARTS: Differentiable Architecture Search", ICLR 2019), with the
# module structure (and so the parameter count) of the reference implementation quark0/darts:
# none, max_pool_3x3, avg_pool_3x3, skip_connect, sep_conv_3x3/5x5, dil_conv_3x3/5x5, plus the two
# extra ops of the published NASNet/AmoebaNet cells (sep_conv_7x7, conv_7x1_1x7) so those can be built.
# DARTS always uses C_in == C_out; the factories also accept C_in != C_out (NB201's convention).
# ---------------------------------------------------------------------------------------------------


class Zero(nn.Module):
    """The ``none`` op: an all-zero output, strided like the real ops so that the shapes agree."""

    def __init__(self, c_out: int, stride: int = 1):
        super().__init__()
        self.c_out, self.stride = c_out, stride

    def forward(self, x):
        if self.stride > 1:
            x = x[:, :, ::self.stride, ::self.stride]
        return x.new_zeros(x.shape[0], self.c_out, x.shape[2], x.shape[3])


class FactorizedReduce(nn.Module):
    """Halve the resolution without losing half the pixels: ReLU, two stride-2 1x1 convs (the second
    on the input shifted by one pixel), concatenated, then BN. Used for skip_connect at stride 2 and to
    preprocess a cell's input that comes from before a reduction."""

    def __init__(self, c_in: int, c_out: int, affine: bool = True):
        super().__init__()
        if c_out % 2:
            raise ValueError(f"FactorizedReduce needs an even number of output channels, got {c_out}")
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c_out, affine=affine)

    def forward(self, x):
        x = self.relu(x)
        # A 1x1 conv at stride 2 reads only every other pixel, so the two branches are computed as 1x1
        # convs of the pixels they read: the even ones, and the odd ones (the input shifted by one).
        # Why not call the stride-2 convs: the same numbers, but oneDNN's stride-2 1x1 weight gradient
        # (torch 2.14 on AVX2 CPUs without AVX-512) writes out of bounds for channels_last inputs with
        # fewer than 8 channels: PC-DARTS (K=4 at C=8) corrupted the heap or hung.
        even, odd = x[:, :, ::2, ::2], x[:, :, 1::2, 1::2]
        if odd.shape[-2:] != even.shape[-2:]:
            # an odd size: the shifted branch comes out one pixel smaller (the reference then fails);
            # padding it at the far end, as a padded shifted input would, keeps both the same size
            odd = F.pad(odd, (0, even.shape[-1] - odd.shape[-1], 0, even.shape[-2] - odd.shape[-2]))
        return self.bn(torch.cat([F.conv2d(even, self.conv_1.weight), F.conv2d(odd, self.conv_2.weight)], dim=1))


class DilConv(nn.Sequential):
    """ReLU -> depthwise kxk conv (dilated, strided) -> 1x1 pointwise conv -> BN."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int, dilation: int,
                 affine: bool = True):
        super().__init__(
            nn.ReLU(inplace=False),
            DepthwiseConv2d(c_in, c_in, kernel, stride, padding, dilation=dilation, groups=c_in, bias=False),
            nn.Conv2d(c_in, c_out, 1, bias=False),
            nn.BatchNorm2d(c_out, affine=affine))


class SepConv(nn.Sequential):
    """DARTS' separable conv: the (ReLU, depthwise, pointwise, BN) unit applied twice, the first one
    strided. Why twice: it follows NASNet's definition, which gives the op a depth of two."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int, affine: bool = True):
        super().__init__(DilConv(c_in, c_in, kernel, stride, padding, 1, affine),
                         DilConv(c_in, c_out, kernel, 1, padding, 1, affine))


def _darts_pool(kind: str, ci: int, co: int, s: int, affine: bool) -> nn.Module:
    # why count_include_pad=False: the reference's choice; border averages are not pulled towards 0
    pool = nn.MaxPool2d(3, s, 1) if kind == "max" else nn.AvgPool2d(3, s, 1, count_include_pad=False)
    if ci == co:
        return pool
    return nn.Sequential(ReLUConvBN(ci, co, 1, 1, 0, affine=affine), pool)  # NB201's channel adapter


@register("none")
def _none(ci, co, s, affine):
    return Zero(co, s)


@register("max_pool_3x3")
def _maxp3(ci, co, s, affine):
    return _darts_pool("max", ci, co, s, affine)


@register("avg_pool_3x3")
def _avgp3(ci, co, s, affine):
    return _darts_pool("avg", ci, co, s, affine)


@register("skip_connect")
def _skip(ci, co, s, affine):
    return nn.Identity() if s == 1 and ci == co else FactorizedReduce(ci, co, affine)


@register("sep_conv_3x3")
def _sep3(ci, co, s, affine):
    return SepConv(ci, co, 3, s, 1, affine)


@register("sep_conv_5x5")
def _sep5(ci, co, s, affine):
    return SepConv(ci, co, 5, s, 2, affine)


@register("sep_conv_7x7")
def _sep7(ci, co, s, affine):
    return SepConv(ci, co, 7, s, 3, affine)


@register("dil_conv_3x3")
def _dil3(ci, co, s, affine):
    return DilConv(ci, co, 3, s, 2, 2, affine)   # 3x3 taps, dilation 2: a 5x5 receptive field


@register("dil_conv_5x5")
def _dil5(ci, co, s, affine):
    return DilConv(ci, co, 5, s, 4, 2, affine)   # 5x5 taps, dilation 2: a 9x9 receptive field


@register("conv_7x1_1x7")
def _conv71(ci, co, s, affine):
    # a 1x7 then a 7x1 conv (AmoebaNet's factorised 7x7), each strided along its own axis
    return nn.Sequential(nn.ReLU(inplace=False),
                         nn.Conv2d(ci, ci, (1, 7), stride=(1, s), padding=(0, 3), bias=False),
                         nn.Conv2d(ci, co, (7, 1), stride=(s, 1), padding=(3, 0), bias=False),
                         nn.BatchNorm2d(co, affine=affine))


# ---------------------------------------------------------------------------------------------------
# General primitives for the macro spaces (chain: Zoph & Le 2017 / ENAS-macro, Pham et al. 2018;
# mobile: MobileNet-V2, Sandler et al. 2018 / ProxylessNAS, Cai et al. 2019) and the attention-style
# primitives a space can opt into (squeeze-excitation, Hu et al. 2018; spatial self-attention).
# Names never clash with the DARTS names (none, max/avg_pool_3x3, skip_connect, sep/dil_conv_*):
# the chain space's own separable convs and pools live under a ``chain_`` prefix.
# ---------------------------------------------------------------------------------------------------
import math as _math  # noqa: E402


class ConvBNReLU(nn.Sequential):
    """Conv -> BN -> activation (post-activation order, as in VGG/MobileNet). ``act=None``: no activation."""

    def __init__(self, c_in: int, c_out: int, kernel: int = 3, stride: int = 1, groups: int = 1,
                 act: str | None = "relu", affine: bool = True):
        conv = DepthwiseConv2d if groups == c_in == c_out > 1 else nn.Conv2d
        layers = [conv(c_in, c_out, kernel, stride, kernel // 2, groups=groups, bias=False),
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
        self.depthwise = DepthwiseConv2d(c_in, c_in, kernel, stride, kernel // 2, groups=c_in, bias=False)
        self.pointwise = nn.Conv2d(c_in, c_out, 1, bias=False)
        self.bn = nn.BatchNorm2d(c_out, affine=affine)

    def forward(self, x):
        return F.relu(self.bn(self.pointwise(self.depthwise(x))))


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
        s = F.adaptive_avg_pool2d(x, 1)
        return x * torch.sigmoid(self.expand(F.relu(self.reduce(s))))


class SpatialSelfAttention(nn.Module):
    """Light multi-head self-attention over the H*W positions of a feature map, with a residual.

    x + proj(MHSA(BN(x))), shape-preserving. Two tricks keep it usable in small CNNs:
    - a depthwise 3x3 conv adds a *conditional positional encoding* (Chu et al., CPVT 2021) — plain
      attention is blind to where a pixel is;
    - when H*W exceeds ``max_tokens``, keys/values are average-pooled (the spatial reduction of PVT,
      Wang et al. 2021), so the cost is at most (H*W) x max_tokens instead of (H*W)^2.
    The positional conv and the output projection start at zero, so a freshly built layer is exactly
    the identity (why: inserting attention into a network then does not disturb the signal at
    initialisation; both still get gradients, through the residual and through the attention output).
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
        for p in (self.pos.weight, self.pos.bias, self.proj.weight, self.proj.bias):
            nn.init.zeros_(p)

    def forward(self, x):
        x = x + self.pos(x)
        b, c, h, w = x.shape
        y = self.norm(x)
        src = y
        if h * w > self.max_tokens:
            r = _math.ceil(_math.sqrt(h * w / self.max_tokens))
            src = F.avg_pool2d(y, r, r, ceil_mode=True)
        d = c // self.heads
        q = self.q(y).reshape(b, self.heads, d, h * w).transpose(2, 3)            # b, heads, HW, d
        k, v = self.kv(src).reshape(b, 2, self.heads, d, -1).transpose(3, 4).unbind(1)
        out = F.scaled_dot_product_attention(q, k, v)                           # b, heads, HW, d
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
