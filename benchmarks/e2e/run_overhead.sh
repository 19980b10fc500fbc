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
# writes (pid, error log, temp dirs) lives in a private temp directory.
set -euo pipefail

BIN=${1:?usage: run_overhead.sh <llmux_overhead_bench> [flags]}
shift
NGINX=${NGINX:-/usr/sbin/nginx}
[ -x "$BIN" ] || { echo "run_overhead: $BIN is not an executable" >&2; exit 1; }
[ -x "$NGINX" ] || { echo "run_overhead: nginx not found at $NGINX (install nginx-light: scripts/setup.sh)" >&2; exit 1; }

dir=$(mktemp -d "${TMPDIR:-/tmp}/llmux-bench-nginx.XXXXXX")
chmod 755 "$dir"   # nginx workers may run as another user when started as root
stop_nginx() {
  if [ -s "$dir/nginx.pid" ]; then
    local pid
    pid=$(cat "$dir/nginx.pid")
    kill -QUIT "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -rf "$dir"
}
trap stop_nginx EXIT
trap 'exit 130' INT TERM

free_port() {
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
    return
  fi
  local p
  for _ in $(seq 100); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  echo "run_overhead: no free port found" >&2
  exit 1
}
port=$(free_port)

# nginx wants the body as one quoted string: escape backslashes and single quotes.
body=$("$BIN" --print-response-body | sed -e 's/\\/\\\\/g' -e "s/'/\\\\'/g")

cat > "$dir/nginx.conf" <<EOF
worker_processes 1;
daemon on;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $dir/client_body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  keepalive_requests 10000000;
  keepalive_timeout 60s;
  server {
    listen 127.0.0.1:$port;
    location = /v1/chat/completions {
      default_type application/json;
      return 200 '$body';
    }
    location / { return 404; }
  }
}
EOF

"$NGINX" -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log"
for _ in $(seq 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
  sleep 0.05
done
if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  echo "run_overhead: nginx did not start on port $port" >&2
  cat "$dir/error.log" >&2 || true
  exit 1
fi

"$BIN" --port="$port" "$@"
