// The C ABI (capi/llmux.h): a thin shell over include/llmux/. Every entry
// point catches everything; no C++ exception crosses the boundary.
#include "llmux.h"

#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <string_view>

#include "llmux/router.hpp"

struct llmux_router {
  std::unique_ptr<llmux::Router> router;
};

struct llmux_error {
  llmux_status code = LLMUX_ERR_INTERNAL;
  std::string type;
  std::string message;
  int status = 0;
  std::string json;
};

namespace {

llmux_status status_of(llmux::ErrorKind kind) { return static_cast<llmux_status>(static_cast<int>(kind)); }

llmux_error* make_error(const llmux::Error& e) {
  auto* out = new (std::nothrow) llmux_error();
  if (!out) return nullptr;
  try {
    out->code = status_of(e.kind);
    out->type = std::string(llmux::error_kind_name(e.kind));
    out->message = e.message;
    out->status = e.status ? e.status : llmux::error_kind_default_status(e.kind);
    out->json = llmux::error_json(e);
  } catch (...) {
    // Keep what was filled: an error with a partial JSON beats none.
  }
  return out;
}

llmux_status fail(llmux_error** out_error, llmux::ErrorKind kind, std::string message) {
  if (out_error) *out_error = make_error(llmux::Error(kind, std::move(message)));
  return status_of(kind);
}

llmux_status fail(llmux_error** out_error, const llmux::Error& e) {
  if (out_error) *out_error = make_error(e);
  return status_of(e.kind);
}

// A copy the caller frees with llmux_free (malloc'd, NUL-terminated).
char* copy_out(std::string_view s) {
  auto* p = static_cast<char*>(std::malloc(s.size() + 1));
  if (!p) return nullptr;
  std::memcpy(p, s.data(), s.size());
  p[s.size()] = '\0';
  return p;
}

// Runs `body` and turns any escaping exception into a status.
template <class F>
llmux_status guarded(llmux_error** out_error, F&& body) {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    if (out_error) *out_error = nullptr;
    return LLMUX_ERR_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    fail(out_error, llmux::ErrorKind::kInvalidArgument, std::string("llmux internal error: ") + e.what());
    return LLMUX_ERR_INTERNAL;
  } catch (...) {
    fail(out_error, llmux::ErrorKind::kInvalidArgument, "llmux internal error");
    return LLMUX_ERR_INTERNAL;
  }
}

struct AsyncContext {
  llmux_chunk_callback on_chunk = nullptr;
  llmux_done_callback on_done = nullptr;
  void* user_data = nullptr;
};

void deliver_done(const AsyncContext& ctx, llmux::Result<llmux::Response>&& r) {
  if (!ctx.on_done) return;
  if (r.ok()) {
    const std::string json = llmux::response_json(r.value());
    ctx.on_done(ctx.user_data, LLMUX_OK, json.c_str(), json.size(), nullptr);
  } else {
    llmux_error e;
    const llmux::Error& err = r.error();
    e.code = status_of(err.kind);
    e.type = std::string(llmux::error_kind_name(err.kind));
    e.message = err.message;
    e.status = err.status ? err.status : llmux::error_kind_default_status(err.kind);
    e.json = llmux::error_json(err);
    ctx.on_done(ctx.user_data, e.code, nullptr, 0, &e);
  }
}

}  // namespace

extern "C" {

const char* llmux_version(void) { return "0.1.0"; }
int llmux_abi_version(void) { return LLMUX_ABI_VERSION; }
void llmux_free(void* ptr) { std::free(ptr); }

const char* llmux_status_string(llmux_status status) {
  switch (status) {
    case LLMUX_OK:
      return "OK";
    case LLMUX_ERR_OUT_OF_MEMORY:
      return "OutOfMemory";
    case LLMUX_ERR_INTERNAL:
      return "InternalError";
    default:
      break;
  }
  const int value = static_cast<int>(status);
  if (value >= 1 && value <= static_cast<int>(llmux::ErrorKind::kInvalidArgument)) {
    return llmux::error_kind_name(static_cast<llmux::ErrorKind>(value)).data();
  }
  return "UnknownError";
}

const char* llmux_error_message(const llmux_error* e) { return e ? e->message.c_str() : ""; }
const char* llmux_error_type(const llmux_error* e) { return e ? e->type.c_str() : ""; }
int llmux_error_status(const llmux_error* e) { return e ? e->status : 0; }
llmux_status llmux_error_code(const llmux_error* e) { return e ? e->code : LLMUX_OK; }
const char* llmux_error_json(const llmux_error* e) { return e ? e->json.c_str() : "{}"; }
void llmux_error_free(llmux_error* e) { delete e; }

llmux_status llmux_router_new(const char* config, size_t len, llmux_router** out_router, llmux_error** out_error) {
  if (out_error) *out_error = nullptr;
  if (out_router) *out_router = nullptr;
  if (!config || !out_router) {
    return fail(out_error, llmux::ErrorKind::kInvalidArgument, "llmux_router_new: config and out_router are required");
  }
  return guarded(out_error, [&] {
    auto r = llmux::Router::from_config(std::string_view(config, len));
    if (!r.ok()) return fail(out_error, r.error());
    *out_router = new llmux_router{std::move(r).value()};
    return LLMUX_OK;
  });
}

void llmux_router_free(llmux_router* router) {
  try {
    delete router;
  } catch (...) {
  }
}

llmux_status llmux_completion(llmux_router* router, const char* request, size_t len, char** out_response,
                              llmux_error** out_error) {
  if (out_error) *out_error = nullptr;
  if (out_response) *out_response = nullptr;
  if (!router || !request || !out_response) {
    return fail(out_error, llmux::ErrorKind::kInvalidArgument,
                "llmux_completion: router, request and out_response are required");
  }
  return guarded(out_error, [&] {
    auto r = router->router->completion(std::string_view(request, len));
    if (!r.ok()) return fail(out_error, r.error());
    *out_response = copy_out(llmux::response_json(r.value()));
    return *out_response ? LLMUX_OK : LLMUX_ERR_OUT_OF_MEMORY;
  });
}

llmux_status llmux_embedding(llmux_router* router, const char* request, size_t len, char** out_response,
                             llmux_error** out_error) {
  if (out_error) *out_error = nullptr;
  if (out_response) *out_response = nullptr;
  if (!router || !request || !out_response) {
    return fail(out_error, llmux::ErrorKind::kInvalidArgument,
                "llmux_embedding: router, request and out_response are required");
  }
  return guarded(out_error, [&] {
    auto r = router->router->embedding(std::string_view(request, len));
    if (!r.ok()) return fail(out_error, r.error());
    *out_response = copy_out(llmux::response_json(r.value()));
    return *out_response ? LLMUX_OK : LLMUX_ERR_OUT_OF_MEMORY;
  });
}

llmux_status llmux_completion_async(llmux_router* router, const char* request, size_t len,
                                    llmux_done_callback on_done, void* user_data, uint64_t* out_call_id) {
  if (out_call_id) *out_call_id = 0;
  if (!router || !request || !on_done) return LLMUX_ERR_INVALID_ARGUMENT;
  return guarded(nullptr, [&] {
    AsyncContext ctx{nullptr, on_done, user_data};
    const uint64_t id = router->router->completion_async(
        std::string_view(request, len), [ctx](llmux::Result<llmux::Response> r) { deliver_done(ctx, std::move(r)); });
    if (out_call_id) *out_call_id = id;
    return LLMUX_OK;
  });
}

llmux_status llmux_completion_stream(llmux_router* router, const char* request, size_t len,
                                     llmux_chunk_callback on_chunk, llmux_done_callback on_done, void* user_data,
                                     uint64_t* out_call_id) {
  if (out_call_id) *out_call_id = 0;
  if (!router || !request || !on_chunk || !on_done) return LLMUX_ERR_INVALID_ARGUMENT;
  return guarded(nullptr, [&] {
    AsyncContext ctx{on_chunk, on_done, user_data};
    const uint64_t id = router->router->stream(
        std::string_view(request, len),
        [ctx](std::string_view chunk) { return ctx.on_chunk(ctx.user_data, chunk.data(), chunk.size()) != 0; },
        [ctx](llmux::Result<llmux::Response> r) { deliver_done(ctx, std::move(r)); });
    if (out_call_id) *out_call_id = id;
    return LLMUX_OK;
  });
}

llmux_status llmux_embedding_async(llmux_router* router, const char* request, size_t len,
                                   llmux_done_callback on_done, void* user_data, uint64_t* out_call_id) {
  if (out_call_id) *out_call_id = 0;
  if (!router || !request || !on_done) return LLMUX_ERR_INVALID_ARGUMENT;
  return guarded(nullptr, [&] {
    AsyncContext ctx{nullptr, on_done, user_data};
    const uint64_t id = router->router->embedding_async(
        std::string_view(request, len), [ctx](llmux::Result<llmux::Response> r) { deliver_done(ctx, std::move(r)); });
    if (out_call_id) *out_call_id = id;
    return LLMUX_OK;
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
    return fail(out_error, llmux::ErrorKind::kInvalidArgument, "llmux_router_add_deployment: router and deployment are required");
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
    return fail(out_error, llmux::ErrorKind::kInvalidArgument, "llmux_router_remove_deployment: router and id are required");
  }
  return guarded(out_error, [&] {
    llmux::Status s = router->router->remove_deployment(id);
    if (!s.ok()) return fail(out_error, s.error());
    return LLMUX_OK;
  });
}

llmux_status llmux_router_deployments(llmux_router* router, char** out_json, llmux_error** out_error) {
  if (out_error) *out_error = nullptr;
  if (out_json) *out_json = nullptr;
  if (!router || !out_json) {
    return fail(out_error, llmux::ErrorKind::kInvalidArgument, "llmux_router_deployments: router and out_json are required");
  }
  return guarded(out_error, [&] {
    *out_json = copy_out(llmux::deployments_json(router->router->deployments()));
    return *out_json ? LLMUX_OK : LLMUX_ERR_OUT_OF_MEMORY;
  });
}

llmux_status llmux_router_health(llmux_router* router, const char* model_group, char** out_json,
                                 llmux_error** out_error) {
  if (out_error) *out_error = nullptr;
  if (out_json) *out_json = nullptr;
  if (!router || !out_json) {
    return fail(out_error, llmux::ErrorKind::kInvalidArgument, "llmux_router_health: router and out_json are required");
  }
  return guarded(out_error, [&] {
    *out_json = copy_out(llmux::health_json(router->router->health(model_group ? model_group : "")));
    return *out_json ? LLMUX_OK : LLMUX_ERR_OUT_OF_MEMORY;
  });
}

llmux_status llmux_router_metrics(llmux_router* router, char** out_text, llmux_error** out_error) {
  if (out_error) *out_error = nullptr;
  if (out_text) *out_text = nullptr;
  if (!router || !out_text) {
    return fail(out_error, llmux::ErrorKind::kInvalidArgument, "llmux_router_metrics: router and out_text are required");
  }
  return guarded(out_error, [&] {
    *out_text = copy_out(router->router->metrics_prometheus());
    return *out_text ? LLMUX_OK : LLMUX_ERR_OUT_OF_MEMORY;
  });
}

}  // extern "C"
