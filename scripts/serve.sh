#!/usr/bin/env bash
# Set up (first run) and start the app on 127.0.0.1:8000 with the default session preset.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/backprop-lab serve "$@"
