"""The canonical networks of the papers, by name.

Each entry is a spec plus the input it was published for and the parameter
count the paper reports, so tests can hold the builder to the papers.
"""

from __future__ import annotations

from dataclasses import dataclass

from search_space._spec import ArchitectureSpec, ShortcutType

S = ShortcutType  # short, for the table below
CIFAR = (3, 32, 32)
MNIST = (1, 28, 28)


@dataclass(frozen=True)
class PaperNetwork:
    spec: ArchitectureSpec
    input_shape: tuple[int, int, int]  # what the paper trained it on
    num_classes: int
    published_params: int  # as printed in the paper (rounded there)
    source: str  # paper and table


PAPER_NETWORKS: dict[str, PaperNetwork] = {
    "plain20": PaperNetwork(
        ArchitectureSpec(shortcut=S.NONE, span=2, depth=20, width=16), CIFAR, 10, 270_000,
        "He et al. 2015, sec. 4.2 (plain-20; as ResNet-20 with option A: 0.27M)",
    ),
    "plain56": PaperNetwork(
        ArchitectureSpec(shortcut=S.NONE, span=2, depth=56, width=16), CIFAR, 10, 850_000,
        "He et al. 2015, sec. 4.2 (plain-56; as ResNet-56: 0.85M)",
    ),
    "resnet20": PaperNetwork(
        ArchitectureSpec(shortcut=S.IDENTITY, span=2, depth=20, width=16), CIFAR, 10, 270_000,
        "He et al. 2015, Table 6 (ResNet-20: 0.27M)",
    ),
    "resnet56": PaperNetwork(
        ArchitectureSpec(shortcut=S.IDENTITY, span=2, depth=56, width=16), CIFAR, 10, 850_000,
        "He et al. 2015, Table 6 (ResNet-56: 0.85M)",
    ),
    "resnet110": PaperNetwork(
        ArchitectureSpec(shortcut=S.IDENTITY, span=2, depth=110, width=16), CIFAR, 10, 1_700_000,
        "He et al. 2015, Table 6 (ResNet-110: 1.7M)",
    ),
    "highway": PaperNetwork(
        ArchitectureSpec(shortcut=S.HIGHWAY, span=1, depth=10, width=32, stages=1), MNIST, 10,
        151_000,
        "Srivastava et al. 2015, Table 1 (10-layer convolutional highway net, width 32: 151K)",
    ),
    "densenet40_k12": PaperNetwork(
        ArchitectureSpec(shortcut=S.DENSE, span=1, depth=40, growth_rate=12, compression=1.0),
        CIFAR, 10, 1_000_000, "Huang et al. 2017, Table 2 (DenseNet L=40, k=12: 1.0M)",
    ),
    "densenet_bc100_k12": PaperNetwork(
        ArchitectureSpec(shortcut=S.DENSE, span=2, depth=100, growth_rate=12, compression=0.5),
        CIFAR, 10, 800_000, "Huang et al. 2017, Table 2 (DenseNet-BC L=100, k=12: 0.8M)",
    ),
}  # fmt: skip


def paper_spec(name: str) -> ArchitectureSpec:
    """The spec of a published network, e.g. ``paper_spec("resnet56")``."""
    return paper_network(name).spec


def paper_network(name: str) -> PaperNetwork:
    try:
        return PAPER_NETWORKS[name.lower()]
    except KeyError:
        allowed = ", ".join(PAPER_NETWORKS)
        raise ValueError(f"paper network {name!r} is unknown; choose one of {allowed}") from None


def resolve_arch(text: str | ArchitectureSpec) -> ArchitectureSpec:
    """A spec from a canonical string or a paper name (what the CLI accepts)."""
    if isinstance(text, ArchitectureSpec):
        return text
    if text.lower() in PAPER_NETWORKS:
        return PAPER_NETWORKS[text.lower()].spec
    if "-" not in text:  # not a spec string: meant as a paper name
        allowed = ", ".join(PAPER_NETWORKS)
        raise ValueError(
            f"{text!r} is neither a paper network ({allowed}) nor a spec string such as "
            "identity-s2-d20-w16"
        )
    return ArchitectureSpec.from_str(text)
