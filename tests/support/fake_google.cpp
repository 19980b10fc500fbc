#include "support/fake_google.hpp"

#include <ctime>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>

#include <absl/strings/escaping.h>
#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <simdjson.h>

namespace llmux::testing {
namespace {

using KeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using BioPtr = std::unique_ptr<BIO, decltype(&BIO_free)>;

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return std::move(ss).str();
}

std::string b64url_decode(std::string_view s, bool& ok) {
  std::string out;
  ok = absl::WebSafeBase64Unescape(absl::string_view(s.data(), s.size()), &out);
  return out;
}

// The value of `name` in an x-www-form-urlencoded body (no decoding: the
// values checked here are plain).
std::string form_value(std::string_view body, std::string_view name) {
  size_t pos = 0;
  while (pos <= body.size()) {
    size_t end = body.find('&', pos);
    if (end == std::string_view::npos) end = body.size();
    std::string_view pair = body.substr(pos, end - pos);
    if (pair.size() > name.size() && pair.substr(0, name.size()) == name && pair[name.size()] == '=') {
      return std::string(pair.substr(name.size() + 1));
    }
    pos = end + 1;
  }
  return {};
}

std::string oauth_error(std::string_view error, std::string_view description) {
  return fmt::format(R"({{"error":"{}","error_description":"{}"}})", error, description);
}

}  // namespace

std::string google_test_key_path() { return std::string(LLMUX_TEST_DATA_DIR) + "/google_service_account_non_gdu.json"; }
std::string google_test_key_json() { return read_text(google_test_key_path()); }

std::string public_half(std::string_view private_key_pem) {
  BioPtr in(BIO_new_mem_buf(private_key_pem.data(), static_cast<int>(private_key_pem.size())), BIO_free);
  KeyPtr key(PEM_read_bio_PrivateKey(in.get(), nullptr, nullptr, nullptr), EVP_PKEY_free);
  if (!key) throw std::runtime_error("not a private key");
  BioPtr out(BIO_new(BIO_s_mem()), BIO_free);
  if (PEM_write_bio_PUBKEY(out.get(), key.get()) != 1) throw std::runtime_error("cannot write the public key");
  char* data = nullptr;
  const long size = BIO_get_mem_data(out.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

std::string check_google_jwt(std::string_view jwt, std::string_view public_key_pem, int64_t now_seconds) {
  const size_t dot1 = jwt.find('.');
  const size_t dot2 = dot1 == std::string_view::npos ? dot1 : jwt.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos) return "not three dot-separated parts";
  bool ok1 = false, ok2 = false, ok3 = false;
  const std::string header = b64url_decode(jwt.substr(0, dot1), ok1);
  const std::string claims = b64url_decode(jwt.substr(dot1 + 1, dot2 - dot1 - 1), ok2);
  const std::string signature = b64url_decode(jwt.substr(dot2 + 1), ok3);
  if (!ok1 || !ok2 || !ok3) return "a part is not base64url";
  if (jwt.find('=') != std::string_view::npos) return "padding in base64url";

  BioPtr bio(BIO_new_mem_buf(public_key_pem.data(), static_cast<int>(public_key_pem.size())), BIO_free);
  KeyPtr key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr), EVP_PKEY_free);
  if (!key) return "the fake's public key does not load";
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  const std::string_view signed_part = jwt.substr(0, dot2);
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1 ||
      EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                       reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size()) != 1) {
    return "bad RS256 signature";
  }

  simdjson::dom::parser parser;
  simdjson::dom::element h;
  if (parser.parse(header).get(h) != simdjson::SUCCESS) return "header is not JSON";
  std::string_view alg, typ, kid;
  if (h["alg"].get(alg) || alg != "RS256") return "alg is not RS256";
  if (h["typ"].get(typ) || typ != "JWT") return "typ is not JWT";
  if (h["kid"].get(kid) || kid != "1") return "kid is not the key's private_key_id";
  simdjson::dom::parser claims_parser;
  simdjson::dom::element c;
  if (claims_parser.parse(claims).get(c) != simdjson::SUCCESS) return "claims are not JSON";
  std::string_view iss, scope, aud;
  int64_t iat = 0, exp = 0;
  if (c["iss"].get(iss) || iss != "testsa@foo.iam.gserviceaccount.com") return "iss is not client_email";
  if (c["scope"].get(scope) || scope != "https://www.googleapis.com/auth/cloud-platform") return "wrong scope";
  if (c["aud"].get(aud) || aud != "https://oauth2.googleapis.com/token") return "wrong aud";
  if (c["iat"].get(iat) || c["exp"].get(exp)) return "iat/exp missing";
  if (exp != iat + 3600) return "exp is not iat + 3600";
  if (iat < now_seconds - 300 || iat > now_seconds + 300) return "iat is not now";
  return {};
}

struct FakeGoogle::State {
  std::mutex mu;  // guards everything below
  std::string public_key;
  int expires_in = 3600;
  int failure_status = 0;
  std::string failure_body;
  std::string project_id = "metadata-project";
  int token_fetches = 0;
  int metadata_fetches = 0;
  int project_fetches = 0;
  std::vector<std::string> rejections;
  std::vector<std::string> issued;
  std::function<Behavior(const ReceivedRequest&)> model_handler;

  Behavior issue(bool metadata) {  // mu held
    if (failure_status != 0) {
      Behavior b;
      b.status = failure_status;
      b.body = failure_body;
      if (metadata) b.headers.emplace_back("Metadata-Flavor", "Google");
      return b;
    }
    issued.push_back(fmt::format("fake-token-{}", issued.size() + 1));
    Behavior b;
    b.body = fmt::format(R"({{"access_token":"{}","expires_in":{},"token_type":"Bearer"}})", issued.back(),
                         expires_in);
    if (metadata) b.headers.emplace_back("Metadata-Flavor", "Google");
    return b;
  }

  Behavior handle(const ReceivedRequest& r) {
    const std::string_view path = std::string_view(r.path).substr(0, r.path.find('?'));
    std::unique_lock<std::mutex> lock(mu);
    if (path == "/token") {
      ++token_fetches;
      if (r.method != "POST" || r.header("content-type") != "application/x-www-form-urlencoded") {
        return Behavior::error(400, "expected a form POST");
      }
      if (form_value(r.body, "grant_type") != "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer") {
        rejections.push_back("wrong grant_type");
      } else if (std::string why = check_google_jwt(form_value(r.body, "assertion"), public_key,
                                                    static_cast<int64_t>(std::time(nullptr)));
                 !why.empty()) {
        rejections.push_back(why);
      } else {
        return issue(false);
      }
      Behavior b;
      b.status = 400;
      b.body = oauth_error("invalid_grant", "Invalid JWT: " + rejections.back());
      return b;
    }
    if (path.substr(0, 18) == "/computeMetadata/v") {
      const bool token = path == "/computeMetadata/v1/instance/service-accounts/default/token";
      if (token) {
        ++metadata_fetches;
      } else {
        ++project_fetches;
      }
      if (r.header("metadata-flavor") != "Google") {
        rejections.push_back("metadata request without Metadata-Flavor: Google");
        return Behavior::error(403, "Missing Metadata-Flavor header");
      }
      if (token) return issue(true);
      if (path != "/computeMetadata/v1/project/project-id") return Behavior::error(404, "no such metadata");
      Behavior b;
      b.body = project_id;
      b.headers = {{"Metadata-Flavor", "Google"}, {"Content-Type", "application/text"}};
      return b;
    }
    auto handler = model_handler;
    lock.unlock();
    if (handler) return handler(r);
    return Behavior::error(404, "no model handler");
  }
};

FakeGoogle::FakeGoogle() : state_(std::make_shared<State>()), server_(std::make_unique<FakeProvider>()) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::string_view pem;
  const std::string key_json = google_test_key_json();
  if (parser.parse(key_json).get(doc) || doc["private_key"].get(pem)) throw std::runtime_error("bad test key file");
  // Only the public half stays with the "server".
  state_->public_key = public_half(pem);
  server_->set_handler([state = state_](const ReceivedRequest& r) { return state->handle(r); });
}

FakeGoogle::~FakeGoogle() { server_.reset(); }

std::string FakeGoogle::base_url() const { return "http://" + host(); }
std::string FakeGoogle::host() const { return fmt::format("127.0.0.1:{}", server_->port()); }

std::string FakeGoogle::service_account_json() const {
  std::string json = google_test_key_json();
  const std::string from = "https://oauth2.googleapis.com/token";
  const size_t at = json.find(from);
  if (at == std::string::npos) throw std::runtime_error("test key has no token_uri");
  json.replace(at, from.size(), base_url() + "/token");
  return json;
}

void FakeGoogle::set_expires_in(int seconds) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->expires_in = seconds;
}

void FakeGoogle::set_token_failure(int status, std::string body) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->failure_status = status;
  state_->failure_body = std::move(body);
}

void FakeGoogle::set_project_id(std::string project) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->project_id = std::move(project);
}

int FakeGoogle::token_fetches() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->token_fetches;
}

int FakeGoogle::metadata_fetches() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->metadata_fetches;
}

int FakeGoogle::project_fetches() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->project_fetches;
}

std::vector<std::string> FakeGoogle::rejections() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->rejections;
}

bool FakeGoogle::issued(std::string_view authorization) const {
  std::lock_guard<std::mutex> lock(state_->mu);
  for (const auto& t : state_->issued) {
    if (authorization == "Bearer " + t) return true;
  }
  return false;
}

std::string FakeGoogle::last_token() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->issued.empty() ? std::string() : state_->issued.back();
}

void FakeGoogle::set_model_handler(std::function<Behavior(const ReceivedRequest&)> handler) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->model_handler = std::move(handler);
}

FakeProvider& FakeGoogle::server() { return *server_; }

}  // namespace llmux::testing
