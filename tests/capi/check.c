#include "check.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int g_test_failures;

void check_fail(const char* file, int line, const char* format, ...) {
  va_list args;
  va_start(args, format);
  fprintf(stderr, "%s:%d: failed: ", file, line);
  vfprintf(stderr, format, args);
  fputc('\n', stderr);
  va_end(args);
  g_test_failures++;
}

int check_test_failed(void) { return g_test_failures > 0; }

int check_int_eq(const char* file, int line, const char* what, long long actual, long long expected) {
  if (actual == expected) return 1;
  check_fail(file, line, "%s is %lld, expected %lld", what, actual, expected);
  return 0;
}

int check_str_eq(const char* file, int line, const char* what, const char* actual, const char* expected) {
  if (actual && expected && strcmp(actual, expected) == 0) return 1;
  check_fail(file, line, "%s is \"%s\", expected \"%s\"", what, actual ? actual : "(null)",
             expected ? expected : "(null)");
  return 0;
}

int check_contains(const char* file, int line, const char* what, const char* haystack, const char* needle) {
  if (haystack && strstr(haystack, needle)) return 1;
  check_fail(file, line, "%s does not contain \"%s\": %s", what, needle, haystack ? haystack : "(null)");
  return 0;
}

int check_not_contains(const char* file, int line, const char* what, const char* haystack, const char* needle) {
  if (haystack && !strstr(haystack, needle)) return 1;
  check_fail(file, line, "%s contains \"%s\" (or is NULL): %s", what, needle, haystack ? haystack : "(null)");
  return 0;
}

int check_status(const char* file, int line, const char* what, llmux_status actual, llmux_status expected,
                 const llmux_error* error) {
  if (actual == expected) return 1;
  check_fail(file, line, "%s is %d %s, expected %d %s (error: %s)", what, (int)actual, llmux_status_string(actual),
             (int)expected, llmux_status_string(expected), error ? llmux_error_message(error) : "none");
  return 0;
}

void check_begin_test(const char* name) {
  g_test_failures = 0;
  fprintf(stderr, "[ RUN  ] %s\n", name);
}

int check_end_test(const char* name) {
  fprintf(stderr, "[%s] %s\n", g_test_failures ? " FAIL " : "  OK  ", name);
  return g_test_failures == 0;
}

int check_summary(const char* suite, int passed, int failed) {
  printf("%s: %d passed, %d failed\n", suite, passed, failed);
  if (passed + failed == 0) {
    fprintf(stderr, "%s: no test ran\n", suite);
    return 1;
  }
  return failed ? 1 : 0;
}

int run_tests(const char* suite, const test_case* tests, size_t count, int argc, char** argv) {
  const char* filter = argc > 1 ? argv[1] : NULL;
  int passed = 0;
  int failed = 0;
  for (size_t i = 0; i < count; i++) {
    if (filter && !strstr(tests[i].name, filter)) continue;
    check_begin_test(tests[i].name);
    tests[i].run();
    if (check_end_test(tests[i].name)) {
      passed++;
    } else {
      failed++;
    }
  }
  return check_summary(suite, passed, failed);
}
