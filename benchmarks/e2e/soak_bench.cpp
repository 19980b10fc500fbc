// Memory of a Router (issue 14 target 4): idle RSS with 8 deployments, RSS
// per 1,000 in-flight calls, and a soak of mixed calls that must leave RSS
// flat after warm-up. scripts/soak.sh runs it (a short soak is a stage of
// scripts/test.sh; the full 100,000 calls is `benchmarks/run.sh soak`).
//
//   llmux_soak_bench --fake-server=PATH [--calls=100000] [--warmup=20000] [--sample-every=5000]
//                    [--concurrency=32] [--in-flight=2000] [--max-growth-mib=M] [--json=FILE]
//
// The provider is llmux_fake_server (tests/support), a separate process this
// binary starts on loopback and stops at the end (closing its stdin), so its
// memory is not in the figures. It answers by model name: ok-* → 200,
// status-503-* → 503, status-400-* → 400, slow-<ms>-* → 200 after <ms>.
//
// Method.
//  * Idle: VmRSS of this process before the Router exists (libraries loaded,
//    nothing else), then after Router::from_config with 8 deployments (4 in
//    group main, one each in flaky, bad, slow, spare) and a few warm-up calls
//    to each group. Added = the difference (target ≤ 8 MiB), split into
//    libcurl's global init, the bundled model map, from_config, warm-up.
//  * In flight (after the soak, whose figures it would otherwise mask):
//    --in-flight non-streaming calls to the slow deployment (answers after
//    1.5 s) started at once; VmRSS 0.5-1 s later (every call waiting on its
//    socket) minus VmRSS right before; per 1,000 calls.
//  * Soak: --calls calls, --concurrency in flight (closed loop), mixed:
//    55% completion and 25% stream on main (4 deployments), 15% on flaky (a
//    503 deployment with one retry and a fallback to main, cooldowns), 5% on
//    bad (a 400: fails at once, no fallback). After every --sample-every
//    calls, with nothing in flight, VmRSS and the heap in use (mallinfo2:
//    bytes allocated and not freed, every arena) are sampled. Growth = the
//    highest sample after --warmup calls minus the first sample after it;
//    the slope (least squares) is reported per 10,000 calls. With
//    --max-growth-mib the exit status is 1 when growth exceeds it (the
//    test's pass/fail); every call must also end with its expected outcome.
#include <curl/curl.h>
#include <fmt/format.h>
#include <malloc.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/bench_flags.hpp"
#include "llmux/router.hpp"
#include "pricing/model_map.hpp"
#include "support/child_process.hpp"

namespace llmux::bench {
namespace {

struct Options {
  std::string fake_server;
  int calls = 100000;
  int warmup = 20000;
  int sample_every = 5000;
  int concurrency = 32;
  int in_flight = 2000;
  double max_growth_mib = -1;  // < 0: report only
  std::string only;            // diagnostic: completion, stream, flaky or bad alone
  std::string json_path;
};

// Exit status 2 for bad usage or a failed run; 1 is the RSS-growth verdict.
[[noreturn]] void die(const std::string& message) { die_in("soak_bench", message, 2); }

int parse_int(std::string_view flag, std::string_view v) { return parse_flag_int("soak_bench", flag, v, 2); }

Options parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    const auto [key, val] = split_flag(a);
    if (key == "--fake-server") o.fake_server = std::string(val);
    else if (key == "--calls") o.calls = parse_int(key, val);
    else if (key == "--warmup") o.warmup = parse_int(key, val);
    else if (key == "--sample-every") o.sample_every = std::max(1, parse_int(key, val));
    else if (key == "--concurrency") o.concurrency = std::max(1, parse_int(key, val));
    else if (key == "--in-flight") o.in_flight = parse_int(key, val);
    else if (key == "--max-growth-mib") o.max_growth_mib = std::strtod(std::string(val).c_str(), nullptr);
    else if (key == "--json") o.json_path = std::string(val);
    else if (key == "--only") o.only = std::string(val);
    else die(fmt::format("unknown argument '{}'", a));
  }
  if (o.fake_server.empty()) die("--fake-server=PATH (llmux_fake_server) is required");
  if (o.warmup >= o.calls) die("--warmup must be below --calls");
  return o;
}

long vm_rss_kb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return -1;
}

double mib(long kb) { return static_cast<double>(kb) / 1024.0; }

// Bytes the allocator has handed out and not got back (every arena, plus
// mmapped blocks): a leak shows here even while freed pages keep RSS flat.
int64_t heap_in_use() {
  const struct mallinfo2 m = mallinfo2();
  return static_cast<int64_t>(m.uordblks + m.hblkhd);
}

std::string config_for(const std::string& base_url) {
  std::string c = "model_list:\n";
  auto deployment = [&](std::string_view group, std::string_view model) {
    c += fmt::format(
        "  - model_name: {}\n"
        "    litellm_params:\n"
        "      model: openai/{}\n"
        "      api_base: {}\n"
        "      api_key: sk-soak\n",
        group, model, base_url);
  };
  for (int i = 0; i < 4; ++i) deployment("main", fmt::format("ok-main-{}", i));
  deployment("flaky", "status-503-flaky");
  deployment("bad", "status-400-bad");
  deployment("slow", "slow-1500-slow");
  deployment("spare", "ok-spare");
  c += "router_settings:\n"
       "  num_retries: 1\n"
       "  retry_after: 0\n"
       "  fallbacks: [{\"flaky\": [\"main\"]}]\n";
  return c;
}

std::string request_for(std::string_view group, bool stream) {
  return fmt::format(R"({{"model":"{}","messages":[{{"role":"user","content":"soak call"}}]{}}})", group,
                     stream ? R"(,"stream":true)" : "");
}

// Closed loop over `calls` mixed calls; counts unexpected outcomes.
class Soak {
 public:
  Soak(Router& router, int concurrency, std::string_view only) : router_(router), concurrency_(concurrency) {
    if (only == "completion") only_kind_ = 0;
    else if (only == "stream") only_kind_ = 11;
    else if (only == "flaky") only_kind_ = 16;
    else if (only == "bad") only_kind_ = 19;
    else if (!only.empty()) die(fmt::format("unknown --only '{}'", only));
    main_ = request_for("main", false);
    main_stream_ = request_for("main", true);
    flaky_ = request_for("flaky", false);
    bad_ = request_for("bad", false);
  }

  // Runs calls [first, first + n); returns when all finished.
  void run(int first, int n) {
    {
      std::lock_guard lock(mu_);
      next_ = first;
      end_ = first + n;
      outstanding_ = 0;
    }
    const int k = std::min(concurrency_, n);
    for (int i = 0; i < k; ++i) issue();
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return outstanding_ == 0 && next_ >= end_; });
  }

  int unexpected() const { return unexpected_.load(); }
  int64_t chunks() const { return chunks_.load(); }

 private:
  // Takes the next call number and starts it; false when none is left.
  void issue() {
    int i;
    {
      std::lock_guard lock(mu_);
      if (next_ >= end_) return;
      i = next_++;
      ++outstanding_;
    }
    const int kind = only_kind_ >= 0 ? only_kind_ : i % 20;  // 11/20 completion, 5/20 stream, 3/20 flaky, 1/20 bad
    if (kind < 11) {
      router_.completion_async(main_, [this](Result<Response> r) { finish(r.ok() && r->status == 200); });
    } else if (kind < 16) {
      router_.stream(
          main_stream_,
          [this](std::string_view) {
            chunks_.fetch_add(1, std::memory_order_relaxed);
            return true;
          },
          [this](Result<Response> r) { finish(r.ok()); });
    } else if (kind < 19) {
      router_.completion_async(flaky_, [this](Result<Response> r) { finish(r.ok() && r->status == 200); });
    } else {
      router_.completion_async(bad_, [this](Result<Response> r) { finish(!r.ok()); });
    }
  }

  void finish(bool expected) {
    if (!expected) unexpected_.fetch_add(1);
    bool all_done = false;
    {
      std::lock_guard lock(mu_);
      --outstanding_;
      all_done = outstanding_ == 0 && next_ >= end_;
    }
    if (all_done) {
      std::lock_guard lock(mu_);
      cv_.notify_all();
      return;
    }
    issue();
  }

  Router& router_;
  const int concurrency_;
  int only_kind_ = -1;
  std::string main_, main_stream_, flaky_, bad_;
  std::mutex mu_;
  std::condition_variable cv_;
  int next_ = 0, end_ = 0, outstanding_ = 0;
  std::atomic<int> unexpected_{0};
  std::atomic<int64_t> chunks_{0};
};

struct Sample {
  int calls;
  long rss_kb;
  int64_t heap_kb;
};

int run(const Options& o) {
  const long rss_bare = vm_rss_kb();
  testing::ChildProcess server(o.fake_server, {});
  const auto line = server.read_line(std::chrono::seconds(10));
  if (!line) die("llmux_fake_server did not start");
  const size_t at = line->find("\"base_url\":\"");
  if (at == std::string::npos) die("llmux_fake_server printed no base_url: " + *line);
  const size_t from = at + 12;
  const std::string base_url = line->substr(from, line->find('"', from) - from);

  // Where the idle figure goes: libcurl's global init (OpenSSL's tables),
  // the Router as created (deployments, model map, the I/O thread), warm-up.
  curl_global_init(CURL_GLOBAL_ALL);  // the Router does the same once; counted apart here
  const long rss_curl = vm_rss_kb();
  const auto model_map = pricing::ModelMap::bundled();  // what the Router parses on first use; kept alive
  const long rss_map = vm_rss_kb();
  auto created = Router::from_config(config_for(base_url));
  if (!created.ok()) die("Router::from_config failed: " + created.error().to_string());
  std::unique_ptr<Router> router = std::move(created).value();
  const long rss_created = vm_rss_kb();
  // Warm: a few calls to every group (connections, the allocator, lazy state).
  for (int i = 0; i < 4; ++i) {
    if (!router->completion(request_for("main", false)).ok()) die("warm-up call to main failed");
    if (!router->completion(request_for("main", true)).ok()) die("warm-up stream to main failed");
    (void)router->completion(request_for("flaky", false));
    (void)router->completion(request_for("bad", false));
  }
  if (!router->completion(request_for("spare", false)).ok()) die("warm-up call to spare failed");
  if (!router->completion(request_for("slow", false)).ok()) die("warm-up call to slow failed");
  const long rss_idle = vm_rss_kb();
  std::printf("idle Router, 8 deployments: bare process %.2f MiB, Router created and warm %.2f MiB -> "
              "+%.2f MiB (budget 8 MiB) -> %s\n",
              mib(rss_bare), mib(rss_idle), mib(rss_idle - rss_bare),
              rss_idle - rss_bare <= 8 * 1024 ? "within budget" : "OVER BUDGET");
  std::printf("  of which: curl_global_init +%.2f MiB, the bundled model map (%.2f MiB of JSON) +%.2f MiB, "
              "Router::from_config +%.2f MiB, warm-up calls +%.2f MiB\n",
              mib(rss_curl - rss_bare), static_cast<double>(pricing::ModelMap::bundled_bytes()) / (1 << 20),
              mib(rss_map - rss_curl), mib(rss_created - rss_map), mib(rss_idle - rss_created));

  // Soak.
  Soak soak(*router, o.concurrency, o.only);
  std::vector<Sample> samples;
  const auto t0 = std::chrono::steady_clock::now();
  for (int done = 0; done < o.calls;) {
    const int n = std::min(o.sample_every, o.calls - done);
    soak.run(done, n);
    done += n;
    samples.push_back(Sample{done, vm_rss_kb(), heap_in_use() / 1024});
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  std::printf("\nsoak: %d calls (%s), %d in flight, %.1f s (%.0f calls/s), unexpected outcomes %d, stream chunks %lld\n",
              o.calls, o.only.empty() ? "55% completion, 25% stream, 15% 503 + retry + fallback, 5% 400" : o.only.c_str(),
              o.concurrency, wall, o.calls / wall, soak.unexpected(), static_cast<long long>(soak.chunks()));
  std::printf("%10s %12s %16s\n", "calls", "RSS (MiB)", "heap in use (KiB)");
  for (const Sample& s : samples) {
    std::printf("%10d %12.2f %16lld\n", s.calls, mib(s.rss_kb), static_cast<long long>(s.heap_kb));
  }

  // After warm-up: growth = max - first; slope by least squares.
  std::vector<Sample> after;
  for (const Sample& s : samples) {
    if (s.calls >= o.warmup) after.push_back(s);
  }
  double growth_mib = 0, slope_kib_per_10k = 0, heap_slope_kib_per_10k = 0;
  int64_t heap_growth_kb = 0;
  if (!after.empty()) {
    long max_rss = after.front().rss_kb;
    int64_t max_heap = after.front().heap_kb;
    for (const Sample& s : after) {
      max_rss = std::max(max_rss, s.rss_kb);
      max_heap = std::max(max_heap, s.heap_kb);
    }
    growth_mib = mib(max_rss - after.front().rss_kb);
    heap_growth_kb = max_heap - after.front().heap_kb;
    auto slope = [&](auto y) {
      if (after.size() < 2) return 0.0;
      double mx = 0, my = 0;
      for (const Sample& s : after) {
        mx += s.calls;
        my += y(s);
      }
      mx /= static_cast<double>(after.size());
      my /= static_cast<double>(after.size());
      double sxy = 0, sxx = 0;
      for (const Sample& s : after) {
        sxy += (s.calls - mx) * (y(s) - my);
        sxx += (s.calls - mx) * (s.calls - mx);
      }
      return sxx > 0 ? sxy / sxx * 10000 : 0.0;
    };
    slope_kib_per_10k = slope([](const Sample& s) { return static_cast<double>(s.rss_kb); });
    heap_slope_kib_per_10k = slope([](const Sample& s) { return static_cast<double>(s.heap_kb); });
  }
  const bool growth_ok = o.max_growth_mib < 0 || growth_mib <= o.max_growth_mib;
  const bool ok = growth_ok && soak.unexpected() == 0;
  std::printf("after %d warm-up calls (%zu samples): RSS growth %.2f MiB (max - first), slope %+.1f KiB per 10,000 "
              "calls; heap in use growth %lld KiB, slope %+.1f KiB per 10,000 calls\n",
              o.warmup, after.size(), growth_mib, slope_kib_per_10k, static_cast<long long>(heap_growth_kb),
              heap_slope_kib_per_10k);
  if (o.max_growth_mib >= 0) {
    std::printf("RSS growth %.2f MiB vs limit %.2f MiB; unexpected outcomes %d -> %s\n", growth_mib, o.max_growth_mib,
                soak.unexpected(), ok ? "PASS" : "FAIL");
  }

  // In flight (after the soak, so that its high-water mark cannot hide the
  // soak's growth in freed pages): slow calls held open together.
  double rss_per_1000_in_flight = 0;
  long rss_in_flight = 0;
  if (o.in_flight > 0) {
    const long before = vm_rss_kb();
    std::atomic<int> done{0}, ok_calls{0};
    std::mutex mu;
    std::condition_variable cv;
    const std::string slow = request_for("slow", false);
    for (int i = 0; i < o.in_flight; ++i) {
      router->completion_async(slow, [&](Result<Response> r) {
        if (r.ok()) ok_calls.fetch_add(1);
        if (done.fetch_add(1) + 1 == o.in_flight) {
          std::lock_guard lock(mu);
          cv.notify_one();
        }
      });
    }
    for (int i = 0; i < 10 && done.load() == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (i >= 5) rss_in_flight = std::max(rss_in_flight, vm_rss_kb());
    }
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return done.load() == o.in_flight; });
    if (ok_calls.load() != o.in_flight) {
      die(fmt::format("{} of {} slow calls failed", o.in_flight - ok_calls.load(), o.in_flight));
    }
    rss_per_1000_in_flight = mib(rss_in_flight - before) / (o.in_flight / 1000.0);
    std::printf("%d non-streaming calls in flight: RSS %.2f -> %.2f MiB -> %.2f MiB per 1,000 in-flight calls\n",
                o.in_flight, mib(before), mib(rss_in_flight), rss_per_1000_in_flight);
  }

  if (!o.json_path.empty()) {
    std::string rows;
    for (const Sample& s : samples) {
      rows += fmt::format(R"({}{{"calls":{},"rss_mib":{:.3f},"heap_kib":{}}})", rows.empty() ? "" : ",", s.calls,
                          mib(s.rss_kb), s.heap_kb);
    }
    const std::string text = fmt::format(
        R"({{"benchmark":"llmux_soak","config":{{"calls":{},"warmup":{},"sample_every":{},"concurrency":{},"in_flight":{}}},)"
        R"("idle":{{"bare_rss_mib":{:.3f},"router_rss_mib":{:.3f},"added_mib":{:.3f},"budget_mib":8,"within_budget":{},)"
        R"("curl_global_init_mib":{:.3f},"model_map_mib":{:.3f},"from_config_mib":{:.3f},"warm_up_mib":{:.3f}}},)"
        R"("in_flight":{{"calls":{},"rss_mib":{:.3f},"rss_mib_per_1000":{:.3f}}},)"
        R"("soak":{{"wall_s":{:.2f},"unexpected":{},"growth_mib":{:.3f},"slope_kib_per_10k_calls":{:.2f},)"
        R"("heap_growth_kib":{},"heap_slope_kib_per_10k_calls":{:.2f},"max_growth_mib":{:.2f},"ok":{},"samples":[{}]}},)"
        // The keys benchmarks/targets.py reads.
        R"("idle_router_rss_mib":{:.3f},"rss_growth_after_warmup_mib":{:.3f},"rss_per_1000_in_flight_mib":{:.3f}}})"
        "\n",
        o.calls, o.warmup, o.sample_every, o.concurrency, o.in_flight, mib(rss_bare), mib(rss_idle),
        mib(rss_idle - rss_bare), rss_idle - rss_bare <= 8 * 1024, mib(rss_curl - rss_bare),
        mib(rss_map - rss_curl), mib(rss_created - rss_map), mib(rss_idle - rss_created), o.in_flight, mib(rss_in_flight),
        rss_per_1000_in_flight, wall, soak.unexpected(), growth_mib, slope_kib_per_10k, heap_growth_kb,
        heap_slope_kib_per_10k, o.max_growth_mib, ok, rows, mib(rss_idle - rss_bare), growth_mib,
        rss_per_1000_in_flight);
    std::FILE* out = std::fopen(o.json_path.c_str(), "w");
    if (out == nullptr) die("cannot write " + o.json_path);
    std::fputs(text.c_str(), out);
    std::fclose(out);
    std::printf("results written to %s\n", o.json_path.c_str());
  }
  router.reset();
  server.finish();
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace llmux::bench

int main(int argc, char** argv) { return llmux::bench::run(llmux::bench::parse_args(argc, argv)); }
