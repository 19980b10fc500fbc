#!/usr/bin/env bash
# The LiteLLM interop tests, on one private redis-server:
#   - the harness's self-test: two LiteLLM routers (litellm_peer.py processes) of each prepared release agree
#     on cooldowns, rpm/tpm minute keys and budget spend (test_litellm_peers.py);
#   - the differential test: llmux routers (llmux_peer.py: the Python binding over <build-dir>/lib/libllmux.so)
#     and LiteLLM routers of each release share cooldowns both ways and count into the same minute keys
#     (test_differential.py);
#   - an llmux fleet of three Router processes: exact fleet-wide rpm, cooldown propagation time, one probe
#     per recovery (test_llmux_fleet.py; the fake provider is <build-dir>/tests/support/llmux_fake_server).
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
export LLMUX_LIBRARY="$build/lib/libllmux.so"
export LLMUX_FAKE_SERVER="$build/tests/support/llmux_fake_server"
for needed in "$LLMUX_LIBRARY" "$LLMUX_FAKE_SERVER"; do
  if [ ! -e "$needed" ]; then
    echo "tests/interop/test.sh: $needed not found (build llmux with tests into $build first)" >&2
    exit 1
  fi
done
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
