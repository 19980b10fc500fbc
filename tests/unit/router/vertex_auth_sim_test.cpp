// Vertex AI's Google token in virtual time: a whole Router on the
// SimulatedLoop, so the 225 s refresh margin (google-auth's 3 min 45 s) is
// checked to the second, and a failed refresh is seen by the calls that need
// it.
#include <catch2/catch.hpp>

#include <ctime>
#include <string>

#include <fmt/format.h>

#include "support/fake_google.hpp"
#include "support/sim_router.hpp"

using namespace llmux;
using namespace llmux::testing;
using namespace std::chrono_literals;

namespace {

// The test key as a YAML flow string (JSON text is valid YAML in double quotes).
std::string credentials_yaml() {
  std::string json = google_test_key_json();
  const std::string from = "https://oauth2.googleapis.com/token";
  json.replace(json.find(from), from.size(), "http://google.sim/token");
  std::string out = "'";
  for (char c : json) {
    if (c == '\n') continue;
    if (c == '\'') out += "'";
    out.push_back(c);
  }
  return out + "'";
}

std::string config() {
  return fmt::format(
      "model_list:\n"
      "  - model_name: oss\n"
      "    litellm_params:\n"
      "      model: vertex_ai/openai/gpt-oss-120b-maas\n"
      "      vertex_project: sim-proj\n"
      "      vertex_location: global\n"
      "      api_base: http://vertex.sim\n"
      "      vertex_credentials: {}\n"
      "    model_info:\n"
      "      id: vertex-sim\n"
      "router_settings:\n"
      "  num_retries: 0\n",
      credentials_yaml());
}

std::string chat() { return R"({"model":"oss","messages":[{"role":"user","content":"hi"}]})"; }

std::string authorization(const transport::HttpRequest& r) {
  for (const auto& h : r.headers) {
    if (h.rfind("Authorization: ", 0) == 0) return h.substr(15);
  }
  return "";
}

}  // namespace

TEST_CASE("sim: a Vertex token is refreshed 225 s before it expires, and a failed refresh names the deployment",
          "[sim][vertex]") {
  SimulatedLoop loop;
  const std::string public_key = [] {
    std::string json = google_test_key_json();
    const size_t b = json.find("-----BEGIN");
    const size_t e = json.find("-----", json.find("-----END") + 8) + 5;
    std::string pem = json.substr(b, e - b);
    for (size_t at; (at = pem.find("\\n")) != std::string::npos;) pem.replace(at, 2, "\n");
    return public_half(pem);
  }();
  int issued = 0;
  bool up = true;
  std::string rejected;
  loop.route("google.sim/token", [&](const transport::HttpRequest& r) {
    if (!up) return ScriptedResponse::json(503, R"({"error":"temporarily_unavailable"})");
    const std::string assertion = r.body.substr(r.body.find("assertion=") + 10);
    const std::string why = check_google_jwt(assertion, public_key, static_cast<int64_t>(std::time(nullptr)));
    if (!why.empty()) rejected = why;
    return ScriptedResponse::json(200, fmt::format(R"({{"access_token":"tok-{}","expires_in":3600}})", ++issued));
  });
  loop.route("vertex.sim/v1/projects/sim-proj/locations/global/endpoints/openapi/chat/completions",
             [](const transport::HttpRequest&) { return ScriptedResponse::json(200, chat_completion_json("ok")); });
  auto made = make_sim_router(config(), loop);
  REQUIRE(made.ok());
  auto router = std::move(made).value();

  REQUIRE(router->completion(chat()).ok());
  CHECK(issued == 1);
  CHECK(rejected == "");
  CHECK(authorization(loop.requests().back().request) == "Bearer tok-1");

  // 3600 - 225 = 3375 s: still fresh one second before, refreshed at the mark.
  loop.advance(3374.0);
  REQUIRE(router->completion(chat()).ok());
  CHECK(issued == 1);
  loop.advance(1.0);
  REQUIRE(router->completion(chat()).ok());
  CHECK(issued == 2);
  CHECK(authorization(loop.requests().back().request) == "Bearer tok-2");
  CHECK(loop.request_count("/chat/completions") == 3);

  // The next refresh fails: the call fails before any request goes out.
  up = false;
  loop.advance(3400.0);
  auto failed = router->completion(chat());
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error().kind == ErrorKind::kAuthentication);
  CHECK(failed.error().message ==
        "deployment vertex-sim: Google access token fetch failed: HTTP 503: temporarily_unavailable");
  CHECK(loop.request_count("/chat/completions") == 3);
  // It comes back: the next call fetches again.
  up = true;
  loop.advance(120.0);  // past the cooldown of the failed deployment
  CHECK(router->completion(chat()).ok());
  CHECK(issued == 3);
}
