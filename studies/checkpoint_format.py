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
    return Packer().pack(checkpoint)


class Packer:
    """`pack` that keeps its flat buffers for the next checkpoint of the same shapes.

    Why: a trial's checkpoints have the same tensors epoch after epoch, so working out
    their layout and allocating the flat tensors once, then copying the tensors in
    with one `torch._foreach_copy_` per flat tensor, cuts the snapshot's time on the training thread
    (1.4-2.1 -> 0.5-0.65 ms a digits epoch here; docs/benchmarks.md). `slot` keeps
    buffers apart: a snapshot's buffers must not be refilled while its writer still
    pickles them, so the caller alternates slots and waits for a slot's last write.
    The price is memory: each slot holds one copy of the weights and optimizer state
    on their device for the whole trial (DenseNet-BC-190: ~200 MB a slot).
    """

    def __init__(self) -> None:
        self._buffers: dict[int, _Buffers] = {}

    def pack(self, checkpoint: dict[str, Any], slot: int = 0) -> dict[str, Any]:
        tensors: list[torch.Tensor] = []
        structure = _strip(checkpoint, tensors)
        buffers = self._buffers.get(slot)
        if buffers is None or buffers.signature != _signature(tensors):
            buffers = self._buffers[slot] = _Buffers(tensors)
        buffers.fill(tensors)
        return {FORMAT_KEY: FORMAT_VERSION, "structure": structure,
                "layout": buffers.layout, "data": buffers.data}  # fmt: skip


class _Buffers:
    """One flat tensor per dtype and device, and a view of it shaped like each tensor,
    laid out densely in the tensor's own dimension order (NHWC weights stay NHWC)."""

    def __init__(self, tensors: list[torch.Tensor]) -> None:
        self.signature = _signature(tensors)
        self.layout: list[list[Any]] = []
        sizes: dict[str, int] = {}
        places: list[tuple[str, int, list[int]]] = []
        kinds: dict[str, torch.Tensor] = {}
        for tensor in tensors:
            name = f"{str(tensor.dtype).removeprefix('torch.')}@{tensor.device}"
            shape, order = list(tensor.shape), _memory_order(tensor)
            self.layout.append([name, shape, order])
            places.append((name, sizes.get(name, 0), _dense_strides(shape, order)))
            sizes[name] = sizes.get(name, 0) + tensor.numel()
            kinds.setdefault(name, tensor)
        with torch.inference_mode(False):  # normal tensors, refillable outside inference mode
            self.data = {
                name: torch.empty(size, dtype=kinds[name].dtype, device=kinds[name].device)
                for name, size in sizes.items()
            }
        self.views = [
            torch.as_strided(self.data[name], tensor.shape, strides, offset)
            for (name, offset, strides), tensor in zip(places, tensors, strict=True)
        ]
        # One copy call per flat tensor: a foreach op runs as one kernel only over tensors
        # of one dtype on one device (a checkpoint mixes float32 weights with int64 counts).
        self.groups: dict[str, list[int]] = {}
        for index, (name, _, _) in enumerate(places):
            self.groups.setdefault(name, []).append(index)

    @torch.no_grad()
    def fill(self, tensors: list[torch.Tensor]) -> None:
        for indices in self.groups.values():
            torch._foreach_copy_([self.views[i] for i in indices], [tensors[i] for i in indices])


def _signature(tensors: list[torch.Tensor]) -> list[tuple[Any, ...]]:
    return [(t.dtype, t.device, t.shape, t.stride()) for t in tensors]


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


def _memory_order(tensor: torch.Tensor) -> list[int]:
    """The dimension order that lays the tensor out contiguously (NHWC weights: 0, 2, 3,
    1); [] for the usual row-major order."""
    if tensor.dim() < 2 or tensor.is_contiguous():
        return []
    strides = tensor.stride()
    return sorted(range(tensor.dim()), key=lambda d: (-strides[d], d))


def _dense_strides(shape: list[int], order: list[int]) -> list[int]:
    """Strides of a tensor of `shape` stored densely in dimension order `order`."""
    strides = [0] * len(shape)
    step = 1
    for dim in reversed(order or range(len(shape))):
        strides[dim] = step
        step *= shape[dim]
    return strides


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
