// Self-test of the scripted fake provider: a real libcurl client against the
// real loopback server.
#include "support/fake_provider.hpp"

#include <curl/curl.h>
#include <simdjson.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "common/strings.hpp"

namespace {

using llmux::testing::Behavior;
using llmux::testing::FakeProvider;
using llmux::testing::Millis;
using Clock = std::chrono::steady_clock;

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
  ~CurlGlobal() { curl_global_cleanup(); }
};
const CurlGlobal kCurlGlobal;

size_t append_body(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

struct Reply {
  CURLcode code = CURLE_OK;
  long status = 0;
  std::string body;
  std::string headers;  // raw header block(s), lower-cased
  Clock::duration elapsed{};

  bool has_header(const std::string& line) const { return headers.find(line) != std::string::npos; }
};

struct Options {
  std::string path = "/chat/completions";
  std::string method = "POST";
  long timeout_ms = 5000;
  std::vector<std::string> headers;
  bool raw_transfer = false;  // keep chunked framing in the body
};

// Performs one request on `handle` (reused handles keep their connection).
Reply perform(CURL* handle, const FakeProvider& fake, const std::string& body, const Options& opt = {}) {
  Reply reply;
  const std::string url = fake.base_url() + opt.path;
  curl_easy_setopt(handle, CURLOPT_URL, url.c_str());
  if (opt.method == "POST") {
    curl_easy_setopt(handle, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  } else {
    curl_easy_setopt(handle, CURLOPT_HTTPGET, 1L);
  }
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  for (const std::string& h : opt.headers) headers = curl_slist_append(headers, h.c_str());
  curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, opt.timeout_ms);
  curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(handle, CURLOPT_HTTP_TRANSFER_DECODING, opt.raw_transfer ? 0L : 1L);
  curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, append_body);
  curl_easy_setopt(handle, CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, append_body);
  curl_easy_setopt(handle, CURLOPT_HEADERDATA, &reply.headers);
  const auto start = Clock::now();
  reply.code = curl_easy_perform(handle);
  reply.elapsed = Clock::now() - start;
  curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &reply.status);
  curl_slist_free_all(headers);
  reply.headers = llmux::ascii_lower(reply.headers);
  return reply;
}

Reply request(const FakeProvider& fake, const std::string& body, const Options& opt = {}) {
  CURL* handle = curl_easy_init();
  Reply reply = perform(handle, fake, body, opt);
  curl_easy_cleanup(handle);
  return reply;
}

const std::string kChatBody = R"({"model":"gpt-test","messages":[{"role":"user","content":"hi there"}]})";
const std::string kStreamBody =
    R"({"model":"gpt-stream","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]})";

// SSE "data:" payloads of a decoded stream body.
std::vector<std::string> sse_payloads(const std::string& body) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (true) {
    const size_t end = body.find("\n\n", pos);
    if (end == std::string::npos) break;
    std::string event = body.substr(pos, end - pos);
    REQUIRE(event.rfind("data: ", 0) == 0);
    out.push_back(event.substr(6));
    pos = end + 2;
  }
  return out;
}

std::string message_content(const std::string& body) {
  simdjson::dom::parser parser;
  std::string_view content;
  REQUIRE(parser.parse(body)["choices"].at(0)["message"]["content"].get_string().get(content) ==
          simdjson::SUCCESS);
  return std::string(content);
}

std::string error_field(const std::string& body, const char* field) {
  simdjson::dom::parser parser;
  std::string_view value;
  REQUIRE(parser.parse(body)["error"][field].get_string().get(value) == simdjson::SUCCESS);
  return std::string(value);
}

template <typename Pred>
bool wait_until(Pred pred, Millis limit = Millis{5000}) {
  const auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(Millis{5});
  }
  return pred();
}

}  // namespace

TEST_CASE("default answer is a valid chat.completion echoing the model") {
  FakeProvider fake;
  REQUIRE(fake.port() != 0);
  CHECK(fake.base_url() == "http://127.0.0.1:" + std::to_string(fake.port()) + "/v1");

  const Reply r = request(fake, kChatBody);
  REQUIRE(r.code == CURLE_OK);
  CHECK(r.status == 200);
  CHECK(r.has_header("content-length: " + std::to_string(r.body.size())));
  CHECK(r.has_header("connection: keep-alive"));
  CHECK(r.has_header("content-type: application/json"));

  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  REQUIRE(parser.parse(r.body).get(doc) == simdjson::SUCCESS);
  CHECK(std::string_view(doc["object"]) == "chat.completion");
  CHECK(std::string_view(doc["model"]) == "gpt-test");
  CHECK(std::string_view(doc["id"]).rfind("chatcmpl-", 0) == 0);
  CHECK(int64_t(doc["created"]) > 0);
  simdjson::dom::element choice = doc["choices"].at(0);
  CHECK(int64_t(choice["index"]) == 0);
  CHECK(std::string_view(choice["message"]["role"]) == "assistant");
  CHECK(std::string_view(choice["message"]["content"]) == "Hello from the fake provider.");
  CHECK(std::string_view(choice["finish_reason"]) == "stop");
  const int64_t prompt = doc["usage"]["prompt_tokens"];
  const int64_t completion = doc["usage"]["completion_tokens"];
  CHECK(prompt == static_cast<int64_t>((kChatBody.size() + 3) / 4));
  CHECK(completion == 5);
  CHECK(int64_t(doc["usage"]["total_tokens"]) == prompt + completion);
}

TEST_CASE("scripted behaviors are served in order and then the default") {
  FakeProvider fake;
  fake.enqueue(Behavior::ok("first"));
  fake.enqueue(Behavior::error(503, "overloaded", "server_error"));
  fake.enqueue(Behavior::ok("third"));
  fake.set_default(Behavior::ok("default text"));

  Reply r = request(fake, kChatBody);
  CHECK(r.status == 200);
  CHECK(message_content(r.body) == "first");
  r = request(fake, kChatBody);
  CHECK(r.status == 503);
  CHECK(error_field(r.body, "message") == "overloaded");
  r = request(fake, kChatBody);
  CHECK(message_content(r.body) == "third");
  r = request(fake, kChatBody);
  CHECK(message_content(r.body) == "default text");
  r = request(fake, kChatBody);
  CHECK(message_content(r.body) == "default text");
  CHECK(fake.request_count() == 5);

  fake.enqueue(Behavior::ok("queued"));
  fake.reset();
  CHECK(fake.request_count() == 0);
  r = request(fake, kChatBody);
  CHECK(message_content(r.body) == "Hello from the fake provider.");
}

TEST_CASE("a handler decides every request") {
  FakeProvider fake;
  fake.enqueue(Behavior::ok("ignored while a handler is set"));
  fake.set_handler([](const llmux::testing::ReceivedRequest& req) {
    return req.body.find("boom") != std::string::npos ? Behavior::error(500, "boom", "server_error")
                                                        : Behavior::ok("handled");
  });
  CHECK(message_content(request(fake, kChatBody).body) == "handled");
  CHECK(request(fake, R"({"model":"m","messages":[{"role":"user","content":"boom"}]})").status == 500);
}

TEST_CASE("error behaviors use the OpenAI error format and statuses") {
  FakeProvider fake;

  SECTION("rate limited with Retry-After") {
    fake.enqueue(Behavior::rate_limited(7));
    const Reply r = request(fake, kChatBody);
    CHECK(r.status == 429);
    CHECK(r.has_header("retry-after: 7"));
    CHECK(error_field(r.body, "type") == "rate_limit_exceeded");
    CHECK(error_field(r.body, "message") == "Rate limit reached for requests");
  }
  SECTION("rate limited without Retry-After") {
    fake.enqueue(Behavior::rate_limited());
    const Reply r = request(fake, kChatBody);
    CHECK(r.status == 429);
    CHECK_FALSE(r.has_header("retry-after"));
  }
  SECTION("context window exceeded") {
    fake.enqueue(Behavior::context_window_exceeded());
    const Reply r = request(fake, kChatBody);
    CHECK(r.status == 400);
    CHECK(error_field(r.body, "code") == "context_length_exceeded");
    CHECK(error_field(r.body, "type") == "invalid_request_error");
    CHECK(error_field(r.body, "message").rfind("This model's maximum context length is 8192 tokens.", 0) == 0);
  }
  SECTION("content policy violation") {
    fake.enqueue(Behavior::content_policy_violation());
    const Reply r = request(fake, kChatBody);
    CHECK(r.status == 400);
    CHECK(error_field(r.body, "code") == "content_policy_violation");
  }
  SECTION("custom error with null code and extra headers") {
    Behavior b = Behavior::error(401, "Incorrect API key provided", "invalid_request_error");
    b.headers.emplace_back("x-custom", "yes");
    fake.enqueue(b);
    const Reply r = request(fake, kChatBody);
    CHECK(r.status == 401);
    CHECK(r.has_header("x-custom: yes"));
    CHECK(r.body ==
          R"({"error":{"message":"Incorrect API key provided","type":"invalid_request_error","param":null,"code":null}})");
  }
  SECTION("invalid JSON is a 400") {
    const Reply r = request(fake, "{not json");
    CHECK(r.status == 400);
    CHECK(error_field(r.body, "message").find("invalid JSON") != std::string::npos);
    CHECK(fake.request_count() == 1);
  }
  SECTION("unknown path is a 404 but scripted behaviors still apply there") {
    Options opt;
    opt.path = "/nope";
    Reply r = request(fake, kChatBody, opt);
    CHECK(r.status == 404);
    CHECK(error_field(r.body, "type") == "invalid_request_error");
    fake.enqueue(Behavior::error(500, "scripted", "server_error"));
    r = request(fake, kChatBody, opt);
    CHECK(r.status == 500);
  }
}

TEST_CASE("embeddings answer one vector per input") {
  FakeProvider fake;
  Options opt;
  opt.path = "/embeddings";
  const Reply r = request(fake, R"({"model":"text-embedding-3-small","input":["a","b","c"]})", opt);
  REQUIRE(r.status == 200);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  REQUIRE(parser.parse(r.body).get(doc) == simdjson::SUCCESS);
  CHECK(std::string_view(doc["object"]) == "list");
  CHECK(std::string_view(doc["model"]) == "text-embedding-3-small");
  simdjson::dom::array data = doc["data"];
  CHECK(data.size() == 3);
  CHECK(int64_t(data.at(2)["index"]) == 2);
  CHECK(simdjson::dom::array(data.at(0)["embedding"]).size() > 0);
  CHECK(int64_t(doc["usage"]["prompt_tokens"]) > 0);

  const Reply single = request(fake, R"({"model":"e","input":"just one"})", opt);
  REQUIRE(parser.parse(single.body).get(doc) == simdjson::SUCCESS);
  CHECK(simdjson::dom::array(doc["data"]).size() == 1);
}

TEST_CASE("delay is honoured before the status line") {
  FakeProvider fake;
  Behavior b = Behavior::ok("late");
  b.delay = Millis{300};
  fake.enqueue(b);
  const Reply r = request(fake, kChatBody);
  CHECK(r.status == 200);
  CHECK(r.elapsed >= Millis{290});
  CHECK(r.elapsed < Millis{5000});
}

TEST_CASE("hang never answers and the client times out") {
  FakeProvider fake;
  fake.enqueue(Behavior::hang());
  Options opt;
  opt.timeout_ms = 300;
  const Reply r = request(fake, kChatBody, opt);
  CHECK(r.code == CURLE_OPERATION_TIMEDOUT);
  CHECK(r.status == 0);
  CHECK(fake.request_count() == 1);  // recorded even though never answered
}

TEST_CASE("reset closes with RST before any response byte") {
  FakeProvider fake;
  fake.enqueue(Behavior::reset());
  const Reply r = request(fake, kChatBody);
  CHECK(r.code == CURLE_RECV_ERROR);  // "Connection reset by peer"; a plain close would be CURLE_GOT_NOTHING
  CHECK(r.status == 0);
}

TEST_CASE("close after headers sends the status and then cuts the body") {
  FakeProvider fake;
  Behavior b;
  b.action = Behavior::Action::kCloseAfterHeaders;
  fake.enqueue(b);
  const Reply r = request(fake, kStreamBody);
  CHECK(r.code != CURLE_OK);
  CHECK(r.status == 200);
  CHECK(r.body.empty());
}

TEST_CASE("streaming frames one SSE event per chunk with usage and DONE") {
  FakeProvider fake;
  const std::string text = "one two three four five six";

  SECTION("decoded events") {
    fake.set_default(Behavior::ok(text));  // the request's "stream": true selects streaming
    const Reply r = request(fake, kStreamBody);
    REQUIRE(r.code == CURLE_OK);
    CHECK(r.status == 200);
    CHECK(r.has_header("content-type: text/event-stream"));
    CHECK(r.has_header("transfer-encoding: chunked"));
    const std::vector<std::string> events = sse_payloads(r.body);
    // role, 4 content parts, finish, usage, [DONE]
    REQUIRE(events.size() == 8);
    CHECK(events.back() == "[DONE]");

    simdjson::dom::parser parser;
    std::string joined;
    for (size_t i = 0; i + 1 < events.size(); ++i) {
      simdjson::dom::element doc;
      REQUIRE(parser.parse(events[i]).get(doc) == simdjson::SUCCESS);
      CHECK(std::string_view(doc["object"]) == "chat.completion.chunk");
      CHECK(std::string_view(doc["model"]) == "gpt-stream");
      simdjson::dom::array choices = doc["choices"];
      if (i == 0) {
        CHECK(std::string_view(choices.at(0)["delta"]["role"]) == "assistant");
      } else if (i <= 4) {
        joined += std::string_view(choices.at(0)["delta"]["content"]);
        CHECK(choices.at(0)["finish_reason"].is_null());
      } else if (i == 5) {
        CHECK(std::string_view(choices.at(0)["finish_reason"]) == "stop");
        CHECK(simdjson::dom::object(choices.at(0)["delta"]).size() == 0);
      } else {
        CHECK(choices.size() == 0);
        CHECK(int64_t(doc["usage"]["completion_tokens"]) == 6);
        CHECK(int64_t(doc["usage"]["total_tokens"]) ==
              int64_t(doc["usage"]["prompt_tokens"]) + int64_t(doc["usage"]["completion_tokens"]));
      }
    }
    CHECK(joined == text);
  }

  SECTION("raw chunked framing without usage and with the interval honoured") {
    Behavior b = Behavior::streaming(text, 3);
    b.event_interval = Millis{40};
    fake.enqueue(b);
    Options opt;
    opt.raw_transfer = true;
    const Reply r = request(fake, R"({"model":"m","messages":[]})", opt);
    REQUIRE(r.code == CURLE_OK);
    // Walk the chunked framing by hand: every chunk is exactly one SSE event.
    std::vector<std::string> chunks;
    size_t pos = 0;
    while (true) {
      const size_t eol = r.body.find("\r\n", pos);
      REQUIRE(eol != std::string::npos);
      const size_t size = std::stoul(r.body.substr(pos, eol - pos), nullptr, 16);
      if (size == 0) {
        CHECK(r.body.substr(eol) == "\r\n\r\n");
        break;
      }
      const std::string data = r.body.substr(eol + 2, size);
      CHECK(r.body.substr(eol + 2 + size, 2) == "\r\n");
      chunks.push_back(data);
      pos = eol + 2 + size + 2;
    }
    REQUIRE(chunks.size() == 6);  // role, 3 parts, finish, [DONE]
    for (const std::string& c : chunks) {
      CHECK(c.rfind("data: ", 0) == 0);
      CHECK(c.size() >= 8);
      CHECK(c.substr(c.size() - 2) == "\n\n");
      CHECK(c.find("\n\n") == c.size() - 2);
    }
    CHECK(chunks.back() == "data: [DONE]\n\n");
    CHECK(r.elapsed >= Millis{5 * 40 - 10});
  }

  SECTION("explicit events override generation without DONE") {
    Behavior b;
    b.stream = true;
    b.events = {R"({"a":1})", R"({"b":2})"};
    b.send_done = false;
    fake.enqueue(b);
    const Reply r = request(fake, kChatBody);
    REQUIRE(r.code == CURLE_OK);
    CHECK(r.body == "data: {\"a\":1}\n\ndata: {\"b\":2}\n\n");
  }
}

TEST_CASE("stream faults cut and stall and malformed") {
  FakeProvider fake;

  SECTION("cut after N events is a partial transfer") {
    Behavior b = Behavior::streaming("a b c d", 4);
    b.cut_after_events = 2;
    fake.enqueue(b);
    const Reply r = request(fake, kChatBody);
    CHECK((r.code == CURLE_PARTIAL_FILE || r.code == CURLE_RECV_ERROR));
    CHECK(r.status == 200);
    CHECK(sse_payloads(r.body).size() == 2);
  }
  SECTION("stall after N events keeps the connection open") {
    Behavior b = Behavior::streaming("a b c d", 4);
    b.stall_after_events = 1;
    fake.enqueue(b);
    Options opt;
    opt.timeout_ms = 400;
    const Reply r = request(fake, kChatBody, opt);
    CHECK(r.code == CURLE_OPERATION_TIMEDOUT);
    CHECK(sse_payloads(r.body).size() == 1);
  }
  SECTION("malformed event inserted after N events") {
    Behavior b = Behavior::streaming("a b", 2);
    b.malformed_after_events = 1;
    fake.enqueue(b);
    const Reply r = request(fake, kChatBody);
    REQUIRE(r.code == CURLE_OK);
    const std::vector<std::string> events = sse_payloads(r.body);
    REQUIRE(events.size() == 6);  // role, malformed, 2 parts, finish, [DONE]
    CHECK(events[1] == "{not json");
    CHECK(events.back() == "[DONE]");
  }
}

TEST_CASE("a non-stream body cut after N bytes is a partial transfer") {
  FakeProvider fake;
  Behavior b = Behavior::ok("a complete answer that never fully arrives");
  b.cut_body_after_bytes = 20;
  fake.enqueue(b);
  const Reply r = request(fake, kChatBody);
  CHECK((r.code == CURLE_PARTIAL_FILE || r.code == CURLE_RECV_ERROR));
  CHECK(r.status == 200);
  CHECK(r.body.size() == 20);
  CHECK(r.body.rfind(R"({"id":"chatcmpl-fake)", 0) == 0);
  // The connection is closed: the next request (default behavior) is answered in full on a new one.
  const Reply next = request(fake, kChatBody);
  REQUIRE(next.code == CURLE_OK);
  CHECK(message_content(next.body) == "Hello from the fake provider.");
  CHECK(fake.connections_accepted() == 2);
}

TEST_CASE("an error event mid-stream replaces the rest of the stream") {
  FakeProvider fake;
  Behavior b = Behavior::streaming("a b c d", 4);
  b.error_after_events = 3;  // role + two content parts
  b.error_event_code = 503;
  fake.enqueue(b);
  const Reply r = request(fake, kStreamBody);
  REQUIRE(r.code == CURLE_OK);  // the body itself ends cleanly
  CHECK(r.status == 200);
  const std::vector<std::string> events = sse_payloads(r.body);
  REQUIRE(events.size() == 5);  // role, 2 parts, error, [DONE]
  CHECK(events.back() == "[DONE]");
  simdjson::dom::parser parser;
  simdjson::dom::element err;
  REQUIRE(parser.parse(events[3]).get(err) == simdjson::SUCCESS);
  CHECK(int64_t(err["error"]["code"]) == 503);
  CHECK(std::string_view(err["error"]["type"]) == "server_error");
  CHECK(std::string_view(err["error"]["message"]).find("mid-stream") != std::string_view::npos);

  SECTION("without [DONE], counted before the malformed event") {
    Behavior c = Behavior::streaming("a b", 2);
    c.error_after_events = 1;
    c.send_done = false;
    c.malformed_after_events = 1;
    fake.enqueue(c);
    const Reply r2 = request(fake, kStreamBody);
    REQUIRE(r2.code == CURLE_OK);
    const std::vector<std::string> ev = sse_payloads(r2.body);
    REQUIRE(ev.size() == 3);  // role, malformed, error
    CHECK(ev[1] == "{not json");
    CHECK(ev[2].find(R"("error")") != std::string::npos);
  }
}

TEST_CASE("keep-alive reuses one connection until Connection close") {
  FakeProvider fake;
  CURL* handle = curl_easy_init();
  REQUIRE(perform(handle, fake, kChatBody).status == 200);
  REQUIRE(perform(handle, fake, kChatBody).status == 200);
  Options close_opt;
  close_opt.headers = {"Connection: close"};
  const Reply closing = perform(handle, fake, kChatBody, close_opt);
  CHECK(closing.has_header("connection: close"));
  REQUIRE(perform(handle, fake, kChatBody).status == 200);
  curl_easy_cleanup(handle);

  const auto reqs = fake.requests();
  REQUIRE(reqs.size() == 4);
  CHECK(reqs[0].connection_id == reqs[1].connection_id);
  CHECK(reqs[1].connection_id == reqs[2].connection_id);
  CHECK(reqs[3].connection_id != reqs[2].connection_id);
  CHECK(fake.connections_accepted() == 2);
}

TEST_CASE("requests are recorded with method and path and lower-cased headers and body") {
  FakeProvider fake;
  Options opt;
  opt.headers = {"Authorization: Bearer sk-test", "X-Trace: abc"};
  const auto before = Clock::now();
  request(fake, kChatBody, opt);
  Options embed;
  embed.path = "/embeddings";
  request(fake, R"({"model":"e","input":"x"})", embed);

  const auto reqs = fake.requests();
  REQUIRE(reqs.size() == 2);
  CHECK(reqs[0].method == "POST");
  CHECK(reqs[0].path == "/v1/chat/completions");
  CHECK(reqs[0].body == kChatBody);
  CHECK(reqs[0].header("authorization") == "Bearer sk-test");
  CHECK(reqs[0].header("X-Trace") == "abc");
  CHECK(reqs[0].header("absent").empty());
  bool all_lower = true;
  for (const auto& [name, value] : reqs[0].headers) {
    for (char c : name) all_lower = all_lower && !(c >= 'A' && c <= 'Z');
  }
  CHECK(all_lower);
  CHECK(reqs[0].received_at >= before);
  CHECK(reqs[1].path == "/v1/embeddings");
  CHECK(reqs[1].received_at >= reqs[0].received_at);
}

TEST_CASE("Expect 100-continue and chunked request bodies are handled") {
  FakeProvider fake;
  const std::string big = R"({"model":"m","messages":[{"role":"user","content":")" + std::string(4000, 'x') + "\"}]}";

  SECTION("100-continue is answered at once") {
    CURL* handle = curl_easy_init();
    curl_easy_setopt(handle, CURLOPT_EXPECT_100_TIMEOUT_MS, 4000L);
    Options opt;
    opt.headers = {"Expect: 100-continue"};
    const Reply r = perform(handle, fake, big, opt);
    curl_easy_cleanup(handle);
    CHECK(r.status == 200);
    CHECK(r.elapsed < Millis{3000});  // curl would otherwise wait the full 4 s
    CHECK(fake.requests().at(0).body == big);
  }
  SECTION("chunked request body") {
    struct Source {
      const std::string* data;
      size_t offset = 0;
    } source{&big};
    CURL* handle = curl_easy_init();
    const std::string url = fake.base_url() + "/chat/completions";
    curl_easy_setopt(handle, CURLOPT_URL, url.c_str());
    curl_easy_setopt(handle, CURLOPT_POST, 1L);
    curl_easy_setopt(handle, CURLOPT_READDATA, &source);
    curl_easy_setopt(handle, CURLOPT_READFUNCTION, +[](char* buf, size_t size, size_t n, void* user) -> size_t {
      auto* s = static_cast<Source*>(user);
      const size_t len = std::min(size * n, std::min<size_t>(1000, s->data->size() - s->offset));
      s->data->copy(buf, len, s->offset);
      s->offset += len;
      return len;
    });
    curl_slist* headers = curl_slist_append(nullptr, "Transfer-Encoding: chunked");
    headers = curl_slist_append(headers, "Expect:");
    curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers);
    std::string body;
    curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, append_body);
    curl_easy_setopt(handle, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, 5000L);
    const CURLcode code = curl_easy_perform(handle);
    long status = 0;
    curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(handle);
    CHECK(code == CURLE_OK);
    CHECK(status == 200);
    const auto reqs = fake.requests();
    REQUIRE(reqs.size() == 1);
    CHECK(reqs[0].header("transfer-encoding") == "chunked");
    CHECK(reqs[0].body == big);
  }
}

TEST_CASE("drop_connections and the destructor end hanging connections promptly") {
  SECTION("drop_connections") {
    FakeProvider fake;
    fake.set_default(Behavior::hang());
    Reply r;
    Options opt;
    opt.timeout_ms = 8000;
    std::thread client([&] { r = request(fake, kChatBody, opt); });
    REQUIRE(wait_until([&] { return fake.request_count() == 1; }));
    fake.drop_connections();
    client.join();
    CHECK(r.code == CURLE_GOT_NOTHING);
    CHECK(r.elapsed < Millis{6000});
  }
  SECTION("destructor") {
    auto fake = std::make_unique<FakeProvider>();
    fake->set_default(Behavior::hang());
    Reply r;
    Options opt;
    opt.timeout_ms = 8000;
    std::thread client([&] { r = request(*fake, kChatBody, opt); });
    REQUIRE(wait_until([&] { return fake->request_count() == 1; }));
    const auto start = Clock::now();
    fake.reset();
    CHECK(Clock::now() - start < Millis{2000});
    client.join();
    CHECK(r.code != CURLE_OK);
    CHECK(r.code != CURLE_OPERATION_TIMEDOUT);
  }
}

TEST_CASE("500 concurrent requests through curl multi are all answered") {
  FakeProvider fake;
  Behavior b = Behavior::ok("concurrent");
  b.delay = Millis{100};  // keeps every request in flight at once
  fake.set_default(b);

  constexpr int kCount = 500;
  CURLM* multi = curl_multi_init();
  curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, 0L);
  curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, static_cast<long>(kCount));
  std::vector<CURL*> handles;
  std::vector<std::string> bodies(kCount);
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  const std::string url = fake.base_url() + "/chat/completions";
  for (int i = 0; i < kCount; ++i) {
    CURL* h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, kChatBody.c_str());
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, append_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &bodies[i]);
    curl_multi_add_handle(multi, h);
    handles.push_back(h);
  }
  int running = 0;
  int ok = 0;
  do {
    curl_multi_perform(multi, &running);
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &queued)) {
      if (msg->msg != CURLMSG_DONE) continue;
      long status = 0;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
      if (msg->data.result == CURLE_OK && status == 200) ++ok;
    }
    if (running > 0) curl_multi_poll(multi, nullptr, 0, 100, nullptr);
  } while (running > 0);

  for (CURL* h : handles) {
    curl_multi_remove_handle(multi, h);
    curl_easy_cleanup(h);
  }
  curl_slist_free_all(headers);
  curl_multi_cleanup(multi);

  CHECK(ok == kCount);
  CHECK(fake.request_count() == static_cast<size_t>(kCount));
  CHECK(fake.connections_accepted() >= static_cast<size_t>(kCount) / 2);
  int good = 0;
  for (const std::string& body : bodies) good += body.find("\"concurrent\"") != std::string::npos ? 1 : 0;
  CHECK(good == kCount);
}
