#include "test_text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char* text_printf(const char* format, ...) {
  va_list args;
  va_start(args, format);
  const int n = vsnprintf(NULL, 0, format, args);
  va_end(args);
  if (n < 0) abort();
  char* out = malloc((size_t)n + 1);
  if (!out) abort();
  va_start(args, format);
  vsnprintf(out, (size_t)n + 1, format, args);
  va_end(args);
  return out;
}

char* copy_text(const char* text, size_t len) {
  char* out = malloc(len + 1);
  if (!out) abort();
  if (len > 0) memcpy(out, text, len);
  out[len] = '\0';
  return out;
}

char* chat_request(const char* group) {
  return text_printf("{\"model\":\"%s\",\"messages\":[{\"role\":\"user\",\"content\":\"Say hello\"}]}", group);
}
