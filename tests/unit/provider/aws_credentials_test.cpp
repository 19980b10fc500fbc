// The AWS credential chain of Bedrock deployments (providers.md §5.1, §5.5):
// settings and region resolution, the shared files, STS and metadata
// answers, which source a deployment uses, and the provider's cache —
// single flight, advisory/mandatory refresh and failure wording — in
// virtual time on the simulated loop.
#include "provider/aws_credentials.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <absl/time/time.h>
#include <fmt/format.h>

#include "provider/aws_credential_sources.hpp"
#include "provider/aws_shared_config.hpp"
#include "provider/aws_sigv4.hpp"
#include "common/strings.hpp"
#include "support/simulated_loop.hpp"

using namespace llmux;
using namespace llmux::provider;
using namespace std::chrono_literals;
using llmux::testing::ScriptedResponse;
using llmux::testing::SimulatedLoop;
using llmux::testing::VirtualClock;

namespace {

constexpr std::string_view kCanary = "CANARY-SECRET-7f3a";

using EnvMap = std::map<std::string, std::string>;

AwsEnvLookup env_of(EnvMap m) {
  return [m = std::move(m)](const char* name) {
    auto it = m.find(name);
    return it == m.end() ? std::string() : it->second;
  };
}

DeploymentConfig deployment(std::string params_json, std::string model = "bedrock/anthropic.claude-3-haiku") {
  DeploymentConfig d;
  d.id = "bedrock-1";
  d.model = std::move(model);
  d.litellm_params_json = std::move(params_json);
  return d;
}

// A temporary directory, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/llmux-aws-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string write(const std::string& name, std::string_view text) const {
    const std::string p = path_ + "/" + name;
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

transport::TransferResult answer(int status, std::string body) {
  transport::TransferResult r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

std::string sts_xml(std::string_view key, std::string_view secret, std::string_view expiration) {
  return fmt::format(
      "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
      "<AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>{}</AccessKeyId>"
      "<SecretAccessKey>{}</SecretAccessKey><SessionToken>tok&amp;en&lt;1&gt;</SessionToken>"
      "<Expiration>{}</Expiration></Credentials></AssumeRoleWithWebIdentityResult>"
      "</AssumeRoleWithWebIdentityResponse>",
      key, secret, expiration);
}

// The wall clock of a simulated run: fixed at the start, moving with the loop.
WallClock wall_of(SimulatedLoop& loop) {
  const absl::Time base = absl::FromUnixSeconds(1'780'000'000);
  return [&loop, base] { return base + absl::FromChrono(loop.now() - VirtualClock::kStart); };
}

std::string iso(absl::Time t) { return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone()); }

// Calls prepare on the loop and runs it until `ready` was called.
Status prepare_now(AwsCredentialProvider& p, SimulatedLoop& loop) {
  std::optional<Status> got;
  loop.post([&] { p.prepare(loop, [&](Status s) { got = s; }); });
  loop.run_until([&] { return got.has_value(); });
  REQUIRE(got);
  return *got;
}

}  // namespace

// ---------------------------------------------------------------------------
// Settings.

TEST_CASE("aws settings: litellm_params win, else the upper-cased environment variables") {
  const EnvMap env = {{"AWS_ACCESS_KEY_ID", "AKIDENV"},    {"AWS_SECRET_ACCESS_KEY", "env-secret"},
                      {"AWS_SESSION_TOKEN", "env-token"},   {"AWS_SESSION_NAME", "env-session"},
                      {"AWS_EXTERNAL_ID", "env-external"},  {"AWS_PROFILE_NAME", "env-profile"},
                      {"AWS_STS_ENDPOINT", "http://sts.env/"}};
  AwsSettings from_env = resolve_aws_settings(deployment("{}"), env_of(env));
  CHECK(from_env.access_key_id == "AKIDENV");
  CHECK(from_env.secret_access_key == "env-secret");
  CHECK(from_env.session_token == "env-token");
  CHECK_FALSE(from_env.keys_from_params);
  CHECK(from_env.session_name == "env-session");
  CHECK(from_env.external_id == "env-external");
  CHECK(from_env.profile_name == "env-profile");
  CHECK(from_env.sts_endpoint == "http://sts.env");

  AwsSettings from_params = resolve_aws_settings(
      deployment(R"({"aws_access_key_id":"AKIDPARAM","aws_secret_access_key":"param-secret",)"
                 R"("aws_session_name":"s","aws_sts_endpoint":"http://sts.param"})"),
      env_of(env));
  CHECK(from_params.access_key_id == "AKIDPARAM");
  CHECK(from_params.secret_access_key == "param-secret");
  CHECK(from_params.session_token.empty());  // the environment's token belongs to the environment's keys
  CHECK(from_params.keys_from_params);
  CHECK(from_params.session_name == "s");
  CHECK(from_params.sts_endpoint == "http://sts.param");
}

TEST_CASE("aws settings: AWS_ROLE_NAME and AWS_WEB_IDENTITY_TOKEN in the environment do not turn on role assumption") {
  const EnvMap env = {{"AWS_ROLE_NAME", "arn:aws:iam::1:role/stray"}, {"AWS_WEB_IDENTITY_TOKEN", "TOKEN_VAR"},
                      {"AWS_EC2_METADATA_DISABLED", "true"}};
  AwsSettings s = resolve_aws_settings(deployment("{}"), env_of(env));
  CHECK(s.role_name.empty());
  CHECK(s.web_identity_token.empty());
  CHECK(choose_aws_credential_source(s)->name() == "the default credential chain");

  AwsSettings explicit_role = resolve_aws_settings(
      deployment(R"({"aws_role_name":"arn:aws:iam::1:role/r","aws_web_identity_token":"MY_TOKEN_VAR"})"),
      env_of({{"MY_TOKEN_VAR", "the-oidc-token"}}));
  CHECK(explicit_role.role_name == "arn:aws:iam::1:role/r");
  CHECK(explicit_role.web_identity_token_value == "the-oidc-token");
  CHECK(explicit_role.web_identity_token_path.empty());
  CHECK(choose_aws_credential_source(explicit_role)->name() == "STS AssumeRoleWithWebIdentity");

  AwsSettings token_file = resolve_aws_settings(
      deployment(R"({"aws_role_name":"arn:aws:iam::1:role/r","aws_web_identity_token":"/var/run/token"})"),
      env_of({}));
  CHECK(token_file.web_identity_token_value.empty());
  CHECK(token_file.web_identity_token_path == "/var/run/token");
}

TEST_CASE("aws settings: the region follows providers.md 5.1") {
  TempDir dir;
  const std::string config = dir.write("config",
                                       "[default]\nregion = eu-west-1\n"
                                       "[profile dev]\nregion = ap-south-1\n");
  EnvMap env = {{"AWS_CONFIG_FILE", config}};
  CHECK(resolve_aws_settings(deployment("{}"), env_of(env)).region == "eu-west-1");
  env["AWS_PROFILE"] = "dev";
  CHECK(resolve_aws_settings(deployment("{}"), env_of(env)).region == "ap-south-1");
  env["AWS_DEFAULT_REGION"] = "us-east-2";
  CHECK(resolve_aws_settings(deployment("{}"), env_of(env)).region == "us-east-2");
  env["AWS_REGION"] = "ca-central-1";
  CHECK(resolve_aws_settings(deployment("{}"), env_of(env)).region == "ca-central-1");
  env["AWS_REGION_NAME"] = "sa-east-1";
  CHECK(resolve_aws_settings(deployment("{}"), env_of(env)).region == "sa-east-1");
  const std::string arn_model =
      "bedrock/converse/arn:aws:bedrock:eu-central-1:123456789012:inference-profile/eu.anthropic.claude-3-haiku";
  CHECK(resolve_aws_settings(deployment("{}", arn_model), env_of(env)).region == "eu-central-1");
  CHECK(resolve_aws_settings(deployment(R"({"aws_region_name":"us-east-1"})", arn_model), env_of(env)).region ==
        "us-east-1");
  CHECK(resolve_aws_settings(deployment("{}"), env_of({})).region == "us-west-2");

  CHECK(region_from_model_arn("arn:aws:bedrock:us-east-1:1:provisioned-model/abc") == "us-east-1");
  CHECK(region_from_model_arn("anthropic.claude-3-haiku-20240307-v1:0").empty());
  CHECK(region_from_model_arn("arn:aws").empty());
  CHECK(region_from_model_arn("bedrock/invoke/arn:aws-us-gov:bedrock:us-gov-west-1:1:x") == "us-gov-west-1");
  CHECK(region_from_model_arn("meta.learn:aws:bedrock:us-east-1:1:x").empty());
}

TEST_CASE("aws settings: STS and IMDS endpoints") {
  CHECK(resolve_aws_settings(deployment(R"({"aws_region_name":"eu-west-3"})"), env_of({})).sts_endpoint ==
        "https://sts.eu-west-3.amazonaws.com");
  CHECK(resolve_aws_settings(deployment("{}"), env_of({{"AWS_ENDPOINT_URL", "http://all.local/"}})).sts_endpoint ==
        "http://all.local");
  CHECK(resolve_aws_settings(deployment("{}"), env_of({{"AWS_ENDPOINT_URL", "http://all.local"},
                                                       {"AWS_ENDPOINT_URL_STS", "http://sts.local"}}))
            .sts_endpoint == "http://sts.local");
  AwsSettings imds = resolve_aws_settings(deployment("{}"), env_of({}));
  CHECK(imds.imds_endpoint == "http://169.254.169.254");
  CHECK_FALSE(imds.imds_disabled);
  CHECK(resolve_aws_settings(deployment("{}"), env_of({{"AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9/"}}))
            .imds_endpoint == "http://127.0.0.1:9");
  CHECK(resolve_aws_settings(deployment("{}"), env_of({{"AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "IPv6"}}))
            .imds_endpoint == "http://[fd00:ec2::254]");
  CHECK(resolve_aws_settings(deployment("{}"), env_of({{"AWS_EC2_METADATA_DISABLED", "TRUE"}})).imds_disabled);
}

// ---------------------------------------------------------------------------
// Shared files and answers.

TEST_CASE("aws shared files: INI as botocore reads it") {
  const IniFile ini = parse_aws_ini(
      "# comment\n"
      "[default]\r\n"
      "aws_access_key_id = AKID1\r\n"
      "AWS_Secret_Access_Key=secret=with=equals\n"
      "; another comment\n"
      "s3 =\n"
      "  max_concurrent_requests = 20\n"
      "[profile dev]\n"
      "region: eu-west-1\n"
      "orphan line\n"
      "[broken\n"
      "aws_access_key_id = lost\n");
  REQUIRE(ini.contains("default"));
  CHECK(ini.at("default").at("aws_access_key_id") == "AKID1");
  CHECK(ini.at("default").at("aws_secret_access_key") == "secret=with=equals");
  CHECK(ini.at("default").at("s3").empty());
  CHECK_FALSE(ini.at("default").contains("max_concurrent_requests"));
  CHECK(ini.at("profile dev").at("region") == "eu-west-1");
  CHECK(ini.size() == 2);

  TempDir dir;
  const std::string creds = dir.write("credentials", "[dev]\naws_access_key_id = AKIDCRED\n");
  const std::string config = dir.write("config",
                                       "[profile dev]\naws_access_key_id = AKIDCONF\naws_secret_access_key = s\n"
                                       "region = eu-west-1\n[default]\nregion = us-east-1\n");
  AwsProfile dev = load_aws_profile(creds, config, "dev");
  CHECK(dev.found);
  CHECK(dev.value("aws_access_key_id") == "AKIDCRED");  // the credentials file wins
  CHECK(dev.value("aws_secret_access_key") == "s");
  CHECK(dev.value("region") == "eu-west-1");
  CHECK(load_aws_profile(creds, config, "default").value("region") == "us-east-1");
  CHECK_FALSE(load_aws_profile(creds, config, "nope").found);
  CHECK_FALSE(load_aws_profile(dir.path() + "/missing", dir.path() + "/missing2", "dev").found);
}

TEST_CASE("aws answers: STS XML with entities, errors, junk") {
  auto ok = read_sts_credentials(answer(200, sts_xml("ASIA1", "sec/ret+1", "2026-12-02T07:26:15Z")));
  REQUIRE(ok.ok());
  CHECK(ok->access_key_id == "ASIA1");
  CHECK(ok->secret_access_key == "sec/ret+1");
  CHECK(ok->session_token == "tok&en<1>");
  REQUIRE(ok->expiration);
  CHECK(*ok->expiration == absl::FromUnixSeconds(1796196375));

  auto denied = read_sts_credentials(answer(
      403, "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type>"
           "<Code>AccessDenied</Code><Message>Not authorized to perform sts:AssumeRoleWithWebIdentity</Message>"
           "</Error><RequestId>x</RequestId></ErrorResponse>"));
  REQUIRE_FALSE(denied.ok());
  CHECK(denied.error().kind == ErrorKind::kAuthentication);
  CHECK(denied.error().message == "HTTP 403: AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity");

  CHECK(read_sts_credentials(answer(200, "<a><b>")).error().message ==
        "HTTP 200 but the answer is not well-formed XML");
  CHECK(read_sts_credentials(answer(200, "<Response><Result/></Response>")).error().message ==
        "HTTP 200 but no Credentials (AccessKeyId, SecretAccessKey) in the answer");
  CHECK(read_sts_credentials(answer(200, sts_xml("A", "B", "tomorrow"))).error().message ==
        "unreadable Expiration 'tomorrow'");
  CHECK(read_sts_credentials(answer(502, "bad gateway")).error().message.starts_with("HTTP 502: "));
  transport::TransferResult refused;
  refused.error = transport::TransferError::kConnectFailed;
  refused.error_message = "Connection refused";
  CHECK(read_sts_credentials(refused).error().message.starts_with("no answer ("));
}

TEST_CASE("aws answers: container / IMDS JSON, and timestamps") {
  auto ok = read_aws_json_credentials(answer(
      200, R"({"Code":"Success","AccessKeyId":"ASIA2","SecretAccessKey":"s2","Token":"t2","Expiration":"2026-12-02T07:26:15Z"})"));
  REQUIRE(ok.ok());
  CHECK(ok->access_key_id == "ASIA2");
  CHECK(ok->session_token == "t2");
  CHECK(ok->expiration == absl::FromUnixSeconds(1796196375));
  // ECS answers carry no Code.
  CHECK(read_aws_json_credentials(answer(200, R"({"AccessKeyId":"A","SecretAccessKey":"B"})")).ok());
  CHECK(read_aws_json_credentials(answer(200, R"({"Code":"AssumeRoleUnauthorizedAccess","Message":"denied"})"))
            .error()
            .message == "credentials: Code AssumeRoleUnauthorizedAccess: denied");
  CHECK(read_aws_json_credentials(answer(200, "not json")).error().message ==
        "credentials: HTTP 200 but the answer is not a JSON object");
  CHECK(read_aws_json_credentials(answer(200, R"({"AccessKeyId":"A"})")).error().message ==
        "credentials: HTTP 200 but no AccessKeyId / SecretAccessKey");

  CHECK(parse_aws_time("2026-12-02T07:26:15Z") == absl::FromUnixSeconds(1796196375));
  CHECK(parse_aws_time("2026-12-02T07:26:15.500Z") == absl::FromUnixMillis(1796196375500));
  CHECK(parse_aws_time("2026-12-02T08:26:15+01:00") == absl::FromUnixSeconds(1796196375));
  CHECK_FALSE(parse_aws_time("infinite-future"));
  CHECK_FALSE(parse_aws_time("2026-12-02"));
  CHECK_FALSE(parse_aws_time(""));
}

// ---------------------------------------------------------------------------
// Which source.

TEST_CASE("aws sources: LiteLLM's order, then boto3's default chain") {
  auto source_of = [](std::string params, EnvMap env) {
    return choose_aws_credential_source(resolve_aws_settings(deployment(std::move(params)), env_of(std::move(env))))
        ->name();
  };
  CHECK(source_of(R"({"aws_access_key_id":"A","aws_secret_access_key":"B"})", {}) == "static keys (litellm_params)");
  CHECK(source_of("{}", {{"AWS_ACCESS_KEY_ID", "A"}, {"AWS_SECRET_ACCESS_KEY", "B"}}) ==
        "environment (AWS_ACCESS_KEY_ID)");
  // A profile in litellm_params comes before static keys.
  CHECK(source_of(R"({"aws_profile_name":"dev","aws_access_key_id":"A","aws_secret_access_key":"B"})", {}) ==
        "profile 'dev'");
  CHECK(source_of(R"({"aws_role_name":"arn:aws:iam::1:role/r"})", {}) == "STS AssumeRole");
  CHECK(source_of(R"({"aws_role_name":"arn:aws:iam::1:role/r","aws_web_identity_token":"/t"})", {}) ==
        "STS AssumeRoleWithWebIdentity");
  // Already running as the role through IRSA: no AssumeRole.
  CHECK(source_of(R"({"aws_role_name":"arn:aws:iam::1:role/r"})",
                  {{"AWS_ROLE_ARN", "arn:aws:iam::1:role/r"}, {"AWS_WEB_IDENTITY_TOKEN_FILE", "/t"}}) ==
        "STS AssumeRoleWithWebIdentity");
  CHECK(source_of("{}", {}) == "the default credential chain");
  CHECK(source_of(R"({"aws_access_key_id":"A"})", {}) == "static keys (litellm_params)");
}

TEST_CASE("aws sources: the default chain picks at fetch time, each member named in errors") {
  TempDir dir;
  SimulatedLoop loop;
  auto fetch = [&](EnvMap env, std::string params = "{}") {
    env.emplace("AWS_SHARED_CREDENTIALS_FILE", dir.path() + "/credentials");
    env.emplace("AWS_CONFIG_FILE", dir.path() + "/config");
    auto p = AwsCredentialProvider::from_litellm_params(deployment(std::move(params)), env_of(std::move(env)),
                                                        {.wall_clock = wall_of(loop)});
    Status s = prepare_now(*p, loop);
    return std::make_pair(s, s.ok() ? p->credentials() : AwsCredentials{});
  };

  // Nothing anywhere, IMDS off.
  auto [none, _] = fetch({{"AWS_EC2_METADATA_DISABLED", "true"}});
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().message.starts_with(
      "deployment bedrock-1: AWS credentials from the default credential chain failed: no credentials found"));

  // The default profile of the credentials file.
  dir.write("credentials", "[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = file-secret\n"
                           "aws_session_token = file-token\n[other]\naws_access_key_id = AKIDOTHER\n"
                           "aws_secret_access_key = other-secret\n");
  auto [from_file, creds] = fetch({});
  REQUIRE(from_file.ok());
  CHECK(creds.access_key_id == "AKIDFILE");
  CHECK(creds.secret_access_key == "file-secret");
  CHECK(creds.session_token == "file-token");
  CHECK_FALSE(creds.expiration);

  // AWS_PROFILE picks another; a missing one is an error (boto3's ProfileNotFound).
  CHECK(fetch({{"AWS_PROFILE", "other"}}).second.access_key_id == "AKIDOTHER");
  auto [missing, _2] = fetch({{"AWS_PROFILE", "ghost"}});
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().message.find("AWS_PROFILE ghost is in neither") != std::string::npos);

  // aws_profile_name reads [profile x] of the config file too.
  dir.write("config", "[profile cfg]\naws_access_key_id = AKIDCFG\naws_secret_access_key = cfg-secret\n"
                      "[profile sso]\nsso_session = corp\n");
  CHECK(fetch({}, R"({"aws_profile_name":"cfg"})").second.access_key_id == "AKIDCFG");
  auto [sso, _3] = fetch({}, R"({"aws_profile_name":"sso"})");
  REQUIRE_FALSE(sso.ok());
  CHECK(sso.error().message ==
        "deployment bedrock-1: AWS credentials from profile 'sso' failed: AWS SSO in a profile is not supported yet");
  auto [ghost, _4] = fetch({}, R"({"aws_profile_name":"ghost"})");
  REQUIRE_FALSE(ghost.ok());
  CHECK(ghost.error().message.starts_with("deployment bedrock-1: AWS credentials from profile 'ghost' failed: "
                                          "the profile is in neither "));

  // With no usable profile: the container endpoint, then IMDS.
  std::filesystem::remove(dir.path() + "/credentials");
  loop.route("169.254.170.2/creds", [](const transport::HttpRequest&) {
    return ScriptedResponse::json(200, R"({"AccessKeyId":"ASIAECS","SecretAccessKey":"s","Token":"t"})");
  });
  CHECK(fetch({{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/creds"}}).second.access_key_id == "ASIAECS");
  auto [imds, _5] = fetch({{"AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://imds.down"}});
  REQUIRE_FALSE(imds.ok());  // no route: the token request times out after 1 s
  CHECK(imds.error().message.starts_with("deployment bedrock-1: AWS credentials from IMDS failed: no answer ("));
}

// ---------------------------------------------------------------------------
// The cache, in virtual time.

namespace {

// An IMDS on the simulated loop: token, role, credentials expiring
// `lifetime` after they are issued (on the simulated wall clock).
struct SimImds {
  SimulatedLoop& loop;
  WallClock wall;
  double lifetime_s = 600;
  int issued = 0;
  int fail_status = 0;
  std::string secret_prefix = "imds-secret-";
  std::string session_token = "sim-token";

  void install() {
    loop.route("imds.sim/latest/api/token", [this](const transport::HttpRequest& r) {
      CHECK(r.method == "PUT");
      return ScriptedResponse::json(200, session_token, 5ms);
    });
    loop.route("imds.sim/latest/meta-data/iam/security-credentials/role-a", [this](const transport::HttpRequest& r) {
      CHECK(std::find(r.headers.begin(), r.headers.end(), "X-aws-ec2-metadata-token: " + session_token) !=
            r.headers.end());
      if (fail_status != 0) {
        // Echoes what it was sent, the session token included.
        std::string all;
        for (const auto& h : r.headers) all += h + "; ";
        return ScriptedResponse::json(fail_status, "metadata service broken: " + all, 5ms);
      }
      ++issued;
      return ScriptedResponse::json(
          200,
          fmt::format(R"({{"Code":"Success","AccessKeyId":"ASIAIMDS{}","SecretAccessKey":"{}{}","Token":"t{}",)"
                      R"("Expiration":"{}"}})",
                      issued, secret_prefix, issued, issued,
                      iso(wall() + absl::Seconds(lifetime_s) + absl::Milliseconds(5))),
          5ms);
    });
    loop.route("imds.sim/latest/meta-data/iam/security-credentials/", [](const transport::HttpRequest&) {
      return ScriptedResponse::json(200, "role-a\n", 5ms);
    });
  }
};

}  // namespace

TEST_CASE("aws cache: one IMDS fetch for many waiters; advisory refresh in the background; mandatory waits") {
  SimulatedLoop loop;
  SimImds imds{loop, wall_of(loop)};
  imds.install();
  auto p = AwsCredentialProvider::from_litellm_params(
      deployment("{}"), env_of({{"AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://imds.sim/"}, {"HOME", "/nonexistent"}}),
      {.wall_clock = imds.wall});
  CHECK(p->source_name() == "the default credential chain");

  // Eight calls at once: one fetch (three requests), every call ready.
  int ready = 0;
  for (int i = 0; i < 8; ++i) {
    loop.post([&] { p->prepare(loop, [&](Status s) { CHECK(s.ok()); ++ready; }); });
  }
  loop.run_until([&] { return ready == 8; });
  CHECK(ready == 8);
  CHECK(imds.issued == 1);
  CHECK(p->fetches() == 1);
  CHECK(loop.requests().size() == 3);
  CHECK(p->credentials().access_key_id == "ASIAIMDS1");
  CHECK(p->credentials().session_token == "t1");

  // A 10-minute lifetime: advisory refresh at 5 min, calls wait from 7.5 min.
  loop.advance(290.0);
  CHECK(prepare_now(*p, loop).ok());
  CHECK(imds.issued == 1);
  loop.advance(20.0);  // 5 min 10 s: in the advisory window
  bool inline_ready = false;
  loop.post([&] { p->prepare(loop, [&](Status s) { inline_ready = s.ok(); }); CHECK(inline_ready); });
  loop.run_ready();
  CHECK(inline_ready);  // answered at once, with the old credentials
  CHECK(p->credentials().access_key_id == "ASIAIMDS1");
  loop.run_until_idle();
  CHECK(imds.issued == 2);
  CHECK(p->credentials().access_key_id == "ASIAIMDS2");

  // A failed advisory refresh keeps the old credentials and is not retried on every call.
  loop.advance(310.0);  // 5 min 10 s into #2's life
  imds.fail_status = 500;
  CHECK(prepare_now(*p, loop).ok());
  loop.run_until_idle(1s);
  const int after_first_failure = p->fetches();
  CHECK(after_first_failure == 3);
  for (int i = 0; i < 10; ++i) CHECK(prepare_now(*p, loop).ok());
  CHECK(p->fetches() == after_first_failure);
  CHECK(p->credentials().access_key_id == "ASIAIMDS2");

  // Past the mandatory point calls wait, and a failure reaches them.
  loop.advance(150.0);
  Status failed = prepare_now(*p, loop);
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error().kind == ErrorKind::kAuthentication);
  CHECK(failed.error().message.starts_with(
      "deployment bedrock-1: AWS credentials from IMDS failed: credentials: HTTP 500: metadata service broken"));

  imds.fail_status = 0;
  CHECK(prepare_now(*p, loop).ok());
  CHECK(p->credentials().access_key_id == "ASIAIMDS3");
}

TEST_CASE("aws cache: seconds-long credentials are refreshed at half-life, never used expired, one fetch each") {
  SimulatedLoop loop;
  const WallClock wall = wall_of(loop);
  int issued = 0;
  loop.route("sts.sim", [&](const transport::HttpRequest& r) {
    CHECK(r.method == "POST");
    CHECK(r.body.find("Action=AssumeRoleWithWebIdentity") != std::string::npos);
    CHECK(r.body.find("WebIdentityToken=oidc-token-value") != std::string::npos);
    CHECK(r.body.find("DurationSeconds=3600") != std::string::npos);
    ++issued;
    return ScriptedResponse::json(
        200, sts_xml(fmt::format("ASIASTS{}", issued), "s", iso(wall() + absl::Seconds(4) + absl::Milliseconds(20))),
        20ms);
  });
  auto p = AwsCredentialProvider::from_litellm_params(
      deployment(R"({"aws_role_name":"arn:aws:iam::1:role/r","aws_web_identity_token":"TOKEN_VAR",)"
                 R"("aws_sts_endpoint":"http://sts.sim"})"),
      env_of({{"TOKEN_VAR", "oidc-token-value"}}), {.wall_clock = wall});

  // A call every 100 ms for 20 s: about one fetch per 2 s, each call with
  // credentials that have not expired.
  int calls = 0;
  for (int i = 0; i < 200; ++i) {
    Status s = prepare_now(*p, loop);
    REQUIRE(s.ok());
    ++calls;
    REQUIRE(p->credentials().expiration);
    CHECK(*p->credentials().expiration > wall());
    loop.advance(0.1);
  }
  CHECK(issued >= 9);
  CHECK(issued <= 11);
  CHECK(p->fetches() == issued);
  CHECK(calls == 200);
}

TEST_CASE("aws cache: the provider may go away while a fetch is in flight") {
  SimulatedLoop loop;
  SimImds imds{loop, wall_of(loop)};
  imds.install();
  bool called = false;
  {
    auto p = AwsCredentialProvider::from_litellm_params(
        deployment("{}"), env_of({{"AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://imds.sim"}, {"HOME", "/nonexistent"}}),
        {.wall_clock = imds.wall});
    loop.post([&] { p->prepare(loop, [&](Status) { called = true; }); });
    loop.run_ready();
  }
  loop.run_until_idle();
  CHECK_FALSE(called);
  CHECK(imds.issued == 1);
}

TEST_CASE("aws errors: deployment and source named, no secret from any source in any message") {
  TempDir dir;
  SimulatedLoop loop;
  const WallClock wall = wall_of(loop);
  const std::string canary(kCanary);
  // Endpoints that echo what they were sent into their error texts.
  loop.route("sts.sim", [](const transport::HttpRequest& r) {
    return ScriptedResponse::json(
        400, "<ErrorResponse><Error><Code>InvalidIdentityToken</Code><Message>bad token in " + r.body +
                 "</Message></Error></ErrorResponse>");
  });
  loop.route("/creds", [](const transport::HttpRequest& r) {
    std::string all;
    for (const auto& h : r.headers) all += h + "; ";
    return ScriptedResponse::json(403, "forbidden: " + all);
  });
  SimImds imds{loop, wall};
  imds.fail_status = 500;  // echoes the session token in its body
  imds.session_token = canary + "-imds-session";
  imds.install();

  const std::string token_file = dir.write("token", canary + "-web-token\n");
  const std::string ecs_token_file = dir.write("ecs-token", canary + "-ecs-token");
  dir.write("credentials", "[half]\naws_secret_access_key = " + canary + "-profile\n");
  const EnvMap base = {{"AWS_SHARED_CREDENTIALS_FILE", dir.path() + "/credentials"},
                       {"AWS_CONFIG_FILE", dir.path() + "/config"},
                       {"WEB_TOKEN_VAR", canary + "-env-token"}};
  auto with = [&](EnvMap extra) {
    EnvMap e = base;
    for (auto& [k, v] : extra) e[k] = v;
    return e;
  };

  struct Case {
    std::string params;
    EnvMap env;
    std::string source;
  };
  const std::vector<Case> cases = {
      {R"({"aws_secret_access_key":")" + canary + R"(-param"})", base, "static keys (litellm_params)"},
      {"{}", with({{"AWS_SECRET_ACCESS_KEY", canary + "-env"}}), "environment (AWS_ACCESS_KEY_ID)"},
      {R"({"aws_profile_name":"half"})", base, "profile 'half'"},
      {R"({"aws_role_name":"arn:aws:iam::1:role/r","aws_web_identity_token":"WEB_TOKEN_VAR","aws_sts_endpoint":"http://sts.sim"})",
       base, "STS AssumeRoleWithWebIdentity"},
      {"{}",
       with({{"AWS_WEB_IDENTITY_TOKEN_FILE", token_file},
             {"AWS_ROLE_ARN", "arn:aws:iam::1:role/r"},
             {"AWS_ENDPOINT_URL_STS", "http://sts.sim"}}),
       "STS AssumeRoleWithWebIdentity"},
      {R"({"aws_role_name":"arn:aws:iam::1:role/r","aws_access_key_id":"AKID","aws_secret_access_key":")" + canary +
           R"(-role"})",
       base, "STS AssumeRole"},
      {"{}",
       with({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:1/creds"},
             {"AWS_CONTAINER_AUTHORIZATION_TOKEN", canary + "-ecs-env"}}),
       "ECS container endpoint"},
      {"{}",
       with({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "https://ecs.sim/creds"},
             {"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", ecs_token_file}}),
       "ECS container endpoint"},
      {"{}", with({{"AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://imds.sim"}}), "IMDS"},
  };
  for (const Case& c : cases) {
    INFO(c.params << " → " << c.source);
    auto p = AwsCredentialProvider::from_litellm_params(deployment(c.params), env_of(c.env), {.wall_clock = wall});
    Status s = prepare_now(*p, loop);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().kind == ErrorKind::kAuthentication);
    CHECK(s.error().message.starts_with("deployment bedrock-1: AWS credentials from " + c.source + " failed: "));
    CHECK(s.error().message.find(canary) == std::string::npos);
    CHECK(s.error().message.find("CANARY") == std::string::npos);
  }
}

TEST_CASE("aws secrets: what the provider read outside litellm_params is offered for redaction") {
  TempDir dir;
  const std::string creds = dir.write("credentials", "[dev]\naws_access_key_id = AKIDDEV\n"
                                                     "aws_secret_access_key = profile-secret-value\n"
                                                     "aws_session_token = profile-token-value\n");
  auto p = AwsCredentialProvider::from_litellm_params(
      deployment(R"({"aws_role_name":"arn:aws:iam::1:role/r","aws_web_identity_token":"OIDC_VAR"})"),
      env_of({{"AWS_SECRET_ACCESS_KEY", "env-secret-value"},
              {"AWS_ACCESS_KEY_ID", "AKIDENV"},
              {"AWS_SESSION_TOKEN", "env-session-value"},
              {"OIDC_VAR", "oidc-token-value"},
              {"AWS_CONTAINER_AUTHORIZATION_TOKEN", "ecs-token-value"},
              {"AWS_PROFILE", "dev"},
              {"AWS_SHARED_CREDENTIALS_FILE", creds}}));
  std::vector<std::string> secrets;
  p->append_secrets(secrets);
  for (const char* want : {"env-secret-value", "env-session-value", "oidc-token-value", "ecs-token-value",
                           "profile-secret-value", "profile-token-value"}) {
    INFO(want);
    CHECK(std::find(secrets.begin(), secrets.end(), want) != secrets.end());
  }
  CHECK(std::find(secrets.begin(), secrets.end(), "AKIDENV") == secrets.end());
}

TEST_CASE("aws sources: AssumeRole is signed (sts) with the base credentials and read like any STS answer") {
  SimulatedLoop loop;
  const WallClock wall = wall_of(loop);
  int issued = 0;
  std::vector<std::string> problems;
  loop.route("sts.sim", [&](const transport::HttpRequest& r) {
    // Re-sign what arrived with the known base secret at its own X-Amz-Date.
    std::string amz_date, authorization;
    std::vector<std::pair<std::string, std::string>> kept;
    for (const std::string& line : r.headers) {
      const size_t colon = line.find(':');
      std::string name = line.substr(0, colon), value = std::string(strip_ascii_whitespace(line.substr(colon + 1)));
      if (equals_ignore_case(name, "x-amz-date")) amz_date = value;
      else if (equals_ignore_case(name, "authorization")) authorization = value;
      else kept.emplace_back(std::move(name), std::move(value));
    }
    // absl's %Y is greedy: spell the basic format out as ISO-8601 first.
    absl::Time when;
    std::optional<absl::Time> parsed;
    if (amz_date.size() == 16) {
      parsed = parse_aws_time(fmt::format("{}-{}-{}T{}:{}:{}Z", amz_date.substr(0, 4), amz_date.substr(4, 2),
                                          amz_date.substr(6, 2), amz_date.substr(9, 2), amz_date.substr(11, 2),
                                          amz_date.substr(13, 2)));
    }
    if (parsed) when = *parsed;
    else problems.push_back("x-amz-date " + amz_date);
    std::vector<std::pair<std::string_view, std::string_view>> views(kept.begin(), kept.end());
    auto expected = sign_sigv4(SigV4Request{.method = r.method, .url = r.url, .headers = views, .body = r.body,
                                            .region = "us-east-1", .service = "sts", .time = when},
                               SigV4Credentials{"AKIDBASE", "base-secret", "base-token"});
    REQUIRE(expected.ok());
    std::string want;
    for (const auto& [k, v] : expected->headers) {
      if (k == "Authorization") want = v;
    }
    if (authorization != want) problems.push_back("signature: " + authorization + " vs " + want);
    CHECK(r.body.find("Action=AssumeRole&") != std::string::npos);
    CHECK(r.body.find("RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Ftarget") != std::string::npos);
    CHECK(r.body.find("RoleSessionName=sess") != std::string::npos);
    CHECK(r.body.find("ExternalId=ext-1") != std::string::npos);
    ++issued;
    return ScriptedResponse::json(200, sts_xml("ASIAROLE" + std::to_string(issued), "role-secret",
                                               iso(wall() + absl::Hours(1))));
  });
  auto p = AwsCredentialProvider::from_litellm_params(
      deployment(R"({"aws_role_name":"arn:aws:iam::1:role/target","aws_session_name":"sess","aws_external_id":"ext-1",)"
                 R"("aws_access_key_id":"AKIDBASE","aws_secret_access_key":"base-secret",)"
                 R"("aws_session_token":"base-token","aws_region_name":"us-east-1","aws_sts_endpoint":"http://sts.sim"})"),
      env_of({}), {.wall_clock = wall});
  CHECK(p->source_name() == "STS AssumeRole");
  REQUIRE(prepare_now(*p, loop).ok());
  CHECK(p->credentials().access_key_id == "ASIAROLE1");
  CHECK(issued == 1);
  for (const std::string& problem : problems) FAIL_CHECK(problem);
  CHECK(problems.empty());

  // The base credentials failing is said as such.
  TempDir dir;
  auto from_profile = AwsCredentialProvider::from_litellm_params(
      deployment(R"({"aws_role_name":"arn:aws:iam::1:role/target","aws_profile_name":"ghost","aws_sts_endpoint":"http://sts.sim"})"),
      env_of({{"AWS_SHARED_CREDENTIALS_FILE", dir.path() + "/none"}, {"AWS_CONFIG_FILE", dir.path() + "/none"}}),
      {.wall_clock = wall});
  Status failed = prepare_now(*from_profile, loop);
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error().message.starts_with(
      "deployment bedrock-1: AWS credentials from STS AssumeRole failed: the base credentials from profile 'ghost' "
      "failed: the profile is in neither "));
}
