// llmux demo: two GPU servers serving one model plus a smaller fallback model,
// all local OpenAI-compatible backends on loopback. Traffic flows, one server
// breaks, then the other; calls move to the healthy server and then to the
// fallback group — and no user call fails. Offline, ~5 seconds.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "llmux/router.hpp"
#include "support/fake_provider.hpp"

using llmux::testing::Behavior;
using llmux::testing::FakeProvider;
using Clock = std::chrono::steady_clock;

namespace {

// A backend whose health the demo flips at run time.
struct Backend {
  std::string name;
  FakeProvider server;
  std::atomic<int> failure_status{0};  // 0 = healthy
  explicit Backend(std::string n) : name(std::move(n)) {
    server.set_handler([this](const llmux::testing::ReceivedRequest&) {
      const int status = failure_status.load();
      if (status != 0) return Behavior::error(status, name + " is down (GPU fault)", "server_error");
      Behavior ok = Behavior::ok("Hello from " + name);
      ok.delay = std::chrono::milliseconds(15);
      return ok;
    });
  }
};

struct PhaseStats {
  std::string title;
  int calls = 0;
  int failed = 0;
  std::map<std::string, int> served;  // deployment id → calls
  int retried_calls = 0;
  int fallback_calls = 0;
  std::vector<double> latencies_ms;
};

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(p * static_cast<double>(v.size() - 1))];
}

// "gpu-a ok, gpu-b cooling 2.9s" — the router's own view of its deployments.
std::string health_line(llmux::Router& router) {
  std::string out;
  for (const auto& h : router.health("qwen3-14b")) {
    if (!out.empty()) out += ", ";
    if (h.healthy) {
      out += fmt::format("{} ok", h.id);
    } else if (h.state == "cooling_down") {
      out += fmt::format("{} cooling {:.1f}s", h.id, h.cooldown_remaining_seconds);
    } else {
      out += fmt::format("{} {}", h.id, h.state);  // half_open / probing: one probe call decides
    }
  }
  return out;
}

std::string spread_line(const PhaseStats& s) {
  return fmt::format("gpu-a {:>3} | gpu-b {:>3} | fallback {:>3} | retried {:>3} | failed {:>2}",
                     s.served.count("gpu-a") ? s.served.at("gpu-a") : 0,
                     s.served.count("gpu-b") ? s.served.at("gpu-b") : 0,
                     s.served.count("small-1") ? s.served.at("small-1") : 0, s.retried_calls, s.failed);
}

void print_health(llmux::Router& router) {
  for (const auto& h : router.health()) {
    if (h.healthy) {
      fmt::print("      {:<8} {:<10} healthy\n", h.id, h.model_group);
    } else if (h.state != "cooling_down") {
      fmt::print("      {:<8} {:<10} {} (cooldown over; the next call probes it)\n", h.id, h.model_group, h.state);
    } else {
      fmt::print("      {:<8} {:<10} COOLING DOWN {:.1f}s left  ({})\n", h.id, h.model_group,
                 h.cooldown_remaining_seconds, h.reason.substr(0, 60));
    }
  }
}

// Sends `n` calls, `concurrency` at a time, printing the spread as it goes.
PhaseStats run_phase(llmux::Router& router, const std::string& title, int n, int concurrency) {
  PhaseStats stats;
  stats.title = title;
  std::mutex mu;
  std::atomic<int> next{0};
  fmt::print("\n== {} ==\n", title);
  auto worker = [&] {
    for (int i = next++; i < n; i = next++) {
      const std::string req = fmt::format(
          R"({{"model":"qwen3-14b","messages":[{{"role":"user","content":"request {}: say hello"}}]}})", i);
      auto r = router.completion(req);
      std::lock_guard<std::mutex> lock(mu);
      stats.calls++;
      if (r.ok()) {
        stats.served[r->metadata.deployment_id]++;
        stats.latencies_ms.push_back(r->metadata.latency_ms);
        if (r->metadata.attempts > 1) stats.retried_calls++;
        if (r->metadata.fallbacks > 0) stats.fallback_calls++;
      } else {
        stats.failed++;
        fmt::print("   call {} FAILED: {}\n", i, r.error().to_string());
      }
      if (stats.calls % 10 == 0) {
        fmt::print("   [{:>3} calls] {}   ({})\n", stats.calls, spread_line(stats), health_line(router));
      }
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < concurrency; ++t) threads.emplace_back(worker);
  for (auto& t : threads) t.join();
  return stats;
}

}  // namespace

int main() {
  Backend gpu_a("gpu-a"), gpu_b("gpu-b"), small("small");
  const std::string config = fmt::format(R"(# Two GPU servers serve qwen3-14b; qwen3-7b is the fallback group.
model_list:
  - model_name: qwen3-14b
    litellm_params:
      model: openai/qwen3-14b
      api_base: {}
      api_key: demo-key
    model_info:
      id: gpu-a
  - model_name: qwen3-14b
    litellm_params:
      model: openai/qwen3-14b
      api_base: {}
      api_key: demo-key
    model_info:
      id: gpu-b
  - model_name: qwen3-7b
    litellm_params:
      model: openai/qwen3-7b
      api_base: {}
      api_key: demo-key
    model_info:
      id: small-1
router_settings:
  routing_strategy: simple-shuffle
  num_retries: 2
  cooldown_time: 3
  fallbacks:
    - qwen3-14b: [qwen3-7b]
)",
                                         gpu_a.server.base_url(), gpu_b.server.base_url(), small.server.base_url());
  fmt::print("llmux {} demo — three local OpenAI-compatible backends on 127.0.0.1\n\n{}\n", llmux::version(), config);

  llmux::RouterOptions options;
  options.random_seed = 2026;
  auto router_or = llmux::Router::from_config(config, options);
  if (!router_or.ok()) {
    fmt::print(stderr, "config rejected: {}\n", router_or.error().to_string());
    return 1;
  }
  llmux::Router& router = **router_or;

  std::vector<PhaseStats> phases;
  phases.push_back(run_phase(router, "1. all healthy: traffic spreads over gpu-a and gpu-b", 60, 4));
  print_health(router);

  gpu_a.failure_status = 500;
  phases.push_back(run_phase(router, "2. gpu-a starts failing (HTTP 500): calls move to gpu-b", 100, 4));
  print_health(router);

  gpu_b.failure_status = 503;
  phases.push_back(run_phase(router, "3. gpu-b fails too (HTTP 503): calls move to the qwen3-7b fallback", 60, 4));
  print_health(router);

  gpu_a.failure_status = 0;
  gpu_b.failure_status = 0;
  fmt::print("\n== both GPU servers repaired; waiting for their cooldowns (3 s) to expire ==\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(3200));
  print_health(router);  // half-open: recovery is observed through one probe call each, not assumed
  phases.push_back(run_phase(router, "4. recovered: probes succeed, traffic returns to gpu-a and gpu-b", 60, 4));
  print_health(router);

  int total_failed = 0, total_calls = 0;
  fmt::print("\n== summary ==\n");
  fmt::print("{:<62} {:>5} {:>6} {:>6} {:>8} {:>7} {:>6} {:>8}\n", "phase", "calls", "gpu-a", "gpu-b", "fallback",
             "retried", "failed", "p50 ms");
  for (const auto& p : phases) {
    auto count = [&](const char* id) { return p.served.count(id) ? p.served.at(id) : 0; };
    fmt::print("{:<62} {:>5} {:>6} {:>6} {:>8} {:>7} {:>6} {:>8.2f}\n", p.title.substr(0, 62), p.calls,
               count("gpu-a"), count("gpu-b"), count("small-1"), p.retried_calls, p.failed,
               percentile(p.latencies_ms, 0.5));
    total_failed += p.failed;
    total_calls += p.calls;
  }
  fmt::print("\nbackend requests received: gpu-a {}, gpu-b {}, qwen3-7b {}\n", gpu_a.server.request_count(),
             gpu_b.server.request_count(), small.server.request_count());
  fmt::print("user calls: {}, failed: {}\n", total_calls, total_failed);
  if (total_failed != 0) {
    fmt::print("DEMO FAILED: some user calls failed\n");
    return 1;
  }
  fmt::print("no user call failed: llmux retried, cooled down and fell back on its own.\n");
  return 0;
}
