// ExpiryGate (common/expiry_gate.hpp): its time stays no later than any
// published expiry, including when a recompute races with a publication.
#include "common/expiry_gate.hpp"

#include <catch2/catch.hpp>

#include <cstdint>

using llmux::ExpiryGate;

namespace {
constexpr int64_t kMs = int64_t{1} << ExpiryGate::kGenerationBits;  // the gate's resolution, about 1 ms
}

TEST_CASE("expiry gate: open until the earliest published expiry, rounded down", "[expiry_gate]") {
  ExpiryGate gate;
  CHECK(gate.open(int64_t{1} << 62));  // nothing published
  gate.lower(100 * kMs + 5);
  gate.lower(300 * kMs);  // later: does not raise it
  CHECK(gate.open(100 * kMs));
  CHECK_FALSE(gate.open(100 * kMs + 1));  // rounded down: passes up to a resolution early
  CHECK(ExpiryGate::time_of(gate.snapshot()) == 100 * kMs);
  gate.lower(-7 * kMs - 3);  // clocks may start anywhere
  CHECK(gate.open(-8 * kMs));
  CHECK_FALSE(gate.open(-7 * kMs));
}

TEST_CASE("expiry gate: a recompute installs its minimum unless something was published meanwhile", "[expiry_gate]") {
  ExpiryGate gate;
  gate.lower(10 * kMs);
  // Passed at 20 ms: the values now expire at 50 ms at the earliest.
  ExpiryGate::Word before = gate.snapshot();
  CHECK(gate.reopen(before, 50 * kMs));
  CHECK(gate.open(50 * kMs));
  CHECK_FALSE(gate.open(50 * kMs + 1));

  // A value published after the recompute read it, expiring at 60 ms: later
  // than the gate, so lower() leaves its time, but the recompute's minimum
  // (say 90 ms, without that value) must not be installed.
  before = gate.snapshot();
  gate.lower(60 * kMs);
  CHECK_FALSE(gate.reopen(before, 90 * kMs));
  CHECK_FALSE(gate.open(60 * kMs + 1));
  // A recompute that read it, with nothing published in between, installs.
  before = gate.snapshot();
  CHECK(gate.reopen(before, 60 * kMs));
  CHECK(gate.open(60 * kMs));
  CHECK_FALSE(gate.open(60 * kMs + 1));
}
