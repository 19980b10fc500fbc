/*
 * llmux.h — the C ABI of llmux.
 *
 * The contract for capi/llmux_capi.cpp, the C test suite (tests/capi/) and
 * the Python/Go/Rust bindings (bindings/). Installed as <llmux.h>
 * (`pkg-config --cflags --libs llmux`, or CMake's find_package(llmux) and
 * llmux::llmux).
 *
 * Conventions (those of llama.cpp, duckdb, curl and zstd):
 *   - Prefix llmux_, opaque handles, create/free pairs; every free accepts NULL.
 *   - JSON bytes in and out: requests are OpenAI request bodies, responses are the
 *     provider's body plus a "_llmux" object with the router metadata (below).
 *     No per-call object graphs cross the boundary.
 *   - Every function returns llmux_status (LLMUX_OK = 0) and writes results to
 *     out-params; on failure out-params are left NULL/0.
 *   - Rich errors through an optional `llmux_error** out_error` (pass NULL if not
 *     wanted): message, LiteLLM type name, HTTP status, JSON detail. On success
 *     *out_error is set to NULL; on failure to an error (never NULL, even when
 *     out of memory) that the caller frees with llmux_error_free.
 *   - Arguments: a NULL handle or a NULL required pointer gives
 *     LLMUX_ERR_INVALID_ARGUMENT (with a message naming the function). Text
 *     passed with a length (`const char* text, size_t len`) is exactly `len`
 *     bytes and need not be NUL-terminated; text passed without one (ids, model
 *     group names) is NUL-terminated. All text must be UTF-8: anything else is
 *     LLMUX_ERR_INVALID_ARGUMENT "<function>: <argument>: not valid UTF-8".
 *   - Strings the library returns (char*) are NUL-terminated UTF-8, owned by the
 *     caller, and freed with llmux_free. Strings passed in are borrowed for the
 *     duration of the call only (the library copies what it keeps).
 *   - Callbacks take `void* user_data` and run on the router's I/O thread, one
 *     at a time (log callbacks: see llmux_log_callback); they must not block. The blocking functions (llmux_completion,
 *     llmux_embedding, llmux_router_check_health) return
 *     LLMUX_ERR_INVALID_ARGUMENT when called from any llmux callback (they
 *     would deadlock); the asynchronous ones, llmux_cancel and the other
 *     deployment/health/metrics functions may be called from callbacks.
 *   - No C++ exception ever crosses this boundary, in either direction: an
 *     exception thrown by a callback written in C++ is caught and dropped (from
 *     a chunk callback it stops the stream).
 *   - Additions keep LLMUX_ABI_VERSION: new functions, new enum values, and new
 *     fields at the end of a size-prefixed struct (struct_size first).
 */
#ifndef LLMUX_H_
#define LLMUX_H_

#include <stddef.h>
#include <stdint.h>

/* LLMUX_API and the LLMUX_VERSION_* macros (MAJOR, MINOR, PATCH, NUMBER,
 * STRING): generated from the project version at configure time. */
#include "llmux_version.h"

#ifdef __cplusplus
extern "C" {
#endif

/* LLMUX_VERSION_* (llmux_version.h) is the version of these headers;
 * llmux_version() gives the loaded library's. */
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

/* The library's LLMUX_VERSION_STRING ("0.1.0"). Static string: do not free. Thread-safe. */
LLMUX_API const char* llmux_version(void);
/* LLMUX_ABI_VERSION of the loaded library (check it against the header's). */
LLMUX_API int llmux_abi_version(void);
/* Frees a string returned by the library. NULL is a no-op. Thread-safe. */
LLMUX_API void llmux_free(void* ptr);
/* "OK", "RateLimitError", ... for any status (unknown values: "UnknownError").
 * Static string: do not free. Thread-safe. */
LLMUX_API const char* llmux_status_string(llmux_status status);

/* ---- logging ------------------------------------------------------------ */

/* How serious a log message is. */
typedef enum llmux_log_level {
  LLMUX_LOG_DEBUG = 1,
  LLMUX_LOG_INFO = 2,
  LLMUX_LOG_WARN = 3, /* e.g. a config key llmux accepts but does not use */
  LLMUX_LOG_ERROR = 4 /* e.g. a misuse the library refused (freeing a router from its own callback) */
} llmux_log_level;

/* Receives one log message: NUL-terminated UTF-8 without a trailing newline,
 * `message_len` bytes without the NUL, borrowed for the call. Runs on the
 * thread that caused the message: config warnings on the thread creating the
 * router (before llmux_router_new returns), notes about calls on the router's
 * I/O thread, a refused llmux_router_free on the thread that called it. It
 * may run on several threads at once and must not block. */
typedef void (*llmux_log_callback)(void* user_data, llmux_log_level level, const char* message,
                                   size_t message_len);

/* Sets the process-wide log callback (as llama.cpp's llama_log_set): every
 * message of a router without a log of its own (llmux_router_options.log)
 * goes to it. NULL restores the default, stderr ("llmux: warning: ..."). The
 * callback is looked up for each message, so it also applies to routers that
 * already exist. Thread-safe; a message being logged on another thread at the
 * moment of the change may still reach the previous callback. */
LLMUX_API void llmux_log_set(llmux_log_callback callback, void* user_data);

/* ---- errors ------------------------------------------------------------- */

/* The accessors accept NULL and never fail. Strings are owned by the error:
 * valid until llmux_error_free. An error is immutable: the accessors are
 * thread-safe. */

/* Message (never contains an API key). NULL error → "". */
LLMUX_API const char* llmux_error_message(const llmux_error* error);
/* LiteLLM exception class name ("RateLimitError", "Timeout", ...; for the
 * statuses without one: "OutOfMemory", "InternalError"). NULL error → "". */
LLMUX_API const char* llmux_error_type(const llmux_error* error);
/* The status LiteLLM would report (429, 408, ...); 0 for a NULL error. */
LLMUX_API int llmux_error_status(const llmux_error* error);
/* The status code (kind) as llmux_status; LLMUX_OK for a NULL error. */
LLMUX_API llmux_status llmux_error_code(const llmux_error* error);
/* Everything as JSON: {"type","message","status","kind","llm_provider",
 * "retry_after_seconds","_llmux":{metadata}}. NULL error → "{}". */
LLMUX_API const char* llmux_error_json(const llmux_error* error);
/* Frees an error from an out_error parameter. NULL is a no-op. Never pass the
 * `error` of a done callback (it is borrowed). */
LLMUX_API void llmux_error_free(llmux_error* error);

/* ---- router ------------------------------------------------------------- */

/* Builds a router from LiteLLM config text (YAML or JSON, `len` bytes; the
 * text need not be NUL-terminated). On success *out_router owns a router:
 * free it with llmux_router_free. A wrong config is LLMUX_ERR_INVALID_CONFIG
 * with a message naming the key path. Config warnings go to the process-wide
 * log (llmux_log_set; stderr by default) before this returns. Thread-safe.
 * Same as llmux_router_new_with_options with NULL options. */
LLMUX_API llmux_status llmux_router_new(const char* config, size_t len, llmux_router** out_router,
                                          llmux_error** out_error);

/* One routing event as a JSON object (NUL-terminated, `event_len` bytes
 * without the NUL, borrowed for the call):
 *   {"type": "success" | "failure" | "retry" | "fallback" | "cooldown" | "recovered"
 *            | "shared_state_down" | "shared_state_up",
 *    "call_id",           the call (llmux_completion_async's *out_call_id)
 *    "model_group",       group of the attempt (fallback: the group that failed)
 *    "deployment_id",     deployment concerned, "" when none
 *    "fallback_group",    fallback: the group entered, else ""
 *    "cooldown_seconds",  cooldown: its length, else 0
 *    "retry_in_seconds",  retry: the wait before the next attempt, else 0
 *    "response_cost",     success/failure: the call's cost, else 0
 *    "error",             failure, retry, fallback, cooldown: the cause as
 *                         llmux_error_json's object; null otherwise
 *    "metadata",          success/failure: the "_llmux" object of a response
 *                         (attempts, retries, fallbacks, attempt_log, ...); else null
 *    "usage"}             success: {prompt_tokens, completion_tokens,
 *                         total_tokens, reported}; else null
 * "type" and "call_id" always come first, in that order (a reader may pick
 * them out without a full parse). success and failure come once per call,
 * just before its on_done; retry,
 * fallback and cooldown as they happen; recovered when a half-open
 * deployment's probe succeeds; shared_state_down / shared_state_up (call_id 0,
 * "error" says why it went down) when the shared state (Redis) becomes
 * unreachable (routing goes on locally) or reachable again. Runs on the I/O thread, one at a time, like the
 * other callbacks (the same rules: must not block; no blocking llmux call). */
typedef void (*llmux_event_callback)(void* user_data, const char* event_json, size_t event_len);

/* Options of llmux_router_new_with_options. Versioned by size: initialise it
 * with LLMUX_ROUTER_OPTIONS_INIT (or set struct_size to
 * sizeof(llmux_router_options) and zero the rest), then set what you need.
 * Fields added in later versions go at the end; a library reads only the
 * fields within struct_size (older callers get the defaults for the rest) and
 * refuses a larger struct whose unknown trailing bytes are not all zero. */
typedef struct llmux_router_options {
  size_t struct_size;
  /* Routing events (NULL: none). */
  llmux_event_callback on_event;
  void* event_user_data;
  /* This router's log (NULL: the process-wide one, llmux_log_set). Receives
   * the config warnings while the router is being created, on the creating
   * thread. */
  llmux_log_callback log;
  void* log_user_data;
  /* Seed of the routing randomness (shuffles, jitter); 0 = random. */
  uint64_t random_seed;
} llmux_router_options;

#define LLMUX_ROUTER_OPTIONS_INIT {sizeof(llmux_router_options), NULL, NULL, NULL, NULL, 0}

/* llmux_router_new with options (NULL = the defaults). The options are copied:
 * the struct need not outlive the call, but the user_data pointers must stay
 * valid until llmux_router_free returns. LLMUX_ERR_INVALID_ARGUMENT for a
 * struct_size smaller than the first version of the struct (this one), or a
 * larger struct than this library knows with nonzero unknown bytes.
 * Thread-safe. */
LLMUX_API llmux_status llmux_router_new_with_options(const char* config, size_t len,
                                                       const llmux_router_options* options,
                                                       llmux_router** out_router, llmux_error** out_error);

/* Cancels the calls still in flight (their done callbacks run with
 * LLMUX_ERR_CANCELLED before this returns; a call started from one of those
 * callbacks gets its on_done(LLMUX_ERR_CANCELLED) at once), joins the I/O
 * thread, frees the router. NULL is a no-op. No other thread may use the
 * router during or after this call.
 * From a callback of this same router it would deadlock (the router waits for
 * that callback to return): that is detected, logged (LLMUX_LOG_ERROR, to the
 * router's log or the process-wide one) and ignored —
 * the router stays alive, and must be freed from another thread. From a
 * callback of another router it works, but blocks that router's I/O thread
 * until this router's calls are cancelled. */
LLMUX_API void llmux_router_free(llmux_router* router);

/* ---- calls -------------------------------------------------------------- */

/* Blocking chat completion. `request` is an OpenAI chat-completions body
 * (router-only keys honoured and stripped). *out_response (caller frees with
 * llmux_free) is the provider's JSON body with a "_llmux" member added:
 * {"call_id","model_group","deployment_id","api_base","attempts","retries",
 * "max_retries","fallbacks","latency_ms","time_to_first_token_ms",
 * "response_cost","usage":{...},"headers":{x-litellm-*...}}.
 * Errors: a body that is not a JSON object with the required keys is
 * LLMUX_ERR_INVALID_ARGUMENT; an unknown model group LLMUX_ERR_BAD_REQUEST;
 * the provider's failures are classified as LiteLLM does.
 * Thread-safe; from a router callback it returns LLMUX_ERR_INVALID_ARGUMENT. */
LLMUX_API llmux_status llmux_completion(llmux_router* router, const char* request, size_t len,
                                          char** out_response, llmux_error** out_error);

/* A string inside an llmux_completion_parts block: `len` bytes at `data`,
 * followed by a NUL (`data` is never NULL; "" when empty). */
typedef struct llmux_string {
  const char* data;
  size_t len;
} llmux_string;

/* One response header: lower-case name and value. */
typedef struct llmux_header {
  llmux_string name;
  llmux_string value;
} llmux_header;

/* llmux_completion's answer with the router metadata as plain fields instead
 * of the "_llmux" JSON member, for bindings that decode the body into their
 * own types: they parse only the provider's body and copy the metadata, and
 * the library writes no "_llmux" JSON. The fields mean what the "_llmux"
 * members of the same name mean (usage is the "_llmux" usage, finish_reason
 * has len 0 where "_llmux" has none; the attempt log is only in the JSON).
 * Fields may be added at the end: read what `struct_size` covers. */
typedef struct llmux_completion_parts {
  size_t struct_size;   /* sizeof the struct the library filled */
  llmux_string body;    /* the provider's JSON body, verbatim ("" when there is none) */
  uint64_t call_id;
  llmux_string requested_model;
  llmux_string model_group;
  llmux_string fallback_model_group;
  llmux_string deployment_id;
  llmux_string deployment_model;
  llmux_string provider;
  llmux_string api_base;
  int attempts;
  int retries;
  int max_retries;
  int fallbacks;
  double latency_ms;
  double time_to_first_token_ms;
  double response_cost;
  int64_t prompt_tokens;
  int64_t completion_tokens;
  int64_t total_tokens;
  int usage_reported;   /* nonzero: the provider reported the usage (else llmux estimated it) */
  llmux_string finish_reason;
  const llmux_header* headers;  /* LiteLLM's x-litellm-* headers, "_llmux"."headers" in order */
  size_t header_count;
} llmux_completion_parts;

/* llmux_completion with the answer as an llmux_completion_parts: same
 * request, same errors, same thread safety. On success *out_parts is ONE
 * allocation holding the struct and every string and header it points to;
 * the caller frees it with llmux_free (nothing inside is freed on its own).
 * It belongs to the caller alone and may be read from any thread. */
LLMUX_API llmux_status llmux_completion_split(llmux_router* router, const char* request, size_t len,
                                              llmux_completion_parts** out_parts, llmux_error** out_error);

/* Runs once per call with the final outcome, on the I/O thread. On success
 * `status` is LLMUX_OK, `response` is the JSON above (NUL-terminated,
 * `response_len` bytes without the NUL) and `error` is NULL; on failure
 * `response` is NULL, `response_len` 0 and `error` describes the failure
 * (never NULL). Both are borrowed: valid only during the callback (copy what
 * you keep; do not llmux_error_free the error). */
typedef void (*llmux_done_callback)(void* user_data, llmux_status status, const char* response, size_t response_len,
                                    const llmux_error* error);

/* Asynchronous completion. Returns at once; *out_call_id (may be NULL) gets an
 * id for llmux_cancel.
 *   - LLMUX_OK: the call was taken. `on_done` is then called exactly once, on
 *     the I/O thread, with the outcome — also when the router rejects the
 *     request (invalid JSON, unknown model group: the error comes through
 *     on_done), when the call is cancelled, and when the router is freed while
 *     it is in flight (LLMUX_ERR_CANCELLED).
 *   - Any other status: nothing was started and `on_done` is never called;
 *     *out_call_id is 0. LLMUX_ERR_INVALID_ARGUMENT for a NULL router, request
 *     or on_done, or a request that is not UTF-8; LLMUX_ERR_OUT_OF_MEMORY.
 * Thread-safe; callable from callbacks. */
LLMUX_API llmux_status llmux_completion_async(llmux_router* router, const char* request, size_t len,
                                                llmux_done_callback on_done, void* user_data, uint64_t* out_call_id);

/* One stream chunk: an OpenAI chat.completion.chunk JSON object
 * (NUL-terminated, `chunk_len` bytes without the NUL), borrowed for the
 * callback. Return nonzero to go on, 0 to stop the stream: no chunk follows,
 * and on_done reports LLMUX_ERR_CANCELLED. */
typedef int (*llmux_chunk_callback)(void* user_data, const char* chunk, size_t chunk_len);

/* Streaming completion ("stream": true implied). Chunks in order, then on_done
 * once (response: {"_llmux":{...}} with usage and the serving model). A failure
 * before the first chunk is retried/failed over invisibly; after it the call
 * ends with LLMUX_ERR_MID_STREAM. When on_done is called (and when it is not)
 * is llmux_completion_async's contract; on_chunk is required too.
 * Thread-safe; callable from callbacks. */
LLMUX_API llmux_status llmux_completion_stream(llmux_router* router, const char* request, size_t len,
                                                 llmux_chunk_callback on_chunk, llmux_done_callback on_done,
                                                 void* user_data, uint64_t* out_call_id);

/* Cancels a call in flight; its on_done reports LLMUX_ERR_CANCELLED (unless it
 * was already finishing). LLMUX_ERR_NOT_FOUND when the id is unknown or the
 * call finished (while its on_done runs the call still counts as in flight:
 * cancelling it then returns LLMUX_OK and changes nothing). Thread-safe;
 * callable from callbacks. */
LLMUX_API llmux_status llmux_cancel(llmux_router* router, uint64_t call_id);

/* Blocking embeddings (OpenAI /embeddings body). llmux_completion's contract
 * (ownership, errors, threads). */
LLMUX_API llmux_status llmux_embedding(llmux_router* router, const char* request, size_t len,
                                         char** out_response, llmux_error** out_error);

/* Asynchronous embeddings: llmux_completion_async's contract for an
 * /embeddings body. Thread-safe; callable from callbacks. */
LLMUX_API llmux_status llmux_embedding_async(llmux_router* router, const char* request, size_t len,
                                             llmux_done_callback on_done, void* user_data, uint64_t* out_call_id);

/* ---- other endpoints ------------------------------------------------------ */

/* The OpenAI endpoints llmux_call serves. Text completions (/completions),
 * moderations (/moderations) and the Responses API (/responses) are passed
 * through to OpenAI-compatible deployments and answered by mock_response; a
 * deployment of another provider family fails them with
 * LLMUX_ERR_BAD_REQUEST naming the endpoint and the provider. */
typedef enum llmux_endpoint {
  LLMUX_ENDPOINT_CHAT_COMPLETIONS = 0,
  LLMUX_ENDPOINT_EMBEDDINGS = 1,
  LLMUX_ENDPOINT_TEXT_COMPLETIONS = 2,
  LLMUX_ENDPOINT_MODERATIONS = 3,
  LLMUX_ENDPOINT_RESPONSES = 4
} llmux_endpoint;

/* Blocking call of `endpoint` with its OpenAI request body ("model" plus
 * "messages", "input" or "prompt"), routed with retries, fallbacks and
 * cooldowns; non-streaming (a "stream" member is dropped). The response is
 * the provider's body with "_llmux" added, as llmux_completion's.
 * LLMUX_ERR_INVALID_ARGUMENT for an endpoint value outside llmux_endpoint.
 * llmux_completion's contract otherwise (ownership, errors, threads). */
LLMUX_API llmux_status llmux_call(llmux_router* router, llmux_endpoint endpoint, const char* request, size_t len,
                                    char** out_response, llmux_error** out_error);

/* Asynchronous llmux_call: llmux_completion_async's contract.
 * LLMUX_ERR_INVALID_ARGUMENT (on_done not called) for an endpoint value
 * outside llmux_endpoint. Thread-safe; callable from callbacks. */
LLMUX_API llmux_status llmux_call_async(llmux_router* router, llmux_endpoint endpoint, const char* request,
                                          size_t len, llmux_done_callback on_done, void* user_data,
                                          uint64_t* out_call_id);

/* ---- deployments, health, metrics --------------------------------------- */

/* Adds one deployment (a model_list entry as YAML or JSON, `len` bytes, need
 * not be NUL-terminated); calls started afterwards may route to it.
 * LLMUX_ERR_INVALID_CONFIG for an entry that does not parse;
 * LLMUX_ERR_INVALID_ARGUMENT when its id (model_info.id) already exists.
 * Thread-safe. */
LLMUX_API llmux_status llmux_router_add_deployment(llmux_router* router, const char* deployment, size_t len,
                                                     llmux_error** out_error);
/* Removes a deployment by id (NUL-terminated UTF-8). Calls in flight to it
 * finish normally; later calls no longer route to it.
 * LLMUX_ERR_NOT_FOUND when no deployment has that id. Thread-safe. */
LLMUX_API llmux_status llmux_router_remove_deployment(llmux_router* router, const char* id,
                                                        llmux_error** out_error);
/* Registers model prices and context windows at run time (LiteLLM's
 * litellm.register_model): `json` (`len` bytes of UTF-8, need not be
 * NUL-terminated) is an object of model key -> entry in LiteLLM's model map
 * format, e.g. {"openai/my-model": {"input_cost_per_token": 1e-6,
 * "output_cost_per_token": 2e-6, "max_input_tokens": 8192}}. A key naming a
 * known model updates its entry field by field. Deployments that set no
 * price or max_input_tokens of their own use the result from the next call
 * on (cost-based routing, budgets, response_cost, the context-window check).
 * LLMUX_ERR_INVALID_CONFIG, registering nothing, for malformed JSON or a field
 * of the wrong type. The library copies what it needs; `json` stays the
 * caller's. This router only. Thread-safe. */
LLMUX_API llmux_status llmux_router_register_model(llmux_router* router, const char* json, size_t len,
                                                     llmux_error** out_error);
/* The current deployments as a JSON array of model_list entries
 * {"model_name","litellm_params":{...},"model_info":{"id",...}} — api_key and
 * other secrets replaced by "***". Caller frees *out_json with llmux_free. Thread-safe. */
LLMUX_API llmux_status llmux_router_deployments(llmux_router* router, char** out_json, llmux_error** out_error);
/* Model info: what a deployment, a model group or a model offers — context
 * window, prices, mode, supports_* flags — from the model price map with the
 * deployment's own values over it (model_info, then litellm_params' custom
 * prices), as LiteLLM's get_router_model_info / get_model_group_info /
 * litellm.get_model_info answer. `query` (`len` bytes of UTF-8 JSON) holds
 * exactly one of:
 *   {"deployment_id": "<id>", "received_model_name": "<name>"?}  one deployment
 *     -> {"key","mapped","id","model_group","max_tokens","max_input_tokens",
 *         "max_output_tokens","input_cost_per_token","output_cost_per_token",
 *         "cache_read_input_token_cost","cache_creation_input_token_cost",
 *         "litellm_provider","mode","tpm","rpm","supports_*"..., and the
 *         deployment's other model_info keys}
 *   {"model_group": "<group or alias>"}
 *     -> {"model_group","providers","max_input_tokens","max_output_tokens",
 *         "input_cost_per_token","output_cost_per_token","mode","tpm","rpm",
 *         "supports_*"...,"deployment_ids"}  (largest limits and prices, tpm/rpm summed)
 *   {"model": "<name>", "custom_llm_provider": "<provider>"?}  the map alone
 * Unset values are null. LLMUX_ERR_NOT_FOUND for an unknown deployment or
 * group or an unmapped model; LLMUX_ERR_INVALID_ARGUMENT for a bad query.
 * Caller frees *out_json with llmux_free. Thread-safe. */
LLMUX_API llmux_status llmux_router_model_info(llmux_router* router, const char* query, size_t len, char** out_json,
                                                llmux_error** out_error);
/* LiteLLM's Router.reset for routing state: every cooldown ends, failure
 * counts and the rpm/tpm minute counters start afresh. Deployments, prices,
 * settings and calls in flight are untouched. Thread-safe. */
LLMUX_API llmux_status llmux_router_reset(llmux_router* router, llmux_error** out_error);
/* Health of the deployments of `model_group` (NUL-terminated; NULL or "" = all;
 * an unknown group gives "[]") as a JSON
 * array of {"id","model_group","api_base","healthy","state","reason","status",
 * "cooldown_remaining_seconds","trips","in_flight","requests_this_minute",
 * "tokens_this_minute","last_check","failed_health_check",
 * "next_health_check_seconds"}; state is "healthy", "cooling_down",
 * "half_open", "probing" or "failed_health_check" (routed around for a failed
 * active health check, enable_health_check_routing). last_check is the
 * latest active health check, null when none: {"deployment_id",
 * "model_group","mode","model","healthy","skipped","error_type","status",
 * "reason","checked_at" (Unix seconds),"latency_ms","checked_by" ("this
 * replica", or the id of the replica that shared it)}.
 * next_health_check_seconds is -1 when no background check is scheduled.
 * Caller frees *out_json with llmux_free. Thread-safe. */
LLMUX_API llmux_status llmux_router_health(llmux_router* router, const char* model_group, char** out_json,
                                             llmux_error** out_error);
/* The active health checks of `model_group`'s deployments (NUL-terminated;
 * NULL or "" = all; an unknown group gives empty lists) in the shape of
 * LiteLLM's /health answer, from the latest results (nothing is sent):
 *   {"healthy_endpoints": [...], "unhealthy_endpoints": [...],
 *    "unchecked_endpoints": [...], "healthy_count", "unhealthy_count",
 *    "unchecked_count"}
 * each endpoint {"model","model_group","model_id","api_base","mode","error",
 * "error_type","status","last_check_at","latency_ms","checked_by","stale",
 * "routed_around"}: "error" is the failed check's reason (unchecked: why
 * there is no result), never a key; "last_check_at" is Unix seconds (0 =
 * never). Caller frees *out_json with llmux_free. Thread-safe. */
LLMUX_API llmux_status llmux_router_health_report(llmux_router* router, const char* model_group, char** out_json,
                                                    llmux_error** out_error);
/* Runs the active health check of every deployment of `model_group`
 * (NUL-terminated; NULL or "" = all) now, waits until each ended (at most its
 * health_check_timeout, 60 s by default), and returns the report in
 * llmux_router_health_report's shape. The results count for routing like
 * background ones. A failing deployment is not an error: it is listed under
 * "unhealthy_endpoints". Caller frees *out_json with llmux_free. Blocking:
 * thread-safe, but from a router callback it returns
 * LLMUX_ERR_INVALID_ARGUMENT. */
LLMUX_API llmux_status llmux_router_check_health(llmux_router* router, const char* model_group, char** out_json,
                                                   llmux_error** out_error);
/* Router metrics as Prometheus text exposition (version 0.0.4): calls by group
 * and outcome, per-deployment attempts/failures/cooldowns, the health gauges;
 * no API key. Caller frees *out_text with llmux_free. Thread-safe. */
LLMUX_API llmux_status llmux_router_metrics(llmux_router* router, char** out_text, llmux_error** out_error);

/* ---- Routing decisions, group usage and settings at run time ---- */

/* llmux_router_pick flags. */
/* `model` is a litellm_params.model: the pick is among the deployments with
 * that model (LiteLLM's specific_deployment); else a deployment id, returned
 * as it is. */
#define LLMUX_PICK_SPECIFIC_DEPLOYMENT 1u
/* The returned deployment keeps api_key and other secrets (else "***"). */
#define LLMUX_PICK_INCLUDE_SECRETS 2u
/* The deployment a call with `request` (an OpenAI request body, UTF-8, `len`
 * bytes; "messages"/"input" may be left out) would try first: the same group
 * resolution, filters (cooldown, rpm/tpm, max_parallel_requests, tags,
 * budgets, context window, order tiers) and routing strategy. Sends nothing
 * and counts nothing. *out_json = {"id","model_group","deployment":
 * {"model_name","litellm_params","model_info"}}, freed with llmux_free.
 * Errors: LLMUX_ERR_BAD_REQUEST for an unknown model, the call's own status when
 * every deployment is filtered out (e.g. LLMUX_ERR_NO_DEPLOYMENTS_AVAILABLE),
 * LLMUX_ERR_INVALID_ARGUMENT for NULL or malformed input. Thread-safe; allowed
 * from a router callback. */
LLMUX_API llmux_status llmux_router_pick(llmux_router* router, const char* request, size_t len, unsigned flags,
                                         char** out_json, llmux_error** out_error);
/* The current minute's use of `model_group` (NUL-terminated), summed over its
 * deployments: *out_json = {"model_group","tpm","rpm","tpm_limit",
 * "rpm_limit","headers"} (limits null when no deployment has one; "headers"
 * holds x-ratelimit-remaining-/limit- tokens/requests for the limits set),
 * freed with llmux_free. LLMUX_ERR_NOT_FOUND for an unknown group. Thread-safe. */
LLMUX_API llmux_status llmux_router_model_group_usage(llmux_router* router, const char* model_group, char** out_json,
                                                      llmux_error** out_error);
/* The settings in force, as LiteLLM's Router.get_settings() names them
 * (routing_strategy, routing_strategy_args, num_retries, timeout,
 * stream_timeout, retry_after, allowed_fails, allowed_fails_policy,
 * cooldown_time, disable_cooldowns, retry_policy, model_group_retry_policy,
 * fallbacks, default_fallbacks, context_window_fallbacks,
 * content_policy_fallbacks, max_fallbacks, enable_pre_call_checks,
 * enable_tag_filtering, tag_filtering_match_any, model_group_alias,
 * max_retries). Caller frees *out_json with llmux_free. Thread-safe. */
LLMUX_API llmux_status llmux_router_settings(llmux_router* router, char** out_json, llmux_error** out_error);
/* Changes settings: `json` (UTF-8, `len` bytes) is an object of the keys
 * llmux_router_settings reports (null restores a key's default). All or
 * nothing: on error (LLMUX_ERR_INVALID_ARGUMENT naming the key) nothing changed.
 * Calls in flight keep the settings they started with; calls made after it
 * returns use the new ones. Thread-safe. */
LLMUX_API llmux_status llmux_router_update_settings(llmux_router* router, const char* json, size_t len,
                                                    llmux_error** out_error);

/* ---- completion queues ---------------------------------------------------
 * For bindings whose runtime makes a callback from the I/O thread expensive
 * (Python: a thread state and the GIL per call): calls submitted to a queue
 * end by appending a record to it, and the caller collects the records on its
 * own thread — blocking with a timeout (llmux_queue_pop), or from its event
 * loop when llmux_queue_fd is readable. No callback into the caller.
 *
 * Record layout (host byte order, 8-byte aligned; records back to back in the
 * caller's buffer, each `size` bytes long including this header):
 *   offset  0  uint64  tag          the caller's tag of the call
 *   offset  8  uint64  size         bytes of this record (a multiple of 8)
 *   offset 16  int32   status       LLMUX_OK or the failure's llmux_status
 *   offset 20  int32   http_status  the failure's HTTP status (0: none)
 *   offset 24  uint64  body_len     success: the response (llmux_completion's
 *                                   JSON); failure: llmux_error_json's text
 *   offset 32  uint64  type_len     failure: llmux_error_type's text, else 0
 *   offset 40  uint64  message_len  failure: llmux_error_message's text, else 0
 *   offset 48  uint64  spill        0: body, type and message follow the header
 *                                   back to back (not NUL-terminated); else the
 *                                   address of a block holding them the same
 *                                   way, which the caller frees with llmux_free
 *   offset 56  uint64  reserved     0
 * A record whose text does not fit the buffer spills; one header always fits
 * a buffer of LLMUX_QUEUE_RECORD_HEADER bytes or more. */
#define LLMUX_QUEUE_RECORD_HEADER 64

typedef struct llmux_queue llmux_queue; /* opaque */

/* A new, empty queue; NULL when out of memory. Thread-safe. */
LLMUX_API llmux_queue* llmux_queue_new(void);

/* Frees the queue and the records still in it (their spills too). Calls still
 * in flight are not cancelled: their records are dropped when they end (the
 * queue's memory lives until then). NULL is ignored. Call once, when no other
 * thread uses the queue. */
LLMUX_API void llmux_queue_free(llmux_queue* queue);

/* A file descriptor that is readable while the queue holds a record (made on
 * the first call; owned by the queue: do not read or close it). -1 for NULL
 * or where none can be made (the platform or the process's fd limit).
 * Thread-safe. */
LLMUX_API int llmux_queue_fd(llmux_queue* queue);

/* Starts a call of `endpoint` (llmux_call_async's request and contract)
 * whose outcome becomes a record of `queue` with `tag`. LLMUX_OK: exactly one
 * record will come (also when the call is cancelled or its router freed);
 * any other status: nothing was started, no record comes, *out_call_id is 0.
 * LLMUX_ERR_INVALID_ARGUMENT for a NULL router, queue or request, or an
 * endpoint outside llmux_endpoint. Thread-safe; callable from callbacks. */
LLMUX_API llmux_status llmux_queue_submit(llmux_router* router, llmux_queue* queue, llmux_endpoint endpoint,
                                          const char* request, size_t len, uint64_t tag, uint64_t* out_call_id);

/* Waits up to `timeout_ms` (0: not at all; negative: without limit) for a
 * record, then moves as many records as fit into `buffer` (`capacity`
 * bytes, 8-byte aligned), oldest first. Returns the bytes written: 0 when the
 * wait ended with no record, or for a NULL queue or buffer or a capacity
 * below LLMUX_QUEUE_RECORD_HEADER. Thread-safe (each record goes to one
 * caller). */
LLMUX_API size_t llmux_queue_pop(llmux_queue* queue, int timeout_ms, void* buffer, size_t capacity);

/* llmux_queue_submit, then llmux_queue_pop(queue, timeout_ms, buffer,
 * capacity) in the same call: one crossing for a blocking caller whose call
 * is quick. *out_written (may be NULL) gets the bytes popped (records of other
 * calls of the queue may be among them); 0 when nothing was started. */
LLMUX_API llmux_status llmux_queue_call(llmux_router* router, llmux_queue* queue, llmux_endpoint endpoint,
                                        const char* request, size_t len, uint64_t tag, int timeout_ms,
                                        void* buffer, size_t capacity, size_t* out_written,
                                        uint64_t* out_call_id);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* LLMUX_H_ */
