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
# Limit (--max-growth-mib, default 4 here): after warm-up a steady Router's RSS
# moves within about ±0.5 MiB between samples on this machine (glibc arenas
# handing pages back and taking them again, libcurl's connection cache
# settling); a leak of one request or response body per call (~0.3-2 KiB)
# grows it by 3-20 MiB over 10,000 calls. 4 MiB is well above the noise and
# below what a per-call leak of any body-sized object adds in the short run.
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
limit=(--max-growth-mib=4)
for a in "$@"; do
  case "$a" in --max-growth-mib=*) limit=() ;; esac
done
exec "$bench" --fake-server="$server" "${limit[@]}" "$@"
