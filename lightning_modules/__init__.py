"""Training for any shortcut architecture: LightningModule, DataModules, callbacks.

Knows nothing of Optuna: studies hand their pruning/reporting callbacks in.
"""

from lightning_modules._config import DataConfig, TrainConfig
from lightning_modules._gradients import GradientFlow, summarise, unit_gradient_norms
from lightning_modules._module import ShortcutModule, lr_factor, wants_channels_last
from lightning_modules._train import (
    EpochHistory,
    TrainingRun,
    describe,
    device_name,
    load_module,
    make_trainer,
    precision_for,
    train_architecture,
)
from lightning_modules.data import DATASETS, DatasetNotFoundError, make_datamodule

__all__ = [
    "DATASETS",
    "DataConfig",
    "DatasetNotFoundError",
    "EpochHistory",
    "GradientFlow",
    "ShortcutModule",
    "TrainConfig",
    "TrainingRun",
    "describe",
    "device_name",
    "load_module",
    "lr_factor",
    "make_datamodule",
    "make_trainer",
    "precision_for",
    "summarise",
    "train_architecture",
    "unit_gradient_norms",
    "wants_channels_last",
]
