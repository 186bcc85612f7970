"""The search space: which specs a study may propose, and the sampler that proposes them.

`SearchSpace` holds ranges, not networks; a study config narrows or widens it
(its ``[space]`` table maps onto the fields). `suggest(trial, space)` turns an
Optuna trial into an `ArchitectureSpec` through the define-by-run API, with
conditional parameters:

* ``shortcut`` and ``span`` always;
* a depth whose name says which family and span it belongs to
  (``depth_residual_s2``, ``depth_dense_s1``, ...): each has its own
  distribution, an integer range whose step is the depth one more unit per stage
  adds, so every value is realisable and samplers see an ordered, fixed range;
* ``width`` for every type but dense; ``growth_rate`` and ``compression`` for dense.

Optuna sees only primitives; the spec's string becomes the trial's ``arch``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, Protocol

from search_space._spec import (
    DEFAULT_STAGES,
    MAX_STAGES,
    SPANS,
    ArchitectureSpec,
    Backbone,
    ShortcutType,
    depth_step,
    valid_depths,
)

ALL_SHORTCUTS = tuple(t.value for t in ShortcutType)


class SuggestTrial(Protocol):
    """The part of `optuna.trial.Trial` the sampler uses (FixedTrial fits too)."""

    def suggest_categorical(self, name: str, choices: Any) -> Any: ...

    def suggest_int(self, name: str, low: int, high: int, *, step: int = 1) -> int: ...


@dataclass(frozen=True)
class SearchSpace:
    """Ranges of the architecture search. Every spec it can produce is valid.

    Example:
        >>> space = SearchSpace(shortcuts=("identity", "dense"), spans=(1, 2), depth=(8, 20))
        >>> len(space.fingerprint())
        16
    """

    backbone: str = "conv"  # conv for images, mlp for tabular features
    shortcuts: tuple[str, ...] = ALL_SHORTCUTS  # shortcut types to compare
    spans: tuple[int, ...] = SPANS  # layers one shortcut skips
    depth: tuple[int, int] = (8, 32)  # inclusive range of depths, counted as the papers do
    widths: tuple[int, ...] = (16, 32)  # stage-1 channels (not dense)
    growth_rates: tuple[int, ...] = (12, 24)  # k (dense only)
    compressions: tuple[float, ...] = (0.5, 1.0)  # theta (dense only)
    stages: int = DEFAULT_STAGES  # conv stages; fewer for tiny inputs

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "backbone", Backbone.parse(self.backbone).value)
        set_(self, "shortcuts", _unique(ShortcutType.parse(s).value for s in self.shortcuts))
        set_(self, "spans", _unique(int(s) for s in self.spans))
        set_(self, "widths", _unique(int(w) for w in self.widths))
        set_(self, "growth_rates", _unique(int(k) for k in self.growth_rates))
        set_(self, "compressions", _unique(round(float(c), 4) for c in self.compressions))
        set_(self, "depth", tuple(int(d) for d in self.depth))
        self._check()

    def _check(self) -> None:
        _require(bool(self.shortcuts), "shortcuts", self.shortcuts, "at least one shortcut type")
        _require(bool(self.spans) and set(self.spans) <= set(SPANS), "spans", self.spans, "1, 2, 3")
        lo_hi_ok = len(self.depth) == 2 and 1 <= self.depth[0] <= self.depth[1]
        _require(lo_hi_ok, "depth", self.depth, "[min, max] with 1 <= min <= max")
        _require(1 <= self.stages <= MAX_STAGES, "stages", self.stages, f"1..{MAX_STAGES}")
        if self.uses_width:
            _require(
                bool(self.widths) and min(self.widths) > 0, "widths", self.widths, "integers > 0"
            )
        if ShortcutType.DENSE.value in self.shortcuts:
            ok_k = bool(self.growth_rates) and min(self.growth_rates) > 0
            _require(ok_k, "growth_rates", self.growth_rates, "integers > 0")
            ok_c = bool(self.compressions) and all(0 < c <= 1 for c in self.compressions)
            _require(ok_c, "compressions", self.compressions, "values in (0, 1]")
        for shortcut in self.shortcuts:
            for span in self.spans:
                if not self.depths_for(shortcut, span):
                    raise ValueError(
                        f"depth={list(self.depth)} holds no depth that {shortcut} with span "
                        f"{span} can realise; widen the depth range or drop span {span}"
                    )

    @property
    def uses_width(self) -> bool:
        return any(s != ShortcutType.DENSE.value for s in self.shortcuts)

    def depths_for(self, shortcut: str, span: int) -> list[int]:
        """Every depth in range that `shortcut` with `span` realises."""
        return valid_depths(
            ShortcutType.parse(shortcut), Backbone(self.backbone), span, self.stages, *self.depth
        )

    # -- serialisation -------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SearchSpace:
        """Build from a config table; unknown keys and wrong types name the key."""
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ValueError(
                f"unknown key(s) in [space]: {', '.join(unknown)}; allowed: {', '.join(known)}"
            )
        kwargs = {key: _coerce(key, value) for key, value in data.items()}
        return cls(**kwargs)

    def fingerprint(self) -> str:
        """A stable 16-hex digest of the space: equal spaces, equal fingerprints."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    # -- enumeration -----------------------------------------------------------------

    def specs(self) -> Iterator[ArchitectureSpec]:
        """Every distinct spec of the space (for grid search and exhaustive tests)."""
        for shortcut, span in itertools.product(self.shortcuts, self.spans):
            for depth in self.depths_for(shortcut, span):
                yield from self._variants(shortcut, span, depth)

    def _variants(self, shortcut: str, span: int, depth: int) -> Iterator[ArchitectureSpec]:
        common = dict(
            shortcut=shortcut, span=span, depth=depth, stages=self.stages, backbone=self.backbone
        )
        if shortcut == ShortcutType.DENSE.value:
            for k, c in itertools.product(self.growth_rates, self.compressions):
                yield ArchitectureSpec(**common, growth_rate=k, compression=c)  # type: ignore[arg-type]
        else:
            for width in self.widths:
                yield ArchitectureSpec(**common, width=width)  # type: ignore[arg-type]

    def size(self) -> int:
        return sum(1 for _ in self.specs())


def depth_param_name(shortcut: str, span: int) -> str:
    """Depth's parameter name: one distribution per (family, span), never a moving range."""
    family = "dense" if shortcut == ShortcutType.DENSE.value else "residual"
    return f"depth_{family}_s{span}"


def suggest(trial: SuggestTrial, space: SearchSpace) -> ArchitectureSpec:
    """Ask `trial` for an architecture of `space` (Optuna define-by-run).

    Example:
        >>> import optuna
        >>> study = optuna.create_study(direction="maximize")
        >>> spec = suggest(study.ask(), SearchSpace())
        >>> spec == ArchitectureSpec.from_str(spec.to_str())
        True
    """
    shortcut = trial.suggest_categorical("shortcut", list(space.shortcuts))
    span = int(trial.suggest_categorical("span", list(space.spans)))
    depths = space.depths_for(shortcut, span)
    step = depth_step(Backbone(space.backbone), span, space.stages)
    depth = trial.suggest_int(depth_param_name(shortcut, span), depths[0], depths[-1], step=step)
    common: dict[str, Any] = dict(
        shortcut=shortcut, span=span, depth=depth, stages=space.stages, backbone=space.backbone
    )
    if shortcut == ShortcutType.DENSE.value:
        common["growth_rate"] = int(
            trial.suggest_categorical("growth_rate", list(space.growth_rates))
        )
        common["compression"] = float(
            trial.suggest_categorical("compression", list(space.compressions))
        )
    else:
        common["width"] = int(trial.suggest_categorical("width", list(space.widths)))
    return ArchitectureSpec(**common)


def _unique(values: Any) -> tuple[Any, ...]:
    """Deduplicate, keep order: the order is part of the fingerprint and the grid."""
    return tuple(dict.fromkeys(values))


def _require(ok: bool, key: str, value: object, allowed: str) -> None:
    if not ok:
        raise ValueError(f"[space] {key}={value!r} is not allowed; it must be {allowed}")


_LIST_KEYS = {"shortcuts", "spans", "widths", "growth_rates", "compressions", "depth"}


def _coerce(key: str, value: Any) -> Any:
    """Check TOML types: lists where lists belong, numbers where numbers belong."""
    if key in _LIST_KEYS:
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"[space] {key} must be a list, got {type(value).__name__}: {value!r}")
        element = str if key == "shortcuts" else (float if key == "compressions" else int)
        for item in value:
            is_bool = isinstance(item, bool)
            if is_bool or not isinstance(item, (element, int) if element is float else element):
                raise ValueError(f"[space] {key} must hold {element.__name__} values, got {item!r}")
        return tuple(value)
    if key == "stages" and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValueError(f"[space] stages must be an integer, got {value!r}")
    if key == "backbone" and not isinstance(value, str):
        raise ValueError(f"[space] backbone must be a string, got {value!r}")
    return value
