#!/usr/bin/env bash
# The bindings benchmark: the per-call cost of each binding against one local
# nginx, as a ratio to the C++ API measured in the same run, and the Python
# binding against litellm.Router. Builds what it needs, starts nginx (pinned to
# CPU 0), runs every driver pinned to CPU 1 (one call in flight, or 64 for the
# async rows), prints the tables and writes <build>/results/bindings.json
# (or $RESULTS_DIR/bindings.json).
#
#   benchmarks/bindings/run_bindings.sh [BUILD_DIR]     (default build/bench)
#
# Environment (counts per row; defaults keep the run to a few minutes on 2 cores):
#   NATIVE_CALLS=20000 NATIVE_WARMUP=2000    C++, C, Go, Rust
#   PYTHON_CALLS=5000 PYTHON_WARMUP=500      llmux's Python binding, raw http.client
#   LITELLM_CALLS=1000 LITELLM_WARMUP=100    litellm.Router (tens of times slower per call)
#   CONCURRENCY=64                           calls in flight in the async rows
#   LITELLM=0                                skip the litellm rows (reported as skipped)
#   CLIENT_CPU=1 SERVER_CPU=0                taskset CPUs of the drivers and of nginx
# A driver whose toolchain (go, cargo, python3) or binding is missing, or whose
# build fails, is reported as skipped with the reason, never dropped.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO=$PWD
BUILD=$(realpath -m "${1:-${BUILD_DIR:-build/bench}}")
WORK="$BUILD/bindings-bench"
RESULTS=${RESULTS_DIR:-$BUILD/results}
mkdir -p "$WORK" "$RESULTS"
skips=()   # "row-prefix<TAB>reason", handed to run_bindings.py

log() { echo "[bindings] $*" >&2; }

# --- C++ library and native drivers -------------------------------------------
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DLLMUX_BUILD_BENCHMARKS=ON -DLLMUX_BUILD_TESTS=OFF -DLLMUX_BUILD_EXAMPLES=OFF >/dev/null
fi
log "building libllmux and the C/C++ drivers in $BUILD"
cmake --build "$BUILD" -j "${JOBS:-2}" --target llmux llmux_bindings_cpp_driver llmux_bindings_c_driver >/dev/null
CPP_DRIVER="$BUILD/benchmarks/llmux_bindings_cpp_driver"
C_DRIVER="$BUILD/benchmarks/llmux_bindings_c_driver"
LIB_DIR="$BUILD/lib"

# The same bytes for every driver: the request, the body llmux sends for it
# (the raw clients send that), and nginx's answer.
"$CPP_DRIVER" --print-request-body > "$WORK/request.json"
"$CPP_DRIVER" --print-response-body > "$WORK/response.json"
"$CPP_DRIVER" --print-spliced-body --request="$WORK/request.json" --provider-model=qwen3-14b > "$WORK/spliced.json"

# --- Go ------------------------------------------------------------------------
GO_DRIVER=""
GO_JSONV2_DRIVER=""
if ! command -v go >/dev/null 2>&1; then
  skips+=("go	go toolchain not found")
elif [ ! -f bindings/go/go.mod ]; then
  skips+=("go	bindings/go not present")
else
  log "building the Go driver"
  if (cd benchmarks/bindings/go && CGO_ENABLED=1 CGO_CFLAGS="-I$BUILD/generated/include" \
        CGO_LDFLAGS="-L$LIB_DIR -Wl,-rpath,$LIB_DIR" \
        go build -o "$WORK/llmux_bindings_go_driver" .) > "$WORK/go-build.log" 2>&1; then
    GO_DRIVER="$WORK/llmux_bindings_go_driver"
    # The same driver with encoding/json on Go's new implementation (Go 1.25 on): the opt-in the Go README names.
    if (cd benchmarks/bindings/go && GOEXPERIMENT=jsonv2 CGO_ENABLED=1 CGO_CFLAGS="-I$BUILD/generated/include" \
          CGO_LDFLAGS="-L$LIB_DIR -Wl,-rpath,$LIB_DIR" \
          go build -o "$WORK/llmux_bindings_go_driver_jsonv2" .) > "$WORK/go-jsonv2-build.log" 2>&1; then
      GO_JSONV2_DRIVER="$WORK/llmux_bindings_go_driver_jsonv2"
    else
      skips+=("go-jsonv2	GOEXPERIMENT=jsonv2 build failed (Go older than 1.25?): $(tail -n 1 "$WORK/go-jsonv2-build.log")")
    fi
  else
    skips+=("go	build failed: $(tail -n 3 "$WORK/go-build.log" | tr '\n\t' '  ')")
  fi
fi

# --- Rust ----------------------------------------------------------------------
RUST_DRIVER=""
if ! command -v cargo >/dev/null 2>&1; then
  skips+=("rust	cargo not found")
elif [ ! -f bindings/rust/Cargo.toml ]; then
  skips+=("rust	bindings/rust not present")
else
  log "building the Rust driver"
  if (cd benchmarks/bindings/rust && LLMUX_LIB_DIR="$LIB_DIR" CARGO_TARGET_DIR="$BUILD/bindings-rust-target" \
        cargo build --release -j "${JOBS:-2}") > "$WORK/rust-build.log" 2>&1; then
    RUST_DRIVER="$BUILD/bindings-rust-target/release/llmux_bindings_rust_driver"
  else
    skips+=("rust	build failed: $(tail -n 3 "$WORK/rust-build.log" | tr '\n\t' '  ')")
  fi
fi

# --- Python: one venv for llmux's binding and litellm, so both run on the same interpreter
PYTHON=""
if ! command -v python3 >/dev/null 2>&1; then
  skips+=("python	python3 not found")
else
  VENV="$BUILD/bindings-venv"
  if [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV" > "$WORK/venv.log" 2>&1; then
    PYTHON="$VENV/bin/python"
  else
    PYTHON=$(command -v python3)
    skips+=("litellm	no venv could be made (python3 -m venv failed; install python3-venv)")
  fi
  if [ ! -d bindings/python/src/llmux ]; then
    skips+=("python-llmux	bindings/python not present")
  fi
  if [ "${LITELLM:-1}" = 0 ]; then
    skips+=("litellm	LITELLM=0")
  elif [ "$PYTHON" = "$VENV/bin/python" ]; then
    # The same installer as the LiteLLM interop tests (tests/interop/prepare.sh): reused while the pin holds.
    pin=$(grep -E '^litellm==' benchmarks/bindings/requirements-litellm.txt)
    if ! bash scripts/pinned_venv.sh "$VENV" "$pin" 2> "$WORK/litellm-install.log"; then
      skips+=("litellm	pip install failed: $(tail -n 2 "$WORK/litellm-install.log" | tr '\n\t' '  ')")
    fi
    sed 's/^/[bindings] /' "$WORK/litellm-install.log" >&2
  fi
fi

# --- nginx and the runs ----------------------------------------------------------
# shellcheck source=../common/nginx.sh
source benchmarks/common/nginx.sh
trap nginx_stop EXIT
trap 'exit 130' INT TERM
CLIENT_CPU=${CLIENT_CPU:-1}
SERVER_CPU=${SERVER_CPU:-0}
if [ "$(nproc)" -lt 2 ]; then CLIENT_CPU=0; SERVER_CPU=0; fi
nginx_start "$WORK/response.json" "$SERVER_CPU"
BASE_URL="http://127.0.0.1:$NGINX_PORT/v1"
API_KEY=sk-bench
# One deployment, as every driver's router sees it (JSON is YAML too).
cat > "$WORK/config.json" <<JSON
{"model_list":[{"model_name":"production-llm","litellm_params":{"model":"openai/qwen3-14b","api_base":"$BASE_URL","api_key":"$API_KEY"}}]}
JSON

args=(--work="$WORK" --json="$RESULTS/bindings.json" --base-url="$BASE_URL" --api-key="$API_KEY"
      --client-cpu="$CLIENT_CPU" --server-cpu="$SERVER_CPU"
      --cpp-driver="$CPP_DRIVER" --c-driver="$C_DRIVER" --go-driver="$GO_DRIVER" --go-jsonv2-driver="$GO_JSONV2_DRIVER" --rust-driver="$RUST_DRIVER"
      --python="$PYTHON" --python-path="$REPO/bindings/python/src" --llmux-library="$LIB_DIR/libllmux.so"
      --litellm-pin="$(grep -E '^litellm==' benchmarks/bindings/requirements-litellm.txt)")
for s in "${skips[@]}"; do args+=(--skip="$s"); done
python3 benchmarks/bindings/run_bindings.py "${args[@]}"
