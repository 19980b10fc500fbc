#!/usr/bin/env bash
# Builds the benchmarks (Release, build tree build/bench) and runs them; JSON
# results go to build/bench/results/.
#
#   benchmarks/run.sh              micro + e2e + stream
#   benchmarks/run.sh micro [Google Benchmark flags...]
#   benchmarks/run.sh e2e   [llmux_overhead_bench flags, e.g. --requests=50000 --rounds=3]
#   benchmarks/run.sh stream [llmux_stream_overhead_bench flags, e.g. --streams=10000 --many=400]
#                                  Router::stream vs a plain libcurl-multi SSE client on nginx:
#                                  added time to first token, added CPU per chunk (~10 s)
#   benchmarks/run.sh scale [llmux_scale_bench flags, e.g. --streams=10000 --chunks=10]
#                                  10,000 concurrent slow SSE streams on one I/O thread (~20-30 s)
#   benchmarks/run.sh soak  [llmux_soak_bench flags, e.g. --calls=100000]
#                                  idle Router RSS, RSS per 1,000 in flight, 100,000-call soak (~1-2 min)
#   benchmarks/run.sh bindings     every binding vs the C++ API, Python vs litellm
#                                  (counts via environment: see benchmarks/bindings/run_bindings.sh)
#   benchmarks/run.sh profile      instructions and allocations per call, llmux vs the raw
#                                  client, under valgrind (benchmarks/profile.sh; ~2 minutes)
#   benchmarks/run.sh compare      the whole comparison against the targets (DESIGN.md §5): routing
#                                  decision, C++ vs the raw client, every binding vs C++ and vs its
#                                  language's raw HTTP client, Python vs litellm.Router, scale and
#                                  memory; REPEAT runs (default 3), each figure the median with its
#                                  range (BINDINGS_REPEAT: how many of the runs include the bindings);
#                                  exits 1 when a target is missed by more than its noise band
#                                  (benchmarks/targets.py). Scale and soak run once (SCALE=0
#                                  skips them); PROFILE=1 adds the valgrind profile;
#                                  UPDATE_README=1 rewrites README.md's performance tables.
#                                  JSON: results/compare.json, tables: results/compare.md
#   benchmarks/run.sh fleet [llmux_fleet_bench flags, e.g. --part=rpm --rpm-seconds=20]
#                                  Routers sharing state on Redis: cost per call with Redis vs
#                                  without, cooldown propagation between processes, fleet-wide
#                                  rpm accuracy (2-3 minutes: the rpm part fills one UTC minute)
#
# Environment: BUILD_DIR (default build/bench), RESULTS_DIR (default $BUILD_DIR/results), JOBS (default nproc).
# micro + e2e + stream take about a minute on a 2-core machine; bindings a few minutes
# more (plus the first build of the Go/Rust drivers and litellm's install into
# a venv), so `all` leaves it out, and so does fleet (one whole UTC minute of
# traffic, plus the wait for it to start), scale (10,000 sockets on each side of
# loopback) and soak (a minute or two). Numbers from a busy machine are noisy: look
# at the ratios, and rerun when in doubt.
set -euo pipefail
cd "$(dirname "$0")/.."

what=${1:-all}
[ $# -gt 0 ] && shift
case "$what" in
  all | micro | e2e | stream | scale | soak | bindings | fleet | profile | compare) ;;
  *) echo "usage: benchmarks/run.sh [all|micro|e2e|stream|scale|soak|bindings|fleet|profile|compare] [flags for that benchmark]" >&2; exit 2 ;;
esac
if [ "$what" = all ] && [ $# -gt 0 ]; then
  echo "run.sh: flags need a benchmark name (micro, e2e, stream, scale, soak or fleet)" >&2
  exit 2
fi
if { [ "$what" = bindings ] || [ "$what" = compare ] || [ "$what" = profile ]; } && [ $# -gt 0 ]; then
  echo "run.sh: $what takes no flags (see the environment variables above)" >&2
  exit 2
fi

BUILD=${BUILD_DIR:-build/bench}
RESULTS=${RESULTS_DIR:-$BUILD/results}

if [ "$what" = compare ]; then
  # Every part runs REPEAT times, in order, each run into its own directory;
  # the runs are judged together (median and range per figure).
  repeat=${REPEAT:-3}
  runs=()
  for r in $(seq 1 "$repeat"); do
    dir="$RESULTS/compare/run-$r"
    rm -rf "$dir"
    mkdir -p "$dir"
    echo "== compare: run $r of $repeat (results in $dir) =="
    RESULTS_DIR="$dir" BUILD_DIR="$BUILD" bash "$0" micro --benchmark_filter='^routing/[a-z0-9-]+/(8|1000)$' \
      --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
    RESULTS_DIR="$dir" BUILD_DIR="$BUILD" bash "$0" e2e
    RESULTS_DIR="$dir" BUILD_DIR="$BUILD" bash "$0" stream
    # The bindings benchmark takes minutes a run: BINDINGS_REPEAT (default REPEAT) of the runs include it.
    if [ "$r" -le "${BINDINGS_REPEAT:-$repeat}" ]; then
      RESULTS_DIR="$dir" BUILD_DIR="$BUILD" bash "$0" bindings
    fi
    runs+=("$dir")
  done
  # Scale and memory once (minutes of wall time, and not a per-call figure):
  # 10,000 slow streams on one I/O thread, then the idle Router, in-flight RSS
  # and the 100,000-call soak.
  if [ "${SCALE:-1}" = 1 ]; then
    RESULTS_DIR="$RESULTS/compare/run-1" BUILD_DIR="$BUILD" bash "$0" scale
    RESULTS_DIR="$RESULTS/compare/run-1" BUILD_DIR="$BUILD" bash "$0" soak
  fi
  if [ "${PROFILE:-0}" = 1 ]; then
    RESULTS_DIR="$RESULTS/compare/run-1" BUILD_DIR="$BUILD" bash "$0" profile
  fi
  readme=()
  [ "${UPDATE_README:-0}" = 1 ] && readme=(--readme=README.md)
  python3 benchmarks/targets.py "${runs[@]}" --json="$RESULTS/compare.json" --markdown="$RESULTS/compare.md" \
    "${readme[@]}"
  exit $?
fi
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLLMUX_WERROR=ON \
  -DLLMUX_BUILD_BENCHMARKS=ON -DLLMUX_BUILD_TESTS=OFF -DLLMUX_BUILD_EXAMPLES=OFF >/dev/null
case "$what" in
  all) targets=(llmux_micro_bench llmux_overhead_bench llmux_stream_overhead_bench) ;;
  micro) targets=(llmux_micro_bench) ;;
  e2e | profile) targets=(llmux_overhead_bench) ;;
  stream) targets=(llmux_stream_overhead_bench) ;;
  scale) targets=(llmux_scale_bench) ;;
  soak) targets=(llmux_soak_bench llmux_fake_server) ;;
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

if [ "$what" = all ] || [ "$what" = stream ]; then
  echo "== streaming overhead (Router::stream vs plain libcurl-multi SSE client, nginx on loopback) =="
  bash benchmarks/e2e/run_stream_on_nginx.sh "$BUILD/benchmarks/llmux_stream_overhead_bench" \
    --json="$RESULTS/stream_overhead.json" "$@"
fi

if [ "$what" = scale ]; then
  echo "== scale (concurrent slow SSE streams on one Router I/O thread, epoll server on loopback) =="
  "$BUILD/benchmarks/llmux_scale_bench" --json="$RESULTS/scale.json" "$@"
fi

if [ "$what" = soak ]; then
  echo "== memory (idle Router RSS, RSS per 1,000 in flight, 100,000-call soak against llmux_fake_server) =="
  bash scripts/soak.sh "$BUILD" --calls=100000 --warmup=20000 --sample-every=5000 --json="$RESULTS/soak.json" "$@"
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
