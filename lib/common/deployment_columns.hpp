// -----------------------------------------------------------------------------
// File: common/deployment_columns.hpp
// -----------------------------------------------------------------------------
// The live per-deployment values routing strategies compare, stored as
// columns (structure of arrays) per model group, so that one routing
// decision over 1,000 candidates is a linear scan over a few contiguous
// arrays instead of a cache miss per candidate (DESIGN.md §5: ≤ 1 µs per
// decision at 1,000 deployments).
//
// One table per model group, kept across deployment-pool snapshots like the
// group's trip counter. A deployment gets a slot when the pool creates it
// (Deployment::use_column_storage points its in-flight counter, tokens this
// minute and fleet view there) and keeps the slot until it is destroyed, so
// attempts started under an older snapshot count on the same slot. Columns:
//   in_flight      attempts on the wire (least-busy)
//   fleet          what other replicas report (least-busy, latency-based);
//                  fleet_reported() says whether any ever did
//   tokens         tokens this minute (usage-based-routing)
//   price          input + output price per token, fixed for the deployment
//                  (cost-based-routing)
//   latency, ttft  the latency-based strategy's published window means;
//                  latency_expiry() is no later than any of their expiries
//
// Slots are page << kPageShift | index: pages are allocated as the group
// grows (never moved or freed before the table), so readers never race with
// a reallocation. A group built at once occupies slots 0..n-1 of page 0 in
// member order: CandidateColumns then addresses them as plain arrays.
//
// Thread safety: the values are atomics (or, for price, written before the
// slot is published with its snapshot). attach() and slot release take the
// table's mutex; readers never do.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <new>
#include <vector>

#include "common/expiry_gate.hpp"
#include "llmux/deployment.hpp"

namespace llmux {

// A latency window's mean as lock-free readers see it, with the time until
// which it stays valid (the oldest sample's expiry).
struct PublishedMean {
  static constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
  std::atomic<double> mean{-1.0};            // < 0: empty
  std::atomic<int64_t> valid_until{kNever};  // ns on the router's clock

  void clear() {
    mean.store(-1.0, std::memory_order_relaxed);
    valid_until.store(kNever, std::memory_order_release);
  }
};

class DeploymentColumns {
 public:
  static constexpr int kPageShift = 24;
  static constexpr uint32_t kIndexMask = (uint32_t{1} << kPageShift) - 1;
  static constexpr size_t kMaxPages = 32;

  // A page of up to this many slots keeps each slot's written counters on a
  // cache line of their own (see Page); larger pages are dense arrays.
  static constexpr uint32_t kPaddedPageMax = 64;

  // One column of a page: element i at base + i * stride bytes.
  template <class T>
  struct Column {
    std::byte* base = nullptr;
    size_t stride = sizeof(T);
    T& operator[](size_t i) const { return *std::launder(reinterpret_cast<T*>(base + i * stride)); }
    Column from(size_t first) const { return Column{base + first * stride, stride}; }
  };

  // Dense pages (more than kPaddedPageMax slots) keep one array per column:
  // a scan over 1,000 candidates reads a few contiguous arrays. Padded pages
  // (a small group, where every attempt writes a counter of the same few
  // slots from any thread) keep the counters attempts write (in flight,
  // tokens, the latency means) in one 64-byte line per slot, so that two
  // threads working on different deployments never write the same line;
  // the read-mostly columns (fleet, price) stay dense arrays, away from the
  // written lines.
  struct Page {
    // `fleet_reported`: the table's flag, set by the page's fleet views.
    Page(uint32_t capacity, std::atomic<bool>* fleet_reported);
    ~Page();
    Page(const Page&) = delete;
    Page& operator=(const Page&) = delete;
    uint32_t capacity;
    bool padded;
    Column<std::atomic<int64_t>> in_flight;
    Column<FleetView> fleet;
    Column<MinuteCounter> tokens;
    Column<double> price;
    Column<PublishedMean> latency;
    Column<PublishedMean> ttft;

   private:
    struct alignas(64) WrittenSlot {
      std::atomic<int64_t> in_flight{0};
      MinuteCounter tokens;
      PublishedMean latency;
      PublishedMean ttft;
    };
    // Every array starts on a cache line and fills whole lines, so that no
    // column shares a line with another column or another heap object.
    struct LineFree {
      void operator()(void* p) const;
    };
    template <class T>
    using LineArray = std::unique_ptr<T[], LineFree>;
    template <class T>
    static LineArray<T> line_array(size_t n);

    LineArray<WrittenSlot> written_;  // padded pages
    LineArray<std::atomic<int64_t>> in_flight_;  // dense pages
    LineArray<MinuteCounter> tokens_;
    LineArray<PublishedMean> latency_;
    LineArray<PublishedMean> ttft_;
    LineArray<FleetView> fleet_;  // both
    LineArray<double> price_;
  };

  // `expected`: how many deployments the group starts with (the first
  // page's size).
  explicit DeploymentColumns(size_t expected);
  DeploymentColumns(const DeploymentColumns&) = delete;
  DeploymentColumns& operator=(const DeploymentColumns&) = delete;

  // Gives `d` a slot (its counters move there) with `price` in the price
  // column. False when the table is full (kMaxPages): `d` keeps its own
  // counters and the group is scanned through the deployments.
  static bool attach(const std::shared_ptr<DeploymentColumns>& table, Deployment& d, double price);

  // The table `d` has a slot in; null when none.
  static const DeploymentColumns* of(const Deployment& d) {
    return static_cast<const DeploymentColumns*>(d.column_table());
  }

  const Page& page(uint32_t slot) const { return *pages_[slot >> kPageShift]; }
  static uint32_t index(uint32_t slot) { return slot & kIndexMask; }

  // The latency-based strategy's published means for `d`; null when `d` has
  // no slot.
  static PublishedMean* latency_means(const Deployment& d, bool ttft);

  // No later than any slot's latency or ttft mean expires (the
  // latency-based strategy lowers it when it publishes a mean).
  ExpiryGate& latency_expiry() const { return latency_expiry_; }
  static ExpiryGate* latency_expiry(const Deployment& d) {
    const DeploymentColumns* t = of(d);
    return t != nullptr ? &t->latency_expiry() : nullptr;
  }
  // latency_expiry().open(now), recomputing the gate from every slot's
  // expiries when it has passed: true when no mean has expired at `now`.
  // Recomputes only after a publication that lowered the gate or held it
  // down (ExpiryGate::lower()), and never waits for the table's mutex: a
  // mean that stays expired (a deployment that is never a candidate) does not
  // make every decision scan the table.
  bool latency_means_current(int64_t now) const {
    if (latency_expiry_.open(now)) [[likely]] return true;
    return reopen_latency_expiry(now);
  }

  // False while no fleet view of the table has ever held a report (no shared
  // routing state, or no other replica reported yet): strategies then skip
  // the fleet column (its values are all empty). Set for good by the first
  // report, before the report's value is stored.
  bool fleet_reported() const { return fleet_reported_.load(std::memory_order_relaxed); }

  // Slots in use (tests).
  size_t slots_in_use() const;

 private:
  struct Lease;
  void release(uint32_t slot);
  bool reopen_latency_expiry(int64_t now) const;

  // Its own cache line: written by every publication, read by every
  // decision.
  alignas(64) mutable ExpiryGate latency_expiry_;
  // The gate's word after the last recompute (nothing published since when
  // it is still the gate's word).
  mutable std::atomic<ExpiryGate::Word> latency_expiry_checked_{0};

  alignas(64) std::atomic<bool> fleet_reported_{false};
  mutable std::mutex mu_;
  // Written under mu_ before any slot of the page is handed out; read
  // without it (a slot reaches readers only through a published snapshot).
  std::unique_ptr<Page> pages_[kMaxPages];
  size_t page_count_ = 0;
  uint32_t next_in_last_page_ = 0;
  std::vector<uint32_t> free_;  // released slots, reused lowest first
  size_t in_use_ = 0;
};

// The candidates of one routing decision as slots of one table, candidate
// for candidate (PickContext::columns). Either contiguous (`page` set:
// candidate i is index base + i of that page) or gathered through `slots`.
struct CandidateColumns {
  const DeploymentColumns* table = nullptr;  // null: no columns (read the deployments)
  const uint32_t* slots = nullptr;
  const DeploymentColumns::Page* page = nullptr;
  uint32_t base = 0;
  // Set only when the candidates are a whole model group whose members set a
  // weight, rpm or tpm: the running sums of their weights, candidate for
  // candidate, kept with the pool snapshot (strategy::SimpleShuffle::weight_prefix).
  const double* weight_prefix = nullptr;
};

namespace columns {

// The columns of candidates base .. base + n - 1 of one page, as plain
// arrays (pointers taken once per decision, so the scan is pointer + index).
struct Contiguous {
  DeploymentColumns::Column<std::atomic<int64_t>> in_flight_col;
  DeploymentColumns::Column<FleetView> fleet_col;
  DeploymentColumns::Column<MinuteCounter> tokens_col;
  DeploymentColumns::Column<double> price_col;
  DeploymentColumns::Column<PublishedMean> latency_col;
  DeploymentColumns::Column<PublishedMean> ttft_col;

  Contiguous(const DeploymentColumns::Page* page, uint32_t base)
      : in_flight_col(page->in_flight.from(base)),
        fleet_col(page->fleet.from(base)),
        tokens_col(page->tokens.from(base)),
        price_col(page->price.from(base)),
        latency_col(page->latency.from(base)),
        ttft_col(page->ttft.from(base)) {}

  int64_t in_flight(size_t i) const { return in_flight_col[i].load(std::memory_order_relaxed); }
  const FleetView& fleet(size_t i) const { return fleet_col[i]; }
  const MinuteCounter& tokens(size_t i) const { return tokens_col[i]; }
  double price(size_t i) const { return price_col[i]; }
  const PublishedMean& mean(size_t i, bool ttft) const { return ttft ? ttft_col[i] : latency_col[i]; }
};

// Candidate i is slots[i] (any page).
struct Gathered {
  const DeploymentColumns* table;
  const uint32_t* slots;

  const DeploymentColumns::Page& page(size_t i) const { return table->page(slots[i]); }
  static uint32_t at(uint32_t slot) { return DeploymentColumns::index(slot); }
  int64_t in_flight(size_t i) const {
    return page(i).in_flight[at(slots[i])].load(std::memory_order_relaxed);
  }
  const FleetView& fleet(size_t i) const { return page(i).fleet[at(slots[i])]; }
  const MinuteCounter& tokens(size_t i) const { return page(i).tokens[at(slots[i])]; }
  double price(size_t i) const { return page(i).price[at(slots[i])]; }
  const PublishedMean& mean(size_t i, bool ttft) const {
    return ttft ? page(i).ttft[at(slots[i])] : page(i).latency[at(slots[i])];
  }
};

// Calls f(Contiguous) or f(Gathered) for `c` (c.table must be set): the
// strategy's scan is compiled once for each layout.
template <class F>
[[gnu::always_inline]] inline decltype(auto) visit(const CandidateColumns& c, F&& f) {
  if (c.page != nullptr) return f(Contiguous(c.page, c.base));
  return f(Gathered{c.table, c.slots});
}

}  // namespace columns
}  // namespace llmux
