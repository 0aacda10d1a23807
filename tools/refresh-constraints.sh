#!/usr/bin/env bash
# Refresh tools/constraints.txt, the exact versions setup.sh installs: resolve the newest
# versions pyproject.toml allows in a throwaway venv, then write them down. Run it, run
# `bash tools/test.sh`, and commit the new file only if everything passes.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
"$python" -m venv "$scratch/venv"
"$scratch/venv/bin/python" -m pip install --quiet --upgrade pip
"$scratch/venv/bin/python" -m pip install --quiet ".[test]"
{
  echo "# Exact versions for tools/setup.sh (pip install -c). Refresh: bash tools/refresh-constraints.sh"
  "$scratch/venv/bin/python" -m pip freeze --all --exclude companion --exclude pip
} > tools/constraints.txt
echo "wrote tools/constraints.txt"
