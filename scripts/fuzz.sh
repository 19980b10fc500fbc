#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/, clang-16, ASan+UBSan, build/fuzz) and runs each one in turn.
#   scripts/fuzz.sh [seconds-per-target] [target ...]     default: 300 s, every target
# Targets: sse_parser request config error_classifier capi gemini aws_event_stream cooldown_record. Each starts from its
# committed seeds (tests/fuzz/corpus/<name>/) and its crash regressions (tests/fuzz/regressions/<name>/); new inputs go to
# build/fuzz/corpus/<name>/ (scratch), never into the committed corpus unless LLMUX_FUZZ_MERGE=1, which merges
# the scratch inputs that add coverage into tests/fuzz/corpus/<name>/ at the end.
# A crash, leak, timeout or out-of-memory input is saved to build/fuzz/artifacts/<name>/ and the script exits 1:
# fix the bug, then copy the input to tests/fuzz/regressions/<name>/ (replayed by ctest -L fuzz in every build).
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_TARGET="${1:-300}"
shift || true
ALL_TARGETS=(sse_parser request config error_classifier capi gemini aws_event_stream cooldown_record)
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=("${ALL_TARGETS[@]}")
JOBS="${JOBS:-$(nproc)}"
BUILD=build/fuzz

CC_BIN="${LLMUX_FUZZ_CC:-clang-16}"
CXX_BIN="${LLMUX_FUZZ_CXX:-clang++-16}"
command -v "$CXX_BIN" >/dev/null || { echo "fuzz: $CXX_BIN not found (scripts/setup.sh installs it)" >&2; exit 1; }

echo "== fuzz build ($BUILD: $CXX_BIN, libFuzzer + ASan + UBSan) =="
# Only the library parts and the fuzz targets: no tests, examples, benchmarks or shared library.
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER="$CC_BIN" \
  -DCMAKE_CXX_COMPILER="$CXX_BIN" -DLLMUX_BUILD_FUZZERS=ON -DLLMUX_WERROR=ON -DLLMUX_BUILD_TESTS=OFF \
  -DLLMUX_BUILD_EXAMPLES=OFF -DLLMUX_BUILD_BENCHMARKS=OFF -DLLMUX_INSTALL=OFF >/dev/null
cmake --build "$BUILD" -j "$JOBS" --target fuzzers

# Symbolized reports (Debian's llvm-symbolizer is not on ASan's search list under every name).
if [ -z "${ASAN_SYMBOLIZER_PATH:-}" ] && command -v llvm-symbolizer >/dev/null; then
  export ASAN_SYMBOLIZER_PATH="$(command -v llvm-symbolizer)"
fi
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

failed=()
summary=()
for name in "${TARGETS[@]}"; do
  bin="$BUILD/tests/fuzz/${name}_fuzzer"
  [ -x "$bin" ] || { echo "fuzz: unknown target '$name' (one of: ${ALL_TARGETS[*]})" >&2; exit 2; }
  scratch="$BUILD/corpus/$name"
  artifacts="$BUILD/artifacts/$name"
  log="$BUILD/logs/$name.log"
  mkdir -p "$scratch" "$artifacts" "$(dirname "$log")"
  inputs=("$scratch" "tests/fuzz/corpus/$name")
  [ -d "tests/fuzz/regressions/$name" ] && inputs+=("tests/fuzz/regressions/$name")
  echo "== fuzz $name: ${SECONDS_PER_TARGET} s (log: $log) =="
  rc=0
  # -timeout: one input may take at most 25 s (the capi target cancels a call after 0.2 s, so only a hang
  # gets there); -rss_limit_mb: memory per process; -max_total_time: the run's bound.
  "$bin" -max_total_time="$SECONDS_PER_TARGET" -timeout=25 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "${inputs[@]}" >"$log" 2>&1 || rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p' <<<"$last")
  line="$name: ${runs:-?} runs, ${speed:-?} exec/s, cov ${cov:-?}, ft ${ft:-?}, corpus ${corp:-?}"
  if [ "$rc" -ne 0 ]; then
    line="$line — FAILED (rc $rc), input in $artifacts/"
    failed+=("$name")
    grep -E -A 30 'ERROR: |FUZZ_CHECK failed|runtime error|SUMMARY' "$log" | head -n 60 || tail -n 40 "$log"
  elif [ "${LLMUX_FUZZ_MERGE:-0}" = 1 ]; then
    "$bin" -merge=1 "tests/fuzz/corpus/$name" "$scratch" >>"$log" 2>&1
    line="$line; merged into tests/fuzz/corpus/$name ($(ls "tests/fuzz/corpus/$name" | wc -l) files)"
  fi
  summary+=("$line")
done

echo "== fuzz summary (${SECONDS_PER_TARGET} s per target) =="
printf '  %s\n' "${summary[@]}"
if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzz: failures in ${failed[*]}: fix the bug, add the input to tests/fuzz/regressions/<name>/" >&2
  exit 1
fi
