#include "support/fake_gemini.hpp"

#include <fmt/format.h>
#include <simdjson.h>

#include "json/writer.hpp"

namespace llmux::testing {
namespace {

std::string usage_json(int prompt, int completion) {
  return fmt::format(R"({{"promptTokenCount":{},"candidatesTokenCount":{},"totalTokenCount":{}}})", prompt, completion,
                     prompt + completion);
}

std::string text_candidate(std::string_view text, std::string_view finish_reason) {
  std::string out;
  json::Writer w(out);
  w.begin_object().key("content").begin_object().member("role", "model").key("parts").begin_array();
  w.begin_object().member("text", text).end_object().end_array().end_object();
  if (!finish_reason.empty()) w.member("finishReason", finish_reason);
  w.member("index", 0).end_object();
  return out;
}

}  // namespace

std::string gemini_text_body(std::string_view text, int prompt_tokens, int completion_tokens,
                             std::string_view finish_reason) {
  return fmt::format(R"({{"candidates":[{}],"usageMetadata":{},"modelVersion":"gemini-fake","responseId":"fake-resp-1"}})",
                     text_candidate(text, finish_reason), usage_json(prompt_tokens, completion_tokens));
}

std::string gemini_function_call_body(std::string_view name, std::string_view args_json) {
  std::string out;
  json::Writer w(out);
  w.begin_object().key("candidates").begin_array().begin_object();
  w.key("content").begin_object().member("role", "model").key("parts").begin_array();
  w.begin_object().key("functionCall").begin_object().member("name", name).key("args").raw(args_json).end_object();
  w.end_object().end_array().end_object().member("finishReason", "STOP").end_object().end_array();
  w.key("usageMetadata").raw(usage_json(12, 7)).end_object();
  return out;
}

std::string gemini_prompt_blocked_body() {
  return R"({"promptFeedback":{"blockReason":"SAFETY","safetyRatings":[{"category":"HARM_CATEGORY_DANGEROUS_CONTENT","probability":"HIGH"}]},)"
         R"("usageMetadata":{"promptTokenCount":6,"totalTokenCount":6}})";
}

std::string gemini_safety_body(std::string_view partial_text) {
  return fmt::format(R"({{"candidates":[{}],"usageMetadata":{}}})", text_candidate(partial_text, "SAFETY"),
                     usage_json(6, 2));
}

std::string gemini_error_body(int code, std::string_view status, std::string_view message) {
  std::string out;
  json::Writer w(out);
  w.begin_object().key("error").begin_object().member("code", code).member("message", message);
  w.member("status", status).end_object().end_object();
  return out;
}

std::string gemini_embeddings_body(int inputs, int dimensions) {
  std::string out = R"({"embeddings":[)";
  for (int i = 0; i < inputs; ++i) {
    if (i) out += ",";
    out += R"({"values":[)";
    for (int d = 0; d < dimensions; ++d) out += fmt::format("{}{}", d ? "," : "", 0.25 * (i + 1));
    out += "]}";
  }
  out += "]}";
  return out;
}

std::string vertex_predict_embeddings_body(const std::vector<int>& token_counts, int dimensions) {
  std::string out;
  json::Writer w(out);
  w.begin_object().key("predictions").begin_array();
  for (size_t i = 0; i < token_counts.size(); ++i) {
    w.begin_object().key("embeddings").begin_object();
    w.key("statistics").begin_object().member("truncated", false).member("token_count", token_counts[i]).end_object();
    w.key("values").begin_array();
    for (int d = 0; d < dimensions; ++d) w.number(0.25 * static_cast<double>(i + 1));
    w.end_array().end_object().end_object();
  }
  w.end_array().key("metadata").begin_object().member("billableCharacterCount", 0).end_object().end_object();
  return out;
}

std::optional<std::string> vertex_predict_answer(std::string_view request_body, std::string& why) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  simdjson::dom::array instances;
  if (parser.parse(request_body.data(), request_body.size()).get(root) ||
      root["instances"].get_array().get(instances)) {
    why = "predict body without instances";
    return std::nullopt;
  }
  int64_t dimensions = 3;
  if (int64_t d = 0; !root.at_pointer("/parameters/outputDimensionality").get_int64().get(d)) {
    dimensions = d;
  }
  std::vector<int> counts;
  for (simdjson::dom::element instance : instances) {
    std::string_view content;
    if (instance["content"].get_string().get(content)) {
      why = "an instance without a content string";
      return std::nullopt;
    }
    int words = 0;
    bool in_word = false;
    for (char c : content) {
      if (c == ' ') {
        in_word = false;
      } else if (!in_word) {
        in_word = true;
        ++words;
      }
    }
    counts.push_back(words);
  }
  if (counts.empty()) {
    why = "empty instances";
    return std::nullopt;
  }
  return vertex_predict_embeddings_body(counts, static_cast<int>(dimensions));
}

Behavior gemini_json(std::string body) {
  Behavior b;
  b.body = std::move(body);
  return b;
}

Behavior gemini_error(int code, std::string_view status, std::string_view message) {
  Behavior b = gemini_json(gemini_error_body(code, status, message));
  b.status = code;
  return b;
}

Behavior gemini_stream_events(const std::vector<std::string>& json_events) {
  Behavior b;
  b.stream = true;
  b.raw_events = true;
  b.send_done = false;
  for (const std::string& e : json_events) b.events.push_back(fmt::format("data: {}\r\n\r\n", e));
  return b;
}

Behavior gemini_stream(std::string_view text, int chunks, int prompt_tokens, int completion_tokens) {
  std::vector<std::string> events;
  const size_t n = static_cast<size_t>(std::max(1, chunks));
  const size_t step = (text.size() + n - 1) / n;
  for (size_t i = 0; i < n; ++i) {
    const std::string_view piece = i * step < text.size() ? text.substr(i * step, step) : std::string_view();
    const bool last = i + 1 == n;
    events.push_back(fmt::format(R"({{"candidates":[{}],"usageMetadata":{},"responseId":"fake-stream-1"}})",
                                 text_candidate(piece, last ? "STOP" : ""),
                                 last ? usage_json(prompt_tokens, completion_tokens)
                                      : fmt::format(R"({{"promptTokenCount":{}}})", prompt_tokens)));
  }
  return gemini_stream_events(events);
}

std::function<Behavior(const ReceivedRequest&)> gemini_handler(GeminiFakeOptions options, GeminiScript script) {
  return [options = std::move(options), script = std::move(script)](const ReceivedRequest& rec) -> Behavior {
    std::string_view path = rec.path;
    std::string_view query;
    if (size_t q = path.find('?'); q != std::string_view::npos) {
      query = path.substr(q + 1);
      path = path.substr(0, q);
    }
    const std::string head = options.path_prefix + "/models/";
    const size_t colon = path.rfind(':');
    if (rec.method != "POST" || path.substr(0, head.size()) != head || colon == std::string_view::npos ||
        colon < head.size()) {
      return gemini_error(404, "NOT_FOUND", fmt::format("The requested URL {} was not found on this server.", path));
    }
    GeminiCall call;
    call.model = std::string(path.substr(head.size(), colon - head.size()));
    call.method = std::string(path.substr(colon + 1));
    call.sse = query.find("alt=sse") != std::string_view::npos;
    call.request = &rec;
    if (!options.auth_header.empty() && rec.header(options.auth_header) != options.auth_value) {
      if (options.auth_header == "x-goog-api-key") {
        return gemini_error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.");
      }
      return gemini_error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.");
    }
    if (call.method == "streamGenerateContent" && !call.sse) {
      return gemini_error(400, "INVALID_ARGUMENT", "streamGenerateContent without alt=sse is not what llmux sends");
    }
    if (script) {
      if (std::optional<Behavior> b = script(call)) return std::move(*b);
    }
    const std::string text = fmt::format("Hello from {}.", call.model);
    if (call.method == "streamGenerateContent") return gemini_stream(text);
    if (call.method == "generateContent") return gemini_json(gemini_text_body(text));
    if (call.method == "batchEmbedContents") return gemini_json(gemini_embeddings_body(1, 3));
    if (call.method == "predict") {
      std::string why;
      if (std::optional<std::string> body = vertex_predict_answer(rec.body, why)) return gemini_json(std::move(*body));
      return gemini_error(400, "INVALID_ARGUMENT", why);
    }
    return gemini_error(404, "NOT_FOUND", fmt::format("method {} not served by the fake", call.method));
  };
}

}  // namespace llmux::testing
