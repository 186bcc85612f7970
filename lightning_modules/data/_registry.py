"""Every data set by name, and the one factory that builds its datamodule."""

from __future__ import annotations

from lightning_modules._config import DataConfig
from lightning_modules.data._datamodule import TensorDataModule
from lightning_modules.data._digits import DigitsDataModule
from lightning_modules.data._tabular import DiabetesDataModule
from lightning_modules.data._torchvision_sets import (
    CIFAR10DataModule,
    CIFAR100DataModule,
    FashionMNISTDataModule,
    MNISTDataModule,
)

# Name -> datamodule class. The classes carry `task`, `input_shape` and `num_classes`,
# so a network can be sized (DATASETS[name].input_shape) before any data is read.
DATASETS: dict[str, type[TensorDataModule]] = {
    cls.name: cls
    for cls in (
        DigitsDataModule,
        MNISTDataModule,
        FashionMNISTDataModule,
        CIFAR10DataModule,
        CIFAR100DataModule,
        DiabetesDataModule,
    )
}


def make_datamodule(
    config: DataConfig, batch_size: int, seed: int = 0, rank: int = 0, world_size: int = 1
) -> TensorDataModule:
    """The datamodule of ``config.dataset``.

    Args:
        config: the data settings; ``config.dataset`` picks the class.
        batch_size: samples per batch and process.
        seed: batch order and augmentation seed (the split uses ``config.split_seed``).
        rank: DDP rank when the datamodule is used without a trainer.
        world_size: DDP world size when the datamodule is used without a trainer.

    Raises:
        ValueError: unknown data set name (the message lists the known ones).

    Example:
        >>> dm = make_datamodule(DataConfig(dataset="digits"), batch_size=128)
        >>> dm.input_shape, dm.num_classes
        ((1, 8, 8), 10)
    """
    cls = DATASETS.get(config.dataset)
    if cls is None:
        raise ValueError(f"unknown dataset {config.dataset!r}; choose one of {', '.join(DATASETS)}")
    return cls(config, batch_size=batch_size, seed=seed, rank=rank, world_size=world_size)
