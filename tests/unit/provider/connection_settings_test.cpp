// provider::apply_connection_settings: the deployment's TLS settings on every
// request an adapter builds (issue 10 item 5).
#include <catch2/catch.hpp>

#include "provider/connection_settings.hpp"
#include "provider_test_util.hpp"

namespace {

using llmux::DeploymentConfig;
using llmux::provider::apply_connection_settings;
using llmux::transport::HttpRequest;

TEST_CASE("apply_connection_settings: unset ssl_verify verifies with the system store") {
  HttpRequest out;
  out.verify_tls = false;  // left over from another deployment: overwritten
  out.ca_bundle_path = "/old.pem";
  apply_connection_settings(llmux::testing::deployment("openai", "https://x"), out);
  CHECK(out.verify_tls);
  CHECK(out.ca_bundle_path.empty());
  CHECK(out.client_cert_path.empty());
  CHECK(out.client_key_path.empty());
}

TEST_CASE("apply_connection_settings: CA bundle, client certificate, verification off") {
  DeploymentConfig d = llmux::testing::deployment("openai", "https://x");
  d.ssl_verify = true;
  d.ssl_ca_bundle = "/etc/ca.pem";
  d.client_cert = "/etc/client.pem";
  d.client_key = "/etc/client.key";
  HttpRequest out;
  apply_connection_settings(d, out);
  CHECK(out.verify_tls);
  CHECK(out.ca_bundle_path == "/etc/ca.pem");
  CHECK(out.client_cert_path == "/etc/client.pem");
  CHECK(out.client_key_path == "/etc/client.key");

  d.ssl_verify = false;
  apply_connection_settings(d, out);
  CHECK_FALSE(out.verify_tls);
  CHECK(out.ca_bundle_path.empty());  // meaningless without verification
  CHECK(out.client_cert_path == "/etc/client.pem");
}

TEST_CASE("the OpenAI-compatible adapter applies the connection settings") {
  DeploymentConfig d = llmux::testing::deployment("openai", "https://api.example.com/v1", "sk-x");
  d.ssl_verify = false;
  auto chat = llmux::testing::parse(R"({"model":"group","messages":[{"role":"user","content":"hi"}]})");
  for (bool stream : {false, true}) {
    HttpRequest out;
    REQUIRE(llmux::testing::provider_named("openai")
                .build_request(llmux::provider::ProviderTarget::of(d), chat, stream, out)
                .ok());
    CHECK_FALSE(out.verify_tls);
  }
  HttpRequest cont;
  REQUIRE(llmux::testing::provider_named("openai")
              .build_continuation_request(llmux::provider::ProviderTarget::of(d), chat, "Hel", cont)
              .ok());
  CHECK_FALSE(cont.verify_tls);
}

}  // namespace
