"""Training: every shortcut type learns, checkpoints rebuild, seeds reproduce, gradients tell."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from lightning_modules import (
    DataConfig,
    ShortcutModule,
    TrainConfig,
    TrainingRun,
    load_module,
    lr_factor,
    make_datamodule,
    train_architecture,
    unit_gradient_norms,
)
from lightning_modules._module import unit_modules
from search_space import build_model
from studies.cli import main

SMALL = {
    "none": "none-s1-d8-w8",
    "highway": "highway-s1-d8-w8",
    "identity": "identity-s2-d14-w8",
    "projection": "projection-s1-d8-w8",
    "dense": "dense-s1-d10-k8-c0.5",
}


def quick_run(epochs: int = 3, **train: object) -> TrainingRun:
    settings: dict[str, object] = {"epochs": epochs, "batch_size": 64, "lr": 0.05, **train}
    return TrainingRun(data=DataConfig(dataset="digits"), train=TrainConfig(**settings))  # type: ignore[arg-type]


@pytest.mark.parametrize("shortcut", sorted(SMALL))
def test_every_shortcut_type_learns_digits(shortcut: str) -> None:
    metrics = train_architecture(SMALL[shortcut], quick_run())
    assert metrics["val_acc"] > 0.6, metrics  # chance is 0.1
    assert metrics["test_acc"] > 0.6, metrics
    assert metrics["epochs"] == 3 and metrics["arch"] == SMALL[shortcut]
    for key in ("grad_init_first", "grad_init_last", "grad_init_ratio", "grad_end_ratio"):
        assert math.isfinite(metrics[key]), key
    assert len(metrics["grad_init_units"]) == len(
        build_model(SMALL[shortcut], (1, 8, 8), 10).units()
    )


def test_same_seed_same_metrics() -> None:
    a = train_architecture("identity-s1-d8-w8", quick_run(epochs=2, seed=3))
    b = train_architecture("identity-s1-d8-w8", quick_run(epochs=2, seed=3))
    c = train_architecture("identity-s1-d8-w8", quick_run(epochs=2, seed=4))
    keys = ("val_acc", "val_loss", "test_acc", "grad_init_units", "grad_end_units")
    assert {k: a[k] for k in keys} == {k: b[k] for k in keys}
    assert a["val_loss"] != c["val_loss"]


def test_checkpoint_rebuilds_the_same_predictions(tmp_path: Path) -> None:
    run = quick_run(epochs=2)
    run.checkpoint_dir = str(tmp_path)
    train_architecture("projection-s2-d14-w8", run)
    restored = load_module(tmp_path / "last.ckpt").eval()
    assert restored.hparams["arch"] == "projection-s2-d14-w8"
    dm = make_datamodule(DataConfig(dataset="digits"), batch_size=64)
    dm.setup("fit")
    x, _ = next(iter(dm.val_dataloader()))
    state = torch.load(tmp_path / "last.ckpt", map_location="cpu", weights_only=True)
    fresh = ShortcutModule(**state["hyper_parameters"]).eval()
    fresh.load_state_dict(state["state_dict"])
    with torch.no_grad():
        torch.testing.assert_close(restored(x), fresh(x), rtol=0, atol=0)
        assert not torch.allclose(
            restored(x), ShortcutModule(**state["hyper_parameters"]).eval()(x)
        )


def test_regression_on_diabetes() -> None:
    run = TrainingRun(
        data=DataConfig(dataset="diabetes"),
        train=TrainConfig(epochs=30, batch_size=32, optimizer="adamw", lr=3e-3, weight_decay=0.0),
    )
    metrics = train_architecture("mlp-identity-s1-d4-w32", run)
    assert metrics["val_rmse"] < 0.9, metrics  # targets are standardised: predicting the mean is ~1
    assert "test_rmse" in metrics and "val_acc" not in metrics


def log_imbalance(arch: str, seed: int) -> float:
    """|log10(first/last)| of the per-unit gradient norms at initialisation on digits."""
    dm = make_datamodule(DataConfig(dataset="digits"), batch_size=128)
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    torch.manual_seed(seed)
    model = build_model(arch, (1, 8, 8), 10)
    norms = unit_gradient_norms(model, model.units(), batch, F.cross_entropy)
    return abs(math.log10(norms[0] / norms[-1]))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_deep_plain_gradients_lose_balance_identity_keeps_it(seed: int) -> None:
    """Plain-56 spreads first/last gradient norms over orders of magnitude; ResNet-56 does not.

    With batch norm the plain net's imbalance shows as gradients growing towards
    the input (Yang et al. 2019); without shortcuts there is no path that keeps
    the first and last units on one scale.
    """
    plain = log_imbalance("none-s2-d56-w16", seed)
    identity = log_imbalance("identity-s2-d56-w16", seed)
    assert plain > 2.0 and identity < 1.0, (plain, identity)
    assert plain > identity + 1.5


def test_gradient_measurement_changes_nothing() -> None:
    torch.manual_seed(0)
    model = build_model("identity-s1-d8-w8", (1, 8, 8), 10)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    batch = (torch.randn(16, 1, 8, 8), torch.randint(0, 10, (16,)))
    unit_gradient_norms(model, model.units(), batch, F.cross_entropy)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())


@pytest.mark.parametrize(
    "stop",
    [{}, {"max_epochs": -1, "max_steps": 24}],  # 21 steps an epoch: stops inside the second
    ids=["max_epochs", "max_steps"],
)
def test_gradient_flow_reads_the_first_and_the_last_steps_gradients(stop: dict) -> None:  # type: ignore[type-arg]
    """GradientFlow spends no pass of its own: its init and end norms must equal
    `unit_gradient_norms` on the first and on the last training batch, with the network
    as it stood before those steps -- also when fit stops inside an epoch."""
    import copy

    import lightning.pytorch as L

    seen: dict[str, object] = {}

    class Spy(L.Callback):
        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:  # type: ignore[no-untyped-def]
            step = (copy.deepcopy(pl_module), (batch[0].clone(), batch[1].clone()))
            seen.setdefault("first", step)
            seen["last"] = step

    run = quick_run(epochs=2, seed=5)
    run.callbacks = [Spy()]
    run.trainer_kwargs = dict(stop)
    metrics = train_architecture("identity-s1-d8-w8", run)
    for prefix, key in (("grad_init", "first"), ("grad_end", "last")):
        model, batch = seen[key]  # type: ignore[misc]
        expected = unit_gradient_norms(model, unit_modules(model), batch, model.loss)
        assert metrics[f"{prefix}_units"] == pytest.approx(expected, rel=1e-4), prefix
    assert metrics["grad_end_units"] != pytest.approx(metrics["grad_init_units"], rel=1e-2)


def _trains_in_channels_last(arch: str, setting: bool | None) -> tuple[bool, dict]:
    import lightning.pytorch as L

    seen: dict[str, bool] = {}

    class Spy(L.Callback):
        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:  # type: ignore[no-untyped-def]
            weights = [p for p in pl_module.parameters() if p.dim() == 4]
            seen["nhwc"] = bool(weights) and all(
                w.is_contiguous(memory_format=torch.channels_last) for w in weights
            )

    run = quick_run(epochs=2, seed=1, channels_last=setting)
    run.callbacks = [Spy()]
    metrics = train_architecture(arch, run)
    return seen["nhwc"], metrics


def test_conv_nets_train_channels_last_on_the_cpu_by_default() -> None:
    """NHWC is the faster layout for oneDNN's CPU convolutions too, highway nets aside
    (docs/benchmarks.md); the flag still decides, and the layout changes rounding only,
    not what is learnt."""
    nhwc, auto = _trains_in_channels_last("projection-s1-d8-w8", None)
    nchw, off = _trains_in_channels_last("projection-s1-d8-w8", False)
    assert nhwc and not nchw
    # Rounding differs between the layouts and grows over training, so compare outcomes.
    assert abs(auto["val_acc"] - off["val_acc"]) <= 0.05, (auto["val_acc"], off["val_acc"])
    assert not _trains_in_channels_last("mlp-identity-s1-d3-w8", None)[0]
    assert not _trains_in_channels_last("highway-s1-d8-w8", None)[0], "measured slower in NHWC"
    assert _trains_in_channels_last("highway-s1-d8-w8", True)[0]


@pytest.mark.parametrize("optimizer", ["sgd", "adamw"])
def test_optimizer_steps_fused_on_the_cpu(optimizer: str) -> None:
    import lightning.pytorch as L

    fused: list[object] = []

    class Spy(L.Callback):
        def on_train_start(self, trainer, pl_module) -> None:  # type: ignore[no-untyped-def]
            fused.append(trainer.optimizers[0].defaults["fused"])

    run = quick_run(epochs=1, optimizer=optimizer, lr=0.01)
    run.callbacks = [Spy()]
    assert train_architecture("identity-s1-d8-w8", run)["val_acc"] > 0.3
    assert fused == [True]


@pytest.mark.parametrize("schedule", ["cosine", "onecycle", "step", "constant"])
def test_schedules_start_and_end_sensibly(schedule: str) -> None:
    factor = lr_factor(schedule, total_steps=100, warmup_steps=10)
    assert factor(0) == pytest.approx(0.1)
    assert factor(9) == pytest.approx(1.0)
    assert 0.0 <= factor(99) <= 1.0
    if schedule in ("cosine", "onecycle"):
        assert factor(99) < 0.05


def test_adamw_and_label_smoothing_train() -> None:
    metrics = train_architecture(
        "identity-s1-d8-w8", quick_run(optimizer="adamw", lr=3e-3, label_smoothing=0.1)
    )
    assert metrics["val_acc"] > 0.6


def test_cli_train_json(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["train", "none-s1-d5-w8", "--epochs", "1", "--json", "--batch-size", "64"])
    assert code == 0
    metrics = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    for key in ("arch", "params", "epochs", "batch_size", "train_seconds", "val_acc", "test_acc",
                "grad_init_ratio", "grad_end_ratio", "macs"):  # fmt: skip
        assert key in metrics, key
    assert metrics["arch"] == "none-s1-d5-w8" and metrics["epochs"] == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "resnet-s2"], "shortcut='resnet' is unknown"),
        (["train", "identity-s2-d21-w16"], "depth=21 cannot be realised"),
        (["train", "identity-s4-d20-w16"], "span=4 is not allowed"),
        (["train", "resnet20", "--dataset", "svhn"], "unknown dataset 'svhn'"),
        (["train", "resnet20", "--epochs", "0"], "epochs=0 is not allowed"),
    ],
)
def test_cli_train_bad_input_is_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err


def test_cli_train_missing_dataset_names_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["train", "resnet20", "--dataset", "cifar10", "--data-dir", str(tmp_path), "--json"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(tmp_path) in err[0] and "--download" in err[0], err


def test_per_step_shortcuts_keep_module_semantics() -> None:
    """The plain-attribute fast path stores what nn.Module would, never touching parameter,
    buffer or submodule tables; a batch already on the device is handed back as it is, any
    other batch goes through Lightning's own transfer."""
    module = ShortcutModule("none-s1-d4-w8-st1", input_shape=(1, 8, 8), num_classes=10)
    module._current_fx_name = "training_step"
    module._count = 7
    assert module.__dict__["_current_fx_name"] == "training_step"
    assert module.__dict__["_count"] == 7
    for table in ("_parameters", "_buffers", "_modules"):
        assert "_count" not in getattr(module, table)
    module.extra = torch.nn.Linear(2, 2)  # other names still register as submodules
    assert "extra" in module._modules
    batch = (torch.zeros(2, 1, 8, 8), torch.zeros(2, dtype=torch.long))
    assert module.transfer_batch_to_device(batch, torch.device("cpu"), 0) is batch
    as_list = [batch[0], batch[1]]
    moved = module.transfer_batch_to_device(as_list, torch.device("cpu"), 0)
    assert isinstance(moved, list) and moved[0] is batch[0]
