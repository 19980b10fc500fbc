#include <catch2/catch.hpp>

#include <algorithm>

#include "llmux/strategy.hpp"

using namespace llmux;

namespace {
class AlwaysLast final : public Strategy {
 public:
  std::string_view name() const override { return "always-last"; }
  size_t pick(const PickContext&, std::span<const Deployment* const> c, Random&) override { return c.size() - 1; }
};
}  // namespace

TEST_CASE("built-in strategies are registered; unknown names are config errors", "[strategy]") {
  REQUIRE(make_strategy("simple-shuffle", "{}").ok());
  REQUIRE(make_strategy("least-busy", "{}").ok());
  auto bad = make_strategy("fastest", "{}");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().kind == ErrorKind::kInvalidConfig);
  CHECK(bad.error().message.find("fastest") != std::string::npos);
  CHECK(bad.error().message.find("simple-shuffle") != std::string::npos);
}

TEST_CASE("custom strategies can be registered from C++", "[strategy]") {
  register_strategy("always-last", [](std::string_view) -> Result<std::unique_ptr<Strategy>> {
    return std::unique_ptr<Strategy>(new AlwaysLast());
  });
  auto s = make_strategy("always-last", "{}");
  REQUIRE(s.ok());
  CHECK((*s)->name() == "always-last");
  auto names = strategy_names();
  CHECK(std::find(names.begin(), names.end(), "always-last") != names.end());
}

TEST_CASE("every LiteLLM strategy name and power-of-two-choices are registered", "[strategy]") {
  struct Named {
    const char* name;
    bool enforces_rate_limits;
  };
  for (const Named& n : {Named{"simple-shuffle", false}, Named{"least-busy", false},
                         Named{"latency-based-routing", true}, Named{"usage-based-routing", true},
                         Named{"usage-based-routing-v2", true}, Named{"cost-based-routing", true},
                         Named{"power-of-two-choices", false}}) {
    INFO(n.name);
    auto s = make_strategy(n.name, "{}");
    REQUIRE(s.ok());
    CHECK((*s)->name() == n.name);
    CHECK((*s)->enforces_rate_limits() == n.enforces_rate_limits);
    auto names = strategy_names();
    CHECK(std::find(names.begin(), names.end(), n.name) != names.end());
  }
}

TEST_CASE("provider-budget-routing is simple-shuffle (budgets are a filter under any strategy)", "[strategy]") {
  auto s = make_strategy("provider-budget-routing", "{}");
  REQUIRE(s.ok());
  CHECK((*s)->name() == "simple-shuffle");
}

TEST_CASE("strategy argument errors come back from make_strategy", "[strategy]") {
  auto bad = make_strategy("latency-based-routing", R"({"max_latency_list_size": -2})");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().kind == ErrorKind::kInvalidConfig);
  CHECK(bad.error().message.find("router_settings.routing_strategy_args.max_latency_list_size") != std::string::npos);
  auto p2c = make_strategy("power-of-two-choices", R"({"decay_time": 0})");
  REQUIRE_FALSE(p2c.ok());
  CHECK(p2c.error().message.find("decay_time") != std::string::npos);
  // Whitespace, null and an empty text mean "no arguments".
  CHECK(make_strategy("latency-based-routing", "").ok());
  CHECK(make_strategy("latency-based-routing", " null ").ok());
  CHECK(make_strategy("cost-based-routing", "\n{ }\n").ok());
}
