// -----------------------------------------------------------------------------
// File: provider/token_cache.hpp
// -----------------------------------------------------------------------------
// One deployment's OAuth2 bearer token (Google service accounts and the
// metadata server, Entra ID client credentials, ...): fetched on the router's
// loop as an ordinary transfer when it is missing or close to expiry, one
// fetch at a time however many calls wait for it, and handed to every waiting
// call when it arrives. No call ever blocks on it, and no call fetches its
// own: many calls, one fetch per token lifetime.
//
// The family supplies how to ask (the token request) and how to read the
// answer; the cache supplies timing, single flight and error wording. A
// failed fetch is a kAuthentication error naming the deployment and what
// was fetched, with the endpoint's own error text (never a secret), given to
// every waiting call; the next call tries again.
//
// Thread safety: used on the loop thread only (prepare, token). The object
// may be destroyed while a fetch is in flight: the fetch then completes
// into nothing.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "llmux/clock.hpp"
#include "llmux/error.hpp"
#include "provider/provider.hpp"
#include "transport/event_loop.hpp"
#include "transport/transfer.hpp"

namespace llmux::provider {

struct AccessToken {
  std::string value;
  Duration lifetime{};  // from the answer's expires_in
};

struct TokenSource {
  // Fills the token request (url, method, headers, body); may fail, e.g. when
  // a credential cannot be read or signed. Deadlines left unset get
  // TokenCache's defaults.
  std::function<Status(transport::HttpRequest& out)> build_request;
  // Reads a finished token transfer (any status): the token, or an error
  // whose message says why (the endpoint's error text, no secret).
  std::function<Result<AccessToken>(const transport::TransferResult& result)> read_response;
};

// The usual OAuth2 token answer: {"access_token": "...", "expires_in": N}
// (N a number or a numeric string; missing → 3600 s) on HTTP 200; otherwise
// an error carrying the answer's error / error_description.
Result<AccessToken> read_oauth_token_response(const transport::TransferResult& result);

class TokenCache {
 public:
  // `what` names the token in errors ("Entra ID token", "Google access
  // token"). A token is refreshed once less than `refresh_margin` of its
  // lifetime remains (google-auth refreshes 3 min 45 s ahead).
  TokenCache(std::string deployment_id, std::string what, Duration refresh_margin, TokenSource source);
  ~TokenCache();
  TokenCache(const TokenCache&) = delete;
  TokenCache& operator=(const TokenCache&) = delete;

  // Calls `ready` once on the loop thread: at once when the token is fresh,
  // else when the fetch it joins (or starts) ends.
  void prepare(transport::EventLoop& loop, ReadyCallback ready);
  // The token; valid on the loop thread after prepare reported success.
  const std::string& token() const;
  // Token fetches started so far, including any whose request could not be
  // built (for tests and metrics).
  int fetches() const;

  struct State;  // shared with the fetch in flight, which may outlive the cache

 private:
  std::shared_ptr<State> state_;
};

}  // namespace llmux::provider
