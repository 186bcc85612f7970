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

This package imports neither Optuna's storage nor Lightning.
"""

from search_space._builder import ShortcutNet, build_model, check_input
from search_space._cost import count_macs, count_params
from search_space._export import load_model, save_model
from search_space._papers import (
    PAPER_NETWORKS,
    PaperNetwork,
    paper_network,
    paper_spec,
    resolve_arch,
)
from search_space._space import SearchSpace, depth_param_name, suggest
from search_space._spec import ArchitectureSpec, Backbone, ShortcutType

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
