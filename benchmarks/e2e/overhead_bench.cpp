// End-to-end overhead of the Router over a plain libcurl-multi client
// (DESIGN.md §5: added latency ≤ 10 µs p50 and ≤ 50 µs p99, CPU ≤ 20 µs per
// non-streaming call). Run by run_on_nginx.sh, which starts nginx on loopback
// answering POST /v1/chat/completions with a fixed chat.completion body.
//
//   llmux_overhead_bench --port=P [--requests=20000] [--warmup=1000] [--block=500]
//                        [--concurrency=64] [--throughput-requests=50000] [--rounds=3] [--json=FILE]
//   llmux_overhead_bench --port=P --only=baseline|llmux [--requests=N]   (one side's sequential
//                        latency alone, nothing else: for profiling, e.g. under strace or callgrind)
//   llmux_overhead_bench --print-response-body    (the body nginx must return)
//
// Method.
//  * Both clients send the same bytes to the same server over reused
//    connections: the baseline (RawCurlClient) sends the body llmux's splice
//    produces for the user's request, with the same headers; the Router gets
//    the user's request (model group + router-only keys) via completion().
//  * Latency: one request at a time, wall clock around each blocking call, in
//    alternating blocks (baseline block, llmux block, llmux block, baseline
//    block, ...) inside one process, so machine noise hits both sides alike.
//    Added latency = llmux percentile − baseline percentile.
//  * CPU per call: getrusage(RUSAGE_SELF) user+sys over each side's blocks,
//    divided by the calls (all threads of this process; nginx is another
//    process and is not counted). The other side's idle I/O thread sleeps in
//    poll and costs nothing measurable.
//  * Throughput and peak RSS: each side runs alone in a child process
//    (this binary re-executed with --child=SIDE): warm-up, then a closed loop
//    keeping --concurrency calls in flight (completion_async / submit from the
//    done callback) for --throughput-requests calls; req/s, CPU per call under
//    load, and the child's VmHWM (peak RSS) and its growth from the process
//    start (after the libraries are loaded, before the client exists).
//    Rounds alternate which side runs first; each figure is the median over
//    the rounds.
#include <fmt/format.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/bench_flags.hpp"
#include "absl/synchronization/notification.h"
#include "common/alloc_counter.hpp"
#include "e2e/raw_curl_client.hpp"
#include "request/request.hpp"
#include "llmux/router.hpp"
#include "micro/payloads.hpp"

namespace llmux::bench {
namespace {

constexpr std::string_view kApiKey = "sk-bench-0123456789";
constexpr std::string_view kProviderModel = "qwen3-14b";
constexpr double kBudgetAddedP50Us = 10;
constexpr double kBudgetAddedP99Us = 50;
constexpr double kBudgetCpuUs = 20;

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  int requests = 20000;  // latency samples per side
  int warmup = 1000;     // per side
  int block = 500;
  int concurrency = 64;
  int throughput_requests = 50000;  // per side and round
  int rounds = 3;
  std::string json_path;
  std::string child;  // internal: "baseline" or "llmux"
  std::string only;   // diagnostic: sequential latency of this side alone
};

[[noreturn]] void die(const std::string& message) { die_in("overhead_bench", message); }

int parse_int(std::string_view flag, std::string_view v) { return parse_flag_int("overhead_bench", flag, v); }

Options parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    const auto [key, val] = split_flag(a);
    if (key == "--port") o.port = parse_int(key, val);
    else if (key == "--host") o.host = std::string(val);
    else if (key == "--requests") o.requests = parse_int(key, val);
    else if (key == "--warmup") o.warmup = parse_int(key, val);
    else if (key == "--block") o.block = std::max(1, parse_int(key, val));
    else if (key == "--concurrency") o.concurrency = std::max(1, parse_int(key, val));
    else if (key == "--throughput-requests") o.throughput_requests = parse_int(key, val);
    else if (key == "--rounds") o.rounds = parse_int(key, val);
    else if (key == "--json") o.json_path = std::string(val);
    else if (key == "--child") o.child = std::string(val);
    else if (key == "--only") o.only = std::string(val);
    else die(fmt::format("unknown argument '{}'", a));
  }
  if (o.port <= 0) die("--port is required (run benchmarks/e2e/run_on_nginx.sh, which starts nginx)");
  return o;
}

std::string base_url(const Options& o) { return fmt::format("http://{}:{}/v1", o.host, o.port); }

// What the Router sends for kChatRequestBody: the spliced body (model
// replaced, router-only keys removed). The baseline sends the same bytes.
std::string spliced_body() {
  auto parsed = request::parse_request(kChatRequestBody, request::Endpoint::kChatCompletions);
  if (!parsed.ok()) die("the sample request does not parse: " + parsed.error().to_string());
  std::string out;
  request::splice_request(*parsed, kProviderModel, {}, out);
  return out;
}

// --- the two clients ----------------------------------------------------------

class Client;

// A closed loop: keeps `in_flight` calls going until `total` have completed.
struct Driver {
  Client* client = nullptr;
  int total = 0;
  std::atomic<int> issued{0};
  std::atomic<int> completed{0};
  std::atomic<int> errors{0};
  absl::Notification done;
  void on_done(bool ok);
};

class Client {
 public:
  virtual ~Client() = default;
  // One blocking request; true for a 200 with a body.
  virtual bool call() = 0;
  // One asynchronous request; reports to d->on_done() on the client's thread.
  virtual void call_async(Driver* d) = 0;
};

void Driver::on_done(bool ok) {
  if (!ok) errors.fetch_add(1);
  if (issued.fetch_add(1) < total) client->call_async(this);
  if (completed.fetch_add(1) + 1 == total) done.Notify();
}

class BaselineClient final : public Client {
 public:
  explicit BaselineClient(const Options& o)
      : body_(spliced_body()),
        client_(base_url(o) + "/chat/completions",
                {"Content-Type: application/json", fmt::format("Authorization: Bearer {}", kApiKey)}) {}
  bool call() override {
    std::string response;
    return client_.post(body_, response) == 200 && !response.empty();
  }
  void call_async(Driver* d) override {
    client_.submit(body_, [d](int status, std::string& body) { d->on_done(status == 200 && !body.empty()); });
  }

 private:
  const std::string body_;
  RawCurlClient client_;
};

class RouterClient final : public Client {
 public:
  explicit RouterClient(const Options& o) {
    const std::string config = fmt::format(
        "model_list:\n"
        "  - model_name: production-llm\n"
        "    litellm_params:\n"
        "      model: openai/{}\n"
        "      api_base: {}\n"
        "      api_key: {}\n",
        kProviderModel, base_url(o), kApiKey);
    auto r = Router::from_config(config);
    if (!r.ok()) die("Router::from_config failed: " + r.error().to_string());
    router_ = std::move(r).value();
  }
  bool call() override {
    auto r = router_->completion(kChatRequestBody);
    return r.ok() && r->status == 200 && !r->body.empty();
  }
  void call_async(Driver* d) override {
    router_->completion_async(kChatRequestBody,
                              [d](Result<Response> r) { d->on_done(r.ok() && r->status == 200 && !r->body.empty()); });
  }
  // The first call's outcome, in words (for a clear failure message).
  std::string probe() {
    auto r = router_->completion(kChatRequestBody);
    if (!r.ok()) return r.error().to_string();
    if (r->status != 200) return fmt::format("status {}", r->status);
    if (r->usage.total_tokens != 443) return fmt::format("usage not read from the body (total_tokens {})", r->usage.total_tokens);
    return {};
  }

 private:
  std::unique_ptr<Router> router_;
};

std::unique_ptr<Client> make_client(std::string_view side, const Options& o) {
  if (side == "baseline") return std::make_unique<BaselineClient>(o);
  if (side == "llmux") return std::make_unique<RouterClient>(o);
  die(fmt::format("unknown side '{}'", side));
}

// --- measurement helpers ------------------------------------------------------

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto tv = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6; };
  return tv(u.ru_utime) + tv(u.ru_stime);
}

// A field of /proc/self/status in kB ("VmRSS", "VmHWM"); -1 when absent.
long proc_status_kb(std::string_view field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, field.size(), field) == 0 && line.size() > field.size() && line[field.size()] == ':') {
      return std::strtol(line.c_str() + field.size() + 1, nullptr, 10);
    }
  }
  return -1;
}

double percentile_us(std::vector<int64_t>& ns, double p) {
  if (ns.empty()) return 0;
  std::sort(ns.begin(), ns.end());
  const size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(ns.size())));
  return static_cast<double>(ns[std::min(ns.size() - 1, rank == 0 ? 0 : rank - 1)]) / 1e3;
}

double mean_us(const std::vector<int64_t>& ns) {
  if (ns.empty()) return 0;
  double sum = 0;
  for (int64_t v : ns) sum += static_cast<double>(v);
  return sum / static_cast<double>(ns.size()) / 1e3;
}

struct LatencyResult {
  double p50 = 0, p90 = 0, p99 = 0, p999 = 0, mean = 0, min = 0;
  double cpu_us_per_call = 0;
  double allocs_per_call = 0;  // malloc family calls, every thread of the process
  int calls = 0;
};

// Closed loop with `concurrency` in flight; returns wall seconds.
double run_closed_loop(Client& c, int total, int concurrency, int& errors) {
  Driver d;
  d.client = &c;
  d.total = total;
  const int first = std::min(total, concurrency);
  d.issued.store(first);
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < first; ++i) c.call_async(&d);
  d.done.WaitForNotification();
  const auto t1 = std::chrono::steady_clock::now();
  errors = d.errors.load();
  return std::chrono::duration<double>(t1 - t0).count();
}

// --- child: one side alone, for throughput and peak RSS -------------------------

int run_child(const Options& o) {
  const long rss_start = proc_status_kb("VmRSS");
  auto client = make_client(o.child, o);
  int errors = 0;
  run_closed_loop(*client, std::max(o.concurrency * 20, 1000), o.concurrency, errors);  // warm-up: connections open
  if (errors > 0) die(fmt::format("{}: {} failed calls during warm-up", o.child, errors));
  const double cpu0 = cpu_seconds();
  const alloc_counter::Counts allocs0 = alloc_counter::process();
  const double wall = run_closed_loop(*client, o.throughput_requests, o.concurrency, errors);
  const double cpu = cpu_seconds() - cpu0;
  const alloc_counter::Counts allocs = alloc_counter::process() - allocs0;
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  std::printf("throughput_rps %.3f\n", static_cast<double>(o.throughput_requests) / wall);
  std::printf("cpu_us_per_call %.4f\n", cpu * 1e6 / static_cast<double>(o.throughput_requests));
  std::printf("allocs_per_call %.4f\n",
              static_cast<double>(allocs.allocations) / static_cast<double>(std::max(o.throughput_requests, 1)));
  std::printf("errors %d\n", errors);
  std::printf("rss_start_kb %ld\n", rss_start);
  std::printf("vmhwm_kb %ld\n", proc_status_kb("VmHWM"));
  std::printf("maxrss_kb %ld\n", u.ru_maxrss);
  std::fflush(stdout);
  client.reset();
  return errors > 0 ? 1 : 0;
}

std::map<std::string, double> spawn_child(const char* self, const Options& o, const std::string& side) {
  std::vector<std::string> args = {
      self,
      "--child=" + side,
      "--host=" + o.host,
      "--port=" + std::to_string(o.port),
      "--concurrency=" + std::to_string(o.concurrency),
      "--throughput-requests=" + std::to_string(o.throughput_requests),
  };
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int fds[2];
  if (pipe(fds) != 0) die("pipe failed");
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid < 0) die("fork failed");
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    execv("/proc/self/exe", argv.data());
    _exit(127);
  }
  close(fds[1]);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) die(fmt::format("the {} child failed:\n{}", side, out));
  std::map<std::string, double> kv;
  size_t pos = 0;
  while (pos < out.size()) {
    size_t eol = out.find('\n', pos);
    if (eol == std::string::npos) eol = out.size();
    const std::string line = out.substr(pos, eol - pos);
    const size_t sp = line.find(' ');
    if (sp != std::string::npos) kv[line.substr(0, sp)] = std::strtod(line.c_str() + sp + 1, nullptr);
    pos = eol + 1;
  }
  for (const char* k : {"throughput_rps", "cpu_us_per_call", "allocs_per_call", "vmhwm_kb", "rss_start_kb"}) {
    if (!kv.count(k)) die(fmt::format("the {} child did not report {}:\n{}", side, k, out));
  }
  return kv;
}

// --- parent: interleaved latency, then the children ---------------------------

struct SideFigures {
  LatencyResult latency;
  double throughput_rps = 0;
  double cpu_us_per_call_loaded = 0;
  double peak_rss_mib = 0;
  double rss_growth_mib = 0;
  double allocs_per_call_loaded = 0;
  std::vector<double> throughput_rounds;  // per round, for the JSON
  std::vector<double> cpu_loaded_rounds;
};

std::string json_list(const std::vector<double>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += fmt::format("{}{:.3f}", i ? "," : "", v[i]);
  return out + "]";
}

std::string json_side(const SideFigures& s) {
  const LatencyResult& l = s.latency;
  return fmt::format(
      R"({{"latency_us":{{"p50":{:.3f},"p90":{:.3f},"p99":{:.3f},"p999":{:.3f},"mean":{:.3f},"min":{:.3f},"samples":{}}},)"
      R"("cpu_us_per_call_sequential":{:.3f},"cpu_us_per_call_loaded":{:.3f},"throughput_rps":{:.1f},)"
      R"("peak_rss_mib":{:.2f},"rss_growth_mib":{:.2f},"throughput_rps_rounds":{},"cpu_us_per_call_loaded_rounds":{},)"
      R"("allocs_per_call_sequential":{:.3f},"allocs_per_call_loaded":{:.3f}}})",
      l.p50, l.p90, l.p99, l.p999, l.mean, l.min, l.calls, l.cpu_us_per_call, s.cpu_us_per_call_loaded,
      s.throughput_rps, s.peak_rss_mib, s.rss_growth_mib, json_list(s.throughput_rounds), json_list(s.cpu_loaded_rounds),
      l.allocs_per_call, s.allocs_per_call_loaded);
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Sequential calls of one side, nothing else in the process.
int run_only(const Options& o) {
  auto client = make_client(o.only, o);
  for (int i = 0; i < o.warmup; ++i) {
    if (!client->call()) die("a warm-up call failed");
  }
  std::vector<int64_t> samples;
  samples.reserve(static_cast<size_t>(o.requests));
  const double cpu0 = cpu_seconds();
  const alloc_counter::Counts allocs0 = alloc_counter::process();
  for (int i = 0; i < o.requests; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    if (!client->call()) die("a call failed");
    const auto t1 = std::chrono::steady_clock::now();
    samples.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
  }
  const double cpu = cpu_seconds() - cpu0;
  const alloc_counter::Counts allocs = alloc_counter::process() - allocs0;
  std::printf("%s alone: %d sequential calls, latency p50 %.2f us, p99 %.2f us, CPU per call %.2f us, "
              "allocations per call %.2f\n",
              o.only.c_str(), o.requests, percentile_us(samples, 0.50), percentile_us(samples, 0.99),
              o.requests > 0 ? cpu * 1e6 / o.requests : 0.0,
              o.requests > 0 ? static_cast<double>(allocs.allocations) / o.requests : 0.0);
  return 0;
}

int run_parent(const char* self, const Options& o) {
  std::printf("llmux end-to-end overhead: Router vs plain libcurl-multi, nginx at %s\n", base_url(o).c_str());
  std::printf("latency: %d sequential calls per side after %d warm-up, blocks of %d, interleaved; "
              "throughput: %d calls per side, %d in flight, %d round(s), one process per side\n",
              o.requests, o.warmup, o.block, o.throughput_requests, o.concurrency, o.rounds);
  std::fflush(stdout);

  SideFigures fig[2];  // 0 = baseline, 1 = llmux
  {
    BaselineClient baseline(o);
    RouterClient router(o);
    if (!baseline.call()) die("the baseline client got no 200 from nginx (is it running on that port?)");
    if (std::string why = router.probe(); !why.empty()) die("the Router's first call failed: " + why);
    Client* clients[2] = {&baseline, &router};
    for (int i = 0; i < o.warmup; ++i) {
      for (Client* c : clients) {
        if (!c->call()) die("a warm-up call failed");
      }
    }
    std::vector<int64_t> samples[2];
    double cpu[2] = {0, 0};
    uint64_t allocs[2] = {0, 0};
    for (auto& s : samples) s.reserve(static_cast<size_t>(o.requests));
    int done[2] = {0, 0};
    int failures = 0;
    for (int b = 0; done[0] < o.requests || done[1] < o.requests; ++b) {
      for (int k = 0; k < 2; ++k) {
        // ABBA order: neither side always runs right after the other.
        const int side = (b % 2 == 0) ? k : 1 - k;
        const int n = std::min(o.block, o.requests - done[side]);
        if (n <= 0) continue;
        Client& c = *clients[side];
        const double cpu0 = cpu_seconds();
        const alloc_counter::Counts allocs0 = alloc_counter::process();
        for (int i = 0; i < n; ++i) {
          const auto t0 = std::chrono::steady_clock::now();
          const bool ok = c.call();
          const auto t1 = std::chrono::steady_clock::now();
          failures += ok ? 0 : 1;
          samples[side].push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
        }
        cpu[side] += cpu_seconds() - cpu0;
        allocs[side] += (alloc_counter::process() - allocs0).allocations;
        done[side] += n;
      }
    }
    if (failures > 0) die(fmt::format("{} calls failed during the latency run", failures));
    for (int side = 0; side < 2; ++side) {
      LatencyResult& l = fig[side].latency;
      l.calls = static_cast<int>(samples[side].size());
      l.mean = mean_us(samples[side]);
      l.p50 = percentile_us(samples[side], 0.50);
      l.p90 = percentile_us(samples[side], 0.90);
      l.p99 = percentile_us(samples[side], 0.99);
      l.p999 = percentile_us(samples[side], 0.999);
      l.min = percentile_us(samples[side], 0.0);
      l.cpu_us_per_call = l.calls > 0 ? cpu[side] * 1e6 / l.calls : 0;
      l.allocs_per_call = l.calls > 0 ? static_cast<double>(allocs[side]) / l.calls : 0;
    }
  }  // both clients (threads, connections) are gone before the children run

  const char* names[2] = {"baseline", "llmux"};
  std::vector<double> rps[2], cpu_loaded[2], peak[2], growth[2], allocs_loaded[2];
  for (int r = 0; r < o.rounds; ++r) {
    for (int k = 0; k < 2; ++k) {
      const int side = (r % 2 == 0) ? k : 1 - k;
      auto kv = spawn_child(self, o, names[side]);
      rps[side].push_back(kv["throughput_rps"]);
      cpu_loaded[side].push_back(kv["cpu_us_per_call"]);
      allocs_loaded[side].push_back(kv["allocs_per_call"]);
      peak[side].push_back(kv["vmhwm_kb"] / 1024.0);
      growth[side].push_back((kv["vmhwm_kb"] - kv["rss_start_kb"]) / 1024.0);
    }
  }
  for (int side = 0; side < 2; ++side) {
    SideFigures& f = fig[side];
    f.throughput_rps = median(rps[side]);
    f.cpu_us_per_call_loaded = median(cpu_loaded[side]);
    f.allocs_per_call_loaded = median(allocs_loaded[side]);
    f.peak_rss_mib = median(peak[side]);
    f.rss_growth_mib = median(growth[side]);
    f.throughput_rounds = rps[side];
    f.cpu_loaded_rounds = cpu_loaded[side];
  }

  // --- report ---
  const SideFigures& b = fig[0];
  const SideFigures& l = fig[1];
  struct Row {
    const char* metric;
    double base, llmux;
    bool present;
  };
  const bool have_children = o.rounds > 0;
  const Row rows[] = {
      {"latency p50 (us)", b.latency.p50, l.latency.p50, true},
      {"latency p90 (us)", b.latency.p90, l.latency.p90, true},
      {"latency p99 (us)", b.latency.p99, l.latency.p99, true},
      {"latency mean (us)", b.latency.mean, l.latency.mean, true},
      {"CPU per call, sequential (us)", b.latency.cpu_us_per_call, l.latency.cpu_us_per_call, true},
      {"CPU per call, loaded (us)", b.cpu_us_per_call_loaded, l.cpu_us_per_call_loaded, have_children},
      {"allocations per call, sequential", b.latency.allocs_per_call, l.latency.allocs_per_call, true},
      {"allocations per call, loaded", b.allocs_per_call_loaded, l.allocs_per_call_loaded, have_children},
      {"throughput, loaded (req/s)", b.throughput_rps, l.throughput_rps, have_children},
      {"peak RSS (MiB)", b.peak_rss_mib, l.peak_rss_mib, have_children},
      {"RSS growth (MiB)", b.rss_growth_mib, l.rss_growth_mib, have_children},
  };
  std::printf("\n%-32s %12s %12s %12s %8s\n", "metric", "baseline", "llmux", "delta", "ratio");
  for (const Row& r : rows) {
    if (!r.present) continue;
    std::printf("%-32s %12.2f %12.2f %+12.2f %8.3f\n", r.metric, r.base, r.llmux, r.llmux - r.base,
                r.base > 0 ? r.llmux / r.base : 0.0);
  }
  std::printf("(loaded = %d calls in flight, median of %d round(s); RSS from per-side child processes; "
              "growth = peak - RSS at start)\n\n",
              o.concurrency, o.rounds);

  struct Check {
    const char* what;
    double figure, budget;
  };
  const Check checks[] = {
      {"added latency p50", l.latency.p50 - b.latency.p50, kBudgetAddedP50Us},
      {"added latency p99", l.latency.p99 - b.latency.p99, kBudgetAddedP99Us},
      {"added CPU per call (sequential)", l.latency.cpu_us_per_call - b.latency.cpu_us_per_call, kBudgetCpuUs},
  };
  std::string checks_json;
  for (const Check& c : checks) {
    const bool ok = c.figure <= c.budget;
    std::printf("%s: %.2f us (budget %.0f us, ratio %.2f) -> %s\n", c.what, c.figure, c.budget, c.figure / c.budget,
                ok ? "within budget" : "OVER BUDGET");
    checks_json += fmt::format(R"({}{{"name":"{}","figure_us":{:.3f},"budget_us":{:.1f},"ratio":{:.4f},"within_budget":{}}})",
                               checks_json.empty() ? "" : ",", c.what, c.figure, c.budget, c.figure / c.budget, ok);
  }
  if (have_children) {
    std::printf("added CPU per call (loaded): %.2f us (budget %.0f us, ratio %.2f) -> %s\n",
                l.cpu_us_per_call_loaded - b.cpu_us_per_call_loaded, kBudgetCpuUs,
                (l.cpu_us_per_call_loaded - b.cpu_us_per_call_loaded) / kBudgetCpuUs,
                l.cpu_us_per_call_loaded - b.cpu_us_per_call_loaded <= kBudgetCpuUs ? "within budget" : "OVER BUDGET");
  }

  if (!o.json_path.empty()) {
    const std::string text = fmt::format(
        R"({{"benchmark":"llmux_e2e_overhead","server":"nginx return 200 on loopback","url":"{}",)"
        R"("config":{{"requests":{},"warmup":{},"block":{},"concurrency":{},"throughput_requests":{},"rounds":{},)"
        R"("request_bytes":{},"response_bytes":{}}},)"
        R"("baseline":{},"llmux":{},)"
        R"("added":{{"latency_p50_us":{:.3f},"latency_p99_us":{:.3f},"cpu_us_per_call_sequential":{:.3f},)"
        R"("cpu_us_per_call_loaded":{:.3f}}},)"
        R"("ratio":{{"latency_p50":{:.4f},"latency_p99":{:.4f},"cpu_per_call_sequential":{:.4f},)"
        R"("throughput":{:.4f},"peak_rss":{:.4f}}},)"
        R"("budget":[{}]}})"
        "\n",
        base_url(o), o.requests, o.warmup, o.block, o.concurrency, o.throughput_requests, o.rounds,
        kChatRequestBody.size(), kChatCompletionResponse.size(), json_side(b), json_side(l),
        l.latency.p50 - b.latency.p50, l.latency.p99 - b.latency.p99,
        l.latency.cpu_us_per_call - b.latency.cpu_us_per_call, l.cpu_us_per_call_loaded - b.cpu_us_per_call_loaded,
        l.latency.p50 / b.latency.p50, l.latency.p99 / b.latency.p99,
        l.latency.cpu_us_per_call / std::max(b.latency.cpu_us_per_call, 1e-9),
        b.throughput_rps > 0 ? l.throughput_rps / b.throughput_rps : 0.0,
        b.peak_rss_mib > 0 ? l.peak_rss_mib / b.peak_rss_mib : 0.0, checks_json);
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
  if (argc == 2 && std::string_view(argv[1]) == "--print-response-body") {
    std::fwrite(llmux::bench::kChatCompletionResponse.data(), 1, llmux::bench::kChatCompletionResponse.size(), stdout);
    return 0;
  }
  const llmux::bench::Options o = llmux::bench::parse_args(argc, argv);
  if (!o.child.empty()) return llmux::bench::run_child(o);
  if (!o.only.empty()) return llmux::bench::run_only(o);
  return llmux::bench::run_parent(argv[0], o);
}
