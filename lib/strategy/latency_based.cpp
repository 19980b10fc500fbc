#include "strategy/latency_based.hpp"

#include <algorithm>
#include <atomic>
#include <limits>
#include <mutex>

#include "common/deployment_columns.hpp"
#include "strategy/pick_util.hpp"
#include "strategy/strategy_args.hpp"

namespace llmux::strategy {
namespace {

constexpr double kMaxTtlSeconds = 1e9;  // ~31 years: keeps at + ttl far from int64 overflow
constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

int64_t ns(TimePoint t) { return t.time_since_epoch().count(); }

struct Sample {
  int64_t at;  // ns on the router's clock
  double value;
};

// A window's mean as lock-free readers see it (common/deployment_columns.hpp:
// in the group's columns when the deployment has a slot there), with the
// number of samples behind it.
// `gate`: the column table's (null without a slot), which must stay no later
// than valid_until: lowered when the expiry moves earlier (a window that was
// empty, or a sample stamped earlier). A window sliding forward needs nothing,
// unless it held the gate down: then lower() notes the publication, so that
// the gate is recomputed once it has passed.
struct Published {
  PublishedMean* pub;
  std::atomic<int>* size;
  ExpiryGate* gate;

  void store(double mean, int n, int64_t valid_until) const {
    const int64_t before = pub->valid_until.load(std::memory_order_relaxed);  // only publishers write it, under mu
    pub->mean.store(mean, std::memory_order_relaxed);
    size->store(n, std::memory_order_relaxed);
    pub->valid_until.store(valid_until, std::memory_order_release);
    if (gate != nullptr && (valid_until < before || ExpiryGate::time_of(before) <= gate->time())) {
      gate->lower(valid_until);
    }
  }
};

// The mean, if nothing in the window has expired at `now`.
[[gnu::always_inline]] inline bool current(const PublishedMean& p, int64_t now, double& out) {
  if (now > p.valid_until.load(std::memory_order_acquire)) return false;
  out = p.mean.load(std::memory_order_relaxed);
  return true;
}

// The newest `capacity` samples not older than the ttl, oldest first in a
// ring. Mutated under the owner's lock, which publishes mean and expiry.
class Window {
 public:
  explicit Window(int capacity) : ring_(new Sample[static_cast<size_t>(capacity)]), capacity_(capacity) {}

  void add(Sample s, int64_t ttl, Published out) {
    if (size_ == capacity_) {
      ring_[start_] = s;  // the oldest goes
      start_ = (start_ + 1) % capacity_;
    } else {
      ring_[(start_ + size_) % capacity_] = s;
      ++size_;
    }
    refresh(s.at, ttl, out);
  }

  // Drops what has expired at `now` and republishes.
  void refresh(int64_t now, int64_t ttl, Published out) {
    int kept = 0;
    for (int k = 0; k < size_; ++k) {
      const Sample& s = ring_[(start_ + k) % capacity_];
      if (now - s.at > ttl) continue;
      ring_[(start_ + kept) % capacity_] = s;  // kept <= k: never overwrites an unread sample
      ++kept;
    }
    size_ = kept;
    double sum = 0;
    int64_t oldest = kNever;
    for (int k = 0; k < size_; ++k) {
      const Sample& s = ring_[(start_ + k) % capacity_];
      sum += s.value;
      oldest = std::min(oldest, s.at);
    }
    out.store(size_ > 0 ? sum / size_ : -1.0, size_, size_ > 0 ? oldest + ttl : kNever);
  }

  int size() const { return size_; }

  // Empties the window and publishes that.
  void clear(Published out) {
    start_ = 0;
    size_ = 0;
    out.store(-1.0, 0, kNever);
  }

 private:
  std::unique_ptr<Sample[]> ring_;
  int capacity_;
  int start_ = 0;
  int size_ = 0;
};

// What pick() reads comes first, on the vtable pointer's cache line. The
// published means are the deployment's slots in its group's columns when it
// has one (pick() then scans those and reaches this object only when a mean
// has expired or the fleet reports samples), else the object's own.
class alignas(64) LatencyData final : public DeploymentLbData {
 public:
  LatencyData(int capacity, PublishedMean* latency_column, PublishedMean* ttft_column, ExpiryGate* gate)
      : DeploymentLbData(lb_kind<LatencyData>()),
        pub_{latency_column != nullptr ? latency_column : &own_[0], ttft_column != nullptr ? ttft_column : &own_[1]},
        gate_(latency_column != nullptr ? gate : nullptr),
        latency_window(capacity),
        ttft_window(capacity) {}

  // The window's mean at `now` (< 0: empty) and its sample count. Never
  // waits for the lock: when another thread holds it, the last published
  // mean is used.
  [[gnu::always_inline]] double mean(bool ttft, int64_t now, int64_t ttl) {
    double m;
    if (current(*pub_[ttft ? 1 : 0], now, m)) [[likely]] return m;
    return refresh_mean(ttft, now, ttl);
  }
  // The number of samples behind the mean last published.
  int published_size(bool ttft) const { return size_[ttft ? 1 : 0].load(std::memory_order_relaxed); }
  double published_mean(bool ttft) const { return pub_[ttft ? 1 : 0]->mean.load(std::memory_order_relaxed); }

  [[gnu::noinline]] double refresh_mean(bool ttft, int64_t now, int64_t ttl) {
    std::unique_lock lock(mu, std::try_to_lock);
    if (lock.owns_lock()) (ttft ? ttft_window : latency_window).refresh(now, ttl, published(ttft));
    return published_mean(ttft);
  }

  void add(bool ttft, Sample s, int64_t ttl) {  // under mu
    (ttft ? ttft_window : latency_window).add(s, ttl, published(ttft));
  }
  void reset() override {
    std::lock_guard lock(mu);
    latency_window.clear(published(false));
    ttft_window.clear(published(true));
  }
  int size(bool ttft, int64_t now, int64_t ttl) {  // under mu
    Window& w = ttft ? ttft_window : latency_window;
    w.refresh(now, ttl, published(ttft));
    return w.size();
  }

  PublishedMean* const pub_[2];  // latency, ttft
  ExpiryGate* const gate_;       // the columns' (null without a slot)
  std::atomic<int> size_[2] = {0, 0};
  std::atomic<uint64_t> recorded{0};
  std::mutex mu;
  Window latency_window;  // guarded by mu
  Window ttft_window;     // guarded by mu

 private:
  Published published(bool ttft) { return Published{pub_[ttft ? 1 : 0], &size_[ttft ? 1 : 0], gate_}; }

  PublishedMean own_[2];
};

// One window's mean (< 0: no sample), this replica's weighed with what the
// rest of the fleet reports (empty without shared state).
[[gnu::always_inline]] inline double fleet_mean(LatencyData* data, const FleetView& fleet, bool ttft, int64_t now,
                                                int64_t ttl) {
  const FleetView::Latency others = fleet.others_latency(ttft);
  const double own = data != nullptr ? data->mean(ttft, now, ttl) : -1.0;
  if (others.samples <= 0) [[likely]] return own;
  const int n = own >= 0 ? data->published_size(ttft) : 0;
  if (own < 0 || n <= 0) return others.mean;
  const double total = static_cast<double>(n) + static_cast<double>(others.samples);
  return (own * n + others.mean * static_cast<double>(others.samples)) / total;
}

[[gnu::always_inline]] inline double score_of(LatencyData* data, const Deployment& d, bool stream, int64_t now,
                                              int64_t ttl) {
  const FleetView& fleet = d.fleet_view();
  if (stream) {
    const double t = fleet_mean(data, fleet, /*ttft=*/true, now, ttl);
    if (t >= 0) return t;
  }
  const double l = fleet_mean(data, fleet, /*ttft=*/false, now, ttl);
  return l >= 0 ? l : 0;  // never observed: tried first
}

// fleet_mean() read from candidate i's column slot: the published mean and
// the fleet's summary are contiguous per group. The deployment's LatencyData
// is reached only on the rare paths, kept out of line so that the scan's
// loop stays small: refreshing an expired mean, and weighing the fleet's
// samples with this replica's. The same value as fleet_mean().
[[gnu::noinline]] double refresh_own(const Deployment& d, bool ttft, int64_t now, int64_t ttl) {
  // Expired (or never published: then there is no LatencyData and it is -1).
  LatencyData* data = lb_data_as<LatencyData>(d);
  return data != nullptr ? data->refresh_mean(ttft, now, ttl) : -1.0;
}

[[gnu::noinline]] double weigh_with_fleet(const Deployment& d, bool ttft, double own, FleetView::Latency others) {
  LatencyData* data = lb_data_as<LatencyData>(d);
  const int n = own >= 0 && data != nullptr ? data->published_size(ttft) : 0;
  if (own < 0 || n <= 0) return others.mean;
  const double total = static_cast<double>(n) + static_cast<double>(others.samples);
  return (own * n + others.mean * static_cast<double>(others.samples)) / total;
}

template <class Columns>
[[gnu::always_inline]] inline double column_mean(const Columns& cols, size_t i, const Deployment* const* candidates,
                                                 bool ttft, int64_t now, int64_t ttl) {
  double own;
  if (!current(cols.mean(i, ttft), now, own)) [[unlikely]] own = refresh_own(*candidates[i], ttft, now, ttl);
  const FleetView::Latency others = cols.fleet(i).others_latency(ttft);
  if (others.samples > 0) [[unlikely]] own = weigh_with_fleet(*candidates[i], ttft, own, others);
  return own;
}

// One window's published mean for the quick scan: the mean when it is current
// and no other replica reports samples for the window, else the flag
// `needs_more`. Branch-free.
// `Fleet`: false when no replica ever reported for the group
// (DeploymentColumns::fleet_reported()), so the fleet's column is not read.
// `Expiry`: false when the table's expiry gate says no mean has expired at
// `now` (DeploymentColumns::latency_means_current()): valid_until is not read.
template <bool Fleet, bool Expiry, class Columns>
[[gnu::always_inline]] inline double quick_mean(const Columns& cols, size_t i, bool ttft, int64_t now,
                                                bool& needs_more) {
  const PublishedMean& m = cols.mean(i, ttft);
  const bool current = !Expiry || now <= m.valid_until.load(std::memory_order_acquire);
  if constexpr (Fleet) {
    const bool others = cols.fleet(i).others_latency(ttft).samples > 0;
    needs_more = !current || others;
  } else {
    needs_more = !current;
  }
  return m.mean.load(std::memory_order_relaxed);
}

// column_score() when nothing needs more than the published means; -1 (below
// any score) when something does.
template <bool Stream, bool Fleet, bool Expiry, class Columns>
[[gnu::always_inline]] inline double quick_score(const Columns& cols, size_t i, int64_t now) {
  bool more_l;
  const double l = quick_mean<Fleet, Expiry>(cols, i, /*ttft=*/false, now, more_l);
  double score = l >= 0 ? l : 0.0;
  bool more = more_l;
  if constexpr (Stream) {
    bool more_t;
    const double t = quick_mean<Fleet, Expiry>(cols, i, /*ttft=*/true, now, more_t);
    score = t >= 0 ? t : score;
    more = more || more_t;
  }
  return more ? -1.0 : score;
}

// The score as published, when no mean has expired and no other replica
// reports: the window's mean, -1 when never observed (the score is then 0).
// Compared with a cut >= 0 (limit_of_raw()), -1 and 0 are on the same side,
// and the lowest raw key clamped at 0 is the lowest score: the same choice as
// with the scores, for one load per candidate.
template <bool Stream, class Columns>
[[gnu::always_inline]] inline double raw_score(const Columns& cols, size_t i) {
  const double l = cols.mean(i, /*ttft=*/false).mean.load(std::memory_order_relaxed);
  if constexpr (Stream) {
    const double t = cols.mean(i, /*ttft=*/true).mean.load(std::memory_order_relaxed);
    return t >= 0 ? t : l;
  }
  return l;
}

// score_of() over the columns; `Stream` is the request's, fixed per scan.
template <bool Stream, class Columns>
[[gnu::always_inline]] inline double column_score(const Columns& cols, size_t i, const Deployment* const* candidates,
                                                  int64_t now, int64_t ttl) {
  if constexpr (Stream) {
    const double t = column_mean(cols, i, candidates, /*ttft=*/true, now, ttl);
    if (t >= 0) return t;
  }
  const double l = column_mean(cols, i, candidates, /*ttft=*/false, now, ttl);
  return l >= 0 ? l : 0;  // never observed: tried first
}

}  // namespace

LatencyBased::LatencyBased(LatencyBasedArgs args) : args_(args) {
  // create() validates; direct construction gets the defaults for nonsense.
  const LatencyBasedArgs defaults;
  if (!(args_.ttl_seconds > 0)) args_.ttl_seconds = defaults.ttl_seconds;
  if (!(args_.lowest_latency_buffer >= 0)) args_.lowest_latency_buffer = defaults.lowest_latency_buffer;
  args_.max_latency_list_size = std::max(1, args_.max_latency_list_size);
  ttl_ = seconds_to_duration(std::min(args_.ttl_seconds, kMaxTtlSeconds));
}

Result<std::unique_ptr<Strategy>> LatencyBased::create(std::string_view args_json) {
  LatencyBasedArgs a;
  double size = a.max_latency_list_size;
  const NumberArg spec[] = {
      {"ttl", &a.ttl_seconds, 0, /*min_exclusive=*/true},
      {"lowest_latency_buffer", &a.lowest_latency_buffer, 0, false},
      {"max_latency_list_size", &size, 1, false, 100000, /*integer=*/true},
  };
  if (Status s = parse_number_args(args_json, spec); !s.ok()) return s.error();
  a.max_latency_list_size = static_cast<int>(size);
  return std::unique_ptr<Strategy>(new LatencyBased(a));
}

size_t LatencyBased::pick(const PickContext& ctx, std::span<const Deployment* const> candidates, Random& rng) {
  const size_t n = candidates.size();
  if (n == 0) return kNoDeployment;
  if (n == 1) return 0;
  const int64_t now = ns(ctx.now);
  const int64_t ttl = ttl_.count();
  const bool stream = ctx.stream;
  const double buffer = args_.lowest_latency_buffer;
  if (ctx.columns != nullptr) {
    // The published means in the group's columns: one contiguous scan.
    const Deployment* const* ds = candidates.data();
    auto limit = [buffer](double lowest) { return lowest + buffer * lowest; };
    return columns::visit(*ctx.columns, [&](auto cols) {
      // Usually no mean of the table has expired (its expiry gate has not
      // passed) and no other replica reports samples: the keys are then the
      // published means alone, one load per candidate.
      const DeploymentColumns& table = *ctx.columns->table;
      const bool fleet = table.fleet_reported();
      const bool current = table.latency_means_current(now);
      if (!fleet && current) [[likely]] {
        const auto limit_of_raw = [limit](double lowest) { return limit(lowest > 0 ? lowest : 0.0); };
        if (stream) {
          return pick_uniform_among_lowest(n, [cols](size_t i) { return raw_score<true>(cols, i); }, limit_of_raw,
                                           rng);
        }
        return pick_uniform_among_lowest(n, [cols](size_t i) { return raw_score<false>(cols, i); }, limit_of_raw,
                                         rng);
      }
      // Else the published means, each checked (its expiry unless the gate
      // says none has expired; the fleet's reports), read without a branch;
      // a candidate needing more (a refresh, the fleet's weighing) gets the
      // key -1, below any score, and the scan stops before drawing: the
      // exact per-candidate rules below then decide (the same keys).
      const auto below_zero = [](double lowest) { return lowest < 0; };
      const auto quick_pick = [&]<bool Stream, bool Fleet, bool Expiry>() {
        return pick_uniform_among_lowest_unless(
            n, [cols, now](size_t i) { return quick_score<Stream, Fleet, Expiry>(cols, i, now); }, limit,
            below_zero, rng);
      };
      const auto quick_pick_for = [&]<bool Stream>() {
        if (!fleet) return quick_pick.template operator()<Stream, false, true>();
        return current ? quick_pick.template operator()<Stream, true, false>()
                       : quick_pick.template operator()<Stream, true, true>();
      };
      const size_t quick =
          stream ? quick_pick_for.template operator()<true>() : quick_pick_for.template operator()<false>();
      if (quick != kAborted) return quick;
      if (stream) {
        return pick_uniform_among_lowest(
            n, [cols, ds, now, ttl](size_t i) { return column_score<true>(cols, i, ds, now, ttl); }, limit, rng);
      }
      return pick_uniform_among_lowest(
          n, [cols, ds, now, ttl](size_t i) { return column_score<false>(cols, i, ds, now, ttl); }, limit, rng);
    });
  }
  return pick_uniform_among_lowest(
      n, [&](size_t i) { return score_of(lb_data_as<LatencyData>(*candidates[i]), *candidates[i], stream, now, ttl); },
      [buffer](double lowest) { return lowest + buffer * lowest; }, rng);
}

void LatencyBased::on_attempt_end(const Deployment& d, const AttemptOutcome& outcome) {
  double latency;
  double ttft = -1;
  if (outcome.success) {
    const double tokens = static_cast<double>(outcome.completion_tokens);
    latency = std::max(0.0, duration_to_seconds(outcome.latency));
    if (tokens > 0) latency /= tokens;
    if (outcome.stream && outcome.time_to_first_token.count() >= 0) {
      ttft = duration_to_seconds(outcome.time_to_first_token);
      if (tokens > 0) ttft /= tokens;
    }
  } else if (outcome.error == ErrorKind::kTimeout) {
    latency = kTimeoutPenaltySeconds;
    if (outcome.stream) ttft = kTimeoutPenaltySeconds;
  } else {
    return;  // LiteLLM penalises only timeouts
  }
  const int capacity = args_.max_latency_list_size;
  LatencyData* data = lb_data_or_install<LatencyData>(d, [capacity, &d] {
    return new LatencyData(capacity, DeploymentColumns::latency_means(d, false),
                           DeploymentColumns::latency_means(d, true), DeploymentColumns::latency_expiry(d));
  });
  if (data == nullptr) return;  // the slot belongs to another strategy
  const int64_t at = ns(outcome.at);
  const int64_t ttl = ttl_.count();
  std::lock_guard lock(data->mu);
  data->add(/*ttft=*/false, {at, latency}, ttl);
  if (ttft >= 0) data->add(/*ttft=*/true, {at, ttft}, ttl);
  data->recorded.fetch_add(1, std::memory_order_relaxed);
}

double LatencyBased::score(const Deployment& d, bool stream, TimePoint now) const {
  return score_of(lb_data_as<LatencyData>(d), d, stream, ns(now), ttl_.count());
}

FleetView::Latency LatencyBased::own_window(const Deployment& d, bool ttft, TimePoint now) const {
  LatencyData* data = lb_data_as<LatencyData>(d);
  if (data == nullptr) return {};
  std::lock_guard lock(data->mu);
  const int n = data->size(ttft, ns(now), ttl_.count());
  if (n <= 0) return {};
  return {data->published_mean(ttft), n};
}

int LatencyBased::window_size(const Deployment& d, bool ttft, TimePoint now) const {
  LatencyData* data = lb_data_as<LatencyData>(d);
  if (data == nullptr) return 0;
  std::lock_guard lock(data->mu);
  return data->size(ttft, ns(now), ttl_.count());
}

uint64_t LatencyBased::outcomes_recorded(const Deployment& d) const {
  LatencyData* data = lb_data_as<LatencyData>(d);
  return data == nullptr ? 0 : data->recorded.load(std::memory_order_relaxed);
}

}  // namespace llmux::strategy
