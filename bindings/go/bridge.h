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

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "llmux.h"

// What an event is about: a call (its chunks and outcome) or a router's
// observer (its routing events and log messages, and its end).
enum {
  LLMUXGO_FOR_CALL = 0,
  LLMUXGO_ROUTER_EVENT = 1,  // data: the event JSON
  LLMUXGO_LOG = 2,           // data: the message; level
  LLMUXGO_ROUTER_CLOSED = 3  // the router was freed: nothing follows for this observer
};

// One stream chunk, the outcome of a call (its last event), or one of a
// router observer's events.
typedef struct llmuxgo_event {
  struct llmuxgo_event* next;
  uintptr_t call;  // the cgo.Handle of the call's Go state (of the router's observer when `about` says so)
  int about;       // LLMUXGO_FOR_CALL or one of the observer kinds
  int level;       // LLMUXGO_LOG: the llmux_log_level
  int is_outcome;  // LLMUXGO_FOR_CALL: 0 for a stream chunk; 1 for the outcome
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
llmux_status llmuxgo_call_async(llmux_router* router, llmux_endpoint endpoint, const char* request, size_t len,
                                uintptr_t call, uint64_t* call_id);

// A call whose caller waits for it on its own thread (a synchronous call at
// low concurrency, router.go): the outcome goes to the waiter instead of the
// queue, and the I/O thread wakes the waiting thread directly (a futex wake,
// or nothing when the outcome came before the wait). A semaphore posted once
// instead of the condition variable signalled under its mutex was measured:
// 6.5 instead of 8.2 thread switches per call, but about 3 us more p50 (the
// woken thread then preempts the I/O thread mid-iteration on one CPU).
//
// Ownership: a waiter belongs to one Go goroutine at a time (router.go keeps
// a small pool of them); while a started call runs, the library's I/O thread
// writes `outcome` and then `done` under `mu`.
typedef struct llmuxgo_waiter {
  llmuxgo_event outcome;  // the outcome, as a queued one would carry it (is_outcome = 1)
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int done;
} llmuxgo_waiter;

// What llmuxgo_waiter_start starts.
enum { LLMUXGO_WAIT_COMPLETION = 0, LLMUXGO_WAIT_EMBEDDING = 1, LLMUXGO_WAIT_ENDPOINT = 2 };

// Allocates a waiter (NULL when out of memory); free it with
// llmuxgo_waiter_free once no call it started is running.
llmuxgo_waiter* llmuxgo_waiter_new(void);
// Starts a call whose outcome the waiter receives (exactly once, on LLMUX_OK;
// on any other status nothing was started). `endpoint` is read for
// LLMUXGO_WAIT_ENDPOINT only. The waiter is fresh or its previous call's
// outcome was taken (llmuxgo_waiter_wait returned): that outcome's copies are
// freed here, so that a reused waiter needs no other cgo call.
llmux_status llmuxgo_waiter_start(llmux_router* router, int what, llmux_endpoint endpoint, const char* request,
                                  size_t len, llmuxgo_waiter* waiter, uint64_t* call_id);
// Blocks the calling thread until the started call's outcome is in the waiter.
void llmuxgo_waiter_wait(llmuxgo_waiter* waiter);
// Frees the waiter and its outcome's copies.
void llmuxgo_waiter_free(llmuxgo_waiter* waiter);

// A router's observer: the C end of its routing events and log messages.
// While the router is being created its log messages are kept here (they are
// handed to Go on the creating goroutine); afterwards everything is queued.
typedef struct llmuxgo_observer llmuxgo_observer;

// llmux_router_new_with_options with the bridge's callbacks for what is
// asked (events, log), reporting to the cgo.Handle `observer`. On LLMUX_OK
// *out_observer must be ended with llmuxgo_observer_created, and after
// llmux_router_free with llmuxgo_observer_closed.
llmux_status llmuxgo_router_new(const char* config, size_t len, uintptr_t observer, int events, int log,
                                uint64_t random_seed, llmuxgo_observer** out_observer, llmux_router** out_router,
                                llmux_error** out_error);
// Ends the creation: returns the log messages kept meanwhile (free them with
// llmuxgo_events_free); later ones are queued.
llmuxgo_event* llmuxgo_observer_created(llmuxgo_observer* observer);
// After llmux_router_free: queues the observer's LLMUXGO_ROUTER_CLOSED event
// (after everything it reported) and frees the C end.
void llmuxgo_observer_closed(llmuxgo_observer* observer);

#endif  // LLMUXGO_BRIDGE_H_
