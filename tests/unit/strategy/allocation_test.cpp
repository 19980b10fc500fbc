// pick() and on_attempt_end() allocate nothing in steady state (DESIGN.md §5:
// no per-call allocation on the routing path). Counts calls of the global
// operator new, replaced in this test binary; skipped under sanitizers, which
// bring their own allocator.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <new>

#include "unit/strategy/strategy_test_util.hpp"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define LLMUX_COUNT_ALLOCATIONS 0
#else
#define LLMUX_COUNT_ALLOCATIONS 1
#endif

#if LLMUX_COUNT_ALLOCATIONS
namespace {
std::atomic<uint64_t> g_allocations{0};
}  // namespace

void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void* operator new(std::size_t n, std::align_val_t align) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  const std::size_t a = static_cast<std::size_t>(align);
  if (void* p = std::aligned_alloc(a, (n + a - 1) / a * a + (n == 0 ? a : 0))) return p;
  throw std::bad_alloc();
}
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
#endif

using namespace llmux;
using namespace llmux::strategy_test;
using llmux::testing::VirtualClock;

TEST_CASE("strategies do not allocate in steady state (8 and 100 candidates)", "[strategy][alloc]") {
#if !LLMUX_COUNT_ALLOCATIONS
  SUCCEED("allocation counting is off under sanitizers");
#else
  for (const char* name : {"simple-shuffle", "least-busy", "latency-based-routing", "usage-based-routing-v2",
                           "cost-based-routing", "power-of-two-choices"}) {
    for (int n : {8, 100}) {
      INFO(name << " with " << n << " candidates");
      auto made = make_strategy(name, "{}");
      REQUIRE(made.ok());
      Strategy& s = **made;
      VirtualClock clock;
      Pool pool;
      for (int i = 0; i < n; ++i) pool.add();
      // Warm-up: per-deployment data is installed once, thread-local scratch grows once.
      const uint64_t start = g_allocations.load();
      for (size_t i = 0; i < pool.view.size(); ++i) {
        s.on_attempt_end(pool[i], stream_success(clock.now(), 1.0 + 0.01 * static_cast<double>(i), 0.1, 10));
      }
      if (s.name() == "latency-based-routing" || s.name() == "power-of-two-choices") {
        CHECK(g_allocations.load() - start >= static_cast<uint64_t>(n));  // the counter does count
      }
      Random rng(5);
      (void)s.pick(context(clock.now()), pool.all(), rng);
      (void)s.pick(context(clock.now(), true), pool.all(), rng);

      const uint64_t before = g_allocations.load();
      size_t sink = 0;
      for (int k = 0; k < 1000; ++k) {
        clock.advance(0.01);
        const size_t i = s.pick(context(clock.now(), (k & 1) != 0), pool.all(), rng);
        sink += i;
        s.on_attempt_end(*pool.view[i % pool.view.size()], success(clock.now(), 0.5, 20));
      }
      const uint64_t allocations = g_allocations.load() - before;
      CHECK(allocations == 0);
      CHECK(sink > 0);
    }
  }
#endif
}
