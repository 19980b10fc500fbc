/* The completion queues of the C ABI (llmux_queue_*), against llmux_fake_server:
 * records and their layout, errors, spills, batches, the file descriptor,
 * cancellation, and freeing the queue or the router with calls in flight. */
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "test_text.h"
#include "fake_server.h"
#include "json_reader.h"
#include "llmux.h"

static fake_server g_server = {0, -1, ""};
/* Groups chat (answers), hang (never answers), fail (HTTP 500) and embed. */
static llmux_router* g_router;

/* A record of a queue buffer, decoded (text points into the buffer or the spill). */
typedef struct record {
  uint64_t tag;
  uint64_t size;
  int32_t status;
  int32_t http_status;
  uint64_t body_len, type_len, message_len;
  uint64_t spill;
  const char* text;
} record;

static record read_record(const unsigned char* at) {
  record r;
  memcpy(&r.tag, at + 0, 8);
  memcpy(&r.size, at + 8, 8);
  memcpy(&r.status, at + 16, 4);
  memcpy(&r.http_status, at + 20, 4);
  memcpy(&r.body_len, at + 24, 8);
  memcpy(&r.type_len, at + 32, 8);
  memcpy(&r.message_len, at + 40, 8);
  memcpy(&r.spill, at + 48, 8);
  r.text = r.spill ? (const char*)(uintptr_t)r.spill : (const char*)at + LLMUX_QUEUE_RECORD_HEADER;
  return r;
}

static llmux_router* new_router(void) {
  const char* groups[][2] = {{"chat", "ok-chat"}, {"hang", "hang-q"}, {"fail", "status-500-q"}, {"embed", "ok-embed"}};
  char* yaml = text_printf("model_list:\n");
  for (size_t i = 0; i < sizeof groups / sizeof groups[0]; ++i) {
    char* next = text_printf("%s  - {model_name: %s, litellm_params: {model: openai/%s, api_base: \"%s\", api_key: k},"
                             " model_info: {id: %s-1}}\n",
                             yaml, groups[i][0], groups[i][1], g_server.base_url, groups[i][0]);
    free(yaml);
    yaml = next;
  }
  char* config = text_printf("%srouter_settings:\n  num_retries: 0\n", yaml);
  free(yaml);
  llmux_router* router = NULL;
  llmux_error* error = NULL;
  CHECK_STATUS(llmux_router_new(config, strlen(config), &router, &error), LLMUX_OK, error);
  llmux_error_free(error);
  free(config);
  return router;
}

/* Pops until the record of `tag` comes (10 s at most: a hang guard, not a timing check). */
static int pop_record(llmux_queue* queue, uint64_t tag, unsigned char* buffer, size_t capacity, record* out) {
  for (int slice = 0; slice < 100; ++slice) {
    const size_t written = llmux_queue_pop(queue, 100, buffer, capacity);
    for (size_t offset = 0; offset < written;) {
      const record r = read_record(buffer + offset);
      if (r.tag == tag) {
        *out = r;
        return 1;
      }
      offset += r.size;
    }
  }
  return 0;
}

static _Alignas(8) unsigned char g_buffer[64 * 1024];

static void test_null_arguments(void) {
  llmux_queue_free(NULL);
  CHECK_INT_EQ(llmux_queue_fd(NULL), -1);
  CHECK_INT_EQ((long long)llmux_queue_pop(NULL, 0, g_buffer, sizeof g_buffer), 0);
  llmux_queue* queue = llmux_queue_new();
  REQUIRE(CHECK(queue != NULL));
  CHECK_INT_EQ((long long)llmux_queue_pop(queue, 0, NULL, sizeof g_buffer), 0);
  CHECK_INT_EQ((long long)llmux_queue_pop(queue, 0, g_buffer, LLMUX_QUEUE_RECORD_HEADER - 1), 0);
  char* request = chat_request("chat");
  uint64_t call_id = 99;
  CHECK_STATUS(llmux_queue_submit(NULL, queue, LLMUX_ENDPOINT_CHAT_COMPLETIONS, request, strlen(request), 1, &call_id),
               LLMUX_ERR_INVALID_ARGUMENT, NULL);
  CHECK_INT_EQ((long long)call_id, 0);
  CHECK_STATUS(llmux_queue_submit(g_router, NULL, LLMUX_ENDPOINT_CHAT_COMPLETIONS, request, strlen(request), 1, NULL),
               LLMUX_ERR_INVALID_ARGUMENT, NULL);
  CHECK_STATUS(llmux_queue_submit(g_router, queue, LLMUX_ENDPOINT_CHAT_COMPLETIONS, NULL, 3, 1, NULL),
               LLMUX_ERR_INVALID_ARGUMENT, NULL);
  CHECK_STATUS(llmux_queue_submit(g_router, queue, (llmux_endpoint)42, request, strlen(request), 1, NULL),
               LLMUX_ERR_INVALID_ARGUMENT, NULL);
  size_t written = 7;
  CHECK_STATUS(llmux_queue_call(NULL, queue, LLMUX_ENDPOINT_CHAT_COMPLETIONS, request, strlen(request), 1, 0, g_buffer,
                                sizeof g_buffer, &written, &call_id),
               LLMUX_ERR_INVALID_ARGUMENT, NULL);
  CHECK_INT_EQ((long long)written, 0);
  CHECK_INT_EQ((long long)call_id, 0);
  /* Nothing was started: nothing comes. */
  CHECK_INT_EQ((long long)llmux_queue_pop(queue, 50, g_buffer, sizeof g_buffer), 0);
  free(request);
  llmux_queue_free(queue);
}

static void test_call_gives_the_completion_record(void) {
  llmux_queue* queue = llmux_queue_new();
  REQUIRE(CHECK(queue != NULL));
  char* request = chat_request("chat");
  size_t written = 0;
  uint64_t call_id = 0;
  CHECK_STATUS(llmux_queue_call(g_router, queue, LLMUX_ENDPOINT_CHAT_COMPLETIONS, request, strlen(request), 77, -1,
                                g_buffer, sizeof g_buffer, &written, &call_id),
               LLMUX_OK, NULL);
  CHECK(call_id > 0);
  REQUIRE(CHECK(written >= LLMUX_QUEUE_RECORD_HEADER));
  const record r = read_record(g_buffer);
  CHECK_INT_EQ((long long)r.tag, 77);
  CHECK_INT_EQ((long long)r.size, (long long)written);
  CHECK_INT_EQ(r.size % 8, 0);
  CHECK_INT_EQ(r.status, LLMUX_OK);
  CHECK_INT_EQ(r.http_status, 0);
  CHECK_INT_EQ((long long)r.type_len, 0);
  CHECK_INT_EQ((long long)r.message_len, 0);
  CHECK_INT_EQ((long long)r.spill, 0);
  CHECK(r.size >= LLMUX_QUEUE_RECORD_HEADER + r.body_len);
  char* body = copy_text(r.text, r.body_len);
  json_value* parsed = json_parse(body, strlen(body));
  if (CHECK(parsed != NULL)) {
    CHECK_STR_EQ(json_string_at(parsed, "choices.0.message.content"), "Hello from ok-chat.");
    CHECK_STR_EQ(json_string_at(parsed, "_llmux.deployment_id"), "chat-1");
    CHECK_INT_EQ((long long)json_number_at(parsed, "_llmux.call_id", 0), (long long)call_id);
    json_free(parsed);
  }
  CHECK_INT_EQ((long long)strlen(body), (long long)r.body_len); /* the text, no NUL inside */
  for (uint64_t i = r.body_len; i < r.size - LLMUX_QUEUE_RECORD_HEADER; ++i) CHECK_INT_EQ(r.text[i], 0);
  free(body);
  free(request);
  llmux_queue_free(queue);
}

static void test_error_record_matches_llmux_error(void) {
  llmux_queue* queue = llmux_queue_new();
  REQUIRE(CHECK(queue != NULL));
  char* request = chat_request("fail");
  CHECK_STATUS(
      llmux_queue_submit(g_router, queue, LLMUX_ENDPOINT_CHAT_COMPLETIONS, request, strlen(request), 5, NULL),
      LLMUX_OK, NULL);
  record r;
  REQUIRE(CHECK(pop_record(queue, 5, g_buffer, sizeof g_buffer, &r)));
  llmux_error* error = NULL;
  char* response = NULL;
  CHECK_STATUS(llmux_completion(g_router, request, strlen(request), &response, &error), LLMUX_ERR_INTERNAL_SERVER,
               error);
  CHECK_INT_EQ(r.status, llmux_error_code(error));
  CHECK_INT_EQ(r.http_status, 500);
  CHECK_INT_EQ(r.http_status, llmux_error_status(error));
  char* type = copy_text(r.text + r.body_len, r.type_len);
  char* message = copy_text(r.text + r.body_len + r.type_len, r.message_len);
  char* json = copy_text(r.text, r.body_len);
  CHECK_STR_EQ(type, llmux_error_type(error));
  CHECK_STR_EQ(type, "InternalServerError");
  CHECK(r.message_len > 0);
  CHECK_CONTAINS(json, "\"_llmux\"");
  json_value* parsed = json_parse(json, strlen(json));
  CHECK(parsed != NULL);
  json_free(parsed);
  free(type);
  free(message);
  free(json);
  llmux_error_free(error);
  free(request);
  llmux_queue_free(queue);
}

static void test_a_record_too_big_for_the_buffer_spills(void) {
  llmux_queue* queue = llmux_queue_new();
  REQUIRE(CHECK(queue != NULL));
  char* request = chat_request("chat");
  _Alignas(8) unsigned char small[LLMUX_QUEUE_RECORD_HEADER];
  size_t written = 0;
  CHECK_STATUS(llmux_queue_call(g_router, queue, LLMUX_ENDPOINT_CHAT_COMPLETIONS, request, strlen(request), 3, -1,
                                small, sizeof small, &written, NULL),
               LLMUX_OK, NULL);
  REQUIRE(CHECK_INT_EQ((long long)written, LLMUX_QUEUE_RECORD_HEADER));
  const record r = read_record(small);
  CHECK_INT_EQ((long long)r.size, LLMUX_QUEUE_RECORD_HEADER);
  CHECK_INT_EQ(r.status, LLMUX_OK);
  REQUIRE(CHECK(r.spill != 0));
  char* body = copy_text(r.text, r.body_len);
  CHECK_CONTAINS(body, "Hello from ok-chat.");
  llmux_free((void*)(uintptr_t)r.spill);
  free(body);
  free(request);
  llmux_queue_free(queue);
}

static void test_records_come_in_batches_each_once(void) {
  llmux_queue* queue = llmux_queue_new();
  REQUIRE(CHECK(queue != NULL));
  char* chat = chat_request("chat");
  const char* embedding = "{\"model\":\"embed\",\"input\":\"x\"}";
  enum { kCalls = 6 };
  for (uint64_t tag = 1; tag <= kCalls; ++tag) {
    const int embed = tag % 2 == 0;
    CHECK_STATUS(llmux_queue_submit(g_router, queue, embed ? LLMUX_ENDPOINT_EMBEDDINGS : LLMUX_ENDPOINT_CHAT_COMPLETIONS,
                                    embed ? embedding : chat, strlen(embed ? embedding : chat), tag, NULL),
                 LLMUX_OK, NULL);
  }
  int seen[kCalls + 1] = {0};
  int total = 0;
  for (int slice = 0; slice < 100 && total < kCalls; ++slice) {
    const size_t written = llmux_queue_pop(queue, 100, g_buffer, sizeof g_buffer);
    for (size_t offset = 0; offset < written;) {
      const record r = read_record(g_buffer + offset);
      CHECK_INT_EQ(r.status, LLMUX_OK);
      if (CHECK(r.tag >= 1 && r.tag <= kCalls)) {
        seen[r.tag]++;
        char* body = copy_text(r.text, r.body_len);
        CHECK_CONTAINS(body, r.tag % 2 == 0 ? "\"embedding\"" : "Hello from ok-chat.");
        free(body);
      }
      offset += r.size;
      total++;
    }
  }
  for (int tag = 1; tag <= kCalls; ++tag) CHECK_INT_EQ(seen[tag], 1);
  CHECK_INT_EQ((long long)llmux_queue_pop(queue, 0, g_buffer, sizeof g_buffer), 0);
  free(chat);
  llmux_queue_free(queue);
}

static int readable(int fd, int timeout_ms) {
  struct pollfd p = {fd, POLLIN, 0};
  return poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN);
}

static void test_fd_is_readable_while_records_wait(void) {
  llmux_queue* queue = llmux_queue_new();
  REQUIRE(CHECK(queue != NULL));
  const int fd = llmux_queue_fd(queue);
  REQUIRE(CHECK(fd >= 0));
  CHECK_INT_EQ(llmux_queue_fd(queue), fd);
  CHECK(!readable(fd, 0));
  char* request = chat_request("chat");
  CHECK_STATUS(
      llmux_queue_submit(g_router, queue, LLMUX_ENDPOINT_CHAT_COMPLETIONS, request, strlen(request), 1, NULL),
      LLMUX_OK, NULL);
  CHECK(readable(fd, 10000)); /* a hang guard, not a timing check */
  CHECK(readable(fd, 0));     /* level: stays readable until popped */
  const size_t written = llmux_queue_pop(queue, 0, g_buffer, sizeof g_buffer);
  CHECK(written > 0);
  CHECK(!readable(fd, 0));
  free(request);
  llmux_queue_free(queue);
}

static void test_cancel_gives_a_cancelled_record(void) {
  llmux_queue* queue = llmux_queue_new();
  REQUIRE(CHECK(queue != NULL));
  char* request = chat_request("hang");
  size_t written = 1;
  uint64_t call_id = 0;
  CHECK_STATUS(llmux_queue_call(g_router, queue, LLMUX_ENDPOINT_CHAT_COMPLETIONS, request, strlen(request), 9, 10,
                                g_buffer, sizeof g_buffer, &written, &call_id),
               LLMUX_OK, NULL);
  CHECK_INT_EQ((long long)written, 0); /* the hang group never answers */
  REQUIRE(CHECK(call_id > 0));
  CHECK_STATUS(llmux_cancel(g_router, call_id), LLMUX_OK, NULL);
  record r;
  REQUIRE(CHECK(pop_record(queue, 9, g_buffer, sizeof g_buffer, &r)));
  CHECK_INT_EQ(r.status, LLMUX_ERR_CANCELLED);
  free(request);
  llmux_queue_free(queue);
}

static void test_freeing_the_queue_or_the_router_with_calls_in_flight(void) {
  llmux_router* router = new_router();
  REQUIRE(CHECK(router != NULL));
  char* request = chat_request("hang");
  /* The queue freed first: the calls' records are dropped when they end. */
  llmux_queue* dropped = llmux_queue_new();
  REQUIRE(CHECK(dropped != NULL));
  (void)llmux_queue_fd(dropped);
  uint64_t first = 0;
  CHECK_STATUS(llmux_queue_submit(router, dropped, LLMUX_ENDPOINT_CHAT_COMPLETIONS, request, strlen(request), 1, &first),
               LLMUX_OK, NULL);
  llmux_queue_free(dropped);
  CHECK_STATUS(llmux_cancel(router, first), LLMUX_OK, NULL);
  /* The router freed: the call ends cancelled, its record comes. */
  llmux_queue* queue = llmux_queue_new();
  REQUIRE(CHECK(queue != NULL));
  CHECK_STATUS(llmux_queue_submit(router, queue, LLMUX_ENDPOINT_CHAT_COMPLETIONS, request, strlen(request), 2, NULL),
               LLMUX_OK, NULL);
  llmux_queue* also_dropped = llmux_queue_new();
  REQUIRE(CHECK(also_dropped != NULL));
  CHECK_STATUS(
      llmux_queue_submit(router, also_dropped, LLMUX_ENDPOINT_CHAT_COMPLETIONS, request, strlen(request), 3, NULL),
      LLMUX_OK, NULL);
  llmux_queue_free(also_dropped);
  llmux_router_free(router);
  record r;
  REQUIRE(CHECK(pop_record(queue, 2, g_buffer, sizeof g_buffer, &r)));
  CHECK_INT_EQ(r.status, LLMUX_ERR_CANCELLED);
  CHECK_INT_EQ((long long)llmux_queue_pop(queue, 0, g_buffer, sizeof g_buffer), 0);
  free(request);
  llmux_queue_free(queue);
}

int main(int argc, char** argv) {
  if (fake_server_start(&g_server) != 0) {
    fprintf(stderr, "capi_queue_test: the fake server did not start\n");
    return 1;
  }
  g_router = new_router();
  if (!g_router) {
    fake_server_stop(&g_server);
    return 1;
  }
  static const test_case tests[] = {
      {"null_arguments", test_null_arguments},
      {"call_gives_the_completion_record", test_call_gives_the_completion_record},
      {"error_record_matches_llmux_error", test_error_record_matches_llmux_error},
      {"a_record_too_big_for_the_buffer_spills", test_a_record_too_big_for_the_buffer_spills},
      {"records_come_in_batches_each_once", test_records_come_in_batches_each_once},
      {"fd_is_readable_while_records_wait", test_fd_is_readable_while_records_wait},
      {"cancel_gives_a_cancelled_record", test_cancel_gives_a_cancelled_record},
      {"freeing_the_queue_or_the_router_with_calls_in_flight",
       test_freeing_the_queue_or_the_router_with_calls_in_flight},
  };
  const int code = run_tests("capi_queue_test", tests, sizeof tests / sizeof tests[0], argc, argv);
  llmux_router_free(g_router);
  fake_server_stop(&g_server);
  return code;
}
