// Every credential of a deployment stays out of error messages, wherever it
// sits in litellm_params or comes from its adapter's auth state.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "router/secrets.hpp"

using namespace llmux;
using llmux::router::deployment_secrets;
using llmux::router::is_secret_key;
using llmux::router::redact_secrets;

namespace {

class EnvKeyAuth final : public provider::DeploymentAuth {
 public:
  void append_secrets(std::vector<std::string>& out) const override { out.push_back("env-only-secret-value"); }
};

bool has(const std::vector<std::string>& v, const std::string& s) {
  for (const auto& x : v) {
    if (x == s) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("secret keys are told from prices and limits by word", "[secrets]") {
  for (const char* k : {"api_key", "aws_secret_access_key", "aws_session_token", "vertex_credentials", "azure_ad_token",
                        "client_secret", "Authorization", "x-api-key", "private_key", "refresh_token", "apiKey",
                        "azure_password"}) {
    INFO(k);
    CHECK(is_secret_key(k));
  }
  for (const char* k : {"input_cost_per_token", "output_cost_per_token", "max_tokens", "model", "api_base", "rpm",
                        "vertex_project", "client_id", "tenant_id"}) {
    INFO(k);
    CHECK_FALSE(is_secret_key(k));
  }
}

TEST_CASE("a deployment's secrets include nested values, inline credential files and its auth state's", "[secrets]") {
  DeploymentConfig d;
  d.api_key = "sk-top-level-key";
  d.extra_headers = {{"Authorization", "Bearer hdr-token-123"}, {"X-Trace", "not-a-secret"}};
  d.litellm_params_json =
      R"({"model":"vertex_ai/gemini","client_secret":"entra-secret-456","vertex_project":"proj-1",)"
      R"("vertex_credentials":"{\"type\":\"service_account\",\"private_key\":\"-----BEGIN PRIVATE KEY-----\\nMIIabc\\n\",\"client_email\":\"sa@x.iam\"}",)"
      R"("nested":{"aws_secret_access_key":"aws-secret-789"},"short_token":"ab","input_cost_per_token":0.5})";
  EnvKeyAuth auth;
  const std::vector<std::string> secrets = deployment_secrets(d, &auth);
  CHECK(has(secrets, "sk-top-level-key"));
  CHECK(has(secrets, "Bearer hdr-token-123"));
  CHECK(has(secrets, "entra-secret-456"));
  CHECK(has(secrets, "aws-secret-789"));
  CHECK(has(secrets, "-----BEGIN PRIVATE KEY-----\nMIIabc\n"));
  CHECK(has(secrets, "env-only-secret-value"));
  CHECK_FALSE(has(secrets, "proj-1"));
  CHECK_FALSE(has(secrets, "not-a-secret"));
  CHECK_FALSE(has(secrets, "ab"));  // too short to redact safely

  std::string message =
      "Incorrect API key provided: sk-top-level-key; secret entra-secret-456 and env-only-secret-value rejected";
  redact_secrets(message, secrets);
  CHECK(message == "Incorrect API key provided: [REDACTED]; secret [REDACTED] and [REDACTED] rejected");
}
