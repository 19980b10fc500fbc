/* What one asynchronous llmux call delivered to its callbacks, and a bounded
 * wait for its on_done. Pass the record as the call's user_data. */
#ifndef LLMUX_TESTS_CAPI_CALL_RECORD_H_
#define LLMUX_TESTS_CAPI_CALL_RECORD_H_

#include <pthread.h>
#include <stddef.h>

#include "llmux.h"

typedef struct call_record call_record;
/* Runs inside a callback, before the record is updated (for tests of what a
 * callback may call). */
typedef void (*call_record_hook)(call_record* record);

struct call_record {
  unsigned magic; /* checks that user_data came back unchanged */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  /* on_done */
  int done_calls;
  llmux_status status;
  char* response;      /* copy of the response JSON (success) */
  char* error_type;    /* copies of the error's fields (failure) */
  char* error_message;
  char* error_json;
  int error_status;
  llmux_status error_code;
  int done_arguments_consistent; /* success ⇔ response && !error, lengths match */
  /* on_chunk */
  int chunk_calls;
  int chunks_after_done;
  int chunks_not_json;    /* chunks that are not a chat.completion.chunk JSON object */
  char* content;          /* concatenated choices[0].delta.content */
  char* last_chunk;
  int stop_at_chunk;      /* nonzero: on_chunk returns 0 at this chunk number (1-based) */
  call_record_hook on_done_hook;
  call_record_hook on_chunk_hook;
  void* hook_arg;
};

void call_record_init(call_record* record);
void call_record_destroy(call_record* record);

/* The llmux callbacks; user_data is the call_record. */
void call_record_on_done(void* user_data, llmux_status status, const char* response, size_t response_len,
                         const llmux_error* error);
int call_record_on_chunk(void* user_data, const char* chunk, size_t chunk_len);

/* Waits until on_done has run (at most 60 s: a hang guard, not a timing
 * check). Returns 1 when it ran, 0 on timeout. */
int call_record_wait(call_record* record);

#endif /* LLMUX_TESTS_CAPI_CALL_RECORD_H_ */
