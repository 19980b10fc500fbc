#!/usr/bin/env bash
# The memory soak (issue 14): a Router serving mixed calls (completions,
# streams, a failing deployment with retries and a fallback, a 400) against
# llmux_fake_server on loopback, RSS sampled as it goes; fails when RSS grows
# after warm-up by more than the limit. Also prints the idle RSS of a Router
# with 8 deployments and the RSS per 1,000 in-flight calls.
#
#   scripts/soak.sh [BUILD_DIR] [llmux_soak_bench flags]
#       BUILD_DIR: a tree with benchmarks and tests/support built (default build/release)
#   scripts/soak.sh build/release --calls=10000 --warmup=4000 --sample-every=1000   (the test stage)
#   benchmarks/run.sh soak                                                          (100,000 calls)
#
# The fake provider is started by llmux_soak_bench as its child process and
# stopped (stdin closed, then killed after 5 s) when it exits, also on failure.
#
# Limit (--max-growth-mib, default 2 here): measured on the 2-core dev box, a
# Router's RSS moves by 0.07-0.09 MiB over 6,000 calls after 4,000 warm-up
# calls (a 100,000-call completion soak: 0.04 MiB after 20,000), from glibc
# arenas and libcurl's connection cache settling. 2 MiB is about 20x that
# band, so allocator noise on another machine does not trip it, and still
# catches a leak of ~350 bytes per call (a leaked request or response body,
# a per-call record nobody erases) within the short run's 6,000 calls.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=build/release
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then
  BUILD=$1
  shift
fi
bench="$BUILD/benchmarks/llmux_soak_bench"
server="$BUILD/tests/support/llmux_fake_server"
for f in "$bench" "$server"; do
  [ -x "$f" ] || { echo "soak.sh: $f is missing (build llmux_soak_bench and llmux_fake_server in $BUILD)" >&2; exit 2; }
done
limit=(--max-growth-mib=2)
for a in "$@"; do
  case "$a" in --max-growth-mib=*) limit=() ;; esac
done
exec "$bench" --fake-server="$server" "${limit[@]}" "$@"
