// C half of the cgo bridge (bridge.c), shared by the package's Go files.
//
// The library's callbacks are plain C: they copy what the library lends into
// C memory and append it, as an event, to one process-wide queue. A pipe
// signals the queue's empty-to-non-empty transitions; Go's network poller
// watches its read end, and one goroutine drains the queue and hands each
// event to its call (cgo.go). So the router's I/O thread never enters Go, and
// no OS thread is held per call in flight.
#ifndef LLMUXGO_BRIDGE_H_
#define LLMUXGO_BRIDGE_H_

#include <stddef.h>
#include <stdint.h>

#include "llmux.h"

// One stream chunk, or the outcome of a call (its last event).
typedef struct llmuxgo_event {
  struct llmuxgo_event* next;
  uintptr_t call;  // the cgo.Handle of the call's Go state
  int is_outcome;  // 0: a stream chunk; 1: the outcome
  // The outcome's status: LLMUX_OK, the failure's kind, or LLMUX_ERR_OUT_OF_MEMORY
  // when the bridge could not copy what the library lent (the error strings are then NULL).
  llmux_status status;
  // The chunk, the response (LLMUX_OK) or llmux_error_json (a failure); NUL-terminated.
  const char* data;
  size_t data_len;
  const char* error_type;     // llmux_error_type (failures only)
  const char* error_message;  // llmux_error_message (failures only)
  int error_status;           // llmux_error_status (failures only)
  char* payload;              // the outcome's copies, freed with the event
  int chunk_lost;             // a chunk could not be copied (out of memory): the stream was stopped
} llmuxgo_event;

// Creates the queue's pipe (once per process) and returns its read end,
// non-blocking; -1 with errno set when it cannot be created.
int llmuxgo_queue_open(void);
// Takes every queued event, oldest first (NULL when there is none).
llmuxgo_event* llmuxgo_queue_take(void);
// Frees a list of events taken from the queue.
void llmuxgo_events_free(llmuxgo_event* events);

// Start a call whose events carry `call`. On LLMUX_OK its outcome event will
// be queued exactly once (after its chunks); on any other status nothing was
// started and no event will be queued.
llmux_status llmuxgo_completion_async(llmux_router* router, const char* request, size_t len, uintptr_t call,
                                      uint64_t* call_id);
llmux_status llmuxgo_completion_stream(llmux_router* router, const char* request, size_t len, uintptr_t call,
                                       uint64_t* call_id);
llmux_status llmuxgo_embedding_async(llmux_router* router, const char* request, size_t len, uintptr_t call,
                                     uint64_t* call_id);

#endif  // LLMUXGO_BRIDGE_H_
