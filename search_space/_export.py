"""Exported models: a spec plus weights that load in plain PyTorch, without Lightning or Optuna.

An export is a directory with two files:

* ``spec.json``: ``{"arch": ..., "input_shape": [...], "num_classes": N, ...}``
* ``model.pt``: the network's ``state_dict`` (tensors only: loads with ``weights_only=True``)

Example:
    >>> model = load_model("exports/digits-quick-trial7")   # doctest: +SKIP
    >>> model(torch.zeros(1, 1, 8, 8)).shape                  # doctest: +SKIP
    torch.Size([1, 10])
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from search_space._builder import ShortcutNet, build_model

SPEC_FILE = "spec.json"
WEIGHTS_FILE = "model.pt"


def save_model(
    model: ShortcutNet, directory: str | Path, num_classes: int, extra: dict[str, Any] | None = None
) -> Path:
    """Write `model` as an export directory (see the module docstring)."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    meta = {
        "arch": model.spec.to_str(),
        "input_shape": list(model.input_shape),
        "num_classes": num_classes,
        **(extra or {}),
    }
    (out / SPEC_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    torch.save(model.state_dict(), out / WEIGHTS_FILE)
    return out


def load_model(directory: str | Path, map_location: str | torch.device = "cpu") -> ShortcutNet:
    """Rebuild an exported model: `build_model` from spec.json, then the weights (eval mode)."""
    root = Path(directory)
    if not (root / SPEC_FILE).is_file():
        raise FileNotFoundError(f"{root} is not an export: {SPEC_FILE} is missing")
    meta = json.loads((root / SPEC_FILE).read_text())
    model = build_model(meta["arch"], meta["input_shape"], meta["num_classes"])
    state = torch.load(root / WEIGHTS_FILE, map_location=map_location, weights_only=True)
    model.load_state_dict(state)
    return model.eval()
