"""Projection shortcut (ResNet option C): y = act(F(x) + W_s x) on every unit.

W_s is a learned 1x1 convolution + BN (conv backbone) or a linear map (mlp),
present even where the shape does not change: that is what separates option C
from option B, and what makes projection cost parameters that identity does not.
"""

from __future__ import annotations

import torch
from torch import nn

from search_space._layers import conv1x1, make_body, post_activation
from search_space._spec import Backbone
from search_space.shortcuts._base import Unit, UnitShape


def learned_projection(shape: UnitShape) -> nn.Module:
    """W_s: 1x1 conv + BN with the unit's stride, or a bias-free linear map."""
    if shape.backbone is Backbone.CONV:
        return nn.Sequential(
            conv1x1(shape.in_ch, shape.out_ch, shape.stride), nn.BatchNorm2d(shape.out_ch)
        )
    return nn.Linear(shape.in_ch, shape.out_ch, bias=False)


class ProjectionUnit(Unit):
    def __init__(self, shape: UnitShape) -> None:
        super().__init__()
        self.body = make_body(
            shape.backbone, shape.in_ch, shape.planes, shape.out_ch, shape.span, shape.stride
        )
        self.projection = learned_projection(shape)
        self.act = post_activation(shape.backbone)

    @classmethod
    def make(cls, shape: UnitShape, depth: int) -> ProjectionUnit:
        return cls(shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.projection(x))
