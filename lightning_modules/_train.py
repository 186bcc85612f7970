"""Train one architecture on one data set: the function studies and the CLI call.

`train_architecture` is the recipe: seed -> datamodule -> module -> Trainer.fit ->
Trainer.test -> metrics. Everything Optuna-specific (pruning, reporting) comes
in through `callbacks`; this module knows nothing of studies.
"""

from __future__ import annotations

import os
import platform
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightning.pytorch as L
import torch

from lightning_modules._config import DataConfig, TrainConfig
from lightning_modules._gradients import GradientFlow
from lightning_modules._module import ShortcutModule
from lightning_modules.data import make_datamodule
from search_space import count_params, resolve_arch


@dataclass
class TrainingRun:
    """What `train_architecture` needs besides the spec; defaults train quietly on `digits`."""

    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    callbacks: Sequence[L.Callback] = ()
    checkpoint_dir: str | None = None  # save `last.ckpt` here after every epoch
    resume_from: str | None = None  # a checkpoint to continue from (same arch and config)
    progress_bar: bool = False
    run_test: bool = True
    strategy: str | None = None  # Lightning strategy; None: "auto" (ddp when devices > 1)
    trainer_kwargs: dict[str, Any] = field(default_factory=dict)


def precision_for(config: TrainConfig, accelerator: str) -> str:
    """bf16 mixed precision on CUDA GPUs that support it, full precision elsewhere."""
    if config.precision != "auto":
        return config.precision
    if accelerator in ("gpu", "cuda", "auto") and torch.cuda.is_available():
        return "bf16-mixed" if torch.cuda.is_bf16_supported() else "16-mixed"
    return "32-true"


def make_trainer(run: TrainingRun, extra_callbacks: Sequence[L.Callback] = ()) -> L.Trainer:
    """A Trainer with nothing switched on that a trial does not use (speed)."""
    cfg = run.train
    # Ours first: a pruning callback that raises must not keep the epoch from being recorded.
    callbacks = list(extra_callbacks) + list(run.callbacks)
    if run.checkpoint_dir:
        callbacks.append(
            L.callbacks.ModelCheckpoint(
                dirpath=run.checkpoint_dir, save_last=True, save_top_k=0, every_n_epochs=1
            )
        )
    kwargs: dict[str, Any] = dict(
        max_epochs=cfg.epochs,
        accelerator=cfg.accelerator,
        devices=cfg.devices,
        precision=precision_for(cfg, cfg.accelerator),
        strategy=run.strategy or "auto",
        callbacks=callbacks,
        logger=False,
        enable_checkpointing=bool(run.checkpoint_dir),
        enable_progress_bar=run.progress_bar,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        gradient_clip_val=cfg.gradient_clip_val,
        deterministic=False,
    )
    kwargs.update(run.trainer_kwargs)
    return L.Trainer(**kwargs)


def train_architecture(arch: str, run: TrainingRun | None = None) -> dict[str, Any]:
    """Train `arch` (canonical string or paper name) and return its metrics.

    Returns a flat dict: arch, params, macs, depth, epochs, batch_size,
    train_seconds, val_acc (last epoch), best_val_acc, test_acc (classification)
    or the rmse counterparts (regression), val_loss, the gradient diagnostics
    (grad_init_* / grad_end_*), seed, host, device.
    """
    run = run or TrainingRun()
    spec = resolve_arch(arch)
    L.seed_everything(run.train.seed, workers=True, verbose=False)
    datamodule = make_datamodule(run.data, batch_size=run.train.batch_size, seed=run.train.seed)
    module = ShortcutModule(
        spec.to_str(), datamodule.input_shape, datamodule.num_classes, datamodule.task,
        run.train.to_dict(),
    )  # fmt: skip
    history = EpochHistory()
    gradients = GradientFlow() if run.train.grad_diagnostics else None
    extra = [history] + ([gradients] if gradients else [])
    trainer = make_trainer(run, extra)
    start = time.perf_counter()
    try:
        trainer.fit(module, datamodule=datamodule, ckpt_path=run.resume_from)
    except BaseException as error:  # pruned, pre-empted, failed: say how far it got
        error.partial_metrics = {  # type: ignore[attr-defined]
            **describe(module, run, trainer),
            **history.summary(datamodule.task),
            "epochs": len(history.epochs),  # epochs that finished validation
            "train_seconds": round(time.perf_counter() - start, 4),
        }
        raise
    train_seconds = time.perf_counter() - start
    metrics = describe(module, run, trainer)
    metrics.update(history.summary(datamodule.task))
    metrics["train_seconds"] = round(train_seconds, 4)
    if gradients:
        metrics.update(gradients.metrics)
    if run.run_test and not trainer.interrupted:
        tested = trainer.test(module, datamodule=datamodule, verbose=False)
        metrics.update({k: float(v) for k, v in (tested[0] if tested else {}).items()})
    return metrics


def describe(module: ShortcutModule, run: TrainingRun, trainer: L.Trainer) -> dict[str, Any]:
    """What was trained, on what, where."""
    spec = module.spec
    return {
        "arch": spec.to_str(),
        "shortcut": spec.shortcut.value,
        "span": spec.span,
        "depth": spec.depth,
        "params": count_params(module.model),
        "macs": module.count_macs(),
        "dataset": run.data.dataset,
        "epochs": int(trainer.current_epoch),
        "batch_size": run.train.batch_size,
        "seed": run.train.seed,
        "world_size": trainer.world_size,  # DDP ranks that trained it
        "host": socket.gethostname(),
        "device": device_name(module.device),
        "pid": os.getpid(),
        "python": platform.python_version(),
    }


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda:{device.index or 0} ({torch.cuda.get_device_name(device)})"
    return f"{device.type} ({torch.get_num_threads()} threads)"


class EpochHistory(L.Callback):
    """Keeps every epoch's validation metrics (for best-so-far and the study's curves)."""

    def __init__(self) -> None:
        self.epochs: list[dict[str, float]] = []

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # Not on_validation_epoch_end: Lightning calls callbacks' epoch-end hooks before the
        # module's, which is where this epoch's metrics are logged.
        if trainer.sanity_checking:
            return
        row = {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("val_")}
        row["epoch"] = trainer.current_epoch
        self.epochs.append(row)

    def summary(self, task: str) -> dict[str, Any]:
        if not self.epochs:
            return {}
        last = {k: v for k, v in self.epochs[-1].items() if k != "epoch"}
        key, best = ("val_acc", max) if task == "classification" else ("val_rmse", min)
        values = [e[key] for e in self.epochs if key in e]
        return {**last, f"best_{key}": best(values)} if values else last

    def state_dict(self) -> dict[str, Any]:
        return {"epochs": list(self.epochs)}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.epochs = list(state_dict.get("epochs", []))


def load_module(checkpoint: str | Path) -> ShortcutModule:
    """Rebuild a trained module from a checkpoint (weights only: no pickled code runs)."""
    return ShortcutModule.load_from_checkpoint(
        str(checkpoint), map_location="cpu", weights_only=True
    )
