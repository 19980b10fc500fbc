// -----------------------------------------------------------------------------
// File: tests/support/fake_entra.hpp
// -----------------------------------------------------------------------------
// A fake Microsoft Entra ID token endpoint on 127.0.0.1 (providers.md §2.3):
// POST /{tenant}/oauth2/v2.0/token, form-encoded client credentials. It
// checks the form (tenant, client_id, client_secret, grant_type, scope)
// against what the test expects and answers a mismatch as Entra does (400
// invalid_client / invalid_request, with the mismatch recorded in
// problems()); a good request gets {"token_type":"Bearer","expires_in":N,
// "access_token":"entra-token-<n>"}, n counting fetches from 1. Point a
// deployment at it with AZURE_AUTHORITY_HOST=authority().
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "support/fake_provider.hpp"

namespace llmux::testing {

class FakeEntra {
 public:
  struct Expected {
    std::string tenant = "tenant-1";
    std::string client_id = "client-1";
    std::string client_secret = "s3cret/value+with&specials=";
    std::string scope = "https://cognitiveservices.azure.com/.default";
  };

  explicit FakeEntra(Expected expected);
  FakeEntra() : FakeEntra(Expected{}) {}

  // "http://127.0.0.1:<port>" (the authority host, no trailing slash).
  std::string authority() const;
  // expires_in as written into the answer: a number ("3599") or, quoted, a
  // string ("\"3599\"").
  void set_expires_in(std::string json_value);
  // Answer every fetch with this status and body (an Entra error) instead.
  void fail_with(int status, std::string body);
  void succeed();  // back to issuing tokens

  int fetches() const;  // token requests received (good or not)
  std::vector<std::string> problems() const;  // form mismatches seen
  std::vector<ReceivedRequest> requests() const;

 private:
  Behavior answer(const ReceivedRequest& request);

  Expected expected_;
  mutable std::mutex mu_;
  std::string expires_in_ = "3599";            // guarded by mu_
  int fail_status_ = 0;                        // guarded by mu_
  std::string fail_body_;                      // guarded by mu_
  int fetches_ = 0;                            // guarded by mu_
  std::vector<std::string> problems_;          // guarded by mu_
  FakeProvider server_;  // last: stopped (its thread joined) before the rest goes
};

}  // namespace llmux::testing
