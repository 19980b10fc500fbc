#include <catch2/catch.hpp>

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
