#include "support/fake_aws_metadata.hpp"

#include <map>
#include <string_view>
#include <utility>

#include <absl/time/clock.h>
#include <absl/time/time.h>
#include <fmt/format.h>

#include "provider/aws_sigv4.hpp"
#include "support/form_fake.hpp"

namespace llmux::testing {
namespace {

constexpr std::string_view kCredentialsPath = "/latest/meta-data/iam/security-credentials/";

Behavior respond(int status, std::string body, std::string content_type) {
  Behavior b;
  b.status = status;
  b.body = std::move(body);
  b.headers.emplace_back("Content-Type", std::move(content_type));
  return b;
}

Behavior sts_error(int status, std::string_view type, std::string_view code, std::string_view message) {
  return respond(status,
                 fmt::format("<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>{}</Type>"
                             "<Code>{}</Code><Message>{}</Message></Error><RequestId>r-1</RequestId></ErrorResponse>",
                             type, code, message),
                 "text/xml");
}

}  // namespace

FakeAwsMetadata::FakeAwsMetadata() {
  server_.set_handler([this](const ReceivedRequest& r) { return answer(r); });
}

std::string FakeAwsMetadata::base_url() const { return fmt::format("http://127.0.0.1:{}", server_.port()); }
std::string FakeAwsMetadata::ecs_full_uri() const { return base_url() + "/ecs/credentials"; }

void FakeAwsMetadata::set_lifetime(std::chrono::milliseconds lifetime) {
  std::lock_guard lock(mu_);
  lifetime_ = lifetime;
}
void FakeAwsMetadata::set_secret_prefix(std::string prefix) {
  std::lock_guard lock(mu_);
  secret_prefix_ = std::move(prefix);
}
void FakeAwsMetadata::set_role_name(std::string role) {
  std::lock_guard lock(mu_);
  role_ = std::move(role);
}
void FakeAwsMetadata::expect_web_identity(std::string role_arn, std::string token) {
  std::lock_guard lock(mu_);
  web_role_arn_ = std::move(role_arn);
  web_token_ = std::move(token);
}
void FakeAwsMetadata::expect_container_token(std::string token) {
  std::lock_guard lock(mu_);
  container_token_ = std::move(token);
}
void FakeAwsMetadata::add_known_key(std::string access_key_id, std::string secret_access_key) {
  std::lock_guard lock(mu_);
  secrets_[std::move(access_key_id)] = std::move(secret_access_key);
}
void FakeAwsMetadata::set_sts_region(std::string region) {
  std::lock_guard lock(mu_);
  sts_region_ = std::move(region);
}
void FakeAwsMetadata::fail_with(int status, std::string body) {
  std::lock_guard lock(mu_);
  fail_status_ = status;
  fail_body_ = std::move(body);
}
void FakeAwsMetadata::succeed() {
  std::lock_guard lock(mu_);
  fail_status_ = 0;
}
int FakeAwsMetadata::imds_issued() const {
  std::lock_guard lock(mu_);
  return imds_;
}
int FakeAwsMetadata::ecs_issued() const {
  std::lock_guard lock(mu_);
  return ecs_;
}
int FakeAwsMetadata::sts_issued() const {
  std::lock_guard lock(mu_);
  return sts_;
}
std::vector<std::string> FakeAwsMetadata::problems() const {
  std::lock_guard lock(mu_);
  return problems_;
}
std::vector<ReceivedRequest> FakeAwsMetadata::requests() const { return server_.requests(); }

std::string FakeAwsMetadata::expiration() const {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now() + absl::FromChrono(lifetime_), absl::UTCTimeZone());
}

std::string FakeAwsMetadata::credentials_json(int n, std::string_view kind) {
  secrets_[fmt::format("ASIAFAKE{}{}", kind, n)] = fmt::format("{}{}", secret_prefix_, n);
  return fmt::format(
      R"({{"Code":"Success","LastUpdated":"2026-01-01T00:00:00Z","Type":"AWS-HMAC","AccessKeyId":"ASIAFAKE{}{}",)"
      R"("SecretAccessKey":"{}{}","Token":"session-{}","Expiration":"{}"}})",
      kind, n, secret_prefix_, n, n, expiration());
}

std::string FakeAwsMetadata::check_signature(const ReceivedRequest& r) const {
  // Authorization: AWS4-HMAC-SHA256 Credential=<key>/<date>/<region>/sts/aws4_request, SignedHeaders=…, Signature=…
  const std::string auth = r.header("authorization");
  constexpr std::string_view kPrefix = "AWS4-HMAC-SHA256 Credential=";
  if (!auth.starts_with(kPrefix)) return "not signed";
  const std::string key = auth.substr(kPrefix.size(), auth.find('/') - kPrefix.size());
  auto secret = secrets_.find(key);
  if (secret == secrets_.end()) return "unknown access key " + key;
  const std::string date = r.header("x-amz-date");  // 20261202T070418Z
  if (date.size() != 16) return "x-amz-date " + date;
  absl::Time when;
  std::string err;
  const std::string iso = fmt::format("{}-{}-{}T{}:{}:{}Z", date.substr(0, 4), date.substr(4, 2), date.substr(6, 2),
                                      date.substr(9, 2), date.substr(11, 2), date.substr(13, 2));
  if (!absl::ParseTime("%Y-%m-%dT%H:%M:%SZ", iso, &when, &err)) return "x-amz-date " + date;
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  for (const auto& [name, value] : r.headers) {
    if (name != "authorization" && name != "x-amz-date") headers.emplace_back(name, value);
  }
  const std::string url = "http://" + r.header("host") + r.path;
  provider::SigV4Request request;
  request.method = r.method;
  request.url = url;
  request.headers = headers;
  request.body = r.body;
  request.region = sts_region_;
  request.service = "sts";
  request.time = when;
  auto expected = provider::sign_sigv4(request, provider::SigV4Credentials{key, secret->second,
                                                                           r.header("x-amz-security-token")});
  if (!expected.ok()) return "cannot re-sign";
  for (const auto& [name, value] : expected->headers) {
    if (name == "Authorization" && value != auth) return "signature mismatch";
  }
  return "";
}

Behavior FakeAwsMetadata::answer(const ReceivedRequest& r) {
  std::lock_guard lock(mu_);
  auto problem = [&](int status, std::string what) {
    problems_.push_back(what);
    return respond(status, what, "text/plain");
  };
  auto failure = [&]() { return respond(fail_status_, fail_body_, "text/plain"); };
  const std::string path = r.path.substr(0, r.path.find('?'));

  // IMDSv2.
  if (path == "/latest/api/token") {
    if (r.method != "PUT") return problem(405, "token: method " + r.method);
    if (r.header("x-aws-ec2-metadata-token-ttl-seconds").empty()) return problem(400, "token: no ttl header");
    return respond(200, fmt::format("imds-token-{}", ++imds_tokens_), "text/plain");
  }
  if (path.starts_with(kCredentialsPath)) {
    if (r.method != "GET") return problem(405, "imds: method " + r.method);
    if (imds_tokens_ == 0 || r.header("x-aws-ec2-metadata-token") != fmt::format("imds-token-{}", imds_tokens_)) {
      return problem(401, "imds: missing or stale x-aws-ec2-metadata-token");
    }
    const std::string_view role = std::string_view(path).substr(kCredentialsPath.size());
    if (role.empty()) return respond(200, role_ + "\n", "text/plain");
    if (role != role_) return problem(404, "imds: unknown role " + std::string(role));
    if (fail_status_ != 0) return failure();
    return respond(200, credentials_json(++imds_, "IMDS"), "text/plain");
  }

  // ECS container endpoint.
  if (path == "/ecs/credentials") {
    if (!container_token_.empty() && r.header("authorization") != container_token_) {
      return problem(403, "ecs: wrong Authorization");
    }
    if (fail_status_ != 0) return failure();
    return respond(200, credentials_json(++ecs_, "ECS"), "application/json");
  }

  // STS.
  if (path == "/" && r.method == "POST") {
    std::map<std::string, std::string> form = parse_form(r.body);
    const std::string action = form["Action"];
    if (form["Version"] != "2011-06-15") return problem(400, "sts: Version " + form["Version"]);
    if (action == "AssumeRoleWithWebIdentity") {
      if (!r.header("authorization").empty()) return problem(400, "sts: web identity must be unsigned");
      if (form["RoleArn"] != web_role_arn_) return problem(400, "sts: RoleArn " + form["RoleArn"]);
      if (form["RoleSessionName"].empty()) return problem(400, "sts: no RoleSessionName");
      if (form["WebIdentityToken"] != web_token_) {
        problems_.push_back("sts: wrong WebIdentityToken");
        return sts_error(400, "Sender", "InvalidIdentityToken", "Couldn't retrieve verification key from your identity provider");
      }
    } else if (action == "AssumeRole") {
      if (const std::string bad = check_signature(r); !bad.empty()) {
        problems_.push_back("sts: AssumeRole " + bad);
        return sts_error(403, "Sender", "SignatureDoesNotMatch",
                         "The request signature we calculated does not match the signature you provided.");
      }
      if (form["RoleArn"].empty() || form["RoleSessionName"].empty()) return problem(400, "sts: RoleArn/RoleSessionName");
    } else {
      return problem(400, "sts: Action " + action);
    }
    if (fail_status_ != 0) return sts_error(fail_status_, "Sender", "AccessDenied", fail_body_);
    const int n = ++sts_;
    return respond(200,
                   fmt::format("<{0}Response xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
                               "  <{0}Result>\n"
                               "    <SubjectFromWebIdentityToken>system:serviceaccount:ns:sa</SubjectFromWebIdentityToken>\n"
                               "    <AssumedRoleUser><Arn>{1}/s</Arn><AssumedRoleId>AROA:s</AssumedRoleId></AssumedRoleUser>\n"
                               "    <Credentials>\n"
                               "      <AccessKeyId>ASIAFAKESTS{2}</AccessKeyId>\n"
                               "      <SecretAccessKey>{3}{2}</SecretAccessKey>\n"
                               "      <SessionToken>session-{2}&amp;more</SessionToken>\n"
                               "      <Expiration>{4}</Expiration>\n"
                               "    </Credentials>\n"
                               "  </{0}Result>\n"
                               "  <ResponseMetadata><RequestId>r-{2}</RequestId></ResponseMetadata>\n"
                               "</{0}Response>\n",
                               action, form["RoleArn"], n, secret_prefix_, expiration()),
                   "text/xml");
  }
  return problem(404, fmt::format("no such endpoint: {} {}", r.method, path));
}

}  // namespace llmux::testing
