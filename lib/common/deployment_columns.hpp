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
//   fleet          what other replicas report (least-busy, latency-based)
//   tokens         tokens this minute (usage-based-routing)
//   price          input + output price per token, fixed for the deployment
//                  (cost-based-routing)
//   latency, ttft  the latency-based strategy's published window means
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
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <vector>

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

  struct Page {
    explicit Page(uint32_t capacity);
    uint32_t capacity;
    std::unique_ptr<std::atomic<int64_t>[]> in_flight;
    std::unique_ptr<FleetView[]> fleet;
    std::unique_ptr<MinuteCounter[]> tokens;
    std::unique_ptr<double[]> price;
    std::unique_ptr<PublishedMean[]> latency;
    std::unique_ptr<PublishedMean[]> ttft;
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

  // Slots in use (tests).
  size_t slots_in_use() const;

 private:
  struct Lease;
  void release(uint32_t slot);

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
};

namespace columns {

// The columns of candidates base .. base + n - 1 of one page, as plain
// arrays (pointers taken once per decision, so the scan is pointer + index).
struct Contiguous {
  const std::atomic<int64_t>* in_flight_col;
  const FleetView* fleet_col;
  const MinuteCounter* tokens_col;
  const double* price_col;
  const PublishedMean* latency_col;
  const PublishedMean* ttft_col;

  Contiguous(const DeploymentColumns::Page* page, uint32_t base)
      : in_flight_col(page->in_flight.get() + base),
        fleet_col(page->fleet.get() + base),
        tokens_col(page->tokens.get() + base),
        price_col(page->price.get() + base),
        latency_col(page->latency.get() + base),
        ttft_col(page->ttft.get() + base) {}

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
