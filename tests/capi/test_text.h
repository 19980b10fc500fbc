/* Text helpers shared by the C suite: malloc'd strings the caller frees. */
#ifndef LLMUX_TESTS_CAPI_TEST_TEXT_H_
#define LLMUX_TESTS_CAPI_TEST_TEXT_H_

#include <stddef.h>

/* A malloc'd printf (aborts when out of memory). */
char* text_printf(const char* format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* A malloc'd, NUL-terminated copy of `len` bytes of `text`. */
char* copy_text(const char* text, size_t len);

/* A chat-completions request body for the model group `group`. */
char* chat_request(const char* group);

#endif /* LLMUX_TESTS_CAPI_TEST_TEXT_H_ */
