"""Study configs: ready ones load, round trips hold, overrides win, each mistake is one line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lightning_modules import DATASETS
from search_space import PAPER_NETWORKS, build_model, check_input, paper_spec
from studies._redact import redact
from studies.config import (
    CONFIG_DIR,
    DEFAULT_STORAGE,
    OBJECTIVES,
    STORAGE_ENV,
    HardwareConfig,
    StudyConfig,
    load_config,
    ready_configs,
    resolve_storage,
)

READY = sorted(CONFIG_DIR.glob("*.toml"))
SECRET = "s3cr3t-pw"

# Every table filled with non-default values: what a round trip must carry through.
FULL: dict[str, Any] = {
    "study": {
        "name": "full", "storage": "sqlite:///full.db", "objectives": ["best_val_acc", "macs"],
        "sampler": "nsga2", "pruner": "none", "n_trials": 7, "timeout": 90.5, "seed": 3,
        "artifacts": "s3://bucket/runs",
    },
    "space": {
        "backbone": "conv", "shortcuts": ["identity", "dense"], "spans": [1, 2], "depth": [6, 22],
        "widths": [8], "growth_rates": [6], "compressions": [0.5], "stages": 2,
    },
    "training": {
        "epochs": 3, "batch_size": 32, "optimizer": "adamw", "lr": 0.01, "schedule": "onecycle",
        "label_smoothing": 0.1, "gradient_clip_val": 1.0, "grad_diagnostics": False,
    },
    "data": {"dataset": "digits", "val_fraction": 0.2, "split_seed": 4, "subset": 500},
    "hardware": {
        "accelerator": "cpu", "devices": 1, "precision": "32-true", "channels_last": False,
        "workers": 3, "gpus": [0, 1], "workers_per_gpu": 2,
    },
}  # fmt: skip


def with_(table: str, **values: Any) -> dict[str, Any]:
    """A minimal valid config with `values` set in `table`."""
    data: dict[str, Any] = {"study": {"name": "t", "n_trials": 2}}
    data.setdefault(table, {}).update(values)
    return data


@pytest.fixture(autouse=True)
def no_storage_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's own SHORTCUT_NAS_STORAGE must not leak into these tests."""
    monkeypatch.delenv(STORAGE_ENV, raising=False)


# -- the ready configs -----------------------------------------------------------------


def test_ready_configs_exist() -> None:
    names = {path.stem for path in ready_configs()}
    expected = {"digits_quick", "digits_pareto", "diabetes_mlp", "mnist_gpu", "cifar10_gpu"}
    assert expected <= names


@pytest.mark.parametrize("path", READY, ids=[p.stem for p in READY])
def test_ready_config_loads_and_every_spec_fits_its_data(path: Path) -> None:
    config = load_config(path)
    assert config.source == str(path)
    dataset = DATASETS[config.data.dataset]
    specs = list(config.space.specs())
    assert specs, "an empty space searches nothing"
    for spec in specs:
        check_input(spec, dataset.input_shape, dataset.num_classes)
    assert config.study.storage == StudyConfig.from_dict(config.to_dict()).study.storage
    assert SECRET not in path.read_text()
    assert redact(config.study.storage) == config.study.storage, "no password in a shipped file"


@pytest.mark.parametrize("path", READY, ids=[p.stem for p in READY])
def test_ready_config_round_trips(path: Path) -> None:
    config = load_config(path)
    again = StudyConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert again == dataclass_without_source(config)
    assert again.fingerprint == config.fingerprint


def test_ready_config_by_bare_name() -> None:
    assert load_config("digits_quick") == load_config(CONFIG_DIR / "digits_quick.toml")


def test_digits_quick_builds_its_largest_network() -> None:
    config = load_config("digits_quick")
    largest = max(config.space.specs(), key=lambda spec: int(spec.depth or 0))
    assert build_model(largest, DATASETS["digits"].input_shape, 10) is not None


def test_cifar10_space_holds_the_papers_cifar_networks() -> None:
    specs = set(load_config("cifar10_gpu").space.specs())
    for name in PAPER_NETWORKS:
        spec = paper_spec(name)
        if spec.shortcut.value != "highway":  # the Highway paper's net is an MLP-sized toy
            assert spec in specs, name


def test_gpu_configs_are_sized_for_gpus() -> None:
    for name in ("mnist_gpu", "cifar10_gpu"):
        config = load_config(name)
        assert config.hardware.accelerator == "gpu"
        assert config.hardware.gpus == (0,)
        assert config.data.download
        assert config.study.storage.startswith("postgresql+psycopg://")


def dataclass_without_source(config: StudyConfig) -> StudyConfig:
    return config.replace(source=None)


# -- defaults, round trips, directions ---------------------------------------------------


def test_default_config_is_valid_and_uses_digits() -> None:
    config = StudyConfig.from_dict({"study": {"name": "d", "n_trials": 1}})
    assert config.data.dataset == "digits"
    assert config.study.storage == DEFAULT_STORAGE
    assert config.directions == ["maximize"]
    assert config.study.pruner_kind == "hyperband"
    assert config.task == "classification"
    assert config.space.size() > 0


def test_full_config_round_trips_exactly() -> None:
    config = StudyConfig.from_dict(FULL)
    as_dict = config.to_dict()
    assert as_dict == json.loads(json.dumps(as_dict)), "JSON-serialisable, nothing lost"
    assert StudyConfig.from_dict(as_dict) == config
    for table, values in FULL.items():
        for key, value in values.items():
            assert as_dict[table][key] == value, (table, key)


def test_hardware_fields_are_merged_into_train() -> None:
    config = StudyConfig.from_dict(FULL)
    assert (config.train.accelerator, config.train.precision) == ("cpu", "32-true")
    assert config.train.channels_last is False
    assert "accelerator" not in config.to_dict()["training"]
    moved = config.replace(hardware=HardwareConfig(accelerator="gpu", devices=2))
    assert (moved.train.accelerator, moved.train.devices) == ("gpu", 2)


def test_an_int_is_accepted_where_a_float_is_expected() -> None:
    config = StudyConfig.from_dict(
        with_("training", lr=1) | {"study": {"name": "t", "timeout": 60}}
    )
    assert isinstance(config.train.lr, float) and config.train.lr == 1.0
    assert isinstance(config.study.timeout, float)


@pytest.mark.parametrize(
    ("objectives", "directions"),
    [
        (["val_acc"], ["maximize"]),
        (["val_acc", "params"], ["maximize", "minimize"]),
        (["val_loss", "best_val_acc", "train_seconds"], ["minimize", "maximize", "minimize"]),
    ],
)
def test_directions(objectives: list[str], directions: list[str]) -> None:
    config = StudyConfig.from_dict(
        {"study": {"name": "t", "n_trials": 1, "objectives": objectives}}
    )
    assert config.directions == directions
    assert config.study.pruner_kind == ("hyperband" if len(objectives) == 1 else "none")


def test_every_objective_has_a_direction() -> None:
    assert set(OBJECTIVES.values()) == {"maximize", "minimize"}


def test_regression_objectives() -> None:
    config = load_config("diabetes_mlp")
    assert config.task == "regression"
    assert config.directions == ["minimize"]


def test_worker_count() -> None:
    assert HardwareConfig(workers=3).worker_count == 3
    assert HardwareConfig(workers=3, gpus=(0, 2), workers_per_gpu=2).worker_count == 4


# -- overrides and storage precedence ----------------------------------------------------


def write(tmp_path: Path, text: str, name: str = "study.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_storage_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bare = write(tmp_path, '[study]\nname = "s"\nn_trials = 1\n', "bare.toml")
    filed = write(tmp_path, '[study]\nname = "s"\nn_trials = 1\nstorage = "sqlite:///file.db"\n')
    assert load_config(bare).study.storage == DEFAULT_STORAGE
    assert load_config(filed).study.storage == "sqlite:///file.db"
    monkeypatch.setenv(STORAGE_ENV, "sqlite:///env.db")
    assert load_config(filed).study.storage == "sqlite:///env.db"
    assert load_config(bare).study.storage == "sqlite:///env.db"
    assert load_config(filed, storage="sqlite:///arg.db").study.storage == "sqlite:///arg.db"
    monkeypatch.setenv(STORAGE_ENV, "")
    assert load_config(filed).study.storage == "sqlite:///file.db", "empty means unset"


def test_resolve_storage_without_a_config(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_storage() == DEFAULT_STORAGE
    monkeypatch.setenv(STORAGE_ENV, "sqlite:///env.db")
    assert resolve_storage() == "sqlite:///env.db"
    assert resolve_storage("sqlite:///arg.db") == "sqlite:///arg.db"


def test_overrides_win_and_are_checked(tmp_path: Path) -> None:
    path = write(tmp_path, '[study]\nname = "file-name"\n')  # no n_trials, no timeout
    with pytest.raises(ValueError, match=r"\[study\] n_trials and timeout"):
        load_config(path)
    config = load_config(path, study_name="flag-name", n_trials=5, timeout=30)
    assert (config.study.name, config.study.n_trials, config.study.timeout) == ("flag-name", 5, 30)
    with pytest.raises(ValueError, match=r"\[study\] n_trials=0"):
        load_config(path, n_trials=0)


def test_replace_checks_its_values() -> None:
    config = StudyConfig.from_dict(FULL)
    assert config.replace(n_trials=99, name="other").study.n_trials == 99
    with pytest.raises(ValueError, match=r"\[study\] n_trials='3'"):
        config.replace(n_trials="3")
    with pytest.raises(ValueError, match=r"\[study\] pruner='median'"):
        config.replace(pruner="median")  # two objectives
    with pytest.raises(ValueError, match="cannot override 'epochs'"):
        config.replace(epochs=3)


def test_password_never_reaches_the_stored_dict(monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"postgresql+psycopg://alice:{SECRET}@db.example:5432/nas"
    monkeypatch.setenv(STORAGE_ENV, url)
    config = load_config("digits_quick")
    assert config.study.storage == url, "the live config keeps the password to connect"
    stored = json.dumps(config.to_dict())
    assert SECRET not in stored
    assert "postgresql+psycopg://alice:***@db.example:5432/nas" in stored
    assert SECRET not in repr(StudyConfig.from_dict(config.to_dict()))


def test_a_bad_storage_url_is_reported_without_its_password() -> None:
    with pytest.raises(ValueError, match=r"\[study\] storage=") as info:
        StudyConfig.from_dict(with_("study", storage=f"alice:{SECRET}@db"))
    assert SECRET not in str(info.value)


# -- files -------------------------------------------------------------------------------


def test_toml_syntax_error_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[study]\nname = "unterminated\n', "broken.toml")
    with pytest.raises(ValueError, match="broken.toml: invalid TOML") as info:
        load_config(path)
    assert "\n" not in str(info.value)


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "study.toml"
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_config(path)
    with pytest.raises(FileNotFoundError, match="no_such_config"):
        load_config("no_such_config")


# -- every mistake is one line naming the table and the key ------------------------------

ERRORS: list[tuple[str, dict[str, Any], list[str]]] = [
    # tables and keys
    ("unknown-table", {"study": {"name": "t", "n_trials": 1}, "train": {}},
     ["unknown table [train]", "[training]"]),
    ("top-level-key", {"name": "t", "study": {"n_trials": 1}}, ["top-level key name", "[study]"]),
    ("table-not-a-table", {"study": 3}, ["top-level key study=3"]),
    ("unknown-study-key", with_("study", nme="x"), ["[study] unknown key 'nme'", "'name'"]),
    ("unknown-space-key", with_("space", depths=[5, 8]), ["[space] unknown key 'depths'"]),
    ("unknown-training-key", with_("training", epoch=3), ["[training] unknown key", "epochs"]),
    ("unknown-data-key", with_("data", set="digits"), ["[data] unknown key 'set'", "dataset"]),
    ("unknown-hardware-key", with_("hardware", gpu=[0]), ["[hardware] unknown key 'gpu'"]),
    ("hardware-key-in-training", with_("training", devices=2),
     ["[training] devices belongs in [hardware]"]),
    ("precision-in-training", with_("training", precision="bf16-mixed"),
     ["[training] precision belongs in [hardware]"]),
    ("data-key-in-study", with_("study", dataset="mnist"), ["[study] dataset belongs in [data]"]),
    # [study]
    ("missing-name", {"study": {"n_trials": 1}}, ["[study] name is required"]),
    ("missing-study", {}, ["[study] name is required"]),
    ("empty-name", with_("study", name=" "), ["[study] name=' '"]),
    ("name-not-str", with_("study", name=5), ["[study] name=5", "a string"]),
    ("empty-objectives", with_("study", objectives=[]), ["[study] objectives=[]"]),
    ("objectives-not-list", with_("study", objectives="val_acc"),
     ["[study] objectives='val_acc'", "a list of strings"]),
    ("duplicate-objective", with_("study", objectives=["val_acc", "val_acc"]),
     ["[study] objectives=", "val_acc twice"]),
    ("unknown-objective", with_("study", objectives=["accuracy"]),
     ["[study] objectives='accuracy'", "val_acc"]),
    ("too-many-objectives", with_("study", objectives=["val_acc", "params", "macs", "val_loss"]),
     ["[study] objectives=", "1 to 3"]),
    ("first-not-validation", with_("study", objectives=["params", "val_acc"]),
     ["[study] objectives[0]='params'", "validation metric"]),
    ("bad-sampler", with_("study", sampler="bayes"),
     ["[study] sampler='bayes' is not allowed; choose one of tpe, random, grid, nsga2"]),
    ("bad-pruner", with_("study", pruner="asha"), ["[study] pruner='asha'", "hyperband"]),
    ("pruner-with-two-objectives", with_("study", objectives=["val_acc", "params"],
                                         pruner="hyperband"),
     ["[study] pruner='hyperband'", 'pruner = "none"', "multi-objective"]),
    ("no-budget", {"study": {"name": "t"}}, ["[study] n_trials and timeout"]),
    ("zero-trials", with_("study", n_trials=0), ["[study] n_trials=0"]),
    ("float-trials", with_("study", n_trials=5.0), ["[study] n_trials=5.0", "an integer"]),
    ("bool-trials", with_("study", n_trials=True), ["[study] n_trials=True", "an integer"]),
    ("str-trials", with_("study", n_trials="5"), ["[study] n_trials='5'", "an integer"]),
    ("zero-timeout", with_("study", timeout=0), ["[study] timeout=0"]),
    ("str-timeout", with_("study", timeout="1h"), ["[study] timeout='1h'", "number"]),
    ("bad-storage", with_("study", storage="shortcut.db"), ["[study] storage='shortcut.db'"]),
    ("int-storage", with_("study", storage=5), ["[study] storage=5", "a string"]),
    ("bad-seed", with_("study", seed=1.5), ["[study] seed=1.5", "an integer"]),
    ("gs-artifacts", with_("study", artifacts="gs://bucket"), ["[study] artifacts='gs://bucket'"]),
    ("s3-no-bucket", with_("study", artifacts="s3://"), ["[study] artifacts='s3://'"]),
    # objectives against the data set's task
    ("acc-on-regression", {"study": {"name": "t", "n_trials": 1, "objectives": ["val_acc"]},
                           "space": {"backbone": "mlp"}, "data": {"dataset": "diabetes"}},
     ["[study] objectives=", "regression", "[data] dataset='diabetes'"]),
    ("rmse-on-classification", with_("study", objectives=["val_rmse"]),
     ["[study] objectives=", "classification", "[data] dataset='digits'"]),
    ("conv-on-tabular", {"study": {"name": "t", "n_trials": 1, "objectives": ["val_rmse"]},
                         "data": {"dataset": "diabetes"}}, ["[space] backbone='conv'", "mlp"]),
    # [space]: SearchSpace's own messages, prefixed
    ("bad-shortcut", with_("space", shortcuts=["resnet"]), ["[space]", "'resnet'"]),
    ("bad-span", with_("space", spans=[4]), ["[space] spans"]),
    ("depth-not-list", with_("space", depth="deep"), ["[space] depth"]),
    ("unrealisable-depth", with_("space", depth=[1, 3]), ["[space]", "depth"]),
    ("too-many-stages", with_("space", stages=4), ["[space]", "stages=4", "digits"]),
    # [training]: TrainConfig's own messages, prefixed
    ("zero-epochs", with_("training", epochs=0), ["[training] epochs=0 is not allowed"]),
    ("bool-epochs", with_("training", epochs=True), ["[training] epochs=True", "an integer"]),
    ("str-lr", with_("training", lr="fast"), ["[training] lr='fast'", "a finite number"]),
    ("nan-lr", with_("training", lr=float("nan")), ["[training] lr=nan", "a finite number"]),
    ("bad-optimizer", with_("training", optimizer="adam"),
     ["[training] optimizer='adam'", "sgd, adamw"]),
    ("bad-clip", with_("training", gradient_clip_val="x"), ["[training] gradient_clip_val='x'"]),
    ("bad-smoothing", with_("training", label_smoothing=1.0), ["[training] label_smoothing=1.0"]),
    # [data]
    ("unknown-dataset", with_("data", dataset="imagenet"),
     ["[data] dataset='imagenet'", "digits", "cifar10"]),
    ("bad-val-fraction", with_("data", val_fraction=1.5), ["[data] val_fraction=1.5"]),
    ("str-download", with_("data", download="yes"), ["[data] download='yes'", "true or false"]),
    # [hardware]
    ("zero-devices", with_("hardware", devices=0), ["[hardware] devices=0"]),
    ("bad-precision", with_("hardware", precision="fp8"), ["[hardware] precision='fp8'"]),
    ("bad-accelerator", with_("hardware", accelerator="quantum"),
     ["[hardware] accelerator='quantum'", "gpu"]),
    ("str-channels-last", with_("hardware", channels_last="yes"),
     ["[hardware] channels_last='yes'", "true or false"]),
    ("zero-workers", with_("hardware", workers=0), ["[hardware] workers=0"]),
    ("negative-gpu", with_("hardware", gpus=[-1]), ["[hardware] gpus=[-1]"]),
    ("duplicate-gpu", with_("hardware", gpus=[0, 0]), ["[hardware] gpus=[0, 0]", "distinct"]),
    ("gpus-not-list", with_("hardware", gpus=0), ["[hardware] gpus=0", "a list of integers"]),
    ("zero-workers-per-gpu", with_("hardware", workers_per_gpu=0),
     ["[hardware] workers_per_gpu=0"]),
]  # fmt: skip


@pytest.mark.parametrize(("data", "expected"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_mistake_is_one_line_naming_table_and_key(
    data: dict[str, Any], expected: list[str]
) -> None:
    with pytest.raises(ValueError) as info:
        StudyConfig.from_dict(data)
    message = str(info.value)
    assert "\n" not in message
    for part in expected:
        assert part in message, f"{part!r} not in {message!r}"


def test_a_config_file_mistake_is_reported_like_a_dict_mistake(tmp_path: Path) -> None:
    path = write(tmp_path, '[study]\nname = "t"\nn_trials = 2\nsampler = "bayes"\n')
    with pytest.raises(ValueError, match=r"^\[study\] sampler='bayes' is not allowed"):
        load_config(path)


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("sqlite:///x.db?password=s3cret: connection failed",
         "sqlite:///x.db?password=***: connection failed"),  # the message's ':' stays
        ("host=h password=se:cr,et; dbname=d", "host=h password=***; dbname=d"),
        ("password='a b c' x", "password=*** x"),
        ("postgresql+psycopg://u:p@ss@h/db", "postgresql+psycopg://u:***@h/db"),
    ],
)  # fmt: skip
def test_passwords_are_masked_and_the_message_around_them_kept(text: str, masked: str) -> None:
    assert redact(text) == masked
