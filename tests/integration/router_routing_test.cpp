// Routing strategies and candidate filters end to end (issue 3 §8): real HTTP
// on loopback against the scripted fake provider. Every test checks what the
// providers actually received; timing checks are lower bounds only.
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "integration/test_util.hpp"

using namespace llmux;
using namespace llmux::testing;

namespace {

// One deployment with an explicit id: `params` are extra litellm_params lines
// (6-space indent), `info` extra model_info lines (6-space indent).
std::string dep(const std::string& group, const FakeProvider& p, const std::string& id, const std::string& params = "",
                const std::string& info = "") {
  return deployment_yaml(group, "m-" + id, p, params) + "    model_info:\n      id: " + id + "\n" + info;
}

// A chat request whose messages array is exactly 30 + content_chars bytes:
// the router estimates ceil(bytes / 4) prompt tokens.
std::string request_with_content(const std::string& model, size_t content_chars, const std::string& extra = "") {
  return fmt::format(R"({{"model":"{}","messages":[{{"role":"user","content":"{}"}}]{}}})", model,
                     std::string(content_chars, 'x'), extra.empty() ? "" : "," + extra);
}

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

const DeploymentHealth* find_health(const std::vector<DeploymentHealth>& hs, const std::string& id) {
  for (const auto& h : hs) {
    if (h.id == id) return &h;
  }
  return nullptr;
}

}  // namespace

// ---------------------------------------------------------------------------
// Strategies.

TEST_CASE("latency-based-routing sends the traffic to the faster deployment after warm-up",
          "[router][strategy][routing-e2e]") {
  FakeProvider fast, slow;
  Behavior lag = Behavior::ok();
  lag.delay = Millis(400);  // far above any scheduling hiccup of the fast one
  slow.set_default(lag);
  auto router = make_router("model_list:\n" + dep("g", fast, "fast") + dep("g", slow, "slow") +
                            "router_settings:\n  routing_strategy: latency-based-routing\n");
  // Warm-up: a deployment without samples scores 0, so each is tried once.
  for (int i = 0; i < 2; ++i) REQUIRE(router->completion(chat_request("g")).ok());
  CHECK(fast.request_count() == 1);
  CHECK(slow.request_count() == 1);

  int served_fast = 0;
  for (int i = 0; i < 20; ++i) {
    auto r = router->completion(chat_request("g"));
    REQUIRE(r.ok());
    if (r->metadata.deployment_id == "fast") ++served_fast;
  }
  CHECK(served_fast >= 18);
  CHECK(fast.request_count() == static_cast<size_t>(1 + served_fast));
  CHECK(slow.request_count() == static_cast<size_t>(1 + 20 - served_fast));
}

TEST_CASE("usage-based-routing-v2 admits exactly rpm requests per deployment per minute",
          "[router][strategy][ratelimit][routing-e2e]") {
  VirtualClock time;  // the minute cannot roll over mid-test
  FakeProvider a, b;
  RouterOptions opts;
  opts.time_source = &time;
  auto router = make_router_with("model_list:\n" + dep("g", a, "a", "      rpm: 3\n") + dep("g", b, "b", "      rpm: 3\n") +
                                     "router_settings:\n  routing_strategy: usage-based-routing-v2\n",
                                 opts);
  for (int i = 0; i < 6; ++i) {
    auto r = router->completion(chat_request("g"));
    REQUIRE(r.ok());
  }
  CHECK(a.request_count() == 3);
  CHECK(b.request_count() == 3);

  auto seventh = router->completion(chat_request("g"));
  REQUIRE_FALSE(seventh.ok());
  CHECK(seventh.error().kind == ErrorKind::kNoDeploymentsAvailable);
  CHECK(contains(seventh.error().message, "rpm/tpm"));
  CHECK(seventh.error().retry_after_seconds.has_value());
  CHECK(a.request_count() + b.request_count() == 6);  // refused before any HTTP

  // A new minute: headroom again.
  time.advance(60);
  REQUIRE(router->completion(chat_request("g")).ok());
  CHECK(a.request_count() + b.request_count() == 7);
}

TEST_CASE("under simple-shuffle rpm is enforced only with enable_pre_call_checks",
          "[router][strategy][ratelimit][routing-e2e]") {
  VirtualClock time;
  FakeProvider a;
  RouterOptions opts;
  opts.time_source = &time;
  const std::string list = "model_list:\n" + dep("g", a, "a", "      rpm: 2\n");
  auto open = make_router_with(list, opts);
  for (int i = 0; i < 4; ++i) REQUIRE(open->completion(chat_request("g")).ok());  // rpm is only a weight
  CHECK(a.request_count() == 4);

  auto checked = make_router_with(list + "router_settings:\n  enable_pre_call_checks: true\n", opts);
  for (int i = 0; i < 2; ++i) REQUIRE(checked->completion(chat_request("g")).ok());
  auto third = checked->completion(chat_request("g"));
  REQUIRE_FALSE(third.ok());
  CHECK(third.error().kind == ErrorKind::kNoDeploymentsAvailable);
  CHECK(contains(third.error().message, "rpm/tpm"));
  CHECK(a.request_count() == 6);
}

TEST_CASE("tpm limits count the estimated prompt (messages bytes / 4) and this minute's usage",
          "[router][strategy][ratelimit][routing-e2e]") {
  VirtualClock time;
  FakeProvider a;
  a.set_default(ok_with_usage(40, 10));  // 50 tokens per answer
  RouterOptions opts;
  opts.time_source = &time;
  auto router = make_router_with(
      "model_list:\n" + dep("g", a, "a", "      tpm: 200\n") + "router_settings:\n  routing_strategy: usage-based-routing-v2\n",
      opts);

  // 801 bytes of messages → 201 estimated tokens > 200: refused without a call.
  auto too_big = router->completion(request_with_content("g", 771));
  REQUIRE_FALSE(too_big.ok());
  CHECK(too_big.error().kind == ErrorKind::kNoDeploymentsAvailable);
  CHECK(contains(too_big.error().message, "rpm/tpm"));
  CHECK(a.request_count() == 0);

  // 800 bytes → exactly 200 tokens: fits an empty minute.
  REQUIRE(router->completion(request_with_content("g", 770)).ok());
  CHECK(a.request_count() == 1);

  // Now 50 used. "Say hello" (39 bytes) estimates 10 tokens: 50+10, 100+10,
  // 150+10 fit; 200+10 does not.
  for (int i = 0; i < 3; ++i) REQUIRE(router->completion(chat_request("g")).ok());
  CHECK(a.request_count() == 4);
  auto over = router->completion(chat_request("g"));
  REQUIRE_FALSE(over.ok());
  CHECK(over.error().kind == ErrorKind::kNoDeploymentsAvailable);
  CHECK(a.request_count() == 4);
  auto h = router->health("g");
  REQUIRE(h.size() == 1);
  CHECK(h[0].tokens_this_minute == 200);

  time.advance(60);
  REQUIRE(router->completion(chat_request("g")).ok());
  CHECK(a.request_count() == 5);
}

TEST_CASE("cost-based-routing picks the cheapest and moves on while it cools down",
          "[router][strategy][cost][routing-e2e]") {
  FakeProvider free_dep, cheap, unknown, pricey, unknown2;
  std::string cfg =
      "model_list:\n" + dep("g", free_dep, "free", "      input_cost_per_token: 0\n      output_cost_per_token: 0\n") +
      dep("g", cheap, "cheap", "      input_cost_per_token: 0.000001\n      output_cost_per_token: 0.000002\n") +
      dep("g", unknown, "unknown") +
      dep("h", pricey, "pricey", "      input_cost_per_token: 1.0\n      output_cost_per_token: 1.0\n") +
      dep("h", unknown2, "unknown2") + "router_settings:\n  routing_strategy: cost-based-routing\n";
  auto router = make_router(cfg);

  // A price of 0 is the cheapest.
  for (int i = 0; i < 5; ++i) {
    auto r = router->completion(chat_request("g"));
    REQUIRE(r.ok());
    CHECK(r->metadata.deployment_id == "free");
  }
  CHECK(free_dep.request_count() == 5);

  // The cheapest is rate limited: cooled down, and the next cheapest serves
  // (the retry in the same call goes there at once).
  free_dep.set_default(Behavior::rate_limited(30));
  auto moved = router->completion(chat_request("g"));
  REQUIRE(moved.ok());
  CHECK(moved->metadata.deployment_id == "cheap");
  CHECK(moved->metadata.attempts == 2);
  for (int i = 0; i < 5; ++i) {
    auto r = router->completion(chat_request("g"));
    REQUIRE(r.ok());
    CHECK(r->metadata.deployment_id == "cheap");
  }
  CHECK(free_dep.request_count() == 6);
  CHECK(cheap.request_count() == 6);
  CHECK(unknown.request_count() == 0);  // an unknown price loses to any configured one
  const auto health = router->health("g");
  const DeploymentHealth* free_health = find_health(health, "free");
  REQUIRE(free_health != nullptr);
  CHECK(free_health->state == "cooling_down");
  CHECK(free_health->status == 429);

  // Even $1 per token beats an unknown price (5.0 per side).
  for (int i = 0; i < 5; ++i) REQUIRE(router->completion(chat_request("h")).ok());
  CHECK(pricey.request_count() == 5);
  CHECK(unknown2.request_count() == 0);
}

TEST_CASE("power-of-two-choices prefers the faster deployment", "[router][strategy][routing-e2e]") {
  FakeProvider fast, slow;
  Behavior lag = Behavior::ok();
  lag.delay = Millis(400);  // far above any scheduling hiccup of the fast one
  slow.set_default(lag);
  auto router = make_router("model_list:\n" + dep("g", fast, "fast") + dep("g", slow, "slow") +
                            "router_settings:\n  routing_strategy: power-of-two-choices\n");
  // Unobserved deployments cost 0: the first two calls try both.
  for (int i = 0; i < 2; ++i) REQUIRE(router->completion(chat_request("g")).ok());
  CHECK(fast.request_count() == 1);
  CHECK(slow.request_count() == 1);
  int served_fast = 0;
  for (int i = 0; i < 20; ++i) {
    auto r = router->completion(chat_request("g"));
    REQUIRE(r.ok());
    if (r->metadata.deployment_id == "fast") ++served_fast;
  }
  CHECK(served_fast >= 18);
  CHECK(slow.request_count() == static_cast<size_t>(1 + 20 - served_fast));
}

TEST_CASE("least-busy spreads concurrent calls over the deployments", "[router][strategy][routing-e2e]") {
  FakeProvider a, b, c;
  Behavior lag = Behavior::ok();
  lag.delay = Millis(500);
  for (FakeProvider* p : {&a, &b, &c}) p->set_default(lag);
  auto router = make_router("model_list:\n" + dep("g", a, "a") + dep("g", b, "b") + dep("g", c, "c") +
                            "router_settings:\n  routing_strategy: least-busy\n");
  // Six calls in flight at once (each answer takes 500 ms): each pick sees the
  // others in flight, so every deployment gets exactly two.
  auto results = run_concurrently(*router, std::vector<std::string>(6, chat_request("g")));
  for (const auto& r : results) CHECK(r.ok());
  CHECK(a.request_count() == 2);
  CHECK(b.request_count() == 2);
  CHECK(c.request_count() == 2);
}

TEST_CASE("an unknown routing strategy fails Router creation", "[router][strategy][config][routing-e2e]") {
  FakeProvider a;
  RouterOptions opts;
  opts.log = [](std::string_view) {};
  auto r = Router::from_config("model_list:\n" + dep("g", a, "a") + "router_settings:\n  routing_strategy: fastest\n", opts);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::kInvalidConfig);
  CHECK(contains(r.error().message, "routing_strategy"));
  CHECK(contains(r.error().message, "fastest"));
  CHECK(a.request_count() == 0);
}

// ---------------------------------------------------------------------------
// Filters.

TEST_CASE("order tiers: order 1 serves while healthy, order 2 when it cools down",
          "[router][filter][order][routing-e2e]") {
  FakeProvider first, second, unordered;
  std::string cfg = "model_list:\n" + dep("g", first, "first", "      order: 1\n") +
                    dep("g", second, "second", "      order: 2\n") + dep("g", unordered, "unordered");

  SECTION("a 429 in a multi-deployment group") {
    auto router = make_router(cfg);
    for (int i = 0; i < 8; ++i) {
      auto r = router->completion(chat_request("g"));
      REQUIRE(r.ok());
      CHECK(r->metadata.deployment_id == "first");
    }
    first.set_default(Behavior::rate_limited(30));
    auto r = router->completion(chat_request("g"));
    REQUIRE(r.ok());
    CHECK(r->metadata.deployment_id == "second");
    CHECK(r->metadata.attempts == 2);
    for (int i = 0; i < 5; ++i) {
      auto again = router->completion(chat_request("g"));
      REQUIRE(again.ok());
      CHECK(again->metadata.deployment_id == "second");
    }
    CHECK(first.request_count() == 9);  // cooled down after its 429: not tried again
    CHECK(second.request_count() == 6);
  }
  SECTION("a 5xx that does not cool down keeps the tier") {
    first.enqueue(Behavior::error(500, "transient", "server_error"));
    auto router = make_router(cfg);
    auto r = router->completion(chat_request("g"));
    REQUIRE(r.ok());
    // The retry stays in tier 1 (LiteLLM: the order filter runs on every attempt).
    CHECK(r->metadata.deployment_id == "first");
    CHECK(r->metadata.attempts == 2);
    CHECK(first.request_count() == 2);
    CHECK(second.request_count() == 0);
  }
  SECTION("a 401") {
    first.set_default(Behavior::error(401, "Incorrect API key provided", "invalid_request_error", "invalid_api_key"));
    auto router = make_router(cfg);
    auto r = router->completion(chat_request("g"));
    REQUIRE(r.ok());
    CHECK(r->metadata.deployment_id == "second");
    for (int i = 0; i < 5; ++i) {
      auto again = router->completion(chat_request("g"));
      REQUIRE(again.ok());
      CHECK(again->metadata.deployment_id == "second");
    }
    CHECK(first.request_count() == 1);
    CHECK(second.request_count() == 6);
  }
  // A deployment without `order` is never used while another one has one.
  CHECK(unordered.request_count() == 0);
}

TEST_CASE("tag filtering routes by metadata.tags, with default deployments and match-all",
          "[router][filter][tags][routing-e2e]") {
  FakeProvider paid, free_tier, fallback_tier;
  std::string deployments = dep("g", paid, "paid", "      tags: [paid]\n") +
                            dep("g", free_tier, "free", "      tags: [free]\n");

  SECTION("with a default deployment") {
    auto router = make_router("model_list:\n" + deployments + dep("g", fallback_tier, "def", "      tags: [default]\n") +
                              "router_settings:\n  enable_tag_filtering: true\n");
    for (int i = 0; i < 5; ++i) {
      auto r = router->completion(chat_request("g", R"("metadata":{"tags":["paid"]})"));
      REQUIRE(r.ok());
      CHECK(r->metadata.deployment_id == "paid");
    }
    // No tags, or tags nobody has: the "default" deployments.
    for (int i = 0; i < 3; ++i) REQUIRE(router->completion(chat_request("g")).ok());
    for (int i = 0; i < 3; ++i) REQUIRE(router->completion(chat_request("g", R"("metadata":{"tags":["vip"]})")).ok());
    CHECK(paid.request_count() == 5);
    CHECK(free_tier.request_count() == 0);
    CHECK(fallback_tier.request_count() == 6);
    // The router-only keys never reach the provider.
    for (const auto& req : paid.requests()) CHECK_FALSE(contains(req.body, "metadata"));
  }
  SECTION("without a default deployment") {
    auto router = make_router("model_list:\n" + deployments + "router_settings:\n  enable_tag_filtering: true\n");
    auto r = router->completion(chat_request("g", R"("metadata":{"tags":["vip"]})"));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::kNoDeploymentsAvailable);
    CHECK(contains(r.error().message, "Not allowed to access model due to tags configuration"));
    CHECK(contains(r.error().message, "vip"));
    CHECK(paid.request_count() + free_tier.request_count() == 0);
    // Without tags every deployment is a candidate.
    for (int i = 0; i < 20; ++i) REQUIRE(router->completion(chat_request("g")).ok());
    CHECK(paid.request_count() > 0);
    CHECK(free_tier.request_count() > 0);
  }
  SECTION("tag_filtering_match_any") {
    FakeProvider both, only_a;
    std::string two = dep("t", both, "both", "      tags: [a, b]\n") + dep("t", only_a, "only_a", "      tags: [a]\n");
    auto all = make_router("model_list:\n" + two +
                           "router_settings:\n  enable_tag_filtering: true\n  tag_filtering_match_any: false\n");
    for (int i = 0; i < 10; ++i) {
      auto r = all->completion(chat_request("t", R"("metadata":{"tags":["a","b"]})"));
      REQUIRE(r.ok());
      CHECK(r->metadata.deployment_id == "both");  // every request tag must be present
    }
    CHECK(only_a.request_count() == 0);
    auto any = make_router("model_list:\n" + two + "router_settings:\n  enable_tag_filtering: true\n");
    for (int i = 0; i < 20; ++i) REQUIRE(any->completion(chat_request("t", R"("metadata":{"tags":["a","b"]})")).ok());
    CHECK(only_a.request_count() > 0);  // any overlap matches
    CHECK(both.request_count() > 10);
  }
}

TEST_CASE("allowed_model_region keeps only deployments of that region_name", "[router][filter][region][routing-e2e]") {
  FakeProvider eu, us;
  auto router = make_router("model_list:\n" + dep("g", eu, "eu", "      region_name: eu\n") +
                            dep("g", us, "us", "      region_name: us\n") +
                            "router_settings:\n  enable_pre_call_checks: true\n");
  for (int i = 0; i < 10; ++i) {
    auto r = router->completion(chat_request("g", R"("allowed_model_region":"eu")"));
    REQUIRE(r.ok());
    CHECK(r->metadata.deployment_id == "eu");
  }
  CHECK(eu.request_count() == 10);
  CHECK(us.request_count() == 0);
  for (const auto& req : eu.requests()) CHECK_FALSE(contains(req.body, "allowed_model_region"));

  auto none = router->completion(chat_request("g", R"("allowed_model_region":"ap")"));
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().kind == ErrorKind::kNoDeploymentsAvailable);
  CHECK(contains(none.error().message, "region"));
  CHECK(eu.request_count() + us.request_count() == 10);

  // No region asked: both serve.
  for (int i = 0; i < 20; ++i) REQUIRE(router->completion(chat_request("g")).ok());
  CHECK(us.request_count() > 0);
}

TEST_CASE("pre-call checks skip deployments whose context window is too small",
          "[router][filter][context][routing-e2e]") {
  FakeProvider small, big, short_only, long_group, tiny;
  std::string cfg = "model_list:\n" + dep("g", small, "small", "", "      max_input_tokens: 50\n") +
                    dep("g", big, "big", "", "      max_input_tokens: 100000\n") +
                    dep("short", short_only, "short_only", "", "      max_input_tokens: 50\n") +
                    dep("long", long_group, "long_group") + dep("tiny", tiny, "tiny_dep", "", "      max_input_tokens: 50\n") +
                    "router_settings:\n  enable_pre_call_checks: true\n  context_window_fallbacks:\n"
                    "    - short: [long]\n";
  auto router = make_router(cfg);
  // 430 bytes of messages → 108 estimated tokens > 50.
  const std::string long_prompt = request_with_content("g", 400);
  for (int i = 0; i < 10; ++i) {
    auto r = router->completion(long_prompt);
    REQUIRE(r.ok());
    CHECK(r->metadata.deployment_id == "big");
  }
  CHECK(small.request_count() == 0);
  // A short prompt fits both.
  for (int i = 0; i < 20; ++i) REQUIRE(router->completion(chat_request("g")).ok());
  CHECK(small.request_count() > 0);

  // No deployment of the group fits: context-window fallbacks serve it.
  auto fb = router->completion(request_with_content("short", 400));
  REQUIRE(fb.ok());
  CHECK(fb->metadata.model_group == "long");
  CHECK(fb->metadata.fallbacks == 1);
  CHECK(short_only.request_count() == 0);
  CHECK(long_group.request_count() == 1);

  // ... and without a fallback the typed error surfaces, nothing sent.
  auto none = router->completion(request_with_content("tiny", 400));
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().kind == ErrorKind::kContextWindowExceeded);
  CHECK(tiny.request_count() == 0);
}

TEST_CASE("deployment budgets: a deployment over max_budget is skipped; all over is kBudgetExceeded",
          "[router][filter][budget][routing-e2e]") {
  FakeProvider a, b;
  // 200 + 200 tokens at $1e-6 each: $0.0004 per call; the third call crosses $0.001.
  a.set_default(ok_with_usage(200, 200));
  b.set_default(ok_with_usage(200, 200));
  const std::string budget =
      "      input_cost_per_token: 0.000001\n      output_cost_per_token: 0.000001\n"
      "      max_budget: 0.001\n      budget_duration: 1h\n";
  VirtualClock time;  // budget windows run on the router's clock
  RouterOptions opts;
  opts.time_source = &time;
  auto router = make_router_with("model_list:\n" + dep("g", a, "a", budget) + dep("g", b, "b", budget), opts);
  for (int i = 0; i < 6; ++i) {
    auto r = router->completion(chat_request("g"));
    REQUIRE(r.ok());
    CHECK(r->metadata.response_cost == Approx(0.0004));
  }
  CHECK(a.request_count() == 3);
  CHECK(b.request_count() == 3);
  auto over = router->completion(chat_request("g"));
  REQUIRE_FALSE(over.ok());
  CHECK(over.error().kind == ErrorKind::kBudgetExceeded);
  CHECK(contains(over.error().message, "Exceeded budget"));
  CHECK(a.request_count() + b.request_count() == 6);

  // budget_duration 1h: a new window starts with nothing spent.
  time.advance(3601);
  REQUIRE(router->completion(chat_request("g")).ok());
  CHECK(a.request_count() + b.request_count() == 7);
}

TEST_CASE("provider_budget_config: spend across a provider's deployments; other providers keep serving",
          "[router][filter][budget][routing-e2e]") {
  FakeProvider o, v, o2, o3;
  for (FakeProvider* p : {&o, &v, &o2, &o3}) p->set_default(ok_with_usage(200, 200));
  const std::string price = "      input_cost_per_token: 0.000001\n      output_cost_per_token: 0.000001\n";
  const std::string vllm = fmt::format(
      "  - model_name: g\n    litellm_params:\n      model: hosted_vllm/m-v\n      api_base: {}\n"
      "      api_key: sk-test-secret-key\n{}      order: 2\n    model_info:\n      id: v\n",
      v.base_url(), price);
  auto router = make_router("model_list:\n" + dep("g", o, "o", price + "      order: 1\n") + vllm +
                            dep("g2", o2, "o2", price) + dep("g2", o3, "o3", price) +
                            "router_settings:\n  provider_budget_config:\n    openai:\n      budget_limit: 0.001\n"
                            "      time_period: 1d\n");
  // openai spend: 0.0004 (g2), then 0.0008 and 0.0012 (g's order-1 deployment).
  REQUIRE(router->completion(chat_request("g2")).ok());
  for (int i = 0; i < 2; ++i) {
    auto r = router->completion(chat_request("g"));
    REQUIRE(r.ok());
    CHECK(r->metadata.deployment_id == "o");
  }
  // Over the openai budget: the hosted_vllm deployment (order 2) serves.
  for (int i = 0; i < 3; ++i) {
    auto r = router->completion(chat_request("g"));
    REQUIRE(r.ok());
    CHECK(r->metadata.deployment_id == "v");
  }
  // A group with only openai deployments has nothing left.
  auto over = router->completion(chat_request("g2"));
  REQUIRE_FALSE(over.ok());
  CHECK(over.error().kind == ErrorKind::kBudgetExceeded);
  CHECK(contains(over.error().message, "Exceeded budget for provider openai"));
  CHECK(o.request_count() == 2);
  CHECK(v.request_count() == 3);
  CHECK(o2.request_count() + o3.request_count() == 1);
}

TEST_CASE("max_parallel_requests: 1 serialises concurrent calls on a deployment",
          "[router][filter][parallel][routing-e2e]") {
  FakeProvider a;
  Behavior lag = Behavior::ok();
  lag.delay = Millis(250);
  a.set_default(lag);
  auto router = make_router("model_list:\n" + dep("g", a, "a", "      max_parallel_requests: 1\n"));
  auto results = run_concurrently(*router, std::vector<std::string>(3, chat_request("g")));
  for (const auto& r : results) CHECK(r.ok());
  auto reqs = a.requests();
  REQUIRE(reqs.size() == 3);
  std::sort(reqs.begin(), reqs.end(), [](const auto& x, const auto& y) { return x.received_at < y.received_at; });
  // Each request is sent only after the previous answer (250 ms after it was
  // received) came back: never two in flight on the deployment.
  CHECK(seconds_between(reqs[0].received_at, reqs[1].received_at) >= 0.24);
  CHECK(seconds_between(reqs[1].received_at, reqs[2].received_at) >= 0.24);
}

TEST_CASE("a call waiting for a max_parallel_requests slot ends with kTimeout at its total_timeout",
          "[router][filter][parallel][timeout][routing-e2e]") {
  // Declared before the router: its destructor may still report the call.
  std::atomic<bool> first_done{false};
  std::atomic<bool> first_ok{false};
  FakeProvider a;
  Behavior lag = Behavior::ok();
  lag.delay = Millis(1000);
  a.set_default(lag);
  auto router = make_router("model_list:\n" + dep("g", a, "a", "      max_parallel_requests: 1\n"));
  router->completion_async(chat_request("g"), [&](Result<Response> r) {
    first_ok = r.ok();
    first_done = true;
  });
  for (int i = 0; i < 400 && a.request_count() == 0; ++i) std::this_thread::sleep_for(Millis(5));
  REQUIRE(a.request_count() == 1);  // the only slot is taken
  auto busy = router->health("g");
  REQUIRE(busy.size() == 1);
  CHECK(busy[0].in_flight == 1);

  const auto t0 = std::chrono::steady_clock::now();
  auto waited = router->completion(chat_request("g", R"("total_timeout":0.2)"));
  const double elapsed = seconds_between(t0, std::chrono::steady_clock::now());
  REQUIRE_FALSE(waited.ok());
  CHECK(waited.error().kind == ErrorKind::kTimeout);
  CHECK(contains(waited.error().message, "max_parallel_requests"));
  CHECK(elapsed >= 0.19);

  for (int i = 0; i < 400 && !first_done; ++i) std::this_thread::sleep_for(Millis(5));
  REQUIRE(first_done);
  CHECK(first_ok);
  CHECK(a.request_count() == 1);  // the timed-out call never reached the provider
}
