#!/usr/bin/env bash
# Lint, format check and types, with the project's own pinned tools (installed if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh --test
echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy"
.venv/bin/mypy
