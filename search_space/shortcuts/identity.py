"""Identity shortcut (ResNet): y = act(F(x) + x), no parameters on the shortcut.

Where the shape changes the shortcut is He et al.'s option A (subsample + zero
channels), so an identity network has exactly the parameters of the plain
network of the same depth: the comparison the ResNet paper makes.
"""

from __future__ import annotations

import torch

from search_space._layers import make_body, parameter_free_shortcut, post_activation
from search_space.shortcuts._base import Unit, UnitShape


class IdentityUnit(Unit):
    def __init__(self, shape: UnitShape) -> None:
        super().__init__()
        self.body = make_body(
            shape.backbone, shape.in_ch, shape.planes, shape.out_ch, shape.span, shape.stride
        )
        self.shortcut = parameter_free_shortcut(shape.in_ch, shape.out_ch, shape.stride)
        self.act = post_activation(shape.backbone)

    @classmethod
    def make(cls, shape: UnitShape, depth: int) -> IdentityUnit:
        return cls(shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.shortcut(x))
