"""Epoch-wise pruning whose database round trips overlap the next training step.

optuna-integration's `PyTorchLightningPruningCallback` reports the epoch's metric
and asks the pruner at `on_validation_end`, on the training thread: two to four
SQL statements and a commit each epoch (~4 ms an epoch in a 20-epoch digits search
on SQLite, about 1.5 % of the search by themselves; more on PostgreSQL). Training
does not need the answer until it would train past a pruned epoch, so here the
same `Trial.report` and `Trial.should_prune` run in a background thread while the
next epoch's first step computes (the convolutions release the GIL), and the
answer is read after that step. A pruned trial so trains one step more than it
would have -- its reported values and its last checkpoint are the same -- and
every other epoch is ~3 ms cheaper (docs/benchmarks.md).

The last epoch's answer is read at train end, before the final weights are saved;
any other end of fit (an error, a signal) waits for the report in flight, so the
trial's intermediate values are complete before it is failed or retried. A signal
that lands between the hand-off and the answer (one step's time) is not overruled
by the answer: the trial is pre-empted, and its retry resumes from the checkpoint
and asks the pruner again at its next epoch.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import lightning.pytorch as L
import optuna
from optuna_integration import PyTorchLightningPruningCallback


def monitored_score(trainer: L.Trainer, monitor: str) -> float | None:
    """The validated epoch's value of `monitor` (None in Lightning's sanity check)."""
    if trainer.sanity_checking:
        return None
    score = trainer.callback_metrics.get(monitor)
    if score is None:
        raise KeyError(f"pruning monitors {monitor!r}, which the module did not log")
    return float(score)


def is_last_epoch(trainer: L.Trainer, epoch: int) -> bool:
    """The trial's last epoch is reported but never pruned: it has trained in full.

    Optuna's integration asks the pruner at every epoch, the last included, and
    Hyperband's top rung sits at `max_resource` = epochs: a trial that finished
    training was then recorded PRUNED, and left out of the results.
    """
    return trainer.max_epochs is not None and epoch + 1 >= trainer.max_epochs


class OverlappedPruning(PyTorchLightningPruningCallback):
    """`PyTorchLightningPruningCallback` (single process) with its storage calls off
    the training thread; under DDP, `studies.distributed.DistributedPruning` prunes."""

    def __init__(self, trial: optuna.trial.Trial, monitor: str) -> None:
        super().__init__(trial, monitor)
        self._executor: ThreadPoolExecutor | None = None
        self._pending: Future[bool] | None = None
        self._epoch = -1
        self._score: float | None = None  # validated, not yet handed to the thread

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        score = monitored_score(trainer, self.monitor)
        if score is None:
            return
        self._answer()  # validation run twice in an epoch: keep the order of reports
        self._epoch, self._score = trainer.current_epoch, score

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Hand the report to the thread after the epoch's checkpoint (an earlier callback)
        has taken its snapshot: both are Python holding the GIL, the next step is not."""
        if self._score is None:
            return
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pruning")
        last = is_last_epoch(trainer, self._epoch)
        self._pending = self._executor.submit(self._report, self._score, self._epoch, last)
        self._score = None

    def _report(self, value: float, epoch: int, last: bool) -> bool:
        self._trial.report(value, step=epoch)
        return not last and self._trial.should_prune()

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any, **kwargs: Any
    ) -> None:
        if self._pending is not None:
            self._answer()

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        try:
            if self._score is not None:  # validated, but the epoch did not end (max_steps)
                self.on_train_epoch_end(trainer, pl_module)
            self._answer()
        finally:
            self._close()

    def _answer(self) -> None:
        """Wait for the report in flight; raise `TrialPruned` if the pruner said so."""
        pending, self._pending = self._pending, None
        if pending is not None and pending.result():
            raise optuna.TrialPruned(f"Trial was pruned at epoch {self._epoch}.")

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.exception()  # wait; the error that ends fit is the one to raise
        self._close()

    def teardown(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        self._close()

    def _close(self) -> None:
        """End the thread. Fit ends in `on_train_end` or, when it raises (a pruned trial
        among them), in `on_exception`: Lightning calls no callback `teardown` then."""
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
