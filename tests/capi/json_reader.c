/* A recursive-descent JSON reader (RFC 8259), test-only. See json_reader.h. */
#include "json_reader.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { kMaxDepth = 64 };

typedef struct parser {
  const char* pos;
  const char* end;
} parser;

static int parse_value(parser* p, json_value* out, int depth);

static void skip_space(parser* p) {
  while (p->pos < p->end && (*p->pos == ' ' || *p->pos == '\t' || *p->pos == '\n' || *p->pos == '\r')) p->pos++;
}

static int literal(parser* p, const char* word) {
  const size_t n = strlen(word);
  if ((size_t)(p->end - p->pos) < n || memcmp(p->pos, word, n) != 0) return 0;
  p->pos += n;
  return 1;
}

static int hex4(parser* p, unsigned* out) {
  if (p->end - p->pos < 4) return 0;
  *out = 0;
  for (int i = 0; i < 4; i++) {
    const char c = *p->pos++;
    unsigned digit;
    if (c >= '0' && c <= '9') digit = (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f') digit = (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') digit = (unsigned)(c - 'A' + 10);
    else return 0;
    *out = *out * 16 + digit;
  }
  return 1;
}

static size_t put_utf8(char* out, unsigned cp) {
  if (cp < 0x80) {
    out[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (char)(0xE0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (char)(0xF0 | (cp >> 18));
  out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  out[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

/* At the opening quote; decodes into a malloc'd NUL-terminated string (an
 * escape never decodes to more bytes than it takes in the source). */
static char* parse_string(parser* p) {
  p->pos++;
  const char* start = p->pos;
  while (p->pos < p->end && *p->pos != '"') {
    if (*p->pos == '\\' && p->end - p->pos < 2) return NULL;
    p->pos += (*p->pos == '\\') ? 2 : 1;
  }
  if (p->pos >= p->end) return NULL;
  char* out = malloc((size_t)(p->pos - start) + 1);
  if (!out) return NULL;
  parser in = {start, p->pos};
  size_t n = 0;
  while (in.pos < in.end) {
    const char c = *in.pos++;
    if ((unsigned char)c < 0x20) goto fail;
    if (c != '\\') {
      out[n++] = c;
      continue;
    }
    const char e = *in.pos++;
    switch (e) {
      case '"': case '\\': case '/': out[n++] = e; break;
      case 'b': out[n++] = '\b'; break;
      case 'f': out[n++] = '\f'; break;
      case 'n': out[n++] = '\n'; break;
      case 'r': out[n++] = '\r'; break;
      case 't': out[n++] = '\t'; break;
      case 'u': {
        unsigned cp;
        if (!hex4(&in, &cp)) goto fail;
        if (cp >= 0xD800 && cp < 0xDC00) { /* a surrogate pair: \uD83D\uDE00 */
          unsigned low;
          if (!literal(&in, "\\u") || !hex4(&in, &low) || low < 0xDC00 || low > 0xDFFF) goto fail;
          cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        }
        n += put_utf8(out + n, cp);
        break;
      }
      default: goto fail;
    }
  }
  out[n] = '\0';
  p->pos++; /* the closing quote */
  return out;
fail:
  free(out);
  return NULL;
}

static int parse_number(parser* p, json_value* out) {
  const char* start = p->pos;
  if (p->pos < p->end && *p->pos == '-') p->pos++;
  while (p->pos < p->end && strchr("0123456789.eE+-", *p->pos)) p->pos++;
  if (p->pos == start) return 0;
  char buffer[64];
  const size_t n = (size_t)(p->pos - start);
  if (n >= sizeof buffer) return 0;
  memcpy(buffer, start, n);
  buffer[n] = '\0';
  char* end;
  out->number = strtod(buffer, &end);
  out->type = JSON_NUMBER;
  return end == buffer + n;
}

/* Appends a zeroed element (and for objects a key slot) to a container. */
static json_value* append_item(json_value* c) {
  json_value* items = realloc(c->items, (c->count + 1) * sizeof *items);
  if (!items) return NULL;
  c->items = items;
  if (c->type == JSON_OBJECT) {
    char** keys = realloc(c->keys, (c->count + 1) * sizeof *keys);
    if (!keys) return NULL;
    c->keys = keys;
    c->keys[c->count] = NULL;
  }
  memset(&c->items[c->count], 0, sizeof *items);
  return &c->items[c->count++];
}

/* An array or an object, at its opening bracket. */
static int parse_container(parser* p, json_value* out, int depth) {
  const char close = *p->pos == '[' ? ']' : '}';
  out->type = close == ']' ? JSON_ARRAY : JSON_OBJECT;
  p->pos++;
  skip_space(p);
  if (p->pos < p->end && *p->pos == close) {
    p->pos++;
    return 1;
  }
  for (;;) {
    json_value* item = append_item(out);
    if (!item) return 0;
    if (out->type == JSON_OBJECT) {
      skip_space(p);
      if (p->pos >= p->end || *p->pos != '"') return 0;
      out->keys[out->count - 1] = parse_string(p);
      if (!out->keys[out->count - 1]) return 0;
      skip_space(p);
      if (p->pos >= p->end || *p->pos++ != ':') return 0;
    }
    if (!parse_value(p, item, depth + 1)) return 0;
    skip_space(p);
    if (p->pos >= p->end) return 0;
    const char c = *p->pos++;
    if (c == close) return 1;
    if (c != ',') return 0;
  }
}

static int parse_value(parser* p, json_value* out, int depth) {
  if (depth > kMaxDepth) return 0;
  skip_space(p);
  if (p->pos >= p->end) return 0;
  const char* start = p->pos;
  int ok;
  switch (*p->pos) {
    case '{':
    case '[': ok = parse_container(p, out, depth); break;
    case '"':
      out->type = JSON_STRING;
      out->string = parse_string(p);
      ok = out->string != NULL;
      break;
    case 't':
    case 'f':
      out->type = JSON_BOOL;
      out->boolean = *p->pos == 't';
      ok = literal(p, out->boolean ? "true" : "false");
      break;
    case 'n':
      out->type = JSON_NULL;
      ok = literal(p, "null");
      break;
    default: ok = parse_number(p, out); break;
  }
  out->raw = start;
  out->raw_len = (size_t)(p->pos - start);
  return ok;
}

static void free_contents(json_value* v) {
  for (size_t i = 0; i < v->count; i++) {
    free_contents(&v->items[i]);
    if (v->keys) free(v->keys[i]);
  }
  free(v->items);
  free(v->keys);
  free(v->string);
}

json_value* json_parse(const char* text, size_t len) {
  json_value* root = calloc(1, sizeof *root);
  if (!root) return NULL;
  parser p = {text, text + len};
  const int ok = parse_value(&p, root, 0);
  skip_space(&p);
  if (!ok || p.pos != p.end) {
    json_free(root);
    return NULL;
  }
  return root;
}

void json_free(json_value* value) {
  if (!value) return;
  free_contents(value);
  free(value);
}

const json_value* json_get(const json_value* object, const char* key) {
  if (!object || object->type != JSON_OBJECT) return NULL;
  for (size_t i = 0; i < object->count; i++) {
    if (object->keys[i] && strcmp(object->keys[i], key) == 0) return &object->items[i];
  }
  return NULL;
}

const json_value* json_path(const json_value* value, const char* path) {
  char segment[128];
  while (value && *path) {
    const size_t n = strcspn(path, ".");
    if (n >= sizeof segment) return NULL;
    memcpy(segment, path, n);
    segment[n] = '\0';
    path += n + (path[n] == '.');
    if (value->type == JSON_ARRAY) {
      char* end;
      const unsigned long index = strtoul(segment, &end, 10);
      value = (*end == '\0' && index < value->count) ? &value->items[index] : NULL;
    } else {
      value = json_get(value, segment);
    }
  }
  return value;
}

const char* json_string_at(const json_value* value, const char* path) {
  const json_value* v = json_path(value, path);
  return v && v->type == JSON_STRING ? v->string : NULL;
}

double json_number_at(const json_value* value, const char* path, double fallback) {
  const json_value* v = json_path(value, path);
  return v && v->type == JSON_NUMBER ? v->number : fallback;
}
