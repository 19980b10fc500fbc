// Router::model_info / model_group_info: the model map's entry for a
// deployment or a model, with the deployment's own values over it, in
// LiteLLM's precedence (llmux/model_info.hpp); and their JSON views.
#include "llmux/model_info.hpp"

#include <algorithm>
#include <array>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <simdjson.h>

#include "config/provider_names.hpp"
#include "json/writer.hpp"
#include "llmux/router.hpp"
#include "pricing/price_book.hpp"
#include "router/router_impl.hpp"

namespace llmux {
namespace {

// LiteLLM's ModelGroupInfo always carries these.
constexpr std::array<std::string_view, 6> kGroupFlags = {
    "supports_function_calling", "supports_parallel_function_calling", "supports_reasoning",
    "supports_url_context",      "supports_vision",                    "supports_web_search"};

// Keys the JSON view writes from the typed fields (a model_info key of the
// same name is already merged into them).
bool typed_key(std::string_view k) {
  return k == "key" || k == "mapped" || k == "id" || k == "model_group" || k == "max_tokens" ||
         k == "max_input_tokens" || k == "max_output_tokens" || k == "input_cost_per_token" ||
         k == "output_cost_per_token" || k == "cache_read_input_token_cost" ||
         k == "cache_creation_input_token_cost" || k == "litellm_provider" || k == "mode" || k == "tpm" ||
         k == "rpm" || k.starts_with("supports_");
}

void set_flag(std::vector<std::pair<std::string, bool>>& flags, std::string_view name, bool value) {
  auto it = std::lower_bound(flags.begin(), flags.end(), name,
                             [](const std::pair<std::string, bool>& p, std::string_view n) { return p.first < n; });
  if (it != flags.end() && it->first == name) {
    it->second = value;
  } else {
    flags.emplace(it, std::string(name), value);
  }
}

std::optional<int64_t> tokens_of(simdjson::dom::element v) {
  int64_t n = 0;
  double d = 0;
  if (v.get_int64().get(n) == simdjson::SUCCESS) return n > 0 ? std::optional<int64_t>(n) : std::nullopt;
  if (v.get_double().get(d) == simdjson::SUCCESS && d >= 1 && d < 9.2e18) return static_cast<int64_t>(d);
  return std::nullopt;  // 0 (unset, as the proxy's UI writes it), null, or not a number
}

std::optional<double> price_of(simdjson::dom::element v) {
  double d = 0;
  std::string_view s;
  if (v.is_number()) return v.get_double().value_unsafe();
  if (v.get_string().get(s) == simdjson::SUCCESS) {
    const std::string text(s);
    char* end = nullptr;
    d = std::strtod(text.c_str(), &end);
    if (!text.empty() && end == text.c_str() + text.size()) return d;
  }
  return std::nullopt;
}

// Step 2 of the precedence: model_info's values over the map's.
void apply_model_info(std::string_view model_info_json, ModelMapInfo& out) {
  if (model_info_json.empty()) return;
  simdjson::dom::parser parser;
  simdjson::dom::object obj;
  const simdjson::padded_string padded(model_info_json);
  if (parser.parse(padded).get_object().get(obj) != simdjson::SUCCESS) return;
  for (auto [key, value] : obj) {
    std::string_view text;
    bool flag = false;
    if (key == "max_tokens") {
      if (auto n = tokens_of(value)) out.max_tokens = n;
    } else if (key == "max_input_tokens") {
      if (auto n = tokens_of(value)) out.max_input_tokens = n;
    } else if (key == "max_output_tokens") {
      if (auto n = tokens_of(value)) out.max_output_tokens = n;
    } else if (key == "input_cost_per_token") {
      if (auto p = price_of(value)) out.input_cost_per_token = *p;
    } else if (key == "output_cost_per_token") {
      if (auto p = price_of(value)) out.output_cost_per_token = *p;
    } else if (key == "cache_read_input_token_cost") {
      if (auto p = price_of(value)) out.cache_read_input_token_cost = p;
    } else if (key == "cache_creation_input_token_cost") {
      if (auto p = price_of(value)) out.cache_creation_input_token_cost = p;
    } else if (key == "mode" || key == "litellm_provider") {
      if (value.get_string().get(text) == simdjson::SUCCESS && !text.empty()) {
        (key == "mode" ? out.mode : out.litellm_provider).assign(text);
      }
    } else if (key.starts_with("supports_") && value.get_bool().get(flag) == simdjson::SUCCESS) {
      set_flag(out.supports, key, flag);
    }
  }
  out.model_info_json.assign(model_info_json);
}

// Step 1: the map's entry.
void apply_map_entry(const pricing::ModelInfo& entry, ModelMapInfo& out) {
  out.mapped = true;
  out.max_tokens = entry.max_tokens;
  out.max_input_tokens = entry.max_input_tokens;
  out.max_output_tokens = entry.max_output_tokens;
  out.input_cost_per_token = entry.input_cost_per_token.value_or(0);
  out.output_cost_per_token = entry.output_cost_per_token.value_or(0);
  out.cache_read_input_token_cost = entry.cache_read_input_token_cost;
  out.cache_creation_input_token_cost = entry.cache_creation_input_token_cost;
  if (!entry.litellm_provider.empty()) out.litellm_provider = entry.litellm_provider;
  out.mode = entry.mode;
  out.supports.assign(entry.supports.begin(), entry.supports.end());
}


// One deployment's info; `received` resolves a wildcard deployment's model.
ModelMapInfo deployment_info(const pricing::PriceBook& prices, const DeploymentConfig& d, std::string_view received) {
  ModelMapInfo out;
  out.deployment_id = d.id;
  out.model_group = d.model_name;
  out.litellm_provider = d.provider;
  std::string model = d.provider_model;
  if (d.provider == "azure") {
    // An Azure model name is the deployment's: only base_model says what it runs.
    std::string base = pricing::json_string_member(d.model_info_json, "base_model");
    if (base.empty()) base = pricing::json_string_member(d.litellm_params_json, "base_model");
    if (!base.empty()) model = std::move(base);
  }
  if (model.find('*') != std::string::npos && !received.empty()) {
    // LiteLLM looks up what the wildcard route resolves the received name to.
    const config::ProviderModel pm = config::resolve_provider_model(received, "");
    model = pm.provider == d.provider ? pm.model : std::string(received);
  }
  const std::string region =
      d.provider.starts_with("bedrock") ? pricing::json_string_member(d.litellm_params_json, "aws_region_name") : "";
  std::string matched;
  if (const pricing::ModelInfo* entry = prices.find(d.provider, model, region, &matched)) {
    apply_map_entry(*entry, out);
    out.key = matched;
  } else {
    const std::string prefix = d.provider + "/";
    out.key = model.starts_with(prefix) ? model : prefix + model;
  }
  apply_model_info(d.model_info_json, out);
  // Step 3: litellm_params' custom prices (LiteLLM copies them into model_info).
  const std::string params = d.litellm_params_json;
  if (!params.empty()) {
    simdjson::dom::parser parser;
    simdjson::dom::object obj;
    const simdjson::padded_string padded(params);
    if (parser.parse(padded).get_object().get(obj) == simdjson::SUCCESS) {
      simdjson::dom::element v;
      if (obj["input_cost_per_token"].get(v) == simdjson::SUCCESS) {
        if (auto p = price_of(v)) out.input_cost_per_token = *p;
      }
      if (obj["output_cost_per_token"].get(v) == simdjson::SUCCESS) {
        if (auto p = price_of(v)) out.output_cost_per_token = *p;
      }
    }
  }
  if (d.mode.size() && out.mode.empty()) out.mode = d.mode;
  out.tpm = d.tpm;
  out.rpm = d.rpm;
  return out;
}

template <typename T>
void optional_member(json::Writer& w, std::string_view key, const std::optional<T>& v) {
  w.key(key);
  if (v) {
    w.number(*v);
  } else {
    w.null();
  }
}

// LiteLLM writes an unknown mode as null, not "".
void string_or_null(json::Writer& w, std::string_view key, const std::string& v) {
  w.key(key);
  if (v.empty()) {
    w.null();
  } else {
    w.string(v);
  }
}

}  // namespace

Result<ModelInfoQuery> parse_model_info_query(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::object obj;
  const simdjson::padded_string padded(json);
  if (parser.parse(padded).get_object().get(obj) != simdjson::SUCCESS) {
    return Error(ErrorKind::kInvalidArgument, "model info query: expected a JSON object");
  }
  ModelInfoQuery q;
  for (auto [key, value] : obj) {
    std::string* field = nullptr;
    if (key == "deployment_id" || key == "id" || key == "model_id") {
      field = &q.deployment_id;
    } else if (key == "received_model_name") {
      field = &q.received_model_name;
    } else if (key == "model_group") {
      field = &q.model_group;
    } else if (key == "model") {
      field = &q.model;
    } else if (key == "custom_llm_provider") {
      field = &q.custom_llm_provider;
    } else {
      return Error(ErrorKind::kInvalidArgument, fmt::format("model info query: unknown key '{}'", key));
    }
    if (value.is_null()) continue;
    std::string_view text;
    if (value.get_string().get(text) != simdjson::SUCCESS) {
      return Error(ErrorKind::kInvalidArgument, fmt::format("model info query: {}: expected a string", key));
    }
    field->assign(text);
  }
  const int given = !q.deployment_id.empty() + !q.model_group.empty() + !q.model.empty();
  if (given != 1) {
    return Error(ErrorKind::kInvalidArgument,
                 "model info query: give exactly one of deployment_id, model_group, model");
  }
  return q;
}

std::string model_map_info_json(const ModelMapInfo& info) {
  std::string out;
  json::Writer w(out);
  w.begin_object();
  w.member("key", info.key);
  w.member("mapped", info.mapped);
  if (!info.deployment_id.empty()) w.member("id", info.deployment_id);
  if (!info.model_group.empty()) w.member("model_group", info.model_group);
  optional_member(w, "max_tokens", info.max_tokens);
  optional_member(w, "max_input_tokens", info.max_input_tokens);
  optional_member(w, "max_output_tokens", info.max_output_tokens);
  w.member("input_cost_per_token", info.input_cost_per_token);
  w.member("output_cost_per_token", info.output_cost_per_token);
  optional_member(w, "cache_read_input_token_cost", info.cache_read_input_token_cost);
  optional_member(w, "cache_creation_input_token_cost", info.cache_creation_input_token_cost);
  w.member("litellm_provider", info.litellm_provider);
  string_or_null(w, "mode", info.mode);
  optional_member(w, "tpm", info.tpm);
  optional_member(w, "rpm", info.rpm);
  for (const auto& [name, value] : info.supports) w.member(name, value);
  // The deployment's other model_info keys, verbatim (LiteLLM's update()).
  simdjson::dom::parser parser;
  simdjson::dom::object obj;
  const simdjson::padded_string padded(info.model_info_json);
  if (parser.parse(padded).get_object().get(obj) == simdjson::SUCCESS) {
    for (auto [key, value] : obj) {
      if (typed_key(key)) continue;
      w.key(key).raw(simdjson::minify(value));
    }
  }
  w.end_object();
  return out;
}

std::string model_group_info_json(const ModelGroupInfo& info) {
  std::string out;
  json::Writer w(out);
  w.begin_object();
  w.member("model_group", info.model_group);
  w.key("providers").begin_array();
  for (const auto& p : info.providers) w.string(p);
  w.end_array();
  optional_member(w, "max_input_tokens", info.max_input_tokens);
  optional_member(w, "max_output_tokens", info.max_output_tokens);
  optional_member(w, "input_cost_per_token", info.input_cost_per_token);
  optional_member(w, "output_cost_per_token", info.output_cost_per_token);
  string_or_null(w, "mode", info.mode);
  optional_member(w, "tpm", info.tpm);
  optional_member(w, "rpm", info.rpm);
  for (const auto& [name, value] : info.supports) w.member(name, value);
  w.key("deployment_ids").begin_array();
  for (const auto& id : info.deployment_ids) w.string(id);
  w.end_array();
  w.end_object();
  return out;
}

Result<ModelMapInfo> Router::Impl::model_info(const ModelInfoQuery& query) const {
  std::lock_guard<std::mutex> lock(pool_mu_);
  if (!query.deployment_id.empty()) {
    for (const DeploymentConfig& d : declared_) {
      if (d.id == query.deployment_id) return deployment_info(*prices_, d, query.received_model_name);
    }
    return Error(ErrorKind::kNotFound, fmt::format("no deployment with id '{}'", query.deployment_id));
  }
  if (query.model.empty()) {
    return Error(ErrorKind::kInvalidArgument, "model_info: give a deployment_id or a model");
  }
  // A bare name without custom_llm_provider is looked up as written (any
  // provider's entry); "<provider>/<model>" on that provider.
  std::string provider = query.custom_llm_provider;
  std::string model = query.model;
  if (provider.empty()) {
    const size_t slash = model.find('/');
    if (slash != std::string::npos && config::is_known_provider(std::string_view(model).substr(0, slash))) {
      provider = model.substr(0, slash);
    }
  }
  std::string matched;
  const pricing::ModelInfo* entry = prices_->find(provider, model, "", &matched);
  if (!entry) {
    return Error(ErrorKind::kNotFound,
                 fmt::format("model '{}' is not in the model map (register it with register_model)", query.model));
  }
  ModelMapInfo out;
  out.litellm_provider = provider;
  apply_map_entry(*entry, out);
  out.key = matched;
  return out;
}

Result<ModelGroupInfo> Router::Impl::model_group_info(std::string_view group) const {
  std::string target(group);
  std::lock_guard<std::mutex> lock(pool_mu_);
  // The aliases in force now (update_settings may have changed them).
  const auto& aliases = settings_->model_group_alias;
  if (auto alias = aliases.find(target); alias != aliases.end()) target = alias->second.target;
  const bool exact = std::any_of(declared_.begin(), declared_.end(),
                                 [&](const DeploymentConfig& d) { return d.model_name == target; });
  if (!exact) {
    // A name only a wildcard group serves ("openai/gpt-4o" by "openai/*"):
    // that group's deployments, each describing the model asked for.
    std::optional<router::Resolution> resolved = pool_->resolve(target);
    if (resolved && resolved->group) target = resolved->group->name;
  }
  ModelGroupInfo out;
  out.model_group = std::string(group);
  for (std::string_view flag : kGroupFlags) out.supports.emplace_back(std::string(flag), false);
  bool first = true;
  for (const DeploymentConfig& d : declared_) {
    if (d.model_name != target) continue;
    const ModelMapInfo info = deployment_info(*prices_, d, group);
    out.deployment_ids.push_back(d.id);
    if (std::find(out.providers.begin(), out.providers.end(), d.provider) == out.providers.end()) {
      out.providers.push_back(d.provider);
    }
    if (first) out.mode = info.mode;
    first = false;
    auto raise = [](auto& current, const auto& candidate) {
      if (candidate && (!current || *candidate > *current)) current = candidate;
    };
    raise(out.max_input_tokens, info.max_input_tokens);
    raise(out.max_output_tokens, info.max_output_tokens);
    raise(out.input_cost_per_token, std::optional<double>(info.input_cost_per_token));
    raise(out.output_cost_per_token, std::optional<double>(info.output_cost_per_token));
    for (const auto& [name, value] : info.supports) {
      const bool known = std::find(kGroupFlags.begin(), kGroupFlags.end(), name) != kGroupFlags.end();
      auto it = std::find_if(out.supports.begin(), out.supports.end(), [&](const auto& p) { return p.first == name; });
      if (it == out.supports.end()) {
        if (!known) set_flag(out.supports, name, value);
      } else if (value) {
        it->second = true;
      }
    }
    if (d.tpm) out.tpm = out.tpm.value_or(0) + static_cast<int64_t>(*d.tpm);
    if (d.rpm) out.rpm = out.rpm.value_or(0) + static_cast<int64_t>(*d.rpm);
  }
  if (first) return Error(ErrorKind::kNotFound, fmt::format("no model group '{}'", group));
  std::sort(out.supports.begin(), out.supports.end());
  return out;
}

Result<ModelMapInfo> Router::model_info(const ModelInfoQuery& query) const { return impl_->model_info(query); }
Result<ModelGroupInfo> Router::model_group_info(std::string_view model_group) const {
  return impl_->model_group_info(model_group);
}

}  // namespace llmux
