"""Does an input shape fit a spec? Checked without torch, so configs validate fast.

`build_model` checks the same before building; `studies.config` checks a study's
space against its data set when the config is read (a search, but also the query
commands, which should answer without importing torch).
"""

from __future__ import annotations

from collections.abc import Sequence

from search_space._spec import ArchitectureSpec, Backbone

MIN_FINAL_SIDE = 2  # the last conv stage must still see at least a 2x2 map


def check_input(
    spec: ArchitectureSpec, input_shape: Sequence[int], num_classes: int
) -> tuple[int, ...]:
    """Validate the input shape against the spec; one clear ValueError if it cannot work."""
    shape = tuple(int(s) for s in input_shape)
    if not _is_positive_int(num_classes):
        raise ValueError(f"num_classes={num_classes!r} is not allowed; it must be an integer >= 1")
    if any(s <= 0 for s in shape) or len(shape) not in (1, 3):
        raise ValueError(f"input_shape={shape} is not allowed; give (C, H, W) or (features,)")
    if spec.backbone is Backbone.MLP:
        return shape
    if len(shape) != 3:
        raise ValueError(
            f"input_shape={shape} is tabular but arch {spec.to_str()!r} is convolutional; "
            "use an mlp arch (e.g. 'mlp-identity-s1-d6-w64') or image input (C, H, W)"
        )
    smallest = MIN_FINAL_SIDE * 2 ** (spec.num_stages - 1)
    if min(shape[1:]) < smallest:
        raise ValueError(
            f"input_shape={shape} is too small for stages={spec.num_stages}: each stage after "
            f"the first halves the size, so H and W must be >= {smallest}; use fewer stages "
            f"(st{_max_stages(min(shape[1:]))}) or a larger input"
        )
    return shape


def _max_stages(side: int) -> int:
    stages = 1
    while MIN_FINAL_SIDE * 2**stages <= side:
        stages += 1
    return stages


def _is_positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1
