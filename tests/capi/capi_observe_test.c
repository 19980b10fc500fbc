/* The C ABI's observability: the process-wide and per-router log callbacks,
 * llmux_router_new_with_options (its size-versioned struct) and the routing
 * event callback, against llmux_fake_server over real HTTP on loopback. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "call_record.h"
#include "check.h"
#include "test_text.h"
#include "fake_server.h"
#include "json_reader.h"
#include "llmux.h"

static fake_server g_server = {0, -1, ""};

static char* deployment_yaml(const char* group, const char* model, const char* id) {
  return text_printf("{model_name: %s, litellm_params: {model: openai/%s, api_base: \"%s\", api_key: sk-%s}, "
                     "model_info: {id: %s}}",
                     group, model, g_server.base_url, id, id);
}

/* ---- a log collector ---------------------------------------------------- */

enum { kMaxMessages = 32 };

typedef struct log_record {
  pthread_mutex_t mu;
  int count;
  llmux_log_level levels[kMaxMessages];
  char* messages[kMaxMessages];
  int nul_terminated; /* every message had message[len] == '\0' */
} log_record;

static void log_record_init(log_record* log) {
  memset(log, 0, sizeof *log);
  pthread_mutex_init(&log->mu, NULL);
  log->nul_terminated = 1;
}

static void log_record_destroy(log_record* log) {
  for (int i = 0; i < log->count; ++i) free(log->messages[i]);
  pthread_mutex_destroy(&log->mu);
}

static void on_log(void* user_data, llmux_log_level level, const char* message, size_t len) {
  log_record* log = user_data;
  pthread_mutex_lock(&log->mu);
  if (message[len] != '\0') log->nul_terminated = 0;
  if (log->count < kMaxMessages) {
    log->levels[log->count] = level;
    log->messages[log->count] = text_printf("%.*s", (int)len, message);
    log->count++;
  }
  pthread_mutex_unlock(&log->mu);
}

/* Index of the first message containing `needle`, or -1. */
static int log_find(log_record* log, const char* needle) {
  pthread_mutex_lock(&log->mu);
  int found = -1;
  for (int i = 0; i < log->count && found < 0; ++i) {
    if (strstr(log->messages[i], needle)) found = i;
  }
  pthread_mutex_unlock(&log->mu);
  return found;
}

/* A config with one warning: general_settings is accepted and ignored. */
static char* config_with_a_warning(void) {
  char* chat = deployment_yaml("chat", "ok-chat", "chat-1");
  char* yaml = text_printf("model_list:\n  - %s\ngeneral_settings:\n  master_key: sk-master\n", chat);
  free(chat);
  return yaml;
}

/* ---- an event collector ------------------------------------------------- */

enum { kMaxEvents = 64 };

typedef struct event_record {
  pthread_mutex_t mu;
  int count;
  json_value* events[kMaxEvents];
  int not_json;
  int nul_terminated;
  llmux_router* router;     /* for the blocking-call check below */
  int try_blocking_call;    /* nonzero: each event tries llmux_completion */
  llmux_status blocking_status;
} event_record;

static void event_record_init(event_record* rec) {
  memset(rec, 0, sizeof *rec);
  pthread_mutex_init(&rec->mu, NULL);
  rec->nul_terminated = 1;
  rec->blocking_status = LLMUX_OK;
}

static void event_record_destroy(event_record* rec) {
  for (int i = 0; i < rec->count; ++i) json_free(rec->events[i]);
  pthread_mutex_destroy(&rec->mu);
}

static void on_event(void* user_data, const char* json, size_t len) {
  event_record* rec = user_data;
  if (rec->try_blocking_call) {
    char* request = chat_request("chat");
    char* response = NULL;
    llmux_error* error = NULL;
    rec->blocking_status = llmux_completion(rec->router, request, strlen(request), &response, &error);
    llmux_free(response);
    llmux_error_free(error);
    free(request);
  }
  json_value* parsed = json_parse(json, len);
  pthread_mutex_lock(&rec->mu);
  if (json[len] != '\0') rec->nul_terminated = 0;
  if (!parsed) {
    rec->not_json++;
  } else if (rec->count < kMaxEvents) {
    rec->events[rec->count++] = parsed;
    parsed = NULL;
  }
  pthread_mutex_unlock(&rec->mu);
  json_free(parsed);
}

/* The i-th event of `type` (0-based), or NULL. Call after the calls finished. */
static const json_value* event_of_type(event_record* rec, const char* type, int nth) {
  for (int i = 0; i < rec->count; ++i) {
    const char* t = json_string_at(rec->events[i], "type");
    if (t && strcmp(t, type) == 0 && nth-- == 0) return rec->events[i];
  }
  return NULL;
}

static int count_of_type(event_record* rec, const char* type) {
  int n = 0;
  while (event_of_type(rec, type, n)) ++n;
  return n;
}

static llmux_router* new_router_with(const char* yaml, const llmux_router_options* options) {
  llmux_router* router = NULL;
  llmux_error* error = NULL;
  CHECK_STATUS(llmux_router_new_with_options(yaml, strlen(yaml), options, &router, &error), LLMUX_OK, error);
  llmux_error_free(error);
  return router;
}

/* Runs one blocking completion and returns its status. */
static llmux_status complete(llmux_router* router, const char* group) {
  char* request = chat_request(group);
  char* response = NULL;
  llmux_error* error = NULL;
  const llmux_status status = llmux_completion(router, request, strlen(request), &response, &error);
  llmux_free(response);
  llmux_error_free(error);
  free(request);
  return status;
}

/* ---- tests -------------------------------------------------------------- */

static void test_log_set_receives_config_warnings_before_router_new_returns(void) {
  log_record log;
  log_record_init(&log);
  llmux_log_set(on_log, &log);
  char* yaml = config_with_a_warning();
  llmux_router* router = new_router_with(yaml, NULL);
  /* Synchronously: the warning is there when llmux_router_new returns. */
  const int at = log_find(&log, "general_settings");
  if (CHECK(at >= 0)) CHECK_INT_EQ(log.levels[at], LLMUX_LOG_WARN);
  CHECK(log.nul_terminated);
  llmux_router_free(router);

  /* NULL restores stderr: the collector hears nothing more. */
  llmux_log_set(NULL, NULL);
  const int before = log.count;
  llmux_router* quiet = NULL;
  CHECK_STATUS(llmux_router_new(yaml, strlen(yaml), &quiet, NULL), LLMUX_OK, NULL);
  CHECK_INT_EQ(log.count, before);
  llmux_router_free(quiet);
  free(yaml);
  log_record_destroy(&log);
}

static void test_a_router_log_takes_precedence_over_the_process_log(void) {
  log_record global, own;
  log_record_init(&global);
  log_record_init(&own);
  llmux_log_set(on_log, &global);
  llmux_router_options options = LLMUX_ROUTER_OPTIONS_INIT;
  options.log = on_log;
  options.log_user_data = &own;
  char* yaml = config_with_a_warning();
  llmux_router* router = new_router_with(yaml, &options);
  CHECK(log_find(&own, "general_settings") >= 0);
  CHECK_INT_EQ(log_find(&global, "general_settings"), -1);
  llmux_router_free(router);
  llmux_log_set(NULL, NULL);
  free(yaml);
  log_record_destroy(&global);
  log_record_destroy(&own);
}

/* The refused llmux_router_free (from the router's own callback) is an error
 * in the router's log, not a line on stderr. */
typedef struct free_attempt {
  llmux_router* router;
  call_record* record;
} free_attempt;

static void free_own_router(call_record* record) {
  free_attempt* attempt = record->hook_arg;
  llmux_router_free(attempt->router); /* refused: the router stays alive */
}

static void test_refused_router_free_is_logged_as_an_error(void) {
  log_record own;
  log_record_init(&own);
  llmux_router_options options = LLMUX_ROUTER_OPTIONS_INIT;
  options.log = on_log;
  options.log_user_data = &own;
  char* chat = deployment_yaml("chat", "ok-chat", "chat-1");
  char* yaml = text_printf("model_list:\n  - %s\n", chat);
  llmux_router* router = new_router_with(yaml, &options);
  REQUIRE(router != NULL);
  call_record record;
  call_record_init(&record);
  free_attempt attempt = {router, &record};
  record.on_done_hook = free_own_router;
  record.hook_arg = &attempt;
  char* request = chat_request("chat");
  CHECK_STATUS(llmux_completion_async(router, request, strlen(request), call_record_on_done, &record, NULL),
               LLMUX_OK, NULL);
  CHECK(call_record_wait(&record));
  const int at = log_find(&own, "llmux_router_free called from a callback");
  if (CHECK(at >= 0)) CHECK_INT_EQ(own.levels[at], LLMUX_LOG_ERROR);
  /* Still alive: it serves another call, then is freed from here. */
  CHECK_STATUS(complete(router, "chat"), LLMUX_OK, NULL);
  llmux_router_free(router);
  call_record_destroy(&record);
  free(request);
  free(yaml);
  free(chat);
  log_record_destroy(&own);
}

static void test_options_struct_size_is_checked(void) {
  char* chat = deployment_yaml("chat", "ok-chat", "chat-1");
  char* yaml = text_printf("model_list:\n  - %s\n", chat);
  llmux_router* router = NULL;
  llmux_error* error = NULL;

  llmux_router_options too_small = LLMUX_ROUTER_OPTIONS_INIT;
  too_small.struct_size = sizeof(size_t);
  CHECK_STATUS(llmux_router_new_with_options(yaml, strlen(yaml), &too_small, &router, &error),
               LLMUX_ERR_INVALID_ARGUMENT, error);
  CHECK(router == NULL);
  CHECK_CONTAINS(llmux_error_message(error), "struct_size");
  llmux_error_free(error);

  /* A newer caller's larger struct: fine while its unknown fields are unset. */
  struct {
    llmux_router_options known;
    uint64_t newer_field;
  } newer;
  memset(&newer, 0, sizeof newer);
  newer.known.struct_size = sizeof newer;
  router = new_router_with(yaml, &newer.known);
  CHECK(router != NULL);
  llmux_router_free(router);
  router = NULL;
  newer.newer_field = 1;
  CHECK_STATUS(llmux_router_new_with_options(yaml, strlen(yaml), &newer.known, &router, &error),
               LLMUX_ERR_INVALID_ARGUMENT, error);
  CHECK(router == NULL);
  CHECK_CONTAINS(llmux_error_message(error), "does not know");
  llmux_error_free(error);

  /* NULL options: the defaults. */
  router = new_router_with(yaml, NULL);
  CHECK(router != NULL);
  CHECK_STATUS(complete(router, "chat"), LLMUX_OK, NULL);
  llmux_router_free(router);
  free(yaml);
  free(chat);
}

static void test_a_success_event_precedes_on_done(void) {
  event_record events;
  event_record_init(&events);
  llmux_router_options options = LLMUX_ROUTER_OPTIONS_INIT;
  options.on_event = on_event;
  options.event_user_data = &events;
  options.random_seed = 7;
  char* chat = deployment_yaml("chat", "ok-chat", "chat-1");
  char* yaml = text_printf("model_list:\n  - %s\n", chat);
  llmux_router* router = new_router_with(yaml, &options);
  REQUIRE(router != NULL);
  call_record record;
  call_record_init(&record);
  char* request = chat_request("chat");
  uint64_t call_id = 0;
  CHECK_STATUS(llmux_completion_async(router, request, strlen(request), call_record_on_done, &record, &call_id),
               LLMUX_OK, NULL);
  REQUIRE(CHECK(call_record_wait(&record)));
  /* The event ran before on_done, on the same thread: it is recorded now. */
  CHECK_INT_EQ(events.count, 1);
  CHECK_INT_EQ(events.not_json, 0);
  CHECK(events.nul_terminated);
  const json_value* success = event_of_type(&events, "success", 0);
  if (CHECK(success != NULL)) {
    CHECK_INT_EQ((long long)json_number_at(success, "call_id", 0), (long long)call_id);
    CHECK_STR_EQ(json_string_at(success, "model_group"), "chat");
    CHECK_STR_EQ(json_string_at(success, "deployment_id"), "chat-1");
    CHECK_INT_EQ((long long)json_number_at(success, "metadata.attempts", 0), 1);
    CHECK_STR_EQ(json_string_at(success, "metadata.deployment_id"), "chat-1");
    CHECK(json_number_at(success, "usage.total_tokens", -1) > 0);
    const json_value* error = json_path(success, "error");
    CHECK(error != NULL && error->type == JSON_NULL);
    CHECK(json_path(success, "response_cost") != NULL);
  }
  llmux_router_free(router);
  call_record_destroy(&record);
  event_record_destroy(&events);
  free(request);
  free(yaml);
  free(chat);
}

static void test_fallback_and_failure_events_carry_the_cause(void) {
  event_record events;
  event_record_init(&events);
  llmux_router_options options = LLMUX_ROUTER_OPTIONS_INIT;
  options.on_event = on_event;
  options.event_user_data = &events;
  char* bad = deployment_yaml("bad", "status-500-bad", "bad-1");
  char* worse = deployment_yaml("worse", "status-400-worse", "worse-1");
  char* chat = deployment_yaml("chat", "ok-chat", "chat-1");
  char* yaml = text_printf("model_list:\n  - %s\n  - %s\n  - %s\nrouter_settings:\n  num_retries: 0\n"
                           "  fallbacks: [{bad: [chat]}]\n",
                           bad, worse, chat);
  llmux_router* router = new_router_with(yaml, &options);
  REQUIRE(router != NULL);

  /* bad fails (500) and falls back to chat, which answers. */
  CHECK_STATUS(complete(router, "bad"), LLMUX_OK, NULL);
  const json_value* fallback = event_of_type(&events, "fallback", 0);
  if (CHECK(fallback != NULL)) {
    CHECK_STR_EQ(json_string_at(fallback, "model_group"), "bad");
    CHECK_STR_EQ(json_string_at(fallback, "fallback_group"), "chat");
    CHECK_STR_EQ(json_string_at(fallback, "error.type"), "InternalServerError");
  }
  const json_value* success = event_of_type(&events, "success", 0);
  if (CHECK(success != NULL)) {
    CHECK_STR_EQ(json_string_at(success, "model_group"), "chat");
    CHECK_INT_EQ((long long)json_number_at(success, "metadata.fallbacks", 0), 1);
    CHECK_INT_EQ((long long)json_number_at(success, "metadata.attempts", 0), 2);
  }

  /* worse fails with a 400 (no retry, no fallback): one failure event. */
  CHECK_STATUS(complete(router, "worse"), LLMUX_ERR_BAD_REQUEST, NULL);
  CHECK_INT_EQ(count_of_type(&events, "failure"), 1);
  const json_value* failure = event_of_type(&events, "failure", 0);
  if (CHECK(failure != NULL)) {
    CHECK_STR_EQ(json_string_at(failure, "model_group"), "worse");
    CHECK_STR_EQ(json_string_at(failure, "deployment_id"), "worse-1");
    CHECK_STR_EQ(json_string_at(failure, "error.type"), "BadRequestError");
    CHECK_INT_EQ((long long)json_number_at(failure, "error.status", 0), 400);
    CHECK_INT_EQ((long long)json_number_at(failure, "metadata.attempts", 0), 1);
    const json_value* usage = json_path(failure, "usage");
    CHECK(usage != NULL && usage->type == JSON_NULL);
  }
  llmux_router_free(router);
  event_record_destroy(&events);
  free(yaml);
  free(bad);
  free(worse);
  free(chat);
}

/* Two deployments, one answering 429: a call routed to it cools it down and
 * is retried on the other. */
static void test_cooldown_and_retry_events(void) {
  event_record events;
  event_record_init(&events);
  llmux_router_options options = LLMUX_ROUTER_OPTIONS_INIT;
  options.on_event = on_event;
  options.event_user_data = &events;
  options.random_seed = 11;
  char* limited = deployment_yaml("pair", "status-429-limited", "limited-1");
  char* fine = deployment_yaml("pair", "ok-fine", "fine-1");
  char* yaml = text_printf("model_list:\n  - %s\n  - %s\nrouter_settings:\n  num_retries: 2\n  retry_after: 0\n",
                           limited, fine);
  llmux_router* router = new_router_with(yaml, &options);
  REQUIRE(router != NULL);
  /* Until a call happens to pick the limited deployment (each pick is random). */
  for (int i = 0; i < 40 && count_of_type(&events, "cooldown") == 0; ++i) {
    CHECK_STATUS(complete(router, "pair"), LLMUX_OK, NULL);
  }
  const json_value* cooldown = event_of_type(&events, "cooldown", 0);
  if (CHECK(cooldown != NULL)) {
    CHECK_STR_EQ(json_string_at(cooldown, "deployment_id"), "limited-1");
    CHECK_STR_EQ(json_string_at(cooldown, "model_group"), "pair");
    CHECK(json_number_at(cooldown, "cooldown_seconds", 0) > 0);
    CHECK_STR_EQ(json_string_at(cooldown, "error.type"), "RateLimitError");
  }
  const json_value* retry = event_of_type(&events, "retry", 0);
  if (CHECK(retry != NULL)) {
    CHECK_STR_EQ(json_string_at(retry, "deployment_id"), "limited-1");
    CHECK(json_number_at(retry, "retry_in_seconds", -1) >= 0);
    /* The same call then succeeded with 2 attempts. */
    const long long call = (long long)json_number_at(retry, "call_id", 0);
    int matched = 0;
    for (int i = 0; i < events.count; ++i) {
      const json_value* e = events.events[i];
      const char* type = json_string_at(e, "type");
      if (type && strcmp(type, "success") == 0 && (long long)json_number_at(e, "call_id", 0) == call) {
        matched = 1;
        CHECK_INT_EQ((long long)json_number_at(e, "metadata.attempts", 0), 2);
        CHECK_STR_EQ(json_string_at(e, "deployment_id"), "fine-1");
      }
    }
    CHECK(matched);
  }
  llmux_router_free(router);
  event_record_destroy(&events);
  free(yaml);
  free(limited);
  free(fine);
}

static void test_blocking_call_from_an_event_callback_is_refused(void) {
  event_record events;
  event_record_init(&events);
  llmux_router_options options = LLMUX_ROUTER_OPTIONS_INIT;
  options.on_event = on_event;
  options.event_user_data = &events;
  char* chat = deployment_yaml("chat", "ok-chat", "chat-1");
  char* yaml = text_printf("model_list:\n  - %s\n", chat);
  llmux_router* router = new_router_with(yaml, &options);
  REQUIRE(router != NULL);
  events.router = router;
  events.try_blocking_call = 1;
  CHECK_STATUS(complete(router, "chat"), LLMUX_OK, NULL);
  CHECK_STATUS(events.blocking_status, LLMUX_ERR_INVALID_ARGUMENT, NULL);
  llmux_router_free(router);
  event_record_destroy(&events);
  free(yaml);
  free(chat);
}

int main(int argc, char** argv) {
  if (fake_server_start(&g_server) != 0) {
    fprintf(stderr, "capi_observe_test: the fake server did not start\n");
    return 1;
  }
  static const test_case tests[] = {
      {"log_set_receives_config_warnings_before_router_new_returns",
       test_log_set_receives_config_warnings_before_router_new_returns},
      {"a_router_log_takes_precedence_over_the_process_log", test_a_router_log_takes_precedence_over_the_process_log},
      {"refused_router_free_is_logged_as_an_error", test_refused_router_free_is_logged_as_an_error},
      {"options_struct_size_is_checked", test_options_struct_size_is_checked},
      {"a_success_event_precedes_on_done", test_a_success_event_precedes_on_done},
      {"fallback_and_failure_events_carry_the_cause", test_fallback_and_failure_events_carry_the_cause},
      {"cooldown_and_retry_events", test_cooldown_and_retry_events},
      {"blocking_call_from_an_event_callback_is_refused", test_blocking_call_from_an_event_callback_is_refused},
  };
  const int exit_code = run_tests("capi_observe_test", tests, sizeof tests / sizeof *tests, argc, argv);
  fake_server_stop(&g_server);
  return exit_code;
}
