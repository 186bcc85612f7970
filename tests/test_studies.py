"""Studies end to end: search on SQLite and PostgreSQL, resume, duplicates, queries, export."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import optuna
import pytest
import torch
from optuna.trial import TrialState
from sklearn.datasets import load_digits

from lightning_modules import DataConfig, load_module, make_datamodule
from search_space import load_model
from studies.artifacts import open_artifact_store
from studies.checkpoints import fetch_checkpoint
from studies.cli import main
from studies.config import load_config
from studies.queries import best_rows, export_trial, open_study
from studies.search import search

RECORDED = ("arch", "depth", "params", "macs", "epochs", "val_acc", "best_val_acc", "test_acc",
            "train_seconds", "grad_init_ratio", "grad_end_ratio", "seed", "host", "device",
            "details", "checkpoint", "model_artifact")  # fmt: skip
DETAILS = ("versions", "grad_init_units", "grad_end_units", "val_loss", "dataset", "batch_size")


def finished(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    return study.get_trials(states=(TrialState.COMPLETE, TrialState.PRUNED))


def check_search(config_path: Path, storage: str | None = None) -> optuna.Study:
    config = load_config(config_path, storage=storage)
    study = search(config, progress=False)
    trials = finished(study)
    assert len(trials) == config.study.n_trials
    assert not study.get_trials(states=(TrialState.RUNNING, TrialState.WAITING))
    trained = [t for t in trials if "reused_from_trial" not in t.user_attrs]
    for trial in trained:
        missing = [k for k in RECORDED if k not in trial.user_attrs]
        assert not missing, (trial.number, missing)
        assert not [k for k in DETAILS if k not in trial.user_attrs["details"]]
        assert trial.user_attrs["epochs"] == config.train.epochs
    assert study.user_attrs["space_fingerprint"] == config.fingerprint
    assert study.user_attrs["config"]["space"] == config.space.to_dict()
    return study


def test_search_on_sqlite(write_config, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    path = write_config(n_trials=3)
    assert main(["search", str(path), "--no-progress"]) == 0
    out = capsys.readouterr().out
    rows = len(
        best_rows(optuna.load_study(study_name="tiny", storage=load_config(path).study.storage))
    )
    assert out.count("COMPLETE") >= 1 and f"best {rows} architecture" in out
    check_search(path)  # same command again: the study is complete, nothing more runs


@pytest.mark.postgres
def test_search_on_postgresql(write_config, pg_url: str) -> None:  # type: ignore[no-untyped-def]
    study = check_search(write_config(n_trials=3, storage=pg_url))
    assert study.study_name == "tiny"
    assert open_study(pg_url, "tiny").user_attrs["space_fingerprint"]


def test_resume_adds_trials_to_the_same_study(write_config) -> None:  # type: ignore[no-untyped-def]
    path = write_config(n_trials=4)
    first = [t.number for t in finished(search(load_config(path, n_trials=2), progress=False))]
    assert first == [0, 1]
    again = search(load_config(path), progress=False)
    assert [t.number for t in finished(again)] == [0, 1, 2, 3]
    assert len(optuna.get_all_study_summaries(load_config(path).study.storage)) == 1


def test_duplicate_architectures_are_not_retrained(write_config) -> None:  # type: ignore[no-untyped-def]
    # A space of exactly one network: every trial after the first must reuse it.
    path = write_config(n_trials=3, shortcuts='["identity"]')
    config = load_config(path)
    config = config.replace(
        space=config.space.__class__(**{**config.space.to_dict(), "depth": (6, 6)})
    )
    study = search(config, progress=False)
    trials = finished(study)
    assert len({t.user_attrs["arch"] for t in trials}) == 1
    reused = [t for t in trials if "reused_from_trial" in t.user_attrs]
    assert len(reused) == 2 and all(t.user_attrs["reused_from_trial"] == 0 for t in reused)
    assert all("model_artifact" not in t.user_attrs for t in reused)
    assert len({tuple(t.values) for t in trials}) == 1


def test_fingerprint_mismatch_is_refused(write_config, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    path = write_config(n_trials=1)
    assert main(["search", str(path), "--no-progress"]) == 0
    changed = write_config(n_trials=2, shortcuts='["identity"]')
    capsys.readouterr()
    assert main(["search", str(changed), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "was created with search space" in err[0], err
    study = open_study(load_config(path).study.storage, "tiny")
    assert len(study.trials) == 1, "a refused join must not touch the study"


def test_best_export_rebuild_round_trip(write_config, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = write_config(n_trials=2)
    config = load_config(path)
    study = search(config, progress=False)
    capsys.readouterr()
    assert main(["best", str(path), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["rank"] == 1 and rows == best_rows(study)
    out = tmp_path / "export"
    assert main(["export", str(path), "-o", str(out)]) == 0
    model = load_model(out)  # plain PyTorch: no Lightning, no Optuna
    capsys.readouterr()
    elsewhere = ["--artifacts", str(tmp_path / "nowhere"), "-o", str(tmp_path / "e")]
    assert main(["export", str(path), *elsewhere]) == 2
    assert main(["export", str(path), "-o", str(path)]) == 2  # a file, not a directory
    assert main(["export", str(path), "--trial", "999", "-o", str(tmp_path / "e")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and "not in the artifact store" in err[0] and "is a file" in err[1]
    assert "has no trial 999 (trials 0-1)" in err[2]
    assert model.spec.to_str() == rows[0]["arch"]
    # The same predictions as the trial's last epoch checkpoint, loaded through Lightning.
    best = study.trials[rows[0]["trial"]]
    store = open_artifact_store(config.study.artifacts)
    ckpt = fetch_checkpoint(
        store, best.user_attrs["checkpoint"]["artifact_id"], tmp_path / "c.ckpt"
    )
    module = load_module(ckpt).eval()
    dm = make_datamodule(DataConfig(), batch_size=64)
    dm.setup("fit")
    x, _ = next(iter(dm.val_dataloader()))
    with torch.no_grad():
        torch.testing.assert_close(model(x), module(x), rtol=0, atol=0)
    again = export_trial(study, config.study.artifacts, tmp_path / "again")
    assert (again / "model.pt").read_bytes() == (out / "model.pt").read_bytes()
    # spec.json says how to scale raw inputs: the same numbers training fed the network.
    recipe = json.loads((out / "spec.json").read_text())["preprocess"]
    raw = torch.from_numpy(load_digits().images).to(torch.uint8).unsqueeze(1)
    mean = torch.tensor(recipe["mean"]).view(-1, 1, 1)
    std = torch.tensor(recipe["std"]).view(-1, 1, 1)
    by_recipe = (raw.float() / recipe["scale"] - mean) / std
    torch.testing.assert_close(by_recipe, dm.normalize(raw), rtol=1e-6, atol=1e-6)


def test_the_export_recipe_of_a_tabular_regression_study() -> None:
    """Features and targets standardised with the training split's statistics: the
    export carries them (re-read from the stored data config)."""
    import dataclasses

    from studies.queries import preprocess

    data = DataConfig(dataset="diabetes")
    study = optuna.create_study()
    study.set_user_attr("config", {"data": dataclasses.asdict(data)})
    recipe = preprocess(study)
    dm = make_datamodule(data, batch_size=1)
    dm.setup("fit")
    assert recipe["mean"] == dm.normalize.mean.flatten().tolist() and len(recipe["mean"]) == 10
    assert recipe["std"] == dm.normalize.std.flatten().tolist()
    assert (recipe["target_mean"], recipe["target_std"]) == (dm.target_mean, dm.target_std)
    assert recipe["target_std"] > 1.0, "diabetes targets are in the tens to hundreds"


def test_multi_objective_pareto_front(write_config, capsys) -> None:  # type: ignore[no-untyped-def]
    path = write_config(n_trials=4, objectives='["val_acc", "params"]', pruner="auto")
    study = search(load_config(path), progress=False)
    assert len(study.directions) == 2
    lines = [line for line in capsys.readouterr().out.splitlines() if " COMPLETE " in line]
    assert lines and all(line.count("params=") == 1 and "e+" not in line for line in lines)
    assert main(["best", str(path), "--pareto", "--json"]) == 0
    front = json.loads(capsys.readouterr().out)
    assert {r["trial"] for r in front} <= {t.number for t in study.best_trials}
    assert front and all(len(r["values"]) == 2 for r in front)


def test_optuna_cli_reads_the_study(write_config) -> None:  # type: ignore[no-untyped-def]
    path = write_config(n_trials=2)
    config = load_config(path)
    search(config, progress=False)
    optuna_cli = Path(sys.executable).with_name("optuna")
    base = ["--study-name", "tiny", "--storage", config.study.storage, "-f", "json"]
    best = subprocess.run([optuna_cli, "best-trial", *base], capture_output=True, text=True)
    assert best.returncode == 0, best.stderr
    assert json.loads(best.stdout)["user_attrs"]["arch"]
    trials = subprocess.run([optuna_cli, "trials", *base], capture_output=True, text=True)
    assert trials.returncode == 0 and len(json.loads(trials.stdout)) == 2


# What `best`, `status` and --help ran with torch and Lightning imported: ~5 s of a 5.3 s `best`.
HEAVY = ("torch", "lightning", "torchvision", "sklearn", "optuna_integration")


def test_query_commands_answer_without_importing_torch(write_config) -> None:  # type: ignore[no-untyped-def]
    path = write_config(n_trials=1)
    search(load_config(path), progress=False)
    code = f"""
import contextlib, io, sys
from studies.cli import main
with contextlib.redirect_stdout(io.StringIO()) as out:
    assert main(["best", {str(path)!r}, "--json"]) == 0
    assert main(["status", {str(path)!r}]) == 0
    for command in ([], ["search"], ["best"], ["export"], ["train"], ["launch"]):
        with contextlib.suppress(SystemExit):
            main([*command, "--help"])
assert '"arch"' in out.getvalue() and "usage: shortcut-nas" in out.getvalue()
print(sorted(name for name in {HEAVY!r} if name in sys.modules))
"""
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


def test_dashboard_note_describes_the_architecture(write_config) -> None:  # type: ignore[no-untyped-def]
    from optuna_dashboard import get_note

    study = search(load_config(write_config(n_trials=1)), progress=False)
    trial = study.trials[0]
    note = get_note(optuna.trial.Trial(study, trial._trial_id))
    assert trial.user_attrs["arch"] in note and "| params |" in note


def test_long_notes_use_optuna_dashboards_layout() -> None:
    """Our writer replicates the dashboard's keys (it need not be installed on workers):
    a note longer than one system attribute reads back whole through the dashboard."""
    from optuna_dashboard import get_note
    from optuna_dashboard._note import note_ver_key, split_body

    from studies.notes import note_attrs, write_note

    study = optuna.create_study(storage=optuna.storages.InMemoryStorage())
    trial = study.ask()
    body = "".join(f"| row {i} | {'x' * 40} |\n" for i in range(120))  # > 2 chunks
    assert note_attrs(trial._trial_id, body) == {
        note_ver_key(trial._trial_id): 1,
        **split_body(body, trial._trial_id),
    }
    write_note(trial, body)
    assert get_note(trial) == body


def test_unreachable_storage_is_one_line_without_password(write_config, capsys) -> None:  # type: ignore[no-untyped-def]
    path = write_config()
    url = "postgresql+psycopg://user:s3cret-pw@127.0.0.1:1/nowhere"
    assert main(["search", str(path), "--storage", url, "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "cannot open storage" in err
    assert "s3cret-pw" not in err and "user:***@" in err


@pytest.mark.parametrize(
    ("storage", "expected"),
    [
        ("sqlite:///{tmp}/none.db", "no database at"),  # before: created an empty one
        ("sqlite://", "empty in-memory database"),
        ("postgresql+psycopg2://user:s3cret-pw@127.0.0.1/x", "needs the 'psycopg2' driver"),
        ("mysql://user:s3cret-pw@127.0.0.1/x", "driver, which is not installed"),
    ],
)
def test_queries_on_a_storage_they_cannot_read_are_one_line(  # type: ignore[no-untyped-def]
    storage: str, expected: str, tmp_path: Path, capsys
) -> None:
    storage = storage.format(tmp=tmp_path)
    for command in ("status", "best"):
        assert main([command, "--storage", storage, "--study-name", "x"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and expected in err[0] and "s3cret-pw" not in err[0]
    assert not list(tmp_path.iterdir()), "nothing created"


def test_a_table_of_no_rows_is_a_usage_error(capsys) -> None:  # type: ignore[no-untyped-def]
    for argv in (["best", "--top", "0"], ["best", "-k", "-1"], ["search", "x.toml", "--top", "0"]):
        with pytest.raises(SystemExit) as stop:
            main(argv)
        assert stop.value.code == 2
        assert "must be 1 or more" in capsys.readouterr().err


def test_unknown_study_lists_the_existing_ones(write_config, capsys) -> None:  # type: ignore[no-untyped-def]
    path = write_config(n_trials=1)
    search(load_config(path), progress=False)
    storage = load_config(path).study.storage
    capsys.readouterr()
    assert main(["best", "--storage", storage, "--study-name", "nope"]) == 2
    err = capsys.readouterr().err
    assert "no study 'nope'" in err and "studies there: tiny" in err


def test_gpu_indices_that_are_not_numbers_are_one_line(write_config, capsys) -> None:  # type: ignore[no-untyped-def]
    path = write_config()
    assert main(["launch", str(path), "--gpus", "a,b"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "shortcut-nas: error: --gpus a,b: give GPU indices separated by commas, e.g. 0,1"
    ]
    assert not (path.parent / "study.db").exists(), "refused before the study was made"


def test_gpus_that_do_not_split_into_ddp_groups_are_refused(
    write_config, capsys, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 4)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    path = write_config()
    path.write_text(path.read_text() + '\n[hardware]\ndevices = 2\naccelerator = "cpu"\n')
    assert main(["launch", str(path), "--gpus", "0,1,2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "groups of [hardware] devices=2" in err[0]
    assert not (path.parent / "study.db").exists(), "refused before the study was made"


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_gpus_this_machine_lacks_are_one_line(write_config, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Before: `launch --gpus 0` without a GPU trained on the CPU without a word."""
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    path = write_config()
    assert main(["launch", str(path), "--gpus", "0"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "shortcut-nas: error: --gpus 0: no CUDA GPU is visible on this machine; leave out "
        "--gpus to run CPU workers ([hardware] workers, --workers)"
    ]
    path.write_text(path.read_text() + "\n[hardware]\ngpus = [0]\n")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")  # set, and NVML is not there to ask
    assert main(["launch", str(path), "--workers", "2"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "shortcut-nas: error: [hardware] gpus = [0]: no CUDA GPU is visible on this machine; "
        "remove [hardware] gpus to run CPU workers ([hardware] workers, --workers)"
    ]
    assert not (path.parent / "study.db").exists(), "refused before the study was made"


def test_gpu_indices_past_the_machines_gpus_are_one_line(write_config, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Counted from the machine, also when CUDA_VISIBLE_DEVICES hides some of them (launch
    replaces the variable for each worker with the physical indices)."""
    path = write_config()
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert main(["launch", str(path), "--gpus", "0,3"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "shortcut-nas: error: --gpus 0,3: this machine has 2 GPU(s), indices 0-1"
    ]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")  # this process sees one of the two
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "_raw_device_count_nvml", lambda: 2, raising=False)
    assert main(["launch", str(path), "--gpus", "0,7"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "shortcut-nas: error: --gpus 0,7: this machine has 2 GPU(s), indices 0-1"
    ]
    assert not (path.parent / "study.db").exists(), "refused before the study was made"


def test_an_artifacts_path_that_cannot_be_a_directory_is_one_line(
    write_config, tmp_path: Path, capsys
) -> None:  # type: ignore[no-untyped-def]
    """Before: a bare OSError naming neither the setting nor the fix."""
    (tmp_path / "taken").write_text("a file, not a directory")
    path = write_config(artifacts=str(tmp_path / "taken" / "artifacts"))
    for command in (["search", str(path), "--no-progress"], ["launch", str(path)]):
        assert main(command) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith(
            f"shortcut-nas: error: [study] artifacts = '{tmp_path / 'taken' / 'artifacts'}' "
            "cannot be used as the checkpoint directory ("
        ), err
        assert err[0].endswith("choose a directory you can write to, or s3://BUCKET"), err
    assert not (tmp_path / "study.db").exists(), "refused before the study was made"


def test_a_checkpoint_directory_the_search_cannot_write_is_one_line(
    write_config, tmp_path: Path, capsys, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """A directory that exists but is not writable (root passes permission checks here, so
    os.access answers as it would for a user); queries still read such a store."""
    import os

    import studies.artifacts

    path = write_config(n_trials=1, epochs=1)
    search(load_config(path), progress=False)

    class NoWriteAccess:  # the os module as studies.artifacts sees it, denying writes
        def __getattr__(self, name: str) -> Any:
            return getattr(os, name)

        @staticmethod
        def access(*args: Any) -> bool:
            return False

    monkeypatch.setattr(studies.artifacts, "os", NoWriteAccess())
    for command in (
        ["search", str(path), "--no-progress", "--n-trials", "2"],
        ["launch", str(path)],
    ):
        assert main(command) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert (
            len(err) == 1
            and "cannot be used as the checkpoint directory (permission denied)" in err[0]
        )
    assert main(["export", str(path), "--output", str(tmp_path / "out")]) == 0, "reading works"
    assert (
        len(load_config(path).study.storage)
        and optuna.load_study(study_name="tiny", storage=load_config(path).study.storage)
        .trials[-1]
        .number
        == 0
    ), "nothing was added to the study"


def test_dashboard_serves_the_study_on_localhost(write_config, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import socket
    import urllib.request

    path = write_config(n_trials=1)
    search(load_config(path), progress=False)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "studies", "dashboard", str(path), "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        body = ""
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies", timeout=2) as r:
                    body = r.read().decode()
                break
            except OSError:
                time.sleep(0.2)
        assert '"tiny"' in body, body
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}" in out


def test_a_dashboard_port_in_use_is_one_line(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    import socket

    storage = f"sqlite:///{tmp_path / 'd.db'}"
    optuna.create_study(study_name="d", storage=storage)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["dashboard", "--storage", storage, "--port", str(port)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"shortcut-nas: error: port {port} on 127.0.0.1 is in use (another "
                   "dashboard?); pass a free --port"]  # fmt: skip
