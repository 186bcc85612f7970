"""`TensorDataModule`: the base of every data set, from reading to batches.

A subclass says what the data is (class attributes: `name`, `task`,
`input_shape`, `num_classes`, normalisation constants, what augmentation
means) and how to read its official training and test samples as CPU tensors
(`_read_train`, `_read_test`). The base class does everything else the same
way for every data set, which is the point: the train/validation split, the
`subset`, normalisation, regression target scaling, the choice between the
device-resident loader and a DataLoader, DDP sharding, and the split's
fingerprint in checkpoints.

Stored tensors: images are uint8 (N, C, H, W), features float32 (N, F); labels
int64 (N,), regression targets float32 (N, 1), already standardised. Batches
are contiguous float32 inputs, normalised on the device.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import lightning.pytorch as pl
import torch
from torch.utils.data import DataLoader, TensorDataset

from lightning_modules._config import DataConfig
from lightning_modules.data._augment import BatchTransform, CollateBatch, Normalize, RandomCropFlip
from lightning_modules.data._catalog import DATASET_INFO
from lightning_modules.data._resident import ResidentLoader
from lightning_modules.data._split import indices_hash, seeded_split, split_count

EVAL_BATCH = 1024  # validation/test batch at least this (see `_batch_for`)
RESIDENT_MEMORY_SHARE = 0.5  # resident=None: hold the data on a GPU if it takes at most this
#                              share of the free memory; the rest is for activations
_STATE_KEYS = ("dataset", "split_seed", "val_fraction", "subset", "pool_size", "train_size",
               "val_size", "hash")  # fmt: skip


class DatasetNotFoundError(FileNotFoundError):
    """A data set's files are not where the `DataConfig` says, or could not be downloaded.

    A `FileNotFoundError`, so callers that handle missing files already handle
    it; the message is one line naming the data set, the folder and the fix.
    """


@dataclass(frozen=True)
class Samples:
    """Inputs and targets of one split, row-aligned."""

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return len(self.x)

    def take(self, index: torch.Tensor | slice) -> Samples:
        if isinstance(index, slice):
            return Samples(self.x[index], self.y[index])
        return Samples(self.x.index_select(0, index), self.y.index_select(0, index))

    def to(self, device: torch.device) -> Samples:
        return Samples(self.x.to(device), self.y.to(device))

    @property
    def nbytes(self) -> int:
        return self.x.nbytes + self.y.nbytes


class TensorDataModule(pl.LightningDataModule):
    """A data set held as tensors, split by seed, batched on the training device.

    Args:
        config: which data set, where, how it is split and loaded.
        batch_size: samples per batch (per process under DDP).
        seed: batch order and augmentation seed; the split depends on
            ``config.split_seed`` only, so trials with different seeds still
            share one validation set.
        rank: DDP rank used when no trainer is attached (a trainer's own
            rank and world size win: Lightning knows the real topology).
        world_size: DDP world size used when no trainer is attached.

    Attributes:
        name, task, input_shape, num_classes: what the network must fit
            (class attributes, readable before any data is loaded; a built-in
            data set's come from `_catalog.DATASET_INFO`).
        split: after `setup`, the train/validation split: its seed, sizes,
            ``train_indices``/``val_indices`` into the (subset) training pool,
            and ``hash``, their fingerprint.
        normalize: after `setup`, the input normalisation (for export).
        target_mean, target_std: regression only; model outputs are in
            standardised units, ``y = output * target_std + target_mean``.

    Example:
        >>> from lightning_modules.data import make_datamodule
        >>> dm = make_datamodule(DataConfig(dataset="digits"), batch_size=64)
        >>> dm.setup("fit")
        >>> x, y = next(iter(dm.train_dataloader()))
        >>> tuple(x.shape), x.dtype, y.dtype
        ((64, 1, 8, 8), torch.float32, torch.int64)
    """

    name: str = ""  # LightningDataModule declares `name` as a plain attribute
    task: ClassVar[str] = "classification"
    input_shape: ClassVar[tuple[int, ...]] = ()
    num_classes: ClassVar[int] = 1
    mean: ClassVar[tuple[float, ...]] = ()  # per channel, of raw / pixel_scale
    std: ClassVar[tuple[float, ...]] = ()
    pixel_scale: ClassVar[float] = 255.0  # the raw value that means 1.0
    augmentation: ClassVar[RandomCropFlip | None] = None  # what augment=True means
    augment_by_default: ClassVar[bool] = False  # augment=None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A built-in data set (its `name` in the catalog) takes task, input_shape and
        num_classes from `_catalog.DATASET_INFO`, the one place they are written."""
        super().__init_subclass__(**kwargs)
        info = DATASET_INFO.get(cls.__dict__.get("name", ""))
        if info is not None:
            cls.task, cls.input_shape, cls.num_classes = (
                info.task,
                info.input_shape,
                info.num_classes,
            )

    def __init__(
        self, config: DataConfig, batch_size: int, seed: int = 0, rank: int = 0, world_size: int = 1
    ) -> None:
        super().__init__()
        _check_arguments(self.name, config, batch_size, seed, rank, world_size)
        self.config = config
        self.batch_size = batch_size
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.augment = self._resolve_augment(config.augment)
        self.split: dict[str, Any] = {}
        self.normalize: Normalize | None = None
        self.target_mean = 0.0
        self.target_std = 1.0
        self._cpu: dict[str, Samples] = {}  # "train", "val", "test" as read, standardised
        self._placed: dict[str, Samples] = {}  # the same on the device when resident
        self._device = torch.device("cpu")
        self._resident: bool | None = None  # decided at the first setup
        self._expected_state: dict[str, Any] | None = None  # from load_state_dict before setup

    # ---- what subclasses provide -------------------------------------------------------------

    def _read_train(self) -> Samples:
        """The official training samples (CPU), before subset and split."""
        raise NotImplementedError

    def _read_test(self) -> Samples:
        """The official test samples (CPU)."""
        raise NotImplementedError

    def _fit_normalize(self, train_x: torch.Tensor) -> Normalize:
        """The input normalisation; images use the data set's published constants."""
        return Normalize.per_channel(self.mean, self.std, self.pixel_scale)

    # ---- Lightning hooks -----------------------------------------------------------------------

    def setup(self, stage: str | None = None) -> None:
        """Read, split and normalise the data, then place it on the training device.

        Every stage needs the training split (its statistics scale regression
        targets), so it is always read; the test split only for "test",
        "predict" or ``stage=None``. Reading happens once per datamodule.
        """
        if "train" not in self._cpu:
            self._setup_train_val()
        if stage in (None, "test", "predict") and "test" not in self._cpu:
            self._cpu["test"] = self._prepare_targets(self._check(self._read_test(), "test"))
        self._place()

    def train_dataloader(self) -> ResidentLoader | DataLoader:
        """Shuffled batches, augmented per the config, sharded over DDP ranks."""
        transform = BatchTransform(self._normalize(), self.augment)
        return self._loader("train", transform, shuffle=True)

    def val_dataloader(self) -> ResidentLoader | DataLoader:
        return self._loader("val", BatchTransform(self._normalize()), shuffle=False)

    def test_dataloader(self) -> ResidentLoader | DataLoader:
        return self._loader("test", BatchTransform(self._normalize()), shuffle=False)

    def predict_dataloader(self) -> ResidentLoader | DataLoader:
        """The test split, in order: predictions line up with `samples("test")`."""
        return self.test_dataloader()

    def state_dict(self) -> dict[str, Any]:
        """The split's identity (seed, sizes, hash of the indices), saved in checkpoints."""
        return {key: self.split[key] for key in _STATE_KEYS} if self.split else {}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Check that a checkpoint was trained on the split this datamodule makes.

        Why check instead of restore: the split is a function of the config, so
        a mismatch means the run is being resumed with a different data config
        (or a torch whose `randperm` changed), and continuing would silently
        mix two validation sets into one learning curve.

        Raises:
            ValueError: the checkpoint's split differs from this one.
        """
        if not state_dict:
            return
        self._expected_state = dict(state_dict)
        if self.split:
            self._verify_state()

    # ---- public properties ----------------------------------------------------------------------

    @property
    def is_resident(self) -> bool | None:
        """Whether the data sits on the device (None before the first `setup`)."""
        return self._resident

    @property
    def device(self) -> torch.device:
        """Where the batches are made: the training device when resident, else the CPU."""
        return self._device if self._resident else torch.device("cpu")

    def samples(self, split: str) -> Samples:
        """The stored (raw, unnormalised) samples of "train", "val" or "test" after `setup`."""
        return self._samples(split)

    # ---- splitting and scaling ------------------------------------------------------------------

    def _setup_train_val(self) -> None:
        pool = self._check(self._read_train(), "train")
        if self.config.subset is not None:
            pool = pool.take(slice(0, self.config.subset))
        train_idx, val_idx = self._make_split(len(pool))
        self._verify_state()
        train = pool.take(train_idx)
        self.normalize = self._fit_normalize(train.x)
        if self.task == "regression":
            self._fit_target_scale(train.y)
        self._cpu["train"] = self._prepare_targets(train)
        self._cpu["val"] = self._prepare_targets(pool.take(val_idx))

    def _make_split(self, pool_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        config = self.config
        n_val = split_count(pool_size, config.val_fraction, f"{self.name} train/validation")
        val_idx, train_idx = seeded_split(pool_size, n_val, config.split_seed)
        self.split = {
            "dataset": self.name,
            "split_seed": config.split_seed,
            "val_fraction": config.val_fraction,
            "subset": config.subset,
            "pool_size": pool_size,
            "train_size": len(train_idx),
            "val_size": len(val_idx),
            "hash": indices_hash(train_idx, val_idx),
            "train_indices": train_idx,
            "val_indices": val_idx,
        }
        return train_idx, val_idx

    def _verify_state(self) -> None:
        expected = self._expected_state
        if expected is None:
            return
        actual = self.state_dict()
        differing = [key for key in _STATE_KEYS if expected.get(key) != actual[key]]
        if differing:
            detail = ", ".join(f"{k} {expected.get(k)!r} vs {actual[k]!r}" for k in differing)
            raise ValueError(
                f"the checkpoint was trained on a different {self.name} split "
                f"(checkpoint vs now: {detail}); "
                "resume with the DataConfig the run started with"
            )

    def _fit_target_scale(self, train_y: torch.Tensor) -> None:
        # Why standardise: MSE on raw diabetes targets (25..346) needs a learning rate
        # unlike every other data set; standardised, one TrainConfig fits all.
        y = train_y.double()
        self.target_mean = float(y.mean())
        self.target_std = float(y.std(correction=0)) or 1.0

    def _prepare_targets(self, samples: Samples) -> Samples:
        if self.task != "regression":
            return samples
        y = (samples.y.double() - self.target_mean) / self.target_std
        return Samples(samples.x, y.float().reshape(-1, 1))

    def _check(self, samples: Samples, split: str) -> Samples:
        """Reject data whose shape or labels do not match the data set's declaration."""
        shape = tuple(samples.x.shape[1:])
        if shape != self.input_shape or len(samples.x) != len(samples.y):
            raise ValueError(
                f"{self.name} {split} data has inputs {shape} x {len(samples.x)} and "
                f"{len(samples.y)} targets; expected inputs {self.input_shape}"
            )
        if self.task == "classification" and len(samples.y):
            low, high = int(samples.y.min()), int(samples.y.max())
            if low < 0 or high >= self.num_classes:
                raise ValueError(
                    f"{self.name} {split} labels span [{low}, {high}], "
                    f"outside [0, {self.num_classes - 1}]"
                )
        return samples

    def _normalize(self) -> Normalize:
        if self.normalize is None:
            raise RuntimeError(f"{type(self).__name__}.setup() must run before its dataloaders")
        return self.normalize

    def _resolve_augment(self, augment: bool | None) -> RandomCropFlip | None:
        wanted = self.augment_by_default if augment is None else augment
        if wanted and self.augmentation is None:
            raise ValueError(f"augment=True, but {self.name} has no augmentation; use augment=None")
        return self.augmentation if wanted else None

    # ---- placement and loaders -----------------------------------------------------------------

    def _place(self) -> None:
        device = self._training_device()
        if self._resident is None or device != self._device:
            self._device = device
            self._resident = self._decide_resident(device)
            self._placed.clear()
        for split, samples in self._cpu.items():
            if split not in self._placed:
                self._placed[split] = samples.to(device) if self._resident else samples

    def _training_device(self) -> torch.device:
        trainer = self.trainer
        return trainer.strategy.root_device if trainer is not None else torch.device("cpu")

    def _decide_resident(self, device: torch.device) -> bool:
        if self.config.resident is not None:
            return self.config.resident
        if device.type != "cuda":
            return True  # the data is in host memory already; the device shares it (CPU, MPS)
        free, _ = torch.cuda.mem_get_info(device)
        return sum(s.nbytes for s in self._cpu.values()) <= RESIDENT_MEMORY_SHARE * free

    def _topology(self) -> tuple[int, int]:
        trainer = self.trainer
        if trainer is not None:
            return trainer.global_rank, trainer.world_size
        return self.rank, self.world_size

    def _samples(self, split: str) -> Samples:
        if split not in self._placed:
            stage = "test" if split == "test" else "fit"
            raise RuntimeError(f"{self.name}: call setup({stage!r}) before using the {split} split")
        return self._placed[split]

    def _loader(
        self, split: str, transform: BatchTransform, *, shuffle: bool
    ) -> ResidentLoader | DataLoader:
        samples = self._samples(split)
        if not self._resident:
            return self._dataloader(samples, transform, shuffle=shuffle)
        # Evaluation is not sharded: every rank scores the whole (small) split, so the
        # metrics are exact, with no sample padded in or dropped.
        rank, world_size = self._topology() if shuffle else (0, 1)
        return ResidentLoader(
            samples.x, samples.y, self._batch_for(shuffle), transform,
            shuffle=shuffle, seed=self.seed, rank=rank, world_size=world_size,
        )  # fmt: skip

    def _batch_for(self, training: bool) -> int:
        """Evaluation batches are larger (no activations kept for backward): on small
        images a step is mostly per-step overhead, and a larger batch is fewer steps.
        Batch norm is in eval mode there, so the metrics do not depend on it."""
        return self.batch_size if training else max(self.batch_size, EVAL_BATCH)

    def _dataloader(
        self, samples: Samples, transform: BatchTransform, *, shuffle: bool
    ) -> DataLoader:
        """The standard path for data too large to hold on the device.

        The same `BatchTransform` runs in the collate function (in the workers),
        so batches match the resident path. Under DDP, Lightning swaps in a
        DistributedSampler, as for any DataLoader.
        """
        remainder = len(samples) % self.batch_size
        workers = self.config.num_workers
        return DataLoader(
            TensorDataset(samples.x, samples.y),
            batch_size=self._batch_for(shuffle),
            shuffle=shuffle,
            generator=torch.Generator().manual_seed(self.seed) if shuffle else None,
            drop_last=shuffle and 0 < 2 * remainder < self.batch_size < len(samples),
            num_workers=workers,
            persistent_workers=workers > 0,
            pin_memory=self._device.type == "cuda",
            collate_fn=CollateBatch(transform),
        )


def _check_arguments(
    name: str, config: DataConfig, batch_size: int, seed: int, rank: int, world_size: int
) -> None:
    if config.dataset != name:
        raise ValueError(f"DataConfig.dataset={config.dataset!r} given to the {name!r} datamodule")
    if batch_size <= 0:
        raise ValueError(f"batch_size={batch_size!r} must be > 0")
    if seed < 0:
        raise ValueError(f"seed={seed!r} must be >= 0")
    if not 0 <= rank < world_size:
        raise ValueError(f"rank={rank!r} must be in [0, world_size={world_size!r})")
