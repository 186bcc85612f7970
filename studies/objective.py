"""The objective: it reads like the recipe -- sample, skip if known, train, record.

Every trial stores as user attributes what DESIGN.md lists (arch, params, MACs,
depth, epochs, accuracies, train time, gradient statistics, seed, host, device,
package versions, checkpoint), so the study answers questions without us:
`optuna trials`, optuna-dashboard and pandas all read the same attributes.
"""

from __future__ import annotations

import functools
import math
import os
import platform
import signal
import socket
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

import optuna
from optuna.storages import RetryHeartbeatStaleTrialCallback

from lightning_modules import TrainingRun, train_architecture
from search_space import ArchitectureSpec, suggest
from studies.artifacts import MODEL_ATTR, ArtifactStore
from studies.checkpoints import (
    ArtifactCheckpoint,
    FinalWeights,
    checkpoint_plugins,
    fetch_checkpoint,
)
from studies.config import StudyConfig
from studies.distributed import (
    SIGNALLED,
    DistributedPruning,
    Ranks,
    StopAtRankZeroStep,
    TrainPlan,
)
from studies.errors import Preempted, TrialFailure
from studies.notes import save_trial_note
from studies.pruning import OverlappedPruning
from studies.runner import is_surplus
from studies.storage import FINAL_FAIL_KEY, completed_with_attr, set_user_attrs

REUSED_FROM = "reused_from_trial"  # user attribute of a trial that did not retrain a known arch
# Files belong to the trial that trained them; a reusing trial points to it through REUSED_FROM.
NOT_COPIED = ("checkpoint", "checkpoint_seconds", "model_artifact", "worker", REUSED_FROM)


class Objective:
    """Callable for `study.optimize`: one trial = one architecture trained once.

    With `ranks` (a DDP trial under torchrun) this runs on rank 0 only; the other
    ranks run `follow`, training what `train` announces.
    """

    def __init__(
        self, config: StudyConfig, store: ArtifactStore | None = None, ranks: Ranks | None = None
    ) -> None:
        self.config = config
        self.store = store
        self.ranks = ranks

    def __call__(self, trial: optuna.trial.Trial) -> float | tuple[float, ...]:
        if is_surplus(trial, self.config.study.n_trials):
            trial.study.stop()
            trial.set_user_attr("fail_reason", "surplus: other workers hold the whole budget")
            raise TrialFailure(f"trial {trial.number} is surplus")  # spends no budget
        spec = suggest(trial, self.config.space)
        set_user_attrs(trial, {"arch": spec.to_str(), "worker": worker_identity(self.ranks)})
        known = completed_trial_with_arch(trial.study, spec, exclude=trial.number)
        if known is not None:
            return reuse(trial, known)
        metrics = self.train(trial, spec)
        record(trial, metrics)
        save_trial_note(trial, spec, metrics)
        return objective_values(metrics, self.config.study.objectives)

    def train(self, trial: optuna.trial.Trial, spec: ArchitectureSpec) -> dict[str, Any]:
        plan = TrainPlan(
            arch=spec.to_str(), resume_artifact=self.resume_artifact(trial),
            prune=not isinstance(trial.study.pruner, optuna.pruners.NopPruner),
        )  # fmt: skip
        if self.ranks is not None:
            self.ranks.broadcast(plan)  # the other ranks now train the same plan
        with tempfile.TemporaryDirectory() as tmp:
            return self._fit(trial, spec, self.training_run(plan, Path(tmp), trial))

    def resume_artifact(self, trial: optuna.trial.Trial) -> str | None:
        """The artifact id of the last epoch checkpoint of the trial this one retries.

        A retry (Optuna's heartbeat callback, or our pre-emption handling) copies the
        failed trial's user attributes, `checkpoint` included.
        """
        saved = trial.user_attrs.get("checkpoint")
        if self.store is None or not saved:
            return None
        trial.set_user_attr("resumed_from", {**saved, "trial": retried_from(trial)})
        return str(saved["artifact_id"])

    def training_run(
        self, plan: TrainPlan, tmp: Path, trial: optuna.trial.Trial | None = None
    ) -> TrainingRun:
        """The same run on every rank; only the rank holding `trial` writes to the study."""
        resume = None
        if plan.resume_artifact and self.store is not None:
            resume = str(fetch_checkpoint(self.store, plan.resume_artifact, tmp / "resume.ckpt"))
        kwargs: dict[str, Any] = self.ranks.trainer_kwargs() if self.ranks else {}
        if self.store is not None and trial is not None:
            kwargs["plugins"] = checkpoint_plugins(trial, self.store)
        return TrainingRun(
            data=self.config.data, train=self.config.train, resume_from=resume,
            callbacks=self.callbacks(plan, trial), trainer_kwargs=kwargs,
        )  # fmt: skip

    def _fit(
        self, trial: optuna.trial.Trial, spec: ArchitectureSpec, run: TrainingRun
    ) -> dict[str, Any]:
        try:
            metrics = {**train_architecture(spec.to_str(), run), **callback_attrs(run)}
        except SystemExit as stop:  # Lightning's SIGTERMException and its Ctrl-C handling
            raise preempted(trial, stop) from None
        except optuna.TrialPruned as pruned:
            record(trial, {**getattr(pruned, "partial_metrics", {}), **callback_attrs(run)})
            trial.set_user_attr("state_reason", "pruned by " + type(trial.study.pruner).__name__)
            raise
        except FloatingPointError as error:
            raise fail(trial, f"non-finite loss: {error}") from error
        except RuntimeError as error:
            if "out of memory" not in str(error).lower():
                raise
            raise fail(trial, "out of memory: lower training.batch_size or the space") from error
        check_finite(trial, metrics)
        return metrics

    def callbacks(self, plan: TrainPlan, trial: optuna.trial.Trial | None) -> list[Any]:
        callbacks: list[Any] = (
            [StopAtRankZeroStep(self.ranks.is_leader)] if self.ranks is not None else []
        )
        if self.store is not None:
            callbacks.append(ArtifactCheckpoint(trial))  # every rank joins the save's barrier
            if trial is not None:
                callbacks.append(FinalWeights(trial, self.store))
        if not plan.prune:
            return callbacks
        monitor = self.config.study.objectives[0].removeprefix("best_")
        if self.ranks is not None:
            callbacks.append(DistributedPruning(self.ranks.distributed_trial(trial), monitor))
        elif trial is not None:  # one process: it holds the trial
            callbacks.append(OverlappedPruning(trial, monitor=monitor))
        return callbacks


def callback_attrs(run: TrainingRun) -> dict[str, Any]:
    """What our callbacks learnt (checkpoint time, the model's artifact id), for `record`."""
    attrs: dict[str, Any] = {}
    for callback in run.callbacks:
        if hasattr(callback, "trial_attrs"):
            attrs.update(callback.trial_attrs())
    return attrs


def follow(objective: Objective) -> None:
    """DDP ranks other than 0: train each plan rank 0 announces, until it announces None."""
    assert objective.ranks is not None and not objective.ranks.is_leader
    while (plan := objective.ranks.broadcast()) is not None:
        with tempfile.TemporaryDirectory() as tmp:
            try:
                train_architecture(plan.arch, objective.training_run(plan, Path(tmp)))
            except (optuna.TrialPruned, FloatingPointError):
                continue  # rank 0 saw the same (broadcast decision, reduced loss) and records it
            except Exception:
                if SIGNALLED.is_set():  # rank 0 stopped for the signal first and left
                    raise SystemExit(128 + signal.SIGTERM) from None
                raise


def retried_from(trial: optuna.trial.Trial) -> int | None:
    frozen = trial.study._storage.get_trial(trial._trial_id)
    return RetryHeartbeatStaleTrialCallback.retried_trial_number(frozen)


def preempted(trial: optuna.trial.Trial, stop: BaseException) -> Preempted:
    signal_name = "SIGTERM" if type(stop).__name__ == "SIGTERMException" else "SIGINT"
    saved = trial.user_attrs.get("checkpoint") or {}
    reason = f"pre-empted by {signal_name}; its retry resumes at epoch {saved.get('epoch', -1) + 1}"
    trial.set_user_attr("fail_reason", reason)
    return Preempted(f"trial {trial.number} {reason}", trial._trial_id, signal_name)


def completed_trial_with_arch(
    study: optuna.Study, spec: ArchitectureSpec, exclude: int
) -> optuna.trial.FrozenTrial | None:
    """The first COMPLETE trial of this study that trained the same network."""
    return completed_with_attr(study, "arch", spec.to_str(), exclude)


def reuse(trial: optuna.trial.Trial, known: optuna.trial.FrozenTrial) -> float | tuple[float, ...]:
    """Copy a finished trial's results instead of training the same network again."""
    copied = {k: v for k, v in known.user_attrs.items() if k not in NOT_COPIED}
    set_user_attrs(trial, {**copied, REUSED_FROM: known.number})
    values = tuple(known.values)
    return values[0] if len(values) == 1 else values


# Read by `best`, the notes and people filtering in the dashboard: one attribute each.
TOP_LEVEL = ("params", "macs", "depth", "epochs", "val_acc", "best_val_acc", "test_acc",
             "val_rmse", "best_val_rmse", "test_rmse", "train_seconds", "seed", "host", "device",
             "grad_init_ratio", "grad_end_ratio", "checkpoint_seconds", MODEL_ATTR)  # fmt: skip


def record(trial: optuna.trial.Trial, metrics: dict[str, Any]) -> None:
    """The metrics as user attributes: the often-read ones one by one, the rest (per-unit
    gradient profiles, losses, run details) in one ``details`` dict; all in one
    transaction."""
    top: dict[str, Any] = {}
    details: dict[str, Any] = {}
    for key, value in metrics.items():
        if isinstance(value, float) and not math.isfinite(value):
            value = str(value)  # JSON has no inf/nan; keep them readable
        if key in TOP_LEVEL:
            top[key] = value
        elif key != "arch":
            details[key] = value
    details["versions"] = package_versions()
    set_user_attrs(trial, {**top, "details": details})


def objective_values(metrics: dict[str, Any], objectives: tuple[str, ...] | list[str]) -> Any:
    values = tuple(float(metrics[name]) for name in objectives)
    return values[0] if len(values) == 1 else values


def check_finite(trial: optuna.trial.Trial, metrics: dict[str, Any]) -> None:
    for key in ("val_loss", "train_loss"):
        value = metrics.get(key)
        if value is not None and not math.isfinite(float(value)):
            raise fail(trial, f"{key} is {value}: lower training.lr or add gradient clipping")


def fail(trial: optuna.trial.Trial, reason: str) -> TrialFailure:
    """A trial that failed for good: it spends budget, unlike a crash (see studies.runner)."""
    trial.set_user_attr("fail_reason", reason)
    trial.study._storage.set_trial_system_attr(trial._trial_id, FINAL_FAIL_KEY, True)
    return TrialFailure(f"trial {trial.number} failed: {reason}")


def worker_identity(ranks: Ranks | None = None) -> dict[str, Any]:
    """Who runs the trial: what `shortcut-nas status` shows for RUNNING trials."""
    gpus = os.environ.get("CUDA_VISIBLE_DEVICES")
    device = f"cuda (CUDA_VISIBLE_DEVICES={gpus})" if gpus else "cpu"
    if ranks is not None:
        device += f" x{ranks.world_size} DDP ranks on {ranks.num_nodes} node(s)"
    return {"host": socket.gethostname(), "pid": os.getpid(), "device": device,
            "worker": os.environ.get("SHORTCUT_NAS_WORKER")}  # fmt: skip


@functools.cache  # metadata lookups scan site-packages: once per process, not per trial
def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in ("shortcut-nas", "torch", "lightning", "optuna", "optuna-integration"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions
