// -----------------------------------------------------------------------------
// File: router/secrets.hpp
// -----------------------------------------------------------------------------
// What counts as a credential in a deployment, and keeping every one of them
// out of what leaves the router (DESIGN.md §3.5): the deployments() view shows
// secret-keyed values as "***", and error messages — providers sometimes echo
// what they were given ("Incorrect API key provided: sk-...") — have each
// secret value replaced by "[REDACTED]". Pure functions; thread-safe.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "llmux/config.hpp"
#include "provider/provider.hpp"

namespace llmux::router {

// Whether a litellm_params / model_info / header name holds a credential:
// api_key, aws_secret_access_key, aws_session_token, vertex_credentials,
// azure_ad_token, client_secret, Authorization, x-api-key, private_key, ...
// Matched by word so that prices and limits stay visible
// (input_cost_per_token, max_tokens).
bool is_secret_key(std::string_view key);

// Every secret value of a deployment: its api_key, each string under a
// secret key of litellm_params (nested objects and JSON text inside strings,
// such as an inline service-account file, included), and what its adapter's
// auth state read from elsewhere (environment, files). Values shorter than 4
// bytes are left out: they would redact ordinary words.
std::vector<std::string> deployment_secrets(const DeploymentConfig& deployment, const provider::DeploymentAuth* auth);

// Replaces each occurrence of each secret in `text` by "[REDACTED]".
void redact_secrets(std::string& text, std::span<const std::string> secrets);

}  // namespace llmux::router
