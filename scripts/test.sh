#!/usr/bin/env bash
# Runs every test llmux has, the way CI does:
#   1. a RelWithDebInfo build with warnings as errors (library, tests, examples, benchmarks) + the whole suite
#      (C++ unit and integration tests, the C ABI suite), then a short memory soak (scripts/soak.sh: 10,000
#      mixed calls, fails when RSS grows after warm-up);
#   2. the installed package consumed through find_package and pkg-config, from C++ and C;
#   3. the Python, Go and Rust bindings' suites against that build (bindings/<lang>/test.sh; Go also builds a
#      program against the installed package through pkg-config alone), then the
#      LiteLLM interop tests (tests/interop/test.sh: pinned LiteLLM releases in venvs cached under
#      build/release/interop, installed from PyPI on the first run; on one redis-server: the harness's
#      self-test, the differential test of llmux against each release both ways, and a fleet of three llmux
#      Router processes);
#   4. an AddressSanitizer + UndefinedBehaviorSanitizer build + the C++ and C suites again;
#   5. a ThreadSanitizer build + the C++ and C suites again (the chaos test at its full 2,000 calls);
#   6. every fuzz target (tests/fuzz/, clang + libFuzzer) for LLMUX_FUZZ_SECONDS (30) seconds (scripts/fuzz.sh).
# Installs missing Debian packages first (scripts/setup.sh). Build trees: build/release, build/asan, build/tsan,
# build/fuzz. The fuzz targets' seeds and crash regressions also run in stages 1, 4 and 5 (ctest -L fuzz).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

JOBS="${JOBS:-$(nproc)}"
export CTEST_OUTPUT_ON_FAILURE=1
# ccache keys on paths relative to the checkout, so another clone (CI's) reuses
# this machine's cache; the build trees stay correct either way.
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1

echo "== release build == (${SECONDS} s after the start)"
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLLMUX_WERROR=ON \
  -DLLMUX_BUILD_TESTS=ON -DLLMUX_BUILD_EXAMPLES=ON -DLLMUX_BUILD_BENCHMARKS=ON
cmake --build build/release -j "$JOBS"
ctest --test-dir build/release -j "$JOBS" --output-on-failure --timeout 300
echo "== installed package: find_package(llmux) and pkg-config == (${SECONDS} s after the start)"
rm -rf build/release/install build/release/consumer
cmake --install build/release --prefix "$PWD/build/release/install" >/dev/null
# The installed headers stand alone: they cite no file or issue of the repository.
if grep -nE 'DESIGN\.md|reference/|reference §|issue [0-9]' build/release/install/include/llmux.h \
    build/release/install/include/llmux_version.h build/release/install/include/llmux/*.hpp; then
  echo "installed headers cite documents outside the installed package (above)" >&2
  exit 1
fi
cmake -S tests/install_consumer -B build/release/consumer -G Ninja -DCMAKE_PREFIX_PATH="$PWD/build/release/install" >/dev/null
cmake --build build/release/consumer >/dev/null
LD_LIBRARY_PATH="$PWD/build/release/install/lib" ./build/release/consumer/consumer
./build/release/consumer/consumer_static
PKG_CONFIG_PATH="$PWD/build/release/install/lib/pkgconfig" c++ -std=c++20 tests/install_consumer/main.cpp \
  $(PKG_CONFIG_PATH="$PWD/build/release/install/lib/pkgconfig" pkg-config --cflags --libs llmux) -o build/release/consumer/consumer_pc
LD_LIBRARY_PATH="$PWD/build/release/install/lib" ./build/release/consumer/consumer_pc
LD_LIBRARY_PATH="$PWD/build/release/install/lib" ./build/release/consumer/consumer_c
./build/release/consumer/consumer_c_static
cc -std=c11 tests/install_consumer/consumer.c \
  $(PKG_CONFIG_PATH="$PWD/build/release/install/lib/pkgconfig" pkg-config --cflags --libs llmux) -o build/release/consumer/consumer_c_pc
LD_LIBRARY_PATH="$PWD/build/release/install/lib" ./build/release/consumer/consumer_c_pc

echo "== demo smoke run == (${SECONDS} s after the start)"
./build/release/examples/llmux_demo > build/release/demo.log 2>&1 || { cat build/release/demo.log; exit 1; }
tail -n 3 build/release/demo.log

# Memory: 10,000 mixed calls (completions, streams, a 503 deployment with a
# retry and a fallback, a 400) through one Router against llmux_fake_server on
# loopback (started and stopped by the soak binary); fails when RSS grows by
# more than 2 MiB after 4,000 warm-up calls (the limit and the noise it sits
# above: scripts/soak.sh). A memory-growth check, not a timing.
echo "== memory soak (short): RSS flat after warm-up == (${SECONDS} s after the start)"
bash scripts/soak.sh build/release --calls=10000 --warmup=4000 --sample-every=1000 --in-flight=1000

echo "== bindings: Python, Go, Rust (each against build/release) == (${SECONDS} s after the start)"
# LLMUX_INSTALL_PREFIX: the Go suite also builds a program against the installed package (through its llmux.pc).
for lang in python go rust; do
  echo "-- $lang -- (${SECONDS} s after the start)"
  LLMUX_INSTALL_PREFIX="$PWD/build/release/install" bash "bindings/$lang/test.sh" "$PWD/build/release"
done

echo "== LiteLLM interop: LiteLLM and llmux routers sharing one Redis (tests/interop) == (${SECONDS} s after the start)"
bash tests/interop/test.sh "$PWD/build/release"

echo "== sanitizer build (address, undefined) == (${SECONDS} s after the start)"
cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLLMUX_WERROR=ON \
  -DLLMUX_SANITIZE=address,undefined -DLLMUX_BUILD_TESTS=ON -DLLMUX_BUILD_EXAMPLES=OFF -DLLMUX_BUILD_BENCHMARKS=OFF
cmake --build build/asan -j "$JOBS"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build/asan -j "$JOBS" --output-on-failure --timeout 600

# ThreadSanitizer. Debian's abseil is not built with TSan, so llmux keeps every
# cross-thread synchronisation on std primitives (std::mutex, std::condition_variable,
# std::atomic, common/notification.hpp), which TSan sees; no suppressions are needed.
# A report fails the test (halt_on_error: the first one ends the binary, exit code 66).
echo "== sanitizer build (thread) == (${SECONDS} s after the start)"
cmake -S . -B build/tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLLMUX_WERROR=ON \
  -DLLMUX_SANITIZE=thread -DLLMUX_BUILD_TESTS=ON -DLLMUX_BUILD_EXAMPLES=OFF -DLLMUX_BUILD_BENCHMARKS=OFF
cmake --build build/tsan -j "$JOBS"
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 ctest --test-dir build/tsan -j "$JOBS" --output-on-failure --timeout 600

echo "== fuzzing (libFuzzer, every target ${LLMUX_FUZZ_SECONDS:-30} s) == (${SECONDS} s after the start)"
bash scripts/fuzz.sh "${LLMUX_FUZZ_SECONDS:-30}"
echo "== all stages passed in ${SECONDS} s =="
