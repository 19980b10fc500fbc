// Streaming overhead of the Router over a plain libcurl-multi SSE client
// (issue 14 target 1: added time to first token ≤ 10 µs p50, added CPU per
// chunk ≤ 0.5 µs). Run by run_stream_on_nginx.sh, which starts nginx on
// loopback serving two fixed chat.completion.chunk SSE bodies (the ones this
// binary prints with --print-sse-body=TOKENS) at /few/v1/chat/completions and
// /many/v1/chat/completions.
//
//   llmux_stream_overhead_bench --port=P [--few=8] [--many=400] [--streams=4000] [--warmup=300]
//                               [--block=200] [--json=FILE]
//   llmux_stream_overhead_bench --port=P --only=baseline|llmux [--size=few|many] [--streams=N]
//                               (one side's streams alone: for callgrind)
//   llmux_stream_overhead_bench --print-sse-body=TOKENS
//
// Method.
//  * Both clients send the same request bytes (the Router's splice of the
//    user's "stream": true request) to the same nginx over reused
//    connections, and read the same SSE body. The baseline (RawSseClient
//    below) is what a competent application would write: one CURLM on its
//    own thread, pooled pre-configured easy handles, and SSE framing by
//    scanning for the blank line between events, handing each `data:`
//    payload to the consumer — no JSON parsing, no retries, no usage. The
//    Router does what it always does per chunk (SSE framing, a look into the
//    chunk for content/finish_reason/usage, the first-token hold-back, the
//    consumer callback).
//  * One stream at a time, in alternating blocks (ABBA) inside one process,
//    so machine noise hits both sides alike.
//  * Time to first token: steady clock from just before the call is issued
//    to the first chunk handed to the consumer (on the I/O thread). nginx
//    sends the whole body at once, so this is the client's own latency to
//    its first chunk. Added TTFT = llmux percentile − baseline percentile.
//  * CPU: getrusage(RUSAGE_SELF) over each side's blocks (both threads of
//    each side; the idle side sleeps in poll), per stream. Each side runs
//    two bodies, `few` and `many` content chunks; added CPU per chunk is the
//    slope: ((llmux − baseline) at many − (llmux − baseline) at few) /
//    (events at many − events at few), so the per-call cost cancels out.
//    The per-call part (added CPU per stream at `few`) is reported too.
#include <fmt/format.h>
#include <curl/curl.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/bench_flags.hpp"
#include "common/alloc_counter.hpp"
#include "llmux/router.hpp"
#include "micro/payloads.hpp"
#include "request/request.hpp"

namespace llmux::bench {
namespace {

constexpr std::string_view kApiKey = "sk-bench-0123456789";
constexpr std::string_view kProviderModel = "gpt-4o";
constexpr double kBudgetAddedTtftP50Us = 10;
constexpr double kBudgetCpuPerChunkUs = 0.5;

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  int few = 8;      // content chunks of the short body
  int many = 400;   // content chunks of the long body
  int streams = 4000;  // per side and body
  int warmup = 300;    // per side and body
  int block = 200;
  std::string json_path;
  std::string only;          // diagnostic: this side alone
  std::string size = "many";  // with --only
};

[[noreturn]] void die(const std::string& message) { die_in("stream_overhead_bench", message); }

int parse_int(std::string_view flag, std::string_view v) { return parse_flag_int("stream_overhead_bench", flag, v); }

Options parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    const auto [key, val] = split_flag(a);
    if (key == "--port") o.port = parse_int(key, val);
    else if (key == "--host") o.host = std::string(val);
    else if (key == "--few") o.few = parse_int(key, val);
    else if (key == "--many") o.many = parse_int(key, val);
    else if (key == "--streams") o.streams = parse_int(key, val);
    else if (key == "--warmup") o.warmup = parse_int(key, val);
    else if (key == "--block") o.block = std::max(1, parse_int(key, val));
    else if (key == "--json") o.json_path = std::string(val);
    else if (key == "--only") o.only = std::string(val);
    else if (key == "--size") o.size = std::string(val);
    else die(fmt::format("unknown argument '{}'", a));
  }
  if (o.port <= 0) die("--port is required (run benchmarks/e2e/run_stream_on_nginx.sh, which starts nginx)");
  if (o.many <= o.few) die("--many must exceed --few");
  return o;
}

// The two bodies nginx serves, by path prefix.
constexpr const char* kSizeNames[2] = {"few", "many"};

std::string base_url(const Options& o, int size) {
  return fmt::format("http://{}:{}/{}/v1", o.host, o.port, kSizeNames[size]);
}

// The user's request: the support-chat body with "stream": true, for group `group`.
std::string user_request(std::string_view group) {
  std::string body(kChatRequestBody);
  const std::string_view from = "\"model\":\"production-llm\"";
  const size_t at = body.find(from);
  if (at == std::string::npos) die("the sample request has no model");
  body.replace(at, from.size(), fmt::format("\"model\":\"{}\",\"stream\":true", group));
  return body;
}

// What the Router sends for it (spliced); the baseline sends the same bytes.
std::string spliced_body(std::string_view user) {
  auto parsed = request::parse_request(user, request::Endpoint::kChatCompletions);
  if (!parsed.ok()) die("the sample request does not parse: " + parsed.error().to_string());
  std::string out;
  request::splice_request(*parsed, kProviderModel, {}, out);
  return out;
}

// One stream's outcome as the measuring thread sees it.
struct StreamOutcome {
  bool ok = false;
  int chunks = 0;
  std::chrono::steady_clock::time_point first_chunk{};
};

// A one-shot wait for the I/O thread's done.
class Done {
 public:
  void notify() {
    std::lock_guard lock(mu_);
    done_ = true;
    cv_.notify_one();
  }
  void wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return done_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
};

class Client {
 public:
  virtual ~Client() = default;
  // One blocking stream of body `size` (0 = few, 1 = many).
  virtual void stream(int size, StreamOutcome& out) = 0;
};

// --- the baseline: plain libcurl multi + SSE framing ---------------------------

class RawSseClient final : public Client {
 public:
  RawSseClient(const Options& o, std::string body) : body_(std::move(body)) {
    curl_global_init(CURL_GLOBAL_ALL);
    headers_ = curl_slist_append(headers_, "Content-Type: application/json");
    headers_ = curl_slist_append(headers_, fmt::format("Authorization: Bearer {}", kApiKey).c_str());
    headers_ = curl_slist_append(headers_, "Expect:");
    for (int s = 0; s < 2; ++s) urls_[s] = base_url(o, s) + "/chat/completions";
    multi_ = curl_multi_init();
    thread_ = std::thread([this] { run(); });
  }
  ~RawSseClient() override {
    stop_.store(true);
    curl_multi_wakeup(multi_);
    thread_.join();
    for (auto& pool : idle_) {
      for (auto& t : pool) curl_easy_cleanup(t->easy);
    }
    curl_multi_cleanup(multi_);
    curl_slist_free_all(headers_);
  }

  void stream(int size, StreamOutcome& out) override {
    Done done;
    {
      std::lock_guard lock(mu_);
      queue_.push_back(Pending{size, &out, &done});
    }
    curl_multi_wakeup(multi_);
    done.wait();
  }

 private:
  struct Pending {
    int size;
    StreamOutcome* out;
    Done* done;
  };
  struct Transfer {
    CURL* easy = nullptr;
    int size = 0;
    std::string carry;  // an unfinished event across write callbacks
    StreamOutcome* out = nullptr;
    Done* done = nullptr;
  };

  void run() {
    while (!stop_.load()) {
      std::vector<Pending> local;
      {
        std::lock_guard lock(mu_);
        local.swap(queue_);
      }
      for (const Pending& p : local) start(p);
      int running = 0;
      curl_multi_perform(multi_, &running);
      int remaining = 0;
      while (CURLMsg* msg = curl_multi_info_read(multi_, &remaining)) {
        if (msg->msg != CURLMSG_DONE) continue;
        char* priv = nullptr;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
        auto* t = reinterpret_cast<Transfer*>(priv);
        long status = 0;
        curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
        curl_multi_remove_handle(multi_, t->easy);
        t->out->ok = msg->data.result == CURLE_OK && status == 200 && t->carry.empty();
        Done* done = t->done;
        idle_[t->size].emplace_back(t);
        done->notify();
      }
      curl_multi_poll(multi_, nullptr, 0, 1000, nullptr);
    }
  }

  void start(const Pending& p) {
    std::unique_ptr<Transfer> t;
    auto& pool = idle_[p.size];
    if (!pool.empty()) {
      t = std::move(pool.back());
      pool.pop_back();
    } else {
      t = std::make_unique<Transfer>();
      CURL* e = curl_easy_init();
      t->easy = e;
      t->size = p.size;
      curl_easy_setopt(e, CURLOPT_URL, urls_[p.size].c_str());
      curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers_);
      curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
      curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
      curl_easy_setopt(e, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
      curl_easy_setopt(e, CURLOPT_POST, 1L);
      curl_easy_setopt(e, CURLOPT_POSTFIELDS, body_.data());
      curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body_.size()));
      curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &RawSseClient::on_write);
      curl_easy_setopt(e, CURLOPT_WRITEDATA, t.get());
      curl_easy_setopt(e, CURLOPT_PRIVATE, t.get());
    }
    t->carry.clear();
    t->out = p.out;
    t->done = p.done;
    curl_multi_add_handle(multi_, t->easy);
    (void)t.release();  // back into idle_ when done
  }

  // The consumer: counts chunks, stamps the first.
  static void on_event(Transfer& t, std::string_view data) {
    if (data == "[DONE]") return;
    if (t.out->chunks++ == 0) t.out->first_chunk = std::chrono::steady_clock::now();
  }

  // Events end at a blank line; each line "data: X" carries the payload.
  static void frame(Transfer& t, std::string_view bytes) {
    size_t pos = 0;
    for (;;) {
      const size_t end = bytes.find("\n\n", pos);
      if (end == std::string_view::npos) break;
      std::string_view event = bytes.substr(pos, end - pos);
      if (event.substr(0, 6) == "data: ") on_event(t, event.substr(6));
      pos = end + 2;
    }
    t.carry.assign(bytes.substr(pos));
  }

  static size_t on_write(char* data, size_t size, size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    const std::string_view bytes(data, size * n);
    if (t->carry.empty()) {
      frame(*t, bytes);
    } else {
      std::string joined = std::move(t->carry);
      joined.append(bytes);
      frame(*t, joined);
    }
    return size * n;
  }

  const std::string body_;
  std::string urls_[2];
  curl_slist* headers_ = nullptr;
  CURLM* multi_ = nullptr;
  std::mutex mu_;
  std::vector<Pending> queue_;
  std::atomic<bool> stop_{false};
  std::vector<std::unique_ptr<Transfer>> idle_[2];
  std::thread thread_;
};

// --- the Router ------------------------------------------------------------------

class RouterClient final : public Client {
 public:
  explicit RouterClient(const Options& o) {
    std::string config = "model_list:\n";
    for (int s = 0; s < 2; ++s) {
      config += fmt::format(
          "  - model_name: stream-{}\n"
          "    litellm_params:\n"
          "      model: openai/{}\n"
          "      api_base: {}\n"
          "      api_key: {}\n",
          kSizeNames[s], kProviderModel, base_url(o, s), kApiKey);
      requests_[s] = user_request(fmt::format("stream-{}", kSizeNames[s]));
    }
    auto r = Router::from_config(config);
    if (!r.ok()) die("Router::from_config failed: " + r.error().to_string());
    router_ = std::move(r).value();
  }

  void stream(int size, StreamOutcome& out) override {
    Done done;
    router_->stream(
        requests_[size],
        [&out](std::string_view) {
          if (out.chunks++ == 0) out.first_chunk = std::chrono::steady_clock::now();
          return true;
        },
        [&](Result<Response> r) {
          out.ok = r.ok();
          if (!r.ok()) std::fprintf(stderr, "stream failed: %s\n", r.error().to_string().c_str());
          done.notify();
        });
    done.wait();
  }

 private:
  std::string requests_[2];
  std::unique_ptr<Router> router_;
};

// --- measurement -------------------------------------------------------------------

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto tv = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6; };
  return tv(u.ru_utime) + tv(u.ru_stime);
}

double percentile_us(std::vector<int64_t> ns, double p) {
  if (ns.empty()) return 0;
  std::sort(ns.begin(), ns.end());
  const size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(ns.size())));
  return static_cast<double>(ns[std::min(ns.size() - 1, rank == 0 ? 0 : rank - 1)]) / 1e3;
}

// Chunks each side hands to its consumer for a body of `tokens` content chunks.
// Baseline: every event but [DONE] (role, tokens, finish, usage). Router: the
// usage-only chunk is not delivered (the request did not ask for usage).
int expected_chunks(int side, int tokens) { return side == 0 ? tokens + 3 : tokens + 2; }

// One stream; dies on a failure or a wrong chunk count.
int64_t one_stream(Client& c, int side, int size, int tokens) {
  StreamOutcome out;
  const auto t0 = std::chrono::steady_clock::now();
  c.stream(size, out);
  if (!out.ok) die(fmt::format("a {} stream failed", side == 0 ? "baseline" : "llmux"));
  if (out.chunks != expected_chunks(side, tokens)) {
    die(fmt::format("{} stream delivered {} chunks, expected {}", side == 0 ? "baseline" : "llmux", out.chunks,
                    expected_chunks(side, tokens)));
  }
  return std::chrono::duration_cast<std::chrono::nanoseconds>(out.first_chunk - t0).count();
}

struct Cell {  // one side, one body
  std::vector<int64_t> ttft_ns;
  double cpu = 0;
  uint64_t allocations = 0;
  int streams = 0;
  double cpu_us_per_stream() const { return streams ? cpu * 1e6 / streams : 0; }
  double allocs_per_stream() const { return streams ? static_cast<double>(allocations) / streams : 0; }
};

int run_only(const Options& o) {
  const int size = o.size == "few" ? 0 : 1;
  const int tokens = size == 0 ? o.few : o.many;
  const int side = o.only == "baseline" ? 0 : 1;
  std::unique_ptr<Client> c;
  if (side == 0) c = std::make_unique<RawSseClient>(o, spliced_body(user_request("stream-few")));
  else c = std::make_unique<RouterClient>(o);
  for (int i = 0; i < o.warmup; ++i) one_stream(*c, side, size, tokens);
  std::vector<int64_t> ttft;
  const double cpu0 = cpu_seconds();
  for (int i = 0; i < o.streams; ++i) ttft.push_back(one_stream(*c, side, size, tokens));
  const double cpu = cpu_seconds() - cpu0;
  std::printf("%s alone, %s body (%d events): %d streams, TTFT p50 %.2f us, CPU per stream %.2f us\n",
              o.only.c_str(), kSizeNames[size], chat_stream_events(tokens), o.streams, percentile_us(ttft, 0.5),
              o.streams ? cpu * 1e6 / o.streams : 0.0);
  return 0;
}

int run(const Options& o) {
  std::printf("llmux streaming overhead: Router::stream vs plain libcurl-multi SSE client, nginx at %s:%d\n",
              o.host.c_str(), o.port);
  std::printf("bodies: few = %d events, many = %d events (~230 B each); %d streams per side and body after %d "
              "warm-up, one at a time, blocks of %d, interleaved\n",
              chat_stream_events(o.few), chat_stream_events(o.many), o.streams, o.warmup, o.block);
  std::fflush(stdout);

  RawSseClient baseline(o, spliced_body(user_request("stream-few")));
  RouterClient router(o);
  Client* clients[2] = {&baseline, &router};
  const int tokens[2] = {o.few, o.many};
  for (int size = 0; size < 2; ++size) {
    for (int i = 0; i < o.warmup; ++i) {
      for (int side = 0; side < 2; ++side) one_stream(*clients[side], side, size, tokens[size]);
    }
  }
  Cell cell[2][2];  // [side][size]
  for (int b = 0; cell[0][0].streams < o.streams || cell[1][1].streams < o.streams; ++b) {
    for (int size = 0; size < 2; ++size) {
      for (int k = 0; k < 2; ++k) {
        const int side = (b % 2 == 0) ? k : 1 - k;  // ABBA
        Cell& c = cell[side][size];
        const int n = std::min(o.block, o.streams - c.streams);
        if (n <= 0) continue;
        const auto a0 = alloc_counter::process();
        const double cpu0 = cpu_seconds();
        for (int i = 0; i < n; ++i) c.ttft_ns.push_back(one_stream(*clients[side], side, size, tokens[size]));
        c.cpu += cpu_seconds() - cpu0;
        c.allocations += (alloc_counter::process() - a0).allocations;
        c.streams += n;
      }
    }
  }

  const int events[2] = {chat_stream_events(o.few), chat_stream_events(o.many)};
  double added_cpu[2], added_alloc[2];
  for (int size = 0; size < 2; ++size) {
    added_cpu[size] = cell[1][size].cpu_us_per_stream() - cell[0][size].cpu_us_per_stream();
    added_alloc[size] = cell[1][size].allocs_per_stream() - cell[0][size].allocs_per_stream();
  }
  const double added_cpu_per_chunk = (added_cpu[1] - added_cpu[0]) / (events[1] - events[0]);
  const double added_alloc_per_chunk = (added_alloc[1] - added_alloc[0]) / (events[1] - events[0]);

  std::printf("\n%-36s %12s %12s %12s %8s\n", "metric", "baseline", "llmux", "delta", "ratio");
  auto row = [](const std::string& m, double b, double l) {
    std::printf("%-36s %12.2f %12.2f %+12.2f %8.3f\n", m.c_str(), b, l, l - b, b > 0 ? l / b : 0.0);
  };
  double ttft[2][2][2];  // [side][size][p50, p99]
  for (int side = 0; side < 2; ++side) {
    for (int size = 0; size < 2; ++size) {
      ttft[side][size][0] = percentile_us(cell[side][size].ttft_ns, 0.50);
      ttft[side][size][1] = percentile_us(cell[side][size].ttft_ns, 0.99);
    }
  }
  for (int size = 0; size < 2; ++size) {
    const char* n = kSizeNames[size];
    row(fmt::format("TTFT p50, {} (us)", n), ttft[0][size][0], ttft[1][size][0]);
    row(fmt::format("TTFT p99, {} (us)", n), ttft[0][size][1], ttft[1][size][1]);
    row(fmt::format("CPU per stream, {} (us)", n), cell[0][size].cpu_us_per_stream(), cell[1][size].cpu_us_per_stream());
    row(fmt::format("allocations per stream, {}", n), cell[0][size].allocs_per_stream(),
        cell[1][size].allocs_per_stream());
  }
  std::printf("\nadded CPU per chunk (slope many vs few): %.3f us (budget %.1f us, ratio %.2f) -> %s\n",
              added_cpu_per_chunk, kBudgetCpuPerChunkUs, added_cpu_per_chunk / kBudgetCpuPerChunkUs,
              added_cpu_per_chunk <= kBudgetCpuPerChunkUs ? "within budget" : "OVER BUDGET");
  std::printf("added allocations per chunk: %.3f; added CPU per stream (few body, ~per-call part): %.2f us\n",
              added_alloc_per_chunk, added_cpu[0]);
  const double added_ttft_p50 = ttft[1][1][0] - ttft[0][1][0];
  std::printf("added TTFT p50 (many body): %.2f us (budget %.0f us, ratio %.2f) -> %s; p99 %+.2f us\n",
              added_ttft_p50, kBudgetAddedTtftP50Us, added_ttft_p50 / kBudgetAddedTtftP50Us,
              added_ttft_p50 <= kBudgetAddedTtftP50Us ? "within budget" : "OVER BUDGET",
              ttft[1][1][1] - ttft[0][1][1]);

  if (!o.json_path.empty()) {
    auto side_json = [&](int side) {
      // The many body's TTFT and the side's own CPU per chunk (slope) first:
      // the keys benchmarks/targets.py reads.
      const double per_chunk = (cell[side][1].cpu_us_per_stream() - cell[side][0].cpu_us_per_stream()) /
                               (events[1] - events[0]);
      std::string s = fmt::format(R"("ttft_p50_us":{:.3f},"cpu_us_per_chunk":{:.4f},)", ttft[side][1][0], per_chunk);
      s = "{" + s;
      for (int size = 0; size < 2; ++size) {
        const Cell& c = cell[side][size];
        s += fmt::format(R"({}"{}":{{"ttft_us":{{"p50":{:.3f},"p99":{:.3f}}},"cpu_us_per_stream":{:.3f},)"
                         R"("allocations_per_stream":{:.2f},"streams":{}}})",
                         size ? "," : "", kSizeNames[size], ttft[side][size][0], ttft[side][size][1],
                         c.cpu_us_per_stream(), c.allocs_per_stream(), c.streams);
      }
      return s + "}";
    };
    const std::string text = fmt::format(
        R"({{"benchmark":"llmux_stream_overhead","server":"nginx static SSE body on loopback",)"
        R"("config":{{"events_few":{},"events_many":{},"streams":{},"warmup":{},"block":{},"alloc_counter":{}}},)"
        R"("baseline":{},"llmux":{},)"
        R"("added":{{"ttft_p50_us":{:.3f},"ttft_p99_us":{:.3f},"ttft_p50_us_few":{:.3f},"cpu_us_per_chunk":{:.4f},)"
        R"("cpu_us_per_stream_few":{:.3f},"cpu_us_per_stream_many":{:.3f},"allocations_per_chunk":{:.4f}}},)"
        R"("budget":[{{"name":"added TTFT p50","figure_us":{:.3f},"budget_us":{:.1f},"within_budget":{}}},)"
        R"({{"name":"added CPU per chunk","figure_us":{:.4f},"budget_us":{:.2f},"within_budget":{}}}]}})"
        "\n",
        events[0], events[1], o.streams, o.warmup, o.block, alloc_counter::available(), side_json(0), side_json(1),
        added_ttft_p50, ttft[1][1][1] - ttft[0][1][1], ttft[1][0][0] - ttft[0][0][0], added_cpu_per_chunk,
        added_cpu[0], added_cpu[1], added_alloc_per_chunk, added_ttft_p50, kBudgetAddedTtftP50Us,
        added_ttft_p50 <= kBudgetAddedTtftP50Us, added_cpu_per_chunk, kBudgetCpuPerChunkUs,
        added_cpu_per_chunk <= kBudgetCpuPerChunkUs);
    std::FILE* out = std::fopen(o.json_path.c_str(), "w");
    if (out == nullptr) die("cannot write " + o.json_path);
    std::fputs(text.c_str(), out);
    std::fclose(out);
    std::printf("results written to %s\n", o.json_path.c_str());
  }
  return 0;
}

}  // namespace
}  // namespace llmux::bench

int main(int argc, char** argv) {
  if (argc == 2 && std::string_view(argv[1]).starts_with("--print-sse-body=")) {
    const int tokens = std::atoi(argv[1] + std::strlen("--print-sse-body="));
    const std::string body = llmux::bench::make_chat_stream(tokens);
    std::fwrite(body.data(), 1, body.size(), stdout);
    return 0;
  }
  const llmux::bench::Options o = llmux::bench::parse_args(argc, argv);
  if (!o.only.empty()) return llmux::bench::run_only(o);
  return llmux::bench::run(o);
}
