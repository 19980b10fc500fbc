// Helpers shared by the health unit tests.
#pragma once

#include <cstddef>

#include "health/cooldown_tracker.hpp"
#include "support/virtual_clock.hpp"

namespace llmux::testing {

// A failed attempt with `status`/`kind` in a group of `group_size` deployments.
inline health::FailureEvent failure(int status, ErrorKind kind, size_t group_size = 2) {
  health::FailureEvent e;
  e.status = status;
  e.kind = kind;
  e.group_size = group_size;
  e.message = "provider said no";
  return e;
}

}  // namespace llmux::testing
