// Completion queues (capi/llmux.h, "completion queues"): calls whose outcome
// is appended to a queue the caller drains on its own thread, instead of a
// callback into the caller's runtime on the I/O thread. Built on the public
// C ABI only (llmux_call_async and the llmux_error accessors).
//
// Memory: a queue's state is shared by the caller's handle and every call in
// flight on it, so llmux_queue_free never waits and a late outcome never
// touches freed memory. Each call's record node is allocated when the call is
// submitted: the done callback allocates nothing but the copy of the text
// (and reports LLMUX_ERR_OUT_OF_MEMORY in the record if even that fails), so
// exactly one record comes for every call taken.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>

#if defined(__linux__)
#include <sys/eventfd.h>
#include <unistd.h>
#elif defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <unistd.h>
#endif

#include "llmux.h"

namespace {

// One call's outcome (a singly linked FIFO of them makes the queue).
struct Record {
  Record* next = nullptr;
  uint64_t tag = 0;
  int32_t status = LLMUX_OK;
  int32_t http_status = 0;
  // body, type and message back to back (malloc'd; NULL when all are empty).
  char* text = nullptr;
  uint64_t body_len = 0;
  uint64_t type_len = 0;
  uint64_t message_len = 0;

  ~Record() { std::free(text); }
  uint64_t text_len() const { return body_len + type_len + message_len; }
};

constexpr uint64_t kHeader = LLMUX_QUEUE_RECORD_HEADER;

uint64_t padded(uint64_t n) { return (n + 7) & ~uint64_t{7}; }

class QueueState {
 public:
  ~QueueState() {
    clear();
    close_fd();
  }

  void push(Record* record) {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) {
      delete record;
      return;
    }
    const bool was_empty = head_ == nullptr;
    if (tail_) {
      tail_->next = record;
    } else {
      head_ = record;
    }
    tail_ = record;
    if (was_empty) {
      signal_fd();
      cv_.notify_all();
    }
  }

  size_t pop(int timeout_ms, unsigned char* buffer, size_t capacity) {
    std::unique_lock<std::mutex> lock(mu_);
    if (head_ == nullptr && timeout_ms != 0) {
      if (timeout_ms < 0) {
        cv_.wait(lock, [&] { return head_ != nullptr; });
      } else {
        cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return head_ != nullptr; });
      }
    }
    size_t written = 0;
    while (head_ != nullptr && capacity - written >= kHeader) {
      Record* record = head_;
      const uint64_t inline_size = kHeader + padded(record->text_len());
      const bool spill = inline_size > capacity - written;
      if (spill && written > 0) break;  // the next call takes it whole, if it fits there
      unsigned char* out = buffer + written;
      const uint64_t size = spill ? kHeader : inline_size;
      uint64_t spill_address = 0;
      if (spill) {
        spill_address = reinterpret_cast<uintptr_t>(record->text);
        record->text = nullptr;  // the caller's now
      } else if (record->text_len() > 0) {
        std::memcpy(out + kHeader, record->text, record->text_len());
        std::memset(out + kHeader + record->text_len(), 0, size - kHeader - record->text_len());
      }
      const uint64_t reserved = 0;
      std::memcpy(out + 0, &record->tag, 8);
      std::memcpy(out + 8, &size, 8);
      std::memcpy(out + 16, &record->status, 4);
      std::memcpy(out + 20, &record->http_status, 4);
      std::memcpy(out + 24, &record->body_len, 8);
      std::memcpy(out + 32, &record->type_len, 8);
      std::memcpy(out + 40, &record->message_len, 8);
      std::memcpy(out + 48, &spill_address, 8);
      std::memcpy(out + 56, &reserved, 8);
      written += size;
      head_ = record->next;
      if (head_ == nullptr) tail_ = nullptr;
      delete record;
    }
    if (head_ == nullptr) clear_fd();
    return written;
  }

  int fd() {
    std::lock_guard<std::mutex> lock(mu_);
    if (read_fd_ < 0) {
      open_fd();
      if (read_fd_ >= 0 && head_ != nullptr) signal_fd();
    }
    return read_fd_;
  }

  // The caller's handle is gone: drop what is queued and what comes later.
  void close() {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    clear();
  }

 private:
  void clear() {
    while (head_ != nullptr) {
      Record* next = head_->next;
      delete head_;
      head_ = next;
    }
    tail_ = nullptr;
  }

#if defined(__linux__)
  void open_fd() { read_fd_ = write_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }
  void close_fd() {
    if (read_fd_ >= 0) ::close(read_fd_);
    read_fd_ = write_fd_ = -1;
  }
  void signal_fd() {
    if (write_fd_ < 0) return;
    const uint64_t one = 1;
    ssize_t n;
    do {
      n = ::write(write_fd_, &one, sizeof one);
    } while (n < 0 && errno == EINTR);  // EAGAIN: the counter is full, still readable
  }
  void clear_fd() {
    if (read_fd_ < 0) return;
    uint64_t value;
    ssize_t n;
    do {
      n = ::read(read_fd_, &value, sizeof value);
    } while (n < 0 && errno == EINTR);
  }
#elif defined(__unix__) || defined(__APPLE__)
  void open_fd() {
    int fds[2];
    if (::pipe(fds) != 0) return;
    for (int fd : fds) {
      ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
      ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    read_fd_ = fds[0];
    write_fd_ = fds[1];
  }
  void close_fd() {
    if (read_fd_ >= 0) ::close(read_fd_);
    if (write_fd_ >= 0) ::close(write_fd_);
    read_fd_ = write_fd_ = -1;
  }
  void signal_fd() {
    if (write_fd_ < 0) return;
    const char one = 1;
    ssize_t n;
    do {
      n = ::write(write_fd_, &one, 1);
    } while (n < 0 && errno == EINTR);
  }
  void clear_fd() {
    if (read_fd_ < 0) return;
    char drain[64];
    while (::read(read_fd_, drain, sizeof drain) > 0) {
    }
  }
#else
  void open_fd() {}
  void close_fd() {}
  void signal_fd() {}
  void clear_fd() {}
#endif

  std::mutex mu_;
  std::condition_variable cv_;
  Record* head_ = nullptr;
  Record* tail_ = nullptr;
  bool closed_ = false;
  int read_fd_ = -1;
  int write_fd_ = -1;
};

// A call in flight: the queue it reports to and its record, made up front.
struct Submitted {
  std::shared_ptr<QueueState> queue;
  std::unique_ptr<Record> record;
};

bool copy_text(Record& record, const char* body, size_t body_len, const char* type, const char* message) {
  const size_t type_len = type ? std::strlen(type) : 0;
  const size_t message_len = message ? std::strlen(message) : 0;
  const size_t total = body_len + type_len + message_len;
  if (total == 0) return true;
  char* text = static_cast<char*>(std::malloc(total));
  if (text == nullptr) return false;
  if (body_len) std::memcpy(text, body, body_len);
  if (type_len) std::memcpy(text + body_len, type, type_len);
  if (message_len) std::memcpy(text + body_len + type_len, message, message_len);
  record.text = text;
  record.body_len = body_len;
  record.type_len = type_len;
  record.message_len = message_len;
  return true;
}

void on_done(void* user_data, llmux_status status, const char* response, size_t response_len,
             const llmux_error* error) {
  std::unique_ptr<Submitted> submitted(static_cast<Submitted*>(user_data));
  Record& record = *submitted->record;
  record.status = status;
  bool copied;
  if (status == LLMUX_OK) {
    copied = copy_text(record, response, response ? response_len : 0, nullptr, nullptr);
  } else {
    record.http_status = llmux_error_status(error);
    const char* json = llmux_error_json(error);
    copied = copy_text(record, json, std::strlen(json), llmux_error_type(error), llmux_error_message(error));
  }
  if (!copied) {
    record.status = LLMUX_ERR_OUT_OF_MEMORY;
    record.http_status = 0;
  }
  submitted->queue->push(submitted->record.release());
}

}  // namespace

struct llmux_queue {
  std::shared_ptr<QueueState> state;
};

extern "C" {

llmux_queue* llmux_queue_new(void) {
  try {
    return new llmux_queue{std::make_shared<QueueState>()};
  } catch (...) {
    return nullptr;
  }
}

void llmux_queue_free(llmux_queue* queue) {
  if (queue == nullptr) return;
  queue->state->close();
  delete queue;
}

int llmux_queue_fd(llmux_queue* queue) { return queue ? queue->state->fd() : -1; }

llmux_status llmux_queue_submit(llmux_router* router, llmux_queue* queue, llmux_endpoint endpoint,
                                const char* request, size_t len, uint64_t tag, uint64_t* out_call_id) {
  if (out_call_id) *out_call_id = 0;
  if (router == nullptr || queue == nullptr || request == nullptr) return LLMUX_ERR_INVALID_ARGUMENT;
  Submitted* submitted = nullptr;
  try {
    submitted = new Submitted{queue->state, std::make_unique<Record>()};
  } catch (...) {
    delete submitted;
    return LLMUX_ERR_OUT_OF_MEMORY;
  }
  submitted->record->tag = tag;
  const llmux_status status = llmux_call_async(router, endpoint, request, len, on_done, submitted, out_call_id);
  if (status != LLMUX_OK) delete submitted;  // not taken: on_done never runs
  return status;
}

size_t llmux_queue_pop(llmux_queue* queue, int timeout_ms, void* buffer, size_t capacity) {
  if (queue == nullptr || buffer == nullptr || capacity < kHeader) return 0;
  return queue->state->pop(timeout_ms, static_cast<unsigned char*>(buffer), capacity);
}

llmux_status llmux_queue_call(llmux_router* router, llmux_queue* queue, llmux_endpoint endpoint,
                              const char* request, size_t len, uint64_t tag, int timeout_ms, void* buffer,
                              size_t capacity, size_t* out_written, uint64_t* out_call_id) {
  if (out_written) *out_written = 0;
  const llmux_status status = llmux_queue_submit(router, queue, endpoint, request, len, tag, out_call_id);
  if (status != LLMUX_OK) return status;
  const size_t written = llmux_queue_pop(queue, timeout_ms, buffer, capacity);
  if (out_written) *out_written = written;
  return LLMUX_OK;
}

}  // extern "C"
