// Proxies (issue 10 item 5): the environment's proxy variables are honoured
// as libcurl reads them (http_proxy, HTTPS_PROXY, ALL_PROXY, NO_PROXY), plus
// upper-case HTTP_PROXY as Python reads it, once, when the Router is created. The "proxy" is a canned
// server that answers forward-proxy requests itself: its request line in
// absolute form proves the call went through it.
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "llmux/router.hpp"
#include "support/canned_server.hpp"
#include "support/fake_provider.hpp"
#include "support/test_pki.hpp"

namespace llmux::testing {
namespace {

// Sets (or unsets) proxy variables for one test and restores the previous
// values. The Router reads them when it is created; the test sets them
// before the router exists and restores them after it is gone.
class ScopedEnv {
 public:
  ScopedEnv(std::vector<std::pair<std::string, std::optional<std::string>>> vars) {
    for (const char* name : kProxyVars) {
      const char* old = std::getenv(name);
      saved_.emplace_back(name, old != nullptr ? std::optional<std::string>(old) : std::nullopt);
      ::unsetenv(name);
    }
    for (const auto& [name, value] : vars) {
      if (value) ::setenv(name.c_str(), value->c_str(), 1);
    }
  }
  ~ScopedEnv() {
    for (const auto& [name, value] : saved_) {
      if (value) {
        ::setenv(name.c_str(), value->c_str(), 1);
      } else {
        ::unsetenv(name.c_str());
      }
    }
  }

 private:
  static constexpr const char* kProxyVars[] = {"http_proxy",  "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
                                               "all_proxy",   "ALL_PROXY",  "no_proxy",    "NO_PROXY",
                                               "REQUEST_METHOD"};
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

std::unique_ptr<Router> make_router(const std::string& api_base) {
  RouterOptions opts;
  opts.log = [](std::string_view) {};
  auto r = Router::from_config(
      fmt::format("model_list:\n  - model_name: g\n    litellm_params:\n      model: openai/m\n      api_base: {}\n"
                  "      api_key: sk-x\n      ssl_verify: false\nrouter_settings:\n  num_retries: 0\n",
                  api_base),
      opts);
  if (!r.ok()) FAIL("router rejected: " << r.error().to_string());
  return std::move(r).value();
}

Result<Response> ask(Router& router) {
  return router.completion(R"({"model":"g","messages":[{"role":"user","content":"hi"}]})");
}

std::string proxy_url(const CannedServer& proxy) { return fmt::format("http://127.0.0.1:{}", proxy.port()); }

}  // namespace

TEST_CASE("proxy: http_proxy and HTTP_PROXY carry a plain-HTTP deployment's requests", "[proxy]") {
  FakeProvider provider;
  CannedServer proxy({"", "", "Hello from the proxy."});
  const std::string name = GENERATE(std::string("http_proxy"), std::string("HTTP_PROXY"));
  INFO(name);
  ScopedEnv env({{name, proxy_url(proxy)}});
  {
    auto router = make_router(provider.base_url());
    auto r = ask(*router);
    REQUIRE(r.ok());
    CHECK_THAT(r->body, Catch::Contains("Hello from the proxy."));
  }
  CHECK(provider.request_count() == 0);
  REQUIRE(proxy.request_lines().size() == 1);
  // Absolute form: a forward-proxy request for the provider's own URL.
  CHECK(proxy.request_lines()[0] == fmt::format("POST {}/chat/completions HTTP/1.1", provider.base_url()));
}

TEST_CASE("proxy: NO_PROXY keeps loopback direct", "[proxy]") {
  FakeProvider provider;
  CannedServer proxy({"", "", "Hello from the proxy."});
  const std::string proxy_var = GENERATE(std::string("http_proxy"), std::string("HTTP_PROXY"));
  const std::string no_proxy_var = GENERATE(std::string("NO_PROXY"), std::string("no_proxy"));
  INFO(proxy_var << " + " << no_proxy_var);
  ScopedEnv env({{proxy_var, proxy_url(proxy)}, {no_proxy_var, "127.0.0.1"}});
  {
    auto router = make_router(provider.base_url());
    auto r = ask(*router);
    REQUIRE(r.ok());
    CHECK_THAT(r->body, Catch::Contains("Hello from the fake provider."));
  }
  CHECK(provider.request_count() == 1);
  CHECK(proxy.requests() == 0);
}

TEST_CASE("proxy: upper-case HTTP_PROXY is ignored in a CGI process, as Python does", "[proxy]") {
  FakeProvider provider;
  CannedServer proxy({"", "", "Hello from the proxy."});
  ScopedEnv env({{"HTTP_PROXY", proxy_url(proxy)}, {"REQUEST_METHOD", "GET"}});
  {
    auto router = make_router(provider.base_url());
    REQUIRE(ask(*router).ok());
  }
  CHECK(provider.request_count() == 1);
  CHECK(proxy.requests() == 0);
}

TEST_CASE("proxy: HTTPS_PROXY tunnels an https deployment with CONNECT", "[proxy]") {
  TestPki pki;
  CannedServer origin({pki.server_cert(), pki.server_key(), "Hello over TLS."});
  CannedServer proxy({"", "", "not a tunnel"});
  ScopedEnv env({{"HTTPS_PROXY", proxy_url(proxy)}});
  {
    auto router = make_router(origin.base_url());
    // The canned "proxy" answers CONNECT with a body instead of a tunnel, so
    // the call fails; what matters is that it asked the proxy.
    auto r = ask(*router);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::kConnectionError);
  }
  REQUIRE_FALSE(proxy.request_lines().empty());
  CHECK(proxy.request_lines()[0] == fmt::format("CONNECT 127.0.0.1:{} HTTP/1.1", origin.port()));
  CHECK(origin.connections() == 0);
}

TEST_CASE("proxy: ALL_PROXY carries a plain-HTTP deployment unless http_proxy is set, even empty", "[proxy]") {
  FakeProvider provider;
  CannedServer proxy({"", "", "Hello from the proxy."});
  const std::string all_var = GENERATE(std::string("all_proxy"), std::string("ALL_PROXY"));
  const bool empty_http_proxy = GENERATE(false, true);
  INFO(all_var << (empty_http_proxy ? " with http_proxy=''" : ""));
  std::vector<std::pair<std::string, std::optional<std::string>>> vars = {{all_var, proxy_url(proxy)}};
  // libcurl takes the first variable set: an empty http_proxy means "no proxy".
  if (empty_http_proxy) vars.emplace_back("http_proxy", "");
  ScopedEnv env(vars);
  {
    auto router = make_router(provider.base_url());
    REQUIRE(ask(*router).ok());
  }
  CHECK(provider.request_count() == (empty_http_proxy ? 1 : 0));
  CHECK(proxy.requests() == (empty_http_proxy ? 0 : 1));
}

TEST_CASE("proxy: the environment is read when the Router is created", "[proxy]") {
  FakeProvider provider;
  CannedServer proxy({"", "", "Hello from the proxy."});
  const std::string name = GENERATE(std::string("http_proxy"), std::string("HTTP_PROXY"));
  INFO(name);
  SECTION("a proxy set afterwards is not used") {
    ScopedEnv env({});
    auto router = make_router(provider.base_url());
    ::setenv(name.c_str(), proxy_url(proxy).c_str(), 1);
    REQUIRE(ask(*router).ok());
    CHECK(provider.request_count() == 1);
    CHECK(proxy.requests() == 0);
  }
  SECTION("a proxy unset afterwards is still used") {
    ScopedEnv env({{name, proxy_url(proxy)}});
    auto router = make_router(provider.base_url());
    ::unsetenv(name.c_str());
    auto r = ask(*router);
    REQUIRE(r.ok());
    CHECK_THAT(r->body, Catch::Contains("Hello from the proxy."));
    CHECK(provider.request_count() == 0);
  }
}

}  // namespace llmux::testing
