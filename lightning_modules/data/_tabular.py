"""`diabetes`: scikit-learn's tabular regression set (442 patients, 10 features).

The target is a disease-progression score one year after baseline. Read
unscaled (``scaled=False``) and standardised here with statistics of the
training split only: scikit-learn's own scaling uses all 442 rows, which
would leak the validation and test sets into the inputs.
"""

from __future__ import annotations

import torch
from sklearn.datasets import load_diabetes

from lightning_modules.data._augment import Normalize
from lightning_modules.data._datamodule import Samples
from lightning_modules.data._sklearn import SklearnDataModule


class DiabetesDataModule(SklearnDataModule):
    """Diabetes regression: float32 (N, 10) features, float32 (N, 1) standardised targets."""

    name = "diabetes"

    def _read_all(self) -> Samples:
        bunch = load_diabetes(scaled=False)
        x = torch.from_numpy(bunch.data).float()
        y = torch.from_numpy(bunch.target).float().reshape(-1, 1)
        return Samples(x, y)

    def _fit_normalize(self, train_x: torch.Tensor) -> Normalize:
        """Per-feature mean and (population) std of the training split."""
        x = train_x.double()
        std = x.std(dim=0, correction=0)
        return Normalize(x.mean(dim=0), torch.where(std > 0, std, torch.ones_like(std)))
