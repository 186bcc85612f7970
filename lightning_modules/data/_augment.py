"""Per-batch normalisation and augmentation, vectorised over the batch.

Why per batch and not per sample: images are stored as uint8 (CIFAR-10 is
150 MB as uint8, 600 MB as float32) and converted where they are used, on the
training device, one batch at a time. Augmentation runs before normalisation,
on uint8, so the zero padding of a random crop is a black pixel exactly as in
torchvision's ``RandomCrop(padding=4)`` and the gather moves a quarter of the
bytes. The random numbers are drawn on the CPU from an explicit generator and
then moved, so a seed gives the same augmented batches on a CPU and on a GPU.

The same `BatchTransform` serves the device-resident loader and the collate
function of the DataLoader path, which is why both paths give identical batches.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F


class Normalize:
    """``x -> (x / scale - mean) / std`` as contiguous float32, on `x`'s device.

    Args:
        mean: per-channel (shape (C, 1, 1)) or per-feature (shape (F,)) means, in
            units of ``x / scale``.
        std: standard deviations, same shape as `mean`; must be > 0.
        scale: the raw value that maps to 1.0 (255 for uint8 images, 16 for
            sklearn digits, 1 for features that are already floats).

    Example:
        >>> norm = Normalize.per_channel([0.5], [0.25], scale=255.0)
        >>> norm(torch.full((1, 1, 2, 2), 255, dtype=torch.uint8))[0, 0, 0, 0].item()
        2.0
    """

    def __init__(self, mean: torch.Tensor, std: torch.Tensor, scale: float = 1.0) -> None:
        mean = torch.as_tensor(mean, dtype=torch.float64)
        std = torch.as_tensor(std, dtype=torch.float64)
        if mean.shape != std.shape:
            raise ValueError(f"mean shape {tuple(mean.shape)} != std shape {tuple(std.shape)}")
        if not bool((std > 0).all()) or scale <= 0:
            raise ValueError(f"std and scale must be > 0, got std={std.flatten().tolist()}")
        self.mean = mean.float()
        self.std = std.float()
        self.scale = float(scale)
        # Folded once, in float64, so the hot path is one subtraction and one division.
        self._shift = (mean * scale).float()
        self._divisor = (std * scale).float()
        self._on_device: dict[torch.device, tuple[torch.Tensor, torch.Tensor]] = {}

    @classmethod
    def per_channel(cls, mean: Sequence[float], std: Sequence[float], scale: float) -> Normalize:
        """Image normalisation: one mean and std per channel of (N, C, H, W) batches."""
        shape = (len(mean), 1, 1)
        return cls(torch.tensor(mean).reshape(shape), torch.tensor(std).reshape(shape), scale)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        shift, divisor = self._constants(x.device)
        return ((x.float() - shift) / divisor).contiguous()

    def invert(self, x: torch.Tensor) -> torch.Tensor:
        """Back to ``raw / scale`` units (e.g. [0, 1] pixels), for plots and checks."""
        shift, divisor = self._constants(x.device)
        return (x * divisor + shift) / self.scale

    def _constants(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        if device not in self._on_device:
            self._on_device[device] = (self._shift.to(device), self._divisor.to(device))
        return self._on_device[device]

    def __getstate__(self) -> dict[str, object]:
        # DataLoader workers receive a copy: send no device tensors across processes.
        return {**self.__dict__, "_on_device": {}}


class RandomCropFlip:
    """Random crop after zero padding, and random horizontal flip, for a whole batch.

    Every image gets its own offsets and flip, drawn in one call each; the crop
    is a single gather over the batch, so there is no per-sample Python loop.
    This is the standard CIFAR recipe (He et al. 2015: pad 4, crop 32, flip).

    Args:
        padding: pixels of zero padding on each side; each image is shifted by
            up to this many pixels in each direction. 0 disables the crop.
        flip: mirror each image left-right with probability 1/2. Off for digits,
            where a mirrored 2 or 7 is no longer the same class.

    Example:
        >>> aug = RandomCropFlip(padding=4, flip=True)
        >>> aug(torch.zeros(8, 3, 32, 32, dtype=torch.uint8)).shape
        torch.Size([8, 3, 32, 32])
    """

    def __init__(self, padding: int, flip: bool) -> None:
        if padding < 0:
            raise ValueError(f"padding={padding!r} must be >= 0")
        self.padding = padding
        self.flip = flip

    def __repr__(self) -> str:
        return f"RandomCropFlip(padding={self.padding}, flip={self.flip})"

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        if self.padding:
            x = self._crop(x, generator)
        if self.flip:
            x = self._flip(x, generator)
        return x.contiguous()

    def _crop(self, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        n, _, height, width = x.shape
        pad = self.padding
        offsets = torch.randint(0, 2 * pad + 1, (2, n), generator=generator).to(x.device)
        padded = F.pad(x, (pad, pad, pad, pad)).permute(0, 2, 3, 1)  # (N, H+2p, W+2p, C)
        rows = offsets[0, :, None] + torch.arange(height, device=x.device)  # (N, H)
        cols = offsets[1, :, None] + torch.arange(width, device=x.device)  # (N, W)
        batch = torch.arange(n, device=x.device)[:, None, None]
        return padded[batch, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)

    def _flip(self, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        flip = (torch.rand(x.shape[0], generator=generator) < 0.5).to(x.device)
        return torch.where(flip[:, None, None, None], x.flip(3), x)


class BatchTransform:
    """Raw stored batch -> model input: optional augmentation, then normalisation.

    Args:
        normalize: maps raw values to float32 model inputs.
        augment: applied before `normalize`, on raw values; None for evaluation.
    """

    def __init__(self, normalize: Normalize, augment: RandomCropFlip | None = None) -> None:
        self.normalize = normalize
        self.augment = augment

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        if self.augment is not None:
            x = self.augment(x, generator)
        return self.normalize(x)


class CollateBatch:
    """`collate_fn` of the DataLoader path: stack samples, then the same `BatchTransform`.

    Why a class: DataLoader workers pickle their collate function, and a
    lambda or closure cannot be pickled. In a worker, augmentation draws from
    the worker's RNG, which the DataLoader seeds from its generator.
    """

    def __init__(self, transform: BatchTransform) -> None:
        self.transform = transform

    def __call__(
        self, samples: Sequence[tuple[torch.Tensor, torch.Tensor]]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        xs, ys = zip(*samples, strict=True)
        return self.transform(torch.stack(xs)), torch.stack(ys)
