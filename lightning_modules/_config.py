"""Training and data settings as plain, validated data.

Why dataclasses and not a dict: a study stores these settings on every trial
and a checkpoint carries them, so they must check themselves once, here, and
serialise to JSON in one line (`asdict`). The TOML config of a study maps its
``[training]`` and ``[data]`` tables onto these classes field by field, so a
wrong key or type is reported with the key's name.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

OPTIMIZERS = ("sgd", "adamw")
SCHEDULES = ("cosine", "onecycle", "step", "constant")
PRECISIONS = ("auto", "32-true", "bf16-mixed", "16-mixed")
TASKS = ("classification", "regression")


def _check_choice(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is not allowed; choose one of {', '.join(allowed)}")


def _check_positive(name: str, value: float, *, allow_zero: bool = False) -> None:
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name}={value!r} is not allowed; it must be {bound}")


@dataclass(frozen=True)
class TrainConfig:
    """How one architecture is trained. Defaults suit `digits` on a CPU."""

    epochs: int = 10  # full passes over the training split
    batch_size: int = 128
    optimizer: str = "sgd"  # sgd (with Nesterov momentum) or adamw
    lr: float = 0.05  # peak learning rate
    momentum: float = 0.9  # sgd only
    weight_decay: float = 5e-4
    schedule: str = "cosine"  # cosine, onecycle, step (x0.1 at 50% and 75%), constant
    warmup_epochs: int = 0  # linear warm-up before the schedule
    label_smoothing: float = 0.0  # classification only
    seed: int = 0  # fixes split, initialisation and batch order
    precision: str = "auto"  # auto: bf16-mixed on a CUDA GPU, 32-true elsewhere
    channels_last: bool | None = None  # None: conv nets on CUDA, and on CPUs all but highway
    accelerator: str = "auto"  # Lightning's accelerator flag
    devices: int = 1  # devices per trial; > 1 trains one trial with DDP
    gradient_clip_val: float | None = None
    grad_diagnostics: bool = True  # per-unit gradient norms at init and at the end

    def __post_init__(self) -> None:
        _check_positive("epochs", self.epochs)
        _check_positive("batch_size", self.batch_size)
        _check_choice("optimizer", self.optimizer, OPTIMIZERS)
        _check_positive("lr", self.lr)
        _check_positive("momentum", self.momentum, allow_zero=True)
        _check_positive("weight_decay", self.weight_decay, allow_zero=True)
        _check_choice("schedule", self.schedule, SCHEDULES)
        _check_positive("warmup_epochs", self.warmup_epochs, allow_zero=True)
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ValueError(f"label_smoothing={self.label_smoothing!r} must be in [0, 1)")
        _check_choice("precision", self.precision, PRECISIONS)
        _check_positive("devices", self.devices)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class DataConfig:
    """Which data set, where it lives, and how it is split."""

    dataset: str = "digits"  # digits, mnist, fashion_mnist, cifar10, cifar100, diabetes
    data_dir: str = "data"  # torchvision data sets are read from (and downloaded to) here
    download: bool = False  # download missing torchvision files (needs internet)
    val_fraction: float = 0.1  # share of the training split held out for validation
    split_seed: int = 0  # the train/validation split is a function of this seed only
    resident: bool | None = None  # keep tensors on the device; None: when they fit
    augment: bool | None = None  # None: the data set's default (crop+flip for CIFAR)
    num_workers: int = 0  # DataLoader path only
    subset: int | None = None  # use only the first N training samples (quick tests)

    def __post_init__(self) -> None:
        if not 0.0 < self.val_fraction < 1.0:
            raise ValueError(f"val_fraction={self.val_fraction!r} must be in (0, 1)")
        _check_positive("num_workers", self.num_workers, allow_zero=True)
        if self.subset is not None:
            _check_positive("subset", self.subset)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
