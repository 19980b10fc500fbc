// -----------------------------------------------------------------------------
// File: support/sim_router.hpp
// -----------------------------------------------------------------------------
// A whole Router on a SimulatedLoop: the real Call, filters, strategies,
// trackers and providers, in virtual time against scripted transfers. Its
// blocking calls drive the loop until they are answered (a 60 s wait takes
// no time); async calls run when the test drives the loop.
#pragma once

#include <memory>
#include <string_view>

#include "llmux/router.hpp"
#include "router/router_impl.hpp"
#include "support/simulated_loop.hpp"

namespace llmux::testing {

// Builds a router from LiteLLM config text on `loop` (which must outlive it).
// Seed 42 and a silent log unless `options` says otherwise.
inline Result<std::unique_ptr<Router>> make_sim_router(std::string_view config_text, SimulatedLoop& loop,
                                                       RouterOptions options = {}) {
  auto config = parse_config(config_text);
  if (!config.ok()) return std::move(config).error();
  if (options.random_seed == 0) options.random_seed = 42;
  if (!options.log) options.log = [](std::string_view) {};
  Router::Impl::BorrowedLoop borrowed;
  borrowed.loop = &loop;
  borrowed.drive = [&loop](const std::function<bool()>& done) { loop.run_until(done); };
  return Router::Impl::create(std::move(config).value(), std::move(options), std::move(borrowed));
}

}  // namespace llmux::testing
