#!/usr/bin/env bash
# Runs the Rust binding's suite against a CMake build directory:
#   bindings/rust/test.sh <build-dir>
# Uses <build-dir>/lib/libllmux.so and <build-dir>/tests/support/llmux_fake_server;
# cargo's output goes to <build-dir>/rust-target so the checkout stays clean.
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 <build-dir>" >&2
  exit 2
fi
build_dir=$(cd "$1" && pwd)
crate_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

export LLMUX_LIB_DIR="$build_dir/lib"
export LLMUX_FAKE_SERVER="$build_dir/tests/support/llmux_fake_server"
export CARGO_TARGET_DIR="$build_dir/rust-target"
if ! compgen -G "$LLMUX_LIB_DIR/libllmux.*" >/dev/null || [[ ! -x "$LLMUX_FAKE_SERVER" ]]; then
  echo "bindings/rust/test.sh: no libllmux in $LLMUX_LIB_DIR or no $LLMUX_FAKE_SERVER;" \
    "build the library and its tests into $build_dir first" >&2
  exit 1
fi

cd "$crate_dir"
# --locked: the versions in Cargo.lock, nothing newer. Also builds the
# examples and runs the doctests.
status=0
cargo test --locked --no-fail-fast || status=1
if cargo clippy --version >/dev/null 2>&1; then
  cargo clippy --locked --all-targets -- -D warnings || status=1
else
  echo "bindings/rust/test.sh: cargo clippy not installed; lint skipped"
fi
exit "$status"
