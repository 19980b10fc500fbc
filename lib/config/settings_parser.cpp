#include "config/settings_parser.hpp"

#include <algorithm>
#include <array>

#include "common/router_keys.hpp"
#include "config/duration.hpp"
#include "config/redis_config.hpp"
#include "config/tls_settings.hpp"
#include "config/value_node.hpp"
#include "fmt/format.h"
#include "fmt/ranges.h"

namespace llmux::config {
namespace {

using State = SettingsBuilder::State;
using Handler = Status (*)(const Value& v, const std::string& path, State& state, ParseContext& ctx);

struct KeyHandler {
  std::string_view key;
  Handler handler;
};

// ---- the keys requests share (common/router_keys.hpp) ----------------------------

template <class Policy, size_t N>
Status read_policy(const Value& v, const std::string& path, const router_keys::PolicyField<Policy> (&fields)[N],
                   ParseContext& ctx, Policy& out) {
  static const std::vector<std::string_view> kNames = router_keys::policy_keys(fields);
  ValueNode node(v);
  auto warn = [&](const std::string& key_path, std::string_view key) {
    ctx.warn(unknown_key_warning(key_path, key, kNames));
  };
  if (auto problem = router_keys::read_policy(node, path, fields, warn, out)) return problem_error(*problem);
  return Status::Ok();
}

// [{"groupA": ["groupB", ...]}, ...]: each item a map with exactly one key
// whose value is a list of group names (LiteLLM's validate_fallbacks).
Status read_fallback_rules(const Value& v, const std::string& path, std::vector<FallbackRule>& out) {
  ValueNode node(v);
  router_keys::Fallbacks fallbacks;
  if (auto problem = router_keys::read_fallbacks(node, path, /*allow_client_side=*/false, fallbacks)) {
    return problem_error(*problem);
  }
  out = fallbacks.rules ? std::move(*fallbacks.rules) : std::vector<FallbackRule>{};
  return Status::Ok();
}

// ---- provider budgets ------------------------------------------------------------

// provider_budget_config: {provider: {budget_limit, time_period} | {max_budget, budget_duration}}.
Status read_provider_budget_config(const Value& v, const std::string& path, ParseContext& ctx,
                                   std::map<std::string, ProviderBudgetConfig>& out) {
  static constexpr std::string_view kKeys[] = {"budget_limit", "time_period", "max_budget", "budget_duration"};
  LLMUX_CONFIG_TRY(expect_map(v, path));
  std::map<std::string, ProviderBudgetConfig> budgets;
  for (const auto& [provider, entry] : v.members) {
    const std::string entry_path = child_path(path, provider);
    if (entry.is_null()) continue;
    if (!entry.is_map()) {
      return config_error(
          entry_path, fmt::format("expected a map with budget_limit and time_period, got {}", describe(entry)), &entry);
    }
    std::optional<double> limit[2];       // budget_limit, max_budget
    std::optional<std::string> period[2];  // time_period, budget_duration
    std::optional<int64_t> seconds[2];
    for (const auto& [key, member] : entry.members) {
      const std::string member_path = child_path(entry_path, key);
      const auto known = std::find(std::begin(kKeys), std::end(kKeys), key);
      if (known == std::end(kKeys)) {
        ctx.warn(unknown_key_warning(member_path, key, kKeys));
        continue;
      }
      if (member.is_null()) continue;
      const size_t which = key == "budget_limit" || key == "time_period" ? 0 : 1;
      if (key == "budget_limit" || key == "max_budget") {
        double value = 0;
        LLMUX_CONFIG_TRY(read_number(member, member_path, 0, false, value));
        limit[which] = value;
      } else {
        // A duration is text; os.environ/ values are strings too.
        if (!member.is_string()) {
          return config_error(
              member_path,
              fmt::format("expected a duration like 30s, 10m, 1h, 1d, 1w or 1mo, got {}", describe(member)), &member);
        }
        const std::optional<int64_t> parsed = parse_duration_seconds(member.text);
        if (!parsed) {
          return config_error(
              member_path, fmt::format("'{}' is not a duration like 30s, 10m, 1h, 1d, 1w or 1mo", member.text), &member);
        }
        period[which] = member.text;
        seconds[which] = parsed;
      }
    }
    ProviderBudgetConfig budget;
    budget.budget_limit = limit[0] ? limit[0] : limit[1];
    const size_t p = period[0] ? 0 : 1;
    if (period[p]) {
      budget.time_period = *period[p];
      budget.time_period_seconds = seconds[p];
    }
    budgets[provider] = std::move(budget);
  }
  out = std::move(budgets);
  return Status::Ok();
}

// ---- handlers ---------------------------------------------------------------------

Status set_routing_strategy(const Value& v, const std::string& path, State& s, ParseContext&) {
  // Kept as written: which strategies exist is the strategy registry's
  // business (custom ones are registered above this part), so Router::create
  // checks the name, pointing at this line.
  LLMUX_CONFIG_TRY(read_string(v, path, s.settings.routing_strategy));
  s.routing_strategy_line = v.line;
  return Status::Ok();
}

Status set_routing_strategy_args(const Value& v, const std::string& path, State& s, ParseContext&) {
  LLMUX_CONFIG_TRY(expect_map(v, path));
  s.settings.routing_strategy_args_json = to_json(v);
  return Status::Ok();
}

Status set_num_retries(const Value& v, const std::string& path, State& s, ParseContext&) {
  return read_int(v, path, 0, s.settings.num_retries);
}

Status set_max_fallbacks(const Value& v, const std::string& path, State& s, ParseContext&) {
  return read_int(v, path, 0, s.settings.max_fallbacks);
}

Status set_timeout(const Value& v, const std::string& path, State& s, ParseContext&) {
  return read_number(v, path, 0, true, s.settings.timeout_seconds);
}

Status set_stream_timeout(const Value& v, const std::string& path, State& s, ParseContext&) {
  double seconds = 0;
  LLMUX_CONFIG_TRY(read_number(v, path, 0, true, seconds));
  s.settings.stream_timeout_seconds = seconds;
  return Status::Ok();
}

Status set_retry_after(const Value& v, const std::string& path, State& s, ParseContext&) {
  return read_number(v, path, 0, false, s.settings.retry_after_seconds);
}

Status set_allowed_fails(const Value& v, const std::string& path, State& s, ParseContext&) {
  return read_int(v, path, 0, s.settings.allowed_fails);
}

Status set_allowed_fails_policy(const Value& v, const std::string& path, State& s, ParseContext& ctx) {
  AllowedFailsPolicy policy;
  LLMUX_CONFIG_TRY(read_policy(v, path, router_keys::kAllowedFailsPolicyFields, ctx, policy));
  s.settings.allowed_fails_policy = policy;
  return Status::Ok();
}

Status set_cooldown_time(const Value& v, const std::string& path, State& s, ParseContext&) {
  double seconds = 0;
  LLMUX_CONFIG_TRY(read_number(v, path, 0, false, seconds));
  // LiteLLM: `cooldown_time or DEFAULT_COOLDOWN_TIME_SECONDS` — 0 means the default.
  s.settings.cooldown_time_seconds = seconds == 0 ? RouterSettings().cooldown_time_seconds : seconds;
  return Status::Ok();
}

Status set_disable_cooldowns(const Value& v, const std::string& path, State& s, ParseContext&) {
  return read_bool(v, path, s.settings.disable_cooldowns);
}

Status set_retry_policy(const Value& v, const std::string& path, State& s, ParseContext& ctx) {
  RetryPolicy policy;
  LLMUX_CONFIG_TRY(read_policy(v, path, router_keys::kRetryPolicyFields, ctx, policy));
  s.settings.retry_policy = policy;
  return Status::Ok();
}

Status set_model_group_retry_policy(const Value& v, const std::string& path, State& s, ParseContext& ctx) {
  LLMUX_CONFIG_TRY(expect_map(v, path));
  std::map<std::string, RetryPolicy> policies;
  for (const auto& [group, member] : v.members) {
    if (member.is_null()) continue;
    RetryPolicy policy;
    LLMUX_CONFIG_TRY(read_policy(member, child_path(path, group), router_keys::kRetryPolicyFields, ctx, policy));
    policies[group] = policy;
  }
  s.settings.model_group_retry_policy = std::move(policies);
  return Status::Ok();
}

Status set_fallbacks(const Value& v, const std::string& path, State& s, ParseContext&) {
  return read_fallback_rules(v, path, s.settings.fallbacks);
}

Status set_context_window_fallbacks(const Value& v, const std::string& path, State& s, ParseContext&) {
  return read_fallback_rules(v, path, s.settings.context_window_fallbacks);
}

Status set_content_policy_fallbacks(const Value& v, const std::string& path, State& s, ParseContext&) {
  return read_fallback_rules(v, path, s.settings.content_policy_fallbacks);
}

Status set_default_fallbacks(const Value& v, const std::string& path, State& s, ParseContext&) {
  std::vector<std::string> groups;
  ValueNode node(v);
  if (auto problem = router_keys::read_names(node, path, "a list of model group names", groups)) {
    return problem_error(*problem);
  }
  s.default_fallbacks = std::move(groups);
  return Status::Ok();
}

Status set_enable_pre_call_checks(const Value& v, const std::string& path, State& s, ParseContext&) {
  return read_bool(v, path, s.settings.enable_pre_call_checks);
}

Status set_enable_tag_filtering(const Value& v, const std::string& path, State& s, ParseContext&) {
  return read_bool(v, path, s.settings.enable_tag_filtering);
}

Status set_tag_filtering_match_any(const Value& v, const std::string& path, State& s, ParseContext&) {
  return read_bool(v, path, s.settings.tag_filtering_match_any);
}

Status set_provider_budget_config(const Value& v, const std::string& path, State& s, ParseContext& ctx) {
  return read_provider_budget_config(v, path, ctx, s.settings.provider_budget_config);
}

// {alias: "group"} or {alias: {model: "group", hidden: bool}}.
Status set_model_group_alias(const Value& v, const std::string& path, State& s, ParseContext& ctx) {
  static constexpr std::string_view kKeys[] = {"model", "hidden"};
  LLMUX_CONFIG_TRY(expect_map(v, path));
  std::map<std::string, ModelGroupAlias> aliases;
  for (const auto& [alias, member] : v.members) {
    const std::string alias_path = child_path(path, alias);
    ModelGroupAlias entry;
    if (member.is_string()) {
      entry.target = member.text;
    } else if (member.is_map()) {
      for (const auto& [key, field] : member.members) {
        if (std::find(std::begin(kKeys), std::end(kKeys), key) == std::end(kKeys)) {
          ctx.warn(unknown_key_warning(child_path(alias_path, key), key, kKeys));
        }
      }
      const Value* model = member.find("model");
      if (model == nullptr || model->is_null()) {
        return config_error(child_path(alias_path, "model"), "required", &member);
      }
      LLMUX_CONFIG_TRY(read_string(*model, child_path(alias_path, "model"), entry.target));
      if (const Value* hidden = member.find("hidden"); hidden != nullptr && !hidden->is_null()) {
        LLMUX_CONFIG_TRY(read_bool(*hidden, child_path(alias_path, "hidden"), entry.hidden));
      }
    } else {
      return config_error(
          alias_path,
          fmt::format("expected a model group name or {{model: group, hidden: bool}}, got {}", describe(member)),
          &member);
    }
    if (entry.target.empty()) return config_error(alias_path, "the target model group is empty", &member);
    aliases[alias] = std::move(entry);
  }
  s.settings.model_group_alias = std::move(aliases);
  return Status::Ok();
}

Status set_default_max_parallel_requests(const Value& v, const std::string& path, State& s, ParseContext&) {
  int n = 0;
  LLMUX_CONFIG_TRY(read_int(v, path, 1, n));
  s.settings.default_max_parallel_requests = n;
  return Status::Ok();
}

Status set_drop_params(const Value& v, const std::string& path, State& s, ParseContext&) {
  return read_bool(v, path, s.settings.drop_params);
}

Status set_ssl_verify(const Value& v, const std::string& path, State& s, ParseContext&) {
  return read_ssl_verify(v, path, s.settings.ssl_verify, s.settings.ssl_ca_bundle);
}

Status set_ssl_certificate(const Value& v, const std::string& path, State& s, ParseContext&) {
  return read_existing_file(v, path, "client certificate", s.settings.ssl_certificate);
}

Status set_model_cost_map_path(const Value& v, const std::string& path, State& s, ParseContext&) {
  return read_string(v, path, s.settings.model_cost_map_path);
}

Status set_redis_url(const Value& v, const std::string& path, State& s, ParseContext&) {
  return read_string(v, path, s.settings.redis_url);
}

Status set_redis_host(const Value& v, const std::string& path, State& s, ParseContext&) {
  return read_string(v, path, s.settings.redis_host);
}

Status set_redis_port(const Value& v, const std::string& path, State& s, ParseContext&) {
  int64_t port = 0;
  LLMUX_CONFIG_TRY(read_int(v, path, 1, 65535, port));
  s.settings.redis_port = static_cast<int>(port);
  return Status::Ok();
}

Status set_redis_password(const Value& v, const std::string& path, State& s, ParseContext&) {
  return read_string(v, path, s.settings.redis_password);
}

Status set_redis_db(const Value& v, const std::string& path, State& s, ParseContext& ctx) {
  int db = 0;
  LLMUX_CONFIG_TRY(read_int(v, path, 0, db));
  s.settings.redis_db = db;
  // LiteLLM logs the same deprecation when it reads the argument.
  ctx.warn(fmt::format("{}: deprecated by LiteLLM, use router_settings.cache_kwargs.db", path));
  return Status::Ok();
}

Status set_cache_kwargs(const Value& v, const std::string& path, State& s, ParseContext& ctx) {
  return read_redis_cache_kwargs(v, path, ctx, s.settings.redis_cache_kwargs);
}

Status set_redis_command_timeout(const Value& v, const std::string& path, State& s, ParseContext&) {
  double seconds = 0;
  LLMUX_CONFIG_TRY(read_number(v, path, 0, true, seconds));
  s.settings.redis_command_timeout_seconds = seconds;
  return Status::Ok();
}

Status set_redis_max_wait(const Value& v, const std::string& path, State& s, ParseContext&) {
  return read_number(v, path, 0, false, s.settings.redis_max_wait_seconds);
}

Status set_redis_sync_interval(const Value& v, const std::string& path, State& s, ParseContext&) {
  return read_number(v, path, 0, true, s.settings.redis_sync_interval_seconds);
}

// ---- active health checks (general_settings and router_settings) -------------------

Status set_background_health_checks(const Value& v, const std::string& path, State& s, ParseContext&) {
  return read_bool(v, path, s.settings.health_checks.background);
}

Status set_health_check_interval(const Value& v, const std::string& path, State& s, ParseContext&) {
  return read_number(v, path, 0, true, s.settings.health_checks.interval_seconds);
}

Status set_health_check_concurrency(const Value& v, const std::string& path, State& s, ParseContext&) {
  int n = 0;
  LLMUX_CONFIG_TRY(read_int(v, path, 1, n));
  s.settings.health_checks.concurrency = n;
  return Status::Ok();
}

Status set_enable_health_check_routing(const Value& v, const std::string& path, State& s, ParseContext&) {
  return read_bool(v, path, s.settings.health_checks.routing);
}

Status set_health_check_staleness_threshold(const Value& v, const std::string& path, State& s, ParseContext&) {
  double seconds = 0;
  LLMUX_CONFIG_TRY(read_number(v, path, 0, true, seconds));
  s.settings.health_checks.staleness_threshold_seconds = seconds;
  return Status::Ok();
}

Status set_health_check_ignore_transient_errors(const Value& v, const std::string& path, State& s, ParseContext&) {
  return read_bool(v, path, s.settings.health_checks.ignore_transient_errors);
}

Status set_health_check_skip_disabled(const Value& v, const std::string& path, State& s, ParseContext&) {
  return read_bool(v, path, s.settings.health_checks.skip_disabled_on_demand);
}

Status set_background_health_check_model_groups(const Value& v, const std::string& path, State& s, ParseContext&) {
  std::vector<std::string> groups;
  ValueNode node(v);
  if (auto problem = router_keys::read_names(node, path, "a list of model group names", groups)) {
    return problem_error(*problem);
  }
  s.settings.health_checks.background_model_groups = std::move(groups);
  return Status::Ok();
}

Status set_use_shared_health_check(const Value& v, const std::string& path, State& s, ParseContext&) {
  return read_bool(v, path, s.settings.health_checks.shared);
}

Status set_connect_timeout(const Value& v, const std::string& path, State& s, ParseContext&) {
  return read_number(v, path, 0, true, s.settings.connect_timeout_seconds);
}

Status set_first_token_timeout(const Value& v, const std::string& path, State& s, ParseContext&) {
  return read_number(v, path, 0, true, s.settings.first_token_timeout_seconds);
}

Status set_stream_idle_timeout(const Value& v, const std::string& path, State& s, ParseContext&) {
  return read_number(v, path, 0, true, s.settings.stream_idle_timeout_seconds);
}

Status set_total_timeout(const Value& v, const std::string& path, State& s, ParseContext&) {
  return read_number(v, path, 0, true, s.settings.total_timeout_seconds);
}

// Every Router argument llmux reads (reference §3.1), plus llmux's own timeouts.
constexpr KeyHandler kRouterSettings[] = {
    {"routing_strategy", set_routing_strategy},
    {"routing_strategy_args", set_routing_strategy_args},
    {"num_retries", set_num_retries},
    {"max_fallbacks", set_max_fallbacks},
    {"timeout", set_timeout},
    {"stream_timeout", set_stream_timeout},
    {"retry_after", set_retry_after},
    {"allowed_fails", set_allowed_fails},
    {"allowed_fails_policy", set_allowed_fails_policy},
    {"cooldown_time", set_cooldown_time},
    {"disable_cooldowns", set_disable_cooldowns},
    {"retry_policy", set_retry_policy},
    {"model_group_retry_policy", set_model_group_retry_policy},
    {"fallbacks", set_fallbacks},
    {"default_fallbacks", set_default_fallbacks},
    {"context_window_fallbacks", set_context_window_fallbacks},
    {"content_policy_fallbacks", set_content_policy_fallbacks},
    {"enable_pre_call_checks", set_enable_pre_call_checks},
    {"enable_tag_filtering", set_enable_tag_filtering},
    {"tag_filtering_match_any", set_tag_filtering_match_any},
    {"provider_budget_config", set_provider_budget_config},
    {"model_group_alias", set_model_group_alias},
    {"default_max_parallel_requests", set_default_max_parallel_requests},
    {"drop_params", set_drop_params},
    {"redis_url", set_redis_url},
    {"redis_host", set_redis_host},
    {"redis_port", set_redis_port},
    {"redis_password", set_redis_password},
    {"redis_db", set_redis_db},
    {"cache_kwargs", set_cache_kwargs},
    {"redis_command_timeout", set_redis_command_timeout},  // llmux
    {"redis_max_wait", set_redis_max_wait},                // llmux
    {"redis_sync_interval", set_redis_sync_interval},      // llmux
    // Active health checks: Router arguments (enable_health_check_routing,
    // health_check_staleness_threshold, health_check_ignore_transient_errors)
    // and, as llmux has no proxy, the proxy's own general_settings keys too.
    {"enable_health_check_routing", set_enable_health_check_routing},
    {"health_check_staleness_threshold", set_health_check_staleness_threshold},
    {"health_check_ignore_transient_errors", set_health_check_ignore_transient_errors},
    {"health_check_interval", set_health_check_interval},
    {"background_health_checks", set_background_health_checks},
    {"health_check_concurrency", set_health_check_concurrency},
    {"health_check_skip_disabled_background_models", set_health_check_skip_disabled},
    {"background_health_check_model_groups", set_background_health_check_model_groups},
    {"use_shared_health_check", set_use_shared_health_check},
    {"connect_timeout", set_connect_timeout},         // llmux
    {"first_token_timeout", set_first_token_timeout},  // llmux
    {"stream_idle_timeout", set_stream_idle_timeout},  // llmux
    {"total_timeout", set_total_timeout},              // llmux
};

// Router arguments of features llmux does not have (caching, alerting,
// scheduling, ...): accepted with a warning so LiteLLM configs load unchanged.
constexpr std::string_view kRouterSettingsNotUsed[] = {
    "model_list", "optional_pre_call_checks", "default_litellm_params", "cache_responses", "caching_groups", "client_ttl", "polling_interval", "default_priority", "set_verbose",
    "debug_level", "alerting_config", "router_general_settings", "ignore_invalid_deployments", "assistants_config",
    "search_tools", "guardrail_list", "max_retries", "deployment_affinity_ttl_seconds",
    "model_group_affinity_config", "enable_weighted_failover", "routing_groups", "default_deployment",
    "provider_default_deployment_ids", "enable_loadbalancing_on_batch_endpoints", "auto_routers",
};

// The keys of general_settings (the LiteLLM proxy's own section) llmux
// reads: the active health checks. The proxy's other keys (master_key,
// database_url, ...) are accepted with a warning each.
constexpr KeyHandler kGeneralSettings[] = {
    {"background_health_checks", set_background_health_checks},
    {"health_check_interval", set_health_check_interval},
    {"health_check_concurrency", set_health_check_concurrency},
    {"enable_health_check_routing", set_enable_health_check_routing},
    {"health_check_staleness_threshold", set_health_check_staleness_threshold},
    {"health_check_ignore_transient_errors", set_health_check_ignore_transient_errors},
    {"health_check_skip_disabled_background_models", set_health_check_skip_disabled},
    {"background_health_check_model_groups", set_background_health_check_model_groups},
    {"use_shared_health_check", set_use_shared_health_check},
};

// general_settings keys about health checks that change only what the
// proxy's /health endpoint displays: llmux's report always has the same
// fields (and never a secret).
constexpr std::string_view kGeneralSettingsNoEffect[] = {"health_check_details"};

// The routing subset of litellm_settings (module globals LiteLLM's Router
// reads as defaults).
constexpr KeyHandler kLitellmSettings[] = {
    {"num_retries", set_num_retries},
    {"request_timeout", set_timeout},
    {"fallbacks", set_fallbacks},
    {"default_fallbacks", set_default_fallbacks},
    {"context_window_fallbacks", set_context_window_fallbacks},
    {"content_policy_fallbacks", set_content_policy_fallbacks},
    {"allowed_fails", set_allowed_fails},
    {"cooldown_time", set_cooldown_time},
    {"drop_params", set_drop_params},
    {"max_fallbacks", set_max_fallbacks},
    {"retry_policy", set_retry_policy},
    {"ssl_verify", set_ssl_verify},
    {"ssl_certificate", set_ssl_certificate},
    {"model_cost_map_path", set_model_cost_map_path},  // llmux: another model map file
};

// Common litellm_settings that are not about routing; they get the plain
// "ignored" warning without a did-you-mean ("callbacks" is not a typo of
// "fallbacks").
constexpr std::string_view kLitellmSettingsNotRouting[] = {
    "callbacks", "success_callback", "failure_callback", "service_callback", "set_verbose", "json_logs", "cache",
    "cache_params", "turn_off_message_logging", "redact_user_api_key_info", "telemetry", "modify_params",
    "max_budget", "budget_duration", "default_team_settings", "upperbound_key_generate_params",
    "default_key_generate_params", "enable_json_schema_validation", "return_response_headers",
    "force_ipv4", "callback_settings", "default_internal_user_params", "max_end_user_budget", "public_model_groups",
    "key_generation_settings", "disable_end_user_cost_tracking", "enable_preview_features", "num_retries_per_request",
    "request_timeout_seconds", "guardrails", "langfuse_default_tags", "default_max_internal_user_budget",
};

template <size_t N>
std::vector<std::string_view> handler_names(const KeyHandler (&handlers)[N]) {
  std::vector<std::string_view> names;
  for (const auto& h : handlers) names.push_back(h.key);
  return names;
}

template <size_t N>
const KeyHandler* find_handler(const KeyHandler (&handlers)[N], std::string_view key) {
  for (const auto& h : handlers) {
    if (h.key == key) return &h;
  }
  return nullptr;
}

template <class Range>
bool contains(const Range& range, std::string_view key) {
  return std::find(std::begin(range), std::end(range), key) != std::end(range);
}

}  // namespace

Status SettingsBuilder::apply_general_settings(Value& section, ParseContext& ctx) {
  static const std::vector<std::string_view> kNames = handler_names(kGeneralSettings);
  const std::string path = "general_settings";
  if (section.is_null()) return Status::Ok();
  if (!section.is_map()) {
    // The proxy's section, not ours to reject: what llmux reads is absent.
    ctx.warn(fmt::format("{}: expected a map, got {}; ignored", path, describe(section)));
    return Status::Ok();
  }
  for (auto& [key, value] : section.members) {
    const std::string key_path = child_path(path, key);
    const KeyHandler* handler = find_handler(kGeneralSettings, key);
    if (handler == nullptr) {
      // Only the key is named: the proxy's values are often secrets (master_key).
      std::string message = fmt::format("{}: not a routing setting, ignored", key_path);
      if (contains(kGeneralSettingsNoEffect, key)) {
        message = fmt::format("{}: accepted, no effect (llmux reports the same fields always)", key_path);
      } else if (auto suggestion = did_you_mean(key, kNames)) {
        message += fmt::format(" (did you mean {}?)", *suggestion);
      }
      ctx.warn(std::move(message));
      continue;
    }
    // os.environ/ is resolved only in the keys llmux reads.
    ctx.resolve_env(value, key_path);
    if (value.is_null()) continue;
    LLMUX_CONFIG_TRY(handler->handler(value, key_path, state_, ctx));
  }
  return Status::Ok();
}

Status SettingsBuilder::apply_litellm_settings(const Value& section, ParseContext& ctx) {
  static const std::vector<std::string_view> kNames = handler_names(kLitellmSettings);
  const std::string path = "litellm_settings";
  LLMUX_CONFIG_TRY(expect_map(section, path));
  for (const auto& [key, value] : section.members) {
    const std::string key_path = child_path(path, key);
    const KeyHandler* handler = find_handler(kLitellmSettings, key);
    if (handler == nullptr) {
      std::string message = fmt::format("{}: not a routing setting, ignored", key_path);
      if (!contains(kLitellmSettingsNotRouting, key)) {
        if (auto suggestion = did_you_mean(key, kNames)) message += fmt::format(" (did you mean {}?)", *suggestion);
      }
      ctx.warn(std::move(message));
      continue;
    }
    if (value.is_null()) continue;  // None: LiteLLM keeps its default
    LLMUX_CONFIG_TRY(handler->handler(value, key_path, state_, ctx));
  }
  return Status::Ok();
}

Status SettingsBuilder::apply_router_settings(const Value& section, ParseContext& ctx) {
  static const std::vector<std::string_view> kNames = [] {
    std::vector<std::string_view> names = handler_names(kRouterSettings);
    names.insert(names.end(), std::begin(kRouterSettingsNotUsed), std::end(kRouterSettingsNotUsed));
    return names;
  }();
  const std::string path = "router_settings";
  LLMUX_CONFIG_TRY(expect_map(section, path));
  for (const auto& [key, value] : section.members) {
    const std::string key_path = child_path(path, key);
    const KeyHandler* handler = find_handler(kRouterSettings, key);
    if (handler == nullptr) {
      if (contains(kRouterSettingsNotUsed, key)) {
        ctx.warn(fmt::format("{}: not used by llmux, ignored", key_path));
      } else {
        ctx.warn(unknown_key_warning(key_path, key, kNames));
      }
      continue;
    }
    if (value.is_null()) continue;  // None: LiteLLM keeps its default
    LLMUX_CONFIG_TRY(handler->handler(value, key_path, state_, ctx));
  }
  return Status::Ok();
}

RouterSettings SettingsBuilder::finish() && {
  RouterSettings settings = std::move(state_.settings);
  // LiteLLM quirk (reference §14.7): the legacy allowed_fails cooldown rule
  // switches on only when allowed_fails differs from litellm.allowed_fails
  // (3), so an explicit `allowed_fails: 3` is the same as not setting it.
  settings.allowed_fails_set = settings.allowed_fails != RouterSettings().allowed_fails;
  if (state_.default_fallbacks && !state_.default_fallbacks->empty()) {
    settings.fallbacks.push_back(FallbackRule{"*", std::move(*state_.default_fallbacks)});
  }
  return settings;
}

}  // namespace llmux::config
