"""Create or join a study, and run one worker on it until the study's budget is met.

The budget (`n_trials`) is the number of *finished* trials the study should hold,
not the number this process runs: COMPLETE, PRUNED, and FAIL for good (a diverged
loss, out of memory: `studies.objective.fail`). So the same command run again
resumes an interrupted search, any number of workers on any number of machines
share one budget, a trial whose worker died or was pre-empted (FAIL, retried as a
new trial) counts once, a crash the user fixes before running again costs nothing,
and a space in which every trial diverges ends after `n_trials` instead of running
forever.

A worker keeps going while trials are missing; when none are, it still waits
for trials RUNNING elsewhere: if one of their workers has died, its heartbeat
goes stale, the trial is failed, a retry is enqueued, and a live worker must be
there to run it.
"""

from __future__ import annotations

import os
import sys
import time
import zlib
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np
import optuna
from optuna.storages import fail_stale_trials
from optuna.trial import FrozenTrial, TrialState

from studies.config import StudyConfig
from studies.storage import FINAL_FAIL_KEY, count_before, count_final_failures, count_states

FINGERPRINT_ATTR = "space_fingerprint"
CONFIG_ATTR = "config"
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)  # and FAILs marked final_failure
# A worker waiting for others' last trials checks again after FIRST_POLL seconds, then
# 1.5x longer each time up to POLL_SECONDS: it leaves soon after a short trial ends
# (a fixed 2 s kept it ~1 s on average past the end), and a long wait costs a query
# every 2 s, not several a second.
FIRST_POLL_SECONDS = 0.05
POLL_SECONDS = 2.0


def make_sampler(name: str, seed: int | None) -> optuna.samplers.BaseSampler:
    """TPE by default; constant_liar keeps parallel workers from proposing the same point."""
    if name == "tpe":
        return optuna.samplers.TPESampler(
            seed=seed, multivariate=True, group=True, constant_liar=True, n_startup_trials=5
        )
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "grid":  # BruteForce handles define-by-run conditional spaces; GridSampler cannot
        return optuna.samplers.BruteForceSampler(seed=seed)
    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed)
    raise ValueError(f"sampler={name!r} is not allowed; choose one of tpe, random, grid, nsga2")


def make_pruner(name: str, epochs: int) -> optuna.pruners.BasePruner:
    if name in ("hyperband", "auto"):
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=epochs)
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1)
    return optuna.pruners.NopPruner()


def create_or_join(
    config: StudyConfig,
    storage: Any,
    sampler: optuna.samplers.BaseSampler | None = None,
    pruner: optuna.pruners.BasePruner | None = None,
) -> optuna.Study:
    """The study of `config`, created on first use; refused if its search space differs.

    `sampler` and `pruner` replace the config's choice (Python users may pass any
    Optuna sampler or pruner; Optuna keeps neither in the storage, so each worker
    brings its own).
    """
    settings = config.study
    study = optuna.create_study(
        study_name=settings.name,
        storage=storage,
        directions=config.directions,  # type: ignore[arg-type]  # 'maximize'/'minimize'
        sampler=sampler or make_sampler(settings.sampler, settings.seed),
        pruner=pruner or make_pruner(settings.pruner_kind, config.train.epochs),
        load_if_exists=True,
    )
    check_compatible(study, config)
    warn_changed_training(study, config)
    if sampler is None and settings.seed is not None:
        study.sampler = make_sampler(settings.sampler, worker_seed(settings.seed, study))
    if FINGERPRINT_ATTR not in study.user_attrs:
        study.set_user_attr(FINGERPRINT_ATTR, config.fingerprint)
        study.set_user_attr(CONFIG_ATTR, config.to_dict())
        study.set_metric_names(list(settings.objectives))
    return study


def warn_changed_training(study: optuna.Study, config: StudyConfig) -> None:
    """One line when `[training]` differs from the study's first config: its trials are
    then not comparable (a 3-epoch search reusing 2-epoch results), yet a changed loader
    setting is legitimate, so it is a warning, not a refusal like `[space]`."""
    stored = study.user_attrs.get(CONFIG_ATTR, {}).get("training")
    if stored is None:
        return
    now = config.to_dict()["training"]
    changed = [f"{k} {stored.get(k)!r} -> {v!r}" for k, v in now.items() if stored.get(k) != v]
    if changed:
        print(
            f"shortcut-nas: warning: study {study.study_name!r} was created with another "
            f"[training] ({', '.join(changed)}); its results are not comparable across that "
            "change: use a new --study-name to keep them apart",
            file=sys.stderr,
        )


def worker_seed(seed: int, study: optuna.Study) -> int:
    """The config's seed for the first worker of a fresh study; a derived one for the rest.

    With one seed for all, workers started together (`launch`) and every resumed run
    replay the same proposals (TPE's first trials are random draws from the seed): two
    workers trained the same architectures at once, and a resume re-proposed the first
    run's. Mixed in: the worker's index (set by `launch`) and how many trials the
    study held when this worker joined, so a single fresh search stays reproducible.
    """
    name = os.environ.get("SHORTCUT_NAS_WORKER", "")
    worker = int(name) if name.isdigit() else zlib.crc32(name.encode())  # "" -> 0
    held = sum(count_states(study).values())
    if worker == 0 and held == 0:
        return seed
    return int(np.random.SeedSequence([seed, worker, held]).generate_state(1)[0])


def check_compatible(study: optuna.Study, config: StudyConfig) -> None:
    stored = study.user_attrs.get(FINGERPRINT_ATTR)
    if stored is not None and stored != config.fingerprint:
        raise ValueError(
            f"study {study.study_name!r} was created with search space {stored}, this config's "
            f"[space] is {config.fingerprint}; use the original [space] or a new --study-name"
        )
    wanted = [d.lower() for d in config.directions]
    have = [d.name.lower() for d in study.directions]
    if have != wanted:
        raise ValueError(
            f"study {study.study_name!r} optimises {have}, this config asks for {wanted} "
            f"(objectives {list(config.study.objectives)}); use a new --study-name"
        )


def state_counts(study: optuna.Study) -> Counter[TrialState]:
    return Counter(count_states(study))


def finished_count(study: optuna.Study, counts: Counter[TrialState] | None = None) -> int:
    """Trials that spent budget: COMPLETE, PRUNED, and FAILed for good."""
    counts = state_counts(study) if counts is None else counts
    return sum(counts[s] for s in FINISHED) + count_final_failures(study)


def spends_budget(trial: FrozenTrial) -> bool:
    """Whether a finished trial counts against `n_trials` (see the module's docstring)."""
    return trial.state in FINISHED or FINAL_FAIL_KEY in trial.system_attrs


def is_surplus(trial: optuna.trial.Trial, budget: int | None) -> bool:
    """True if `budget` live trials with smaller numbers exist (two workers raced to the last)."""
    if budget is None:
        return False
    alive = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING, TrialState.WAITING)
    return count_before(trial.study, trial.number, alive) >= budget


def run_worker(
    study: optuna.Study,
    objective: Callable[[optuna.trial.Trial], Any],
    *,
    budget: int | None,
    timeout: float | None = None,
    catch: tuple[type[Exception], ...] = (),
    on_trial: Callable[[optuna.Study, FrozenTrial], None] | None = None,
    poll: float = POLL_SECONDS,
) -> None:
    """Run trials until the study holds `budget` finished trials (or `timeout` passes).

    `catch`: errors that FAIL a trial and go on to the next; any other error propagates.
    Only FAILs marked `final_failure` spend budget (see the module's docstring).
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    callbacks = [on_trial] if on_trial else []
    wait = first_wait = min(FIRST_POLL_SECONDS, poll)
    while deadline is None or time.monotonic() < deadline:
        fail_stale_trials(study)  # also what enqueues retries of trials whose worker died
        counts = state_counts(study)
        finished = finished_count(study, counts)
        planned = finished + counts[TrialState.RUNNING] + counts[TrialState.WAITING]
        if counts[TrialState.WAITING] or budget is None or planned < budget:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            study.optimize(
                objective, n_trials=1, timeout=remaining, catch=catch, callbacks=callbacks
            )
            wait = first_wait
            continue
        if counts[TrialState.RUNNING] == 0:
            return
        time.sleep(wait)  # others are still training; one may die and need a retry
        wait = min(wait * 1.5, poll)
