"""One LightningModule that trains any architecture of the search space.

It takes the spec's canonical string and builds the network itself, and saves
its hyperparameters, so a checkpoint describes itself:
``ShortcutModule.load_from_checkpoint(path)`` rebuilds the same network.

Speed: metrics are summed on the device inside each step and logged once per
epoch. Calling `self.log` every step costs a Python-side metric collection per
batch; on small data sets (digits: 12 steps per epoch, ~2 ms each) that would be
a measurable share of a trial.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import lightning.pytorch as L
import torch
import torch.nn.functional as F
from torch import nn

from lightning_modules._config import TrainConfig
from search_space import (
    ArchitectureSpec,
    Backbone,
    ShortcutNet,
    ShortcutType,
    build_model,
    count_macs,
    resolve_arch,
)

# Epoch metrics are summed across ranks by hand (one all-reduce per epoch, see
# `_log_epoch`); Lightning's advice to add sync_dist=True would average them again.
warnings.filterwarnings("ignore", message=r".*sync_dist=True.*when logging on epoch level")
# Lightning warns once per process that this module's transfer_batch_to_device wins over
# the datamodule's: on purpose (see `ShortcutModule.transfer_batch_to_device`).
warnings.filterwarnings("ignore", message="You have overridden `transfer_batch_to_device`")

# Plain values set on the module at every step: Lightning's name of the running hook
# (set and restored around each of the ~15 hook calls per step) and our sample count.
# Never a parameter, buffer or submodule, so `nn.Module.__setattr__`'s checks are skipped.
_PLAIN_ATTRIBUTES = frozenset({"_current_fx_name", "_count"})


class ShortcutModule(L.LightningModule):
    """Trains `arch` for classification (cross-entropy) or regression (MSE).

    Args:
        arch: canonical string or paper name of the architecture.
        input_shape: (C, H, W) or (features,) of one sample.
        num_classes: outputs of the head (1 for regression).
        task: "classification" or "regression".
        train: a `TrainConfig` as a dict (plain data, so it lands in the checkpoint).
    """

    _sums: torch.Tensor  # registered buffer (annotated for type checkers)
    model: ShortcutNet

    def __init__(
        self,
        arch: str,
        input_shape: tuple[int, ...],
        num_classes: int,
        task: str = "classification",
        train: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        spec = resolve_arch(arch)
        self.save_hyperparameters(
            {"arch": spec.to_str(), "input_shape": list(input_shape), "num_classes": num_classes,
             "task": task, "train": TrainConfig(**(train or {})).to_dict()}
        )  # fmt: skip
        self.spec: ArchitectureSpec = spec
        self.config = TrainConfig(**self.hparams["train"])
        self.task = task
        self.model = build_model(spec, input_shape, num_classes)
        self.register_buffer("_sums", torch.zeros(2), persistent=False)  # loss sum, correct
        self._count = 0  # samples behind _sums (a Python int: no device op per step)
        self._channels_last = False
        self._macs: int | None = None

    def __setattr__(self, name: str, value: Any) -> None:
        """Why: `nn.Module.__setattr__` asks whether every value is a Parameter, Module or
        buffer (~3 us); Lightning sets `_current_fx_name` twice around each hook, ~30
        times a step, which on search-sized nets (steps of 2-5 ms) was ~2 % of a step."""
        if name in _PLAIN_ATTRIBUTES:
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)

    def transfer_batch_to_device(
        self, batch: Any, device: torch.device, dataloader_idx: int
    ) -> Any:
        """A batch already on `device` (device-resident data, the default) as it is: what
        Lightning's `move_data_to_device` would return, without its walk over the batch."""
        if isinstance(batch, tuple) and all(
            isinstance(t, torch.Tensor) and t.device == device for t in batch
        ):
            return batch
        return super().transfer_batch_to_device(batch, device, dataloader_idx)

    # -- forward ---------------------------------------------------------------------

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return self.model(x)

    def loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.task == "regression":
            return F.mse_loss(out, y.view_as(out))
        return F.cross_entropy(out, y, label_smoothing=self.config.label_smoothing)

    def configure_model(self) -> None:
        """Choose the memory format before the strategy wraps the model.

        Here rather than at fit start: DDP lays out its gradient buckets from the
        parameters it wraps, and NHWC gradients in NCHW buckets are copied every step
        (and warned about on every rank). The strategy knows the device already.
        """
        if self._trainer is None:  # load_from_checkpoint: the layout a plain rebuild has
            return
        device = self.trainer.strategy.root_device
        self._channels_last = wants_channels_last(self.spec, device.type, self.config.channels_last)
        if self._channels_last:
            self.model.to(memory_format=torch.channels_last)

    def on_fit_start(self) -> None:
        """Count the MACs here: on the network's device, before any step, and with no
        other thread running (at fit end they shared the cores with the final weights'
        upload, 14 vs 3 ms a digits trial; before fit, on the CPU, a large net's pass
        would run there instead of on its GPU)."""
        self.count_macs()

    def count_macs(self) -> int:
        """MACs of one forward pass on one sample (counted once)."""
        if self._macs is None:
            self._macs = count_macs(self.model, self.hparams["input_shape"])
        return self._macs

    # -- steps -------------------------------------------------------------------------

    def _step(self, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        x, y = batch
        out = self(x)
        loss = self.loss(out, y)
        with torch.no_grad():  # summed on the device: no host sync inside the epoch
            self._sums[0] += loss.detach().float() * y.shape[0]
            if self.task == "classification":
                self._sums[1] += (out.argmax(1) == y).sum()
        self._count += y.shape[0]
        return loss

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], idx: int) -> torch.Tensor:
        return self._step(batch)

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], idx: int) -> None:
        self._step(batch)

    def test_step(self, batch: tuple[torch.Tensor, torch.Tensor], idx: int) -> None:
        self._step(batch)

    def predict_step(self, batch: Any, idx: int) -> torch.Tensor:
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        return self(x)

    # -- epoch ends: one log call per metric per epoch ---------------------------------

    def _reset(self) -> None:
        self._sums.zero_()
        self._count = 0

    def on_train_epoch_start(self) -> None:
        self._reset()

    def on_train_epoch_end(self) -> None:
        self._log_epoch("train")

    def on_validation_epoch_start(self) -> None:
        # Lightning validates before `on_train_epoch_end`: keep the train sums aside.
        self._saved_train = (self._sums.clone(), self._count)
        self._reset()

    def on_validation_epoch_end(self) -> None:
        self._log_epoch("val")
        sums, self._count = self._saved_train
        self._sums.copy_(sums)

    def on_test_epoch_start(self) -> None:
        self._reset()

    def on_test_epoch_end(self) -> None:
        self._log_epoch("test")

    def _log_epoch(self, stage: str) -> None:
        local = torch.cat([self._sums, self._sums.new_tensor([float(self._count)])])
        loss_sum, hits, count = (
            float(v) for v in self.trainer.strategy.reduce(local, reduce_op="sum")
        )
        if count == 0:
            return
        if not math.isfinite(loss_sum):
            raise FloatingPointError(
                f"{stage} loss is {loss_sum / count} at epoch {self.current_epoch}"
            )
        metrics = {f"{stage}_loss": loss_sum / count}
        if self.task == "classification":
            metrics[f"{stage}_acc"] = hits / count
        else:
            metrics[f"{stage}_rmse"] = math.sqrt(loss_sum / count)
        # Already reduced across ranks above, so no sync_dist (which would average again).
        self.log_dict(metrics, prog_bar=stage != "train", sync_dist=False, rank_zero_only=False)

    # -- optimisation ------------------------------------------------------------------

    def configure_optimizers(self) -> Any:
        cfg = self.config
        optimizer: torch.optim.Optimizer
        fused = self._fused_step()
        if cfg.optimizer == "sgd":
            optimizer = torch.optim.SGD(
                self.parameters(), lr=cfg.lr, momentum=cfg.momentum,
                weight_decay=cfg.weight_decay, nesterov=cfg.momentum > 0, fused=fused,
            )  # fmt: skip
        else:
            optimizer = torch.optim.AdamW(
                self.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, fused=fused
            )
        total = max(1, int(self.trainer.estimated_stepping_batches))
        steps_per_epoch = max(1, total // max(1, cfg.epochs))
        factor = lr_factor(cfg.schedule, total, cfg.warmup_epochs * steps_per_epoch)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }

    def _fused_step(self) -> bool | None:
        """One fused kernel updates every parameter: 0.4-1 ms less per step on the CPU.

        Not under 16-mixed: a fused step unscales the gradients itself, so Lightning
        would hand them to gradient clipping and `GradientFlow` still scaled.
        """
        if self.device.type not in ("cpu", "cuda") or self.trainer.precision == "16-mixed":
            return None  # PyTorch's default (foreach on CUDA, a loop elsewhere)
        return True


def wants_channels_last(spec: ArchitectureSpec, device_type: str, setting: bool | None) -> bool:
    """Whether a network trains in channels_last (NHWC) memory format.

    `setting` None means: yes for convolutional nets on CUDA (tensor cores want NHWC)
    and on the CPU, where oneDNN runs NHWC convolutions without reordering to its
    blocked layout around every call. `scripts/bench_layout.py` on a 2-core AMD EPYC, one
    training step at batch 64: 1.1-1.4x faster for every type on 32x32 CIFAR shapes, and
    1.0-1.4x on 8x8 digits -- except highway nets, 0.7-0.9x there: their gates multiply
    gradients that come back from the pooling head in NCHW with NHWC activations. So on
    the CPU highway nets stay NCHW (docs/benchmarks.md).
    """
    if spec.backbone is not Backbone.CONV:
        return False
    if setting is not None:
        return setting
    if device_type == "cpu":
        return spec.shortcut is not ShortcutType.HIGHWAY
    return device_type == "cuda"


def lr_factor(schedule: str, total_steps: int, warmup_steps: int) -> Any:
    """Multiplier of the peak learning rate at each optimiser step (LambdaLR)."""

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        t = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        if schedule == "cosine":
            return 0.5 * (1.0 + math.cos(math.pi * min(1.0, t)))
        if schedule == "onecycle":  # linear up to 30 %, then linear down to zero
            return t / 0.3 if t < 0.3 else max(0.0, (1.0 - t) / 0.7)
        if schedule == "step":
            return 0.01 if t >= 0.75 else 0.1 if t >= 0.5 else 1.0
        return 1.0

    return factor


def unit_modules(module: nn.Module) -> list[nn.Module]:
    """The units of the network a LightningModule (or a bare model) wraps."""
    model = module.model if isinstance(module, ShortcutModule) else module
    units = getattr(model, "units", None)
    return list(units()) if callable(units) else []
