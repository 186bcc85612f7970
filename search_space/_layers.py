"""Small layer helpers shared by every shortcut type (cf. torchvision's conv3x3).

A unit's *body* F is the `span` weighted layers that one shortcut skips. The
body depends only on the backbone and the span, never on the shortcut type, so
that changing the shortcut changes exactly one thing: how x reaches the output.

* conv, post-activation (He et al. 2015): span 1 = 3x3-BN; span 2 = 3x3-BN-ReLU-3x3-BN
  (basic block); span 3 = 1x1-BN-ReLU-3x3-BN-ReLU-1x1-BN (bottleneck, 4x expansion).
  The unit applies the final ReLU after the shortcut is added.
* mlp, pre-activation: `span` times BN-ReLU-Linear. No activation after the
  addition, so with identity shortcuts the network is "a linear model plus a
  non-linear part" (the stem and the head are linear).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from search_space._spec import Backbone

BOTTLENECK_EXPANSION = 4  # span 3 residual units widen their output 4x (ResNet-164)


def conv3x3(in_ch: int, out_ch: int, stride: int = 1, bias: bool = False) -> nn.Conv2d:
    """3x3 convolution with padding 1: keeps the size at stride 1, halves it at 2."""
    return nn.Conv2d(in_ch, out_ch, kernel_size=3, stride=stride, padding=1, bias=bias)


def conv1x1(in_ch: int, out_ch: int, stride: int = 1, bias: bool = False) -> nn.Conv2d:
    return nn.Conv2d(in_ch, out_ch, kernel_size=1, stride=stride, bias=bias)


def expansion(backbone: Backbone, span: int) -> int:
    """Output channels per planes: 4 for a conv bottleneck (span 3), else 1."""
    return BOTTLENECK_EXPANSION if backbone is Backbone.CONV and span == 3 else 1


def conv_body(in_ch: int, planes: int, out_ch: int, span: int, stride: int) -> nn.Sequential:
    """The `span` conv layers of a residual/highway/plain unit, ending in BN (no ReLU)."""
    if span == 1:
        return nn.Sequential(conv3x3(in_ch, out_ch, stride), nn.BatchNorm2d(out_ch))
    if span == 2:
        return nn.Sequential(
            conv3x3(in_ch, out_ch, stride), nn.BatchNorm2d(out_ch), nn.ReLU(inplace=True),
            conv3x3(out_ch, out_ch), nn.BatchNorm2d(out_ch),
        )  # fmt: skip
    return nn.Sequential(
        conv1x1(in_ch, planes), nn.BatchNorm2d(planes), nn.ReLU(inplace=True),
        conv3x3(planes, planes, stride), nn.BatchNorm2d(planes), nn.ReLU(inplace=True),
        conv1x1(planes, out_ch), nn.BatchNorm2d(out_ch),
    )  # fmt: skip


def mlp_body(in_features: int, out_features: int, span: int) -> nn.Sequential:
    """`span` pre-activation fully connected layers: (BN-ReLU-Linear) x span."""
    layers: list[nn.Module] = []
    for i in range(span):
        n_in = in_features if i == 0 else out_features
        layers += [nn.BatchNorm1d(n_in), nn.ReLU(), nn.Linear(n_in, out_features)]
    return nn.Sequential(*layers)


def make_body(
    backbone: Backbone, in_ch: int, planes: int, out_ch: int, span: int, stride: int
) -> nn.Sequential:
    if backbone is Backbone.CONV:
        return conv_body(in_ch, planes, out_ch, span, stride)
    return mlp_body(in_ch, out_ch, span)


def post_activation(backbone: Backbone) -> nn.Module:
    """ReLU after the addition for conv (original ResNet); none for pre-activation MLPs."""
    return nn.ReLU(inplace=True) if backbone is Backbone.CONV else nn.Identity()


class ParameterFreeShortcut(nn.Module):
    """He et al.'s option A: subsample by the stride and zero-pad the new channels.

    Why: the identity shortcut must stay free of parameters even where a stage
    halves the resolution and doubles the width, or identity and projection
    networks would no longer differ only in the shortcut.
    """

    def __init__(self, in_ch: int, out_ch: int, stride: int) -> None:
        super().__init__()
        if out_ch < in_ch:
            raise ValueError(
                f"a parameter-free shortcut cannot shrink {in_ch} to {out_ch} channels"
            )
        self.in_ch, self.out_ch, self.stride = in_ch, out_ch, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride > 1:
            x = x[:, :, :: self.stride, :: self.stride]
        if self.out_ch > self.in_ch:
            pad = [0, 0] * (x.dim() - 2) + [0, self.out_ch - self.in_ch]
            x = F.pad(x, pad)
        return x

    def extra_repr(self) -> str:
        return f"in={self.in_ch}, out={self.out_ch}, stride={self.stride}"


def parameter_free_shortcut(in_ch: int, out_ch: int, stride: int) -> nn.Module:
    """nn.Identity where the shape is kept, option A where it changes."""
    if in_ch == out_ch and stride == 1:
        return nn.Identity()
    return ParameterFreeShortcut(in_ch, out_ch, stride)
