"""Data sets as LightningDataModules that batch from tensors on the training device.

Public surface (everything else is private):

* `DATASET_INFO`, `dataset_info(name)`: each data set's task, sample shape and
  classes as plain data (no torch, no Lightning: configs are checked with it);
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

from typing import TYPE_CHECKING

from lightning_modules.data._catalog import DATASET_INFO, DatasetInfo, dataset_info
from search_space._lazy import lazy_attributes

# Backed by torch and Lightning: imported when first used (the catalog is plain data).
__getattr__, __dir__ = lazy_attributes(
    __name__,
    {
        "BatchTransform": "lightning_modules.data._augment",
        "Normalize": "lightning_modules.data._augment",
        "RandomCropFlip": "lightning_modules.data._augment",
        "DatasetNotFoundError": "lightning_modules.data._datamodule",
        "Samples": "lightning_modules.data._datamodule",
        "TensorDataModule": "lightning_modules.data._datamodule",
        "DigitsDataModule": "lightning_modules.data._digits",
        "DATASETS": "lightning_modules.data._registry",
        "make_datamodule": "lightning_modules.data._registry",
        "EpochSampler": "lightning_modules.data._resident",
        "ResidentLoader": "lightning_modules.data._resident",
        "SklearnDataModule": "lightning_modules.data._sklearn",
        "DiabetesDataModule": "lightning_modules.data._tabular",
        "CIFAR10DataModule": "lightning_modules.data._torchvision_sets",
        "CIFAR100DataModule": "lightning_modules.data._torchvision_sets",
        "FashionMNISTDataModule": "lightning_modules.data._torchvision_sets",
        "MNISTDataModule": "lightning_modules.data._torchvision_sets",
        "TorchvisionDataModule": "lightning_modules.data._torchvision_sets",
    },
)
if TYPE_CHECKING:
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
    "DATASET_INFO",
    "BatchTransform",
    "CIFAR10DataModule",
    "CIFAR100DataModule",
    "DatasetInfo",
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
    "dataset_info",
    "make_datamodule",
]
