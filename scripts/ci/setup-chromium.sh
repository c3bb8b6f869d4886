#!/usr/bin/env bash
# Installs Chromium from Debian's packages for the dashboard's browser tests (puppeteer-core drives the
# system executable; no browser is downloaded). Idempotent: does nothing when Chromium is already there.
set -euo pipefail

say() { echo "[setup-chromium] $*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

find_chromium() {
  for candidate in "${ORCH_CHROMIUM:-}" /usr/lib/chromium/chromium /usr/bin/chromium /usr/bin/chromium-browser; do
    if [ -n "$candidate" ] && [ -x "$candidate" ]; then echo "$candidate"; return 0; fi
  done
  return 1
}

if path="$(find_chromium)"; then
  say "using $path"
else
  say "installing chromium with apt"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  path="$(find_chromium)" || { say "chromium was installed but no executable was found"; exit 1; }
fi
"$path" --version 2>/dev/null || true
