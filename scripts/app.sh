#!/usr/bin/env bash
# One command to run Miras Studio on embedded SQLite: installs npm packages if needed,
# prepares and migrates the database (no download), builds and serves the app.
#   PORT (default 3000), HOST (default 127.0.0.1), DATABASE_URL (default file:./data/miras.db)
set -euo pipefail
cd "$(dirname "$0")/.."
export NEXT_TELEMETRY_DISABLED=1
bash scripts/ensure-deps.sh --node
[ -f scripts/db.sh ] && bash scripts/db.sh generate && bash scripts/db.sh migrate
echo "› building the app…"
npx next build > .next-build.log 2>&1 || { cat .next-build.log; exit 1; }
rm -f .next-build.log
port="${PORT:-3000}"; host="${HOST:-127.0.0.1}"
echo ""
echo "  Miras Studio is running at  http://${host/0.0.0.0/localhost}:${port}"
echo "  (database: ${DATABASE_URL:-file:./data/miras.db}; stop with Ctrl+C)"
echo ""
exec npx next start -H "$host" -p "$port"
