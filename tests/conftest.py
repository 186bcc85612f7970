"""Shared fixtures: real PostgreSQL databases (one per test, dropped after), tiny study configs."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_ADMIN = os.environ.get("SHORTCUT_NAS_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def _admin_connection():  # type: ignore[no-untyped-def]
    psycopg = pytest.importorskip("psycopg", reason="psycopg is the dev extra's PostgreSQL driver")
    try:
        return psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        pytest.fail(f"PostgreSQL at {PG_ADMIN} is not reachable: {error}")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test only (SQLAlchemy URL, psycopg 3)."""
    name = f"snas_test_{uuid.uuid4().hex[:12]}"
    with _admin_connection() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with _admin_connection() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


TINY_STUDY = """
[study]
name = "{name}"
storage = "{storage}"
n_trials = {n_trials}
artifacts = "{artifacts}"
pruner = "{pruner}"
objectives = {objectives}
sampler = "{sampler}"
seed = 0

[space]
shortcuts = {shortcuts}
spans = [1]
depth = [5, 8]
widths = [8]
growth_rates = [8]
compressions = [0.5]
stages = 2

[training]
epochs = {epochs}
batch_size = 64
grad_diagnostics = true
"""


@pytest.fixture
def write_config(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Write a tiny study config; keyword arguments fill TINY_STUDY's fields."""

    def write(**fields: object) -> Path:
        values: dict[str, object] = {
            "name": "tiny", "storage": f"sqlite:///{tmp_path / 'study.db'}", "n_trials": 3,
            "artifacts": str(tmp_path / "artifacts"), "pruner": "none",
            "objectives": '["val_acc"]', "sampler": "tpe",
            "shortcuts": '["none", "identity", "dense"]', "epochs": 2,
        }  # fmt: skip
        values.update(fields)
        path = tmp_path / f"{values['name']}.toml"
        path.write_text(TINY_STUDY.format(**values))
        return path

    return write


def pytest_configure(config: pytest.Config) -> None:
    """One torch thread per xdist worker: two workers x two threads on two cores would make
    OpenMP threads spin against each other and slow every test several-fold."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        import torch

        torch.set_num_threads(1)
