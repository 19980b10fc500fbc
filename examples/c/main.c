/* llmux from C (capi/llmux.h): a router from a LiteLLM config, a blocking
 * completion, a stream, an error, and the frees.
 *
 *   llmux_c_example             the deployment answers with a mock_response (no network)
 *   llmux_c_example BASE_URL    it calls an OpenAI-compatible server, e.g. the
 *                               base_url that build/tests/support/llmux_fake_server prints
 *
 * Responses are JSON text (the provider's body plus an "_llmux" object with the
 * router's metadata); parse them with the JSON library of your choice. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <llmux.h>

/* Prints a failed call's error and frees it. */
static void report(const char* what, llmux_status status, llmux_error* error) {
  fprintf(stderr, "%s failed: %s (HTTP %d): %s\n", what, llmux_status_string(status), llmux_error_status(error),
          llmux_error_message(error));
  llmux_error_free(error);
}

/* A stream's callbacks run on the router's I/O thread: this is how the main
 * thread waits for the end. */
typedef struct stream_wait {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int done;
  llmux_status status;
  int chunks;
} stream_wait;

static int on_chunk(void* user_data, const char* chunk, size_t chunk_len) {
  stream_wait* wait = user_data;
  wait->chunks++; /* chunks of one call arrive one at a time */
  printf("  chunk %d: %.*s\n", wait->chunks, (int)chunk_len, chunk);
  return 1; /* 0 would stop the stream */
}

static void on_done(void* user_data, llmux_status status, const char* response, size_t response_len,
                    const llmux_error* error) {
  stream_wait* wait = user_data;
  if (status == LLMUX_OK) {
    printf("  done: %.*s\n", (int)response_len, response);
  } else {
    /* `error` is borrowed: do not free it. */
    fprintf(stderr, "  stream failed: %s: %s\n", llmux_error_type(error), llmux_error_message(error));
  }
  pthread_mutex_lock(&wait->mu);
  wait->status = status;
  wait->done = 1;
  pthread_cond_signal(&wait->cv);
  pthread_mutex_unlock(&wait->mu);
}

int main(int argc, char** argv) {
  char config[1024];
  if (argc > 1) {
    snprintf(config, sizeof config,
             "model_list:\n"
             "  - model_name: gpt-4o\n"
             "    litellm_params: {model: openai/gpt-4o, api_base: \"%s\", api_key: sk-anything}\n"
             "router_settings: {num_retries: 2}\n",
             argv[1]);
  } else {
    snprintf(config, sizeof config,
             "model_list:\n"
             "  - model_name: gpt-4o\n"
             "    litellm_params: {model: openai/gpt-4o, mock_response: \"Hello from a mock deployment.\"}\n");
  }
  printf("llmux %s (ABI %d)\n", llmux_version(), llmux_abi_version());
  if (llmux_abi_version() != LLMUX_ABI_VERSION) {
    fprintf(stderr, "libllmux's ABI version %d does not match this header's %d\n", llmux_abi_version(),
            LLMUX_ABI_VERSION);
    return 1;
  }

  llmux_router* router = NULL;
  llmux_error* error = NULL;
  llmux_status status = llmux_router_new(config, strlen(config), &router, &error);
  if (status != LLMUX_OK) {
    report("llmux_router_new", status, error);
    return 1;
  }

  /* A blocking completion: the response is ours to free. */
  const char* request = "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello!\"}]}";
  char* response = NULL;
  status = llmux_completion(router, request, strlen(request), &response, &error);
  if (status != LLMUX_OK) {
    report("llmux_completion", status, error);
    llmux_router_free(router);
    return 1;
  }
  printf("completion: %s\n", response);
  llmux_free(response);

  /* A stream: chunks, then on_done once. */
  stream_wait wait = {.chunks = 0};
  pthread_mutex_init(&wait.mu, NULL);
  pthread_cond_init(&wait.cv, NULL);
  printf("stream:\n");
  status = llmux_completion_stream(router, request, strlen(request), on_chunk, on_done, &wait, NULL);
  if (status == LLMUX_OK) { /* otherwise on_done is never called */
    pthread_mutex_lock(&wait.mu);
    while (!wait.done) pthread_cond_wait(&wait.cv, &wait.mu);
    pthread_mutex_unlock(&wait.mu);
    status = wait.status;
  }
  pthread_mutex_destroy(&wait.mu);
  pthread_cond_destroy(&wait.cv);

  /* An error: a model group the config does not have. */
  const char* unknown = "{\"model\":\"no-such-model\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";
  const llmux_status expected_failure = llmux_completion(router, unknown, strlen(unknown), &response, &error);
  if (expected_failure != LLMUX_OK) {
    printf("unknown model: %s (HTTP %d): %s\n", llmux_error_type(error), llmux_error_status(error),
           llmux_error_message(error));
    llmux_error_free(error);
  }
  llmux_free(response); /* NULL after a failure: a no-op */

  llmux_router_free(router);
  return status == LLMUX_OK && expected_failure == LLMUX_ERR_BAD_REQUEST ? 0 : 1;
}
