// -----------------------------------------------------------------------------
// File: llmux/deployment.hpp
// -----------------------------------------------------------------------------
// A deployment as routing sees it: its configuration plus the live counters
// strategies read. Owned by the router (shared_ptr); strategies only borrow it
// for the duration of a pick or an outcome notification.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "llmux/config.hpp"

namespace llmux {

class Deployment {
 public:
  explicit Deployment(DeploymentConfig config) : config_(std::move(config)) {}
  Deployment(const Deployment&) = delete;
  Deployment& operator=(const Deployment&) = delete;

  const DeploymentConfig& config() const { return config_; }
  const std::string& id() const { return config_.id; }
  const std::string& model_group() const { return config_.model_name; }

  // Attempts currently on the wire to this deployment. Thread-safe.
  int64_t in_flight() const { return in_flight_.load(std::memory_order_relaxed); }
  void add_in_flight(int64_t delta) { in_flight_.fetch_add(delta, std::memory_order_relaxed); }

 private:
  DeploymentConfig config_;
  std::atomic<int64_t> in_flight_{0};
};

}  // namespace llmux
