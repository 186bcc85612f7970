"""The canonical networks of the papers: expressible by name and matching their counts."""

from __future__ import annotations

import pytest

from search_space import PAPER_NETWORKS, build_model, count_params, paper_spec

# Exact counts of the reference implementations (CIFAR ResNets with option A as in
# He et al.; torchvision-style DenseNet), which the papers print rounded.
REFERENCE_COUNTS = {
    "plain20": 269_722,
    "plain56": 853_018,
    "resnet20": 269_722,
    "resnet56": 853_018,
    "resnet110": 1_727_962,
    "densenet40_k12": 1_019_722,
    "densenet_bc100_k12": 769_162,
}


@pytest.mark.parametrize("name", sorted(PAPER_NETWORKS))
def test_parameter_count_matches_the_paper(name: str) -> None:
    paper = PAPER_NETWORKS[name]
    model = build_model(paper_spec(name), paper.input_shape, paper.num_classes)
    params = count_params(model)
    # The papers print 2 significant figures (0.27M, 1.7M, 0.8M, 151K): 5 % covers the rounding.
    assert abs(params - paper.published_params) / paper.published_params < 0.05, params
    if name in REFERENCE_COUNTS:
        assert params == REFERENCE_COUNTS[name]


def test_depths_are_counted_as_the_papers_count() -> None:
    assert paper_spec("resnet110").units_per_stage == 18  # 6n + 2 = 110
    assert paper_spec("densenet40_k12").units_per_stage == 12  # 3n + 4 = 40
    assert paper_spec("densenet_bc100_k12").units_per_stage == 16  # 6n + 4 = 100


def test_unknown_paper_name() -> None:
    with pytest.raises(ValueError, match="paper network 'resnet18' is unknown; choose one of"):
        paper_spec("resnet18")


def test_a_mistyped_paper_name_lists_the_paper_networks() -> None:
    from search_space import resolve_arch

    with pytest.raises(ValueError, match=r"'resnet21' is neither a paper network \(plain20, "):
        resolve_arch("resnet21")
    assert resolve_arch("ResNet20") == resolve_arch("resnet20")
