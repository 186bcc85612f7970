"""What a network costs: parameters and multiply-accumulates (MACs).

MACs come from PyTorch's own `torch.utils.flop_counter.FlopCounterMode`, which
counts the FLOPs of every matmul and convolution actually dispatched in one
forward pass (2 FLOPs per MAC), so no per-layer formula of ours can drift from
what the network really computes.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def count_params(model: nn.Module, trainable_only: bool = True) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


@torch.no_grad()
def count_macs(model: nn.Module, input_shape: Sequence[int]) -> int:
    """MACs of one forward pass on one sample of `input_shape` (batch norm in eval mode)."""
    was_training = model.training
    model.eval()
    try:
        device = next(model.parameters()).device
        x = torch.zeros(1, *input_shape, device=device)
        with FlopCounterMode(display=False) as counter:
            model(x)
        return int(counter.get_total_flops()) // 2
    finally:
        model.train(was_training)
