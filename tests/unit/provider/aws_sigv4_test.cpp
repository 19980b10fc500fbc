// SigV4 against AWS's own test suite (tests/data/aws-signing-test-suite, from
// awslabs/aws-c-auth: request.txt parsed, each intermediate file compared) and
// the Bedrock vectors A, B, C of providers.md §5.4 (computed with botocore),
// plus the rules Bedrock depends on: double-encoded path, host with port,
// LiteLLM's header selection, the session token, sign_http_request.
#include "provider/aws_sigv4.hpp"

#include <catch2/catch.hpp>
#include <simdjson.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <absl/time/time.h>

#include "common/strings.hpp"

namespace llmux::provider {
namespace {

using HeaderList = std::vector<std::pair<std::string_view, std::string_view>>;

const std::string kSuite = std::string(LLMUX_TEST_DATA_DIR) + "/aws-signing-test-suite/v4/";
constexpr std::string_view kAkid = "AKIDEXAMPLE";
constexpr std::string_view kSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  INFO(path);
  REQUIRE(in.good());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

absl::Time suite_time() {
  absl::Time t;
  std::string err;
  REQUIRE(absl::ParseTime(absl::RFC3339_full, "2015-08-30T12:36:00Z", &t, &err));
  return t;
}

// request.txt: "METHOD <path> HTTP/1.1", header lines (a line starting with
// whitespace continues the previous value), a blank line, the body.
struct RawRequest {
  std::string method;
  std::string path;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string host;
};

RawRequest parse_request(const std::string& text) {
  RawRequest r;
  size_t pos = text.find('\n');
  REQUIRE(pos != std::string::npos);
  const std::string first = text.substr(0, pos);
  const size_t sp = first.find(' ');
  const size_t http = first.rfind(" HTTP/");
  REQUIRE(sp != std::string::npos);
  REQUIRE(http != std::string::npos);
  r.method = first.substr(0, sp);
  r.path = first.substr(sp + 1, http - sp - 1);
  ++pos;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty()) {
      r.body = pos < text.size() ? text.substr(pos) : "";
      break;
    }
    if (line[0] == ' ' || line[0] == '\t') {
      REQUIRE_FALSE(r.headers.empty());
      r.headers.back().second += "\n" + line;
      continue;
    }
    const size_t colon = line.find(':');
    REQUIRE(colon != std::string::npos);
    r.headers.emplace_back(line.substr(0, colon), line.substr(colon + 1));
    if (r.headers.back().first == "Host") r.host = r.headers.back().second;
  }
  return r;
}

struct SuiteCase {
  std::string name;
  SigV4Signature sig;
};

SuiteCase sign_suite_case(const std::string& name) {
  const std::string dir = kSuite + name + "/";
  simdjson::dom::parser parser;
  const simdjson::padded_string ctx_text(read_file(dir + "context.json"));
  simdjson::dom::element ctx = parser.parse(ctx_text);
  std::string_view token;
  if (ctx["credentials"]["token"].error() == simdjson::SUCCESS) token = ctx["credentials"]["token"].get_string();
  const SigV4Credentials creds{ctx["credentials"]["access_key_id"].get_string().value(),
                               ctx["credentials"]["secret_access_key"].get_string().value(), token};
  CHECK(std::string_view(ctx["timestamp"].get_string().value()) == "2015-08-30T12:36:00Z");

  const RawRequest raw = parse_request(read_file(dir + "request.txt"));
  REQUIRE_FALSE(raw.host.empty());
  const std::string url = "https://" + raw.host + raw.path;
  HeaderList headers;
  for (const auto& [n, v] : raw.headers) headers.emplace_back(n, v);

  SigV4Request req;
  req.method = raw.method;
  req.url = url;
  req.headers = headers;
  req.body = raw.body;
  req.region = ctx["region"].get_string().value();
  req.service = ctx["service"].get_string().value();
  req.time = suite_time();
  req.header_selection = SigV4HeaderSelection::kAll;
  req.normalize_path = ctx["normalize"].get_bool().value();
  req.add_content_sha256_header = ctx["sign_body"].get_bool().value();
  bool omit = false;
  if (ctx["omit_session_token"].error() == simdjson::SUCCESS) omit = ctx["omit_session_token"].get_bool().value();
  req.sign_session_token = !omit;

  absl::StatusOr<SigV4Signature> sig = sign_sigv4(req, creds);
  REQUIRE(sig.ok());
  return {name, *sig};
}

TEST_CASE("every case of AWS's SigV4 suite (aws-c-auth v4, header form)") {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(kSuite)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  REQUIRE(names.size() == 38);
  for (const std::string& name : names) {
    INFO("case " << name);
    const SuiteCase c = sign_suite_case(name);
    const std::string dir = kSuite + name + "/";
    CHECK(c.sig.canonical_request == read_file(dir + "header-canonical-request.txt"));
    CHECK(c.sig.string_to_sign == read_file(dir + "header-string-to-sign.txt"));
    CHECK(c.sig.signature == read_file(dir + "header-signature.txt"));
  }
}

TEST_CASE("suite cases providers.md names, spelled out") {
  CHECK(sign_suite_case("post-vanilla").sig.signature ==
        "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b");
  const SuiteCase sts = sign_suite_case("post-sts-header-before");
  CHECK(sts.sig.signature == "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead");
  CHECK(sts.sig.signed_headers == "host;x-amz-date;x-amz-security-token");
  // The token is sent in both forms; only "before" signs it.
  const SuiteCase after = sign_suite_case("post-sts-header-after");
  CHECK(after.sig.signed_headers == "host;x-amz-date");
  bool token_sent = false;
  for (const auto& [n, v] : after.sig.headers) token_sent = token_sent || n == "X-Amz-Security-Token";
  CHECK(token_sent);
}

// ---- Bedrock vectors (providers.md §5.4) ------------------------------------

constexpr std::string_view kBody =
    R"({"messages":[{"role":"user","content":[{"text":"Hello"}]}],"inferenceConfig":{"maxTokens":64}})";
constexpr std::string_view kStsToken =
    "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwth"
    "Ax7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAki"
    "Y9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";
constexpr std::string_view kUrlA =
    "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse";

SigV4Signature sign_bedrock(std::string_view url, std::string_view region, std::string_view token,
                            const HeaderList& headers = {{"Content-Type", "application/json"}}) {
  SigV4Request req;
  req.method = "POST";
  req.url = url;
  req.headers = headers;
  req.body = kBody;
  req.region = region;
  req.service = "bedrock";
  req.time = suite_time();
  absl::StatusOr<SigV4Signature> sig = sign_sigv4(req, {kAkid, kSecret, token});
  REQUIRE(sig.ok());
  return *sig;
}

std::string_view line(std::string_view text, int n) {
  for (int i = 0; i < n; ++i) text.remove_prefix(text.find('\n') + 1);
  return text.substr(0, text.find('\n'));
}

std::string header(const SigV4Signature& sig, std::string_view name) {
  for (const auto& [n, v] : sig.headers) {
    if (n == name) return v;
  }
  return "<absent>";
}

TEST_CASE("Bedrock vector A: the model id's %3A is signed as %253A") {
  CHECK(sha256_hex(kBody) == "f5b802cc64a01910fd197a46e9e959f3a5795f7728fa5710fb28f1ec3019f545");
  const SigV4Signature sig = sign_bedrock(kUrlA, "us-east-1", "");
  CHECK(sig.canonical_request ==
        "POST\n/model/anthropic.claude-3-haiku-20240307-v1%253A0/converse\n\ncontent-type:application/json\n"
        "host:bedrock-runtime.us-east-1.amazonaws.com\nx-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\n"
        "f5b802cc64a01910fd197a46e9e959f3a5795f7728fa5710fb28f1ec3019f545");
  CHECK(line(sig.string_to_sign, 3) == "40bc9f9a7e88dda141fc7a3353e52ed5bfe2051af7fd6f5cd67871fbac85bc44");
  CHECK(line(sig.string_to_sign, 2) == "20150830/us-east-1/bedrock/aws4_request");
  CHECK(sig.signed_headers == "content-type;host;x-amz-date");
  CHECK(sig.signature == "6ebc9aa86bf75412bd27d5ca9a14a5f010e84574e6ec85bfdc8dc31f864a62ad");
  CHECK(header(sig, "X-Amz-Date") == "20150830T123600Z");
  CHECK(header(sig, "X-Amz-Security-Token") == "<absent>");
  CHECK(header(sig, "Authorization") ==
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/bedrock/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date, "
        "Signature=6ebc9aa86bf75412bd27d5ca9a14a5f010e84574e6ec85bfdc8dc31f864a62ad");
  REQUIRE(sig.headers.size() == 2);
  CHECK(sig.headers[0].first == "X-Amz-Date");
  CHECK(sig.headers[1].first == "Authorization");
}

TEST_CASE("Bedrock vector B: the session token is sent and signed") {
  const SigV4Signature sig = sign_bedrock(kUrlA, "us-east-1", kStsToken);
  CHECK(line(sig.string_to_sign, 3) == "d9f755b99ce013012bcf9e7153e3274088623a6f13fbe12fc45d208c372524dd");
  CHECK(sig.signed_headers == "content-type;host;x-amz-date;x-amz-security-token");
  CHECK(sig.signature == "c04fb979e28674152084810bdede634871636da19911da51668c3a6c5beae0e6");
  CHECK(header(sig, "X-Amz-Security-Token") == kStsToken);
  REQUIRE(sig.headers.size() == 3);
  CHECK(sig.headers[2].first == "Authorization");
}

TEST_CASE("Bedrock vector C: a custom endpoint's host keeps its port; the signing region is the configured one") {
  const SigV4Signature sig =
      sign_bedrock("http://127.0.0.1:8099/model/openai.gpt-oss-120b-1%3A0/converse-stream", "us-west-2", "");
  CHECK(line(sig.canonical_request, 1) == "/model/openai.gpt-oss-120b-1%253A0/converse-stream");
  CHECK(line(sig.canonical_request, 4) == "host:127.0.0.1:8099");
  CHECK(line(sig.string_to_sign, 2) == "20150830/us-west-2/bedrock/aws4_request");
  CHECK(line(sig.string_to_sign, 3) == "9e74fd0b01f8db0ea7f0a5f38c35013e743914243ec0330b6447a8efcccc30c8");
  CHECK(sig.signed_headers == "content-type;host;x-amz-date");
  CHECK(sig.signature == "3c0a1a41729ba65f2ce7a93cd85fcffb3e3443129c1d05a3f037b92751cab201");
}

TEST_CASE("libcurl 7.88's CURLOPT_AWS_SIGV4 signs the single-encoded path (why it is not used)") {
  // curl --aws-sigv4 aws:amz:us-east-1:bedrock on vector A's request (with
  // X-Amz-Date fixed by a header) sent Signature=bec09be9…: exactly ours for
  // the path with a raw ':', i.e. without Bedrock's double encoding.
  const SigV4Signature single = sign_bedrock(
      "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-haiku-20240307-v1:0/converse",
      "us-east-1", "");
  CHECK(single.signature == "bec09be91b5677c6cc6843db9b01747dfec78d4eab69188e7d585f898b7f41e1");
  CHECK(single.signature != sign_bedrock(kUrlA, "us-east-1", "").signature);
}

TEST_CASE("host: default ports dropped, others kept, lower-cased, IPv6, a caller's Host wins") {
  auto host_line = [](std::string_view url, const HeaderList& h = {}) {
    return std::string(line(sign_bedrock(url, "us-east-1", "", h).canonical_request, 3));
  };
  CHECK(host_line("https://Bedrock-Runtime.US-EAST-1.amazonaws.com:443/x") ==
        "host:bedrock-runtime.us-east-1.amazonaws.com");
  CHECK(host_line("http://example.com:80/x") == "host:example.com");
  CHECK(host_line("https://example.com:80/x") == "host:example.com:80");
  CHECK(host_line("http://example.com:443/x") == "host:example.com:443");
  CHECK(host_line("https://example.com:8443") == "host:example.com:8443");
  CHECK(host_line("http://[::1]:8099/x") == "host:[::1]:8099");
  CHECK(host_line("http://user:pw@example.com/x") == "host:example.com");
  CHECK(host_line("https://example.com/x", {{"Host", "other.example.com"}}) == "host:other.example.com");
  // No path at all: "/".
  CHECK(line(sign_bedrock("https://example.com", "us-east-1", "").canonical_request, 1) == "/");
  CHECK(line(sign_bedrock("https://example.com?b=2&a=1", "us-east-1", "").canonical_request, 1) == "/");
  CHECK(line(sign_bedrock("https://example.com?b=2&a=1", "us-east-1", "").canonical_request, 2) == "a=1&b=2");
}

TEST_CASE("header selection: LiteLLM's set by default, botocore's never-signed list always") {
  const HeaderList headers = {{"Content-Type", " application/json "},
                              {"User-Agent", "llmux"},
                              {"X-Custom", "no"},
                              {"Accept", "application/json"},
                              {"X-Amzn-Trace-Id", "Root=1"},
                              {"X-Amzn-Bedrock-GuardrailVersion", "1"},
                              {"x-amz-target", "  a   b  "},
                              {"Date", "Sun, 30 Aug 2015"},
                              {"Expect", ""},
                              {"X-Amz-Date", "20000101T000000Z"},  // ignored: the signer's own
                              {"Authorization", "Bearer x"}};
  const SigV4Signature sig = sign_bedrock(kUrlA, "us-east-1", "", headers);
  CHECK(sig.signed_headers == "content-type;date;host;x-amz-date;x-amz-target;x-amzn-bedrock-guardrailversion");
  CHECK(str_contains(sig.canonical_request, "\ncontent-type:application/json\n"));
  CHECK(str_contains(sig.canonical_request, "\nx-amz-target:a b\n"));
  CHECK(str_contains(sig.canonical_request, "\nx-amz-date:20150830T123600Z\n"));

  SigV4Request all;
  all.url = kUrlA;
  all.headers = headers;
  all.region = "us-east-1";
  all.service = "bedrock";
  all.time = suite_time();
  all.header_selection = SigV4HeaderSelection::kAll;
  const absl::StatusOr<SigV4Signature> every = sign_sigv4(all, {kAkid, kSecret, ""});
  REQUIRE(every.ok());
  CHECK(every->signed_headers ==
        "accept;content-type;date;host;x-amz-date;x-amz-target;x-amzn-bedrock-guardrailversion;x-custom");
}

TEST_CASE("canonical URI and query: normalised, re-encoded, sorted") {
  auto uri = [](std::string_view url) {
    return std::string(line(sign_bedrock(url, "us-east-1", "").canonical_request, 1));
  };
  auto query = [](std::string_view url) {
    return std::string(line(sign_bedrock(url, "us-east-1", "").canonical_request, 2));
  };
  CHECK(uri("https://h/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3Ainference-profile%2Fus.x/converse") ==
        "/model/arn%253Aaws%253Abedrock%253Aus-east-1%253A1%253Ainference-profile%252Fus.x/converse");
  CHECK(uri("https://h/a//b/./c/../d/") == "/a/b/d/");
  CHECK(uri("https://h/a b/~x") == "/a%20b/~x");
  CHECK(query("https://h/?b=2&a=2&a=1&c") == "a=1&a=2&b=2&c=");
  CHECK(query("https://h/?x=a%2Fb&y=%7e&z=a+b") == "x=a%2Fb&y=~&z=a%2Bb");
  CHECK(query("https://h/?a=1&&b=2#frag") == "a=1&b=2");
}

TEST_CASE("sign_http_request signs and appends; re-signing replaces the old headers") {
  transport::HttpRequest req;
  req.method = "POST";
  req.url = std::string(kUrlA);
  req.body = std::string(kBody);
  req.headers = {"Content-Type: application/json", "Expect:", "User-Agent: llmux"};
  REQUIRE(sign_http_request(req, {kAkid, kSecret, kStsToken}, "us-east-1", "bedrock", suite_time()).ok());
  REQUIRE(req.headers.size() == 6);
  CHECK(req.headers[3] == "X-Amz-Date: 20150830T123600Z");
  CHECK(req.headers[4] == "X-Amz-Security-Token: " + std::string(kStsToken));
  CHECK(req.headers[5] ==
        "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/bedrock/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, "
        "Signature=c04fb979e28674152084810bdede634871636da19911da51668c3a6c5beae0e6");
  // Again, a second later and without a token: one set of signed headers.
  REQUIRE(sign_http_request(req, {kAkid, kSecret, ""}, "us-east-1", "bedrock", suite_time() + absl::Seconds(1)).ok());
  REQUIRE(req.headers.size() == 5);
  CHECK(req.headers[3] == "X-Amz-Date: 20150830T123601Z");
  CHECK(req.headers[4].starts_with("Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/"));
}

TEST_CASE("invalid input is an error that names no secret") {
  SigV4Request req;
  req.url = kUrlA;
  req.region = "us-east-1";
  req.service = "bedrock";
  req.time = suite_time();
  CHECK(sign_sigv4(req, {"", kSecret, ""}).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(sign_sigv4(req, {kAkid, "", ""}).status().code() == absl::StatusCode::kInvalidArgument);
  for (std::string_view bad : {"", "bedrock-runtime.us-east-1.amazonaws.com/model", "https://", "https:///x",
                               "http://[::1/x"}) {
    req.url = bad;
    const absl::Status st = sign_sigv4(req, {kAkid, kSecret, "tok"}).status();
    INFO(bad);
    CHECK(st.code() == absl::StatusCode::kInvalidArgument);
    CHECK_FALSE(str_contains(std::string(st.message()), kSecret));
  }
  req.url = kUrlA;
  req.region = "";
  CHECK(sign_sigv4(req, {kAkid, kSecret, ""}).status().code() == absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace llmux::provider
