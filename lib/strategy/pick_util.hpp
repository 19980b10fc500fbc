// -----------------------------------------------------------------------------
// File: strategy/pick_util.hpp
// -----------------------------------------------------------------------------
// Pieces the built-in strategies share: typed access to a deployment's
// load-balancing data slot, and "uniform among the lowest" selection that
// neither allocates in steady state nor draws one random number per tie.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include "llmux/deployment.hpp"
#include "llmux/strategy.hpp"

namespace llmux::strategy {

// The deployment's slot as T, or nullptr when nothing is installed or another
// strategy's data is (the slot holds one instance; a deployment seen by two
// different strategies keeps the first one's data and the second one sees it
// as never observed).
// T's tag (DeploymentLbData::kind): the address of a variable of its own.
template <class T>
inline const void* lb_kind() {
  static constexpr char tag = 0;
  return &tag;
}

// Built-in data types pass lb_kind<T>() to DeploymentLbData's constructor;
// the tag is compared, not typeid (one load on the object's first line).
template <class T>
[[gnu::always_inline]] inline T* lb_data_as(const Deployment& d) {
  DeploymentLbData* p = d.lb_data();
  if (p == nullptr || p->kind() != lb_kind<T>()) return nullptr;
  return static_cast<T*>(p);
}

// The deployment's T, installed with `make()` on first use; nullptr when the
// slot holds another strategy's data. Allocates once per deployment.
template <class T, class Make>
T* lb_data_or_install(const Deployment& d, Make&& make) {
  if (T* p = lb_data_as<T>(d)) return p;
  if (d.lb_data() != nullptr) return nullptr;
  d.install_lb_data(std::unique_ptr<DeploymentLbData>(make()));
  return lb_data_as<T>(d);
}

// Per-thread scratch for one key per candidate: inline up to kInline
// candidates, a thread-local vector (grown once, then reused) above. Scratch
// spaces alive at the same time need different `Tag`s (one vector per T and
// Tag).
template <class T, int Tag = 0>
class KeyScratch {
 public:
  static constexpr size_t kInline = 32;
  explicit KeyScratch(size_t n) {
    if (n <= kInline) {
      data_ = inline_;
    } else {
      thread_local std::vector<T> big;
      if (big.size() < n) big.resize(n);
      data_ = big.data();
    }
  }
  T& operator[](size_t i) { return data_[i]; }

 private:
  T inline_[kInline];
  T* data_;
};

// How many of keys[0, n) are <= cut. No branch per key: the compiler
// vectorises it.
// Four independent counts: one running sum would make each key wait for the
// previous one's addition.
template <class Key>
[[gnu::always_inline]] inline size_t count_at_most(const Key* keys, size_t n, Key cut) {
  size_t c0 = 0, c1 = 0, c2 = 0, c3 = 0;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    c0 += keys[i] <= cut ? 1 : 0;
    c1 += keys[i + 1] <= cut ? 1 : 0;
    c2 += keys[i + 2] <= cut ? 1 : 0;
    c3 += keys[i + 3] <= cut ? 1 : 0;
  }
  for (; i < n; ++i) c0 += keys[i] <= cut ? 1 : 0;
  return c0 + c1 + c2 + c3;
}

// Calls key(i) once for every candidate index in [0, n), then returns a
// uniformly random index among those whose key <= limit(lowest key): one
// random draw when more than one qualifies, none otherwise; the choice is the
// draw-th qualifying index in index order. n must be > 0. Keys (double or
// integer) must not be NaN.
//
// Passes without a data-dependent branch per key (DESIGN.md §5: 1,000
// candidates well under a microsecond): the keys and each block of 64's
// minimum, then the qualifying keys counted in the blocks whose minimum
// qualifies (with distinct keys, one or two blocks), then the chosen block's
// keys (so finding, say, the 500th of 1,000 tied keys is not a serial walk).
// Up to kSmall candidates, one pass that keeps the lowest key, where it is
// and its ties is cheaper: the same choice and draws.
//
// `key` is copied into a local: with a closure that captures by value, what
// it reads stays in registers across the keys' atomic (acquire) loads, which
// would otherwise force a reload from the caller's frame for every key.
//
// `abort(lowest)`, asked before anything is drawn: true makes it return
// kAborted (the caller decides another way, with the generator untouched).
inline constexpr size_t kAborted = static_cast<size_t>(-1);

template <class KeyFn, class LimitFn, class AbortFn>
size_t pick_uniform_among_lowest_unless(size_t n, KeyFn&& key_fn, LimitFn&& limit, AbortFn&& abort, Random& rng) {
  const std::remove_cvref_t<KeyFn> key = key_fn;
  using Key = decltype(key(size_t{0}));
  constexpr size_t kSmall = 16;
  constexpr size_t kBlock = 64;
  if (n <= kSmall) {
    Key keys[kSmall];
    Key lowest = key(0);
    keys[0] = lowest;
    size_t lowest_at = 0;
    size_t ties = 1;
    for (size_t i = 1; i < n; ++i) {
      const Key k = key(i);
      keys[i] = k;
      if (k < lowest) {
        lowest = k;
        lowest_at = i;
        ties = 1;
      } else if (k == lowest) {
        ++ties;
      }
    }
    if (abort(lowest)) return kAborted;
    const Key cut = limit(lowest);
    const size_t eligible = cut == lowest ? ties : count_at_most(keys, n, cut);
    if (eligible == 0) return 0;  // only when limit(lowest) < lowest
    if (eligible == 1 && cut == lowest) return lowest_at;
    size_t r = eligible == 1 ? 0 : static_cast<size_t>(rng.below(eligible));
    for (size_t i = 0; i < n; ++i) {
      if (keys[i] <= cut && r-- == 0) return i;
    }
    return 0;  // unreachable
  }

  KeyScratch<Key> scratch(n);
  Key* keys = &scratch[0];
  const size_t blocks = (n + kBlock - 1) / kBlock;
  // Per block of 64 keys: its minimum, then how many of its keys qualify.
  KeyScratch<Key, 1> block_low(blocks);  // not `scratch`'s vector
  KeyScratch<uint32_t> per_block(blocks);
  for (size_t b = 0; b < blocks; ++b) {
    const size_t from = b * kBlock;
    const size_t to = std::min(n, from + kBlock);
    // Four running minima: one would chain every key's comparison to the
    // previous one's (4 cycles per key for minsd).
    Key low0 = key(from);
    keys[from] = low0;
    Key low1 = low0, low2 = low0, low3 = low0;
    size_t i = from + 1;
    for (; i + 4 <= to; i += 4) {
      const Key k0 = key(i), k1 = key(i + 1), k2 = key(i + 2), k3 = key(i + 3);
      keys[i] = k0;
      keys[i + 1] = k1;
      keys[i + 2] = k2;
      keys[i + 3] = k3;
      low0 = k0 < low0 ? k0 : low0;
      low1 = k1 < low1 ? k1 : low1;
      low2 = k2 < low2 ? k2 : low2;
      low3 = k3 < low3 ? k3 : low3;
    }
    for (; i < to; ++i) {
      const Key k = key(i);
      keys[i] = k;
      low0 = k < low0 ? k : low0;
    }
    low0 = low1 < low0 ? low1 : low0;
    low2 = low3 < low2 ? low3 : low2;
    block_low[b] = low2 < low0 ? low2 : low0;
  }
  Key lowest = keys[0];  // >= block_low[0]
  for (size_t b = 0; b < blocks; ++b) lowest = block_low[b] < lowest ? block_low[b] : lowest;
  if (abort(lowest)) return kAborted;
  const Key cut = limit(lowest);  // lowest itself: the candidates tied at the minimum

  // Only blocks whose minimum qualifies have keys that do.
  size_t eligible = 0;
  for (size_t b = 0; b < blocks; ++b) {
    const size_t from = b * kBlock;
    const auto c = block_low[b] <= cut
                       ? static_cast<uint32_t>(count_at_most(keys + from, std::min(kBlock, n - from), cut))
                       : uint32_t{0};
    per_block[b] = c;
    eligible += c;
  }
  if (eligible == 0) return 0;  // only when limit(lowest) < lowest
  size_t r = eligible == 1 ? 0 : static_cast<size_t>(rng.below(eligible));
  for (size_t b = 0; b < blocks; ++b) {
    if (r >= per_block[b]) {
      r -= per_block[b];
      continue;
    }
    const size_t end = std::min(n, (b + 1) * kBlock);
    for (size_t j = b * kBlock; j < end; ++j) {
      if (keys[j] <= cut && r-- == 0) return j;
    }
    break;
  }
  return 0;  // unreachable: the counts add up to eligible
}

template <class KeyFn, class LimitFn>
size_t pick_uniform_among_lowest(size_t n, KeyFn&& key, LimitFn&& limit, Random& rng) {
  return pick_uniform_among_lowest_unless(
      n, std::forward<KeyFn>(key), std::forward<LimitFn>(limit), [](auto) { return false; }, rng);
}

// The common case: uniformly among the candidates with the minimal key.
template <class KeyFn>
size_t pick_uniform_among_min(size_t n, KeyFn&& key, Random& rng) {
  return pick_uniform_among_lowest(n, std::forward<KeyFn>(key), [](auto lowest) { return lowest; }, rng);
}

}  // namespace llmux::strategy
