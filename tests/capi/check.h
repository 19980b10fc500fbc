/* A tiny test harness for the C suite: checks that record a failure and go on,
 * REQUIRE that ends the test, and a runner that prints "N passed, N failed". */
#ifndef LLMUX_TESTS_CAPI_CHECK_H_
#define LLMUX_TESTS_CAPI_CHECK_H_

#include <stddef.h>

#include "llmux.h"

/* Records a failed check of the running test (printf-style message). */
void check_fail(const char* file, int line, const char* format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Whether the running test has failed so far. */
int check_test_failed(void);

int check_int_eq(const char* file, int line, const char* what, long long actual, long long expected);
int check_str_eq(const char* file, int line, const char* what, const char* actual, const char* expected);
int check_contains(const char* file, int line, const char* what, const char* haystack, const char* needle);
int check_not_contains(const char* file, int line, const char* what, const char* haystack, const char* needle);
/* Status `actual` is `expected`; prints both names and the error's message. */
int check_status(const char* file, int line, const char* what, llmux_status actual, llmux_status expected,
                 const llmux_error* error);

#define CHECK(cond) ((cond) ? 1 : (check_fail(__FILE__, __LINE__, "CHECK(%s)", #cond), 0))
#define CHECK_INT_EQ(actual, expected) check_int_eq(__FILE__, __LINE__, #actual, (actual), (expected))
#define CHECK_STR_EQ(actual, expected) check_str_eq(__FILE__, __LINE__, #actual, (actual), (expected))
#define CHECK_CONTAINS(haystack, needle) check_contains(__FILE__, __LINE__, #haystack, (haystack), (needle))
#define CHECK_NOT_CONTAINS(haystack, needle) check_not_contains(__FILE__, __LINE__, #haystack, (haystack), (needle))
#define CHECK_STATUS(actual, expected, error) \
  check_status(__FILE__, __LINE__, #actual, (actual), (expected), (error))
/* Ends the test (a void function) when `ok` is false; use around a CHECK_*. */
#define REQUIRE(ok) \
  do {              \
    if (!(ok)) return; \
  } while (0)

typedef struct test_case {
  const char* name;
  void (*run)(void);
} test_case;

/* Runs every test (or those whose name contains argv[1]); prints one line per
 * test and "<suite>: N passed, N failed". Returns the process exit code. */
int run_tests(const char* suite, const test_case* tests, size_t count, int argc, char** argv);

/* For tests that are not functions (the scenario's steps): begin resets the
 * failure count, end prints the outcome and returns 1 when the test passed. */
void check_begin_test(const char* name);
int check_end_test(const char* name);
/* Prints "<suite>: N passed, N failed"; returns the process exit code. */
int check_summary(const char* suite, int passed, int failed);

#endif /* LLMUX_TESTS_CAPI_CHECK_H_ */
