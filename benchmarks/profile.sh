#!/usr/bin/env bash
# Instructions and allocations per call, llmux vs the raw libcurl-multi client:
# the deterministic side of the end-to-end overhead (timings on a shared
# machine are noisy; instruction and allocation counts are not).
#
#   benchmarks/profile.sh [BUILD_DIR]        (default build/bench; needs llmux_overhead_bench built)
#
# Starts nginx on loopback (benchmarks/common/nginx.sh) and runs each side of
# llmux_overhead_bench alone (--only=baseline|llmux) twice under valgrind, with
# N1 and N2 sequential calls after the same warm-up; per call = (run(N2) −
# run(N1)) / (N2 − N1), so start-up, warm-up and teardown cancel out.
#   instructions: callgrind's total Ir, every thread of the process
#   allocations:  dhat's total blocks allocated (malloc/calloc/realloc/new, every thread)
#   system calls: strace -f -c's total (when strace is installed; kernel time is
#                 a large part of a loopback call's CPU and callgrind does not see it)
# Prints a table and writes <BUILD_DIR>/results/profile.json (or $RESULTS_DIR/profile.json).
# Environment: N1 (200), N2 (1200), WARMUP (200).
#   MODE=loaded: the same per call with 64 calls in flight (each side's throughput
#   child, --child=SIDE, which resubmits from the done callback on the client's
#   I/O thread; its fixed warm-up cancels out too); writes profile-loaded.json.
#   Defaults then N1 2000, N2 6000.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-${BUILD_DIR:-build/bench}}
BIN="$BUILD/benchmarks/llmux_overhead_bench"
[ -x "$BIN" ] || { echo "profile.sh: $BIN not built (benchmarks/run.sh e2e builds it)" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "profile.sh: valgrind not installed" >&2; exit 1; }
MODE=${MODE:-sequential}
case "$MODE" in
  sequential) N1=${N1:-200}; N2=${N2:-1200}; json=profile.json ;;
  loaded) N1=${N1:-2000}; N2=${N2:-6000}; json=profile-loaded.json ;;
  *) echo "profile.sh: MODE must be sequential or loaded" >&2; exit 2 ;;
esac
WARMUP=${WARMUP:-200}
RESULTS=${RESULTS_DIR:-$BUILD/results}
mkdir -p "$RESULTS"
# shellcheck source=common/nginx.sh
source benchmarks/common/nginx.sh
work=$(mktemp -d "${TMPDIR:-/tmp}/llmux-profile.XXXXXX")
cleanup() { nginx_stop; rm -rf "$work"; }
trap cleanup EXIT
"$BIN" --print-response-body > "$work/body"
nginx_start "$work/body"

# <side> <n> -> the benchmark's arguments for n calls of that side
bench_args() {
  if [ "$MODE" = loaded ]; then
    echo "--port=$NGINX_PORT --child=$1 --concurrency=64 --throughput-requests=$2"
  else
    echo "--port=$NGINX_PORT --only=$1 --requests=$2 --warmup=$WARMUP"
  fi
}

# <tool> <side> <n> -> prints the tool's total for that run
measure() {
  local tool=$1 side=$2 n=$3 out="$work/$1-$2-$3"
  # shellcheck disable=SC2046
  case "$tool" in
    callgrind)
      valgrind --tool=callgrind --callgrind-out-file="$out.cg" "$BIN" $(bench_args "$side" "$n") \
        > "$out.log" 2>&1 || { cat "$out.log" >&2; return 1; }
      # "summary: <Ir>" is the whole run's instruction count.
      awk '/^summary:/ {print $2}' "$out.cg" ;;
    dhat)
      valgrind --tool=dhat --dhat-out-file="$out.dhat" "$BIN" $(bench_args "$side" "$n") \
        > "$out.log" 2>&1 || { cat "$out.log" >&2; return 1; }
      # "==PID== Total:     123 bytes in 45 blocks"
      sed -n 's/.*Total:[[:space:]]*[0-9,]* bytes in \([0-9,]*\) blocks.*/\1/p' "$out.log" | tr -d , | head -1 ;;
    strace)
      strace -f -c -o "$out.strace" "$BIN" $(bench_args "$side" "$n") > "$out.log" 2>&1 ||
        { cat "$out.log" >&2; return 1; }
      # The calls column of the "total" row.
      awk '$NF == "total" {print $4}' "$out.strace" ;;
  esac
}

tools="callgrind dhat"
command -v strace >/dev/null && tools="$tools strace"
declare -A per_call
per_call[baseline.strace]=0
per_call[llmux.strace]=0
for side in baseline llmux; do
  for tool in $tools; do
    a=$(measure "$tool" "$side" "$N1")
    b=$(measure "$tool" "$side" "$N2")
    per_call[$side.$tool]=$(python3 -c "print(round(($b - $a) / ($N2 - $N1), 2))")
  done
done
python3 - "$RESULTS/$json" "$MODE" "$N1" "$N2" \
  "${per_call[baseline.callgrind]}" "${per_call[llmux.callgrind]}" \
  "${per_call[baseline.dhat]}" "${per_call[llmux.dhat]}" \
  "${per_call[baseline.strace]}" "${per_call[llmux.strace]}" <<'PY'
import json, sys
path, mode, n1, n2 = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
ir_b, ir_l, al_b, al_l, sc_b, sc_l = map(float, sys.argv[5:])
how = "one at a time" if mode == "sequential" else "64 in flight"
print(f"per call, {how} ({n2}-{n1} calls under valgrind/strace, every thread):")
print(f"{'':24}{'raw client':>14}{'llmux':>14}{'added':>14}{'ratio':>8}")
print(f"{'instructions':24}{ir_b:>14,.0f}{ir_l:>14,.0f}{ir_l - ir_b:>+14,.0f}{ir_l / ir_b:>8.2f}")
print(f"{'allocations':24}{al_b:>14,.1f}{al_l:>14,.1f}{al_l - al_b:>+14,.1f}{al_l / al_b if al_b else 0:>8.2f}")
figures = {"benchmark": "llmux_profile", "mode": mode, "calls": [n1, n2],
           "instructions_per_call": {"raw": ir_b, "llmux": ir_l, "added": ir_l - ir_b},
           "allocations_per_call": {"raw": al_b, "llmux": al_l, "added": al_l - al_b}}
if sc_b > 0:
    print(f"{'system calls':24}{sc_b:>14,.2f}{sc_l:>14,.2f}{sc_l - sc_b:>+14,.2f}{sc_l / sc_b:>8.2f}")
    figures["syscalls_per_call"] = {"raw": sc_b, "llmux": sc_l, "added": sc_l - sc_b}
json.dump(figures, open(path, "w"), indent=1)
print(f"written to {path}")
PY
