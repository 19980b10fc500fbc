// Every deadline fires: connect, first byte, stream idle, total.
#include <atomic>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "integration/test_util.hpp"

using namespace llmux;
using namespace llmux::testing;

TEST_CASE("total timeout: a slow non-stream answer times out and fails over", "[router][timeout]") {
  FakeProvider slow, fast;
  Behavior b = Behavior::ok("too late");
  b.delay = std::chrono::milliseconds(3000);
  slow.set_default(b);
  std::string cfg = "model_list:\n" + deployment_yaml("g", "m", slow, "", "slow") +
                    deployment_yaml("h", "m", fast, "", "fast") +
                    "router_settings:\n  timeout: 0.3\n  num_retries: 0\n  fallbacks:\n    - g: [h]\n";
  auto router = make_router(cfg);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = router->completion(chat_request("g"));
  REQUIRE(r.ok());
  CHECK(r->metadata.deployment_id == "fast");
  CHECK(seconds_between(t0, std::chrono::steady_clock::now()) < 2.5);

  auto direct = router->completion(chat_request("g", R"("disable_fallbacks":true)"));
  REQUIRE_FALSE(direct.ok());
  CHECK(direct.error().kind == ErrorKind::kTimeout);
  CHECK(direct.error().status == 408);
}

TEST_CASE("per-request timeout overrides the router's", "[router][timeout]") {
  FakeProvider slow;
  Behavior b = Behavior::ok();
  b.delay = std::chrono::milliseconds(3000);
  slow.set_default(b);
  auto router = make_router("model_list:\n" + deployment_yaml("g", "m", slow) + "router_settings:\n  num_retries: 0\n");
  auto r = router->completion(chat_request("g", R"("timeout":0.2)"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::kTimeout);
}

TEST_CASE("first-token timeout: a silent stream fails over when there is somewhere to go, and is not retried in place",
          "[router][timeout]") {
  FakeProvider hang, good;
  hang.set_default(Behavior::hang());
  good.set_default(Behavior::streaming("from the fallback", 2));
  auto router = make_router("model_list:\n" + deployment_yaml("g", "m", hang, "", "silent") +
                            deployment_yaml("backup", "m", good, "", "good") +
                            "router_settings:\n  first_token_timeout: 0.2\n  num_retries: 3\n"
                            "  fallbacks: [{\"g\": [\"backup\"]}]\n");
  const auto t0 = std::chrono::steady_clock::now();
  auto c = run_stream(*router, chat_request("g"));
  REQUIRE(c.done->ok());
  CHECK(c.text == "from the fallback");
  CHECK(c.done->value().metadata.model_group == "backup");
  CHECK(hang.request_count() == 1);  // failed over, not retried in place despite num_retries: 3
  CHECK(seconds_between(t0, std::chrono::steady_clock::now()) < 5);
}

TEST_CASE("first-token timeout: with nowhere else to go a slow first token is waited for", "[router][timeout]") {
  FakeProvider slow;
  Behavior b = Behavior::streaming("worth the wait", 2);
  b.delay = Millis(400);
  slow.set_default(b);
  auto router = make_router("model_list:\n" + deployment_yaml("g", "m", slow) +
                            "router_settings:\n  first_token_timeout: 0.1\n  num_retries: 0\n");
  auto c = run_stream(*router, chat_request("g"));
  REQUIRE(c.done->ok());
  CHECK(c.text == "worth the wait");
  CHECK(slow.request_count() == 1);
}

TEST_CASE("a per-request first_token_timeout applies even without an alternative", "[router][timeout]") {
  FakeProvider hang;
  hang.set_default(Behavior::hang());
  auto router = make_router("model_list:\n" + deployment_yaml("g", "m", hang) + "router_settings:\n  num_retries: 0\n");
  const auto t0 = std::chrono::steady_clock::now();
  auto r = router->completion(chat_request("g", R"("first_token_timeout":0.2)"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::kTimeout);
  CHECK(seconds_between(t0, std::chrono::steady_clock::now()) < 5);
}

TEST_CASE("total_timeout bounds the whole call: retries, waits and the stream", "[router][timeout]") {
  FakeProvider failing;
  failing.set_default(Behavior::error(500, "boom", "server_error"));
  // One deployment: every retry waits 0.5·2^k s; a 1 s total leaves room for ~1.
  auto router = make_router("model_list:\n" + deployment_yaml("g", "m", failing) +
                            "router_settings:\n  num_retries: 10\n  total_timeout: 1\n");
  const auto t0 = std::chrono::steady_clock::now();
  auto r = router->completion(chat_request("g"));
  const double took = seconds_between(t0, std::chrono::steady_clock::now());
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::kInternalServer);  // the provider's error, not a generic one
  CHECK(failing.request_count() < 5);
  CHECK(took < 5);

  FakeProvider trickle;
  Behavior b = Behavior::streaming("a b c d e f g h i j", 10);
  b.event_interval = Millis(150);
  trickle.set_default(b);
  auto r2 = make_router("model_list:\n" + deployment_yaml("g", "m", trickle) + "router_settings:\n  num_retries: 0\n");
  auto c = run_stream(*r2, chat_request("g", R"("total_timeout":0.5)"));
  REQUIRE_FALSE(c.done->ok());
  CHECK(c.done->error().kind == ErrorKind::kMidStream);  // content had been delivered
  CHECK(c.done->error().message.find("Timeout") != std::string::npos);
}

TEST_CASE("stream idle timeout: a stalled stream before content fails over, after content errors", "[router][timeout]") {
  FakeProvider stall_early, good;
  Behavior early = Behavior::streaming("never", 3);
  early.stall_after_events = 1;  // role chunk only
  stall_early.set_default(early);
  good.set_default(Behavior::streaming("recovered", 1));
  std::string cfg = "model_list:\n" + deployment_yaml("g", "m", stall_early, "", "stall") +
                    deployment_yaml("g", "m", good, "", "good") + "router_settings:\n  stream_idle_timeout: 0.3\n";
  auto router = make_router(cfg);
  for (int i = 0; i < 3; ++i) {
    auto c = run_stream(*router, chat_request("g"));
    REQUIRE(c.done->ok());
    CHECK(c.text == "recovered");
    CHECK(c.done->value().metadata.deployment_id == "good");
  }

  FakeProvider stall_late;
  Behavior late = Behavior::streaming("a b c d", 4);
  late.stall_after_events = 3;
  stall_late.set_default(late);
  auto r2 = make_router("model_list:\n" + deployment_yaml("g", "m", stall_late) +
                        "router_settings:\n  stream_idle_timeout: 0.3\n");
  auto c2 = run_stream(*r2, chat_request("g"));
  auto& done = c2.done;
  REQUIRE_FALSE(done->ok());
  CHECK(done->error().kind == ErrorKind::kMidStream);
  CHECK(done->error().message.find("Timeout") != std::string::npos);
}

TEST_CASE("connect timeout: a listener whose accept queue is full never completes the handshake", "[router][timeout]") {
  // A socket that listens but never accepts, its backlog filled by our own
  // connections: further SYNs are dropped, so connect() hangs (loopback only).
  int lsock = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(lsock >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(lsock, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(lsock, 0) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(lsock, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  const int port = ntohs(addr.sin_port);
  std::vector<int> fillers;
  for (int i = 0; i < 8; ++i) {
    int s = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    ::connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    fillers.push_back(s);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::string cfg = fmt::format(
      "model_list:\n  - model_name: g\n    litellm_params:\n      model: openai/m\n      api_base: http://127.0.0.1:{}/v1\n"
      "router_settings:\n  connect_timeout: 0.3\n  num_retries: 0\n",
      port);
  auto router = make_router(cfg);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = router->completion(chat_request("g"));
  const double took = seconds_between(t0, std::chrono::steady_clock::now());
  for (int s : fillers) ::close(s);
  ::close(lsock);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::kTimeout);
  CHECK(r.error().message.find("connect") != std::string::npos);
  CHECK(took < 5);
}

TEST_CASE("a refused connection is a connection error, failed over", "[router][timeout]") {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&addr), &len);
  const int port = ntohs(addr.sin_port);
  ::close(s);  // nothing listens there now
  FakeProvider good;
  std::string cfg = fmt::format(
      "model_list:\n  - model_name: g\n    litellm_params:\n      model: openai/m\n      api_base: http://127.0.0.1:{}/v1\n"
      "    model_info:\n      id: dead\n",
      port) + deployment_yaml("g", "m", good, "", "good");
  auto router = make_router(cfg);
  for (int i = 0; i < 5; ++i) {
    auto r = router->completion(chat_request("g"));
    REQUIRE(r.ok());
    CHECK(r->metadata.deployment_id == "good");
  }
  auto only_dead = make_router(fmt::format(
      "model_list:\n  - model_name: g\n    litellm_params:\n      model: openai/m\n      api_base: http://127.0.0.1:{}/v1\n"
      "router_settings:\n  num_retries: 0\n",
      port));
  auto e = only_dead->completion(chat_request("g"));
  REQUIRE_FALSE(e.ok());
  CHECK(e.error().kind == ErrorKind::kConnectionError);
  CHECK(e.error().provider_status == 0);
}

// Issue 9 §7b, over loopback: first_token_timeout bounds the first content
// token, not the response head: a provider that answers its head at once and
// then nothing is failed over at the limit.
TEST_CASE("first-token timeout: a stream whose head comes at once but whose first token does not fails over",
          "[router][timeout]") {
  FakeProvider slow, good;
  Behavior b = Behavior::streaming("too late", 2);
  b.event_interval = Millis(3000);  // the head at once, each event 3 s later
  slow.set_default(b);
  good.set_default(Behavior::streaming("from the fallback", 2));
  auto router = make_router("model_list:\n" + deployment_yaml("g", "m", slow, "", "slow") +
                            deployment_yaml("backup", "m", good, "", "good") +
                            "router_settings:\n  num_retries: 2\n  fallbacks: [{\"g\": [\"backup\"]}]\n");
  auto c = run_stream(*router, chat_request("g", R"("first_token_timeout":0.3)"));
  REQUIRE(c.done->ok());
  CHECK(c.text == "from the fallback");
  CHECK(slow.request_count() == 1);
  CHECK(c.done->value().metadata.model_group == "backup");
}

TEST_CASE("first-token timeout: a non-streaming call's first body byte is bounded by the request's limit",
          "[router][timeout]") {
  FakeProvider slow, good;
  Behavior b = Behavior::ok("too late");
  b.delay = Millis(3000);
  slow.set_default(b);
  auto router = make_router("model_list:\n" + deployment_yaml("g", "m", slow, "", "slow") +
                            deployment_yaml("backup", "m", good, "", "good") +
                            "router_settings:\n  num_retries: 2\n  fallbacks: [{\"g\": [\"backup\"]}]\n");
  auto r = router->completion(chat_request("g", R"("first_token_timeout":0.3)"));
  REQUIRE(r.ok());
  CHECK(r->metadata.deployment_id == "good");
  CHECK(slow.request_count() == 1);
}
