#!/usr/bin/env bash
# Run every benchmark in bench/ and print its figures (README reports them).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh --test
for bench in bench/bench_*.py; do
  echo "== $bench"
  .venv/bin/python "$bench"
done
