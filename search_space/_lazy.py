"""Package attributes imported on first use (PEP 562), so the light parts stay light.

`search_space` and `lightning_modules` export torch- and Lightning-backed names next
to pure-Python ones (specs, spaces, configs, data set facts). Reading a config, and
with it `shortcut-nas --help`, `best` and `status`, needs only the latter; importing
torch and Lightning as well took ~5 of the ~5.3 s that `best` took (measured). With
these hooks a backed name's module is imported the first time the name is read.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_attributes(
    package: str, homes: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """`__getattr__` and `__dir__` for `package`: each name in `homes` comes from its module.

    Example (in a package's ``__init__.py``):
        >>> __getattr__, __dir__ = lazy_attributes(__name__, {"build_model": "pkg._builder"})
    """
    namespace = sys.modules[package].__dict__

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(home), name)
        namespace[name] = value  # later reads find it without this hook
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *homes})

    return __getattr__, __dir__
