// Metadata endpoints (providers.md §5.5): the ECS container credentials
// endpoint and EC2's instance metadata service (IMDSv2: PUT a session token,
// GET the role, GET its credentials), as loop transfers with short timeouts.
#include <memory>
#include <string>
#include <utility>

#include <fmt/format.h>
#include <simdjson.h>

#include "common/strings.hpp"
#include "provider/aws_credential_sources.hpp"
#include "provider/aws_shared_config.hpp"
#include "provider/error_classifier.hpp"

namespace llmux::provider {
namespace {

using namespace std::chrono_literals;

// botocore: IMDS 1 s, one attempt; the container endpoint 2 s.
constexpr Duration kImdsTimeout = 1s;
constexpr Duration kContainerTimeout = 2s;
constexpr std::string_view kEcsHost = "http://169.254.170.2";
constexpr std::string_view kCredentialsPath = "/latest/meta-data/iam/security-credentials/";

std::string string_member(simdjson::dom::element obj, const char* key) {
  std::string_view v;
  if (obj[key].get_string().get(v) == simdjson::SUCCESS) return std::string(v);
  return {};
}

Error no_answer(const transport::TransferResult& r) {
  return Error(ErrorKind::kAuthentication,
               fmt::format("no answer ({}: {})", transport::transfer_error_name(r.error), r.error_message));
}

Error http_error(const transport::TransferResult& r, std::string_view step) {
  return Error(ErrorKind::kAuthentication,
               fmt::format("{}: HTTP {}: {}", step, r.status, extract_error_message(r.body, r.status)));
}

bool has_line_break(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

// botocore lets a plain-http full URI reach only loopback and the ECS/EKS
// agent addresses: credentials must not travel to an arbitrary host.
bool allowed_full_uri(std::string_view uri) {
  if (starts_with_ignore_case(uri, "https://")) return true;
  if (!starts_with_ignore_case(uri, "http://")) return false;
  std::string_view host = uri.substr(7);
  host = host.substr(0, host.find_first_of("/?#"));
  if (host.starts_with("[")) {
    host = host.substr(1, host.find(']') == std::string_view::npos ? host.size() : host.find(']') - 1);
  } else {
    host = host.substr(0, host.find(':'));
  }
  return host == "localhost" || host.starts_with("127.") || host == "::1" || host == "169.254.170.2" ||
         host == "169.254.170.23" || host == "fd00:ec2::23";
}

class ContainerSource final : public AwsCredentialSource {
 public:
  explicit ContainerSource(const AwsSettings& s)
      : relative_uri_(s.container_relative_uri),
        full_uri_(s.container_full_uri),
        auth_token_(s.container_auth_token),
        auth_token_file_(s.container_auth_token_file) {}
  std::string name() const override { return "ECS container endpoint"; }

  void fetch(transport::EventLoop& loop, AwsCredentialsCallback done) override {
    const std::string source = name();
    transport::HttpRequest http;
    http.method = "GET";
    http.connect_timeout = kContainerTimeout;
    http.total_timeout = kContainerTimeout;
    http.headers.push_back("Accept: application/json");
    std::string token;
    if (!relative_uri_.empty()) {
      http.url = std::string(kEcsHost) + relative_uri_;
    } else {
      if (!allowed_full_uri(full_uri_)) {
        done(source, Error(ErrorKind::kAuthentication,
                           fmt::format("AWS_CONTAINER_CREDENTIALS_FULL_URI {} is not https nor a loopback or ECS/EKS "
                                       "agent address",
                                       full_uri_)));
        return;
      }
      http.url = full_uri_;
      // The file wins over the variable (it is rotated by the agent).
      token = auth_token_;
      if (!auth_token_file_.empty()) {
        std::optional<std::string> text = read_small_file(auth_token_file_);
        if (!text) {
          done(source, Error(ErrorKind::kAuthentication,
                             fmt::format("cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE {}", auth_token_file_)));
          return;
        }
        token = std::string(strip_ascii_whitespace(*text));
      }
      if (has_line_break(token)) {
        done(source, Error(ErrorKind::kAuthentication, "the container authorization token contains a line break"));
        return;
      }
      if (!token.empty()) http.headers.push_back("Authorization: " + token);
    }
    run_aws_exchange(loop, std::move(http), [source, token, done = std::move(done)](transport::TransferResult&& r) {
      Result<AwsCredentials> creds = read_aws_json_credentials(r);
      if (!creds.ok()) {
        done(source, Error(creds.error().kind, redact(creds.error().message, token)));
        return;
      }
      done(source, std::move(creds));
    });
  }

 private:
  std::string relative_uri_, full_uri_, auth_token_, auth_token_file_;
};

// One IMDS fetch: token, role, credentials; each step's transfer carries the
// shared state along.
class ImdsSource final : public AwsCredentialSource {
 public:
  ImdsSource(std::string endpoint, bool v1_disabled) : endpoint_(std::move(endpoint)), v1_disabled_(v1_disabled) {}
  std::string name() const override { return "IMDS"; }

  void fetch(transport::EventLoop& loop, AwsCredentialsCallback done) override {
    auto fetch = std::make_shared<Fetch>(Fetch{&loop, endpoint_, v1_disabled_, {}, std::move(done)});
    transport::HttpRequest http = request(*fetch, "PUT", "/latest/api/token");
    http.headers.push_back("X-aws-ec2-metadata-token-ttl-seconds: 21600");
    run_aws_exchange(loop, std::move(http), [fetch](transport::TransferResult&& r) { on_token(fetch, std::move(r)); });
  }

 private:
  struct Fetch {
    transport::EventLoop* loop;
    std::string endpoint;
    bool v1_disabled;
    std::string token;  // "" after a fallback to IMDSv1
    AwsCredentialsCallback done;
    void fail(Error e) { finish(std::move(e)); }
    // The session token never leaves in a message (an endpoint might echo it).
    void finish(Result<AwsCredentials> got) {
      if (!got.ok()) got = Error(got.error().kind, redact(got.error().message, token));
      done("IMDS", std::move(got));
    }
  };

  static transport::HttpRequest request(const Fetch& f, std::string method, std::string_view path) {
    transport::HttpRequest http;
    http.url = f.endpoint + std::string(path);
    http.method = std::move(method);
    http.connect_timeout = kImdsTimeout;
    http.total_timeout = kImdsTimeout;
    if (!f.token.empty()) http.headers.push_back("X-aws-ec2-metadata-token: " + f.token);
    return http;
  }

  static void on_token(const std::shared_ptr<Fetch>& f, transport::TransferResult&& r) {
    if (r.error != transport::TransferError::kNone) return f->fail(no_answer(r));
    if (r.status == 200) {
      f->token = std::string(strip_ascii_whitespace(r.body));
      if (f->token.empty() || has_line_break(f->token)) {
        return f->fail(Error(ErrorKind::kAuthentication, "token: HTTP 200 but no usable token"));
      }
    } else if ((r.status == 403 || r.status == 404 || r.status == 405) && !f->v1_disabled) {
      f->token.clear();  // no IMDSv2 here: IMDSv1, as botocore does
    } else {
      return f->fail(http_error(r, "token"));
    }
    run_aws_exchange(*f->loop, request(*f, "GET", kCredentialsPath),
                     [f](transport::TransferResult&& r) { on_role(f, std::move(r)); });
  }

  static void on_role(const std::shared_ptr<Fetch>& f, transport::TransferResult&& r) {
    if (r.error != transport::TransferError::kNone) return f->fail(no_answer(r));
    if (r.status != 200) return f->fail(http_error(r, "role"));
    std::string_view role = strip_ascii_whitespace(r.body);
    role = strip_ascii_whitespace(role.substr(0, role.find('\n')));
    if (role.empty() || role.find_first_of("/?#% ") != std::string_view::npos) {
      return f->fail(Error(ErrorKind::kAuthentication, "role: no instance profile role attached"));
    }
    run_aws_exchange(*f->loop, request(*f, "GET", std::string(kCredentialsPath) + std::string(role)),
                     [f](transport::TransferResult&& r) { f->finish(read_aws_json_credentials(r)); });
  }

  std::string endpoint_;
  bool v1_disabled_;
};

}  // namespace

Result<AwsCredentials> read_aws_json_credentials(const transport::TransferResult& result) {
  if (result.error != transport::TransferError::kNone) return no_answer(result);
  if (result.status != 200) return http_error(result, "credentials");
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(result.body).get(doc) != simdjson::SUCCESS || !doc.is_object()) {
    return Error(ErrorKind::kAuthentication, "credentials: HTTP 200 but the answer is not a JSON object");
  }
  const std::string code = string_member(doc, "Code");
  if (!code.empty() && code != "Success") {
    return Error(ErrorKind::kAuthentication,
                 fmt::format("credentials: Code {}: {}", code, string_member(doc, "Message")));
  }
  AwsCredentials creds;
  creds.access_key_id = string_member(doc, "AccessKeyId");
  creds.secret_access_key = string_member(doc, "SecretAccessKey");
  creds.session_token = string_member(doc, "Token");
  if (creds.access_key_id.empty() || creds.secret_access_key.empty()) {
    return Error(ErrorKind::kAuthentication, "credentials: HTTP 200 but no AccessKeyId / SecretAccessKey");
  }
  const std::string expiration = string_member(doc, "Expiration");
  if (!expiration.empty()) {
    creds.expiration = parse_aws_time(expiration);
    if (!creds.expiration) {
      return Error(ErrorKind::kAuthentication, fmt::format("credentials: unreadable Expiration '{}'", expiration));
    }
  }
  return creds;
}

std::shared_ptr<AwsCredentialSource> make_container_source(const AwsSettings& settings) {
  return std::make_shared<ContainerSource>(settings);
}

std::shared_ptr<AwsCredentialSource> make_imds_source(const AwsSettings& settings) {
  return std::make_shared<ImdsSource>(settings.imds_endpoint, settings.imds_v1_disabled);
}

}  // namespace llmux::provider
