// Helpers shared by the router integration tests.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <simdjson.h>

#include "llmux/router.hpp"
#include "support/fake_provider.hpp"
#include "support/virtual_clock.hpp"

namespace llmux::testing {

inline std::unique_ptr<Router> make_router(const std::string& yaml, uint64_t seed = 42) {
  RouterOptions opts;
  opts.random_seed = seed;
  opts.log = [](std::string_view) {};
  auto r = Router::from_config(yaml, opts);
  if (!r.ok()) FAIL("router config rejected: " << r.error().to_string());
  return std::move(r).value();
}

// The JSON value at `pointer` in `json`: a string's text, anything else
// minified; "<absent>" when there is none, "<not json>" for a body that is not
// JSON.
inline std::string json_at(const std::string& json, std::string_view pointer) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(json).get(doc) != simdjson::SUCCESS) return "<not json>";
  simdjson::dom::element el;
  if (doc.at_pointer(pointer).get(el) != simdjson::SUCCESS) return "<absent>";
  std::string_view s;
  if (el.get_string().get(s) == simdjson::SUCCESS) return std::string(s);
  return simdjson::minify(el);
}

// "ok", or the error as text (for INFO).
inline std::string describe(const Result<Response>& r) { return r.ok() ? std::string("ok") : r.error().to_string(); }

// Scripts a fake to answer every request with `answer` (plus Retry-After when
// `retry_after` is given).
inline std::function<void(FakeProvider&)> answer_every_request(Behavior answer, const std::string& retry_after = "") {
  if (!retry_after.empty()) answer.headers.emplace_back("retry-after", retry_after);
  return [answer](FakeProvider& p) { p.set_handler([answer](const ReceivedRequest&) { return answer; }); };
}

inline std::string chat_request(const std::string& model, const std::string& extra = "") {
  return fmt::format(R"({{"model":"{}","messages":[{{"role":"user","content":"Say hello"}}]{}}})", model,
                     extra.empty() ? "" : "," + extra);
}

// One deployment entry of a model_list, as YAML.
inline std::string deployment_yaml(const std::string& group, const std::string& model, const FakeProvider& p,
                                   const std::string& extra_params = "", const std::string& id = "") {
  std::string s = fmt::format("  - model_name: {}\n    litellm_params:\n      model: openai/{}\n      api_base: {}\n"
                              "      api_key: sk-test-secret-key\n",
                              group, model, p.base_url());
  if (!extra_params.empty()) s += extra_params;
  if (!id.empty()) s += fmt::format("    model_info:\n      id: {}\n", id);
  return s;
}

// One error class of a provider on the wire: how the fake answers, what the
// router must report for it, and how often the deployment is tried. Unset
// fields are not checked.
struct ErrorClassCase {
  std::string label{};                         // names the case in a failure
  std::function<void(FakeProvider&)> serve{};  // scripts the fake's error answer
  ErrorKind kind = ErrorKind::kApiError;
  std::optional<int> status{};                 // LiteLLM's status
  std::optional<int> provider_status{};        // the provider's own status
  std::string message_has{};                   // a text the error message holds
  std::string message_lacks{};                 // a text it must not hold (a secret)
  std::optional<size_t> requests{};            // requests the fake received
  int num_retries = 0;
};

// Runs each case on a fresh fake: a Router of the one deployment
// `deployment(fake)` (an entry of group `group`) with the case's num_retries,
// one completion for `group`, and its error checked against the case.
inline void check_error_classes(const std::string& group,
                                const std::function<std::string(const FakeProvider&)>& deployment,
                                const std::vector<ErrorClassCase>& cases) {
  for (const ErrorClassCase& c : cases) {
    INFO(c.label);
    FakeProvider p;
    c.serve(p);
    auto r = make_router("model_list:\n" + deployment(p) +
                         fmt::format("router_settings:\n  num_retries: {}\n", c.num_retries))
                 ->completion(chat_request(group));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == c.kind);
    if (c.status) CHECK(r.error().status == *c.status);
    if (c.provider_status) CHECK(r.error().provider_status == *c.provider_status);
    if (!c.message_has.empty()) CHECK_THAT(r.error().message, Catch::Contains(c.message_has));
    if (!c.message_lacks.empty()) CHECK_THAT(r.error().message, !Catch::Contains(c.message_lacks));
    if (c.requests) CHECK(p.request_count() == *c.requests);
  }
}

// Calls `group` `calls` times; every call must be answered by deployment `id`.
inline void expect_calls_served_by(Router& router, const std::string& group, const std::string& id, int calls) {
  for (int i = 0; i < calls; ++i) {
    auto r = router.completion(chat_request(group));
    REQUIRE(r.ok());
    CHECK(r.value().metadata.deployment_id == id);
  }
}

// What one stream() call produced.
struct Collected {
  std::vector<std::string> chunks;
  std::string text;  // concatenated choices[0].delta.content
  std::optional<Result<Response>> done;
  int done_calls = 0;
};

// Extracts choices[0].delta.content from a chunk ("" when absent).
inline std::string delta_content(const std::string& chunk) {
  simdjson::ondemand::parser parser;
  simdjson::padded_string padded(chunk);
  auto doc = parser.iterate(padded);
  std::string_view content;
  auto choices = doc["choices"];
  for (auto choice : choices.get_array()) {
    if (choice["delta"]["content"].get_string().get(content) == simdjson::SUCCESS) return std::string(content);
    break;
  }
  return "";
}

// Runs one stream to its end (bounded wait) and collects what it delivered.
inline Collected run_stream(Router& router, const std::string& request) {
  Collected c;
  std::atomic<bool> finished{false};
  router.stream(
      request,
      [&](std::string_view chunk) {
        c.chunks.emplace_back(chunk);
        c.text += delta_content(std::string(chunk));
        return true;
      },
      [&](Result<Response> r) {
        c.done.emplace(std::move(r));
        c.done_calls++;
        finished = true;
      });
  for (int i = 0; i < 3000 && !finished; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  REQUIRE(finished);
  return c;
}

inline double seconds_between(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}


// make_router with caller options (time source, on_event); seed 42 and a
// silent log unless set.
inline std::unique_ptr<Router> make_router_with(const std::string& yaml, RouterOptions opts) {
  if (opts.random_seed == 0) opts.random_seed = 42;
  if (!opts.log) opts.log = [](std::string_view) {};
  auto r = Router::from_config(yaml, opts);
  if (!r.ok()) FAIL("router config rejected: " << r.error().to_string());
  return std::move(r).value();
}

// A 200 chat.completion body reporting exactly this usage (the generated one
// derives usage from the request size).
inline std::string completion_body_with_usage(int64_t prompt_tokens, int64_t completion_tokens,
                                              const std::string& text = "ok") {
  return fmt::format(
      R"({{"id":"chatcmpl-usage","object":"chat.completion","created":1,"model":"m","choices":[{{"index":0,)"
      R"("message":{{"role":"assistant","content":"{}"}},"finish_reason":"stop"}}],)"
      R"("usage":{{"prompt_tokens":{},"completion_tokens":{},"total_tokens":{}}}}})",
      text, prompt_tokens, completion_tokens, prompt_tokens + completion_tokens);
}

inline Behavior ok_with_usage(int64_t prompt_tokens, int64_t completion_tokens, const std::string& text = "ok") {
  Behavior b;
  b.body = completion_body_with_usage(prompt_tokens, completion_tokens, text);
  return b;
}

// Starts every request with completion_async at once and waits (bounded) for
// all of them; results in request order.
inline std::vector<Result<Response>> run_concurrently(Router& router, const std::vector<std::string>& requests) {
  struct Shared {
    std::mutex mu;
    std::vector<std::optional<Result<Response>>> results;
    std::atomic<size_t> done{0};
  };
  auto shared = std::make_shared<Shared>();
  shared->results.resize(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    router.completion_async(requests[i], [shared, i](Result<Response> r) {
      {
        std::lock_guard lock(shared->mu);
        shared->results[i].emplace(std::move(r));
      }
      shared->done.fetch_add(1);
    });
  }
  for (int i = 0; i < 2000 && shared->done.load() < requests.size(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  REQUIRE(shared->done.load() == requests.size());
  std::vector<Result<Response>> out;
  std::lock_guard lock(shared->mu);
  for (auto& r : shared->results) out.push_back(std::move(*r));
  return out;
}

}  // namespace llmux::testing
