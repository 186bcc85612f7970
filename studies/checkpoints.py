"""Checkpoints and trained weights in an Optuna artifact store every machine can read.

The store (`studies.artifacts`: a directory or s3://bucket) holds the files and the
study's database only their ids, so any machine with the database URL and the store
can resume a trial or export its model.

* Each epoch, the trial's Lightning checkpoint goes to the store off the training
  thread (Lightning's AsyncCheckpointIO, with the snapshot packed by
  `studies.checkpoint_format`), alternating between two ids per trial, and only a
  complete file is recorded in the trial's user attribute ``checkpoint``: a retried
  trial needs only the last complete epoch. `fetch_checkpoint` turns one back into
  the file Lightning wrote.
* At the end, the trained weights are uploaded with `optuna.artifacts.upload_artifact`,
  so they show in optuna-dashboard and `export` can fetch them.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import lightning.pytorch as L
import optuna
import torch
from lightning.pytorch.plugins.io import AsyncCheckpointIO, TorchCheckpointIO

from studies.artifacts import MODEL_ATTR, ArtifactStore, download_to
from studies.checkpoint_format import Packer, is_packed, unpack


def checkpoint_id(trial: optuna.trial.BaseTrial, slot: int) -> str:
    """Two ids per trial (study, number, slot): epochs alternate between them, so the one
    the trial's attribute names is never the one being overwritten."""
    study = getattr(trial, "study", None)
    name = study.study_name if study is not None else "study"
    digest = hashlib.sha256(f"{name}/{trial.number}".encode()).hexdigest()[:12]
    return f"ckpt-{digest}-trial{trial.number}-{slot}"


ARTIFACT_SCHEME = "artifact://"


class ArtifactStoreIO(TorchCheckpointIO):
    """Lightning CheckpointIO that writes ``artifact://ID`` targets into the artifact store.

    Wrapped in Lightning's `AsyncCheckpointIO` (see `checkpoint_plugins`), the
    serialisation and the upload run in a background thread on a snapshot of the
    state taken on the training thread; the trial's ``checkpoint`` attribute is set
    only once the file is complete. Other paths go to torch as usual.
    """

    def __init__(self, trial: optuna.trial.Trial, store: ArtifactStore) -> None:
        super().__init__()
        self.trial = trial
        self.store = store

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None
    ) -> None:
        target = str(path)
        if not target.startswith(ARTIFACT_SCHEME):
            super().save_checkpoint(checkpoint, path, storage_options)
            return
        artifact_id, epoch = target.removeprefix(ARTIFACT_SCHEME).rsplit("@", 1)
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        buffer.seek(0)
        self.store.write(artifact_id, buffer)
        self.trial.set_user_attr("checkpoint", {"artifact_id": artifact_id, "epoch": int(epoch)})


class PackedAsyncCheckpointIO(AsyncCheckpointIO):
    """Lightning's AsyncCheckpointIO whose snapshot of an artifact target is packed.

    Lightning's own snapshot clones every tensor through `apply_to_collection` (and
    drops the state_dict's ``_metadata`` on the way); a `Packer` copies them into one
    flat tensor per dtype instead, reusing its buffers epoch after epoch (see
    `studies.checkpoint_format` for what that saves). Epochs alternate between two
    sets of buffers, and one set is refilled only after the write of two epochs ago
    has finished with it: a store slower than an epoch (S3, large nets) holds training
    back rather than queueing snapshot after snapshot in memory. The writer thread and
    its error handling stay Lightning's; other paths take Lightning's path.
    """

    def __init__(self, checkpoint_io: Any = None) -> None:
        super().__init__(checkpoint_io)
        self._packer = Packer()
        self._writes: dict[int, Future[None]] = {}

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None
    ) -> None:
        if not str(path).startswith(ARTIFACT_SCHEME):
            super().save_checkpoint(checkpoint, path, storage_options)
            return
        self._ensure_setup()
        assert self._executor is not None
        slot = int(str(path).rsplit("@", 1)[1]) % 2  # the epoch's parity
        if slot in self._writes:
            self._writes[slot].result()  # this slot's last write (two epochs ago, as a rule)
        snapshot = self._packer.pack(checkpoint, slot)
        self._writes[slot] = self._executor.submit(
            self._write, snapshot, path, storage_options, checkpoint
        )
        if self._error:
            raise self._error

    def teardown(self) -> None:
        """Wait for the writes (Lightning's), then let the buffers go with the trial: the
        module and trainer keep this plugin alive until a full garbage collection."""
        try:
            super().teardown()
        finally:
            self._packer = Packer()
            self._writes.clear()

    def _write(
        self, snapshot: dict[str, Any], path: Any, storage_options: Any | None, dumped: Any
    ) -> None:
        """Write `snapshot`; `dumped` (Lightning's checkpoint dict) is only held, so that
        the last reference to it goes here: freeing its few hundred detached tensors took
        ~1.7 ms an epoch on the training thread, as long as the snapshot itself."""
        try:
            assert self.checkpoint_io is not None
            self.checkpoint_io.save_checkpoint(snapshot, path, storage_options)
        except BaseException as error:  # raised on the training thread at the next save
            self._error = error


def checkpoint_plugins(trial: optuna.trial.Trial, store: ArtifactStore) -> list[Any]:
    return [PackedAsyncCheckpointIO(ArtifactStoreIO(trial, store))]


def fetch_checkpoint(store: ArtifactStore, artifact_id: str, path: Path) -> Path:
    """Download an epoch checkpoint to `path` as the file Lightning wrote (unpacked), so
    `Trainer.fit(ckpt_path=...)` resumes from it and `load_module` rebuilds its network."""
    download_to(store, artifact_id, path)
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    if is_packed(checkpoint):
        torch.save(unpack(checkpoint), path)
    return path


class ArtifactCheckpoint(L.Callback):
    """After every epoch, checkpoint the trial into the artifact store (needs the plugin).

    The time this costs the training thread (the snapshot) is kept in ``seconds``;
    `trial_attrs` hands it to the trial's record (one transaction with the results)
    as ``checkpoint_seconds``, so a user sees what checkpointing cost each trial.
    Under DDP, ranks other than 0 pass ``trial=None``: Lightning writes on rank 0
    only, but every rank must call `save_checkpoint` (it ends in a barrier).
    """

    def __init__(self, trial: optuna.trial.Trial | None) -> None:
        self.trial = trial
        self.seconds = 0.0

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        start = time.perf_counter()
        epoch = trainer.current_epoch
        trial = self.trial
        artifact_id = checkpoint_id(trial, slot=epoch % 2) if trial is not None else "rank-other"
        # Full state (optimizer, loops): a retry resumes training. Said explicitly, or
        # Lightning logs "`weights_only` was not set" at every epoch of every trial.
        target = f"{ARTIFACT_SCHEME}{artifact_id}@{epoch}"
        trainer.save_checkpoint(target, weights_only=False)  # rank 0 writes
        self.seconds += time.perf_counter() - start

    def trial_attrs(self) -> dict[str, Any]:
        return {"checkpoint_seconds": round(self.seconds, 4)}


class FinalWeights(L.Callback):
    """When fit ends normally, upload the trained network as a dashboard-visible artifact.

    The artifact is an export directory's two files packed in one torch file:
    ``{"meta": {...}, "state_dict": {...}}`` (tensors and primitives only, so it
    loads with ``weights_only=True``). The save and the upload (a file copy and a
    database write, ~8 ms) run in a thread while the test pass computes; `trial_attrs`
    waits for it and hands the id to the trial's record (one transaction with the
    results, not a commit of its own).
    """

    def __init__(self, trial: optuna.trial.Trial, store: ArtifactStore) -> None:
        self.trial = trial
        self.store = store
        self.artifact_id: str | None = None
        self._upload: Future[str] | None = None

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.is_global_zero or trainer.interrupted:
            return
        model: Any = pl_module.model  # a ShortcutModule's ShortcutNet
        meta = {
            "arch": model.spec.to_str(),
            "input_shape": list(model.input_shape),
            "num_classes": int(pl_module.hparams["num_classes"]),
            "task": pl_module.hparams.get("task", "classification"),
        }
        state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="final-weights")
        self._upload = pool.submit(self._save, meta, state)
        pool.shutdown(wait=False)  # the thread ends with the upload; `trial_attrs` waits

    def _save(self, meta: dict[str, Any], state: dict[str, torch.Tensor]) -> str:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"trial{self.trial.number}-{meta['arch']}.pt"
            torch.save({"meta": meta, "state_dict": state}, path)
            return optuna.artifacts.upload_artifact(
                artifact_store=self.store, file_path=str(path), study_or_trial=self.trial
            )

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        """The test pass failed or was stopped (a signal, out of memory): the upload ends
        before the trial does, so it never writes to a finished trial; the error that
        stopped the run is the one raised, an upload's own is logged."""
        try:
            self.trial_attrs()
        except Exception as error:  # reported, not raised over `exception`
            optuna.logging.get_logger(__name__).warning(f"final weights not saved: {error}")

    def trial_attrs(self) -> dict[str, Any]:
        if self._upload is not None:
            upload, self._upload = self._upload, None
            self.artifact_id = upload.result()
        return {MODEL_ATTR: self.artifact_id} if self.artifact_id else {}
