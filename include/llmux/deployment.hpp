// -----------------------------------------------------------------------------
// File: llmux/deployment.hpp
// -----------------------------------------------------------------------------
// A deployment as routing sees it: its configuration plus the live counters
// filters and strategies read. Owned by the router (shared_ptr, kept across
// add/remove of other deployments); strategies only borrow it for the
// duration of a pick or an outcome notification.
//
// Thread safety: config() is immutable. The counters are atomics (any thread
// may read; the router's I/O thread writes). The load-balancing data slot is
// installed once (compare-and-swap) and owned by the deployment.
#pragma once

#include "llmux/export.hpp"

#include <atomic>
#include <bit>
#include <cstdint>
#include <memory>
#include <string>

#include "llmux/clock.hpp"
#include "llmux/config.hpp"

namespace llmux {

// Requests and tokens counted per minute (rpm/tpm windows). The minute is the
// clock's (steady or injected) time divided into 60 s buckets; a read in a
// later minute sees 0. Lock-free: minute and count are packed in one word.
class LLMUX_API MinuteCounter {
 public:
  int64_t value(TimePoint now) const {
    const uint64_t p = packed_.load(std::memory_order_relaxed);
    if ((p >> kCountBits) != minute_tag(now)) return 0;
    return static_cast<int64_t>(p & kCountMask);
  }
  void add(TimePoint now, int64_t delta);
  // Back to 0 (Router::reset).
  void reset() const { packed_.store(0, std::memory_order_relaxed); }

  static int64_t minute_of(TimePoint now) {
    return std::chrono::duration_cast<std::chrono::minutes>(now.time_since_epoch()).count();
  }
  // value(now) with the minute worked out once for many counters:
  // value_in(minute_tag(now)).
  static uint64_t minute_tag(TimePoint now) { return static_cast<uint64_t>(minute_of(now)) & kMinuteMask; }
  int64_t value_in(uint64_t tag) const {
    const uint64_t p = packed_.load(std::memory_order_relaxed);
    return (p >> kCountBits) == tag ? static_cast<int64_t>(p & kCountMask) : 0;
  }

 private:
  // High 24 bits: minute (mod 2^24); low 40 bits: count.
  static constexpr int kCountBits = 40;
  static constexpr uint64_t kCountMask = (uint64_t{1} << kCountBits) - 1;
  static constexpr uint64_t kMinuteMask = (uint64_t{1} << (64 - kCountBits)) - 1;

  mutable std::atomic<uint64_t> packed_{0};
};

// What a strategy keeps per deployment (Envoy's HostLbPolicyData): strategies
// derive from it and attach one instance with Deployment::install_lb_data.
class LLMUX_API DeploymentLbData {
 public:
  DeploymentLbData() = default;
  virtual ~DeploymentLbData() = default;
  // What kind of data this is, as its strategy tags it (null: untagged):
  // lets a strategy recognise its own data with one load next to the vtable
  // pointer instead of a typeid comparison per candidate.
  const void* kind() const { return kind_; }
  // Forgets what was learnt from past attempts (latency samples, estimates):
  // Router::reset calls it. May run while other threads pick or record, so
  // it must be as thread-safe as the rest of the strategy's data.
  virtual void reset() {}

 protected:
  explicit DeploymentLbData(const void* kind) : kind_(kind) {}

 private:
  const void* kind_ = nullptr;
};

// What the other replicas of a fleet (routers sharing routing state through
// Redis) report about a deployment: their attempts in flight and a summary of
// their recent latency samples. Empty (0, no samples) without shared state,
// and again when the reports stop being fresh. The router writes it from its
// shared-state refresh; strategies read it (least-busy adds the in-flight
// count to the deployment's own, latency-based routing weighs the summaries
// with its own samples). Lock-free: each value is one atomic word.
class LLMUX_API FleetView {
 public:
  // The mean of `samples` samples (seconds, or seconds per completion token,
  // as latency-based routing records them); samples == 0: none.
  struct Latency {
    double mean = 0;
    int64_t samples = 0;
  };

  int64_t others_in_flight() const { return in_flight_.load(std::memory_order_relaxed); }
  void set_others_in_flight(int64_t n) const {
    if (n != 0) note_report();
    in_flight_.store(n, std::memory_order_relaxed);
  }
  // `ttft`: time-to-first-token samples; otherwise whole-attempt latency.
  Latency others_latency(bool ttft) const { return unpack(latency_[ttft ? 1 : 0].load(std::memory_order_relaxed)); }
  void set_others_latency(bool ttft, Latency l) const {
    const uint64_t packed = pack(l);
    if (packed != 0) note_report();
    latency_[ttft ? 1 : 0].store(packed, std::memory_order_relaxed);
  }

  // Internal, for the router's deployment columns: `flag` is set (for good)
  // before the first non-empty value is stored here, so that strategies can
  // skip the fleet's values of a whole group while nothing was ever reported.
  void note_reports_in(std::atomic<bool>* flag) { reported_ = flag; }

 private:
  void note_report() const {
    if (reported_ != nullptr && !reported_->load(std::memory_order_relaxed)) {
      reported_->store(true, std::memory_order_relaxed);
    }
  }

  // High 32 bits: the mean as a float; low 32 bits: the count (saturated).
  static uint64_t pack(Latency l) {
    if (!(l.samples > 0) || !(l.mean >= 0)) return 0;
    const uint64_t n = l.samples > 0xffffffffLL ? 0xffffffffULL : static_cast<uint64_t>(l.samples);
    return (uint64_t{std::bit_cast<uint32_t>(static_cast<float>(l.mean))} << 32) | n;
  }
  static Latency unpack(uint64_t p) {
    return {static_cast<double>(std::bit_cast<float>(static_cast<uint32_t>(p >> 32))),
            static_cast<int64_t>(p & 0xffffffffULL)};
  }

  mutable std::atomic<int64_t> in_flight_{0};
  mutable std::atomic<uint64_t> latency_[2] = {0, 0};
  std::atomic<bool>* reported_ = nullptr;
};

class LLMUX_API Deployment {
 public:
  explicit Deployment(DeploymentConfig config) : config_(std::move(config)) {}
  ~Deployment();
  Deployment(const Deployment&) = delete;
  Deployment& operator=(const Deployment&) = delete;

  const DeploymentConfig& config() const { return config_; }
  const std::string& id() const { return config_.id; }
  const std::string& model_group() const { return config_.model_name; }

  // Attempts currently on the wire to this deployment. Thread-safe.
  int64_t in_flight() const { return in_flight_->load(std::memory_order_relaxed); }
  void add_in_flight(int64_t delta) const { in_flight_->fetch_add(delta, std::memory_order_relaxed); }

  // What the rest of the fleet reports about this deployment (shared state).
  const FleetView& fleet_view() const { return *fleet_view_; }

  // Requests started and tokens used (prompt + completion of successful
  // attempts) in the current minute: the rpm/tpm windows.
  const MinuteCounter& minute_requests() const { return minute_requests_; }
  const MinuteCounter& minute_tokens() const { return *minute_tokens_; }
  void count_request(TimePoint now) const { minute_requests_.add(now, 1); }
  void count_tokens(TimePoint now, int64_t tokens) const { minute_tokens_->add(now, tokens); }

  // The rpm / tpm limits (config), as integers; <0 = no limit.
  int64_t rpm_limit() const { return config_.rpm ? static_cast<int64_t>(*config_.rpm) : -1; }
  int64_t tpm_limit() const { return config_.tpm ? static_cast<int64_t>(*config_.tpm) : -1; }

  // The strategy's per-deployment data, nullptr until installed.
  DeploymentLbData* lb_data() const { return lb_data_.load(std::memory_order_acquire); }
  // Installs `data` unless another thread installed one first; returns the
  // installed instance either way. The deployment owns it.
  DeploymentLbData* install_lb_data(std::unique_ptr<DeploymentLbData> data) const;

  // Internal, for the router (lib/common/deployment_columns.hpp): where the
  // counters strategies scan for every candidate live — attempts in flight,
  // tokens this minute, the fleet view. By default in this object; the
  // router's deployment pool moves them into a slot of its group's dense
  // table (one array per counter), so that a routing decision over 1,000
  // candidates reads contiguous memory instead of one object per candidate.
  // `lease` keeps the slot (and its table) until this deployment is
  // destroyed. Call once, before the deployment is shared with any thread.
  struct ColumnStorage {
    std::atomic<int64_t>* in_flight = nullptr;
    MinuteCounter* minute_tokens = nullptr;
    const FleetView* fleet_view = nullptr;
    const void* table = nullptr;  // the DeploymentColumns the slot belongs to
    uint32_t slot = 0;
    std::shared_ptr<void> lease;
  };
  void use_column_storage(ColumnStorage storage);
  // The table and slot given to use_column_storage (table null: none).
  const void* column_table() const { return column_table_; }
  uint32_t column_slot() const { return column_slot_; }

 private:
  DeploymentConfig config_;
  mutable std::atomic<int64_t> own_in_flight_{0};
  mutable MinuteCounter minute_requests_;
  mutable MinuteCounter own_minute_tokens_;
  mutable std::atomic<DeploymentLbData*> lb_data_{nullptr};
  FleetView own_fleet_view_;
  // The storage in use: the members above, or a column slot.
  std::atomic<int64_t>* in_flight_ = &own_in_flight_;
  MinuteCounter* minute_tokens_ = &own_minute_tokens_;
  const FleetView* fleet_view_ = &own_fleet_view_;
  const void* column_table_ = nullptr;
  uint32_t column_slot_ = 0;
  // Declared last: released after ~Deployment has deleted the lb data (which
  // may publish into the slot).
  std::shared_ptr<void> column_lease_;
};

}  // namespace llmux
