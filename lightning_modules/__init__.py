"""Training for any shortcut architecture: LightningModule, DataModules, callbacks.

Knows nothing of Optuna: studies hand their pruning/reporting callbacks in.
"""

from typing import TYPE_CHECKING

from lightning_modules._config import DataConfig, TrainConfig
from lightning_modules.data import DATASET_INFO, DatasetInfo, dataset_info
from search_space._lazy import lazy_attributes

# Backed by torch and Lightning: imported when first used, so configs and data set
# facts load without them.
__getattr__, __dir__ = lazy_attributes(
    __name__,
    {
        "GradientFlow": "lightning_modules._gradients",
        "summarise": "lightning_modules._gradients",
        "unit_gradient_norms": "lightning_modules._gradients",
        "ShortcutModule": "lightning_modules._module",
        "lr_factor": "lightning_modules._module",
        "wants_channels_last": "lightning_modules._module",
        "EpochHistory": "lightning_modules._train",
        "TrainingRun": "lightning_modules._train",
        "describe": "lightning_modules._train",
        "device_name": "lightning_modules._train",
        "load_module": "lightning_modules._train",
        "make_trainer": "lightning_modules._train",
        "precision_for": "lightning_modules._train",
        "train_architecture": "lightning_modules._train",
        "DATASETS": "lightning_modules.data",
        "DatasetNotFoundError": "lightning_modules.data",
        "make_datamodule": "lightning_modules.data",
    },
)
if TYPE_CHECKING:
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
    "DATASET_INFO",
    "DataConfig",
    "DatasetInfo",
    "DatasetNotFoundError",
    "EpochHistory",
    "GradientFlow",
    "ShortcutModule",
    "TrainConfig",
    "TrainingRun",
    "dataset_info",
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
