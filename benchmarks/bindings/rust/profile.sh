#!/usr/bin/env bash
# The deterministic side of the Rust rows of the bindings benchmark:
# instructions and allocations per call of the Rust driver's paths (and of the
# C ABI driver, their common floor) against one local nginx, one call at a time.
# Timings on a shared machine are noisy; these counts are not.
#
#   benchmarks/bindings/rust/profile.sh [BUILD_DIR] [API...]   (default build/bench; APIs: c raw typed value)
#
# Needs libllmux and the C driver built in BUILD_DIR (benchmarks/bindings/run_bindings.sh builds them, or
# `cmake --build BUILD_DIR --target llmux llmux_bindings_cpp_driver llmux_bindings_c_driver`); builds the Rust
# driver itself (cargo build --release, as run_bindings.sh does).
# Each path runs twice under valgrind with N1 and N2 calls after the same warm-up; per call =
# (run(N2) - run(N1)) / (N2 - N1), so start-up, warm-up and teardown cancel out.
#   instructions: callgrind's total Ir, every thread (the router's I/O thread included)
#   allocations:  dhat's total blocks (malloc/new/realloc of C++ and Rust alike, every thread)
# Environment: N1 (200), N2 (1200), WARMUP (200).
set -euo pipefail
cd "$(dirname "$0")/../../.."
BUILD=$(realpath -m "${1:-${BUILD_DIR:-build/bench}}")
shift || true
APIS=("$@")
[ ${#APIS[@]} -gt 0 ] || APIS=(c raw typed value)
N1=${N1:-200}
N2=${N2:-1200}
WARMUP=${WARMUP:-200}
CPP_DRIVER="$BUILD/benchmarks/llmux_bindings_cpp_driver"
C_DRIVER="$BUILD/benchmarks/llmux_bindings_c_driver"
for bin in "$CPP_DRIVER" "$C_DRIVER" "$BUILD/lib/libllmux.so"; do
  [ -e "$bin" ] || { echo "profile.sh: $bin not built" >&2; exit 1; }
done
command -v valgrind >/dev/null || { echo "profile.sh: valgrind not installed" >&2; exit 1; }
(cd benchmarks/bindings/rust && LLMUX_LIB_DIR="$BUILD/lib" CARGO_TARGET_DIR="$BUILD/bindings-rust-target" \
  nice cargo build --release -j "${JOBS:-2}" -q)
RUST_DRIVER="$BUILD/bindings-rust-target/release/llmux_bindings_rust_driver"

# shellcheck source=../../common/nginx.sh
source benchmarks/common/nginx.sh
work=$(mktemp -d "${TMPDIR:-/tmp}/llmux-rust-profile.XXXXXX")
cleanup() { nginx_stop; rm -rf "$work"; }
trap cleanup EXIT
"$CPP_DRIVER" --print-request-body > "$work/request.json"
"$CPP_DRIVER" --print-response-body > "$work/response.json"
nginx_start "$work/response.json"
cat > "$work/config.json" <<JSON
{"model_list":[{"model_name":"production-llm","litellm_params":{"model":"openai/qwen3-14b","api_base":"http://127.0.0.1:$NGINX_PORT/v1","api_key":"sk-bench"}}]}
JSON

# <tool> <api> <n> -> prints the tool's total for that run
measure() {
  local tool=$1 api=$2 n=$3 out="$work/$1-$2-$3" cmd
  if [ "$api" = c ]; then
    cmd=("$C_DRIVER")
  else
    cmd=("$RUST_DRIVER" "--api=$api")
  fi
  cmd+=("--config=$work/config.json" "--request=$work/request.json" "--calls=$n" "--warmup=$WARMUP")
  case "$tool" in
    callgrind)
      valgrind --tool=callgrind --callgrind-out-file="$out.cg" "${cmd[@]}" > "$out.log" 2>&1 \
        || { cat "$out.log" >&2; return 1; }
      awk '/^summary:/ {print $2}' "$out.cg" ;;
    dhat)
      valgrind --tool=dhat --dhat-out-file="$out.dhat" "${cmd[@]}" > "$out.log" 2>&1 \
        || { cat "$out.log" >&2; return 1; }
      sed -n 's/.*Total:[[:space:]]*[0-9,]* bytes in \([0-9,]*\) blocks.*/\1/p' "$out.log" | tr -d , | head -1 ;;
  esac
}

printf '%-8s %16s %16s   (per call, %s-%s calls under valgrind, every thread)\n' api instructions allocations "$N2" "$N1"
for api in "${APIS[@]}"; do
  row=()
  for tool in callgrind dhat; do
    a=$(measure "$tool" "$api" "$N1")
    b=$(measure "$tool" "$api" "$N2")
    row+=("$(python3 -c "print(f'{($b - $a) / ($N2 - $N1):,.1f}')")")
  done
  printf '%-8s %16s %16s\n' "$api" "${row[0]}" "${row[1]}"
done
