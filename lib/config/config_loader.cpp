// parse_config / parse_deployment: LiteLLM config text → RouterConfig
// (DESIGN.md §3.1, reference §3). The work is split by section:
// config_value (YAML/JSON → typed tree), settings_parser (router_settings,
// litellm_settings), deployment_parser (model_list entries).
#include <algorithm>
#include <exception>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "config/config_value.hpp"
#include "config/deployment_parser.hpp"
#include "config/redis_config.hpp"
#include "config/settings_parser.hpp"
#include "config/tls_settings.hpp"
#include "config/value_reader.hpp"
#include "fmt/format.h"
#include "llmux/config.hpp"

namespace llmux {
namespace {

using config::Value;

constexpr std::string_view kRoutingSections[] = {"model_list", "router_settings", "litellm_settings",
                                                  "general_settings"};

// Top-level sections of a LiteLLM proxy config that are not about routing.
constexpr std::string_view kProxySections[] = {
    "guardrails", "mcp_servers", "mcp_tools", "credential_list", "callback_settings",
    "files_settings", "finetune_settings", "assistant_settings", "search_tools", "vector_store_registry", "include",
    "prompts", "pass_through_endpoints", "model_group_settings", "alerting", "ui_settings",
};

constexpr std::string_view kEnvironmentSection = "environment_variables";

bool is_blank(std::string_view text) { return text.find_first_not_of(" \t\r\n") == std::string_view::npos; }

void warn_top_level_key(std::string_view key, config::ParseContext& ctx) {
  const bool known = std::find(std::begin(kProxySections), std::end(kProxySections), key) != std::end(kProxySections);
  if (!known && config::did_you_mean(key, kRoutingSections)) {
    ctx.warn(config::unknown_key_warning(key, key, kRoutingSections));
  } else {
    ctx.warn(fmt::format("{}: ignored (not a routing setting)", key));
  }
}

// LiteLLM's set_model_list: `organization: [org-a, org-b]` is one deployment
// per organization. Each copy is an ordinary entry, so its generated id is the
// one LiteLLM gives a deployment written with that organization alone (LiteLLM
// itself gives every copy the id of the list form, and so one shared state).
std::vector<Value> one_entry_per_organization(const Value& entry) {
  const Value* params = entry.is_map() ? entry.find("litellm_params") : nullptr;
  const Value* organizations = params != nullptr && params->is_map() ? params->find("organization") : nullptr;
  if (organizations == nullptr || !organizations->is_list() || organizations->items.empty()) return {entry};
  std::vector<Value> copies;
  copies.reserve(organizations->items.size());
  for (const Value& organization : organizations->items) {
    Value copy = entry;
    *copy.find("litellm_params")->find("organization") = organization;
    copies.push_back(std::move(copy));
  }
  return copies;
}

Result<RouterConfig> parse_config_impl(std::string_view text, const EnvLookup& env) {
  RouterConfig config;
  std::vector<std::string> load_warnings;
  if (is_blank(text)) {
    return config::config_error("config", "empty document (expected model_list, router_settings, litellm_settings)");
  }
  Result<Value> loaded = config::load_yaml(text, &load_warnings);
  if (!loaded.ok()) return std::move(loaded).error();
  Value& root = *loaded;
  if (root.is_null()) {
    return config::config_error("config", "empty document (expected model_list, router_settings, litellm_settings)");
  }
  if (!root.is_map()) {
    return config::config_error("config",
                                fmt::format("expected a map with model_list, router_settings, litellm_settings, got {}",
                                            config::describe(root)),
                                &root);
  }

  // The proxy exports environment_variables before it resolves os.environ/
  // references, so a config may carry its own (non-secret) values.
  const Value* config_env = root.find(kEnvironmentSection);
  config::ParseContext ctx(env, config_env != nullptr && config_env->is_map() ? config_env : nullptr);
  for (std::string& w : load_warnings) ctx.warn(std::move(w));
  if (config_env != nullptr && !config_env->is_map() && !config_env->is_null()) {
    ctx.warn(fmt::format("{}: expected a map of variable names to values, ignored", kEnvironmentSection));
  }

  for (const auto& [key, value] : root.members) {
    if (key == kEnvironmentSection) continue;
    if (std::find(std::begin(kRoutingSections), std::end(kRoutingSections), key) == std::end(kRoutingSections)) {
      warn_top_level_key(key, ctx);
    }
  }

  // Settings: general_settings (the proxy's: health checks), then
  // litellm_settings, so router_settings wins on shared keys.
  config::SettingsBuilder settings;
  if (Value* section = root.find("general_settings")) {
    if (Status s = settings.apply_general_settings(*section, ctx); !s.ok()) return s.error();
  }
  if (Value* section = root.find("litellm_settings")) {
    ctx.resolve_env(*section, "litellm_settings");
    if (Status s = settings.apply_litellm_settings(*section, ctx); !s.ok()) return s.error();
  }
  if (Value* section = root.find("router_settings")) {
    ctx.resolve_env(*section, "router_settings");
    if (Status s = settings.apply_router_settings(*section, ctx); !s.ok()) return s.error();
  }
  config.routing_strategy_line = settings.routing_strategy_line();
  config.settings = std::move(settings).finish();
  config::capture_redis_environment(config_env != nullptr && config_env->is_map() ? config_env : nullptr,
                                    config.settings);
  if (Status s = config::apply_tls_environment(ctx, config.settings); !s.ok()) return s.error();

  if (Value* list = root.find("model_list"); list != nullptr && !list->is_null()) {
    if (!list->is_list()) {
      return config::config_error("model_list",
                                  fmt::format("expected a list of deployments, got {}", config::describe(*list)), list);
    }
    absl::flat_hash_map<std::string, size_t> first_with_id;
    config.model_list.reserve(list->items.size());
    for (size_t i = 0; i < list->items.size(); ++i) {
      const std::string path = config::index_path("model_list", i);
      for (Value& entry : one_entry_per_organization(list->items[i])) {
        Result<DeploymentConfig> deployment = config::parse_deployment_entry(entry, path, ctx);
        if (!deployment.ok()) return std::move(deployment).error();
        config::apply_tls_defaults(config.settings, *deployment);
        // LiteLLM keeps both (quirk §14.3); they share one cooldown / usage state.
        auto [it, inserted] = first_with_id.emplace(deployment->id, i);
        if (!inserted) {
          ctx.warn(fmt::format("{}: same deployment id as model_list[{}] ({}); they share health and usage state",
                               path, it->second, deployment->id));
        }
        config.model_list.push_back(std::move(deployment).value());
      }
    }
  }

  config.warnings = std::move(ctx.warnings());
  return config;
}

Result<DeploymentConfig> parse_deployment_impl(std::string_view text, const EnvLookup& env) {
  if (is_blank(text)) return config::config_error("deployment", "empty document (expected model_name, litellm_params)");
  Result<Value> loaded = config::load_yaml(text);
  if (!loaded.ok()) return std::move(loaded).error();
  if (loaded->is_null()) {
    return config::config_error("deployment", "empty document (expected model_name, litellm_params)");
  }
  config::ParseContext ctx(env, nullptr);
  return config::parse_deployment_entry(*loaded, "", ctx);
}

// Nothing may escape the API: yaml-cpp and the standard library can throw
// (malformed input is handled inside; this is for allocation failures).
template <class F>
auto guarded(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const std::exception& e) {
    return Error(ErrorKind::kInvalidConfig, fmt::format("config: could not be read: {}", e.what()));
  } catch (...) {
    return Error(ErrorKind::kInvalidConfig, "config: could not be read");
  }
}

}  // namespace

Result<RouterConfig> parse_config(std::string_view text, const EnvLookup& env) {
  return guarded([&] { return parse_config_impl(text, env); });
}

Result<DeploymentConfig> parse_deployment(std::string_view text, const EnvLookup& env) {
  return guarded([&] { return parse_deployment_impl(text, env); });
}

}  // namespace llmux
