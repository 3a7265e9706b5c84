#!/usr/bin/env bash
# Installs what Miras Studio needs on a fresh Debian machine, only what is missing:
#   --node    npm packages (npm ci, which also compiles better-sqlite3)
#   --system  the system packages the tests need: chromium (browser + SwiftShader Vulkan driver),
#             libvulkan1 (Vulkan loader for Dawn), postgresql (the PostgreSQL test server),
#             and Mesa ≥ 24's lavapipe (the one Vulkan driver without a GPU that offers shader-f16,
#             for the f16 kernel tests; Debian 12 ships 22.3, so it comes from bookworm-backports)
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
      mesa_ok=1
      mesa=$(dpkg-query -W -f '${Version}' mesa-vulkan-drivers 2>/dev/null || true)
      [ -f /usr/share/vulkan/icd.d/lvp_icd.json ] && [ "${mesa%%.*}" -ge 24 ] 2>/dev/null || mesa_ok=0
      codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
      if [ ${#missing[@]} -gt 0 ] || [ $mesa_ok = 0 ]; then
        if [ "$(id -u)" = 0 ]; then
          export DEBIAN_FRONTEND=noninteractive
          if [ $mesa_ok = 0 ] && [ "$codename" = bookworm ] && ! grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then
            printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
              > /etc/apt/sources.list.d/bookworm-backports.sources
          fi
          apt-get update -qq
          if [ ${#missing[@]} -gt 0 ]; then
            echo "› installing system packages: ${missing[*]}"
            apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
          fi
          if [ $mesa_ok = 0 ]; then
            echo "› installing Mesa's lavapipe with shader-f16 (mesa-vulkan-drivers${codename:+ from $codename-backports})"
            if [ "$codename" = bookworm ]; then
              apt-get install -y -qq --no-install-recommends -t bookworm-backports mesa-vulkan-drivers >/dev/null
            else
              apt-get install -y -qq --no-install-recommends mesa-vulkan-drivers >/dev/null
            fi
          fi
        else
          [ $mesa_ok = 0 ] && missing+=("mesa-vulkan-drivers (≥ 24; on Debian 12: -t bookworm-backports)")
          echo "The tests need these Debian packages: ${missing[*]}" >&2
          echo "Install them with:  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
          exit 1
        fi
      fi
      ;;
    *) echo "ensure-deps: unknown option $what" >&2; exit 2 ;;
  esac
done
