// llmux_fake_server: the scripted fake provider as a process, for the test
// suites that cannot link C++ (C, Python, Go, Rust bindings) and for the
// binding benchmarks.
//
// Usage: llmux_fake_server [--port N]
// Prints one line {"base_url":"http://127.0.0.1:<port>/v1","port":<port>} on
// stdout once it serves, then serves until stdin reaches EOF (the parent
// exited or closed the pipe) or SIGTERM/SIGINT.
//
// Each request is answered by the behaviour its "model" field names, so a
// config alone scripts a scenario (the model sent is the deployment's
// litellm_params.model without the provider prefix):
//   status-<NNN>[-...]  an OpenAI-style error with that HTTP status
//                       (429 carries Retry-After: 1 when the name has "-retry-after")
//   context-window...   OpenAI's 400 context_length_exceeded
//   content-policy...   OpenAI's 400 content_policy_violation
//   hang...             never answers
//   reset...            closes the connection before any byte
//   slow-<ms>[-...]     answers after <ms> milliseconds
//   anything else       200; content "Hello from <model>." (streamed in 4
//                       chunks when the request asks for a stream, with a usage
//                       chunk when stream_options.include_usage is set)
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include <poll.h>
#include <unistd.h>

#include <simdjson.h>

#include "support/fake_provider.hpp"

namespace {

using llmux::testing::Behavior;
using llmux::testing::ReceivedRequest;

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

std::string model_of(const ReceivedRequest& request) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(request.body).get(doc)) return "";
  std::string_view model;
  if (doc["model"].get(model)) return "";
  return std::string(model);
}

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

Behavior behavior_for(const ReceivedRequest& request) {
  const std::string model = model_of(request);
  if (starts_with(model, "status-")) {
    const int status = std::atoi(model.c_str() + 7);
    if (status == 429) {
      Behavior b = Behavior::rate_limited(model.find("-retry-after") != std::string::npos ? 1 : -1);
      return b;
    }
    if (status == 401) {
      // OpenAI's real 401 body: LiteLLM classifies it by status because of the message.
      return Behavior::error(401, "Incorrect API key provided: sk-****. (scripted by " + model + ")",
                             "invalid_request_error", "invalid_api_key");
    }
    return Behavior::error(status > 0 ? status : 500, "scripted failure from " + model, "server_error");
  }
  if (starts_with(model, "context-window")) return Behavior::context_window_exceeded();
  if (starts_with(model, "content-policy")) return Behavior::content_policy_violation();
  if (starts_with(model, "hang")) return Behavior::hang();
  if (starts_with(model, "reset")) return Behavior::reset();
  Behavior ok = Behavior::ok("Hello from " + model + ".");
  if (starts_with(model, "slow-")) ok.delay = llmux::testing::Millis(std::atoi(model.c_str() + 5));
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  uint16_t port = 0;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
      port = static_cast<uint16_t>(std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr, "usage: %s [--port N]\n", argv[0]);
      return 2;
    }
  }
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  std::signal(SIGPIPE, SIG_IGN);
  try {
    llmux::testing::FakeProvider server(port);
    server.set_handler(behavior_for);
    std::printf("{\"base_url\":\"%s\",\"port\":%u}\n", server.base_url().c_str(), static_cast<unsigned>(server.port()));
    std::fflush(stdout);
    // Wait for stdin EOF or a signal; poll so a signal is noticed promptly.
    char buffer[256];
    while (!g_stop) {
      pollfd pfd{STDIN_FILENO, POLLIN, 0};
      const int ready = ::poll(&pfd, 1, 200);
      if (ready > 0) {
        const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
        if (n <= 0) break;  // EOF or error: the parent is gone
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "llmux_fake_server: %s\n", e.what());
    return 1;
  }
  return 0;
}
