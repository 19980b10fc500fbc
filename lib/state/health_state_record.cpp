#include "state/health_state_record.hpp"

#include <algorithm>


// decode_health_states and encode_health_states live in cooldown_record.cpp,
// beside the JSON and Python-literal parsers and the json.dumps-exact writer
// they share with the cooldown value.

namespace llmux::state {

std::vector<HealthStateEntry> merge_health_states(std::vector<HealthStateEntry> stored,
                                                  const std::vector<HealthStateEntry>& updates, double drop_before) {
  for (const HealthStateEntry& u : updates) {
    auto it = std::find_if(stored.begin(), stored.end(), [&](const HealthStateEntry& s) { return s.id == u.id; });
    if (it == stored.end()) {
      stored.push_back(u);
    } else if (!(it->timestamp > u.timestamp)) {
      *it = u;
    }
  }
  std::erase_if(stored, [&](const HealthStateEntry& s) { return s.timestamp < drop_before; });
  return stored;
}

}  // namespace llmux::state
