"""Packed epoch checkpoints: what Lightning wrote comes back exactly, layouts included."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import lightning.pytorch as L
import pytest
import torch

from lightning_modules import TrainConfig, TrainingRun, train_architecture
from studies.checkpoint_format import FORMAT_KEY, Packer, is_packed, pack, unpack
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


def test_a_packer_refills_its_buffers_and_every_snapshot_stays_true() -> None:
    """Epochs alternate slots; a slot's buffers are reused while the shapes stay, and a
    snapshot in the other slot is untouched by the refill."""
    weight = torch.randn(4, 3, 3, 3).contiguous(memory_format=torch.channels_last)
    column = torch.randn(3, 4).t()  # neither row-major nor channels_last
    packer = Packer()
    state = {"w": weight, "c": column, "step": torch.tensor(1), "epoch": 0}
    first, before = packer.pack(state, slot=0), weight.clone()
    weight.add_(1.0)
    second = packer.pack({**state, "step": torch.tensor(2), "epoch": 1}, slot=1)
    weight.add_(1.0)
    third = packer.pack({**state, "step": torch.tensor(3), "epoch": 2}, slot=0)
    assert all(third["data"][k] is first["data"][k] for k in first["data"]), "buffers reused"
    assert_same(unpack(second), {"w": before + 1.0, "c": column, "step": torch.tensor(2),
                                 "epoch": 1})  # fmt: skip
    assert_same(unpack(third), {**state, "step": torch.tensor(3), "epoch": 2})
    grown = packer.pack({"w": torch.ones(5, 3, 3, 3)}, slot=0)  # another shape: new buffers
    assert_same(unpack(grown), {"w": torch.ones(5, 3, 3, 3)})
    assert_same(unpack(second)["w"], before + 1.0)


def test_a_lightning_checkpoint_packed_twice_into_one_slot_comes_back_exactly() -> None:
    checkpoint = lightning_checkpoint("projection-s2-d8-w8")
    packer = Packer()
    packer.pack(checkpoint, slot=0)
    assert_same(checkpoint, unpack(packer.pack(checkpoint, slot=0)))


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


def test_epochs_written_through_the_async_plugin_each_hold_their_own_state(
    tmp_path: Path,
) -> None:
    """Three epochs, two buffer slots: epoch 2 refills epoch 0's buffers only after epoch
    0's write is done, here a write held back until well after epoch 2 asked to save."""
    import threading

    from studies.checkpoints import ArtifactStoreIO

    class Trial:
        def set_user_attr(self, key: str, value: Any) -> None:
            pass

    class SlowStore(MemoryStore):
        def __init__(self) -> None:
            super().__init__()
            self.release = threading.Event()

        def write(self, artifact_id: str, content_body: Any) -> None:
            if artifact_id == "e0":
                self.release.wait(timeout=30)
            super().write(artifact_id, content_body)

    store = SlowStore()
    io_plugin = PackedAsyncCheckpointIO(ArtifactStoreIO(Trial(), store))  # type: ignore[arg-type]
    weight = torch.zeros(8, 4, 3, 3).contiguous(memory_format=torch.channels_last)
    threading.Timer(0.3, store.release.set).start()
    for epoch in range(3):
        weight.fill_(float(epoch))
        target = f"{ARTIFACT_SCHEME}e{epoch}@{epoch}"
        io_plugin.save_checkpoint({"w": weight, "epoch": epoch}, target)
    io_plugin.teardown()
    for epoch in range(3):
        saved = fetch_checkpoint(store, f"e{epoch}", tmp_path / f"e{epoch}.ckpt")
        restored = torch.load(saved, weights_only=True)
        assert restored["epoch"] == epoch
        assert torch.equal(restored["w"], torch.full_like(weight, epoch)), f"epoch {epoch}"


def test_buffers_made_in_inference_mode_are_refilled_outside_it() -> None:
    packer = Packer()
    with torch.inference_mode():
        packer.pack({"w": torch.ones(2, 2)}, slot=0)
    restored = unpack(packer.pack({"w": torch.full((2, 2), 2.0)}, slot=0))
    assert torch.equal(restored["w"], torch.full((2, 2), 2.0))
