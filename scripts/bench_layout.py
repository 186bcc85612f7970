"""Benchmark: one training step in NCHW vs channels_last (NHWC), every shortcut type.

Why it exists: `TrainConfig.channels_last = None` picks NHWC for convolutional nets on
the CPU as well as on CUDA (`lightning_modules.wants_channels_last`); this is the
measurement behind that default, to be rerun on other CPUs or torch versions.

Each step is forward + cross-entropy + backward + fused SGD, on random data of the
given shape; the two layouts alternate (A, B, A, B) so a noisy machine hits both.

    python scripts/bench_layout.py --shape 1,8,8 --batch-size 64
    python scripts/bench_layout.py --shape 3,32,32 --batch-size 64 --steps 8
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from search_space import build_model

ARCHS = (
    "none-s1-d14-w16",
    "highway-s1-d8-w16",
    "identity-s2-d20-w16",
    "identity-s1-d8-w32",
    "projection-s1-d20-w16",
    "dense-s2-d16-k12-c1.0",
)


def step_ms(arch: str, shape: tuple[int, ...], batch: int, steps: int, nhwc: bool) -> float:
    """Median ms of `steps` training steps after two warm-up steps."""
    torch.manual_seed(0)
    layout = torch.channels_last if nhwc else torch.contiguous_format
    model = build_model(arch, shape, 10).to(memory_format=layout)
    x = torch.randn(batch, *shape).contiguous(memory_format=layout)
    y = torch.randint(0, 10, (batch,))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, fused=True)
    times = []
    for i in range(steps + 2):
        start = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        opt.step()
        if i >= 2:
            times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shape", default="1,8,8", help="C,H,W of one sample")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    shape = tuple(int(s) for s in args.shape.split(","))
    rows = []
    for arch in ARCHS:
        nchw, nhwc = [], []
        for _ in range(args.repeats):
            nchw.append(step_ms(arch, shape, args.batch_size, args.steps, nhwc=False))
            nhwc.append(step_ms(arch, shape, args.batch_size, args.steps, nhwc=True))
        a, b = statistics.median(nchw), statistics.median(nhwc)
        rows.append({"arch": arch, "nchw_ms": round(a, 2), "nhwc_ms": round(b, 2),
                     "speedup": round(a / b, 2)})  # fmt: skip
    if args.json:
        print(json.dumps({"shape": shape, "batch_size": args.batch_size,
                          "threads": torch.get_num_threads(), "rows": rows}))  # fmt: skip
        return 0
    print(f"shape {shape}, batch {args.batch_size}, {torch.get_num_threads()} threads")
    for row in rows:
        print(f"{row['arch']:24s} NCHW {row['nchw_ms']:8.2f} ms  NHWC {row['nhwc_ms']:8.2f} ms"
              f"  x{row['speedup']:.2f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
