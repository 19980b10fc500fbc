#!/usr/bin/env bash
# Runs the Python binding's suite against a CMake build directory:
#   bindings/python/test.sh <build-dir>
# Creates <build-dir>/python-venv (with the system site packages, so pytest is there offline),
# installs this package into it with pip (which proves `pip install ./bindings/python` works),
# then runs pytest on the installed package. Exits non-zero on any failure.
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 <build-dir>" >&2
  exit 2
fi
here="$(cd "$(dirname "$0")" && pwd)"
build="$(cd "$1" && pwd)"

export LLMUX_LIBRARY="$build/lib/libllmux.so"
export LLMUX_FAKE_SERVER="$build/tests/support/llmux_fake_server"
for needed in "$LLMUX_LIBRARY" "$LLMUX_FAKE_SERVER"; do
  if [ ! -e "$needed" ]; then
    echo "bindings/python/test.sh: $needed not found (build llmux with tests into $build first)" >&2
    exit 1
  fi
done

python="${PYTHON:-python3}"
venv="$build/python-venv"
# Keep the source tree clean: no __pycache__ or .pytest_cache next to the sources.
export PYTHONDONTWRITEBYTECODE=1 PIP_DISABLE_PIP_VERSION_CHECK=1

[ -x "$venv/bin/python" ] || "$python" -m venv --system-site-packages "$venv"
"$venv/bin/python" -c 'import pytest' 2>/dev/null || {
  echo "bindings/python/test.sh: pytest is not available to $python (install python3-pytest)" >&2
  exit 1
}

# Offline when the local setuptools can build a wheel by itself (>= 70.1, or older with the
# wheel package); otherwise pip fetches the build backend into an isolated environment.
pip_options=(--quiet --force-reinstall --no-deps)
if "$venv/bin/python" - <<'PY'
import importlib.util, sys
try:
    import setuptools
except ImportError:
    sys.exit(1)
version = tuple(int(part) for part in setuptools.__version__.split(".")[:2])
sys.exit(0 if version >= (70, 1) or (version >= (61, 0) and importlib.util.find_spec("wheel")) else 1)
PY
then
  pip_options+=(--no-build-isolation)
fi
# setuptools builds inside the package directory (build/, src/*.egg-info): start and end clean, so
# no stale file from an earlier build ends up in the wheel and the checkout stays as it was.
clean_build_files() { rm -rf "$here/build" "$here/src/llmux.egg-info"; }
clean_build_files
trap clean_build_files EXIT
"$venv/bin/python" -m pip install "${pip_options[@]}" "$here" || {
  echo "bindings/python/test.sh: pip could not install the package (without a local setuptools>=70.1 or" \
       "setuptools+wheel it needs the network to fetch the build backend)" >&2
  exit 1
}

# The suite must exercise the installed package, not the sources.
installed="$(cd "$build" && "$venv/bin/python" -c 'import llmux; print(llmux.__file__)')"
case "$installed" in
  "$venv"/*) ;;
  *) echo "bindings/python/test.sh: llmux imported from $installed, not from $venv" >&2; exit 1 ;;
esac

cd "$here/tests"
"$venv/bin/python" -m pytest -q -p no:cacheprovider --rootdir "$here/tests" "$here/tests"
