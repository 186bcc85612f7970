"""Every network of the space builds and trains: contract tests over all types and spans."""

from __future__ import annotations

import math

import optuna
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from search_space import (
    ArchitectureSpec,
    SearchSpace,
    ShortcutType,
    build_model,
    count_macs,
    count_params,
    depth_param_name,
    suggest,
)
from search_space._spec import Backbone
from search_space.shortcuts import DenseStage, HighwayUnit, UnitShape

SHORTCUTS = [t.value for t in ShortcutType]
IMAGE_SHAPES = [(1, 8, 8), (3, 8, 8), (1, 28, 28), (3, 32, 32), (1, 16, 12)]
SPACE = SearchSpace(depth=(3, 26), widths=(4, 8), growth_rates=(4, 6), compressions=(0.5, 1.0))
MLP_SPACE = SearchSpace(backbone="mlp", depth=(3, 12), widths=(8, 16), growth_rates=(4,))


@st.composite
def sampled_params(draw: st.DrawFn, space: SearchSpace) -> dict:
    """What any sampler may propose: draws from the same distributions `suggest` uses."""
    shortcut = draw(st.sampled_from(space.shortcuts))
    span = draw(st.sampled_from(space.spans))
    params = {
        "shortcut": shortcut,
        "span": span,
        depth_param_name(shortcut, span): draw(st.sampled_from(space.depths_for(shortcut, span))),
    }
    if shortcut == "dense":
        params["growth_rate"] = draw(st.sampled_from(space.growth_rates))
        params["compression"] = draw(st.sampled_from(space.compressions))
    else:
        params["width"] = draw(st.sampled_from(space.widths))
    return params


def check_trains(model: torch.nn.Module, x: torch.Tensor, num_classes: int) -> None:
    """Right output shape, finite, and every parameter receives a finite gradient."""
    out = model(x)
    assert out.shape == (x.shape[0], num_classes)
    assert torch.isfinite(out).all()
    out.square().mean().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, f"{name} got no gradient"
        assert torch.isfinite(p.grad).all(), f"{name} has a non-finite gradient"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(params=sampled_params(SPACE), shape=st.sampled_from(IMAGE_SHAPES))
def test_every_sampled_conv_spec_builds_and_trains(params: dict, shape: tuple) -> None:
    torch.manual_seed(0)
    spec = suggest(optuna.trial.FixedTrial(params), SPACE)
    assert spec in set(SPACE.specs())
    model = build_model(spec, input_shape=shape, num_classes=7)
    check_trains(model, torch.randn(3, *shape), 7)


@settings(max_examples=40, deadline=None)
@given(params=sampled_params(MLP_SPACE), features=st.sampled_from([(5,), (10,), (1, 8, 8)]))
def test_every_sampled_mlp_spec_builds_and_trains(params: dict, features: tuple) -> None:
    torch.manual_seed(0)
    spec = suggest(optuna.trial.FixedTrial(params), MLP_SPACE)
    model = build_model(spec, input_shape=features, num_classes=2)
    check_trains(model, torch.randn(4, *features), 2)


@pytest.mark.parametrize("shortcut", SHORTCUTS)
@pytest.mark.parametrize("span", [1, 2, 3])
def test_units_are_listed_in_order(shortcut: str, span: int) -> None:
    spec = ArchitectureSpec(shortcut=shortcut, span=span, width=4, growth_rate=4)
    model = build_model(spec, (3, 32, 32), 10)
    assert len(model.units()) == spec.units_per_stage * spec.num_stages


def test_identity_has_no_shortcut_parameters_projection_does() -> None:
    for span in (1, 2, 3):
        kw = dict(span=span, width=8)
        plain = count_params(build_model(ArchitectureSpec(shortcut="none", **kw), (3, 32, 32), 10))
        ident = count_params(
            build_model(ArchitectureSpec(shortcut="identity", **kw), (3, 32, 32), 10)
        )
        proj = count_params(
            build_model(ArchitectureSpec(shortcut="projection", **kw), (3, 32, 32), 10)
        )
        assert ident == plain, "identity shortcuts must be parameter-free"
        assert proj > ident, "projection shortcuts must learn W_s"


def test_identity_differs_from_plain_in_function() -> None:
    torch.manual_seed(0)
    x = torch.randn(2, 3, 16, 16)
    plain = build_model("none-s2-d14-w8", (3, 16, 16), 10).eval()
    ident = build_model("identity-s2-d14-w8", (3, 16, 16), 10).eval()
    ident.load_state_dict(plain.state_dict())  # same weights, only the shortcut differs
    assert not torch.allclose(plain(x), ident(x))


@pytest.mark.parametrize("backbone", [Backbone.CONV, Backbone.MLP])
def test_highway_with_closed_gate_is_identity(backbone: Backbone) -> None:
    shape = UnitShape(backbone, in_ch=6, planes=6, out_ch=6, span=2)
    unit = HighwayUnit(shape, gate_bias=-1e4).eval()  # T(x) = 0, so C(x) = 1
    x = torch.randn(3, 6, 5, 5) if backbone is Backbone.CONV else torch.randn(3, 6)
    assert torch.equal(unit(x), x)


def test_highway_gate_starts_negative() -> None:
    model = build_model("highway-s1-d32-w4", (1, 8, 8), 10)
    biases = [u.gate.bias for u in model.units()]
    assert all(float(b.detach().max()) < 0 for b in biases)


@pytest.mark.parametrize("span", [1, 2, 3])
@pytest.mark.parametrize("backbone", [Backbone.CONV, Backbone.MLP])
def test_dense_stage_grows_by_k_per_layer(span: int, backbone: Backbone) -> None:
    k0, k, layers = 10, 6, 5
    stage = DenseStage(backbone, k0, layers, k, span)
    x = torch.randn(2, k0, 4, 4) if backbone is Backbone.CONV else torch.randn(2, k0)
    out = stage(x)
    assert out.shape[1] == k0 + k * layers == stage.out_ch
    assert torch.equal(out[:, :k0], x), "a dense stage passes its input on unchanged"


def test_dense_transition_compresses() -> None:
    model = build_model("dense-s2-d22-k4-c0.5", (3, 32, 32), 10)
    first_transition = model.stages[0][1]
    assert first_transition.out_ch == (8 + 4 * 3) // 2


def test_input_too_small_for_stages() -> None:
    spec = ArchitectureSpec(shortcut="identity", span=1, stages=4)
    with pytest.raises(ValueError, match=r"too small for stages=4.*>= 16.*st3"):
        build_model(spec, (1, 8, 8), 10)


def test_conv_spec_on_tabular_input_is_an_error() -> None:
    with pytest.raises(ValueError, match="tabular but arch 'identity-s2-d14-w16' is conv"):
        build_model(ArchitectureSpec(shortcut="identity"), (10,), 1)


def test_bad_num_classes() -> None:
    with pytest.raises(ValueError, match="num_classes=0"):
        build_model(ArchitectureSpec(shortcut="identity"), (1, 8, 8), 0)


def test_macs_come_from_the_real_forward_pass() -> None:
    model = build_model("mlp-identity-s1-d3-w4", (5,), 3)
    assert count_macs(model, (5,)) == 5 * 4 + 4 * 4 + 4 * 3
    resnet = build_model("identity-s2-d20-w16", (3, 32, 32), 10)
    assert math.isclose(count_macs(resnet, (3, 32, 32)), 40.55e6, rel_tol=0.01)


def flop_counter_macs(model: torch.nn.Module, shape: tuple) -> int:
    """PyTorch's own count: every matmul and convolution dispatched, 2 FLOPs per MAC."""
    from torch.utils.flop_counter import FlopCounterMode

    model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, *shape))
    return int(counter.get_total_flops()) // 2


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    drawn=st.sampled_from([SPACE, MLP_SPACE]).flatmap(
        lambda space: sampled_params(space).map(lambda params: (space, params))
    ),
    shape=st.sampled_from(IMAGE_SHAPES),
)
def test_macs_equal_torch_flop_counter_for_every_kind_of_spec(drawn: tuple, shape: tuple) -> None:
    """count_macs reads convolution and linear layers only: no MAC may happen elsewhere."""
    space, params = drawn
    spec = suggest(optuna.trial.FixedTrial(params), space)
    model = build_model(spec, input_shape=shape, num_classes=7)
    assert count_macs(model, shape) == flop_counter_macs(model, shape), spec.to_str()


def test_mlp_identity_net_is_linear_plus_nonlinear() -> None:
    """With every unit's body zeroed, an identity MLP is exactly a linear model."""
    torch.manual_seed(0)
    model = build_model("mlp-identity-s2-d6-w8", (4,), 1).eval()
    for unit in model.units():
        last = unit.body[-1]
        torch.nn.init.zeros_(last.weight)
        torch.nn.init.zeros_(last.bias)
    x = torch.randn(16, 4)
    w = model.head.weight @ model.stem[1].weight
    b = model.head.weight @ model.stem[1].bias + model.head.bias
    torch.testing.assert_close(model(x), x @ w.T + b)
