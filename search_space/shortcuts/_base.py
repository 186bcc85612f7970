"""What every shortcut unit shares: its place in the network and a uniform constructor."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from search_space._spec import Backbone


@dataclass(frozen=True)
class UnitShape:
    """Where a unit sits: channels (or features) in and out, and its stride."""

    backbone: Backbone
    in_ch: int  # channels (conv) or features (mlp) entering the unit
    planes: int  # inner width of a bottleneck (span 3); equals out_ch otherwise
    out_ch: int  # channels or features leaving the unit
    span: int  # weighted layers inside the unit
    stride: int = 1  # 2 on the first unit of a conv stage after the first


class Unit(nn.Module):
    """Base class of every unit: the gradient-flow diagnostics find units by this type."""

    @classmethod
    def make(cls, shape: UnitShape, depth: int) -> Unit:
        """Build a unit for `shape` in a network of `depth` weighted layers."""
        raise NotImplementedError
