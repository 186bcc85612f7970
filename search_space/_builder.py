"""Spec -> nn.Module: stem -> stages -> global pool -> linear head.

The stage builder decides every unit's shape (channels in/out and stride) and
passes channel counts along; the units only combine their body with their
shortcut (as torchvision's `_make_layer`). Conv stages after the first halve the
resolution and, except for dense, double the width.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from search_space._inputs import check_input
from search_space._layers import conv3x3, expansion
from search_space._spec import ArchitectureSpec, Backbone, ShortcutType
from search_space.shortcuts import UNITS, DenseStage, Transition, Unit, UnitShape
from search_space.shortcuts.dense import compressed, stem_channels


class ShortcutNet(nn.Module):
    """A network of the search space. `spec` and `input_shape` rebuild it exactly."""

    def __init__(
        self,
        spec: ArchitectureSpec,
        input_shape: tuple[int, ...],
        stem: nn.Module,
        stages: Sequence[nn.Module],
        head: nn.Module,
    ) -> None:
        super().__init__()
        self.spec = spec
        self.input_shape = tuple(input_shape)
        self.stem = stem
        self.stages = nn.ModuleList(stages)
        self.head = head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for stage in self.stages:
            x = stage(x)
        return self.head(x)

    def units(self) -> list[Unit]:
        """Every unit (residual/highway/plain block or dense layer), input to output."""
        return [m for m in self.modules() if isinstance(m, Unit)]


def build_model(
    spec: ArchitectureSpec | str, input_shape: Sequence[int], num_classes: int
) -> ShortcutNet:
    """Build the network of `spec` for inputs of `input_shape` and `num_classes` outputs.

    Args:
        spec: an `ArchitectureSpec` or its canonical string.
        input_shape: (C, H, W) for images (C = 1 or 3; H, W from 8 to 32 and up),
            or (F,) for tabular features (mlp backbone only; an mlp flattens images).
        num_classes: outputs of the linear head (1 for regression).

    Raises:
        ValueError: before anything is built, if the input cannot feed the spec.

    Example:
        >>> net = build_model("identity-s2-d20-w16", input_shape=(3, 32, 32), num_classes=10)
        >>> sum(p.numel() for p in net.parameters())
        269722
    """
    if isinstance(spec, str):
        spec = ArchitectureSpec.from_str(spec)
    shape = check_input(spec, input_shape, num_classes)
    if spec.backbone is Backbone.CONV:
        stem, stages, head = _conv_network(spec, shape, num_classes)
    else:
        stem, stages, head = _mlp_network(spec, shape, num_classes)
    return ShortcutNet(spec, shape, stem, stages, head)


def _conv_network(
    spec: ArchitectureSpec, input_shape: tuple[int, ...], num_classes: int
) -> tuple[nn.Module, list[nn.Module], nn.Module]:
    in_ch = input_shape[0]
    if spec.shortcut is ShortcutType.DENSE:
        width = stem_channels(spec.growth_rate, spec.span)
        stem: nn.Module = conv3x3(in_ch, width)  # DenseNet: BN comes inside each layer
        stages, out_ch = _dense_stages(spec, width)
        pre_pool: list[nn.Module] = [nn.BatchNorm2d(out_ch), nn.ReLU(inplace=True)]
    else:
        stem = nn.Sequential(
            conv3x3(in_ch, spec.width), nn.BatchNorm2d(spec.width), nn.ReLU(inplace=True)
        )
        stages, out_ch = _unit_stages(spec, spec.width)
        pre_pool = []
    head = nn.Sequential(
        *pre_pool, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(out_ch, num_classes)
    )
    return stem, stages, head


def _mlp_network(
    spec: ArchitectureSpec, input_shape: tuple[int, ...], num_classes: int
) -> tuple[nn.Module, list[nn.Module], nn.Module]:
    """Linear stem, one stage of units, linear head: no activation outside the units."""
    features = 1
    for s in input_shape:
        features *= s
    if spec.shortcut is ShortcutType.DENSE:
        width = 2 * spec.growth_rate
        stages, out_ch = _dense_stages(spec, width)
    else:
        width = spec.width
        stages, out_ch = _unit_stages(spec, width)
    stem = nn.Sequential(nn.Flatten(), nn.Linear(features, width))
    return stem, stages, nn.Linear(out_ch, num_classes)


def _unit_stages(spec: ArchitectureSpec, in_ch: int) -> tuple[list[nn.Module], int]:
    """Residual, highway and plain stages: planes double and the size halves per stage."""
    unit_cls = UNITS[spec.shortcut]
    assert spec.depth is not None
    stages: list[nn.Module] = []
    for index in range(spec.num_stages):
        planes = spec.width * 2**index
        out_ch = planes * expansion(spec.backbone, spec.span)
        units = []
        for position in range(spec.units_per_stage):
            stride = 2 if index > 0 and position == 0 else 1
            shape = UnitShape(spec.backbone, in_ch, planes, out_ch, spec.span, stride)
            units.append(unit_cls.make(shape, spec.depth))
            in_ch = out_ch
        stages.append(nn.Sequential(*units))
    return stages, in_ch


def _dense_stages(spec: ArchitectureSpec, in_ch: int) -> tuple[list[nn.Module], int]:
    """Dense stages joined by transitions; channels grow by k per layer."""
    stages: list[nn.Module] = []
    for index in range(spec.num_stages):
        block = DenseStage(spec.backbone, in_ch, spec.units_per_stage, spec.growth_rate, spec.span)
        in_ch = block.out_ch
        if index < spec.num_stages - 1:
            transition = Transition(in_ch, compressed(in_ch, spec.compression))
            in_ch = transition.out_ch
            stages.append(nn.Sequential(block, transition))
        else:
            stages.append(block)
    return stages, in_ch
