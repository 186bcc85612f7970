"""Pruning with its storage calls overlapped: the same decisions, at the same epochs."""

from __future__ import annotations

import threading
import time

import lightning.pytorch as L
import optuna
import pytest
from optuna.trial import FrozenTrial, TrialState

from studies.config import load_config
from studies.search import search


class PruneAt(optuna.pruners.BasePruner):
    """Prunes every trial once it has reported `step` (or raises, to test errors)."""

    def __init__(self, step: int, error: bool = False) -> None:
        self.step, self.error = step, error

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        if self.error:
            raise RuntimeError("pruner exploded")
        return trial.last_step == self.step


@pytest.mark.parametrize("step", [1, 2])  # a middle epoch, the one before the last
def test_a_trial_is_pruned_at_the_epoch_the_pruner_names(write_config, step: int) -> None:  # type: ignore[no-untyped-def]
    config = load_config(write_config(n_trials=1, epochs=4, shortcuts='["identity"]'))
    study = search(config, progress=False, pruner=PruneAt(step))
    assert study is not None
    (trial,) = study.trials
    assert trial.state == TrialState.PRUNED
    assert sorted(trial.intermediate_values) == list(range(step + 1)), "no report after pruning"
    assert trial.user_attrs["epochs"] == step + 1
    assert trial.user_attrs["checkpoint"]["epoch"] == step, "its last epoch stays resumable"
    assert "model_artifact" not in trial.user_attrs, "a pruned trial saves no final model"
    assert not _threads_named("pruning"), "fit ended by TrialPruned still ends the thread"


def test_a_trial_that_trained_every_epoch_is_never_pruned(write_config) -> None:  # type: ignore[no-untyped-def]
    """The last epoch is reported but not put to the pruner: before, a trial that had
    trained in full was recorded PRUNED (Hyperband's top rung is at the last epoch)."""
    config = load_config(write_config(n_trials=1, epochs=4, shortcuts='["identity"]'))
    study = search(config, progress=False, pruner=PruneAt(3))
    assert study is not None
    (trial,) = study.trials
    assert trial.state == TrialState.COMPLETE
    assert sorted(trial.intermediate_values) == [0, 1, 2, 3]
    assert trial.user_attrs["epochs"] == 4 and "model_artifact" in trial.user_attrs
    assert not _threads_named("pruning")


def _threads_named(prefix: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(prefix)]


def test_an_error_in_the_pruner_fails_the_trial_and_reaches_the_caller(write_config) -> None:  # type: ignore[no-untyped-def]
    config = load_config(write_config(n_trials=1, epochs=3, shortcuts='["identity"]'))
    with pytest.raises(RuntimeError, match="pruner exploded"):
        search(config, progress=False, pruner=PruneAt(0, error=True))
    study = optuna.load_study(study_name="tiny", storage=config.study.storage)
    (trial,) = study.trials
    assert trial.state == TrialState.FAIL
    assert sorted(trial.intermediate_values) == [0], "the report before the error is kept"


def test_a_failed_test_pass_waits_for_the_final_weights_upload(write_config, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The upload runs in a thread during the test pass; when the test pass raises, the
    trial must not end (FAIL) while the upload still writes to it."""
    from studies import checkpoints
    from studies.objective import Objective

    save = checkpoints.FinalWeights._save

    def slow_save(self, meta, state):  # type: ignore[no-untyped-def]
        time.sleep(0.5)  # an upload to a slow store
        return save(self, meta, state)

    class BrokenTest(L.Callback):
        def on_test_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
            raise RuntimeError("test pass exploded")

    callbacks = Objective.callbacks
    monkeypatch.setattr(checkpoints.FinalWeights, "_save", slow_save)
    monkeypatch.setattr(Objective, "callbacks", lambda *a: [*callbacks(*a), BrokenTest()])
    config = load_config(write_config(n_trials=1, epochs=1, shortcuts='["identity"]'))
    with pytest.raises(RuntimeError, match="test pass exploded"):
        search(config, progress=False)
    assert not _threads_named("final-weights"), "the upload ended before the trial did"
    study = optuna.load_study(study_name="tiny", storage=config.study.storage)
    (trial,) = study.trials
    assert trial.state == TrialState.FAIL
    artifacts = optuna.artifacts.get_all_artifact_meta(trial, storage=study._storage)
    assert len(artifacts) == 1, "the trained weights are kept with the failed trial"
