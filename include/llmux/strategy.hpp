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

struct CandidateColumns;  // internal (lib/common/deployment_columns.hpp)

struct PickContext {
  std::string_view model_group;
  int64_t estimated_prompt_tokens = 0;
  bool stream = false;
  TimePoint now{};  // the router's (injectable) clock
  // False when the router knows that no candidate's config sets weight, rpm
  // or tpm (none of its model group does): simple-shuffle then draws without
  // a pass over the candidates. True (the default) promises nothing.
  bool may_be_weighted = true;
  // Internal: the router's dense per-group columns of the candidates' live
  // values, candidate for candidate, which the built-in strategies scan
  // instead of the Deployment objects (the same values, in contiguous
  // memory). Null when not available; custom strategies can ignore it.
  const CandidateColumns* columns = nullptr;
};

// What happened to one attempt, reported back to the strategy.
struct AttemptOutcome {
  bool success = false;
  std::optional<ErrorKind> error;    // set when !success (kTimeout: the attempt timed out)
  TimePoint at{};                    // when it ended, on the router's clock
  bool stream = false;               // a streaming attempt
  Duration latency{};                // start of attempt to last byte
  Duration time_to_first_token{-1};  // streaming; negative when n/a
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
};

// Thread safety: a strategy instance belongs to one router, whose I/O thread
// calls it; built-in strategies are also safe to call from several threads at
// once (their per-deployment data is atomic or locked), which the contention
// benchmark exercises. pick() must not block.
class LLMUX_API Strategy {
 public:
  // pick() found no candidate it may use (e.g. every one is over its rpm/tpm).
  static constexpr size_t kNoDeployment = static_cast<size_t>(-1);

  virtual ~Strategy() = default;
  virtual std::string_view name() const = 0;
  // Returns an index into `candidates` (never empty), or kNoDeployment.
  virtual size_t pick(const PickContext& ctx, std::span<const Deployment* const> candidates,
                      Random& rng) = 0;
  // Whether the router must drop candidates without rpm/tpm headroom before
  // pick() (usage-, latency- and cost-based routing do, as in LiteLLM; other
  // strategies only when enable_pre_call_checks is set).
  virtual bool enforces_rate_limits() const { return false; }
  // Optional hooks for strategies that keep statistics. Every attempt that
  // started gets exactly one on_attempt_end.
  virtual void on_attempt_start(const Deployment&, TimePoint /*now*/) {}
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
