/* llmux_router_model_info and llmux_router_reset from C11, against
 * llmux_fake_server over real HTTP on loopback. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fake_server.h"
#include "json_reader.h"
#include "llmux.h"

static fake_server g_server = {0, -1, ""};
static llmux_router* g_router;

static llmux_router* new_router(const char* yaml) {
  llmux_router* router = NULL;
  llmux_error* error = NULL;
  CHECK_STATUS(llmux_router_new(yaml, strlen(yaml), &router, &error), LLMUX_OK, error);
  llmux_error_free(error);
  return router;
}

/* Runs a query; returns the parsed answer (NULL on failure, *status set). */
static json_value* query(llmux_router* router, const char* q, llmux_status expected) {
  char* out = NULL;
  llmux_error* error = NULL;
  const llmux_status status = llmux_router_model_info(router, q, strlen(q), &out, &error);
  CHECK_STATUS(status, expected, error);
  if (status != LLMUX_OK) {
    CHECK(out == NULL);
    CHECK(error != NULL);
    llmux_error_free(error);
    return NULL;
  }
  CHECK(error == NULL);
  CHECK_NOT_CONTAINS(out, "sk-capi-model-info");
  json_value* parsed = out ? json_parse(out, strlen(out)) : NULL;
  CHECK(parsed != NULL);
  llmux_free(out);
  return parsed;
}

static void test_deployment_info_reads_the_map_under_the_deployments_values(void) {
  json_value* a = query(g_router, "{\"deployment_id\":\"a\"}", LLMUX_OK);
  REQUIRE(a != NULL);
  CHECK_STR_EQ(json_string_at(a, "key"), "gpt-4o");
  CHECK_STR_EQ(json_string_at(a, "litellm_provider"), "openai");
  CHECK_STR_EQ(json_string_at(a, "mode"), "chat");
  CHECK(json_number_at(a, "max_input_tokens", -1) == 128000);
  CHECK(json_number_at(a, "input_cost_per_token", -1) == 2.5e-6);
  json_free(a);
  json_value* c = query(g_router, "{\"id\":\"c\"}", LLMUX_OK);
  REQUIRE(c != NULL);
  CHECK(json_number_at(c, "max_input_tokens", -1) == 999);
  CHECK(json_number_at(c, "max_output_tokens", -1) == 16384);
  CHECK(json_number_at(c, "input_cost_per_token", -1) == 0.5);
  json_free(c);
}

static void test_group_info_merges_the_deployments(void) {
  json_value* g = query(g_router, "{\"model_group\":\"g\"}", LLMUX_OK);
  REQUIRE(g != NULL);
  CHECK_STR_EQ(json_string_at(g, "model_group"), "g");
  CHECK_STR_EQ(json_string_at(g, "providers.0"), "openai");
  CHECK_STR_EQ(json_string_at(g, "providers.1"), "anthropic");
  CHECK(json_number_at(g, "max_input_tokens", -1) == 200000);
  CHECK(json_number_at(g, "rpm", -1) == 7);
  json_free(g);
  json_value* m = query(g_router, "{\"model\":\"gpt-4o\"}", LLMUX_OK);
  REQUIRE(m != NULL);
  CHECK(json_number_at(m, "output_cost_per_token", -1) == 1e-5);
  json_free(m);
}

static void test_bad_queries_and_null_arguments(void) {
  query(g_router, "{\"deployment_id\":\"nope\"}", LLMUX_ERR_NOT_FOUND);
  query(g_router, "{\"model_group\":\"nope\"}", LLMUX_ERR_NOT_FOUND);
  query(g_router, "{\"model\":\"openai/not-a-model-at-all\"}", LLMUX_ERR_NOT_FOUND);
  query(g_router, "{}", LLMUX_ERR_INVALID_ARGUMENT);
  query(g_router, "{\"model_group\":1}", LLMUX_ERR_INVALID_ARGUMENT);
  query(g_router, "not json", LLMUX_ERR_INVALID_ARGUMENT);
  query(g_router, "{\"model_group\":\"caf\xe9\"}", LLMUX_ERR_INVALID_ARGUMENT);
  char* out = (char*)&g_router; /* garbage in: must be reset */
  llmux_error* error = NULL;
  CHECK_STATUS(llmux_router_model_info(NULL, "{}", 2, &out, &error), LLMUX_ERR_INVALID_ARGUMENT, error);
  CHECK(out == NULL);
  llmux_error_free(error);
  CHECK_STATUS(llmux_router_model_info(g_router, NULL, 2, &out, NULL), LLMUX_ERR_INVALID_ARGUMENT, NULL);
  CHECK_STATUS(llmux_router_model_info(g_router, "{}", 2, NULL, NULL), LLMUX_ERR_INVALID_ARGUMENT, NULL);
  /* Exactly len bytes are read. */
  const char* padded = "{\"deployment_id\":\"a\"}garbage";
  CHECK_STATUS(llmux_router_model_info(g_router, padded, 21, &out, NULL), LLMUX_OK, NULL);
  llmux_free(out);
  CHECK_STATUS(llmux_router_reset(NULL, &error), LLMUX_ERR_INVALID_ARGUMENT, error);
  llmux_error_free(error);
  CHECK_STATUS(llmux_router_reset(NULL, NULL), LLMUX_ERR_INVALID_ARGUMENT, NULL);
}

static const char* state_of(llmux_router* router, const char* id, json_value** holder) {
  char* text = NULL;
  CHECK_STATUS(llmux_router_health(router, NULL, &text, NULL), LLMUX_OK, NULL);
  *holder = text ? json_parse(text, strlen(text)) : NULL;
  llmux_free(text);
  for (size_t i = 0; *holder && i < (*holder)->count; i++) {
    const char* item = json_string_at(&(*holder)->items[i], "id");
    if (item && strcmp(item, id) == 0) return json_string_at(&(*holder)->items[i], "state");
  }
  return NULL;
}

static void test_reset_ends_cooldowns(void) {
  char yaml[1024];
  snprintf(yaml, sizeof yaml,
           "model_list:\n"
           "  - {model_name: auth, litellm_params: {model: openai/status-401, api_base: \"%s\", api_key: k},"
           " model_info: {id: bad}}\n"
           "router_settings: {cooldown_time: 600, num_retries: 0}\n",
           g_server.base_url);
  llmux_router* router = new_router(yaml);
  REQUIRE(router != NULL);
  const char* request = "{\"model\":\"auth\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
  char* response = NULL;
  CHECK_STATUS(llmux_completion(router, request, strlen(request), &response, NULL), LLMUX_ERR_AUTHENTICATION, NULL);
  json_value* health = NULL;
  CHECK_STR_EQ(state_of(router, "bad", &health), "cooling_down");
  json_free(health);
  /* Cooling down: nothing to route to. */
  CHECK_STATUS(llmux_completion(router, request, strlen(request), &response, NULL), LLMUX_ERR_NO_DEPLOYMENTS_AVAILABLE, NULL);
  llmux_error* error = (llmux_error*)&router; /* garbage in: must be reset */
  CHECK_STATUS(llmux_router_reset(router, &error), LLMUX_OK, NULL);
  CHECK(error == NULL);
  CHECK_STR_EQ(state_of(router, "bad", &health), "healthy");
  json_free(health);
  /* Routed to again: the provider's own answer, not "no deployments". */
  CHECK_STATUS(llmux_completion(router, request, strlen(request), &response, NULL), LLMUX_ERR_AUTHENTICATION, NULL);
  llmux_router_free(router);
}

int main(int argc, char** argv) {
  if (fake_server_start(&g_server) != 0) {
    fprintf(stderr, "capi_model_info_test: the fake server did not start\n");
    return 1;
  }
  char yaml[2048];
  snprintf(yaml, sizeof yaml,
           "model_list:\n"
           "  - {model_name: g, litellm_params: {model: openai/gpt-4o, api_base: \"%s\", api_key: sk-capi-model-info,"
           " rpm: 3}, model_info: {id: a}}\n"
           "  - {model_name: g, litellm_params: {model: anthropic/claude-haiku-4-5, api_key: sk-capi-model-info,"
           " rpm: 4}, model_info: {id: b}}\n"
           "  - {model_name: c, litellm_params: {model: openai/gpt-4o, input_cost_per_token: 0.5,"
           " api_key: sk-capi-model-info}, model_info: {id: c, max_input_tokens: 999}}\n",
           g_server.base_url);
  g_router = new_router(yaml);
  if (!g_router) {
    fake_server_stop(&g_server);
    return 1;
  }
  static const test_case tests[] = {
      {"deployment_info_reads_the_map_under_the_deployments_values",
       test_deployment_info_reads_the_map_under_the_deployments_values},
      {"group_info_merges_the_deployments", test_group_info_merges_the_deployments},
      {"bad_queries_and_null_arguments", test_bad_queries_and_null_arguments},
      {"reset_ends_cooldowns", test_reset_ends_cooldowns},
  };
  const int exit_code = run_tests("capi_model_info_test", tests, sizeof tests / sizeof *tests, argc, argv);
  llmux_router_free(g_router);
  fake_server_stop(&g_server);
  return exit_code;
}
