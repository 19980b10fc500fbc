#include "common/deployment_columns.hpp"

#include <algorithm>
#include <bit>
#include <cstddef>
#include <functional>
#include <new>
#include <type_traits>

namespace llmux {

namespace {

template <class T>
DeploymentColumns::Column<T> dense(T* array) {
  return {reinterpret_cast<std::byte*>(array), sizeof(T)};
}

constexpr size_t kLine = 64;

}  // namespace

void DeploymentColumns::Page::LineFree::operator()(void* p) const { ::operator delete(p, std::align_val_t{kLine}); }

template <class T>
DeploymentColumns::Page::LineArray<T> DeploymentColumns::Page::line_array(size_t n) {
  static_assert(std::is_trivially_destructible_v<T>);  // LineFree runs no destructor
  const size_t bytes = (n * sizeof(T) + kLine - 1) / kLine * kLine;
  void* raw = ::operator new(bytes, std::align_val_t{kLine});
  T* first = static_cast<T*>(raw);
  for (size_t i = 0; i < n; ++i) new (first + i) T();
  return LineArray<T>(first);
}

DeploymentColumns::Page::Page(uint32_t n, std::atomic<bool>* fleet_reported)
    : capacity(n), padded(n <= kPaddedPageMax), fleet_(line_array<FleetView>(n)), price_(line_array<double>(n)) {
  for (uint32_t i = 0; i < n; ++i) fleet_[i].note_reports_in(fleet_reported);
  fleet = dense(fleet_.get());
  price = dense(price_.get());
  if (padded) {
    static_assert(sizeof(WrittenSlot) == 64);
    written_ = line_array<WrittenSlot>(n);
    std::byte* first = reinterpret_cast<std::byte*>(written_.get());
    in_flight = {first + offsetof(WrittenSlot, in_flight), sizeof(WrittenSlot)};
    tokens = {first + offsetof(WrittenSlot, tokens), sizeof(WrittenSlot)};
    latency = {first + offsetof(WrittenSlot, latency), sizeof(WrittenSlot)};
    ttft = {first + offsetof(WrittenSlot, ttft), sizeof(WrittenSlot)};
  } else {
    in_flight_ = line_array<std::atomic<int64_t>>(n);
    tokens_ = line_array<MinuteCounter>(n);
    latency_ = line_array<PublishedMean>(n);
    ttft_ = line_array<PublishedMean>(n);
    in_flight = dense(in_flight_.get());
    tokens = dense(tokens_.get());
    latency = dense(latency_.get());
    ttft = dense(ttft_.get());
  }
}

DeploymentColumns::Page::~Page() = default;

DeploymentColumns::DeploymentColumns(size_t expected) {
  const size_t first = std::bit_ceil(std::clamp<size_t>(expected, 8, kIndexMask + size_t{1}));
  pages_[0] = std::make_unique<Page>(static_cast<uint32_t>(first), &fleet_reported_);
  page_count_ = 1;
}

// Returns the slot to the table when the deployment holding it is destroyed.
struct DeploymentColumns::Lease {
  Lease(std::shared_ptr<DeploymentColumns> t, uint32_t s) : table(std::move(t)), slot(s) {}
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  ~Lease() { table->release(slot); }

  const std::shared_ptr<DeploymentColumns> table;
  const uint32_t slot;
};

bool DeploymentColumns::attach(const std::shared_ptr<DeploymentColumns>& table, Deployment& d, double price) {
  if (table == nullptr || d.column_table() != nullptr) return false;
  DeploymentColumns& t = *table;
  uint32_t slot;
  {
    std::lock_guard lock(t.mu_);
    if (!t.free_.empty()) {
      std::pop_heap(t.free_.begin(), t.free_.end(), std::greater<>());
      slot = t.free_.back();
      t.free_.pop_back();
    } else {
      if (t.next_in_last_page_ == t.pages_[t.page_count_ - 1]->capacity) {
        if (t.page_count_ == kMaxPages) return false;
        // Doubles the capacity (within one page's index range).
        size_t total = 0;
        for (size_t p = 0; p < t.page_count_; ++p) total += t.pages_[p]->capacity;
        t.pages_[t.page_count_] = std::make_unique<Page>(
            static_cast<uint32_t>(std::min<size_t>(total, kIndexMask + size_t{1})), &t.fleet_reported_);
        ++t.page_count_;
        t.next_in_last_page_ = 0;
      }
      slot = static_cast<uint32_t>((t.page_count_ - 1) << kPageShift) | t.next_in_last_page_++;
    }
    ++t.in_use_;
  }
  Page& page = *t.pages_[slot >> kPageShift];
  const uint32_t i = index(slot);
  page.price[i] = price;
  Deployment::ColumnStorage storage;
  storage.in_flight = &page.in_flight[i];
  storage.minute_tokens = &page.tokens[i];
  storage.fleet_view = &page.fleet[i];
  storage.table = &t;
  storage.slot = slot;
  storage.lease = std::make_shared<Lease>(table, slot);
  d.use_column_storage(std::move(storage));
  return true;
}

void DeploymentColumns::release(uint32_t slot) {
  // Nothing reads the slot any more (its deployment is gone with every
  // snapshot that listed it): back to the values of a fresh slot.
  Page& page = *pages_[slot >> kPageShift];
  const uint32_t i = index(slot);
  page.in_flight[i].store(0, std::memory_order_relaxed);
  page.fleet[i].set_others_in_flight(0);
  page.fleet[i].set_others_latency(false, {});
  page.fleet[i].set_others_latency(true, {});
  page.tokens[i].reset();
  page.price[i] = 0;
  page.latency[i].clear();
  page.ttft[i].clear();
  std::lock_guard lock(mu_);
  free_.push_back(slot);
  std::push_heap(free_.begin(), free_.end(), std::greater<>());
  --in_use_;
}

bool DeploymentColumns::reopen_latency_expiry(int64_t now) const {
  const ExpiryGate::Word before = latency_expiry_.snapshot();
  if (latency_expiry_.open(now)) return true;
  if (before == latency_expiry_checked_.load(std::memory_order_relaxed)) return false;  // still passed
  std::unique_lock lock(mu_, std::try_to_lock);  // pages_ and page_count_
  if (!lock.owns_lock()) return false;
  int64_t earliest = PublishedMean::kNever;
  for (size_t p = 0; p < page_count_; ++p) {
    const Page& page = *pages_[p];
    for (uint32_t i = 0; i < page.capacity; ++i) {
      earliest = std::min(earliest, page.latency[i].valid_until.load(std::memory_order_acquire));
      earliest = std::min(earliest, page.ttft[i].valid_until.load(std::memory_order_acquire));
    }
  }
  if (!latency_expiry_.reopen(before, earliest)) return false;  // a mean was published meanwhile
  latency_expiry_checked_.store(latency_expiry_.snapshot(), std::memory_order_relaxed);
  return latency_expiry_.open(now);
}

PublishedMean* DeploymentColumns::latency_means(const Deployment& d, bool ttft) {
  const DeploymentColumns* t = of(d);
  if (t == nullptr) return nullptr;
  const Page& page = t->page(d.column_slot());
  const uint32_t i = index(d.column_slot());
  return ttft ? &page.ttft[i] : &page.latency[i];
}

size_t DeploymentColumns::slots_in_use() const {
  std::lock_guard lock(mu_);
  return in_use_;
}

}  // namespace llmux
