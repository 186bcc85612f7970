"""A study as one TOML file: what to search, how to train, where to store, on what hardware.

Why a file and not command-line flags: a study outlives the command that
started it. Every machine that joins it, and every reader of its results, must
agree on the search space, the training budget and the objectives, so they are
written down once, checked once, and stored on the study (`StudyConfig.to_dict`).

Layout (every table optional except ``[study]``'s ``name`` and one of
``n_trials`` / ``timeout``)::

    [study]     name, storage, objectives, sampler, pruner, n_trials, timeout, seed, artifacts
    [space]     -> search_space.SearchSpace
    [training]  -> lightning_modules.TrainConfig, except the hardware fields
    [data]      -> lightning_modules.DataConfig
    [hardware]  accelerator, devices, precision, channels_last (-> TrainConfig);
                workers, gpus, workers_per_gpu (-> `shortcut-nas launch`)

Every mistake is one ``ValueError`` line that starts with the table, names the
key and the bad value, and says what is allowed; the config is checked as a
whole (objectives against the data set's task, the space against its input
shape) before any trial starts.

Storage precedence: an explicit argument (``--storage``) > the environment
variable ``SHORTCUT_NAS_STORAGE`` > the file > ``sqlite:///shortcut_nas.db``.
The environment variable is how a password reaches a worker without being
written in a file that is committed or stored on the study.

Example:
    >>> config = StudyConfig.from_dict({"study": {"name": "demo", "n_trials": 3}})
    >>> config.directions, config.data.dataset, config.study.pruner_kind
    (['maximize'], 'digits', 'hyperband')
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from lightning_modules import DataConfig, DatasetInfo, TrainConfig, dataset_info
from search_space import SearchSpace, check_input
from studies._redact import redact
from studies.storage import DEFAULT_STORAGE

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

# Objective name -> Optuna direction. Names are the keys of the metrics a trial returns.
OBJECTIVES: dict[str, str] = {
    "val_acc": "maximize",  # last epoch's validation accuracy (classification)
    "best_val_acc": "maximize",  # best epoch's validation accuracy (classification)
    "val_loss": "minimize",  # last epoch's validation loss (any task)
    "val_rmse": "minimize",  # last epoch's validation RMSE (regression)
    "best_val_rmse": "minimize",  # best epoch's validation RMSE (regression)
    "params": "minimize",  # trainable parameters
    "macs": "minimize",  # multiply-accumulates of one forward pass
    "train_seconds": "minimize",  # wall-clock training time
}
# The first objective is what pruning and "best" read, so it must measure generalisation.
VALIDATION_METRICS = ("val_acc", "best_val_acc", "val_loss", "val_rmse", "best_val_rmse")
# Metrics that exist for one task only; val_loss exists for both.
TASK_METRICS: dict[str, tuple[str, ...]] = {
    "classification": ("val_acc", "best_val_acc"),
    "regression": ("val_rmse", "best_val_rmse"),
}
MAX_OBJECTIVES = 3  # beyond three, a Pareto front is too large to read
SAMPLERS = ("tpe", "random", "grid", "nsga2")
PRUNERS = ("auto", "hyperband", "median", "none")
ACCELERATORS = ("auto", "cpu", "gpu", "cuda", "mps", "tpu")  # Lightning's accelerator names
STORAGE_ENV = "SHORTCUT_NAS_STORAGE"
CONFIG_DIR = Path(__file__).parent / "configs"  # the ready configs shipped with the package
TABLES = ("study", "space", "training", "data", "hardware")
# [hardware] keys that are TrainConfig fields: where a trial runs is a property of the
# machine, not of the recipe, so they live in [hardware] and are merged into `train`.
HARDWARE_TRAIN_KEYS = ("accelerator", "devices", "precision", "channels_last")

_URL_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.\-]*://")
_TABLE_PREFIX = re.compile(r"^\[\w+\] ")
_T = TypeVar("_T")


# -- the [study] table -------------------------------------------------------------------


@dataclass(frozen=True)
class StudySettings:
    """The ``[study]`` table: which study, where it is stored, what it optimises.

    Example:
        >>> settings = StudySettings(name="pareto", objectives=("val_acc", "params"), n_trials=9)
        >>> settings.directions, settings.pruner_kind
        (['maximize', 'minimize'], 'none')
    """

    name: str  # the Optuna study name; the same name and storage rejoin the study
    storage: str = DEFAULT_STORAGE  # database URL (sqlite for one machine, postgresql for many)
    objectives: tuple[str, ...] = ("val_acc",)  # 1..3 names of OBJECTIVES, validation first
    sampler: str = "tpe"  # tpe, random, grid or nsga2
    pruner: str = "auto"  # auto: hyperband for one objective, none for several
    n_trials: int | None = None  # complete trials wanted (at least one of n_trials, timeout)
    timeout: float | None = None  # seconds a worker keeps starting trials
    seed: int = 0  # the sampler's seed
    artifacts: str = "artifacts"  # checkpoints: a directory every machine sees, or s3://...

    def __post_init__(self) -> None:
        _check_field_types(self, "study")
        if not self.name.strip():
            _fail("study", "name", self.name, "a non-empty string")
        if not _URL_SCHEME.match(self.storage):
            allowed = f"a database URL like {DEFAULT_STORAGE}"
            _fail("study", "storage", _mask_credentials(self.storage), allowed)
        self._check_objectives()
        _check_choice("study", "sampler", self.sampler, SAMPLERS)
        _check_choice("study", "pruner", self.pruner, PRUNERS)
        if len(self.objectives) > 1 and self.pruner not in ("auto", "none"):
            raise ValueError(
                f"[study] pruner={self.pruner!r} is not allowed with {len(self.objectives)} "
                'objectives; use pruner = "none" or "auto" (Optuna cannot prune multi-objective '
                "trials)"
            )
        self._check_budget()
        self._check_artifacts()

    def _check_objectives(self) -> None:
        objectives = self.objectives
        if not 1 <= len(objectives) <= MAX_OBJECTIVES:
            _fail("study", "objectives", list(objectives), f"a list of 1 to {MAX_OBJECTIVES} names")
        for name in objectives:
            _check_choice("study", "objectives", name, tuple(OBJECTIVES))
        duplicates = sorted({name for name in objectives if objectives.count(name) > 1})
        if duplicates:
            _fail(
                "study", "objectives", list(objectives), f"each name once ({duplicates[0]} twice)"
            )
        if objectives[0] not in VALIDATION_METRICS:
            _fail(
                "study",
                "objectives[0]",
                objectives[0],
                f"a validation metric ({', '.join(VALIDATION_METRICS)}): it is what pruning "
                "and `best` read",
            )

    def _check_budget(self) -> None:
        if self.n_trials is None and self.timeout is None:
            raise ValueError("[study] n_trials and timeout are both missing; give at least one")
        if self.n_trials is not None and self.n_trials < 1:
            _fail("study", "n_trials", self.n_trials, "an integer >= 1")
        if self.timeout is not None and self.timeout <= 0:
            _fail("study", "timeout", self.timeout, "a number of seconds > 0")

    def _check_artifacts(self) -> None:
        """A local/shared path or s3://bucket/prefix; other URL schemes have no store."""
        allowed = "a directory path or s3://bucket/prefix"
        if not self.artifacts.strip():
            _fail("study", "artifacts", self.artifacts, allowed)
        if _URL_SCHEME.match(self.artifacts):
            scheme, _, rest = self.artifacts.partition("://")
            if scheme != "s3" or not rest.split("/")[0]:
                _fail("study", "artifacts", self.artifacts, allowed)

    @property
    def directions(self) -> list[str]:
        """Optuna's ``directions``, one per objective."""
        return [OBJECTIVES[name] for name in self.objectives]

    @property
    def pruner_kind(self) -> str:
        """The pruner to build: ``auto`` resolved by the number of objectives."""
        if self.pruner != "auto":
            return self.pruner
        return "hyperband" if len(self.objectives) == 1 else "none"

    def to_dict(self) -> dict[str, Any]:
        """The TOML table, with the storage password masked (everyone can read the study)."""
        table = _table_dict(self)
        table["storage"] = redact(self.storage)
        return table


# -- the [hardware] table ----------------------------------------------------------------


@dataclass(frozen=True)
class HardwareConfig:
    """The ``[hardware]`` table: where one trial runs, and how many run on this machine.

    Example:
        >>> HardwareConfig(gpus=(0, 1), workers_per_gpu=2).worker_count
        4
    """

    accelerator: str = "auto"  # Lightning's accelerator: auto, cpu, gpu, ...
    devices: int = 1  # devices per trial; > 1 trains one trial with DDP
    precision: str = "auto"  # auto: bf16-mixed on a CUDA GPU, 32-true elsewhere
    channels_last: bool | None = None  # None: conv nets on CUDA; on CPUs all but highway
    workers: int = 1  # worker processes `launch` starts when no GPUs are listed
    gpus: tuple[int, ...] = ()  # GPU indices for `launch`: workers_per_gpu workers on each
    workers_per_gpu: int = 1  # several small-model workers can share one GPU

    def __post_init__(self) -> None:
        _check_field_types(self, "hardware")
        _check_choice("hardware", "accelerator", self.accelerator, ACCELERATORS)
        _wrapped("hardware", TrainConfig, **self.train_fields())  # devices, precision
        if self.workers < 1:
            _fail("hardware", "workers", self.workers, "an integer >= 1")
        if self.workers_per_gpu < 1:
            _fail("hardware", "workers_per_gpu", self.workers_per_gpu, "an integer >= 1")
        if any(gpu < 0 for gpu in self.gpus) or len(set(self.gpus)) != len(self.gpus):
            _fail("hardware", "gpus", list(self.gpus), "a list of distinct GPU indices >= 0")

    def train_fields(self) -> dict[str, Any]:
        """The fields that `TrainConfig` takes."""
        return {key: getattr(self, key) for key in HARDWARE_TRAIN_KEYS}

    @property
    def worker_count(self) -> int:
        """How many worker processes `launch` starts on this machine."""
        return len(self.gpus) * self.workers_per_gpu if self.gpus else self.workers

    def to_dict(self) -> dict[str, Any]:
        return _table_dict(self)


# -- the whole config --------------------------------------------------------------------


@dataclass(frozen=True)
class StudyConfig:
    """One study: settings, search space, training, data and hardware, checked as a whole.

    ``train`` always carries ``hardware``'s accelerator, devices, precision and
    channels_last: ``[hardware]`` is the one place those are set.

    Example:
        >>> config = StudyConfig.from_dict({"study": {"name": "demo", "n_trials": 5}})
        >>> config.replace(n_trials=50).study.n_trials
        50
    """

    study: StudySettings
    space: SearchSpace = field(default_factory=SearchSpace)
    train: TrainConfig = field(default_factory=TrainConfig)
    data: DataConfig = field(default_factory=DataConfig)
    hardware: HardwareConfig = field(default_factory=HardwareConfig)
    source: str | None = None  # the file it was read from, for messages

    def __post_init__(self) -> None:
        merged = dataclasses.replace(self.train, **self.hardware.train_fields())
        object.__setattr__(self, "train", merged)
        task = _dataset(self.data.dataset).task
        _check_objectives_fit(self.study.objectives, self.data.dataset, task)
        _check_space_fits(self.space, self.data.dataset)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str | None = None) -> StudyConfig:
        """Build from the TOML-shaped dict (a parsed file, or `to_dict`'s output)."""
        tables = _split_tables(data)
        study_table = tables.get("study", {})
        if "name" not in study_table:
            raise ValueError("[study] name is required: the name of the Optuna study")
        study = _build_table("study", StudySettings, study_table)  # tables in file order
        space = _build_space(tables.get("space", {}))
        hardware = _build_table("hardware", HardwareConfig, tables.get("hardware", {}))
        train = _build_table(
            "training", TrainConfig, tables.get("training", {}), extra=hardware.train_fields()
        )
        data_config = _build_table("data", DataConfig, tables.get("data", {}))
        return _wrapped(
            "study",
            cls,
            study=study,
            space=space,
            train=train,
            data=data_config,
            hardware=hardware,
            source=source,
        )

    def to_dict(self) -> dict[str, Any]:
        """The TOML-shaped, JSON-serialisable dict; `from_dict` rebuilds an equal config.

        The storage password is masked: this dict is stored on the study.
        """
        training = {
            key: value
            for key, value in _table_dict(self.train).items()
            if key not in HARDWARE_TRAIN_KEYS
        }
        return {
            "study": self.study.to_dict(),
            "space": self.space.to_dict(),
            "training": training,
            "data": _table_dict(self.data),
            "hardware": self.hardware.to_dict(),
        }

    def replace(self, **overrides: Any) -> StudyConfig:
        """A copy with ``[study]`` keys (name, storage, n_trials, ...) or whole parts replaced.

        Every override is checked like the file's value.
        """
        study_keys = {f.name for f in fields(StudySettings)}
        own_keys = {f.name for f in fields(StudyConfig)}
        for key in overrides:
            if key not in study_keys | own_keys:
                allowed = ", ".join(sorted(study_keys | own_keys))
                raise ValueError(f"cannot override {key!r}; allowed: {allowed}")
        rest = {k: v for k, v in overrides.items() if k in own_keys}
        study_overrides = {k: v for k, v in overrides.items() if k in study_keys}
        rest["study"] = dataclasses.replace(rest.get("study", self.study), **study_overrides)
        return dataclasses.replace(self, **rest)

    @property
    def fingerprint(self) -> str:
        """The search space's fingerprint: a study refuses workers with another space."""
        return self.space.fingerprint()

    @property
    def directions(self) -> list[str]:
        """Optuna's ``directions``, one per objective."""
        return self.study.directions

    @property
    def task(self) -> str:
        """classification or regression: the data set's task."""
        return _dataset(self.data.dataset).task


# -- reading files -----------------------------------------------------------------------


def load_config(
    path: str | Path,
    *,
    storage: str | None = None,
    study_name: str | None = None,
    n_trials: int | None = None,
    timeout: float | None = None,
) -> StudyConfig:
    """Read and check a study config; the keyword arguments (command-line flags) win.

    Overrides are applied before the check, so ``n_trials`` given here satisfies
    "n_trials or timeout" for a file that has neither.

    Args:
        path: a TOML file, or the name of a ready config (``digits_quick``).
        storage: the storage URL; see `resolve_storage` for the precedence.
        study_name: replaces ``[study] name``.
        n_trials: replaces ``[study] n_trials``.
        timeout: replaces ``[study] timeout``.

    Raises:
        FileNotFoundError: no such file (the message names the path).
        ValueError: invalid TOML (file name and TOML's message) or an invalid config.
    """
    resolved = resolve_config_path(path)
    data = read_toml(resolved)
    study = data.get("study", {})
    if isinstance(study, dict):
        overrides = {"name": study_name, "n_trials": n_trials, "timeout": timeout}
        merged = {**study, **{k: v for k, v in overrides.items() if v is not None}}
        configured = study.get("storage")
        if configured is None or isinstance(configured, str):  # else the check names the type
            merged["storage"] = resolve_storage(storage, configured)
        data = {**data, "study": merged}
    return StudyConfig.from_dict(data, source=str(resolved))


def resolve_storage(explicit: str | None = None, configured: str | None = None) -> str:
    """The storage URL: `explicit` > ``$SHORTCUT_NAS_STORAGE`` > `configured` > sqlite default.

    An empty string counts as not given. Commands that take ``--storage`` but no
    config (``best``, ``export``) use this too, so every command agrees.
    """
    for candidate in (explicit, os.environ.get(STORAGE_ENV), configured):
        if candidate is not None and candidate != "":
            return candidate
    return DEFAULT_STORAGE


def resolve_config_path(path: str | Path) -> Path:
    """`path` itself, or a ready config of the package when given its bare name."""
    candidate = Path(path)
    if candidate.is_file():
        return candidate
    if candidate.parent == Path(".") and candidate.suffix in ("", ".toml"):
        ready = CONFIG_DIR / f"{candidate.stem}.toml"
        if ready.is_file():
            return ready
    if candidate.is_dir():
        raise ValueError(f"config {candidate} is a directory, not a TOML file")
    names = ", ".join(p.stem for p in ready_configs())
    raise FileNotFoundError(f"config file {candidate} not found (ready configs: {names})")


def ready_configs() -> list[Path]:
    """The configs shipped in ``studies/configs``."""
    return sorted(CONFIG_DIR.glob("*.toml"))


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file; a syntax error becomes one line with the file name."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise FileNotFoundError(f"config file {path} not found") from None
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{path}: invalid TOML: {error}") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path}: invalid TOML: the file is not UTF-8 text") from None


# -- tables and keys ---------------------------------------------------------------------


def _split_tables(data: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """The known tables of `data`; anything else is an error naming it."""
    if not isinstance(data, Mapping):
        raise ValueError(f"a study config must be a table of tables, got {type(data).__name__}")
    tables: dict[str, Mapping[str, Any]] = {}
    for name, table in data.items():
        if not isinstance(table, Mapping):
            home = _homes_of(name)
            where = f"; {name} belongs in [{home[0]}]" if home else ""
            raise ValueError(
                f"top-level key {name}={table!r} is not allowed; settings go in a table "
                f"({_tables_list()}){where}"
            )
        if name not in TABLES:
            raise ValueError(
                f"unknown table [{name}]{_did_you_mean(name, TABLES, '[{}]')}; "
                f"allowed tables: {_tables_list()}"
            )
        tables[name] = table
    return tables


def _table_keys(table: str) -> tuple[str, ...]:
    """The keys a table accepts, in the order they are documented."""
    classes: dict[str, type] = {
        "study": StudySettings,
        "space": SearchSpace,
        "training": TrainConfig,
        "data": DataConfig,
        "hardware": HardwareConfig,
    }
    names = tuple(f.name for f in fields(classes[table]))
    if table == "training":
        return tuple(n for n in names if n not in HARDWARE_TRAIN_KEYS)
    return names


def _homes_of(key: str) -> list[str]:
    return [table for table in TABLES if key in _table_keys(table)]


def _check_keys(table: str, values: Mapping[str, Any]) -> None:
    """Unknown keys name the table they belong in, a close match, or the allowed ones."""
    allowed = _table_keys(table)
    for key in values:
        if key in allowed:
            continue
        homes = _homes_of(key)
        if homes:
            raise ValueError(f"[{table}] {key} belongs in [{homes[0]}], not in [{table}]")
        raise ValueError(
            f"[{table}] unknown key {key!r}{_did_you_mean(key, allowed, '{!r}')}; "
            f"allowed keys: {', '.join(allowed)}"
        )


def _did_you_mean(name: str, choices: tuple[str, ...], template: str) -> str:
    close = difflib.get_close_matches(name, choices, n=1)
    return f" (did you mean {template.format(close[0])}?)" if close else ""


def _tables_list() -> str:
    return ", ".join(f"[{t}]" for t in TABLES)


def _build_table(
    table: str, cls: type[_T], values: Mapping[str, Any], extra: Mapping[str, Any] | None = None
) -> _T:
    """`cls` from one table: keys checked, TOML types checked, its own errors prefixed."""
    _check_keys(table, values)
    typed = {key: _typed(table, key, value, _annotation(cls, key)) for key, value in values.items()}
    return _wrapped(table, cls, **typed, **(extra or {}))


def _build_space(values: Mapping[str, Any]) -> SearchSpace:
    _check_keys("space", values)
    try:
        return SearchSpace.from_dict(values)
    except ValueError as error:
        raise ValueError(_prefixed("space", error)) from None


def _wrapped(table: str, cls: type[_T], **kwargs: Any) -> _T:
    """``cls(**kwargs)`` with a ValueError's message starting with ``[table]``."""
    try:
        return cls(**kwargs)
    except ValueError as error:
        raise ValueError(_prefixed(table, error)) from None


def _prefixed(table: str, error: Exception) -> str:
    message = str(error)
    return message if _TABLE_PREFIX.match(message) else f"[{table}] {message}"


def _mask_credentials(storage: str) -> str:
    """`redact` for a value that is not a URL (scheme forgotten): hide all before the @."""
    masked = redact(storage)
    if "@" in masked and not _URL_SCHEME.match(masked):
        return "***@" + masked.rsplit("@", 1)[1]
    return masked


def _fail(table: str, key: str, value: object, allowed: str) -> NoReturn:
    raise ValueError(f"[{table}] {key}={value!r} is not allowed; it must be {allowed}")


def _check_choice(table: str, key: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(
            f"[{table}] {key}={value!r} is not allowed; choose one of {', '.join(allowed)}"
        )


# -- TOML types --------------------------------------------------------------------------

_WORDS = {
    "bool": "true or false",
    "int": "an integer",
    "float": "a finite number",
    "str": "a string",
}
_PLURALS = {"bool": "booleans", "int": "integers", "float": "numbers", "str": "strings"}


def _annotation(cls: type, key: str) -> str:
    """A field's annotation as text (`from __future__ import annotations` keeps it so)."""
    hint = next(f.type for f in fields(cls) if f.name == key)
    return hint if isinstance(hint, str) else getattr(hint, "__name__", str(hint))


def _check_field_types(instance: Any, table: str) -> None:
    """Check and normalise every field of a dataclass built directly (or by `replace`)."""
    for f in fields(instance):
        value = _typed(
            table, f.name, getattr(instance, f.name), _annotation(type(instance), f.name)
        )
        object.__setattr__(instance, f.name, value)


def _typed(table: str, key: str, value: Any, annotation: str) -> Any:
    """`value` if TOML gave the annotated type (int -> float where a float is expected)."""
    kinds = [part.strip() for part in annotation.split("|")]
    if value is None and "None" in kinds:
        return None
    for kind in kinds:
        ok, converted = _convert(value, kind)
        if ok:
            return converted
    words = [_describe(kind) for kind in kinds if kind != "None"]
    _fail(table, key, value, " or ".join(words))


def _convert(value: Any, kind: str) -> tuple[bool, Any]:
    """(accepted, normalised value). A bool is not a number; a list is not a string."""
    if kind.startswith("tuple[") and kind.endswith(", ...]"):
        if not isinstance(value, (list, tuple)):
            return False, value
        items = [_convert(item, kind[len("tuple[") : -len(", ...]")]) for item in value]
        return all(ok for ok, _ in items), tuple(item for _, item in items)
    if kind == "bool":
        return isinstance(value, bool), value
    if isinstance(value, bool):
        return False, value
    if kind == "int":
        return isinstance(value, int), value
    if kind == "float":
        is_number = isinstance(value, (int, float)) and math.isfinite(value)
        return is_number, float(value) if is_number else value
    if kind == "str":
        return isinstance(value, str), value
    return False, value


def _describe(kind: str) -> str:
    if kind.startswith("tuple["):
        inner = kind[len("tuple[") : -len(", ...]")]
        return f"a list of {_PLURALS.get(inner, inner)}"
    return _WORDS.get(kind, kind)


def _table_dict(instance: Any) -> dict[str, Any]:
    """A dataclass as a TOML table: no None (TOML has no null), lists for tuples."""
    table = {}
    for f in fields(instance):
        value = getattr(instance, f.name)
        if value is not None:
            table[f.name] = list(value) if isinstance(value, tuple) else value
    return table


# -- checks across tables ----------------------------------------------------------------


def _dataset(dataset: str) -> DatasetInfo:
    info = dataset_info(dataset)
    if info is None:
        from lightning_modules import DATASETS

        _check_choice("data", "dataset", dataset, tuple(DATASETS))
    assert info is not None  # _check_choice raised
    return info


def _check_objectives_fit(objectives: tuple[str, ...], dataset: str, task: str) -> None:
    """Accuracy means nothing for regression, RMSE nothing for classification."""
    for other_task, metrics in TASK_METRICS.items():
        wrong = [name for name in objectives if name in metrics]
        if other_task != task and wrong:
            usable = ", ".join((*TASK_METRICS[task], "val_loss"))
            raise ValueError(
                f"[study] objectives={list(objectives)!r} is not allowed: {wrong[0]} is a "
                f"{other_task} metric but [data] dataset={dataset!r} is a {task} task; "
                f"use {usable}"
            )


def _check_space_fits(space: SearchSpace, dataset: str) -> None:
    """Tabular data needs the mlp backbone; images need few enough stages for their size."""
    info = _dataset(dataset)
    if space.backbone == "conv" and len(info.input_shape) != 3:
        raise ValueError(
            f"[space] backbone='conv' is not allowed with [data] dataset={dataset!r}, whose "
            f'samples are feature vectors of shape {info.input_shape}; use backbone = "mlp"'
        )
    try:
        check_input(next(space.specs()), info.input_shape, info.num_classes)
    except ValueError as error:
        raise ValueError(f"[space] does not fit [data] dataset={dataset!r}: {error}") from None
