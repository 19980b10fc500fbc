// TLS to providers (issue 10 item 5): certificate verification is on by
// default, LiteLLM's ssl_verify (false, true, a CA bundle path) per
// deployment and router-wide, through a real Router built from YAML against
// an HTTPS server on loopback whose CA the test makes itself.
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "llmux/router.hpp"
#include "support/canned_server.hpp"
#include "support/test_pki.hpp"
#include "transport/curl_event_loop.hpp"

namespace llmux::testing {
namespace {

using namespace std::chrono_literals;

// One PKI and one HTTPS server for the whole binary: making them is cheap,
// but every test then shares the same CA files.
TestPki& pki() {
  static TestPki instance;
  return instance;
}

// The environment the config loader sees: only what the test names (the
// process's own SSL_* variables must not change the outcome).
EnvLookup env_of(std::vector<std::pair<std::string, std::string>> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    for (const auto& [k, v] : vars) {
      if (k == name) return v;
    }
    return std::nullopt;
  };
}

std::unique_ptr<Router> make_router(const std::string& yaml, const EnvLookup& env = env_of({})) {
  auto config = parse_config(yaml, env);
  if (!config.ok()) FAIL("config rejected: " << config.error().to_string());
  RouterOptions opts;
  opts.log = [](std::string_view) {};
  auto r = Router::create(std::move(config).value(), opts);
  if (!r.ok()) FAIL("router rejected: " << r.error().to_string());
  return std::move(r).value();
}

std::string deployment(const std::string& group, const std::string& id, const std::string& api_base,
                       const std::string& extra = "") {
  return fmt::format(
      "  - model_name: {}\n    litellm_params:\n      model: openai/m\n      api_base: {}\n      api_key: sk-x\n{}"
      "    model_info:\n      id: {}\n",
      group, api_base, extra, id);
}

// No retries, no cooldown between the tests' calls: one call, one attempt.
constexpr std::string_view kSettings = "router_settings:\n  num_retries: 0\n  disable_cooldowns: true\n";

Result<Response> ask(Router& router, const std::string& group) {
  return router.completion(
      fmt::format(R"({{"model":"{}","messages":[{{"role":"user","content":"hi"}}]}})", group));
}

void require_tls_failure(const Result<Response>& r) {
  REQUIRE_FALSE(r.ok());
  INFO(r.error().to_string());
  CHECK(r.error().kind == ErrorKind::kConnectionError);
  // libcurl's own reason survives: the user sees it is the certificate.
  CHECK_THAT(r.error().message, Catch::Contains("certificate"));
}

CannedServer make_server() { return CannedServer({pki().server_cert(), pki().server_key(), "Hello over TLS."}); }

}  // namespace

TEST_CASE("https: default verification rejects a CA the system does not trust", "[tls]") {
  CannedServer server = make_server();
  auto router = make_router(fmt::format("model_list:\n{}{}", deployment("g", "d1", server.base_url()), kSettings));
  require_tls_failure(ask(*router, "g"));
  CHECK(server.await_failed_handshakes(1) >= 1);
  CHECK(server.requests() == 0);
}

TEST_CASE("https: ssl_verify with the CA bundle path verifies the server", "[tls]") {
  CannedServer server = make_server();
  SECTION("by IP address (subjectAltName IP:127.0.0.1)") {
    auto router = make_router(fmt::format(
        "model_list:\n{}{}",
        deployment("g", "d1", server.base_url(), fmt::format("      ssl_verify: {}\n", pki().ca_cert())), kSettings));
    auto r = ask(*router, "g");
    REQUIRE(r.ok());
    CHECK_THAT(r->body, Catch::Contains("Hello over TLS."));
  }
  SECTION("by host name (subjectAltName DNS:localhost)") {
    auto router = make_router(fmt::format(
        "model_list:\n{}{}",
        deployment("g", "d1", server.base_url("localhost"), fmt::format("      ssl_verify: {}\n", pki().ca_cert())),
        kSettings));
    auto r = ask(*router, "g");
    REQUIRE(r.ok());
    CHECK_THAT(r->body, Catch::Contains("Hello over TLS."));
  }
  CHECK(server.requests() == 1);
  CHECK(server.failed_handshakes() == 0);
}

TEST_CASE("https: a CA bundle of another CA does not verify the server", "[tls]") {
  CannedServer server = make_server();
  auto router = make_router(fmt::format(
      "model_list:\n{}{}",
      deployment("g", "d1", server.base_url(), fmt::format("      ssl_verify: {}\n", pki().other_ca_cert())),
      kSettings));
  require_tls_failure(ask(*router, "g"));
  CHECK(server.requests() == 0);
}

TEST_CASE("https: ssl_verify false accepts the unverified server", "[tls]") {
  CannedServer server = make_server();
  for (const char* spelling : {"false", "\"False\""}) {
    auto router = make_router(fmt::format(
        "model_list:\n{}{}", deployment("g", "d1", server.base_url(), fmt::format("      ssl_verify: {}\n", spelling)),
        kSettings));
    auto r = ask(*router, "g");
    REQUIRE(r.ok());
    CHECK_THAT(r->body, Catch::Contains("Hello over TLS."));
  }
  CHECK(server.requests() == 2);
}

TEST_CASE("https: router-wide defaults from litellm_settings and the environment", "[tls]") {
  CannedServer server = make_server();
  SECTION("litellm_settings.ssl_verify: false; a deployment's own ssl_verify: true still verifies") {
    auto router = make_router(fmt::format("model_list:\n{}{}{}litellm_settings:\n  ssl_verify: false\n",
                                          deployment("open", "d1", server.base_url()),
                                          deployment("strict", "d2", server.base_url(), "      ssl_verify: true\n"),
                                          kSettings));
    REQUIRE(ask(*router, "open").ok());
    require_tls_failure(ask(*router, "strict"));
  }
  SECTION("SSL_VERIFY=False beats litellm_settings.ssl_verify: true") {
    auto router = make_router(fmt::format("model_list:\n{}{}litellm_settings:\n  ssl_verify: true\n",
                                          deployment("g", "d1", server.base_url()), kSettings),
                              env_of({{"SSL_VERIFY", "False"}}));
    REQUIRE(ask(*router, "g").ok());
  }
  SECTION("SSL_CERT_FILE is the CA bundle when verification is on") {
    auto router = make_router(fmt::format("model_list:\n{}{}", deployment("g", "d1", server.base_url()), kSettings),
                              env_of({{"SSL_CERT_FILE", pki().ca_cert()}}));
    REQUIRE(ask(*router, "g").ok());
  }
  SECTION("a deployment added at run time gets the router's defaults") {
    auto router = make_router(fmt::format("model_list: []\n{}litellm_settings:\n  ssl_verify: {}\n", kSettings,
                                          pki().ca_cert()));
    auto d = parse_deployment(fmt::format(
        "model_name: late\nlitellm_params:\n  model: openai/m\n  api_base: {}\nmodel_info:\n  id: d9\n",
        server.base_url()));
    REQUIRE(d.ok());
    REQUIRE(router->add_deployment(std::move(d).value()).ok());
    REQUIRE(ask(*router, "late").ok());
  }
}

TEST_CASE("https: a connection made without verification is not reused by a verifying deployment", "[tls]") {
  CannedServer server = make_server();
  auto router = make_router(fmt::format(
      "model_list:\n{}{}{}{}", deployment("insecure", "d1", server.base_url(), "      ssl_verify: false\n"),
      deployment("strict", "d2", server.base_url()),
      deployment("pinned", "d3", server.base_url(), fmt::format("      ssl_verify: {}\n", pki().ca_cert())),
      kSettings));
  REQUIRE(ask(*router, "insecure").ok());   // leaves a live keep-alive connection
  require_tls_failure(ask(*router, "strict"));
  REQUIRE(ask(*router, "pinned").ok());     // verified with its own bundle
  require_tls_failure(ask(*router, "strict"));
  REQUIRE(ask(*router, "insecure").ok());
  CHECK(server.requests() == 3);
  CHECK(server.await_failed_handshakes(2) >= 2);
}

TEST_CASE("config: a bad ssl_verify or client certificate is an error naming its path", "[tls]") {
  auto config = [](const std::string& params) {
    return parse_config(fmt::format("model_list:\n  - model_name: g\n    litellm_params:\n      model: openai/m\n{}",
                                    params),
                        env_of({}));
  };
  auto missing = config("      ssl_verify: /nonexistent/ca.pem\n");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().kind == ErrorKind::kInvalidConfig);
  CHECK_THAT(missing.error().message, Catch::StartsWith("model_list[0].litellm_params.ssl_verify: CA bundle "
                                                        "'/nonexistent/ca.pem' is not a readable file"));
  auto wrong_type = config("      ssl_verify: [1]\n");
  REQUIRE_FALSE(wrong_type.ok());
  CHECK_THAT(wrong_type.error().message, Catch::StartsWith("model_list[0].litellm_params.ssl_verify: expected true, "
                                                           "false or the path of a CA bundle file"));
  auto cert = config("      client_cert: /nonexistent/client.pem\n");
  REQUIRE_FALSE(cert.ok());
  CHECK_THAT(cert.error().message, Catch::StartsWith("model_list[0].litellm_params.client_cert: client certificate"));
  auto key_alone = config(fmt::format("      client_key: {}\n", pki().server_key()));
  REQUIRE_FALSE(key_alone.ok());
  CHECK_THAT(key_alone.error().message, Catch::Contains("client_key: needs client_cert"));
  auto env = parse_config("model_list: []\n", env_of({{"SSL_VERIFY", "maybe"}}));
  REQUIRE_FALSE(env.ok());
  CHECK_THAT(env.error().message, Catch::StartsWith("SSL_VERIFY (environment): CA bundle 'maybe'"));
  auto global = parse_config("litellm_settings:\n  ssl_verify: /nope.pem\n", env_of({}));
  REQUIRE_FALSE(global.ok());
  CHECK_THAT(global.error().message, Catch::StartsWith("litellm_settings.ssl_verify: CA bundle '/nope.pem'"));

  // The typed fields, resolved: a deployment's path, the router's default.
  auto ok = parse_config(fmt::format("model_list:\n  - model_name: g\n    litellm_params:\n      model: openai/m\n"
                                     "      ssl_verify: {0}\n      client_cert: {1}\n      client_key: {2}\n"
                                     "  - model_name: h\n    litellm_params:\n      model: openai/m\n"
                                     "litellm_settings:\n  ssl_verify: \"false\"\n",
                                     pki().ca_cert(), pki().server_cert(), pki().server_key()),
                         env_of({}));
  REQUIRE(ok.ok());
  CHECK(ok->model_list[0].ssl_verify == true);
  CHECK(ok->model_list[0].ssl_ca_bundle == pki().ca_cert());
  CHECK(ok->model_list[0].client_cert == pki().server_cert());
  CHECK(ok->model_list[0].client_key == pki().server_key());
  CHECK(ok->model_list[1].ssl_verify == false);
  CHECK(ok->model_list[1].ssl_ca_bundle.empty());
  CHECK_FALSE(ok->settings.ssl_verify);
}

namespace {

class Waiter : public transport::TransferObserver {
 public:
  void on_complete(transport::TransferResult&& r) override {
    std::lock_guard<std::mutex> lock(mu_);
    result = std::move(r);
    cv_.notify_all();
  }
  transport::TransferResult wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, 15s, [&] { return result.has_value(); });
    REQUIRE(result.has_value());
    return std::move(*result);
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<transport::TransferResult> result;
};

}  // namespace

TEST_CASE("https: the transport offers HTTP/2 by ALPN and reports the version it got", "[tls]") {
  CannedServer server = make_server();
  transport::CurlEventLoop loop;
  transport::HttpRequest request;
  request.url = server.base_url() + "/chat/completions";
  request.body = "{}";
  request.ca_bundle_path = pki().ca_cert();
  Waiter waiter;
  loop.start_transfer(request, &waiter);
  transport::TransferResult result = waiter.wait();
  REQUIRE(result.error == transport::TransferError::kNone);
  CHECK(result.status == 200);
  // The server speaks HTTP/1.1 only: libcurl asked for h2 first and fell back.
  REQUIRE(server.alpn_offers().size() == 1);
  CHECK(server.alpn_offers()[0] == "h2,http/1.1");
  CHECK(result.http_version == 11);
}

}  // namespace llmux::testing
