"""`digits`: scikit-learn's 8x8 handwritten digits, the offline default.

1797 grey images with values 0..16 (4x4 pixel blocks of 32x32 bitmaps,
counted), 10 classes. Small enough that a whole search runs on a laptop CPU,
which is why it is the default and the data set of the tests.
"""

from __future__ import annotations

from functools import lru_cache

import torch
from sklearn.datasets import load_digits

from lightning_modules.data._augment import RandomCropFlip
from lightning_modules.data._datamodule import Samples
from lightning_modules.data._sklearn import SklearnDataModule


class DigitsDataModule(SklearnDataModule):
    """scikit-learn digits as uint8 (N, 1, 8, 8) images; no augmentation by default.

    With ``augment=True``: shifts of up to one pixel and no flip (a mirrored
    digit is not the same digit).
    """

    name = "digits"
    mean = (0.3053,)  # of values / 16, over all 1797 images
    std = (0.3760,)
    pixel_scale = 16.0  # the largest value: 16 of 16 sub-pixels inked
    augmentation = RandomCropFlip(padding=1, flip=False)

    def _read_all(self) -> Samples:
        return _digits()


@lru_cache(maxsize=1)
def _digits() -> Samples:
    """Parsed once per process: a search builds a datamodule per trial, and parsing
    scikit-learn's CSV costs more than a small trial's set-up otherwise does."""
    bunch = load_digits()
    x = torch.from_numpy(bunch.images).to(torch.uint8).unsqueeze(1)
    return Samples(x.contiguous(), torch.from_numpy(bunch.target).long())
