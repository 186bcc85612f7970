#!/usr/bin/env bash
# One machine, every GPU it has: one worker per GPU on one study.
#   scripts/launch_local.sh studies/configs/cifar10_gpu.toml [extra launch flags]
# With PostgreSQL, export SHORTCUT_NAS_STORAGE=postgresql+psycopg://USER:PASSWORD@HOST/DB first;
# the same command on another machine joins the same study.
set -euo pipefail
config=${1:?usage: $0 CONFIG [flags]}; shift
cd "$(dirname "$0")/.."
if command -v nvidia-smi >/dev/null 2>&1; then
  gpus=$(nvidia-smi --query-gpu=index --format=csv,noheader | paste -sd, -)
fi
if [ -n "${gpus:-}" ]; then
  exec .venv/bin/shortcut-nas launch "$config" --gpus "$gpus" "$@"
fi
exec .venv/bin/shortcut-nas launch "$config" --workers "$(nproc)" "$@"
