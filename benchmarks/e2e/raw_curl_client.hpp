// -----------------------------------------------------------------------------
// File: benchmarks/e2e/raw_curl_client.hpp
// -----------------------------------------------------------------------------
// The baseline of the end-to-end benchmark: a plain libcurl-multi client built
// the way a competent application would build one, with the same shape as the
// Router's transport so that the difference between the two is llmux's own
// work. One CURLM driven by one thread (curl_multi_poll, woken by
// curl_multi_wakeup); other threads only enqueue. Easy handles are pooled and
// reused, so their connections are reused (HTTP/1.1 keep-alive) from the
// multi handle's cache; the header list is built once. It does nothing else:
// no request or response parsing, no retries, no timers beyond libcurl's
// connect timeout.
//
// Thread safety: submit() and post() may be called from any thread, including
// from a done callback (which runs on the client's thread). The destructor
// must not run while transfers are in flight.
#pragma once

#include <curl/curl.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace llmux::bench {

class RawCurlClient {
 public:
  // `status` is the HTTP status, 0 when no response arrived; `body` may be
  // moved from. Runs on the client's I/O thread.
  using DoneFn = std::function<void(int status, std::string& body)>;

  // `headers`: full header lines ("Name: value") sent with every request.
  RawCurlClient(std::string url, std::vector<std::string> headers);
  ~RawCurlClient();
  RawCurlClient(const RawCurlClient&) = delete;
  RawCurlClient& operator=(const RawCurlClient&) = delete;

  // POSTs `body` (copied); `done` runs once on the I/O thread.
  void submit(std::string_view body, DoneFn done);
  // Blocking POST: returns the status and fills `response`.
  int post(std::string_view body, std::string& response);

 private:
  struct Transfer {
    CURL* easy = nullptr;
    std::string request;
    std::string response;
    DoneFn done;
  };
  struct Pending {
    std::string body;
    DoneFn done;
  };

  void run();
  void start(Pending& p);
  void finish_done();
  std::unique_ptr<Transfer> acquire();
  static size_t on_write(char* data, size_t size, size_t n, void* user);

  const std::string url_;
  const std::vector<std::string> headers_;
  curl_slist* header_list_ = nullptr;
  CURLM* multi_ = nullptr;

  absl::Mutex mu_;
  std::vector<Pending> queue_ ABSL_GUARDED_BY(mu_);
  std::atomic<bool> work_pending_{false};
  std::atomic<bool> stop_{false};

  // I/O thread only.
  std::vector<Pending> local_;
  std::vector<std::unique_ptr<Transfer>> idle_;
  std::thread thread_;
};

}  // namespace llmux::bench
