"""Datamodules: the contract every data set keeps, splits, loaders, and the on-disk formats.

The torchvision data sets are fed small files that these tests write in the real
formats (IDX for MNIST, pickled batches for CIFAR), so torchvision's own reading
code runs and no test touches the network.
"""

from __future__ import annotations

import pickle
import struct
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.datasets import load_diabetes
from torch import nn
from torch.utils.data import DataLoader

from lightning_modules._config import DataConfig
from lightning_modules.data import (
    DATASET_INFO,
    DATASETS,
    BatchTransform,
    DatasetInfo,
    DatasetNotFoundError,
    DigitsDataModule,
    EpochSampler,
    Normalize,
    RandomCropFlip,
    ResidentLoader,
    TensorDataModule,
    _torchvision_sets,
    dataset_info,
    make_datamodule,
)

BATCH = 8
IMAGE_SETS = ("digits", "mnist", "fashion_mnist", "cifar10", "cifar100")
TORCHVISION_SETS = ("mnist", "fashion_mnist", "cifar10", "cifar100")
N_TRAIN, N_TEST = 30, 10  # samples per written torchvision file set


# ---- writers of the real on-disk formats ------------------------------------------------------


def _write_idx(path: Path, array: np.ndarray) -> None:
    """IDX: big-endian magic (0x08 = uint8, then the number of dims), dims, raw bytes."""
    magic = 0x0800 + array.ndim  # 2049 for labels, 2051 for images
    header = struct.pack(f">{1 + array.ndim}i", magic, *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def _write_pickle(path: Path, obj: dict[str, Any]) -> None:
    with path.open("wb") as file:
        pickle.dump(obj, file)


def _images(n: int, shape: tuple[int, ...], seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, *shape), dtype=np.uint8)


def _splits(shape: tuple[int, ...], classes: int, seed: int) -> dict[str, np.ndarray]:
    """Train and test images and labels, from seeds seed..seed+3 (so the files differ)."""
    return {
        "train_x": _images(N_TRAIN, shape, seed),
        "train_y": _labels(N_TRAIN, classes, seed + 1),
        "test_x": _images(N_TEST, shape, seed + 2),
        "test_y": _labels(N_TEST, classes, seed + 3),
    }


def _labels(n: int, classes: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, classes, size=n)


def write_mnist(root: Path, folder: str) -> dict[str, np.ndarray]:
    """train/t10k IDX files under root/<folder>/raw; returns the arrays as (N, 1, 28, 28)."""
    raw = root / folder / "raw"
    raw.mkdir(parents=True)
    data = _splits((28, 28), 10, seed=1)
    for prefix, split in (("train", "train"), ("t10k", "test")):
        _write_idx(raw / f"{prefix}-images-idx3-ubyte", data[f"{split}_x"])
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte", data[f"{split}_y"])
    return {k: v[:, None] if k.endswith("_x") else v for k, v in data.items()}


def write_cifar10(root: Path) -> dict[str, np.ndarray]:
    """data_batch_1..5, test_batch, batches.meta: rows of 3072 bytes, channel-major."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    data = _splits((3, 32, 32), 10, seed=5)
    per_batch = N_TRAIN // 5
    for i in range(5):
        rows = slice(i * per_batch, (i + 1) * per_batch)
        batch = {"data": data["train_x"][rows].reshape(per_batch, -1),
                 "labels": data["train_y"][rows].tolist()}  # fmt: skip
        _write_pickle(folder / f"data_batch_{i + 1}", batch)
    test = {"data": data["test_x"].reshape(N_TEST, -1), "labels": data["test_y"].tolist()}
    _write_pickle(folder / "test_batch", test)
    _write_pickle(folder / "batches.meta", {"label_names": [f"class{i}" for i in range(10)]})
    return data


def write_cifar100(root: Path) -> dict[str, np.ndarray]:
    """train, test, meta with fine and coarse labels."""
    folder = root / "cifar-100-python"
    folder.mkdir(parents=True)
    data = _splits((3, 32, 32), 100, seed=9)
    for split in ("train", "test"):
        x, y = data[f"{split}_x"], data[f"{split}_y"]
        entry = {"data": x.reshape(len(x), -1), "fine_labels": y.tolist(),
                 "coarse_labels": (y // 5).tolist()}  # fmt: skip
        _write_pickle(folder / split, entry)
    meta = {"fine_label_names": [f"f{i}" for i in range(100)],
            "coarse_label_names": [f"c{i}" for i in range(20)]}  # fmt: skip
    _write_pickle(folder / "meta", meta)
    return data


WRITERS = {
    "mnist": lambda root: write_mnist(root, "MNIST"),
    "fashion_mnist": lambda root: write_mnist(root, "FashionMNIST"),
    "cifar10": write_cifar10,
    "cifar100": write_cifar100,
}


def datamodule(
    name: str, root: Path, *, batch_size: int = BATCH, seed: int = 0, **config: Any
) -> TensorDataModule:
    """A datamodule of `name`, with its files written under `root` when it needs files."""
    if name in WRITERS and not any(root.iterdir()):
        WRITERS[name](root)
    cfg = DataConfig(dataset=name, data_dir=str(root), **config)
    return make_datamodule(cfg, batch_size=batch_size, seed=seed)


def batches(loader: Any) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [(x.clone(), y.clone()) for x, y in loader]


def identity_loader(n: int, batch_size: int, **kwargs: Any) -> ResidentLoader:
    """A loader over x = 0..n-1 (one feature) whose batches show which samples they hold."""
    x = torch.arange(n, dtype=torch.float32)[:, None]
    transform = BatchTransform(Normalize(torch.zeros(1), torch.ones(1)))
    return ResidentLoader(x, torch.arange(n), batch_size, transform, **kwargs)


# ---- the contract, for every registered data set ----------------------------------------------


def test_registry_names_every_dataset() -> None:
    assert set(DATASETS) == {"digits", "mnist", "fashion_mnist", "cifar10", "cifar100", "diabetes"}
    for name, cls in DATASETS.items():
        assert cls.name == name
        assert cls.task in ("classification", "regression")


def test_catalog_and_datamodule_classes_state_the_same_facts() -> None:
    assert set(DATASET_INFO) == set(DATASETS)
    for name, cls in DATASETS.items():
        info = DATASET_INFO[name]
        assert (cls.task, cls.input_shape, cls.num_classes) == (
            info.task, info.input_shape, info.num_classes
        )  # fmt: skip
    assert DATASETS["cifar100"].num_classes == 100 and DATASETS["diabetes"].task == "regression"


def test_dataset_info_finds_a_datamodule_added_to_the_registry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Tiny(DigitsDataModule):
        name = "tiny_digits"

    assert dataset_info("tiny_digits") is None
    monkeypatch.setitem(DATASETS, "tiny_digits", Tiny)
    assert dataset_info("tiny_digits") == DatasetInfo(
        "tiny_digits", "classification", (1, 8, 8), 10
    )


def test_unknown_dataset_is_one_line_naming_the_choices() -> None:
    with pytest.raises(ValueError, match="unknown dataset 'imagenet'") as info:
        make_datamodule(DataConfig(dataset="imagenet"), batch_size=BATCH)
    message = str(info.value)
    assert "\n" not in message
    assert all(name in message for name in DATASETS)


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_batches_have_the_declared_shape_and_dtype(name: str, tmp_path: Path) -> None:
    dm = datamodule(name, tmp_path)
    dm.setup()
    for loader in (dm.train_dataloader(), dm.val_dataloader(), dm.test_dataloader()):
        assert isinstance(loader, ResidentLoader)
        got = batches(loader)
        assert len(got) == len(loader) > 0
        for x, y in got:
            assert x.dtype == torch.float32 and x.is_contiguous()
            assert tuple(x.shape[1:]) == dm.input_shape
            assert torch.isfinite(x).all()
            if dm.task == "classification":
                assert y.dtype == torch.int64 and y.shape == (len(x),)
                assert int(y.min()) >= 0 and int(y.max()) < dm.num_classes
            else:
                assert y.dtype == torch.float32 and y.shape == (len(x), 1)
                assert dm.num_classes == 1


@pytest.mark.parametrize("name", IMAGE_SETS)
def test_normalisation_inverts_to_the_stored_pixels(name: str, tmp_path: Path) -> None:
    dm = datamodule(name, tmp_path)
    dm.setup("fit")
    assert dm.normalize is not None
    x = torch.cat([x for x, _ in dm.val_dataloader()])
    raw = dm.samples("val").x
    assert raw.dtype == torch.uint8
    torch.testing.assert_close(
        dm.normalize.invert(x) * dm.pixel_scale, raw.float(), atol=1e-3, rtol=0
    )


def test_digits_inputs_are_standardised() -> None:
    dm = make_datamodule(DataConfig(), batch_size=256)
    dm.setup("fit")
    x = torch.cat([x for x, _ in dm.val_dataloader()])
    assert abs(float(x.mean())) < 0.1 and abs(float(x.std()) - 1.0) < 0.1


# ---- torchvision files --------------------------------------------------------------------------


@pytest.mark.parametrize("name", TORCHVISION_SETS)
def test_torchvision_files_are_read_in_their_real_format(name: str, tmp_path: Path) -> None:
    written = WRITERS[name](tmp_path)
    dm = datamodule(name, tmp_path)
    dm.setup()
    train = dm.samples("train")
    index = dm.split["train_indices"].numpy()
    np.testing.assert_array_equal(train.x.numpy(), written["train_x"][index])
    np.testing.assert_array_equal(train.y.numpy(), written["train_y"][index])
    test = dm.samples("test")  # the official test file, whole and in order
    np.testing.assert_array_equal(test.x.numpy(), written["test_x"])
    np.testing.assert_array_equal(test.y.numpy(), written["test_y"])
    assert dm.split["pool_size"] == N_TRAIN


@pytest.mark.parametrize("name", TORCHVISION_SETS)
def test_missing_files_error_names_the_dir_and_the_fix(name: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "nowhere"
    dm = make_datamodule(DataConfig(dataset=name, data_dir=str(data_dir)), batch_size=BATCH)
    dm.prepare_data()  # download=False: nothing to do, and nothing created
    assert not data_dir.exists()
    with pytest.raises(DatasetNotFoundError) as info:
        dm.setup("fit")
    message = str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    assert "\n" not in message
    assert name in message and str(data_dir) in message and "--download" in message


def test_cifar_download_checks_md5_and_replaces_unofficial_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_cifar10(tmp_path)
    calls: list[str] = []
    monkeypatch.setattr(
        _torchvision_sets, "download_and_extract_archive", lambda url, *a, **k: calls.append(url)
    )
    datamodule("cifar10", tmp_path, download=True).prepare_data()
    assert calls and all(url.endswith("cifar-10-python.tar.gz") for url in calls)


def test_failed_download_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(*args: Any, **kwargs: Any) -> None:
        raise OSError("[Errno -3] Temporary failure in name resolution\nsecond line")

    monkeypatch.setattr(_torchvision_sets, "download_and_extract_archive", offline)
    dm = make_datamodule(
        DataConfig(dataset="cifar100", data_dir=str(tmp_path), download=True), batch_size=BATCH
    )
    with pytest.raises(DatasetNotFoundError, match="name resolution") as info:
        dm.prepare_data()
    assert "\n" not in str(info.value) and str(tmp_path) in str(info.value)


# ---- splits -----------------------------------------------------------------------------------


def test_digits_split_sizes_and_disjointness() -> None:
    dm = make_datamodule(DataConfig(val_fraction=0.1), batch_size=BATCH)
    dm.setup()
    split = dm.split
    assert (split["pool_size"], len(dm.samples("test"))) == (1438, 359)  # 20% held out of 1797
    assert (split["train_size"], split["val_size"]) == (1294, 144)
    joined = torch.cat([split["train_indices"], split["val_indices"]]).sort().values
    assert torch.equal(joined, torch.arange(1438))


def _split_of(split_seed: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    dm = make_datamodule(DataConfig(split_seed=split_seed), batch_size=BATCH, seed=seed)
    dm.setup()
    return dm.split["val_indices"], dm.samples("test").x


def test_split_depends_on_split_seed_only() -> None:
    val, test = _split_of(split_seed=0)
    same_val, same_test = _split_of(split_seed=0, seed=7)
    other_val, other_test = _split_of(split_seed=1)
    assert torch.equal(val, same_val)
    assert not torch.equal(val, other_val)
    assert torch.equal(test, same_test) and torch.equal(test, other_test)  # fixed hold-out


def test_subset_limits_the_training_pool() -> None:
    dm = make_datamodule(DataConfig(subset=100), batch_size=BATCH)
    dm.setup()
    assert (dm.split["pool_size"], dm.split["train_size"], dm.split["val_size"]) == (100, 90, 10)
    assert len(dm.samples("test")) == 359  # the test set stays whole


def test_state_dict_carries_the_split_and_rejects_another() -> None:
    dm = make_datamodule(DataConfig(split_seed=3), batch_size=BATCH)
    dm.setup("fit")
    state = dm.state_dict()
    assert state["split_seed"] == 3 and state["train_size"] == 1294 and len(state["hash"]) == 16
    same = make_datamodule(DataConfig(split_seed=3), batch_size=BATCH, seed=5)
    same.load_state_dict(state)  # before setup: checked when the split is made
    same.setup("fit")
    other = make_datamodule(DataConfig(split_seed=4), batch_size=BATCH)
    other.setup("fit")
    with pytest.raises(ValueError, match="different digits split"):
        other.load_state_dict(state)


# ---- the resident loader ----------------------------------------------------------------------


def test_batch_order_is_deterministic_and_changes_each_epoch() -> None:
    def loader(seed: int) -> Any:
        dm = make_datamodule(DataConfig(), batch_size=BATCH, seed=seed)
        dm.setup("fit")
        return dm.train_dataloader()

    first, again, other = loader(0), loader(0), loader(1)
    epoch0 = batches(first)
    assert all(torch.equal(a[0], b[0]) for a, b in zip(epoch0, batches(again), strict=True))
    epoch1 = batches(first)  # a second pass is the next epoch
    assert not torch.equal(epoch0[0][1], epoch1[0][1])
    assert not torch.equal(epoch0[0][1], batches(other)[0][1])
    first.set_epoch(0)
    assert torch.equal(batches(first)[0][0], epoch0[0][0])


@pytest.mark.parametrize(
    ("n", "batch_size", "seen", "num_batches"),
    [
        (64, 8, 64, 8),  # no remainder
        (67, 8, 64, 8),  # remainder 3 < half a batch: dropped
        (68, 8, 68, 9),  # remainder 4 = half a batch: kept
        (3, 8, 3, 1),  # less than half a batch, but the only batch: kept
    ],
)
def test_train_loader_sees_each_sample_at_most_once(
    n: int, batch_size: int, seen: int, num_batches: int
) -> None:
    loader = identity_loader(n, batch_size, shuffle=True, seed=4)
    for _ in range(2):  # two epochs, two permutations
        ids = torch.cat([y for _, y in loader])
        assert len(loader) == num_batches and len(ids) == seen == len(ids.unique())
    if seen == n:
        assert torch.equal(ids.sort().values, torch.arange(n))


def test_digits_train_loader_covers_the_split_once_per_epoch() -> None:
    dm = make_datamodule(DataConfig(), batch_size=2)  # 1294 samples: no remainder
    dm.setup("fit")
    loader = dm.train_dataloader()
    assert isinstance(loader, ResidentLoader)
    order = loader.sampler.indices(0)
    x = torch.cat([x for x, _ in loader])
    stored = dm.samples("train").x.index_select(0, order)
    assert dm.normalize is not None
    torch.testing.assert_close(dm.normalize.invert(x) * 16, stored.float(), atol=1e-3, rtol=0)
    assert torch.equal(order.sort().values, torch.arange(1294))


def test_eval_loaders_keep_order_and_every_sample() -> None:
    loader = identity_loader(19, 8, shuffle=False)
    assert [len(y) for _, y in loader] == [8, 8, 3]
    assert torch.equal(torch.cat([y for _, y in loader]), torch.arange(19))


def test_ddp_shards_are_disjoint_and_equal() -> None:
    shards = [identity_loader(101, 8, shuffle=True, seed=3, rank=r, world_size=2) for r in (0, 1)]
    ids = [torch.cat([y for _, y in loader]) for loader in shards]
    assert len(shards[0]) == len(shards[1])
    assert len(ids[0]) == len(ids[1]) == 48  # 50 per rank, last batch of 2 < 4 dropped
    assert not set(ids[0].tolist()) & set(ids[1].tolist())
    samplers = [EpochSampler(101, shuffle=True, seed=3, rank=r, world_size=2) for r in (0, 1)]
    joined = torch.cat([s.indices(0) for s in samplers])
    assert len(joined) == 100 and len(joined.unique()) == 100


def test_datamodule_shards_by_rank_without_a_trainer() -> None:
    def indices(rank: int) -> torch.Tensor:
        dm = make_datamodule(DataConfig(), batch_size=BATCH, rank=rank, world_size=2)
        dm.setup("fit")
        loader = dm.train_dataloader()
        assert isinstance(loader, ResidentLoader)
        return loader.sampler.indices(0)

    first, second = indices(0), indices(1)
    assert len(first) == len(second) == 647
    assert not set(first.tolist()) & set(second.tolist())


# ---- augmentation -----------------------------------------------------------------------------


def test_crop_flip_keeps_shape_and_moves_pixels() -> None:
    x = torch.randint(1, 256, (16, 3, 32, 32), dtype=torch.uint8)
    aug = RandomCropFlip(padding=4, flip=True)
    out = aug(x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and out.dtype == torch.uint8 and out.is_contiguous()
    assert not torch.equal(out, x)
    assert torch.equal(out, aug(x, torch.Generator().manual_seed(0)))
    padded = F.pad(x, (4, 4, 4, 4))
    for i in range(len(x)):  # each image is one crop of its padded self, maybe mirrored
        crops = [padded[i, :, r : r + 32, c : c + 32] for r in range(9) for c in range(9)]
        assert any(torch.equal(out[i], c) or torch.equal(out[i], c.flip(2)) for c in crops)


def test_cifar_augments_training_batches_only(tmp_path: Path) -> None:
    dm = datamodule("cifar10", tmp_path, batch_size=N_TRAIN)
    plain = datamodule("cifar10", tmp_path, batch_size=N_TRAIN, augment=False)
    for module in (dm, plain):
        module.setup("fit")
    assert dm.augment is not None and plain.augment is None
    x, _ = next(iter(dm.train_dataloader()))
    x_plain, _ = next(iter(plain.train_dataloader()))
    assert x.shape == x_plain.shape and not torch.equal(x, x_plain)
    assert torch.equal(next(iter(dm.val_dataloader()))[0], next(iter(plain.val_dataloader()))[0])


def test_augment_is_refused_for_tabular_data() -> None:
    with pytest.raises(ValueError, match="diabetes has no augmentation"):
        make_datamodule(DataConfig(dataset="diabetes", augment=True), batch_size=BATCH)


# ---- resident and DataLoader paths ------------------------------------------------------------


@pytest.mark.parametrize("name", ["digits", "diabetes", "cifar10"])
def test_dataloader_path_matches_the_resident_path(name: str, tmp_path: Path) -> None:
    resident = datamodule(name, tmp_path)
    standard = datamodule(name, tmp_path, resident=False)
    for module in (resident, standard):
        module.setup()
    assert resident.is_resident and not standard.is_resident
    for split in ("val", "test"):
        fast = batches(getattr(resident, f"{split}_dataloader")())
        slow_loader = getattr(standard, f"{split}_dataloader")()
        assert isinstance(slow_loader, DataLoader)
        slow = batches(slow_loader)
        assert len(fast) == len(slow)
        for (x1, y1), (x2, y2) in zip(fast, slow, strict=True):
            assert torch.equal(x1, x2) and torch.equal(y1, y2) and x1.dtype == x2.dtype
    x1, y1 = next(iter(resident.train_dataloader()))
    x2, y2 = next(iter(standard.train_dataloader()))
    assert (x1.shape, x1.dtype, y1.shape, y1.dtype) == (x2.shape, x2.dtype, y2.shape, y2.dtype)


# ---- regression ---------------------------------------------------------------------------------


def test_diabetes_is_standardised_with_training_statistics() -> None:
    dm = make_datamodule(DataConfig(dataset="diabetes"), batch_size=32)
    dm.setup()
    assert dm.task == "regression" and dm.input_shape == (10,) and dm.num_classes == 1
    loader = dm.train_dataloader()
    loader.drop_small_last = False  # the statistics are over the whole split
    x = torch.cat([x for x, _ in loader])
    y = torch.cat([y for _, y in loader])
    assert len(x) == dm.split["train_size"] == 319  # 442 - 88 held out - 35 validation
    torch.testing.assert_close(x.mean(0), torch.zeros(10), atol=1e-4, rtol=0)
    torch.testing.assert_close(x.std(0, correction=0), torch.ones(10), atol=1e-4, rtol=0)
    torch.testing.assert_close(y.mean(), torch.tensor(0.0), atol=1e-4, rtol=0)
    torch.testing.assert_close(y.std(correction=0), torch.tensor(1.0), atol=1e-4, rtol=0)
    val_y = torch.cat([y for _, y in dm.val_dataloader()])
    assert abs(float(val_y.mean())) > 1e-3  # validation statistics were not used
    raw = val_y * dm.target_std + dm.target_mean  # back to disease-progression scores
    targets = torch.from_numpy(load_diabetes().target).float()
    assert float((raw - targets).abs().min(dim=1).values.max()) < 1e-3


# ---- Lightning --------------------------------------------------------------------------------


class TinyClassifier(pl.LightningModule):
    """A linear model that records the first labels of every training epoch."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
        self.first_labels: list[torch.Tensor] = []

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> Any:
        x, y = batch
        if batch_idx == 0:
            self.first_labels.append(y.clone())
        return F.cross_entropy(self.net(x), y)

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        x, y = batch
        self.log("val_acc", (self.net(x).argmax(1) == y).float().mean())

    def test_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        x, y = batch
        self.log("test_acc", (self.net(x).argmax(1) == y).float().mean())

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.1)


def test_lightning_trains_on_the_resident_loader(tmp_path: Path) -> None:
    dm = make_datamodule(DataConfig(), batch_size=128, seed=2)
    model = TinyClassifier()
    trainer = pl.Trainer(
        max_epochs=2, accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, default_root_dir=tmp_path,
    )  # fmt: skip
    trainer.fit(model, datamodule=dm)
    loader = trainer.train_dataloader
    assert isinstance(loader, ResidentLoader)  # not rewrapped, no sampler injected
    assert trainer.global_step == 2 * len(loader) == 20
    assert trainer.callback_metrics["val_acc"] > 0.5
    reference = dm.train_dataloader()  # Lightning set the epoch of each pass: 0, then 1
    assert isinstance(reference, ResidentLoader)
    for epoch, labels in enumerate(model.first_labels):
        reference.set_epoch(epoch)
        assert torch.equal(next(iter(reference))[1], labels)
    assert trainer.test(model, datamodule=dm, verbose=False)[0]["test_acc"] > 0.5
    trainer.save_checkpoint(tmp_path / "last.ckpt")
    checkpoint = torch.load(tmp_path / "last.ckpt", weights_only=True)
    assert checkpoint[type(dm).__qualname__]["hash"] == dm.split["hash"]
