"""The `shortcut-nas` command: one parser, one module per subcommand.

Every error a user can cause ends here as one line on stderr, with passwords
masked, and a non-zero exit code; tracebacks are for bugs (set
SHORTCUT_NAS_DEBUG=1 to see one anyway).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings
from collections.abc import Sequence
from typing import NoReturn

import optuna

from studies._exit import exit_now
from studies._redact import redact
from studies.commands import best, dashboard, export, launch, search, status, train

COMMANDS = [search, launch, status, best, export, dashboard, train]
USER_ERRORS = (ValueError, FileNotFoundError, PermissionError, ConnectionError)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shortcut-nas",
        description="Neural architecture search over shortcut connections.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.add_parser(subparsers)
    return parser


# `rank_zero_info`'s loggers (lightning_utilities' rank_zero module logs through the last
# one its importers assign, pytorch's); Lightning never resets a child logger's level.
LIGHTNING_INFO_LOGGERS = (
    "lightning.pytorch.utilities.rank_zero",
    "lightning.fabric.utilities.rank_zero",
    "lightning_utilities.core.rank_zero",
)


def quiet_libraries() -> None:
    """Lightning's and Optuna's info lines would drown the one line per trial we print.

    Lightning's info lines ("GPU available", its litlogger tip, "`Trainer.fit` stopped")
    go through the loggers named in `LIGHTNING_INFO_LOGGERS`. The package loggers above
    them cannot be used, because importing Lightning sets them back to INFO, and training
    commands import it only later. These child loggers keep the level set here.
    """
    for name in ("lightning.pytorch", "lightning.fabric", "lightning", "pytorch_lightning"):
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in LIGHTNING_INFO_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    # Lightning 2.6 warns about its own use of torch's pytree API: not the user's concern.
    warnings.filterwarnings("ignore", message=".*LeafSpec.*")
    # We rely on Optuna's heartbeat API on purpose; its "experimental" label is not news to users.
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    quiet_libraries()
    from studies.errors import Preempted

    try:
        return int(args.run(args))
    except Preempted as stop:
        print(f"shortcut-nas: {stop}; run the same command to resume", file=sys.stderr)
        return 143 if stop.signal_name == "SIGTERM" else 130
    except KeyboardInterrupt:
        print("shortcut-nas: interrupted", file=sys.stderr)
        return 130
    except USER_ERRORS as error:
        if os.environ.get("SHORTCUT_NAS_DEBUG"):
            raise
        print(f"shortcut-nas: error: {redact(error)}", file=sys.stderr)
        return 2


def entry() -> NoReturn:
    """The console script (and `python -m studies`): `main`, then a fast exit (studies/_exit.py)."""
    exit_now(main())


if __name__ == "__main__":
    entry()
