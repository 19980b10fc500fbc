#!/usr/bin/env bash
# Runs the Go binding's suite against a CMake build directory:
#   bindings/go/test.sh <build-dir>      (default: <repo>/build)
# cgo finds the library through pkg-config: PKG_CONFIG_PATH=<build-dir> selects the build tree's
# llmux-uninstalled.pc (its rpath points at <build-dir>/lib). The fake provider comes from
# LLMUX_FAKE_SERVER, else <build-dir>/tests/support/llmux_fake_server. Runs go vet, the suite under
# the race detector, then once more without it under GODEBUG=cgocheck=1; then go vet and the suite
# under the race detector of the OpenTelemetry module (otel/, its dependencies from the module proxy).
# With LLMUX_INSTALL_PREFIX=<prefix> (a `cmake --install` of that build), also builds and runs a program
# in a fresh module outside the repository that requires this one, with nothing but
# PKG_CONFIG_PATH=<prefix>/lib/pkgconfig and LD_LIBRARY_PATH=<prefix>/lib: what a user of an install gets.
# Always (as root, where a private mount namespace can be made): the same program built and run with no
# environment variable at all against this build installed in /usr/local (scripts/with_system_install.sh).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
build="$(cd "${1:-$repo/build}" 2>/dev/null && pwd)" || { echo "go: build directory ${1:-$repo/build} not found" >&2; exit 1; }

if [[ ! -e "$build/llmux-uninstalled.pc" || ! -e "$build/lib/libllmux.so" ]]; then
  echo "go: $build/llmux-uninstalled.pc or $build/lib/libllmux.so missing (configure and build the library there)" >&2
  exit 1
fi
export LLMUX_FAKE_SERVER="${LLMUX_FAKE_SERVER:-$build/tests/support/llmux_fake_server}"
if [[ ! -x "$LLMUX_FAKE_SERVER" ]]; then
  echo "go: llmux_fake_server not found at $LLMUX_FAKE_SERVER (set LLMUX_FAKE_SERVER or build the tests)" >&2
  exit 1
fi
command -v go >/dev/null || { echo "go: the go command is not installed" >&2; exit 1; }

export CGO_ENABLED=1
# Only pkg-config tells cgo where llmux is: no hand-set flags.
unset CGO_CFLAGS CGO_LDFLAGS
export PKG_CONFIG_PATH="$build"
# Go's build cache hashes neither pkg-config's output nor the headers it points at (golang/go#24544,
# #24355): a package compiled against another build tree or an older llmux.h would be reused as is.
# This define, used by nothing, keys the cache on both.
export CGO_CPPFLAGS="-DLLMUX_GO_CACHE_KEY=$(cat "$build/llmux-uninstalled.pc" "$repo/capi/llmux.h" \
  "$build/generated/include/llmux_version.h" | cksum | cut -d' ' -f1)"
# The module has no dependencies: never reach for a network toolchain or proxy. The otel module
# (otel/) has some: it gets the proxy the environment names (go env GOPROXY) and its committed go.sum.
otel_goproxy="$(GOTOOLCHAIN=local go env GOPROXY)"
export GOTOOLCHAIN=local GOFLAGS="${GOFLAGS:-} -mod=readonly -modcacherw" GOPROXY=off
# A CI user may have no writable home: keep the build and module caches in the build tree then
# (-modcacherw above: a module cache there can be deleted with the build tree).
gocache="$(go env GOCACHE)"
if ! mkdir -p "$gocache" 2>/dev/null || [[ ! -w "$gocache" ]]; then
  export GOCACHE="$build/go-cache"
fi
gomodcache="$(go env GOMODCACHE)"
if ! mkdir -p "$gomodcache" 2>/dev/null || [[ ! -w "$gomodcache" ]]; then
  export GOMODCACHE="$build/go-mod"
fi

cd "$here"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

# Runs `go test` in the current module with the given flags and prints its pass/fail counts.
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

# Copies the module's files alone into $1/module, away from capi/ (as `go get` puts them in the module
# cache; a directory Go has not seen also keeps it from reusing a package compiled with the build tree's
# flags), and a program of its own module that requires it (by a replace) into $1/consumer.
prepare_consumer() {
  local dir="$1"
  mkdir "$dir/module" "$dir/consumer"
  cp "$here"/go.mod "$here"/*.go "$here"/*.c "$here"/*.h "$dir/module/"
  cp "$here/testdata/install_consumer/main.go" "$dir/consumer/"
  (
    cd "$dir/consumer"
    go mod init example.com/llmux-consumer >/dev/null 2>&1
    go mod edit -require=github.com/llmux/llmux/bindings/go@v0.0.0 -replace=github.com/llmux/llmux/bindings/go=../module
  )
}

# Builds and runs the consumer against the llmux installed in $1, found through its llmux.pc only.
run_install_consumer() {
  local prefix="$1" dir
  dir="$(mktemp -d)"
  (
    prepare_consumer "$dir"
    cd "$dir/consumer"
    # Not the build tree's: the installed llmux.pc alone, which has no rpath.
    env -u CGO_CPPFLAGS PKG_CONFIG_PATH="$prefix/lib/pkgconfig" go build -o consumer .
    LD_LIBRARY_PATH="$prefix/lib" ./consumer
  ) || { rm -rf "$dir"; return 1; }
  rm -rf "$dir"
}

# Builds and runs the consumer where $build is installed as `sudo cmake --install && sudo ldconfig` put it
# (/usr/local, in a private mount namespace: scripts/with_system_install.sh), with no environment
# variable but PATH and Go's own cache locations: pkg-config and the loader find llmux by themselves.
# Returns 77 when the machine cannot make the namespace.
run_system_install_consumer() {
  local dir status=0
  dir="$(mktemp -d)"
  prepare_consumer "$dir" || { rm -rf "$dir"; return 1; }
  bash "$repo/scripts/with_system_install.sh" "$build" env -i PATH="$(dirname "$(command -v go)"):/usr/bin:/bin" \
    HOME="$HOME" GOCACHE="$(go env GOCACHE)" GOMODCACHE="$(go env GOMODCACHE)" \
    bash -euc 'cd "$1" && go build -o consumer . && env -i ./consumer' build-and-run "$dir/consumer" || status=$?
  rm -rf "$dir"
  return $status
}

go vet ./...
status=0
run_suite "race" -race || status=1
GODEBUG=cgocheck=1 run_suite "cgocheck=1" || status=1
# The OpenTelemetry module: spans of this build's router, recorded by the SDK's in-memory recorder.
(
  cd otel
  export GOPROXY="$otel_goproxy"
  go vet ./... && run_suite "otel, race" -race
) || status=1
system_status=0
run_system_install_consumer || system_status=$?
case $system_status in
  0) echo "go (llmux installed in /usr/local, no environment variable): ok" ;;
  77) echo "go (llmux installed in /usr/local): skipped, this machine cannot make a private mount namespace" ;;
  *) echo "go (llmux installed in /usr/local, no environment variable): FAILED" >&2; status=1 ;;
esac
if [[ -n "${LLMUX_INSTALL_PREFIX:-}" ]]; then
  if run_install_consumer "$LLMUX_INSTALL_PREFIX"; then
    echo "go (installed llmux in $LLMUX_INSTALL_PREFIX through pkg-config): ok"
  else
    echo "go (installed llmux in $LLMUX_INSTALL_PREFIX through pkg-config): FAILED" >&2
    status=1
  fi
fi
exit $status
