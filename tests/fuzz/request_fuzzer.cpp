// Fuzz target: request::parse_request and request::splice_request.
// Input: byte 0 chooses the endpoint (bit 0) and the splice options (bits
// 1-5); the rest is the request body.
// Properties: parse_request never fails other than with kInvalidArgument;
// every accepted body is a valid JSON object (simdjson's DOM parser); the
// spliced body of an accepted request is valid JSON (an object), is accepted
// by parse_request again with the model it was given, and carries the stream
// setting that was asked for.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <simdjson.h>

#include "fuzz_check.hpp"
#include "request/request.hpp"

namespace {

using llmux::ErrorKind;
using llmux::request::Endpoint;
using llmux::request::ParsedRequest;
using llmux::request::SpliceOptions;

// simdjson's DOM parser rejects integers beyond 64 bits (NUMBER_ERROR), which
// JSON allows and parse_request accepts (a router-only number is read as a
// double, a passed-through one kept as its text): those count as valid here.
bool valid_json_object(const std::string& text) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  const simdjson::error_code error = parser.parse(text).get(root);
  if (error == simdjson::NUMBER_ERROR) return true;
  if (error != simdjson::SUCCESS) return false;
  return root.is_object();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t flags = data[0];
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  const Endpoint endpoint = (flags & 1) ? Endpoint::kEmbeddings : Endpoint::kChatCompletions;

  auto parsed = llmux::request::parse_request(body, endpoint);
  if (!parsed.ok()) {
    FUZZ_CHECK(parsed.error().kind == ErrorKind::kInvalidArgument);
    FUZZ_CHECK(!parsed.error().message.empty());
    return 0;
  }
  const ParsedRequest& request = parsed.value();
  // Nothing but a single JSON object is accepted (no trailing token, no
  // unbalanced brackets): simdjson's DOM parser agrees.
  FUZZ_CHECK(valid_json_object(std::string(body)));
  FUZZ_CHECK(!request.model.empty());
  FUZZ_CHECK(request.prompt_bytes >= 0 && request.estimated_prompt_tokens >= 0);

  SpliceOptions options;
  options.force_stream = (flags & 2) != 0;
  options.force_no_stream = (flags & 4) != 0;
  options.add_include_usage = (flags & 8) != 0;
  if (flags & 16) options.extra_members = R"("prefill":{"role":"assistant","content":"x"})";
  if (flags & 32) options.messages_override = R"([{"role":"user","content":"\u00e9"}])";
  // The model a deployment sends: the caller's, or a provider-prefixed name
  // (which must be escaped on the way out).
  const std::string model = (flags & 64) ? "openai/\"q\\\n" + request.model : request.model;

  std::string out;
  llmux::request::splice_request(request, model, options, out);
  FUZZ_CHECK(valid_json_object(out));

  auto again = llmux::request::parse_request(out, endpoint);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again.value().model == model);
  if (options.force_stream) FUZZ_CHECK(again.value().stream);
  if (!options.force_stream && options.force_no_stream) {
    FUZZ_CHECK(!again.value().stream && !again.value().has_stream_options);
  }
  if (!options.force_stream && !options.force_no_stream) FUZZ_CHECK(again.value().stream == request.stream);
  // The router-only keys were all removed: nothing left to strip.
  FUZZ_CHECK(again.value().router.tags.empty() && !again.value().router.mock_response &&
             !again.value().router.num_retries && !again.value().router.fallbacks);
  return 0;
}
