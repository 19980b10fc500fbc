#include "state/fleet_load_record.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

#include <fmt/format.h>

namespace llmux::state {
namespace {

bool parse_int(std::string_view s, int64_t& out) {
  if (s.empty()) return false;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size() && out >= 0;
}

bool parse_mean(std::string_view s, double& out) {
  if (s.empty()) return false;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size() && std::isfinite(out) && out >= 0;
}

// Splits `text` at ':' into exactly `n` parts.
bool split(std::string_view text, std::string_view* parts, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const size_t colon = text.find(':');
    if (i + 1 == n) {
      if (colon != std::string_view::npos) return false;
      parts[i] = text;
      return true;
    }
    if (colon == std::string_view::npos) return false;
    parts[i] = text.substr(0, colon);
    text.remove_prefix(colon + 1);
  }
  return false;
}

Error bad(std::string_view what, std::string_view text) {
  // The value is ours (counts and times), never a secret; cut it short.
  return Error(ErrorKind::kInvalidArgument,
               fmt::format("not a {} entry: '{}'", what, text.substr(0, std::min<size_t>(text.size(), 64))));
}

}  // namespace

std::string encode_in_flight_entry(const InFlightEntry& e) { return fmt::format("{}:{}", e.count, e.unix_ms); }

Result<InFlightEntry> decode_in_flight_entry(std::string_view text) {
  std::string_view p[2];
  InFlightEntry e;
  if (!split(text, p, 2) || !parse_int(p[0], e.count) || !parse_int(p[1], e.unix_ms)) return bad("in-flight", text);
  return e;
}

std::string encode_latency_entry(const LatencySummaryEntry& e) {
  // fmt's "{}" is the shortest text that reads back as the same double.
  return fmt::format("{}:{}:{}:{}:{}", e.latency_mean, e.latency_samples, e.ttft_mean, e.ttft_samples, e.unix_ms);
}

Result<LatencySummaryEntry> decode_latency_entry(std::string_view text) {
  std::string_view p[5];
  LatencySummaryEntry e;
  if (!split(text, p, 5) || !parse_mean(p[0], e.latency_mean) || !parse_int(p[1], e.latency_samples) ||
      !parse_mean(p[2], e.ttft_mean) || !parse_int(p[3], e.ttft_samples) || !parse_int(p[4], e.unix_ms)) {
    return bad("latency", text);
  }
  return e;
}

bool fresh(int64_t unix_ms, int64_t now_ms, int64_t max_age_ms) {
  return unix_ms >= now_ms - max_age_ms && unix_ms <= now_ms + max_age_ms;
}

int64_t sum_in_flight(const HashFields& fields, std::string_view self, int64_t now_ms, int64_t max_age_ms,
                      HashFields* stale) {
  int64_t sum = 0;
  for (const auto& [field, value] : fields) {
    if (field == self) continue;
    Result<InFlightEntry> e = decode_in_flight_entry(value);
    if (!e.ok() || !fresh(e->unix_ms, now_ms, max_age_ms)) {
      if (stale) stale->emplace_back(field, value);
      continue;
    }
    sum += e->count;
  }
  return sum;
}

LatencySummaryEntry combine_latency(const HashFields& fields, std::string_view self, int64_t now_ms,
                                    int64_t max_age_ms, HashFields* stale) {
  double latency_sum = 0, ttft_sum = 0;
  LatencySummaryEntry out;
  for (const auto& [field, value] : fields) {
    if (field == self) continue;
    Result<LatencySummaryEntry> e = decode_latency_entry(value);
    if (!e.ok() || !fresh(e->unix_ms, now_ms, max_age_ms)) {
      if (stale) stale->emplace_back(field, value);
      continue;
    }
    latency_sum += e->latency_mean * static_cast<double>(e->latency_samples);
    out.latency_samples += e->latency_samples;
    ttft_sum += e->ttft_mean * static_cast<double>(e->ttft_samples);
    out.ttft_samples += e->ttft_samples;
    out.unix_ms = std::max(out.unix_ms, e->unix_ms);
  }
  if (out.latency_samples > 0) out.latency_mean = latency_sum / static_cast<double>(out.latency_samples);
  if (out.ttft_samples > 0) out.ttft_mean = ttft_sum / static_cast<double>(out.ttft_samples);
  return out;
}

}  // namespace llmux::state
