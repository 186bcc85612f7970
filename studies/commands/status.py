"""`shortcut-nas status`: trials by state, the workers alive now, and stale ones."""

from __future__ import annotations

import argparse
import datetime
import json
from typing import Any

from studies.commands._common import add_study_arguments, locate_study


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("status", help="trials by state and the workers running them")
    add_study_arguments(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run)


def study_status(study: Any) -> dict[str, Any]:
    """States, and for each RUNNING trial its worker, epoch, and heartbeat age."""
    from studies.runner import state_counts

    backend = getattr(study._storage, "_backend", study._storage)
    # RDBStorage's own notion of stale: no heartbeat within the grace period.
    stale = set(backend._get_stale_trial_ids(study._study_id))
    now = datetime.datetime.now()
    running = []
    for trial in study.get_trials(deepcopy=False):
        if trial.state.name != "RUNNING":
            continue
        worker = trial.user_attrs.get("worker", {})
        saved = trial.user_attrs.get("checkpoint") or {}
        running.append({
            "trial": trial.number, "arch": trial.user_attrs.get("arch"),
            "host": worker.get("host"), "pid": worker.get("pid"), "device": worker.get("device"),
            "epochs_done": saved.get("epoch", -1) + 1,
            "running_s": round((now - trial.datetime_start).total_seconds(), 1),
            "stale": trial._trial_id in stale,
        })  # fmt: skip
    counts = {state.name: n for state, n in state_counts(study).items()}
    return {"study": study.study_name, "states": counts, "running": running}


def run(args: argparse.Namespace) -> int:
    from studies.queries import open_study

    storage, name, _ = locate_study(args)
    status = study_status(open_study(storage, name, heartbeat=True))
    if args.json:
        print(json.dumps(status))
        return 0
    print(
        f"study {status['study']!r}: "
        + ", ".join(f"{k} {v}" for k, v in sorted(status["states"].items()))
    )
    for r in status["running"]:
        flag = (
            "STALE (worker gone; the next worker to start a trial retries it)"
            if r["stale"]
            else "alive"
        )
        print(f"  trial {r['trial']:>4} {r['arch']:<28} {r['host']}:{r['pid']} {r['device'] or ''} "
              f"epochs done {r['epochs_done']} running {r['running_s']}s {flag}")  # fmt: skip
    return 0
