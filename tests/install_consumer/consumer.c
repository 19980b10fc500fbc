/* The installed C ABI from a C program: <llmux.h> and libllmux only; a mock
 * deployment answers without a network. */
#include <stdio.h>
#include <string.h>

#include <llmux.h>

int main(void) {
  if (llmux_abi_version() != LLMUX_ABI_VERSION) {
    fprintf(stderr, "ABI %d, header %d\n", llmux_abi_version(), LLMUX_ABI_VERSION);
    return 1;
  }
  /* The installed llmux_version.h (generated) matches the installed library. */
  if (strcmp(llmux_version(), LLMUX_VERSION_STRING) != 0) {
    fprintf(stderr, "library %s, header %s\n", llmux_version(), LLMUX_VERSION_STRING);
    return 1;
  }
  const char* config =
      "model_list:\n"
      "  - model_name: m\n"
      "    litellm_params: {model: openai/m, mock_response: \"installed llmux works from C\"}\n";
  llmux_router* router = NULL;
  llmux_error* error = NULL;
  if (llmux_router_new(config, strlen(config), &router, &error) != LLMUX_OK) {
    fprintf(stderr, "%s\n", llmux_error_message(error));
    llmux_error_free(error);
    return 1;
  }
  const char* request = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
  char* response = NULL;
  const llmux_status status = llmux_completion(router, request, strlen(request), &response, &error);
  const int ok = status == LLMUX_OK && strstr(response, "installed llmux works from C") != NULL;
  if (!ok) fprintf(stderr, "unexpected answer: %s %s\n", llmux_status_string(status), llmux_error_message(error));
  llmux_free(response);
  llmux_error_free(error);
  llmux_router_free(router);
  if (ok) printf("llmux %s C consumer: ok\n", llmux_version());
  return ok ? 0 : 1;
}
