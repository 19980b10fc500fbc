// Allocation counting for benchmark executables.
//
// Linking alloc_counter.cpp into a benchmark executable replaces glibc's
// malloc family for the whole process (glibc supports replacing malloc from
// the main program) with thin wrappers that count each call and forward to
// glibc's own allocator (__libc_malloc & co.). Every allocation is counted:
// operator new (libstdc++ calls malloc), libcurl, simdjson, OpenSSL.
//
// Counts are kept process-wide (relaxed atomics) and per thread (a plain
// thread_local), so a benchmark can count what its own thread allocates on a
// path (the routing decision) or what the whole process allocates per call
// (caller thread + I/O thread). Reads are cheap; call them around the measured
// loop, not inside it.
//
// Not for sanitizer builds (ASan/TSan replace malloc themselves): there
// alloc_counter::available() is false and every count reads 0.
#pragma once

#include <cstdint>

namespace llmux::bench::alloc_counter {

struct Counts {
  std::uint64_t allocations = 0;  // malloc, calloc, realloc (growing or new), memalign family
  std::uint64_t frees = 0;        // free of a non-null pointer, realloc to size 0
  std::uint64_t bytes = 0;        // bytes requested by the counted allocations

  friend Counts operator-(const Counts& a, const Counts& b) {
    return {a.allocations - b.allocations, a.frees - b.frees, a.bytes - b.bytes};
  }
};

// True when the interposer is linked in and active (not a sanitizer build).
bool available();

// Everything the process allocated so far, all threads.
Counts process();

// What the calling thread allocated so far.
Counts this_thread();

}  // namespace llmux::bench::alloc_counter
