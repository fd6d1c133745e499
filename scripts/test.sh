#!/usr/bin/env bash
# Set up everything the tests need and run the whole suite: lint, types, pytest, node tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test
if [ ! -x /usr/bin/chromium ]; then
  # Browser tests drive Debian's Chromium through Playwright (never `playwright install`).
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
fi
# One BLAS thread, as the server runs: small products stall on this 2-core machine otherwise.
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
echo "== ruff"
.venv/bin/ruff check engine server tests benchmarks examples
echo "== mypy --strict"
.venv/bin/mypy
echo "== node --test"
node --test tests/frontend/
echo "== pytest"
.venv/bin/python -m pytest "$@"
