"""Data sets that ship with scikit-learn: offline, tiny, and without a test split.

Why a fixed hold-out: scikit-learn's toy sets have no official test split, yet
a study reports test accuracy. 20% of the samples, chosen by a constant seed
before the train/validation split, become the test set, so it is the same for
every trial, every `split_seed` and every machine, and no train or validation
sample is ever tested on.
"""

from __future__ import annotations

from lightning_modules.data._datamodule import Samples, TensorDataModule
from lightning_modules.data._split import HOLDOUT_FRACTION, HOLDOUT_SEED, seeded_split, split_count


class SklearnDataModule(TensorDataModule):
    """Base for scikit-learn data sets: subclasses implement `_read_all`."""

    _holdout_cache: tuple[Samples, Samples] | None = None

    def _read_all(self) -> Samples:
        """Every sample of the data set (CPU), in the order scikit-learn gives them."""
        raise NotImplementedError

    def _read_train(self) -> Samples:
        return self._holdout()[0]

    def _read_test(self) -> Samples:
        return self._holdout()[1]

    def _holdout(self) -> tuple[Samples, Samples]:
        if self._holdout_cache is None:
            samples = self._read_all()
            n_test = split_count(len(samples), HOLDOUT_FRACTION, f"{self.name} test hold-out")
            test_idx, train_idx = seeded_split(len(samples), n_test, HOLDOUT_SEED)
            self._holdout_cache = (samples.take(train_idx), samples.take(test_idx))
        return self._holdout_cache
