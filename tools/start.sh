#!/usr/bin/env bash
# Quickstart, command one: install what is missing, then start the companion.
# Any arguments go to `companion` (e.g. --port 9000 --no-browser).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
exec .venv/bin/companion "$@"
