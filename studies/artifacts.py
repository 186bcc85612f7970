"""Where a study's files live: an Optuna artifact store every machine can read.

A directory (`FileSystemArtifactStore`; on a cluster, a shared file system) or
S3-compatible storage (`Boto3ArtifactStore`, "s3://bucket"). The study's database
holds only artifact ids. Kept apart from `studies.checkpoints` (Lightning callbacks)
so `export` and `dashboard` open a store without importing Lightning.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from optuna.artifacts import Boto3ArtifactStore, FileSystemArtifactStore

ArtifactStore = Any  # optuna's ArtifactStore protocol (read/write/remove)
MODEL_ATTR = "model_artifact"  # user attribute: the trained weights' artifact id


def open_artifact_store(location: str, writable: bool = False) -> ArtifactStore:
    """A directory path or s3://bucket (credentials from the usual AWS variables).

    `writable`: a search checks that it can write checkpoints there before any trial
    starts (else each trial would fail at its first epoch's save); queries only read.
    """
    if location.startswith("s3://"):
        bucket = location.removeprefix("s3://").split("/", 1)[0]
        if not bucket:
            raise ValueError(f"artifacts={location!r} names no bucket; use s3://BUCKET")
        return Boto3ArtifactStore(bucket)
    path = Path(location).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
        if writable and not os.access(path, os.W_OK | os.X_OK):
            raise PermissionError("permission denied")
    except OSError as error:  # checked here, not at the first trial's first checkpoint
        reason = (error.strerror or str(error)).lower()
        if not writable:
            raise ValueError(
                f"[study] artifacts = {location!r} cannot be opened ({reason})"
            ) from None
        raise ValueError(
            f"[study] artifacts = {location!r} cannot be used as the checkpoint directory "
            f"({reason}); choose a directory you can write to, or s3://BUCKET"
        ) from None
    return FileSystemArtifactStore(str(path))


def download_to(store: ArtifactStore, artifact_id: str, path: Path) -> Path:
    with store.open_reader(artifact_id) as reader, path.open("wb") as out:
        out.write(reader.read())
    return path
