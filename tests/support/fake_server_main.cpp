// llmux_fake_server: the scripted fake provider as a process, for the test
// suites that cannot link C++ (C, Python, Go, Rust bindings) and for the
// binding benchmarks.
//
// Usage: llmux_fake_server [--port N]
// Prints one line {"base_url":"http://127.0.0.1:<port>/v1","port":<port>} on
// stdout once it serves, then serves until stdin reaches EOF (the parent
// exited or closed the pipe) or SIGTERM/SIGINT.
//
// What it received, for tests that count at the provider: the line
// "requests <from>" on stdin is answered by one line on stdout,
//   {"requests":[{"model":"m","path":"/v1/chat/completions","t":1234.5678},...]}
// every request since the <from>-th (0-based; 0 when omitted), in arrival
// order: the model as the behaviour reads it and t = when it arrived, in
// seconds of CLOCK_MONOTONIC (std::chrono::steady_clock; Python's
// time.monotonic()), so it compares with times other processes took. Other
// lines are ignored.
//
// It speaks three wire formats, chosen by the request's path:
//   POST /v1/chat/completions, /v1/embeddings   OpenAI (api_base <base_url>)
//   POST /v1/messages                            Anthropic Messages, JSON and SSE
//                                                (api_base <base_url> without /v1:
//                                                the adapter appends /v1/messages)
//   POST /v1/models/<m>:generateContent,
//        :streamGenerateContent?alt=sse,
//        :batchEmbedContents                     Gemini (api_base <base_url>)
//   POST /model/<id>/converse, /converse-stream  AWS Bedrock Converse, JSON and
//                                                event-stream frames
//                                                (aws_bedrock_runtime_endpoint
//                                                <base_url> without /v1)
// Anthropic requests need an x-api-key and Gemini requests an x-goog-api-key
// (any non-empty value), as the real APIs refuse a request without one.
// Bedrock requests must be SigV4-signed (service bedrock, region us-west-2)
// with the fixed test keys kScenarioAwsAccessKey / kScenarioAwsSecret below
// (the suites export them as AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY): the
// signature is recomputed and a mismatch is Bedrock's 403
// InvalidSignatureException.
//
// Each request is answered by the behaviour its model names, so a config
// alone scripts a scenario (the model is the deployment's litellm_params.model
// without the provider prefix: the body's "model", or Gemini's and Bedrock's
// path segment). Errors come in the request's own format (OpenAI's,
// Anthropic's, Google's or Bedrock's error body):
//   status-<NNN>[-...]  an error with that HTTP status (Anthropic: 429
//                       rate_limit_error, 529 overloaded_error, ...; Google:
//                       429 RESOURCE_EXHAUSTED, 503 UNAVAILABLE, ...; Bedrock:
//                       x-amzn-ErrorType 429 ThrottlingException, 400
//                       ValidationException, ...); a name with "-retry-after"
//                       adds Retry-After: 1
//   context-window...   the format's context-window error (OpenAI's 400
//                       context_length_exceeded; Anthropic's 400 "prompt is too
//                       long"; Google's 400 "exceeds the maximum number of tokens
//                       allowed"; Bedrock's 400 ValidationException "Input is too
//                       long for requested model.")
//   content-policy...   the format's content-policy answer (OpenAI's 400
//                       content_policy_violation; Anthropic's 400 "Output blocked
//                       by content filtering policy"; Gemini's 200 with
//                       promptFeedback.blockReason SAFETY; Bedrock's 200 with
//                       stopReason guardrail_intervened)
//   hang...             never answers
//   reset...            closes the connection before any byte
//   slow-<ms>[-...]     answers after <ms> milliseconds
//   anything else       200; content "Hello from <model>." (streamed in several
//                       chunks when the request asks for a stream; OpenAI adds a
//                       usage chunk when stream_options.include_usage is set,
//                       Anthropic, Gemini and Bedrock streams always carry usage)
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <poll.h>
#include <unistd.h>

#include <simdjson.h>

#include "json/writer.hpp"
#include "support/fake_anthropic.hpp"
#include "support/fake_bedrock.hpp"
#include "support/fake_gemini.hpp"
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

// What a model name scripts, before it is put in a wire format.
struct Script {
  enum class Kind { kOk, kStatus, kContextWindow, kContentPolicy, kHang, kReset };
  Kind kind = Kind::kOk;
  int status = 0;           // kStatus
  bool retry_after = false;  // kStatus: add Retry-After: 1
  int delay_ms = 0;         // kOk: slow-<ms>
};

Script script_for(const std::string& model) {
  Script s;
  if (starts_with(model, "status-")) {
    s.kind = Script::Kind::kStatus;
    s.status = std::atoi(model.c_str() + 7);
    if (s.status <= 0) s.status = 500;
    s.retry_after = model.find("-retry-after") != std::string::npos;
  } else if (starts_with(model, "context-window")) {
    s.kind = Script::Kind::kContextWindow;
  } else if (starts_with(model, "content-policy")) {
    s.kind = Script::Kind::kContentPolicy;
  } else if (starts_with(model, "hang")) {
    s.kind = Script::Kind::kHang;
  } else if (starts_with(model, "reset")) {
    s.kind = Script::Kind::kReset;
  } else if (starts_with(model, "slow-")) {
    s.delay_ms = std::atoi(model.c_str() + 5);
  }
  return s;
}

// Behaviours every format shares; nullopt when the format must answer itself.
std::optional<Behavior> transport_behavior(const Script& s) {
  if (s.kind == Script::Kind::kHang) return Behavior::hang();
  if (s.kind == Script::Kind::kReset) return Behavior::reset();
  return std::nullopt;
}

Behavior with_retry_after(Behavior b, const Script& s) {
  if (s.retry_after) b.headers.emplace_back("retry-after", "1");
  return b;
}

Behavior openai_behavior(const ReceivedRequest& request) {
  const std::string model = model_of(request);
  const Script s = script_for(model);
  if (auto b = transport_behavior(s)) return std::move(*b);
  switch (s.kind) {
    case Script::Kind::kStatus:
      if (s.status == 429) return Behavior::rate_limited(s.retry_after ? 1 : -1);
      if (s.status == 401) {
        // OpenAI's real 401 body: LiteLLM classifies it by status because of the message.
        return Behavior::error(401, "Incorrect API key provided: sk-****. (scripted by " + model + ")",
                               "invalid_request_error", "invalid_api_key");
      }
      return with_retry_after(Behavior::error(s.status, "scripted failure from " + model, "server_error"), s);
    case Script::Kind::kContextWindow: return Behavior::context_window_exceeded();
    case Script::Kind::kContentPolicy: return Behavior::content_policy_violation();
    default: break;
  }
  Behavior ok = Behavior::ok("Hello from " + model + ".");
  ok.delay = llmux::testing::Millis(s.delay_ms);
  return ok;
}

// Anthropic's error type for a status (the API's documented pairs).
const char* anthropic_error_type(int status) {
  switch (status) {
    case 400: return "invalid_request_error";
    case 401: return "authentication_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 413: return "request_too_large";
    case 429: return "rate_limit_error";
    case 529: return "overloaded_error";
    default: return "api_error";
  }
}

Behavior anthropic_behavior(const ReceivedRequest& request) {
  using llmux::testing::anthropic_error;
  // The real API checks the key before it reads the body.
  const std::string key = request.header("x-api-key");
  if (key.empty()) return anthropic_error(401, "authentication_error", "x-api-key header is required");
  const std::string model = model_of(request);
  const Script s = script_for(model);
  if (auto b = transport_behavior(s)) return std::move(*b);
  switch (s.kind) {
    case Script::Kind::kStatus: {
      const std::string type = anthropic_error_type(s.status);
      const std::string message = s.status == 529 ? "Overloaded" : "scripted " + type + " from " + model;
      return with_retry_after(anthropic_error(s.status, type, message), s);
    }
    case Script::Kind::kContextWindow:
      return anthropic_error(400, "invalid_request_error", "prompt is too long: 212345 tokens > 200000 maximum");
    case Script::Kind::kContentPolicy:
      return anthropic_error(400, "invalid_request_error", "Output blocked by content filtering policy");
    default: break;
  }
  llmux::testing::AnthropicScript script;
  script.text = "Hello from " + model + ".";
  script.model = model;
  script.api_key = key;
  Behavior ok = llmux::testing::anthropic_answer(request, script);
  ok.delay = llmux::testing::Millis(s.delay_ms);
  return ok;
}

// Google's canonical status name for an HTTP status.
const char* google_status(int status) {
  switch (status) {
    case 400: return "INVALID_ARGUMENT";
    case 401: return "UNAUTHENTICATED";
    case 403: return "PERMISSION_DENIED";
    case 404: return "NOT_FOUND";
    case 409: return "ABORTED";
    case 429: return "RESOURCE_EXHAUSTED";
    case 500: return "INTERNAL";
    case 503: return "UNAVAILABLE";
    case 504: return "DEADLINE_EXCEEDED";
    default: return "UNKNOWN";
  }
}

std::optional<Behavior> gemini_script(const llmux::testing::GeminiCall& call) {
  using llmux::testing::gemini_error;
  if (call.request->header("x-goog-api-key").empty()) {
    return gemini_error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.");
  }
  const Script s = script_for(call.model);
  if (auto b = transport_behavior(s)) return b;
  switch (s.kind) {
    case Script::Kind::kStatus:
      return with_retry_after(
          gemini_error(s.status, google_status(s.status), "scripted " + std::string(google_status(s.status)) +
                                                              " from " + call.model),
          s);
    case Script::Kind::kContextWindow:
      return gemini_error(400, "INVALID_ARGUMENT",
                          "The input token count (1234567) exceeds the maximum number of tokens allowed (1048576).");
    case Script::Kind::kContentPolicy: {
      // Gemini refuses a prompt with a 200 answer: promptFeedback.blockReason.
      const std::string body = llmux::testing::gemini_prompt_blocked_body();
      if (call.method == "streamGenerateContent") return llmux::testing::gemini_stream_events({body});
      return llmux::testing::gemini_json(body);
    }
    default: break;
  }
  if (s.delay_ms == 0) return std::nullopt;  // the handler's "Hello from <model>." in the call's format
  const std::string text = "Hello from " + call.model + ".";
  Behavior ok = call.method == "streamGenerateContent" ? llmux::testing::gemini_stream(text)
                                                       : llmux::testing::gemini_json(llmux::testing::gemini_text_body(text));
  ok.delay = llmux::testing::Millis(s.delay_ms);
  return ok;
}

bool is_gemini_path(std::string_view path) { return starts_with(path, "/v1/models/"); }

// The fixed AWS test keys of the scenario (not a real account's).
constexpr std::string_view kScenarioAwsSecret = "sk-scenario-secret-aws/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr std::string_view kScenarioAwsRegion = "us-west-2";

// Bedrock's exception name for a status (the Converse API's documented pairs).
const char* bedrock_error_type(int status) {
  switch (status) {
    case 400: return "ValidationException";
    case 403: return "AccessDeniedException";
    case 404: return "ResourceNotFoundException";
    case 408: return "ModelTimeoutException";
    case 424: return "ModelErrorException";
    case 429: return "ThrottlingException";
    case 503: return "ServiceUnavailableException";
    default: return "InternalServerException";
  }
}

// The model id of /model/<id>/converse[-stream], percent-decoded.
std::string bedrock_model(std::string_view path) {
  path.remove_prefix(std::string_view("/model/").size());
  path = path.substr(0, path.find('/'));
  std::string out;
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '%' && i + 2 < path.size()) {
      out.push_back(static_cast<char>(std::stoi(std::string(path.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(path[i]);
    }
  }
  return out;
}

Behavior bedrock_behavior(const ReceivedRequest& request, uint16_t port) {
  using llmux::testing::bedrock_error;
  // The real API checks the signature before it reads the body.
  if (std::string why = llmux::testing::bedrock_signature_problem(request, port, kScenarioAwsSecret,
                                                                  kScenarioAwsRegion);
      !why.empty()) {
    return bedrock_error(403, "InvalidSignatureException",
                         "The request signature we calculated does not match the signature you provided. Check "
                         "your AWS Secret Access Key and signing method. (" + why + ")");
  }
  const std::string model = bedrock_model(request.path);
  const Script s = script_for(model);
  if (auto b = transport_behavior(s)) return std::move(*b);
  llmux::testing::BedrockScript script;
  script.text = "Hello from " + model + ".";
  script.region = std::string(kScenarioAwsRegion);
  script.secret = std::string(kScenarioAwsSecret);
  switch (s.kind) {
    case Script::Kind::kStatus: {
      const char* type = bedrock_error_type(s.status);
      const std::string message = s.status == 429 ? "Too many requests, please wait before trying again."
                                                  : std::string("scripted ") + type + " from " + model;
      return with_retry_after(bedrock_error(s.status, type, message), s);
    }
    case Script::Kind::kContextWindow:
      return bedrock_error(400, "ValidationException", "Input is too long for requested model.");
    case Script::Kind::kContentPolicy:
      script.text = "";
      script.stop_reason = "guardrail_intervened";
      break;
    default: break;
  }
  Behavior ok = llmux::testing::bedrock_answer(request, script, port);
  ok.delay = llmux::testing::Millis(s.delay_ms);
  return ok;
}

// The model a request's behaviour was chosen by (Gemini's and Bedrock's are
// in the path).
std::string scripted_model(const ReceivedRequest& request) {
  if (starts_with(request.path, "/model/")) return bedrock_model(request.path);
  if (is_gemini_path(request.path)) {
    std::string_view rest = std::string_view(request.path).substr(std::string_view("/v1/models/").size());
    return std::string(rest.substr(0, rest.find(':')));
  }
  return model_of(request);
}

// The answer to "requests <from>": one JSON line (see the top of the file).
void print_requests(const llmux::testing::FakeProvider& server, std::string_view argument) {
  size_t from = 0;
  while (!argument.empty() && argument.front() == ' ') argument.remove_prefix(1);
  for (char c : argument) {
    if (c < '0' || c > '9') break;
    from = from * 10 + static_cast<size_t>(c - '0');
  }
  const std::vector<ReceivedRequest> all = server.requests();
  std::string out;
  llmux::json::Writer w(out);
  w.begin_object().key("requests").begin_array();
  for (size_t i = from; i < all.size(); ++i) {
    const double t = std::chrono::duration<double>(all[i].received_at.time_since_epoch()).count();
    w.begin_object().member("model", scripted_model(all[i])).member("path", all[i].path).member("t", t).end_object();
  }
  w.end_array().end_object();
  out.push_back('\n');
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
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
    // AI Studio's routes under the base URL (its own base ends in /v1beta); the
    // key is checked by gemini_script, which accepts any non-empty one.
    auto gemini = llmux::testing::gemini_handler({.path_prefix = "/v1", .auth_header = "", .auth_value = ""},
                                                 gemini_script);
    const uint16_t bound_port = server.port();
    server.set_handler([gemini, bound_port](const ReceivedRequest& request) {
      if (request.path == "/v1/messages") return anthropic_behavior(request);
      if (is_gemini_path(request.path)) return gemini(request);
      if (starts_with(request.path, "/model/")) return bedrock_behavior(request, bound_port);
      return openai_behavior(request);
    });
    std::printf("{\"base_url\":\"%s\",\"port\":%u}\n", server.base_url().c_str(), static_cast<unsigned>(server.port()));
    std::fflush(stdout);
    // Wait for stdin EOF or a signal; poll so a signal is noticed promptly.
    // Lines on stdin are commands ("requests <from>").
    char buffer[256];
    std::string line;
    while (!g_stop) {
      pollfd pfd{STDIN_FILENO, POLLIN, 0};
      const int ready = ::poll(&pfd, 1, 200);
      if (ready > 0) {
        const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
        if (n <= 0) break;  // EOF or error: the parent is gone
        line.append(buffer, static_cast<size_t>(n));
        for (size_t end = line.find('\n'); end != std::string::npos; end = line.find('\n')) {
          const std::string_view command = std::string_view(line).substr(0, end);
          if (starts_with(command, "requests")) print_requests(server, command.substr(8));
          line.erase(0, end + 1);
        }
        if (line.size() > 4096) line.clear();  // no command is that long
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "llmux_fake_server: %s\n", e.what());
    return 1;
  }
  return 0;
}
