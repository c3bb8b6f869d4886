#!/usr/bin/env bash
# Makes Debian's `docker-registry` package (the CNCF distribution registry) available for the
# container-registry tests, which start their own registry processes on 127.0.0.1 (anonymous and with
# htpasswd basic auth). Also installs apache2-utils for `htpasswd`. Idempotent: does nothing when
# both commands already exist. The package's own systemd service is not needed and not started.
set -euo pipefail

say() { echo "[setup-registry] $*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if command -v docker-registry >/dev/null 2>&1 && command -v htpasswd >/dev/null 2>&1; then
  say "docker-registry already installed: $(docker-registry --version 2>/dev/null || echo unknown version)"
  exit 0
fi
say "installing docker-registry and apache2-utils with apt"
# Another apt run (a parallel setup step) holds the lock for a while: wait for it instead of failing.
as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -qq
as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends docker-registry apache2-utils >/dev/null
# The package enables a registry service on :5000; tests use their own ports, and a stopped service
# keeps the port free for anything else.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet docker-registry 2>/dev/null; then
  as_root systemctl stop docker-registry || true
fi
say "installed: $(docker-registry --version 2>/dev/null || echo unknown version)"
