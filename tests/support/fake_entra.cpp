#include "support/fake_entra.hpp"

#include <map>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include "support/form_fake.hpp"

namespace llmux::testing {
namespace {

Behavior entra_error(int status, std::string_view error, std::string_view description) {
  Behavior b;
  b.status = status;
  b.body = fmt::format(R"({{"error":"{}","error_description":"{}","error_codes":[7000215]}})", error, description);
  return b;
}

}  // namespace

FakeEntra::FakeEntra(Expected expected) : expected_(std::move(expected)) {
  server_.set_handler([this](const ReceivedRequest& r) { return answer(r); });
}

std::string FakeEntra::authority() const { return fmt::format("http://127.0.0.1:{}", server_.port()); }

void FakeEntra::set_expires_in(std::string json_value) {
  std::lock_guard lock(mu_);
  expires_in_ = std::move(json_value);
}

void FakeEntra::fail_with(int status, std::string body) {
  std::lock_guard lock(mu_);
  fail_status_ = status;
  fail_body_ = std::move(body);
}

void FakeEntra::succeed() {
  std::lock_guard lock(mu_);
  fail_status_ = 0;
}

int FakeEntra::fetches() const {
  std::lock_guard lock(mu_);
  return fetches_;
}

std::vector<std::string> FakeEntra::problems() const {
  std::lock_guard lock(mu_);
  return problems_;
}

std::vector<ReceivedRequest> FakeEntra::requests() const { return server_.requests(); }

Behavior FakeEntra::answer(const ReceivedRequest& r) {
  std::lock_guard lock(mu_);
  const int n = ++fetches_;
  auto problem = [&](std::string what) {
    problems_.push_back(what);
    return entra_error(400, "invalid_request", what);
  };
  if (r.method != "POST") return problem("method " + r.method);
  const std::string path = fmt::format("/{}/oauth2/v2.0/token", expected_.tenant);
  if (r.path != path) return problem("path " + r.path);
  if (r.header("content-type") != "application/x-www-form-urlencoded") {
    return problem("content-type " + r.header("content-type"));
  }
  std::map<std::string, std::string> form = parse_form(r.body);
  if (form["grant_type"] != "client_credentials") return problem("grant_type " + form["grant_type"]);
  if (form["client_id"] != expected_.client_id) return problem("client_id " + form["client_id"]);
  if (form["scope"] != expected_.scope) return problem("scope " + form["scope"]);
  if (form["client_secret"] != expected_.client_secret) {
    problems_.push_back("client_secret mismatch");
    return entra_error(401, "invalid_client", "AADSTS7000215: Invalid client secret provided.");
  }
  if (fail_status_ != 0) {
    Behavior b;
    b.status = fail_status_;
    b.body = fail_body_;
    return b;
  }
  Behavior b;
  b.body = fmt::format(R"({{"token_type":"Bearer","expires_in":{},"ext_expires_in":{},"access_token":"entra-token-{}"}})",
                       expires_in_, expires_in_, n);
  return b;
}

}  // namespace llmux::testing
