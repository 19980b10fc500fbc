#include "provider/token_cache.hpp"

#include <algorithm>
#include <charconv>
#include <utility>

#include <fmt/format.h>
#include <simdjson.h>

#include "provider/error_classifier.hpp"
#include "provider/single_flight.hpp"

namespace llmux::provider {

namespace {

constexpr Duration kDefaultLifetime = std::chrono::seconds(3600);
constexpr Duration kFetchTimeout = std::chrono::seconds(30);
constexpr Duration kFetchConnectTimeout = std::chrono::seconds(10);

std::string string_member(simdjson::dom::element obj, const char* key) {
  std::string_view v;
  if (obj[key].get_string().get(v) == simdjson::SUCCESS) return std::string(v);
  return {};
}

}  // namespace

Result<AccessToken> read_oauth_token_response(const transport::TransferResult& result) {
  if (result.error != transport::TransferError::kNone) {
    return Error(ErrorKind::kAuthentication,
                 fmt::format("no answer ({}: {})", transport::transfer_error_name(result.error), result.error_message));
  }
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  const bool is_json = parser.parse(result.body).get(doc) == simdjson::SUCCESS && doc.is_object();
  if (result.status != 200) {
    std::string detail;
    if (is_json) {
      detail = string_member(doc, "error");
      const std::string description = string_member(doc, "error_description");
      if (!description.empty()) detail += (detail.empty() ? "" : ": ") + description;
    }
    if (detail.empty()) detail = extract_error_message(result.body, result.status);
    return Error(ErrorKind::kAuthentication, fmt::format("HTTP {}: {}", result.status, detail));
  }
  if (!is_json) return Error(ErrorKind::kAuthentication, "HTTP 200 but the answer is not a JSON object");
  AccessToken token;
  token.value = string_member(doc, "access_token");
  if (token.value.empty()) return Error(ErrorKind::kAuthentication, "HTTP 200 but no access_token in the answer");
  token.lifetime = kDefaultLifetime;
  simdjson::dom::element expires;
  if (doc["expires_in"].get(expires) == simdjson::SUCCESS) {
    int64_t seconds = -1;
    std::string_view text;
    if (expires.get_int64().get(seconds) != simdjson::SUCCESS && expires.get_string().get(text) == simdjson::SUCCESS) {
      // google-auth and Entra sometimes send it as a string.
      auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
      if (ec != std::errc() || ptr != text.data() + text.size()) seconds = -1;
    }
    if (seconds >= 0) token.lifetime = std::chrono::seconds(seconds);
  }
  return token;
}

struct TokenCache::State {
  std::string deployment_id;
  std::string what;
  Duration refresh_margin;
  TokenSource source;
  transport::EventLoop* loop = nullptr;
  std::string token;
  TimePoint refresh_at{};  // refreshed from this point on
  SingleFlight flight;

  Error failure(const Error& cause) const {
    return Error(ErrorKind::kAuthentication,
                 fmt::format("deployment {}: {} fetch failed: {}", deployment_id, what, cause.message));
  }
};

namespace {

// One fetch in flight. Owns itself (deleted after on_complete) and only a
// weak reference to the cache, which may go away first.
class TokenFetch final : public transport::TransferObserver {
 public:
  explicit TokenFetch(std::weak_ptr<TokenCache::State> state) : state_(std::move(state)) {}
  void on_complete(transport::TransferResult&& result) override;

 private:
  std::weak_ptr<TokenCache::State> state_;
};

}  // namespace

void TokenFetch::on_complete(transport::TransferResult&& result) {
  std::unique_ptr<TokenFetch> self(this);
  std::shared_ptr<TokenCache::State> s = state_.lock();
  if (!s) return;
  Result<AccessToken> token = s->source.read_response(result);
  if (!token.ok()) {
    s->token.clear();
    s->flight.finish(s->failure(token.error()));
    return;
  }
  const TimePoint now = s->loop->now();
  // A token living less than twice the margin is refreshed at half its life,
  // not at once: a short-lived token must not mean a fetch per call.
  const Duration margin = std::min(s->refresh_margin, token->lifetime / 2);
  s->token = std::move(token->value);
  s->refresh_at = now + (token->lifetime - margin);
  s->flight.finish(Status::Ok());
}

TokenCache::TokenCache(std::string deployment_id, std::string what, Duration refresh_margin, TokenSource source)
    : state_(std::make_shared<State>()) {
  state_->deployment_id = std::move(deployment_id);
  state_->what = std::move(what);
  state_->refresh_margin = refresh_margin;
  state_->source = std::move(source);
}

TokenCache::~TokenCache() = default;

void TokenCache::prepare(transport::EventLoop& loop, ReadyCallback ready) {
  State& s = *state_;
  s.loop = &loop;
  if (!s.token.empty() && loop.now() < s.refresh_at) {
    ready(Status::Ok());
    return;
  }
  if (!s.flight.join(std::move(ready))) return;  // one fetch for every waiting call
  transport::HttpRequest request;
  request.total_timeout = kFetchTimeout;
  request.connect_timeout = kFetchConnectTimeout;
  Status built = s.source.build_request(request);
  if (!built.ok()) {
    s.flight.finish(s.failure(built.error()));
    return;
  }
  loop.start_transfer(std::move(request), new TokenFetch(state_));
}

const std::string& TokenCache::token() const { return state_->token; }

int TokenCache::fetches() const { return state_->flight.started(); }

}  // namespace llmux::provider
