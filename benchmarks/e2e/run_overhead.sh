#!/usr/bin/env bash
# Runs the end-to-end overhead benchmark: starts nginx on a free loopback port
# answering POST /v1/chat/completions with a fixed chat.completion body, runs
# llmux_overhead_bench against it, and stops nginx again (also on failure or
# Ctrl-C).
#
#   benchmarks/e2e/run_overhead.sh <path to llmux_overhead_bench> [benchmark flags, e.g. --json=FILE]
#
# Needs /usr/sbin/nginx (Debian nginx-light; scripts/setup.sh installs it) or
# NGINX=/path/to/nginx. Works as root or as a normal user: everything nginx
# writes (pid, error log, temp dirs) lives in a private temp directory
# (benchmarks/common/nginx.sh).
set -euo pipefail

BIN=${1:?usage: run_overhead.sh <llmux_overhead_bench> [flags]}
shift
[ -x "$BIN" ] || { echo "run_overhead: $BIN is not an executable" >&2; exit 1; }
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
