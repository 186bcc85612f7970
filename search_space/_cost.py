"""What a network costs: parameters and multiply-accumulates (MACs).

MACs are counted in one forward pass on one sample, from the shapes every
`nn.Conv2d` and `nn.Linear` actually sees (forward hooks): in these networks all
multiply-accumulates happen there (batch norm, pooling, gates' sigmoid and the
dense concatenation are not MACs). That is the number PyTorch's own
`torch.utils.flop_counter.FlopCounterMode` gives (tests/test_build.py checks
every shortcut type, span and backbone against it), at a quarter of its cost:
FlopCounterMode routes every op of the pass through Python, ~8 ms a trial of a
search on digits against ~2 ms.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


def count_params(model: nn.Module, trainable_only: bool = True) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


@torch.no_grad()
def count_macs(model: nn.Module, input_shape: Sequence[int]) -> int:
    """MACs of one forward pass on one sample of `input_shape` (batch norm in eval mode)."""
    total = 0

    def conv(module: nn.Conv2d, inputs: object, output: torch.Tensor) -> None:
        nonlocal total
        kh, kw = module.kernel_size
        total += output.numel() * (module.in_channels // module.groups) * kh * kw

    def linear(module: nn.Linear, inputs: object, output: torch.Tensor) -> None:
        nonlocal total
        total += output.numel() * module.in_features

    handles = [
        m.register_forward_hook(conv if isinstance(m, nn.Conv2d) else linear)  # type: ignore[arg-type]
        for m in model.modules()
        if isinstance(m, nn.Conv2d | nn.Linear)
    ]
    was_training = model.training
    model.eval()
    try:
        device = next(model.parameters()).device
        model(torch.zeros(1, *input_shape, device=device))
        return total
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
