"""The SQL fast paths (counts, arch lookup, batched attributes) agree with Optuna's own API."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from optuna.storages import RetryHeartbeatStaleTrialCallback
from optuna.trial import TrialState

from studies.storage import (
    SearchStorage,
    completed_with_attr,
    count_before,
    count_final_failures,
    count_states,
    open_storage,
    set_user_attrs,
)

ALIVE = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING, TrialState.WAITING)


def populate(study: optuna.Study) -> None:
    """Trials 0-6 in every state; arch 'a' COMPLETE twice (1 and 4), 'b' once, 'c' FAILed
    for good."""
    done, running = TrialState.COMPLETE, TrialState.RUNNING
    plan = [("x", TrialState.PRUNED), ("a", done), ("b", done), ("c", TrialState.FAIL),
            ("a", done), ("d", running)]  # fmt: skip
    for arch, state in plan:
        trial = study.ask()
        set_user_attrs(trial, {"arch": arch, "details": {"nested": [1, 2.5, "x"]}})
        if state is TrialState.FAIL:
            study._storage.set_trial_system_attr(trial._trial_id, "final_failure", True)
        if state is not TrialState.RUNNING:
            study.tell(trial, 0.5 if state is TrialState.COMPLETE else None, state=state)
    study.enqueue_trial({})


def check_agrees_with_optuna(study: optuna.Study) -> None:
    trials = study.get_trials(deepcopy=False)
    expected = {s: sum(1 for t in trials if t.state is s) for s in {t.state for t in trials}}
    assert count_states(study) == expected
    for number in range(len(trials) + 1):
        assert count_before(study, number, ALIVE) == sum(
            1 for t in trials if t.state in ALIVE and t.number < number
        )
    assert completed_with_attr(study, "arch", "a", exclude=-1).number == 1  # type: ignore[union-attr]
    assert completed_with_attr(study, "arch", "a", exclude=1).number == 4  # type: ignore[union-attr]
    assert completed_with_attr(study, "arch", "c", exclude=-1) is None, "FAIL is not reused"
    assert completed_with_attr(study, "arch", "zzz", exclude=-1) is None
    assert trials[1].user_attrs == {"arch": "a", "details": {"nested": [1, 2.5, "x"]}}
    assert (
        count_final_failures(study) == 1 == sum("final_failure" in t.system_attrs for t in trials)
    )


def test_sql_fast_paths_on_sqlite(tmp_path: Path) -> None:
    study = optuna.create_study(
        storage=open_storage(f"sqlite:///{tmp_path / 's.db'}", heartbeat_interval=None)
    )
    populate(study)
    check_agrees_with_optuna(study)


@pytest.mark.postgres
def test_sql_fast_paths_on_postgresql(pg_url: str) -> None:
    study = optuna.create_study(storage=open_storage(pg_url, heartbeat_interval=None))
    populate(study)
    check_agrees_with_optuna(study)


def test_other_storages_take_optuna_s_way() -> None:
    study = optuna.create_study()  # in memory
    populate(study)
    check_agrees_with_optuna(study)


def check_batched_attributes(study: optuna.Study) -> None:
    """Upsert semantics as Optuna's set_user_attr: new keys added, old ones replaced; a
    finished trial refuses."""
    trial = study.ask()
    set_user_attrs(trial, {"a": 1, "b": "two"})
    set_user_attrs(trial, {"b": [3], "c": {"x": 4.5}})
    assert trial.user_attrs == {"a": 1, "b": [3], "c": {"x": 4.5}}
    assert study.trials[trial.number].user_attrs == {"a": 1, "b": [3], "c": {"x": 4.5}}
    study.tell(trial, 1.0)
    with pytest.raises(RuntimeError, match="finished"):
        set_user_attrs(trial, {"a": 2})
    assert study.trials[trial.number].user_attrs["a"] == 1


def test_batched_attributes_on_sqlite(tmp_path: Path) -> None:
    storage = open_storage(f"sqlite:///{tmp_path / 's.db'}", heartbeat_interval=None)
    check_batched_attributes(optuna.create_study(storage=storage))


@pytest.mark.postgres
def test_batched_attributes_on_postgresql(pg_url: str) -> None:
    check_batched_attributes(
        optuna.create_study(storage=open_storage(pg_url, heartbeat_interval=None))
    )


def test_batched_attributes_in_memory() -> None:
    check_batched_attributes(optuna.create_study())


def check_system_attrs_read(url: str) -> None:
    """SearchStorage's one-query read of a trial's system attributes is Optuna's answer,
    for running, attribute-less and finished trials; a missing trial is a KeyError."""
    backend = open_storage(url, heartbeat_interval=None)
    hyperband = optuna.pruners.HyperbandPruner(min_resource=1, max_resource=4)
    study = optuna.create_study(storage=SearchStorage(backend), pruner=hyperband)
    bare = study.ask()  # no system attributes at all
    running = study.ask()
    for step, value in enumerate([0.3, 0.5, 0.6, 0.7]):
        running.report(value, step)
        assert not running.should_prune()  # Hyperband writes completed_rung_* as it goes
    finished = study.ask()
    study._storage.set_trial_system_attr(finished._trial_id, "nested", {"a": [1, 2.5]})
    study.tell(finished, 0.9)
    for trial in (bare, running, finished):
        expected = backend.get_trial(trial._trial_id).system_attrs
        assert study._storage.get_trial_system_attrs(trial._trial_id) == expected
    rungs = study._storage.get_trial_system_attrs(running._trial_id)
    assert any(k.startswith("completed_rung_") for k in rungs)
    assert study._storage.get_trial_system_attrs(finished._trial_id)["nested"] == {"a": [1, 2.5]}
    with pytest.raises(KeyError):
        study._storage.get_trial_system_attrs(10_000)


def test_system_attrs_read_on_sqlite(tmp_path: Path) -> None:
    check_system_attrs_read(f"sqlite:///{tmp_path / 's.db'}")


@pytest.mark.postgres
def test_system_attrs_read_on_postgresql(pg_url: str) -> None:
    check_system_attrs_read(pg_url)


def test_the_budget_counts_final_failures_and_a_retried_one_once(tmp_path: Path) -> None:
    """run_worker's budget: a pre-empted trial and its retry are one trial; a failure for good
    spends budget (before: not counted, so an all-diverging space never ended); a crash the
    user fixes before running again spends none."""
    from studies.errors import TrialFailure
    from studies.objective import fail
    from studies.runner import finished_count, run_worker

    storage = open_storage(f"sqlite:///{tmp_path / 's.db'}", heartbeat_interval=None)
    study = optuna.create_study(storage=storage)
    preempted = study.ask()
    study.tell(preempted, state=TrialState.FAIL)
    RetryHeartbeatStaleTrialCallback(max_retry=3)(study, study.trials[0])
    assert finished_count(study) == 0

    run_worker(study, lambda trial: 1.0, budget=2)
    assert [t.state for t in study.trials] == [TrialState.FAIL] + [TrialState.COMPLETE] * 2
    assert finished_count(study) == 2

    def crashes(trial: optuna.trial.Trial) -> float:
        raise RuntimeError("a bug, or a config the user fixes")

    with pytest.raises(RuntimeError):
        run_worker(study, crashes, budget=4, catch=(TrialFailure,))
    assert finished_count(study) == 2

    def diverges(trial: optuna.trial.Trial) -> float:
        raise fail(trial, "non-finite loss")

    run_worker(study, diverges, budget=4, catch=(TrialFailure,))
    assert [t.state for t in study.trials[4:]] == [TrialState.FAIL] * 2
    assert finished_count(study) == 4


def test_a_surplus_trial_spends_no_budget(write_config) -> None:  # type: ignore[no-untyped-def]
    """Two workers racing to the last slot: the later trial is FAILed as surplus, and that
    FAIL is not counted as a finished trial."""
    from studies.config import load_config
    from studies.errors import TrialFailure
    from studies.objective import Objective
    from studies.runner import create_or_join, finished_count

    config = load_config(write_config(n_trials=1))
    study = create_or_join(config, open_storage(config.study.storage, heartbeat_interval=None))
    study.add_trial(optuna.create_trial(value=0.5))  # another worker's, holding the budget
    study.optimize(Objective(config, store=None), n_trials=1, catch=(TrialFailure,))
    surplus = study.trials[1]
    assert surplus.state is TrialState.FAIL and "surplus" in surplus.user_attrs["fail_reason"]
    assert finished_count(study) == 1


def test_workers_and_resumed_runs_draw_different_proposals(
    tmp_path: Path, write_config, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """One seed for every worker made `launch --workers 2` train the same architectures
    at once, and a resume re-propose the first run's (TPE's first trials are random)."""
    from search_space import suggest
    from studies.config import load_config
    from studies.runner import create_or_join

    config = load_config(write_config(n_trials=4, shortcuts='["none", "identity", "dense"]'))

    def first_proposals(db: str, worker: str) -> list[str]:
        monkeypatch.setenv("SHORTCUT_NAS_WORKER", worker)
        storage = open_storage(f"sqlite:///{tmp_path / db}", heartbeat_interval=None)
        study = create_or_join(config, storage)
        trials = [study.ask() for _ in range(3)]
        archs = [suggest(trial, config.space).to_str() for trial in trials]
        for trial in trials:
            study.tell(trial, state=TrialState.FAIL)  # a crash: spends no budget
        return archs

    alone = first_proposals("a.db", "")
    assert first_proposals("b.db", "") == alone, "a fresh study's only worker: reproducible"
    assert first_proposals("c.db", "1") != alone, "a second worker draws its own"
    assert first_proposals("a.db", "") != alone, "a resumed run (trials held) draws anew"


def test_joining_with_another_training_setup_warns_in_one_line(write_config, capsys) -> None:  # type: ignore[no-untyped-def]
    from studies.config import load_config
    from studies.runner import create_or_join

    first = load_config(write_config(epochs=2))
    storage = open_storage(first.study.storage, heartbeat_interval=None)
    create_or_join(first, storage)
    create_or_join(first, storage)
    assert capsys.readouterr().err == "", "the same config joins quietly"
    create_or_join(load_config(write_config(epochs=3)), storage)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "[training] (epochs 2 -> 3)" in err[0] and "--study-name" in err[0]
