// The C++ rows of the bindings benchmark (run by benchmarks/bindings/run_bindings.sh):
//
//   --api=router    Router::completion, one call at a time (the baseline every
//                   binding is compared with), or Router::completion_async with
//                   --mode=async --concurrency=N calls in flight
//   --api=raw-curl  the e2e benchmark's plain libcurl-multi client (RawCurlClient)
//                   POSTing the body llmux would send: the floor under every row
//
//   llmux_bindings_cpp_driver --api=router --config=FILE --request=FILE [--calls=20000] [--warmup=2000]
//                             [--mode=sequential|async] [--concurrency=64]
//   llmux_bindings_cpp_driver --api=raw-curl --url=URL --api-key=KEY --body=FILE [...]
//   llmux_bindings_cpp_driver --print-request-body | --print-response-body
//   llmux_bindings_cpp_driver --print-spliced-body --request=FILE --provider-model=NAME
//
// Prints one JSON line (native/driver_common.h). The request and response
// bodies are the e2e benchmark's (micro/payloads.hpp), so every benchmark
// sends and receives the same bytes.
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "bindings/native/driver_common.h"
#include "e2e/raw_curl_client.hpp"
#include "request/request.hpp"
#include "llmux/router.hpp"
#include "micro/payloads.hpp"

namespace llmux::bench {
namespace {

constexpr const char* kDriver = "cpp";

std::string read_text(const char* path) {
  size_t len = 0;
  char* data = bench_read_file(path, &len);
  std::string text(data, len);
  std::free(data);
  return text;
}

const char* required(int argc, char** argv, const char* name) {
  const char* v = bench_flag(argc, argv, name, nullptr);
  if (v == nullptr) bench_die(kDriver, "missing flag", name);
  return v;
}

// One blocking call and one asynchronous call; `done(ok)` runs on the client's thread.
class Client {
 public:
  virtual ~Client() = default;
  virtual bool call() = 0;
  virtual void call_async(std::function<void(bool)> done) = 0;
};

class RouterClient final : public Client {
 public:
  RouterClient(const std::string& config, std::string request) : request_(std::move(request)) {
    auto r = Router::from_config(config);
    if (!r.ok()) bench_die(kDriver, "Router::from_config failed", r.error().to_string().c_str());
    router_ = std::move(r).value();
  }
  bool call() override {
    auto r = router_->completion(request_);
    return r.ok() && r->status == 200 && !r->body.empty();
  }
  void call_async(std::function<void(bool)> done) override {
    router_->completion_async(request_, [done = std::move(done)](Result<Response> r) {
      done(r.ok() && r->status == 200 && !r->body.empty());
    });
  }

 private:
  const std::string request_;
  std::unique_ptr<Router> router_;
};

class RawCurl final : public Client {
 public:
  RawCurl(const std::string& url, const std::string& api_key, std::string body)
      : body_(std::move(body)),
        client_(url + "/chat/completions", {"Content-Type: application/json", "Authorization: Bearer " + api_key}) {}
  bool call() override {
    std::string response;
    return client_.post(body_, response) == 200 && !response.empty();
  }
  void call_async(std::function<void(bool)> done) override {
    client_.submit(body_, [done = std::move(done)](int status, std::string& body) {
      done(status == 200 && !body.empty());
    });
  }

 private:
  const std::string body_;
  RawCurlClient client_;
};

// A closed loop keeping `concurrency` calls in flight until `total` have
// completed. The last callback may still be unwinding when run() returns, so
// a loop must outlive the client (whose destructor joins its I/O thread).
class ClosedLoop {
 public:
  explicit ClosedLoop(int total) : total_(total) {}
  int run(Client& client, int concurrency) {
    client_ = &client;
    const int first = std::min(total_, concurrency);
    issued_ = first;
    for (int i = 0; i < first; ++i) submit();
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return completed_ == total_; });
    return errors_;
  }

 private:
  void submit() {
    client_->call_async([this](bool ok) {
      bool again = false;
      {
        std::lock_guard lock(mu_);
        errors_ += ok ? 0 : 1;
        if (issued_ < total_) {
          ++issued_;
          again = true;
        }
      }
      if (again) submit();
      std::lock_guard lock(mu_);
      if (++completed_ == total_) cv_.notify_all();
    });
  }

  Client* client_ = nullptr;
  const int total_;
  std::mutex mu_;
  std::condition_variable cv_;
  int issued_ = 0;
  int completed_ = 0;
  int errors_ = 0;
};

int run(int argc, char** argv) {
  const std::string api = bench_flag(argc, argv, "--api", "router");
  const std::string mode = bench_flag(argc, argv, "--mode", "sequential");
  const int calls = bench_flag_int(argc, argv, "--calls", 20000);
  const int warmup = bench_flag_int(argc, argv, "--warmup", 2000);
  const int concurrency = mode == "async" ? std::max(1, bench_flag_int(argc, argv, "--concurrency", 64)) : 1;
  if (mode != "sequential" && mode != "async") bench_die(kDriver, "--mode must be sequential or async", mode.c_str());

  ClosedLoop warmup_loop(warmup), measured_loop(calls);  // declared before the client: see ClosedLoop
  std::unique_ptr<Client> client;
  const char* api_name = nullptr;
  if (api == "router") {
    client = std::make_unique<RouterClient>(read_text(required(argc, argv, "--config")),
                                            read_text(required(argc, argv, "--request")));
    api_name = mode == "async" ? "Router::completion_async" : "Router::completion";
  } else if (api == "raw-curl") {
    client = std::make_unique<RawCurl>(required(argc, argv, "--url"), required(argc, argv, "--api-key"),
                                       read_text(required(argc, argv, "--body")));
    api_name = mode == "async" ? "libcurl-multi submit" : "libcurl-multi post";
  } else {
    bench_die(kDriver, "--api must be router or raw-curl", api.c_str());
  }

  bench_result r{};
  r.driver = kDriver;
  r.api = api_name;
  r.mode = mode.c_str();
  r.concurrency = concurrency;
  r.calls = calls;
  r.warmup = warmup;
  std::vector<int64_t> samples;
  if (mode == "sequential") {
    for (int i = 0; i < warmup; ++i) {
      if (!client->call()) bench_die(kDriver, "a warm-up call failed", api_name);
    }
    samples.resize(static_cast<size_t>(calls));
    const double cpu0 = bench_cpu_seconds();
    const int64_t start = bench_now_ns();
    for (int i = 0; i < calls; ++i) {
      const int64_t t0 = bench_now_ns();
      r.errors += client->call() ? 0 : 1;
      samples[static_cast<size_t>(i)] = bench_now_ns() - t0;
    }
    r.wall_seconds = static_cast<double>(bench_now_ns() - start) / 1e9;
    r.cpu_seconds = bench_cpu_seconds() - cpu0;
    r.samples_ns = samples.data();
  } else {
    if (warmup_loop.run(*client, concurrency) > 0) bench_die(kDriver, "a warm-up call failed", api_name);
    const double cpu0 = bench_cpu_seconds();
    const int64_t start = bench_now_ns();
    r.errors = measured_loop.run(*client, concurrency);
    r.wall_seconds = static_cast<double>(bench_now_ns() - start) / 1e9;
    r.cpu_seconds = bench_cpu_seconds() - cpu0;
  }
  bench_report(&r);
  return r.errors > 0 ? 1 : 0;
}

}  // namespace
}  // namespace llmux::bench

int main(int argc, char** argv) {
  using namespace llmux::bench;
  const std::string_view first = argc > 1 ? argv[1] : "";
  if (first == "--print-request-body" || first == "--print-response-body") {
    const std::string_view body = first == "--print-request-body" ? kChatRequestBody : kChatCompletionResponse;
    std::fwrite(body.data(), 1, body.size(), stdout);
    return 0;
  }
  if (first == "--print-spliced-body") {
    // What llmux sends to the provider for the request: the raw clients send the same bytes.
    const std::string request = read_text(required(argc, argv, "--request"));
    auto parsed = llmux::request::parse_request(request, llmux::request::Endpoint::kChatCompletions);
    if (!parsed.ok()) bench_die(kDriver, "the request does not parse", parsed.error().to_string().c_str());
    std::string out;
    llmux::request::splice_request(*parsed, required(argc, argv, "--provider-model"), {}, out);
    std::fwrite(out.data(), 1, out.size(), stdout);
    return 0;
  }
  return run(argc, argv);
}
