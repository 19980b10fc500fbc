#!/usr/bin/env bash
# Builds the llmux-router wheel, proves it self-contained, and runs the Python binding's suite on it
# twice, against a CMake build directory (for llmux_fake_server):
#   bindings/python/test.sh <build-dir>
# 0. builds the wheel once (`pip wheel ./bindings/python`: scikit-build-core compiles the core in
#    <repo>/build/python-wheel and bundles libllmux.so with its non-system dependencies), then
#    check_wheel.py installs it into a fresh venv in an empty directory and makes real calls there;
# 1. without LiteLLM: creates <build-dir>/python-venv (with the system site packages, so pytest is there
#    offline; litellm must not be importable there), installs the wheel into it, then runs pytest on the
#    installed package and its bundled library (LLMUX_LIBRARY unset);
# 2. with the pinned LiteLLM (benchmarks/bindings/requirements-litellm.txt) and pytest from PyPI, in
#    <build-dir>/python-venv-litellm-<version> (made once by scripts/pinned_venv.sh, then reused
#    offline), with the same wheel installed, and LLMUX_TEST_WITH_LITELLM=1: every test
#    runs with litellm imported, so llmux hands out LiteLLM's exception and response types;
# 3. the type hints: mypy --strict (pinned, in <build-dir>/python-venv-mypy with the wheel) on
#    tests/typing/user_code.py, whose assert_type lines are what a user's editor must see.
# LLMUX_PYTHON_SKIP_LITELLM=1 skips the second pass and the third (say so: it is part of the test command).
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
pinned_mypy="mypy==2.4.1"  # the type check of tests/typing/user_code.py

export LLMUX_FAKE_SERVER="$build/tests/support/llmux_fake_server"
for needed in "$build/lib/libllmux.so" "$LLMUX_FAKE_SERVER"; do
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

# The wheel, built once per run by scikit-build-core (pip fetches it into an isolated build environment)
# from this checkout: CMake compiles the core (Release, library only) in a build directory at a fixed
# place inside the checkout, so a re-run is incremental and ccache (CCACHE_BASEDIR) hits across clones.
wheel_build="$repo/build/python-wheel"
wheels="$build/python-wheel-dist"
rm -rf "$wheels"
mkdir -p "$wheel_build"
echo "bindings/python/test.sh: building the llmux-router wheel (CMake build in $wheel_build)"
wheel_started=$SECONDS
"$venv/bin/python" -m pip wheel --quiet --no-deps --wheel-dir "$wheels" \
  --config-settings=build-dir="$wheel_build" "$here" || {
  echo "bindings/python/test.sh: pip could not build the wheel (the first build needs PyPI for scikit-build-core)" >&2
  exit 1
}
wheel=$(echo "$wheels"/llmux_router-*.whl)
echo "bindings/python/test.sh: built $(basename "$wheel") in $((SECONDS - wheel_started)) s"

# Self-contained: installed into a fresh venv in an empty directory, no llmux variable set.
"$python" "$here/check_wheel.py" "$wheel" "$LLMUX_FAKE_SERVER"

# Both passes run on that wheel and its bundled library, not on the build tree's.
unset LLMUX_LIBRARY
install_wheel() {  # python
  # A venv made by an older test.sh may hold the package under its former distribution name.
  "$1" -m pip uninstall --quiet --yes llmux >/dev/null 2>&1 || true
  "$1" -m pip install --quiet --no-deps --force-reinstall "$wheel"
}
install_wheel "$venv/bin/python"

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
install_wheel "$litellm_venv/bin/python"
installed="$(cd "$build" && "$litellm_venv/bin/python" -c 'import llmux; print(llmux.__file__)')"
case "$installed" in
  "$litellm_venv"/*) ;;
  *) echo "bindings/python/test.sh: llmux imported from $installed, not from $litellm_venv" >&2; exit 1 ;;
esac

echo "bindings/python/test.sh: pass 2 of 2, with $pinned_litellm imported ($litellm_venv)"
# LiteLLM's own pydantic objects warn about their own fields when dumped: not ours to see.
LLMUX_TEST_WITH_LITELLM=1 run_suite "$litellm_venv/bin/python" -W "ignore:Pydantic serializer warnings:UserWarning"

# The wheel's type hints as a user's editor sees them: mypy --strict on code that uses the public API,
# in a venv holding only mypy and the wheel (not litellm, whose sources mypy would then read too).
mypy_venv="$build/python-venv-mypy"
bash "$repo/scripts/pinned_venv.sh" "$mypy_venv" "$pinned_mypy" || {
  echo "bindings/python/test.sh: could not make $mypy_venv (PyPI is needed once)" >&2
  exit 1
}
install_wheel "$mypy_venv/bin/python"
echo "bindings/python/test.sh: mypy --strict on tests/typing/user_code.py against the installed wheel"
# --cache-dir=/dev/null: no .mypy_cache written into the checkout.
(cd "$here/tests/typing" && "$mypy_venv/bin/python" -m mypy --strict --cache-dir=/dev/null user_code.py)
