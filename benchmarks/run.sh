#!/usr/bin/env bash
# Builds the benchmarks (Release, build tree build/bench) and runs them; JSON
# results go to build/bench/results/.
#
#   benchmarks/run.sh              micro + e2e
#   benchmarks/run.sh micro [Google Benchmark flags...]
#   benchmarks/run.sh e2e   [llmux_overhead_bench flags, e.g. --requests=50000 --rounds=3]
#
# Environment: BUILD_DIR (default build/bench), JOBS (default nproc).
# A full run takes about a minute on a 2-core machine. Numbers from a busy
# machine are noisy: look at the ratios, and rerun when in doubt.
set -euo pipefail
cd "$(dirname "$0")/.."

what=${1:-all}
[ $# -gt 0 ] && shift
case "$what" in
  all | micro | e2e) ;;
  *) echo "usage: benchmarks/run.sh [all|micro|e2e] [flags for that benchmark]" >&2; exit 2 ;;
esac
if [ "$what" = all ] && [ $# -gt 0 ]; then
  echo "run.sh: flags need a benchmark name (micro or e2e)" >&2
  exit 2
fi

BUILD=${BUILD_DIR:-build/bench}
RESULTS="$BUILD/results"
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLLMUX_WERROR=ON \
  -DLLMUX_BUILD_BENCHMARKS=ON -DLLMUX_BUILD_TESTS=OFF -DLLMUX_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$BUILD" -j "${JOBS:-$(nproc)}" --target llmux_micro_bench llmux_overhead_bench
mkdir -p "$RESULTS"

if [ "$what" = all ] || [ "$what" = micro ]; then
  echo "== micro benchmarks =="
  "$BUILD/benchmarks/llmux_micro_bench" \
    --benchmark_out="$RESULTS/micro.json" --benchmark_out_format=json \
    --summary_out="$RESULTS/micro_summary.json" "$@"
fi

if [ "$what" = all ] || [ "$what" = e2e ]; then
  echo "== end-to-end overhead (Router vs plain libcurl-multi, nginx on loopback) =="
  bash benchmarks/e2e/run_overhead.sh "$BUILD/benchmarks/llmux_overhead_bench" \
    --json="$RESULTS/e2e_overhead.json" "$@"
fi
echo "results: $RESULTS/"
