#include "strategy/power_of_two_choices.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <mutex>

#include "strategy/pick_util.hpp"
#include "strategy/strategy_args.hpp"

namespace llmux::strategy {
namespace {

constexpr double kMinObservationSeconds = 1e-9;  // keeps ln() finite: "observed" stays visible
constexpr double kNoEstimate = -std::numeric_limits<double>::infinity();

int64_t ns(TimePoint t) { return t.time_since_epoch().count(); }

class alignas(64) PeakEwmaData final : public DeploymentLbData {
 public:
  explicit PeakEwmaData(double decay_ns) : DeploymentLbData(lb_kind<PeakEwmaData>()), decay_ns_(decay_ns) {}

  // Lock-free. value(t) = ewma × exp(-(t - stamp)/decay) = exp(anchor - t/decay);
  // -1 when never observed.
  double value(int64_t now) const {
    const double anchor = anchor_.load(std::memory_order_relaxed);
    if (anchor == kNoEstimate) return -1;
    // A reader whose clock is slightly behind the last observation sees the
    // value marginally above it (exp of a tiny positive); harmless.
    return std::exp(anchor - static_cast<double>(now) / decay_ns_);
  }

  void observe(int64_t at, double seconds, bool failure) {
    seconds = std::max(seconds, kMinObservationSeconds);
    std::lock_guard lock(mu_);
    observations_.fetch_add(1, std::memory_order_relaxed);
    if (!has_) {
      has_ = true;
      ewma_ = seconds;
      stamp_ = at;
    } else {
      // An outcome stamped before the previous one counts as simultaneous.
      const double dt = static_cast<double>(std::max<int64_t>(0, at - stamp_));
      const double w = std::exp(-dt / decay_ns_);
      const double current = ewma_ * w;
      if (seconds > current) {
        ewma_ = seconds;  // peak: jump at once
      } else if (failure) {
        return;  // a fast failure does not make the deployment look fast
      } else {
        // Blend from the decayed value (what readers see now), so the result
        // lies between it and the observation: a lower observation never
        // raises the estimate.
        ewma_ = current * w + seconds * (1 - w);
      }
      stamp_ = std::max(stamp_, at);
    }
    anchor_.store(std::log(ewma_) + static_cast<double>(stamp_) / decay_ns_, std::memory_order_relaxed);
  }

  // ln(value at t) + t/decay, the same for every t; kNoEstimate when never
  // observed. Two deployments' anchors compare their values at any instant.
  double anchor() const { return anchor_.load(std::memory_order_relaxed); }
  uint64_t observations() const { return observations_.load(std::memory_order_relaxed); }

  void reset() override {
    std::lock_guard lock(mu_);
    has_ = false;
    ewma_ = 0;
    stamp_ = 0;
    anchor_.store(kNoEstimate, std::memory_order_relaxed);
  }

 private:
  // What pick() reads first, next to the vtable pointer.
  std::atomic<double> anchor_{kNoEstimate};
  const double decay_ns_;
  std::atomic<uint64_t> observations_{0};
  std::mutex mu_;
  bool has_ = false;    // guarded by mu_
  double ewma_ = 0;     // seconds at stamp_, guarded by mu_
  int64_t stamp_ = 0;   // ns, guarded by mu_
};

double load_of(const Deployment& d, int64_t now) {
  const double in_flight = static_cast<double>(std::max<int64_t>(0, d.in_flight()));
  const PeakEwmaData* data = lb_data_as<PeakEwmaData>(d);
  const double latency = data == nullptr ? -1 : data->value(now);
  if (latency < 0) return in_flight > 0 ? PowerOfTwoChoices::kPenaltySeconds + in_flight : 0;
  return latency * (in_flight + 1);
}

}  // namespace

PowerOfTwoChoices::PowerOfTwoChoices(double decay_time_seconds) : decay_time_seconds_(decay_time_seconds) {
  if (!(decay_time_seconds_ > 0)) decay_time_seconds_ = kDefaultDecayTimeSeconds;
}

Result<std::unique_ptr<Strategy>> PowerOfTwoChoices::create(std::string_view args_json) {
  double decay = kDefaultDecayTimeSeconds;
  const NumberArg spec[] = {{"decay_time", &decay, 0, /*min_exclusive=*/true, 1e6}};
  if (Status s = parse_number_args(args_json, spec); !s.ok()) return s.error();
  return std::unique_ptr<Strategy>(new PowerOfTwoChoices(decay));
}

size_t PowerOfTwoChoices::pick(const PickContext& ctx, std::span<const Deployment* const> candidates, Random& rng) {
  const size_t n = candidates.size();
  if (n == 0) return kNoDeployment;
  if (n == 1) return 0;
  size_t a = 0;
  size_t b = 1;
  if (n > 2) {
    a = static_cast<size_t>(rng.below(n));
    b = static_cast<size_t>(rng.below(n - 1));
    if (b >= a) ++b;  // two distinct indices, each uniform
  }
  const Deployment& da = *candidates[a];
  const Deployment& db = *candidates[b];
  const PeakEwmaData* data_a = lb_data_as<PeakEwmaData>(da);
  const PeakEwmaData* data_b = lb_data_as<PeakEwmaData>(db);
  const double anchor_a = data_a == nullptr ? kNoEstimate : data_a->anchor();
  const double anchor_b = data_b == nullptr ? kNoEstimate : data_b->anchor();
  const int64_t busy_a = std::max<int64_t>(0, da.in_flight());
  const int64_t busy_b = std::max<int64_t>(0, db.in_flight());
  if (anchor_a != kNoEstimate && anchor_b != kNoEstimate) {
    // cost_a / cost_b = exp(anchor_a - anchor_b) × (busy_a + 1) / (busy_b + 1):
    // the clock cancels out and one exp() does (half of pick()'s time).
    const double lhs = std::exp(anchor_a - anchor_b) * static_cast<double>(busy_a + 1);
    const double rhs = static_cast<double>(busy_b + 1);
    if (lhs != rhs) return lhs < rhs ? a : b;
  } else {
    const int64_t now = ns(ctx.now);
    const double cost_a = load_of(da, now);
    const double cost_b = load_of(db, now);
    if (cost_a != cost_b) return cost_a < cost_b ? a : b;
  }
  if (busy_a != busy_b) return busy_a < busy_b ? a : b;
  return rng.below(2) == 0 ? a : b;
}

void PowerOfTwoChoices::on_attempt_end(const Deployment& d, const AttemptOutcome& outcome) {
  const bool failure = !outcome.success;
  if (failure && outcome.error != ErrorKind::kTimeout && outcome.error != ErrorKind::kConnectionError) return;
  const double decay_ns = decay_time_seconds_ * 1e9;
  PeakEwmaData* data = lb_data_or_install<PeakEwmaData>(d, [decay_ns] { return new PeakEwmaData(decay_ns); });
  if (data == nullptr) return;  // the slot belongs to another strategy
  data->observe(ns(outcome.at), duration_to_seconds(outcome.latency), failure);
}

double PowerOfTwoChoices::latency_estimate(const Deployment& d, TimePoint now) const {
  const PeakEwmaData* data = lb_data_as<PeakEwmaData>(d);
  return data == nullptr ? 0 : std::max(0.0, data->value(ns(now)));
}

double PowerOfTwoChoices::cost(const Deployment& d, TimePoint now) const { return load_of(d, ns(now)); }

uint64_t PowerOfTwoChoices::observations(const Deployment& d) const {
  const PeakEwmaData* data = lb_data_as<PeakEwmaData>(d);
  return data == nullptr ? 0 : data->observations();
}

}  // namespace llmux::strategy
