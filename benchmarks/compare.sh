#!/usr/bin/env bash
# Compares this checkout with another commit in one run, so both see the same
# machine: the micro benchmarks' summary figures (routing decision with the
# filter chain, request JSON, SSE) and the end-to-end overhead against the raw
# libcurl-multi client on nginx.
#
#   benchmarks/compare.sh [BASE_REV] [ROUNDS]      (defaults: HEAD~1, 2)
#
# BASE_REV is built from a temporary git worktree (build/compare/base-src),
# this tree in build/compare/head, both Release. Each round runs base then
# head (micro, then e2e), so slow drift hits both; the table gives each
# figure's median over the rounds for both and the ratio head / base (< 1:
# head is faster). JSON per run under build/compare/results/.
set -euo pipefail
cd "$(dirname "$0")/.."

BASE_REV=${1:-HEAD~1}
ROUNDS=${2:-2}
OUT=build/compare
BASE_SRC=$OUT/base-src
RESULTS=$OUT/results
JOBS=${JOBS:-$(nproc)}
base_sha=$(git rev-parse --verify "$BASE_REV^{commit}")
mkdir -p "$RESULTS"

if [ -d "$BASE_SRC" ]; then git worktree remove --force "$BASE_SRC" >/dev/null 2>&1 || rm -rf "$BASE_SRC"; fi
git worktree prune
git worktree add --detach "$BASE_SRC" "$base_sha" >/dev/null
trap 'git worktree remove --force "$BASE_SRC" >/dev/null 2>&1 || true' EXIT

build() {  # <source dir> <build dir>
  cmake -S "$1" -B "$2" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLLMUX_WERROR=ON \
    -DLLMUX_BUILD_BENCHMARKS=ON -DLLMUX_BUILD_TESTS=OFF -DLLMUX_BUILD_EXAMPLES=OFF >/dev/null
  cmake --build "$2" -j "$JOBS" --target llmux_micro_bench llmux_overhead_bench >/dev/null
}
echo "== building base ($base_sha) and head =="
build "$BASE_SRC" "$OUT/base"
build . "$OUT/head"

for round in $(seq 1 "$ROUNDS"); do
  for side in base head; do
    echo "== round $round: $side =="
    "$OUT/$side/benchmarks/llmux_micro_bench" --benchmark_min_time=0.2 \
      --summary_out="$RESULTS/micro_${side}_$round.json" >/dev/null
    bash benchmarks/e2e/run_on_nginx.sh "$OUT/$side/benchmarks/llmux_overhead_bench" \
      --json="$RESULTS/e2e_${side}_$round.json" >/dev/null
  done
done

python3 - "$RESULTS" "$ROUNDS" "$base_sha" <<'PY'
import json, statistics, sys
results, rounds, base_sha = sys.argv[1], int(sys.argv[2]), sys.argv[3]

def load(path):
    with open(path) as f:
        return json.load(f)

def figures(side):
    per_name = {}
    for r in range(1, rounds + 1):
        for item in load(f"{results}/micro_{side}_{r}.json")["comparisons"]:
            if "figure_ns" in item:
                per_name.setdefault(item["label"], []).append(item["figure_ns"] / 1000.0)
        added = load(f"{results}/e2e_{side}_{r}.json")["added"]
        for key, label in (("latency_p50_us", "e2e added latency p50"), ("latency_p99_us", "e2e added latency p99"),
                           ("cpu_us_per_call_sequential", "e2e added CPU per call")):
            per_name.setdefault(label, []).append(added[key])
    return {k: statistics.median(v) for k, v in per_name.items()}

base, head = figures("base"), figures("head")
print(f"\n== head vs base {base_sha[:10]}: median of {rounds} round(s), microseconds ==")
print(f"{'figure':64} {'base':>10} {'head':>10} {'head/base':>10}")
for name in base:
    if name not in head:
        continue
    b, h = base[name], head[name]
    ratio = f"{h / b:.2f}" if b > 0 else "n/a"
    print(f"{name[:64]:64} {b:10.3f} {h:10.3f} {ratio:>10}")
summary = {"base": base_sha, "rounds": rounds, "base_figures_us": base, "head_figures_us": head}
with open(f"{results}/compare.json", "w") as f:
    json.dump(summary, f, indent=1)
print(f"\nJSON: {results}/compare.json")
PY
