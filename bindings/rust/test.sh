#!/usr/bin/env bash
# Runs the Rust binding's suite against a CMake build directory:
#   bindings/rust/test.sh <build-dir>
# Uses <build-dir>/lib/libllmux.so and <build-dir>/tests/support/llmux_fake_server;
# cargo's output goes to <build-dir>/rust-target so the checkout stays clean.
# Then the two other ways build.rs finds the library:
#   - no LLMUX_LIB_DIR and no llmux for pkg-config: build.rs builds the core with
#     CMake (the doctests, in <build-dir>/rust-bundled: a fixed path inside the
#     checkout, so ccache hits in another clone);
#   - an installed llmux found by pkg-config, when <build-dir>/install holds one
#     (scripts/test.sh installs there): the offline example, built and run.
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
status=0

echo "bindings/rust/test.sh: cargo test with no llmux given (build.rs builds the core with CMake)"
bundled="$build_dir/rust-bundled"
mkdir -p "$bundled/empty-pkgconfig"
# PKG_CONFIG_LIBDIR stays: the core's own CMake finds hiredis through pkg-config.
if (unset LLMUX_LIB_DIR; export PKG_CONFIG_PATH="$bundled/empty-pkgconfig"; ! pkg-config --exists llmux); then
  (unset LLMUX_LIB_DIR LLMUX_SOURCE_DIR
    PKG_CONFIG_PATH="$bundled/empty-pkgconfig" CARGO_TARGET_DIR="$bundled/target" \
      cargo test --locked --doc) || status=1
else
  echo "bindings/rust/test.sh: pkg-config finds an installed llmux outside $build_dir; the CMake path" \
    "of build.rs cannot be tested here" >&2
  status=1
fi

installed_pc="$build_dir/install/lib/pkgconfig"
if [[ -f "$installed_pc/llmux.pc" ]]; then
  echo "bindings/rust/test.sh: the offline example linked against the llmux installed in $build_dir/install (pkg-config)"
  (unset LLMUX_LIB_DIR LLMUX_SOURCE_DIR
    export PKG_CONFIG_PATH="$installed_pc" CARGO_TARGET_DIR="$bundled/target"
    cargo run --locked --example offline &&
      ldd "$CARGO_TARGET_DIR/debug/examples/offline" | grep -q "libllmux.* => $build_dir/install/") || status=1
fi

# --locked: the versions in Cargo.lock, nothing newer. Also builds the
# examples and runs the doctests.
cargo test --locked --no-fail-fast || status=1
# The opentelemetry feature: its spans (tests/opentelemetry.rs, the unit tests)
# and its doctests; the rest of the suite does not change with it.
cargo test --locked --no-fail-fast --features opentelemetry --lib --test opentelemetry || status=1
cargo test --locked --no-fail-fast --features opentelemetry --doc || status=1
# The docs as docs.rs builds them (every feature): no rustdoc warning (broken links, ...).
RUSTDOCFLAGS="-D warnings" cargo doc --locked --no-deps --features opentelemetry || status=1
if cargo clippy --version >/dev/null 2>&1; then
  cargo clippy --locked --all-targets -- -D warnings || status=1
  cargo clippy --locked --all-targets --features opentelemetry -- -D warnings || status=1
else
  echo "bindings/rust/test.sh: cargo clippy not installed; lint skipped"
fi
exit "$status"
