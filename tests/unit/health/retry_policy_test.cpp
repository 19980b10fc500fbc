#include "health/retry_policy.hpp"

#include <catch2/catch.hpp>

using namespace llmux;
using namespace llmux::health;

namespace {
Error err(ErrorKind k, int status) {
  Error e(k, "x");
  e.status = status;
  return e;
}
RetryContext ctx(size_t healthy, size_t size) {
  RetryContext c;
  c.healthy_deployments = healthy;
  c.group_size = size;
  return c;
}
}  // namespace

TEST_CASE("LiteLLM's retryable classes", "[retry]") {
  CHECK(should_retry_error(err(ErrorKind::kInternalServer, 500), ctx(2, 2)));
  CHECK(should_retry_error(err(ErrorKind::kRateLimit, 429), ctx(1, 2)));
  CHECK(should_retry_error(err(ErrorKind::kTimeout, 408), ctx(1, 1)));
  CHECK(should_retry_error(err(ErrorKind::kApiError, 409), ctx(1, 1)));
  CHECK(should_retry_error(err(ErrorKind::kConnectionError, 500), ctx(1, 1)));
  CHECK(should_retry_error(err(ErrorKind::kPermissionDenied, 403), ctx(1, 1)));
  CHECK_FALSE(should_retry_error(err(ErrorKind::kBadRequest, 400), ctx(2, 2)));
  CHECK_FALSE(should_retry_error(err(ErrorKind::kBadRequest, 422), ctx(2, 2)));
  CHECK_FALSE(should_retry_error(err(ErrorKind::kNotFound, 404), ctx(2, 2)));
  CHECK_FALSE(should_retry_error(err(ErrorKind::kContextWindowExceeded, 400), ctx(2, 2)));
  // 401 only in multi-deployment groups.
  CHECK(should_retry_error(err(ErrorKind::kAuthentication, 401), ctx(1, 2)));
  CHECK_FALSE(should_retry_error(err(ErrorKind::kAuthentication, 401), ctx(1, 1)));
  // Nothing healthy left: stop retrying (go to fallbacks).
  CHECK_FALSE(should_retry_error(err(ErrorKind::kInternalServer, 500), ctx(0, 2)));
  CHECK_FALSE(should_retry_error(err(ErrorKind::kCancelled, 499), ctx(2, 2)));
}

TEST_CASE("context-window and content-policy errors stop retrying when their fallbacks exist", "[retry]") {
  RetryContext c = ctx(2, 2);
  c.context_window_fallbacks_configured = true;
  c.content_policy_fallbacks_configured = true;
  CHECK_FALSE(should_retry_error(err(ErrorKind::kContextWindowExceeded, 400), c));
  CHECK_FALSE(should_retry_error(err(ErrorKind::kContentPolicyViolation, 400), c));
}

TEST_CASE("retry policy lookup", "[retry]") {
  RetryPolicy p;
  p.bad_request = 2;
  p.rate_limit = 4;
  CHECK(retries_from_policy(p, ErrorKind::kBadRequest) == 2);
  CHECK(retries_from_policy(p, ErrorKind::kContextWindowExceeded) == 2);
  CHECK(retries_from_policy(p, ErrorKind::kContentPolicyViolation) == 2);
  CHECK(retries_from_policy(p, ErrorKind::kRateLimit) == 4);
  CHECK_FALSE(retries_from_policy(p, ErrorKind::kTimeout).has_value());
  p.internal_server = 9;  // never consulted, as in LiteLLM
  CHECK_FALSE(retries_from_policy(p, ErrorKind::kInternalServer).has_value());

  RouterSettings s;
  CHECK(retry_policy_for(s, "g") == nullptr);
  s.retry_policy = p;
  RetryPolicy group_policy;
  group_policy.timeout = 1;
  s.model_group_retry_policy["special"] = group_policy;
  CHECK(retry_policy_for(s, "g") == &*s.retry_policy);
  CHECK(retry_policy_for(s, "special")->timeout == 1);
}

TEST_CASE("backoff: immediate when another deployment is healthy", "[retry]") {
  Random rng(1);
  CHECK(retry_backoff(err(ErrorKind::kRateLimit, 429), ctx(1, 2), 0, 0, rng) == Duration::zero());
}

TEST_CASE("backoff: Retry-After of the latest failure, 0 < ra <= 60, plus jitter", "[retry]") {
  Random rng(1);
  Error e = err(ErrorKind::kRateLimit, 429);
  e.retry_after_seconds = 3;
  for (int i = 0; i < 50; ++i) {
    const double d = duration_to_seconds(retry_backoff(e, ctx(0, 1), i, 0, rng));
    CHECK(d >= 3.0);
    CHECK(d < 3.0 + kRetryJitter);
  }
  e.retry_after_seconds = 600;  // out of range: exponential instead
  const double d = duration_to_seconds(retry_backoff(e, ctx(0, 1), 0, 0, rng));
  CHECK(d >= 0.5);
  CHECK(d < 0.5 + kRetryJitter);
}

TEST_CASE("backoff: exponential 0.5 * 2^k capped at 8 s, never below retry_after", "[retry]") {
  Random rng(7);
  Error e = err(ErrorKind::kInternalServer, 500);
  const double expected[] = {0.5, 1, 2, 4, 8, 8, 8};
  for (int k = 0; k < 7; ++k) {
    const double d = duration_to_seconds(retry_backoff(e, ctx(1, 1), k, 0, rng));
    CHECK(d >= expected[k]);
    CHECK(d < expected[k] + kRetryJitter);
  }
  const double floor = duration_to_seconds(retry_backoff(e, ctx(1, 1), 0, 3, rng));
  CHECK(floor >= 3);
  CHECK(floor < 3 + kRetryJitter);
}

TEST_CASE("fallback group selection", "[fallback]") {
  std::vector<FallbackRule> generic = {{"a", {"b", "c"}}, {"gpt-4", {"d"}}, {"*", {"default"}}};
  std::vector<FallbackRule> cw = {{"a", {"long"}}};
  std::vector<FallbackRule> cp = {{"a", {"lenient"}}};
  FallbackInputs in;
  in.fallbacks = &generic;
  in.context_window_fallbacks = &cw;
  in.content_policy_fallbacks = &cp;

  CHECK(fallback_groups_for("a", err(ErrorKind::kInternalServer, 500), in) == std::vector<std::string>{"b", "c"});
  CHECK(fallback_groups_for("a", err(ErrorKind::kContextWindowExceeded, 400), in) == std::vector<std::string>{"long"});
  CHECK(fallback_groups_for("a", err(ErrorKind::kContentPolicyViolation, 400), in) ==
        std::vector<std::string>{"lenient"});
  // Context-window lists match the exact group only.
  CHECK(fallback_groups_for("x", err(ErrorKind::kContextWindowExceeded, 400), in).empty());
  // Provider prefix stripped, then the "*" default.
  CHECK(fallback_groups_for("openai/gpt-4", err(ErrorKind::kInternalServer, 500), in) == std::vector<std::string>{"d"});
  CHECK(fallback_groups_for("zzz", err(ErrorKind::kInternalServer, 500), in) == std::vector<std::string>{"default"});
  // max_fallbacks caps; the group itself is skipped.
  in.max_fallbacks = 1;
  CHECK(fallback_groups_for("a", err(ErrorKind::kInternalServer, 500), in) == std::vector<std::string>{"b"});
  in.max_fallbacks = 5;
  std::vector<std::string> client = {"a", "q"};
  in.client_fallbacks = &client;
  CHECK(fallback_groups_for("a", err(ErrorKind::kContextWindowExceeded, 400), in) == std::vector<std::string>{"q"});
}
