// Fuzz target: the C ABI (capi/llmux.h) fed arbitrary bytes.
// Input: byte 0 chooses the entry point (low 3 bits) and a variant (high
// bits); the rest is the argument. Every input gets a fresh router built from
// kConfig, whose deployments all answer with mock_response (no network; their
// api_base is a closed local port in case one ever tried), so inputs replay
// deterministically.
//   0 llmux_router_new(bytes), then deployments/health/metrics on it
//   1 llmux_router_pick, then           5 llmux_router_add_deployment(bytes),
//     llmux_completion(bytes)            llmux_router_update_settings(bytes),
//                                        llmux_router_settings
//   2 llmux_embedding(bytes), or       6 llmux_router_remove_deployment(bytes)
//     llmux_call(variant-1, bytes)
//   3 llmux_completion_stream(bytes)   7 llmux_router_health(bytes),
//   4 llmux_completion_async or          llmux_router_check_health(bytes),
//     llmux_embedding_async(bytes)       llmux_router_health_report(bytes), metrics,
//                                        llmux_router_model_group_usage(bytes),
//                                        llmux_cancel(id from bytes), status strings
// Properties: every entry point returns a status; an error comes with an
// llmux_error whose code is that status and whose JSON is valid; a success
// with a valid JSON response (each stream chunk too); on_done runs exactly
// once per accepted asynchronous call. Calls that take longer than kCallBudget
// (a request may ask for many retries and backoff waits) are cancelled with
// llmux_cancel — a fresh router numbers its calls from 1 — and must then end.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include <simdjson.h>

#include "fuzz_check.hpp"
#include "llmux.h"

// capi_c_caller.c: llmux_status_string called from C with any int.
extern "C" const char* fuzz_status_string_of_int(int value);

namespace {

constexpr std::string_view kConfig = R"({
  "model_list": [
    {"model_name": "gpt-mock", "litellm_params": {"model": "openai/gpt-a", "api_base": "http://127.0.0.1:9/v1",
      "mock_response": "Hello from a."}, "model_info": {"id": "mock-a"}},
    {"model_name": "gpt-mock", "litellm_params": {"model": "openai/gpt-b", "api_base": "http://127.0.0.1:9/v1",
      "mock_response": "Hello from b, streamed word by word."}, "model_info": {"id": "mock-b"}},
    {"model_name": "backup", "litellm_params": {"model": "hosted_vllm/backup", "api_base": "http://127.0.0.1:9/v1",
      "mock_response": "Hello from backup."}, "model_info": {"id": "mock-backup-1"}},
    {"model_name": "backup", "litellm_params": {"model": "hosted_vllm/backup", "api_base": "http://127.0.0.1:9/v1",
      "mock_response": "Hello again from backup."}, "model_info": {"id": "mock-backup-2"}},
    {"model_name": "embed-mock", "litellm_params": {"model": "openai/text-embedding-3-small",
      "api_base": "http://127.0.0.1:9/v1", "mock_response": "x"}, "model_info": {"id": "mock-embed"}}
  ],
  "router_settings": {"num_retries": 1, "fallbacks": [{"gpt-mock": ["backup"]}],
    "context_window_fallbacks": [{"gpt-mock": ["backup"]}], "content_policy_fallbacks": [{"gpt-mock": ["backup"]}]}
})";

constexpr auto kCallBudget = std::chrono::milliseconds(200);

bool valid_json(const char* text, size_t len) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  return parser.parse(simdjson::padded_string(text, len)).get(root) == simdjson::SUCCESS;
}

bool valid_json(const char* text) { return valid_json(text, std::strlen(text)); }

void check_error(llmux_status status, const llmux_error* error) {
  FUZZ_CHECK(error != nullptr);
  FUZZ_CHECK(llmux_error_code(error) == status);
  FUZZ_CHECK(llmux_error_message(error)[0] != '\0');
  FUZZ_CHECK(llmux_error_type(error)[0] != '\0');
  FUZZ_CHECK(valid_json(llmux_error_json(error)));
}

// Checks the outcome of a call with (char** out, llmux_error** out_error) and frees both.
void check_outcome(llmux_status status, char* out, llmux_error* error, bool out_is_json) {
  if (status == LLMUX_OK) {
    FUZZ_CHECK(out != nullptr && error == nullptr);
    if (out_is_json) FUZZ_CHECK(valid_json(out));
  } else {
    FUZZ_CHECK(out == nullptr);
    check_error(status, error);
  }
  llmux_free(out);
  llmux_error_free(error);
}

void inspect(llmux_router* router) {
  char* out = nullptr;
  llmux_error* error = nullptr;
  llmux_status s = llmux_router_deployments(router, &out, &error);
  check_outcome(s, out, error, true);
  s = llmux_router_health(router, nullptr, &out, &error);
  check_outcome(s, out, error, true);
  s = llmux_router_health_report(router, nullptr, &out, &error);
  check_outcome(s, out, error, true);
  s = llmux_router_metrics(router, &out, &error);
  check_outcome(s, out, error, false);
  for (const char* query : {R"({"model_group":"g"})", R"({"deployment_id":"d"})", R"({"model":"gpt-4o"})", "{}"}) {
    s = llmux_router_model_info(router, query, std::strlen(query), &out, &error);
    check_outcome(s, out, error, true);
  }
}

// Waits for `done` within kCallBudget, else cancels the router's first calls
// and waits without bound (a call that never ends is a bug: libFuzzer's
// -timeout reports it).
void wait_or_cancel(llmux_router* router, const std::function<bool()>& done,
                    const std::function<void(std::chrono::milliseconds)>& wait) {
  wait(kCallBudget);
  if (done()) return;
  for (uint64_t id = 1; id <= 4; ++id) llmux_cancel(router, id);
  while (!done()) wait(std::chrono::milliseconds(100));
}

// What an asynchronous call's callbacks saw.
struct AsyncCall {
  std::mutex mu;
  std::condition_variable cv;
  int done_calls = 0;
  int chunks = 0;
  int stop_after = 0;  // on_chunk returns 0 at this chunk (0: never)
  bool chunk_broken = false;
  bool done_broken = false;

  static void on_done(void* user_data, llmux_status status, const char* response, size_t len,
                      const llmux_error* error) {
    auto* self = static_cast<AsyncCall*>(user_data);
    bool broken = false;
    if (status == LLMUX_OK) {
      broken = response == nullptr || error != nullptr || std::strlen(response) != len || !valid_json(response, len);
    } else {
      broken = response != nullptr || len != 0 || error == nullptr || llmux_error_code(error) != status ||
               !valid_json(llmux_error_json(error));
    }
    std::lock_guard<std::mutex> lock(self->mu);
    self->done_broken = self->done_broken || broken;
    ++self->done_calls;
    self->cv.notify_all();
  }

  static int on_chunk(void* user_data, const char* chunk, size_t len) {
    auto* self = static_cast<AsyncCall*>(user_data);
    const bool broken = chunk == nullptr || std::strlen(chunk) != len || !valid_json(chunk, len);
    std::lock_guard<std::mutex> lock(self->mu);
    self->chunk_broken = self->chunk_broken || broken;
    ++self->chunks;
    return self->stop_after == 0 || self->chunks < self->stop_after;
  }

  void wait_done(llmux_router* router) {
    wait_or_cancel(
        router,
        [&] {
          std::lock_guard<std::mutex> lock(mu);
          return done_calls > 0;
        },
        [&](std::chrono::milliseconds d) {
          std::unique_lock<std::mutex> lock(mu);
          cv.wait_for(lock, d, [&] { return done_calls > 0; });
        });
  }
};

// A blocking call on a thread of its own, so that it can be cancelled.
template <class F>
void blocking(llmux_router* router, F&& call) {
  std::packaged_task<void()> task(std::forward<F>(call));
  std::future<void> finished = task.get_future();
  std::thread worker(std::move(task));
  wait_or_cancel(
      router, [&] { return finished.wait_for(std::chrono::seconds(0)) == std::future_status::ready; },
      [&](std::chrono::milliseconds d) { finished.wait_for(d); });
  worker.join();
}

// NUL-terminated copy (the id and group arguments have no length).
std::string c_string(std::string_view bytes) { return std::string(bytes.substr(0, bytes.find('\0'))); }

void run(llmux_router* router, uint8_t selector, std::string_view arg) {
  const uint8_t variant = selector >> 3;
  char* out = nullptr;
  llmux_error* error = nullptr;
  switch (selector & 7) {
    case 1:
    case 2: {
      const bool chat = (selector & 7) == 1;
      llmux_status s = LLMUX_OK;
      if (chat) {
        // The routing decision alone first (flags from the variant).
        s = llmux_router_pick(router, arg.data(), arg.size(), variant & 3u, &out, &error);
        check_outcome(s, out, error, true);
        out = nullptr;
        error = nullptr;
      }
      blocking(router, [&] {
        if (chat) {
          s = llmux_completion(router, arg.data(), arg.size(), &out, &error);
        } else if (variant == 0) {
          s = llmux_embedding(router, arg.data(), arg.size(), &out, &error);
        } else {
          // llmux_call: variant 1-5 name the endpoints, 6-8 none (rejected). A
          // C++ value outside the enumeration's range (0-7) would be undefined
          // behaviour in this file already, so the values stay inside it.
          const int endpoint = (variant - 1) & 7;
          s = llmux_call(router, static_cast<llmux_endpoint>(endpoint), arg.data(), arg.size(), &out, &error);
        }
      });
      check_outcome(s, out, error, true);
      return;
    }
    case 3:
    case 4: {
      AsyncCall call;
      call.stop_after = variant & 3;
      uint64_t id = 0;
      llmux_status s;
      if ((selector & 7) == 3) {
        s = llmux_completion_stream(router, arg.data(), arg.size(), AsyncCall::on_chunk, AsyncCall::on_done, &call,
                                    &id);
      } else if (variant & 1) {
        s = llmux_embedding_async(router, arg.data(), arg.size(), AsyncCall::on_done, &call, &id);
      } else {
        s = llmux_completion_async(router, arg.data(), arg.size(), AsyncCall::on_done, &call, &id);
      }
      if (s != LLMUX_OK) {
        FUZZ_CHECK(id == 0);
        return;
      }
      FUZZ_CHECK(id != 0);
      if (variant & 4) llmux_cancel(router, id);  // cancel at once: races the call, both ways are fine
      call.wait_done(router);
      std::lock_guard<std::mutex> lock(call.mu);
      FUZZ_CHECK(!call.chunk_broken && !call.done_broken);
      FUZZ_CHECK(call.done_calls == 1);
      return;
    }
    case 5: {
      llmux_status s = llmux_router_add_deployment(router, arg.data(), arg.size(), &error);
      if (s == LLMUX_OK) {
        FUZZ_CHECK(error == nullptr);
        inspect(router);
      } else {
        check_error(s, error);
        llmux_error_free(error);
      }
      // The same bytes as a settings update: all or nothing.
      error = nullptr;
      s = llmux_router_update_settings(router, arg.data(), arg.size(), &error);
      if (s == LLMUX_OK) {
        FUZZ_CHECK(error == nullptr);
      } else {
        check_error(s, error);
        llmux_error_free(error);
      }
      error = nullptr;
      s = llmux_router_settings(router, &out, &error);
      FUZZ_CHECK(s == LLMUX_OK);
      check_outcome(s, out, error, true);
      return;
    }
    case 6: {
      const std::string id = c_string(arg);
      llmux_status s = llmux_router_remove_deployment(router, id.c_str(), &error);
      if (s != LLMUX_OK) check_error(s, error);
      llmux_error_free(error);
      inspect(router);
      return;
    }
    case 7: {
      const std::string group = c_string(arg);
      llmux_status s = llmux_router_health(router, group.c_str(), &out, &error);
      check_outcome(s, out, error, true);
      // The mock deployments answer their health checks without the network.
      s = llmux_router_check_health(router, group.c_str(), &out, &error);
      check_outcome(s, out, error, true);
      s = llmux_router_health_report(router, group.c_str(), &out, &error);
      check_outcome(s, out, error, true);
      s = llmux_router_model_group_usage(router, group.c_str(), &out, &error);
      check_outcome(s, out, error, true);
      uint64_t id = 0;
      std::memcpy(&id, arg.data(), std::min(arg.size(), sizeof id));
      s = llmux_cancel(router, id);
      FUZZ_CHECK(s == LLMUX_ERR_NOT_FOUND || s == LLMUX_ERR_INVALID_ARGUMENT);
      FUZZ_CHECK(fuzz_status_string_of_int(static_cast<int>(static_cast<uint32_t>(id))) != nullptr);
      return;
    }
    default:
      return;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t selector = data[0];
  // A heap copy of exactly the argument's bytes: no NUL after them, so ASan
  // catches any read past `len`.
  std::unique_ptr<char[]> copy(new char[std::max<size_t>(size - 1, 1)]);
  std::memcpy(copy.get(), data + 1, size - 1);
  const std::string_view arg(copy.get(), size - 1);

  llmux_router* router = nullptr;
  llmux_error* error = nullptr;
  if ((selector & 7) == 0) {
    const llmux_status s = llmux_router_new(arg.data(), arg.size(), &router, &error);
    if (s != LLMUX_OK) {
      FUZZ_CHECK(router == nullptr);
      check_error(s, error);
      llmux_error_free(error);
      return 0;
    }
    FUZZ_CHECK(router != nullptr && error == nullptr);
    inspect(router);
    llmux_router_free(router);
    return 0;
  }
  const llmux_status s = llmux_router_new(kConfig.data(), kConfig.size(), &router, &error);
  FUZZ_CHECK(s == LLMUX_OK && router != nullptr);
  run(router, selector, arg);
  llmux_router_free(router);
  return 0;
}
