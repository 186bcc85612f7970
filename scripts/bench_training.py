"""Benchmark: a trial's overhead over a bare PyTorch loop, and the data path's speed.

(a) `train_architecture` (our LightningModule + datamodule, Trainer built per run)
(b) a bare PyTorch loop over the same device-resident tensors: same network, seed,
    optimiser, schedule, epochs, batch size and per-epoch validation.
Both include building the model and the data; neither measures gradient
diagnostics or the final test pass (reported separately). Then samples/s of
the device-resident loader against a torchvision-style DataLoader.

    python scripts/bench_training.py --arch resnet20 --dataset digits --epochs 10 --repeats 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from lightning_modules import (
    DataConfig,
    TrainConfig,
    TrainingRun,
    lr_factor,
    make_datamodule,
    train_architecture,
    wants_channels_last,
)
from search_space import build_model, resolve_arch


def lightning_trial(arch: str, data: DataConfig, train: TrainConfig) -> float:
    run = TrainingRun(data=data, train=train, run_test=False)
    start = time.perf_counter()
    train_architecture(arch, run)
    return time.perf_counter() - start


def bare_loop(arch: str, data: DataConfig, train: TrainConfig) -> float:
    """What a researcher writes by hand: the same work with no framework."""
    start = time.perf_counter()
    torch.manual_seed(train.seed)
    dm = make_datamodule(data, batch_size=train.batch_size, seed=train.seed)
    dm.setup("fit")
    spec = resolve_arch(arch)
    model = build_model(spec, dm.input_shape, dm.num_classes)
    memory_format = torch.contiguous_format
    if wants_channels_last(spec, "cpu", train.channels_last):
        memory_format = torch.channels_last  # the same layout our module picks
        model = model.to(memory_format=memory_format)
    opt = torch.optim.SGD(
        model.parameters(), lr=train.lr, momentum=train.momentum,
        weight_decay=train.weight_decay, nesterov=True,
    )  # fmt: skip
    loader, val_loader = dm.train_dataloader(), dm.val_dataloader()
    total = len(loader) * train.epochs
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_factor(train.schedule, total, 0))
    for epoch in range(train.epochs):
        loader.set_epoch(epoch)
        model.train()
        for x, y in loader:
            loss = F.cross_entropy(model(x.contiguous(memory_format=memory_format)), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        model.eval()
        correct = 0
        with torch.no_grad():
            for x, y in val_loader:
                out = model(x.contiguous(memory_format=memory_format))
                correct += int((out.argmax(1) == y).sum())
    return time.perf_counter() - start


def loader_throughput(data: DataConfig, batch_size: int, epochs: int) -> dict[str, float]:
    """Samples/s of one pass: resident loader vs TensorDataset + DataLoader (0 and 2 workers)."""
    dm = make_datamodule(data, batch_size=batch_size, seed=0)
    dm.setup("fit")
    resident = dm.train_dataloader()
    x_all = torch.cat([x for x, _ in resident])  # the same normalised samples
    y_all = torch.cat([y for _, y in resident])
    results = {"resident": _samples_per_second(resident, epochs)}
    for workers in (0, 2):
        loader = DataLoader(
            TensorDataset(x_all, y_all), batch_size=batch_size, shuffle=True,
            num_workers=workers, persistent_workers=workers > 0,
        )  # fmt: skip
        results[f"dataloader_{workers}_workers"] = _samples_per_second(loader, epochs)
    return results


def _samples_per_second(loader: Any, epochs: int) -> float:
    for _ in loader:  # warm-up (starts workers)
        pass
    start, seen = time.perf_counter(), 0
    for _ in range(epochs):
        for x, _ in loader:
            seen += len(x)
    return seen / (time.perf_counter() - start)


def interleaved(
    a: Callable[[], float], b: Callable[[], float], repeats: int
) -> tuple[list[float], list[float]]:
    """Alternate a and b so slow drifts of a shared 2-core machine hit both equally."""
    times_a, times_b = [], []
    for _ in range(repeats):
        times_a.append(a())
        times_b.append(b())
    return times_a, times_b


def per_step_overhead_ms(data: DataConfig, epochs: int, batch_size: int) -> float:
    """Framework cost per step: a tiny MLP, where the step itself costs almost nothing."""
    tiny = "mlp-identity-s1-d3-w8"
    train = TrainConfig(epochs=epochs, batch_size=batch_size, grad_diagnostics=False)
    ours, bare = interleaved(
        lambda: lightning_trial(tiny, data, train), lambda: bare_loop(tiny, data, train), 5
    )
    dm = make_datamodule(data, batch_size=batch_size)
    dm.setup("fit")
    steps = len(dm.train_dataloader()) * epochs
    return (statistics.median(ours) - statistics.median(bare)) / steps * 1000


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", default="resnet20")
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    import logging

    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    data = DataConfig(dataset=args.dataset, data_dir=args.data_dir)
    train = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, grad_diagnostics=False)
    arch = resolve_arch(args.arch).to_str()
    bare_loop(arch, data, train)  # warm-up: first-call costs (imports, allocator) for both
    lightning_trial(arch, data, train)
    ours_all, bare_all = interleaved(
        lambda: lightning_trial(arch, data, train),
        lambda: bare_loop(arch, data, train),
        args.repeats,
    )
    ours, bare = statistics.median(ours_all), statistics.median(bare_all)
    with_grads = lightning_trial(
        arch, data, TrainConfig(**{**train.to_dict(), "grad_diagnostics": True})
    )
    report = {
        "arch": arch, "dataset": args.dataset, "epochs": args.epochs,
        "batch_size": args.batch_size, "threads": torch.get_num_threads(),
        "ours_median_s": round(ours, 3), "bare_median_s": round(bare, 3),
        "ratio": round(ours / bare, 3), "ours_all_s": [round(t, 3) for t in ours_all],
        "bare_all_s": [round(t, 3) for t in bare_all],
        "ours_with_grad_diagnostics_s": round(with_grads, 3),
        "framework_overhead_ms_per_step": round(
            per_step_overhead_ms(data, args.epochs, args.batch_size), 3
        ),
        "loader_samples_per_s": {
            k: round(v) for k, v in loader_throughput(data, args.batch_size, 5).items()
        },
    }  # fmt: skip
    if args.json:
        print(json.dumps(report))
    else:
        for key, value in report.items():
            print(f"{key:>30}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
