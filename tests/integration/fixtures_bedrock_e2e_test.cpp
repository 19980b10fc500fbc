// The Bedrock fixtures of tests/fixtures/litellm (and cloud-cost-based.yaml,
// whose pairs run on Vertex AI and Bedrock) end to end on loopback. Each
// fixture's text builds a real Router UNCHANGED: Bedrock is reached through
// LiteLLM's own AWS_BEDROCK_RUNTIME_ENDPOINT, the static test keys come from
// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, and `aws_region_name:
// os.environ/AWS_REGION` resolves at load (the fake checks that the signature's
// scope names that region). The fake verifies SigV4 on every request with the
// test secret; every test asserts that it rejected none. Vertex is reached
// through VERTEXAI_API_BASE with a service-account file (found through
// GOOGLE_APPLICATION_CREDENTIALS) whose token_uri is the fake Google token
// endpoint, which verifies the JWT; VERTEX_PROJECT names the project. Each test
// checks what the fixture's comments promise. Minutes and cooldowns are moved
// with the router's virtual clock (the loop itself runs in real time).
//
// The environment is set before each router is built, while no router runs.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

#include <unistd.h>

#include "support/fake_bedrock.hpp"
#include "support/fake_google.hpp"
#include "test_util.hpp"

namespace llmux::testing {
namespace {

constexpr const char* kSonnet = "anthropic.claude-3-5-sonnet-20240620-v1:0";
constexpr const char* kHaiku = "anthropic.claude-3-haiku-20240307-v1:0";
// The region AWS_REGION names in these tests: not the adapter's default
// (us-west-2), so a signature scoped to it proves the os.environ/ reference
// was resolved and the signer followed it.
constexpr const char* kTestRegion = "eu-central-1";

std::string read_fixture(const std::string& name) {
  std::ifstream in(std::string(LLMUX_FIXTURES_DIR) + "/" + name);
  REQUIRE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The Bedrock model id a Converse path names (decoded ':').
std::string model_of(const std::string& path) {
  const size_t start = std::string_view("/model/").size();
  std::string id = path.substr(start, path.find('/', start) - start);
  for (size_t at = id.find("%3A"); at != std::string::npos; at = id.find("%3A")) id.replace(at, 3, ":");
  return id;
}

// One fake Bedrock runtime endpoint for every Bedrock deployment of a fixture
// (AWS_BEDROCK_RUNTIME_ENDPOINT is process-wide): it tells the deployments
// apart by the model id in the path. Each model answers "Hello from <id>.",
// optionally after a delay, with a given usage, or with a Bedrock error.
class BedrockFake {
 public:
  struct ModelBehavior {
    Millis delay{0};
    int failure_status = 0;  // 0 = healthy
    std::string failure_type;
    std::string failure_message;
    int output_tokens = 7;
  };

  explicit BedrockFake(std::string region) : region_(std::move(region)) {
    server_.set_handler([this](const ReceivedRequest& r) { return answer(r); });
  }

  // Points LiteLLM's environment at this fake with the static test keys.
  void export_environment() const {
    ::setenv("AWS_BEDROCK_RUNTIME_ENDPOINT", fmt::format("http://127.0.0.1:{}", server_.port()).c_str(), 1);
    ::setenv("AWS_ACCESS_KEY_ID", std::string(kBedrockTestAccessKey).c_str(), 1);
    ::setenv("AWS_SECRET_ACCESS_KEY", std::string(kBedrockTestSecret).c_str(), 1);
    ::setenv("AWS_REGION", kTestRegion, 1);
    for (const char* other : {"AWS_SESSION_TOKEN", "AWS_BEARER_TOKEN_BEDROCK", "AWS_PROFILE", "AWS_REGION_NAME",
                              "AWS_DEFAULT_REGION", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"}) {
      ::unsetenv(other);
    }
  }

  void set(const std::string& model, ModelBehavior b) {
    std::lock_guard lock(mu_);
    behavior_[model] = std::move(b);
  }

  // Requests per model id, in arrival order.
  size_t count(const std::string& model) const {
    size_t n = 0;
    for (const auto& r : server_.requests()) n += model_of(r.path) == model;
    return n;
  }
  size_t total() const { return server_.request_count(); }
  std::vector<ReceivedRequest> requests() const { return server_.requests(); }
  int rejected() const { return rejected_.load(); }
  std::vector<std::string> rejections() const {
    std::lock_guard lock(mu_);
    return why_;
  }
  uint16_t port() const { return server_.port(); }

 private:
  Behavior answer(const ReceivedRequest& r) {
    if (std::string why = bedrock_signature_problem(r, server_.port(), kBedrockTestSecret, region_); !why.empty()) {
      ++rejected_;
      std::lock_guard lock(mu_);
      why_.push_back(r.path + ": " + why);
    }
    const std::string model = model_of(r.path);
    ModelBehavior mb;
    {
      std::lock_guard lock(mu_);
      if (auto it = behavior_.find(model); it != behavior_.end()) mb = it->second;
    }
    Behavior b;
    if (mb.failure_status != 0) {
      b = bedrock_error(mb.failure_status, mb.failure_type, mb.failure_message);
    } else {
      BedrockScript script;
      script.region = region_;
      script.text = "Hello from " + model + ".";
      script.output_tokens = mb.output_tokens;
      b = bedrock_answer(r, script, server_.port());
    }
    b.delay = mb.delay;
    return b;
  }

  std::string region_;
  FakeProvider server_;
  std::atomic<int> rejected_{0};
  mutable std::mutex mu_;
  std::map<std::string, ModelBehavior> behavior_;
  std::vector<std::string> why_;
};

// The OpenAI-compatible MaaS endpoint of Vertex AI behind the fake Google
// token endpoint: answers only bearer tokens the fake issued, on the MaaS path
// of project VERTEX_PROJECT; `failure_status` makes it fail.
constexpr const char* kVertexProject = "fixture-proj";

struct VertexFake {
  FakeGoogle google;
  std::atomic<int> failure_status{0};
  std::string key_path;
  VertexFake() {
    google.set_model_handler([this](const ReceivedRequest& r) {
      if (!google.issued(r.header("authorization"))) {
        return Behavior::error(401, "Request had invalid authentication credentials.", "UNAUTHENTICATED");
      }
      const std::string path = fmt::format(
          "/v1/projects/{}/locations/us-central1/endpoints/openapi/chat/completions", kVertexProject);
      if (r.path != path) return Behavior::error(404, "wrong path " + r.path, "NOT_FOUND");
      if (const int status = failure_status.load(); status != 0) {
        return Behavior::error(status, "The service is currently unavailable.", "UNAVAILABLE");
      }
      const std::string model = json_at(r.body, "/model");
      Behavior b;
      b.body = fmt::format(
          R"({{"id":"chatcmpl-vertex","object":"chat.completion","created":1,"model":"{}",)"
          R"("choices":[{{"index":0,"message":{{"role":"assistant","content":"Hello from Vertex {}."}},)"
          R"("finish_reason":"stop"}}],"usage":{{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8}}}})",
          model, model);
      return b;
    });
    char tmpl[] = "/tmp/llmux-fixture-sa-XXXXXX";
    const int fd = mkstemp(tmpl);
    REQUIRE(fd >= 0);
    ::close(fd);
    key_path = tmpl;
    std::ofstream(key_path) << google.service_account_json();
  }
  ~VertexFake() { std::filesystem::remove(key_path); }
  void export_environment() const {
    ::setenv("VERTEXAI_API_BASE", google.base_url().c_str(), 1);
    ::setenv("GOOGLE_APPLICATION_CREDENTIALS", key_path.c_str(), 1);
    ::setenv("VERTEX_PROJECT", kVertexProject, 1);
  }
  size_t model_calls() {
    size_t n = 0;
    for (const auto& r : google.server().requests()) n += r.path.find("/endpoints/openapi/") != std::string::npos;
    return n;
  }
};

std::string claude_request(const std::string& group, int i, const std::string& extra = "") {
  return fmt::format(R"({{"model":"{}","messages":[{{"role":"user","content":"request {}"}}]{}}})", group, i,
                     extra.empty() ? "" : "," + extra);
}

// Every Bedrock request was SigV4-signed with the test secret for the region.
void check_no_rejections(const BedrockFake& bedrock) {
  std::string why;
  for (const auto& w : bedrock.rejections()) why += w + "\n";
  INFO(why);
  CHECK(bedrock.rejected() == 0);
  for (const auto& r : bedrock.requests()) {
    CHECK(r.header("authorization").rfind(fmt::format("AWS4-HMAC-SHA256 Credential={}/", kBedrockTestAccessKey), 0) ==
          0);
  }
}

// The router's answer when every deployment of the group is over its rpm/tpm
// limit for this minute (LiteLLM's "No deployments available", 429), with the
// seconds to the next minute.
void check_over_rate_limit(const Result<Response>& r) {
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::kNoDeploymentsAvailable);
  CHECK_THAT(r.error().message, Catch::Contains("over its rpm/tpm limit for this minute"));
  CHECK(r.error().retry_after_seconds > 0);
}

}  // namespace

// ---------------------------------------------------------------------------
// bedrock-load-balancing.yaml: two Claude deployments under one name.

TEST_CASE("bedrock-load-balancing: calls spread over both Claude deployments, SigV4 for AWS_REGION",
          "[fixtures][bedrock]") {
  BedrockFake bedrock(kTestRegion);
  bedrock.export_environment();
  auto router = make_router(read_fixture("bedrock-load-balancing.yaml"));
  const int kCalls = 40;
  for (int i = 0; i < kCalls; ++i) {
    auto r = router->completion(claude_request("claude-3", i));
    INFO(describe(r));
    REQUIRE(r.ok());
    CHECK(r->metadata.model_group == "claude-3");
    CHECK(r->metadata.provider == "bedrock");
    CHECK(r->metadata.attempts == 1);
    CHECK(json_at(r->body, "/choices/0/message/content") == "Hello from " + r->metadata.deployment_model + ".");
    CHECK(json_at(r->body, "/usage/total_tokens") == "18");
  }
  CHECK(bedrock.total() == kCalls);
  CHECK(bedrock.count(kSonnet) >= 10);  // simple-shuffle over equal weights: both carry a real share
  CHECK(bedrock.count(kHaiku) >= 10);
  CHECK(bedrock.count(kSonnet) + bedrock.count(kHaiku) == kCalls);
  const ReceivedRequest req = bedrock.requests().at(0);
  CHECK(req.method == "POST");
  CHECK(req.path.ends_with("/converse"));
  CHECK(req.header("authorization").find(fmt::format("/{}/bedrock/aws4_request", kTestRegion)) != std::string::npos);
  CHECK(json_at(req.body, "/messages/0/content/0/text") == "request 0");

  // Streamed: ConverseStream frames become OpenAI chunks with the usage.
  auto c = run_stream(*router, claude_request("claude-3", 99, R"("stream":true,"stream_options":{"include_usage":true})"));
  INFO(describe(*c.done));
  REQUIRE(c.done->ok());
  CHECK(c.text == "Hello from " + c.done->value().metadata.deployment_model + ".");
  REQUIRE(!c.chunks.empty());
  CHECK(json_at(c.chunks.back(), "/usage/total_tokens") == "18");
  CHECK(bedrock.requests().back().path.ends_with("/converse-stream"));
  check_no_rejections(bedrock);
}

// ---------------------------------------------------------------------------
// bedrock-fallbacks.yaml: claude-3-sonnet is bedrock/invalid; fallbacks send
// it to claude-3-haiku.

TEST_CASE("bedrock-fallbacks: the invalid model fails and falls back to haiku; no failed call",
          "[fixtures][bedrock]") {
  BedrockFake bedrock(kTestRegion);
  bedrock.export_environment();
  const std::string fixture = read_fixture("bedrock-fallbacks.yaml");
  auto router = make_router(fixture);
  const int kCalls = 5;
  for (int i = 0; i < kCalls; ++i) {
    auto r = router->completion(claude_request("claude-3-sonnet", i));
    INFO(describe(r));
    REQUIRE(r.ok());
    CHECK(r->metadata.requested_model == "claude-3-sonnet");
    CHECK(r->metadata.model_group == "claude-3-haiku");
    CHECK(r->metadata.fallbacks == 1);
    CHECK(json_at(r->body, "/choices/0/message/content") == std::string("Hello from ") + kHaiku + ".");
    REQUIRE(r->metadata.attempt_log.size() == 2);
    CHECK(r->metadata.attempt_log[0].model_group == "claude-3-sonnet");
    CHECK(r->metadata.attempt_log[0].error_type == "BadRequestError");
    CHECK(r->metadata.attempt_log[0].status == 400);
    CHECK(r->metadata.attempt_log[1].model_group == "claude-3-haiku");
  }
  // "invalid" is no Converse model and names no InvokeModel family: as in
  // LiteLLM, the request is refused before it is sent (a 400, so neither
  // retried under num_retries: 3 nor counted towards a cooldown); only haiku
  // was called.
  CHECK(bedrock.count("invalid") == 0);
  CHECK(bedrock.count(kHaiku) == kCalls);
  CHECK(bedrock.total() == kCalls);
  // Haiku asked directly: no detour.
  auto direct = router->completion(claude_request("claude-3-haiku", 100));
  REQUIRE(direct.ok());
  CHECK(direct->metadata.fallbacks == 0);
  CHECK(direct->metadata.attempts == 1);
  check_no_rejections(bedrock);

  // Control: without the fixture's fallbacks the user gets the invalid
  // model's error.
  std::string bare = fixture;
  const std::string line = "  fallbacks: [{\"claude-3-sonnet\": [\"claude-3-haiku\"]}]\n";
  REQUIRE(bare.find(line) != std::string::npos);
  bare.erase(bare.find(line), line.size());
  auto failed = make_router(bare)->completion(claude_request("claude-3-sonnet", 200));
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error().kind == ErrorKind::kBadRequest);
  CHECK_THAT(failed.error().message, Catch::Contains("bedrock/invalid"));
  CHECK(bedrock.total() == kCalls + 1);
}

// ---------------------------------------------------------------------------
// bedrock-rate-limit-aware.yaml: usage-based-routing-v2, sonnet rpm 10 /
// tpm 2000, haiku rpm 1 / tpm 10000, as two model groups.

TEST_CASE("bedrock-rate-limit-aware: sonnet takes 10 requests a minute, then is filtered until the minute turns",
          "[fixtures][bedrock][rate]") {
  BedrockFake bedrock(kTestRegion);
  bedrock.export_environment();
  VirtualClock clock;
  RouterOptions options;
  options.time_source = &clock;
  auto router = make_router_with(read_fixture("bedrock-rate-limit-aware.yaml"), options);

  for (int i = 0; i < 10; ++i) {
    auto r = router->completion(claude_request("claude-3-sonnet", i));
    INFO(describe(r));
    REQUIRE(r.ok());
    CHECK(r->metadata.deployment_model == kSonnet);
  }
  // The 11th in the same minute is filtered out before it reaches Bedrock.
  auto over = router->completion(claude_request("claude-3-sonnet", 10));
  REQUIRE_FALSE(over.ok());
  check_over_rate_limit(over);
  CHECK(bedrock.count(kSonnet) == 10);
  // Haiku's own limit is 1 request a minute.
  REQUIRE(router->completion(claude_request("claude-3-haiku", 0)).ok());
  auto haiku_over = router->completion(claude_request("claude-3-haiku", 1));
  REQUIRE_FALSE(haiku_over.ok());
  check_over_rate_limit(haiku_over);
  CHECK(bedrock.count(kHaiku) == 1);

  // The next minute: both serve again.
  clock.advance(60.0);
  auto again = router->completion(claude_request("claude-3-sonnet", 11));
  INFO(describe(again));
  REQUIRE(again.ok());
  REQUIRE(router->completion(claude_request("claude-3-haiku", 2)).ok());
  CHECK(bedrock.count(kSonnet) == 11);
  CHECK(bedrock.count(kHaiku) == 2);
  check_no_rejections(bedrock);
}

TEST_CASE("bedrock-rate-limit-aware: sonnet's 2000 tokens a minute, counted from Bedrock's usage",
          "[fixtures][bedrock][rate]") {
  BedrockFake bedrock(kTestRegion);
  bedrock.export_environment();
  BedrockFake::ModelBehavior big;
  big.output_tokens = 989;  // 11 in + 989 out = 1000 tokens a call
  bedrock.set(kSonnet, big);
  VirtualClock clock;
  RouterOptions options;
  options.time_source = &clock;
  auto router = make_router_with(read_fixture("bedrock-rate-limit-aware.yaml"), options);
  for (int i = 0; i < 2; ++i) {
    auto r = router->completion(claude_request("claude-3-sonnet", i));
    INFO(describe(r));
    REQUIRE(r.ok());
    CHECK(r->usage.total_tokens == 1000);
  }
  auto over = router->completion(claude_request("claude-3-sonnet", 2));  // 2000 used: no room for a prompt
  REQUIRE_FALSE(over.ok());
  check_over_rate_limit(over);
  CHECK(bedrock.count(kSonnet) == 2);
  clock.advance(60.0);
  REQUIRE(router->completion(claude_request("claude-3-sonnet", 3)).ok());
  CHECK(bedrock.count(kSonnet) == 3);
  check_no_rejections(bedrock);
}

// The comment's "traffic goes to the deployment with the lowest TPM use this
// minute" is a choice among the deployments of one model_name; the fixture's
// two deployments have different names (and no fallbacks), so it is shown on
// the fixture with haiku's model_name set to claude-3-sonnet (the only edit).
TEST_CASE("bedrock-rate-limit-aware (one group): lowest TPM use wins, a deployment over its rpm is filtered",
          "[fixtures][bedrock][rate]") {
  BedrockFake bedrock(kTestRegion);
  bedrock.export_environment();
  VirtualClock clock;
  RouterOptions options;
  options.time_source = &clock;
  std::string one_group = read_fixture("bedrock-rate-limit-aware.yaml");
  const std::string haiku_name = "  - model_name: claude-3-haiku\n";
  REQUIRE(one_group.find(haiku_name) != std::string::npos);
  one_group.replace(one_group.find(haiku_name), haiku_name.size(), "  - model_name: claude-3-sonnet\n");
  auto router = make_router_with(one_group, options);

  std::vector<std::string> served;
  for (int i = 0; i < 11; ++i) {
    auto r = router->completion(claude_request("claude-3-sonnet", i));
    INFO(i << ": " << describe(r));
    REQUIRE(r.ok());
    served.push_back(r->metadata.deployment_model);
  }
  // The first two calls go to different deployments: after one call, the
  // other has the lower TPM use.
  CHECK(served[0] != served[1]);
  // Haiku (rpm 1) is then filtered; sonnet takes the rest of its 10.
  CHECK(bedrock.count(kHaiku) == 1);
  CHECK(bedrock.count(kSonnet) == 10);
  for (size_t i = 2; i < served.size(); ++i) CHECK(served[i] == kSonnet);
  auto over = router->completion(claude_request("claude-3-sonnet", 11));
  REQUIRE_FALSE(over.ok());
  check_over_rate_limit(over);
  CHECK(bedrock.total() == 11);
  check_no_rejections(bedrock);
}

// ---------------------------------------------------------------------------
// bedrock-latency-based.yaml: latency-based-routing over two deployments.

TEST_CASE("bedrock-latency-based: the faster deployment gets the traffic", "[fixtures][bedrock][latency]") {
  BedrockFake bedrock(kTestRegion);
  bedrock.export_environment();
  BedrockFake::ModelBehavior slow;
  slow.delay = Millis(400);  // sonnet answers 400 ms slower
  bedrock.set(kSonnet, slow);
  auto router = make_router(read_fixture("bedrock-latency-based.yaml"));
  // Until both have a latency sample, an unmeasured deployment counts as 0.
  for (int i = 0; i < 4; ++i) REQUIRE(router->completion(claude_request("claude-3", i)).ok());
  CHECK(bedrock.count(kSonnet) >= 1);  // it was measured
  const size_t sonnet_before = bedrock.count(kSonnet);
  const size_t haiku_before = bedrock.count(kHaiku);
  for (int i = 0; i < 20; ++i) {
    auto r = router->completion(claude_request("claude-3", 10 + i));
    INFO(describe(r));
    REQUIRE(r.ok());
    CHECK(r->metadata.deployment_model == kHaiku);
  }
  CHECK(bedrock.count(kSonnet) == sonnet_before);
  CHECK(bedrock.count(kHaiku) == haiku_before + 20);
  check_no_rejections(bedrock);
}

// ---------------------------------------------------------------------------
// cloud-cost-based.yaml: gpt-oss on Vertex AI (cheaper) and Bedrock.

TEST_CASE("cloud-cost-based: all traffic to the cheaper Vertex; its outage cools it down for 60 s and shifts "
          "everything to Bedrock with no failed call; then it returns",
          "[fixtures][bedrock][vertex][cost]") {
  BedrockFake bedrock("us-west-2");  // the fixture's aws_region_name
  bedrock.export_environment();
  VertexFake vertex;
  vertex.export_environment();
  VirtualClock clock;
  RouterOptions options;
  options.time_source = &clock;
  auto router = make_router_with(read_fixture("cloud-cost-based.yaml"), options);

  // Cheapest first: Vertex serves both models.
  for (int i = 0; i < 10; ++i) {
    for (const std::string group : {"gpt-oss-120b", "gpt-oss-20b"}) {
      auto r = router->completion(claude_request(group, i));
      INFO(describe(r));
      REQUIRE(r.ok());
      CHECK(r->metadata.provider == "vertex_ai");
      CHECK(json_at(r->body, "/choices/0/message/content") == "Hello from Vertex openai/" + group + "-maas.");
    }
  }
  CHECK(bedrock.total() == 0);
  CHECK(vertex.model_calls() == 20);
  CHECK(vertex.google.token_fetches() >= 1);
  CHECK(vertex.google.rejections().empty());

  // Vertex goes down (503): the calls are retried onto Bedrock at once (a
  // two-deployment group with a healthy member: no back-off); Vertex cools down
  // once its failures pass allowed_fails: 2, and is then left alone.
  vertex.failure_status = 503;
  const size_t vertex_before = vertex.model_calls();
  for (int i = 0; i < 10; ++i) {
    for (const std::string group : {"gpt-oss-120b", "gpt-oss-20b"}) {
      auto r = router->completion(claude_request(group, 100 + i));
      INFO(describe(r));
      REQUIRE(r.ok());
      CHECK(r->metadata.provider == "bedrock");
      CHECK(r->metadata.model_group == group);
      CHECK(r->metadata.fallbacks == 0);
      CHECK(json_at(r->body, "/choices/0/message/content") == "Hello from openai." + group + "-1:0.");
    }
  }
  // Per Vertex deployment: failures 1 and 2 are allowed, the 3rd (more than
  // allowed_fails) cools it down; each failed attempt was retried at once.
  const size_t vertex_failures = vertex.model_calls() - vertex_before;
  CHECK(vertex_failures == 2 * 3);
  CHECK(bedrock.count("openai.gpt-oss-120b-1:0") == 10);
  CHECK(bedrock.count("openai.gpt-oss-20b-1:0") == 10);
  const ReceivedRequest req = bedrock.requests().at(0);
  CHECK(req.path == "/model/openai.gpt-oss-120b-1%3A0/converse");
  CHECK(req.header("authorization").find("/us-west-2/bedrock/aws4_request") != std::string::npos);
  // A stream during the outage: ConverseStream from Bedrock, nothing to Vertex.
  auto c = run_stream(*router, claude_request("gpt-oss-120b", 150, R"("stream":true)"));
  INFO(describe(*c.done));
  REQUIRE(c.done->ok());
  CHECK(c.text == "Hello from openai.gpt-oss-120b-1:0.");
  CHECK(bedrock.requests().back().path == "/model/openai.gpt-oss-120b-1%3A0/converse-stream");
  CHECK(vertex.model_calls() - vertex_before == vertex_failures);

  // Repaired, but still cooling down for 60 s: Bedrock keeps the traffic.
  vertex.failure_status = 0;
  clock.advance(59.0);
  for (const std::string group : {"gpt-oss-120b", "gpt-oss-20b"}) {
    auto r = router->completion(claude_request(group, 200));
    REQUIRE(r.ok());
    CHECK(r->metadata.provider == "bedrock");
  }
  CHECK(vertex.model_calls() - vertex_before == vertex_failures);
  // After the cooldown: back to the cheaper Vertex.
  clock.advance(2.0);
  for (int i = 0; i < 5; ++i) {
    for (const std::string group : {"gpt-oss-120b", "gpt-oss-20b"}) {
      auto r = router->completion(claude_request(group, 300 + i));
      INFO(describe(r));
      REQUIRE(r.ok());
      CHECK(r->metadata.provider == "vertex_ai");
    }
  }
  CHECK(bedrock.count("openai.gpt-oss-120b-1:0") == 12);
  CHECK(bedrock.count("openai.gpt-oss-20b-1:0") == 11);
  check_no_rejections(bedrock);
  CHECK(vertex.google.rejections().empty());
}

}  // namespace llmux::testing
