#!/usr/bin/env bash
# Installs everything llmux needs to build, test, benchmark and run its demo on a Debian 12 machine.
# Safe to re-run: apt-get skips what is already installed. Needs root (or sudo).
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config
  libcurl4-openssl-dev libssl-dev zlib1g-dev libsimdjson-dev libabsl-dev libfmt-dev catch2 libyaml-cpp-dev
  libhiredis-dev redis-server libbenchmark-dev libexpat1-dev
  nginx-light python3 python3-pytest python3-venv python3-setuptools python3-wheel
  clang-16 libclang-rt-16-dev llvm
)

# The bindings' toolchains are not Debian packages here (Debian 12's Go and Rust
# are older than the bindings need): they must already be on PATH.
for tool in go cargo python3; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "setup: '$tool' not found on PATH (needed by bindings/; Go >= 1.24, Rust >= 1.80, Python >= 3.9)" >&2
    exit 1
  }
done

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Retry once: a stale package list is the usual cause of a failed install.
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts services on install; the tests start their own nginx/redis on loopback ports.
for svc in nginx redis-server; do
  if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || true; fi
  $SUDO service "$svc" stop >/dev/null 2>&1 || true
done
echo "setup: done"
