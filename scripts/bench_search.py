"""Benchmark: complete trials per minute of a search, ours vs the Optuna-examples way.

For each storage (SQLite file, PostgreSQL database) and 1 or 2 worker processes:

* ours: `studies.search.search` on a digits config (device-resident data, one
  Trainer per trial with nothing switched on that a trial does not need);
* baseline: the pattern of optuna-examples' `pytorch_lightning_simple.py`: a
  Dataset returning one transformed sample at a time behind a DataLoader, a
  LightningModule that `self.log`s every step, a default Trainer per trial
  (logger, checkpointing, progress bar, model summary, sanity check), and
  `PyTorchLightningPruningCallback`.

Both search the same space with the same RandomSampler seed and the same
budget, so they propose the same architectures. "Training" is the time inside
`Trainer.fit` minus the callbacks in it that are not training: Optuna's pruning
callback (`trial.report` + `should_prune`, on both sides) and, on ours, the
checkpoint snapshot, the final weights' upload and the gradient-flow diagnostics
(norms of the first step's gradients, a forward/backward at fit end). "Outside
training" is the rest of the search's wall time: Optuna, storage, our code,
Lightning's set-up and our test pass (shown on its own as well).

    python scripts/bench_search.py --trials 12 --epochs 6
    python scripts/bench_search.py --trials 12 --epochs 6 --pruning defaults
    python scripts/bench_search.py --epochs 20 --backends sqlite --workers 1 --repeats 3
"""

from __future__ import annotations

import argparse
import datetime
import json
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

SPACE = {
    "shortcuts": ["none", "highway", "identity", "projection", "dense"],
    "spans": [1, 2],
    "depth": [5, 20],
    "widths": [8, 16],
    "growth_rates": [8, 12],
    "compressions": [0.5, 1.0],
    "stages": 2,
}
PG_ADMIN = os.environ.get("SHORTCUT_NAS_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def quiet(log_dir: str | None = None) -> None:
    """Workers print to a log file in `log_dir` (shown if they fail), not the terminal:
    the harness prints one JSON row per case."""
    import logging

    import optuna

    if log_dir is not None:
        log = Path(log_dir, f"worker-{os.getpid()}.log").open("w")  # noqa: SIM115 -- process-long
        sys.stdout = sys.stderr = log
    warnings.filterwarnings("ignore")
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    for name in ("lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)


# Pruners: "matched" gives both sides the same MedianPruner, so the comparison is of the
# implementations alone; "defaults" gives each side what a user gets without choosing:
# ours Hyperband (`pruner = "auto"`), the example's `MedianPruner()` with its defaults.
OUR_PRUNER = {"matched": "median", "defaults": "auto"}
# Samplers: "random" gives both sides RandomSampler(seed=0), so they propose the same
# architectures; "defaults" gives each side its default TPE (ours multivariate with
# constant_liar, the example's `TPESampler()`), both seeded, so the mix of networks each
# side trains is its own and the comparison is of the whole default set-up. Optuna's
# own benchmarks pair Hyperband with TPE and MedianPruner with random sampling.
OUR_SAMPLER = {"random": "random", "defaults": "tpe"}


class Choices(NamedTuple):
    """The pruners and samplers a case compares (see OUR_PRUNER and OUR_SAMPLER)."""

    pruning: str = "matched"
    sampler: str = "random"


class Job(NamedTuple):
    """One side of one case, as each of its worker processes receives it."""

    storage: str
    trials: int
    epochs: int
    artifacts: str  # also where workers leave their logs and timers
    workers: int
    choice: Choices


def baseline_sampler(sampler: str, worker: int) -> Any:
    """Seeded by the worker's index: two workers with one seed would propose the same
    trials (ours get distinct seeds from `studies.runner.worker_seed`)."""
    import optuna

    if sampler == "defaults":
        return optuna.samplers.TPESampler(seed=worker)  # the example's default, seeded
    return optuna.samplers.RandomSampler(seed=worker)


def baseline_pruner(pruning: str) -> Any:
    import optuna

    if pruning == "defaults":
        return optuna.pruners.MedianPruner()  # as pytorch_lightning_simple.py writes it
    return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1)  # ours, "median"


def our_config(job: Job) -> Any:
    from studies.config import StudyConfig

    return StudyConfig.from_dict({
        "study": {"name": "bench", "storage": job.storage, "n_trials": job.trials,
                  "sampler": OUR_SAMPLER[job.choice.sampler],
                  "pruner": OUR_PRUNER[job.choice.pruning], "artifacts": job.artifacts, "seed": 0},
        "space": SPACE,
        "training": {"epochs": job.epochs, "batch_size": 64, "lr": 0.05},
    })  # fmt: skip


def share_cores(workers: int) -> None:
    """Each worker its share of the cores (what `shortcut-nas launch` does): two workers with
    two OpenMP threads each on two cores spin against each other and run several times slower."""
    import torch

    torch.set_num_threads(max(1, (os.cpu_count() or 1) // workers))


# Seconds each worker spends in these methods (same wrappers on both sides).
TIMED = {
    "fit": ("lightning.pytorch", "Trainer", "fit"),
    "test": ("lightning.pytorch", "Trainer", "test"),
    "pruning": ("optuna_integration", "PyTorchLightningPruningCallback", "on_validation_end"),
    # Ours keeps the score at validation end, hands the same report/should_prune to a
    # thread at epoch end and waits for the answer after the next step (or at train end):
    # all four count as pruning.
    "pruning_score": ("studies.pruning", "OverlappedPruning", "on_validation_end"),
    "pruning_submit": ("studies.pruning", "OverlappedPruning", "on_train_epoch_end"),
    "pruning_wait": ("studies.pruning", "OverlappedPruning", "on_train_batch_end"),
    "pruning_wait_end": ("studies.pruning", "OverlappedPruning", "on_train_end"),
    "checkpoint": ("studies.checkpoints", "ArtifactCheckpoint", "on_train_epoch_end"),
    "weights": ("studies.checkpoints", "FinalWeights", "on_fit_end"),
    # Our gradient-flow diagnostics: the first and the last step's norms (and the fallback
    # at train end when a fit stops early).
    "gradients": ("lightning_modules._gradients", "GradientFlow", "on_before_optimizer_step"),
    "gradients_end": ("lightning_modules._gradients", "GradientFlow", "on_train_end"),
}
GRADIENTS = ("gradients", "gradients_end")
# Callbacks that run inside fit but are not training: pruning, our checkpoints and our
# gradient-flow diagnostics (norms of the first and the last step's gradients).
PRUNING = ("pruning", "pruning_score", "pruning_submit", "pruning_wait", "pruning_wait_end")
NOT_TRAINING = (*PRUNING, "checkpoint", "weights", *GRADIENTS)


def timed(artifacts: str, names: Sequence[str] = tuple(TIMED)) -> Any:
    """Wrap the TIMED methods; returns a function that writes this process's totals."""
    import functools
    import importlib

    totals = dict.fromkeys(TIMED, 0.0)

    def wrap(name: str, method: Any) -> Any:
        @functools.wraps(method)
        def inner(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                totals[name] += time.perf_counter() - start

        return inner

    for name in names:
        module, cls, attr = TIMED[name]
        owner = getattr(importlib.import_module(module), cls)
        setattr(owner, attr, wrap(name, getattr(owner, attr)))

    def write() -> None:
        Path(artifacts, f"timers-{os.getpid()}.json").write_text(json.dumps(totals))

    return write


def split_sizes(n: int) -> list[int]:
    """Train/val/test sizes of ours (20 % held out for testing, 10 % of the rest for
    validation), so the baseline trains and validates on as many samples as we do."""
    from lightning_modules.data._split import HOLDOUT_FRACTION, split_count

    test = split_count(n, HOLDOUT_FRACTION, "test")
    val = split_count(n - test, 0.1, "validation")
    return [n - test - val, val, test]


def our_worker(job: Job, worker: int = 0) -> None:
    quiet(job.artifacts)
    share_cores(job.workers)
    os.environ["SHORTCUT_NAS_WORKER"] = str(worker)  # as `shortcut-nas launch` numbers them
    write_timers = timed(job.artifacts)
    from studies._exit import exit_now
    from studies.search import search

    try:
        search(our_config(job), progress=False)
    finally:
        write_timers()
    exit_now(0)  # how `shortcut-nas search` ends: without the interpreter's teardown


# -- the baseline, as optuna-examples/pytorch/pytorch_lightning_simple.py writes it ---------


def baseline_worker(job: Job, worker: int = 0) -> None:
    quiet(job.artifacts)
    share_cores(job.workers)
    write_timers = timed(job.artifacts, ("fit", "test", "pruning"))  # it has no checkpoints of ours
    import lightning.pytorch as pl
    import optuna
    import torch
    import torch.nn.functional as F
    from optuna_integration import PyTorchLightningPruningCallback
    from sklearn.datasets import load_digits
    from torch.utils.data import DataLoader, Dataset, random_split

    from search_space import SearchSpace, build_model, suggest

    class Digits(Dataset):  # type: ignore[type-arg]
        def __init__(self) -> None:
            data = load_digits()
            self.x, self.y = data.images, data.target

        def __len__(self) -> int:
            return len(self.y)

        def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
            image = torch.as_tensor(self.x[i], dtype=torch.float32).unsqueeze(0) / 16.0
            return (image - 0.3) / 0.35, int(
                self.y[i]
            )  # per-sample transform, as ToTensor+Normalize

    class DataModule(pl.LightningDataModule):
        def setup(self, stage: str | None = None) -> None:
            full = Digits()
            g = torch.Generator().manual_seed(0)
            self.train, self.val, _test = random_split(full, split_sizes(len(full)), generator=g)

        def train_dataloader(self) -> DataLoader:  # type: ignore[type-arg]
            return DataLoader(self.train, batch_size=64, shuffle=True)

        def val_dataloader(self) -> DataLoader:  # type: ignore[type-arg]
            return DataLoader(self.val, batch_size=64)

    class Net(pl.LightningModule):
        def __init__(self, arch: str) -> None:
            super().__init__()
            self.model = build_model(arch, (1, 8, 8), 10)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.model(x)

        def training_step(self, batch: Any, idx: int) -> torch.Tensor:
            x, y = batch
            loss = F.cross_entropy(self(x), y)
            self.log("train_loss", loss)
            return loss

        def validation_step(self, batch: Any, idx: int) -> None:
            x, y = batch
            acc = (self(x).argmax(1) == y).float().mean()
            self.log("val_acc", acc)

        def configure_optimizers(self) -> Any:
            return torch.optim.SGD(self.parameters(), lr=0.05, momentum=0.9)

    space = SearchSpace(**{k: tuple(v) if isinstance(v, list) else v for k, v in SPACE.items()})

    def objective(trial: optuna.Trial) -> float:
        spec = suggest(trial, space)
        trial.set_user_attr("arch", spec.to_str())
        trainer = pl.Trainer(
            logger=True, enable_checkpointing=False, max_epochs=job.epochs, accelerator="auto",
            devices=1, default_root_dir=job.artifacts,
            callbacks=[PyTorchLightningPruningCallback(trial, monitor="val_acc")],
        )  # fmt: skip
        trainer.fit(Net(spec.to_str()), datamodule=DataModule())
        return float(trainer.callback_metrics["val_acc"])

    study = optuna.load_study(
        study_name="bench", storage=job.storage,
        sampler=baseline_sampler(job.choice.sampler, worker),
        pruner=baseline_pruner(job.choice.pruning),
    )  # fmt: skip
    # The same budget as ours: finished trials, pruned ones included.
    finished = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    try:
        study.optimize(
            objective, callbacks=[optuna.study.MaxTrialsCallback(job.trials, states=finished)]
        )
    finally:
        write_timers()


# -- harness ---------------------------------------------------------------------------------


def prepare(kind: str, job: Job) -> None:
    """Create the study once before workers start (first-time table creation races)."""
    quiet()
    import optuna

    if kind == "ours":
        from studies.runner import create_or_join
        from studies.storage import open_storage

        create_or_join(our_config(job), open_storage(job.storage))
    else:
        optuna.create_study(study_name="bench", storage=job.storage, direction="maximize")


def run_case(
    kind: str, storage: str, workers: int, trials: int, epochs: int, choice: Choices
) -> dict[str, Any]:
    import optuna

    artifacts = tempfile.mkdtemp(prefix="snas-bench-")
    job = Job(storage, trials, epochs, artifacts, workers, choice)
    prepare(kind, job)
    target = our_worker if kind == "ours" else baseline_worker
    ctx = mp.get_context("spawn")
    started_at = datetime.datetime.now()  # Optuna's trial datetimes are naive local time
    start = time.perf_counter()
    procs = [ctx.Process(target=target, args=(job, worker)) for worker in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    wall = time.perf_counter() - start
    ended_at = datetime.datetime.now()
    for p in procs:
        if p.exitcode:
            log = Path(artifacts, f"worker-{p.pid}.log")
            tail = log.read_text()[-3000:] if log.exists() else ""
            raise SystemExit(f"{tail}\nbench: a {kind} worker exited with {p.exitcode} ({log})")
    study = optuna.load_study(study_name="bench", storage=storage)
    done = [t for t in study.trials if t.state.is_finished() and t.state.name != "FAIL"]
    totals = dict.fromkeys(TIMED, 0.0)
    for path in Path(artifacts).glob("timers-*.json"):
        for name, seconds in json.loads(path.read_text()).items():
            totals[name] += seconds
    training = totals["fit"] - sum(totals[name] for name in NOT_TRAINING)
    # The search itself: first trial start to last trial end, on every worker.
    first_start = min(t.datetime_start for t in done)
    last_complete = max(t.datetime_complete for t in done)
    span = (last_complete - first_start).total_seconds() * workers
    complete = [t for t in done if t.state.name == "COMPLETE"]
    return {
        "impl": kind, "pruning": choice.pruning, "sampler": choice.sampler, "workers": workers,
        "trials": len(done),
        "pruned": len(done) - len(complete), "wall_s": round(wall, 2),
        # What the search found: the best final val_acc of a complete trial.
        "best_val_acc": round(max(t.value for t in complete), 4) if complete else None,
        "epochs_trained": sum(len(t.intermediate_values) for t in done),
        "trials_per_min": round(len(done) / wall * 60, 2),
        "search_span_s": round(span / workers, 2),
        # Process start to the first trial (imports, data, study) and last trial to exit.
        "startup_s": round((first_start - started_at).total_seconds(), 2),
        "shutdown_s": round((ended_at - last_complete).total_seconds(), 2),
        "outside_training_share": round(max(0.0, span - training) / span, 4),
        # The same in milliseconds per trial: a share also falls when training is slower.
        "outside_training_ms_per_trial": round(max(0.0, span - training) / len(done) * 1000, 1),
        "pruning_callback_share": round(sum(totals[name] for name in PRUNING) / span, 4),
        "checkpoint_share": round((totals["checkpoint"] + totals["weights"]) / span, 4),
        "test_pass_share": round(totals["test"] / span, 4),
        "gradient_flow_share": round(sum(totals[name] for name in GRADIENTS) / span, 4),
    }  # fmt: skip


def storages(tmp: Path, backend: str) -> Any:
    if backend == "sqlite":
        path = tmp / f"{uuid.uuid4().hex[:8]}.db"
        yield f"sqlite:///{path}"
        return
    import psycopg

    name = f"snas_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def summary(rows: list[dict[str, Any]], backend: str, workers: int) -> str:
    """One line per case: ratio of the median wall times (and the per-run range)."""
    case = [r for r in rows if r["storage"] == backend and r["workers"] == workers]
    walls = {k: [r["wall_s"] for r in case if r["impl"] == k] for k in ("ours", "baseline")}
    ratio = statistics.median(walls["ours"]) / statistics.median(walls["baseline"])
    line = f"{backend} x{workers}: ours/baseline wall time = {ratio:.2f}"
    if len(walls["ours"]) > 1:
        runs = sorted(a / b for a, b in zip(walls["ours"], walls["baseline"], strict=True))
        line += f" (median of {len(runs)} runs; each run {runs[0]:.2f}-{runs[-1]:.2f})"
    return line


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument(
        "--pruning",
        choices=sorted(OUR_PRUNER),
        default="matched",
        help="matched: the same MedianPruner on both sides; defaults: each "
        "side's own default (ours Hyperband, the example's MedianPruner())",
    )
    parser.add_argument(
        "--sampler",
        choices=sorted(OUR_SAMPLER),
        default="random",
        help="random: RandomSampler(seed=0) on both sides (the same proposals); defaults: "
        "each side's own default TPE, seeded",
    )
    parser.add_argument(
        "--repeats", type=int, default=1,
        help="run each case this often, alternating which side goes first; the summary "
        "gives the ratio of the median wall times and the range of the per-run ratios",
    )  # fmt: skip
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            for workers in (int(w) for w in args.workers.split(",")):
                for repeat in range(args.repeats):
                    kinds = ("ours", "baseline") if repeat % 2 == 0 else ("baseline", "ours")
                    for kind in kinds:
                        for storage in storages(Path(tmp), backend):
                            row = {
                                "storage": backend, "repeat": repeat,
                                **run_case(kind, storage, workers, args.trials, args.epochs,
                                           Choices(args.pruning, args.sampler)),
                            }  # fmt: skip
                            print(json.dumps(row), flush=True)
                            rows.append(row)
    for backend in args.backends.split(","):
        for workers in (int(w) for w in args.workers.split(",")):
            print(summary(rows, backend, workers))
    return 0


if __name__ == "__main__":
    sys.exit(main())
