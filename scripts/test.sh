#!/usr/bin/env bash
# Install into .venv at the repository root and run the test suite.
# This is the README's test command; .ci/run calls it on a clean clone.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
# torch/torchvision are pinned here (the package itself only asks for a range).
.venv/bin/pip install --quiet torch==2.14.1 torchvision==0.29.1 -e ".[dev]"
exec .venv/bin/python -m pytest -q -n 2 "$@"
