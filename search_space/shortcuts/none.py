"""No shortcut: y = act(F(x)). The control group of He et al.'s "plain" networks.

Deep stacks of these units show the degradation problem: more layers, higher
training error, and gradients that shrink from the last unit to the first.
"""

from __future__ import annotations

import torch

from search_space._layers import make_body, post_activation
from search_space.shortcuts._base import Unit, UnitShape


class PlainUnit(Unit):
    """The same weighted layers as a residual unit, with nothing skipping them."""

    def __init__(self, shape: UnitShape) -> None:
        super().__init__()
        self.body = make_body(
            shape.backbone, shape.in_ch, shape.planes, shape.out_ch, shape.span, shape.stride
        )
        self.act = post_activation(shape.backbone)

    @classmethod
    def make(cls, shape: UnitShape, depth: int) -> PlainUnit:
        return cls(shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x))
