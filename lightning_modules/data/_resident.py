"""The device-resident fast path: the whole split on the device, batches by index.

Why: for data sets of a few hundred MB or less, a DataLoader spends more time
collating, pinning and copying than the network spends on a small batch, and
its worker processes cost seconds to start every epoch. Holding the split as
tensors on the training device and gathering batches by a shuffled index
permutation (as airbench does) costs one `index_select` per batch.

Lightning accepts any iterable with `__len__` as a dataloader. It only rewrites
`torch.utils.data.DataLoader` objects (adding a DistributedSampler under DDP),
so `ResidentLoader` shards itself by rank. To get a new order each epoch it
uses Lightning's own protocol: at every epoch start Lightning calls
``loader.sampler.set_epoch(epoch)``, which is also right after a resume.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import Sampler

from lightning_modules.data._augment import BatchTransform
from lightning_modules.data._split import mix_seed

_PERMUTATION_STREAM = 0  # mix_seed stream ids: batch order and augmentation never share numbers
_AUGMENT_STREAM = 1


class EpochSampler(Sampler[int]):
    """This rank's sample indices for one epoch: a seeded permutation, sharded.

    With ``shuffle=True`` the order is ``randperm(num_samples)`` from a CPU
    generator seeded by (`seed`, epoch): deterministic, new every epoch, and
    the same on every rank and device. Each of the `world_size` ranks takes a
    disjoint contiguous slice of ``num_samples // world_size`` indices; the
    remainder (fewer than `world_size` samples, a different few each epoch) is
    dropped so that all ranks run the same number of steps and no rank waits
    forever in an all-reduce.

    Args:
        num_samples: size of the split.
        shuffle: permute each epoch; False gives ``range(num_samples)``.
        seed: batch-order seed.
        rank: this process's rank in ``range(world_size)``.
        world_size: number of processes that share the split.
    """

    def __init__(
        self, num_samples: int, *, shuffle: bool, seed: int = 0, rank: int = 0, world_size: int = 1
    ) -> None:
        if not 0 <= rank < world_size:
            raise ValueError(f"rank={rank} must be in [0, world_size={world_size})")
        if num_samples < world_size:
            raise ValueError(f"{num_samples} samples cannot be shared by {world_size} ranks")
        self.num_samples = num_samples
        self.shuffle = shuffle
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the permutation of `epoch` (Lightning calls this at every epoch start)."""
        self.epoch = epoch

    def indices(self, epoch: int | None = None) -> torch.Tensor:
        """This rank's indices (CPU int64) for `epoch` (default: the current epoch)."""
        epoch = self.epoch if epoch is None else epoch
        if self.shuffle:
            seed = mix_seed(self.seed, epoch, _PERMUTATION_STREAM)
            order = torch.randperm(self.num_samples, generator=torch.Generator().manual_seed(seed))
        else:
            order = torch.arange(self.num_samples)
        per_rank = len(self)
        return order[self.rank * per_rank : (self.rank + 1) * per_rank]

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices().tolist())

    def __len__(self) -> int:
        return self.num_samples // self.world_size


class ResidentLoader:
    """Batches ``(transform(x[idx]), y[idx])`` from tensors already on the device.

    Train loaders (``shuffle=True``) drop the last incomplete batch only when it
    holds fewer than half a batch: a batch of one or two samples gives a
    gradient step of mostly noise and breaks BatchNorm (a single sample has no
    batch variance), while dropping a larger remainder would waste data. The
    dropped samples differ each epoch because the permutation does. If the
    shard is smaller than half a batch, that one batch is kept. Evaluation
    loaders keep every sample in order.

    Each pass advances the epoch by one, so a plain ``for epoch ...`` loop sees a
    new order each time; under Lightning, ``sampler.set_epoch`` at each epoch
    start sets it explicitly.

    Args:
        x: inputs as stored (uint8 images or float32 features), on the device.
        y: targets, on the same device as `x`.
        batch_size: samples per batch.
        transform: raw batch -> model input; its augmentation is seeded from
            (`seed`, epoch, `rank`).
        shuffle: shuffle each epoch (training) or keep the order (evaluation).
        seed: batch-order and augmentation seed.
        rank: this process's rank for DDP sharding.
        world_size: number of DDP processes.
        drop_small_last: drop a last batch smaller than half a batch; defaults
            to `shuffle`.

    Example:
        >>> from lightning_modules.data import BatchTransform, Normalize
        >>> norm = Normalize(torch.zeros(2), torch.ones(2))
        >>> loader = ResidentLoader(torch.ones(10, 2), torch.zeros(10), 4, BatchTransform(norm))
        >>> [tuple(x.shape) for x, _ in loader]
        [(4, 2), (4, 2), (2, 2)]
    """

    # DataLoader's attribute, read by Lightning's shuffle check on evaluation loaders.
    batch_sampler = None

    def __init__(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        batch_size: int,
        transform: BatchTransform,
        *,
        shuffle: bool = False,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        drop_small_last: bool | None = None,
    ) -> None:
        if len(x) != len(y) or x.device != y.device:
            raise ValueError(
                f"x and y disagree: {len(x)} vs {len(y)} rows, on {x.device} vs {y.device}"
            )
        if batch_size <= 0:
            raise ValueError(f"batch_size={batch_size} must be > 0")
        self.x = x
        self.y = y
        self.batch_size = batch_size
        self.transform = transform
        self.drop_small_last = shuffle if drop_small_last is None else drop_small_last
        self.sampler = EpochSampler(
            len(x), shuffle=shuffle, seed=seed, rank=rank, world_size=world_size
        )

    @property
    def device(self) -> torch.device:
        return self.x.device

    def set_epoch(self, epoch: int) -> None:
        """Select the batch order and augmentation of `epoch`."""
        self.sampler.set_epoch(epoch)

    def __len__(self) -> int:
        return -(-self._samples_per_epoch() // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        # A generator: nothing runs (and the epoch does not advance) until the first
        # batch is asked for, so Lightning's `iter(loader)` probe has no side effect.
        epoch = self.sampler.epoch
        self.sampler.set_epoch(epoch + 1)
        index = self.sampler.indices(epoch)[: self._samples_per_epoch()].to(self.device)
        generator = self._augment_generator(epoch)
        for start in range(0, len(index), self.batch_size):
            batch = index[start : start + self.batch_size]
            yield self.transform(self.x.index_select(0, batch), generator), self.y[batch]

    def _samples_per_epoch(self) -> int:
        shard = len(self.sampler)
        remainder = shard % self.batch_size
        small = 0 < 2 * remainder < self.batch_size
        if self.drop_small_last and small and shard > remainder:
            return shard - remainder
        return shard

    def _augment_generator(self, epoch: int) -> torch.Generator | None:
        if self.transform.augment is None:
            return None
        sampler = self.sampler
        return torch.Generator().manual_seed(
            mix_seed(sampler.seed, epoch, sampler.rank, _AUGMENT_STREAM)
        )
