// The C ABI (capi/llmux.h): a thin shell over include/llmux/. Every entry
// point validates its arguments (NULL, UTF-8) and catches everything: no C++
// exception crosses the boundary in either direction (a C++ function passed
// as a callback may throw; it is caught here).
#include "llmux.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <simdjson.h>

#include "common/litellm_headers.hpp"
#include "llmux/router.hpp"

// llmux_status mirrors llmux::ErrorKind value for value (status_of() is a
// cast): a kind added on one side without the other fails to compile here.
#define LLMUX_SAME_VALUE(status, kind) \
  static_assert(static_cast<int>(status) == static_cast<int>(llmux::ErrorKind::kind), #status " != " #kind)
LLMUX_SAME_VALUE(LLMUX_ERR_BAD_REQUEST, kBadRequest);
LLMUX_SAME_VALUE(LLMUX_ERR_CONTEXT_WINDOW_EXCEEDED, kContextWindowExceeded);
LLMUX_SAME_VALUE(LLMUX_ERR_CONTENT_POLICY_VIOLATION, kContentPolicyViolation);
LLMUX_SAME_VALUE(LLMUX_ERR_AUTHENTICATION, kAuthentication);
LLMUX_SAME_VALUE(LLMUX_ERR_PERMISSION_DENIED, kPermissionDenied);
LLMUX_SAME_VALUE(LLMUX_ERR_NOT_FOUND, kNotFound);
LLMUX_SAME_VALUE(LLMUX_ERR_TIMEOUT, kTimeout);
LLMUX_SAME_VALUE(LLMUX_ERR_RATE_LIMIT, kRateLimit);
LLMUX_SAME_VALUE(LLMUX_ERR_NO_DEPLOYMENTS_AVAILABLE, kNoDeploymentsAvailable);
LLMUX_SAME_VALUE(LLMUX_ERR_BUDGET_EXCEEDED, kBudgetExceeded);
LLMUX_SAME_VALUE(LLMUX_ERR_INTERNAL_SERVER, kInternalServer);
LLMUX_SAME_VALUE(LLMUX_ERR_BAD_GATEWAY, kBadGateway);
LLMUX_SAME_VALUE(LLMUX_ERR_SERVICE_UNAVAILABLE, kServiceUnavailable);
LLMUX_SAME_VALUE(LLMUX_ERR_API, kApiError);
LLMUX_SAME_VALUE(LLMUX_ERR_CONNECTION, kConnectionError);
LLMUX_SAME_VALUE(LLMUX_ERR_MID_STREAM, kMidStream);
LLMUX_SAME_VALUE(LLMUX_ERR_CANCELLED, kCancelled);
LLMUX_SAME_VALUE(LLMUX_ERR_INVALID_CONFIG, kInvalidConfig);
LLMUX_SAME_VALUE(LLMUX_ERR_INVALID_ARGUMENT, kInvalidArgument);
#undef LLMUX_SAME_VALUE
// llmux_status_string names 1..kInvalidArgument through error_kind_name: the
// C-only statuses stay above the last kind.
static_assert(LLMUX_ERR_INVALID_ARGUMENT < LLMUX_ERR_OUT_OF_MEMORY && LLMUX_ERR_OUT_OF_MEMORY < LLMUX_ERR_INTERNAL);

namespace {

// Where log messages go: a C callback, or stderr when `callback` is NULL.
struct LogTarget {
  llmux_log_callback callback = nullptr;
  void* user_data = nullptr;
};

}  // namespace

struct llmux_router {
  std::unique_ptr<llmux::Router> router;
  LogTarget log;  // this router's own log; NULL callback: the process-wide one
  llmux_event_callback on_event = nullptr;
  void* event_user_data = nullptr;
};

struct llmux_error {
  llmux_status code = LLMUX_ERR_INTERNAL;
  std::string type;
  std::string message;
  int status = 0;
  std::string json;
  // The out-of-memory error is allocated once, at load time, so that running
  // out of memory can still be reported; llmux_error_free leaves it alone.
  bool preallocated = false;
};

namespace {

llmux_error g_out_of_memory{
    LLMUX_ERR_OUT_OF_MEMORY, "OutOfMemory", "llmux: out of memory", 500,
    R"({"type":"OutOfMemory","message":"llmux: out of memory","status":500,"kind":100})", true};

llmux_status status_of(llmux::ErrorKind kind) { return static_cast<llmux_status>(static_cast<int>(kind)); }

// ---- logging ----

// The process-wide log (llmux_log_set). Read under the mutex, called outside
// it, so that a callback may log through another router or take its time.
std::mutex g_log_mu;
LogTarget g_log;

LogTarget process_log() {
  std::lock_guard<std::mutex> lock(g_log_mu);
  return g_log;
}

const char* level_name(llmux_log_level level) {
  switch (level) {
    case LLMUX_LOG_DEBUG: return "debug";
    case LLMUX_LOG_INFO: return "info";
    case LLMUX_LOG_WARN: return "warning";
    case LLMUX_LOG_ERROR: return "error";
  }
  return "log";
}

// Writes one message to `target` (the process-wide log when it has no
// callback). Never throws: a message that cannot be copied (out of memory)
// goes to stderr as far as it can.
void write_log(LogTarget target, llmux_log_level level, std::string_view message) noexcept {
  if (!target.callback) target = process_log();
  if (target.callback) {
    try {
      const std::string copy(message);  // NUL-terminated for C
      target.callback(target.user_data, level, copy.c_str(), copy.size());
      return;
    } catch (const std::bad_alloc&) {
      // fall through to stderr
    } catch (...) {
      return;  // a C++ callback threw: dropped, like every callback's exception
    }
  }
  std::fprintf(stderr, "llmux: %s: %.*s\n", level_name(level), static_cast<int>(message.size()), message.data());
}

// Fills `out` from a C++ error. May throw std::bad_alloc.
void fill_error(llmux_error& out, const llmux::Error& e) {
  out.code = status_of(e.kind);
  out.type = std::string(llmux::error_kind_name(e.kind));
  out.message = e.message;
  out.status = e.status ? e.status : llmux::error_kind_default_status(e.kind);
  out.json = llmux::error_json(e);
}

// A bug in llmux (an unexpected exception): LLMUX_ERR_INTERNAL. May throw std::bad_alloc.
void fill_internal_error(llmux_error& out, std::string_view what) {
  out.code = LLMUX_ERR_INTERNAL;
  out.type = "InternalError";
  out.message = "llmux internal error: ";
  out.message += what;
  out.status = 500;
  out.json = R"({"type":"InternalError","message":)";
  out.json += llmux::json_string(out.message);
  out.json += R"(,"status":500,"kind":101})";
}

// A heap error for out_error; the preallocated out-of-memory error when even
// that cannot be built.
template <class Fill>
llmux_error* new_error(Fill&& fill) noexcept {
  llmux_error* out = new (std::nothrow) llmux_error();
  if (!out) return &g_out_of_memory;
  try {
    fill(*out);
    return out;
  } catch (...) {
    delete out;
    return &g_out_of_memory;
  }
}

// Hands `error` to the caller. The status matches the error's code, also when
// the error could not be built for lack of memory.
llmux_status report(llmux_error** out_error, llmux_error* error, llmux_status status) {
  *out_error = error;
  return error == &g_out_of_memory ? LLMUX_ERR_OUT_OF_MEMORY : status;
}

llmux_status fail(llmux_error** out_error, const llmux::Error& e) {
  if (!out_error) return status_of(e.kind);
  return report(out_error, new_error([&](llmux_error& out) { fill_error(out, e); }), status_of(e.kind));
}

// LLMUX_ERR_INVALID_ARGUMENT "<function>: <problem>".
llmux_status fail_argument(llmux_error** out_error, std::string_view function, std::string_view problem) {
  if (!out_error) return LLMUX_ERR_INVALID_ARGUMENT;
  return report(out_error, new_error([&](llmux_error& out) {
                  std::string message(function);
                  message += ": ";
                  message += problem;
                  fill_error(out, llmux::Error(llmux::ErrorKind::kInvalidArgument, std::move(message)));
                }),
                LLMUX_ERR_INVALID_ARGUMENT);
}

llmux_status fail_out_of_memory(llmux_error** out_error) {
  if (out_error) *out_error = &g_out_of_memory;
  return LLMUX_ERR_OUT_OF_MEMORY;
}

llmux_status fail_internal(llmux_error** out_error, const char* what) {
  if (!out_error) return LLMUX_ERR_INTERNAL;
  return report(out_error, new_error([&](llmux_error& out) { fill_internal_error(out, what); }), LLMUX_ERR_INTERNAL);
}

// The text arguments: "<function>: <argument>: not valid UTF-8" when they are
// not UTF-8 (JSON and YAML are UTF-8; the bindings pass their strings as is).
llmux_status check_utf8(const char* text, size_t len, std::string_view function, std::string_view argument,
                        llmux_error** out_error) {
  if (simdjson::validate_utf8(text, len)) return LLMUX_OK;
  std::string problem;
  try {
    problem.append(argument).append(": not valid UTF-8");
  } catch (...) {
    return fail_out_of_memory(out_error);
  }
  return fail_argument(out_error, function, problem);
}

// A copy the caller frees with llmux_free (malloc'd, NUL-terminated), or NULL.
char* copy_out(std::string_view s) {
  auto* p = static_cast<char*>(std::malloc(s.size() + 1));
  if (!p) return nullptr;
  if (!s.empty()) std::memcpy(p, s.data(), s.size());
  p[s.size()] = '\0';
  return p;
}

llmux_status return_copy(std::string_view s, char** out, llmux_error** out_error) {
  *out = copy_out(s);
  return *out ? LLMUX_OK : fail_out_of_memory(out_error);
}

// The "_llmux" tail of a response's JSON (llmux::append_response_json_tail),
// written into a buffer per thread that keeps its capacity from call to call.
// Each use ends before any callback runs, so a nested call cannot clobber it.
std::string& response_tail_scratch() {
  constexpr size_t kKeptCapacity = 64 * 1024;  // a larger one (a huge attempt_log) is not kept
  thread_local std::string tail;
  if (tail.capacity() > kKeptCapacity) std::string().swap(tail);
  tail.clear();
  return tail;
}

// The response's JSON in one malloc'd buffer the caller frees with llmux_free:
// the provider body is copied once, straight from the response.
llmux_status return_response(const llmux::Response& r, char** out, llmux_error** out_error) {
  std::string& tail = response_tail_scratch();
  const std::string_view head = llmux::append_response_json_tail(r, tail);
  auto* p = static_cast<char*>(std::malloc(head.size() + tail.size() + 1));
  if (!p) return fail_out_of_memory(out_error);
  // An empty view's data() may be null, which memcpy must not be given.
  if (!head.empty()) std::memcpy(p, head.data(), head.size());
  if (!tail.empty()) std::memcpy(p + head.size(), tail.data(), tail.size());
  p[head.size() + tail.size()] = '\0';
  *out = p;
  return LLMUX_OK;
}

// The response as one llmux_completion_parts block (llmux.h): the struct, the
// header array, then every string NUL-terminated, in one malloc the caller
// frees with llmux_free. Sized in a first pass, filled in a second; the
// headers are visited twice (their numbers are formatted on the stack, so
// nothing is allocated but the block).
llmux_status return_parts(const llmux::Response& r, llmux_completion_parts** out, llmux_error** out_error) {
  const llmux::RouterMetadata& m = r.metadata;
  const std::string_view strings[] = {r.body,       m.requested_model,  m.model_group, m.fallback_model_group,
                                      m.deployment_id, m.deployment_model, m.provider,    m.api_base,
                                      r.finish_reason};
  size_t text_size = 0;
  size_t header_count = 0;
  for (std::string_view s : strings) text_size += s.size() + 1;
  llmux::common::for_each_litellm_header(m, [&](std::string_view name, std::string_view value) {
    text_size += name.size() + value.size() + 2;
    ++header_count;
  });
  static_assert(sizeof(llmux_completion_parts) % alignof(llmux_header) == 0);
  const size_t headers_offset = sizeof(llmux_completion_parts);
  const size_t text_offset = headers_offset + header_count * sizeof(llmux_header);
  auto* block = static_cast<char*>(std::malloc(text_offset + text_size));
  if (!block) return fail_out_of_memory(out_error);
  auto* parts = new (block) llmux_completion_parts{};
  auto* headers = reinterpret_cast<llmux_header*>(block + headers_offset);
  char* text = block + text_offset;
  const auto put = [&text](std::string_view s) {
    // An empty view's data() may be null, which memcpy must not be given.
    if (!s.empty()) std::memcpy(text, s.data(), s.size());
    text[s.size()] = '\0';
    const llmux_string placed{text, s.size()};
    text += s.size() + 1;
    return placed;
  };
  parts->struct_size = sizeof(llmux_completion_parts);
  parts->body = put(r.body);
  parts->call_id = m.call_id;
  parts->requested_model = put(m.requested_model);
  parts->model_group = put(m.model_group);
  parts->fallback_model_group = put(m.fallback_model_group);
  parts->deployment_id = put(m.deployment_id);
  parts->deployment_model = put(m.deployment_model);
  parts->provider = put(m.provider);
  parts->api_base = put(m.api_base);
  parts->attempts = m.attempts;
  parts->retries = m.retries;
  parts->max_retries = m.max_retries;
  parts->fallbacks = m.fallbacks;
  parts->latency_ms = m.latency_ms;
  parts->time_to_first_token_ms = m.time_to_first_token_ms;
  parts->response_cost = m.response_cost;
  parts->prompt_tokens = r.usage.prompt_tokens;
  parts->completion_tokens = r.usage.completion_tokens;
  parts->total_tokens = r.usage.total_tokens;
  parts->usage_reported = r.usage.reported ? 1 : 0;
  parts->finish_reason = put(r.finish_reason);
  size_t placed = 0;
  llmux::common::for_each_litellm_header(m, [&](std::string_view name, std::string_view value) {
    llmux_header* h = new (headers + placed++) llmux_header{};
    h->name = put(name);
    h->value = put(value);
  });
  parts->headers = headers;
  parts->header_count = header_count;
  *out = parts;
  return LLMUX_OK;
}

// Runs `body` and turns any escaping exception into a status.
template <class F>
llmux_status guarded(llmux_error** out_error, F&& body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return fail_out_of_memory(out_error);
  } catch (const std::exception& e) {
    return fail_internal(out_error, e.what());
  } catch (...) {
    return fail_internal(out_error, "unknown exception");
  }
}

// The router callbacks running on this thread, innermost first (a linked list
// through the stack). It lets the C layer refuse what would deadlock from a
// callback: a blocking call, or freeing the router whose I/O thread this is.
struct CallbackScope {
  explicit CallbackScope(const llmux_router* r) noexcept : router(r), outer(innermost) { innermost = this; }
  ~CallbackScope() { innermost = outer; }
  CallbackScope(const CallbackScope&) = delete;
  CallbackScope& operator=(const CallbackScope&) = delete;

  static bool active() noexcept { return innermost != nullptr; }
  static bool active_for(const llmux_router* r) noexcept {
    for (const CallbackScope* s = innermost; s; s = s->outer) {
      if (s->router == r) return true;
    }
    return false;
  }

  const llmux_router* router;
  const CallbackScope* outer;
  static thread_local const CallbackScope* innermost;
};

thread_local const CallbackScope* CallbackScope::innermost = nullptr;

// What the C caller gave for one asynchronous call.
struct CallbackTarget {
  const llmux_router* router = nullptr;
  llmux_chunk_callback on_chunk = nullptr;
  llmux_done_callback on_done = nullptr;
  void* user_data = nullptr;
};

// Calls on_done exactly once. Building the response JSON or the error may
// fail (out of memory); on_done then reports that failure instead.
void deliver_done(const CallbackTarget& target, const llmux::Result<llmux::Response>& result) noexcept {
  llmux_status status = LLMUX_OK;
  std::string response;
  llmux_error error;
  const llmux_error* error_arg = nullptr;
  try {
    if (result.ok()) {
      std::string& tail = response_tail_scratch();
      const std::string_view head = llmux::append_response_json_tail(result.value(), tail);
      response.reserve(head.size() + tail.size());
      response.append(head).append(tail);
    } else {
      fill_error(error, result.error());
      status = error.code;
      error_arg = &error;
    }
  } catch (const std::bad_alloc&) {
    status = LLMUX_ERR_OUT_OF_MEMORY;
    error_arg = &g_out_of_memory;
  } catch (const std::exception& e) {
    status = LLMUX_ERR_INTERNAL;
    try {
      fill_internal_error(error, e.what());
      error_arg = &error;
    } catch (...) {
      status = LLMUX_ERR_OUT_OF_MEMORY;
      error_arg = &g_out_of_memory;
    }
  }
  CallbackScope scope(target.router);
  try {
    if (status == LLMUX_OK) {
      target.on_done(target.user_data, status, response.c_str(), response.size(), nullptr);
    } else {
      target.on_done(target.user_data, status, nullptr, 0, error_arg);
    }
  } catch (...) {
    // A C++ callback threw: it must not unwind into the I/O thread.
  }
}

// One routing event to the router's C event callback, as JSON. An event that
// cannot be encoded (out of memory) is dropped: events are observations.
void deliver_event(const llmux_router* router, const llmux::RouterEvent& event) noexcept {
  CallbackScope scope(router);
  try {
    const std::string json = llmux::event_json(event);
    router->on_event(router->event_user_data, json.c_str(), json.size());
  } catch (...) {
    // out of memory, or a C++ callback threw: it must not unwind into the I/O thread
  }
}

llmux::DoneCallback done_wrapper(const CallbackTarget& target) {
  return [target](llmux::Result<llmux::Response> result) { deliver_done(target, result); };
}

// Passes chunks on NUL-terminated (the SSE payload is a view into the
// transport's buffer); the buffer is reused, so steady state does not allocate.
llmux::ChunkCallback chunk_wrapper(const CallbackTarget& target) {
  return [target, buffer = std::string()](std::string_view chunk) mutable noexcept {
    CallbackScope scope(target.router);
    try {
      buffer.assign(chunk);
      return target.on_chunk(target.user_data, buffer.c_str(), buffer.size()) != 0;
    } catch (...) {
      return false;  // out of memory, or a C++ callback threw: stop the stream
    }
  };
}

// The checks every asynchronous entry point makes before taking the request.
llmux_status check_async_args(const llmux_router* router, const char* request, size_t len, bool callbacks_given) {
  if (!router || !request || !callbacks_given) return LLMUX_ERR_INVALID_ARGUMENT;
  return simdjson::validate_utf8(request, len) ? LLMUX_OK : LLMUX_ERR_INVALID_ARGUMENT;
}

// The checks of the blocking calls; "<function>: ..." messages.
llmux_status check_blocking_args(const char* function, const llmux_router* router, const char* request, size_t len,
                                 const void* out_response, llmux_error** out_error) {
  if (!router || !request || !out_response) {
    return fail_argument(out_error, function, "router, request and out_response are required");
  }
  if (CallbackScope::active()) {
    return fail_argument(out_error, function,
                         "blocking call made from a router callback (it would deadlock); use the async API");
  }
  return check_utf8(request, len, function, "request", out_error);
}

// `Out` is char* (the JSON, return_response) or llmux_completion_parts* (return_parts).
template <class Out, class Call>
llmux_status blocking_call(const char* function, llmux_router* router, const char* request, size_t len,
                           Out* out_response, llmux_error** out_error, Call&& call) {
  if (out_error) *out_error = nullptr;
  if (out_response) *out_response = nullptr;
  if (llmux_status s = check_blocking_args(function, router, request, len, out_response, out_error); s != LLMUX_OK) {
    return s;
  }
  return guarded(out_error, [&] {
    llmux::Result<llmux::Response> r = call(*router->router, std::string_view(request, len));
    if (!r.ok()) return fail(out_error, r.error());
    if constexpr (std::is_same_v<Out, char*>) {
      return return_response(r.value(), out_response, out_error);
    } else {
      return return_parts(r.value(), out_response, out_error);
    }
  });
}

// The non-streaming asynchronous calls: `start(router, body, done)` returns the call id.
template <class Start>
llmux_status async_call(llmux_router* router, const char* request, size_t len, llmux_done_callback on_done,
                        void* user_data, uint64_t* out_call_id, Start&& start) {
  if (out_call_id) *out_call_id = 0;
  if (llmux_status s = check_async_args(router, request, len, on_done != nullptr); s != LLMUX_OK) return s;
  return guarded(nullptr, [&] {
    const uint64_t id =
        start(*router->router, std::string_view(request, len), done_wrapper({router, nullptr, on_done, user_data}));
    if (out_call_id) *out_call_id = id;
    return LLMUX_OK;
  });
}

// Copies the caller's options (a struct of `struct_size` bytes, possibly of
// another header version) into `out`, which holds the defaults.
llmux_status read_options(const llmux_router_options& in, llmux_router_options& out, llmux_error** out_error) {
  // The first version of the struct is this one: nothing smaller is valid.
  constexpr size_t kFirstVersionSize = sizeof(llmux_router_options);
  if (in.struct_size < kFirstVersionSize) {
    return fail_argument(out_error, "llmux_router_new_with_options",
                         "options->struct_size is smaller than any llmux_router_options (use "
                         "LLMUX_ROUTER_OPTIONS_INIT)");
  }
  // A newer header's struct: its fields this library does not know must be unset.
  const auto* bytes = reinterpret_cast<const unsigned char*>(&in);
  for (size_t i = sizeof(llmux_router_options); i < in.struct_size; ++i) {
    if (bytes[i] != 0) {
      return fail_argument(out_error, "llmux_router_new_with_options",
                           "options set fields this version of the library does not know (newer llmux.h?)");
    }
  }
  std::memcpy(&out, &in, sizeof(llmux_router_options));
  out.struct_size = sizeof(llmux_router_options);
  return LLMUX_OK;
}

}  // namespace

extern "C" {

const char* llmux_version(void) { return LLMUX_VERSION_STRING; }
int llmux_abi_version(void) { return LLMUX_ABI_VERSION; }
void llmux_free(void* ptr) { std::free(ptr); }

void llmux_log_set(llmux_log_callback callback, void* user_data) {
  std::lock_guard<std::mutex> lock(g_log_mu);
  g_log = LogTarget{callback, user_data};
}

const char* llmux_status_string(llmux_status status) {
  // A C caller may pass any int. In C++ reading an enum outside its value
  // range (here 0..127) is undefined, so the bits are read as an int.
  static_assert(sizeof(llmux_status) == sizeof(int));
  int value = 0;
  std::memcpy(&value, &status, sizeof value);
  switch (value) {
    case LLMUX_OK:
      return "OK";
    case LLMUX_ERR_OUT_OF_MEMORY:
      return "OutOfMemory";
    case LLMUX_ERR_INTERNAL:
      return "InternalError";
    default:
      break;
  }
  if (value >= 1 && value <= static_cast<int>(llmux::ErrorKind::kInvalidArgument)) {
    // error_kind_name returns views of string literals: NUL-terminated.
    return llmux::error_kind_name(static_cast<llmux::ErrorKind>(value)).data();
  }
  return "UnknownError";
}

const char* llmux_error_message(const llmux_error* error) { return error ? error->message.c_str() : ""; }
const char* llmux_error_type(const llmux_error* error) { return error ? error->type.c_str() : ""; }
int llmux_error_status(const llmux_error* error) { return error ? error->status : 0; }
llmux_status llmux_error_code(const llmux_error* error) { return error ? error->code : LLMUX_OK; }
const char* llmux_error_json(const llmux_error* error) { return error ? error->json.c_str() : "{}"; }
void llmux_error_free(llmux_error* error) {
  if (error && !error->preallocated) delete error;
}

llmux_status llmux_router_new(const char* config, size_t len, llmux_router** out_router, llmux_error** out_error) {
  return llmux_router_new_with_options(config, len, nullptr, out_router, out_error);
}

llmux_status llmux_router_new_with_options(const char* config, size_t len, const llmux_router_options* options,
                                           llmux_router** out_router, llmux_error** out_error) {
  constexpr const char* kFunction = "llmux_router_new";
  if (out_error) *out_error = nullptr;
  if (out_router) *out_router = nullptr;
  if (!config || !out_router) return fail_argument(out_error, kFunction, "config and out_router are required");
  if (llmux_status s = check_utf8(config, len, kFunction, "config", out_error); s != LLMUX_OK) return s;
  llmux_router_options opts = LLMUX_ROUTER_OPTIONS_INIT;
  if (options) {
    if (llmux_status s = read_options(*options, opts, out_error); s != LLMUX_OK) return s;
  }
  return guarded(out_error, [&] {
    auto handle = std::make_unique<llmux_router>();
    handle->log = LogTarget{opts.log, opts.log_user_data};
    handle->on_event = opts.on_event;
    handle->event_user_data = opts.event_user_data;
    llmux::RouterOptions router_options;
    router_options.random_seed = opts.random_seed;
    // The C++ log has no level: what it reports (config warnings) is a warning.
    router_options.log = [target = handle->log](std::string_view message) {
      write_log(target, LLMUX_LOG_WARN, message);
    };
    if (handle->on_event) {
      router_options.on_event = [h = handle.get()](const llmux::RouterEvent& event) { deliver_event(h, event); };
    }
    auto r = llmux::Router::from_config(std::string_view(config, len), std::move(router_options));
    if (!r.ok()) return fail(out_error, r.error());
    handle->router = std::move(r).value();
    *out_router = handle.release();
    return LLMUX_OK;
  });
}

void llmux_router_free(llmux_router* router) {
  if (!router) return;
  if (CallbackScope::active_for(router)) {
    // ~Router waits for this very callback to return: a deadlock. Refuse, loudly.
    write_log(router->log, LLMUX_LOG_ERROR,
              "llmux_router_free called from a callback of the same router (it would deadlock); "
              "ignored: the router is still alive");
    return;
  }
  try {
    delete router;
  } catch (...) {
    // ~Router does not throw; nothing can be reported from a void function anyway.
  }
}

llmux_status llmux_completion(llmux_router* router, const char* request, size_t len, char** out_response,
                              llmux_error** out_error) {
  return blocking_call("llmux_completion", router, request, len, out_response, out_error,
                       [](llmux::Router& r, std::string_view body) { return r.completion(body); });
}

llmux_status llmux_completion_split(llmux_router* router, const char* request, size_t len,
                                    llmux_completion_parts** out_parts, llmux_error** out_error) {
  return blocking_call("llmux_completion_split", router, request, len, out_parts, out_error,
                       [](llmux::Router& r, std::string_view body) { return r.completion(body); });
}

llmux_status llmux_embedding(llmux_router* router, const char* request, size_t len, char** out_response,
                             llmux_error** out_error) {
  return blocking_call("llmux_embedding", router, request, len, out_response, out_error,
                       [](llmux::Router& r, std::string_view body) { return r.embedding(body); });
}

llmux_status llmux_completion_async(llmux_router* router, const char* request, size_t len,
                                    llmux_done_callback on_done, void* user_data, uint64_t* out_call_id) {
  return async_call(router, request, len, on_done, user_data, out_call_id,
                    [](llmux::Router& r, std::string_view body, llmux::DoneCallback done) {
                      return r.completion_async(body, std::move(done));
                    });
}

llmux_status llmux_completion_stream(llmux_router* router, const char* request, size_t len,
                                     llmux_chunk_callback on_chunk, llmux_done_callback on_done, void* user_data,
                                     uint64_t* out_call_id) {
  if (out_call_id) *out_call_id = 0;
  if (llmux_status s = check_async_args(router, request, len, on_chunk && on_done); s != LLMUX_OK) return s;
  return guarded(nullptr, [&] {
    const CallbackTarget target{router, on_chunk, on_done, user_data};
    const uint64_t id =
        router->router->stream(std::string_view(request, len), chunk_wrapper(target), done_wrapper(target));
    if (out_call_id) *out_call_id = id;
    return LLMUX_OK;
  });
}

llmux_status llmux_embedding_async(llmux_router* router, const char* request, size_t len,
                                   llmux_done_callback on_done, void* user_data, uint64_t* out_call_id) {
  return async_call(router, request, len, on_done, user_data, out_call_id,
                    [](llmux::Router& r, std::string_view body, llmux::DoneCallback done) {
                      return r.embedding_async(body, std::move(done));
                    });
}

namespace {

// A bool and an out-parameter, not std::optional: this file's functions have C
// linkage, which may not return a C++ class type (clang's -Wreturn-type-c-linkage).
// The value is read as its bytes: a C caller may pass any int, and loading one
// outside the enumeration as a C++ enum would be undefined behaviour.
bool endpoint_of(const llmux_endpoint& endpoint, llmux::Endpoint* out) {
  std::underlying_type_t<llmux_endpoint> raw;
  static_assert(sizeof raw == sizeof endpoint);
  std::memcpy(&raw, &endpoint, sizeof raw);
  switch (raw) {
    case LLMUX_ENDPOINT_CHAT_COMPLETIONS: *out = llmux::Endpoint::kChatCompletions; return true;
    case LLMUX_ENDPOINT_EMBEDDINGS: *out = llmux::Endpoint::kEmbeddings; return true;
    case LLMUX_ENDPOINT_TEXT_COMPLETIONS: *out = llmux::Endpoint::kTextCompletions; return true;
    case LLMUX_ENDPOINT_MODERATIONS: *out = llmux::Endpoint::kModerations; return true;
    case LLMUX_ENDPOINT_RESPONSES: *out = llmux::Endpoint::kResponses; return true;
  }
  return false;
}

}  // namespace

llmux_status llmux_call(llmux_router* router, llmux_endpoint endpoint, const char* request, size_t len,
                        char** out_response, llmux_error** out_error) {
  llmux::Endpoint e{};
  if (!endpoint_of(endpoint, &e)) {
    if (out_response) *out_response = nullptr;
    if (out_error) *out_error = nullptr;
    return fail_argument(out_error, "llmux_call", "endpoint is not one of llmux_endpoint");
  }
  return blocking_call("llmux_call", router, request, len, out_response, out_error,
                       [e](llmux::Router& r, std::string_view body) { return r.call(e, body); });
}

llmux_status llmux_call_async(llmux_router* router, llmux_endpoint endpoint, const char* request, size_t len,
                              llmux_done_callback on_done, void* user_data, uint64_t* out_call_id) {
  llmux::Endpoint e{};
  if (!endpoint_of(endpoint, &e)) {
    if (out_call_id) *out_call_id = 0;
    return LLMUX_ERR_INVALID_ARGUMENT;
  }
  return async_call(router, request, len, on_done, user_data, out_call_id,
                    [e](llmux::Router& r, std::string_view body, llmux::DoneCallback done) {
                      return r.call_async(e, body, std::move(done));
                    });
}

llmux_status llmux_cancel(llmux_router* router, uint64_t call_id) {
  if (!router) return LLMUX_ERR_INVALID_ARGUMENT;
  return guarded(nullptr, [&] { return router->router->cancel(call_id) ? LLMUX_OK : LLMUX_ERR_NOT_FOUND; });
}

llmux_status llmux_router_add_deployment(llmux_router* router, const char* deployment, size_t len,
                                         llmux_error** out_error) {
  if (out_error) *out_error = nullptr;
  if (!router || !deployment) {
    return fail_argument(out_error, "llmux_router_add_deployment", "router and deployment are required");
  }
  if (llmux_status s = check_utf8(deployment, len, "llmux_router_add_deployment", "deployment", out_error);
      s != LLMUX_OK) {
    return s;
  }
  return guarded(out_error, [&] {
    auto d = llmux::parse_deployment(std::string_view(deployment, len));
    if (!d.ok()) return fail(out_error, d.error());
    llmux::Status s = router->router->add_deployment(std::move(d).value());
    if (!s.ok()) return fail(out_error, s.error());
    return LLMUX_OK;
  });
}

llmux_status llmux_router_remove_deployment(llmux_router* router, const char* id, llmux_error** out_error) {
  if (out_error) *out_error = nullptr;
  if (!router || !id) {
    return fail_argument(out_error, "llmux_router_remove_deployment", "router and id are required");
  }
  const size_t len = std::strlen(id);
  if (llmux_status s = check_utf8(id, len, "llmux_router_remove_deployment", "id", out_error); s != LLMUX_OK) {
    return s;
  }
  return guarded(out_error, [&] {
    llmux::Status s = router->router->remove_deployment(std::string_view(id, len));
    if (!s.ok()) return fail(out_error, s.error());
    return LLMUX_OK;
  });
}

llmux_status llmux_router_register_model(llmux_router* router, const char* json, size_t len,
                                         llmux_error** out_error) {
  if (out_error) *out_error = nullptr;
  if (!router || !json) return fail_argument(out_error, "llmux_router_register_model", "router and json are required");
  if (llmux_status s = check_utf8(json, len, "llmux_router_register_model", "json", out_error); s != LLMUX_OK) {
    return s;
  }
  return guarded(out_error, [&] {
    llmux::Status s = router->router->register_model_prices(std::string_view(json, len));
    if (!s.ok()) return fail(out_error, s.error());
    return LLMUX_OK;
  });
}

llmux_status llmux_router_deployments(llmux_router* router, char** out_json, llmux_error** out_error) {
  if (out_error) *out_error = nullptr;
  if (out_json) *out_json = nullptr;
  if (!router || !out_json) {
    return fail_argument(out_error, "llmux_router_deployments", "router and out_json are required");
  }
  return guarded(out_error, [&] {
    return return_copy(llmux::deployments_json(router->router->deployments()), out_json, out_error);
  });
}

llmux_status llmux_router_model_info(llmux_router* router, const char* query, size_t len, char** out_json,
                                     llmux_error** out_error) {
  if (out_error) *out_error = nullptr;
  if (out_json) *out_json = nullptr;
  if (!router || !query || !out_json) {
    return fail_argument(out_error, "llmux_router_model_info", "router, query and out_json are required");
  }
  if (llmux_status s = check_utf8(query, len, "llmux_router_model_info", "query", out_error); s != LLMUX_OK) return s;
  return guarded(out_error, [&] {
    auto q = llmux::parse_model_info_query(std::string_view(query, len));
    if (!q.ok()) return fail(out_error, q.error());
    if (!q->model_group.empty()) {
      auto group = router->router->model_group_info(q->model_group);
      if (!group.ok()) return fail(out_error, group.error());
      return return_copy(llmux::model_group_info_json(*group), out_json, out_error);
    }
    auto info = router->router->model_info(*q);
    if (!info.ok()) return fail(out_error, info.error());
    return return_copy(llmux::model_map_info_json(*info), out_json, out_error);
  });
}

llmux_status llmux_router_reset(llmux_router* router, llmux_error** out_error) {
  if (out_error) *out_error = nullptr;
  if (!router) return fail_argument(out_error, "llmux_router_reset", "router is required");
  return guarded(out_error, [&] {
    router->router->reset();
    return LLMUX_OK;
  });
}

llmux_status llmux_router_health(llmux_router* router, const char* model_group, char** out_json,
                                 llmux_error** out_error) {
  if (out_error) *out_error = nullptr;
  if (out_json) *out_json = nullptr;
  if (!router || !out_json) {
    return fail_argument(out_error, "llmux_router_health", "router and out_json are required");
  }
  const std::string_view group = model_group ? model_group : "";
  if (llmux_status s = check_utf8(group.data(), group.size(), "llmux_router_health", "model_group", out_error);
      s != LLMUX_OK) {
    return s;
  }
  return guarded(out_error,
                 [&] { return return_copy(llmux::health_json(router->router->health(group)), out_json, out_error); });
}

llmux_status llmux_router_health_report(llmux_router* router, const char* model_group, char** out_json,
                                        llmux_error** out_error) {
  if (out_error) *out_error = nullptr;
  if (out_json) *out_json = nullptr;
  if (!router || !out_json) {
    return fail_argument(out_error, "llmux_router_health_report", "router and out_json are required");
  }
  const std::string_view group = model_group ? model_group : "";
  if (llmux_status s = check_utf8(group.data(), group.size(), "llmux_router_health_report", "model_group", out_error);
      s != LLMUX_OK) {
    return s;
  }
  return guarded(out_error, [&] {
    return return_copy(llmux::health_report_json(router->router->health_report(group)), out_json, out_error);
  });
}

llmux_status llmux_router_check_health(llmux_router* router, const char* model_group, char** out_json,
                                       llmux_error** out_error) {
  if (out_error) *out_error = nullptr;
  if (out_json) *out_json = nullptr;
  if (!router || !out_json) {
    return fail_argument(out_error, "llmux_router_check_health", "router and out_json are required");
  }
  if (CallbackScope::active()) {
    return fail_argument(out_error, "llmux_router_check_health",
                         "blocking call made from a router callback (it would deadlock); call it from another thread");
  }
  const std::string_view group = model_group ? model_group : "";
  if (llmux_status s = check_utf8(group.data(), group.size(), "llmux_router_check_health", "model_group", out_error);
      s != LLMUX_OK) {
    return s;
  }
  return guarded(out_error, [&] {
    llmux::Result<llmux::HealthReport> report = router->router->check_health(group);
    if (!report.ok()) return fail(out_error, report.error());
    return return_copy(llmux::health_report_json(report.value()), out_json, out_error);
  });
}

llmux_status llmux_router_metrics(llmux_router* router, char** out_text, llmux_error** out_error) {
  if (out_error) *out_error = nullptr;
  if (out_text) *out_text = nullptr;
  if (!router || !out_text) {
    return fail_argument(out_error, "llmux_router_metrics", "router and out_text are required");
  }
  return guarded(out_error, [&] { return return_copy(router->router->metrics_prometheus(), out_text, out_error); });
}

llmux_status llmux_router_pick(llmux_router* router, const char* request, size_t len, unsigned flags, char** out_json,
                               llmux_error** out_error) {
  if (out_error) *out_error = nullptr;
  if (out_json) *out_json = nullptr;
  if (!router || !request || !out_json) {
    return fail_argument(out_error, "llmux_router_pick", "router, request and out_json are required");
  }
  if (llmux_status s = check_utf8(request, len, "llmux_router_pick", "request", out_error); s != LLMUX_OK) return s;
  return guarded(out_error, [&] {
    llmux::PickOptions options;
    options.specific_deployment = (flags & LLMUX_PICK_SPECIFIC_DEPLOYMENT) != 0;
    options.include_secrets = (flags & LLMUX_PICK_INCLUDE_SECRETS) != 0;
    auto picked = router->router->pick(std::string_view(request, len), options);
    if (!picked.ok()) return fail(out_error, picked.error());
    return return_copy(llmux::picked_deployment_json(picked.value()), out_json, out_error);
  });
}

llmux_status llmux_router_model_group_usage(llmux_router* router, const char* model_group, char** out_json,
                                            llmux_error** out_error) {
  if (out_error) *out_error = nullptr;
  if (out_json) *out_json = nullptr;
  if (!router || !model_group || !out_json) {
    return fail_argument(out_error, "llmux_router_model_group_usage", "router, model_group and out_json are required");
  }
  const std::string_view group = model_group;
  if (llmux_status s = check_utf8(group.data(), group.size(), "llmux_router_model_group_usage", "model_group", out_error);
      s != LLMUX_OK) {
    return s;
  }
  return guarded(out_error, [&] {
    auto usage = router->router->model_group_usage(group);
    if (!usage.ok()) return fail(out_error, usage.error());
    return return_copy(llmux::model_group_usage_json(usage.value()), out_json, out_error);
  });
}

llmux_status llmux_router_settings(llmux_router* router, char** out_json, llmux_error** out_error) {
  if (out_error) *out_error = nullptr;
  if (out_json) *out_json = nullptr;
  if (!router || !out_json) return fail_argument(out_error, "llmux_router_settings", "router and out_json are required");
  return guarded(out_error,
                 [&] { return return_copy(llmux::settings_json(router->router->settings()), out_json, out_error); });
}

llmux_status llmux_router_update_settings(llmux_router* router, const char* json, size_t len, llmux_error** out_error) {
  if (out_error) *out_error = nullptr;
  if (!router || !json) return fail_argument(out_error, "llmux_router_update_settings", "router and json are required");
  if (llmux_status s = check_utf8(json, len, "llmux_router_update_settings", "json", out_error); s != LLMUX_OK) return s;
  return guarded(out_error, [&] {
    llmux::Status s = router->router->update_settings(std::string_view(json, len));
    if (!s.ok()) return fail(out_error, s.error());
    return LLMUX_OK;
  });
}

}  // extern "C"
