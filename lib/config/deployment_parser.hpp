// -----------------------------------------------------------------------------
// File: config/deployment_parser.hpp
// -----------------------------------------------------------------------------
// One model_list entry → DeploymentConfig: model_name, litellm_params (typed
// keys validated, every other key kept for the provider), model_info, the
// top-level rpm/tpm, the provider split and the deployment id. Single-threaded.
#pragma once

#include <string_view>

#include "config/config_value.hpp"
#include "config/value_reader.hpp"
#include "llmux/config.hpp"

namespace llmux::config {

// `entry` is os.environ-resolved in place. `path` names the entry in errors
// and warnings ("model_list[2]"; empty for a standalone deployment, whose
// errors then read "litellm_params.model: required").
Result<DeploymentConfig> parse_deployment_entry(Value& entry, std::string_view path, ParseContext& ctx);

}  // namespace llmux::config
