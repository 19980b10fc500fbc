// -----------------------------------------------------------------------------
// File: tests/fuzz/fuzz_check.hpp
// -----------------------------------------------------------------------------
// FUZZ_CHECK(cond): a property every input must keep. A violation prints where
// and aborts, which libFuzzer reports as a crash (and saves the input) and the
// replay test as a failure.
#pragma once

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond)                                                              \
  do {                                                                                \
    if (!(cond)) {                                                                    \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                   \
    }                                                                                 \
  } while (0)
