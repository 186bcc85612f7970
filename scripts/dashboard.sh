#!/usr/bin/env bash
# optuna-dashboard for a study, on 127.0.0.1 (use an SSH tunnel to see it from elsewhere).
#   scripts/dashboard.sh studies/configs/digits_quick.toml [--port 8080]
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/shortcut-nas dashboard "$@"
