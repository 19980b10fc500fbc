#include "support/fake_bedrock.hpp"

#include <utility>

#include <absl/time/time.h>
#include <fmt/format.h>

#include "json/writer.hpp"
#include "provider/aws_sigv4.hpp"
#include "transport/aws_event_stream.hpp"

namespace llmux::testing {
namespace {

// "k1=v1, k2=v2" members of the Authorization header.
std::string auth_field(std::string_view authz, std::string_view name) {
  const size_t at = authz.find(std::string(name) + "=");
  if (at == std::string_view::npos) return {};
  std::string_view rest = authz.substr(at + name.size() + 1);
  return std::string(rest.substr(0, rest.find(',')));
}

void frame(std::string& out, std::string_view message_type, std::string_view type_header, std::string_view type,
           std::string_view payload) {
  using transport::EventStreamHeader;
  using transport::EventStreamHeaderType;
  EventStreamHeader h[3];
  h[0] = {type_header, EventStreamHeaderType::kString, 0, type};
  h[1] = {":content-type", EventStreamHeaderType::kString, 0, "application/json"};
  h[2] = {":message-type", EventStreamHeaderType::kString, 0, message_type};
  transport::append_event_stream_message(out, h, payload);
}

std::string json_text(std::string_view s) {
  std::string out;
  json::append_json_string(out, s);
  return out;
}

std::string_view stop_reason(const BedrockScript& s) {
  if (!s.stop_reason.empty()) return s.stop_reason;
  return s.tools.empty() ? "end_turn" : "tool_use";
}

std::string usage_json(const BedrockScript& s) {
  return fmt::format(
      R"({{"inputTokens":{},"outputTokens":{},"totalTokens":{},"cacheReadInputTokens":{},"cacheWriteInputTokens":{}}})",
      s.input_tokens, s.output_tokens, s.input_tokens + s.output_tokens, s.cache_read, s.cache_write);
}

}  // namespace

std::string bedrock_signature_problem(const ReceivedRequest& request, uint16_t port, std::string_view secret,
                                      std::string_view region) {
  const std::string authz = request.header("authorization");
  if (authz.rfind("AWS4-HMAC-SHA256 ", 0) != 0) return "no SigV4 Authorization header";
  const std::string credential = auth_field(authz, "Credential");
  const std::string signed_headers = auth_field(authz, "SignedHeaders");
  const std::string signature = auth_field(authz, "Signature");
  const std::string key_id = credential.substr(0, credential.find('/'));
  if (credential.find(fmt::format("/{}/bedrock/aws4_request", region)) == std::string::npos) {
    return "credential scope " + credential;
  }
  const std::string date = request.header("x-amz-date");
  if (date.size() != 16) return "no x-amz-date";
  auto num = [&](size_t at, size_t n) { return std::stoi(date.substr(at, n)); };
  const absl::Time when = absl::FromCivil(
      absl::CivilSecond(num(0, 4), num(4, 2), num(6, 2), num(9, 2), num(11, 2), num(13, 2)), absl::UTCTimeZone());
  // Only the headers the client signed, as received.
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  for (const auto& [name, value] : request.headers) {
    const std::string list = ";" + signed_headers + ";";
    if (list.find(";" + name + ";") != std::string::npos) headers.emplace_back(name, value);
  }
  const std::string url = fmt::format("http://127.0.0.1:{}{}", port, request.path);
  provider::SigV4Request sr;
  sr.method = request.method;
  sr.url = url;
  sr.headers = headers;
  sr.body = request.body;
  sr.region = region;
  sr.service = "bedrock";
  sr.time = when;
  sr.header_selection = provider::SigV4HeaderSelection::kAll;
  const std::string token = request.header("x-amz-security-token");
  auto sig = provider::sign_sigv4(sr, {key_id, secret, token});
  if (!sig.ok()) return std::string(sig.status().message());
  if (sig->signed_headers != signed_headers) return "signed headers " + signed_headers + " vs " + sig->signed_headers;
  if (sig->signature != signature) return "signature mismatch";
  return {};
}

Behavior bedrock_error(int status, std::string type, std::string message) {
  Behavior b;
  b.status = status;
  b.headers.emplace_back("x-amzn-ErrorType", type + ":http://internal.amazon.com/coral/com.amazon.bedrock/");
  b.body = fmt::format(R"({{"message":{}}})", json_text(message));
  return b;
}

std::string converse_json(const BedrockScript& s) {
  std::string content = fmt::format(R"({{"text":{}}})", json_text(s.text));
  for (const auto& t : s.tools) {
    content += fmt::format(R"(,{{"toolUse":{{"toolUseId":{},"name":{},"input":{}}}}})", json_text(t.id),
                           json_text(t.name), t.input_json);
  }
  return fmt::format(
      R"({{"output":{{"message":{{"role":"assistant","content":[{}]}}}},"stopReason":"{}","usage":{},"metrics":{{"latencyMs":12}}}})",
      content, stop_reason(s), usage_json(s));
}

std::string converse_stream_bytes(const BedrockScript& s) {
  std::vector<std::pair<std::string, std::string>> events;  // (event type, payload)
  events.emplace_back("messageStart", R"({"role":"assistant","p":"abc"})");
  const size_t parts = std::max(1, s.text_parts);
  const size_t step = (s.text.size() + parts - 1) / parts;
  for (size_t at = 0; at < s.text.size(); at += std::max<size_t>(step, 1)) {
    events.emplace_back("contentBlockDelta", fmt::format(R"({{"contentBlockIndex":0,"delta":{{"text":{}}},"p":"xy"}})",
                                                         json_text(s.text.substr(at, step))));
  }
  events.emplace_back("contentBlockStop", R"({"contentBlockIndex":0})");
  int index = 1;
  for (const auto& t : s.tools) {
    events.emplace_back("contentBlockStart",
                        fmt::format(R"({{"contentBlockIndex":{},"start":{{"toolUse":{{"toolUseId":{},"name":{}}}}}}})",
                                    index, json_text(t.id), json_text(t.name)));
    const size_t half = t.input_json.size() / 2;
    for (std::string_view piece : {std::string_view(t.input_json).substr(0, half), std::string_view(t.input_json).substr(half)}) {
      if (piece.empty()) continue;
      events.emplace_back("contentBlockDelta",
                          fmt::format(R"({{"contentBlockIndex":{},"delta":{{"toolUse":{{"input":{}}}}}}})", index,
                                      json_text(piece)));
    }
    events.emplace_back("contentBlockStop", fmt::format(R"({{"contentBlockIndex":{}}})", index));
    ++index;
  }
  events.emplace_back("messageStop", fmt::format(R"({{"stopReason":"{}"}})", stop_reason(s)));
  events.emplace_back("metadata", fmt::format(R"({{"usage":{},"metrics":{{"latencyMs":12}}}})", usage_json(s)));
  std::string out;
  int n = 0;
  for (const auto& [type, payload] : events) {
    if (!s.exception_type.empty() && n++ == s.exception_after) {
      frame(out, "exception", ":exception-type", s.exception_type,
            fmt::format(R"({{"message":{}}})", json_text(s.exception_message)));
      return out;
    }
    frame(out, "event", ":event-type", type, payload);
  }
  if (s.corrupt_crc) out.back() ^= 0x01;
  return out;
}

Behavior bedrock_answer(const ReceivedRequest& request, const BedrockScript& script, uint16_t port) {
  if (request.header("authorization").rfind("Bearer ", 0) != 0) {
    if (std::string why = bedrock_signature_problem(request, port, script.secret, script.region); !why.empty()) {
      Behavior b = bedrock_error(403, "InvalidSignatureException",
                                 "The request signature we calculated does not match the signature you provided. "
                                 "Check your AWS Secret Access Key and signing method. (" + why + ")");
      return b;
    }
  }
  const bool stream = request.path.size() > 16 && request.path.ends_with("/converse-stream");
  if (request.path.rfind("/model/", 0) != 0 || !(stream || request.path.ends_with("/converse"))) {
    return bedrock_error(404, "UnknownOperationException", "no such operation: " + request.path);
  }
  if (request.body.find("\"messages\"") == std::string::npos) {
    return bedrock_error(400, "ValidationException", "Malformed input request: messages is required");
  }
  Behavior b;
  if (!stream) {
    b.body = converse_json(script);
    return b;
  }
  b.stream = true;
  b.raw_events = true;
  b.send_done = false;
  b.stream_content_type = "application/vnd.amazon.eventstream";
  const std::string bytes = converse_stream_bytes(script);
  for (size_t at = 0; at < bytes.size(); at += script.split_every) b.events.push_back(bytes.substr(at, script.split_every));
  return b;
}

}  // namespace llmux::testing
