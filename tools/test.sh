#!/usr/bin/env bash
# Quickstart, command two: install what is missing (test tools included), then run
# the linters, the type checker and the whole test suite. CI runs exactly this.
#
# With arguments, they go to one pytest as given. Without, the suite runs as two pytest
# processes at once, to use both cores of a small machine: the `realtime` tests (sound at
# the pace of a real clock, which a busy CPU makes miss) at normal priority, and all the
# others at lower priority (nice 10), so they never take the CPU from the first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/lint.sh
echo "== pytest"
if [ "$#" -gt 0 ]; then
  exec .venv/bin/pytest "$@"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Each half has its own temporary folder: pytest clears a --basetemp it is given.
nice -n 10 .venv/bin/pytest -m "not realtime" --basetemp "$work/others" >"$work/others.log" 2>&1 &
others=$!
echo "-- the realtime tests (the others run beside them; their report follows)"
realtime_status=0
.venv/bin/pytest -m realtime --basetemp "$work/realtime" || realtime_status=$?
others_status=0
wait "$others" || others_status=$?
echo "-- the other tests"
cat "$work/others.log"
if [ "$realtime_status" -ne 0 ] || [ "$others_status" -ne 0 ]; then
  echo "== failed: realtime tests exit $realtime_status, other tests exit $others_status"
  exit 1
fi
