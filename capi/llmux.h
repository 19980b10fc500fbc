/*
 * llmux.h — the C ABI of llmux (DESIGN.md §3.3, issue 4).
 *
The contract for capi/llmux_capi.cpp, the C test suite
 * (tests/capi/) and the Python/Go/Rust bindings (bindings/).
 *
 * Conventions (reference/c-abi-lb-transport.md §A):
 *   - Prefix llmux_, opaque handles, create/free pairs; every free accepts NULL.
 *   - JSON bytes in and out: requests are OpenAI request bodies, responses are the
 *     provider's body plus a "_llmux" object with the router metadata (below).
 *     No per-call object graphs cross the boundary.
 *   - Every function returns llmux_status (LLMUX_OK = 0) and writes results to
 *     out-params; on failure out-params are left NULL/0.
 *   - Rich errors through an optional `llmux_error** out_error` (pass NULL if not
 *     wanted): message, LiteLLM type name, HTTP status, JSON detail. Free with
 *     llmux_error_free.
 *   - Strings the library returns (char*) are NUL-terminated UTF-8, owned by the
 *     caller, and freed with llmux_free. Strings passed in are borrowed for the
 *     duration of the call only (the library copies what it keeps).
 *   - Callbacks take `void* user_data` and run on the router's I/O thread; they
 *     must not block and must not call the blocking functions (llmux_completion,
 *     llmux_embedding) — those return LLMUX_ERR_INVALID_ARGUMENT from a callback.
 *   - No C++ exception ever crosses this boundary.
 */
#ifndef LLMUX_H_
#define LLMUX_H_

#include <stddef.h>
#include <stdint.h>

/* LLMUX_API marks exported symbols (the library builds with
 * -fvisibility=hidden). Define LLMUX_STATIC when linking libllmux.a on Windows. */
#ifndef LLMUX_API
#if defined(_WIN32) && !defined(LLMUX_STATIC)
#if defined(LLMUX_BUILDING)
#define LLMUX_API __declspec(dllexport)
#else
#define LLMUX_API __declspec(dllimport)
#endif
#elif defined(_WIN32)
#define LLMUX_API
#else
#define LLMUX_API __attribute__((visibility("default")))
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Version of this header; llmux_version() gives the library's. */
#define LLMUX_VERSION_MAJOR 0
#define LLMUX_VERSION_MINOR 1
#define LLMUX_VERSION_PATCH 0
#define LLMUX_VERSION_NUMBER (LLMUX_VERSION_MAJOR * 10000 + LLMUX_VERSION_MINOR * 100 + LLMUX_VERSION_PATCH)
/* Bumped on any incompatible change of this header's functions or types. */
#define LLMUX_ABI_VERSION 1

/* Status codes. 0 = success; the others mirror llmux::ErrorKind (stable values,
 * append only), so a binding maps them to its exception classes directly. */
typedef enum llmux_status {
  LLMUX_OK = 0,
  LLMUX_ERR_BAD_REQUEST = 1,
  LLMUX_ERR_CONTEXT_WINDOW_EXCEEDED = 2,
  LLMUX_ERR_CONTENT_POLICY_VIOLATION = 3,
  LLMUX_ERR_AUTHENTICATION = 4,
  LLMUX_ERR_PERMISSION_DENIED = 5,
  LLMUX_ERR_NOT_FOUND = 6,
  LLMUX_ERR_TIMEOUT = 7,
  LLMUX_ERR_RATE_LIMIT = 8,
  LLMUX_ERR_NO_DEPLOYMENTS_AVAILABLE = 9,
  LLMUX_ERR_BUDGET_EXCEEDED = 10,
  LLMUX_ERR_INTERNAL_SERVER = 11,
  LLMUX_ERR_BAD_GATEWAY = 12,
  LLMUX_ERR_SERVICE_UNAVAILABLE = 13,
  LLMUX_ERR_API = 14,
  LLMUX_ERR_CONNECTION = 15,
  LLMUX_ERR_MID_STREAM = 16,
  LLMUX_ERR_CANCELLED = 17,
  LLMUX_ERR_INVALID_CONFIG = 18,
  LLMUX_ERR_INVALID_ARGUMENT = 19, /* also: NULL handle/pointer, invalid UTF-8, bad JSON */
  LLMUX_ERR_OUT_OF_MEMORY = 100,
  LLMUX_ERR_INTERNAL = 101 /* a bug in llmux: please report */
} llmux_status;

typedef struct llmux_router llmux_router; /* opaque */
typedef struct llmux_error llmux_error;   /* opaque */

/* ---- library ------------------------------------------------------------ */

/* "0.1.0". Static string: do not free. Thread-safe. */
LLMUX_API const char* llmux_version(void);
/* LLMUX_ABI_VERSION of the loaded library (check it against the header's). */
LLMUX_API int llmux_abi_version(void);
/* Frees a string returned by the library. NULL is a no-op. Thread-safe. */
LLMUX_API void llmux_free(void* ptr);
/* "OK", "RateLimitError", ... for any status (unknown values: "UnknownError").
 * Static string: do not free. Thread-safe. */
LLMUX_API const char* llmux_status_string(llmux_status status);

/* ---- errors ------------------------------------------------------------- */

/* Message (never contains an API key). Owned by the error: valid until
 * llmux_error_free. NULL error → "". */
LLMUX_API const char* llmux_error_message(const llmux_error* error);
/* LiteLLM exception class name ("RateLimitError", "Timeout", ...). Owned by the error. */
LLMUX_API const char* llmux_error_type(const llmux_error* error);
/* The status LiteLLM would report (429, 408, ...); 0 for a NULL error. */
LLMUX_API int llmux_error_status(const llmux_error* error);
/* The status code (kind) as llmux_status. */
LLMUX_API llmux_status llmux_error_code(const llmux_error* error);
/* Everything as JSON: {"type","message","status","kind","llm_provider",
 * "retry_after_seconds","_llmux":{metadata}}. Owned by the error. */
LLMUX_API const char* llmux_error_json(const llmux_error* error);
/* Frees an error. NULL is a no-op. */
LLMUX_API void llmux_error_free(llmux_error* error);

/* ---- router ------------------------------------------------------------- */

/* Builds a router from LiteLLM config text (YAML or JSON, `len` bytes; the
 * text need not be NUL-terminated). On success *out_router owns a router:
 * free it with llmux_router_free. Thread-safe. */
LLMUX_API llmux_status llmux_router_new(const char* config, size_t len, llmux_router** out_router,
                                          llmux_error** out_error);
/* Cancels the calls still in flight (their done callbacks run with
 * LLMUX_ERR_CANCELLED before this returns), joins the I/O thread, frees the
 * router. NULL is a no-op. Must not be called from a router callback. */
LLMUX_API void llmux_router_free(llmux_router* router);

/* ---- calls -------------------------------------------------------------- */

/* Blocking chat completion. `request` is an OpenAI chat-completions body
 * (router-only keys honoured and stripped). *out_response (caller frees with
 * llmux_free) is the provider's JSON body with a "_llmux" member added:
 * {"call_id","model_group","deployment_id","api_base","attempts","retries",
 * "max_retries","fallbacks","latency_ms","time_to_first_token_ms",
 * "response_cost","usage":{...},"headers":{x-litellm-*...}}.
 * Thread-safe; must not be called from a router callback. */
LLMUX_API llmux_status llmux_completion(llmux_router* router, const char* request, size_t len,
                                          char** out_response, llmux_error** out_error);

/* Runs once per call with the final outcome, on the I/O thread. On success
 * `response` is the JSON above and `error` is NULL; on failure `response` is
 * NULL. Both are borrowed: valid only during the callback (copy what you keep). */
typedef void (*llmux_done_callback)(void* user_data, llmux_status status, const char* response, size_t response_len,
                                    const llmux_error* error);

/* Asynchronous completion. Returns at once; *out_call_id (may be NULL) gets an
 * id for llmux_cancel. `on_done` is called exactly once — also when this
 * function fails after taking the request (then on the I/O thread as well);
 * when it returns an error status before taking it (NULL router/request,
 * invalid UTF-8), on_done is not called. Thread-safe. */
LLMUX_API llmux_status llmux_completion_async(llmux_router* router, const char* request, size_t len,
                                                llmux_done_callback on_done, void* user_data, uint64_t* out_call_id);

/* One stream chunk: an OpenAI chat.completion.chunk JSON object, borrowed for
 * the callback. Return nonzero to go on, 0 to stop the stream (the call then
 * ends with LLMUX_ERR_CANCELLED). */
typedef int (*llmux_chunk_callback)(void* user_data, const char* chunk, size_t chunk_len);

/* Streaming completion ("stream": true implied). Chunks in order, then on_done
 * once (response: {"_llmux":{...}} with usage and the serving model). */
LLMUX_API llmux_status llmux_completion_stream(llmux_router* router, const char* request, size_t len,
                                                 llmux_chunk_callback on_chunk, llmux_done_callback on_done,
                                                 void* user_data, uint64_t* out_call_id);

/* Cancels a call in flight; its on_done reports LLMUX_ERR_CANCELLED.
 * LLMUX_ERR_NOT_FOUND when it already finished or is unknown. Thread-safe;
 * callable from callbacks. */
LLMUX_API llmux_status llmux_cancel(llmux_router* router, uint64_t call_id);

/* Blocking embeddings (OpenAI /embeddings body). Same ownership as llmux_completion. */
LLMUX_API llmux_status llmux_embedding(llmux_router* router, const char* request, size_t len,
                                         char** out_response, llmux_error** out_error);

/* Asynchronous embeddings: llmux_completion_async's contract for an
 * /embeddings body. */
LLMUX_API llmux_status llmux_embedding_async(llmux_router* router, const char* request, size_t len,
                                             llmux_done_callback on_done, void* user_data, uint64_t* out_call_id);

/* ---- deployments, health, metrics --------------------------------------- */

/* Adds one deployment (a model_list entry as YAML or JSON). Thread-safe. */
LLMUX_API llmux_status llmux_router_add_deployment(llmux_router* router, const char* deployment, size_t len,
                                                     llmux_error** out_error);
/* Removes a deployment by id (NUL-terminated). Calls in flight finish normally. */
LLMUX_API llmux_status llmux_router_remove_deployment(llmux_router* router, const char* id,
                                                        llmux_error** out_error);
/* The current deployments as a JSON array of model_list entries
 * {"model_name","litellm_params":{...},"model_info":{"id",...}} — api_key and
 * other secrets replaced by "***". Caller frees *out_json with llmux_free. Thread-safe. */
LLMUX_API llmux_status llmux_router_deployments(llmux_router* router, char** out_json, llmux_error** out_error);
/* Health of the deployments of `model_group` (NULL or "" = all) as a JSON
 * array of {"id","model_group","api_base","healthy","state","reason","status",
 * "cooldown_remaining_seconds","trips","in_flight","requests_this_minute",
 * "tokens_this_minute"}. Caller frees *out_json with llmux_free. */
LLMUX_API llmux_status llmux_router_health(llmux_router* router, const char* model_group, char** out_json,
                                             llmux_error** out_error);
/* Router metrics as Prometheus text exposition. Caller frees with llmux_free. */
LLMUX_API llmux_status llmux_router_metrics(llmux_router* router, char** out_text, llmux_error** out_error);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* LLMUX_H_ */
