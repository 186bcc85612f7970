"""`search(config)`: the Python form of `shortcut-nas search` (one worker process)."""

from __future__ import annotations

import optuna
from tqdm.auto import tqdm

from lightning_modules import make_datamodule
from studies.checkpoints import open_artifact_store
from studies.commands.search import trial_line, write_line
from studies.config import StudyConfig
from studies.objective import Objective, Preempted, TrialFailure
from studies.runner import FINISHED, create_or_join, finished_count, run_worker
from studies.storage import open_storage


def check_supported(config: StudyConfig) -> None:
    """One trial on several devices needs rank 0 to own the Optuna trial (not built yet)."""
    if config.train.devices > 1:
        raise ValueError(
            f"[hardware] devices={config.train.devices}: training one trial on several devices "
            "is not supported yet; set devices = 1 and use `shortcut-nas launch --gpus` to run "
            "one trial per device"
        )


def check_dataset(config: StudyConfig) -> None:
    """Read the data once before the study is touched: a missing data set is one clear error."""
    datamodule = make_datamodule(config.data, batch_size=config.train.batch_size)
    datamodule.prepare_data()
    datamodule.setup("fit")


def search(config: StudyConfig, progress: bool = True) -> optuna.Study:
    """Create or join the study and run trials until it holds `n_trials` finished trials."""
    check_supported(config)
    check_dataset(config)
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # we print one line per trial instead
    study = create_or_join(config, open_storage(config.study.storage))
    budget = config.study.n_trials
    bar = tqdm(
        total=budget, initial=min(finished_count(study), budget or 0), unit="trial",
        desc=config.study.name, disable=not progress, dynamic_ncols=True,
    )  # fmt: skip

    def on_trial(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        line = trial_line(study, trial)
        bar.write(line) if progress else write_line(line)
        if trial.state in FINISHED:
            bar.update(1)

    try:
        run_worker(
            study, Objective(config, open_artifact_store(config.study.artifacts)),
            budget=budget, timeout=config.study.timeout, catch=(TrialFailure,), on_trial=on_trial,
        )  # fmt: skip
    except Preempted as stop:
        stop.enqueue_retry(study)  # nothing stays RUNNING; the next worker resumes it
        raise
    finally:
        bar.close()
    return study
