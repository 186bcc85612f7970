"""Dashboard notes: each trial's architecture in words and as a table.

optuna-dashboard shows a Markdown note per trial (`optuna_dashboard.save_note`).
The dashboard is an optional extra; without it no note is written.
"""

from __future__ import annotations

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


def save_trial_note(
    trial: optuna.trial.Trial, spec: ArchitectureSpec, metrics: dict[str, Any]
) -> None:
    try:
        from optuna_dashboard import save_note
    except ImportError:  # the dashboard extra is not installed
        return
    save_note(trial, architecture_note(spec, metrics))
