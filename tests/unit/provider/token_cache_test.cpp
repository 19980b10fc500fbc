// The shared OAuth token cache: reading token answers (read_oauth_token_response)
// and the cache's timing on the simulated loop.
#include "provider/token_cache.hpp"

#include <catch2/catch.hpp>

#include <optional>
#include <string>

#include <fmt/format.h>

#include "support/simulated_loop.hpp"

using namespace llmux;
using namespace llmux::provider;
using namespace std::chrono_literals;
using llmux::testing::ScriptedResponse;
using llmux::testing::SimulatedLoop;

namespace {

transport::TransferResult answer(int status, std::string body) {
  transport::TransferResult r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

}  // namespace

TEST_CASE("read_oauth_token_response: expires_in as a number, a string, missing or junk") {
  auto n = read_oauth_token_response(answer(200, R"({"access_token":"a","expires_in":3599})"));
  REQUIRE(n.ok());
  CHECK(n->value == "a");
  CHECK(n->lifetime == std::chrono::seconds(3599));

  auto s = read_oauth_token_response(answer(200, R"({"token_type":"Bearer","expires_in":"3599","access_token":"b"})"));
  REQUIRE(s.ok());
  CHECK(s->value == "b");
  CHECK(s->lifetime == std::chrono::seconds(3599));

  auto missing = read_oauth_token_response(answer(200, R"({"access_token":"c"})"));
  REQUIRE(missing.ok());
  CHECK(missing->lifetime == std::chrono::seconds(3600));

  for (const char* junk : {R"("12x")", R"("")", "-5", "null", "[1]"}) {
    INFO(junk);
    auto j = read_oauth_token_response(answer(200, fmt::format(R"({{"access_token":"d","expires_in":{}}})", junk)));
    REQUIRE(j.ok());
    CHECK(j->lifetime == std::chrono::seconds(3600));
  }
}

TEST_CASE("read_oauth_token_response: errors carry the endpoint's error and error_description") {
  auto e = read_oauth_token_response(answer(
      401, R"({"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.","error_codes":[7000215]})"));
  REQUIRE_FALSE(e.ok());
  CHECK(e.error().kind == ErrorKind::kAuthentication);
  CHECK(e.error().message == "HTTP 401: invalid_client: AADSTS7000215: Invalid client secret provided.");

  auto only_description = read_oauth_token_response(answer(400, R"({"error_description":"bad scope"})"));
  REQUIRE_FALSE(only_description.ok());
  CHECK(only_description.error().message == "HTTP 400: bad scope");

  auto html = read_oauth_token_response(answer(503, "<html>down</html>"));
  REQUIRE_FALSE(html.ok());
  CHECK(html.error().message == "HTTP 503: <html>down</html>");

  auto no_token = read_oauth_token_response(answer(200, R"({"token_type":"Bearer"})"));
  REQUIRE_FALSE(no_token.ok());
  CHECK(no_token.error().message.find("no access_token") != std::string::npos);

  auto not_json = read_oauth_token_response(answer(200, "ok"));
  REQUIRE_FALSE(not_json.ok());

  transport::TransferResult refused;
  refused.error = transport::TransferError::kConnectFailed;
  refused.error_message = "Connection refused";
  auto r = read_oauth_token_response(refused);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("Connection refused") != std::string::npos);
}

TEST_CASE("TokenCache: single flight, margin, half-life for short tokens, retry after a failure") {
  SimulatedLoop loop;
  int issued = 0;
  int status = 200;
  std::string lifetime = "600";
  loop.route("idp.sim/token", [&](const transport::HttpRequest&) {
    if (status != 200) return ScriptedResponse::json(status, R"({"error":"temporarily_unavailable"})");
    return ScriptedResponse::json(
        200, fmt::format(R"({{"access_token":"t{}","expires_in":{}}})", ++issued, lifetime), 50ms);
  });
  TokenCache cache("dep-7", "test token", 120s,
                   TokenSource{.build_request =
                                   [](transport::HttpRequest& out) {
                                     out.url = "http://idp.sim/token";
                                     return Status::Ok();
                                   },
                               .read_response = read_oauth_token_response});
  auto prepare = [&] {
    std::optional<Status> got;
    loop.post([&] { cache.prepare(loop, [&](Status s) { got = s; }); });
    loop.run_until([&] { return got.has_value(); });
    REQUIRE(got);
    return *got;
  };

  // Five waiters, one fetch.
  int ready = 0;
  for (int i = 0; i < 5; ++i) {
    loop.post([&] { cache.prepare(loop, [&](Status s) { CHECK(s.ok()); ++ready; }); });
  }
  loop.run_until([&] { return ready == 5; });
  CHECK(cache.fetches() == 1);
  CHECK(cache.token() == "t1");

  loop.advance(479.0);  // 600 - 120 - 1 (the fetch took 50 ms)
  CHECK(prepare().ok());
  CHECK(cache.fetches() == 1);
  loop.advance(1.5);
  CHECK(prepare().ok());
  CHECK(cache.fetches() == 2);
  CHECK(cache.token() == "t2");

  // A 60 s token is refreshed at half its life, not on every call.
  lifetime = "60";
  loop.advance(600.0);
  CHECK(prepare().ok());
  CHECK(cache.fetches() == 3);
  loop.advance(29.0);
  CHECK(prepare().ok());
  CHECK(cache.fetches() == 3);
  loop.advance(2.0);
  CHECK(prepare().ok());
  CHECK(cache.fetches() == 4);

  // A failure reaches the waiter, names the deployment; the next call retries.
  status = 503;
  loop.advance(600.0);
  Status failed = prepare();
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error().kind == ErrorKind::kAuthentication);
  CHECK(failed.error().message ==
        "deployment dep-7: test token fetch failed: HTTP 503: temporarily_unavailable");
  status = 200;
  CHECK(prepare().ok());
  CHECK(cache.fetches() == 6);
}
