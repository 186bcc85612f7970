"""`mnist`, `fashion_mnist`, `cifar10`, `cifar100`: torchvision's files, read as tensors.

torchvision does the reading (IDX parsing, CIFAR pickles) and, on a connected
machine, the downloading; this module only checks that the files are there,
says clearly what to do when they are not, and turns the data sets' arrays
into uint8 (N, C, H, W) tensors. Downloading happens only in `prepare_data`
with ``download=True`` (Lightning runs it once per node); `setup` only reads.
The files are read from ``DataConfig.data_dir`` in torchvision's layout:
``MNIST/raw/``, ``FashionMNIST/raw/``, ``cifar-10-batches-py/``, ``cifar-100-python/``.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any, ClassVar

import torch
from torchvision.datasets import CIFAR10, CIFAR100, MNIST, FashionMNIST, VisionDataset
from torchvision.datasets.utils import download_and_extract_archive

from lightning_modules.data._augment import RandomCropFlip
from lightning_modules.data._datamodule import DatasetNotFoundError, Samples, TensorDataModule


class _FilesPresentCIFAR:
    """CIFAR that checks its files are present, and leaves md5 checks to downloading.

    torchvision's CIFAR classes compare the md5 of every batch file with the
    official one each time they are opened. That rejects any CIFAR-format file
    that is not the official release: the small files tests write in the real
    format, a curated subset, or a relabelled copy. Integrity is a property of
    the download, so here it is checked exactly there: `download` verifies the
    md5 of the existing files (and of the archive it fetches, in torchvision's
    `download_and_extract_archive`) and downloads again when they differ.
    Reading only checks that the files exist, then runs torchvision's own
    pickle reading. The files are pickles, so `data_dir` must be trusted, as
    with torchvision.
    """

    root: str
    base_folder: str
    train_list: list[list[str]]
    test_list: list[list[str]]
    meta: dict[str, str]
    url: str
    filename: str
    tgz_md5: str
    classes: list[str]
    class_to_idx: dict[str, int]

    def _check_integrity(self) -> bool:
        return not cifar_missing_files(type(self), Path(self.root))

    def download(self) -> None:
        if CIFAR10._check_integrity(self):  # type: ignore[arg-type]  # the md5 check
            return
        download_and_extract_archive(self.url, self.root, filename=self.filename, md5=self.tgz_md5)

    def _load_meta(self) -> None:
        path = os.path.join(self.root, self.base_folder, self.meta["filename"])
        with open(path, "rb") as file:
            self.classes = pickle.load(file, encoding="latin1")[self.meta["key"]]
        self.class_to_idx = {name: i for i, name in enumerate(self.classes)}


class FilesPresentCIFAR10(_FilesPresentCIFAR, CIFAR10):
    """`torchvision.datasets.CIFAR10` that checks presence, not md5, when reading."""


class FilesPresentCIFAR100(_FilesPresentCIFAR, CIFAR100):
    """`torchvision.datasets.CIFAR100` that checks presence, not md5, when reading."""


def cifar_missing_files(dataset_class: Any, root: Path) -> list[str]:
    """The CIFAR files (relative to `root`) that are missing."""
    names = [name for name, _ in dataset_class.train_list + dataset_class.test_list]
    names.append(dataset_class.meta["filename"])
    folder = root / dataset_class.base_folder
    return [f"{dataset_class.base_folder}/{n}" for n in names if not (folder / n).is_file()]


def _first_line(error: BaseException) -> str:
    """torchvision's download errors span lines (one per mirror); keep the first."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


class TorchvisionDataModule(TensorDataModule):
    """Base for torchvision image sets: download in `prepare_data`, read in `setup`."""

    dataset_class: ClassVar[type[VisionDataset]]

    @property
    def data_dir(self) -> Path:
        return Path(self.config.data_dir)

    def prepare_data(self) -> None:
        """Download the training and test files when ``config.download`` is set.

        Raises:
            DatasetNotFoundError: the download failed (no internet access, a
                server error, or a checksum mismatch), in one line.
        """
        if not self.config.download:
            return
        try:
            for train in (True, False):
                self.dataset_class(str(self.data_dir), train=train, download=True)  # type: ignore[call-arg]
        except (OSError, RuntimeError) as error:
            raise DatasetNotFoundError(
                f"{self.name}: downloading into {self.data_dir} failed ({_first_line(error)}); "
                f"run on a machine with internet access, or copy the files into {self._folder()}"
            ) from error

    def _read_train(self) -> Samples:
        return self._read(train=True)

    def _read_test(self) -> Samples:
        return self._read(train=False)

    def _read(self, *, train: bool) -> Samples:
        missing = self._missing_files()
        if missing:
            raise DatasetNotFoundError(
                f"{self.name} not found in data_dir {self.data_dir} "
                f"(missing {', '.join(missing)}); pass --download on a machine with internet "
                f"access, or copy the files into {self._folder()}"
            )
        dataset = self.dataset_class(str(self.data_dir), train=train, download=False)  # type: ignore[call-arg]
        return self._to_samples(dataset)

    def _folder(self) -> Path:
        """Where torchvision expects this data set's files."""
        raise NotImplementedError

    def _missing_files(self) -> list[str]:
        """Required files that are not in `_folder()`, relative to `data_dir`."""
        raise NotImplementedError

    def _to_samples(self, dataset: Any) -> Samples:
        """uint8 (N, C, H, W) images and int64 labels from a loaded torchvision data set."""
        raise NotImplementedError


class MNISTDataModule(TorchvisionDataModule):
    """MNIST digits, uint8 (N, 1, 28, 28); ``augment=True`` shifts by up to 2 pixels, no flip."""

    name = "mnist"
    dataset_class = MNIST
    mean = (0.1307,)  # torchvision's reference constants, over the training images
    std = (0.3081,)
    augmentation = RandomCropFlip(padding=2, flip=False)

    def _folder(self) -> Path:
        return self.data_dir / self.dataset_class.__name__ / "raw"

    def _missing_files(self) -> list[str]:
        # The uncompressed IDX files that torchvision's MNIST reads (its `resources`
        # name the .gz archives they are extracted from).
        resources: list[tuple[str, str]] = self.dataset_class.resources  # type: ignore[attr-defined]
        names = [os.path.splitext(os.path.basename(url))[0] for url, _ in resources]
        folder = self._folder()
        relative = folder.relative_to(self.data_dir)
        return [f"{relative.as_posix()}/{n}" for n in names if not (folder / n).is_file()]

    def _to_samples(self, dataset: Any) -> Samples:
        x = dataset.data.to(torch.uint8).unsqueeze(1).contiguous()
        return Samples(x, dataset.targets.long())


class FashionMNISTDataModule(MNISTDataModule):
    """Fashion-MNIST, uint8 (N, 1, 28, 28); ``augment=True`` shifts by 2 and flips
    (a mirrored shoe is still a shoe)."""

    name = "fashion_mnist"
    dataset_class = FashionMNIST
    mean = (0.2860,)
    std = (0.3530,)
    augmentation = RandomCropFlip(padding=2, flip=True)


class CIFAR10DataModule(TorchvisionDataModule):
    """CIFAR-10, uint8 (N, 3, 32, 32); augmented by default (pad 4, crop, flip)."""

    name = "cifar10"
    dataset_class = FilesPresentCIFAR10
    mean = (0.4914, 0.4822, 0.4465)  # per channel, over the 50 000 training images
    std = (0.2470, 0.2435, 0.2616)
    augmentation = RandomCropFlip(padding=4, flip=True)
    augment_by_default = True

    def _folder(self) -> Path:
        return self.data_dir / self.dataset_class.base_folder  # type: ignore[attr-defined]

    def _missing_files(self) -> list[str]:
        return cifar_missing_files(self.dataset_class, self.data_dir)

    def _to_samples(self, dataset: Any) -> Samples:
        # torchvision keeps HWC numpy arrays (for PIL); the network wants CHW.
        x = torch.from_numpy(dataset.data).permute(0, 3, 1, 2).contiguous()
        return Samples(x, torch.as_tensor(dataset.targets, dtype=torch.int64))


class CIFAR100DataModule(CIFAR10DataModule):
    """CIFAR-100 (fine labels), uint8 (N, 3, 32, 32); augmented by default."""

    name = "cifar100"
    dataset_class = FilesPresentCIFAR100
    mean = (0.5071, 0.4865, 0.4409)
    std = (0.2673, 0.2564, 0.2762)
