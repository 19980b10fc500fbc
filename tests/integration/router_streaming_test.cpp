// Streaming: chunks in order, invisible failover before the first token,
// clean mid-stream errors after it, malformed events, missing [DONE].
#include <atomic>
#include <thread>

#include <simdjson.h>

#include "integration/test_util.hpp"

using namespace llmux;
using namespace llmux::testing;


TEST_CASE("a stream delivers every chunk in order, then done with usage", "[router][stream]") {
  FakeProvider p;
  p.set_default(Behavior::streaming("one two three four five six", 6));
  auto router = make_router("model_list:\n" + deployment_yaml("g", "m", p, "", "d1"));
  auto c = run_stream(*router, chat_request("g"));
  REQUIRE(c.done->ok());
  CHECK(c.done_calls == 1);
  CHECK(c.text == "one two three four five six");
  const Response& r = c.done->value();
  CHECK(r.body.empty());
  CHECK(r.usage.reported);  // llmux asks for usage even when the caller did not
  CHECK(r.usage.completion_tokens > 0);
  CHECK(r.finish_reason == "stop");
  CHECK(r.metadata.deployment_id == "d1");
  CHECK(r.metadata.time_to_first_token_ms >= 0);
  // The caller did not ask for usage: the usage-only chunk is not passed on.
  for (const auto& ch : c.chunks) CHECK(ch.find(R"("choices":[])") == std::string::npos);
  auto reqs = p.requests();
  REQUIRE(reqs.size() == 1);
  CHECK(reqs[0].body.find(R"("stream":true)") != std::string::npos);
  CHECK(reqs[0].body.find(R"("include_usage":true)") != std::string::npos);
}

TEST_CASE("stream_options.include_usage from the caller passes the usage chunk through", "[router][stream]") {
  FakeProvider p;
  p.set_default(Behavior::streaming("alpha beta", 2));
  auto router = make_router("model_list:\n" + deployment_yaml("g", "m", p));
  auto c = run_stream(*router, chat_request("g", R"("stream":true,"stream_options":{"include_usage":true})"));
  REQUIRE(c.done->ok());
  REQUIRE_FALSE(c.chunks.empty());
  CHECK(c.chunks.back().find("usage") != std::string::npos);
}

TEST_CASE("a stream cut before the first token fails over invisibly", "[router][stream]") {
  FakeProvider bad, good;
  Behavior cut = Behavior::streaming("never seen", 4);
  cut.cut_after_events = 1;  // only the role chunk, then the connection drops
  bad.set_default(cut);
  good.set_default(Behavior::streaming("clean answer here", 3));
  std::string cfg = "model_list:\n" + deployment_yaml("g", "m", bad, "", "bad") + deployment_yaml("g", "m", good, "", "good");
  auto router = make_router(cfg);
  for (int i = 0; i < 6; ++i) {
    auto c = run_stream(*router, chat_request("g"));
    REQUIRE(c.done->ok());
    CHECK(c.text == "clean answer here");
    CHECK(c.done->value().metadata.deployment_id == "good");
    // Exactly one role chunk reached the consumer, never the failed attempt's.
    int role_chunks = 0;
    for (const auto& ch : c.chunks) role_chunks += ch.find(R"("role":"assistant")") != std::string::npos;
    CHECK(role_chunks == 1);
  }
}

TEST_CASE("a stream cut after content ends with a mid-stream error, never success", "[router][stream]") {
  FakeProvider p;
  Behavior cut = Behavior::streaming("a b c d e f", 6);
  cut.cut_after_events = 3;  // role + two content chunks
  p.set_default(cut);
  auto router = make_router("model_list:\n" + deployment_yaml("g", "m", p));
  auto c = run_stream(*router, chat_request("g"));
  REQUIRE_FALSE(c.done->ok());
  CHECK(c.done->error().kind == ErrorKind::kMidStream);
  CHECK_FALSE(c.text.empty());
  CHECK(c.done_calls == 1);
}

TEST_CASE("a malformed SSE event is skipped and counted", "[router][stream]") {
  FakeProvider p;
  Behavior b = Behavior::streaming("x y z", 3);
  b.malformed_after_events = 2;
  p.set_default(b);
  auto router = make_router("model_list:\n" + deployment_yaml("g", "m", p));
  auto c = run_stream(*router, chat_request("g"));
  REQUIRE(c.done->ok());
  CHECK(c.text == "x y z");
  CHECK(c.done->value().metadata.malformed_events == 1);
}

TEST_CASE("a stream that ends cleanly without [DONE] finishes at once", "[router][stream]") {
  FakeProvider p;
  Behavior b = Behavior::streaming("no done marker", 3);
  b.send_done = false;
  p.set_default(b);
  auto router = make_router("model_list:\n" + deployment_yaml("g", "m", p) + "router_settings:\n  stream_idle_timeout: 30\n");
  const auto t0 = std::chrono::steady_clock::now();
  auto c = run_stream(*router, chat_request("g"));
  REQUIRE(c.done->ok());
  CHECK(c.text == "no done marker");
  CHECK(seconds_between(t0, std::chrono::steady_clock::now()) < 20);  // not the 30 s idle limit
}

TEST_CASE("an error status before the stream starts is retried on another deployment", "[router][stream]") {
  FakeProvider bad, good;
  bad.set_default(Behavior::error(503, "warming up", "server_error"));
  good.set_default(Behavior::streaming("served", 1));
  std::string cfg = "model_list:\n" + deployment_yaml("g", "m", bad, "", "bad") + deployment_yaml("g", "m", good, "", "good");
  auto router = make_router(cfg);
  for (int i = 0; i < 4; ++i) {
    auto c = run_stream(*router, chat_request("g"));
    REQUIRE(c.done->ok());
    CHECK(c.text == "served");
  }
}

TEST_CASE("the consumer can stop a stream", "[router][stream]") {
  FakeProvider p;
  Behavior b = Behavior::streaming("1 2 3 4 5 6 7 8", 8);
  b.event_interval = std::chrono::milliseconds(20);
  p.set_default(b);
  auto router = make_router("model_list:\n" + deployment_yaml("g", "m", p));
  std::atomic<int> chunks{0};
  std::atomic<bool> finished{false};
  std::optional<Error> err;
  router->stream(
      chat_request("g"), [&](std::string_view) { return ++chunks < 3; },
      [&](Result<Response> r) {
        if (!r.ok()) err = r.error();
        finished = true;
      });
  for (int i = 0; i < 2000 && !finished; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  REQUIRE(finished);
  REQUIRE(err.has_value());
  CHECK(err->kind == ErrorKind::kCancelled);
  CHECK(chunks == 3);
}

TEST_CASE("mock_response streams without a network call", "[router][stream]") {
  FakeProvider p;
  auto router = make_router("model_list:\n" + deployment_yaml("g", "m", p));
  auto c = run_stream(*router, chat_request("g", R"("mock_response":"mocked streaming text")"));
  REQUIRE(c.done->ok());
  CHECK(c.text == "mocked streaming text");
  CHECK(p.request_count() == 0);
}
