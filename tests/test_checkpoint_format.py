"""Packed epoch checkpoints: what Lightning wrote comes back exactly, layouts included."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import lightning.pytorch as L
import pytest
import torch

from lightning_modules import TrainConfig, TrainingRun, train_architecture
from studies.checkpoint_format import FORMAT_KEY, is_packed, pack, unpack
from studies.checkpoints import ARTIFACT_SCHEME, PackedAsyncCheckpointIO, fetch_checkpoint


def lightning_checkpoint(arch: str) -> dict[str, Any]:
    """A real full checkpoint (weights, optimizer momentum, loops, callbacks) after 1 epoch."""
    seen: dict[str, Any] = {}

    class Grab(L.Callback):
        def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
            seen["ckpt"] = trainer._checkpoint_connector.dump_checkpoint(weights_only=False)

    run = TrainingRun(train=TrainConfig(epochs=1, batch_size=64), callbacks=[Grab()])
    run.run_test = False
    train_architecture(arch, run)
    return seen["ckpt"]  # type: ignore[no-any-return]


def assert_same(a: Any, b: Any, where: str = "checkpoint") -> None:
    assert type(a) is type(b), where
    if isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape, where
        assert layout(a) == layout(b) and torch.equal(a, b), where
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        assert getattr(a, "_metadata", None) == getattr(b, "_metadata", None), where
        for key in a:
            assert_same(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


def layout(t: torch.Tensor) -> list[int]:
    """Strides where they matter (a size-1 dimension's stride never addresses anything)."""
    return [stride for size, stride in zip(t.shape, t.stride(), strict=True) if size > 1]


@pytest.mark.parametrize("arch", ["projection-s2-d8-w8", "dense-s1-d7-k4-c0.5"])
def test_a_lightning_checkpoint_survives_pack_save_load_unpack(arch: str) -> None:
    checkpoint = lightning_checkpoint(arch)
    packed = pack(checkpoint)
    assert is_packed(packed) and len(packed["data"]) <= 3, "one flat tensor per dtype"
    buffer = io.BytesIO()
    torch.save(packed, buffer)
    buffer.seek(0)
    assert_same(checkpoint, unpack(torch.load(buffer, weights_only=True)))
    conv = [t for t in checkpoint["state_dict"].values() if t.dim() == 4]
    assert any(not t.is_contiguous() for t in conv), "the test must cover channels_last weights"


def test_the_snapshot_does_not_follow_the_model() -> None:
    weight = torch.randn(4, 3, 3, 3).contiguous(memory_format=torch.channels_last)
    before = weight.clone()
    packed = pack({"w": weight, "step": torch.tensor(3), "empty": torch.zeros(0), "n": 1})
    weight.add_(1.0)
    restored = unpack(packed)
    torch.testing.assert_close(restored["w"], before, rtol=0, atol=0)
    assert restored["step"].item() == 3 and restored["empty"].numel() == 0 and restored["n"] == 1


def test_another_format_version_is_refused_in_one_line() -> None:
    packed = pack({"w": torch.ones(2)})
    packed[FORMAT_KEY] = 99
    with pytest.raises(ValueError, match="another shortcut-nas version"):
        unpack(packed)


class MemoryStore:
    """An artifact store in a dict (Optuna's ArtifactStore protocol)."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    def write(self, artifact_id: str, content_body: Any) -> None:
        self.files[artifact_id] = content_body.read()

    def open_reader(self, artifact_id: str) -> io.BytesIO:
        return io.BytesIO(self.files[artifact_id])

    def remove(self, artifact_id: str) -> None:
        del self.files[artifact_id]


def test_artifact_targets_are_packed_and_fetched_back_as_lightning_wrote_them(
    tmp_path: Path,
) -> None:
    from studies.checkpoints import ArtifactStoreIO

    class Trial:
        def __init__(self) -> None:
            self.attrs: dict[str, Any] = {}

        def set_user_attr(self, key: str, value: Any) -> None:
            self.attrs[key] = value

    store, trial = MemoryStore(), Trial()
    io_plugin = PackedAsyncCheckpointIO(ArtifactStoreIO(trial, store))  # type: ignore[arg-type]
    checkpoint = lightning_checkpoint("identity-s1-d5-w8")
    io_plugin.save_checkpoint(checkpoint, f"{ARTIFACT_SCHEME}ckpt-x@0")
    io_plugin.save_checkpoint(checkpoint, tmp_path / "plain.ckpt")  # other paths: as torch writes
    io_plugin.teardown()  # waits for the writer thread
    assert trial.attrs["checkpoint"] == {"artifact_id": "ckpt-x", "epoch": 0}
    assert is_packed(torch.load(io.BytesIO(store.files["ckpt-x"]), weights_only=True))
    fetched = fetch_checkpoint(store, "ckpt-x", tmp_path / "fetched.ckpt")
    assert_same(checkpoint, torch.load(fetched, weights_only=True))
    plain = torch.load(tmp_path / "plain.ckpt", weights_only=True)  # Lightning's own async path
    assert not is_packed(plain) and plain["state_dict"].keys() == checkpoint["state_dict"].keys()
