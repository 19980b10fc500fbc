/* A small JSON reader for the C tests (C has no JSON library): enough to read
 * tests/shared/scenario.json and to pull fields out of llmux's responses.
 * Test-only; not part of llmux. */
#ifndef LLMUX_TESTS_CAPI_JSON_READER_H_
#define LLMUX_TESTS_CAPI_JSON_READER_H_

#include <stddef.h>

typedef enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT } json_type;

typedef struct json_value json_value;
struct json_value {
  json_type type;
  const char* raw; /* the value's text in the parsed document (valid while the document is) */
  size_t raw_len;
  int boolean;     /* JSON_BOOL */
  double number;   /* JSON_NUMBER */
  char* string;    /* JSON_STRING: decoded, NUL-terminated */
  json_value* items; /* JSON_ARRAY elements, JSON_OBJECT member values */
  char** keys;       /* JSON_OBJECT member names (decoded) */
  size_t count;
};

/* Parses `len` bytes; NULL on a syntax error (or trailing garbage). Free with json_free. */
json_value* json_parse(const char* text, size_t len);
void json_free(json_value* value);

/* Member `key` of an object; NULL when absent or `object` is not an object. */
const json_value* json_get(const json_value* object, const char* key);
/* A dotted path of member names and array indexes: "choices.0.message.content". */
const json_value* json_path(const json_value* value, const char* path);
/* The decoded string, or NULL when the value is missing or not a string. */
const char* json_string_at(const json_value* value, const char* path);
/* The number (or `fallback` when missing or not a number). */
double json_number_at(const json_value* value, const char* path, double fallback);

#endif /* LLMUX_TESTS_CAPI_JSON_READER_H_ */
