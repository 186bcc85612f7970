"""Arguments several commands share: where the study is."""

from __future__ import annotations

import argparse
from typing import Any

from studies.config import STORAGE_ENV


def positive_int(text: str) -> int:
    """argparse type for counts: a usage error (exit 2) before any work, not an empty table."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be 1 or more")
    return value


def add_study_arguments(parser: argparse.ArgumentParser, config_required: bool = False) -> None:
    if config_required:
        parser.add_argument(
            "config", help="study config (TOML), e.g. studies/configs/digits_quick.toml"
        )
    else:
        parser.add_argument(
            "config", nargs="?", help="study config (TOML); or --storage/--study-name"
        )
    parser.add_argument(
        "--storage",
        help=f"database URL; overrides the config and ${STORAGE_ENV} "
        "(keep passwords in the variable)",
    )
    parser.add_argument("--study-name", help="overrides the config's [study] name")


def locate_study(args: argparse.Namespace) -> tuple[str, str | None, Any]:
    """(storage URL, study name, config or None) from a config and/or flags and the environment."""
    if args.config:
        from studies.config import load_config

        config = load_config(args.config, storage=args.storage, study_name=args.study_name)
        return config.study.storage, config.study.name, config
    from studies.config import resolve_storage

    return resolve_storage(explicit=args.storage), args.study_name, None
