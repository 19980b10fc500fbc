// -----------------------------------------------------------------------------
// File: router/fallback_plan.hpp
// -----------------------------------------------------------------------------
// Where a call goes once its primary group is done: the fallback groups for
// the primary's error (reference §6.6, chosen once — fallbacks are flat), the
// next one to try, and what each returned, for the final error. Used by one
// Call on the router's loop thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "llmux/error.hpp"
#include "router/call_options.hpp"
#include "router/deployment_pool.hpp"

namespace llmux::router {

class FallbackPlan {
 public:
  explicit FallbackPlan(const CallOptions& options) : options_(options) {}

  // The call is in a fallback group (the primary is done).
  bool in_fallbacks() const { return in_fallbacks_; }
  // Fallback groups entered so far.
  int entered() const { return entered_; }
  const Error* primary_error() const { return primary_error_ ? &*primary_error_ : nullptr; }

  // Whether a timeout of the primary group `group` would have a fallback
  // (looked up once per call); in a fallback group, whether one is left.
  bool has_timeout_fallback(std::string_view group);

  // The group `group` is done with `error`. For the primary, chooses the
  // fallbacks (none when `may_fall_back` is false); for a fallback, records
  // the error and, when `stop`, gives up on the rest.
  void group_failed(std::string_view group, Error error, bool may_fall_back, bool stop);

  // The next fallback group that exists in `pool`, with its resolution;
  // nullopt when none is left. Groups that do not exist are recorded.
  std::optional<std::pair<std::string, Resolution>> next(const DeploymentPool& pool);

  // The call's final error: the primary's, with what each fallback returned.
  Error final_error();

 private:
  const CallOptions& options_;
  bool in_fallbacks_ = false;
  std::vector<std::string> queue_;
  size_t next_ = 0;
  int entered_ = 0;
  std::optional<bool> timeout_fallback_exists_;
  std::optional<Error> primary_error_;
  std::vector<std::string> errors_;  // "group → error" per fallback tried
};

}  // namespace llmux::router
