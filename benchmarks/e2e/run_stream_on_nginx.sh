#!/usr/bin/env bash
# Runs llmux_stream_overhead_bench against nginx: starts nginx on a free
# loopback port serving two fixed chat.completion.chunk SSE bodies (printed by
# the binary with --print-sse-body=TOKENS) at /few/v1/chat/completions and
# /many/v1/chat/completions, runs the benchmark with --port=<that port>, and
# stops nginx again (also on failure or Ctrl-C).
#
#   benchmarks/e2e/run_stream_on_nginx.sh <llmux_stream_overhead_bench> [--few=8] [--many=400] [flags]
#
# Needs /usr/sbin/nginx (or NGINX=/path/to/nginx); see benchmarks/common/nginx.sh.
set -euo pipefail

BIN=${1:?usage: run_stream_on_nginx.sh <benchmark binary> [flags]}
shift
[ -x "$BIN" ] || { echo "run_stream_on_nginx: $BIN is not an executable" >&2; exit 1; }
# shellcheck source=../common/nginx.sh
source "$(dirname "$0")/../common/nginx.sh"

few=8
many=400
for a in "$@"; do
  case "$a" in
    --few=*) few=${a#--few=} ;;
    --many=*) many=${a#--many=} ;;
  esac
done

body_dir=$(mktemp -d "${TMPDIR:-/tmp}/llmux-bench-sse.XXXXXX")
cleanup() {
  nginx_stop
  rm -rf "$body_dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

chmod 755 "$body_dir"
"$BIN" --print-sse-body="$few" > "$body_dir/few.sse"
"$BIN" --print-sse-body="$many" > "$body_dir/many.sse"
echo '{"error":"use /few or /many"}' > "$body_dir/default.json"
chmod 644 "$body_dir"/*
NGINX_EXTRA_CONF="$(nginx_file_location /few/v1/chat/completions "$body_dir/few.sse" text/event-stream)
$(nginx_file_location /many/v1/chat/completions "$body_dir/many.sse" text/event-stream)"
export NGINX_EXTRA_CONF
nginx_start "$body_dir/default.json"

"$BIN" --port="$NGINX_PORT" "$@"
