// -----------------------------------------------------------------------------
// File: state/health_state_record.hpp
// -----------------------------------------------------------------------------
// The value of LiteLLM's shared health-check key
// (litellm:health_check:deployment_health_state, LiteLLM >= 1.110): one dict
// for the whole fleet, {deployment id: {"is_healthy": bool, "timestamp": Unix
// seconds, "reason": str}}. LiteLLM reads it with json.loads, falling back to
// ast.literal_eval (1.110.2 itself writes str(dict), a Python repr); a
// deployment is unhealthy there iff is_healthy is falsy and the entry is
// younger than the staleness threshold (a missing timestamp counts as 0).
//
// Written: JSON as json.dumps writes it (ensure_ascii, invalid UTF-8
// replaced, Python float repr: json.loads, which LiteLLM tries first, reads
// it) with the three members LiteLLM reads plus "checked_by", the id of the llmux replica that ran the check
// (LiteLLM ignores members it does not know).
// Read: JSON or Python repr, through the decoder of state/cooldown_record.hpp
// (one parser for both of LiteLLM's encodings). Entries that are not dicts
// are skipped, as LiteLLM skips them; an entry whose timestamp is not a
// number is dropped (LiteLLM's reader fails on it); is_healthy is read by
// Python's truth rules.
//
// Plain functions and data; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "llmux/error.hpp"

namespace llmux::state {

struct HealthStateEntry {
  std::string id;          // the deployment's model_info.id
  bool is_healthy = true;  // LiteLLM's default when the member is missing
  double timestamp = 0;    // when the check ended, Unix seconds
  std::string reason;      // empty when healthy
  std::string checked_by;  // the llmux replica that wrote it; empty: a LiteLLM worker

  bool operator==(const HealthStateEntry&) const = default;
};

// The stored dict, JSON or Python repr; kInvalidArgument when it is neither
// (never quoting the value).
Result<std::vector<HealthStateEntry>> decode_health_states(std::string_view text);

// JSON of `entries` in order ("checked_by" only when set).
std::string encode_health_states(const std::vector<HealthStateEntry>& entries);

// `stored` with `updates` merged in: an update replaces the stored entry of
// its id unless that one is newer (a later timestamp); entries older than
// `drop_before` (Unix seconds; they would have expired with the key) are
// left out. Stored order first, new ids after.
std::vector<HealthStateEntry> merge_health_states(std::vector<HealthStateEntry> stored,
                                                  const std::vector<HealthStateEntry>& updates, double drop_before);

}  // namespace llmux::state
