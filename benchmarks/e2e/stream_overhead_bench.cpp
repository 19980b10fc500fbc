// Streaming overhead of the Router over a plain libcurl-multi SSE client
// (issue 14 target 1: added time to first token ≤ 10 µs p50, added CPU per
// chunk ≤ 0.5 µs). Run by run_stream_on_nginx.sh, which starts nginx on
// loopback serving two fixed chat.completion.chunk SSE bodies (the ones this
// binary prints with --print-sse-body=TOKENS) at /few/v1/chat/completions and
// /many/v1/chat/completions.
//
//   llmux_stream_overhead_bench --port=P [--few=8] [--many=400] [--streams=4000] [--rounds=4]
//                               [--warmup=300] [--block=200] [--json=FILE]
//   llmux_stream_overhead_bench --port=P --only=baseline|llmux [--size=few|many|both] [--streams=N]
//                               (one side's streams alone, printed: for callgrind, perf, strace)
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
//  * Each side runs alone in its own process (this binary re-executed with
//    --child=SIDE), one stream at a time, --rounds times; rounds alternate
//    which side runs first (ABBA), so drift hits both sides alike. Not both
//    in one process: there the two I/O threads interfere (one side's
//    wake-ups keep a vCPU out of idle for the other), which moved the TTFT
//    of each side by 30-90 µs in opposite directions.
//  * Time to first token: steady clock from just before the call is issued
//    to the first chunk handed to the consumer (on the I/O thread). nginx
//    sends the whole body at once, so this is the client's own latency to
//    its first chunk. Percentiles over every round's samples; added TTFT =
//    llmux p50 − baseline p50, also printed per round for the spread.
//  * CPU: getrusage(RUSAGE_SELF) of the child over its blocks, per stream
//    (nothing else runs in the child). Each side runs two bodies, `few` and
//    `many` content chunks, in alternating blocks; added CPU per chunk is the
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
#include <iterator>
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
#include "support/child_process.hpp"

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
  int streams = 4000;  // per side and body, over all rounds
  int rounds = 4;
  int warmup = 300;    // per side, body and round
  int block = 200;
  std::string json_path;
  std::string child;          // internal: this side alone, figures for the parent
  std::string only;           // diagnostic: this side alone, printed
  std::string size = "many";  // with --only: few, many or both
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
    else if (key == "--rounds") o.rounds = std::max(1, parse_int(key, val));
    else if (key == "--child") o.child = std::string(val);
    else if (key == "--json") o.json_path = std::string(val);
    else if (key == "--only") o.only = std::string(val);
    else if (key == "--size") o.size = std::string(val);
    else die(fmt::format("unknown argument '{}'", a));
  }
  if (o.port <= 0) die("--port is required (run benchmarks/e2e/run_stream_on_nginx.sh, which starts nginx)");
  if (o.many <= o.few) die("--many must exceed --few");
  if (o.size != "few" && o.size != "many" && o.size != "both") die("--size must be few, many or both");
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

constexpr const char* kSideNames[2] = {"baseline", "llmux"};

int side_index(std::string_view name) {
  if (name == "baseline") return 0;
  if (name == "llmux") return 1;
  die(fmt::format("unknown side '{}' (baseline or llmux)", name));
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
  if (!out.ok) die(fmt::format("a {} stream failed", kSideNames[side]));
  if (out.chunks != expected_chunks(side, tokens)) {
    die(fmt::format("{} stream delivered {} chunks, expected {}", kSideNames[side], out.chunks,
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

// One side alone in this process: warm-up, then `o.streams` streams of each
// body in `sizes`, in alternating blocks (so drift hits both bodies alike).
std::vector<Cell> measure_side(const Options& o, int side, const std::vector<int>& sizes) {
  std::unique_ptr<Client> c;
  if (side == 0) c = std::make_unique<RawSseClient>(o, spliced_body(user_request("stream-few")));
  else c = std::make_unique<RouterClient>(o);
  const int tokens[2] = {o.few, o.many};
  for (int size : sizes) {
    for (int i = 0; i < o.warmup; ++i) one_stream(*c, side, size, tokens[size]);
  }
  std::vector<Cell> cells(2);
  for (int size : sizes) cells[size].ttft_ns.reserve(static_cast<size_t>(o.streams));
  for (bool more = true; more;) {
    more = false;
    for (int size : sizes) {
      Cell& cell = cells[size];
      const int n = std::min(o.block, o.streams - cell.streams);
      if (n <= 0) continue;
      const auto a0 = alloc_counter::process();
      const double cpu0 = cpu_seconds();
      for (int i = 0; i < n; ++i) cell.ttft_ns.push_back(one_stream(*c, side, size, tokens[size]));
      cell.cpu += cpu_seconds() - cpu0;
      cell.allocations += (alloc_counter::process() - a0).allocations;
      cell.streams += n;
      more = more || cell.streams < o.streams;
    }
  }
  return cells;
}

// --only: one side alone, read by a person (or under callgrind / perf).
int run_only(const Options& o) {
  const int side = side_index(o.only);
  std::vector<int> sizes;
  if (o.size != "many") sizes.push_back(0);
  if (o.size != "few") sizes.push_back(1);
  const std::vector<Cell> cells = measure_side(o, side, sizes);
  for (int size : sizes) {
    const Cell& c = cells[size];
    std::printf("%s alone, %s body (%d events): %d streams, TTFT p50 %.2f us, p99 %.2f us, CPU per stream %.2f us, "
                "allocations per stream %.1f\n",
                o.only.c_str(), kSizeNames[size], chat_stream_events(size == 0 ? o.few : o.many), c.streams,
                percentile_us(c.ttft_ns, 0.5), percentile_us(c.ttft_ns, 0.99), c.cpu_us_per_stream(),
                c.allocs_per_stream());
  }
  return 0;
}

// --child: one side alone, both bodies, for the parent: one "key value..." line per figure.
int run_child(const Options& o) {
  const std::vector<Cell> cells = measure_side(o, side_index(o.child), {0, 1});
  for (int size = 0; size < 2; ++size) {
    const Cell& c = cells[size];
    std::string ttft = fmt::format("ttft_ns_{}", kSizeNames[size]);
    for (int64_t ns : c.ttft_ns) fmt::format_to(std::back_inserter(ttft), " {}", ns);
    fmt::print("{}\ncpu_seconds_{} {:.9f}\nallocations_{} {}\nstreams_{} {}\n", ttft, kSizeNames[size], c.cpu,
               kSizeNames[size], c.allocations, kSizeNames[size], c.streams);
  }
  std::fflush(stdout);
  return 0;
}

// Runs this binary again as `--child=SIDE` for `streams` streams per body; its cells.
std::vector<Cell> spawn_child(const Options& o, int side, int streams) {
  testing::ChildProcess child(testing::ChildProcess::kSelf,
                              {fmt::format("--child={}", kSideNames[side]), "--host=" + o.host,
                               fmt::format("--port={}", o.port), fmt::format("--few={}", o.few),
                               fmt::format("--many={}", o.many), fmt::format("--streams={}", streams),
                               fmt::format("--warmup={}", o.warmup), fmt::format("--block={}", o.block)});
  std::vector<Cell> cells(2);
  int fields = 0;
  while (auto line = child.read_line(std::chrono::minutes(5))) {
    const size_t sp = line->find(' ');
    const std::string_view key = std::string_view(*line).substr(0, sp);
    const char* at = sp == std::string::npos ? line->c_str() + line->size() : line->c_str() + sp;
    for (int size = 0; size < 2; ++size) {
      const std::string_view suffix = kSizeNames[size];
      if (!key.ends_with(suffix) || key.size() <= suffix.size() || key[key.size() - suffix.size() - 1] != '_') continue;
      const std::string_view name = key.substr(0, key.size() - suffix.size() - 1);
      Cell& c = cells[size];
      char* end = nullptr;
      if (name == "ttft_ns") {
        for (long long v = std::strtoll(at, &end, 10); end != at; v = std::strtoll(at, &end, 10)) {
          c.ttft_ns.push_back(v);
          at = end;
        }
      } else if (name == "cpu_seconds") {
        c.cpu = std::strtod(at, nullptr);
      } else if (name == "allocations") {
        c.allocations = std::strtoull(at, nullptr, 10);
      } else if (name == "streams") {
        c.streams = static_cast<int>(std::strtol(at, nullptr, 10));
      } else {
        continue;
      }
      ++fields;
    }
  }
  const int status = child.finish();
  if (status != 0 || fields != 8) {
    die(fmt::format("the {} child failed (exit status {}, {} of 8 figures reported)", kSideNames[side], status, fields));
  }
  for (const Cell& c : cells) {
    if (static_cast<int>(c.ttft_ns.size()) != c.streams) die(fmt::format("the {} child lost samples", kSideNames[side]));
  }
  return cells;
}

// One side's figures over some cells ([size]).
struct SideFigures {
  double ttft_p50[2] = {0, 0}, ttft_p99[2] = {0, 0};  // [size], µs
  double cpu_us_per_stream[2] = {0, 0}, allocs_per_stream[2] = {0, 0};
  double cpu_us_per_chunk = 0, allocs_per_chunk = 0;  // slope many vs few
};

SideFigures figures(const Cell (&cells)[2], const int (&events)[2]) {
  SideFigures f;
  for (int size = 0; size < 2; ++size) {
    f.ttft_p50[size] = percentile_us(cells[size].ttft_ns, 0.50);
    f.ttft_p99[size] = percentile_us(cells[size].ttft_ns, 0.99);
    f.cpu_us_per_stream[size] = cells[size].cpu_us_per_stream();
    f.allocs_per_stream[size] = cells[size].allocs_per_stream();
  }
  f.cpu_us_per_chunk = (f.cpu_us_per_stream[1] - f.cpu_us_per_stream[0]) / (events[1] - events[0]);
  f.allocs_per_chunk = (f.allocs_per_stream[1] - f.allocs_per_stream[0]) / (events[1] - events[0]);
  return f;
}

std::string json_list(const std::vector<double>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += fmt::format("{}{:.3f}", i ? "," : "", v[i]);
  return out + "]";
}

std::string range(const std::vector<double>& v) {
  if (v.empty()) return "-";
  const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  return fmt::format("{:.2f} .. {:.2f}", *lo, *hi);
}

int run_parent(const Options& o) {
  const int events[2] = {chat_stream_events(o.few), chat_stream_events(o.many)};
  const int per_round = (o.streams + o.rounds - 1) / o.rounds;
  std::printf("llmux streaming overhead: Router::stream vs plain libcurl-multi SSE client, nginx at %s:%d\n",
              o.host.c_str(), o.port);
  std::printf("bodies: few = %d events, many = %d events (~230 B each); %d rounds, each side alone in its own "
              "process per round (order alternating), %d streams per body each after %d warm-up, one at a time\n",
              events[0], events[1], o.rounds, per_round, o.warmup);
  std::fflush(stdout);

  Cell pooled[2][2];  // [side][size], every round
  std::vector<double> round_ttft[2], round_added_ttft, round_cpu_chunk[2], round_added_cpu_chunk;
  for (int r = 0; r < o.rounds; ++r) {
    Cell round[2][2];
    for (int k = 0; k < 2; ++k) {
      const int side = (r % 2 == 0) ? k : 1 - k;  // ABBA over rounds: neither side always runs first
      std::vector<Cell> cells = spawn_child(o, side, per_round);
      for (int size = 0; size < 2; ++size) {
        Cell& p = pooled[side][size];
        p.ttft_ns.insert(p.ttft_ns.end(), cells[size].ttft_ns.begin(), cells[size].ttft_ns.end());
        p.cpu += cells[size].cpu;
        p.allocations += cells[size].allocations;
        p.streams += cells[size].streams;
        round[side][size] = std::move(cells[size]);
      }
    }
    const SideFigures f[2] = {figures(round[0], events), figures(round[1], events)};
    for (int side = 0; side < 2; ++side) {
      round_ttft[side].push_back(f[side].ttft_p50[1]);
      round_cpu_chunk[side].push_back(f[side].cpu_us_per_chunk);
    }
    round_added_ttft.push_back(f[1].ttft_p50[1] - f[0].ttft_p50[1]);
    round_added_cpu_chunk.push_back(f[1].cpu_us_per_chunk - f[0].cpu_us_per_chunk);
    std::printf("round %d: TTFT p50 (many) baseline %.2f us, llmux %.2f us, added %+.2f us; CPU per chunk "
                "baseline %.4f us, llmux %.4f us, added %+.4f us\n",
                r + 1, f[0].ttft_p50[1], f[1].ttft_p50[1], round_added_ttft.back(), f[0].cpu_us_per_chunk,
                f[1].cpu_us_per_chunk, round_added_cpu_chunk.back());
    std::fflush(stdout);
  }

  const SideFigures b = figures(pooled[0], events);
  const SideFigures l = figures(pooled[1], events);
  std::printf("\n%-36s %12s %12s %12s %8s\n", "metric (all rounds pooled)", "baseline", "llmux", "delta", "ratio");
  auto row = [](const std::string& m, double base, double ours) {
    std::printf("%-36s %12.2f %12.2f %+12.2f %8.3f\n", m.c_str(), base, ours, ours - base, base > 0 ? ours / base : 0.0);
  };
  for (int size = 0; size < 2; ++size) {
    const char* n = kSizeNames[size];
    row(fmt::format("TTFT p50, {} (us)", n), b.ttft_p50[size], l.ttft_p50[size]);
    row(fmt::format("TTFT p99, {} (us)", n), b.ttft_p99[size], l.ttft_p99[size]);
    row(fmt::format("CPU per stream, {} (us)", n), b.cpu_us_per_stream[size], l.cpu_us_per_stream[size]);
    row(fmt::format("allocations per stream, {}", n), b.allocs_per_stream[size], l.allocs_per_stream[size]);
  }
  const double added_cpu_per_chunk = l.cpu_us_per_chunk - b.cpu_us_per_chunk;
  const double added_ttft_p50 = l.ttft_p50[1] - b.ttft_p50[1];
  std::printf("\nadded CPU per chunk (slope many vs few): %.3f us (budget %.1f us, ratio %.2f) -> %s; rounds %s\n",
              added_cpu_per_chunk, kBudgetCpuPerChunkUs, added_cpu_per_chunk / kBudgetCpuPerChunkUs,
              added_cpu_per_chunk <= kBudgetCpuPerChunkUs ? "within budget" : "OVER BUDGET",
              range(round_added_cpu_chunk).c_str());
  std::printf("added allocations per chunk: %.3f; added CPU per stream (few body, ~per-call part): %.2f us\n",
              l.allocs_per_chunk - b.allocs_per_chunk, l.cpu_us_per_stream[0] - b.cpu_us_per_stream[0]);
  std::printf("added TTFT p50 (many body): %.2f us (budget %.0f us, ratio %.2f) -> %s; p99 %+.2f us; rounds %s\n",
              added_ttft_p50, kBudgetAddedTtftP50Us, added_ttft_p50 / kBudgetAddedTtftP50Us,
              added_ttft_p50 <= kBudgetAddedTtftP50Us ? "within budget" : "OVER BUDGET", l.ttft_p99[1] - b.ttft_p99[1],
              range(round_added_ttft).c_str());

  if (!o.json_path.empty()) {
    auto side_json = [&](int side) {
      const SideFigures& f = side == 0 ? b : l;
      // The many body's TTFT and the side's own CPU per chunk (slope) first:
      // the keys benchmarks/targets.py reads.
      std::string s = fmt::format(R"({{"ttft_p50_us":{:.3f},"cpu_us_per_chunk":{:.4f},)", f.ttft_p50[1],
                                  f.cpu_us_per_chunk);
      for (int size = 0; size < 2; ++size) {
        s += fmt::format(R"("{}":{{"ttft_us":{{"p50":{:.3f},"p99":{:.3f}}},"cpu_us_per_stream":{:.3f},)"
                         R"("allocations_per_stream":{:.2f},"streams":{}}},)",
                         kSizeNames[size], f.ttft_p50[size], f.ttft_p99[size], f.cpu_us_per_stream[size],
                         f.allocs_per_stream[size], pooled[side][size].streams);
      }
      return s + fmt::format(R"("ttft_p50_us_rounds":{},"cpu_us_per_chunk_rounds":{}}})", json_list(round_ttft[side]),
                             json_list(round_cpu_chunk[side]));
    };
    const std::string text = fmt::format(
        R"({{"benchmark":"llmux_stream_overhead","server":"nginx static SSE body on loopback",)"
        R"("method":"each side alone in its own process per round, rounds alternate which side runs first",)"
        R"("config":{{"events_few":{},"events_many":{},"streams":{},"rounds":{},"warmup":{},"block":{},)"
        R"("alloc_counter":{}}},)"
        R"("baseline":{},"llmux":{},)"
        R"("added":{{"ttft_p50_us":{:.3f},"ttft_p99_us":{:.3f},"ttft_p50_us_few":{:.3f},"cpu_us_per_chunk":{:.4f},)"
        R"("cpu_us_per_stream_few":{:.3f},"cpu_us_per_stream_many":{:.3f},"allocations_per_chunk":{:.4f},)"
        R"("ttft_p50_us_rounds":{},"cpu_us_per_chunk_rounds":{}}},)"
        R"("budget":[{{"name":"added TTFT p50","figure_us":{:.3f},"budget_us":{:.1f},"within_budget":{}}},)"
        R"({{"name":"added CPU per chunk","figure_us":{:.4f},"budget_us":{:.2f},"within_budget":{}}}]}})"
        "\n",
        events[0], events[1], per_round * o.rounds, o.rounds, o.warmup, o.block, alloc_counter::available(),
        side_json(0), side_json(1), added_ttft_p50, l.ttft_p99[1] - b.ttft_p99[1], l.ttft_p50[0] - b.ttft_p50[0],
        added_cpu_per_chunk, l.cpu_us_per_stream[0] - b.cpu_us_per_stream[0],
        l.cpu_us_per_stream[1] - b.cpu_us_per_stream[1], l.allocs_per_chunk - b.allocs_per_chunk,
        json_list(round_added_ttft), json_list(round_added_cpu_chunk), added_ttft_p50, kBudgetAddedTtftP50Us,
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
  if (!o.child.empty()) return llmux::bench::run_child(o);
  if (!o.only.empty()) return llmux::bench::run_only(o);
  return llmux::bench::run_parent(o);
}
