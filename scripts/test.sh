#!/usr/bin/env bash
# One command to run every check and test from a fresh clone:
# installs what is missing (system packages as root, npm packages), generates the Prisma
# client, type-checks, lints, builds the app, then runs the whole vitest suite
# (unit, WebGPU on a real adapter, SQLite + PostgreSQL databases, Chromium end to end).
# Ends with a line "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/.."
export NEXT_TELEMETRY_DISABLED=1 CI="${CI:-}"
# Dawn and Chromium look for a runtime dir; CI shells have none.
if [ -z "${XDG_RUNTIME_DIR:-}" ]; then export XDG_RUNTIME_DIR=/tmp/miras-xdg-$(id -u); mkdir -p -m 700 "$XDG_RUNTIME_DIR"; fi
bash scripts/ensure-deps.sh --system --node || exit 1
[ -f scripts/db.sh ] && { bash scripts/db.sh generate || exit 1; }

checks_failed=0
step() { # name, command...
  local name=$1; shift
  echo "› $name"
  if "$@" > "/tmp/miras-$name.log" 2>&1; then echo "  ok"; else
    echo "  FAILED: $name"; tail -40 "/tmp/miras-$name.log"; checks_failed=$((checks_failed + 1)); fi
}
step typecheck npx tsc --noEmit
step lint npx eslint .
step build npx next build

mkdir -p test-results
npx vitest run --reporter=default --reporter=json --outputFile.json=test-results/vitest.json "$@"
vitest_rc=$?

read -r passed failed skipped < <(node -e '
  try { const r = require("./test-results/vitest.json");
        // A suite that fails to load has no failed test of its own: count it then.
        const failed = r.numFailedTests || r.numFailedTestSuites;
        console.log(r.numPassedTests, failed, r.numPendingTests + r.numTodoTests); }
  catch { console.log(0, 1, 0); }')
# The three checks (typecheck, lint, build) count as tests too.
passed=$((passed + 3 - checks_failed)); failed=$((failed + checks_failed))
[ "$vitest_rc" -ne 0 ] && [ "$failed" -eq 0 ] && failed=1
echo ""
if [ "$skipped" -gt 0 ]; then echo "${passed} passed, ${failed} failed, ${skipped} skipped"; else echo "${passed} passed, ${failed} failed"; fi
[ "$failed" -eq 0 ]
