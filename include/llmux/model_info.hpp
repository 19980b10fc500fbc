// -----------------------------------------------------------------------------
// File: llmux/model_info.hpp
// -----------------------------------------------------------------------------
// What a deployment or a model group offers — context window, prices, mode,
// supports_* flags — as LiteLLM's get_router_model_info / get_model_info /
// get_model_group_info answer it: the model price and context-window map's
// entry for the model, with the deployment's own values over it.
//
// Precedence for one deployment (as LiteLLM's Router builds it):
//   1. the map's entry for "<provider>/<model>" (an Azure deployment is
//      looked up by its base_model: model_info.base_model, else
//      litellm_params.base_model; other providers by litellm_params.model);
//   2. every model_info value over it (max_tokens, max_input_tokens,
//      max_output_tokens, mode, litellm_provider, supports_*, prices, and any
//      other key, kept verbatim in the JSON view);
//   3. the custom prices of litellm_params (input_cost_per_token,
//      output_cost_per_token) over both.
// A model the map does not know still answers: its limits unset, its prices
// 0 (as LiteLLM, which registers every deployment in its map).
//
// A model group (ModelGroupInfo) merges its deployments in config order:
// every provider once, the largest max_input_tokens / max_output_tokens /
// prices, the first deployment's mode, a supports_* flag true when any
// deployment has it, and tpm / rpm summed over the deployments that set one.
// A name only a wildcard group serves ("openai/gpt-4o" by "openai/*") is
// that group, each deployment describing the model asked for.
//
// Thread safety: plain values; the Router methods that make them are
// thread-safe.
#pragma once

#include "llmux/export.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "llmux/error.hpp"

namespace llmux {

// What to describe: exactly one of deployment_id, model_group, model.
struct ModelInfoQuery {
  // One deployment (model_info.id).
  std::string deployment_id;
  // The name the caller asked for, for a wildcard deployment ("openai/*"):
  // the model looked up is the one it resolves to ("openai/gpt-4o").
  std::string received_model_name;
  // A model group (or a model_group_alias of one).
  std::string model_group;
  // A model name alone, looked up in the map (LiteLLM's litellm.get_model_info):
  // "gpt-4o", "anthropic/claude-3-5-sonnet-20240620"; custom_llm_provider
  // names the provider when the name has no "<provider>/" prefix.
  std::string model;
  std::string custom_llm_provider;
};

// LiteLLM's ModelInfo (the map entry, overridden by the deployment).
struct ModelMapInfo {
  std::string key;               // the map key that matched; "<provider>/<model>" when none did
  bool mapped = false;           // whether the map had an entry
  std::string deployment_id;     // empty for a model query
  std::string model_group;       // empty for a model query
  std::optional<int64_t> max_tokens;
  std::optional<int64_t> max_input_tokens;
  std::optional<int64_t> max_output_tokens;
  double input_cost_per_token = 0;
  double output_cost_per_token = 0;
  std::optional<double> cache_read_input_token_cost;
  std::optional<double> cache_creation_input_token_cost;
  std::string litellm_provider;
  std::string mode;              // "" = unknown
  std::vector<std::pair<std::string, bool>> supports;  // supports_* flags, sorted by name
  std::optional<double> tpm;
  std::optional<double> rpm;
  // The deployment's model_info as configured (JSON object; "{}" when none):
  // its other keys appear in the JSON view as LiteLLM's update() leaves them.
  std::string model_info_json = "{}";
};

// LiteLLM's ModelGroupInfo.
struct ModelGroupInfo {
  std::string model_group;       // the name asked for (an alias stays the alias)
  std::vector<std::string> providers;
  std::optional<int64_t> max_input_tokens;
  std::optional<int64_t> max_output_tokens;
  std::optional<double> input_cost_per_token;
  std::optional<double> output_cost_per_token;
  std::string mode;              // "" = unknown
  std::optional<int64_t> tpm;
  std::optional<int64_t> rpm;
  // supports_* flags: LiteLLM's six (parallel_function_calling, vision,
  // web_search, url_context, reasoning, function_calling) always, plus any
  // other a deployment's entry has; true when any deployment's is.
  std::vector<std::pair<std::string, bool>> supports;
  std::vector<std::string> deployment_ids;
};

// {"key","mapped","id","model_group","max_tokens","max_input_tokens",
// "max_output_tokens","input_cost_per_token","output_cost_per_token",
// "cache_read_input_token_cost","cache_creation_input_token_cost",
// "litellm_provider","mode","tpm","rpm","supports_*"...} followed by the
// deployment's other model_info keys (unset values are null).
LLMUX_API std::string model_map_info_json(const ModelMapInfo& info);
// {"model_group","providers","max_input_tokens","max_output_tokens",
// "input_cost_per_token","output_cost_per_token","mode","tpm","rpm",
// "supports_*"...,"deployment_ids"}.
LLMUX_API std::string model_group_info_json(const ModelGroupInfo& info);
// Parses a query object {"deployment_id"} | {"deployment_id",
// "received_model_name"} | {"model_group"} | {"model","custom_llm_provider"};
// kInvalidArgument when malformed or not exactly one of the three is given.
LLMUX_API Result<ModelInfoQuery> parse_model_info_query(std::string_view json);

}  // namespace llmux
