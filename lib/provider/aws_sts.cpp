// STS (providers.md §5.5, "STS wire contract"): AssumeRoleWithWebIdentity as
// an unsigned form POST, AssumeRole as a form POST SigV4-signed (service
// "sts", provider/aws_sigv4.hpp) with the base credentials, and their XML
// answers read with expat.
#include <string>
#include <utility>
#include <vector>

#include <absl/time/clock.h>
#include <curl/curl.h>
#include <expat.h>
#include <fmt/format.h>

#include "common/strings.hpp"
#include "provider/aws_credential_sources.hpp"
#include "provider/aws_shared_config.hpp"
#include "provider/aws_sigv4.hpp"
#include "provider/error_classifier.hpp"

namespace llmux::provider {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kStsVersion = "2011-06-15";
constexpr Duration kStsConnectTimeout = 10s;
constexpr Duration kStsTotalTimeout = 30s;

// The text of the few elements an STS answer is read for, by local name
// (namespace prefixes dropped): Credentials/{AccessKeyId, SecretAccessKey,
// SessionToken, Expiration} and Error/{Code, Message}. Entities and CDATA are
// expat's business.
struct StsAnswer {
  std::vector<std::string> path;  // open elements, local names
  std::string text;               // of the innermost open element
  std::string access_key_id, secret_access_key, session_token, expiration;
  std::string error_code, error_message;
  bool saw_credentials = false;
};

std::string local_name(const XML_Char* name) {
  std::string_view n(name);
  const size_t colon = n.rfind(':');
  return std::string(colon == std::string_view::npos ? n : n.substr(colon + 1));
}

void XMLCALL on_start(void* data, const XML_Char* name, const XML_Char** /*attrs*/) {
  auto* a = static_cast<StsAnswer*>(data);
  a->path.push_back(local_name(name));
  a->text.clear();
  if (a->path.back() == "Credentials") a->saw_credentials = true;
}

void XMLCALL on_end(void* data, const XML_Char* /*name*/) {
  auto* a = static_cast<StsAnswer*>(data);
  if (a->path.empty()) return;
  const std::string leaf = std::move(a->path.back());
  a->path.pop_back();
  const std::string_view parent = a->path.empty() ? std::string_view() : std::string_view(a->path.back());
  std::string value(strip_ascii_whitespace(a->text));
  a->text.clear();
  if (parent == "Credentials") {
    if (leaf == "AccessKeyId") a->access_key_id = std::move(value);
    else if (leaf == "SecretAccessKey") a->secret_access_key = std::move(value);
    else if (leaf == "SessionToken") a->session_token = std::move(value);
    else if (leaf == "Expiration") a->expiration = std::move(value);
  } else if (parent == "Error") {
    if (leaf == "Code") a->error_code = std::move(value);
    else if (leaf == "Message") a->error_message = std::move(value);
  }
}

void XMLCALL on_text(void* data, const XML_Char* s, int len) {
  static_cast<StsAnswer*>(data)->text.append(s, static_cast<size_t>(len));
}

// False when `body` is not well-formed XML.
bool parse_sts_xml(std::string_view body, StsAnswer& answer) {
  XML_Parser parser = XML_ParserCreate(nullptr);
  if (parser == nullptr) return false;
  XML_SetUserData(parser, &answer);
  XML_SetElementHandler(parser, on_start, on_end);
  XML_SetCharacterDataHandler(parser, on_text);
  const bool ok = XML_Parse(parser, body.data(), static_cast<int>(body.size()), 1) == XML_STATUS_OK;
  XML_ParserFree(parser);
  return ok;
}

std::string escaped(std::string_view s) {
  char* e = curl_easy_escape(nullptr, s.data(), static_cast<int>(s.size()));
  if (e == nullptr) return {};
  std::string out(e);
  curl_free(e);
  return out;
}

void append_form(std::string& body, std::string_view key, std::string_view value) {
  if (!body.empty()) body.push_back('&');
  body.append(key);
  body.push_back('=');
  body.append(escaped(value));
}

std::string default_session_name() {
  return fmt::format("llmux-session-{}", absl::ToUnixSeconds(absl::Now()));
}

// The token of a web identity fetch: the one given, else the file's
// contents (re-read each time: projected tokens rotate).
Result<std::string> read_web_identity_token(const WebIdentityRequest& r) {
  std::string token = r.token;
  if (token.empty()) {
    std::optional<std::string> text = read_small_file(r.token_file);
    if (!text) {
      return Error(ErrorKind::kAuthentication,
                   fmt::format("cannot read the web identity token file {}", r.token_file));
    }
    token = std::move(*text);
  }
  token = std::string(strip_ascii_whitespace(token));
  if (token.empty()) return Error(ErrorKind::kAuthentication, "the web identity token is empty");
  return token;
}

class WebIdentitySource final : public AwsCredentialSource {
 public:
  WebIdentitySource(std::string endpoint, WebIdentityRequest request)
      : endpoint_(std::move(endpoint)), request_(std::move(request)) {}
  std::string name() const override { return "STS AssumeRoleWithWebIdentity"; }

  void fetch(transport::EventLoop& loop, AwsCredentialsCallback done) override {
    const std::string source = name();
    Result<std::string> token = read_web_identity_token(request_);
    if (!token.ok()) {
      done(source, token.error());
      return;
    }
    if (request_.role_arn.empty()) {
      done(source, Error(ErrorKind::kAuthentication, "no role ARN to assume"));
      return;
    }
    transport::HttpRequest http;
    http.url = endpoint_ + "/";
    http.method = "POST";
    http.connect_timeout = kStsConnectTimeout;
    http.total_timeout = kStsTotalTimeout;
    http.headers.push_back("Content-Type: application/x-www-form-urlencoded; charset=utf-8");
    http.headers.push_back("Accept: text/xml");
    append_form(http.body, "Action", "AssumeRoleWithWebIdentity");
    append_form(http.body, "Version", kStsVersion);
    append_form(http.body, "RoleArn", request_.role_arn);
    append_form(http.body, "RoleSessionName",
                request_.session_name.empty() ? default_session_name() : request_.session_name);
    append_form(http.body, "WebIdentityToken", *token);
    if (request_.duration_seconds > 0) {
      append_form(http.body, "DurationSeconds", std::to_string(request_.duration_seconds));
    }
    run_aws_exchange(loop, std::move(http),
                     [source, token = std::move(*token), done = std::move(done)](transport::TransferResult&& r) {
                       Result<AwsCredentials> creds = read_sts_credentials(r);
                       if (!creds.ok()) {
                         done(source, Error(creds.error().kind, redact(creds.error().message, token)));
                         return;
                       }
                       done(source, std::move(creds));
                     });
  }

 private:
  std::string endpoint_;
  WebIdentityRequest request_;
};

class AssumeRoleSource final : public AwsCredentialSource {
 public:
  AssumeRoleSource(const AwsSettings& s, std::shared_ptr<AwsCredentialSource> base)
      : endpoint_(s.sts_endpoint),
        region_(s.region),
        role_arn_(s.role_name),
        session_name_(s.session_name),
        external_id_(s.external_id),
        base_(std::move(base)) {}
  std::string name() const override { return "STS AssumeRole"; }

  void fetch(transport::EventLoop& loop, AwsCredentialsCallback done) override {
    // First the credentials that sign the call (keys, a profile, the default
    // chain), then STS with them.
    base_->fetch(loop, [&loop, endpoint = endpoint_, region = region_, role = role_arn_, session = session_name_,
                        external = external_id_, done = std::move(done)](std::string_view base_source,
                                                                          Result<AwsCredentials> base) mutable {
      const std::string source = "STS AssumeRole";
      if (!base.ok()) {
        done(source, Error(ErrorKind::kAuthentication,
                           fmt::format("the base credentials from {} failed: {}", base_source, base.error().message)));
        return;
      }
      transport::HttpRequest http;
      http.url = endpoint + "/";
      http.method = "POST";
      http.connect_timeout = kStsConnectTimeout;
      http.total_timeout = kStsTotalTimeout;
      http.headers.push_back("Content-Type: application/x-www-form-urlencoded; charset=utf-8");
      http.headers.push_back("Accept: text/xml");
      append_form(http.body, "Action", "AssumeRole");
      append_form(http.body, "Version", kStsVersion);
      append_form(http.body, "RoleArn", role);
      append_form(http.body, "RoleSessionName", session.empty() ? default_session_name() : session);
      if (!external.empty()) append_form(http.body, "ExternalId", external);
      const SigV4Credentials signer{base->access_key_id, base->secret_access_key, base->session_token};
      // Signed with the wall clock: AWS checks the request time against its own.
      absl::Status signed_ok = sign_http_request(http, signer, region, "sts", absl::Now());
      if (!signed_ok.ok()) {
        done(source, Error(ErrorKind::kAuthentication,
                           fmt::format("cannot sign the request: {}", to_std(signed_ok.message()))));
        return;
      }
      run_aws_exchange(loop, std::move(http),
                       [source, secret = base->secret_access_key, token = base->session_token,
                        done = std::move(done)](transport::TransferResult&& r) {
                         Result<AwsCredentials> creds = read_sts_credentials(r);
                         if (!creds.ok()) {
                           done(source, Error(creds.error().kind,
                                              redact(redact(creds.error().message, secret), token)));
                           return;
                         }
                         done(source, std::move(creds));
                       });
    });
  }

 private:
  std::string endpoint_, region_, role_arn_, session_name_, external_id_;
  std::shared_ptr<AwsCredentialSource> base_;
};

}  // namespace

Result<AwsCredentials> read_sts_credentials(const transport::TransferResult& result) {
  if (result.error != transport::TransferError::kNone) {
    return Error(ErrorKind::kAuthentication,
                 fmt::format("no answer ({}: {})", transport::transfer_error_name(result.error), result.error_message));
  }
  StsAnswer answer;
  const bool xml = parse_sts_xml(result.body, answer);
  if (result.status != 200) {
    std::string detail;
    if (xml && !answer.error_code.empty()) {
      detail = answer.error_code;
      if (!answer.error_message.empty()) detail += ": " + answer.error_message;
    } else {
      detail = extract_error_message(result.body, result.status);
    }
    return Error(ErrorKind::kAuthentication, fmt::format("HTTP {}: {}", result.status, detail));
  }
  if (!xml) return Error(ErrorKind::kAuthentication, "HTTP 200 but the answer is not well-formed XML");
  if (!answer.saw_credentials || answer.access_key_id.empty() || answer.secret_access_key.empty()) {
    return Error(ErrorKind::kAuthentication, "HTTP 200 but no Credentials (AccessKeyId, SecretAccessKey) in the answer");
  }
  AwsCredentials creds;
  creds.access_key_id = std::move(answer.access_key_id);
  creds.secret_access_key = std::move(answer.secret_access_key);
  creds.session_token = std::move(answer.session_token);
  if (!answer.expiration.empty()) {
    creds.expiration = parse_aws_time(answer.expiration);
    if (!creds.expiration) {
      return Error(ErrorKind::kAuthentication, fmt::format("unreadable Expiration '{}'", answer.expiration));
    }
  }
  return creds;
}

std::shared_ptr<AwsCredentialSource> make_web_identity_source(const AwsSettings& settings,
                                                              WebIdentityRequest request) {
  return std::make_shared<WebIdentitySource>(settings.sts_endpoint, std::move(request));
}

std::shared_ptr<AwsCredentialSource> make_assume_role_source(const AwsSettings& settings,
                                                             std::shared_ptr<AwsCredentialSource> base) {
  return std::make_shared<AssumeRoleSource>(settings, std::move(base));
}

}  // namespace llmux::provider
