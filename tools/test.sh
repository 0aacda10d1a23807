#!/usr/bin/env bash
# Quickstart, command two: install what is missing (test tools included), then run
# the linters, the type checker and the whole test suite. CI runs exactly this.
#
# With arguments, they go to one pytest as given. Without, the suite runs in two parts, to
# use both cores of a small machine without starving sound that runs at a clock's pace:
#   1. three pytest processes at once: the `realtime` tests at normal priority, and beside
#      them the browser tests and all the others, each at nice 10;
#   2. the `alone` tests (the full-duplex rig) with nothing beside them: even at nice 10,
#      other work on two cores made the companion hold and miss on its own echo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/lint.sh
echo "== pytest"
if [ "$#" -gt 0 ]; then
  exec .venv/bin/pytest "$@"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=()

# One part of the suite; `pytest -m` selects it. Each has its own temporary folder (pytest
# clears a --basetemp it is given) and, when run beside others, its own log.
run_part() {
  local name=$1 marks=$2
  .venv/bin/pytest -m "$marks" --basetemp "$work/$name" || failed+=("$name")
}

nice -n 10 .venv/bin/pytest -m "browser and not realtime and not alone" \
  --basetemp "$work/browser" >"$work/browser.log" 2>&1 &
browser=$!
nice -n 10 .venv/bin/pytest -m "not browser and not realtime and not alone" \
  --basetemp "$work/others" >"$work/others.log" 2>&1 &
others=$!
echo "-- realtime tests (the browser tests and the others run beside them; their reports follow)"
run_part realtime "realtime and not alone"
wait "$browser" || failed+=(browser)
echo "-- browser tests"
cat "$work/browser.log"
wait "$others" || failed+=(others)
echo "-- all other tests"
cat "$work/others.log"
echo "-- the full-duplex rig, alone"
run_part alone "alone"

if [ "${#failed[@]}" -gt 0 ]; then
  echo "== failed: ${failed[*]}"
  exit 1
fi
