"""One trial on several devices: Lightning DDP, with rank 0 the only Optuna client.

How the ranks start: `torchrun` (torch.distributed.run), the launcher that also
spans machines. `shortcut-nas search` with ``[hardware] devices > 1`` re-executes
itself under ``torchrun --standalone --nproc-per-node DEVICES`` when it is not
already running under torchrun, so one machine needs no extra command; for
several machines, `scripts/torchrun_multinode.sh` runs torchrun on each node.

Rank 0 runs the study exactly like a one-device worker: it samples the spec,
reuses a known architecture, records results, and holds the heartbeat. When it
decides to train, it broadcasts a `TrainPlan` (arch, checkpoint to
resume from) and every other rank builds the same Trainer and trains the same
network. The other ranks never open the study's storage, so nodes other than the
first need no database access. Pruning goes through optuna-integration's
`TorchDistributedTrial`: rank 0 reports and decides, the decision is broadcast,
and all ranks raise `TrialPruned` at the same epoch (a rank that stopped alone
would leave the others waiting in an all-reduce). When rank 0's worker loop ends
it broadcasts ``None`` and the other ranks exit; if any rank dies, torchrun stops
the rest (and rank 0's SIGTERM fails and re-enqueues its trial).
"""

from __future__ import annotations

import datetime
import os
import signal
import sys
import threading
from dataclasses import dataclass
from typing import Any

import lightning.pytorch as L
import optuna
import torch
import torch.distributed as dist

from studies.pruning import is_last_epoch, monitored_score

TORCHRUN_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE")
# Rank 0 may wait a long time between trials (other workers' last trials); the control
# group's broadcasts must outlast that. Dead ranks are torchrun's to detect, not a timeout's.
CONTROL_TIMEOUT = datetime.timedelta(hours=48)
# How a rank that stopped for a signal exits (see studies.cli.main).
STOP_CODES = {128 + signal.SIGTERM: "SIGTERM", 128 + signal.SIGINT: "SIGINT"}


def under_torchrun() -> bool:
    """True inside a process torchrun started (its environment names rank and world)."""
    return all(name in os.environ for name in TORCHRUN_VARS)


def torchrun_args(devices: int, argv: list[str]) -> list[str]:
    """torchrun's arguments for this command again as `devices` ranks on this machine."""
    return ["--standalone", f"--nproc-per-node={devices}", "--module", "studies", *argv]


def torchrun_command(devices: int, argv: list[str]) -> list[str]:
    """The same as a command line (a free port is picked)."""
    return [sys.executable, "-m", "torch.distributed.run", *torchrun_args(devices, argv)]


def run_ranks(devices: int, argv: list[str]) -> int:
    """Run `shortcut-nas ARGV` as `devices` ranks with torchrun, in this process.

    In-process rather than exec'd so that torchrun's own ways of stopping (a
    signal, a rank that failed) end in one line and an exit code, not its traceback.
    torchrun passes SIGINT/SIGTERM on to every rank; rank 0 fails and re-enqueues
    its trial (see `studies.objective.Preempted`).
    """
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args, run

    try:
        run(parse_args(torchrun_args(devices, argv)))
    except SignalException as stop:
        print(f"stopped by {stop.sigval.name}; the trial was failed and enqueued again",
              file=sys.stderr)  # fmt: skip
        return 128 + int(stop.sigval)
    except ChildFailedError as failed:
        rank, failure = failed.get_first_failure()
        if failure.exitcode in STOP_CODES:  # signalled alone (not through torchrun)
            name = STOP_CODES[failure.exitcode]
            print(f"DDP rank {rank} stopped by {name}; the trial was failed and enqueued again",
                  file=sys.stderr)  # fmt: skip
            return failure.exitcode
        print(f"DDP rank {rank} exited with code {failure.exitcode}; its error is printed above",
              file=sys.stderr)  # fmt: skip
        return 1
    return 0


@dataclass(frozen=True)
class TrainPlan:
    """What rank 0 tells the other ranks before each trial it trains."""

    arch: str
    resume_artifact: str | None  # the checkpoint every rank loads (from the artifact store)
    prune: bool  # whether ranks report through a TorchDistributedTrial this trial


@dataclass
class Ranks:
    """This process's place in the torchrun world, and a gloo group for Python objects."""

    rank: int
    world_size: int
    local_world_size: int
    control: Any  # torch.distributed.ProcessGroup (gloo: objects travel on the CPU)
    owns_world: bool = False  # join_ranks started the default group, so `leave` ends it

    @property
    def is_leader(self) -> bool:
        return self.rank == 0

    @property
    def num_nodes(self) -> int:
        return self.world_size // self.local_world_size

    def trainer_kwargs(self) -> dict[str, Any]:
        """Lightning's topology must match torchrun's, or it refuses to start."""
        return {"strategy": "ddp", "devices": self.local_world_size, "num_nodes": self.num_nodes}

    def broadcast(self, value: Any = None) -> Any:
        box = [value if self.is_leader else None]
        dist.broadcast_object_list(box, src=0, group=self.control)
        return box[0]

    def leave(self) -> None:
        """Destroy the groups before the interpreter exits.

        A process that exits with a gloo group alive can abort in gloo's worker
        threads during interpreter teardown ("terminate called without an active
        exception", pytorch/pytorch#190489): torchrun then reports a failed rank and
        stops the others, although every trial was recorded.
        """
        dist.destroy_process_group(self.control)
        if self.owns_world:
            dist.destroy_process_group()

    def distributed_trial(self, trial: optuna.trial.Trial | None) -> Any:
        from optuna_integration import TorchDistributedTrial

        return TorchDistributedTrial(trial if self.is_leader else None, group=self.control)


def join_ranks(accelerator: str) -> Ranks:
    """Initialise torch.distributed from torchrun's environment (NCCL on GPUs, else gloo).

    Lightning finds the process group already there and uses it for every trial.
    """
    on_gpu = torch.cuda.is_available() and accelerator in ("auto", "gpu", "cuda")
    owns_world = not dist.is_initialized()
    if owns_world:
        if on_gpu:
            torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
        dist.init_process_group(backend="nccl" if on_gpu else "gloo")
    control = dist.new_group(backend="gloo", timeout=CONTROL_TIMEOUT)
    return Ranks(
        rank=dist.get_rank(), world_size=dist.get_world_size(),
        local_world_size=int(os.environ["LOCAL_WORLD_SIZE"]), control=control,
        owns_world=owns_world,
    )  # fmt: skip


class DistributedPruning(L.Callback):
    """Report the monitored metric each epoch; all ranks stop together when rank 0 prunes.

    optuna-integration's `PyTorchLightningPruningCallback` expects every rank to
    hold the Optuna trial (and its storage); here only rank 0 does, so reporting
    goes through `TorchDistributedTrial`, whose `should_prune` is broadcast.
    The metric is already reduced across ranks (see ShortcutModule), so every
    rank sees the same value.
    """

    def __init__(self, trial: Any, monitor: str) -> None:
        self.trial = trial
        self.monitor = monitor

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        value = monitored_score(trainer, self.monitor)
        if value is None:
            return
        epoch = trainer.current_epoch
        self.trial.report(value, step=epoch)
        if not is_last_epoch(trainer, epoch) and self.trial.should_prune():
            raise optuna.TrialPruned(f"trial {self.trial.number} pruned at epoch {epoch}")


# Set by StopAtRankZeroStep's handler: this rank was sent SIGTERM during training.
SIGNALLED = threading.Event()


class StopAtRankZeroStep(L.Callback):
    """SIGTERM under DDP without a deadlock or a lone rank: every rank stops at the same step.

    Lightning's own SIGTERM handler runs `dist.broadcast` inside the signal handler;
    torchrun signals every rank, so each rank adds a broadcast at a random point of
    its collective sequence and the ranks can wait on each other forever (seen here
    on 2 CPU ranks: killed after torchrun's 30 s grace, trial left RUNNING).

    Lightning also reads its flag on each rank alone (after every training batch,
    at epoch end, during validation). The ranks are signalled one after another
    (torchrun) or in any order (a node's pre-emption), so a rank signalled first
    could stop alone and rank 0's next all-reduce would fail with "Connection closed
    by peer": the trial FAILed as an error, with no retry (seen in CI under load;
    reproduced by signalling rank 1 first). So only rank 0 raises Lightning's flag;
    the other ranks only note the signal (`SIGNALLED`) and stop when Lightning
    broadcasts rank 0's flag before the next training step. Should rank 0 stop at one
    of its own checks instead, the others' next collective fails, and `follow`
    makes that a quiet exit for a signalled rank.

    Installed at train start, just after Lightning installs its handler (which it
    restores at teardown, so ours goes with it).
    """

    def __init__(self, is_leader: bool) -> None:
        self.is_leader = is_leader

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        connector = trainer._signal_connector  # Lightning's flag, read by its loops
        is_leader = self.is_leader

        def flag(signum: int, frame: Any) -> None:
            SIGNALLED.set()
            if is_leader:
                connector.received_sigterm = True

        signal.signal(signal.SIGTERM, flag)
