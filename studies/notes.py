"""Dashboard notes: each trial's architecture in words and as a table.

optuna-dashboard shows a Markdown note per trial (`optuna_dashboard.save_note`).
The note lives in the study's system attributes under optuna-dashboard's keys, so
it is written even where the dashboard extra is not installed: workers on a
cluster need not carry the dashboard (importing it costs ~0.5 s per worker) to
have notes show in a dashboard run anywhere else.
"""

from __future__ import annotations

import math
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import optuna

from search_space import ArchitectureSpec, ShortcutType

WORDS = {
    ShortcutType.NONE: "a plain network: every unit is y = act(F(x)), nothing skips a layer",
    ShortcutType.HIGHWAY: "a highway network: y = H(x)·T(x) + x·(1 − T(x)), learned gates",
    ShortcutType.IDENTITY: "a residual network with identity shortcuts: y = act(F(x) + x)",
    ShortcutType.PROJECTION: "a residual network with learned projections: y = act(F(x) + W_s x)",
    ShortcutType.DENSE: "a densely connected network: each layer sees every earlier layer's output",
}

RESULT_KEYS = ("params", "macs", "epochs", "val_acc", "best_val_acc", "test_acc", "val_rmse",
               "train_seconds", "grad_init_ratio", "grad_end_ratio", "device", "host")  # fmt: skip


def architecture_note(spec: ArchitectureSpec, metrics: dict[str, Any]) -> str:
    """Markdown: one sentence, then the spec and the results as tables."""
    lines = [
        f"### `{spec.to_str()}`",
        "",
        f"{WORDS[spec.shortcut].capitalize()}; {spec.depth} weighted layers, "
        f"{spec.num_stages} stage(s) of {spec.units_per_stage} unit(s), "
        f"each shortcut spanning {spec.span} layer(s).",
        "",
        "| field | value |",
        "|---|---|",
    ]
    for key, value in spec.to_dict().items():
        lines.append(f"| {key} | {value} |")
    lines += ["", "| result | value |", "|---|---|"]
    for key in RESULT_KEYS:
        if key in metrics:
            value = metrics[key]
            shown = (
                f"{value:,}"
                if isinstance(value, int)
                else (f"{value:.4g}" if isinstance(value, float) else str(value))
            )
            lines.append(f"| {key} | {shown} |")
    return "\n".join(lines) + "\n"


# One background writer: a note is for people, nothing in the search reads it, so the
# next trial need not wait for its ~2 writes (measured ~13 ms a trial on SQLite).
_WRITER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dashboard-notes")
_PENDING: list[Future[None]] = []


def save_trial_note(
    trial: optuna.trial.Trial, spec: ArchitectureSpec, metrics: dict[str, Any]
) -> None:
    """Queue the trial's dashboard note; `flush_notes` waits for the queue."""
    body = architecture_note(spec, metrics)
    _PENDING.append(_WRITER.submit(write_note, trial, body))


def flush_notes() -> None:
    """Wait until every queued note is written (a failed write is logged, not raised)."""
    while _PENDING:
        error = _PENDING.pop(0).exception()
        if error is not None:
            optuna.logging.get_logger(__name__).warning(f"dashboard note not saved: {error}")


# optuna-dashboard's note layout (optuna_dashboard/_note.py, as of 0.21): a
# version and the Markdown body in chunks of at most 2045 characters (Optuna's limit on a
# system attribute's length). tests/test_studies.py reads our notes back with get_note.
NOTE_CHUNK = 2045


def note_attrs(trial_id: int, body: str) -> dict[str, Any]:
    """The study system attributes of a trial's first note, as optuna-dashboard names them."""
    attrs: dict[str, Any] = {f"dashboard:{trial_id}:note_ver": 1}
    for i in range(math.ceil(len(body) / NOTE_CHUNK)):
        attrs[f"dashboard:{trial_id}:note_str:{i}"] = body[i * NOTE_CHUNK : (i + 1) * NOTE_CHUNK]
    return attrs


def write_note(trial: optuna.trial.Trial, body: str) -> None:
    """The trial's first (and only) note.

    Not `optuna_dashboard.save_note`: it reads every system attribute of the study
    twice (to find the note's version and stale chunks), a cost that grows with the
    study; a new trial's first note is version 1 and its chunks are all there is.
    """
    storage, study_id = trial.storage, trial.study._study_id
    for key, value in note_attrs(trial._trial_id, body).items():
        storage.set_study_system_attr(study_id, key, value)
