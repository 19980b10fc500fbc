/* The shared cross-binding scenario (tests/shared/scenario.json) through the
 * C ABI: one router from scenario.yaml, the steps read from the file and run
 * in order, every expectation checked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "call_record.h"
#include "check.h"
#include "fake_server.h"
#include "json_reader.h"
#include "llmux.h"

#ifndef LLMUX_SHARED_DIR
#error "the build passes LLMUX_SHARED_DIR (tests/shared)"
#endif

/* The whole file, NUL-terminated; NULL (after a message) when unreadable. */
static char* read_file(const char* name, size_t* len) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", LLMUX_SHARED_DIR, name);
  FILE* f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "capi_scenario_test: cannot open %s\n", path);
    return NULL;
  }
  char* text = NULL;
  size_t size = 0;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, f)) > 0) {
    char* grown = realloc(text, size + n + 1);
    if (!grown) abort();
    text = grown;
    memcpy(text + size, buffer, n);
    size += n;
  }
  fclose(f);
  if (!text) text = calloc(1, 1);
  text[size] = '\0';
  *len = size;
  return text;
}

/* What one step produced. */
typedef struct outcome {
  llmux_status status;
  json_value* response;     /* success: the response (for a stream: on_done's {"_llmux":...}) */
  char* content;            /* success: the message content (a stream's concatenated deltas) */
  json_value* last_chunk;   /* streams */
  char* error_type;         /* failure */
  int error_status;
  json_value* health;       /* the health step */
} outcome;

static const char* g_secret;

/* Nothing the suite sees may contain the scenario's secret. */
static void check_secret_not_in(const char* what, const char* text) {
  if (text && strstr(text, g_secret)) check_fail(__FILE__, __LINE__, "%s contains the secret: %s", what, text);
}

static json_value* parse_text(const char* text) { return text ? json_parse(text, strlen(text)) : NULL; }

static char* copy_string(const char* s) {
  if (!s) return NULL;
  char* out = malloc(strlen(s) + 1);
  if (!out) abort();
  strcpy(out, s);
  return out;
}

static void record_error(outcome* out, const llmux_error* error) {
  out->error_type = copy_string(llmux_error_type(error));
  out->error_status = llmux_error_status(error);
  check_secret_not_in("error message", llmux_error_message(error));
  check_secret_not_in("error JSON", llmux_error_json(error));
  if (out->status != llmux_error_code(error)) {
    check_fail(__FILE__, __LINE__, "status %d but the error's code is %d", out->status, llmux_error_code(error));
  }
}

static void run_blocking(llmux_router* router, const json_value* request, int embedding, outcome* out) {
  char* response = NULL;
  llmux_error* error = NULL;
  out->status = embedding ? llmux_embedding(router, request->raw, request->raw_len, &response, &error)
                          : llmux_completion(router, request->raw, request->raw_len, &response, &error);
  if (out->status == LLMUX_OK) {
    check_secret_not_in("response", response);
    out->response = parse_text(response);
    if (!out->response) check_fail(__FILE__, __LINE__, "the response is not JSON: %s", response);
    out->content = copy_string(json_string_at(out->response, "choices.0.message.content"));
  } else {
    record_error(out, error);
  }
  llmux_free(response);
  llmux_error_free(error);
}

static void run_stream(llmux_router* router, const json_value* request, outcome* out) {
  call_record record;
  call_record_init(&record);
  out->status = llmux_completion_stream(router, request->raw, request->raw_len, call_record_on_chunk,
                                        call_record_on_done, &record, NULL);
  if (out->status != LLMUX_OK) {
    check_fail(__FILE__, __LINE__, "llmux_completion_stream did not take the call: %s",
               llmux_status_string(out->status));
  } else if (!call_record_wait(&record)) {
    check_fail(__FILE__, __LINE__, "the stream's on_done was not called");
    out->status = LLMUX_ERR_TIMEOUT;
  } else {
    CHECK_INT_EQ(record.done_calls, 1);
    CHECK_INT_EQ(record.chunks_not_json, 0);
    out->status = record.status;
    if (record.status == LLMUX_OK) {
      check_secret_not_in("stream done response", record.response);
      check_secret_not_in("stream chunk", record.last_chunk);
      out->response = parse_text(record.response);
      out->content = copy_string(record.content ? record.content : "");
      out->last_chunk = parse_text(record.last_chunk);
    } else {
      check_secret_not_in("stream error message", record.error_message);
      check_secret_not_in("stream error JSON", record.error_json);
      out->error_type = copy_string(record.error_type);
      out->error_status = record.error_status;
    }
  }
  call_record_destroy(&record);
}

static void run_health(llmux_router* router, const char* group, outcome* out) {
  char* text = NULL;
  llmux_error* error = NULL;
  out->status = llmux_router_health(router, group, &text, &error);
  CHECK_STATUS(out->status, LLMUX_OK, error);
  check_secret_not_in("health", text);
  out->health = parse_text(text);
  llmux_free(text);
  llmux_error_free(error);
}

static const char* health_state(const json_value* health, const char* id) {
  for (size_t i = 0; health && health->type == JSON_ARRAY && i < health->count; i++) {
    const char* item_id = json_string_at(&health->items[i], "id");
    if (item_id && strcmp(item_id, id) == 0) return json_string_at(&health->items[i], "state");
  }
  return NULL;
}

static long long metadata_number(const outcome* out, const char* key) {
  char path[64];
  snprintf(path, sizeof path, "_llmux.%s", key);
  return (long long)json_number_at(out->response, path, -1);
}

/* Checks one key of a step's "expect"; an unknown key fails (so that a new
 * expectation in scenario.json is never silently skipped here). */
static void check_expectation(const outcome* out, const char* key, const json_value* expected) {
  if (strcmp(key, "ok") == 0) {
    const int ok = out->status == LLMUX_OK;
    if (ok != expected->boolean) {
      check_fail(__FILE__, __LINE__, "ok is %d, expected %d (status %s, error %s)", ok, expected->boolean,
                 llmux_status_string(out->status), out->error_type ? out->error_type : "none");
    }
  } else if (strcmp(key, "content") == 0) {
    CHECK_STR_EQ(out->content, expected->string);
  } else if (strcmp(key, "deployment_id") == 0 || strcmp(key, "model_group") == 0) {
    char path[64];
    snprintf(path, sizeof path, "_llmux.%s", key);
    check_str_eq(__FILE__, __LINE__, key, json_string_at(out->response, path), expected->string);
  } else if (strcmp(key, "attempts") == 0 || strcmp(key, "fallbacks") == 0) {
    check_int_eq(__FILE__, __LINE__, key, metadata_number(out, key), (long long)expected->number);
  } else if (strcmp(key, "stream_usage") == 0) {
    const double tokens = json_number_at(out->last_chunk, "usage.completion_tokens", 0);
    if ((tokens > 0) != expected->boolean) {
      check_fail(__FILE__, __LINE__, "the last chunk's usage.completion_tokens is %g", tokens);
    }
  } else if (strcmp(key, "embedding_length") == 0) {
    const json_value* embedding = json_path(out->response, "data.0.embedding");
    check_int_eq(__FILE__, __LINE__, "embedding length",
                 embedding && embedding->type == JSON_ARRAY ? (long long)embedding->count : -1,
                 (long long)expected->number);
  } else if (strcmp(key, "type") == 0) {
    check_str_eq(__FILE__, __LINE__, "error type", out->error_type, expected->string);
  } else if (strcmp(key, "status") == 0) {
    check_int_eq(__FILE__, __LINE__, "error status", out->error_status, (long long)expected->number);
  } else if (strcmp(key, "kind") == 0) {
    check_int_eq(__FILE__, __LINE__, "error kind (status)", out->status, (long long)expected->number);
  } else if (strcmp(key, "states") == 0) {
    for (size_t i = 0; i < expected->count; i++) {
      check_str_eq(__FILE__, __LINE__, expected->keys[i], health_state(out->health, expected->keys[i]),
                   expected->items[i].string);
    }
  } else {
    check_fail(__FILE__, __LINE__, "unknown expectation \"%s\" in scenario.json", key);
  }
}

static void run_step(llmux_router* router, const json_value* step) {
  const char* call = json_string_at(step, "call");
  const json_value* request = json_get(step, "request");
  const json_value* expect = json_get(step, "expect");
  if (!call || !expect || expect->type != JSON_OBJECT) {
    check_fail(__FILE__, __LINE__, "a step without call or expect");
    return;
  }
  outcome out = {.status = LLMUX_ERR_INTERNAL};
  if (strcmp(call, "health") == 0) {
    run_health(router, json_string_at(step, "group"), &out);
  } else if (!request) {
    check_fail(__FILE__, __LINE__, "step \"%s\" has no request", call);
  } else if (strcmp(call, "completion") == 0 || strcmp(call, "embedding") == 0) {
    run_blocking(router, request, strcmp(call, "embedding") == 0, &out);
  } else if (strcmp(call, "stream") == 0) {
    run_stream(router, request, &out);
  } else {
    check_fail(__FILE__, __LINE__, "unknown call \"%s\" in scenario.json", call);
  }
  for (size_t i = 0; i < expect->count; i++) check_expectation(&out, expect->keys[i], &expect->items[i]);
  json_free(out.response);
  json_free(out.last_chunk);
  json_free(out.health);
  free(out.content);
  free(out.error_type);
}

/* The deployments and metrics views, the last places the secret could leak. */
static void check_views(llmux_router* router) {
  char* text = NULL;
  CHECK_STATUS(llmux_router_deployments(router, &text, NULL), LLMUX_OK, NULL);
  check_secret_not_in("deployments", text);
  llmux_free(text);
  text = NULL;
  CHECK_STATUS(llmux_router_metrics(router, &text, NULL), LLMUX_OK, NULL);
  check_secret_not_in("metrics", text);
  llmux_free(text);
}

int main(void) {
  size_t len = 0;
  char* scenario_text = read_file("scenario.json", &len);
  json_value* scenario = scenario_text ? json_parse(scenario_text, len) : NULL;
  const char* config_name = json_string_at(scenario, "config");
  const char* env_base_url = json_string_at(scenario, "env_base_url");
  const char* env_root_url = json_string_at(scenario, "env_root_url");
  const json_value* steps = json_get(scenario, "steps");
  g_secret = json_string_at(scenario, "secret_never_seen");
  if (!config_name || !env_base_url || !env_root_url || !g_secret || !steps || steps->type != JSON_ARRAY) {
    fprintf(stderr, "capi_scenario_test: scenario.json is missing or not the expected shape\n");
    return 1;
  }
  fake_server server = {0, -1, ""};
  if (fake_server_start(&server) != 0) return 1;
  setenv(env_base_url, server.base_url, 1);
  /* The root URL: the base URL without its trailing "/v1". */
  char root_url[sizeof server.base_url];
  strcpy(root_url, server.base_url);
  const size_t root_len = strlen(root_url);
  if (root_len >= 3 && strcmp(root_url + root_len - 3, "/v1") == 0) root_url[root_len - 3] = '\0';
  setenv(env_root_url, root_url, 1);
  /* The fixed environment (the AWS test keys the fake checks signatures with). */
  const json_value* env = json_get(scenario, "env");
  for (size_t i = 0; env && env->type == JSON_OBJECT && i < env->count; i++) {
    if (env->items[i].type == JSON_STRING) setenv(env->keys[i], env->items[i].string, 1);
  }

  size_t config_len = 0;
  char* config = read_file(config_name, &config_len);
  llmux_router* router = NULL;
  llmux_error* error = NULL;
  const llmux_status status = config ? llmux_router_new(config, config_len, &router, &error) : LLMUX_ERR_INVALID_CONFIG;
  if (status != LLMUX_OK) {
    fprintf(stderr, "capi_scenario_test: the scenario config was rejected: %s\n", llmux_error_message(error));
    return 1;
  }

  int passed = 0;
  int failed = 0;
  for (size_t i = 0; i < steps->count; i++) {
    const char* name = json_string_at(&steps->items[i], "name");
    check_begin_test(name ? name : "(unnamed step)");
    run_step(router, &steps->items[i]);
    if (check_end_test(name ? name : "(unnamed step)")) {
      passed++;
    } else {
      failed++;
    }
  }
  check_begin_test("the secret appears in no view");
  check_views(router);
  if (check_end_test("the secret appears in no view")) {
    passed++;
  } else {
    failed++;
  }

  llmux_router_free(router);
  fake_server_stop(&server);
  free(config);
  json_free(scenario);
  free(scenario_text);
  return check_summary("capi_scenario_test", passed, failed);
}
