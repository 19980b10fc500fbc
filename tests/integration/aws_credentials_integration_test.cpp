// The AWS credential chain over real HTTP on loopback: the fake IMDSv2, ECS
// container endpoint and STS (tests/support/fake_aws_metadata.hpp) reached
// through the ordinary overrides (AWS_EC2_METADATA_SERVICE_ENDPOINT,
// AWS_CONTAINER_CREDENTIALS_FULL_URI, aws_sts_endpoint / AWS_ENDPOINT_URL_STS)
// on the real CurlEventLoop. Credentials that live about a second force
// refreshes; only lower bounds and counts are asserted, never durations.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "provider/aws_credentials.hpp"
#include "support/fake_aws_metadata.hpp"
#include "transport/curl_event_loop.hpp"

using namespace llmux;
using namespace llmux::provider;
using namespace std::chrono_literals;
using llmux::testing::FakeAwsMetadata;

namespace {

using EnvMap = std::map<std::string, std::string>;

AwsEnvLookup env_of(EnvMap m) {
  m.emplace("HOME", "/nonexistent");  // never the machine's own ~/.aws
  return [m = std::move(m)](const char* name) {
    auto it = m.find(name);
    return it == m.end() ? std::string() : it->second;
  };
}

DeploymentConfig deployment(std::string params_json = "{}") {
  DeploymentConfig d;
  d.id = "bedrock-live";
  d.model = "bedrock/anthropic.claude-3-haiku-20240307-v1:0";
  d.litellm_params_json = std::move(params_json);
  return d;
}

struct Outcome {
  Status status;
  AwsCredentials credentials;  // copied on the loop thread
};

// Runs `calls` prepares in one loop task (so they overlap) and waits for all.
std::vector<Outcome> prepare_all(transport::CurlEventLoop& loop, const std::shared_ptr<AwsCredentialProvider>& p,
                                 int calls = 1) {
  auto done = std::make_shared<std::promise<std::vector<Outcome>>>();
  auto results = std::make_shared<std::vector<Outcome>>();
  loop.post([&loop, p, calls, done, results] {
    for (int i = 0; i < calls; ++i) {
      p->prepare(loop, [p, calls, done, results](Status s) {
        results->push_back(Outcome{s, s.ok() ? p->credentials() : AwsCredentials{}});
        if (static_cast<int>(results->size()) == calls) done->set_value(*results);
      });
    }
  });
  return done->get_future().get();
}

Outcome prepare_one(transport::CurlEventLoop& loop, const std::shared_ptr<AwsCredentialProvider>& p) {
  return prepare_all(loop, p, 1).front();
}

std::string temp_file(std::string_view name, std::string_view text) {
  const std::string path = (std::filesystem::temp_directory_path() / fmt::format("llmux-aws-{}-{}", getpid(), name));
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

// Sets environment variables for one test and restores them after.
class ScopedEnv {
 public:
  explicit ScopedEnv(const EnvMap& vars) {
    for (const auto& [k, v] : vars) {
      const char* old = std::getenv(k.c_str());
      saved_.emplace_back(k, old ? std::optional<std::string>(old) : std::nullopt);
      setenv(k.c_str(), v.c_str(), 1);
    }
  }
  ~ScopedEnv() {
    for (const auto& [k, v] : saved_) {
      if (v) setenv(k.c_str(), v->c_str(), 1);
      else unsetenv(k.c_str());
    }
  }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

}  // namespace

TEST_CASE("aws live: IMDSv2 answers eight waiting calls with one fetch (token, role, credentials)", "[aws]") {
  FakeAwsMetadata fake;
  transport::CurlEventLoop loop;
  auto p = AwsCredentialProvider::from_litellm_params(
      deployment(), env_of({{"AWS_EC2_METADATA_SERVICE_ENDPOINT", fake.base_url() + "/"}}));
  std::vector<Outcome> got = prepare_all(loop, p, 8);
  REQUIRE(got.size() == 8);
  for (const Outcome& o : got) {
    REQUIRE(o.status.ok());
    CHECK(o.credentials.access_key_id == "ASIAFAKEIMDS1");
    CHECK(o.credentials.secret_access_key == "fake-secret-1");
    CHECK(o.credentials.session_token == "session-1");
    CHECK(o.credentials.expiration.has_value());
  }
  CHECK(fake.imds_issued() == 1);
  CHECK(fake.problems().empty());
  const auto requests = fake.requests();
  REQUIRE(requests.size() == 3);
  CHECK(requests[0].method == "PUT");
  CHECK(requests[0].path == "/latest/api/token");
  CHECK(requests[0].header("x-aws-ec2-metadata-token-ttl-seconds") == "21600");
  CHECK(requests[1].path == "/latest/meta-data/iam/security-credentials/");
  CHECK(requests[2].path == "/latest/meta-data/iam/security-credentials/llmux-test-role");
  CHECK(requests[2].header("x-aws-ec2-metadata-token") == "imds-token-1");
}

TEST_CASE("aws live: short-lived IMDS credentials are refreshed, not fetched per call", "[aws]") {
  FakeAwsMetadata fake;
  fake.set_lifetime(1200ms);
  transport::CurlEventLoop loop;
  auto p = AwsCredentialProvider::from_litellm_params(
      deployment(), env_of({{"AWS_EC2_METADATA_SERVICE_ENDPOINT", fake.base_url()}}));
  int calls = 0;
  std::string first_key;
  const auto until = std::chrono::steady_clock::now() + 2500ms;
  while (std::chrono::steady_clock::now() < until) {
    Outcome o = prepare_one(loop, p);
    REQUIRE(o.status.ok());
    if (first_key.empty()) first_key = o.credentials.access_key_id;
    ++calls;
    std::this_thread::sleep_for(25ms);
  }
  // At least one refresh in 2.5 s of 1.2 s credentials, and fewer fetches than calls.
  CHECK(fake.imds_issued() >= 2);
  CHECK(fake.imds_issued() < calls);
  CHECK(p->fetches() == fake.imds_issued());
  CHECK(prepare_one(loop, p).credentials.access_key_id != first_key);
  CHECK(fake.problems().empty());
}

TEST_CASE("aws live: the ECS container endpoint with an authorization token file", "[aws]") {
  FakeAwsMetadata fake;
  fake.expect_container_token("ecs-auth-token");
  const std::string token_file = temp_file("ecs-token", "ecs-auth-token\n");
  transport::CurlEventLoop loop;
  auto p = AwsCredentialProvider::from_litellm_params(
      deployment(), env_of({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", fake.ecs_full_uri()},
                            {"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", token_file}}));
  Outcome o = prepare_one(loop, p);
  REQUIRE(o.status.ok());
  CHECK(o.credentials.access_key_id == "ASIAFAKEECS1");
  CHECK(fake.ecs_issued() == 1);

  // A wrong token: the endpoint's 403, the source named, the token not.
  const std::string wrong_file = temp_file("ecs-wrong", "wrong-token-value");
  auto wrong = AwsCredentialProvider::from_litellm_params(
      deployment(), env_of({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", fake.ecs_full_uri()},
                            {"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", wrong_file}}));
  Outcome failed = prepare_one(loop, wrong);
  REQUIRE_FALSE(failed.status.ok());
  CHECK(failed.status.error().kind == ErrorKind::kAuthentication);
  CHECK(failed.status.error().message.starts_with(
      "deployment bedrock-live: AWS credentials from ECS container endpoint failed: credentials: HTTP 403"));
  CHECK(failed.status.error().message.find("wrong-token-value") == std::string::npos);
  std::filesystem::remove(token_file);
  std::filesystem::remove(wrong_file);
}

TEST_CASE("aws live: web identity from AWS_WEB_IDENTITY_TOKEN_FILE, refreshed as it expires", "[aws]") {
  FakeAwsMetadata fake;
  fake.expect_web_identity("arn:aws:iam::123456789012:role/irsa", "eks-projected-token");
  fake.set_lifetime(1000ms);
  const std::string token_file = temp_file("web-token", "eks-projected-token\n");
  transport::CurlEventLoop loop;
  auto p = AwsCredentialProvider::from_litellm_params(
      deployment(), env_of({{"AWS_WEB_IDENTITY_TOKEN_FILE", token_file},
                            {"AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/irsa"},
                            {"AWS_ROLE_SESSION_NAME", "pod-1"},
                            {"AWS_ENDPOINT_URL_STS", fake.base_url()}}));
  Outcome first = prepare_one(loop, p);
  REQUIRE(first.status.ok());
  CHECK(first.credentials.access_key_id == "ASIAFAKESTS1");
  CHECK(first.credentials.session_token == "session-1&more");
  const auto requests = fake.requests();
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].header("content-type") == "application/x-www-form-urlencoded; charset=utf-8");
  CHECK(requests[0].body.find("RoleSessionName=pod-1") != std::string::npos);
  CHECK(requests[0].header("authorization").empty());

  std::this_thread::sleep_for(1100ms);  // past its expiry
  Outcome second = prepare_one(loop, p);
  REQUIRE(second.status.ok());
  CHECK(second.credentials.access_key_id != "ASIAFAKESTS1");
  CHECK(fake.sts_issued() >= 2);
  CHECK(fake.problems().empty());
  std::filesystem::remove(token_file);
}

TEST_CASE("aws live: web identity named in litellm_params, and STS's refusal", "[aws]") {
  FakeAwsMetadata fake;
  fake.expect_web_identity("arn:aws:iam::1:role/bedrock", "oidc-from-env");
  transport::CurlEventLoop loop;
  const std::string params = fmt::format(
      R"({{"aws_role_name":"arn:aws:iam::1:role/bedrock","aws_session_name":"llmux-test",)"
      R"("aws_web_identity_token":"LLMUX_TEST_OIDC","aws_sts_endpoint":"{}"}})",
      fake.base_url());
  auto p = AwsCredentialProvider::from_litellm_params(deployment(params), env_of({{"LLMUX_TEST_OIDC", "oidc-from-env"}}));
  Outcome o = prepare_one(loop, p);
  REQUIRE(o.status.ok());
  CHECK(o.credentials.access_key_id == "ASIAFAKESTS1");
  CHECK(fake.requests().front().body.find("DurationSeconds=3600") != std::string::npos);

  auto refused = AwsCredentialProvider::from_litellm_params(deployment(params),
                                                            env_of({{"LLMUX_TEST_OIDC", "some-other-oidc-token"}}));
  Outcome bad = prepare_one(loop, refused);
  REQUIRE_FALSE(bad.status.ok());
  CHECK(bad.status.error().message ==
        "deployment bedrock-live: AWS credentials from STS AssumeRoleWithWebIdentity failed: HTTP 400: "
        "InvalidIdentityToken: Couldn't retrieve verification key from your identity provider");
}

TEST_CASE("aws live: the process environment is read when no lookup is given", "[aws]") {
  FakeAwsMetadata fake;
  ScopedEnv env({{"AWS_EC2_METADATA_SERVICE_ENDPOINT", fake.base_url()},
                 {"AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials"},
                 {"AWS_CONFIG_FILE", "/nonexistent/config"},
                 {"AWS_REGION", "eu-north-1"}});
  for (const char* var : {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE",
                          "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                          "AWS_EC2_METADATA_DISABLED", "AWS_REGION_NAME"}) {
    if (std::getenv(var) != nullptr) {
      WARN(std::string(var) + " is set in this environment: not run");
      return;
    }
  }
  auto p = AwsCredentialProvider::from_litellm_params(deployment());
  CHECK(p->settings().region == "eu-north-1");
  {
    transport::CurlEventLoop loop;
    Outcome o = prepare_one(loop, p);
    REQUIRE(o.status.ok());
    CHECK(o.credentials.access_key_id == "ASIAFAKEIMDS1");
  }
}

TEST_CASE("aws live: AssumeRole signed with static keys, and with IMDS credentials as the base", "[aws]") {
  FakeAwsMetadata fake;
  fake.add_known_key("AKIDBASE", "base/secret+value");
  fake.set_sts_region("eu-west-1");
  transport::CurlEventLoop loop;
  auto p = AwsCredentialProvider::from_litellm_params(
      deployment(fmt::format(R"({{"aws_role_name":"arn:aws:iam::1:role/cross","aws_session_name":"s1",)"
                             R"("aws_external_id":"ext","aws_access_key_id":"AKIDBASE",)"
                             R"("aws_secret_access_key":"base/secret+value","aws_region_name":"eu-west-1",)"
                             R"("aws_sts_endpoint":"{}"}})",
                             fake.base_url())),
      env_of({}));
  Outcome o = prepare_one(loop, p);
  REQUIRE(o.status.ok());
  CHECK(o.credentials.access_key_id == "ASIAFAKESTS1");
  CHECK(fake.problems().empty());
  const auto sent = fake.requests().back();
  CHECK(sent.body.find("Action=AssumeRole&") != std::string::npos);
  CHECK(sent.body.find("ExternalId=ext") != std::string::npos);

  // No keys: the default chain (IMDS here) signs the AssumeRole, with its session token.
  auto chained = AwsCredentialProvider::from_litellm_params(
      deployment(R"({"aws_role_name":"arn:aws:iam::1:role/cross","aws_region_name":"eu-west-1"})"),
      env_of({{"AWS_EC2_METADATA_SERVICE_ENDPOINT", fake.base_url()}, {"AWS_ENDPOINT_URL_STS", fake.base_url()}}));
  Outcome c = prepare_one(loop, chained);
  REQUIRE(c.status.ok());
  CHECK(c.credentials.access_key_id == "ASIAFAKESTS2");
  CHECK(fake.imds_issued() == 1);
  CHECK(fake.requests().back().header("x-amz-security-token") == "session-1");
  CHECK(fake.problems().empty());

  // A wrong secret: STS's SignatureDoesNotMatch, the secret nowhere in the message.
  auto wrong = AwsCredentialProvider::from_litellm_params(
      deployment(fmt::format(R"({{"aws_role_name":"arn:aws:iam::1:role/cross","aws_access_key_id":"AKIDBASE",)"
                             R"("aws_secret_access_key":"not-the-secret","aws_region_name":"eu-west-1",)"
                             R"("aws_sts_endpoint":"{}"}})",
                             fake.base_url())),
      env_of({}));
  Outcome bad = prepare_one(loop, wrong);
  REQUIRE_FALSE(bad.status.ok());
  CHECK(bad.status.error().message ==
        "deployment bedrock-live: AWS credentials from STS AssumeRole failed: HTTP 403: SignatureDoesNotMatch: The "
        "request signature we calculated does not match the signature you provided.");
}
