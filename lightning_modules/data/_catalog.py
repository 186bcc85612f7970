"""What each built-in data set is, as plain data: task, sample shape, classes.

A network is sized and a study's config is checked from these facts alone, so
reading a config (and the query commands that do) imports neither torch nor
Lightning. The datamodule classes take the same facts from here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    task: str  # "classification" or "regression"
    input_shape: tuple[int, ...]  # one sample: (C, H, W) or (features,)
    num_classes: int  # network outputs (1 for regression)


DATASET_INFO: dict[str, DatasetInfo] = {
    info.name: info
    for info in (
        DatasetInfo("digits", "classification", (1, 8, 8), 10),
        DatasetInfo("mnist", "classification", (1, 28, 28), 10),
        DatasetInfo("fashion_mnist", "classification", (1, 28, 28), 10),
        DatasetInfo("cifar10", "classification", (3, 32, 32), 10),
        DatasetInfo("cifar100", "classification", (3, 32, 32), 100),
        DatasetInfo("diabetes", "regression", (10,), 1),  # the standardised target
    )
}


def dataset_info(name: str) -> DatasetInfo | None:
    """The facts of data set `name`, or None if there is no such data set.

    Built-ins come from `DATASET_INFO`; a datamodule class someone added to
    `DATASETS` is asked directly (which imports Lightning, on that path only).
    """
    if name in DATASET_INFO:
        return DATASET_INFO[name]
    from lightning_modules.data._registry import DATASETS

    cls = DATASETS.get(name)
    if cls is None:
        return None
    return DatasetInfo(name, cls.task, tuple(cls.input_shape), cls.num_classes)
