"""Seeded index splits, per-epoch seeds, and the fingerprint of a split.

Why a function of a seed and not a saved list of indices: a trial that is
retried on another machine must train on exactly the samples the first attempt
trained on, and a study compares architectures only if they all saw the same
train/validation split. Recomputing the split from `split_seed` is free; the
hash of the indices travels in the checkpoint so that a resumed run can prove
(not assume) that it recomputed the same split, even across torch versions.
"""

from __future__ import annotations

import hashlib

import numpy as np
import torch

HOLDOUT_FRACTION = 0.2  # share of a data set without an official test set that becomes its test set
HOLDOUT_SEED = 0  # fixed, so every study and every split_seed tests on the same samples


def split_count(n: int, fraction: float, what: str) -> int:
    """How many of `n` samples go to the `fraction` side of a split.

    Rounded to the nearest integer and clamped so that both sides keep at least
    one sample: an empty validation set would make every trial's objective NaN.

    Raises:
        ValueError: when `n` < 2, so no split leaves a sample on both sides.
    """
    if n < 2:
        raise ValueError(f"cannot split {n} sample(s) for {what}; need at least 2")
    return min(max(round(n * fraction), 1), n - 1)


def seeded_split(n: int, n_first: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Split ``range(n)`` into `n_first` and ``n - n_first`` indices, by `seed` only.

    The permutation comes from a CPU `torch.Generator`, so the split is the same
    whatever device trains and whatever the global RNG state is. Both halves are
    sorted: the order of a split is irrelevant (the train loader shuffles) and
    sorted indices keep evaluation batches in the data set's own order.

    Returns:
        ``(first, rest)``: int64 index tensors.
    """
    generator = torch.Generator().manual_seed(seed)
    perm = torch.randperm(n, generator=generator)
    return perm[:n_first].sort().values, perm[n_first:].sort().values


def indices_hash(*indices: torch.Tensor) -> str:
    """A short, stable fingerprint of index tensors (SHA-256 of their int64 bytes)."""
    digest = hashlib.sha256()
    for index in indices:
        digest.update(index.to(torch.int64).numpy().astype("<i8").tobytes())
        digest.update(b"|")  # ([1, 2], [3]) and ([1], [2, 3]) must differ
    return digest.hexdigest()[:16]


def mix_seed(*parts: int) -> int:
    """One 64-bit seed from several integers (seed, epoch, rank, stream).

    Why not ``seed + epoch``: then seed 1 at epoch 0 would replay seed 0 at
    epoch 1, and two trials that differ only in seed would see the same batch
    orders shifted by an epoch. `numpy.random.SeedSequence` mixes its entropy
    so that nearby inputs give unrelated streams.
    """
    if any(part < 0 for part in parts):
        raise ValueError(f"seed parts must be >= 0, got {parts}")
    state = np.random.SeedSequence(list(parts)).generate_state(1, dtype=np.uint64)
    return int(state[0])
