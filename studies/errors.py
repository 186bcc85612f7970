"""How a trial stops early, as exceptions the worker and the command line both catch.

Apart from `studies.objective` (which imports Lightning) so that the command line
can catch them without importing Lightning for commands that never train.
"""

from __future__ import annotations

import optuna
from optuna.storages import RetryHeartbeatStaleTrialCallback

from studies.storage import MAX_RETRY


class TrialFailure(Exception):
    """A trial that cannot finish (NaN loss, out of memory): FAIL it, keep the study going."""


class Preempted(Exception):
    """SIGTERM or SIGINT stopped training: Optuna FAILs the trial, the worker enqueues its retry.

    Lightning turns both signals into `SystemExit`, which Optuna does not catch, so
    without this the trial would stay RUNNING until its heartbeat went stale.
    """

    def __init__(self, message: str, trial_id: int, signal_name: str) -> None:
        super().__init__(message)
        self.trial_id = trial_id
        self.signal_name = signal_name

    def enqueue_retry(self, study: optuna.Study) -> None:
        """The same params and user attributes (checkpoint included) as a WAITING trial."""
        frozen = study._storage.get_trial(self.trial_id)
        RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRY)(study, frozen)
