#!/usr/bin/env bash
# Builds the benchmarks (Release, build tree build/bench) and runs them; JSON
# results go to build/bench/results/.
#
#   benchmarks/run.sh              micro + e2e
#   benchmarks/run.sh micro [Google Benchmark flags...]
#   benchmarks/run.sh e2e   [llmux_overhead_bench flags, e.g. --requests=50000 --rounds=3]
#   benchmarks/run.sh bindings     every binding vs the C++ API, Python vs litellm
#                                  (counts via environment: see benchmarks/bindings/run_bindings.sh)
#   benchmarks/run.sh profile      instructions and allocations per call, llmux vs the raw
#                                  client, under valgrind (benchmarks/profile.sh; ~2 minutes)
#   benchmarks/run.sh fleet [llmux_fleet_bench flags, e.g. --part=rpm --rpm-seconds=20]
#                                  Routers sharing state on Redis: cost per call with Redis vs
#                                  without, cooldown propagation between processes, fleet-wide
#                                  rpm accuracy (2-3 minutes: the rpm part fills one UTC minute)
#
# Environment: BUILD_DIR (default build/bench), JOBS (default nproc).
# micro + e2e take about a minute on a 2-core machine; bindings a few minutes
# more (plus the first build of the Go/Rust drivers and litellm's install into
# a venv), so `all` leaves it out, and so does fleet (one whole UTC minute of
# traffic, plus the wait for it to start). Numbers from a busy machine are noisy: look
# at the ratios, and rerun when in doubt.
set -euo pipefail
cd "$(dirname "$0")/.."

what=${1:-all}
[ $# -gt 0 ] && shift
case "$what" in
  all | micro | e2e | bindings | fleet | profile) ;;
  *) echo "usage: benchmarks/run.sh [all|micro|e2e|bindings|fleet|profile] [flags for that benchmark]" >&2; exit 2 ;;
esac
if [ "$what" = all ] && [ $# -gt 0 ]; then
  echo "run.sh: flags need a benchmark name (micro, e2e or fleet)" >&2
  exit 2
fi
if [ "$what" = bindings ] && [ $# -gt 0 ]; then
  echo "run.sh: the bindings benchmark takes no flags (set NATIVE_CALLS, PYTHON_CALLS, ... instead)" >&2
  exit 2
fi

BUILD=${BUILD_DIR:-build/bench}
RESULTS="$BUILD/results"
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLLMUX_WERROR=ON \
  -DLLMUX_BUILD_BENCHMARKS=ON -DLLMUX_BUILD_TESTS=OFF -DLLMUX_BUILD_EXAMPLES=OFF >/dev/null
case "$what" in
  all) targets=(llmux_micro_bench llmux_overhead_bench) ;;
  micro) targets=(llmux_micro_bench) ;;
  e2e | profile) targets=(llmux_overhead_bench) ;;
  fleet) targets=(llmux_fleet_bench) ;;
  bindings) targets=(llmux llmux_bindings_cpp_driver llmux_bindings_c_driver) ;;
esac
cmake --build "$BUILD" -j "${JOBS:-$(nproc)}" --target "${targets[@]}"
mkdir -p "$RESULTS"

if [ "$what" = all ] || [ "$what" = micro ]; then
  echo "== micro benchmarks =="
  "$BUILD/benchmarks/llmux_micro_bench" \
    --benchmark_out="$RESULTS/micro.json" --benchmark_out_format=json \
    --summary_out="$RESULTS/micro_summary.json" "$@"
fi

if [ "$what" = all ] || [ "$what" = e2e ]; then
  echo "== end-to-end overhead (Router vs plain libcurl-multi, nginx on loopback) =="
  bash benchmarks/e2e/run_on_nginx.sh "$BUILD/benchmarks/llmux_overhead_bench" \
    --json="$RESULTS/e2e_overhead.json" "$@"
fi

if [ "$what" = fleet ]; then
  echo "== fleet on Redis (Redis vs none per call, cooldown propagation between processes, fleet-wide rpm) =="
  bash benchmarks/e2e/run_on_nginx.sh "$BUILD/benchmarks/llmux_fleet_bench" --json="$RESULTS/fleet.json" "$@"
fi

if [ "$what" = profile ]; then
  echo "== instructions and allocations per call under valgrind (Router vs plain libcurl-multi, nginx on loopback) =="
  bash benchmarks/profile.sh "$BUILD"
fi

if [ "$what" = bindings ]; then
  echo "== bindings (C ABI, Python, Go, Rust vs the C++ API; Python vs litellm; nginx on loopback) =="
  JOBS=${JOBS:-$(nproc)} bash benchmarks/bindings/run_bindings.sh "$BUILD"
fi
echo "results: $RESULTS/"
