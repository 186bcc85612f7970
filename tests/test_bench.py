"""The search benchmark runs, and its timers still find the methods they time.

A renamed method would leave its timer at zero and the benchmark would silently
count that work as training: each timed part must show up in a tiny run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "bench_search.py"


@pytest.mark.slow
def test_bench_search_times_every_part_on_both_sides(tmp_path: Path) -> None:
    command = [sys.executable, str(SCRIPT), "--trials", "3", "--epochs", "2",
               "--backends", "sqlite", "--workers", "1", "--pruning", "defaults",
               "--sampler", "defaults"]  # fmt: skip
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = {row["impl"]: row for row in map(json.loads, done.stdout.splitlines()[:2])}
    assert set(rows) == {"ours", "baseline"}
    for row in rows.values():
        assert row["trials"] == 3 and row["pruning"] == row["sampler"] == "defaults"
        assert 0.0 < row["outside_training_share"] < 1.0
        assert row["pruning_callback_share"] > 0.0, "trial.report runs every epoch on both sides"
        assert row["epochs_trained"] >= 3 and row["best_val_acc"] is not None
    ours = rows["ours"]
    for part in ("checkpoint_share", "test_pass_share", "gradient_flow_share"):
        assert ours[part] > 0.0, part
    assert rows["baseline"]["checkpoint_share"] == 0.0
    assert "sqlite x1: ours/baseline wall time = " in done.stdout


def test_bench_layout_times_both_layouts_of_every_type() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT.with_name("bench_layout.py")), "--batch-size", "4",
         "--steps", "1", "--repeats", "1", "--json"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert {row["arch"].split("-")[0] for row in report["rows"]} == {
        "none",
        "highway",
        "identity",
        "projection",
        "dense",
    }
    assert all(row["nchw_ms"] > 0 and row["nhwc_ms"] > 0 for row in report["rows"])
