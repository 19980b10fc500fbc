#!/usr/bin/env bash
# The LiteLLM interop harness's self-test: two LiteLLM routers (litellm_peer.py processes) of each prepared
# release share a private redis-server and agree on cooldowns, rpm/tpm minute keys and budget spend.
#   tests/interop/test.sh <build-dir>
# Prepares (or reuses) the venvs under <build-dir>/interop (tests/interop/prepare.sh; PyPI on the first run
# only), then runs pytest on tests/interop with the interpreter that runs the other Python suites. Peer logs:
# <build-dir>/interop/logs. Prints its duration.
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 <build-dir>" >&2
  exit 2
fi
here="$(cd "$(dirname "$0")" && pwd)"
started=$(date +%s)
bash "$here/prepare.sh" "$1"
build="$(cd "$1" && pwd)"
export LLMUX_INTEROP_PEERS="$build/interop/peers.json"
export PYTHONDONTWRITEBYTECODE=1

python="${PYTHON:-python3}"
"$python" -c 'import pytest' 2>/dev/null || {
  echo "tests/interop/test.sh: pytest is not available to $python (install python3-pytest)" >&2
  exit 1
}
rm -rf "$build/interop/logs"
status=0
"$python" -m pytest -q -s -p no:cacheprovider --rootdir "$here" "$here" || status=$?
echo "tests/interop/test.sh: $(( $(date +%s) - started )) s (venvs prepared and tests run); peer logs in $build/interop/logs"
exit $status
