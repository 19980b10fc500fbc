// -----------------------------------------------------------------------------
// File: config/tls_settings.hpp
// -----------------------------------------------------------------------------
// LiteLLM's TLS keys: ssl_verify (false, true or a CA bundle path) and client
// certificates, per deployment (litellm_params.ssl_verify, client_cert,
// client_key) and as router-wide defaults (litellm_settings.ssl_verify and
// ssl_certificate, the SSL_VERIFY / SSL_CERT_FILE / SSL_CERTIFICATE
// environment variables). The precedence is LiteLLM's get_ssl_verify: the
// deployment's own value, then SSL_VERIFY, then litellm_settings; when
// verification is on and no bundle was named, SSL_CERT_FILE (if the file
// exists). Files are checked at load so a wrong path is a config error, not a
// TLS failure on the first call. Plain functions, no state.
#pragma once

#include <string>
#include <string_view>

#include "config/config_value.hpp"
#include "config/value_reader.hpp"
#include "llmux/config.hpp"

namespace llmux::config {

// An ssl_verify value: a bool (also as text, "False" from an environment
// variable) or the path of an existing file, which means "verify against this
// CA bundle". Anything else is an error naming `path`.
Status read_ssl_verify(const Value& v, std::string_view path, bool& verify, std::string& ca_bundle);

// A path to an existing regular file (client_cert, client_key,
// ssl_certificate); `what` names it in the error.
Status read_existing_file(const Value& v, std::string_view path, std::string_view what, std::string& out);

// Reads SSL_VERIFY, SSL_CERT_FILE and SSL_CERTIFICATE (through ctx, so the
// config's environment_variables count too) over what litellm_settings set.
// Call after litellm_settings were applied.
Status apply_tls_environment(ParseContext& ctx, RouterSettings& settings);

// Fills the TLS fields a deployment left unset from the router-wide defaults.
// Idempotent; Router::create's caller (parse_config) and add_deployment call it.
void apply_tls_defaults(const RouterSettings& settings, DeploymentConfig& deployment);

}  // namespace llmux::config
