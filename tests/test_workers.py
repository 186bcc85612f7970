"""Workers on one study (real PostgreSQL, CPU processes): budget, crash, pre-emption, resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
import torch
from optuna.trial import TrialState

from lightning_modules import TrainingRun, train_architecture
from studies.config import load_config

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

FAST_HEARTBEAT = {"SHORTCUT_NAS_HEARTBEAT_INTERVAL": "1", "SHORTCUT_NAS_GRACE_PERIOD": "3"}


def cli(args: list[str], cwd: Path, **popen: object) -> subprocess.Popen:
    env = {**os.environ, **FAST_HEARTBEAT, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "studies", *args], cwd=cwd, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen,
    )  # fmt: skip


def wait_for(predicate, timeout: float = 120.0, poll: float = 0.2) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(poll)
    raise AssertionError("condition not reached in time")


def trials(storage: str, state: TrialState | None = None) -> list[optuna.trial.FrozenTrial]:
    study = optuna.load_study(study_name="tiny", storage=storage)
    return study.get_trials(states=None if state is None else (state,))


def first_checkpoint_written(storage: str) -> bool:
    try:
        running = trials(storage, TrialState.RUNNING)
    except KeyError:  # the worker has not created the study yet
        return False
    return bool(running) and (running[0].user_attrs.get("checkpoint") or {}).get("epoch", -1) >= 1


def single_arch_config(write_config, pg_url: str, epochs: int = 6) -> Path:  # type: ignore[no-untyped-def]
    """One network only (so a retry and a fresh run are comparable), several epochs."""
    path = write_config(n_trials=1, storage=pg_url, shortcuts='["identity"]', epochs=epochs)
    text = (
        path.read_text()
        .replace("depth = [5, 8]", "depth = [8, 8]")
        .replace("widths = [8]", "widths = [16]")
    )
    path.write_text(text)
    return path


def test_two_workers_share_the_budget_exactly(write_config, pg_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write_config(n_trials=5, storage=pg_url, epochs=2)
    proc = cli(["launch", str(path), "--workers", "2"], cwd=tmp_path)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    done = trials(pg_url, TrialState.COMPLETE)
    assert len(done) == 5
    assert not trials(pg_url, TrialState.RUNNING) and not trials(pg_url, TrialState.WAITING)
    assert len({t.number for t in done}) == 5
    workers = {t.user_attrs["worker"]["pid"] for t in done if "worker" in t.user_attrs}
    assert len(workers) == 2, "both workers ran trials"
    assert "launching 2 worker(s)" in out
    assert out.count("study 'tiny': best") == 1, "one table, the parent's (workers: --no-summary)"


def test_killed_worker_is_retried_and_resumes_on_another_machine(  # type: ignore[no-untyped-def]
    write_config, pg_url: str, tmp_path: Path
) -> None:
    path = single_arch_config(write_config, pg_url)
    machine_a, machine_b = tmp_path / "a", tmp_path / "b"  # nothing shared but DB and artifacts
    machine_a.mkdir()
    machine_b.mkdir()
    worker = cli(["search", str(path), "--no-progress"], cwd=machine_a)
    wait_for(lambda: first_checkpoint_written(pg_url))
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    assert trials(pg_url, TrialState.RUNNING), "a killed worker leaves its trial RUNNING"
    time.sleep(4)  # past the 3 s grace period: the heartbeat has gone stale
    status = cli(["status", "--storage", pg_url, "--study-name", "tiny", "--json"], cwd=machine_b)
    report = json.loads(status.communicate(timeout=60)[0])
    assert report["states"] == {"RUNNING": 1}
    (row,) = report["running"]
    assert row["stale"] and row["pid"] == worker.pid and row["epochs_done"] >= 2

    second = cli(["search", str(path), "--no-progress"], cwd=machine_b)
    out, err = second.communicate(timeout=300)
    assert second.returncode == 0, err
    failed = trials(pg_url, TrialState.FAIL)
    done = trials(pg_url, TrialState.COMPLETE)
    assert len(done) == 1 and len(failed) == 1
    assert not trials(pg_url, TrialState.RUNNING) and not trials(pg_url, TrialState.WAITING)
    retry = done[0]
    assert retry.params == failed[0].params
    resumed = retry.user_attrs["resumed_from"]
    assert resumed["trial"] == failed[0].number and resumed["epoch"] >= 1

    config = load_config(path)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the workers ran: float sums differ between thread counts
    try:
        fresh = train_architecture(
            retry.user_attrs["arch"], TrainingRun(data=config.data, train=config.train)
        )
    finally:
        torch.set_num_threads(threads)
    for key in ("val_acc", "best_val_acc", "test_acc"):
        assert retry.user_attrs[key] == pytest.approx(fresh[key], abs=1e-6), key
    assert retry.user_attrs["details"]["val_loss"] == pytest.approx(fresh["val_loss"], rel=1e-5)


def test_sigterm_fails_the_trial_and_enqueues_its_retry(  # type: ignore[no-untyped-def]
    write_config, pg_url: str, tmp_path: Path
) -> None:
    path = single_arch_config(write_config, pg_url, epochs=8)
    worker = cli(["search", str(path), "--no-progress"], cwd=tmp_path)
    wait_for(lambda: first_checkpoint_written(pg_url))
    worker.send_signal(signal.SIGTERM)
    out, err = worker.communicate(timeout=120)
    assert worker.returncode == 143, (worker.returncode, err)
    assert "run the same command to resume" in err
    assert not trials(pg_url, TrialState.RUNNING)
    failed = trials(pg_url, TrialState.FAIL)
    assert len(failed) == 1 and "pre-empted by SIGTERM" in failed[0].user_attrs["fail_reason"]
    waiting = trials(pg_url, TrialState.WAITING)
    assert len(waiting) == 1 and waiting[0].params == failed[0].params

    status = cli(["status", "--storage", pg_url, "--study-name", "tiny", "--json"], cwd=tmp_path)
    report = json.loads(status.communicate(timeout=60)[0])
    assert report["states"] == {"FAIL": 1, "WAITING": 1}

    again = cli(["search", str(path), "--no-progress"], cwd=tmp_path)
    assert again.communicate(timeout=300) and again.returncode == 0
    assert trials(pg_url, TrialState.COMPLETE)[0].user_attrs["resumed_from"]["epoch"] >= 1


def test_a_waiting_worker_leaves_soon_after_the_last_trial_ends() -> None:
    """A worker with nothing left to run waits for trials RUNNING elsewhere (they may die
    and need a retry), and leaves once they finish: within a fraction of a second for a
    short trial, not after a fixed 2 s poll."""
    import threading

    from studies.runner import run_worker

    study = optuna.create_study()
    elsewhere = study.ask()  # another worker's last trial, still training

    def objective(trial: optuna.trial.Trial) -> float:
        raise AssertionError("the budget is planned: this worker must not start a trial")

    worker = threading.Thread(target=run_worker, args=(study, objective), kwargs={"budget": 1})
    worker.start()
    time.sleep(0.5)
    assert worker.is_alive(), "left while a trial it might have to retry was still running"
    study.tell(elsewhere, 1.0)
    ended = time.monotonic()
    worker.join(timeout=10)
    assert not worker.is_alive()
    assert time.monotonic() - ended < 1.0
