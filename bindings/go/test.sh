#!/usr/bin/env bash
# Runs the Go binding's suite against a CMake build directory:
#   bindings/go/test.sh <build-dir>      (default: <repo>/build)
# The library comes from LLMUX_LIB_DIR (a directory holding libllmux.so),
# else <build-dir>/lib; the fake provider from LLMUX_FAKE_SERVER, else
# <build-dir>/tests/support/llmux_fake_server. Runs go vet, the suite under
# the race detector, then once more without it under GODEBUG=cgocheck=1.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
build="$(cd "${1:-$repo/build}" 2>/dev/null && pwd)" || { echo "go: build directory ${1:-$repo/build} not found" >&2; exit 1; }

lib_dir="${LLMUX_LIB_DIR:-$build/lib}"
if [[ ! -e "$lib_dir/libllmux.so" ]]; then
  echo "go: libllmux.so not found in $lib_dir (set LLMUX_LIB_DIR or build the shared library)" >&2
  exit 1
fi
export LLMUX_FAKE_SERVER="${LLMUX_FAKE_SERVER:-$build/tests/support/llmux_fake_server}"
if [[ ! -x "$LLMUX_FAKE_SERVER" ]]; then
  echo "go: llmux_fake_server not found at $LLMUX_FAKE_SERVER (set LLMUX_FAKE_SERVER or build the tests)" >&2
  exit 1
fi
command -v go >/dev/null || { echo "go: the go command is not installed" >&2; exit 1; }

export CGO_ENABLED=1
# llmux.h includes llmux_version.h, which the build generates (an installed llmux has both in one directory).
export CGO_CFLAGS="-I$build/generated/include${CGO_CFLAGS:+ $CGO_CFLAGS}"
export CGO_LDFLAGS="-L$lib_dir -Wl,-rpath,$lib_dir${CGO_LDFLAGS:+ $CGO_LDFLAGS}"
# The module has no dependencies: never reach for a network toolchain or proxy.
export GOTOOLCHAIN=local GOFLAGS="${GOFLAGS:-} -mod=readonly" GOPROXY=off
# A CI user may have no writable home: keep the build cache in the build tree then.
gocache="$(go env GOCACHE)"
if ! mkdir -p "$gocache" 2>/dev/null || [[ ! -w "$gocache" ]]; then
  export GOCACHE="$build/go-cache"
fi

cd "$here"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

# Runs `go test` with the given flags and prints its pass/fail counts.
run_suite() {
  local label="$1"
  shift
  local status=0
  go test -v -count=1 -timeout 300s "$@" ./... >"$log" 2>&1 || status=$?
  grep -E '^\s*--- (FAIL|SKIP)|^(FAIL|ok|panic)|^\s+\S+_test\.go:[0-9]+:' "$log" || true
  echo "go ($label): $(grep -cE '^\s*--- PASS' "$log" || true) passed, $(grep -cE '^\s*--- FAIL' "$log" || true) failed"
  if [[ $status -ne 0 ]] && ! grep -qE '^\s*--- FAIL' "$log"; then
    tail -n 40 "$log" >&2 # a build failure or a crash: show how it ended
  fi
  return $status
}

go vet ./...
status=0
run_suite "race" -race || status=1
GODEBUG=cgocheck=1 run_suite "cgocheck=1" || status=1
exit $status
