"""`shortcut-nas dashboard`: optuna-dashboard on the study's storage, on 127.0.0.1 by default."""

from __future__ import annotations

import argparse
import errno
import socket
from typing import Any

from studies.commands._common import add_study_arguments, locate_study


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("dashboard", help="serve optuna-dashboard for the study's database")
    add_study_arguments(p)
    p.add_argument(
        "--host", default="127.0.0.1", help="bind address (127.0.0.1: this machine only)"
    )
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--artifacts", help="artifact store to browse (default: the config's)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        from optuna_dashboard import run_server
    except ImportError:
        raise ValueError(
            "the dashboard is an extra: pip install 'shortcut-nas[dashboard]'"
        ) from None
    from studies._redact import redact
    from studies.artifacts import open_artifact_store
    from studies.storage import check_database_exists, open_storage

    storage, _, config = locate_study(args)
    artifacts = args.artifacts or (config.study.artifacts if config else None)
    store = open_artifact_store(artifacts) if artifacts else None
    check_database_exists(storage)
    backend = open_storage(storage, heartbeat_interval=None, grace_period=None)
    check_port_free(args.host, args.port)
    print(f"optuna-dashboard on http://{args.host}:{args.port} for {redact(storage)}", flush=True)
    run_server(backend, host=args.host, port=args.port, artifact_store=store)
    return 0


def check_port_free(host: str, port: int) -> None:
    """A port in use is one line, before the server's start-up banner (which it prints
    before failing with a traceback). Bound as the server binds: address reuse on."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno != errno.EADDRINUSE:
                raise
            raise ValueError(
                f"port {port} on {host} is in use (another dashboard?); pass a free --port"
            ) from None
