// -----------------------------------------------------------------------------
// File: provider/connection_settings.hpp
// -----------------------------------------------------------------------------
// The deployment's connection settings that every adapter's request carries
// alike: TLS verification (ssl_verify), the CA bundle, the client
// certificate. Every Provider::build_request (and continuation / token
// request built for a deployment) calls apply_connection_settings once, so a
// new adapter cannot forget ssl_verify. Proxies need nothing here: the
// transport reads the environment's once (transport/curl_event_loop.cpp,
// ProxyEnvironment). Stateless, thread-safe.
#pragma once

#include "llmux/config.hpp"
#include "transport/transfer.hpp"

namespace llmux::provider {

// Sets out.verify_tls, ca_bundle_path, client_cert_path and client_key_path
// from the deployment (all four are assigned, so a reused request keeps
// nothing of an earlier deployment). An unset ssl_verify means verify.
void apply_connection_settings(const DeploymentConfig& deployment, transport::HttpRequest& out);

}  // namespace llmux::provider
