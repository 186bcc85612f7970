"""The architecture spec: what one network of the search space is.

Representations (each converts to the others without loss):

* ``ArchitectureSpec``: a frozen, hashable dataclass, the form the code uses;
* the canonical string, e.g. ``identity-s2-d20-w16`` or ``dense-s2-d100-k12-c0.5``:
  the trial's user attribute ``arch``, the cache key of a study, what ``best`` prints;
* a dict of primitives (``to_dict`` / ``from_dict``), the form JSON and TOML hold.

Canonical string grammar (fields in this order; a field is omitted where it
does not apply to the shortcut type, or where it has its default)::

    [mlp-]SHORTCUT-s{span}-d{depth}[-w{width}][-k{growth_rate}][-c{compression}][-st{stages}]

``width`` is written for every type but ``dense`` (whose widths follow from its
growth rate), ``k`` and ``c`` for ``dense`` only, ``st`` only when the number of
stages differs from the default 3 (never for ``mlp``, which has one stage).
Parameters that do not apply are reset to their defaults in ``__post_init__``,
so two specs that build the same network compare equal and print the same.

How depth is counted (as the papers count it: ResNet-20/56/110, DenseNet-40,
DenseNet-BC-100): every weighted layer on the main path, i.e. the stem, the
``span`` layers of each unit, the 1x1 convolution of each DenseNet transition
and the classifier. Highway gates and residual projections are not counted,
as in the papers. So with ``n`` units per stage and ``S`` stages:

* residual, highway and plain nets: ``depth = S * n * span + 2``;
* dense (convolutional): ``depth = S * n * span + (S - 1) + 2``;
* every MLP (one stage, no transitions): ``depth = n * span + 2``.
"""

from __future__ import annotations

import enum
import re
from dataclasses import asdict, dataclass, fields
from typing import Any, TypeVar

SPANS = (1, 2, 3)
DEFAULT_STAGES = 3
MAX_STAGES = 5


class ShortcutType(str, enum.Enum):
    """How information skips the layers of one unit."""

    NONE = "none"  # y = F(x): the control group (plain network)
    HIGHWAY = "highway"  # y = H(x) T(x) + x (1 - T(x))
    IDENTITY = "identity"  # y = act(F(x) + x), parameter-free shortcut
    PROJECTION = "projection"  # y = act(F(x) + W_s x), learned 1x1 projection
    DENSE = "dense"  # x_l = H_l([x_0, ..., x_{l-1}])

    @classmethod
    def parse(cls, value: str | ShortcutType) -> ShortcutType:
        """The enum member for a name, or one clear ValueError."""
        return _parse_enum(cls, value, "shortcut")


class Backbone(str, enum.Enum):
    """The kind of weighted layer a unit is made of."""

    CONV = "conv"  # 3x3 (and 1x1) convolutions over images
    MLP = "mlp"  # fully connected layers over tabular features

    @classmethod
    def parse(cls, value: str | Backbone) -> Backbone:
        return _parse_enum(cls, value, "backbone")


_E = TypeVar("_E", ShortcutType, Backbone)


def _parse_enum(cls: type[_E], value: object, field: str) -> _E:
    """A member from itself or its (case-insensitive) name; else name the allowed values."""
    if isinstance(value, cls):
        return value
    try:
        return cls(str(value).lower())
    except ValueError:
        allowed = ", ".join(member.value for member in cls)
        raise ValueError(f"{field}={value!r} is unknown; choose one of {allowed}") from None


# Defaults: `ArchitectureSpec(shortcut=T, span=S)` must be a valid small network for
# every T and S, so the default depth is derived from the span (see `default_depth`).
DEFAULT_WIDTH = 16
DEFAULT_GROWTH_RATE = 12
DEFAULT_COMPRESSION = 1.0
DEFAULT_UNITS_PER_STAGE = 2


def depth_overhead(shortcut: ShortcutType, backbone: Backbone, stages: int) -> int:
    """Weighted layers outside the units: stem + classifier (+ dense transitions)."""
    if shortcut is ShortcutType.DENSE and backbone is Backbone.CONV:
        return stages - 1 + 2
    return 2


def effective_stages(backbone: Backbone, stages: int) -> int:
    """An MLP has one stage whatever was asked; a conv net has `stages`."""
    return 1 if backbone is Backbone.MLP else stages


def depth_step(backbone: Backbone, span: int, stages: int) -> int:
    """Depths that a span can realise are `overhead + k * step` for k >= 1."""
    return effective_stages(backbone, stages) * span


def valid_depths(
    shortcut: ShortcutType, backbone: Backbone, span: int, stages: int, lo: int, hi: int
) -> list[int]:
    """Every depth in [lo, hi] that `span` can realise with at least one unit per stage."""
    overhead = depth_overhead(shortcut, backbone, stages)
    step = depth_step(backbone, span, stages)
    first = overhead + step
    start = first if lo <= first else first + -(-(lo - first) // step) * step
    return list(range(start, hi + 1, step))


def default_depth(shortcut: ShortcutType, backbone: Backbone, span: int, stages: int) -> int:
    """The depth of a small network: two units per stage."""
    overhead = depth_overhead(shortcut, backbone, stages)
    return overhead + DEFAULT_UNITS_PER_STAGE * depth_step(backbone, span, stages)


@dataclass(frozen=True)
class ArchitectureSpec:
    """One architecture of the search space: immutable, hashable, one canonical string.

    Example:
        >>> spec = ArchitectureSpec(shortcut="identity", span=2, depth=20, width=16)
        >>> spec.to_str()
        'identity-s2-d20-w16'
        >>> ArchitectureSpec.from_str("identity-s2-d20-w16") == spec
        True
    """

    shortcut: ShortcutType  # how information skips a unit (a name or the enum)
    span: int = 2  # weighted layers skipped by one shortcut, 1..3
    depth: int | None = None  # weighted layers as papers count them; None: 2 units/stage
    width: int = DEFAULT_WIDTH  # stage-1 channels (conv) or hidden features (mlp); not dense
    growth_rate: int = DEFAULT_GROWTH_RATE  # k, channels each dense layer adds; dense only
    compression: float = DEFAULT_COMPRESSION  # theta of dense transitions, (0, 1]; dense only
    stages: int = DEFAULT_STAGES  # resolution stages of a conv net; mlp has one
    backbone: Backbone = Backbone.CONV  # conv (images) or mlp (tabular features)

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: canonicalisation writes through object
        set_(self, "shortcut", ShortcutType.parse(self.shortcut))
        set_(self, "backbone", Backbone.parse(self.backbone))
        self._check_ints()
        if self.backbone is Backbone.MLP:
            set_(self, "stages", DEFAULT_STAGES)
        if self.depth is None:
            set_(self, "depth", default_depth(self.shortcut, self.backbone, self.span, self.stages))
        self._check_depth()
        self._canonicalise_unused()

    def _check_ints(self) -> None:
        if not _is_int(self.span) or self.span not in SPANS:
            raise ValueError(f"span={self.span!r} is not allowed; choose one of 1, 2, 3")
        if not _is_int(self.stages) or not 1 <= self.stages <= MAX_STAGES:
            raise ValueError(f"stages={self.stages!r} is not allowed; it must be 1..{MAX_STAGES}")
        if self.depth is not None and not _is_int(self.depth):
            raise ValueError(f"depth={self.depth!r} must be an integer")
        if self.shortcut is ShortcutType.DENSE:
            if not _is_int(self.growth_rate) or self.growth_rate <= 0:
                raise ValueError(
                    f"growth_rate={self.growth_rate!r} is not allowed; it must be an integer > 0"
                )
            if not 0.0 < float(self.compression) <= 1.0:
                raise ValueError(
                    f"compression={self.compression!r} is not allowed; it must be in (0, 1]"
                )
        elif not _is_int(self.width) or self.width <= 0:
            raise ValueError(f"width={self.width!r} is not allowed; it must be an integer > 0")

    def _check_depth(self) -> None:
        assert self.depth is not None
        overhead = depth_overhead(self.shortcut, self.backbone, self.stages)
        step = depth_step(self.backbone, self.span, self.stages)
        if self.depth < overhead + step or (self.depth - overhead) % step:
            examples = valid_depths(self.shortcut, self.backbone, self.span, self.stages, 1, 10**6)
            shown = ", ".join(str(d) for d in examples[:5])
            raise ValueError(
                f"depth={self.depth} cannot be realised by {self.shortcut.value} with span "
                f"{self.span} and {effective_stages(self.backbone, self.stages)} stage(s); "
                f"allowed depths are {overhead} + {step}*n for n >= 1, e.g. {shown}, ..."
            )

    def _canonicalise_unused(self) -> None:
        set_ = object.__setattr__
        if self.shortcut is ShortcutType.DENSE:
            set_(self, "width", DEFAULT_WIDTH)
            set_(self, "compression", _round_compression(self.compression))
        else:
            set_(self, "growth_rate", DEFAULT_GROWTH_RATE)
            set_(self, "compression", DEFAULT_COMPRESSION)

    @property
    def units_per_stage(self) -> int:
        """Units (residual/highway blocks or dense layers) in each stage."""
        assert self.depth is not None
        overhead = depth_overhead(self.shortcut, self.backbone, self.stages)
        return (self.depth - overhead) // depth_step(self.backbone, self.span, self.stages)

    @property
    def num_stages(self) -> int:
        return effective_stages(self.backbone, self.stages)

    def to_str(self) -> str:
        """The canonical string (see the module docstring for its grammar)."""
        parts = [self.backbone.value] if self.backbone is Backbone.MLP else []
        parts += [self.shortcut.value, f"s{self.span}", f"d{self.depth}"]
        if self.shortcut is ShortcutType.DENSE:
            parts += [f"k{self.growth_rate}", f"c{_format_float(self.compression)}"]
        else:
            parts.append(f"w{self.width}")
        if self.backbone is Backbone.CONV and self.stages != DEFAULT_STAGES:
            parts.append(f"st{self.stages}")
        return "-".join(parts)

    __str__ = to_str

    @classmethod
    def from_str(cls, text: str) -> ArchitectureSpec:
        """Parse a canonical (or any well-formed) string; the result is canonical."""
        tokens = text.strip().lower().split("-")
        backbone = Backbone.CONV
        if tokens and tokens[0] in {b.value for b in Backbone}:
            backbone = Backbone(tokens.pop(0))
        if not tokens or not tokens[0]:
            raise ValueError(f"arch={text!r} is empty; expected e.g. 'identity-s2-d20-w16'")
        kwargs: dict[str, Any] = {"shortcut": tokens[0], "backbone": backbone}
        for token in tokens[1:]:
            key, value = _parse_token(token, text)
            if key in kwargs:
                raise ValueError(f"arch={text!r} gives {_TOKEN_FIELDS[key]!r} twice")
            kwargs[key] = value
        return cls(**{_TOKEN_FIELDS.get(k, k): v for k, v in kwargs.items()})

    def to_dict(self) -> dict[str, Any]:
        """Primitives only: enums become their names."""
        data = asdict(self)
        data["shortcut"] = self.shortcut.value
        data["backbone"] = self.backbone.value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ArchitectureSpec:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown spec field(s) {unknown}; allowed: {sorted(known)}")
        return cls(**data)


_TOKEN_FIELDS = {
    "s": "span",
    "d": "depth",
    "w": "width",
    "k": "growth_rate",
    "c": "compression",
    "st": "stages",
}
_TOKEN = re.compile(r"^(st|s|d|w|k|c)(\d+(?:\.\d+)?)$")


def _parse_token(token: str, text: str) -> tuple[str, int | float]:
    match = _TOKEN.match(token)
    if not match:
        raise ValueError(
            f"arch={text!r}: cannot read {token!r}; expected fields like s2 (span), d20 (depth), "
            "w16 (width), k12 (growth rate), c0.5 (compression), st3 (stages)"
        )
    key, raw = match.groups()
    if key == "c":
        return key, float(raw)
    if "." in raw:
        raise ValueError(f"arch={text!r}: {_TOKEN_FIELDS[key]} must be an integer, got {raw}")
    return key, int(raw)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _round_compression(value: float) -> float:
    """Compression is stored to 4 decimals so its string form is exact."""
    return round(float(value), 4)


def _format_float(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".") if value != int(value) else f"{value:.1f}"
