"""The command line's fast exit keeps what a normal exit keeps (studies/_exit.py)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

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
    assert done.stderr.count("\n") == 1 and "nope" in done.stderr, done.stderr


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
    hidden = ("GPU available", "litlogger", "`Trainer.fit` stopped", "Loading `train_dataloader`")
    for line in hidden:
        assert line not in output, output
