// Shared helpers for the strategy tests: a pool of deployments, outcomes on a
// fake clock, pick histograms with a seeded Random.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "llmux/clock.hpp"
#include "llmux/deployment.hpp"
#include "llmux/strategy.hpp"
#include "support/virtual_clock.hpp"

namespace llmux::strategy_test {

struct Pool {
  std::vector<std::unique_ptr<Deployment>> owned;
  std::vector<const Deployment*> view;

  Deployment& add(const std::function<void(DeploymentConfig&)>& edit = {}) {
    DeploymentConfig c;
    c.model_name = "group";
    c.id = "d" + std::to_string(owned.size());
    if (edit) edit(c);
    owned.push_back(std::make_unique<Deployment>(std::move(c)));
    view.push_back(owned.back().get());
    return *owned.back();
  }
  std::span<const Deployment* const> all() const { return view; }
  Deployment& operator[](size_t i) { return *owned[i]; }
};

inline AttemptOutcome success(TimePoint at, double latency_s, int64_t completion_tokens = 0) {
  AttemptOutcome o;
  o.success = true;
  o.at = at;
  o.latency = seconds_to_duration(latency_s);
  o.completion_tokens = completion_tokens;
  return o;
}

inline AttemptOutcome stream_success(TimePoint at, double latency_s, double ttft_s, int64_t completion_tokens = 0) {
  AttemptOutcome o = success(at, latency_s, completion_tokens);
  o.stream = true;
  o.time_to_first_token = seconds_to_duration(ttft_s);
  return o;
}

inline AttemptOutcome failure(TimePoint at, ErrorKind kind, double latency_s = 0.01, bool stream = false) {
  AttemptOutcome o;
  o.success = false;
  o.error = kind;
  o.at = at;
  o.stream = stream;
  o.latency = seconds_to_duration(latency_s);
  return o;
}

inline PickContext context(TimePoint now, bool stream = false) {
  PickContext ctx;
  ctx.model_group = "group";
  ctx.now = now;
  ctx.stream = stream;
  return ctx;
}

// How often each candidate is picked in `picks` tries.
inline std::vector<int> histogram(Strategy& s, const Pool& p, const PickContext& ctx, int picks, uint64_t seed = 7) {
  Random rng(seed);
  std::vector<int> h(p.view.size(), 0);
  for (int i = 0; i < picks; ++i) {
    const size_t k = s.pick(ctx, p.all(), rng);
    if (k < h.size()) h[k]++;
  }
  return h;
}

}  // namespace llmux::strategy_test
