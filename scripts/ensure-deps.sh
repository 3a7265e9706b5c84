#!/usr/bin/env bash
# Installs what Miras Studio needs on a fresh Debian machine, only what is missing:
#   --node    npm packages (npm ci, which also compiles better-sqlite3)
#   --system  the system packages the tests need: chromium (browser + SwiftShader Vulkan driver),
#             libvulkan1 (Vulkan loader for Dawn), postgresql (the PostgreSQL test server)
set -euo pipefail
cd "$(dirname "$0")/.."

need_node() {
  [ -f node_modules/.package-lock.json ] || return 0
  [ package-lock.json -nt node_modules/.package-lock.json ] && return 0
  [ -f node_modules/better-sqlite3/build/Release/better_sqlite3.node ] || return 0
  return 1
}

for what in "$@"; do
  case "$what" in
    --node)
      if need_node; then
        echo "› installing npm packages (npm ci; better-sqlite3 compiles from source, 1–2 min)…"
        npm ci --no-audit --no-fund
      fi
      ;;
    --system)
      missing=()
      [ -x /usr/bin/chromium ] || missing+=(chromium)
      ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1' || missing+=(libvulkan1)
      ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
      if [ ${#missing[@]} -gt 0 ]; then
        if [ "$(id -u)" = 0 ]; then
          echo "› installing system packages: ${missing[*]}"
          export DEBIAN_FRONTEND=noninteractive
          apt-get update -qq
          apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
        else
          echo "The tests need these Debian packages: ${missing[*]}" >&2
          echo "Install them with:  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
          exit 1
        fi
      fi
      ;;
    *) echo "ensure-deps: unknown option $what" >&2; exit 2 ;;
  esac
done
