#!/usr/bin/env bash
# Makes a Docker engine available for the local_docker tests and builds the base image they use.
# Idempotent: reuses an engine that already answers and an image that already exists.
#
#   1. installs docker.io with apt when dockerd is missing;
#   2. starts `dockerd --bridge=none --iptables=false` in the background (log: $ORCH_DOCKERD_LOG)
#      unless `docker info` already works, and waits until it does;
#   3. builds `orch-node-base:local` (override: $ORCH_DOCKER_BASE_IMAGE) with `docker import` of a
#      minimal root filesystem: this machine's node binary, the shared libraries it links (ldd),
#      CA certificates, /tmp and a passwd file. No registry is contacted.
#
# Environment:
#   ORCH_DOCKERD_LOG         dockerd log file (default /var/log/orch-dockerd.log)
#   ORCH_DOCKER_BASE_IMAGE   tag of the base image (default orch-node-base:local)
#   ORCH_DOCKER_WAIT_SECONDS how long to wait for the engine (default 60)
#   ORCH_DOCKER_REBUILD_BASE=1 rebuild the base image even if the tag exists
set -euo pipefail

LOG_FILE="${ORCH_DOCKERD_LOG:-/var/log/orch-dockerd.log}"
BASE_IMAGE="${ORCH_DOCKER_BASE_IMAGE:-orch-node-base:local}"
WAIT_SECONDS="${ORCH_DOCKER_WAIT_SECONDS:-60}"

say() { echo "[setup-docker] $*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

engine_ready() { docker info >/dev/null 2>&1; }

# 1. Docker itself.
if ! command -v docker >/dev/null 2>&1 || { ! command -v dockerd >/dev/null 2>&1 && ! engine_ready; }; then
  say "installing docker.io with apt"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi

# 2. The engine.
if engine_ready; then
  say "using the Docker engine that is already running"
else
  mkdir -p "$(dirname "$LOG_FILE")"
  start_dockerd() {
    say "starting dockerd (log: $LOG_FILE)"
    # setsid + nohup: the daemon outlives this script and the CI step that called it.
    if [ "$(id -u)" -eq 0 ]; then
      setsid nohup dockerd --bridge=none --iptables=false >>"$LOG_FILE" 2>&1 < /dev/null &
    else
      sudo -b sh -c "setsid nohup dockerd --bridge=none --iptables=false >>'$LOG_FILE' 2>&1 < /dev/null"
    fi
    DOCKERD_PID=${!:-0}
  }
  start_dockerd
  attempts=1
  for _ in $(seq 1 "$WAIT_SECONDS"); do
    engine_ready && break
    # A daemon that died at once (e.g. the previous one was still shutting down) is started again.
    if [ "$(id -u)" -eq 0 ] && ! kill -0 "$DOCKERD_PID" 2>/dev/null && [ "$attempts" -lt 3 ]; then
      say "dockerd exited; retrying"
      sleep 2
      start_dockerd
      attempts=$((attempts + 1))
    fi
    sleep 1
  done
  if ! engine_ready; then
    say "the Docker engine did not answer within ${WAIT_SECONDS}s; last lines of $LOG_FILE:"
    tail -n 30 "$LOG_FILE" >&2 || true
    exit 1
  fi
fi
say "engine: $(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})')"

# 3. The base image.
base_works() { docker run --rm --network none "$BASE_IMAGE" node -e 0 >/dev/null 2>&1; }
if [ "${ORCH_DOCKER_REBUILD_BASE:-0}" != "1" ] && docker image inspect "$BASE_IMAGE" >/dev/null 2>&1 && base_works; then
  say "base image $BASE_IMAGE already exists"
  exit 0
fi

OLD_ID="$(docker image inspect "$BASE_IMAGE" --format '{{.Id}}' 2>/dev/null || true)"
NODE_BIN="$(readlink -f "$(command -v node)")"
ROOTFS="$(mktemp -d)"
trap 'rm -rf "$ROOTFS"' EXIT
say "building $BASE_IMAGE from $NODE_BIN ($(node --version))"

copy_path() { # copies a file (following symlinks) to the same path inside the root filesystem
  local source="$1" target="$ROOTFS$1"
  mkdir -p "$(dirname "$target")"
  cp -L "$source" "$target"
}

mkdir -p "$ROOTFS/usr/local/bin" "$ROOTFS/tmp" "$ROOTFS/etc" "$ROOTFS/bin"
chmod 1777 "$ROOTFS/tmp"
cp -L "$NODE_BIN" "$ROOTFS/usr/local/bin/node"
# The dynamic loader and every library node links, at the paths ldd reports.
ldd "$NODE_BIN" | awk '/=> \// { print $3 } /^[[:space:]]*\/[^ ]+/ { print $1 }' | sort -u | while read -r lib; do
  copy_path "$lib"
done
# Name-service libraries so getpwuid (os.userInfo) works for arbitrary uids.
for lib in /lib/x86_64-linux-gnu/libnss_files.so.2 /lib/aarch64-linux-gnu/libnss_files.so.2; do
  if [ -e "$lib" ]; then copy_path "$lib"; fi
done
if [ -e /etc/ssl/certs/ca-certificates.crt ]; then copy_path /etc/ssl/certs/ca-certificates.crt; fi
cat >"$ROOTFS/etc/passwd" <<'EOF'
root:x:0:0:root:/tmp:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"$ROOTFS/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
EOF
echo "passwd: files" >"$ROOTFS/etc/nsswitch.conf"
ln -s /usr/local/bin/node "$ROOTFS/bin/node"

tar -C "$ROOTFS" -c . | docker import \
  --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
  --change 'ENV HOME=/tmp' \
  --change 'WORKDIR /tmp' \
  --change 'CMD ["node"]' \
  --message "orch node base image (node $(node --version) from this machine)" \
  - "$BASE_IMAGE" >/dev/null
NEW_ID="$(docker image inspect "$BASE_IMAGE" --format '{{.Id}}')"
if [ -n "$OLD_ID" ] && [ "$OLD_ID" != "$NEW_ID" ]; then docker rmi "$OLD_ID" >/dev/null 2>&1 || true; fi
say "built $BASE_IMAGE: $(docker image inspect "$BASE_IMAGE" --format '{{.Id}} {{.Size}} bytes')"
docker run --rm --network none "$BASE_IMAGE" node -e 'console.log("[setup-docker] node " + process.version + " runs in the base image")'
