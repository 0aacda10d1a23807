#!/usr/bin/env bash
# Quickstart, command two: install what is missing (test tools included), then run
# the linters, the type checker and the whole test suite. CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/lint.sh
echo "== pytest"
exec .venv/bin/pytest "$@"
