"""`shortcut-nas train ARCH`: train one architecture without a study."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from lightning_modules import DataConfig, TrainConfig


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "train",
        help="train one architecture (canonical string or paper name) and print its metrics",
        description="Train one architecture without a study, e.g. "
        "`shortcut-nas train resnet20 --dataset cifar10 --epochs 30 --download`.",
    )
    p.add_argument("arch", help="canonical string (identity-s2-d20-w16) or paper name (resnet20)")
    p.add_argument("--dataset", default="digits", help="digits (default, offline), mnist, "
                   "fashion_mnist, cifar10, cifar100, diabetes (regression)")  # fmt: skip
    p.add_argument("--epochs", type=int, default=TrainConfig.epochs)
    p.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    p.add_argument("--optimizer", choices=["sgd", "adamw"], default=TrainConfig.optimizer)
    p.add_argument("--lr", type=float, default=TrainConfig.lr)
    p.add_argument("--weight-decay", type=float, default=TrainConfig.weight_decay)
    p.add_argument("--schedule", default=TrainConfig.schedule)
    p.add_argument("--label-smoothing", type=float, default=TrainConfig.label_smoothing)
    p.add_argument("--seed", type=int, default=TrainConfig.seed)
    p.add_argument("--accelerator", default="auto", help="cpu, gpu or auto")
    p.add_argument("--devices", type=int, default=1, help="devices for this run (>1: DDP)")
    p.add_argument("--precision", default="auto", help="auto, 32-true, bf16-mixed, 16-mixed")
    p.add_argument("--data-dir", default=DataConfig.data_dir)
    p.add_argument("--download", action="store_true", help="download missing data (internet)")
    p.add_argument("--val-fraction", type=float, default=DataConfig.val_fraction)
    p.add_argument("--checkpoint-dir", help="save last.ckpt here after every epoch")
    p.add_argument("--json", action="store_true", help="print the metrics as one JSON object")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from lightning_modules import TrainingRun, train_architecture
    from search_space import resolve_arch

    spec = resolve_arch(args.arch)  # a bad arch fails here, before any data is read
    train = TrainConfig(
        epochs=args.epochs, batch_size=args.batch_size, optimizer=args.optimizer, lr=args.lr,
        weight_decay=args.weight_decay, schedule=args.schedule,
        label_smoothing=args.label_smoothing, seed=args.seed, accelerator=args.accelerator,
        devices=args.devices, precision=args.precision,
    )  # fmt: skip
    data = DataConfig(
        dataset=args.dataset, data_dir=args.data_dir, download=args.download,
        val_fraction=args.val_fraction, split_seed=args.seed,
    )  # fmt: skip
    run_ = TrainingRun(
        data=data, train=train, checkpoint_dir=args.checkpoint_dir, progress_bar=not args.json
    )
    metrics = train_architecture(spec.to_str(), run_)
    if args.json:
        print(json.dumps(metrics, sort_keys=True))
    else:
        print_metrics(metrics)
    return 0


def print_metrics(metrics: dict[str, Any]) -> None:
    """A readable block: scalars one per line, the per-unit gradient profile summarised."""
    for key in sorted(metrics):
        value = metrics[key]
        if isinstance(value, list):
            value = f"[{len(value)} units] " + " ".join(f"{v:.2e}" for v in value[:8])
            value += " ..." if len(metrics[key]) > 8 else ""
        elif isinstance(value, float):
            value = f"{value:.4f}" if abs(value) < 1e4 else f"{value:.4g}"
        print(f"{key:>20}: {value}", file=sys.stdout)
