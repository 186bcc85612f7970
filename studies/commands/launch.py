"""`shortcut-nas launch CONFIG`: one worker process per GPU (or N CPU workers) on one study.

The parent creates the storage and the study once, before any worker starts:
two processes creating Optuna's tables at the same moment race (seen on SQLite
and PostgreSQL). Each worker is `shortcut-nas search CONFIG` pinned to its GPU
through CUDA_VISIBLE_DEVICES; the storage URL reaches workers through the
environment, never the command line (`ps` would show a password). Ctrl-C or
SIGTERM is passed on to every worker, which fails its trial, enqueues the retry
and exits; the parent then waits for them all.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from studies.commands._common import add_study_arguments, positive_int
from studies.config import STORAGE_ENV


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "launch", help="start one worker per GPU (or --workers CPU workers) on one study"
    )
    add_study_arguments(p, config_required=True)
    p.add_argument("--gpus", help="comma-separated GPU indices, e.g. 0,1,2,3 (default: config)")
    p.add_argument("--workers", type=positive_int, help="CPU workers when no GPUs are given")
    p.add_argument(
        "--workers-per-gpu", type=positive_int, help="several small-model workers per GPU"
    )
    p.add_argument("--n-trials", type=positive_int, help="the study's budget of finished trials")
    p.set_defaults(run=run)


def worker_slots(args: argparse.Namespace, hardware: Any, devices: int = 1) -> list[dict[str, str]]:
    """The environment of each worker: its GPU(s), or a share of the CPU cores.

    With `devices` > 1 per trial, consecutive GPUs form one worker's DDP group
    (0,1 and 2,3 for devices = 2); a worker's ranks share its CPU share.
    """
    gpus = parse_gpus(args.gpus) if args.gpus else list(hardware.gpus)
    check_gpus_exist(gpus, f"--gpus {args.gpus}" if args.gpus else f"[hardware] gpus = {gpus}")
    per_gpu = args.workers_per_gpu or hardware.workers_per_gpu
    if gpus:
        if len(gpus) % devices:
            raise ValueError(
                f"--gpus {','.join(map(str, gpus))}: {len(gpus)} GPUs do not split into "
                f"groups of [hardware] devices={devices}; give a multiple of {devices}"
            )
        groups = [",".join(map(str, gpus[i : i + devices])) for i in range(0, len(gpus), devices)]
        return [{"CUDA_VISIBLE_DEVICES": g} for g in groups for _ in range(per_gpu)]
    count = args.workers or hardware.workers
    threads = max(1, (os.cpu_count() or 1) // (count * devices))  # no oversubscription
    return [{"CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": str(threads)}] * count


def parse_gpus(text: str) -> list[int]:
    """`--gpus 0,1,3`: device indices, one clear line for anything else."""
    try:
        gpus = [int(g) for g in text.split(",")]
    except ValueError:
        raise ValueError(f"--gpus {text}: give GPU indices separated by commas, e.g. 0,1") from None
    if any(g < 0 for g in gpus) or len(set(gpus)) != len(gpus):
        raise ValueError(f"--gpus {text}: indices must be distinct and 0 or more")
    return gpus


def check_gpus_exist(gpus: list[int], source: str) -> None:
    """Workers pinned to GPUs this machine lacks would train on the CPU without a word
    (CUDA_VISIBLE_DEVICES=7 with no GPU 7 leaves torch on the CPU): one line instead."""
    if not gpus:
        return  # CPU workers: no CUDA or NVML query at all
    have = physical_gpu_count()
    if have is None:
        return
    fix = "leave out --gpus" if source.startswith("--") else "remove [hardware] gpus"
    if have == 0:
        raise ValueError(
            f"{source}: no CUDA GPU is visible on this machine; {fix} to run CPU workers "
            "([hardware] workers, --workers)"
        )
    if max(gpus) >= have:
        raise ValueError(f"{source}: this machine has {have} GPU(s), indices 0-{have - 1}")


def physical_gpu_count() -> int | None:
    """GPUs on this machine whatever this process's CUDA_VISIBLE_DEVICES says: launch
    replaces it for each worker with physical indices. None: cannot tell (no NVML)."""
    import torch

    if os.environ.get("CUDA_VISIBLE_DEVICES") is None:
        return torch.cuda.device_count()
    try:  # NVML counts the machine's GPUs, ignoring the variable; -1 or OSError: no NVML
        count = int(torch.cuda._raw_device_count_nvml())
    except (AttributeError, OSError, RuntimeError):
        count = -1
    if count >= 0:
        return count
    if torch.cuda.is_available() or any(Path("/dev").glob("nvidia[0-9]*")):
        return None  # GPUs there, but how many is unknown: trust the indices
    return 0


def run(args: argparse.Namespace) -> int:
    from studies.artifacts import open_artifact_store
    from studies.commands.search import print_summary
    from studies.config import load_config
    from studies.runner import create_or_join
    from studies.search import check_dataset
    from studies.storage import open_storage

    config = load_config(
        args.config, storage=args.storage, study_name=args.study_name, n_trials=args.n_trials
    )
    slots = worker_slots(args, config.hardware, config.train.devices)  # bad --gpus: no study yet
    open_artifact_store(config.study.artifacts, writable=True)  # a bad path: no study yet
    check_dataset(config)
    study = create_or_join(config, open_storage(config.study.storage))
    command = [sys.executable, "-m", "studies", "search", str(args.config), "--no-progress",
               "--no-summary", "--study-name", config.study.name]  # fmt: skip
    if args.n_trials:
        command += ["--n-trials", str(args.n_trials)]
    print(f"launching {len(slots)} worker(s) on study {config.study.name!r}", flush=True)
    codes = run_workers(command, slots, config.study.storage)
    print_summary(study, top=5)
    return max(codes, default=0)


def run_workers(command: list[str], slots: list[dict[str, str]], storage: str) -> list[int]:
    procs = []
    for index, extra in enumerate(slots):
        env = {**os.environ, **extra, STORAGE_ENV: storage, "SHORTCUT_NAS_WORKER": str(index)}
        procs.append(subprocess.Popen(command, env=env, start_new_session=True))

    def forward(signum: int, frame: Any) -> None:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signum)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        return [proc.wait() for proc in procs]
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
