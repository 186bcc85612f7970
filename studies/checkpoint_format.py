"""A Lightning checkpoint packed into one flat tensor per dtype, and back.

Why: a search checkpoints every trial after every epoch (DESIGN.md), off the
training thread, so the training thread only takes a snapshot. Lightning's
`AsyncCheckpointIO` snapshots by cloning each of a checkpoint's few hundred tensors
through `apply_to_collection`, and the writer thread then pickles them one by one,
holding the GIL the training thread needs. Concatenating them instead is one copy
per dtype: the snapshot and the packing at once, and the writer pickles a handful
of tensors. Measured in a 12-trial 20-epoch digits search, the checkpoint's cost
on the training thread fell from ~4.8 to ~2.4 ms an epoch (docs/benchmarks.md).

The packed file holds plain containers, strings, ints and tensors only, so it loads
with ``weights_only=True``; `unpack` gives back the checkpoint dict Lightning wrote,
every tensor with its shape, dtype and strides (channels_last weights stay so).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import torch

FORMAT_KEY = "shortcut_nas_packed_checkpoint"
FORMAT_VERSION = 1
_SLOT = "__packed_tensor__"  # (marker, index) stands for the index-th tensor


def pack(checkpoint: dict[str, Any]) -> dict[str, Any]:
    """A snapshot of `checkpoint` that later changes to the model cannot alter."""
    tensors: list[torch.Tensor] = []
    structure = _strip(checkpoint, tensors)
    groups: dict[str, list[torch.Tensor]] = {}
    layout: list[list[Any]] = []
    for tensor in tensors:
        flat, shape, order = _flatten(tensor.detach())
        name = f"{str(tensor.dtype).removeprefix('torch.')}@{tensor.device}"
        groups.setdefault(name, []).append(flat)
        layout.append([name, shape, order])
    data = {name: torch.cat(parts) for name, parts in groups.items()}
    return {FORMAT_KEY: FORMAT_VERSION, "structure": structure, "layout": layout, "data": data}


def is_packed(obj: Any) -> bool:
    return isinstance(obj, dict) and FORMAT_KEY in obj


def unpack(packed: dict[str, Any]) -> dict[str, Any]:
    """The checkpoint `pack` was given, each tensor on the device it was on."""
    if packed.get(FORMAT_KEY) != FORMAT_VERSION:
        raise ValueError(
            f"checkpoint format {packed.get(FORMAT_KEY)!r} is not {FORMAT_VERSION}; "
            "it was written by another shortcut-nas version: resume it with that version"
        )
    offsets = dict.fromkeys(packed["data"], 0)
    tensors = []
    for name, shape, order in packed["layout"]:
        stored = [shape[i] for i in order] if order else shape
        count = _numel(stored)
        flat = packed["data"][name][offsets[name] : offsets[name] + count]
        offsets[name] += count
        inverse = sorted(range(len(order)), key=order.__getitem__)
        tensors.append(flat.view(stored).permute(inverse) if order else flat.view(shape))
    return _fill(packed["structure"], tensors)  # type: ignore[no-any-return]


def _flatten(tensor: torch.Tensor) -> tuple[torch.Tensor, list[int], list[int]]:
    """The tensor's elements in memory order (a view when it is dense), its shape and the
    dimension order that lays it out contiguously (NHWC weights: 0, 2, 3, 1)."""
    shape = list(tensor.shape)
    if tensor.dim() < 2 or tensor.is_contiguous():
        return tensor.reshape(-1), shape, []
    strides = tensor.stride()
    order = sorted(range(tensor.dim()), key=lambda d: (-strides[d], d))
    return tensor.permute(order).reshape(-1), shape, order


def _numel(shape: list[int]) -> int:
    count = 1
    for size in shape:
        count *= size
    return count


def _strip(obj: Any, tensors: list[torch.Tensor]) -> Any:
    if isinstance(obj, torch.Tensor):
        tensors.append(obj)
        return (_SLOT, len(tensors) - 1)
    if isinstance(obj, dict):
        return _same_kind(obj, {key: _strip(value, tensors) for key, value in obj.items()})
    if isinstance(obj, list):
        return [_strip(value, tensors) for value in obj]
    if isinstance(obj, tuple):
        return tuple(_strip(value, tensors) for value in obj)
    return obj


def _fill(obj: Any, tensors: list[torch.Tensor]) -> Any:
    if isinstance(obj, tuple):
        if len(obj) == 2 and obj[0] == _SLOT:
            return tensors[obj[1]]
        return tuple(_fill(value, tensors) for value in obj)
    if isinstance(obj, dict):
        return _same_kind(obj, {key: _fill(value, tensors) for key, value in obj.items()})
    if isinstance(obj, list):
        return [_fill(value, tensors) for value in obj]
    return obj


def _same_kind(original: dict[Any, Any], items: dict[Any, Any]) -> dict[Any, Any]:
    """A module's state_dict is an OrderedDict whose ``_metadata`` (per-module versions)
    `load_state_dict` reads: both are kept, as torch.save keeps them."""
    if not isinstance(original, OrderedDict):
        return items
    kept: OrderedDict[Any, Any] = OrderedDict(items)
    if hasattr(original, "_metadata"):
        kept._metadata = original._metadata  # type: ignore[attr-defined]
    return kept
