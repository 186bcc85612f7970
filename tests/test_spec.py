"""The spec: canonical strings, round trips, canonicalisation and validation errors."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from search_space import ArchitectureSpec, Backbone, ShortcutType, build_model, resolve_arch

SHORTCUTS = [t.value for t in ShortcutType]


@st.composite
def specs(draw: st.DrawFn) -> ArchitectureSpec:
    shortcut = draw(st.sampled_from(SHORTCUTS))
    backbone = draw(st.sampled_from(["conv", "mlp"]))
    span = draw(st.integers(1, 3))
    stages = draw(st.integers(1, 4))
    base = ArchitectureSpec(shortcut=shortcut, span=span, stages=stages, backbone=backbone)
    assert base.depth is not None
    step = span * base.num_stages
    depth = base.depth + step * draw(st.integers(-1, 6))
    return ArchitectureSpec(
        shortcut=shortcut,
        span=span,
        depth=depth,
        width=draw(st.integers(1, 128)),
        growth_rate=draw(st.integers(1, 64)),
        compression=draw(st.sampled_from([0.25, 0.5, 0.75, 1.0])),
        stages=stages,
        backbone=backbone,
    )


@given(specs())
def test_string_round_trip(spec: ArchitectureSpec) -> None:
    text = spec.to_str()
    again = ArchitectureSpec.from_str(text)
    assert again == spec
    assert hash(again) == hash(spec)
    assert again.to_str() == text


@given(specs())
def test_dict_round_trip(spec: ArchitectureSpec) -> None:
    assert ArchitectureSpec.from_dict(spec.to_dict()) == spec


def test_known_strings() -> None:
    assert ArchitectureSpec(shortcut="identity", span=2, depth=20).to_str() == "identity-s2-d20-w16"
    dense = ArchitectureSpec(shortcut="dense", span=2, depth=100, growth_rate=12, compression=0.5)
    assert dense.to_str() == "dense-s2-d100-k12-c0.5"
    mlp = ArchitectureSpec(shortcut="highway", span=1, depth=6, width=64, backbone="mlp")
    assert mlp.to_str() == "mlp-highway-s1-d6-w64"
    assert ArchitectureSpec.from_str("identity-s1-d6-w8-st2").stages == 2


def test_enum_or_name() -> None:
    a = ArchitectureSpec(shortcut=ShortcutType.PROJECTION, span=1)
    b = ArchitectureSpec(shortcut="projection", span=1)
    assert a == b and a.shortcut is ShortcutType.PROJECTION


@pytest.mark.parametrize("shortcut", SHORTCUTS)
@pytest.mark.parametrize("span", [1, 2, 3])
@pytest.mark.parametrize("backbone", ["conv", "mlp"])
def test_defaults_are_valid_for_every_type_and_span(
    shortcut: str, span: int, backbone: str
) -> None:
    spec = ArchitectureSpec(shortcut=shortcut, span=span, backbone=backbone)
    shape = (1, 8, 8) if backbone == "conv" else (10,)
    build_model(spec, input_shape=shape, num_classes=3)


def test_unused_parameters_are_canonicalised() -> None:
    """Fields that do not apply cannot make two equal networks differ."""
    a = ArchitectureSpec(shortcut="identity", span=2, depth=20, growth_rate=40, compression=0.3)
    b = ArchitectureSpec(shortcut="identity", span=2, depth=20)
    assert a == b and a.to_str() == b.to_str()
    c = ArchitectureSpec(shortcut="dense", span=1, depth=40, width=99)
    d = ArchitectureSpec(shortcut="dense", span=1, depth=40)
    assert c == d
    e = ArchitectureSpec(shortcut="none", span=1, depth=4, backbone="mlp", stages=2)
    assert e == ArchitectureSpec(shortcut="none", span=1, depth=4, backbone="mlp")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"shortcut": "skip"}, "shortcut='skip' is unknown; choose one of none, highway"),
        ({"shortcut": "identity", "span": 0}, "span=0 is not allowed; choose one of 1, 2, 3"),
        ({"shortcut": "identity", "span": 4}, "span=4 is not allowed"),
        ({"shortcut": "dense", "growth_rate": 0}, "growth_rate=0 is not allowed"),
        ({"shortcut": "dense", "growth_rate": -3}, "growth_rate=-3 is not allowed"),
        ({"shortcut": "dense", "compression": 0.0}, "compression=0.0 is not allowed"),
        ({"shortcut": "identity", "width": 0}, "width=0 is not allowed"),
        ({"shortcut": "identity", "span": 2, "depth": 21}, "depth=21 cannot be realised"),
        ({"shortcut": "identity", "span": 3, "depth": 2}, "depth=2 cannot be realised"),
        ({"shortcut": "dense", "span": 1, "depth": 20}, "allowed depths are 4 + 3*n"),
        ({"shortcut": "identity", "stages": 0}, "stages=0 is not allowed"),
        ({"shortcut": "identity", "backbone": "rnn"}, "backbone='rnn' is unknown"),
    ],
)
def test_validation_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        ArchitectureSpec(**kwargs)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty"),
        ("resnet-s2", "shortcut='resnet' is unknown"),
        ("identity-s2-d20-q5", "cannot read 'q5'"),
        ("identity-s2-s3", "gives 'span' twice"),
        ("identity-s2.5-d20", "span must be an integer"),
    ],
)
def test_parse_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ArchitectureSpec.from_str(text)


def test_depth_error_lists_valid_depths() -> None:
    with pytest.raises(ValueError) as info:
        ArchitectureSpec(shortcut="identity", span=2, depth=21)
    assert "2 + 6*n" in str(info.value) and "8, 14, 20" in str(info.value)


def test_resolve_arch_accepts_names_and_strings() -> None:
    assert resolve_arch("resnet20").to_str() == "identity-s2-d20-w16"
    assert resolve_arch("dense-s1-d10-k12-c1.0").shortcut is ShortcutType.DENSE
    assert resolve_arch("mlp-none-s1-d3-w8").backbone is Backbone.MLP
