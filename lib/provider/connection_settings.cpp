#include "provider/connection_settings.hpp"

namespace llmux::provider {

void apply_connection_settings(const DeploymentConfig& deployment, transport::HttpRequest& out) {
  out.verify_tls = deployment.ssl_verify.value_or(true);
  // No CA bundle matters once verification is off; keeping it empty also
  // keeps such transfers' connection-matching key short.
  if (out.verify_tls) {
    out.ca_bundle_path = deployment.ssl_ca_bundle;
  } else {
    out.ca_bundle_path.clear();
  }
  out.client_cert_path = deployment.client_cert;
  out.client_key_path = deployment.client_key;
}

}  // namespace llmux::provider
