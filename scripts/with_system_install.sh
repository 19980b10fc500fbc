#!/usr/bin/env bash
# Runs a command on a machine where llmux is installed the way a user installs it from source:
#   scripts/with_system_install.sh <build-dir> <command> [args...]
# i.e. after `sudo cmake --install <build-dir>` (prefix /usr/local) and `sudo ldconfig`, so that
# pkg-config and the dynamic loader find llmux in their default places with no environment variable.
#
# Nothing on the real machine changes: the command runs in a private mount namespace (unshare -m)
# where /usr/local/lib and /usr/local/include are fresh, empty tmpfs mounts (hiding whatever the
# machine has there) and /etc is a private copy (ldconfig rewrites /etc/ld.so.cache). Needs root and
# a kernel that allows unshare -m; exits 77 (the "skipped" code of automake and ctest) when either
# is missing, so a caller can tell a skip from a failure.
set -euo pipefail

if [[ $# -lt 2 ]]; then
  echo "usage: $0 <build-dir> <command> [args...]" >&2
  exit 2
fi
build="$(cd "$1" && pwd)"
shift
if [[ ! -f "$build/cmake_install.cmake" ]]; then
  echo "with_system_install: $build is not a configured CMake build directory" >&2
  exit 2
fi
if [[ $(id -u) -ne 0 ]] || ! unshare --mount true 2>/dev/null; then
  echo "with_system_install: needs root and unshare --mount (a private mount namespace); skipped" >&2
  exit 77
fi

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
cp -a /etc "$scratch/etc"

# Inside the namespace: $1 build dir, $2 the private /etc, then the command.
# --propagation private: the mounts below never reach the machine's namespace.
unshare --mount --propagation private -- bash -euc '
  build="$1" private_etc="$2"
  shift 2
  mount -t tmpfs llmux-usr-local-lib /usr/local/lib
  mount -t tmpfs llmux-usr-local-include /usr/local/include
  mount --bind "$private_etc" /etc
  cmake --install "$build" --prefix /usr/local >/dev/null
  ldconfig
  exec "$@"
' with-system-install "$build" "$scratch/etc" "$@"
