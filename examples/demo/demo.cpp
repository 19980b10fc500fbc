// llmux demo, offline on loopback, in three acts.
// Act one: two GPU servers serving one model plus a smaller fallback model,
// all local OpenAI-compatible backends. Traffic flows, one server breaks, then
// the other; calls move to the healthy server and then to the fallback group.
// Act two: the seed pattern — a self-hosted vLLM with a hosted Anthropic
// fallback (a local server speaking Anthropic's Messages format). Prompts too
// long for vLLM's context window and a vLLM outage both land on the fallback,
// translated both ways. Act three: one open model on two clouds with
// cost-based routing — a "Vertex AI" (Google's OAuth token endpoint verifying
// a service-account JWT, then the OpenAI-compatible MaaS API) and a "Bedrock"
// (Converse, every request's SigV4 signature verified); the cheaper Vertex
// takes all traffic until it breaks, Bedrock takes over, Vertex returns after
// its (shortened) cooldown. Act four: a fleet — three replicas of one service,
// each its own process with its own Router (this program re-executed with
// --fleet-replica), sharing routing state through one redis-server the demo
// starts; a GPU server fails, one replica cools it down and the other two stop
// using it at once, then it recovers through exactly one probe for the whole
// fleet (skipped, and said so, when redis-server is not installed). In no act
// does a user call fail. ~30 seconds.
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <unistd.h>

#include <fmt/format.h>

#include "llmux/router.hpp"
#include "support/fake_anthropic.hpp"
#include "support/fake_bedrock.hpp"
#include "support/fake_google.hpp"
#include "support/child_process.hpp"
#include "support/fake_provider.hpp"
#include "support/redis_server.hpp"

using llmux::testing::AnthropicScript;
using llmux::testing::Behavior;
using llmux::testing::FakeProvider;
using llmux::testing::ReceivedRequest;
using Clock = std::chrono::steady_clock;

namespace {

// A backend whose health the demo flips at run time.
struct Backend {
  std::string name;
  FakeProvider server;
  std::atomic<int> failure_status{0};  // 0 = healthy
  explicit Backend(std::string n) : name(std::move(n)) {
    server.set_handler([this](const ReceivedRequest&) {
      const int status = failure_status.load();
      if (status != 0) return Behavior::error(status, name + " is down (GPU fault)", "server_error");
      Behavior ok = Behavior::ok("Hello from " + name);
      ok.delay = std::chrono::milliseconds(15);
      return ok;
    });
  }
};

// A self-hosted vLLM (OpenAI-compatible) with an 8k context window: a longer
// prompt gets vLLM's own 400 ("This model's maximum context length is ...").
struct VllmBackend {
  FakeProvider server;
  std::atomic<int> failure_status{0};  // 0 = healthy
  static constexpr size_t kMaxPromptBytes = 8192 * 4;  // ~4 bytes a token
  VllmBackend() {
    server.set_handler([this](const ReceivedRequest& r) {
      if (const int status = failure_status.load(); status != 0) {
        return Behavior::error(status, "vLLM engine is down (CUDA error: an illegal memory access)",
                               "InternalServerError");
      }
      if (r.body.size() > kMaxPromptBytes) {
        Behavior b;
        b.status = 400;
        b.body = fmt::format(
            R"({{"object":"error","message":"This model's maximum context length is 8192 tokens. However, you )"
            R"(requested {} tokens ({} in the messages, 1000 in the completion). Please reduce the length of the )"
            R"(messages or completion.","type":"BadRequestError","param":null,"code":400}})",
            r.body.size() / 4 + 1000, r.body.size() / 4);
        return b;
      }
      Behavior ok = Behavior::ok("Hello from vLLM (Llama-3.1-8B).");
      ok.delay = std::chrono::milliseconds(15);
      return ok;
    });
  }
};

// A hosted Anthropic Messages endpoint: checks x-api-key and anthropic-version,
// answers in Anthropic's own JSON (or SSE events when streaming).
struct AnthropicBackend {
  FakeProvider server;
  AnthropicBackend() {
    AnthropicScript script;
    script.text = "Hello from Claude (the hosted fallback).";
    script.model = "claude-3-5-sonnet-20241022";
    script.api_key = "demo-anthropic-key";
    server.set_handler([script](const ReceivedRequest& r) {
      Behavior b = llmux::testing::anthropic_answer(r, script);
      b.delay = std::chrono::milliseconds(30);  // a hosted API is farther away
      return b;
    });
  }
};

// One column of a phase table: calls served by deployment `id`.
struct Column {
  std::string label;
  std::string id;
};

struct PhaseStats {
  std::string title;
  int calls = 0;
  int failed = 0;
  std::map<std::string, int> served;  // deployment id → calls
  int retried_calls = 0;
  int fallback_calls = 0;
  std::vector<double> latencies_ms;
  int served_by(const std::string& id) const { return served.count(id) ? served.at(id) : 0; }
};

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(p * static_cast<double>(v.size() - 1))];
}

// "gpu-a ok, gpu-b cooling 2.9s" — the router's own view of a group.
std::string health_line(llmux::Router& router, const std::string& group) {
  std::string out;
  for (const auto& h : router.health(group)) {
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

std::string spread_line(const PhaseStats& s, const std::vector<Column>& columns) {
  std::string out;
  for (const auto& c : columns) out += fmt::format("{} {:>3} | ", c.label, s.served_by(c.id));
  return out + fmt::format("retried {:>3} | fell back {:>3} | failed {:>2}", s.retried_calls, s.fallback_calls, s.failed);
}

void print_health(llmux::Router& router) {
  for (const auto& h : router.health()) {
    if (h.healthy) {
      fmt::print("      {:<8} {:<24} healthy\n", h.id, h.model_group);
    } else if (h.state != "cooling_down") {
      fmt::print("      {:<8} {:<24} {} (cooldown over; the next call probes it)\n", h.id, h.model_group, h.state);
    } else {
      fmt::print("      {:<8} {:<24} COOLING DOWN {:.1f}s left  ({})\n", h.id, h.model_group,
                 h.cooldown_remaining_seconds, h.reason.substr(0, 60));
    }
  }
}

struct PhaseSpec {
  std::string title;
  int calls = 0;
  int concurrency = 4;
  std::function<std::string(int)> request;  // call number → request body
  std::string group;                        // the group whose health the progress lines show
  std::vector<Column> columns;
};

// Sends the calls, `concurrency` at a time, printing the spread as it goes.
PhaseStats run_phase(llmux::Router& router, const PhaseSpec& spec) {
  PhaseStats stats;
  stats.title = spec.title;
  std::mutex mu;
  std::atomic<int> next{0};
  fmt::print("\n== {} ==\n", spec.title);
  auto worker = [&] {
    for (int i = next++; i < spec.calls; i = next++) {
      auto r = router.completion(spec.request(i));
      std::lock_guard<std::mutex> lock(mu);
      stats.calls++;
      if (r.ok()) {
        stats.served[r->metadata.deployment_id]++;
        stats.latencies_ms.push_back(r->metadata.latency_ms);
        // Retried: another attempt in the same group (not just a move to a fallback group).
        if (r->metadata.attempts > 1 + r->metadata.fallbacks) stats.retried_calls++;
        if (r->metadata.fallbacks > 0) stats.fallback_calls++;
      } else {
        stats.failed++;
        fmt::print("   call {} FAILED: {}\n", i, r.error().to_string());
      }
      if (stats.calls % 10 == 0 || stats.calls == spec.calls) {
        fmt::print("   [{:>3} calls] {}   ({})\n", stats.calls, spread_line(stats, spec.columns),
                   health_line(router, spec.group));
      }
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < spec.concurrency; ++t) threads.emplace_back(worker);
  for (auto& t : threads) t.join();
  return stats;
}

// The phase table (each phase by its title up to the ':'); returns the number of failed calls.
int print_summary(const std::vector<PhaseStats>& phases, const std::vector<Column>& columns) {
  int failed = 0;
  fmt::print("\n== summary ==\n{:<36} {:>5}", "phase", "calls");
  for (const auto& c : columns) fmt::print(" {:>8}", c.label);
  fmt::print(" {:>7} {:>9} {:>6} {:>8}\n", "retried", "fell back", "failed", "p50 ms");
  for (const auto& p : phases) {
    fmt::print("{:<36} {:>5}", p.title.substr(0, std::min<size_t>(p.title.find(':'), 36)), p.calls);
    for (const auto& c : columns) fmt::print(" {:>8}", p.served_by(c.id));
    fmt::print(" {:>7} {:>9} {:>6} {:>8.2f}\n", p.retried_calls, p.fallback_calls, p.failed,
               percentile(p.latencies_ms, 0.5));
    failed += p.failed;
  }
  return failed;
}

std::unique_ptr<llmux::Router> make_router(const std::string& config) {
  llmux::RouterOptions options;
  options.random_seed = 2026;
  auto router_or = llmux::Router::from_config(config, options);
  if (!router_or.ok()) {
    fmt::print(stderr, "config rejected: {}\n", router_or.error().to_string());
    return nullptr;
  }
  return std::move(router_or).value();
}

// Act one; returns {user calls, failed calls}.
std::pair<int, int> act_one() {
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
  fmt::print("llmux {} demo\n\n#### Act one: three local OpenAI-compatible backends on 127.0.0.1\n\n{}\n",
             llmux::version(), config);
  auto router_ptr = make_router(config);
  if (!router_ptr) return {0, 1};
  llmux::Router& router = *router_ptr;

  const std::vector<Column> columns = {{"gpu-a", "gpu-a"}, {"gpu-b", "gpu-b"}, {"fallback", "small-1"}};
  auto phase = [&](std::string title, int n) {
    return PhaseSpec{std::move(title), n, 4,
                     [](int i) {
                       return fmt::format(
                           R"({{"model":"qwen3-14b","messages":[{{"role":"user","content":"request {}: say hello"}}]}})",
                           i);
                     },
                     "qwen3-14b", columns};
  };

  std::vector<PhaseStats> phases;
  phases.push_back(run_phase(router, phase("1. all healthy: traffic spreads over gpu-a and gpu-b", 60)));
  print_health(router);

  gpu_a.failure_status = 500;
  phases.push_back(run_phase(router, phase("2. gpu-a starts failing (HTTP 500): calls move to gpu-b", 100)));
  print_health(router);

  gpu_b.failure_status = 503;
  phases.push_back(run_phase(router, phase("3. gpu-b fails too (HTTP 503): calls move to the qwen3-7b fallback", 60)));
  print_health(router);

  gpu_a.failure_status = 0;
  gpu_b.failure_status = 0;
  fmt::print("\n== both GPU servers repaired; waiting for their cooldowns (3 s) to expire ==\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(3200));
  print_health(router);  // half-open: recovery is observed through one probe call each, not assumed
  phases.push_back(run_phase(router, phase("4. recovered: probes succeed, traffic returns to gpu-a and gpu-b", 60)));
  print_health(router);

  const int failed = print_summary(phases, columns);
  int calls = 0;
  for (const auto& p : phases) calls += p.calls;
  fmt::print("\nbackend requests received: gpu-a {}, gpu-b {}, qwen3-7b {}\n", gpu_a.server.request_count(),
             gpu_b.server.request_count(), small.server.request_count());
  return {calls, failed};
}

std::string clip(std::string_view s, size_t n) {
  return s.size() <= n ? std::string(s) : std::string(s.substr(0, n)) + "…";
}

// One request as the fallback's server saw it, and the answer as the user got it.
void print_translation(const std::string& user_request, const ReceivedRequest& sent, const std::string& user_body) {
  fmt::print("\n   one call in full. The user sent (OpenAI format):\n      {}\n", user_request);
  fmt::print("   llmux sent the fallback: {} {}  (x-api-key: {}, anthropic-version: {})\n", sent.method, sent.path,
             sent.header("x-api-key").empty() ? "missing" : "set", sent.header("anthropic-version"));
  fmt::print("      {}\n", sent.body);
  const bool lifted = sent.body.find(R"("system":)") != std::string::npos;
  const bool max_tokens = sent.body.find(R"("max_tokens":)") != std::string::npos;
  const bool dropped = sent.body.find(R"("seed":)") == std::string::npos;
  fmt::print("      (system prompt lifted out of messages: {}, max_tokens added: {}, seed dropped by drop_params: {})\n",
             lifted ? "yes" : "NO", max_tokens ? "yes" : "NO", dropped ? "yes" : "NO");
  fmt::print("   the user got back (OpenAI format):\n      {}\n", user_body);
}

// Act two; returns {user calls, failed calls}.
std::pair<int, int> act_two() {
  VllmBackend vllm;
  AnthropicBackend claude;
  // vllm-with-hosted-fallback.yaml (tests/fixtures/litellm), on loopback.
  const std::string config = fmt::format(R"(# Self-hosted vLLM first; on failure or context-window overflow, a hosted model takes over.
model_list:
  - model_name: production-llm
    litellm_params:
      model: openai/Meta-Llama-3.1-8B-Instruct
      api_base: {}
      api_key: dummy
    model_info:
      id: vllm-1
  - model_name: production-llm-fallback
    litellm_params:
      model: anthropic/claude-3-5-sonnet-20241022
      api_base: http://127.0.0.1:{}
      api_key: demo-anthropic-key
    model_info:
      id: claude-1
router_settings:
  fallbacks:
    - production-llm: [production-llm-fallback]
  context_window_fallbacks:
    - production-llm: [production-llm-fallback]
  num_retries: 2
  timeout: 30
litellm_settings:
  drop_params: true
)",
                                         vllm.server.base_url(), claude.server.port());
  fmt::print("\n\n#### Act two: a self-hosted vLLM with a hosted Anthropic fallback (Messages API), on 127.0.0.1\n\n{}\n",
             config);
  auto router_ptr = make_router(config);
  if (!router_ptr) return {0, 1};
  llmux::Router& router = *router_ptr;

  const std::vector<Column> columns = {{"vLLM", "vllm-1"}, {"Claude", "claude-1"}};
  const std::string long_document(40000, 'x');  // ~10k tokens: more than vLLM's 8k window
  auto chat = [](const std::string& content) {
    return fmt::format(R"({{"model":"production-llm","messages":[{{"role":"system","content":"You are terse."}},)"
                       R"({{"role":"user","content":"{}"}}],"temperature":0.2,"seed":7}})",
                       content);
  };
  auto short_call = [&](int i) { return chat(fmt::format("request {}: say hello", i)); };

  std::vector<PhaseStats> phases;
  phases.push_back(run_phase(router, {"5. normal traffic: vLLM serves every call", 40, 4, short_call,
                                      "production-llm", columns}));

  phases.push_back(run_phase(
      router, {"6. context-window overflow: one prompt in four is too long for vLLM's 8k", 40, 4,
               [&](int i) { return i % 4 == 3 ? chat(fmt::format("summarise {}: {}", i, long_document)) : short_call(i); },
               "production-llm", columns}));
  fmt::print("   vLLM answered the long prompts with its 400 \"maximum context length\": not retried, sent to the\n"
             "   context_window_fallbacks group; the short ones stayed on vLLM.\n");

  vllm.failure_status = 500;
  phases.push_back(run_phase(router, {"7. vLLM outage (HTTP 500): retried twice, then the Anthropic fallback", 12, 4,
                                      short_call, "production-llm", columns}));
  fmt::print("   LiteLLM's rules keep a group's only deployment in service on 5xx (no cooldown before 1,000 straight\n"
             "   failures), so each call tries vLLM and waits out the back-off of num_retries: 2 (0.5 s, then 1 s,\n"
             "   plus jitter) before it falls back; with num_retries: 0 it would fall back at once.\n");
  // Two more calls during the outage, shown in full: one plain, one streamed.
  int extra_calls = 0, failed_extra = 0;
  const std::string shown = short_call(999);
  auto one = router.completion(shown);
  extra_calls++;
  if (one.ok()) {
    print_translation(shown, claude.server.requests().back(), one->body);
  } else {
    failed_extra++;
    fmt::print("   call FAILED: {}\n", one.error().to_string());
  }
  // A stream whose vLLM attempt fails before the first token: the fallback's
  // Anthropic SSE events reach the user as OpenAI chat.completion.chunk events.
  std::mutex mu;
  std::condition_variable cv;
  int chunks = 0;
  std::string first_chunk;
  std::optional<llmux::Result<llmux::Response>> stream_done;
  router.stream(
      R"({"model":"production-llm","stream":true,"messages":[{"role":"user","content":"stream a hello"}]})",
      [&](std::string_view chunk) {
        std::lock_guard<std::mutex> lock(mu);
        if (chunks++ == 0) first_chunk = std::string(chunk);
        return true;
      },
      [&](llmux::Result<llmux::Response> r) {
        std::lock_guard<std::mutex> lock(mu);
        stream_done.emplace(std::move(r));
        cv.notify_all();
      });
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return stream_done.has_value(); });
  }
  extra_calls++;
  if (stream_done->ok()) {
    fmt::print("   a streamed call during the outage: {} chunks from {} ({}); the first one:\n      {}\n", chunks,
               (*stream_done)->metadata.model_group, (*stream_done)->metadata.provider, clip(first_chunk, 150));
  } else {
    failed_extra++;
    fmt::print("   the streamed call FAILED: {}\n", stream_done->error().to_string());
  }

  vllm.failure_status = 0;
  phases.push_back(run_phase(router, {"8. vLLM repaired: traffic is back on vLLM", 40, 4, short_call,
                                      "production-llm", columns}));
  print_health(router);

  const int failed = print_summary(phases, columns) + failed_extra;
  int calls = extra_calls;
  for (const auto& p : phases) calls += p.calls;
  fmt::print("\nbackend requests received: vLLM {}, Anthropic {}\n", vllm.server.request_count(),
             claude.server.request_count());
  return {calls, failed};
}

// "Vertex AI" on loopback: Google's token endpoint (checks the service-account
// JWT's RS256 signature) and the OpenAI-compatible MaaS endpoint, which
// answers only a bearer token the token endpoint issued.
struct VertexBackend {
  llmux::testing::FakeGoogle google;
  std::atomic<int> failure_status{0};  // 0 = healthy
  std::string key_path;
  VertexBackend() {
    google.set_model_handler([this](const ReceivedRequest& r) {
      if (!google.issued(r.header("authorization"))) {
        return Behavior::error(401, "Request had invalid authentication credentials.", "UNAUTHENTICATED");
      }
      if (const int status = failure_status.load(); status != 0) {
        return Behavior::error(status, "Vertex AI: the service is currently unavailable.", "UNAVAILABLE");
      }
      Behavior ok;  // an OpenAI chat.completion, as the MaaS endpoint answers
      ok.body =
          R"({"id":"chatcmpl-vertex","object":"chat.completion","created":1,"model":"openai/gpt-oss-120b-maas",)"
          R"("choices":[{"index":0,"message":{"role":"assistant","content":"Hello from gpt-oss-120b on Vertex AI."},)"
          R"("finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":9,"total_tokens":21}})";
      ok.delay = std::chrono::milliseconds(20);
      return ok;
    });
    // The service-account file a deployment's vertex_credentials names.
    char tmpl[] = "/tmp/llmux-demo-sa-XXXXXX";
    const int fd = mkstemp(tmpl);
    if (fd >= 0) ::close(fd);
    key_path = tmpl;
    std::ofstream(key_path) << google.service_account_json();
  }
  ~VertexBackend() { std::filesystem::remove(key_path); }
  size_t model_calls() {
    size_t n = 0;
    for (const auto& r : google.server().requests()) n += r.path.find("/endpoints/openapi/") != std::string::npos;
    return n;
  }
};

// "Bedrock" on loopback: Converse, answering only requests whose SigV4
// signature it recomputes with the demo's secret.
struct BedrockBackend {
  FakeProvider server;
  std::atomic<int> bad_signatures{0};
  BedrockBackend() {
    const uint16_t port = server.port();
    server.set_handler([this, port](const ReceivedRequest& r) {
      if (!llmux::testing::bedrock_signature_problem(r, port, llmux::testing::kBedrockTestSecret, "us-west-2").empty()) {
        ++bad_signatures;
      }
      llmux::testing::BedrockScript script;
      script.text = "Hello from gpt-oss-120b on Bedrock.";
      Behavior b = llmux::testing::bedrock_answer(r, script, port);
      b.delay = std::chrono::milliseconds(25);
      return b;
    });
  }
};

// Act three; returns {user calls, failed calls}.
std::pair<int, int> act_three() {
  VertexBackend vertex;
  BedrockBackend bedrock;
  // cloud-cost-based.yaml's gpt-oss-120b pair (tests/fixtures/litellm), on
  // loopback, with a 3 s cooldown instead of 60 s so the demo can wait it out.
  const std::string config = fmt::format(R"(# One open model on two clouds; cost-based routing sends everything to the cheaper one.
model_list:
  - model_name: gpt-oss-120b
    litellm_params:
      model: vertex_ai/openai/gpt-oss-120b-maas
      vertex_project: demo-project
      vertex_location: us-central1
      vertex_credentials: {}   # a service account; token_uri: the local token endpoint
      api_base: {}
      input_cost_per_token: 0.00000009
      output_cost_per_token: 0.00000036
    model_info:
      id: vertex-1
  - model_name: gpt-oss-120b
    litellm_params:
      model: bedrock/openai.gpt-oss-120b-1:0
      aws_region_name: us-west-2
      aws_bedrock_runtime_endpoint: http://127.0.0.1:{}
      aws_access_key_id: {}
      aws_secret_access_key: {}
      input_cost_per_token: 0.00000015
      output_cost_per_token: 0.0000006
    model_info:
      id: bedrock-1
router_settings:
  routing_strategy: cost-based-routing
  num_retries: 3
  retry_after: 5
  allowed_fails: 2
  cooldown_time: 3   # the fixture says 60; shortened for the demo
)",
                                         vertex.key_path, vertex.google.base_url(), bedrock.server.port(),
                                         llmux::testing::kBedrockTestAccessKey, "<the demo secret>");
  fmt::print("\n\n#### Act three: one model on two clouds, cost-based — Vertex AI and AWS Bedrock, on 127.0.0.1\n\n{}\n",
             config);
  // The printed config hides the secret; the router gets the real one.
  std::string real = config;
  real.replace(real.find("<the demo secret>"), 17, std::string(llmux::testing::kBedrockTestSecret));
  auto router_ptr = make_router(real);
  if (!router_ptr) return {0, 1};
  llmux::Router& router = *router_ptr;

  const std::vector<Column> columns = {{"Vertex", "vertex-1"}, {"Bedrock", "bedrock-1"}};
  auto call = [](int i) {
    return fmt::format(R"({{"model":"gpt-oss-120b","messages":[{{"role":"user","content":"request {}: say hello"}}]}})",
                       i);
  };
  std::vector<PhaseStats> phases;
  phases.push_back(run_phase(router, {"9. cheapest first: Vertex ($0.45/M tokens vs $0.75/M) takes every call", 40,
                                      4, call, "gpt-oss-120b", columns}));
  {
    const ReceivedRequest v = vertex.google.server().requests().back();
    fmt::print("   Vertex got: {} {}  (Authorization: Bearer <a token from the local Google token endpoint, "
               "fetched {} time(s) with a signed JWT>)\n",
               v.method, v.path, vertex.google.token_fetches());
  }

  vertex.failure_status = 503;
  const size_t vertex_before = vertex.model_calls();
  phases.push_back(run_phase(router, {"10. Vertex outage (HTTP 503): retried at once on Bedrock", 40, 4, call,
                                      "gpt-oss-120b", columns}));
  if (bedrock.server.request_count() > 0) {
    const ReceivedRequest b = bedrock.server.requests().back();
    const std::string authz = b.header("authorization");
    fmt::print("   Bedrock got: {} {}  (Authorization: {}…; the signature checked on every request)\n", b.method,
               b.path, authz.substr(0, authz.find("SignedHeaders")));
    fmt::print("   Vertex failed {} times (4 calls run at once): allowed_fails: 2 allows two failures, the third\n"
               "   cools it down (3 s here); each failed attempt was retried on Bedrock with no back-off, since the\n"
               "   group still had a healthy deployment.\n",
               vertex.model_calls() - vertex_before);
  }
  print_health(router);

  vertex.failure_status = 0;
  fmt::print("\n== Vertex repaired; waiting for its cooldown (3 s) to expire ==\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(3200));
  phases.push_back(run_phase(router, {"11. cooldown over: back to the cheaper Vertex", 40, 4, call, "gpt-oss-120b",
                                      columns}));
  fmt::print("   With the cooldown over, Vertex was half-open: one call probed it while the calls running beside\n"
             "   it stayed on Bedrock; the probe succeeded, and cost-based routing put everything back on Vertex.\n");
  print_health(router);

  const int failed = print_summary(phases, columns);
  int calls = 0;
  for (const auto& p : phases) calls += p.calls;
  fmt::print("\nbackend requests received: Vertex {} (+{} token requests), Bedrock {} ({} bad signatures)\n",
             vertex.model_calls(), vertex.google.token_fetches(), bedrock.server.request_count(),
             bedrock.bad_signatures.load());
  return {calls, failed + bedrock.bad_signatures.load() + static_cast<int>(vertex.google.rejections().size())};
}


// ---------------------------------------------------------------------------
// Act four: a fleet of three replicas sharing one Redis.

constexpr int kReplicas = 3;

// The config every replica loads (only the Redis port and the backends' URLs
// vary from run to run).
std::string fleet_config(const std::string& gpu_a, const std::string& gpu_b, int redis_port) {
  return fmt::format(R"(# Three replicas of one service, each embedding a Router; they agree through Redis.
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
router_settings:
  routing_strategy: simple-shuffle
  num_retries: 2
  allowed_fails: 1
  cooldown_time: 3
  redis_host: 127.0.0.1
  redis_port: {}
)",
                     gpu_a, gpu_b, redis_port);
}

int64_t wall_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// One replica (a process of its own): a Router with the fleet config, driven
// by lines on stdin — "run PHASE CALLS", "watch", "noticed", "health" —
// answering one line each on stdout.
int fleet_replica(int index, const std::string& gpu_a, const std::string& gpu_b, int redis_port) {
  std::atomic<bool> up{false};
  llmux::RouterOptions options;
  options.random_seed = 2026 + static_cast<uint64_t>(index);
  options.log = [](std::string_view) {};
  options.on_event = [&up](const llmux::RouterEvent& e) {
    if (e.type == llmux::RouterEventType::kSharedStateUp) up = true;
  };
  auto router_or = llmux::Router::from_config(fleet_config(gpu_a, gpu_b, redis_port), options);
  if (!router_or.ok()) {
    fmt::print(stderr, "replica {}: config rejected: {}\n", index, router_or.error().to_string());
    return 1;
  }
  llmux::Router& router = **router_or;
  for (int i = 0; i < 1500 && !up; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  auto say = [](const std::string& line) {
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
  };
  if (!up) {
    say("failed: the Redis link did not come up");
    return 1;
  }
  say("ready");
  // Watches gpu-b in the router's own health view, every millisecond.
  std::atomic<bool> watching{false};
  std::atomic<int64_t> noticed_at{0};
  std::string noticed_by;  // written before noticed_at is set
  std::thread watcher;
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string what;
    in >> what;
    if (what == "run") {
      std::string phase;
      int calls = 0;
      in >> phase >> calls;
      std::mutex mu;
      std::map<std::string, int> served;
      int failed = 0, retried = 0;
      std::atomic<int> next{0};
      auto worker = [&] {
        for (int i = next++; i < calls; i = next++) {
          auto r = router.completion(fmt::format(
              R"({{"model":"qwen3-14b","messages":[{{"role":"user","content":"replica-{} phase {} call {}"}}]}})", index,
              phase, i));
          std::lock_guard<std::mutex> lock(mu);
          if (!r.ok()) {
            failed++;
            continue;
          }
          served[r->metadata.deployment_id]++;
          if (r->metadata.attempts > 1) retried++;
        }
      };
      std::thread t1(worker), t2(worker);
      t1.join();
      t2.join();
      say(fmt::format("ran {} {} {} {}", served["gpu-a"], served["gpu-b"], retried, failed));
    } else if (what == "watch") {
      watching = true;
      watcher = std::thread([&] {
        while (watching && noticed_at.load() == 0) {
          for (const auto& h : router.health("qwen3-14b")) {
            if (h.id == "gpu-b" && h.state == "cooling_down") {
              noticed_by = h.cooled_by;
              noticed_at = wall_ns();
            }
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
      });
      say("watching");
    } else if (what == "noticed") {
      const int64_t at = noticed_at.load();
      say(at == 0 ? std::string("noticed 0 -") : fmt::format("noticed {} {}", at, noticed_by.empty() ? "-" : noticed_by));
    } else if (what == "health") {
      say("health " + health_line(router, "qwen3-14b"));
    } else if (what == "quit") {
      break;
    }
  }
  watching = false;
  if (watcher.joinable()) watcher.join();
  return 0;
}

// A GPU server that knows which replica sent each request.
struct FleetBackend {
  std::string name;
  FakeProvider server;
  std::atomic<int> failure_status{0};      // 0 = healthy
  std::atomic<int> slow_next{0};           // > 0: the next request waits this many ms (a warming server)
  std::atomic<int> by_replica[kReplicas + 1] = {};
  std::mutex mu;
  std::vector<std::pair<Clock::time_point, int>> arrivals;  // (when, replica)
  explicit FleetBackend(std::string n) : name(std::move(n)) {
    server.set_handler([this](const ReceivedRequest& r) {
      int replica = 0;
      if (const size_t at = r.body.find("replica-"); at != std::string::npos) replica = r.body[at + 8] - '0';
      if (replica < 1 || replica > kReplicas) replica = 0;
      by_replica[replica]++;
      {
        std::lock_guard<std::mutex> lock(mu);
        arrivals.emplace_back(Clock::now(), replica);
      }
      if (const int status = failure_status.load(); status != 0) {
        return Behavior::error(status, name + " is down (GPU fault)", "server_error");
      }
      Behavior ok = Behavior::ok("Hello from " + name);
      ok.delay = std::chrono::milliseconds(15);
      if (const int slow = slow_next.exchange(0); slow > 0) ok.delay = std::chrono::milliseconds(slow);
      return ok;
    });
  }
  std::array<int, kReplicas + 1> counts() {
    std::array<int, kReplicas + 1> out{};
    for (int i = 0; i <= kReplicas; ++i) out[static_cast<size_t>(i)] = by_replica[i].load();
    return out;
  }
};

struct FleetPhase {
  std::string title;
  int calls = 0, failed = 0, retried = 0;
  int gpu_a = 0, gpu_b = 0;
  std::array<int, kReplicas + 1> gpu_b_by_replica{};  // requests gpu-b received from each replica
};

// Act four; returns {user calls, failed calls}; {0, 0} when skipped.
std::pair<int, int> act_four() {
  fmt::print("\n\n#### Act four: a fleet — three replicas, each its own process with its own Router, sharing one Redis\n\n");
  if (!llmux::testing::redis_server_available()) {
    fmt::print("{} is not installed: act four skipped (scripts/setup.sh installs the redis-server package).\n",
               llmux::testing::kRedisServerPath);
    return {0, 0};
  }
  std::unique_ptr<llmux::testing::RedisServer> redis;
  try {
    redis = std::make_unique<llmux::testing::RedisServer>();
  } catch (const std::exception& e) {
    fmt::print("redis-server did not start ({}): act four skipped.\n", e.what());
    return {0, 0};
  }
  FleetBackend gpu_a("gpu-a"), gpu_b("gpu-b");
  const std::string config = fleet_config(gpu_a.server.base_url(), gpu_b.server.base_url(), redis->port());
  fmt::print("{}\n(redis-server started by the demo on 127.0.0.1:{}; the replicas run this same program with "
             "--fleet-replica)\n",
             config, redis->port());

  std::vector<std::unique_ptr<llmux::testing::ChildProcess>> replicas;
  std::map<std::string, int> replica_of_pid;  // "pid" → replica number, to name who cooled gpu-b
  for (int i = 1; i <= kReplicas; ++i) {
    replicas.push_back(std::make_unique<llmux::testing::ChildProcess>(
        llmux::testing::ChildProcess::kSelf,
        std::vector<std::string>{fmt::format("--fleet-replica={}", i), gpu_a.server.base_url(), gpu_b.server.base_url(),
                                 std::to_string(redis->port())}));
    replica_of_pid[std::to_string(replicas.back()->pid())] = i;
  }
  auto answer = [&](int i, std::chrono::milliseconds timeout = std::chrono::milliseconds(30000)) {
    std::optional<std::string> line = replicas[static_cast<size_t>(i - 1)]->read_line(timeout);
    return line ? *line : std::string("(no answer)");
  };
  for (int i = 1; i <= kReplicas; ++i) {
    if (const std::string a = answer(i); a != "ready") {
      fmt::print("replica {} did not start ({}): act four skipped.\n", i, a);
      return {0, 0};
    }
  }
  fmt::print("three replicas up (pids {}), each connected to Redis\n",
             fmt::join([&] {
               std::vector<pid_t> pids;
               for (auto& r : replicas) pids.push_back(r->pid());
               return pids;
             }(),
                       ", "));
  // "gpu-b cooling 2.9s (by replica 2)" from a replica's health answer.
  auto who = [&](const std::string& cooled_by) {
    // cooled_by is "host:pid:suffix" (another replica), "" (this one) or "redis".
    const size_t a = cooled_by.find(':');
    const size_t b = a == std::string::npos ? a : cooled_by.find(':', a + 1);
    if (b != std::string::npos) {
      const auto it = replica_of_pid.find(cooled_by.substr(a + 1, b - a - 1));
      if (it != replica_of_pid.end()) return fmt::format("replica {}", it->second);
    }
    return cooled_by;
  };

  std::vector<FleetPhase> phases;
  // All three replicas send `calls` calls each at once; returns the phase.
  auto run_phase = [&](std::string title, int calls) {
    fmt::print("\n== {} ==\n", title);
    FleetPhase p;
    p.title = std::move(title);
    const auto b_before = gpu_b.counts();
    for (int i = 1; i <= kReplicas; ++i) replicas[static_cast<size_t>(i - 1)]->send(fmt::format("run {} {}", phases.size() + 12, calls));
    for (int i = 1; i <= kReplicas; ++i) {
      std::istringstream in(answer(i));
      std::string word;
      int a = 0, b = 0, retried = 0, failed = 0;
      in >> word >> a >> b >> retried >> failed;
      if (word != "ran") failed = calls;
      fmt::print("   replica {}: {:>3} calls   gpu-a {:>3} | gpu-b {:>3} | retried {:>2} | failed {}\n", i, calls, a, b,
                 retried, failed);
      p.calls += calls;
      p.gpu_a += a;
      p.gpu_b += b;
      p.retried += retried;
      p.failed += failed;
    }
    const auto b_after = gpu_b.counts();
    for (size_t i = 0; i < b_after.size(); ++i) p.gpu_b_by_replica[i] = b_after[i] - b_before[i];
    return p;
  };
  auto print_fleet_health = [&] {
    for (int i = 1; i <= kReplicas; ++i) {
      replicas[static_cast<size_t>(i - 1)]->send("health");
      std::string h = answer(i);
      if (h.rfind("health ", 0) == 0) h = h.substr(7);
      fmt::print("      replica {} sees: {}\n", i, h);
    }
  };

  phases.push_back(run_phase("12. three replicas, all healthy: traffic spreads over gpu-a and gpu-b", 20));

  for (int i = 1; i <= kReplicas; ++i) {
    replicas[static_cast<size_t>(i - 1)]->send("watch");
    answer(i);
  }
  gpu_b.failure_status = 503;
  const int64_t failing_since = wall_ns();
  phases.push_back(run_phase("13. gpu-b fails (HTTP 503): all three replicas sending", 20));
  fmt::print("   when each replica saw gpu-b cooling down (its health() polled every millisecond):\n");
  int64_t first = 0;
  std::vector<std::pair<int64_t, std::string>> noticed(kReplicas + 1);
  for (int i = 1; i <= kReplicas; ++i) {
    replicas[static_cast<size_t>(i - 1)]->send("noticed");
    std::istringstream in(answer(i));
    std::string word, by;
    long long at = 0;
    in >> word >> at >> by;
    noticed[static_cast<size_t>(i)] = {at, by == "-" ? std::string() : by};
    if (at > 0 && (first == 0 || at < first)) first = at;
  }
  for (int i = 1; i <= kReplicas; ++i) {
    const auto& [at, by] = noticed[static_cast<size_t>(i)];
    const int sent_to_b = phases.back().gpu_b_by_replica[static_cast<size_t>(i)];
    if (at == 0) {
      fmt::print("      replica {}: never saw gpu-b cooling\n", i);
    } else if (by.empty()) {
      fmt::print("      replica {}: {:6.1f} ms after gpu-b broke — cooled it down itself after {} failed request(s), "
                 "and told the fleet\n",
                 i, static_cast<double>(at - failing_since) / 1e6, sent_to_b);
    } else {
      fmt::print("      replica {}: {:6.1f} ms after gpu-b broke, {:.1f} ms after the first replica — told by {} "
                 "through Redis ({} failed request(s) of its own)\n",
                 i, static_cast<double>(at - failing_since) / 1e6, static_cast<double>(at - first) / 1e6, who(by),
                 sent_to_b);
    }
  }
  {
    int failures = 0;
    for (int i = 1; i <= kReplicas; ++i) failures += phases.back().gpu_b_by_replica[static_cast<size_t>(i)];
    fmt::print("   gpu-b got {} failing request(s) in all; replicas deciding alone would each have needed 2 of their "
               "own\n   (allowed_fails: 1), {} in all.\n",
               failures, 2 * kReplicas);
  }
  {
    llmux::testing::RedisClient client(*redis);
    if (auto v = client.get("deployment:gpu-b:cooldown")) {
      fmt::print("   Redis holds LiteLLM's key deployment:gpu-b:cooldown (expires with the cooldown, PTTL {} ms):\n"
                 "      {}\n",
                 client.pttl("deployment:gpu-b:cooldown"), *v);
    }
  }
  print_fleet_health();

  phases.push_back(run_phase("14. gpu-b cooling down: no replica sends it a request", 20));
  print_fleet_health();

  gpu_b.failure_status = 0;
  gpu_b.slow_next = 400;  // its first answer takes 400 ms: the probe is in flight that long
  fmt::print("\n== gpu-b repaired; waiting for its cooldown (3 s) to expire ==\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(3200));
  print_fleet_health();
  const size_t arrivals_before = [&] {
    std::lock_guard<std::mutex> lock(gpu_b.mu);
    return gpu_b.arrivals.size();
  }();
  phases.push_back(run_phase("15. cooldown over: one probe for the whole fleet", 20));
  {
    std::lock_guard<std::mutex> lock(gpu_b.mu);
    if (gpu_b.arrivals.size() > arrivals_before) {
      const auto [probe_at, prober] = gpu_b.arrivals[arrivals_before];
      int during = 0;
      for (size_t k = arrivals_before; k < gpu_b.arrivals.size(); ++k) {
        during += gpu_b.arrivals[k].first < probe_at + std::chrono::milliseconds(350) ? 1 : 0;
      }
      fmt::print("   gpu-b's first request after the cooldown came from replica {} (the probe, answered after 400 ms);\n"
                 "   requests gpu-b received while it was in flight: {} — the other replicas held gpu-b until the\n"
                 "   probe's verdict reached them through Redis, and their calls went to gpu-a meanwhile.\n",
                 prober, during);
    }
  }
  phases.push_back(run_phase("16. the probe succeeded: every replica uses gpu-b again", 20));
  print_fleet_health();

  for (auto& r : replicas) r->send("quit");
  for (auto& r : replicas) r->finish();

  int failed = 0, calls = 0;
  fmt::print("\n== summary ==\n{:<36} {:>5} {:>6} {:>6} {:>8} {:>7}\n", "phase", "calls", "gpu-a", "gpu-b", "retried",
             "failed");
  for (const auto& p : phases) {
    fmt::print("{:<36} {:>5} {:>6} {:>6} {:>8} {:>7}\n", p.title.substr(0, std::min<size_t>(p.title.find(':'), 36)),
               p.calls, p.gpu_a, p.gpu_b, p.retried, p.failed);
    calls += p.calls;
    failed += p.failed;
  }
  const auto total_b = gpu_b.counts();
  fmt::print("\ngpu-b's requests by replica over the act: replica 1 {}, replica 2 {}, replica 3 {}\n", total_b[1],
             total_b[2], total_b[3]);
  return {calls, failed};
}

}  // namespace

int main(int argc, char** argv) {
  // A replica of act four (this program re-executed by the demo itself).
  if (argc == 5 && std::string_view(argv[1]).rfind("--fleet-replica=", 0) == 0) {
    return fleet_replica(std::atoi(argv[1] + 16), argv[2], argv[3], std::atoi(argv[4]));
  }
  const auto [calls_one, failed_one] = act_one();
  const auto [calls_two, failed_two] = act_two();
  const auto [calls_three, failed_three] = act_three();
  const auto [calls_four, failed_four] = act_four();
  const int failed = failed_one + failed_two + failed_three + failed_four;
  const std::string fleet = calls_four > 0 ? fmt::format(", act four {}", calls_four) : ", act four skipped";
  fmt::print("\nuser calls: {} (act one {}, act two {}, act three {}{}), failed: {}\n",
             calls_one + calls_two + calls_three + calls_four, calls_one, calls_two, calls_three, fleet, failed);
  if (failed != 0) {
    fmt::print("DEMO FAILED: some user calls failed\n");
    return 1;
  }
  fmt::print("no user call failed: llmux retried, cooled down and fell back on its own — across providers and clouds{}.\n",
             calls_four > 0 ? ", and as a fleet" : " too");
  return 0;
}
