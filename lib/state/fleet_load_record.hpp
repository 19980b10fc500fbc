// -----------------------------------------------------------------------------
// File: state/fleet_load_record.hpp
// -----------------------------------------------------------------------------
// What llmux replicas tell each other about a deployment's load, in llmux's
// own keys (LiteLLM's least-busy and latency state changed format between its
// versions, so the two are not shared with it):
//
// - llmux:in_flight:{id}, a hash: one field per replica (its replica id), the
//   value "<count>:<unix_ms>" — the replica's own attempts in flight on the
//   deployment, absolute (never INCR/DECR: nothing drifts), and when it wrote
//   it. Each replica rewrites its field whenever its count changed and as a
//   heartbeat while it is nonzero, deletes it when it drops to zero, and
//   re-arms the key's expiry. A replica that dies stops its heartbeat: readers
//   ignore its field once it is older than the freshness bound, and delete it.
// - llmux:latency:{id}, a hash: one field per replica, the value
//   "<latency_mean>:<latency_samples>:<ttft_mean>:<ttft_samples>:<unix_ms>" —
//   the replica's own latency-based routing windows (means in seconds, or
//   seconds per completion token, as that strategy records them; samples 0 =
//   empty window), rewritten when they changed and as a slower heartbeat.
//
// Readers combine the fresh fields of the *other* replicas (their own comes
// from memory). Freshness needs hosts with synchronised clocks, as LiteLLM's
// cooldown timestamps do; a field dated in the future by more than the bound
// is not fresh either.
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "llmux/error.hpp"

namespace llmux::state {

struct InFlightEntry {
  int64_t count = 0;
  int64_t unix_ms = 0;
};
std::string encode_in_flight_entry(const InFlightEntry& e);
// kInvalidArgument on anything but two non-negative integers joined by ':'.
Result<InFlightEntry> decode_in_flight_entry(std::string_view text);

struct LatencySummaryEntry {
  double latency_mean = 0;
  int64_t latency_samples = 0;
  double ttft_mean = 0;
  int64_t ttft_samples = 0;
  int64_t unix_ms = 0;
};
std::string encode_latency_entry(const LatencySummaryEntry& e);
// kInvalidArgument unless five ':'-separated fields: finite non-negative
// means, non-negative integer counts and time.
Result<LatencySummaryEntry> decode_latency_entry(std::string_view text);

// Whether a field written at `unix_ms` is fresh at `now_ms`: at most
// `max_age_ms` old, and not dated further than that in the future.
bool fresh(int64_t unix_ms, int64_t now_ms, int64_t max_age_ms);

// A hash as HGETALL answers it: field, value, field, value …
using HashFields = std::vector<std::pair<std::string, std::string>>;

// The other replicas' fresh in-flight counts summed (`self` skipped). Fields
// that are stale or unreadable are appended to `stale` (field and the value
// seen) when it is not null, for deletion.
int64_t sum_in_flight(const HashFields& fields, std::string_view self, int64_t now_ms, int64_t max_age_ms,
                      HashFields* stale = nullptr);

// The other replicas' fresh latency summaries combined, each window's means
// weighted by their sample counts (`self` skipped); stale ones appended to
// `stale` as above. unix_ms of the result: the newest field's.
LatencySummaryEntry combine_latency(const HashFields& fields, std::string_view self, int64_t now_ms,
                                    int64_t max_age_ms, HashFields* stale = nullptr);

}  // namespace llmux::state
