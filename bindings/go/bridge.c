// C half of the cgo bridge: the llmux callbacks are trampolines into the Go
// functions exported by cgo.go, and the call starters take the cgo.Handle as
// an integer so that Go never converts an integer to a pointer itself.
#include "_cgo_export.h"

static void on_done(void* user_data, llmux_status status, const char* response, size_t response_len,
                    const llmux_error* error) {
  llmuxGoDone((uintptr_t)user_data, status, (char*)response, response_len, (llmux_error*)error);
}

static int on_chunk(void* user_data, const char* chunk, size_t chunk_len) {
  return llmuxGoChunk((uintptr_t)user_data, (char*)chunk, chunk_len);
}

llmux_status llmuxgo_completion_async(llmux_router* router, const char* request, size_t len, uintptr_t handle,
                                      uint64_t* call_id) {
  return llmux_completion_async(router, request, len, on_done, (void*)handle, call_id);
}

llmux_status llmuxgo_completion_stream(llmux_router* router, const char* request, size_t len, uintptr_t handle,
                                       uint64_t* call_id) {
  return llmux_completion_stream(router, request, len, on_chunk, on_done, (void*)handle, call_id);
}

llmux_status llmuxgo_embedding_async(llmux_router* router, const char* request, size_t len, uintptr_t handle,
                                     uint64_t* call_id) {
  return llmux_embedding_async(router, request, len, on_done, (void*)handle, call_id);
}
