"""`shortcut-nas search CONFIG`: create or join the study and run trials until its budget is met."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from studies.commands._common import add_study_arguments, positive_int


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "search",
        help="run an architecture search (the same command again resumes it)",
        description="Create or join the study of CONFIG and run trials until it holds n_trials "
        "finished trials. Run it again to resume; run it on several machines with one "
        "PostgreSQL URL to share the work.",
    )
    add_study_arguments(p, config_required=True)
    p.add_argument("--n-trials", type=int, help="the study's budget of finished trials")
    p.add_argument("--timeout", type=float, help="stop starting trials after this many seconds")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (logs, CI)")
    p.add_argument(
        "--no-summary", action="store_true", help="no table at the end (launch prints one)"
    )
    p.add_argument(
        "--top", type=positive_int, default=5, help="rows of the table printed at the end"
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from studies.config import load_config
    from studies.distributed import run_ranks, under_torchrun
    from studies.search import search

    config = load_config(
        args.config, storage=args.storage, study_name=args.study_name,
        n_trials=args.n_trials, timeout=args.timeout,
    )  # fmt: skip
    devices = config.train.devices
    if devices > 1 and not under_torchrun():
        print(f"each trial trains on {devices} devices: starting {devices} ranks with torchrun",
              flush=True)  # fmt: skip
        return run_ranks(devices, sys.argv[1:])
    study = search(config, progress=not args.no_progress)
    if study is None:  # a DDP rank other than 0, which prints nothing
        return 0
    if not args.no_summary:
        print_summary(study, args.top)
    failed = every_trial_failed(study)
    if failed:
        print(f"shortcut-nas: error: {failed}", file=sys.stderr)
        return 1
    return 0


def every_trial_failed(study: optuna.Study) -> str | None:
    """One line when the study holds failed trials and no complete one: the config is wrong."""
    if study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)):
        return None
    from studies.runner import spends_budget

    failed = study.get_trials(deepcopy=False, states=(TrialState.FAIL,))
    reasons = [t.user_attrs.get("fail_reason", "?") for t in failed if spends_budget(t)]
    if not reasons:
        return None
    common = max(set(reasons), key=reasons.count)
    hint = "; lower [training] lr" if common.startswith("non-finite loss") else ""
    return f"every trial failed ({len(reasons)}), most often with: {common}{hint}"


def print_summary(study: optuna.Study, top: int) -> None:
    from studies.queries import best_rows, format_table

    pareto = len(study.directions) > 1
    rows = best_rows(study, k=top, pareto=pareto)
    title = "Pareto front" if pareto else f"best {len(rows)} architecture{'s' * (len(rows) != 1)}"
    print(f"\nstudy {study.study_name!r}: {title}")
    print(format_table(rows))


def trial_line(metric_names: list[str], trial: FrozenTrial) -> str:
    """One line per finished trial: number, state, arch, values, cost, time.

    `metric_names` is passed in once: `study.metric_names` reads all the study's
    system attributes (every dashboard note among them) on each call.
    """
    attrs = trial.user_attrs
    arch = attrs.get("arch", "?")
    if trial.state is TrialState.COMPLETE:
        values = " ".join(metric_text(n, v) for n, v in zip(metric_names, trial.values))
        reused = attrs.get("reused_from_trial")
        params = "" if "params" in metric_names else f"params={attrs.get('params', 0):,} "
        tail = (
            f"(same arch as trial {reused}, not retrained)"
            if reused is not None
            else f"{params}{attrs.get('train_seconds', 0):.1f}s"
        )
        return f"trial {trial.number:>4} COMPLETE {arch:<28} {values} {tail}"
    if trial.state is TrialState.PRUNED:
        last = max(trial.intermediate_values) if trial.intermediate_values else -1
        return f"trial {trial.number:>4} PRUNED   {arch:<28} at epoch {last + 1}"
    return (
        f"trial {trial.number:>4} {trial.state.name:<8} {arch:<28} {attrs.get('fail_reason', '')}"
    )


def metric_text(name: str, value: float) -> str:
    """Counts (params, MACs) in full with separators; scores to four significant digits."""
    return f"{name}={value:,.0f}" if name in ("params", "macs") else f"{name}={value:.4g}"


def write_line(text: str) -> None:
    print(text, file=sys.stdout, flush=True)
