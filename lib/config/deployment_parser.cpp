#include "config/deployment_parser.hpp"

#include <algorithm>
#include <optional>

#include "absl/strings/str_cat.h"
#include "config/deployment_id.hpp"
#include "config/duration.hpp"
#include "config/provider_names.hpp"
#include "config/tls_settings.hpp"
#include "config/value_node.hpp"
#include "fmt/format.h"

namespace llmux::config {
namespace {

constexpr std::string_view kEntryKeys[] = {"model_name", "litellm_params", "model_info", "rpm", "tpm"};

// litellm_params keys llmux reads itself. Every other key is kept (in
// litellm_params_json) for the provider: bedrock's aws_*, vertex_*, ...
constexpr std::string_view kParamKeys[] = {
    "model", "api_base", "base_url", "api_key", "api_version", "organization", "custom_llm_provider", "weight",
    "rpm", "tpm", "order", "max_parallel_requests", "num_retries", "timeout", "request_timeout", "stream_timeout",
    "cooldown_time", "region_name", "tags", "mock_response", "input_cost_per_token", "output_cost_per_token",
    "max_budget", "budget_duration", "extra_headers", "supports_assistant_prefill", "ssl_verify", "client_cert",
    "client_key", "drop_params", "llmux_mock_error",
};
// Kept keys that are close to a read key but are not typos.
constexpr std::string_view kParamKeysNotTypos[] = {"max_retries"};

// The member `key` of `map` unless absent or null.
const Value* get(const Value& map, std::string_view key) {
  const Value* v = map.find(key);
  return v != nullptr && !v->is_null() ? v : nullptr;
}

Error missing_key_error(const Value& map, std::string_view path, std::string_view key,
                        std::span<const std::string_view> known) {
  // Name a near-miss spelling the user probably meant ("litellm_param").
  for (const auto& [present, value] : map.members) {
    if (std::find(known.begin(), known.end(), present) != known.end()) continue;
    const std::string_view candidates[] = {key};
    if (did_you_mean(present, candidates)) {
      return config_error(child_path(path, key), fmt::format("required (found '{}': a typo?)", present), &map);
    }
  }
  return config_error(child_path(path, key), "required", &map);
}

Status opt_string(const Value& map, std::string_view key, std::string_view path, std::string& out) {
  if (const Value* v = get(map, key)) return read_string(*v, child_path(path, key), out);
  return Status::Ok();
}

Status opt_number(const Value& map, std::string_view key, std::string_view path, double min, bool exclusive,
                  std::optional<double>& out) {
  if (const Value* v = get(map, key)) {
    double value = 0;
    LLMUX_CONFIG_TRY(read_number(*v, child_path(path, key), min, exclusive, value));
    out = value;
  }
  return Status::Ok();
}

Status opt_bool(const Value& map, std::string_view key, std::string_view path, std::optional<bool>& out) {
  if (const Value* v = get(map, key)) {
    bool value = false;
    LLMUX_CONFIG_TRY(read_bool(*v, child_path(path, key), value));
    out = value;
  }
  return Status::Ok();
}

Status opt_int(const Value& map, std::string_view key, std::string_view path, int min, std::optional<int>& out) {
  if (const Value* v = get(map, key)) {
    int value = 0;
    LLMUX_CONFIG_TRY(read_int(*v, child_path(path, key), min, value));
    out = value;
  }
  return Status::Ok();
}

Status read_litellm_params(const Value& params, std::string_view path, ParseContext& ctx, DeploymentConfig& d,
                           std::string& custom_provider) {
  const Value* model = get(params, "model");
  if (model == nullptr) return missing_key_error(params, path, "model", kParamKeys);
  LLMUX_CONFIG_TRY(read_string(*model, child_path(path, "model"), d.model));
  if (d.model.empty()) return config_error(child_path(path, "model"), "must not be empty", model);

  LLMUX_CONFIG_TRY(opt_string(params, "custom_llm_provider", path, custom_provider));
  // api_base wins over its alias base_url; both are checked.
  std::string base_url;
  LLMUX_CONFIG_TRY(opt_string(params, "base_url", path, base_url));
  LLMUX_CONFIG_TRY(opt_string(params, "api_base", path, d.api_base));
  if (d.api_base.empty()) d.api_base = std::move(base_url);
  LLMUX_CONFIG_TRY(opt_string(params, "api_key", path, d.api_key));
  LLMUX_CONFIG_TRY(opt_string(params, "api_version", path, d.api_version));
  if (const Value* org = get(params, "organization"); org != nullptr && org->is_list()) {
    return config_error(child_path(path, "organization"),
                        "a list of organizations is only read in a config's model_list (one deployment each); "
                        "add one deployment per organization",
                        org);
  }
  LLMUX_CONFIG_TRY(opt_string(params, "organization", path, d.organization));
  LLMUX_CONFIG_TRY(opt_string(params, "region_name", path, d.region_name));

  LLMUX_CONFIG_TRY(opt_number(params, "weight", path, 0, false, d.weight));
  LLMUX_CONFIG_TRY(opt_int(params, "order", path, 0, d.order));
  LLMUX_CONFIG_TRY(opt_int(params, "max_parallel_requests", path, 1, d.max_parallel_requests));
  LLMUX_CONFIG_TRY(opt_int(params, "num_retries", path, 0, d.num_retries));
  // LiteLLM's chain reads the deployment's timeout before its request_timeout.
  std::optional<double> request_timeout;
  LLMUX_CONFIG_TRY(opt_number(params, "request_timeout", path, 0, true, request_timeout));
  LLMUX_CONFIG_TRY(opt_number(params, "timeout", path, 0, true, d.timeout_seconds));
  if (!d.timeout_seconds) d.timeout_seconds = request_timeout;
  LLMUX_CONFIG_TRY(opt_number(params, "stream_timeout", path, 0, true, d.stream_timeout_seconds));
  // 0 is meaningful here: this deployment never cools down (reference §5.4).
  LLMUX_CONFIG_TRY(opt_number(params, "cooldown_time", path, 0, false, d.cooldown_time_seconds));
  LLMUX_CONFIG_TRY(opt_number(params, "input_cost_per_token", path, 0, false, d.input_cost_per_token));
  LLMUX_CONFIG_TRY(opt_number(params, "output_cost_per_token", path, 0, false, d.output_cost_per_token));
  LLMUX_CONFIG_TRY(opt_number(params, "max_budget", path, 0, false, d.max_budget));
  if (const Value* v = get(params, "budget_duration")) {
    const std::string p = child_path(path, "budget_duration");
    LLMUX_CONFIG_TRY(read_string(*v, p, d.budget_duration));
    if (!parse_duration_seconds(d.budget_duration)) {
      return config_error(p, fmt::format("'{}' is not a duration like 30s, 10m, 1h, 1d, 1w or 1mo", d.budget_duration),
                          v);
    }
  }
  if (const Value* v = get(params, "tags")) {
    // The same list rules as a request's metadata.tags.
    ValueNode node(*v);
    if (auto problem = router_keys::read_names(node, child_path(path, "tags"), "a list of strings", d.tags)) {
      return problem_error(*problem);
    }
  }
  if (const Value* v = get(params, "mock_response")) {
    if (v->is_map()) {
      d.mock_response_json = to_json(*v);  // LiteLLM's dict / ModelResponse
    } else {
      std::string text;
      LLMUX_CONFIG_TRY(read_string(*v, child_path(path, "mock_response"), text));
      d.mock_response = std::move(text);
    }
  }
  if (const Value* v = get(params, "llmux_mock_error")) {
    if (!v->is_map()) {
      return config_error(child_path(path, "llmux_mock_error"),
                          "must be an object {status_code, message, type}", v);
    }
    d.mock_error_json = to_json(*v);
  }
  LLMUX_CONFIG_TRY(opt_bool(params, "supports_assistant_prefill", path, d.supports_assistant_prefill));
  if (const Value* v = get(params, "ssl_verify")) {
    bool verify = true;
    LLMUX_CONFIG_TRY(read_ssl_verify(*v, child_path(path, "ssl_verify"), verify, d.ssl_ca_bundle));
    d.ssl_verify = verify;
  }
  if (const Value* v = get(params, "client_cert")) {
    LLMUX_CONFIG_TRY(read_existing_file(*v, child_path(path, "client_cert"), "client certificate", d.client_cert));
  }
  if (const Value* v = get(params, "client_key")) {
    LLMUX_CONFIG_TRY(read_existing_file(*v, child_path(path, "client_key"), "client key", d.client_key));
    if (d.client_cert.empty()) {
      return config_error(child_path(path, "client_key"), "needs client_cert (the certificate it belongs to)", v);
    }
  }
  LLMUX_CONFIG_TRY(opt_bool(params, "drop_params", path, d.drop_params));
  if (const Value* v = get(params, "extra_headers")) {
    const std::string p = child_path(path, "extra_headers");
    if (!v->is_map()) {
      return config_error(p, fmt::format("expected a map of header names to values, got {}", describe(*v)), v);
    }
    for (const auto& [name, value] : v->members) {
      if (value.is_null()) continue;
      std::string text;
      LLMUX_CONFIG_TRY(read_string(value, child_path(p, name), text));
      d.extra_headers.emplace_back(name, std::move(text));
    }
  }
  // rpm / tpm are read by the caller (precedence with the top level).

  for (const auto& [key, value] : params.members) {
    if (std::find(std::begin(kParamKeys), std::end(kParamKeys), key) != std::end(kParamKeys)) continue;
    if (std::find(std::begin(kParamKeysNotTypos), std::end(kParamKeysNotTypos), key) !=
        std::end(kParamKeysNotTypos)) {
      continue;
    }
    if (auto suggestion = did_you_mean(key, kParamKeys)) {
      ctx.warn(fmt::format("{}: kept as a provider parameter (did you mean {}?)", child_path(path, key), *suggestion));
    }
  }
  return Status::Ok();
}

Status read_model_info(const Value& info, std::string_view path, DeploymentConfig& d) {
  if (const Value* id = get(info, "id")) {
    const std::string p = child_path(path, "id");
    if (id->is_string()) {
      d.id = id->text;
    } else if (id->kind == Value::Kind::kInt) {
      d.id = std::to_string(id->integer);
    } else {
      return config_error(p, fmt::format("expected a string or an integer, got {}", describe(*id)), id);
    }
    if (d.id.empty()) return config_error(p, "must not be empty", id);
  }
  if (const Value* v = get(info, "max_input_tokens")) {
    int64_t tokens = 0;
    LLMUX_CONFIG_TRY(read_int(*v, child_path(path, "max_input_tokens"), 0, INT64_MAX, tokens));
    if (tokens > 0) d.max_input_tokens = tokens;  // 0 = not set, as the proxy's model editor writes it
  }
  if (const Value* v = get(info, "max_output_tokens")) {
    int64_t tokens = 0;
    LLMUX_CONFIG_TRY(read_int(*v, child_path(path, "max_output_tokens"), 0, INT64_MAX, tokens));
    if (tokens > 0) d.max_output_tokens = tokens;  // 0 = not set, as the proxy's model editor writes it
  }
  // Costs and limits here only fill what litellm_params left unset.
  std::optional<double> cost;
  LLMUX_CONFIG_TRY(opt_number(info, "input_cost_per_token", path, 0, false, cost));
  if (!d.input_cost_per_token) d.input_cost_per_token = cost;
  cost.reset();
  LLMUX_CONFIG_TRY(opt_number(info, "output_cost_per_token", path, 0, false, cost));
  if (!d.output_cost_per_token) d.output_cost_per_token = cost;
  // What the deployment serves, and how an active health check reaches it.
  LLMUX_CONFIG_TRY(opt_string(info, "mode", path, d.mode));
  LLMUX_CONFIG_TRY(opt_string(info, "health_check_model", path, d.health_check.model));
  LLMUX_CONFIG_TRY(opt_number(info, "health_check_timeout", path, 0, true, d.health_check.timeout_seconds));
  LLMUX_CONFIG_TRY(opt_int(info, "health_check_max_tokens", path, 1, d.health_check.max_tokens));
  std::optional<bool> no_background;
  LLMUX_CONFIG_TRY(opt_bool(info, "disable_background_health_check", path, no_background));
  d.health_check.disable_background = no_background.value_or(false);
  // model_info (LiteLLM's model capability map) wins over litellm_params.
  std::optional<bool> prefill;
  LLMUX_CONFIG_TRY(opt_bool(info, "supports_assistant_prefill", path, prefill));
  if (prefill) d.supports_assistant_prefill = prefill;
  return Status::Ok();
}

}  // namespace

Result<DeploymentConfig> parse_deployment_entry(Value& entry, std::string_view path, ParseContext& ctx) {
  if (!entry.is_map()) {
    return config_error(path.empty() ? "deployment" : path,
                        fmt::format("expected a map with model_name and litellm_params, got {}", describe(entry)),
                        &entry);
  }
  ctx.resolve_env(entry, path);

  for (const auto& [key, value] : entry.members) {
    if (std::find(std::begin(kEntryKeys), std::end(kEntryKeys), key) == std::end(kEntryKeys)) {
      ctx.warn(unknown_key_warning(child_path(path, key), key, kEntryKeys));
    }
  }

  DeploymentConfig d;
  const Value* name = get(entry, "model_name");
  if (name == nullptr) return missing_key_error(entry, path, "model_name", kEntryKeys);
  LLMUX_CONFIG_TRY(read_string(*name, child_path(path, "model_name"), d.model_name));
  if (d.model_name.empty()) return config_error(child_path(path, "model_name"), "must not be empty", name);

  const Value* params = get(entry, "litellm_params");
  const std::string params_path = child_path(path, "litellm_params");
  if (params == nullptr) return missing_key_error(entry, path, "litellm_params", kEntryKeys);
  if (!params->is_map()) {
    return config_error(params_path, fmt::format("expected a map, got {}", describe(*params)), params);
  }
  std::string custom_provider;
  LLMUX_CONFIG_TRY(read_litellm_params(*params, params_path, ctx, d, custom_provider));

  static const Value kEmptyMap = [] {
    Value v;
    v.kind = Value::Kind::kMap;
    return v;
  }();
  const Value* info = get(entry, "model_info");
  const std::string info_path = child_path(path, "model_info");
  if (info != nullptr && !info->is_map()) {
    return config_error(info_path, fmt::format("expected a map, got {}", describe(*info)), info);
  }
  if (info == nullptr) info = &kEmptyMap;
  LLMUX_CONFIG_TRY(read_model_info(*info, info_path, d));

  // Limits: top level, then litellm_params, then model_info (reference §3.2,
  // the order the usage/latency/cost strategies read them in).
  for (std::string_view key : {std::string_view("rpm"), std::string_view("tpm")}) {
    std::optional<double> top, from_params, from_info;
    LLMUX_CONFIG_TRY(opt_number(entry, key, path, 0, false, top));
    LLMUX_CONFIG_TRY(opt_number(*params, key, params_path, 0, false, from_params));
    LLMUX_CONFIG_TRY(opt_number(*info, key, info_path, 0, false, from_info));
    std::optional<double>& out = key == "rpm" ? d.rpm : d.tpm;
    out = top ? top : from_params ? from_params : from_info;
  }

  ProviderModel provider = resolve_provider_model(d.model, custom_provider);
  d.provider = std::move(provider.provider);
  d.provider_model = std::move(provider.model);
  // LiteLLM hashes the params after os.environ substitution (done above).
  if (d.id.empty()) d.id = generate_deployment_id(d.model_name, *params);
  d.litellm_params_json = to_json(*params);
  d.model_info_json = to_json(*info);
  return d;
}

}  // namespace llmux::config
