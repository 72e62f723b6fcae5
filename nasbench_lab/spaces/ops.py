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
