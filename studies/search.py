"""`search(config)`: the Python form of `shortcut-nas search` (one worker process)."""

from __future__ import annotations

import functools
import gc
import logging
import os

import optuna
from tqdm.auto import tqdm

from lightning_modules import make_datamodule
from studies.artifacts import open_artifact_store
from studies.commands.search import trial_line, write_line
from studies.config import StudyConfig
from studies.distributed import Ranks, join_ranks, under_torchrun
from studies.errors import Preempted, TrialFailure
from studies.notes import flush_notes
from studies.objective import Objective, follow
from studies.runner import create_or_join, finished_count, run_worker, spends_budget
from studies.storage import SearchStorage, open_storage


def check_supported(config: StudyConfig) -> None:
    """Refuse, before the study is touched, what would crash every trial.

    A trial on several devices needs its ranks started by torchrun (ours or the
    user's); an accelerator this machine lacks would fail each trial inside
    Lightning with a long traceback (and a FAILed trial in the study).
    """
    accelerator = config.train.accelerator
    if accelerator in ("gpu", "cuda") and not gpu_visible():
        raise ValueError(
            f'[hardware] accelerator = "{accelerator}" but no CUDA GPU is visible on this '
            f'machine; use "auto" (GPU when there is one) or "cpu", or check CUDA_VISIBLE_DEVICES'
        )
    devices = config.train.devices
    if devices > 1 and not under_torchrun():
        raise ValueError(
            f"[hardware] devices={devices} trains each trial on {devices} DDP ranks, which "
            f"torchrun starts: run `shortcut-nas search CONFIG` (it starts them) or "
            f"`torchrun --nproc-per-node {devices} -m studies search CONFIG`"
        )


def gpu_visible() -> bool:
    import torch

    return torch.cuda.is_available()


def check_dataset(config: StudyConfig) -> None:
    """Read the data once before the study is touched: a missing data set is one clear error."""
    datamodule = make_datamodule(config.data, batch_size=config.train.batch_size)
    datamodule.prepare_data()
    datamodule.setup("fit")


class ExplainedFailures(logging.Filter):
    """Drop Optuna's traceback for a trial failure we already explain in one line.

    Optuna logs every failed trial as a warning with the full traceback, then "Trial
    N failed with value None."; for a diverged loss, out of memory or a pre-emption
    our own line (the per-trial line, or the command's last line) already says what
    happened and what to do, so those ~20 lines are noise. Any other error keeps
    Optuna's traceback: it is a bug to report.
    """

    EXPLAINED = (TrialFailure, Preempted)

    def __init__(self) -> None:
        super().__init__()
        self.dropped: set[str] = set()  # "Trial N" of a dropped traceback

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        trial = " ".join(message.split()[:2])
        if record.exc_info and isinstance(record.exc_info[1], self.EXPLAINED):
            self.dropped.add(trial)
            return False
        if trial in self.dropped and message.endswith("failed with value None."):
            self.dropped.discard(trial)
            return False
        return True


@functools.cache  # once per process: Optuna's logger keeps the filter
def quiet_explained_failures() -> None:
    logging.getLogger("optuna.study._optimize").addFilter(ExplainedFailures())


@functools.cache  # once per process: what is frozen is never collected
def freeze_startup_objects() -> None:
    """Leave the objects start-up made out of every later garbage collection (gc.freeze).

    Imports leave ~1M long-lived objects (torch, Lightning, Optuna, SQLAlchemy) that
    every full collection walks: ~200 ms each, landing in whichever trial step is
    running (a 12-trial digits search here had one of 217 ms, 0.5 % of its time).
    Frozen, they are skipped; what trials allocate is still collected as usual.
    """
    gc.freeze()


def search(
    config: StudyConfig,
    progress: bool = True,
    sampler: optuna.samplers.BaseSampler | None = None,
    pruner: optuna.pruners.BasePruner | None = None,
) -> optuna.Study | None:
    """Create or join the study and run trials until it holds `n_trials` finished trials.

    Under torchrun (one trial on several devices) rank 0 runs the study and returns
    it; the other ranks train what rank 0 announces and return None.
    """
    check_supported(config)
    if not under_torchrun():
        return run_study(config, None, progress, sampler, pruner)
    ranks = join_ranks(config.train.accelerator)
    study = run_study(config, ranks, progress, sampler, pruner)
    ranks.leave()  # a clean end only: after a failure a peer may be gone, and NCCL's
    return study  # teardown could wait for it; such an exit is non-zero anyway


def run_study(
    config: StudyConfig,
    ranks: Ranks | None,
    progress: bool,
    sampler: optuna.samplers.BaseSampler | None,
    pruner: optuna.pruners.BasePruner | None,
) -> optuna.Study | None:
    """`search` once this process knows its rank (None: not under torchrun)."""
    store = open_artifact_store(config.study.artifacts, writable=True)  # before any download
    if int(os.environ.get("LOCAL_RANK", "0")) == 0:
        check_dataset(config)  # once per machine: it may download
    objective = Objective(config, store, ranks)
    freeze_startup_objects()
    if ranks is not None and not ranks.is_leader:
        follow(objective)
        return None
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # we print one line per trial instead
    quiet_explained_failures()
    storage = SearchStorage(open_storage(config.study.storage))
    study = create_or_join(config, storage, sampler, pruner)
    budget = config.study.n_trials
    bar = tqdm(
        total=budget, initial=min(finished_count(study), budget or 0), unit="trial",
        desc=config.study.name, disable=not progress, dynamic_ncols=True,
    )  # fmt: skip

    metric_names = study.metric_names or list(config.study.objectives)

    def on_trial(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        line = trial_line(metric_names, trial)
        bar.write(line) if progress else write_line(line)
        if spends_budget(trial):
            bar.update(1)

    try:
        run_worker(
            study, objective, budget=budget, timeout=config.study.timeout,
            catch=(TrialFailure,), on_trial=on_trial,
        )  # fmt: skip
    except Preempted as stop:
        stop.enqueue_retry(study)  # nothing stays RUNNING; the next worker resumes it
        raise
    finally:
        flush_notes()
        bar.close()
    if ranks is not None:
        ranks.broadcast(None)  # the other ranks exit (only on a clean end: see distributed.py)
    return study
