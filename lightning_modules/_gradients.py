"""Gradient-flow diagnostics: the vanishing-gradient story as numbers.

For each unit (residual/highway/plain block or dense layer), the L2 norm of the
gradient of the loss with respect to that unit's parameters, on one training
batch (the first), measured at initialisation (the first step's gradients, before
the optimiser applies them) and at the end of training. The ratio first/last says
how much gradient reaches the bottom of the network relative to the top: near 1
(or above) when shortcuts carry it, it collapses towards 0 in a deep plain network.

The end measurement is a forward/backward pass outside the optimiser: gradients
are restored afterwards and so are the batch-norm running statistics, so measuring
does not change what is trained.
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
    """Measures per-unit gradient norms at initialisation and at fit end.

    At initialisation the first training step's own gradients are read, just before
    the optimiser applies them (`on_before_optimizer_step`: after the backward, after
    mixed precision unscales them, before clipping): that is the gradient at init on
    that batch, so no extra forward/backward is spent on it. At the end the same
    batch is measured again with `unit_gradient_norms`, so first and last compare one
    batch. Results land in `self.metrics` as ``grad_init_*`` and ``grad_end_*``
    (first, last, ratio, units).
    """

    def __init__(self) -> None:
        self.metrics: dict[str, Any] = {}
        self._batch: tuple[torch.Tensor, torch.Tensor] | None = None

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if self._batch is None:  # kept for the end: the batch the init gradients came from
            self._batch = (batch[0].detach().clone(), batch[1].detach().clone())

    def on_before_optimizer_step(
        self, trainer: L.Trainer, pl_module: L.LightningModule, optimizer: Any
    ) -> None:
        if trainer.global_step > 0 or "grad_init_first" in self.metrics:
            return  # a resumed run keeps what the first start measured
        from lightning_modules._module import unit_modules

        norms = [_norm(unit) for unit in unit_modules(pl_module)]
        self.metrics.update(summarise("grad_init", norms))

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        from lightning_modules._module import unit_modules

        batch = self._batch or _first_batch(trainer, pl_module.device)
        units = unit_modules(pl_module)
        if batch is None or not units:
            return
        loss_fn: LossFn = pl_module.loss  # type: ignore[assignment]
        self.metrics.update(
            summarise("grad_end", unit_gradient_norms(pl_module, units, batch, loss_fn))
        )

    def state_dict(self) -> dict[str, Any]:
        return {"metrics": dict(self.metrics)}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.metrics = dict(state_dict.get("metrics", {}))


def _first_batch(
    trainer: L.Trainer, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor] | None:
    """One training batch on the module's device, from the same loader training uses."""
    loader = trainer.train_dataloader
    if loader is None:
        return None
    for batch in loader:
        x, y = batch[0], batch[1]
        return x.to(device), y.to(device)
    return None
