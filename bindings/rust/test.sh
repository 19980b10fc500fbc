#!/usr/bin/env bash
# Runs the Rust binding's suite against a CMake build directory:
#   bindings/rust/test.sh <build-dir>
# Uses <build-dir>/lib/libllmux.so and <build-dir>/tests/support/llmux_fake_server;
# cargo's output goes to <build-dir>/rust-target so the checkout stays clean.
# Then the two other ways build.rs finds the library:
#   - no LLMUX_LIB_DIR and no llmux for pkg-config: build.rs builds the core with
#     CMake (`cargo test` as in a clean checkout, and a consumer crate in a fresh
#     directory, in <build-dir>/rust-bundled), with no environment variable set;
#   - llmux installed in /usr/local (a private mount namespace): the consumer crate
#     links it through pkg-config, again with no environment variable;
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

# The environment of a user who has set nothing for llmux: PATH and HOME (and rustup's and cargo's homes,
# and ccache's settings when set, so that the core's objects come from the cache: they change nothing in
# what is built). build.rs then finds no LLMUX_LIB_DIR and, with nothing installed, no llmux for pkg-config.
clean_env=(env -i PATH="$(dirname "$(command -v cargo)"):/usr/bin:/bin" HOME="$HOME")
for variable in RUSTUP_HOME CARGO_HOME CCACHE_DIR CCACHE_BASEDIR CCACHE_NOHASHDIR; do
  if [[ -n "${!variable:-}" ]]; then clean_env+=("$variable=${!variable}"); fi
done
bundled="$build_dir/rust-bundled" # a fixed path inside the checkout: ccache hits in another clone

# `cargo test` as in a clean checkout: build.rs builds the core, the tests' support builds the fake
# provider with CMake (tests/support/mod.rs, as LLMUX_FAKE_SERVER is not set).
echo "bindings/rust/test.sh: cargo test with no llmux given (build.rs builds the core with CMake)"
if "${clean_env[@]}" pkg-config --exists llmux; then
  echo "bindings/rust/test.sh: pkg-config finds an installed llmux on this machine; the CMake path" \
    "of build.rs cannot be tested here" >&2
  status=1
else
  "${clean_env[@]}" cargo test --locked --no-fail-fast --target-dir "$bundled/target" || status=1
fi

# A program of its own crate, in a fresh directory outside the checkout, that depends on this crate by
# path (what `cargo add --path` writes), built and run in that same environment:
#   1. nothing installed: build.rs builds the bundled core with CMake (into the target directory of the
#      `cargo test` above) and links it statically: the program, run on its own from another directory,
#      needs no libllmux;
#   2. llmux installed in /usr/local as `sudo cmake --install && sudo ldconfig` leaves it (a private mount
#      namespace: scripts/with_system_install.sh; skipped where one cannot be made): pkg-config finds it
#      and the binary runs on its own.
consumer="$(mktemp -d)"
trap 'rm -rf "$consumer"' EXIT
mkdir -p "$consumer/src" "$consumer/.cargo"
cat >"$consumer/Cargo.toml" <<TOML
[package]
name = "llmux-consumer"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
llmux-router = { path = "$crate_dir" }
serde_json = "1"
TOML
cp "$crate_dir/examples/offline.rs" "$consumer/src/main.rs"
cp "$crate_dir/Cargo.lock" "$consumer/Cargo.lock" # the versions this crate is tested with
printf '[build]\ntarget-dir = "%s"\n' "$bundled/target" >"$consumer/.cargo/config.toml"
echo "bindings/rust/test.sh: a consumer crate in $consumer, no environment variable: the bundled core"
(cd "$consumer" && "${clean_env[@]}" cargo build --quiet && cd / &&
  ! ldd "$bundled/target/debug/llmux-consumer" | grep libllmux && env -i "$bundled/target/debug/llmux-consumer") ||
  status=1
printf '[build]\ntarget-dir = "%s"\n' "$bundled/system-target" >"$consumer/.cargo/config.toml"
echo "bindings/rust/test.sh: the consumer crate, no environment variable, llmux installed in /usr/local"
system_status=0
bash "$crate_dir/../../scripts/with_system_install.sh" "$build_dir" bash -euc \
  'cd "$1"; target="$2"; shift 2
   "$@" cargo build --quiet && ldd "$target/debug/llmux-consumer" | grep -q "libllmux.* => /usr/local/lib/" &&
     env -i "$target/debug/llmux-consumer"' \
  consumer "$consumer" "$bundled/system-target" "${clean_env[@]}" || system_status=$?
case $system_status in
  0) ;;
  77) echo "bindings/rust/test.sh: skipped (this machine cannot make a private mount namespace)" ;;
  *) echo "bindings/rust/test.sh: the consumer against llmux in /usr/local FAILED" >&2; status=1 ;;
esac

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
