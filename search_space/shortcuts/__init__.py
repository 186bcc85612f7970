"""One module per shortcut type, found through `UNITS` rather than an if/elif chain."""

from __future__ import annotations

from search_space._spec import ShortcutType
from search_space.shortcuts._base import Unit, UnitShape
from search_space.shortcuts.dense import DenseLayer, DenseStage, Transition
from search_space.shortcuts.highway import HighwayUnit
from search_space.shortcuts.identity import IdentityUnit
from search_space.shortcuts.none import PlainUnit
from search_space.shortcuts.projection import ProjectionUnit

UNITS: dict[ShortcutType, type[Unit]] = {
    ShortcutType.NONE: PlainUnit,
    ShortcutType.HIGHWAY: HighwayUnit,
    ShortcutType.IDENTITY: IdentityUnit,
    ShortcutType.PROJECTION: ProjectionUnit,
    ShortcutType.DENSE: DenseLayer,
}

__all__ = [
    "UNITS",
    "DenseLayer",
    "DenseStage",
    "HighwayUnit",
    "IdentityUnit",
    "PlainUnit",
    "ProjectionUnit",
    "Transition",
    "Unit",
    "UnitShape",
]
