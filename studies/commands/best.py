"""`shortcut-nas best`: the top architectures of a study as a table (or JSON)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from studies.commands._common import add_study_arguments, locate_study, positive_int


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("best", help="print the best architectures of a study")
    add_study_arguments(p)
    p.add_argument("-k", "--top", type=positive_int, default=10, help="rows to print")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--per-shortcut", action="store_true", help="the best of each shortcut type")
    group.add_argument("--pareto", action="store_true", help="the Pareto front (multi-objective)")
    p.add_argument("--json", action="store_true", help="one JSON array for scripts")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from studies.queries import best_rows, format_table, open_study

    storage, name, _ = locate_study(args)
    study = open_study(storage, name)
    rows = best_rows(study, k=args.top, per_shortcut=args.per_shortcut, pareto=args.pareto)
    print(json.dumps(rows) if args.json else format_table(rows))
    return 0
