"""The command line's fast exit keeps what a normal exit keeps (studies/_exit.py)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

SCRIPT = textwrap.dedent(
    """
    import atexit, sys, threading, time
    from concurrent.futures import ThreadPoolExecutor
    from pathlib import Path
    from studies._exit import exit_now

    out = Path(sys.argv[1])
    atexit.register(lambda: (out / "atexit").write_text("ran"))

    def late(name):
        time.sleep(0.3)
        (out / name).write_text("done")

    threading.Thread(target=late, args=("thread",)).start()  # non-daemon, still running
    pool = ThreadPoolExecutor(max_workers=1)  # never shut down, with work queued
    pool.submit(late, "executor-1")
    pool.submit(late, "executor-2")
    print("buffered line", end="")  # stdout is a pipe: block-buffered, not yet written
    exit_now(3)
    """
)


def test_exit_now_flushes_joins_runs_atexit_and_keeps_the_code(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 3, done.stderr
    assert done.stdout == "buffered line"
    for name in ("atexit", "thread", "executor-1", "executor-2"):
        assert (tmp_path / name).read_text() in ("ran", "done"), name


def test_the_command_line_exits_with_mains_code(tmp_path: Path) -> None:
    """A user error through `python -m studies` (which ends in exit_now): code 2, one line."""
    done = subprocess.run(
        [sys.executable, "-m", "studies", "best", "--storage", f"sqlite:///{tmp_path}/x.db",
         "--study-name", "nope"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "no database at" in done.stderr, done.stderr


def test_a_search_prints_no_lightning_info_lines(tmp_path: Path, write_config) -> None:  # type: ignore[no-untyped-def]
    """Lightning is imported after the CLI quiets loggers (query commands never import it)
    and then sets its package loggers back to INFO: its per-trial lines must stay hidden."""
    path = write_config(n_trials=1, epochs=1)
    done = subprocess.run(
        [sys.executable, "-m", "studies", "search", str(path), "--no-progress"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    output = done.stdout + done.stderr
    assert "trial    0 COMPLETE" in output
    hidden = ("GPU available", "litlogger", "`Trainer.fit` stopped", "Loading `train_dataloader`",
              "overridden `transfer_batch_to_device`")  # fmt: skip
    for line in hidden:
        assert line not in output, output


def test_a_search_whose_every_trial_diverges_ends_with_one_line(
    tmp_path: Path, write_config
) -> None:  # type: ignore[no-untyped-def]
    """Failed trials count against n_trials (before: a worker ran new trials forever), and
    the explained failures print one line each, not Optuna's traceback."""
    path = write_config(n_trials=2, epochs=1)
    path.write_text(path.read_text().replace("batch_size = 64", "batch_size = 64\nlr = 1e9"))
    command = [sys.executable, "-m", "studies", "search", str(path), "--no-progress"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert done.stdout.count(" FAIL ") == 2 and "non-finite loss" in done.stdout
    assert done.stderr.strip().splitlines() == [
        "shortcut-nas: error: every trial failed (2), most often with: non-finite loss: "
        "val loss is nan at epoch 0; lower [training] lr"
    ]
    again = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert again.returncode == 1 and again.stdout.count(" FAIL ") == 0, "the budget is spent"


@pytest.mark.skipif(
    torch.cuda.is_available(), reason="needs a machine without a GPU: it asks for a missing one"
)
def test_an_accelerator_the_machine_lacks_is_one_line_before_any_trial(
    tmp_path: Path, write_config
) -> None:  # type: ignore[no-untyped-def]
    """Before: a 93-line Lightning traceback, a FAILed trial, and a rerun that did nothing."""
    path = write_config(n_trials=1, epochs=1)
    path.write_text(path.read_text() + '\n[hardware]\naccelerator = "gpu"\n')
    done = subprocess.run(
        [sys.executable, "-m", "studies", "search", str(path), "--no-progress"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        'shortcut-nas: error: [hardware] accelerator = "gpu" but no CUDA GPU is visible on this '
        'machine; use "auto" (GPU when there is one) or "cpu", or check CUDA_VISIBLE_DEVICES'
    ]
    assert not (tmp_path / "study.db").exists(), "nothing written: no study, no FAILed trial"
