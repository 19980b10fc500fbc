#!/usr/bin/env bash
# Runs the Python binding's suite against a CMake build directory, twice:
#   bindings/python/test.sh <build-dir>
# 1. without LiteLLM: creates <build-dir>/python-venv (with the system site packages, so pytest is there
#    offline; litellm must not be importable there), installs this package into it with pip (which proves
#    `pip install ./bindings/python` works), then runs pytest on the installed package;
# 2. with the pinned LiteLLM (benchmarks/bindings/requirements-litellm.txt) and pytest from PyPI, in
#    <build-dir>/python-venv-litellm-<version> (made once by scripts/pinned_venv.sh, then reused
#    offline), with the same package installed from a wheel, and LLMUX_TEST_WITH_LITELLM=1: every test
#    runs with litellm imported, so llmux hands out LiteLLM's exception and response types.
# LLMUX_PYTHON_SKIP_LITELLM=1 skips the second pass (say so: it is part of the test command).
# Exits non-zero on any failure.
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 <build-dir>" >&2
  exit 2
fi
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
build="$(cd "$1" && pwd)"
# Pinned in one place for the bindings benchmark, the interop tests and this suite.
pinned_litellm=$(grep -E '^litellm==' "$repo/benchmarks/bindings/requirements-litellm.txt" | head -n 1)
pinned_pytest="pytest==8.3.5"
pinned_otel=(opentelemetry-api==1.39.1 opentelemetry-sdk==1.39.1)  # pass 2 runs test_otel.py with them (litellm pulls neither)

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

if "$venv/bin/python" -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec("litellm") is None)'; then
  echo "bindings/python/test.sh: litellm is importable in $venv; the first pass must run without it" \
       "(uninstall it from the system Python, or use another PYTHON)" >&2
  exit 1
fi

run_suite() {  # python, then pytest's extra arguments
  local python=$1
  shift
  (cd "$here/tests" && "$python" -m pytest -q -p no:cacheprovider --rootdir "$here/tests" "$@" "$here/tests")
}

echo "bindings/python/test.sh: pass 1 of 2, without litellm ($venv)"
run_suite "$venv/bin/python"

if [ "${LLMUX_PYTHON_SKIP_LITELLM:-0}" = 1 ]; then
  echo "bindings/python/test.sh: LLMUX_PYTHON_SKIP_LITELLM=1: pass 2 (with $pinned_litellm) SKIPPED" >&2
  exit 0
fi
if [ -z "$pinned_litellm" ]; then
  echo "bindings/python/test.sh: no litellm==X line in benchmarks/bindings/requirements-litellm.txt" >&2
  exit 1
fi
litellm_venv="$build/python-venv-litellm-${pinned_litellm#litellm==}"
bash "$repo/scripts/pinned_venv.sh" "$litellm_venv" "$pinned_litellm" "$pinned_pytest" "${pinned_otel[@]}" || {
  echo "bindings/python/test.sh: could not make $litellm_venv (PyPI is needed once; LLMUX_PYTHON_SKIP_LITELLM=1" \
       "runs pass 1 only)" >&2
  exit 1
}
# The same package, as a wheel built by pass 1's venv (that venv has no build backend of its own to need).
wheels="$build/python-wheel"
rm -rf "$wheels"
wheel_options=(--quiet --no-deps)
[[ " ${pip_options[*]} " == *" --no-build-isolation "* ]] && wheel_options+=(--no-build-isolation)
clean_build_files
"$venv/bin/python" -m pip wheel "${wheel_options[@]}" --wheel-dir "$wheels" "$here" || {
  echo "bindings/python/test.sh: pip could not build the package's wheel" >&2
  exit 1
}
"$litellm_venv/bin/python" -m pip install --quiet --no-deps --force-reinstall "$wheels"/llmux-*.whl
installed="$(cd "$build" && "$litellm_venv/bin/python" -c 'import llmux; print(llmux.__file__)')"
case "$installed" in
  "$litellm_venv"/*) ;;
  *) echo "bindings/python/test.sh: llmux imported from $installed, not from $litellm_venv" >&2; exit 1 ;;
esac

echo "bindings/python/test.sh: pass 2 of 2, with $pinned_litellm imported ($litellm_venv)"
# LiteLLM's own pydantic objects warn about their own fields when dumped: not ours to see.
LLMUX_TEST_WITH_LITELLM=1 run_suite "$litellm_venv/bin/python" -W "ignore:Pydantic serializer warnings:UserWarning"
