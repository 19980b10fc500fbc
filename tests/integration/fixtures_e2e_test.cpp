// The real-world fixtures (tests/fixtures/litellm, a checked copy of
// ../shared/fixtures) end to end: each fixture's text builds a real Router
// unchanged, except that api_base values naming example or placeholder hosts
// are pointed at loopback fakes; deployments without an api_base reach their
// fake through LiteLLM's own environment fallback (ANTHROPIC_API_BASE), and
// the os.environ/ secrets the fixture names are set. Each test checks what the
// fixture's comments promise, on the wire. The Bedrock fixtures and
// cloud-cost-based.yaml (Vertex AI and Bedrock) are run by
// fixtures_bedrock_e2e_test.cpp.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "support/fake_anthropic.hpp"
#include "test_util.hpp"

namespace llmux::testing {
namespace {

std::string read_fixture(const std::string& name) {
  std::ifstream in(std::string(LLMUX_FIXTURES_DIR) + "/" + name);
  REQUIRE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The fixture text with each api_base value in `bases` (as written in the
// file) replaced by its loopback URL. Every value must occur exactly once, and
// afterwards no api_base may point anywhere but loopback: nothing else changes.
std::string point_at_fakes(std::string text, const std::vector<std::pair<std::string, std::string>>& bases) {
  for (const auto& [from, to] : bases) {
    const std::string needle = "api_base: " + from + "\n";
    const size_t at = text.find(needle);
    INFO(from);
    REQUIRE(at != std::string::npos);
    REQUIRE(text.find(needle, at + 1) == std::string::npos);
    text.replace(at, needle.size(), "api_base: " + to + "\n");
  }
  for (size_t at = text.find("api_base:"); at != std::string::npos; at = text.find("api_base:", at + 1)) {
    const size_t end = text.find('\n', at);
    INFO(text.substr(at, end - at));
    CHECK(text.compare(at, 27, "api_base: http://127.0.0.1:") == 0);
  }
  return text;
}

// A loopback port on which nothing listens: bound but never listening, so a
// connection is refused (RST) for as long as this object lives.
class RefusingPort {
 public:
  RefusingPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port_ = ntohs(addr.sin_port);
  }
  ~RefusingPort() { ::close(fd_); }
  RefusingPort(const RefusingPort&) = delete;
  RefusingPort& operator=(const RefusingPort&) = delete;
  std::string base_url() const { return fmt::format("http://127.0.0.1:{}/v1", port_); }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

// An OpenAI-compatible server (a GPU server, a vLLM) whose health a test flips.
// With max_prompt_bytes set, a longer request body gets vLLM's context-length
// 400 (vLLM's ErrorResponse: top-level object/message/type/code).
struct OpenAiBackend {
  std::string name;
  FakeProvider server;
  std::atomic<int> failure_status{0};  // 0 = healthy
  std::atomic<size_t> max_prompt_bytes{0};  // 0 = no limit
  explicit OpenAiBackend(std::string n) : name(std::move(n)) {
    server.set_handler([this](const ReceivedRequest& r) {
      if (const int status = failure_status.load(); status != 0) {
        return Behavior::error(status, name + " is down", "InternalServerError");
      }
      if (const size_t limit = max_prompt_bytes.load(); limit != 0 && r.body.size() > limit) {
        Behavior b;
        b.status = 400;
        b.body =
            R"({"object":"error","message":"This model's maximum context length is 8192 tokens. However, you )"
            R"(requested 9120 tokens (8120 in the messages, 1000 in the completion). Please reduce the length of )"
            R"(the messages or completion.","type":"BadRequestError","param":null,"code":400})";
        return b;
      }
      return Behavior::ok("Hello from " + name + ".");
    });
  }
};

// ---------------------------------------------------------------------------
// onprem-gpu-load-balancing.yaml

constexpr const char* kQwenKey = "qwen-fixture-key";

// Cooldown decisions read `clock` (the loop still runs in real time), so the
// recovery check moves past the cooldowns without sleeping.
struct OnPrem {
  VirtualClock clock;
  OpenAiBackend gpu_maas{"qwen3-14b@maas00"};
  OpenAiBackend gpu_smc{"qwen3-14b@smc00"};
  OpenAiBackend small{"qwen3-7b@maas00"};
  std::unique_ptr<Router> router;
  OnPrem() {
    ::setenv("QWEN_API_KEY", kQwenKey, 1);  // api_key: os.environ/QWEN_API_KEY
    RouterOptions options;
    options.time_source = &clock;
    router = make_router_with(
        point_at_fakes(read_fixture("onprem-gpu-load-balancing.yaml"),
                       {{"https://qwen3-14b-llm-hosting.apps.maas00.example.com/v1", gpu_maas.server.base_url()},
                        {"https://qwen3-14b-llm-hosting.apps.smc00.example.com/v1", gpu_smc.server.base_url()},
                        {"https://qwen3-7b-llm-hosting.apps.maas00.example.com/v1", small.server.base_url()}}),
        options);
  }
};

std::string qwen_request(int i, const std::string& extra = "") {
  return fmt::format(R"({{"model":"qwen3-14b","messages":[{{"role":"user","content":"request {}"}}]{}}})", i,
                     extra.empty() ? "" : "," + extra);
}

// ---------------------------------------------------------------------------
// vllm-with-hosted-fallback.yaml

constexpr const char* kAnthropicKey = "sk-ant-fixture";

void serve_anthropic(FakeProvider& p, AnthropicScript script = {}) {
  script.api_key = kAnthropicKey;
  p.set_handler([script](const ReceivedRequest& r) { return anthropic_answer(r, script); });
}

// The fixture's text pointed at a vLLM base URL; the Anthropic deployment has
// no api_base and reaches `claude` through ANTHROPIC_API_BASE.
std::string vllm_fixture(const std::string& vllm_base, const FakeProvider& claude) {
  ::setenv("ANTHROPIC_API_KEY", kAnthropicKey, 1);  // api_key: os.environ/ANTHROPIC_API_KEY
  ::setenv("ANTHROPIC_API_BASE", fmt::format("http://127.0.0.1:{}", claude.port()).c_str(), 1);
  return point_at_fakes(read_fixture("vllm-with-hosted-fallback.yaml"), {{"http://your-vllm:8000/v1", vllm_base}});
}

const std::string kSystemRequest =
    R"({"model":"production-llm","messages":[{"role":"system","content":"You are terse."},)"
    R"({"role":"user","content":"Say hello"}],"temperature":0.2})";

// The Anthropic request of a fallback, as LiteLLM sends it.
void check_anthropic_wire(const ReceivedRequest& req) {
  CHECK(req.method == "POST");
  CHECK(req.path == "/v1/messages");
  CHECK(req.header("x-api-key") == kAnthropicKey);
  CHECK(req.header("anthropic-version") == "2023-06-01");
  CHECK(req.header("authorization").empty());
  CHECK(json_at(req.body, "/model") == "claude-3-5-sonnet-20241022");
  CHECK(json_at(req.body, "/max_tokens") != "<absent>");  // Anthropic requires it; LiteLLM's default
}

// The answer the user gets from the fallback: an OpenAI chat.completion.
void check_openai_answer(const Response& resp) {
  CHECK(json_at(resp.body, "/object") == "chat.completion");
  CHECK(json_at(resp.body, "/choices/0/message/role") == "assistant");
  CHECK(json_at(resp.body, "/choices/0/message/content") == "Hello from Claude.");
  CHECK(json_at(resp.body, "/choices/0/finish_reason") == "stop");
  CHECK(json_at(resp.body, "/usage/total_tokens") == "18");
  CHECK(resp.metadata.model_group == "production-llm-fallback");
  CHECK(resp.metadata.provider == "anthropic");
  CHECK(resp.metadata.fallbacks == 1);
}

}  // namespace

TEST_CASE("onprem-gpu-load-balancing: both GPU servers share the load, the small model stays idle",
          "[fixtures][onprem]") {
  OnPrem f;
  const int kCalls = 60;
  for (int i = 0; i < kCalls; ++i) {
    auto r = f.router->completion(qwen_request(i));
    INFO(describe(r));
    REQUIRE(r.ok());
    CHECK(r->metadata.model_group == "qwen3-14b");
    CHECK(r->metadata.attempts == 1);
  }
  const size_t maas = f.gpu_maas.server.request_count(), smc = f.gpu_smc.server.request_count();
  CHECK(maas + smc == kCalls);
  CHECK(maas >= 15);  // simple-shuffle over equal weights: both servers carry a real share
  CHECK(smc >= 15);
  CHECK(f.small.server.request_count() == 0);
  for (const auto* backend : {&f.gpu_maas, &f.gpu_smc}) {
    const ReceivedRequest req = backend->server.requests().at(0);
    CHECK(req.path == "/v1/chat/completions");
    CHECK(req.header("authorization") == std::string("Bearer ") + kQwenKey);
    CHECK(json_at(req.body, "/model") == "qwen3-14b");  // openai/ prefix stripped
  }
  CHECK(f.router->health("qwen3-14b").size() == 2);
}

TEST_CASE("onprem-gpu-load-balancing: one GPU server down, the other serves every call", "[fixtures][onprem]") {
  OnPrem f;
  f.gpu_smc.failure_status = 500;
  for (int i = 0; i < 30; ++i) {
    auto r = f.router->completion(qwen_request(i));
    INFO(describe(r));
    REQUIRE(r.ok());
    CHECK(r->metadata.model_group == "qwen3-14b");  // never the fallback while one server is up
    CHECK(json_at(r->body, "/choices/0/message/content") == "Hello from qwen3-14b@maas00.");
  }
  CHECK(f.small.server.request_count() == 0);
  CHECK(f.gpu_maas.server.request_count() == 30);
  CHECK(f.gpu_smc.server.request_count() > 0);  // it was tried, failed and was retried around
}

TEST_CASE("onprem-gpu-load-balancing: the whole qwen3-14b group down, qwen3-7b serves; no failed call",
          "[fixtures][onprem]") {
  OnPrem f;
  SECTION("both GPU servers answer 500/503") {
    f.gpu_maas.failure_status = 500;
    f.gpu_smc.failure_status = 503;
  }
  SECTION("one answers 500, the other resets connections") {
    f.gpu_maas.failure_status = 500;
    f.gpu_smc.server.set_handler([](const ReceivedRequest&) { return Behavior::reset(); });
  }
  for (int i = 0; i < 12; ++i) {
    auto r = f.router->completion(qwen_request(i));
    INFO(describe(r));
    REQUIRE(r.ok());
    CHECK(r->metadata.requested_model == "qwen3-14b");
    CHECK(r->metadata.model_group == "qwen3-7b");
    CHECK(json_at(r->body, "/choices/0/message/content") == "Hello from qwen3-7b@maas00.");
    CHECK(json_at(f.small.server.requests().back().body, "/model") == "qwen3-7b");
  }
  CHECK(f.gpu_maas.server.request_count() > 0);  // the group was tried before its fallback
  CHECK(f.gpu_smc.server.request_count() > 0);
  // Streaming too: the failure comes before the first token, so it is invisible.
  auto c = run_stream(*f.router, qwen_request(99, R"("stream":true)"));
  INFO(describe(*c.done));
  REQUIRE(c.done->ok());
  CHECK(c.text == "Hello from qwen3-7b@maas00.");
  CHECK(c.done->value().metadata.model_group == "qwen3-7b");
  CHECK(f.small.server.request_count() == 13);

  // Repaired: once the cooldowns are over, the GPU servers serve again (the
  // fallback is used only while the whole group is down).
  f.gpu_maas.failure_status = 0;
  f.gpu_smc.failure_status = 0;
  f.gpu_smc.server.set_handler([](const ReceivedRequest&) { return Behavior::ok("Hello from qwen3-14b@smc00."); });
  f.clock.advance(120.0);
  const size_t small_before = f.small.server.request_count();
  for (int i = 0; i < 10; ++i) {
    auto r = f.router->completion(qwen_request(1000 + i));
    INFO(describe(r));
    REQUIRE(r.ok());
    CHECK(r->metadata.model_group == "qwen3-14b");
  }
  CHECK(f.small.server.request_count() == small_before);
}

TEST_CASE("vllm-with-hosted-fallback: normal calls go to vLLM, nothing to Anthropic", "[fixtures][vllm]") {
  OpenAiBackend vllm("vLLM");
  FakeProvider claude;
  serve_anthropic(claude);
  auto router = make_router(vllm_fixture(vllm.server.base_url(), claude));
  for (int i = 0; i < 10; ++i) {
    auto r = router->completion(kSystemRequest);
    INFO(describe(r));
    REQUIRE(r.ok());
    CHECK(r->metadata.model_group == "production-llm");
    CHECK(r->metadata.fallbacks == 0);
    CHECK(json_at(r->body, "/choices/0/message/content") == "Hello from vLLM.");
  }
  CHECK(vllm.server.request_count() == 10);
  CHECK(claude.request_count() == 0);
  const ReceivedRequest req = vllm.server.requests().at(0);
  CHECK(req.path == "/v1/chat/completions");
  CHECK(req.header("authorization") == "Bearer dummy");
  CHECK(json_at(req.body, "/model") == "Meta-Llama-3.1-8B-Instruct");
  CHECK(json_at(req.body, "/messages/0/role") == "system");  // OpenAI format: the system turn stays a message

  auto c = run_stream(*router, R"({"model":"production-llm","stream":true,"messages":[{"role":"user","content":"Hi"}]})");
  REQUIRE(c.done->ok());
  CHECK(c.text == "Hello from vLLM.");
  CHECK(claude.request_count() == 0);
}

TEST_CASE("vllm-with-hosted-fallback: a vLLM outage lands on the Anthropic fallback; no failed call",
          "[fixtures][vllm]") {
  FakeProvider claude;
  serve_anthropic(claude);
  OpenAiBackend vllm("vLLM");
  RefusingPort refused;
  std::string vllm_base = vllm.server.base_url();
  size_t vllm_attempts_per_call = 0;
  SECTION("vLLM answers 500") {
    vllm.failure_status = 500;
    vllm_attempts_per_call = 3;  // the first attempt and num_retries: 2 (with back-off), then the fallback
  }
  SECTION("vLLM refuses connections") { vllm_base = refused.base_url(); }
  auto router = make_router(vllm_fixture(vllm_base, claude));
  const int kCalls = 2;  // each waits out the retries' back-off (a one-deployment group): ~2 s
  for (int i = 0; i < kCalls; ++i) {
    auto r = router->completion(kSystemRequest);
    INFO(describe(r));
    REQUIRE(r.ok());
    check_openai_answer(r.value());
  }
  REQUIRE(claude.request_count() == kCalls);
  CHECK(vllm.server.request_count() == vllm_attempts_per_call * kCalls);
  const ReceivedRequest req = claude.requests().at(0);
  check_anthropic_wire(req);
  // The system message is lifted out of `messages` into Anthropic's `system`.
  CHECK(json_at(req.body, "/system/0/text") == "You are terse.");
  CHECK(json_at(req.body, "/messages/0/role") == "user");
  CHECK(json_at(req.body, "/messages/1") == "<absent>");
  CHECK(json_at(req.body, "/temperature") == "0.2");
}

TEST_CASE("vllm-with-hosted-fallback: a context-window overflow on vLLM lands on Anthropic, not retried",
          "[fixtures][vllm]") {
  OpenAiBackend vllm("vLLM");
  vllm.max_prompt_bytes = 2000;
  FakeProvider claude;
  serve_anthropic(claude);
  // The environment is set once, before any router runs (its I/O thread reads it).
  const std::string fixture = vllm_fixture(vllm.server.base_url(), claude);
  auto router = make_router(fixture);
  const std::string long_prompt(6000, 'x');
  const std::string request = fmt::format(
      R"({{"model":"production-llm","messages":[{{"role":"system","content":"Summarise."}},)"
      R"({{"role":"user","content":"{}"}}]}})",
      long_prompt);

  auto r = router->completion(request);
  INFO(describe(r));
  REQUIRE(r.ok());
  check_openai_answer(r.value());
  CHECK(vllm.server.request_count() == 1);  // a context-window error is not retried on vLLM
  REQUIRE(claude.request_count() == 1);
  check_anthropic_wire(claude.requests()[0]);
  CHECK(json_at(claude.requests()[0].body, "/messages/0/content/0/text") == long_prompt);
  CHECK(json_at(claude.requests()[0].body, "/system/0/text") == "Summarise.");

  // Short prompts still go to vLLM: the overflow cooled nothing down.
  auto short_call = router->completion(kSystemRequest);
  REQUIRE(short_call.ok());
  CHECK(short_call->metadata.model_group == "production-llm");
  CHECK(claude.request_count() == 1);

  // Without the fallback the user would see a ContextWindowExceededError:
  // proof that the fixture's context_window_fallbacks did the work.
  std::string no_fallback = fixture;
  const std::string cw = "  context_window_fallbacks:\n    - production-llm: [production-llm-fallback]\n";
  const std::string fb = "  fallbacks:\n    - production-llm: [production-llm-fallback]\n";
  REQUIRE(no_fallback.find(cw) != std::string::npos);
  REQUIRE(no_fallback.find(fb) != std::string::npos);
  no_fallback.erase(no_fallback.find(cw), cw.size());
  no_fallback.erase(no_fallback.find(fb), fb.size());
  auto bare = make_router(no_fallback)->completion(request);
  REQUIRE_FALSE(bare.ok());
  CHECK(bare.error().kind == ErrorKind::kContextWindowExceeded);
  CHECK_THAT(bare.error().message, Catch::Contains("maximum context length"));
}

TEST_CASE("vllm-with-hosted-fallback: streams whose vLLM attempt fails before the first token are served by "
          "Anthropic",
          "[fixtures][vllm][stream]") {
  FakeProvider claude;
  AnthropicScript script;
  script.text = "Hello from Claude, streamed.";
  script.text_parts = 4;
  serve_anthropic(claude, script);
  OpenAiBackend vllm("vLLM");
  RefusingPort refused;
  std::string vllm_base = vllm.server.base_url();
  std::string request =
      R"({"model":"production-llm","stream":true,"stream_options":{"include_usage":true},)"
      R"("messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Say hello"}]})";
  SECTION("vLLM answers 500") { vllm.failure_status = 500; }
  SECTION("vLLM refuses connections") { vllm_base = refused.base_url(); }
  SECTION("vLLM's context-length 400") {
    vllm.max_prompt_bytes = 100;
    request.insert(request.size() - 4, std::string(400, 'y'));  // inside the user's content
  }
  auto router = make_router(vllm_fixture(vllm_base, claude));
  auto c = run_stream(*router, request);
  INFO(describe(*c.done));
  REQUIRE(c.done->ok());
  CHECK(c.done_calls == 1);
  CHECK(c.text == "Hello from Claude, streamed.");
  CHECK(c.done->value().metadata.model_group == "production-llm-fallback");
  CHECK(c.done->value().metadata.stream_continuations == 0);  // nothing had been delivered
  REQUIRE(c.chunks.size() >= 3);
  for (const auto& chunk : c.chunks) CHECK(json_at(chunk, "/object") == "chat.completion.chunk");
  CHECK(json_at(c.chunks.back(), "/usage/total_tokens") == "18");
  REQUIRE(claude.request_count() == 1);
  const ReceivedRequest req = claude.requests()[0];
  check_anthropic_wire(req);
  CHECK(json_at(req.body, "/stream") == "true");
  CHECK(json_at(req.body, "/system/0/text") == "You are terse.");
}

TEST_CASE("vllm-with-hosted-fallback: drop_params from litellm_settings drops OpenAI-only params on Anthropic",
          "[fixtures][vllm]") {
  OpenAiBackend vllm("vLLM");
  vllm.failure_status = 503;
  FakeProvider claude;
  serve_anthropic(claude);
  const std::string request =
      R"({"model":"production-llm","messages":[{"role":"user","content":"Say hello"}],)"
      R"("logit_bias":{"50256":-100},"presence_penalty":0.5,"seed":7,"temperature":0.1})";
  const std::string fixture = vllm_fixture(vllm.server.base_url(), claude);
  auto router = make_router(fixture);
  auto r = router->completion(request);
  INFO(describe(r));
  REQUIRE(r.ok());
  check_openai_answer(r.value());
  // vLLM (OpenAI format) got them as they were.
  REQUIRE(vllm.server.request_count() >= 1);
  CHECK(json_at(vllm.server.requests()[0].body, "/logit_bias/50256") == "-100");
  REQUIRE(claude.request_count() == 1);
  const std::string body = claude.requests()[0].body;
  CHECK(json_at(body, "/logit_bias") == "<absent>");
  CHECK(json_at(body, "/presence_penalty") == "<absent>");
  CHECK(json_at(body, "/seed") == "<absent>");
  CHECK(json_at(body, "/temperature") == "0.1");  // what Anthropic has is kept

  // The same fixture with drop_params: false: the fallback refuses the call
  // naming the parameters (LiteLLM's UnsupportedParamsError).
  std::string strict = fixture;
  const size_t at = strict.find("drop_params: true");
  REQUIRE(at != std::string::npos);
  strict.replace(at, 17, "drop_params: false");
  vllm.server.reset();
  vllm.server.set_default(Behavior::error(503, "vLLM is down", "InternalServerError"));
  auto refused = make_router(strict)->completion(request);
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(refused.error().message, Catch::Contains("logit_bias"));
  CHECK(claude.request_count() == 1);  // nothing sent
}

}  // namespace llmux::testing
