// -----------------------------------------------------------------------------
// File: tests/support/fake_google.hpp
// -----------------------------------------------------------------------------
// Google's side of Vertex AI on loopback (providers.md §4.8, §6), on one
// FakeProvider server:
//   * POST /token — the OAuth2 token endpoint a service-account file's
//     token_uri points at: checks the jwt-bearer form, the JWT's RS256
//     signature against the test key's *public* half (OpenSSL) and its claims
//     (iss, scope, aud, kid, exp = iat + 3600, iat near now), and issues
//     "fake-token-<n>" with a configurable expires_in;
//   * GET /computeMetadata/v1/instance/service-accounts/default/token and
//     /computeMetadata/v1/project/project-id — the GCE metadata server,
//     requiring Metadata-Flavor: Google and answering with it;
//   * anything else — the model handler (Vertex's URLs), which can ask
//     whether a bearer token is one this fake issued.
// The test key is tests/data/google_service_account_non_gdu.json (public,
// from google-auth-library-python's tests).
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "support/fake_provider.hpp"

namespace llmux::testing {

// The test service-account file's text and path.
std::string google_test_key_path();
std::string google_test_key_json();

// Why `jwt` is not a valid Google service-account assertion signed by the
// key whose public half is `public_key_pem` (checked against `now_seconds`);
// empty when it is.
std::string check_google_jwt(std::string_view jwt, std::string_view public_key_pem, int64_t now_seconds);

// The PEM public key (SubjectPublicKeyInfo) of a PEM private key.
std::string public_half(std::string_view private_key_pem);

class FakeGoogle {
 public:
  FakeGoogle();
  ~FakeGoogle();
  FakeGoogle(const FakeGoogle&) = delete;
  FakeGoogle& operator=(const FakeGoogle&) = delete;

  // "http://127.0.0.1:<port>" and "127.0.0.1:<port>" (for GCE_METADATA_HOST).
  std::string base_url() const;
  std::string host() const;
  // The test key file with token_uri pointing at this fake's /token.
  std::string service_account_json() const;

  // expires_in of the tokens issued from now on (default 3600).
  void set_expires_in(int seconds);
  // Token requests (both endpoints) fail with this status and body from now
  // on; status 0 restores success.
  void set_token_failure(int status, std::string body);
  void set_project_id(std::string project);

  int token_fetches() const;     // POST /token requests
  int metadata_fetches() const;  // metadata token requests
  int project_fetches() const;   // metadata project-id requests
  // Why rejected assertions were rejected (empty when none was).
  std::vector<std::string> rejections() const;
  // Whether `authorization` is "Bearer <a token this fake issued>".
  bool issued(std::string_view authorization) const;
  // The token issued most recently ("" before any).
  std::string last_token() const;

  // Answers every request that is not Google's auth (the model endpoint).
  void set_model_handler(std::function<Behavior(const ReceivedRequest&)> handler);
  FakeProvider& server();

  struct State;

 private:
  std::shared_ptr<State> state_;
  std::unique_ptr<FakeProvider> server_;
};

}  // namespace llmux::testing
