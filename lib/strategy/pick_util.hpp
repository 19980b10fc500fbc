// -----------------------------------------------------------------------------
// File: strategy/pick_util.hpp
// -----------------------------------------------------------------------------
// Pieces the built-in strategies share: typed access to a deployment's
// load-balancing data slot, and "uniform among the lowest" selection that
// neither allocates in steady state nor draws one random number per tie.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
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
// candidates, a thread-local vector (grown once, then reused) above.
template <class T>
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

// Calls key(i) once for every candidate index in [0, n), then returns a
// uniformly random index among those whose key <= limit(lowest key).
// n must be > 0. Keys (double or integer) must not be NaN.
template <class KeyFn, class LimitFn>
size_t pick_uniform_among_lowest(size_t n, KeyFn&& key, LimitFn&& limit, Random& rng) {
  using Key = decltype(key(size_t{0}));
  KeyScratch<Key> keys(n);
  Key lowest = key(0);
  keys[0] = lowest;
  size_t lowest_at = 0;
  size_t ties = 1;  // keys equal to lowest
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
  const Key cut = limit(lowest);
  if (cut == lowest) {
    // Eligible: the keys equal to the lowest, counted already (the same
    // choice and random draws as the general pass below).
    if (ties == 1) return lowest_at;
    size_t r = static_cast<size_t>(rng.below(ties));
    for (size_t i = lowest_at; i < n; ++i) {
      if (keys[i] == lowest && r-- == 0) return i;
    }
    return lowest_at;  // unreachable
  }
  size_t eligible = 0;
  size_t only = 0;
  for (size_t i = 0; i < n; ++i) {
    if (keys[i] <= cut) {
      only = i;
      ++eligible;
    }
  }
  if (eligible <= 1) return only;
  size_t r = static_cast<size_t>(rng.below(eligible));
  for (size_t i = 0; i < n; ++i) {
    if (keys[i] <= cut && r-- == 0) return i;
  }
  return only;  // unreachable
}

// The common case: uniformly among the candidates with the minimal key.
template <class KeyFn>
size_t pick_uniform_among_min(size_t n, KeyFn&& key, Random& rng) {
  return pick_uniform_among_lowest(n, std::forward<KeyFn>(key), [](auto lowest) { return lowest; }, rng);
}

}  // namespace llmux::strategy
