"""Training for any shortcut architecture: LightningModule, DataModules, callbacks."""

from lightning_modules._config import DataConfig, TrainConfig

__all__ = ["DataConfig", "TrainConfig"]
