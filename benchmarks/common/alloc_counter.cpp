// See alloc_counter.hpp. The wrappers forward to glibc's allocator entry
// points, which glibc exports for exactly this use; nothing here allocates.
#include "common/alloc_counter.hpp"

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define LLMUX_ALLOC_COUNTER_DISABLED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define LLMUX_ALLOC_COUNTER_DISABLED 1
#endif
#endif

namespace llmux::bench::alloc_counter {
namespace {

struct AtomicCounts {
  std::atomic<std::uint64_t> allocations{0};
  std::atomic<std::uint64_t> frees{0};
  std::atomic<std::uint64_t> bytes{0};
};

AtomicCounts g_process;              // zero-initialised before any allocation
thread_local Counts t_thread;        // trivially constructible: no TLS init guard

[[maybe_unused]] inline void count_allocation(std::size_t size) {
  g_process.allocations.fetch_add(1, std::memory_order_relaxed);
  g_process.bytes.fetch_add(size, std::memory_order_relaxed);
  ++t_thread.allocations;
  t_thread.bytes += size;
}

[[maybe_unused]] inline void count_free() {
  g_process.frees.fetch_add(1, std::memory_order_relaxed);
  ++t_thread.frees;
}

}  // namespace

#ifdef LLMUX_ALLOC_COUNTER_DISABLED
bool available() { return false; }
#else
bool available() { return true; }
#endif

Counts process() {
  return {g_process.allocations.load(std::memory_order_relaxed),
          g_process.frees.load(std::memory_order_relaxed), g_process.bytes.load(std::memory_order_relaxed)};
}

Counts this_thread() { return t_thread; }

}  // namespace llmux::bench::alloc_counter

#ifndef LLMUX_ALLOC_COUNTER_DISABLED
extern "C" {
void* __libc_malloc(std::size_t size) noexcept;
void* __libc_calloc(std::size_t count, std::size_t size) noexcept;
void* __libc_realloc(void* ptr, std::size_t size) noexcept;
void* __libc_memalign(std::size_t alignment, std::size_t size) noexcept;
void __libc_free(void* ptr) noexcept;

namespace ac = llmux::bench::alloc_counter;

void* malloc(std::size_t size) noexcept {
  ac::count_allocation(size);
  return __libc_malloc(size);
}

void* calloc(std::size_t count, std::size_t size) noexcept {
  ac::count_allocation(count * size);
  return __libc_calloc(count, size);
}

void* realloc(void* ptr, std::size_t size) noexcept {
  if (ptr == nullptr) {
    ac::count_allocation(size);
  } else if (size == 0) {
    ac::count_free();
  } else {
    ac::count_allocation(size);  // a resize may move: counted as an allocation
  }
  return __libc_realloc(ptr, size);
}

void free(void* ptr) noexcept {
  if (ptr != nullptr) ac::count_free();
  __libc_free(ptr);
}

void* memalign(std::size_t alignment, std::size_t size) noexcept {
  ac::count_allocation(size);
  return __libc_memalign(alignment, size);
}

void* aligned_alloc(std::size_t alignment, std::size_t size) noexcept {
  ac::count_allocation(size);
  return __libc_memalign(alignment, size);
}

int posix_memalign(void** out, std::size_t alignment, std::size_t size) noexcept {
  if (alignment < sizeof(void*) || (alignment & (alignment - 1)) != 0) return EINVAL;
  ac::count_allocation(size);
  void* p = __libc_memalign(alignment, size);
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}

void* valloc(std::size_t size) noexcept {
  ac::count_allocation(size);
  return __libc_memalign(4096, size);
}
}  // extern "C"
#endif
