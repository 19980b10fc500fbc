/* WIP smoke check of the C ABI (not wired into CMake yet; the real C suite comes with issue 4). */
#include <stdio.h>
#include <string.h>
#include "llmux.h"
int main(void) {
  const char* cfg = "model_list:\n  - model_name: g\n    litellm_params:\n      model: openai/m\n      mock_response: hi there\n";
  llmux_router* r = NULL; llmux_error* err = NULL;
  llmux_status s = llmux_router_new(cfg, strlen(cfg), &r, &err);
  printf("new: %d %s\n", s, err ? llmux_error_message(err) : "");
  const char* req = "{\"model\":\"g\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}";
  char* out = NULL;
  s = llmux_completion(r, req, strlen(req), &out, &err);
  printf("completion: %d %s\n", s, out ? out : "");
  llmux_free(out);
  s = llmux_completion(r, "{bad", 4, &out, &err);
  printf("bad: %d type=%s status=%d msg=%s\n", s, llmux_error_type(err), llmux_error_status(err), llmux_error_message(err));
  llmux_error_free(err);
  s = llmux_completion(NULL, req, strlen(req), &out, NULL);
  printf("null router: %d\n", s);
  char* h = NULL; llmux_router_health(r, NULL, &h, NULL); printf("health: %s\n", h); llmux_free(h);
  llmux_router_free(r); llmux_router_free(NULL); llmux_error_free(NULL);
  return 0;
}
