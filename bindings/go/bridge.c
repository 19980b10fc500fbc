// C half of the cgo bridge: see bridge.h. Everything here runs without Go:
// the callbacks on the router's I/O thread, the rest inside short cgo calls.
#include "bridge.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct {
  pthread_mutex_t mu;
  llmuxgo_event* head;
  llmuxgo_event* tail;
  int write_fd;  // the pipe's write end
} queue = {PTHREAD_MUTEX_INITIALIZER, NULL, NULL, -1};

static int set_flags(int fd) {
  int fl = fcntl(fd, F_GETFL);
  int fd_fl = fcntl(fd, F_GETFD);
  if (fl < 0 || fd_fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, fd_fl | FD_CLOEXEC) < 0) {
    return -1;
  }
  return 0;
}

int llmuxgo_queue_open(void) {
  int fds[2];
  if (pipe(fds) != 0) return -1;
  // Both ends non-blocking: the reader is Go's poller, and the I/O thread must never block on a full pipe.
  if (set_flags(fds[0]) != 0 || set_flags(fds[1]) != 0) {
    int saved = errno;
    close(fds[0]);
    close(fds[1]);
    errno = saved;
    return -1;
  }
  pthread_mutex_lock(&queue.mu);
  queue.write_fd = fds[1];
  pthread_mutex_unlock(&queue.mu);
  return fds[0];
}

// Appends an event; the first event of an empty queue wakes the reader. The
// reader reads the pipe before it takes the queue, so an event is never left
// behind without a wake-up pending; a full pipe already holds one.
static void push(llmuxgo_event* event) {
  event->next = NULL;
  pthread_mutex_lock(&queue.mu);
  int was_empty = queue.head == NULL;
  if (was_empty) {
    queue.head = event;
  } else {
    queue.tail->next = event;
  }
  queue.tail = event;
  int fd = queue.write_fd;
  pthread_mutex_unlock(&queue.mu);
  if (was_empty) {
    static const char wake = 1;
    while (write(fd, &wake, 1) < 0 && errno == EINTR) {
    }
  }
}

llmuxgo_event* llmuxgo_queue_take(void) {
  pthread_mutex_lock(&queue.mu);
  llmuxgo_event* events = queue.head;
  queue.head = queue.tail = NULL;
  pthread_mutex_unlock(&queue.mu);
  return events;
}

void llmuxgo_events_free(llmuxgo_event* events) {
  while (events != NULL) {
    llmuxgo_event* next = events->next;
    free(events->payload);
    free(events);
    events = next;
  }
}

// Copies `len` bytes and a NUL to *cursor and advances it.
static const char* put(char** cursor, const char* text, size_t len) {
  char* copy = *cursor;
  memcpy(copy, text, len);
  copy[len] = '\0';
  *cursor += len + 1;
  return copy;
}

// Copies what the library lends into the outcome (allocated when the call
// started, so that the outcome is always delivered, even when nothing more can
// be allocated).
static void fill_outcome(llmuxgo_event* outcome, llmux_status status, const char* response, size_t response_len,
                         const llmux_error* error) {
  outcome->status = status;
  if (outcome->chunk_lost) {
    outcome->status = LLMUX_ERR_OUT_OF_MEMORY;
  } else if (status == LLMUX_OK) {
    outcome->payload = malloc(response_len + 1);
    if (outcome->payload != NULL) {
      char* cursor = outcome->payload;
      outcome->data = put(&cursor, response, response_len);
      outcome->data_len = response_len;
    } else {
      outcome->status = LLMUX_ERR_OUT_OF_MEMORY;
    }
  } else {
    const char* type = llmux_error_type(error);
    const char* message = llmux_error_message(error);
    const char* detail = llmux_error_json(error);
    size_t type_len = strlen(type), message_len = strlen(message), detail_len = strlen(detail);
    outcome->payload = malloc(type_len + message_len + detail_len + 3);
    if (outcome->payload != NULL) {
      char* cursor = outcome->payload;
      outcome->error_type = put(&cursor, type, type_len);
      outcome->error_message = put(&cursor, message, message_len);
      outcome->data = put(&cursor, detail, detail_len);
      outcome->data_len = detail_len;
      outcome->error_status = llmux_error_status(error);
    } else {
      outcome->status = LLMUX_ERR_OUT_OF_MEMORY;
    }
  }
}

// user_data is the call's outcome event.
static void on_done(void* user_data, llmux_status status, const char* response, size_t response_len,
                    const llmux_error* error) {
  llmuxgo_event* outcome = user_data;
  fill_outcome(outcome, status, response, response_len, error);
  push(outcome);
}

static int on_chunk(void* user_data, const char* chunk, size_t chunk_len) {
  llmuxgo_event* outcome = user_data;
  llmuxgo_event* event = malloc(sizeof *event + chunk_len + 1);
  if (event == NULL) {
    // A stream must not silently skip a chunk: stop it, and report the loss in its outcome.
    outcome->chunk_lost = 1;
    return 0;
  }
  memset(event, 0, sizeof *event);
  event->call = outcome->call;
  char* cursor = (char*)(event + 1);
  event->data = put(&cursor, chunk, chunk_len);
  event->data_len = chunk_len;
  push(event);
  return 1;
}

static llmuxgo_event* new_outcome(uintptr_t call) {
  llmuxgo_event* outcome = calloc(1, sizeof *outcome);
  if (outcome != NULL) {
    outcome->call = call;
    outcome->is_outcome = 1;
  }
  return outcome;
}

llmux_status llmuxgo_completion_async(llmux_router* router, const char* request, size_t len, uintptr_t call,
                                      uint64_t* call_id) {
  llmuxgo_event* outcome = new_outcome(call);
  if (outcome == NULL) return LLMUX_ERR_OUT_OF_MEMORY;
  llmux_status status = llmux_completion_async(router, request, len, on_done, outcome, call_id);
  if (status != LLMUX_OK) free(outcome);
  return status;
}

llmux_status llmuxgo_completion_stream(llmux_router* router, const char* request, size_t len, uintptr_t call,
                                       uint64_t* call_id) {
  llmuxgo_event* outcome = new_outcome(call);
  if (outcome == NULL) return LLMUX_ERR_OUT_OF_MEMORY;
  llmux_status status = llmux_completion_stream(router, request, len, on_chunk, on_done, outcome, call_id);
  if (status != LLMUX_OK) free(outcome);
  return status;
}

llmux_status llmuxgo_embedding_async(llmux_router* router, const char* request, size_t len, uintptr_t call,
                                     uint64_t* call_id) {
  llmuxgo_event* outcome = new_outcome(call);
  if (outcome == NULL) return LLMUX_ERR_OUT_OF_MEMORY;
  llmux_status status = llmux_embedding_async(router, request, len, on_done, outcome, call_id);
  if (status != LLMUX_OK) free(outcome);
  return status;
}

llmux_status llmuxgo_call_async(llmux_router* router, llmux_endpoint endpoint, const char* request, size_t len,
                                uintptr_t call, uint64_t* call_id) {
  llmuxgo_event* outcome = new_outcome(call);
  if (outcome == NULL) return LLMUX_ERR_OUT_OF_MEMORY;
  llmux_status status = llmux_call_async(router, endpoint, request, len, on_done, outcome, call_id);
  if (status != LLMUX_OK) free(outcome);
  return status;
}

// ---- calls waited for on the caller's thread --------------------------------

llmuxgo_waiter* llmuxgo_waiter_new(void) {
  llmuxgo_waiter* waiter = calloc(1, sizeof *waiter);
  if (waiter == NULL) return NULL;
  waiter->outcome.is_outcome = 1;
  pthread_mutex_init(&waiter->mu, NULL);
  pthread_cond_init(&waiter->cv, NULL);
  return waiter;
}

// user_data is the waiter.
static void on_done_waiter(void* user_data, llmux_status status, const char* response, size_t response_len,
                           const llmux_error* error) {
  llmuxgo_waiter* waiter = user_data;
  fill_outcome(&waiter->outcome, status, response, response_len, error);
  pthread_mutex_lock(&waiter->mu);
  waiter->done = 1;
  pthread_cond_signal(&waiter->cv);
  pthread_mutex_unlock(&waiter->mu);
}

llmux_status llmuxgo_waiter_start(llmux_router* router, int what, llmux_endpoint endpoint, const char* request,
                                  size_t len, llmuxgo_waiter* waiter, uint64_t* call_id) {
  // The previous call's outcome (Go copied it before it reused the waiter); no call runs on it now.
  free(waiter->outcome.payload);
  memset(&waiter->outcome, 0, sizeof waiter->outcome);
  waiter->outcome.is_outcome = 1;
  waiter->done = 0;
  switch (what) {
    case LLMUXGO_WAIT_COMPLETION:
      return llmux_completion_async(router, request, len, on_done_waiter, waiter, call_id);
    case LLMUXGO_WAIT_EMBEDDING:
      return llmux_embedding_async(router, request, len, on_done_waiter, waiter, call_id);
    default:
      return llmux_call_async(router, endpoint, request, len, on_done_waiter, waiter, call_id);
  }
}

void llmuxgo_waiter_wait(llmuxgo_waiter* waiter) {
  pthread_mutex_lock(&waiter->mu);
  while (!waiter->done) pthread_cond_wait(&waiter->cv, &waiter->mu);
  pthread_mutex_unlock(&waiter->mu);
}

void llmuxgo_waiter_free(llmuxgo_waiter* waiter) {
  if (waiter == NULL) return;
  free(waiter->outcome.payload);
  pthread_cond_destroy(&waiter->cv);
  pthread_mutex_destroy(&waiter->mu);
  free(waiter);
}

// ---- router observers ----------------------------------------------------

struct llmuxgo_observer {
  uintptr_t handle;
  pthread_mutex_t mu;
  int creating;
  llmuxgo_event* kept_head;  // log messages of the creation
  llmuxgo_event* kept_tail;
  llmuxgo_event* closed;  // preallocated: the end is always reported
};

static llmuxgo_event* observer_event(llmuxgo_observer* observer, int about, const char* data, size_t len) {
  llmuxgo_event* event = malloc(sizeof *event + len + 1);
  if (event == NULL) return NULL;  // an observation is dropped, never a call's outcome
  memset(event, 0, sizeof *event);
  event->call = observer->handle;
  event->about = about;
  char* cursor = (char*)(event + 1);
  event->data = put(&cursor, data, len);
  event->data_len = len;
  return event;
}

static void on_router_event(void* user_data, const char* json, size_t len) {
  llmuxgo_event* event = observer_event(user_data, LLMUXGO_ROUTER_EVENT, json, len);
  if (event != NULL) push(event);
}

static void on_log(void* user_data, llmux_log_level level, const char* message, size_t len) {
  llmuxgo_observer* observer = user_data;
  llmuxgo_event* event = observer_event(observer, LLMUXGO_LOG, message, len);
  if (event == NULL) return;
  event->level = (int)level;
  pthread_mutex_lock(&observer->mu);
  int keep = observer->creating;
  if (keep) {
    if (observer->kept_tail != NULL) {
      observer->kept_tail->next = event;
    } else {
      observer->kept_head = event;
    }
    observer->kept_tail = event;
  }
  pthread_mutex_unlock(&observer->mu);
  if (!keep) push(event);
}

static void observer_free(llmuxgo_observer* observer) {
  llmuxgo_events_free(observer->kept_head);
  pthread_mutex_destroy(&observer->mu);
  free(observer);
}

llmux_status llmuxgo_router_new(const char* config, size_t len, uintptr_t handle, int events, int log,
                                uint64_t random_seed, llmuxgo_observer** out_observer, llmux_router** out_router,
                                llmux_error** out_error) {
  *out_observer = NULL;
  llmuxgo_observer* observer = calloc(1, sizeof *observer);
  llmuxgo_event* closed = calloc(1, sizeof *closed);
  if (observer == NULL || closed == NULL) {
    free(observer);
    free(closed);
    return LLMUX_ERR_OUT_OF_MEMORY;
  }
  observer->handle = handle;
  observer->creating = 1;
  observer->closed = closed;
  closed->call = handle;
  closed->about = LLMUXGO_ROUTER_CLOSED;
  pthread_mutex_init(&observer->mu, NULL);
  llmux_router_options options = LLMUX_ROUTER_OPTIONS_INIT;
  if (events) {
    options.on_event = on_router_event;
    options.event_user_data = observer;
  }
  if (log) {
    options.log = on_log;
    options.log_user_data = observer;
  }
  options.random_seed = random_seed;
  llmux_status status = llmux_router_new_with_options(config, len, &options, out_router, out_error);
  if (status != LLMUX_OK) {
    free(observer->closed);
    observer_free(observer);
    return status;
  }
  *out_observer = observer;
  return LLMUX_OK;
}

llmuxgo_event* llmuxgo_observer_created(llmuxgo_observer* observer) {
  pthread_mutex_lock(&observer->mu);
  observer->creating = 0;
  llmuxgo_event* kept = observer->kept_head;
  observer->kept_head = observer->kept_tail = NULL;
  pthread_mutex_unlock(&observer->mu);
  return kept;
}

void llmuxgo_observer_closed(llmuxgo_observer* observer) {
  push(observer->closed);
  observer_free(observer);
}
