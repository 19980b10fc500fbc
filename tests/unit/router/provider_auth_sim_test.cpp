// A provider that owns per-deployment credentials and refreshes them on the
// router's loop (Provider::make_auth / prepare): the shape OAuth tokens
// (Vertex AI, Entra ID) and cloud credentials take. The family here fetches
// a bearer token from `<api_base>/token`; the whole Router runs on the
// SimulatedLoop, so expiry and refresh happen in virtual time.
#include <catch2/catch.hpp>

#include <deque>
#include <memory>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "provider/openai_compatible.hpp"
#include "provider/token_cache.hpp"
#include "support/sim_router.hpp"

using namespace llmux;
using namespace llmux::testing;
using namespace std::chrono_literals;

namespace {

// Refreshed this long before it expires, so no call goes out with a token
// about to lapse.
constexpr Duration kRefreshMargin = 60s;

// The deployment's token, in the shared cache every OAuth family uses.
class TokenAuth final : public provider::DeploymentAuth {
 public:
  explicit TokenAuth(const DeploymentConfig& d)
      : cache_(d.id, "sim token", kRefreshMargin,
               provider::TokenSource{
                   .build_request =
                       [url = d.api_base + "/token"](transport::HttpRequest& out) {
                         out.url = url;
                         out.method = "GET";
                         return Status::Ok();
                       },
                   .read_response = provider::read_oauth_token_response,
               }) {}

  void prepare(transport::EventLoop& loop, provider::ReadyCallback ready) { cache_.prepare(loop, std::move(ready)); }
  const std::string& token() const { return cache_.token(); }

 private:
  provider::TokenCache cache_;
};

class TokenProvider final : public provider::OpenAiCompatibleProvider {
 public:
  TokenProvider() : OpenAiCompatibleProvider("sim_token", "") {}
  std::shared_ptr<provider::DeploymentAuth> make_auth(const DeploymentConfig& d) const override {
    return std::make_shared<TokenAuth>(d);
  }
  void prepare(const provider::ProviderTarget& target, transport::EventLoop& loop,
               provider::ReadyCallback ready) const override {
    static_cast<TokenAuth*>(target.auth)->prepare(loop, std::move(ready));
  }
  Status build_request(const provider::ProviderTarget& target, const request::ParsedRequest& request, bool stream,
                       transport::HttpRequest& out) const override {
    Status s = OpenAiCompatibleProvider::build_request(target, request, stream, out);
    if (s.ok()) out.headers.push_back("Authorization: Bearer " + static_cast<TokenAuth*>(target.auth)->token());
    return s;
  }
};

const std::string kConfig =
    "model_list:\n"
    "  - model_name: g\n    litellm_params:\n      model: sim_token/m\n      custom_llm_provider: sim_token\n"
    "      api_base: http://cloud.sim/v1\n"
    "    model_info:\n      id: cloud-1\n"
    "router_settings:\n  num_retries: 0\n";

// Once per process: the registry is process-wide.
void register_token_provider() {
  static const bool registered = [] {
    provider::register_provider(std::make_shared<TokenProvider>());
    return true;
  }();
  (void)registered;
}

std::string chat() { return R"({"model":"g","messages":[{"role":"user","content":"hi"}]})"; }

std::string header(const transport::HttpRequest& r, std::string_view name) {
  for (const auto& h : r.headers) {
    if (h.rfind(name, 0) == 0) return h;
  }
  return "";
}

}  // namespace

TEST_CASE("sim: provider credentials are fetched on the loop once for many calls and refreshed before expiry",
          "[sim][auth]") {
  register_token_provider();

  SimulatedLoop loop;
  int tokens_issued = 0;
  bool token_endpoint_up = true;
  loop.route("cloud.sim/v1/token", [&](const transport::HttpRequest&) {
    if (!token_endpoint_up) return ScriptedResponse::error(500, "identity service down");
    return ScriptedResponse::json(200, fmt::format(R"({{"access_token":"tok-{}","expires_in":300}})", ++tokens_issued),
                                  200ms);
  });
  loop.route("cloud.sim/v1/chat", [](const transport::HttpRequest&) {
    return ScriptedResponse::json(200, chat_completion_json("from the cloud"));
  });
  auto made = make_sim_router(kConfig, loop);
  REQUIRE(made.ok());
  auto router = std::move(made).value();

  // Three calls at once: one token fetch, and every request carries its token.
  int done = 0;
  for (int i = 0; i < 3; ++i) {
    router->completion_async(chat(), [&](Result<Response> r) {
      CHECK(r.ok());
      ++done;
    });
  }
  loop.run_until([&] { return done == 3; });
  CHECK(done == 3);
  CHECK(tokens_issued == 1);
  CHECK(loop.request_count("/token") == 1);
  for (const auto& rec : loop.requests()) {
    if (rec.request.url.find("/chat/completions") != std::string::npos) {
      CHECK(header(rec.request, "Authorization") == "Authorization: Bearer tok-1");
    }
  }

  // Within the margin of its expiry the token is refreshed before the call.
  loop.advance(200.0);
  REQUIRE(router->completion(chat()).ok());
  CHECK(tokens_issued == 1);
  loop.advance(50.0);  // 250 s: less than 60 s left
  REQUIRE(router->completion(chat()).ok());
  CHECK(tokens_issued == 2);
  CHECK(header(loop.requests().back().request, "Authorization") == "Authorization: Bearer tok-2");

  // A failed refresh is an AuthenticationError naming the deployment.
  token_endpoint_up = false;
  loop.advance(300.0);
  auto failed = router->completion(chat());
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error().kind == ErrorKind::kAuthentication);
  CHECK(failed.error().message.find("cloud-1") != std::string::npos);
  CHECK(failed.error().metadata.deployment_id == "cloud-1");
}

TEST_CASE("sim: a call cancelled while its provider refreshes credentials ends once; the late answer is ignored",
          "[sim][auth]") {
  register_token_provider();
  SimulatedLoop loop;
  loop.route("cloud.sim/v1/token", [](const transport::HttpRequest&) {
    return ScriptedResponse::json(200, R"({"access_token":"tok-9","expires_in":300})", 5s);
  });
  loop.route("cloud.sim/v1/chat", [](const transport::HttpRequest&) {
    return ScriptedResponse::json(200, chat_completion_json("late"));
  });
  auto made = make_sim_router(kConfig, loop);
  REQUIRE(made.ok());
  auto router = std::move(made).value();
  int calls = 0;
  std::optional<ErrorKind> kind;
  const uint64_t id = router->completion_async(chat(), [&](Result<Response> r) {
    ++calls;
    if (!r.ok()) kind = r.error().kind;
  });
  loop.advance(1.0);  // the token fetch is under way
  CHECK(router->cancel(id));
  loop.run_until_idle();
  CHECK(calls == 1);
  CHECK(kind == ErrorKind::kCancelled);
  CHECK(loop.request_count("/chat/completions") == 0);
}
