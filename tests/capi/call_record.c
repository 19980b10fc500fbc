#include "call_record.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json_reader.h"
#include "test_text.h"

enum { kMagic = 0x6c6d7578u, kWaitSeconds = 60 };

static void append(char** to, const char* text) {
  const size_t old = *to ? strlen(*to) : 0;
  const size_t add = strlen(text);
  char* grown = realloc(*to, old + add + 1);
  if (!grown) abort();
  memcpy(grown + old, text, add + 1);
  *to = grown;
}

static call_record* from_user_data(void* user_data) {
  call_record* record = user_data;
  if (!record || record->magic != kMagic) abort(); /* user_data did not come back: fail loudly */
  return record;
}

void call_record_init(call_record* record) {
  memset(record, 0, sizeof *record);
  record->magic = kMagic;
  record->status = (llmux_status)-1;
  pthread_mutex_init(&record->mu, NULL);
  pthread_cond_init(&record->cv, NULL);
}

void call_record_destroy(call_record* record) {
  free(record->response);
  free(record->error_type);
  free(record->error_message);
  free(record->error_json);
  free(record->content);
  free(record->last_chunk);
  pthread_mutex_destroy(&record->mu);
  pthread_cond_destroy(&record->cv);
  record->magic = 0;
}

void call_record_on_done(void* user_data, llmux_status status, const char* response, size_t response_len,
                         const llmux_error* error) {
  call_record* record = from_user_data(user_data);
  if (record->on_done_hook) record->on_done_hook(record);
  pthread_mutex_lock(&record->mu);
  record->done_calls++;
  record->status = status;
  if (status == LLMUX_OK) {
    record->done_arguments_consistent = response && !error && strlen(response) == response_len;
    if (response) record->response = copy_text(response, response_len);
  } else {
    record->done_arguments_consistent = !response && response_len == 0 && error && llmux_error_code(error) == status;
    record->error_type = copy_text(llmux_error_type(error), strlen(llmux_error_type(error)));
    record->error_message = copy_text(llmux_error_message(error), strlen(llmux_error_message(error)));
    record->error_json = copy_text(llmux_error_json(error), strlen(llmux_error_json(error)));
    record->error_status = llmux_error_status(error);
    record->error_code = llmux_error_code(error);
  }
  pthread_cond_broadcast(&record->cv);
  pthread_mutex_unlock(&record->mu);
}

int call_record_on_chunk(void* user_data, const char* chunk, size_t chunk_len) {
  call_record* record = from_user_data(user_data);
  if (record->on_chunk_hook) record->on_chunk_hook(record);
  pthread_mutex_lock(&record->mu);
  record->chunk_calls++;
  if (record->done_calls) record->chunks_after_done++;
  json_value* parsed = strlen(chunk) == chunk_len ? json_parse(chunk, chunk_len) : NULL;
  const char* object = json_string_at(parsed, "object");
  if (!object || strcmp(object, "chat.completion.chunk") != 0) record->chunks_not_json++;
  const char* delta = json_string_at(parsed, "choices.0.delta.content");
  if (delta) append(&record->content, delta);
  json_free(parsed);
  free(record->last_chunk);
  record->last_chunk = copy_text(chunk, chunk_len);
  const int go_on = record->stop_at_chunk == 0 || record->chunk_calls < record->stop_at_chunk;
  pthread_mutex_unlock(&record->mu);
  return go_on;
}

int call_record_wait(call_record* record) {
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += kWaitSeconds;
  pthread_mutex_lock(&record->mu);
  int waited = 0;
  while (record->done_calls == 0 && waited == 0) waited = pthread_cond_timedwait(&record->cv, &record->mu, &deadline);
  const int done = record->done_calls > 0;
  pthread_mutex_unlock(&record->mu);
  return done;
}
