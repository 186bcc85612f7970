"""Dense connectivity (Huang et al. 2017): x_l = H_l([x_0, ..., x_{l-1}]).

Inside a stage every layer sees the concatenation of all earlier feature maps
and adds `growth_rate` (k) new channels, so a stage that starts with k0 channels
ends with k0 + k * layers. Stages are joined by transitions
(BN-ReLU-1x1 conv to floor(theta * channels)-2x2 average pool), theta being the
compression. What `span` means for one dense layer H_l:

* span 1: BN-ReLU-3x3 conv (k)                       -- DenseNet
* span 2: BN-ReLU-1x1 conv (4k)-BN-ReLU-3x3 conv (k)  -- DenseNet-B (bottleneck)
* span 3: BN-ReLU-1x1 conv (4k)-BN-ReLU-3x3 conv (4k)-BN-ReLU-1x1 conv (k): the
  ResNet bottleneck (1x1-3x3-1x1) emitting k new channels. Not in the paper;
  defined here so span means "weighted layers per unit" for every type.

For the mlp backbone each conv is a linear layer and there are no transitions.
"""

from __future__ import annotations

import torch
from torch import nn

from search_space._layers import conv1x1, conv3x3
from search_space._spec import Backbone
from search_space.shortcuts._base import Unit, UnitShape

BOTTLENECK_FACTOR = 4  # the 1x1 layers of DenseNet-B emit 4k channels


def _norm_act(backbone: Backbone, channels: int) -> list[nn.Module]:
    norm = nn.BatchNorm2d(channels) if backbone is Backbone.CONV else nn.BatchNorm1d(channels)
    return [norm, nn.ReLU(inplace=True)]


def _layer_widths(span: int, k: int) -> list[tuple[int, int]]:
    """(kernel, out channels) of the weighted layers of one dense layer."""
    wide = BOTTLENECK_FACTOR * k
    return {1: [(3, k)], 2: [(1, wide), (3, k)], 3: [(1, wide), (3, wide), (1, k)]}[span]


class DenseLayer(Unit):
    """H_l: returns only the k new channels; the stage concatenates (as torchvision)."""

    def __init__(self, backbone: Backbone, in_ch: int, growth_rate: int, span: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = in_ch
        for kernel, out in _layer_widths(span, growth_rate):
            layers += _norm_act(backbone, channels)
            if backbone is Backbone.CONV:
                layers.append(conv3x3(channels, out) if kernel == 3 else conv1x1(channels, out))
            else:
                layers.append(nn.Linear(channels, out))
            channels = out
        self.body = nn.Sequential(*layers)

    @classmethod
    def make(cls, shape: UnitShape, depth: int) -> DenseLayer:
        growth_rate = shape.out_ch - shape.in_ch
        return cls(shape.backbone, shape.in_ch, growth_rate, shape.span)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.body(features)


class DenseStage(nn.Module):
    """A dense block: each layer's output is concatenated to everything before it."""

    def __init__(
        self, backbone: Backbone, in_ch: int, layers: int, growth_rate: int, span: int
    ) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            DenseLayer(backbone, in_ch + i * growth_rate, growth_rate, span) for i in range(layers)
        )
        self.out_ch = in_ch + layers * growth_rate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for layer in self.layers:
            features.append(layer(torch.cat(features, dim=1)))
        return torch.cat(features, dim=1)


class Transition(nn.Sequential):
    """BN-ReLU-1x1 conv (compression theta)-2x2 average pool, between dense stages."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__(
            nn.BatchNorm2d(in_ch), nn.ReLU(inplace=True), conv1x1(in_ch, out_ch), nn.AvgPool2d(2)
        )
        self.out_ch = out_ch


def stem_channels(growth_rate: int, span: int) -> int:
    """16 for DenseNet, 2k for the bottleneck variants (Huang et al., section 3)."""
    return 2 * growth_rate if span >= 2 else 16


def compressed(channels: int, compression: float) -> int:
    return max(1, int(channels * compression))
