"""Questions to a finished (or running) study, as Python functions; the CLI prints them.

Example:
    >>> from studies.queries import open_study, best_rows, export_trial
    >>> study = open_study("sqlite:///shortcut_nas.db", "digits-quick")     # doctest: +SKIP
    >>> best_rows(study, k=3)[0]["arch"]                                    # doctest: +SKIP
    'identity-s2-d14-w16'
    >>> export_trial(study, "artifacts", "exports/best")                     # doctest: +SKIP
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import optuna
from optuna.artifacts.exceptions import ArtifactNotFound
from optuna.trial import FrozenTrial, TrialState

from search_space import ArchitectureSpec
from studies._redact import redact
from studies.artifacts import MODEL_ATTR, open_artifact_store
from studies.storage import check_database_exists, open_storage, study_names

COLUMNS = ("rank", "trial", "arch", "val_acc", "test_acc", "params", "macs", "train_seconds")
REGRESSION_COLUMNS = ("rank", "trial", "arch", "val_rmse", "test_rmse", "params", "macs",
                      "train_seconds")  # fmt: skip


def open_study(storage: str, study_name: str | None, heartbeat: bool = False) -> optuna.Study:
    """Load a study; a wrong name lists the studies that exist (one clear line).

    `heartbeat=True` opens the storage with the workers' heartbeat settings, so it can
    tell stale trials; reading results needs none.
    """
    check_database_exists(storage)
    backend = (
        open_storage(storage)
        if heartbeat
        else open_storage(storage, heartbeat_interval=None, grace_period=None)
    )
    names = study_names(backend)
    if study_name is None:
        if len(names) != 1:
            listed = ", ".join(names) or "-"
            raise ValueError(
                f"storage {redact(storage)} holds {len(names)} studies ({listed}); "
                "pass --study-name"
            )
        study_name = names[0]
    if study_name not in names:
        listed = ", ".join(names) or "-"
        raise ValueError(f"no study {study_name!r} in {redact(storage)}; studies there: {listed}")
    return optuna.load_study(study_name=study_name, storage=backend)


def preprocess(study: optuna.Study) -> dict[str, Any]:
    """How inputs were scaled in training (the exported model expects the same), and for
    regression how outputs map back to targets: ``x = (raw / scale - mean) / std``.

    Images use their data set's published constants (no data needed); tabular
    features and regression targets were standardised with the training split's
    statistics, so that split is read again (small, offline data sets).
    """
    from lightning_modules import DataConfig, make_datamodule
    from lightning_modules.data import DATASETS

    data = study.user_attrs.get("config", {}).get("data", {})
    cls = DATASETS.get(data.get("dataset", ""))
    if cls is None:
        return {}
    recipe: dict[str, Any] = {"dataset": cls.name, "inputs": "(raw / scale - mean) / std"}
    if cls.mean:  # per channel
        return {**recipe, "scale": cls.pixel_scale, "mean": list(cls.mean), "std": list(cls.std)}
    datamodule = make_datamodule(DataConfig(**data), batch_size=1)
    datamodule.setup("fit")
    norm = datamodule.normalize
    assert norm is not None
    recipe.update(
        scale=norm.scale, mean=norm.mean.flatten().tolist(), std=norm.std.flatten().tolist()
    )
    if cls.task == "regression":
        recipe["outputs"] = "y = output * target_std + target_mean"
        recipe.update(target_mean=datamodule.target_mean, target_std=datamodule.target_std)
    return recipe


def completed(study: optuna.Study) -> list[FrozenTrial]:
    """COMPLETE trials that trained their network (reused duplicates would repeat rows)."""
    trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    return [t for t in trials if "reused_from_trial" not in t.user_attrs]


def ranked(study: optuna.Study) -> list[FrozenTrial]:
    """Best first by the first objective."""
    maximise = study.directions[0] == optuna.study.StudyDirection.MAXIMIZE
    return sorted(completed(study), key=lambda t: t.values[0], reverse=maximise)


def best_rows(
    study: optuna.Study, k: int = 10, per_shortcut: bool = False, pareto: bool = False
) -> list[dict[str, Any]]:
    """The top-k trials (or the best of each shortcut type, or the Pareto front) as rows."""
    if pareto:
        front = {t.number for t in study.best_trials}
        trials = [t for t in ranked(study) if t.number in front]
    elif per_shortcut:
        seen: set[str] = set()
        trials = []
        for t in ranked(study):
            shortcut = str(t.user_attrs.get("shortcut", t.params.get("shortcut")))
            if shortcut not in seen:
                seen.add(shortcut)
                trials.append(t)
    else:
        trials = ranked(study)[:k]
    return [row(rank, t) for rank, t in enumerate(trials, start=1)]


def row(rank: int, trial: FrozenTrial) -> dict[str, Any]:
    attrs = trial.user_attrs
    out: dict[str, Any] = {"rank": rank, "trial": trial.number, "arch": attrs.get("arch")}
    for key in ("val_acc", "best_val_acc", "test_acc", "val_rmse", "test_rmse", "params", "macs",
                "train_seconds", "epochs", "grad_init_ratio", "device"):  # fmt: skip
        if key in attrs:
            out[key] = attrs[key]
    out["values"] = list(trial.values)
    return out


def format_table(rows: list[dict[str, Any]]) -> str:
    """A fixed-width table a terminal shows well; numbers formatted per column."""
    if not rows:
        return "(no complete trials yet)"
    columns = REGRESSION_COLUMNS if "val_rmse" in rows[0] else COLUMNS
    cells = [[_cell(col, r.get(col)) for col in columns] for r in rows]
    widths = [max(len(col), *(len(c[i]) for c in cells)) for i, col in enumerate(columns)]
    header = "  ".join(
        col.rjust(w) if col != "arch" else col.ljust(w) for col, w in zip(columns, widths)
    )
    lines = [header, "  ".join("-" * w for w in widths)]
    for c in cells:
        lines.append("  ".join(
            v.ljust(w) if col == "arch" else v.rjust(w) for col, v, w in zip(columns, c, widths)
        ))  # fmt: skip
    return "\n".join(lines)


def _cell(column: str, value: Any) -> str:
    if value is None:
        return "-"
    if column in ("params", "macs"):
        return f"{int(value):,}"
    if column == "train_seconds":
        return f"{float(value):.1f}s"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def pick_trial(study: optuna.Study, number: int | None) -> FrozenTrial:
    if number is None:
        best = ranked(study)
        if not best:
            raise ValueError(f"study {study.study_name!r} has no complete trial to export yet")
        return best[0]
    trials = [t for t in study.get_trials(deepcopy=False) if t.number == number]
    if not trials:
        count = len(study.get_trials(deepcopy=False))
        raise ValueError(
            f"study {study.study_name!r} has no trial {number} (trials 0-{count - 1}); "
            "`shortcut-nas best` lists the complete ones"
        )
    trial = trials[0]
    if trial.state is not TrialState.COMPLETE:
        raise ValueError(
            f"trial {number} of {study.study_name!r} is {trial.state.name}, not COMPLETE: "
            "only complete trials keep their trained weights; `shortcut-nas best` lists them"
        )
    source = trial.user_attrs.get("reused_from_trial")
    return pick_trial(study, int(source)) if source is not None else trial


def export_trial(
    study: optuna.Study, artifacts: str, out_dir: str | Path, number: int | None = None
) -> Path:
    """Write the trial's spec and trained weights as an export directory (`load_model` reads it)."""
    import torch  # here, not at the top: `best` and `status` answer without torch

    from search_space import build_model, save_model

    trial = pick_trial(study, number)
    artifact_id = trial.user_attrs.get(MODEL_ATTR)
    if artifact_id is None:
        raise ValueError(f"trial {trial.number} stored no weights (was it trained with artifacts?)")
    if Path(out_dir).exists() and not Path(out_dir).is_dir():
        raise ValueError(f"{out_dir} is a file; give export a directory (-o DIR)")
    store = open_artifact_store(artifacts)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.pt"
        try:
            optuna.artifacts.download_artifact(
                artifact_store=store, file_path=str(path), artifact_id=artifact_id
            )
        except ArtifactNotFound:
            raise ValueError(
                f"trial {trial.number}'s weights are not in the artifact store {artifacts!r}; "
                "pass --artifacts with the search's [study] artifacts (a relative path is "
                "relative to where the search ran)"
            ) from None
        packed = torch.load(path, map_location="cpu", weights_only=True)
    meta = packed["meta"]
    model = build_model(
        ArchitectureSpec.from_str(meta["arch"]), meta["input_shape"], meta["num_classes"]
    )
    model.load_state_dict(packed["state_dict"])
    extra = {"task": meta.get("task"), "study": study.study_name, "trial": trial.number,
             "metrics": {k: v for k, v in row(1, trial).items() if k not in ("rank",)},
             "preprocess": preprocess(study)}  # fmt: skip
    return save_model(model, out_dir, meta["num_classes"], extra=json.loads(json.dumps(extra)))
