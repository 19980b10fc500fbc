// Streams that fail after content was delivered go on elsewhere: by assistant
// prefill where the target accepts it, else by a restart whose repeated
// prefix is suppressed; a restart that diverges ends with a mid-stream error.
// Real HTTP; the fake provider's stream generator splits `text` into equal
// byte parts, so "Hi! How are you?" in 4 parts is "Hi! ", "How ", "are ", "you?".
#include <atomic>

#include "test_util.hpp"

namespace llmux::testing {
namespace {

constexpr const char* kText = "Hi! How are you?";

// Streams kText and dies after two content parts ("Hi! How " delivered).
Behavior cut_after_two_parts() {
  Behavior b = Behavior::streaming(kText, 4);
  b.cut_after_events = 3;  // role + 2 content parts
  return b;
}

std::string last_message(const ReceivedRequest& req, std::string* role) {
  simdjson::ondemand::parser parser;
  simdjson::padded_string padded(req.body);
  auto doc = parser.iterate(padded);
  std::string content;
  for (auto m : doc["messages"].get_array()) {
    std::string_view r, c;
    if (m["role"].get_string().get(r) == simdjson::SUCCESS) *role = std::string(r);
    if (m["content"].get_string().get(c) == simdjson::SUCCESS) content = std::string(c);
  }
  return content;
}

// Two deployments of one group share a script: the first request (whichever
// deployment gets it) is cut after "Hi! How ", the next one gets `then`. The
// router must send the continuation to the other deployment.
struct SharedScript {
  std::atomic<int> seen{0};
  Behavior then;
  explicit SharedScript(Behavior b) : then(std::move(b)) {}
  void attach(FakeProvider& p) {
    p.set_handler([this](const ReceivedRequest&) { return seen++ == 0 ? cut_after_two_parts() : then; });
  }
};

std::string vllm_yaml(const std::string& group, const FakeProvider& p, const std::string& id) {
  return fmt::format("  - model_name: {}\n    litellm_params:\n      model: hosted_vllm/m\n      api_base: {}\n"
                     "    model_info:\n      id: {}\n",
                     group, p.base_url(), id);
}

}  // namespace

TEST_CASE("continuation by prefill: the next deployment continues the delivered text", "[router][continuation]") {
  FakeProvider a, b;
  SharedScript script(Behavior::streaming("are you?", 2));
  script.attach(a);
  script.attach(b);
  // hosted_vllm accepts an assistant prefill (continue_final_message).
  auto router = make_router("model_list:\n" + vllm_yaml("g", a, "a") + vllm_yaml("g", b, "b"));
  auto c = run_stream(*router, chat_request("g"));
  INFO((c.done->ok() ? std::string("ok") : c.done->error().to_string()));
  REQUIRE(c.done->ok());
  CHECK(c.text == kText);
  const auto& m = c.done->value().metadata;
  CHECK(m.stream_continuations == 1);
  CHECK(c.done->value().finish_reason == "stop");
  REQUIRE(a.request_count() + b.request_count() == 2);
  REQUIRE(a.request_count() == 1);  // the continuation went to the other deployment
  FakeProvider& second = m.deployment_id == "a" ? a : b;
  const auto req = second.requests()[0];
  std::string role;
  CHECK(last_message(req, &role) == "Hi! How ");
  CHECK(role == "assistant");
  CHECK(req.body.find("\"continue_final_message\":true") != std::string::npos);
  CHECK(req.body.find("\"add_generation_prompt\":false") != std::string::npos);
}

TEST_CASE("continuation by restart: the repeated prefix is suppressed, the consumer sees one coherent text",
          "[router][continuation]") {
  FakeProvider a, b;
  // openai deployments without prefill support answer anew, here split
  // differently: "Hi! H", "ow ar", "e you?" — the crossing chunk is rewritten.
  SharedScript script(Behavior::streaming(kText, 3));
  script.attach(a);
  script.attach(b);
  auto router = make_router("model_list:\n" + deployment_yaml("g", "m", a, "", "a") + deployment_yaml("g", "m", b, "", "b"));
  auto c = run_stream(*router, chat_request("g"));
  INFO((c.done->ok() ? std::string("ok") : c.done->error().to_string()));
  REQUIRE(c.done->ok());
  CHECK(c.text == kText);
  CHECK(c.done->value().metadata.stream_continuations == 1);
  REQUIRE(a.request_count() == 1);
  REQUIRE(b.request_count() == 1);
  FakeProvider& second = c.done->value().metadata.deployment_id == "a" ? a : b;
  std::string role;
  CHECK(last_message(second.requests()[0], &role) == "Say hello");  // the original request, unchanged
  CHECK(role == "user");
  // Every chunk the consumer got is valid JSON carrying the right id/model shape.
  for (const auto& chunk : c.chunks) {
    simdjson::ondemand::parser parser;
    simdjson::padded_string padded(chunk);
    auto doc = parser.iterate(padded);
    std::string_view object;
    CHECK(doc["object"].get_string().get(object) == simdjson::SUCCESS);
    CHECK(object == "chat.completion.chunk");
  }
}

TEST_CASE("continuation by restart that diverges ends with a mid-stream error, never a wrong text",
          "[router][continuation]") {
  FakeProvider a, b;
  SharedScript script(Behavior::streaming("Hello! How are things?", 4));
  script.attach(a);
  script.attach(b);
  auto router = make_router("model_list:\n" + deployment_yaml("g", "m", a, "", "a") + deployment_yaml("g", "m", b, "", "b") +
                            "router_settings:\n  num_retries: 1\n");
  auto c = run_stream(*router, chat_request("g"));
  REQUIRE_FALSE(c.done->ok());
  INFO(c.done->error().to_string());
  CHECK(c.done->error().kind == ErrorKind::kMidStream);
  CHECK(c.done->error().message.find("diverged") != std::string::npos);
  CHECK(c.text == "Hi! How ");  // nothing of the divergent restart reached the consumer
}

TEST_CASE("continuation on a fallback group; with nowhere to go the stream ends with a mid-stream error",
          "[router][continuation]") {
  FakeProvider first, fallback;
  first.set_default(cut_after_two_parts());
  fallback.set_default(Behavior::streaming(kText, 2));  // "Hi! How ", "are you?"
  {
    const std::string cfg = "model_list:\n" + deployment_yaml("g", "m", first, "", "first") +
                            deployment_yaml("backup", "m", fallback, "", "fb") +
                            "router_settings:\n  num_retries: 0\n  fallbacks: [{\"g\": [\"backup\"]}]\n";
    auto router = make_router(cfg);
    auto c = run_stream(*router, chat_request("g"));
    REQUIRE(c.done->ok());
    CHECK(c.text == kText);
    CHECK(c.done->value().metadata.model_group == "backup");
    CHECK(c.done->value().metadata.fallbacks == 1);
    CHECK(first.request_count() == 1);
    CHECK(fallback.request_count() == 1);
  }
  {
    FakeProvider alone;
    alone.set_default(cut_after_two_parts());
    auto router = make_router("model_list:\n" + deployment_yaml("g", "m", alone, "", "alone") +
                              "router_settings:\n  num_retries: 0\n");
    auto c = run_stream(*router, chat_request("g"));
    REQUIRE_FALSE(c.done->ok());
    CHECK(c.done->error().kind == ErrorKind::kMidStream);
    CHECK(c.text == "Hi! How ");
    CHECK(alone.request_count() == 1);
  }
}

}  // namespace llmux::testing

namespace llmux::testing {

// Issue 9 §7a, over loopback: a stream that stalls after content was
// delivered is a silent deployment — continued on the fallback as soon as the
// idle limit passes, not retried in place (which waited the limit out again,
// twice, before the fallback).
TEST_CASE("a stream that stalls after content continues on the fallback at once, not retried in place",
          "[router][continuation][timeout]") {
  FakeProvider a, b;
  Behavior stall = Behavior::streaming(kText, 4);
  stall.stall_after_events = 3;  // role + "Hi! How ", then silence on an open connection
  a.set_default(stall);
  b.set_default(Behavior::streaming("are you?", 2));
  auto router = make_router("model_list:\n" + vllm_yaml("g", a, "a") + vllm_yaml("backup", b, "b") +
                            "router_settings:\n  num_retries: 2\n  stream_idle_timeout: 0.3\n"
                            "  fallbacks: [{\"g\": [\"backup\"]}]\n");
  const auto t0 = std::chrono::steady_clock::now();
  auto c = run_stream(*router, chat_request("g"));
  INFO((c.done->ok() ? std::string("ok") : c.done->error().to_string()));
  REQUIRE(c.done->ok());
  CHECK(c.text == kText);
  CHECK(a.request_count() == 1);
  CHECK(b.request_count() == 1);
  CHECK(c.done->value().metadata.model_group == "backup");
  CHECK(seconds_between(t0, std::chrono::steady_clock::now()) >= 0.3);
}

}  // namespace llmux::testing
