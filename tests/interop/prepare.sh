#!/usr/bin/env bash
# Prepares the LiteLLM side of the interop tests under a build tree:
#   tests/interop/prepare.sh <build-dir>
# Makes (once; then reused) one venv per LiteLLM release in <build-dir>/interop/venv-litellm-<version>,
# each with redis-py, through scripts/pinned_venv.sh (the installer the bindings benchmark uses too), and
# writes <build-dir>/interop/peers.json, which the tests read (LLMUX_INTEROP_PEERS):
#   {"peers": [{"litellm": "1.80.0", "role": "pinned", "python": ".../bin/python"}, ...],
#    "peer_script": ".../tests/interop/litellm_peer.py", "redis_server": "/usr/bin/redis-server"}
# The releases:
#   pinned  the one the bindings benchmark pins (benchmarks/bindings/requirements-litellm.txt)
#   newest  the newest on PyPI when this was written. Never 1.107.0 (reported compromised).
# Only the first run needs PyPI. Fails, saying why, when python3 -m venv, pip or redis-server is missing.
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 <build-dir>" >&2
  exit 2
fi
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
mkdir -p "$1/interop"
work="$(cd "$1" && pwd)/interop"

NEWEST_LITELLM=1.110.2
REDIS_PY=8.1.0
pinned=$(grep -E '^litellm==' "$repo/benchmarks/bindings/requirements-litellm.txt" | head -n 1)
pinned=${pinned#litellm==}
if [ -z "$pinned" ]; then
  echo "prepare.sh: no litellm==X line in benchmarks/bindings/requirements-litellm.txt" >&2
  exit 1
fi

redis_server=$(command -v redis-server || true)
if [ -z "$redis_server" ] && [ -x /usr/bin/redis-server ]; then redis_server=/usr/bin/redis-server; fi
if [ -z "$redis_server" ]; then
  echo "prepare.sh: redis-server not found: install Debian's redis-server (scripts/setup.sh does)" >&2
  exit 1
fi

entries=()
for role_version in "pinned:$pinned" "newest:$NEWEST_LITELLM"; do
  role=${role_version%%:*}
  version=${role_version#*:}
  if [ "$role" = newest ] && [ "$version" = "$pinned" ]; then continue; fi  # the pin caught up
  if [ "$version" = 1.107.0 ]; then
    echo "prepare.sh: refusing litellm 1.107.0 (a release reported as compromised)" >&2
    exit 1
  fi
  venv="$work/venv-litellm-$version"
  bash "$repo/scripts/pinned_venv.sh" "$venv" "litellm==$version" "redis==$REDIS_PY"
  entries+=("{\"litellm\": \"$version\", \"role\": \"$role\", \"python\": \"$venv/bin/python\"}")
done

{
  printf '{"peers": ['
  (IFS=,; printf '%s' "${entries[*]}")
  printf '],\n "peer_script": "%s", "redis_server": "%s"}\n' "$here/litellm_peer.py" "$redis_server"
} > "$work/peers.json.tmp"
mv "$work/peers.json.tmp" "$work/peers.json"
