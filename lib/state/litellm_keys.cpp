#include "state/litellm_keys.hpp"

#include <cstdint>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/strings.hpp"
#include "fmt/format.h"

namespace llmux::state {

std::string apply_namespace(std::string_view ns, std::string_view key) {
  // LiteLLM tests key.startswith(namespace): an empty namespace prefixes nothing.
  if (key.starts_with(ns)) return std::string(key);
  return absl::StrCat(to_absl(ns), ":", to_absl(key));
}

std::string utc_minute_tag(std::chrono::system_clock::time_point t) {
  constexpr int64_t kMinutesPerDay = 24 * 60;
  const int64_t minutes = std::chrono::floor<std::chrono::minutes>(t.time_since_epoch()).count();
  int64_t of_day = minutes % kMinutesPerDay;
  if (of_day < 0) of_day += kMinutesPerDay;  // before 1970
  return fmt::format("{:02d}-{:02d}", of_day / 60, of_day % 60);
}

std::string_view usage_counter_name(UsageCounter counter) {
  switch (counter) {
    case UsageCounter::kRpm: return "rpm";
    case UsageCounter::kTpm: return "tpm";
    case UsageCounter::kItpm: return "itpm";
    case UsageCounter::kOtpm: return "otpm";
  }
  return "rpm";
}

SharedKeys::SharedKeys(std::string key_namespace) : namespace_(std::move(key_namespace)) {}

std::string SharedKeys::cooldown(std::string_view id) const {
  return key(absl::StrCat("deployment:", to_absl(id), ":cooldown"));
}

std::string SharedKeys::allowed_fails(std::string_view id, std::string_view suffix) const {
  if (suffix.empty()) return key(absl::StrCat("deployment:", to_absl(id), ":allowed_fails"));
  return key(absl::StrCat("deployment:", to_absl(id), ":allowed_fails:", to_absl(suffix)));
}

std::string SharedKeys::global_router_usage(std::string_view id, std::string_view model, UsageCounter counter,
                                            std::string_view minute) const {
  return key(absl::StrCat("global_router:", to_absl(id), ":", to_absl(model), ":",
                          to_absl(usage_counter_name(counter)), ":", to_absl(minute)));
}

std::string SharedKeys::usage_v2(std::string_view id, std::string_view model, UsageCounter counter,
                                 std::string_view minute) const {
  return key(absl::StrCat(to_absl(id), ":", to_absl(model), ":", to_absl(usage_counter_name(counter)), ":",
                          to_absl(minute)));
}

std::string SharedKeys::provider_spend(std::string_view provider, std::string_view duration) const {
  return key(absl::StrCat("provider_spend:", to_absl(provider), ":", to_absl(duration)));
}

std::string SharedKeys::deployment_spend(std::string_view id, std::string_view duration) const {
  return key(absl::StrCat("deployment_spend:", to_absl(id), ":", to_absl(duration)));
}

std::string SharedKeys::tag_spend(std::string_view tag, std::string_view duration) const {
  return key(absl::StrCat("tag_spend:", to_absl(tag), ":", to_absl(duration)));
}

std::string SharedKeys::provider_budget_start_time(std::string_view provider) const {
  return key(absl::StrCat("provider_budget_start_time:", to_absl(provider)));
}

std::string SharedKeys::deployment_budget_start_time(std::string_view id) const {
  return key(absl::StrCat("deployment_budget_start_time:", to_absl(id)));
}

std::string SharedKeys::tag_budget_start_time(std::string_view tag) const {
  return key(absl::StrCat("tag_budget_start_time:", to_absl(tag)));
}

std::string SharedKeys::health_check_state() const { return key(kHealthCheckStateKey); }

std::string SharedKeys::in_flight(std::string_view id) const {
  return key(absl::StrCat("llmux:in_flight:", to_absl(id)));
}

std::string SharedKeys::latency_samples(std::string_view id) const {
  return key(absl::StrCat("llmux:latency:", to_absl(id)));
}

std::string SharedKeys::probe_lease(std::string_view id) const {
  return key(absl::StrCat("llmux:probe:", to_absl(id)));
}

std::string SharedKeys::events_channel() const { return key("llmux:events"); }

}  // namespace llmux::state
