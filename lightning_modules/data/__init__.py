"""Data sets as LightningDataModules that batch from tensors on the training device.

Public surface (everything else is private):

* `make_datamodule(config, batch_size, seed, rank, world_size)` and `DATASETS`:
  a datamodule by name (`digits`, `mnist`, `fashion_mnist`, `cifar10`,
  `cifar100`, `diabetes`);
* `TensorDataModule`: their base class, with `name`, `task`, `input_shape`,
  `num_classes`, the seeded `split` and its checkpoint state; one subclass per
  data set, and `SklearnDataModule` / `TorchvisionDataModule` for adding more;
* `ResidentLoader`, `EpochSampler`: the device-resident, DDP-sharded batch loop;
* `Normalize`, `RandomCropFlip`, `BatchTransform`: per-batch preprocessing;
* `DatasetNotFoundError`: missing files, in one line with the fix.
"""

from lightning_modules.data._augment import BatchTransform, Normalize, RandomCropFlip
from lightning_modules.data._datamodule import DatasetNotFoundError, Samples, TensorDataModule
from lightning_modules.data._digits import DigitsDataModule
from lightning_modules.data._registry import DATASETS, make_datamodule
from lightning_modules.data._resident import EpochSampler, ResidentLoader
from lightning_modules.data._sklearn import SklearnDataModule
from lightning_modules.data._tabular import DiabetesDataModule
from lightning_modules.data._torchvision_sets import (
    CIFAR10DataModule,
    CIFAR100DataModule,
    FashionMNISTDataModule,
    MNISTDataModule,
    TorchvisionDataModule,
)

__all__ = [
    "DATASETS",
    "BatchTransform",
    "CIFAR10DataModule",
    "CIFAR100DataModule",
    "DatasetNotFoundError",
    "DiabetesDataModule",
    "DigitsDataModule",
    "EpochSampler",
    "FashionMNISTDataModule",
    "MNISTDataModule",
    "Normalize",
    "RandomCropFlip",
    "ResidentLoader",
    "Samples",
    "SklearnDataModule",
    "TensorDataModule",
    "TorchvisionDataModule",
    "make_datamodule",
]
