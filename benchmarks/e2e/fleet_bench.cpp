// The fleet on Redis, measured: what sharing routing state costs per call,
// how fast a cooldown reaches another process, and how exact a fleet-wide rpm
// limit is under load. Run by run_on_nginx.sh (benchmarks/run.sh fleet), which
// starts nginx on loopback; this program starts its own redis-server
// (tests/support/redis_server.hpp) and, for the parts with failing or counted
// deployments, the fake provider (tests/support/fake_provider.hpp) on loopback.
//
//   llmux_fleet_bench --port=P [--part=all|overhead|propagation|rpm] [--json=FILE]
//       overhead:    [--requests=10000] [--warmup=1000] [--block=500] [--rounds=3]
//       propagation: [--trials=200]
//       rpm:         [--rpm-limits=10,100,1000] [--rpm-rate=50] [--rpm-processes=3] [--rpm-seconds=0]
//   llmux_fleet_bench --port=P --only=CASE:SIDE [--requests=N]   (one side of one overhead case
//       alone, e.g. limits-far:redis; for profiling under callgrind or perf)
//   llmux_fleet_bench --print-response-body    (the body nginx must return)
//
// Method.
//  * overhead — two Routers with the same deployment on the same nginx, one
//    without Redis settings (the baseline) and one with them, in one process;
//    sequential blocking calls in alternating blocks (ABBA), as the e2e
//    overhead benchmark. Five cases: no rpm/tpm limit (the common case: Redis
//    sees nothing per call); rpm/tpm limits far from the limit (usage counted
//    in Redis, pipelined, never waited for); an rpm limit near the fleet's
//    count (the usage key is seeded at 90 % of the limit, so every call makes
//    the atomic reservation: one round trip to Redis); least-busy and
//    latency-based routing (their load shared: in-flight counts, latency
//    summaries). Per side: latency
//    percentiles; CPU per call from getrusage(RUSAGE_SELF) over the side's
//    blocks (every thread of this process, as the e2e benchmark counts it);
//    and CPU split by thread (threads are named by the library): the hot path
//    = the calling thread during the side's blocks + the side's I/O loop
//    thread ("llmux-io"), and the Redis link thread ("llmux-redis"), which the
//    hot path hands its commands to; redis-server's own CPU (INFO cpu) and
//    commands (INFO commandstats) per call, the baseline side's blocks giving
//    Redis' background (pings, periodic reads). Rounds alternate; each figure
//    is the median over the rounds.
//  * propagation — this process (the "cooler") and a watcher process (this
//    program re-executed with --child=watcher) share one redis-server; each
//    trial uses its own group (a deployment answering 429 first, a healthy one
//    second) so trials need no recovery in between. The cooler's call cools
//    the failing deployment (its kCooldown event stamps the wall clock); the
//    watcher polls Router::health() every ~100 µs and stamps the wall clock
//    when it first reports the deployment cooling. One host: one wall clock.
//    Baseline: a raw Redis PUBLISH from this process to a hiredis subscriber in
//    the watcher, stamped the same way (the transport's own floor).
//  * rpm — three processes (--child=hammer), each a Router on the same Redis,
//    send calls at a fixed rate to groups with an rpm-limited deployment
//    (order 1) and a spare one (order 2), one group per limit N, for one UTC
//    minute; the limited deployments' servers count what they received.
//    Expected: exactly N each (fleet_sync's margin rule: pipelined counting
//    until max(10, N/5) below the limit, then one atomic reservation per
//    request); overshoot is what the fleet let through beyond N.
#include <fmt/format.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <dirent.h>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "json/writer.hpp"
#include "llmux/router.hpp"
#include "micro/payloads.hpp"
#include "state/litellm_keys.hpp"
#include "support/child_process.hpp"
#include "support/fake_provider.hpp"
#include "support/redis_server.hpp"

namespace llmux::bench {
namespace {

using Clock = std::chrono::steady_clock;
using WallClock = std::chrono::system_clock;
using namespace std::chrono_literals;

constexpr std::string_view kApiKey = "sk-bench-0123456789";
constexpr double kHotPathBudgetUs = 2;       // added per call with Redis configured
constexpr double kPropagationBudgetMs = 100;  // p99, between two processes

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "fleet_bench: %s\n", message.c_str());
  std::exit(1);
}

// --- options --------------------------------------------------------------------

struct Options {
  std::string part = "all";
  std::string host = "127.0.0.1";
  int port = 0;  // nginx
  int requests = 10000;
  int warmup = 1000;
  int block = 500;
  int rounds = 3;
  int trials = 200;
  std::vector<int64_t> rpm_limits = {10, 100, 1000};
  int rpm_rate = 50;  // calls a second per process and limit
  int rpm_processes = 3;
  int rpm_seconds = 0;  // 0 = one whole UTC minute
  std::string json_path;
  std::string only;
  // Children.
  std::string child;  // "watcher" or "hammer"
  int redis_port = 0;
  std::string bad_url, good_url, spare_url;
  std::vector<std::string> limited_urls;
};

int64_t parse_int(std::string_view flag, std::string_view v) {
  int64_t n = 0;
  const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (v.empty() || ec != std::errc() || p != v.data() + v.size() || n < 0 || n > 1000000000) {
    die(fmt::format("bad value for {}: '{}'", flag, v));
  }
  return n;
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  while (!s.empty()) {
    const size_t at = s.find(sep);
    out.emplace_back(s.substr(0, at));
    if (at == std::string_view::npos) break;
    s.remove_prefix(at + 1);
  }
  return out;
}

Options parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    const size_t eq = a.find('=');
    const std::string_view key = a.substr(0, eq);
    const std::string_view val = eq == std::string_view::npos ? std::string_view() : a.substr(eq + 1);
    auto num = [&] { return static_cast<int>(parse_int(key, val)); };
    if (key == "--part") o.part = std::string(val);
    else if (key == "--host") o.host = std::string(val);
    else if (key == "--port") o.port = num();
    else if (key == "--requests") o.requests = std::max(1, num());
    else if (key == "--warmup") o.warmup = num();
    else if (key == "--block") o.block = std::max(1, num());
    else if (key == "--rounds") o.rounds = std::max(1, num());
    else if (key == "--trials") o.trials = std::max(1, num());
    else if (key == "--rpm-rate") o.rpm_rate = std::max(1, num());
    else if (key == "--rpm-processes") o.rpm_processes = std::max(1, num());
    else if (key == "--rpm-seconds") o.rpm_seconds = num();
    else if (key == "--json") o.json_path = std::string(val);
    else if (key == "--only") o.only = std::string(val);
    else if (key == "--child") o.child = std::string(val);
    else if (key == "--redis-port") o.redis_port = num();
    else if (key == "--bad-url") o.bad_url = std::string(val);
    else if (key == "--good-url") o.good_url = std::string(val);
    else if (key == "--spare-url") o.spare_url = std::string(val);
    else if (key == "--limited-urls") o.limited_urls = split(val, ',');
    else if (key == "--rpm-limits") {
      o.rpm_limits.clear();
      for (const std::string& s : split(val, ',')) o.rpm_limits.push_back(std::max<int64_t>(1, parse_int(key, s)));
      if (o.rpm_limits.empty()) die("--rpm-limits needs at least one limit");
    } else {
      die(fmt::format("unknown argument '{}'", a));
    }
  }
  if (o.part != "all" && o.part != "overhead" && o.part != "propagation" && o.part != "rpm") {
    die(fmt::format("--part must be all, overhead, propagation or rpm, not '{}'", o.part));
  }
  if (o.rpm_seconds > 55) die("--rpm-seconds must fit in one UTC minute (at most 55; 0 = the whole minute)");
  return o;
}

// --- small measurement helpers ------------------------------------------------------

double process_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto tv = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6; };
  return tv(u.ru_utime) + tv(u.ru_stime);
}

double clock_seconds(clockid_t clock) {
  timespec ts{};
  if (clock_gettime(clock, &ts) != 0) return 0;
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double caller_cpu_seconds() { return clock_seconds(CLOCK_THREAD_CPUTIME_ID); }

// CPU time of another thread of this process, by its kernel thread id: the
// clock id glibc's pthread_getcpuclockid builds (MAKE_THREAD_CPUCLOCK(tid,
// CPUCLOCK_SCHED)), nanosecond resolution.
double thread_cpu_seconds(pid_t tid) { return clock_seconds(static_cast<clockid_t>((~tid << 3) | 6)); }

// Thread ids of this process and their names (/proc/self/task/*/comm).
std::map<pid_t, std::string> threads() {
  std::map<pid_t, std::string> out;
  DIR* dir = opendir("/proc/self/task");
  if (dir == nullptr) return out;
  while (dirent* e = readdir(dir)) {
    const pid_t tid = static_cast<pid_t>(std::atoi(e->d_name));
    if (tid <= 0) continue;
    std::ifstream in(fmt::format("/proc/self/task/{}/comm", tid));
    std::string name;
    std::getline(in, name);
    out[tid] = name;
  }
  closedir(dir);
  return out;
}

double percentile_us(std::vector<int64_t> ns, double p) {
  if (ns.empty()) return 0;
  std::sort(ns.begin(), ns.end());
  const size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(ns.size())));
  return static_cast<double>(ns[std::min(ns.size() - 1, rank == 0 ? 0 : rank - 1)]) / 1e3;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(v.size())));
  return v[std::min(v.size() - 1, rank == 0 ? 0 : rank - 1)];
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double mean_us(const std::vector<int64_t>& ns) {
  if (ns.empty()) return 0;
  double sum = 0;
  for (int64_t v : ns) sum += static_cast<double>(v);
  return sum / static_cast<double>(ns.size()) / 1e3;
}

int64_t wall_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(WallClock::now().time_since_epoch()).count();
}

// Sleeps until the wall clock reads `ns` (nanoseconds since the epoch).
void sleep_until_wall(int64_t ns) {
  const int64_t left = ns - wall_ns();
  if (left > 0) std::this_thread::sleep_for(std::chrono::nanoseconds(left));
}

std::string redis_yaml(int port) { return fmt::format("  redis_host: 127.0.0.1\n  redis_port: {}\n", port); }

// A Router whose shared-state link reports up (when Redis is configured).
struct BenchRouter {
  std::unique_ptr<Router> router;
  std::atomic<bool> link_up{false};
  std::function<void(const RouterEvent&)> extra;  // set before creation; runs on the router's loop
};

std::unique_ptr<BenchRouter> make_router(const std::string& yaml, std::function<void(const RouterEvent&)> extra = {}) {
  auto r = std::make_unique<BenchRouter>();
  r->extra = std::move(extra);
  RouterOptions options;
  options.random_seed = 2026;
  options.log = [](std::string_view) {};
  BenchRouter* raw = r.get();
  options.on_event = [raw](const RouterEvent& e) {
    if (e.type == RouterEventType::kSharedStateUp) raw->link_up.store(true);
    if (raw->extra) raw->extra(e);
  };
  auto router = Router::from_config(yaml, options);
  if (!router.ok()) die("Router::from_config failed: " + router.error().to_string());
  r->router = std::move(router).value();
  return r;
}

void wait_link_up(BenchRouter& r, const char* who) {
  const auto end = Clock::now() + 15s;
  while (!r.link_up.load()) {
    if (Clock::now() > end) die(fmt::format("{}: the Redis link did not come up within 15 s", who));
    std::this_thread::sleep_for(1ms);
  }
}

// Redis' own figures (INFO cpu commandstats): CPU seconds and commands by name.
struct RedisStats {
  double cpu_seconds = 0;
  std::map<std::string, int64_t> calls;  // "eval" → calls
  int64_t total() const {
    int64_t n = 0;
    for (const auto& [name, c] : calls) n += c;
    return n;
  }
};

RedisStats redis_stats(testing::RedisClient& client) {
  const testing::RedisValue v = client.command({"INFO", "cpu", "commandstats"});
  RedisStats s;
  std::istringstream in(v.str);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = line.substr(0, colon);
    const std::string value = line.substr(colon + 1);
    if (key == "used_cpu_sys" || key == "used_cpu_user") s.cpu_seconds += std::strtod(value.c_str(), nullptr);
    if (key.rfind("cmdstat_", 0) == 0) {
      const size_t calls = value.find("calls=");
      if (calls != std::string::npos) s.calls[key.substr(8)] = std::strtoll(value.c_str() + calls + 6, nullptr, 10);
    }
  }
  return s;
}

// ================================================================================
// Part 1: overhead per call, Redis configured vs not
// ================================================================================

struct OverheadCase {
  std::string name;
  std::string what;
  std::string deployment_extra;  // under litellm_params
  std::string settings_extra;    // under router_settings
  int64_t near_rpm = 0;          // > 0: seed the fleet's count near this limit
  std::string strategy = "simple-shuffle";
};

const std::vector<OverheadCase>& overhead_cases() {
  static const std::vector<OverheadCase> cases = {
      {"common", "no rpm/tpm limit (the common case)", "", "", 0},
      {"limits-far", "rpm 10^8, tpm 10^11: usage counted in Redis, far from the limit",
       "      rpm: 100000000\n      tpm: 100000000000\n", "  enable_pre_call_checks: true\n", 0},
      {"limits-near", "rpm 10^6 with the fleet at 900,000: an atomic reservation per call",
       "      rpm: 1000000\n", "  enable_pre_call_checks: true\n", 1000000},
      {"least-busy", "least-busy: in-flight counts shared (written when changed, heartbeat, read each sync)", "", "",
       0, "least-busy"},
      {"latency-based", "latency-based-routing: latency summaries shared", "", "", 0, "latency-based-routing"},
  };
  return cases;
}

constexpr std::string_view kModel = "openai/qwen3-14b";

std::string overhead_config(const Options& o, const OverheadCase& c, int redis_port) {
  return fmt::format(
      "model_list:\n"
      "  - model_name: production-llm\n"
      "    litellm_params:\n"
      "      model: {}\n"
      "      api_base: http://{}:{}/v1\n"
      "      api_key: {}\n"
      "{}"
      "    model_info:\n"
      "      id: dep-{}\n"
      "router_settings:\n"
      "  routing_strategy: {}\n"
      "{}{}",
      kModel, o.host, o.port, kApiKey, c.deployment_extra, c.name, c.strategy, c.settings_extra,
      redis_port > 0 ? redis_yaml(redis_port) : "");
}

// Sets the fleet's rpm count of `c`'s deployment to 90 % of its limit for the
// next few UTC minutes (usage-v2's key, where the reservation counts).
void seed_near_limit(testing::RedisClient& client, const OverheadCase& c) {
  const state::SharedKeys keys;
  const auto now = WallClock::now();
  for (int m = 0; m < 10; ++m) {
    const std::string key =
        keys.usage_v2("dep-" + c.name, kModel, state::UsageCounter::kRpm, state::utc_minute_tag(now + std::chrono::minutes(m)));
    client.command({"SET", key, fmt::format("{}", c.near_rpm * 9 / 10), "EX", "900"});
  }
}

// One side of a case: its Router and its threads.
struct Side {
  std::unique_ptr<BenchRouter> r;
  pid_t io_thread = 0;
  pid_t link_thread = 0;  // 0 without Redis
};

Side make_side(const std::string& yaml, bool with_redis) {
  const auto before = threads();
  Side s;
  s.r = make_router(yaml);
  if (with_redis) wait_link_up(*s.r, "overhead");
  for (const auto& [tid, name] : threads()) {
    if (before.count(tid)) continue;
    if (name == "llmux-io") s.io_thread = tid;
    if (name == "llmux-redis") s.link_thread = tid;
  }
  if (s.io_thread == 0) die("cannot find the Router's I/O thread (llmux-io) in /proc/self/task");
  if (with_redis && s.link_thread == 0) die("cannot find the Redis link thread (llmux-redis) in /proc/self/task");
  return s;
}

bool call_ok(Router& r) {
  auto res = r.completion(kChatRequestBody);
  return res.ok() && res->status == 200 && !res->body.empty();
}

// One round of one case: figures of both sides, and Redis' over the round.
struct SideRound {
  std::vector<int64_t> ns;
  double caller_cpu = 0, process_cpu = 0, io_cpu = 0, link_cpu = 0;
};

struct CaseRound {
  SideRound side[2];  // 0 = without Redis, 1 = with
  double wall_seconds = 0;
  double redis_cpu = 0;  // redis-server CPU seconds over the round
  std::map<std::string, int64_t> redis_calls;  // commands over the round, ours (INFO) excluded
};

// Redis' background (idle links' pings, periodic re-reads of every Redis
// side): per second, measured with no call running.
struct RedisBackground {
  double cpu_per_second = 0;
  std::map<std::string, double> calls_per_second;
};

RedisBackground measure_background(testing::RedisClient& client, std::chrono::milliseconds how_long) {
  const RedisStats before = redis_stats(client);
  const auto t0 = Clock::now();
  std::this_thread::sleep_for(how_long);
  const RedisStats after = redis_stats(client);
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  RedisBackground b;
  b.cpu_per_second = (after.cpu_seconds - before.cpu_seconds) / seconds;
  for (const auto& [name, calls] : after.calls) {
    const auto it = before.calls.find(name);
    b.calls_per_second[name] = static_cast<double>(calls - (it == before.calls.end() ? 0 : it->second)) / seconds;
  }
  b.calls_per_second["info"] = 0;  // ours
  return b;
}

CaseRound measure_case(const Options& o, std::array<Side, 2>& sides, testing::RedisClient& client) {
  CaseRound out;
  int done[2] = {0, 0};
  double thread0[2][2];
  for (int s = 0; s < 2; ++s) {
    thread0[s][0] = thread_cpu_seconds(sides[s].io_thread);
    thread0[s][1] = sides[s].link_thread ? thread_cpu_seconds(sides[s].link_thread) : 0;
  }
  const RedisStats before = redis_stats(client);
  const auto t0 = Clock::now();
  for (int b = 0; done[0] < o.requests || done[1] < o.requests; ++b) {
    for (int k = 0; k < 2; ++k) {
      const int s = (b % 2 == 0) ? k : 1 - k;  // ABBA
      const int n = std::min(o.block, o.requests - done[s]);
      if (n <= 0) continue;
      Router& router = *sides[s].r->router;
      SideRound& sr = out.side[s];
      const double caller0 = caller_cpu_seconds();
      const double process0 = process_cpu_seconds();
      for (int i = 0; i < n; ++i) {
        const auto c0 = Clock::now();
        const bool ok = call_ok(router);
        const auto c1 = Clock::now();
        if (!ok) die("a call failed during the overhead measurement");
        sr.ns.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(c1 - c0).count());
      }
      sr.process_cpu += process_cpu_seconds() - process0;
      sr.caller_cpu += caller_cpu_seconds() - caller0;
      done[s] += n;
    }
  }
  // Commands queued by the last calls are answered within a round trip.
  std::this_thread::sleep_for(5ms);
  out.wall_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  const RedisStats after = redis_stats(client);
  out.redis_cpu = after.cpu_seconds - before.cpu_seconds;
  for (const auto& [name, calls] : after.calls) {
    const auto it = before.calls.find(name);
    out.redis_calls[name] = calls - (it == before.calls.end() ? 0 : it->second);
  }
  out.redis_calls["info"] -= 1;  // our own
  for (int s = 0; s < 2; ++s) {
    out.side[s].io_cpu = thread_cpu_seconds(sides[s].io_thread) - thread0[s][0];
    out.side[s].link_cpu = sides[s].link_thread ? thread_cpu_seconds(sides[s].link_thread) - thread0[s][1] : 0;
  }
  return out;
}

// Per-call figures of one side in one round (µs).
struct SideFigures {
  double p50 = 0, p90 = 0, p99 = 0, mean = 0;
  double process_cpu = 0;  // getrusage over the side's blocks
  double hot_cpu = 0;      // calling thread + I/O thread
  double link_cpu = 0;     // Redis link thread
  double redis_cpu = 0;    // redis-server, during the side's blocks
  double redis_commands = 0;
  double redis_evals = 0;
};

// Redis' figures go to the Redis side: its calls against Redis' work over
// the round, less the background.
SideFigures figures_of(const CaseRound& round, int side, const RedisBackground& bg) {
  const SideRound& r = round.side[side];
  SideFigures f;
  const double calls = static_cast<double>(std::max<size_t>(1, r.ns.size()));
  f.p50 = percentile_us(r.ns, 0.50);
  f.p90 = percentile_us(r.ns, 0.90);
  f.p99 = percentile_us(r.ns, 0.99);
  f.mean = mean_us(r.ns);
  f.process_cpu = r.process_cpu * 1e6 / calls;
  f.hot_cpu = (r.caller_cpu + r.io_cpu) * 1e6 / calls;
  f.link_cpu = r.link_cpu * 1e6 / calls;
  if (side == 1) {
    f.redis_cpu = std::max(0.0, round.redis_cpu - bg.cpu_per_second * round.wall_seconds) * 1e6 / calls;
    double commands = 0;
    for (const auto& [name, c] : round.redis_calls) {
      const auto it = bg.calls_per_second.find(name);
      const double background = it == bg.calls_per_second.end() ? 0 : it->second * round.wall_seconds;
      const double ours = std::max(0.0, static_cast<double>(c) - background);
      commands += ours;
      if (name == "eval") f.redis_evals = ours / calls;
    }
    f.redis_commands = commands / calls;
  }
  return f;
}

struct CaseResult {
  const OverheadCase* c = nullptr;
  std::vector<SideFigures> rounds[2];
  SideFigures med[2];  // per-figure medians over rounds
  // Added by Redis, median over rounds of the per-round difference.
  double add_p50 = 0, add_p99 = 0, add_process_cpu = 0, add_hot_cpu = 0, add_total_cpu = 0, add_redis_cpu = 0;
  double add_commands = 0;
  bool meets_budget = false;
};

SideFigures median_figures(const std::vector<SideFigures>& v) {
  auto m = [&](double SideFigures::*field) {
    std::vector<double> x;
    for (const SideFigures& f : v) x.push_back(f.*field);
    return median(x);
  };
  SideFigures f;
  for (auto field : {&SideFigures::p50, &SideFigures::p90, &SideFigures::p99, &SideFigures::mean,
                     &SideFigures::process_cpu, &SideFigures::hot_cpu, &SideFigures::link_cpu, &SideFigures::redis_cpu,
                     &SideFigures::redis_commands, &SideFigures::redis_evals}) {
    f.*field = m(field);
  }
  return f;
}

double median_difference(const CaseResult& r, double SideFigures::*field) {
  std::vector<double> d;
  for (size_t i = 0; i < r.rounds[0].size(); ++i) d.push_back(r.rounds[1][i].*field - r.rounds[0][i].*field);
  return median(d);
}

double median_difference_of(const CaseResult& r, double (*of)(const SideFigures&)) {
  std::vector<double> d;
  for (size_t i = 0; i < r.rounds[0].size(); ++i) d.push_back(of(r.rounds[1][i]) - of(r.rounds[0][i]));
  return median(d);
}

std::vector<CaseResult> run_overhead(const Options& o, testing::RedisServer& redis) {
  std::printf("\n== overhead per call: Redis configured vs not (same run, same deployment, nginx at %s:%d) ==\n",
              o.host.c_str(), o.port);
  std::printf("%d sequential calls per side, case and round after %d warm-up, blocks of %d (ABBA), %d round(s)\n",
              o.requests, o.warmup, o.block, o.rounds);
  std::fflush(stdout);
  testing::RedisClient client(redis);
  const auto& cases = overhead_cases();
  std::vector<std::array<Side, 2>> sides(cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    if (cases[i].near_rpm > 0) seed_near_limit(client, cases[i]);
    sides[i][0] = make_side(overhead_config(o, cases[i], 0), false);
    sides[i][1] = make_side(overhead_config(o, cases[i], redis.port()), true);
    for (int w = 0; w < o.warmup; ++w) {
      for (auto& s : sides[i]) {
        if (!call_ok(*s.r->router)) die(fmt::format("a warm-up call of case {} failed (is nginx on port {}?)", cases[i].name, o.port));
      }
    }
  }
  const RedisBackground background = measure_background(client, 2000ms);
  std::vector<CaseResult> results(cases.size());
  for (int round = 0; round < o.rounds; ++round) {
    for (size_t i = 0; i < cases.size(); ++i) {
      const CaseRound cr = measure_case(o, sides[i], client);
      results[i].c = &cases[i];
      for (int s = 0; s < 2; ++s) results[i].rounds[s].push_back(figures_of(cr, s, background));
    }
  }
  for (size_t i = 0; i < cases.size(); ++i) {
    CaseResult& r = results[i];
    for (int s = 0; s < 2; ++s) r.med[s] = median_figures(r.rounds[s]);
    r.add_p50 = median_difference(r, &SideFigures::p50);
    r.add_p99 = median_difference(r, &SideFigures::p99);
    r.add_process_cpu = median_difference(r, &SideFigures::process_cpu);
    r.add_hot_cpu = median_difference(r, &SideFigures::hot_cpu);
    r.add_total_cpu = median_difference_of(r, [](const SideFigures& f) { return f.hot_cpu + f.link_cpu; });
    r.add_redis_cpu = median_difference(r, &SideFigures::redis_cpu);
    r.add_commands = median_difference(r, &SideFigures::redis_commands);
    r.meets_budget = r.add_hot_cpu <= kHotPathBudgetUs && r.add_p50 <= kHotPathBudgetUs;
    if (cases[i].near_rpm > 0 && r.med[1].redis_evals < 0.9) {
      std::printf("WARNING: case %s made %.2f reservations per call (expected 1): not near the limit?\n",
                  cases[i].name.c_str(), r.med[1].redis_evals);
    }
  }

  // Report.
  for (const CaseResult& r : results) {
    const SideFigures& b = r.med[0];
    const SideFigures& x = r.med[1];
    std::printf("\n-- %s: %s --\n", r.c->name.c_str(), r.c->what.c_str());
    std::printf("%-40s %12s %12s %12s %8s\n", "figure (per call)", "no Redis", "Redis", "added", "ratio");
    struct Row {
      const char* what;
      double base, redis, added;
    };
    const Row rows[] = {
        {"latency p50 (us)", b.p50, x.p50, r.add_p50},
        {"latency p90 (us)", b.p90, x.p90, x.p90 - b.p90},
        {"latency p99 (us)", b.p99, x.p99, r.add_p99},
        {"latency mean (us)", b.mean, x.mean, x.mean - b.mean},
        {"CPU, getrusage, this process (us)", b.process_cpu, x.process_cpu, r.add_process_cpu},
        {"CPU, hot path: caller + I/O thread (us)", b.hot_cpu, x.hot_cpu, r.add_hot_cpu},
        {"CPU, Redis link thread (us)", b.link_cpu, x.link_cpu, x.link_cpu - b.link_cpu},
        {"CPU, hot path + link thread (us)", b.hot_cpu + b.link_cpu, x.hot_cpu + x.link_cpu, r.add_total_cpu},
        {"CPU, redis-server (us)", b.redis_cpu, x.redis_cpu, r.add_redis_cpu},
        {"Redis commands run (Lua's included)", b.redis_commands, x.redis_commands, r.add_commands},
    };
    for (const Row& row : rows) {
      std::printf("%-40s %12.2f %12.2f %+12.2f %8.3f\n", row.what, row.base, row.redis, row.added,
                  row.base > 0 ? row.redis / row.base : 0.0);
    }
    std::printf("hot path added: %.2f us CPU, %.2f us p50 (budget %.0f us) -> %s\n", r.add_hot_cpu, r.add_p50,
                kHotPathBudgetUs, r.meets_budget ? "within budget" : "OVER BUDGET");
  }
  std::printf("(added = median over rounds of the per-round difference; redis-server's CPU and commands over each "
              "round, less its background measured idle, per call of the Redis side)\n");
  std::fflush(stdout);
  return results;
}

void json_side(json::Writer& w, const SideFigures& f) {
  w.begin_object()
      .member("latency_p50_us", f.p50)
      .member("latency_p90_us", f.p90)
      .member("latency_p99_us", f.p99)
      .member("latency_mean_us", f.mean)
      .member("cpu_us_getrusage", f.process_cpu)
      .member("cpu_us_hot_path", f.hot_cpu)
      .member("cpu_us_link_thread", f.link_cpu)
      .member("cpu_us_redis_server", f.redis_cpu)
      .member("redis_commands", f.redis_commands)
      .member("redis_evals", f.redis_evals)
      .end_object();
}

void json_overhead(json::Writer& w, const std::vector<CaseResult>& results) {
  w.begin_array();
  for (const CaseResult& r : results) {
    w.begin_object().member("case", r.c->name).member("what", r.c->what);
    w.key("without_redis");
    json_side(w, r.med[0]);
    w.key("with_redis");
    json_side(w, r.med[1]);
    w.key("added")
        .begin_object()
        .member("latency_p50_us", r.add_p50)
        .member("latency_p99_us", r.add_p99)
        .member("cpu_us_getrusage", r.add_process_cpu)
        .member("cpu_us_hot_path", r.add_hot_cpu)
        .member("cpu_us_hot_path_and_link", r.add_total_cpu)
        .member("cpu_us_redis_server", r.add_redis_cpu)
        .member("redis_commands", r.add_commands)
        .end_object();
    w.key("ratio")
        .begin_object()
        .member("latency_p50", r.med[0].p50 > 0 ? r.med[1].p50 / r.med[0].p50 : 0.0)
        .member("latency_p99", r.med[0].p99 > 0 ? r.med[1].p99 / r.med[0].p99 : 0.0)
        .member("cpu_getrusage", r.med[0].process_cpu > 0 ? r.med[1].process_cpu / r.med[0].process_cpu : 0.0)
        .end_object();
    w.member("hot_path_budget_us", kHotPathBudgetUs).member("within_budget", r.meets_budget);
    w.key("rounds").begin_array();
    for (size_t i = 0; i < r.rounds[0].size(); ++i) {
      w.begin_object().key("without_redis");
      json_side(w, r.rounds[0][i]);
      w.key("with_redis");
      json_side(w, r.rounds[1][i]);
      w.end_object();
    }
    w.end_array().end_object();
  }
  w.end_array();
}

// One side of one case alone (profiling).
int run_only(const Options& o) {
  const auto parts = split(o.only, ':');
  const OverheadCase* c = nullptr;
  for (const auto& k : overhead_cases()) {
    if (parts.size() == 2 && k.name == parts[0]) c = &k;
  }
  if (c == nullptr || (parts[1] != "redis" && parts[1] != "plain")) {
    die("--only=CASE:SIDE with CASE common, limits-far, limits-near, least-busy or latency-based and SIDE plain or "
        "redis");
  }
  std::unique_ptr<testing::RedisServer> redis;
  const bool with_redis = parts[1] == "redis";
  if (with_redis) {
    redis = std::make_unique<testing::RedisServer>();
    testing::RedisClient client(*redis);
    if (c->near_rpm > 0) seed_near_limit(client, *c);
  }
  Side side = make_side(overhead_config(o, *c, with_redis ? redis->port() : 0), with_redis);
  for (int i = 0; i < o.warmup; ++i) {
    if (!call_ok(*side.r->router)) die("a warm-up call failed");
  }
  std::vector<int64_t> ns;
  const double cpu0 = process_cpu_seconds();
  const double caller0 = caller_cpu_seconds(), io0 = thread_cpu_seconds(side.io_thread);
  const double link0 = side.link_thread ? thread_cpu_seconds(side.link_thread) : 0;
  for (int i = 0; i < o.requests; ++i) {
    const auto t0 = Clock::now();
    if (!call_ok(*side.r->router)) die("a call failed");
    ns.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count());
  }
  const double cpu = process_cpu_seconds() - cpu0;
  const double per_call = 1e6 / o.requests;
  std::printf("%s alone: %d sequential calls, latency p50 %.2f us, p99 %.2f us, CPU per call %.2f us "
              "(caller %.2f, I/O thread %.2f, Redis link thread %.2f)\n",
              o.only.c_str(), o.requests, percentile_us(ns, 0.5), percentile_us(ns, 0.99), cpu * per_call,
              (caller_cpu_seconds() - caller0) * per_call, (thread_cpu_seconds(side.io_thread) - io0) * per_call,
              side.link_thread ? (thread_cpu_seconds(side.link_thread) - link0) * per_call : 0.0);
  return 0;
}

// ================================================================================
// Part 2: cooldown propagation between two processes
// ================================================================================

constexpr std::string_view kRawChannel = "llmux:bench:raw";

std::string propagation_config(int trials, int redis_port, const std::string& bad_url, const std::string& good_url) {
  std::string yaml = "model_list:\n";
  for (int k = 0; k < trials; ++k) {
    for (const auto& [id, url, order] : {std::tuple{"bad", bad_url, 1}, std::tuple{"good", good_url, 2}}) {
      yaml += fmt::format(
          "  - model_name: g{0}\n    litellm_params:\n      model: openai/m\n      api_base: {1}\n      api_key: {2}\n"
          "      order: {3}\n    model_info:\n      id: {4}-{0}\n",
          k, url, kApiKey, order, id);
    }
  }
  // A long cooldown: each trial's deployment stays cooled; the default
  // redis_sync_interval (the periodic re-read races the announcement).
  return yaml + "router_settings:\n  cooldown_time: 600\n  num_retries: 1\n" + redis_yaml(redis_port);
}

// Child: builds the same fleet, then watches the deployment of each trial it
// is told of, and a raw pub/sub channel.
int run_watcher(const Options& o) {
  auto r = make_router(propagation_config(o.trials, o.redis_port, o.bad_url, o.good_url));
  wait_link_up(*r, "watcher");
  std::mutex out_mu;
  auto say = [&](const std::string& line) {
    std::lock_guard<std::mutex> lock(out_mu);
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
  };
  // The raw baseline: a plain hiredis subscriber, stamping each message.
  redisContext* sub = redisConnect("127.0.0.1", o.redis_port);
  if (sub == nullptr || sub->err != 0) die("watcher: cannot connect the raw subscriber");
  auto* reply = static_cast<redisReply*>(redisCommand(sub, "SUBSCRIBE %s", std::string(kRawChannel).c_str()));
  if (reply == nullptr) die("watcher: SUBSCRIBE failed");
  freeReplyObject(reply);
  std::thread raw([&] {
    void* p = nullptr;
    while (redisGetReply(sub, &p) == REDIS_OK && p != nullptr) {
      const int64_t at = wall_ns();
      auto* m = static_cast<redisReply*>(p);
      if (m->type == REDIS_REPLY_ARRAY && m->elements == 3 && m->element[2]->type == REDIS_REPLY_STRING) {
        say(fmt::format("raw {} {}", std::string_view(m->element[2]->str, m->element[2]->len), at));
      }
      freeReplyObject(m);
    }
  });
  say("ready");
  std::string line;
  while (std::getline(std::cin, line)) {
    const auto words = split(line, ' ');
    if (words.size() != 2 || words[0] != "watch") continue;
    const std::string group = "g" + words[1];
    const std::string id = "bad-" + words[1];
    say("watching " + words[1]);
    const auto end = Clock::now() + 5s;
    int polls = 0;
    bool seen = false;
    while (Clock::now() < end && !seen) {
      ++polls;
      for (const DeploymentHealth& h : r->router->health(group)) {
        if (h.id == id && h.state == "cooling_down") seen = true;
      }
      if (!seen) std::this_thread::sleep_for(100us);
    }
    say(seen ? fmt::format("seen {} {} {}", words[1], wall_ns(), polls) : fmt::format("timeout {}", words[1]));
  }
  // End of input: stop the raw subscriber and leave.
  shutdown(sub->fd, SHUT_RDWR);
  raw.join();
  redisFree(sub);
  return 0;
}

struct PropagationResult {
  std::vector<double> llmux_ms, raw_ms;
  int timeouts = 0;
  double p50 = 0, p99 = 0, max = 0, raw_p50 = 0, raw_p99 = 0;
};

PropagationResult run_propagation(const Options& o, testing::RedisServer& redis) {
  std::printf("\n== cooldown propagation between two processes (%d trials, one redis-server, same host) ==\n",
              o.trials);
  std::fflush(stdout);
  testing::FakeProvider bad, good;
  bad.set_default(testing::Behavior::rate_limited());
  const int trials = o.trials;
  std::vector<std::atomic<int64_t>> cooled_at(static_cast<size_t>(trials));
  auto cooler = make_router(propagation_config(trials, redis.port(), bad.base_url(), good.base_url()),
                            [&](const RouterEvent& e) {
                              if (e.type != RouterEventType::kCooldown) return;
                              const int64_t at = wall_ns();
                              const std::string_view id = e.deployment_id;
                              if (id.substr(0, 4) != "bad-") return;
                              int k = 0;
                              std::from_chars(id.data() + 4, id.data() + id.size(), k);
                              if (k >= 0 && k < trials) cooled_at[static_cast<size_t>(k)].store(at);
                            });
  wait_link_up(*cooler, "cooler");
  testing::ChildProcess watcher(testing::ChildProcess::kSelf,
                                {"--child=watcher", fmt::format("--redis-port={}", redis.port()),
                                 fmt::format("--trials={}", trials), "--bad-url=" + bad.base_url(),
                                 "--good-url=" + good.base_url()});
  auto expect = [&](std::string_view prefix, std::chrono::milliseconds timeout) {
    for (;;) {
      auto line = watcher.read_line(timeout);
      if (!line) die(fmt::format("the watcher said nothing (expected '{}')", prefix));
      if (line->rfind(prefix, 0) == 0) return *line;
      if (line->rfind("timeout", 0) == 0 && prefix == "seen") return *line;
    }
  };
  expect("ready", 30000ms);
  testing::RedisClient client(redis);
  PropagationResult res;
  for (int k = 0; k < trials; ++k) {
    // The raw floor first: a PUBLISH stamped just before it is sent.
    const int64_t raw_sent = wall_ns();
    client.publish(std::string(kRawChannel), fmt::format("{} {}", k, raw_sent));
    {
      const auto words = split(expect("raw", 5000ms), ' ');
      if (words.size() == 4) res.raw_ms.push_back(static_cast<double>(std::stoll(words[3]) - std::stoll(words[2])) / 1e6);
    }
    // Then a cooldown: the watcher polls before the cooler's call goes out.
    watcher.send(fmt::format("watch {}", k));
    expect("watching", 5000ms);
    auto r = cooler->router->completion(
        fmt::format(R"({{"model":"g{}","messages":[{{"role":"user","content":"trial {}"}}]}})", k, k));
    if (!r.ok() || r->metadata.deployment_id != fmt::format("good-{}", k)) {
      die(fmt::format("trial {}: the cooler's call was not served by good-{}: {}", k, k,
                      r.ok() ? r->metadata.deployment_id : r.error().to_string()));
    }
    const std::string line = expect("seen", 10000ms);
    const auto words = split(line, ' ');
    const int64_t t0 = cooled_at[static_cast<size_t>(k)].load();
    if (words[0] == "timeout" || t0 == 0) {
      res.timeouts++;
      continue;
    }
    res.llmux_ms.push_back(static_cast<double>(std::stoll(words[2]) - t0) / 1e6);
  }
  watcher.finish();
  res.p50 = percentile(res.llmux_ms, 0.5);
  res.p99 = percentile(res.llmux_ms, 0.99);
  res.max = percentile(res.llmux_ms, 1.0);
  res.raw_p50 = percentile(res.raw_ms, 0.5);
  res.raw_p99 = percentile(res.raw_ms, 0.99);
  std::printf("%-44s %10s %10s %10s\n", "figure (ms)", "p50", "p99", "max");
  std::printf("%-44s %10.3f %10.3f %10.3f\n", "llmux cooldown, cooler -> watcher's health()", res.p50, res.p99, res.max);
  std::printf("%-44s %10.3f %10.3f %10.3f\n", "baseline: raw PUBLISH -> hiredis subscriber", res.raw_p50, res.raw_p99,
              percentile(res.raw_ms, 1.0));
  std::printf("ratio to the raw pub/sub hop: p50 %.2f, p99 %.2f; %zu samples, %d not seen within 5 s\n",
              res.raw_p50 > 0 ? res.p50 / res.raw_p50 : 0.0, res.raw_p99 > 0 ? res.p99 / res.raw_p99 : 0.0,
              res.llmux_ms.size(), res.timeouts);
  std::printf("p99 %.3f ms vs the %.0f ms target (ratio %.4f) -> %s   (the watcher polls every ~0.1 ms)\n", res.p99,
              kPropagationBudgetMs, res.p99 / kPropagationBudgetMs,
              res.timeouts == 0 && res.p99 < kPropagationBudgetMs ? "within target" : "OVER TARGET");
  std::fflush(stdout);
  return res;
}

// ================================================================================
// Part 3: fleet-wide rpm accuracy under load
// ================================================================================

std::string rpm_config(const std::vector<int64_t>& limits, const std::vector<std::string>& limited_urls,
                       const std::string& spare_url, int redis_port) {
  std::string yaml = "model_list:\n";
  for (size_t i = 0; i < limits.size(); ++i) {
    const int64_t n = limits[i];
    yaml += fmt::format(
        "  - model_name: rpm-{0}\n    litellm_params:\n      model: openai/m\n      api_base: {1}\n      api_key: {2}\n"
        "      rpm: {0}\n      order: 1\n    model_info:\n      id: limited-{0}\n"
        "  - model_name: rpm-{0}\n    litellm_params:\n      model: openai/m\n      api_base: {3}\n      api_key: {2}\n"
        "      order: 2\n    model_info:\n      id: spare-{0}\n",
        n, limited_urls.at(i), kApiKey, spare_url);
  }
  return yaml + "router_settings:\n  enable_pre_call_checks: true\n  num_retries: 0\n" + redis_yaml(redis_port);
}

// Child: a replica sending calls at a fixed rate to every limited group
// between the two wall-clock instants it is given.
int run_hammer(const Options& o) {
  auto r = make_router(rpm_config(o.rpm_limits, o.limited_urls, o.spare_url, o.redis_port));
  wait_link_up(*r, "hammer");
  std::printf("ready\n");
  std::fflush(stdout);
  std::string line;
  if (!std::getline(std::cin, line)) return 0;
  const auto words = split(line, ' ');
  if (words.size() != 3 || words[0] != "go") die("hammer: expected 'go START END'");
  const int64_t start = std::stoll(words[1]), end = std::stoll(words[2]);
  struct Counts {
    std::atomic<int64_t> limited{0}, spare{0}, failed{0}, issued{0}, in_flight{0}, skipped{0};
  };
  std::vector<Counts> counts(o.rpm_limits.size());
  std::vector<std::string> limited_ids;  // outlive every callback
  for (int64_t n : o.rpm_limits) limited_ids.push_back(fmt::format("limited-{}", n));
  std::vector<std::thread> senders;
  for (size_t i = 0; i < o.rpm_limits.size(); ++i) {
    senders.emplace_back([&, i] {
      Counts& c = counts[i];
      const std::string& limited_id = limited_ids[i];
      const std::string body =
          fmt::format(R"({{"model":"rpm-{}","messages":[{{"role":"user","content":"hello"}}]}})", o.rpm_limits[i]);
      const int64_t period = 1000000000LL / o.rpm_rate;
      // Processes and groups start at staggered offsets within one period.
      int64_t next = start + static_cast<int64_t>(i) * period / static_cast<int64_t>(o.rpm_limits.size());
      for (; next < end; next += period) {
        sleep_until_wall(next);
        if (c.in_flight.load() >= 64) {
          c.skipped++;
          continue;
        }
        c.in_flight++;
        c.issued++;
        r->router->completion_async(body, [&c, &limited_id](Result<Response> res) {
          if (!res.ok()) c.failed++;
          else if (res->metadata.deployment_id == limited_id) c.limited++;
          else c.spare++;
          c.in_flight--;
        });
      }
    });
  }
  for (auto& t : senders) t.join();
  const auto drained_by = Clock::now() + 30s;
  for (auto& c : counts) {
    while (c.in_flight.load() > 0 && Clock::now() < drained_by) std::this_thread::sleep_for(1ms);
  }
  for (size_t i = 0; i < counts.size(); ++i) {
    const Counts& c = counts[i];
    std::printf("result %lld %lld %lld %lld %lld %lld\n", static_cast<long long>(o.rpm_limits[i]),
                static_cast<long long>(c.issued.load()), static_cast<long long>(c.limited.load()),
                static_cast<long long>(c.spare.load()), static_cast<long long>(c.failed.load()),
                static_cast<long long>(c.skipped.load()));
  }
  std::printf("done\n");
  std::fflush(stdout);
  std::string rest;
  while (std::getline(std::cin, rest)) {
  }
  return 0;
}

struct RpmRow {
  int64_t limit = 0;
  int64_t admitted = 0;      // requests the limited deployment's server received
  int64_t redis_count = -1;  // the usage key at the end of the minute
  int64_t issued = 0, replicas_limited = 0, spare = 0, failed = 0, skipped = 0;
  int64_t margin = 0;
};

struct RpmResult {
  std::vector<RpmRow> rows;
  double window_seconds = 0;
  std::string minute;
};

RpmResult run_rpm(const Options& o, testing::RedisServer& redis) {
  std::printf("\n== fleet-wide rpm accuracy: %d processes, %d calls/s each per limited group, limits %s ==\n",
              o.rpm_processes, o.rpm_rate, fmt::format("{}", fmt::join(o.rpm_limits, ", ")).c_str());
  std::fflush(stdout);
  std::vector<std::unique_ptr<testing::FakeProvider>> limited;
  std::vector<std::string> urls;
  for (size_t i = 0; i < o.rpm_limits.size(); ++i) {
    limited.push_back(std::make_unique<testing::FakeProvider>());
    urls.push_back(limited.back()->base_url());
  }
  testing::FakeProvider spare;
  std::vector<std::unique_ptr<testing::ChildProcess>> hammers;
  for (int p = 0; p < o.rpm_processes; ++p) {
    std::vector<std::string> args = {"--child=hammer", fmt::format("--redis-port={}", redis.port()),
                                     fmt::format("--rpm-limits={}", fmt::join(o.rpm_limits, ",")),
                                     fmt::format("--limited-urls={}", fmt::join(urls, ",")),
                                     "--spare-url=" + spare.base_url(), fmt::format("--rpm-rate={}", o.rpm_rate)};
    hammers.push_back(std::make_unique<testing::ChildProcess>(testing::ChildProcess::kSelf, args));
  }
  for (auto& h : hammers) {
    auto line = h->read_line(30000ms);
    if (!line || *line != "ready") die("a hammer process did not start");
  }
  // The window: a whole UTC minute (or --rpm-seconds inside one), with
  // margins so that no call straddles two minutes.
  const int64_t minute_ns = 60'000'000'000LL;
  const int64_t now = wall_ns();
  int64_t start = 0, end = 0;
  if (o.rpm_seconds == 0) {
    start = (now / minute_ns + 1) * minute_ns + 300'000'000;
    end = start - 300'000'000 + minute_ns - 700'000'000;
  } else {
    start = now + 500'000'000;
    end = start + int64_t{o.rpm_seconds} * 1'000'000'000;
    if (start / minute_ns != (end + 700'000'000) / minute_ns) {
      start = (now / minute_ns + 1) * minute_ns + 300'000'000;
      end = start + int64_t{o.rpm_seconds} * 1'000'000'000;
    }
  }
  std::printf("window: %.1f s of one UTC minute, starting in %.1f s\n", static_cast<double>(end - start) / 1e9,
              static_cast<double>(start - now) / 1e9);
  std::fflush(stdout);
  for (auto& h : hammers) h->send(fmt::format("go {} {}", start, end));
  RpmResult res;
  res.window_seconds = static_cast<double>(end - start) / 1e9;
  res.minute = state::utc_minute_tag(WallClock::time_point(std::chrono::duration_cast<WallClock::duration>(
      std::chrono::nanoseconds(start))));
  std::map<int64_t, RpmRow> rows;
  const auto wait = std::chrono::milliseconds((end - now) / 1'000'000 + 60'000);
  for (auto& h : hammers) {
    for (;;) {
      auto line = h->read_line(wait);
      if (!line) die("a hammer process stopped answering");
      if (*line == "done") break;
      std::istringstream in(*line);
      std::string word;
      long long n = 0, issued = 0, lim = 0, sp = 0, failed = 0, skipped = 0;
      in >> word >> n >> issued >> lim >> sp >> failed >> skipped;
      if (word != "result") continue;
      RpmRow& row = rows[n];
      row.limit = n;
      row.issued += issued;
      row.replicas_limited += lim;
      row.spare += sp;
      row.failed += failed;
      row.skipped += skipped;
    }
  }
  testing::RedisClient client(redis);
  const state::SharedKeys keys;
  for (size_t i = 0; i < o.rpm_limits.size(); ++i) {
    RpmRow& row = rows[o.rpm_limits[i]];
    row.admitted = static_cast<int64_t>(limited[i]->request_count());
    row.margin = std::max<int64_t>(10, row.limit / 5);
    auto v = client.get(keys.usage_v2(fmt::format("limited-{}", row.limit), "openai/m", state::UsageCounter::kRpm, res.minute));
    row.redis_count = v ? static_cast<int64_t>(std::strtod(v->c_str(), nullptr)) : -1;
    res.rows.push_back(row);
  }
  for (auto& h : hammers) h->finish();

  std::printf("minute %s (UTC), %.1f s of traffic\n", res.minute.c_str(), res.window_seconds);
  std::printf("%8s %10s %10s %10s %10s %12s %10s %8s %8s\n", "limit N", "calls", "admitted", "ratio", "overshoot",
              "Redis count", "spare", "failed", "margin");
  bool all_exact = true;
  for (const RpmRow& row : res.rows) {
    std::printf("%8lld %10lld %10lld %10.4f %+10lld %12lld %10lld %8lld %8lld\n", static_cast<long long>(row.limit),
                static_cast<long long>(row.issued), static_cast<long long>(row.admitted),
                static_cast<double>(row.admitted) / static_cast<double>(row.limit),
                static_cast<long long>(row.admitted - row.limit), static_cast<long long>(row.redis_count),
                static_cast<long long>(row.spare), static_cast<long long>(row.failed),
                static_cast<long long>(row.margin));
    all_exact = all_exact && row.admitted == row.limit;
    if (row.replicas_limited != row.admitted) {
      std::printf("note: N=%lld: the replicas counted %lld answers from the limited deployment, its server %lld\n",
                  static_cast<long long>(row.limit), static_cast<long long>(row.replicas_limited),
                  static_cast<long long>(row.admitted));
    }
    if (row.skipped > 0) {
      std::printf("note: N=%lld: %lld calls not sent (64 already in flight in a process)\n",
                  static_cast<long long>(row.limit), static_cast<long long>(row.skipped));
    }
  }
  std::printf("expected: admitted = N exactly (counted without waiting until max(10, N/5) below N, then one atomic "
              "reservation each) -> %s\n",
              all_exact ? "exact for every N" : "NOT EXACT");
  std::fflush(stdout);
  return res;
}

// ================================================================================

int run_parent(const Options& o) {
  const bool overhead = o.part == "all" || o.part == "overhead";
  if (overhead && o.port <= 0) die("--port is required for the overhead part (run benchmarks/e2e/run_on_nginx.sh)");
  if (!testing::redis_server_available()) die(std::string(testing::kRedisServerPath) + " is not installed");
  std::printf("llmux fleet benchmark: Routers sharing state through a redis-server started here (loopback)\n");
  std::vector<CaseResult> overhead_results;
  PropagationResult propagation;
  RpmResult rpm;
  {
    testing::RedisServer redis;
    if (overhead) overhead_results = run_overhead(o, redis);
  }
  if (o.part == "all" || o.part == "propagation") {
    testing::RedisServer redis;
    propagation = run_propagation(o, redis);
  }
  if (o.part == "all" || o.part == "rpm") {
    testing::RedisServer redis;
    rpm = run_rpm(o, redis);
  }
  if (o.json_path.empty()) return 0;
  std::string text;
  json::Writer w(text);
  w.begin_object().member("benchmark", "llmux_fleet");
  w.key("config")
      .begin_object()
      .member("requests", o.requests)
      .member("warmup", o.warmup)
      .member("block", o.block)
      .member("rounds", o.rounds)
      .member("trials", o.trials)
      .member("rpm_rate_per_process", o.rpm_rate)
      .member("rpm_processes", o.rpm_processes)
      .end_object();
  if (overhead) {
    w.key("overhead");
    json_overhead(w, overhead_results);
  }
  if (o.part == "all" || o.part == "propagation") {
    w.key("propagation")
        .begin_object()
        .member("samples", static_cast<int64_t>(propagation.llmux_ms.size()))
        .member("timeouts", propagation.timeouts)
        .member("p50_ms", propagation.p50)
        .member("p99_ms", propagation.p99)
        .member("max_ms", propagation.max)
        .member("baseline_raw_pubsub_p50_ms", propagation.raw_p50)
        .member("baseline_raw_pubsub_p99_ms", propagation.raw_p99)
        .member("ratio_p99_to_raw", propagation.raw_p99 > 0 ? propagation.p99 / propagation.raw_p99 : 0.0)
        .member("target_p99_ms", kPropagationBudgetMs)
        .member("within_target", propagation.timeouts == 0 && propagation.p99 < kPropagationBudgetMs);
    w.key("samples_ms").begin_array();
    for (double v : propagation.llmux_ms) w.number(v);
    w.end_array().end_object();
  }
  if (o.part == "all" || o.part == "rpm") {
    w.key("rpm").begin_object().member("minute_utc", rpm.minute).member("window_seconds", rpm.window_seconds);
    w.key("limits").begin_array();
    for (const RpmRow& row : rpm.rows) {
      w.begin_object()
          .member("limit", row.limit)
          .member("admitted", row.admitted)
          .member("ratio", static_cast<double>(row.admitted) / static_cast<double>(row.limit))
          .member("overshoot", row.admitted - row.limit)
          .member("redis_count", row.redis_count)
          .member("calls", row.issued)
          .member("spare", row.spare)
          .member("failed", row.failed)
          .member("not_sent", row.skipped)
          .member("margin", row.margin)
          .member("exact", row.admitted == row.limit)
          .end_object();
    }
    w.end_array().end_object();
  }
  w.end_object();
  std::FILE* out = std::fopen(o.json_path.c_str(), "w");
  if (out == nullptr) die("cannot write " + o.json_path);
  std::fputs(text.c_str(), out);
  std::fputc('\n', out);
  std::fclose(out);
  std::printf("\nresults written to %s\n", o.json_path.c_str());
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
  if (o.child == "watcher") return llmux::bench::run_watcher(o);
  if (o.child == "hammer") return llmux::bench::run_hammer(o);
  if (!o.child.empty()) llmux::bench::die("unknown --child");
  if (!o.only.empty()) return llmux::bench::run_only(o);
  return llmux::bench::run_parent(o);
}
