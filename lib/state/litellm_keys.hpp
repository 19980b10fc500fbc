// -----------------------------------------------------------------------------
// File: state/litellm_keys.hpp
// -----------------------------------------------------------------------------
// The Redis keys of shared routing state, byte for byte as LiteLLM's Router
// names them (reference litellm-shared-state.md §2.2, §3, §5), plus llmux's
// own keys under "llmux:" (state LiteLLM does not share, or shares in a
// format that changed between its versions: in-flight counts, latency
// samples, probe leases, the change channel).
//
// Placeholders are used verbatim: {id} is the deployment's model_info.id,
// {model} its litellm_params.model as configured (provider prefix included,
// may contain ':'), {duration} a budget period as written ("1d", "30d").
//
// The namespace (cache_kwargs.namespace) is applied to every key the way
// LiteLLM's RedisCache.check_and_fix_namespace does, quirk included: a key
// that already *starts with* the namespace string is left alone, with no
// colon test, so namespace "dep" leaves "dep-a:gpt-4o:rpm:10-00" and every
// "deployment:..." key unprefixed (both sides agree, so they still share).
// (LiteLLM 1.81's synchronous increment path skipped the namespace
// altogether; llmux applies it everywhere, as every other LiteLLM path does.)
// llmux's own keys get the namespace too, so two fleets on one Redis stay
// apart.
//
// Plain value type; const methods, safe to share between threads.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace llmux::state {

// "<ns>:<key>" unless `ns` is empty or `key` starts with `ns` (LiteLLM's rule).
std::string apply_namespace(std::string_view ns, std::string_view key);

// UTC "HH-MM" of `t` (LiteLLM: datetime.now(UTC).strftime("%H-%M")), the
// {minute} of the per-minute usage keys. The caller passes the wall clock:
// the router's own clock is steady and has no time of day.
std::string utc_minute_tag(std::chrono::system_clock::time_point t);

// Which per-minute usage counter.
enum class UsageCounter {
  kRpm,   // requests
  kTpm,   // total tokens
  kItpm,  // input tokens (LiteLLM >= 1.110 writes these under global_router: only)
  kOtpm,  // output tokens (likewise)
};
std::string_view usage_counter_name(UsageCounter counter);  // "rpm", "tpm", "itpm", "otpm"

// The suffix of a deployment's allowed-fails counter when only its
// model_info.allowed_fails (no per-error policy entry) applies.
inline constexpr std::string_view kAllowedFailsGenericSuffix = "generic";

// The health-check key of LiteLLM >= 1.110 (one dict {id: {is_healthy,
// timestamp, reason}} merged by every writer).
inline constexpr std::string_view kHealthCheckStateKey = "litellm:health_check:deployment_health_state";

class SharedKeys {
 public:
  // `key_namespace` empty = no namespace.
  explicit SharedKeys(std::string key_namespace = {});

  const std::string& key_namespace() const { return namespace_; }

  // ---- keys LiteLLM reads and writes ------------------------------------------
  // deployment:{id}:cooldown — the JSON record of state/cooldown_record.hpp.
  std::string cooldown(std::string_view id) const;
  // deployment:{id}:allowed_fails[:{suffix}] — the failure count that leads to
  // a cooldown. `suffix` empty: the router-wide allowed_fails / policy;
  // kAllowedFailsGenericSuffix: the deployment's own model_info.allowed_fails;
  // otherwise the LiteLLM exception class of the deployment policy entry that
  // matched (error_kind_name: "RateLimitError", "Timeout", ...).
  std::string allowed_fails(std::string_view id, std::string_view suffix = {}) const;
  // global_router:{id}:{model}:{rpm|tpm|itpm|otpm}:{minute}
  std::string global_router_usage(std::string_view id, std::string_view model, UsageCounter counter,
                                  std::string_view minute) const;
  // {id}:{model}:{rpm|tpm}:{minute} — usage-based-routing-v2's counters.
  std::string usage_v2(std::string_view id, std::string_view model, UsageCounter counter,
                       std::string_view minute) const;
  // Budget spend and the start of its window.
  std::string provider_spend(std::string_view provider, std::string_view duration) const;
  std::string deployment_spend(std::string_view id, std::string_view duration) const;
  std::string tag_spend(std::string_view tag, std::string_view duration) const;
  std::string provider_budget_start_time(std::string_view provider) const;
  std::string deployment_budget_start_time(std::string_view id) const;
  std::string tag_budget_start_time(std::string_view tag) const;
  // kHealthCheckStateKey with the namespace applied.
  std::string health_check_state() const;

  // ---- llmux's own keys ------------------------------------------------------
  // llmux:in_flight:{id} — a hash of each replica's attempts in flight on the
  // deployment, "<count>:<unix_ms>" per replica (state/fleet_load_record.hpp).
  std::string in_flight(std::string_view id) const;
  // llmux:latency:{id} — a hash of each replica's latency summary of the
  // deployment (state/fleet_load_record.hpp).
  std::string latency_samples(std::string_view id) const;
  // llmux:probe:{id} — the lease of the one replica probing a recovering deployment.
  std::string probe_lease(std::string_view id) const;
  // llmux:events — the pub/sub channel on which replicas announce changes.
  std::string events_channel() const;

 private:
  std::string key(std::string_view unprefixed) const { return apply_namespace(namespace_, unprefixed); }

  std::string namespace_;
};

}  // namespace llmux::state
