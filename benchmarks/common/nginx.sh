# Shared by the end-to-end benchmarks (sourced, not run): starts nginx on a
# free loopback port answering POST /v1/chat/completions with a fixed body,
# and stops it again. Everything nginx writes (pid, error log, temp dirs) lives
# in a private temp directory, so it works as root or as a normal user.
#
#   source benchmarks/common/nginx.sh
#   trap nginx_stop EXIT
#   nginx_start BODY_FILE [CPU_LIST]   # sets NGINX_PORT; CPU_LIST pins nginx (taskset -c)
#
# More locations: set NGINX_EXTRA_CONF (server-block text) before nginx_start;
# nginx_file_location PATH FILE CONTENT_TYPE prints a location answering POST
# PATH with FILE's bytes (for bodies too large for a `return` string, which
# nginx caps at 4 KiB per config token, e.g. a long SSE stream).
#
# Needs /usr/sbin/nginx (Debian nginx-light; scripts/setup.sh installs it) or
# NGINX=/path/to/nginx. One worker, keepalive_requests 10M, access log off.

NGINX=${NGINX:-/usr/sbin/nginx}
NGINX_DIR=""
NGINX_PORT=""

nginx_free_port() {
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
    return
  fi
  local p
  for _ in $(seq 100); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  echo "nginx.sh: no free port found" >&2
  return 1
}

# Starts nginx; returns non-zero (after printing why) when it does not come up.
nginx_start() {
  local body_file=${1:?nginx_start BODY_FILE [CPU_LIST]} cpus=${2:-}
  [ -x "$NGINX" ] || { echo "nginx.sh: nginx not found at $NGINX (install nginx-light: scripts/setup.sh)" >&2; return 1; }
  [ -s "$body_file" ] || { echo "nginx.sh: empty response body file $body_file" >&2; return 1; }
  NGINX_DIR=$(mktemp -d "${TMPDIR:-/tmp}/llmux-bench-nginx.XXXXXX")
  chmod 755 "$NGINX_DIR"   # nginx workers may run as another user when started as root
  NGINX_PORT=$(nginx_free_port) || return 1

  # nginx wants the body as one quoted string: escape backslashes and single quotes.
  local body
  body=$(sed -e 's/\\/\\\\/g' -e "s/'/\\\\'/g" "$body_file")

  cat > "$NGINX_DIR/nginx.conf" <<CONF
worker_processes 1;
daemon on;
pid $NGINX_DIR/nginx.pid;
error_log $NGINX_DIR/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $NGINX_DIR/client_body;
  proxy_temp_path $NGINX_DIR/proxy;
  fastcgi_temp_path $NGINX_DIR/fastcgi;
  uwsgi_temp_path $NGINX_DIR/uwsgi;
  scgi_temp_path $NGINX_DIR/scgi;
  keepalive_requests 10000000;
  keepalive_timeout 60s;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location = /v1/chat/completions {
      default_type application/json;
      return 200 '$body';
    }
${NGINX_EXTRA_CONF:-}
    location / { return 404; }
  }
}
CONF

  local launcher=()
  [ -n "$cpus" ] && launcher=(taskset -c "$cpus")
  "${launcher[@]}" "$NGINX" -p "$NGINX_DIR" -c "$NGINX_DIR/nginx.conf" -e "$NGINX_DIR/error.log"
  for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$NGINX_PORT") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  echo "nginx.sh: nginx did not start on port $NGINX_PORT" >&2
  cat "$NGINX_DIR/error.log" >&2 || true
  return 1
}

# A location that answers POST PATH with FILE (static files refuse POST with
# 405; error_page turns that into an internal GET of the file). FILE and its
# directory must be readable by nginx's worker (chmod 644 / 755).
nginx_file_location() {
  local path=${1:?} file=${2:?} type=${3:-application/octet-stream}
  cat <<LOC
    location = $path {
      error_page 405 =200 /__file$path;
      return 405;
    }
    location = /__file$path {
      internal;
      default_type $type;
      alias $file;
    }
LOC
}

# Stops nginx (QUIT, then KILL after 5 s) and removes its directory. Safe to
# call more than once and before nginx_start.
nginx_stop() {
  [ -n "$NGINX_DIR" ] || return 0
  if [ -s "$NGINX_DIR/nginx.pid" ]; then
    local pid
    pid=$(cat "$NGINX_DIR/nginx.pid")
    kill -QUIT "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -rf "$NGINX_DIR"
  NGINX_DIR=""
}
