#!/usr/bin/env bash
# Runs the fleet benchmark: starts nginx on a free loopback port answering
# POST /v1/chat/completions with a fixed chat.completion body (the e2e
# overhead benchmark's setup, common/nginx.sh), runs llmux_fleet_bench against
# it, and stops nginx again (also on failure or Ctrl-C). The benchmark starts
# its own redis-server, fake providers and helper processes.
#
#   benchmarks/e2e/run_fleet.sh <path to llmux_fleet_bench> [benchmark flags, e.g. --json=FILE]
#
# Needs /usr/sbin/nginx (or NGINX=...) and /usr/bin/redis-server (scripts/setup.sh).
set -euo pipefail

BIN=${1:?usage: run_fleet.sh <llmux_fleet_bench> [flags]}
shift
[ -x "$BIN" ] || { echo "run_fleet: $BIN is not an executable" >&2; exit 1; }
# shellcheck source=../common/nginx.sh
source "$(dirname "$0")/../common/nginx.sh"

body_file=$(mktemp "${TMPDIR:-/tmp}/llmux-bench-body.XXXXXX")
cleanup() {
  nginx_stop
  rm -f "$body_file"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$BIN" --print-response-body > "$body_file"
nginx_start "$body_file"

"$BIN" --port="$NGINX_PORT" "$@"
