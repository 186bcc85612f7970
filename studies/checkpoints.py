"""Checkpoints and trained weights in an Optuna artifact store every machine can read.

Where: a directory (`FileSystemArtifactStore`; on a cluster, a shared file
system) or S3-compatible storage (`Boto3ArtifactStore`, "s3://bucket"). The
study's database holds only the artifact ids, so any machine with the
database URL and the store can resume a trial or export its model.

* Each epoch, rank 0 writes the trial's Lightning checkpoint under one id per
  trial (overwritten: a retried trial needs only the last complete epoch) and
  records it in the trial's user attribute ``checkpoint``.
* At the end, the trained weights are uploaded with `optuna.artifacts.upload_artifact`,
  so they show in optuna-dashboard and `export` can fetch them.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from pathlib import Path
from typing import Any

import lightning.pytorch as L
import optuna
from optuna.artifacts import Boto3ArtifactStore, FileSystemArtifactStore

ArtifactStore = Any  # optuna's ArtifactStore protocol (read/write/remove)


def open_artifact_store(location: str) -> ArtifactStore:
    """A directory path or s3://bucket (credentials from the usual AWS variables)."""
    if location.startswith("s3://"):
        bucket = location.removeprefix("s3://").split("/", 1)[0]
        if not bucket:
            raise ValueError(f"artifacts={location!r} names no bucket; use s3://BUCKET")
        return Boto3ArtifactStore(bucket)
    path = Path(location).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return FileSystemArtifactStore(str(path))


def checkpoint_id(trial: optuna.trial.BaseTrial) -> str:
    """One stable id per trial (study and number), so each epoch overwrites the last."""
    study = getattr(trial, "study", None)
    name = study.study_name if study is not None else "study"
    digest = hashlib.sha256(f"{name}/{trial.number}".encode()).hexdigest()[:12]
    return f"ckpt-{digest}-trial{trial.number}"


class ArtifactCheckpoint(L.Callback):
    """After every epoch, put `last.ckpt` into the artifact store and note it on the trial."""

    def __init__(self, trial: optuna.trial.Trial, store: ArtifactStore) -> None:
        self.trial = trial
        self.store = store
        self.artifact_id = checkpoint_id(trial)
        self.seconds = 0.0  # time spent checkpointing, inside fit: benchmarks subtract it

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "last.ckpt"
            trainer.save_checkpoint(path)  # every rank calls it; rank 0 writes
            if trainer.is_global_zero:
                with path.open("rb") as handle:
                    self.store.write(self.artifact_id, handle)
                self.seconds += time.perf_counter() - start
                self.trial.set_user_attr(
                    "checkpoint",
                    {"artifact_id": self.artifact_id, "epoch": trainer.current_epoch,
                     "seconds": round(self.seconds, 4)},
                )  # fmt: skip


def download_to(store: ArtifactStore, artifact_id: str, path: Path) -> Path:
    with store.open_reader(artifact_id) as reader, path.open("wb") as out:
        out.write(reader.read())
    return path


MODEL_ATTR = "model_artifact"


class FinalWeights(L.Callback):
    """When fit ends normally, upload the trained network as a dashboard-visible artifact.

    The artifact is an export directory's two files packed in one torch file:
    ``{"meta": {...}, "state_dict": {...}}`` (tensors and primitives only, so it
    loads with ``weights_only=True``).
    """

    def __init__(self, trial: optuna.trial.Trial, store: ArtifactStore) -> None:
        self.trial = trial
        self.store = store

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.is_global_zero or trainer.interrupted:
            return
        import torch

        model = pl_module.model  # type: ignore[attr-defined]
        meta = {
            "arch": model.spec.to_str(),
            "input_shape": list(model.input_shape),
            "num_classes": int(pl_module.hparams["num_classes"]),
            "task": pl_module.hparams.get("task", "classification"),
        }
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"trial{self.trial.number}-{meta['arch']}.pt"
            state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
            torch.save({"meta": meta, "state_dict": state}, path)
            artifact_id = optuna.artifacts.upload_artifact(
                artifact_store=self.store, file_path=str(path), study_or_trial=self.trial
            )
        self.trial.set_user_attr(MODEL_ATTR, artifact_id)
