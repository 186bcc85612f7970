"""`shortcut-nas export`: spec + trained weights of the best (or a chosen) trial."""

from __future__ import annotations

import argparse
from typing import Any

from studies.commands._common import add_study_arguments, locate_study


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "export",
        help="write a trial's spec.json + model.pt (load with search_space.load_model)",
    )
    add_study_arguments(p)
    p.add_argument("--trial", type=int, help="trial number (default: the best)")
    p.add_argument("--artifacts", help="artifact store (default: the config's, else ./artifacts)")
    p.add_argument("-o", "--output", default="exports/best", help="directory to write")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from studies.queries import export_trial, open_study

    storage, name, config = locate_study(args)
    artifacts = args.artifacts or (config.study.artifacts if config else "artifacts")
    study = open_study(storage, name)
    out = export_trial(study, artifacts, args.output, number=args.trial)
    print(f"exported to {out}; in Python: search_space.load_model({str(out)!r})")
    return 0
