// -----------------------------------------------------------------------------
// File: llmux/strategy.hpp
// -----------------------------------------------------------------------------
// The routing-strategy interface. A strategy chooses one deployment among the
// candidates that survived the filters (cooldown, limits, tiers, ...). It
// knows nothing of HTTP or of retries. Built-in strategies live in
// lib/strategy/, one file each; programs can register their own with
// `register_strategy`.
#pragma once

#include "llmux/export.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "llmux/clock.hpp"
#include "llmux/deployment.hpp"
#include "llmux/error.hpp"

namespace llmux {

struct PickContext {
  std::string_view model_group;
  int64_t estimated_prompt_tokens = 0;
  bool stream = false;
  TimePoint now{};
};

// What happened to one attempt, reported back to the strategy.
struct AttemptOutcome {
  bool success = false;
  std::optional<ErrorKind> error;    // set when !success
  Duration latency{};                // start of attempt to last byte
  Duration time_to_first_token{-1};  // streaming; negative when n/a
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
};

class LLMUX_API Strategy {
 public:
  virtual ~Strategy() = default;
  virtual std::string_view name() const = 0;
  // Returns an index into `candidates` (never empty). Called on the router's
  // I/O thread; must not block. A strategy instance belongs to one router.
  virtual size_t pick(const PickContext& ctx, std::span<const Deployment* const> candidates,
                      Random& rng) = 0;
  // Optional hooks for strategies that keep statistics.
  virtual void on_attempt_start(const Deployment&) {}
  virtual void on_attempt_end(const Deployment&, const AttemptOutcome&) {}
};

// Creates a strategy from `routing_strategy_args` (JSON text, "{}" when unset).
using StrategyFactory =
    std::function<Result<std::unique_ptr<Strategy>>(std::string_view routing_strategy_args_json)>;

// Registers a strategy under `name` for every router created afterwards
// (process-wide registry; thread-safe). Replaces an existing registration.
LLMUX_API void register_strategy(std::string name, StrategyFactory factory);

// Creates the strategy registered under `name`.
LLMUX_API Result<std::unique_ptr<Strategy>> make_strategy(std::string_view name, std::string_view args_json);

// Names of all registered strategies, sorted.
LLMUX_API std::vector<std::string> strategy_names();

}  // namespace llmux
