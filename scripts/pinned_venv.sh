#!/usr/bin/env bash
# Makes (or reuses) a Python venv holding exact, pinned packages from PyPI:
#   scripts/pinned_venv.sh VENV_DIR REQUIREMENT...        e.g. litellm==1.80.0 redis==8.1.0
# Used by the bindings benchmark (litellm.Router rows) and the LiteLLM interop tests, so that both
# install LiteLLM the same way. The venv is plain (no system site packages: LiteLLM's dependencies must
# not meet the system's) and is reused while its stamp file lists the same requirements; anything else
# (a new pin, a half-finished install) installs again. Only the install needs PyPI.
# Environment: PYTHON (default python3) makes the venv. Prints nothing on reuse; on install, one line
# with the time it took and the venv's size. Exits non-zero with the reason (and pip's last lines) on failure.
set -euo pipefail

if [ $# -lt 2 ]; then
  echo "usage: $0 VENV_DIR REQUIREMENT..." >&2
  exit 2
fi
venv=$1
shift
stamp="$venv/.llmux-pinned-requirements"
wanted=$(printf '%s\n' "$@" | LC_ALL=C sort)

if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
  exit 0
fi

python=${PYTHON:-python3}
command -v "$python" >/dev/null 2>&1 || { echo "pinned_venv.sh: $python not found" >&2; exit 1; }
mkdir -p "$(dirname "$venv")"
log="$venv.install.log"
started=$(date +%s)
rm -f "$stamp"
if [ ! -x "$venv/bin/python" ] && ! "$python" -m venv "$venv" > "$log" 2>&1; then
  echo "pinned_venv.sh: '$python -m venv $venv' failed (install python3-venv):" >&2
  tail -n 5 "$log" >&2
  exit 1
fi
echo "pinned_venv.sh: installing $* into $venv (PyPI)" >&2
if ! PIP_DISABLE_PIP_VERSION_CHECK=1 "$venv/bin/python" -m pip install --quiet "$@" >> "$log" 2>&1; then
  echo "pinned_venv.sh: pip install $* failed (is PyPI reachable?); last lines of $log:" >&2
  tail -n 5 "$log" >&2
  exit 1
fi
printf '%s\n' "$wanted" > "$stamp"
echo "pinned_venv.sh: $venv ready in $(( $(date +%s) - started )) s, $(du -sh "$venv" | cut -f1)" >&2
