// AWS credentials (provider/aws_credentials.hpp) as a Bedrock-like family
// uses them, through a whole Router on the SimulatedLoop: the router asks the
// deployment's AwsCredentialProvider before each attempt, one STS fetch
// serves many calls, an advisory refresh does not hold calls back, and a
// failed fetch is an AuthenticationError naming deployment and source.
#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <string>

#include <absl/time/time.h>
#include <fmt/format.h>

#include "provider/aws_credentials.hpp"
#include "provider/openai_compatible.hpp"
#include "support/sim_router.hpp"

using namespace llmux;
using namespace llmux::testing;
using namespace std::chrono_literals;

namespace {

// The simulated run's wall clock and environment (make_auth takes neither).
SimulatedLoop* g_loop = nullptr;
const absl::Time kWallStart = absl::FromUnixSeconds(1'780'000'000);
absl::Time sim_wall() { return kWallStart + absl::FromChrono(g_loop->now() - VirtualClock::kStart); }

class SimAwsProvider final : public provider::OpenAiCompatibleProvider {
 public:
  SimAwsProvider() : OpenAiCompatibleProvider("sim_aws", "") {}
  std::shared_ptr<provider::DeploymentAuth> make_auth(const DeploymentConfig& d) const override {
    return provider::AwsCredentialProvider::from_litellm_params(
        d, [](const char* name) { return std::string(name) == "SIM_OIDC" ? "oidc-token" : ""; },
        {.wall_clock = sim_wall});
  }
  void prepare(const provider::ProviderTarget& target, transport::EventLoop& loop,
               provider::ReadyCallback ready) const override {
    static_cast<provider::AwsCredentialProvider*>(target.auth)->prepare(loop, std::move(ready));
  }
  Status build_request(const provider::ProviderTarget& target, const request::ParsedRequest& request, bool stream,
                       transport::HttpRequest& out) const override {
    Status s = OpenAiCompatibleProvider::build_request(target, request, stream, out);
    const auto& creds = static_cast<provider::AwsCredentialProvider*>(target.auth)->credentials();
    if (s.ok()) out.headers.push_back("X-Test-Access-Key: " + creds.access_key_id);
    return s;
  }
};

void register_sim_aws() {
  static const bool registered = [] {
    provider::register_provider(std::make_shared<SimAwsProvider>());
    return true;
  }();
  (void)registered;
}

const std::string kConfig =
    "model_list:\n"
    "  - model_name: claude\n    litellm_params:\n      model: sim_aws/anthropic.claude\n"
    "      custom_llm_provider: sim_aws\n      api_base: http://bedrock.sim/v1\n"
    "      aws_role_name: arn:aws:iam::123456789012:role/bedrock\n"
    "      aws_web_identity_token: SIM_OIDC\n"
    "      aws_sts_endpoint: http://sts.sim\n"
    "      aws_region_name: us-east-1\n"
    "    model_info:\n      id: bedrock-sim-1\n"
    "router_settings:\n  num_retries: 0\n";

std::string chat() { return R"({"model":"claude","messages":[{"role":"user","content":"hi"}]})"; }

std::string access_key_of(const transport::HttpRequest& r) {
  for (const auto& h : r.headers) {
    if (h.rfind("X-Test-Access-Key: ", 0) == 0) return h.substr(19);
  }
  return "";
}

}  // namespace

TEST_CASE("sim: AWS credentials fetched once for many calls, refreshed ahead of expiry without holding calls",
          "[sim][auth][aws]") {
  register_sim_aws();
  SimulatedLoop loop;
  g_loop = &loop;
  int issued = 0;
  bool sts_up = true;
  loop.route("sts.sim", [&](const transport::HttpRequest& r) {
    CHECK(r.body.find("WebIdentityToken=oidc-token") != std::string::npos);
    if (!sts_up) {
      return ScriptedResponse::json(
          503, "<ErrorResponse><Error><Code>ServiceUnavailable</Code><Message>try later</Message></Error></ErrorResponse>");
    }
    ++issued;
    const std::string expiration = absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", sim_wall() + absl::Seconds(120),
                                                    absl::UTCTimeZone());
    return ScriptedResponse::json(
        200,
        fmt::format("<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials>"
                    "<AccessKeyId>ASIASTS{0}</AccessKeyId><SecretAccessKey>s{0}</SecretAccessKey>"
                    "<SessionToken>t{0}</SessionToken><Expiration>{1}</Expiration></Credentials>"
                    "</AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>",
                    issued, expiration),
        100ms);
  });
  loop.route("bedrock.sim/v1/chat", [](const transport::HttpRequest&) {
    return ScriptedResponse::json(200, chat_completion_json("from bedrock"), 50ms);
  });
  auto made = make_sim_router(kConfig, loop);
  REQUIRE(made.ok());
  auto router = std::move(made).value();

  int done = 0;
  for (int i = 0; i < 4; ++i) {
    router->completion_async(chat(), [&](Result<Response> r) {
      CHECK(r.ok());
      ++done;
    });
  }
  loop.run_until([&] { return done == 4; });
  CHECK(done == 4);
  CHECK(issued == 1);
  CHECK(loop.request_count("sts.sim") == 1);
  for (const auto& rec : loop.requests()) {
    if (rec.request.url.find("/chat/completions") != std::string::npos) CHECK(access_key_of(rec.request) == "ASIASTS1");
  }

  // 120 s credentials: refreshed from 60 s on in the background; the call
  // that notices goes out at once with the current ones.
  loop.advance(50.0);
  REQUIRE(router->completion(chat()).ok());
  CHECK(issued == 1);
  loop.advance(15.0);
  REQUIRE(router->completion(chat()).ok());
  CHECK(access_key_of(loop.requests().back().request) == "ASIASTS1");
  loop.run_until_idle(1s);
  CHECK(issued == 2);
  REQUIRE(router->completion(chat()).ok());
  CHECK(access_key_of(loop.requests().back().request) == "ASIASTS2");

  // STS down past the credentials' expiry: the call fails as AuthenticationError.
  sts_up = false;
  loop.advance(200.0);
  auto failed = router->completion(chat());
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error().kind == ErrorKind::kAuthentication);
  CHECK(failed.error().message ==
        "deployment bedrock-sim-1: AWS credentials from STS AssumeRoleWithWebIdentity failed: HTTP 503: "
        "ServiceUnavailable: try later");
  CHECK(failed.error().metadata.deployment_id == "bedrock-sim-1");
  g_loop = nullptr;
}
