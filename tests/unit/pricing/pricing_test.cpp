#include "pricing/pricing.hpp"

#include <catch2/catch.hpp>

using namespace llmux;
using namespace llmux::pricing;

TEST_CASE("response cost from per-token prices", "[pricing]") {
  DeploymentConfig d;
  CHECK(response_cost(d, 1000, 500) == 0);  // no prices: unknown, contributes 0
  d.input_cost_per_token = 2e-6;
  CHECK(response_cost(d, 1000, 500) == Approx(0.002));
  d.output_cost_per_token = 8e-6;
  CHECK(response_cost(d, 1000, 500) == Approx(0.006));
  d.input_cost_per_token.reset();
  CHECK(response_cost(d, 1000, 500) == Approx(0.004));
  // A price of 0 is a real price.
  d.input_cost_per_token = 0.0;
  d.output_cost_per_token = 0.0;
  CHECK(response_cost(d, 1000, 500) == 0);
  d.output_cost_per_token = 1e-6;
  CHECK(response_cost(d, 0, 0) == 0);
  CHECK(response_cost(d, -10, 3) == Approx(3e-6));
}
