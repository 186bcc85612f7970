"""Highway unit (Srivastava et al. 2015): y = H(x) T(x) + x C(x), with C = 1 - T.

* H(x) is the unit's body followed by the activation (the transform);
* T(x) = sigmoid(W_T x + b_T) is the transform gate, one value per channel and
  position: a 3x3 conv with the body's stride as in the paper's convolutional
  highway nets, a 1x1 conv for bottleneck units (span 3, whose outer layers are
  1x1 too), a linear map for the mlp;
* C(x) = 1 - T(x) is the carry gate, written out in `forward` so it can be read.

b_T starts negative so that early in training the unit mostly carries x
unchanged (the paper uses -1 to -3 for deeper nets); `gate_bias_for_depth`
follows that rule. Where the shape changes, the carried x goes through the
parameter-free option-A shortcut, as for identity units.
"""

from __future__ import annotations

import torch
from torch import nn

from search_space._layers import (
    conv1x1,
    conv3x3,
    make_body,
    parameter_free_shortcut,
    post_activation,
)
from search_space._spec import Backbone
from search_space.shortcuts._base import Unit, UnitShape


def gate_bias_for_depth(depth: int) -> float:
    """-1 for ~10 layers, -2 for ~20, -3 from 30 on (Srivastava et al., section 4)."""
    return -float(max(1, min(3, round(depth / 10))))


def transform_gate(shape: UnitShape, bias: float) -> nn.Module:
    """W_T x + b_T, with b_T filled with `bias`."""
    layer: nn.Conv2d | nn.Linear
    if shape.backbone is Backbone.CONV:
        conv = conv1x1 if shape.span == 3 else conv3x3
        layer = conv(shape.in_ch, shape.out_ch, shape.stride, bias=True)
    else:
        layer = nn.Linear(shape.in_ch, shape.out_ch)
    assert layer.bias is not None
    nn.init.constant_(layer.bias, bias)
    return layer


class HighwayUnit(Unit):
    def __init__(self, shape: UnitShape, gate_bias: float = -1.0) -> None:
        super().__init__()
        self.body = make_body(
            shape.backbone, shape.in_ch, shape.planes, shape.out_ch, shape.span, shape.stride
        )
        self.act = post_activation(shape.backbone)
        self.gate = transform_gate(shape, gate_bias)
        self.carry_path = parameter_free_shortcut(shape.in_ch, shape.out_ch, shape.stride)

    @classmethod
    def make(cls, shape: UnitShape, depth: int) -> HighwayUnit:
        return cls(shape, gate_bias=gate_bias_for_depth(depth))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        transform = torch.sigmoid(self.gate(x))  # T(x)
        carry = 1.0 - transform  # C(x) = 1 - T(x)
        return self.act(self.body(x)) * transform + self.carry_path(x) * carry
