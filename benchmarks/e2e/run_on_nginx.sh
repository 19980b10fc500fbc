#!/usr/bin/env bash
# Runs an end-to-end benchmark against nginx: starts nginx on a free loopback
# port answering POST /v1/chat/completions with a fixed chat.completion body
# (the one the binary prints with --print-response-body), runs the benchmark
# with --port=<that port>, and stops nginx again (also on failure or Ctrl-C).
# Used for llmux_overhead_bench and llmux_fleet_bench (which also starts its
# own redis-server, fake providers and helper processes).
#
#   benchmarks/e2e/run_on_nginx.sh <benchmark binary> [benchmark flags, e.g. --json=FILE]
#
# Needs /usr/sbin/nginx (Debian nginx-light; scripts/setup.sh installs it) or
# NGINX=/path/to/nginx. Works as root or as a normal user: everything nginx
# writes (pid, error log, temp dirs) lives in a private temp directory
# (benchmarks/common/nginx.sh).
set -euo pipefail

BIN=${1:?usage: run_on_nginx.sh <benchmark binary> [flags]}
shift
[ -x "$BIN" ] || { echo "run_on_nginx: $BIN is not an executable" >&2; exit 1; }
# shellcheck source=../common/nginx.sh
source "$(dirname "$0")/../common/nginx.sh"

body_file=$(mktemp "${TMPDIR:-/tmp}/llmux-bench-body.XXXXXX")
cleanup() {
  nginx_stop
  rm -f "$body_file"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The body comes from the binary, so there is one copy of it.
"$BIN" --print-response-body > "$body_file"
nginx_start "$body_file"

"$BIN" --port="$NGINX_PORT" "$@"
