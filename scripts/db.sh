#!/usr/bin/env bash
# Database tasks, all offline (no Prisma engine download):
#   bash scripts/db.sh generate          write both Prisma clients to generated/ (from prisma/{sqlite,postgresql}/schema.prisma)
#   bash scripts/db.sh migrate           apply checked-in migrations to DATABASE_URL (unset → SQLite ./data/miras.db)
#   bash scripts/db.sh schema [--check]  regenerate the two provider schemas from prisma/models.prisma
#   bash scripts/db.sh new-migration NAME   add a migration for both providers (diff of models.prisma vs the last commit)
set -euo pipefail
cd "$(dirname "$0")/.."
export PRISMA_HIDE_UPDATE_MESSAGE=1 CHECKPOINT_DISABLE=1 PRISMA_SKIP_POSTINSTALL_GENERATE=1
TSX=node_modules/.bin/tsx
PRISMA=node_modules/.bin/prisma

# The CLI's adapter needs a URL of the right provider even when it never connects (generate).
dummy_url() { if [ "$1" = sqlite ]; then echo "file:./.tmp/prisma-cli.db"; else echo "postgres://prisma@127.0.0.1:1/none"; fi; }

cmd="${1:-}"
case "$cmd" in
  generate)
    "$TSX" scripts/db-schema.ts --check
    for p in sqlite postgresql; do
      DATABASE_URL="$(dummy_url $p)" "$PRISMA" generate --no-hints --config "prisma/$p.config.ts" >/dev/null
      echo "db: generated Prisma client generated/prisma-$p"
    done
    ;;
  migrate)
    exec "$TSX" scripts/db-migrate.ts
    ;;
  schema)
    shift
    exec "$TSX" scripts/db-schema.ts "$@"
    ;;
  new-migration)
    name="${2:?usage: bash scripts/db.sh new-migration NAME}"
    exec "$TSX" scripts/db-new-migration.ts "$name"
    ;;
  *)
    sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
