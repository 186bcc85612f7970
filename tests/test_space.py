"""The search space and its sampler: never an invalid spec, conditional params, fingerprint."""

from __future__ import annotations

import optuna
import pytest

from search_space import ArchitectureSpec, SearchSpace, suggest

optuna.logging.set_verbosity(optuna.logging.WARNING)


@pytest.mark.parametrize(
    "sampler",
    [optuna.samplers.RandomSampler(seed=1), optuna.samplers.TPESampler(seed=1, n_startup_trials=5)],
    ids=["random", "tpe"],
)
def test_sampler_only_proposes_specs_of_the_space(sampler: optuna.samplers.BaseSampler) -> None:
    space = SearchSpace(depth=(5, 40), widths=(8, 16, 32), growth_rates=(6, 12))
    allowed = set(space.specs())
    study = optuna.create_study(sampler=sampler, direction="maximize")
    for _ in range(60):
        trial = study.ask()
        spec = suggest(trial, space)
        assert spec in allowed
        study.tell(trial, float(spec.units_per_stage))


def test_conditional_parameters() -> None:
    space = SearchSpace()
    dense = suggest(optuna.trial.FixedTrial(
        {"shortcut": "dense", "span": 2, "depth_dense_s2": 16, "growth_rate": 24,
         "compression": 0.5}), space)  # fmt: skip
    assert dense.to_str() == "dense-s2-d16-k24-c0.5"
    study = optuna.create_study()
    for _ in range(30):
        trial = study.ask()
        spec = suggest(trial, space)
        has_width = "width" in trial.params
        has_k = "growth_rate" in trial.params and "compression" in trial.params
        assert has_width != has_k
        assert has_k == (spec.shortcut.value == "dense")
        study.tell(trial, 0.0)


def test_brute_force_enumerates_the_whole_space_once() -> None:
    space = SearchSpace(
        shortcuts=("identity", "dense"), spans=(1, 2), depth=(8, 16), widths=(8,),
        growth_rates=(4,), compressions=(0.5,),
    )  # fmt: skip
    study = optuna.create_study(sampler=optuna.samplers.BruteForceSampler(seed=0))
    seen = []
    study.optimize(lambda t: len(seen.append(suggest(t, space)) or seen), n_trials=100)
    assert len(seen) == space.size() == len(set(seen))
    assert set(seen) == set(space.specs())


def test_fingerprint_is_stable_and_sensitive() -> None:
    assert SearchSpace().fingerprint() == SearchSpace().fingerprint()
    assert SearchSpace().fingerprint() == "b3d1ea51b75a7a26"  # changing it breaks old studies
    assert SearchSpace(depth=(8, 34)).fingerprint() != SearchSpace().fingerprint()
    same = SearchSpace.from_dict({"spans": [1, 2, 3], "shortcuts": list(SearchSpace().shortcuts)})
    assert same.fingerprint() == SearchSpace().fingerprint()


def test_round_trip_through_a_config_table() -> None:
    space = SearchSpace(shortcuts=("dense",), spans=(2,), depth=(10, 40), growth_rates=(12, 24))
    assert SearchSpace.from_dict(space.to_dict()) == space


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"shortcut": ["identity"]}, r"unknown key\(s\) in \[space\]: shortcut"),
        ({"spans": 2}, "spans must be a list"),
        ({"spans": [0, 1]}, r"spans=\(0, 1\) is not allowed"),
        ({"shortcuts": ["resnet"]}, "shortcut='resnet' is unknown"),
        ({"widths": ["16"]}, "widths must hold int values"),
        ({"depth": [30, 10]}, "depth=.* is not allowed"),
        ({"depth": [3, 5], "spans": [3]}, "holds no depth that none with span 3 can realise"),
        ({"growth_rates": [0]}, "growth_rates=.* is not allowed"),
        ({"compressions": [1.5]}, "compressions=.* is not allowed"),
        ({"stages": "3"}, "stages must be an integer"),
    ],
)
def test_space_errors_name_the_key(table: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SearchSpace.from_dict(table)


def test_size_counts_distinct_specs() -> None:
    space = SearchSpace(shortcuts=("identity",), spans=(2,), depth=(8, 20), widths=(8, 16))
    assert space.size() == 3 * 2  # depths 8, 14, 20 x widths 8, 16
    assert ArchitectureSpec.from_str("identity-s2-d14-w8") in set(space.specs())
