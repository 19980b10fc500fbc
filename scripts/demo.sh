#!/usr/bin/env bash
# The llmux demo: local OpenAI-compatible backends on loopback, live traffic,
# failures, failover. Offline. Installs missing Debian packages first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
cmake -S . -B build/demo -G Ninja -DCMAKE_BUILD_TYPE=Release -DLLMUX_BUILD_TESTS=OFF \
  -DLLMUX_BUILD_EXAMPLES=ON -DLLMUX_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build build/demo --target llmux_demo -j "$(nproc)" >/dev/null
exec ./build/demo/examples/llmux_demo
