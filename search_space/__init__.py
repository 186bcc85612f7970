"""What an architecture is, and how it becomes an nn.Module.

Public surface (everything else is private):

* `ArchitectureSpec`, `ShortcutType`, `Backbone`: one network as data, with a
  canonical string (`to_str` / `from_str`);
* `build_model(spec, input_shape, num_classes)`: the network itself;
* `SearchSpace`, `suggest(trial, space)`: the ranges a study searches and the
  Optuna sampler over them;
* `paper_spec(name)`, `PAPER_NETWORKS`, `resolve_arch`: the published networks;
* `count_params`, `count_macs`: what a network costs;
* `save_model`, `load_model`: exported spec + weights, loadable in plain PyTorch.

This package imports neither Optuna's storage nor Lightning, and torch only when a
network is built, counted or exported (specs and spaces are plain Python).
"""

from typing import TYPE_CHECKING

from search_space._inputs import check_input
from search_space._lazy import lazy_attributes
from search_space._papers import (
    PAPER_NETWORKS,
    PaperNetwork,
    paper_network,
    paper_spec,
    resolve_arch,
)
from search_space._space import SearchSpace, depth_param_name, suggest
from search_space._spec import ArchitectureSpec, Backbone, ShortcutType

# Backed by torch: imported when first used, so specs and spaces load without it.
__getattr__, __dir__ = lazy_attributes(
    __name__,
    {
        "ShortcutNet": "search_space._builder",
        "build_model": "search_space._builder",
        "count_macs": "search_space._cost",
        "count_params": "search_space._cost",
        "load_model": "search_space._export",
        "save_model": "search_space._export",
    },
)
if TYPE_CHECKING:
    from search_space._builder import ShortcutNet, build_model
    from search_space._cost import count_macs, count_params
    from search_space._export import load_model, save_model

__all__ = [
    "PAPER_NETWORKS",
    "ArchitectureSpec",
    "Backbone",
    "PaperNetwork",
    "SearchSpace",
    "ShortcutNet",
    "ShortcutType",
    "build_model",
    "check_input",
    "count_macs",
    "count_params",
    "depth_param_name",
    "load_model",
    "paper_network",
    "paper_spec",
    "resolve_arch",
    "save_model",
    "suggest",
]
