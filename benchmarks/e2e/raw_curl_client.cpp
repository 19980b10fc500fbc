#include "e2e/raw_curl_client.hpp"

#include <utility>

#include "absl/synchronization/notification.h"

namespace llmux::bench {

RawCurlClient::RawCurlClient(std::string url, std::vector<std::string> headers)
    : url_(std::move(url)), headers_(std::move(headers)) {
  curl_global_init(CURL_GLOBAL_ALL);
  for (const std::string& h : headers_) header_list_ = curl_slist_append(header_list_, h.c_str());
  // No 100-continue round trip (the Router's transport sends the same).
  header_list_ = curl_slist_append(header_list_, "Expect:");
  multi_ = curl_multi_init();
  thread_ = std::thread([this] { run(); });
}

RawCurlClient::~RawCurlClient() {
  stop_.store(true);
  curl_multi_wakeup(multi_);
  thread_.join();
  for (auto& t : idle_) curl_easy_cleanup(t->easy);
  idle_.clear();
  curl_multi_cleanup(multi_);
  curl_slist_free_all(header_list_);
}

void RawCurlClient::submit(std::string_view body, DoneFn done) {
  {
    absl::MutexLock lock(&mu_);
    queue_.push_back(Pending{std::string(body), std::move(done)});
  }
  // The loop re-checks work_pending_ before polling: calls made on the loop
  // thread (from done callbacks) need no wakeup.
  if (!work_pending_.exchange(true) && std::this_thread::get_id() != thread_.get_id()) curl_multi_wakeup(multi_);
}

int RawCurlClient::post(std::string_view body, std::string& response) {
  absl::Notification done;
  int status = 0;
  submit(body, [&](int s, std::string& b) {
    status = s;
    response = std::move(b);
    done.Notify();
  });
  done.WaitForNotification();
  return status;
}

void RawCurlClient::run() {
  while (!stop_.load(std::memory_order_acquire)) {
    work_pending_.store(false);
    {
      absl::MutexLock lock(&mu_);
      local_.swap(queue_);
    }
    for (Pending& p : local_) start(p);
    local_.clear();
    int running = 0;
    curl_multi_perform(multi_, &running);
    finish_done();
    if (!work_pending_.load()) curl_multi_poll(multi_, nullptr, 0, 1000, nullptr);
  }
}

std::unique_ptr<RawCurlClient::Transfer> RawCurlClient::acquire() {
  if (!idle_.empty()) {
    auto t = std::move(idle_.back());
    idle_.pop_back();
    return t;
  }
  // A new easy handle carries every option that does not change per request.
  auto t = std::make_unique<Transfer>();
  CURL* e = curl_easy_init();
  t->easy = e;
  curl_easy_setopt(e, CURLOPT_URL, url_.c_str());
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, header_list_);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(e, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
  curl_easy_setopt(e, CURLOPT_POST, 1L);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &RawCurlClient::on_write);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, t.get());
  curl_easy_setopt(e, CURLOPT_PRIVATE, t.get());
  return t;
}

void RawCurlClient::start(Pending& p) {
  std::unique_ptr<Transfer> t = acquire();
  t->request.swap(p.body);  // the transfer keeps the bytes alive while libcurl sends them
  t->response.clear();
  t->done = std::move(p.done);
  curl_easy_setopt(t->easy, CURLOPT_POSTFIELDS, t->request.data());
  curl_easy_setopt(t->easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(t->request.size()));
  if (curl_multi_add_handle(multi_, t->easy) != CURLM_OK) {
    DoneFn done = std::move(t->done);
    idle_.push_back(std::move(t));
    std::string empty;
    done(0, empty);
    return;
  }
  (void)t.release();  // owned by the multi handle until it reports done (CURLOPT_PRIVATE)
}

void RawCurlClient::finish_done() {
  int remaining = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi_, &remaining)) {
    if (msg->msg != CURLMSG_DONE) continue;
    char* priv = nullptr;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
    std::unique_ptr<Transfer> t(reinterpret_cast<Transfer*>(priv));
    long status = 0;
    if (msg->data.result == CURLE_OK) curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_multi_remove_handle(multi_, t->easy);
    DoneFn done = std::move(t->done);
    std::string body = std::move(t->response);
    idle_.push_back(std::move(t));
    done(static_cast<int>(status), body);
  }
}

size_t RawCurlClient::on_write(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  t->response.append(data, size * n);
  return size * n;
}

}  // namespace llmux::bench
