"""Gradient-flow diagnostics: the vanishing-gradient story as numbers.

For each unit (residual/highway/plain block or dense layer), the L2 norm of the
gradient of the loss with respect to that unit's parameters on a training batch,
measured at initialisation (the first step's gradients, before the optimiser
applies them) and at the end of training (the last step's). The ratio first/last says
how much gradient reaches the bottom of the network relative to the top: near 1
(or above) when shortcuts carry it, it collapses towards 0 in a deep plain network.

`unit_gradient_norms` measures any model on any batch outside training (a
forward/backward pass whose gradients and batch-norm statistics are restored
afterwards); `GradientFlow` reads a training run's own steps instead.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import lightning.pytorch as L
import torch
from torch import nn

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def unit_gradient_norms(
    model: nn.Module,
    units: list[nn.Module],
    batch: tuple[torch.Tensor, torch.Tensor],
    loss_fn: LossFn,
) -> list[float]:
    """Per-unit gradient norms of `loss_fn(model(x), y)` on one batch, in train mode."""
    buffers = {name: b.clone() for name, b in model.named_buffers()}
    saved = {p: p.grad for p in model.parameters()}
    was_training = model.training
    model.train()
    try:
        for p in model.parameters():
            p.grad = None
        x, y = batch
        loss_fn(model(x), y).backward()
        return [_norm(unit) for unit in units]
    finally:
        for p, grad in saved.items():
            p.grad = grad
        with torch.no_grad():
            for name, b in model.named_buffers():
                if name in buffers:
                    b.copy_(buffers[name])
        model.train(was_training)


def _norm(unit: nn.Module) -> float:
    squares = [
        p.grad.detach().float().pow(2).sum() for p in unit.parameters() if p.grad is not None
    ]
    return math.sqrt(float(torch.stack(squares).sum())) if squares else 0.0


def summarise(prefix: str, norms: list[float]) -> dict[str, Any]:
    """first, last, ratio first/last (the collapse), and the full profile."""
    if not norms:
        return {}
    first, last = norms[0], norms[-1]
    ratio = first / last if last > 0 else float("inf")
    return {
        f"{prefix}_first": first,
        f"{prefix}_last": last,
        f"{prefix}_ratio": ratio,
        f"{prefix}_units": [round(n, 8) for n in norms],
    }


class GradientFlow(L.Callback):
    """Per-unit gradient norms of the first and of the last training step.

    Both are the step's own gradients, read just before the optimiser applies them
    (`on_before_optimizer_step`: after the backward, after mixed precision unscales
    them, before clipping). So the diagnostics cost no forward/backward pass of their
    own -- a separate end pass on a kept batch cost ~20 ms a trial, more than anything
    else a search adds to a short trial (docs/benchmarks.md) -- and first and last are
    measured the same way, on a training batch of the network as it stands. Results
    land in `self.metrics` as ``grad_init_*`` and ``grad_end_*`` (first, last, ratio,
    units). A fit that stops before its last epoch (early stopping) reads the last
    step's gradients at train end, after clipping if any.
    """

    def __init__(self) -> None:
        self.metrics: dict[str, Any] = {}
        self._stepped = False  # one cheap test per step once the first is measured
        self._end_step = -1  # global step count once the gradients in grad_end_* were applied

    def on_before_optimizer_step(
        self, trainer: L.Trainer, pl_module: L.LightningModule, optimizer: Any
    ) -> None:
        if not self._stepped:
            self._stepped = True
            if trainer.global_step == 0 and "grad_init_first" not in self.metrics:
                self.metrics.update(summarise("grad_init", _unit_norms(pl_module)))
        if trainer.is_last_batch and trainer.current_epoch + 1 >= (trainer.max_epochs or 0):
            self._read_end(pl_module, applied_at=trainer.global_step + 1)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Fit stopped before its last step (early stopping, max_steps): read what the
        last step left, unless that step was read already."""
        if self._stepped and self._end_step != trainer.global_step:
            self._read_end(pl_module, applied_at=trainer.global_step)

    def _read_end(self, pl_module: L.LightningModule, applied_at: int) -> None:
        """`applied_at`: the global step count once the gradients read have been applied."""
        self.metrics.update(summarise("grad_end", _unit_norms(pl_module)))
        self._end_step = applied_at

    def state_dict(self) -> dict[str, Any]:
        return {"metrics": dict(self.metrics)}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.metrics = dict(state_dict.get("metrics", {}))


def _unit_norms(pl_module: L.LightningModule) -> list[float]:
    from lightning_modules._module import unit_modules

    return [_norm(unit) for unit in unit_modules(pl_module)]
