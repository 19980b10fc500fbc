/* The C ABI (capi/llmux.h), tested from C11 as a C program uses it: every
 * function, against llmux_fake_server over real HTTP on loopback. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "call_record.h"
#include "check.h"
#include "test_text.h"
#include "fake_server.h"
#include "json_reader.h"
#include "llmux.h"

static fake_server g_server = {0, -1, ""};
/* One router for the tests that do not need their own: groups chat (answers),
 * hang (never answers) and embed. */
static llmux_router* g_router;

static const char* const kSecret = "sk-capi-secret";

/* A deployment entry of a model_list (YAML flow style, one line). */
static char* deployment_yaml(const char* group, const char* model, const char* id) {
  return text_printf("{model_name: %s, litellm_params: {model: openai/%s, api_base: \"%s\", api_key: %s-%s}, "
                     "model_info: {id: %s}}",
                     group, model, g_server.base_url, kSecret, id, id);
}

static llmux_router* new_router(const char* yaml) {
  llmux_router* router = NULL;
  llmux_error* error = NULL;
  const llmux_status status = llmux_router_new(yaml, strlen(yaml), &router, &error);
  CHECK_STATUS(status, LLMUX_OK, error);
  llmux_error_free(error);
  return router;
}

/* A router with the groups chat, hang and embed (one deployment each). */
static llmux_router* new_standard_router(void) {
  char* chat = deployment_yaml("chat", "ok-chat", "chat-1");
  char* hang = deployment_yaml("hang", "hang-1", "hang-1");
  char* embed = deployment_yaml("embed", "ok-embed", "embed-1");
  char* yaml = text_printf("model_list:\n  - %s\n  - %s\n  - %s\nrouter_settings:\n  num_retries: 0\n", chat, hang,
                           embed);
  llmux_router* router = new_router(yaml);
  free(chat);
  free(hang);
  free(embed);
  free(yaml);
  return router;
}

/* The response's choices[0].message.content equals `content` and _llmux names
 * the deployment. */
static void check_chat_response(const char* response, const char* content, const char* deployment_id) {
  json_value* parsed = response ? json_parse(response, strlen(response)) : NULL;
  if (!CHECK(parsed != NULL)) return;
  CHECK_STR_EQ(json_string_at(parsed, "choices.0.message.content"), content);
  CHECK_STR_EQ(json_string_at(parsed, "_llmux.deployment_id"), deployment_id);
  CHECK_NOT_CONTAINS(response, kSecret);
  json_free(parsed);
}

/* Every earlier callback of `router` has run once this returns: callbacks run
 * one at a time on the I/O thread, in order. */
static void sync_with_io_thread(llmux_router* router) {
  call_record record;
  call_record_init(&record);
  char* request = chat_request("chat");
  CHECK_STATUS(llmux_completion_async(router, request, strlen(request), call_record_on_done, &record, NULL), LLMUX_OK,
               NULL);
  CHECK(call_record_wait(&record));
  free(request);
  call_record_destroy(&record);
}

/* ---- library ------------------------------------------------------------ */

static void test_version_and_status_strings(void) {
  char header_version[32];
  snprintf(header_version, sizeof header_version, "%d.%d.%d", LLMUX_VERSION_MAJOR, LLMUX_VERSION_MINOR,
           LLMUX_VERSION_PATCH);
  CHECK_STR_EQ(llmux_version(), header_version);
  CHECK_INT_EQ(llmux_abi_version(), LLMUX_ABI_VERSION);
  CHECK_STR_EQ(llmux_status_string(LLMUX_OK), "OK");
  CHECK_STR_EQ(llmux_status_string(LLMUX_ERR_BAD_REQUEST), "BadRequestError");
  CHECK_STR_EQ(llmux_status_string(LLMUX_ERR_TIMEOUT), "Timeout");
  CHECK_STR_EQ(llmux_status_string(LLMUX_ERR_RATE_LIMIT), "RateLimitError");
  CHECK_STR_EQ(llmux_status_string(LLMUX_ERR_CONNECTION), "APIConnectionError");
  CHECK_STR_EQ(llmux_status_string(LLMUX_ERR_CANCELLED), "CancelledError");
  CHECK_STR_EQ(llmux_status_string(LLMUX_ERR_INVALID_ARGUMENT), "InvalidArgumentError");
  CHECK_STR_EQ(llmux_status_string(LLMUX_ERR_OUT_OF_MEMORY), "OutOfMemory");
  CHECK_STR_EQ(llmux_status_string(LLMUX_ERR_INTERNAL), "InternalError");
  CHECK_STR_EQ(llmux_status_string((llmux_status)20), "UnknownError");
  CHECK_STR_EQ(llmux_status_string((llmux_status)-1), "UnknownError");
  for (int s = LLMUX_ERR_BAD_REQUEST; s <= LLMUX_ERR_INVALID_ARGUMENT; s++) {
    const char* name = llmux_status_string((llmux_status)s);
    CHECK(name && *name && strcmp(name, "UnknownError") != 0);
  }
}

static void test_free_functions_accept_null(void) {
  llmux_free(NULL);
  llmux_error_free(NULL);
  llmux_router_free(NULL);
  /* Reaching here is the test: a crash fails it. */
}

static void test_error_accessors_accept_null(void) {
  CHECK_STR_EQ(llmux_error_message(NULL), "");
  CHECK_STR_EQ(llmux_error_type(NULL), "");
  CHECK_INT_EQ(llmux_error_status(NULL), 0);
  CHECK_INT_EQ(llmux_error_code(NULL), LLMUX_OK);
  CHECK_STR_EQ(llmux_error_json(NULL), "{}");
}

/* ---- router_new --------------------------------------------------------- */

static void test_router_new_from_yaml_and_json(void) {
  char* yaml = text_printf("model_list:\n  - model_name: chat\n    litellm_params:\n      model: openai/ok-yaml\n"
                           "      api_base: %s\n    model_info:\n      id: yaml-1\n",
                           g_server.base_url);
  char* json = text_printf("{\"model_list\":[{\"model_name\":\"chat\",\"litellm_params\":{\"model\":\"openai/ok-json\","
                           "\"api_base\":\"%s\"},\"model_info\":{\"id\":\"json-1\"}}]}",
                           g_server.base_url);
  char* request = chat_request("chat");
  const char* configs[] = {yaml, json};
  const char* contents[] = {"Hello from ok-yaml.", "Hello from ok-json."};
  const char* ids[] = {"yaml-1", "json-1"};
  for (int i = 0; i < 2; i++) {
    llmux_router* router = NULL;
    llmux_error* error = (llmux_error*)&router; /* garbage in: must be overwritten */
    const llmux_status status = llmux_router_new(configs[i], strlen(configs[i]), &router, &error);
    if (!CHECK_STATUS(status, LLMUX_OK, error)) continue;
    CHECK(error == NULL);
    CHECK(router != NULL);
    char* response = NULL;
    CHECK_STATUS(llmux_completion(router, request, strlen(request), &response, NULL), LLMUX_OK, NULL);
    check_chat_response(response, contents[i], ids[i]);
    llmux_free(response);
    llmux_router_free(router);
  }
  free(yaml);
  free(json);
  free(request);
}

static void test_router_new_config_error_names_the_key(void) {
  const char* config =
      "model_list:\n  - model_name: chat\n    litellm_params:\n      model: openai/m\n      rpm: lots\n";
  llmux_router* router = (llmux_router*)&config; /* garbage in: must be reset */
  llmux_error* error = NULL;
  const llmux_status status = llmux_router_new(config, strlen(config), &router, &error);
  CHECK_STATUS(status, LLMUX_ERR_INVALID_CONFIG, error);
  CHECK(router == NULL);
  REQUIRE(CHECK(error != NULL));
  CHECK_INT_EQ(llmux_error_code(error), LLMUX_ERR_INVALID_CONFIG);
  CHECK_STR_EQ(llmux_error_type(error), "InvalidConfigError");
  CHECK_INT_EQ(llmux_error_status(error), 400);
  CHECK_CONTAINS(llmux_error_message(error), "model_list[0].litellm_params.rpm");
  json_value* detail = json_parse(llmux_error_json(error), strlen(llmux_error_json(error)));
  CHECK(detail != NULL);
  CHECK_STR_EQ(json_string_at(detail, "type"), "InvalidConfigError");
  CHECK_INT_EQ((long long)json_number_at(detail, "kind", -1), LLMUX_ERR_INVALID_CONFIG);
  CHECK_STR_EQ(json_string_at(detail, "message"), llmux_error_message(error));
  json_free(detail);
  llmux_error_free(error);

  /* Not YAML at all; and an empty document. */
  const char* broken[] = {"model_list: [", ""};
  for (int i = 0; i < 2; i++) {
    error = NULL;
    CHECK_STATUS(llmux_router_new(broken[i], strlen(broken[i]), &router, &error), LLMUX_ERR_INVALID_CONFIG, error);
    CHECK(router == NULL);
    CHECK(error != NULL && *llmux_error_message(error));
    llmux_error_free(error);
  }
}

static void test_router_new_rejects_invalid_utf8(void) {
  char* config = text_printf("model_list:\n  - model_name: caf\xe9\n    litellm_params:\n      model: openai/m\n"
                             "      api_base: %s\n",
                             g_server.base_url);
  llmux_router* router = NULL;
  llmux_error* error = NULL;
  CHECK_STATUS(llmux_router_new(config, strlen(config), &router, &error), LLMUX_ERR_INVALID_ARGUMENT, error);
  CHECK(router == NULL);
  CHECK_STR_EQ(llmux_error_message(error), "llmux_router_new: config: not valid UTF-8");
  CHECK_STR_EQ(llmux_error_type(error), "InvalidArgumentError");
  llmux_error_free(error);
  free(config);
}

static void test_router_new_null_arguments(void) {
  const char* config = "model_list: []\n";
  llmux_router* router = NULL;
  llmux_error* error = NULL;
  CHECK_STATUS(llmux_router_new(NULL, 5, &router, &error), LLMUX_ERR_INVALID_ARGUMENT, error);
  CHECK(router == NULL);
  CHECK_CONTAINS(llmux_error_message(error), "llmux_router_new");
  llmux_error_free(error);
  error = NULL;
  CHECK_STATUS(llmux_router_new(config, strlen(config), NULL, &error), LLMUX_ERR_INVALID_ARGUMENT, error);
  CHECK_CONTAINS(llmux_error_message(error), "out_router");
  llmux_error_free(error);
  /* out_error is optional. */
  CHECK_STATUS(llmux_router_new(NULL, 0, &router, NULL), LLMUX_ERR_INVALID_ARGUMENT, NULL);
  CHECK_STATUS(llmux_router_new(NULL, 0, NULL, NULL), LLMUX_ERR_INVALID_ARGUMENT, NULL);
}

static void test_router_new_reads_exactly_len_bytes(void) {
  char* yaml = text_printf("model_list:\n  - model_name: chat\n    litellm_params: {model: openai/ok-len, api_base: %s}\n",
                           g_server.base_url);
  const size_t len = strlen(yaml);
  /* An exact-size copy without a NUL (the sanitizer build catches a read past it)... */
  char* exact = malloc(len);
  REQUIRE(CHECK(exact != NULL));
  memcpy(exact, yaml, len);
  llmux_router* router = NULL;
  llmux_error* error = NULL;
  CHECK_STATUS(llmux_router_new(exact, len, &router, &error), LLMUX_OK, error);
  llmux_router_free(router);
  llmux_error_free(error);
  free(exact);
  /* ...and text followed by bytes that would break the config if they were read. */
  char* longer = text_printf("%srouter_settings: [broken\xff", yaml);
  router = NULL;
  error = NULL;
  CHECK_STATUS(llmux_router_new(longer, len, &router, &error), LLMUX_OK, error);
  CHECK(router != NULL);
  llmux_router_free(router);
  llmux_error_free(error);
  free(longer);
  free(yaml);
}

/* ---- blocking completion ------------------------------------------------ */

static void test_completion_ok(void) {
  char* request = chat_request("chat");
  char* response = NULL;
  llmux_error* error = (llmux_error*)&response; /* garbage in: must be reset */
  CHECK_STATUS(llmux_completion(g_router, request, strlen(request), &response, &error), LLMUX_OK, NULL);
  CHECK(error == NULL);
  check_chat_response(response, "Hello from ok-chat.", "chat-1");
  json_value* parsed = response ? json_parse(response, strlen(response)) : NULL;
  CHECK_STR_EQ(json_string_at(parsed, "_llmux.model_group"), "chat");
  CHECK_INT_EQ((long long)json_number_at(parsed, "_llmux.attempts", -1), 1);
  CHECK(json_number_at(parsed, "_llmux.call_id", 0) > 0);
  json_free(parsed);
  llmux_free(response);
  free(request);
}

/* An llmux_string of a parts block: NUL-terminated, never NULL. */
static int parts_string_ok(llmux_string s) { return s.data != NULL && s.data[s.len] == '\0' && strlen(s.data) == s.len; }

static void test_completion_split_matches_the_json(void) {
  char* request = chat_request("chat");
  char* response = NULL;
  CHECK_STATUS(llmux_completion(g_router, request, strlen(request), &response, NULL), LLMUX_OK, NULL);
  json_value* json = response ? json_parse(response, strlen(response)) : NULL;
  REQUIRE(CHECK(json != NULL));
  llmux_completion_parts* parts = (llmux_completion_parts*)&response; /* garbage in: must be reset on failure */
  llmux_error* error = NULL;
  CHECK_STATUS(llmux_completion_split(g_router, request, strlen(request), &parts, &error), LLMUX_OK, error);
  CHECK(error == NULL);
  REQUIRE(CHECK(parts != NULL));
  CHECK_INT_EQ((long long)parts->struct_size, (long long)sizeof(llmux_completion_parts));
  /* The body is the provider's, without "_llmux". */
  REQUIRE(CHECK(parts_string_ok(parts->body)));
  json_value* body = json_parse(parts->body.data, parts->body.len);
  REQUIRE(CHECK(body != NULL));
  CHECK_STR_EQ(json_string_at(body, "choices.0.message.content"), "Hello from ok-chat.");
  CHECK(json_get(body, "_llmux") == NULL);
  CHECK_INT_EQ((long long)json_number_at(body, "usage.total_tokens", -1),
               (long long)json_number_at(json, "usage.total_tokens", -2));
  json_free(body);
  /* The metadata fields are the "_llmux" members (call_id and latency differ: another call). */
  const llmux_string strings[] = {parts->requested_model, parts->model_group,      parts->fallback_model_group,
                                  parts->deployment_id,   parts->deployment_model, parts->provider,
                                  parts->api_base,        parts->finish_reason};
  for (size_t i = 0; i < sizeof strings / sizeof *strings; i++) CHECK(parts_string_ok(strings[i]));
  CHECK_STR_EQ(parts->requested_model.data, json_string_at(json, "_llmux.requested_model"));
  CHECK_STR_EQ(parts->model_group.data, "chat");
  CHECK_STR_EQ(parts->fallback_model_group.data, "");
  CHECK_STR_EQ(parts->deployment_id.data, "chat-1");
  CHECK_STR_EQ(parts->deployment_model.data, json_string_at(json, "_llmux.deployment_model"));
  CHECK_STR_EQ(parts->provider.data, json_string_at(json, "_llmux.provider"));
  CHECK_STR_EQ(parts->api_base.data, g_server.base_url);
  CHECK_STR_EQ(parts->finish_reason.data, json_string_at(json, "_llmux.finish_reason"));
  CHECK(parts->call_id > 0 && parts->call_id != (uint64_t)json_number_at(json, "_llmux.call_id", 0));
  CHECK_INT_EQ(parts->attempts, 1);
  CHECK_INT_EQ(parts->retries, 0);
  CHECK_INT_EQ(parts->max_retries, (long long)json_number_at(json, "_llmux.max_retries", -1));
  CHECK_INT_EQ(parts->fallbacks, 0);
  CHECK(parts->latency_ms > 0);
  CHECK(parts->time_to_first_token_ms == json_number_at(json, "_llmux.time_to_first_token_ms", 0));
  CHECK(parts->response_cost == json_number_at(json, "_llmux.response_cost", -1));
  CHECK_INT_EQ(parts->prompt_tokens, (long long)json_number_at(json, "_llmux.usage.prompt_tokens", -1));
  CHECK_INT_EQ(parts->completion_tokens, (long long)json_number_at(json, "_llmux.usage.completion_tokens", -1));
  CHECK_INT_EQ(parts->total_tokens, (long long)json_number_at(json, "_llmux.usage.total_tokens", -1));
  const json_value* reported = json_path(json, "_llmux.usage.reported");
  if (CHECK(reported != NULL && reported->type == JSON_BOOL)) CHECK_INT_EQ(parts->usage_reported != 0, reported->boolean);
  /* The headers: "_llmux"."headers", in order; those that do not depend on the call are equal. */
  const json_value* headers = json_path(json, "_llmux.headers");
  REQUIRE(CHECK(headers != NULL && headers->type == JSON_OBJECT));
  REQUIRE(CHECK_INT_EQ((long long)parts->header_count, (long long)headers->count));
  for (size_t i = 0; i < parts->header_count; i++) {
    const llmux_header* h = &parts->headers[i];
    CHECK(parts_string_ok(h->name) && parts_string_ok(h->value));
    CHECK_STR_EQ(h->name.data, headers->keys[i]);
    if (strcmp(h->name.data, "x-litellm-call-id") != 0 && strcmp(h->name.data, "x-litellm-response-duration-ms") != 0) {
      CHECK_STR_EQ(h->value.data, json_string_at(headers, headers->keys[i]));
    }
  }
  llmux_free(parts);
  json_free(json);
  llmux_free(response);
  free(request);
}

static void test_completion_split_errors(void) {
  char* request = chat_request("no-such-group");
  llmux_completion_parts* parts = (llmux_completion_parts*)&request;
  llmux_error* error = NULL;
  CHECK_STATUS(llmux_completion_split(g_router, request, strlen(request), &parts, &error), LLMUX_ERR_BAD_REQUEST,
               error);
  CHECK(parts == NULL);
  CHECK_CONTAINS(llmux_error_message(error), "no-such-group");
  llmux_error_free(error);
  error = NULL;
  CHECK_STATUS(llmux_completion_split(g_router, request, strlen(request), NULL, &error), LLMUX_ERR_INVALID_ARGUMENT,
               error);
  llmux_error_free(error);
  free(request);
}

static void test_completion_reads_exactly_len_bytes(void) {
  char* request = chat_request("chat");
  const size_t len = strlen(request);
  char* exact = malloc(len);
  REQUIRE(CHECK(exact != NULL));
  memcpy(exact, request, len);
  char* response = NULL;
  CHECK_STATUS(llmux_completion(g_router, exact, len, &response, NULL), LLMUX_OK, NULL);
  check_chat_response(response, "Hello from ok-chat.", "chat-1");
  llmux_free(response);
  free(exact);
  free(request);
}

static void test_completion_invalid_json(void) {
  const char* requests[] = {"{bad", "[1,2]", "{\"model\":\"chat\"}", ""};
  for (size_t i = 0; i < sizeof requests / sizeof *requests; i++) {
    char* response = NULL;
    llmux_error* error = NULL;
    const llmux_status status = llmux_completion(g_router, requests[i], strlen(requests[i]), &response, &error);
    CHECK_STATUS(status, LLMUX_ERR_INVALID_ARGUMENT, error);
    CHECK(response == NULL);
    if (!CHECK(error != NULL)) continue;
    CHECK_INT_EQ(llmux_error_code(error), status);
    CHECK_STR_EQ(llmux_error_type(error), "InvalidArgumentError");
    CHECK_INT_EQ(llmux_error_status(error), 400);
    json_value* detail = json_parse(llmux_error_json(error), strlen(llmux_error_json(error)));
    CHECK(detail != NULL);
    CHECK_INT_EQ((long long)json_number_at(detail, "kind", -1), status);
    json_free(detail);
    llmux_error_free(error);
  }
}

static void test_completion_unknown_group(void) {
  char* request = chat_request("no-such-group");
  char* response = NULL;
  llmux_error* error = NULL;
  CHECK_STATUS(llmux_completion(g_router, request, strlen(request), &response, &error), LLMUX_ERR_BAD_REQUEST, error);
  CHECK(response == NULL);
  CHECK_CONTAINS(llmux_error_message(error), "no-such-group");
  llmux_error_free(error);
  free(request);
}

static void test_completion_rejects_invalid_utf8(void) {
  const char* request = "{\"model\":\"chat\",\"messages\":[{\"role\":\"user\",\"content\":\"\xc3\x28\"}]}";
  char* response = NULL;
  llmux_error* error = NULL;
  CHECK_STATUS(llmux_completion(g_router, request, strlen(request), &response, &error), LLMUX_ERR_INVALID_ARGUMENT,
               error);
  CHECK(response == NULL);
  CHECK_STR_EQ(llmux_error_message(error), "llmux_completion: request: not valid UTF-8");
  llmux_error_free(error);
}

static void test_completion_null_arguments(void) {
  char* request = chat_request("chat");
  char* response = NULL;
  llmux_error* error = NULL;
  CHECK_STATUS(llmux_completion(NULL, request, strlen(request), &response, &error), LLMUX_ERR_INVALID_ARGUMENT, error);
  CHECK_CONTAINS(llmux_error_message(error), "llmux_completion");
  llmux_error_free(error);
  error = NULL;
  CHECK_STATUS(llmux_completion(g_router, NULL, 3, &response, &error), LLMUX_ERR_INVALID_ARGUMENT, error);
  CHECK_CONTAINS(llmux_error_message(error), "request");
  llmux_error_free(error);
  error = NULL;
  CHECK_STATUS(llmux_completion(g_router, request, strlen(request), NULL, &error), LLMUX_ERR_INVALID_ARGUMENT, error);
  CHECK_CONTAINS(llmux_error_message(error), "out_response");
  llmux_error_free(error);
  CHECK_STATUS(llmux_completion(NULL, NULL, 0, NULL, NULL), LLMUX_ERR_INVALID_ARGUMENT, NULL);
  CHECK(response == NULL);
  free(request);
}

/* ---- asynchronous completion -------------------------------------------- */

static void test_completion_async(void) {
  call_record record;
  call_record_init(&record);
  char* request = chat_request("chat");
  uint64_t call_id = 0;
  CHECK_STATUS(llmux_completion_async(g_router, request, strlen(request), call_record_on_done, &record, &call_id),
               LLMUX_OK, NULL);
  CHECK(call_id != 0);
  REQUIRE(CHECK(call_record_wait(&record)));
  sync_with_io_thread(g_router);
  CHECK_INT_EQ(record.done_calls, 1);
  CHECK_STATUS(record.status, LLMUX_OK, NULL);
  CHECK(record.done_arguments_consistent);
  check_chat_response(record.response, "Hello from ok-chat.", "chat-1");
  json_value* parsed = record.response ? json_parse(record.response, strlen(record.response)) : NULL;
  CHECK_INT_EQ((long long)json_number_at(parsed, "_llmux.call_id", 0), (long long)call_id);
  json_free(parsed);
  /* out_call_id is optional. */
  call_record second;
  call_record_init(&second);
  CHECK_STATUS(llmux_completion_async(g_router, request, strlen(request), call_record_on_done, &second, NULL),
               LLMUX_OK, NULL);
  CHECK(call_record_wait(&second));
  CHECK_STATUS(second.status, LLMUX_OK, NULL);
  call_record_destroy(&second);
  call_record_destroy(&record);
  free(request);
}

/* A request the router rejects was still taken: on_done reports it. */
static void test_completion_async_reports_a_rejected_request_through_on_done(void) {
  call_record record;
  call_record_init(&record);
  uint64_t call_id = 0;
  CHECK_STATUS(llmux_completion_async(g_router, "{bad", 4, call_record_on_done, &record, &call_id), LLMUX_OK, NULL);
  CHECK(call_id != 0);
  REQUIRE(CHECK(call_record_wait(&record)));
  sync_with_io_thread(g_router);
  CHECK_INT_EQ(record.done_calls, 1);
  CHECK_STATUS(record.status, LLMUX_ERR_INVALID_ARGUMENT, NULL);
  CHECK(record.done_arguments_consistent);
  CHECK_STR_EQ(record.error_type, "InvalidArgumentError");
  CHECK_INT_EQ(record.error_status, 400);
  call_record_destroy(&record);
}

/* When the function fails, nothing was started and on_done never runs. */
static void test_async_functions_reject_invalid_arguments_without_calling_on_done(void) {
  call_record record;
  call_record_init(&record);
  char* request = chat_request("chat");
  const size_t len = strlen(request);
  const char* bad_utf8 = "{\"model\":\"chat\",\"input\":\"\xff\"}";
  uint64_t call_id = 42;
  CHECK_STATUS(llmux_completion_async(NULL, request, len, call_record_on_done, &record, &call_id),
               LLMUX_ERR_INVALID_ARGUMENT, NULL);
  CHECK_INT_EQ((long long)call_id, 0);
  CHECK_STATUS(llmux_completion_async(g_router, NULL, len, call_record_on_done, &record, NULL),
               LLMUX_ERR_INVALID_ARGUMENT, NULL);
  CHECK_STATUS(llmux_completion_async(g_router, request, len, NULL, &record, NULL), LLMUX_ERR_INVALID_ARGUMENT, NULL);
  call_id = 42;
  CHECK_STATUS(llmux_completion_async(g_router, bad_utf8, strlen(bad_utf8), call_record_on_done, &record, &call_id),
               LLMUX_ERR_INVALID_ARGUMENT, NULL);
  CHECK_INT_EQ((long long)call_id, 0);
  CHECK_STATUS(llmux_embedding_async(NULL, request, len, call_record_on_done, &record, NULL),
               LLMUX_ERR_INVALID_ARGUMENT, NULL);
  CHECK_STATUS(llmux_embedding_async(g_router, NULL, len, call_record_on_done, &record, NULL),
               LLMUX_ERR_INVALID_ARGUMENT, NULL);
  CHECK_STATUS(llmux_embedding_async(g_router, request, len, NULL, &record, NULL), LLMUX_ERR_INVALID_ARGUMENT, NULL);
  CHECK_STATUS(llmux_embedding_async(g_router, bad_utf8, strlen(bad_utf8), call_record_on_done, &record, NULL),
               LLMUX_ERR_INVALID_ARGUMENT, NULL);
  CHECK_STATUS(llmux_completion_stream(NULL, request, len, call_record_on_chunk, call_record_on_done, &record, NULL),
               LLMUX_ERR_INVALID_ARGUMENT, NULL);
  CHECK_STATUS(llmux_completion_stream(g_router, NULL, len, call_record_on_chunk, call_record_on_done, &record, NULL),
               LLMUX_ERR_INVALID_ARGUMENT, NULL);
  CHECK_STATUS(llmux_completion_stream(g_router, request, len, NULL, call_record_on_done, &record, NULL),
               LLMUX_ERR_INVALID_ARGUMENT, NULL);
  CHECK_STATUS(llmux_completion_stream(g_router, request, len, call_record_on_chunk, NULL, &record, NULL),
               LLMUX_ERR_INVALID_ARGUMENT, NULL);
  call_id = 42;
  CHECK_STATUS(llmux_completion_stream(g_router, bad_utf8, strlen(bad_utf8), call_record_on_chunk,
                                       call_record_on_done, &record, &call_id),
               LLMUX_ERR_INVALID_ARGUMENT, NULL);
  CHECK_INT_EQ((long long)call_id, 0);
  sync_with_io_thread(g_router);
  CHECK_INT_EQ(record.done_calls, 0);
  CHECK_INT_EQ(record.chunk_calls, 0);
  call_record_destroy(&record);
  free(request);
}

/* ---- streaming ---------------------------------------------------------- */

static void test_stream(void) {
  call_record record;
  call_record_init(&record);
  char* request = chat_request("chat");
  uint64_t call_id = 0;
  CHECK_STATUS(llmux_completion_stream(g_router, request, strlen(request), call_record_on_chunk, call_record_on_done,
                                       &record, &call_id),
               LLMUX_OK, NULL);
  CHECK(call_id != 0);
  REQUIRE(CHECK(call_record_wait(&record)));
  sync_with_io_thread(g_router);
  CHECK_INT_EQ(record.done_calls, 1);
  CHECK_STATUS(record.status, LLMUX_OK, NULL);
  CHECK(record.done_arguments_consistent);
  CHECK(record.chunk_calls >= 2);
  CHECK_INT_EQ(record.chunks_not_json, 0);
  CHECK_INT_EQ(record.chunks_after_done, 0);
  /* The fake server splits the content over several chunks: in order, they add up. */
  CHECK_STR_EQ(record.content, "Hello from ok-chat.");
  json_value* done = record.response ? json_parse(record.response, strlen(record.response)) : NULL;
  CHECK_STR_EQ(json_string_at(done, "_llmux.deployment_id"), "chat-1");
  CHECK_STR_EQ(json_string_at(done, "_llmux.model_group"), "chat");
  json_free(done);
  call_record_destroy(&record);
  free(request);
}

static void test_stream_stops_when_the_chunk_callback_returns_zero(void) {
  call_record record;
  call_record_init(&record);
  record.stop_at_chunk = 1;
  char* request = chat_request("chat");
  CHECK_STATUS(llmux_completion_stream(g_router, request, strlen(request), call_record_on_chunk, call_record_on_done,
                                       &record, NULL),
               LLMUX_OK, NULL);
  REQUIRE(CHECK(call_record_wait(&record)));
  sync_with_io_thread(g_router);
  CHECK_INT_EQ(record.done_calls, 1);
  CHECK_STATUS(record.status, LLMUX_ERR_CANCELLED, NULL);
  CHECK(record.done_arguments_consistent);
  CHECK_STR_EQ(record.error_type, "CancelledError");
  CHECK_INT_EQ(record.chunk_calls, 1);
  CHECK_INT_EQ(record.chunks_after_done, 0);
  call_record_destroy(&record);
  free(request);
}

/* ---- cancel ------------------------------------------------------------- */

static void test_cancel(void) {
  char* request = chat_request("hang");
  call_record completion;
  call_record stream;
  call_record_init(&completion);
  call_record_init(&stream);
  uint64_t completion_id = 0;
  uint64_t stream_id = 0;
  CHECK_STATUS(llmux_completion_async(g_router, request, strlen(request), call_record_on_done, &completion,
                                      &completion_id),
               LLMUX_OK, NULL);
  CHECK_STATUS(llmux_completion_stream(g_router, request, strlen(request), call_record_on_chunk, call_record_on_done,
                                       &stream, &stream_id),
               LLMUX_OK, NULL);
  CHECK(completion_id != stream_id);
  CHECK_STATUS(llmux_cancel(g_router, completion_id), LLMUX_OK, NULL);
  CHECK_STATUS(llmux_cancel(g_router, stream_id), LLMUX_OK, NULL);
  CHECK(call_record_wait(&completion));
  CHECK(call_record_wait(&stream));
  sync_with_io_thread(g_router);
  CHECK_INT_EQ(completion.done_calls, 1);
  CHECK_STATUS(completion.status, LLMUX_ERR_CANCELLED, NULL);
  CHECK(completion.done_arguments_consistent);
  CHECK_INT_EQ(stream.done_calls, 1);
  CHECK_STATUS(stream.status, LLMUX_ERR_CANCELLED, NULL);
  CHECK_INT_EQ(stream.chunk_calls, 0);
  /* Finished now (on_done has returned and the I/O thread moved on). */
  CHECK_STATUS(llmux_cancel(g_router, completion_id), LLMUX_ERR_NOT_FOUND, NULL);
  CHECK_STATUS(llmux_cancel(g_router, UINT64_MAX), LLMUX_ERR_NOT_FOUND, NULL);
  CHECK_STATUS(llmux_cancel(g_router, 0), LLMUX_ERR_NOT_FOUND, NULL);
  CHECK_STATUS(llmux_cancel(NULL, completion_id), LLMUX_ERR_INVALID_ARGUMENT, NULL);
  call_record_destroy(&completion);
  call_record_destroy(&stream);
  free(request);
}

/* ---- embeddings --------------------------------------------------------- */

static void check_embedding_response(const char* response) {
  json_value* parsed = response ? json_parse(response, strlen(response)) : NULL;
  if (!CHECK(parsed != NULL)) return;
  const json_value* embedding = json_path(parsed, "data.0.embedding");
  CHECK(embedding && embedding->type == JSON_ARRAY && embedding->count == 4);
  CHECK_STR_EQ(json_string_at(parsed, "_llmux.deployment_id"), "embed-1");
  json_free(parsed);
}

static void test_embedding(void) {
  const char* request = "{\"model\":\"embed\",\"input\":\"hello\"}";
  char* response = NULL;
  llmux_error* error = NULL;
  CHECK_STATUS(llmux_embedding(g_router, request, strlen(request), &response, &error), LLMUX_OK, error);
  check_embedding_response(response);
  llmux_free(response);

  call_record record;
  call_record_init(&record);
  uint64_t call_id = 0;
  CHECK_STATUS(llmux_embedding_async(g_router, request, strlen(request), call_record_on_done, &record, &call_id),
               LLMUX_OK, NULL);
  CHECK(call_id != 0);
  REQUIRE(CHECK(call_record_wait(&record)));
  CHECK_STATUS(record.status, LLMUX_OK, NULL);
  CHECK_INT_EQ(record.done_calls, 1);
  check_embedding_response(record.response);
  call_record_destroy(&record);

  /* The blocking call's argument checks. */
  response = NULL;
  CHECK_STATUS(llmux_embedding(NULL, request, strlen(request), &response, &error), LLMUX_ERR_INVALID_ARGUMENT, error);
  CHECK_CONTAINS(llmux_error_message(error), "llmux_embedding");
  llmux_error_free(error);
  CHECK_STATUS(llmux_embedding(g_router, NULL, 1, &response, NULL), LLMUX_ERR_INVALID_ARGUMENT, NULL);
  CHECK_STATUS(llmux_embedding(g_router, request, strlen(request), NULL, NULL), LLMUX_ERR_INVALID_ARGUMENT, NULL);
  const char* bad_utf8 = "{\"model\":\"embed\",\"input\":\"\xed\xa0\x80\"}"; /* an encoded surrogate */
  CHECK_STATUS(llmux_embedding(g_router, bad_utf8, strlen(bad_utf8), &response, &error), LLMUX_ERR_INVALID_ARGUMENT,
               error);
  CHECK_STR_EQ(llmux_error_message(error), "llmux_embedding: request: not valid UTF-8");
  llmux_error_free(error);
  CHECK_STATUS(llmux_embedding(g_router, "{bad", 4, &response, &error), LLMUX_ERR_INVALID_ARGUMENT, error);
  llmux_error_free(error);
  CHECK(response == NULL);
}

/* ---- deployments -------------------------------------------------------- */

static llmux_status completion_status(llmux_router* router, const char* group, char** deployment_id) {
  char* request = chat_request(group);
  char* response = NULL;
  const llmux_status status = llmux_completion(router, request, strlen(request), &response, NULL);
  if (deployment_id) {
    json_value* parsed = response ? json_parse(response, strlen(response)) : NULL;
    const char* id = json_string_at(parsed, "_llmux.deployment_id");
    *deployment_id = id ? text_printf("%s", id) : NULL;
    json_free(parsed);
  }
  llmux_free(response);
  free(request);
  return status;
}

/* llmux_call: the other endpoints (answered by mock_response here), a
 * provider family that lacks one, and the argument checks. */
static void test_call_endpoints(void) {
  const char* config =
      "model_list:\n"
      "  - model_name: m\n    litellm_params:\n      model: openai/x\n      mock_response: mocked\n"
      "  - model_name: claude\n    litellm_params:\n      model: anthropic/claude-3\n      api_key: sk-a\n"
      "      api_base: http://127.0.0.1:9\n";
  llmux_router* router = NULL;
  llmux_error* error = NULL;
  REQUIRE(llmux_router_new(config, strlen(config), &router, &error) == LLMUX_OK);
  const char* text = "{\"model\":\"m\",\"prompt\":\"p\"}";
  char* response = NULL;
  CHECK_STATUS(llmux_call(router, LLMUX_ENDPOINT_TEXT_COMPLETIONS, text, strlen(text), &response, &error), LLMUX_OK,
               error);
  CHECK_CONTAINS(response, "\"text_completion\"");
  CHECK_CONTAINS(response, "\"_llmux\"");
  llmux_free(response);
  const char* moderation = "{\"model\":\"m\",\"input\":\"p\"}";
  CHECK_STATUS(llmux_call(router, LLMUX_ENDPOINT_MODERATIONS, moderation, strlen(moderation), &response, &error),
               LLMUX_OK, error);
  CHECK_CONTAINS(response, "\"results\"");
  llmux_free(response);
  const char* unsupported = "{\"model\":\"claude\",\"input\":\"p\"}";
  CHECK_STATUS(llmux_call(router, LLMUX_ENDPOINT_RESPONSES, unsupported, strlen(unsupported), &response, &error),
               LLMUX_ERR_BAD_REQUEST, error);
  CHECK_CONTAINS(llmux_error_message(error), "responses endpoint is not supported by provider 'anthropic'");
  llmux_error_free(error);
  error = NULL;

  call_record record;
  call_record_init(&record);
  uint64_t call_id = 0;
  CHECK_STATUS(llmux_call_async(router, LLMUX_ENDPOINT_RESPONSES, moderation, strlen(moderation), call_record_on_done,
                                &record, &call_id),
               LLMUX_OK, NULL);
  CHECK(call_id != 0);
  REQUIRE(CHECK(call_record_wait(&record)));
  CHECK_STATUS(record.status, LLMUX_OK, NULL);
  CHECK_CONTAINS(record.response, "\"output_text\"");
  call_record_destroy(&record);

  /* Argument checks: nothing starts, on_done never runs. */
  call_record_init(&record);
  call_id = 42;
  CHECK_STATUS(llmux_call_async(router, (llmux_endpoint)99, moderation, strlen(moderation), call_record_on_done,
                                &record, &call_id),
               LLMUX_ERR_INVALID_ARGUMENT, NULL);
  CHECK_INT_EQ((long long)call_id, 0);
  CHECK_STATUS(llmux_call_async(NULL, LLMUX_ENDPOINT_MODERATIONS, moderation, strlen(moderation), call_record_on_done,
                                &record, NULL),
               LLMUX_ERR_INVALID_ARGUMENT, NULL);
  CHECK_STATUS(llmux_call_async(router, LLMUX_ENDPOINT_MODERATIONS, NULL, 3, call_record_on_done, &record, NULL),
               LLMUX_ERR_INVALID_ARGUMENT, NULL);
  CHECK_STATUS(llmux_call_async(router, LLMUX_ENDPOINT_MODERATIONS, moderation, strlen(moderation), NULL, &record,
                                NULL),
               LLMUX_ERR_INVALID_ARGUMENT, NULL);
  CHECK_INT_EQ(record.done_calls, 0);
  call_record_destroy(&record);
  response = (char*)config; /* garbage in: must be reset */
  CHECK_STATUS(llmux_call(router, (llmux_endpoint)-1, moderation, strlen(moderation), &response, &error),
               LLMUX_ERR_INVALID_ARGUMENT, error);
  CHECK(response == NULL);
  CHECK_CONTAINS(llmux_error_message(error), "llmux_call");
  llmux_error_free(error);
  CHECK_STATUS(llmux_call(NULL, LLMUX_ENDPOINT_MODERATIONS, moderation, strlen(moderation), &response, NULL),
               LLMUX_ERR_INVALID_ARGUMENT, NULL);
  CHECK_STATUS(llmux_call(router, LLMUX_ENDPOINT_MODERATIONS, moderation, strlen(moderation), NULL, NULL),
               LLMUX_ERR_INVALID_ARGUMENT, NULL);
  CHECK_STATUS(llmux_call(router, LLMUX_ENDPOINT_TEXT_COMPLETIONS, moderation, strlen(moderation), &response, &error),
               LLMUX_ERR_INVALID_ARGUMENT, error);
  CHECK_CONTAINS(llmux_error_message(error), "'prompt' is required");
  llmux_error_free(error);
  llmux_router_free(router);
}

static void test_add_and_remove_deployment(void) {
  llmux_router* router = new_standard_router();
  REQUIRE(router != NULL);
  char* deployment_id = NULL;
  CHECK_STATUS(completion_status(router, "added", NULL), LLMUX_ERR_BAD_REQUEST, NULL);

  /* As YAML. */
  char* yaml = text_printf("model_name: added\nlitellm_params:\n  model: openai/ok-added\n  api_base: %s\n"
                           "model_info:\n  id: added-1\n",
                           g_server.base_url);
  llmux_error* error = (llmux_error*)&yaml; /* garbage in: must be reset */
  CHECK_STATUS(llmux_router_add_deployment(router, yaml, strlen(yaml), &error), LLMUX_OK, NULL);
  CHECK(error == NULL);
  CHECK_STATUS(completion_status(router, "added", &deployment_id), LLMUX_OK, NULL);
  CHECK_STR_EQ(deployment_id, "added-1");
  free(deployment_id);

  /* The same id again. */
  CHECK_STATUS(llmux_router_add_deployment(router, yaml, strlen(yaml), &error), LLMUX_ERR_INVALID_ARGUMENT, error);
  CHECK_CONTAINS(llmux_error_message(error), "added-1");
  CHECK_CONTAINS(llmux_error_message(error), "already exists");
  llmux_error_free(error);

  /* As JSON, given exactly its length (no NUL). */
  char* json = text_printf("{\"model_name\":\"json-added\",\"litellm_params\":{\"model\":\"openai/ok-json-added\","
                           "\"api_base\":\"%s\"},\"model_info\":{\"id\":\"added-2\"}}",
                           g_server.base_url);
  char* exact = malloc(strlen(json));
  REQUIRE(CHECK(exact != NULL));
  memcpy(exact, json, strlen(json));
  CHECK_STATUS(llmux_router_add_deployment(router, exact, strlen(json), &error), LLMUX_OK, error);
  free(exact);
  CHECK_STATUS(completion_status(router, "json-added", &deployment_id), LLMUX_OK, NULL);
  CHECK_STR_EQ(deployment_id, "added-2");
  free(deployment_id);

  /* Bad entries. */
  const char* bad[] = {"model_name: [", "model_name: x\nlitellm_params: {rpm: lots}\n", ""};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    error = NULL;
    CHECK_STATUS(llmux_router_add_deployment(router, bad[i], strlen(bad[i]), &error), LLMUX_ERR_INVALID_CONFIG, error);
    CHECK(error != NULL && *llmux_error_message(error));
    llmux_error_free(error);
  }
  const char* bad_utf8 = "model_name: x\xc0\xaf\n";
  CHECK_STATUS(llmux_router_add_deployment(router, bad_utf8, strlen(bad_utf8), &error), LLMUX_ERR_INVALID_ARGUMENT,
               error);
  CHECK_STR_EQ(llmux_error_message(error), "llmux_router_add_deployment: deployment: not valid UTF-8");
  llmux_error_free(error);
  CHECK_STATUS(llmux_router_add_deployment(NULL, yaml, strlen(yaml), &error), LLMUX_ERR_INVALID_ARGUMENT, error);
  llmux_error_free(error);
  CHECK_STATUS(llmux_router_add_deployment(router, NULL, 3, NULL), LLMUX_ERR_INVALID_ARGUMENT, NULL);

  /* Removal: later calls no longer route to it. */
  CHECK_STATUS(llmux_router_remove_deployment(router, "added-1", &error), LLMUX_OK, error);
  CHECK(error == NULL);
  CHECK_STATUS(completion_status(router, "added", NULL), LLMUX_ERR_BAD_REQUEST, NULL);
  CHECK_STATUS(completion_status(router, "json-added", NULL), LLMUX_OK, NULL);
  CHECK_STATUS(llmux_router_remove_deployment(router, "added-1", &error), LLMUX_ERR_NOT_FOUND, error);
  CHECK_CONTAINS(llmux_error_message(error), "added-1");
  llmux_error_free(error);
  CHECK_STATUS(llmux_router_remove_deployment(router, "caf\xe9", &error), LLMUX_ERR_INVALID_ARGUMENT, error);
  CHECK_STR_EQ(llmux_error_message(error), "llmux_router_remove_deployment: id: not valid UTF-8");
  llmux_error_free(error);
  CHECK_STATUS(llmux_router_remove_deployment(NULL, "added-2", &error), LLMUX_ERR_INVALID_ARGUMENT, error);
  llmux_error_free(error);
  CHECK_STATUS(llmux_router_remove_deployment(router, NULL, NULL), LLMUX_ERR_INVALID_ARGUMENT, NULL);
  /* Re-adding a removed id works. */
  CHECK_STATUS(llmux_router_add_deployment(router, yaml, strlen(yaml), NULL), LLMUX_OK, NULL);
  CHECK_STATUS(completion_status(router, "added", NULL), LLMUX_OK, NULL);

  llmux_router_free(router);
  free(yaml);
  free(json);
}

/* Prices registered at run time steer cost-based routing among deployments
 * the model map does not know (both cost 5.0 + 5.0 per token pair before). */
static void test_register_model(void) {
  const char* yaml =
      "model_list:\n"
      "  - model_name: priced\n    litellm_params: {model: openai/cap-a-model, mock_response: a}\n"
      "    model_info: {id: cap-a}\n"
      "  - model_name: priced\n    litellm_params: {model: openai/cap-b-model, mock_response: b}\n"
      "    model_info: {id: cap-b}\n"
      "router_settings:\n  routing_strategy: cost-based-routing\n";
  llmux_router* router = new_router(yaml);
  REQUIRE(router != NULL);
  const char* prices = "{\"openai/cap-b-model\": {\"input_cost_per_token\": 1e-6, \"output_cost_per_token\": 2e-6}}";
  llmux_error* error = (llmux_error*)&router; /* garbage in: must be reset */
  CHECK_STATUS(llmux_router_register_model(router, prices, strlen(prices), &error), LLMUX_OK, NULL);
  CHECK(error == NULL);
  for (int i = 0; i < 5; i++) {
    char* deployment_id = NULL;
    CHECK_STATUS(completion_status(router, "priced", &deployment_id), LLMUX_OK, NULL);
    CHECK_STR_EQ(deployment_id, "cap-b");
    free(deployment_id);
  }
  char* json = NULL;
  CHECK_STATUS(llmux_router_deployments(router, &json, NULL), LLMUX_OK, NULL);
  CHECK_CONTAINS(json, "cap-b");
  llmux_free(json);

  /* Errors register nothing. */
  const char* bad = "{\"openai/cap-a-model\": {\"input_cost_per_token\": \"free\"}}";
  CHECK_STATUS(llmux_router_register_model(router, bad, strlen(bad), &error), LLMUX_ERR_INVALID_CONFIG, error);
  CHECK_STR_EQ(llmux_error_message(error), "model cost map: openai/cap-a-model.input_cost_per_token: expected a number");
  llmux_error_free(error);
  CHECK_STATUS(llmux_router_register_model(router, "[1]", 3, &error), LLMUX_ERR_INVALID_CONFIG, error);
  llmux_error_free(error);
  const char* bad_utf8 = "{\"m\xc0\xaf\": {}}";
  CHECK_STATUS(llmux_router_register_model(router, bad_utf8, strlen(bad_utf8), &error), LLMUX_ERR_INVALID_ARGUMENT,
               error);
  CHECK_STR_EQ(llmux_error_message(error), "llmux_router_register_model: json: not valid UTF-8");
  llmux_error_free(error);
  CHECK_STATUS(llmux_router_register_model(NULL, prices, strlen(prices), &error), LLMUX_ERR_INVALID_ARGUMENT, error);
  llmux_error_free(error);
  CHECK_STATUS(llmux_router_register_model(router, NULL, 3, NULL), LLMUX_ERR_INVALID_ARGUMENT, NULL);
  llmux_router_free(router);
}

/* ---- health, deployments, metrics --------------------------------------- */

static const json_value* find_by_id(const json_value* array, const char* id) {
  for (size_t i = 0; array && array->type == JSON_ARRAY && i < array->count; i++) {
    const char* item_id = json_string_at(&array->items[i], "id");
    if (!item_id) item_id = json_string_at(&array->items[i], "model_info.id");
    if (item_id && strcmp(item_id, id) == 0) return &array->items[i];
  }
  return NULL;
}

static void test_health(void) {
  char* text = NULL;
  llmux_error* error = NULL;
  CHECK_STATUS(llmux_router_health(g_router, NULL, &text, &error), LLMUX_OK, error);
  json_value* all = text ? json_parse(text, strlen(text)) : NULL;
  REQUIRE(CHECK(all != NULL && all->type == JSON_ARRAY));
  CHECK_INT_EQ((long long)all->count, 3);
  const json_value* chat = find_by_id(all, "chat-1");
  CHECK_STR_EQ(json_string_at(chat, "model_group"), "chat");
  CHECK_STR_EQ(json_string_at(chat, "state"), "healthy");
  CHECK_STR_EQ(json_string_at(chat, "api_base"), g_server.base_url);
  CHECK(json_get(chat, "healthy") && json_get(chat, "healthy")->type == JSON_BOOL && json_get(chat, "healthy")->boolean);
  CHECK(find_by_id(all, "hang-1") != NULL);
  CHECK_NOT_CONTAINS(text, kSecret);
  json_free(all);
  llmux_free(text);

  CHECK_STATUS(llmux_router_health(g_router, "chat", &text, &error), LLMUX_OK, error);
  json_value* group = text ? json_parse(text, strlen(text)) : NULL;
  CHECK(group && group->type == JSON_ARRAY && group->count == 1 && find_by_id(group, "chat-1"));
  json_free(group);
  llmux_free(text);
  CHECK_STATUS(llmux_router_health(g_router, "", &text, NULL), LLMUX_OK, NULL);
  CHECK(text && strstr(text, "embed-1"));
  llmux_free(text);
  CHECK_STATUS(llmux_router_health(g_router, "no-such-group", &text, NULL), LLMUX_OK, NULL);
  CHECK_STR_EQ(text, "[]");
  llmux_free(text);

  CHECK_STATUS(llmux_router_health(g_router, "caf\xe9", &text, &error), LLMUX_ERR_INVALID_ARGUMENT, error);
  CHECK(text == NULL);
  CHECK_STR_EQ(llmux_error_message(error), "llmux_router_health: model_group: not valid UTF-8");
  llmux_error_free(error);
  CHECK_STATUS(llmux_router_health(NULL, NULL, &text, &error), LLMUX_ERR_INVALID_ARGUMENT, error);
  llmux_error_free(error);
  CHECK_STATUS(llmux_router_health(g_router, NULL, NULL, NULL), LLMUX_ERR_INVALID_ARGUMENT, NULL);
}

/* Active health checks: a round now (llmux_router_check_health), the report
 * (llmux_router_health_report) and the check in llmux_router_health. */
static void test_health_checks(void) {
  char* ok = deployment_yaml("checked", "ok-checked", "checked-ok");
  char* down = deployment_yaml("checked", "status-503-down", "checked-down");
  char* embed = text_printf(
      "{model_name: vectors, litellm_params: {model: openai/ok-vectors, api_base: \"%s\", api_key: %s-v}, "
      "model_info: {id: vectors-1, mode: embedding}}",
      g_server.base_url, kSecret);
  char* yaml = text_printf(
      "general_settings:\n  enable_health_check_routing: true\nmodel_list:\n  - %s\n  - %s\n  - %s\n"
      "router_settings:\n  num_retries: 0\n",
      ok, down, embed);
  llmux_router* router = new_router(yaml);
  free(ok);
  free(down);
  free(embed);
  free(yaml);
  REQUIRE(router != NULL);

  /* Nothing checked yet: every deployment is unchecked. */
  char* text = NULL;
  llmux_error* error = NULL;
  CHECK_STATUS(llmux_router_health_report(router, NULL, &text, &error), LLMUX_OK, error);
  json_value* report = text ? json_parse(text, strlen(text)) : NULL;
  REQUIRE(CHECK(report != NULL && report->type == JSON_OBJECT));
  CHECK(json_number_at(report, "unchecked_count", -1) == 3);
  CHECK(json_number_at(report, "healthy_count", -1) == 0);
  CHECK_STR_EQ(json_string_at(report, "unchecked_endpoints.0.error"), "not checked yet");
  json_free(report);
  llmux_free(text);

  CHECK_STATUS(llmux_router_check_health(router, "checked", &text, &error), LLMUX_OK, error);
  report = text ? json_parse(text, strlen(text)) : NULL;
  REQUIRE(CHECK(report != NULL && report->type == JSON_OBJECT));
  CHECK(json_number_at(report, "healthy_count", -1) == 1);
  CHECK(json_number_at(report, "unhealthy_count", -1) == 1);
  CHECK(json_number_at(report, "unchecked_count", -1) == 0);
  CHECK_STR_EQ(json_string_at(report, "healthy_endpoints.0.model_id"), "checked-ok");
  CHECK_STR_EQ(json_string_at(report, "healthy_endpoints.0.model"), "openai/ok-checked");
  CHECK_STR_EQ(json_string_at(report, "healthy_endpoints.0.mode"), "chat");
  CHECK_STR_EQ(json_string_at(report, "healthy_endpoints.0.checked_by"), "this replica");
  CHECK(json_number_at(report, "healthy_endpoints.0.last_check_at", 0) > 1.6e9);
  CHECK_STR_EQ(json_string_at(report, "unhealthy_endpoints.0.model_id"), "checked-down");
  CHECK_STR_EQ(json_string_at(report, "unhealthy_endpoints.0.model_group"), "checked");
  CHECK_STR_EQ(json_string_at(report, "unhealthy_endpoints.0.api_base"), g_server.base_url);
  CHECK_STR_EQ(json_string_at(report, "unhealthy_endpoints.0.error_type"), "ServiceUnavailableError");
  CHECK(json_number_at(report, "unhealthy_endpoints.0.status", 0) == 503);
  const json_value* routed = json_path(report, "unhealthy_endpoints.0.routed_around");
  CHECK(routed && routed->type == JSON_BOOL && routed->boolean);
  CHECK_NOT_CONTAINS(text, kSecret);
  json_free(report);
  llmux_free(text);

  /* The failing deployment is routed around: every call lands on the other. */
  for (int i = 0; i < 10; i++) {
    char* response = NULL;
    char* request = chat_request("checked");
    CHECK_STATUS(llmux_completion(router, request, strlen(request), &response, &error), LLMUX_OK, error);
    CHECK_CONTAINS(response, "checked-ok");
    llmux_free(response);
    free(request);
  }

  /* llmux_router_health carries the latest check. */
  CHECK_STATUS(llmux_router_health(router, "checked", &text, &error), LLMUX_OK, error);
  json_value* all = text ? json_parse(text, strlen(text)) : NULL;
  REQUIRE(CHECK(all != NULL && all->type == JSON_ARRAY));
  const json_value* bad = find_by_id(all, "checked-down");
  CHECK_STR_EQ(json_string_at(bad, "state"), "failed_health_check");
  CHECK_STR_EQ(json_string_at(bad, "last_check.error_type"), "ServiceUnavailableError");
  CHECK_STR_EQ(json_string_at(bad, "last_check.mode"), "chat");
  const json_value* failed = json_get(bad, "failed_health_check");
  CHECK(failed && failed->type == JSON_BOOL && failed->boolean);
  CHECK(json_number_at(bad, "next_health_check_seconds", 0) == -1);
  const json_value* ok_check = json_get(find_by_id(all, "checked-ok"), "last_check");
  CHECK(ok_check && ok_check->type == JSON_OBJECT);
  CHECK_NOT_CONTAINS(text, kSecret);
  json_free(all);
  llmux_free(text);

  /* Embedding mode; then the whole router (an unknown group: empty lists). */
  CHECK_STATUS(llmux_router_check_health(router, NULL, &text, &error), LLMUX_OK, error);
  report = text ? json_parse(text, strlen(text)) : NULL;
  CHECK(report && json_number_at(report, "healthy_count", -1) == 2);
  CHECK_CONTAINS(text, "\"mode\":\"embedding\"");
  json_free(report);
  llmux_free(text);
  CHECK_STATUS(llmux_router_check_health(router, "no-such-group", &text, &error), LLMUX_OK, error);
  CHECK_CONTAINS(text, "\"healthy_count\":0,\"unhealthy_count\":0,\"unchecked_count\":0");
  llmux_free(text);

  /* Arguments. */
  CHECK_STATUS(llmux_router_check_health(router, "caf\xe9", &text, &error), LLMUX_ERR_INVALID_ARGUMENT, error);
  CHECK(text == NULL);
  CHECK_STR_EQ(llmux_error_message(error), "llmux_router_check_health: model_group: not valid UTF-8");
  llmux_error_free(error);
  CHECK_STATUS(llmux_router_health_report(router, "caf\xe9", &text, &error), LLMUX_ERR_INVALID_ARGUMENT, error);
  llmux_error_free(error);
  CHECK_STATUS(llmux_router_check_health(NULL, NULL, &text, &error), LLMUX_ERR_INVALID_ARGUMENT, error);
  llmux_error_free(error);
  CHECK_STATUS(llmux_router_check_health(router, NULL, NULL, NULL), LLMUX_ERR_INVALID_ARGUMENT, NULL);
  CHECK_STATUS(llmux_router_health_report(NULL, NULL, &text, NULL), LLMUX_ERR_INVALID_ARGUMENT, NULL);
  CHECK_STATUS(llmux_router_health_report(router, NULL, NULL, NULL), LLMUX_ERR_INVALID_ARGUMENT, NULL);
  llmux_router_free(router);
}

static void test_deployments(void) {
  char* text = NULL;
  llmux_error* error = NULL;
  CHECK_STATUS(llmux_router_deployments(g_router, &text, &error), LLMUX_OK, error);
  json_value* list = text ? json_parse(text, strlen(text)) : NULL;
  REQUIRE(CHECK(list != NULL && list->type == JSON_ARRAY));
  CHECK_INT_EQ((long long)list->count, 3);
  const json_value* chat = find_by_id(list, "chat-1");
  CHECK_STR_EQ(json_string_at(chat, "model_name"), "chat");
  CHECK_STR_EQ(json_string_at(chat, "litellm_params.model"), "openai/ok-chat");
  CHECK_NOT_CONTAINS(text, kSecret);
  json_free(list);
  llmux_free(text);
  CHECK_STATUS(llmux_router_deployments(NULL, &text, &error), LLMUX_ERR_INVALID_ARGUMENT, error);
  CHECK(text == NULL);
  llmux_error_free(error);
  CHECK_STATUS(llmux_router_deployments(g_router, NULL, NULL), LLMUX_ERR_INVALID_ARGUMENT, NULL);
}

static void test_metrics(void) {
  CHECK_STATUS(completion_status(g_router, "chat", NULL), LLMUX_OK, NULL); /* at least one call to count */
  char* text = NULL;
  llmux_error* error = NULL;
  CHECK_STATUS(llmux_router_metrics(g_router, &text, &error), LLMUX_OK, error);
  CHECK_CONTAINS(text, "llmux_calls_total");
  CHECK_NOT_CONTAINS(text, kSecret);
  llmux_free(text);
  CHECK_STATUS(llmux_router_metrics(NULL, &text, &error), LLMUX_ERR_INVALID_ARGUMENT, error);
  CHECK(text == NULL);
  llmux_error_free(error);
  CHECK_STATUS(llmux_router_metrics(g_router, NULL, NULL), LLMUX_ERR_INVALID_ARGUMENT, NULL);
}

/* ---- what callbacks may call --------------------------------------------- */

typedef struct from_callback {
  llmux_router* router;
  llmux_status completion_status;
  llmux_status embedding_status;
  llmux_status check_health_status;
  char completion_message[256];
  llmux_status async_status;
  call_record* nested; /* the call started from the callback */
} from_callback;

static void call_blocking_functions(call_record* record) {
  from_callback* state = record->hook_arg;
  char* request = chat_request("chat");
  char* response = NULL;
  llmux_error* error = NULL;
  state->completion_status = llmux_completion(state->router, request, strlen(request), &response, &error);
  snprintf(state->completion_message, sizeof state->completion_message, "%s", llmux_error_message(error));
  llmux_error_free(error);
  llmux_free(response);
  response = NULL;
  const char* embedding = "{\"model\":\"embed\",\"input\":\"x\"}";
  state->embedding_status = llmux_embedding(state->router, embedding, strlen(embedding), &response, NULL);
  llmux_free(response);
  response = NULL;
  state->check_health_status = llmux_router_check_health(state->router, NULL, &response, NULL);
  llmux_free(response);
  free(request);
}

static void test_blocking_call_from_a_callback_is_refused(void) {
  from_callback state = {
      .router = g_router, .completion_status = LLMUX_OK, .embedding_status = LLMUX_OK, .check_health_status = LLMUX_OK};
  call_record record;
  call_record_init(&record);
  record.on_done_hook = call_blocking_functions;
  record.hook_arg = &state;
  char* request = chat_request("chat");
  CHECK_STATUS(llmux_completion_async(g_router, request, strlen(request), call_record_on_done, &record, NULL),
               LLMUX_OK, NULL);
  REQUIRE(CHECK(call_record_wait(&record)));
  CHECK_STATUS(state.completion_status, LLMUX_ERR_INVALID_ARGUMENT, NULL);
  CHECK_CONTAINS(state.completion_message, "callback");
  CHECK_STATUS(state.embedding_status, LLMUX_ERR_INVALID_ARGUMENT, NULL);
  CHECK_STATUS(state.check_health_status, LLMUX_ERR_INVALID_ARGUMENT, NULL);
  call_record_destroy(&record);

  /* From a chunk callback, and into another router from this router's callback. */
  llmux_router* other = new_standard_router();
  REQUIRE(other != NULL);
  state.router = other;
  state.completion_status = LLMUX_OK;
  call_record_init(&record);
  record.on_chunk_hook = call_blocking_functions;
  record.hook_arg = &state;
  CHECK_STATUS(llmux_completion_stream(g_router, request, strlen(request), call_record_on_chunk, call_record_on_done,
                                       &record, NULL),
               LLMUX_OK, NULL);
  CHECK(call_record_wait(&record));
  CHECK_STATUS(record.status, LLMUX_OK, NULL);
  CHECK_STATUS(state.completion_status, LLMUX_ERR_INVALID_ARGUMENT, NULL);
  CHECK_STATUS(state.embedding_status, LLMUX_ERR_INVALID_ARGUMENT, NULL);
  call_record_destroy(&record);
  llmux_router_free(other);
  free(request);
}

/* The asynchronous functions, cancel and the deployment/health/metrics
 * functions may be called from callbacks. */
static void call_async_functions(call_record* record) {
  from_callback* state = record->hook_arg;
  char* request = chat_request("chat");
  state->async_status =
      llmux_completion_async(state->router, request, strlen(request), call_record_on_done, state->nested, NULL);
  char* text = NULL;
  if (llmux_router_health(state->router, NULL, &text, NULL) != LLMUX_OK) state->async_status = LLMUX_ERR_INTERNAL;
  llmux_free(text);
  if (llmux_router_health_report(state->router, NULL, &text, NULL) != LLMUX_OK) {
    state->async_status = LLMUX_ERR_INTERNAL;
  }
  llmux_free(text);
  if (llmux_router_deployments(state->router, &text, NULL) != LLMUX_OK) state->async_status = LLMUX_ERR_INTERNAL;
  llmux_free(text);
  if (llmux_router_metrics(state->router, &text, NULL) != LLMUX_OK) state->async_status = LLMUX_ERR_INTERNAL;
  llmux_free(text);
  char* deployment = deployment_yaml("from-callback", "ok-callback", "from-callback-1");
  if (llmux_router_add_deployment(state->router, deployment, strlen(deployment), NULL) != LLMUX_OK ||
      llmux_router_remove_deployment(state->router, "from-callback-1", NULL) != LLMUX_OK) {
    state->async_status = LLMUX_ERR_INTERNAL;
  }
  free(deployment);
  if (llmux_cancel(state->router, UINT64_MAX) != LLMUX_ERR_NOT_FOUND) state->async_status = LLMUX_ERR_INTERNAL;
  free(request);
}

static void test_async_calls_from_a_callback(void) {
  call_record nested;
  call_record_init(&nested);
  from_callback state = {.router = g_router, .async_status = LLMUX_ERR_INTERNAL, .nested = &nested};
  call_record record;
  call_record_init(&record);
  record.on_done_hook = call_async_functions;
  record.hook_arg = &state;
  char* request = chat_request("chat");
  CHECK_STATUS(llmux_completion_async(g_router, request, strlen(request), call_record_on_done, &record, NULL),
               LLMUX_OK, NULL);
  CHECK(call_record_wait(&record));
  CHECK_STATUS(state.async_status, LLMUX_OK, NULL);
  CHECK(call_record_wait(&nested));
  CHECK_STATUS(nested.status, LLMUX_OK, NULL);
  call_record_destroy(&record);
  call_record_destroy(&nested);
  free(request);
}

static void free_own_router(call_record* record) { llmux_router_free(record->hook_arg); }

/* It would deadlock: refused, and the router stays usable. */
static void test_router_free_from_its_own_callback_is_refused(void) {
  llmux_router* router = new_standard_router();
  REQUIRE(router != NULL);
  call_record record;
  call_record_init(&record);
  record.on_done_hook = free_own_router;
  record.hook_arg = router;
  char* request = chat_request("chat");
  CHECK_STATUS(llmux_completion_async(router, request, strlen(request), call_record_on_done, &record, NULL), LLMUX_OK,
               NULL);
  CHECK(call_record_wait(&record));
  CHECK_STATUS(record.status, LLMUX_OK, NULL);
  CHECK_STATUS(completion_status(router, "chat", NULL), LLMUX_OK, NULL);
  llmux_router_free(router);
  call_record_destroy(&record);
  free(request);
}

/* ---- router_free with calls in flight ----------------------------------- */

typedef struct late_call {
  llmux_router* router;
  call_record* started_during_free;
  llmux_status start_status;
} late_call;

/* From a done callback that runs during llmux_router_free: start one more call. */
static void start_call_during_free(call_record* record) {
  late_call* late = record->hook_arg;
  char* request = chat_request("chat");
  late->start_status = llmux_completion_async(late->router, request, strlen(request), call_record_on_done,
                                              late->started_during_free, NULL);
  free(request);
}

static void test_router_free_cancels_calls_in_flight(void) {
  llmux_router* router = new_standard_router();
  REQUIRE(router != NULL);
  enum { kCalls = 4 };
  call_record records[kCalls];
  call_record late_record;
  call_record_init(&late_record);
  late_call late = {router, &late_record, LLMUX_ERR_INTERNAL};
  char* chat = chat_request("hang");
  const char* embedding = "{\"model\":\"hang\",\"input\":\"x\"}";
  for (int i = 0; i < kCalls; i++) call_record_init(&records[i]);
  records[0].on_done_hook = start_call_during_free;
  records[0].hook_arg = &late;
  CHECK_STATUS(llmux_completion_async(router, chat, strlen(chat), call_record_on_done, &records[0], NULL), LLMUX_OK,
               NULL);
  CHECK_STATUS(llmux_completion_async(router, chat, strlen(chat), call_record_on_done, &records[1], NULL), LLMUX_OK,
               NULL);
  CHECK_STATUS(llmux_completion_stream(router, chat, strlen(chat), call_record_on_chunk, call_record_on_done,
                                       &records[2], NULL),
               LLMUX_OK, NULL);
  CHECK_STATUS(llmux_embedding_async(router, embedding, strlen(embedding), call_record_on_done, &records[3], NULL),
               LLMUX_OK, NULL);
  llmux_router_free(router);
  /* No waiting: every done callback has run before llmux_router_free returned. */
  for (int i = 0; i < kCalls; i++) {
    CHECK_INT_EQ(records[i].done_calls, 1);
    CHECK_STATUS(records[i].status, LLMUX_ERR_CANCELLED, NULL);
    CHECK(records[i].done_arguments_consistent);
    CHECK_INT_EQ(records[i].chunk_calls, 0);
    call_record_destroy(&records[i]);
  }
  CHECK_STATUS(late.start_status, LLMUX_OK, NULL);
  CHECK_INT_EQ(late_record.done_calls, 1);
  CHECK_STATUS(late_record.status, LLMUX_ERR_CANCELLED, NULL);
  call_record_destroy(&late_record);
  free(chat);
}

/* ---- concurrency -------------------------------------------------------- */

enum { kThreads = 4, kCallsPerThread = 50 };

typedef struct completion_counter {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int done;
  int ok;
  int right_content;
} completion_counter;

static void count_done(void* user_data, llmux_status status, const char* response, size_t response_len,
                       const llmux_error* error) {
  (void)response_len;
  (void)error;
  completion_counter* counter = user_data;
  pthread_mutex_lock(&counter->mu);
  counter->done++;
  if (status == LLMUX_OK) counter->ok++;
  if (response && strstr(response, "Hello from ok-chat.")) counter->right_content++;
  pthread_cond_broadcast(&counter->cv);
  pthread_mutex_unlock(&counter->mu);
}

typedef struct worker {
  completion_counter* counter;
  int started;
  int blocking_ok;
} worker;

static void* run_worker(void* arg) {
  worker* w = arg;
  char* request = chat_request("chat");
  for (int i = 0; i < kCallsPerThread; i++) {
    if (llmux_completion_async(g_router, request, strlen(request), count_done, w->counter, NULL) == LLMUX_OK) {
      w->started++;
    }
    if (i % 10 == 0 && completion_status(g_router, "chat", NULL) == LLMUX_OK) w->blocking_ok++;
  }
  free(request);
  return NULL;
}

static void test_concurrent_async_calls_from_threads(void) {
  completion_counter counter = {.done = 0};
  pthread_mutex_init(&counter.mu, NULL);
  pthread_cond_init(&counter.cv, NULL);
  worker workers[kThreads];
  pthread_t threads[kThreads];
  for (int i = 0; i < kThreads; i++) {
    workers[i] = (worker){&counter, 0, 0};
    CHECK_INT_EQ(pthread_create(&threads[i], NULL, run_worker, &workers[i]), 0);
  }
  int started = 0;
  int blocking_ok = 0;
  for (int i = 0; i < kThreads; i++) {
    pthread_join(threads[i], NULL);
    started += workers[i].started;
    blocking_ok += workers[i].blocking_ok;
  }
  CHECK_INT_EQ(started, kThreads * kCallsPerThread);
  CHECK_INT_EQ(blocking_ok, kThreads * (kCallsPerThread / 10));
  /* Bounded wait for the callbacks (a hang guard, not a timing check). */
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += 120;
  pthread_mutex_lock(&counter.mu);
  int waited = 0;
  while (counter.done < started && waited == 0) waited = pthread_cond_timedwait(&counter.cv, &counter.mu, &deadline);
  pthread_mutex_unlock(&counter.mu);
  sync_with_io_thread(g_router);
  CHECK_INT_EQ(counter.done, started);
  CHECK_INT_EQ(counter.ok, started);
  CHECK_INT_EQ(counter.right_content, started);
  pthread_mutex_destroy(&counter.mu);
  pthread_cond_destroy(&counter.cv);
}

static void test_pick_usage_and_settings(void) {
  char* a = deployment_yaml("grp", "ok-a", "grp-a");
  char* b = deployment_yaml("grp", "ok-b", "grp-b");
  char* yaml = text_printf("model_list:\n  - %s\n  - %s\nrouter_settings:\n  num_retries: 0\n", a, b);
  llmux_router* router = new_router(yaml);
  free(a);
  free(b);
  free(yaml);
  REQUIRE(CHECK(router != NULL));
  llmux_error* error = NULL;
  char* out = NULL;

  /* A pick: no messages needed, nothing sent or counted, secrets redacted
   * unless asked for. */
  const char* pick = "{\"model\":\"grp\"}";
  CHECK_STATUS(llmux_router_pick(router, pick, strlen(pick), 0, &out, &error), LLMUX_OK, error);
  json_value* picked = out ? json_parse(out, strlen(out)) : NULL;
  REQUIRE(CHECK(picked != NULL));
  const char* id = json_string_at(picked, "id");
  CHECK(id != NULL && (strcmp(id, "grp-a") == 0 || strcmp(id, "grp-b") == 0));
  CHECK_STR_EQ(json_string_at(picked, "model_group"), "grp");
  CHECK_STR_EQ(json_string_at(picked, "deployment.model_name"), "grp");
  CHECK_STR_EQ(json_string_at(picked, "deployment.litellm_params.api_key"), "***");
  CHECK_NOT_CONTAINS(out, kSecret);
  json_free(picked);
  llmux_free(out);
  out = NULL;
  CHECK_STATUS(llmux_router_pick(router, pick, strlen(pick), LLMUX_PICK_INCLUDE_SECRETS, &out, &error), LLMUX_OK,
               error);
  CHECK_CONTAINS(out, kSecret);
  llmux_free(out);
  out = NULL;
  const char* specific = "{\"model\":\"grp-b\"}";
  CHECK_STATUS(llmux_router_pick(router, specific, strlen(specific), LLMUX_PICK_SPECIFIC_DEPLOYMENT, &out, &error),
               LLMUX_OK, error);
  CHECK_CONTAINS(out, "\"id\":\"grp-b\"");
  llmux_free(out);
  out = NULL;
  const char* unknown = "{\"model\":\"nope\"}";
  CHECK_STATUS(llmux_router_pick(router, unknown, strlen(unknown), 0, &out, &error), LLMUX_ERR_BAD_REQUEST, error);
  CHECK(out == NULL);
  llmux_error_free(error);
  error = NULL;
  CHECK_STATUS(llmux_router_pick(NULL, pick, strlen(pick), 0, &out, &error), LLMUX_ERR_INVALID_ARGUMENT, error);
  llmux_error_free(error);
  error = NULL;
  CHECK_STATUS(llmux_router_pick(router, NULL, 0, 0, &out, NULL), LLMUX_ERR_INVALID_ARGUMENT, NULL);
  CHECK_STATUS(llmux_router_pick(router, pick, strlen(pick), 0, NULL, NULL), LLMUX_ERR_INVALID_ARGUMENT, NULL);
  CHECK_STATUS(llmux_router_pick(router, "{\"model\":\"\xff\"}", strlen("{\"model\":\"\xff\"}"), 0, &out, NULL), LLMUX_ERR_INVALID_ARGUMENT, NULL);

  /* Group usage counts real calls only. */
  CHECK_STATUS(llmux_router_model_group_usage(router, "grp", &out, &error), LLMUX_OK, error);
  json_value* usage = out ? json_parse(out, strlen(out)) : NULL;
  REQUIRE(CHECK(usage != NULL));
  CHECK(json_number_at(usage, "rpm", -1) == 0);
  json_free(usage);
  llmux_free(out);
  out = NULL;
  CHECK_STATUS(completion_status(router, "grp", NULL), LLMUX_OK, NULL);
  CHECK_STATUS(completion_status(router, "grp", NULL), LLMUX_OK, NULL);
  CHECK_STATUS(llmux_router_model_group_usage(router, "grp", &out, &error), LLMUX_OK, error);
  usage = out ? json_parse(out, strlen(out)) : NULL;
  REQUIRE(CHECK(usage != NULL));
  CHECK(json_number_at(usage, "rpm", -1) == 2);
  CHECK(json_number_at(usage, "tpm", -1) > 0);
  json_free(usage);
  llmux_free(out);
  out = NULL;
  CHECK_STATUS(llmux_router_model_group_usage(router, "nope", &out, &error), LLMUX_ERR_NOT_FOUND, error);
  llmux_error_free(error);
  error = NULL;
  CHECK_STATUS(llmux_router_model_group_usage(NULL, "grp", &out, NULL), LLMUX_ERR_INVALID_ARGUMENT, NULL);
  CHECK_STATUS(llmux_router_model_group_usage(router, NULL, &out, NULL), LLMUX_ERR_INVALID_ARGUMENT, NULL);
  CHECK_STATUS(llmux_router_model_group_usage(router, "grp", NULL, NULL), LLMUX_ERR_INVALID_ARGUMENT, NULL);

  /* Settings: read, update, a bad update changes nothing. */
  const char* update = "{\"num_retries\": 4, \"cooldown_time\": 9}";
  CHECK_STATUS(llmux_router_update_settings(router, update, strlen(update), &error), LLMUX_OK, error);
  CHECK_STATUS(llmux_router_settings(router, &out, &error), LLMUX_OK, error);
  json_value* settings = out ? json_parse(out, strlen(out)) : NULL;
  REQUIRE(CHECK(settings != NULL));
  CHECK(json_number_at(settings, "num_retries", -1) == 4);
  CHECK(json_number_at(settings, "cooldown_time", -1) == 9);
  json_free(settings);
  llmux_free(out);
  out = NULL;
  const char* bad = "{\"num_retries\": 1, \"no_such_setting\": 1}";
  CHECK_STATUS(llmux_router_update_settings(router, bad, strlen(bad), &error), LLMUX_ERR_INVALID_ARGUMENT, error);
  CHECK_CONTAINS(llmux_error_message(error), "no_such_setting");
  llmux_error_free(error);
  error = NULL;
  CHECK_STATUS(llmux_router_settings(router, &out, &error), LLMUX_OK, error);
  CHECK_CONTAINS(out, "\"num_retries\":4");
  llmux_free(out);
  out = NULL;
  CHECK_STATUS(llmux_router_update_settings(NULL, update, strlen(update), NULL), LLMUX_ERR_INVALID_ARGUMENT, NULL);
  CHECK_STATUS(llmux_router_update_settings(router, NULL, 0, NULL), LLMUX_ERR_INVALID_ARGUMENT, NULL);
  CHECK_STATUS(llmux_router_settings(NULL, &out, NULL), LLMUX_ERR_INVALID_ARGUMENT, NULL);
  CHECK_STATUS(llmux_router_settings(router, NULL, NULL), LLMUX_ERR_INVALID_ARGUMENT, NULL);
  llmux_router_free(router);
}

int main(int argc, char** argv) {
  if (fake_server_start(&g_server) != 0) {
    fprintf(stderr, "capi_test: the fake server did not start\n");
    return 1;
  }
  g_router = new_standard_router();
  if (!g_router) {
    fake_server_stop(&g_server);
    return 1;
  }
  static const test_case tests[] = {
      {"version_and_status_strings", test_version_and_status_strings},
      {"free_functions_accept_null", test_free_functions_accept_null},
      {"error_accessors_accept_null", test_error_accessors_accept_null},
      {"router_new_from_yaml_and_json", test_router_new_from_yaml_and_json},
      {"router_new_config_error_names_the_key", test_router_new_config_error_names_the_key},
      {"router_new_rejects_invalid_utf8", test_router_new_rejects_invalid_utf8},
      {"router_new_null_arguments", test_router_new_null_arguments},
      {"router_new_reads_exactly_len_bytes", test_router_new_reads_exactly_len_bytes},
      {"completion_ok", test_completion_ok},
      {"completion_split_matches_the_json", test_completion_split_matches_the_json},
      {"completion_split_errors", test_completion_split_errors},
      {"completion_reads_exactly_len_bytes", test_completion_reads_exactly_len_bytes},
      {"completion_invalid_json", test_completion_invalid_json},
      {"completion_unknown_group", test_completion_unknown_group},
      {"completion_rejects_invalid_utf8", test_completion_rejects_invalid_utf8},
      {"completion_null_arguments", test_completion_null_arguments},
      {"completion_async", test_completion_async},
      {"completion_async_reports_a_rejected_request_through_on_done",
       test_completion_async_reports_a_rejected_request_through_on_done},
      {"async_functions_reject_invalid_arguments_without_calling_on_done",
       test_async_functions_reject_invalid_arguments_without_calling_on_done},
      {"stream", test_stream},
      {"stream_stops_when_the_chunk_callback_returns_zero", test_stream_stops_when_the_chunk_callback_returns_zero},
      {"cancel", test_cancel},
      {"embedding", test_embedding},
      {"call_endpoints", test_call_endpoints},
      {"add_and_remove_deployment", test_add_and_remove_deployment},
      {"register_model", test_register_model},
      {"health", test_health},
      {"health_checks", test_health_checks},
      {"deployments", test_deployments},
      {"metrics", test_metrics},
      {"pick_usage_and_settings", test_pick_usage_and_settings},
      {"blocking_call_from_a_callback_is_refused", test_blocking_call_from_a_callback_is_refused},
      {"async_calls_from_a_callback", test_async_calls_from_a_callback},
      {"router_free_from_its_own_callback_is_refused", test_router_free_from_its_own_callback_is_refused},
      {"router_free_cancels_calls_in_flight", test_router_free_cancels_calls_in_flight},
      {"concurrent_async_calls_from_threads", test_concurrent_async_calls_from_threads},
  };
  const int exit_code = run_tests("capi_test", tests, sizeof tests / sizeof *tests, argc, argv);
  llmux_router_free(g_router);
  fake_server_stop(&g_server);
  return exit_code;
}
