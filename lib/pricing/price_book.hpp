// -----------------------------------------------------------------------------
// File: pricing/price_book.hpp
// -----------------------------------------------------------------------------
// Where a deployment's prices and context window come from when its config
// does not set them: a model map (the bundled one, or a file the user named)
// plus the prices registered at run time (LiteLLM's litellm.register_model),
// looked up by the names LiteLLM tries (litellm.utils._get_model_info_helper,
// as Router.get_router_model_info calls it):
//
//   1. "<provider>/<region>/<model>" for Bedrock with aws_region_name (the
//      region-priced keys LiteLLM's cost calculator prefers);
//   2. "<provider>/<model>" (the model as litellm_params writes it);
//   3. the provider's stripped spelling: Bedrock's base model (routing
//      prefixes converse/ invoke/ openai/, ARNs, ":51k" throughput suffixes,
//      cross-region prefixes us. eu. apac. global. ..., "<region>/" paths);
//      Vertex/Gemini/Databricks without a trailing "-<digits>" version;
//      OpenAI fine-tunes "ft:<base>:<org>:<suffix>:<id>" as "ft:<base>";
//   4. the stripped spelling of the model without the provider prefix, with
//      and without "<provider>/" (the keys LiteLLM's cost calculator tries);
//   5. "<model>" without the provider prefix;
// each exact first, then ignoring case, and each accepted only when the
// entry's litellm_provider fits the deployment's provider (vertex_ai takes
// vertex_ai-*; bedrock* takes bedrock*; azure_ai takes azure and openai).
// model_info.base_model (else litellm_params.base_model) replaces the model
// for the lookup, as in LiteLLM (Azure deployments need it: their model
// name is the deployment's).
//
// Thread safety: none; the router calls it under its pool lock.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "llmux/config.hpp"
#include "llmux/error.hpp"
#include "pricing/model_map.hpp"

namespace llmux::pricing {

// LiteLLM's keys for `model` ("<provider>/..." or bare) on `provider`, most
// specific first, without duplicates. `region` is used for Bedrock only.
std::vector<std::string> candidate_keys(std::string_view provider, std::string_view model, std::string_view region);

// LiteLLM's _check_provider_match: whether an entry whose litellm_provider
// is `entry_provider` describes a model on `provider`.
bool provider_matches(std::string_view entry_provider, std::string_view provider);

// The string member `key` at the top of a JSON object (a deployment's
// model_info_json / litellm_params_json); empty when the text is empty, not
// an object, or the member is absent or not a string.
std::string json_string_member(std::string_view json, const char* key);

class PriceBook {
 public:
  // Over the bundled map, parsed only when a lookup first needs it (a
  // config that prices every deployment never parses it).
  PriceBook();
  // Over `base`; null = no map, registered entries only.
  explicit PriceBook(std::shared_ptr<const ModelMap> base);

  // The entry for `model` on `provider` (see the file comment); null when
  // none fits. Registered entries are searched before the base map.
  const ModelInfo* find(std::string_view provider, std::string_view model, std::string_view region,
                        std::string* matched_key = nullptr) const;

  // LiteLLM's register_model: `json` is an object of model key → entry (the
  // map's format). A key that names an existing entry (by the lookup above,
  // the provider taken from a "<provider>/" prefix, else from LiteLLM's
  // rules for a bare name) updates that entry field by field; any other key
  // becomes a new entry. All or nothing: on error nothing is registered.
  Status register_models(std::string_view json);

  // Fills the DeploymentConfig fields `d` leaves unset — input and output
  // price per token and max_input_tokens — from its entry. Values from
  // litellm_params / model_info always win. Returns the key used, or "".
  std::string resolve(DeploymentConfig& d) const;

  // The model map's mode for `d` ("chat", "embedding", ...; the same lookup
  // as resolve()); "" when no entry fits or it has none.
  std::string mode_for(const DeploymentConfig& d) const;

  // The map under the registered entries (loads the bundled one if pending).
  const ModelMap* base() const;

 private:
  const ModelInfo* find_key(std::string_view key, std::string* matched_key) const;
  // find() with the deployment's lookup model (base_model, else its provider
  // model) and Bedrock region.
  const ModelInfo* find_for(const DeploymentConfig& d, std::string* matched_key) const;

  mutable std::shared_ptr<const ModelMap> base_;  // set on first use when bundled_pending_
  mutable bool bundled_pending_ = false;
  ModelMap registered_;
};

}  // namespace llmux::pricing
