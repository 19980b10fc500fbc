#include "provider/bedrock_converse.hpp"

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <random>

#include <absl/strings/ascii.h>
#include <absl/strings/numbers.h>
#include <fmt/format.h>

#include "common/strings.hpp"
#include "json/writer.hpp"
#include "provider/chat_answer_writer.hpp"
#include "provider/chat_message_walk.hpp"
#include "provider/error_classifier.hpp"

namespace llmux::provider::bedrock {
namespace {

namespace dom = simdjson::dom;
using chat_walk::as_array;
using chat_walk::as_object;
using chat_walk::int_or_zero;
using chat_walk::is_null;
using chat_walk::member;
using chat_walk::scratch_parser;
using chat_walk::str_or;

constexpr size_t kMaxSearchedBodyBytes = 16 * 1024;
// The forced JSON tool's schema for response_format json_object.
constexpr std::string_view kAnyObjectSchema = R"({"type":"object","properties":{}})";
constexpr int64_t kMinThinkingBudget = 1024;
constexpr int64_t kThinkingHeadroom = 4096;  // maxTokens with thinking and no max given

std::string completion_id() {
  thread_local std::mt19937_64 gen{std::random_device{}()};
  return fmt::format("chatcmpl-{:016x}{:016x}", gen(), gen());
}

bool is_anthropic(std::string_view model) { return str_contains(model, "anthropic."); }
bool is_nova(std::string_view model) { return str_contains(model, "amazon.nova"); }
bool is_gpt_oss(std::string_view model) { return str_contains(model, "gpt-oss"); }

// Thinking budgets of reasoning_effort (LiteLLM's Anthropic defaults).
std::optional<int64_t> thinking_budget(std::string_view effort) {
  if (effort == "minimal") return 128;
  if (effort == "low") return 1024;
  if (effort == "medium") return 2048;
  if (effort == "high") return 4096;
  return std::nullopt;
}

// image/<type> → Converse's image format.
std::string_view image_format(std::string_view media_type) {
  if (media_type == "image/png") return "png";
  if (media_type == "image/jpeg" || media_type == "image/jpg") return "jpeg";
  if (media_type == "image/gif") return "gif";
  if (media_type == "image/webp") return "webp";
  return {};
}

// application/* and text/* → Converse's document format.
std::string_view document_format(std::string_view media_type) {
  static constexpr std::pair<std::string_view, std::string_view> kFormats[] = {
      {"application/pdf", "pdf"},
      {"text/csv", "csv"},
      {"application/msword", "doc"},
      {"application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"},
      {"application/vnd.ms-excel", "xls"},
      {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"},
      {"text/html", "html"},
      {"text/plain", "txt"},
      {"text/markdown", "md"},
  };
  for (const auto& [type, format] : kFormats) {
    if (media_type == type) return format;
  }
  return {};
}

// ---------------------------------------------------------------------------
// Request mapping

// Each block a whole Converse ContentBlock.
class BodyBuilder final : public chat_walk::ChatMessageWalk<BodyBuilder, std::string> {
 public:
  BodyBuilder(const request::ParsedRequest& request, const ConverseOptions& options)
      : ChatMessageWalk(chat_walk::WalkOptions{
            .provider_name = options.provider_name, .any_object_schema = kAnyObjectSchema, .function_role = true}),
        request_(request),
        options_(options) {}

  Status build(std::string& out);

 private:
  friend class chat_walk::ChatMessageWalk<BodyBuilder, std::string>;

  // What each piece of the conversation becomes (chat_message_walk.hpp).
  void add_text(Blocks& blocks, std::string_view text);
  void mark_part_cache(Blocks& blocks, size_t /*first*/, dom::element /*cache_control*/) { add_cache_point(blocks); }
  void mark_message_cache(Blocks& blocks, size_t /*first*/, dom::element /*cache_control*/) {
    if (!blocks.empty()) add_cache_point(blocks);
  }
  Status add_image(Blocks& blocks, std::optional<dom::element> image_url);
  Status add_document(Blocks& blocks, std::string_view media_type, std::string_view data);
  Status add_other_user_part(Blocks& /*blocks*/, std::string_view type, dom::element /*part*/) {
    return bad(fmt::format("content part type '{}' is not supported by Bedrock Converse", type));
  }
  bool add_assistant_part(Blocks& /*blocks*/, std::string_view /*type*/, dom::element /*part*/) { return false; }
  void add_thinking_block(Blocks& blocks, dom::element block);
  std::string tool_call_id(std::string_view id) { return std::string(id); }
  void add_tool_call(Blocks& blocks, std::string_view id, std::string_view name, std::string_view input_json);
  Status add_tool_result(Blocks& blocks, dom::object message, std::string_view id, std::optional<dom::element> content,
                         Blocks& parts);

  static void add_cache_point(Blocks& blocks) { blocks.emplace_back(R"({"cachePoint":{"type":"default"}})"); }

  Status map_param(std::string_view key, dom::element value, std::string_view raw_value);
  Status write_tool_config(json::Writer& w);

  const request::ParsedRequest& request_;
  const ConverseOptions& options_;
  bool has_tool_blocks_ = false;
  std::optional<int64_t> thinking_budget_;
  std::string inference_;    // inferenceConfig members
  json::Writer inference_w_{inference_};
  std::string additional_;   // additionalModelRequestFields members
  json::Writer additional_w_{additional_};
  std::string top_level_;    // guardrailConfig, performanceConfig, requestMetadata, serviceTier
  json::Writer top_level_w_{top_level_};
};

void BodyBuilder::add_text(Blocks& blocks, std::string_view text) {
  if (strip_ascii_whitespace(text).empty()) return;  // Bedrock rejects blank text blocks
  std::string b;
  json::Writer(b).begin_object().member("text", text).end_object();
  blocks.push_back(std::move(b));
}

Status BodyBuilder::add_image(Blocks& blocks, std::optional<dom::element> image) {
  std::string_view url;
  if (image && image->is_string()) url = str_or(*image);
  if (image && image->is_object()) url = str_or(as_object(*image)["url"]);
  auto data = chat_walk::split_data_uri(url);
  if (!data) {
    // LiteLLM downloads image URLs for Bedrock; an embedded router does not
    // fetch arbitrary URLs on its I/O thread (latency, SSRF).
    return bad("image_url: Bedrock takes images as base64 data URIs (data:image/png;base64,...); llmux does not "
               "download image URLs");
  }
  const std::string_view format = image_format(data->first);
  if (format.empty()) {
    return bad(fmt::format("image_url: media type '{}' is not one of image/png, image/jpeg, image/gif, image/webp",
                           data->first));
  }
  std::string b;
  json::Writer w(b);
  w.begin_object().key("image").begin_object().member("format", format).key("source").begin_object();
  w.member("bytes", data->second).end_object().end_object().end_object();
  blocks.push_back(std::move(b));
  return {};
}

Status BodyBuilder::add_document(Blocks& blocks, std::string_view media_type, std::string_view data) {
  const std::string_view format = document_format(media_type);
  if (format.empty()) return bad(fmt::format("file: media type '{}' is not a Bedrock document format", media_type));
  // Bedrock wants a document name; unique per content (FNV-1a of the data).
  uint64_t h = 1469598103934665603ull;
  for (char c : data) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  std::string b;
  json::Writer w(b);
  w.begin_object().key("document").begin_object().member("format", format);
  w.member("name", fmt::format("DocumentPDFmessages_{:016x}_{}", h, format)).key("source").begin_object();
  w.member("bytes", data).end_object().end_object().end_object();
  blocks.push_back(std::move(b));
  return {};
}

void BodyBuilder::add_thinking_block(Blocks& blocks, dom::element block) {
  if (!block.is_object()) return;
  dom::object tb = as_object(block);
  std::string b;
  json::Writer w(b);
  w.begin_object().key("reasoningContent").begin_object();
  if (str_or(tb["type"]) == "redacted_thinking") {
    w.member("redactedContent", str_or(tb["data"]));
  } else {
    w.key("reasoningText").begin_object().member("text", str_or(tb["thinking"]));
    if (auto sig = member(tb, "signature")) w.member("signature", str_or(*sig));
    w.end_object();
  }
  w.end_object().end_object();
  blocks.push_back(std::move(b));
}

void BodyBuilder::add_tool_call(Blocks& blocks, std::string_view id, std::string_view name,
                                std::string_view input_json) {
  std::string b;
  json::Writer w(b);
  w.begin_object().key("toolUse").begin_object().member("toolUseId", id);
  w.member("name", ToolNames::sanitize(name)).key("input").raw(input_json);
  w.end_object().end_object();
  blocks.push_back(std::move(b));
  has_tool_blocks_ = true;
}

Status BodyBuilder::add_tool_result(Blocks& blocks, dom::object /*message*/, std::string_view id,
                                    std::optional<dom::element> content, Blocks& parts) {
  if (content && content->is_string()) {
    add_text(parts, str_or(*content));
  } else if (content) {
    std::erase_if(parts, [](const std::string& b) { return b.starts_with(R"({"cachePoint")"); });
  }
  // Bedrock rejects an empty tool result: an empty answer is a blank-free text.
  if (parts.empty()) parts.emplace_back(R"({"text":"."})");
  std::string b;
  json::Writer w(b);
  w.begin_object().key("toolResult").begin_object().member("toolUseId", id).key("content").begin_array();
  for (const std::string& p : parts) w.raw(p);
  w.end_array().end_object().end_object();
  blocks.push_back(std::move(b));
  has_tool_blocks_ = true;
  return {};
}

// OpenAI parameters Converse has no equivalent for.
constexpr std::string_view kUnsupported[] = {
    "audio", "frequency_penalty", "function_call", "functions", "logit_bias", "logprobs", "modalities",
    "prediction", "presence_penalty", "prompt_cache_key", "safety_identifier", "seed", "top_logprobs",
    "verbosity", "web_search_options"};

// OpenAI-only members with no effect on an answer: left out silently.
constexpr std::string_view kIgnored[] = {"messages", "stream", "stream_options", "extra_headers", "user",
                                         "metadata", "store", "parallel_tool_calls"};

Status BodyBuilder::map_param(std::string_view key, dom::element value, std::string_view raw_value) {
  if (is_null(value)) return {};
  if (std::find(std::begin(kIgnored), std::end(kIgnored), key) != std::end(kIgnored)) return {};
  if (std::optional<Status> common = read_common_param(key, value)) return *common;
  if (key == "temperature") {
    inference_w_.key("temperature").raw(raw_value);
    return {};
  }
  if (key == "top_p") {
    inference_w_.key("topP").raw(raw_value);
    return {};
  }
  if (key == "top_k") {
    if (is_anthropic(options_.model)) {
      additional_w_.key("top_k").raw(raw_value);
    } else if (is_nova(options_.model)) {
      additional_w_.key("inferenceConfig").begin_object().key("topK").raw(raw_value).end_object();
    }
    return {};  // other families have no top_k: dropped, as LiteLLM does
  }
  if (key == "stop") {
    std::vector<std::string_view> stops;
    if (Status s = chat_walk::read_stop(value, stops, options_.provider_name); !s.ok()) return s;
    std::erase_if(stops, [](std::string_view s) { return s.empty(); });
    if (stops.empty()) return {};
    inference_w_.key("stopSequences").begin_array();
    for (std::string_view s : stops) inference_w_.string(s);
    inference_w_.end_array();
    return {};
  }
  if (key == "reasoning_effort") {
    const std::string_view effort = str_or(value);
    if (is_gpt_oss(options_.model) || !is_anthropic(options_.model)) {
      additional_w_.key("reasoning_effort").raw(raw_value);
      return {};
    }
    if (effort == "none") return {};
    std::optional<int64_t> budget = thinking_budget(effort);
    if (!budget) return bad(fmt::format("reasoning_effort '{}' is not one of minimal, low, medium, high, none", effort));
    thinking_budget_ = std::max(*budget, kMinThinkingBudget);
    additional_w_.key("thinking").begin_object().member("type", "enabled").member("budget_tokens", *thinking_budget_);
    additional_w_.end_object();
    return {};
  }
  if (key == "thinking") {
    if (value.is_object()) {
      if (int64_t budget = int_or_zero(member(as_object(value), "budget_tokens")); budget > 0) thinking_budget_ = budget;
    }
    additional_w_.key("thinking").raw(raw_value);
    return {};
  }
  if (key == "guardrailConfig" || key == "performanceConfig" || key == "requestMetadata" || key == "serviceTier") {
    top_level_w_.raw_key(key).raw(raw_value);
    return {};
  }
  if (key == "service_tier") {
    std::string_view tier = str_or(value);
    if (tier == "auto") tier = "default";
    if (!tier.empty()) top_level_w_.key("serviceTier").begin_object().member("type", tier).end_object();
    return {};
  }
  if (std::find(std::begin(kUnsupported), std::end(kUnsupported), key) != std::end(kUnsupported)) {
    unsupported_.emplace_back(key);
    return {};
  }
  if (key == "extra_body") {
    if (value.is_object()) {
      for (dom::key_value_pair kv : as_object(value)) additional_w_.key(kv.key).raw(simdjson::minify(kv.value));
    }
    return {};
  }
  // Anything else is a model-specific parameter (anthropic_beta, ...):
  // additionalModelRequestFields, as LiteLLM does.
  additional_w_.raw_key(key).raw(raw_value);
  return {};
}

Status BodyBuilder::write_tool_config(json::Writer& w) {
  if (!tools_ && !json_schema_) {
    if (has_tool_blocks_) {
      return bad("the conversation holds tool calls or tool results but the request has no tools; Bedrock needs "
                 "toolConfig for them (pass the tools)");
    }
    return {};
  }
  w.key("toolConfig").begin_object().key("tools").begin_array();
  if (tools_) {
    for (dom::element t : as_array(*tools_)) {
      if (!t.is_object()) return bad("tools entries must be objects");
      dom::object tool = as_object(t);
      std::optional<dom::element> fn = member(tool, "function");
      if (!fn || !fn->is_object()) {
        w.raw(simdjson::minify(t));  // already a Converse tool (toolSpec, cachePoint)
        continue;
      }
      dom::object f = as_object(*fn);
      const std::string_view name = str_or(f["name"]);
      if (name.empty()) return bad("tools[].function.name is required");
      std::string_view description = str_or(f["description"]);
      if (description.empty()) description = name;
      w.begin_object().key("toolSpec").begin_object().member("name", ToolNames::sanitize(name));
      w.member("description", description).key("inputSchema").begin_object().key("json");
      std::optional<dom::element> params = member(f, "parameters");
      if (params && params->is_object()) {
        w.raw(simdjson::minify(*params));
      } else {
        w.raw(R"({"type":"object","properties":{}})");
      }
      w.end_object().end_object().end_object();
      if (member(tool, "cache_control")) w.raw(R"({"cachePoint":{"type":"default"}})");
    }
  }
  if (json_schema_) {
    w.begin_object().key("toolSpec").begin_object().member("name", kJsonToolName);
    w.member("description", "Respond with a JSON object.").key("inputSchema").begin_object().key("json");
    w.raw(*json_schema_).end_object().end_object().end_object();
  }
  w.end_array();
  // With thinking on, Bedrock's Claude only takes an automatic choice.
  const bool thinking = thinking_budget_.has_value();
  if (json_schema_) {
    if (thinking) {
      w.key("toolChoice").raw(R"({"auto":{}})");
    } else {
      w.key("toolChoice").begin_object().key("tool").begin_object().member("name", kJsonToolName).end_object();
      w.end_object();
    }
  } else if (tool_choice_) {
    if (tool_choice_->is_string()) {
      const std::string_view s = str_or(*tool_choice_);
      if (s == "auto") {
        w.key("toolChoice").raw(R"({"auto":{}})");
      } else if (s == "required") {
        w.key("toolChoice").raw(thinking ? R"({"auto":{}})" : R"({"any":{}})");
      } else if (s == "none") {
        if (!options_.drop_params) {
          return bad("tool_choice 'none' is not supported by Bedrock Converse; set drop_params: true to drop it");
        }
      } else {
        return bad(fmt::format("tool_choice '{}' is not one of auto, required, none", s));
      }
    } else if (tool_choice_->is_object()) {
      std::optional<dom::element> fn = member(as_object(*tool_choice_), "function");
      const std::string_view name = fn && fn->is_object() ? str_or(as_object(*fn)["name"]) : std::string_view();
      if (name.empty()) return bad("tool_choice must name a function");
      if (thinking) {
        w.key("toolChoice").raw(R"({"auto":{}})");
      } else {
        w.key("toolChoice").begin_object().key("tool").begin_object().member("name", ToolNames::sanitize(name));
        w.end_object().end_object();
      }
    } else {
      return bad("tool_choice must be a string or an object");
    }
  }
  w.end_object();
  return {};
}

Status BodyBuilder::build(std::string& out) {
  out.clear();
  if (Status s = read_request(request_, options_.defaults, options_.drop_params, options_.model); !s.ok()) return s;
  if (turns_.empty()) return bad("the request has no user or assistant message; Bedrock needs at least one");

  json::Writer w(out);
  w.begin_object().key("messages").begin_array();
  for (const Turn& t : turns_) {
    w.begin_object().member("role", t.assistant ? "assistant" : "user").key("content").begin_array();
    for (const std::string& b : t.blocks) w.raw(b);
    w.end_array().end_object();
  }
  w.end_array();
  if (!system_.empty()) {
    w.key("system").begin_array();
    for (const std::string& b : system_) w.raw(b);
    w.end_array();
  }
  if (!max_tokens_ && thinking_budget_) max_tokens_ = *thinking_budget_ + kThinkingHeadroom;
  if (max_tokens_ || !inference_.empty()) {
    w.key("inferenceConfig").begin_object();
    if (max_tokens_) w.member("maxTokens", *max_tokens_);
    w.raw_members(inference_).end_object();
  }
  if (!additional_.empty()) w.key("additionalModelRequestFields").begin_object().raw_members(additional_).end_object();
  if (Status s = write_tool_config(w); !s.ok()) return s;
  w.raw_members(top_level_);
  w.end_object();
  return {};
}

// ---------------------------------------------------------------------------
// Answers

void write_usage(json::Writer& w, int64_t input, int64_t output, int64_t cache_read, int64_t cache_write) {
  // total = prompt + completion (llmux's §7 item 10 decision: Bedrock's own
  // totalTokens need not include the cache counts that prompt_tokens does).
  const int64_t prompt = input + cache_read + cache_write;
  w.key("usage").begin_object();
  w.member("prompt_tokens", prompt).member("completion_tokens", output).member("total_tokens", prompt + output);
  w.key("prompt_tokens_details").begin_object().member("cached_tokens", cache_read).end_object();
  w.member("cache_read_input_tokens", cache_read).member("cache_creation_input_tokens", cache_write);
  w.end_object();
}

// json_tool_call's input as the answer: a lone {"properties": {...}} wrapper
// (some models echo the schema's shape) is unwrapped.
std::string json_answer(dom::element input) {
  if (input.is_object()) {
    dom::object o = as_object(input);
    if (o.size() == 1) {
      if (auto props = member(o, "properties"); props && props->is_object()) return simdjson::minify(*props);
    }
  }
  return simdjson::minify(input);
}

Error make_error(ErrorKind kind, int litellm_status, int provider_status, std::string message,
                 std::string_view provider_name) {
  Error e(kind, std::move(message));
  e.status = litellm_status;
  e.provider_status = provider_status;
  e.llm_provider = std::string(provider_name);
  return e;
}

// The exception name out of "Name:uri" / "prefix#Name" (botocore's rule).
std::string_view error_type_name(std::string_view type) {
  if (size_t colon = type.find(':'); colon != std::string_view::npos) type = type.substr(0, colon);
  if (size_t hash = type.rfind('#'); hash != std::string_view::npos) type = type.substr(hash + 1);
  return strip_ascii_whitespace(type);
}

std::optional<std::pair<ErrorKind, int>> kind_of_type(std::string_view type) {
  const std::string t = ascii_lower(type);
  if (t.empty()) return std::nullopt;
  if (t == "validationexception") return std::make_pair(ErrorKind::kBadRequest, 400);
  if (t == "accessdeniedexception") return std::make_pair(ErrorKind::kPermissionDenied, 403);
  if (t == "unrecognizedclientexception" || t == "invalidsignatureexception" ||
      t == "expiredtokenexception" || t == "incompletesignatureexception") {
    return std::make_pair(ErrorKind::kAuthentication, 401);
  }
  if (t == "resourcenotfoundexception") return std::make_pair(ErrorKind::kNotFound, 404);
  if (t == "modeltimeoutexception") return std::make_pair(ErrorKind::kTimeout, 408);
  if (t == "modelerrorexception" || t == "modelstreamerrorexception") {
    return std::make_pair(ErrorKind::kInternalServer, 500);
  }
  if (t == "throttlingexception" || t == "modelnotreadyexception" || t == "servicequotaexceededexception") {
    return std::make_pair(ErrorKind::kRateLimit, 429);
  }
  if (t == "internalserverexception") return std::make_pair(ErrorKind::kInternalServer, 500);
  if (t == "serviceunavailableexception") return std::make_pair(ErrorKind::kServiceUnavailable, 503);
  return std::nullopt;
}

std::pair<ErrorKind, int> kind_of_status(int status) {
  switch (status) {
    case 400:
    case 413:
    case 422: return {ErrorKind::kBadRequest, 400};
    case 401: return {ErrorKind::kAuthentication, 401};
    case 403: return {ErrorKind::kPermissionDenied, 403};
    case 404: return {ErrorKind::kNotFound, 404};
    case 408: return {ErrorKind::kTimeout, 408};
    case 424: return {ErrorKind::kInternalServer, 500};  // ModelErrorException: the model failed, not the request
    case 429: return {ErrorKind::kRateLimit, 429};
    case 500: return {ErrorKind::kInternalServer, 500};
    case 502: return {ErrorKind::kBadGateway, 502};
    case 503: return {ErrorKind::kServiceUnavailable, 503};
    case 504: return {ErrorKind::kTimeout, 504};
    default: return {ErrorKind::kApiError, status > 0 ? status : 500};
  }
}

// LiteLLM's bedrock text rules (§5.9 rules 1-3, 6), which win over the type.
std::optional<std::pair<ErrorKind, int>> kind_of_text(std::string_view text) {
  const std::string lower = ascii_lower(text.substr(0, std::min(text.size(), kMaxSearchedBodyBytes)));
  if (is_context_window_text(lower) || str_contains(lower, "too many tokens") ||
      str_contains(lower, "expected maxlength:") || str_contains(lower, "input is too long") ||
      str_contains(lower, "prompt is too long") || str_contains(lower, "prompt: length: 1..") ||
      str_contains(lower, "too many input tokens")) {
    return std::make_pair(ErrorKind::kContextWindowExceeded, 400);
  }
  if (str_contains(text, "Conversation blocks and tool result blocks cannot be provided in the same turn.") ||
      str_contains(text, "Malformed input request") ||
      str_contains(text, "A conversation must start with a user message.")) {
    return std::make_pair(ErrorKind::kBadRequest, 400);
  }
  if (str_contains(text, "Unable to locate credentials") ||
      str_contains(text, "The security token included in the request is invalid") ||
      str_contains(text, "The request signature we calculated does not match")) {
    return std::make_pair(ErrorKind::kAuthentication, 401);
  }
  if (str_contains(text, "Connect timeout on endpoint URL") || str_contains(text, "timed out")) {
    return std::make_pair(ErrorKind::kTimeout, 408);
  }
  return std::nullopt;
}

std::string_view header_value(const transport::Headers& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (equals_ignore_case(k, name)) return v;
  }
  return {};
}

}  // namespace

// ---------------------------------------------------------------------------
// Tool names

std::string ToolNames::sanitize(std::string_view name) {
  std::string out;
  out.reserve(name.size() + 1);
  if (name.empty() || !absl::ascii_isalpha(static_cast<unsigned char>(name.front()))) out.push_back('a');
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    out.push_back(absl::ascii_isalnum(u) || c == '_' ? c : '_');
  }
  return out;
}

void ToolNames::add(std::string_view original) {
  std::string sent = sanitize(original);
  if (sent == original) return;
  for (const auto& [s, o] : renamed_) {
    if (s == sent) return;  // the first tool of a sanitised name keeps it
  }
  renamed_.emplace_back(std::move(sent), std::string(original));
}

std::string_view ToolNames::original(std::string_view sent) const {
  for (const auto& [s, o] : renamed_) {
    if (s == sent) return o;
  }
  return sent;
}

ToolNames ToolNames::of(const request::ParsedRequest& request) {
  ToolNames names;
  for (const request::RawField& f : request.kept) {
    if (f.key != "tools") continue;
    dom::parser parser;
    dom::element el;
    if (parser.parse(f.value.data(), f.value.size()).get(el) != simdjson::SUCCESS) continue;
    for (dom::element t : as_array(el)) {
      if (!t.is_object()) continue;
      std::optional<dom::element> fn = member(as_object(t), "function");
      if (fn && fn->is_object()) names.add(str_or(as_object(*fn)["name"]));
    }
  }
  return names;
}

Status build_converse_body(const request::ParsedRequest& request, const ConverseOptions& options, std::string& out) {
  BodyBuilder builder(request, options);
  return builder.build(out);
}

bool uses_json_tool(const request::ParsedRequest& request) { return chat_walk::uses_json_tool(request); }

std::string_view map_stop_reason(std::string_view r) {
  if (r == "end_turn" || r == "stop_sequence") return "stop";
  if (r == "max_tokens") return "length";
  if (r == "tool_use") return "tool_calls";
  if (r == "guardrail_intervened" || r == "content_filtered") return "content_filter";
  return r;
}

Status translate_converse_response(std::string& body, const ResponseOptions& options) {
  dom::element top;
  auto not_an_answer = [&](std::string_view why) {
    return make_error(ErrorKind::kBadRequest, 422, 200,
                      fmt::format("{} - {}: {}", exception_name(options.provider_name), why,
                                  body.substr(0, std::min<size_t>(body.size(), 512))),
                      options.provider_name);
  };
  if (scratch_parser().parse(body).get(top) != simdjson::SUCCESS || !top.is_object()) {
    return not_an_answer("the answer is not JSON");
  }
  dom::object answer = as_object(top);
  std::optional<dom::element> output = member(answer, "output");
  std::optional<dom::element> message =
      output && output->is_object() ? member(as_object(*output), "message") : std::nullopt;
  if (!message || !message->is_object()) return not_an_answer("the answer has no output.message");

  std::string text;
  std::string reasoning;
  std::string thinking_blocks;
  json::Writer tb(thinking_blocks);
  std::string tool_calls;
  json::Writer tc(tool_calls);
  int tools = 0;
  bool json_converted = false;
  if (auto content = member(as_object(*message), "content"); content && content->is_array()) {
    int position = 0;
    for (dom::element block : as_array(*content)) {
      const int index = position++;
      if (!block.is_object()) continue;
      dom::object b = as_object(block);
      if (auto t = member(b, "text")) {
        text.append(str_or(*t));
      } else if (auto use = member(b, "toolUse"); use && use->is_object()) {
        dom::object u = as_object(*use);
        const std::string_view name = str_or(u["name"]);
        std::optional<dom::element> input = member(u, "input");
        if (options.json_mode && name == kJsonToolName) {
          if (input) text.append(json_answer(*input));
          json_converted = true;
          continue;
        }
        ++tools;
        tc.begin_object().member("index", index).member("id", str_or(u["toolUseId"])).member("type", "function");
        tc.key("function").begin_object();
        tc.member("name", options.tool_names ? options.tool_names->original(name) : name);
        tc.member("arguments", input ? simdjson::minify(*input) : std::string("{}"));
        tc.end_object().end_object();
      } else if (auto rc = member(b, "reasoningContent"); rc && rc->is_object()) {
        dom::object r = as_object(*rc);
        if (auto rt = member(r, "reasoningText"); rt && rt->is_object()) {
          dom::object t = as_object(*rt);
          const std::string_view thought = str_or(t["text"]);
          reasoning.append(thought);
          tb.begin_object().member("type", "thinking").member("thinking", thought);
          if (auto sig = member(t, "signature")) tb.member("signature", str_or(*sig));
          tb.end_object();
        } else if (auto red = member(r, "redactedContent")) {
          tb.begin_object().member("type", "redacted_thinking").member("data", str_or(*red)).end_object();
        }
      }
    }
  }
  std::string_view finish = map_stop_reason(str_or(answer["stopReason"]));
  if (json_converted && tools == 0 && finish == "tool_calls") finish = "stop";

  std::string out;
  out.reserve(body.size() + 256);
  json::Writer w(out);
  w.begin_object().member("id", options.id.empty() ? completion_id() : std::string(options.id));
  w.member("object", "chat.completion");
  w.member("created", options.created).member("model", options.model);
  chat_answer::write_choices(w, text.empty() && (tools > 0 || !thinking_blocks.empty()), text, tools, tool_calls,
                             reasoning, thinking_blocks, finish);
  if (auto usage = member(answer, "usage"); usage && usage->is_object()) {
    dom::object u = as_object(*usage);
    write_usage(w, int_or_zero(member(u, "inputTokens")), int_or_zero(member(u, "outputTokens")),
                int_or_zero(member(u, "cacheReadInputTokens")), int_or_zero(member(u, "cacheWriteInputTokens")));
  }
  w.end_object();
  body.swap(out);
  return {};
}

// ---------------------------------------------------------------------------
// Streams

ConverseStreamTranslator::ConverseStreamTranslator(Options options)
    : options_(std::move(options)), id_(options_.id.empty() ? completion_id() : options_.id) {}

bool ConverseStreamTranslator::feed(std::string_view bytes, Sink sink) {
  if (error_) return false;
  const bool ok = decoder_.feed(bytes, [&](const transport::EventStreamMessage& m) { return on_message(m, sink); });
  if (!ok && !error_ && decoder_.failed()) {
    error_ = stream_framing_error(decoder_.error_message(), options_.provider_name);
  }
  return ok && !error_;
}

bool ConverseStreamTranslator::finish(Sink sink) {
  (void)sink;
  if (error_) return false;
  if (decoder_.has_partial_message()) {
    error_ = stream_framing_error("the stream ended inside an event-stream frame", options_.provider_name);
    return false;
  }
  if (!saw_stop_) {
    error_ = stream_framing_error("the stream ended before messageStop", options_.provider_name);
    return false;
  }
  return true;
}

bool ConverseStreamTranslator::emit_delta(Sink& sink, std::string_view delta_members, std::string_view finish_reason) {
  chat_answer::write_delta_chunk(chunk_, id_, options_.created, options_.model, /*with_role=*/!role_sent_,
                                 delta_members, finish_reason);
  role_sent_ = true;
  return sink(chunk_);
}

bool ConverseStreamTranslator::on_message(const transport::EventStreamMessage& message, Sink& sink) {
  const std::string_view type = message.string_header(":message-type");
  if (type == "exception" || type == "error") {
    error_ = classify_stream_exception(message, options_.provider_name);
    return false;
  }
  if (type != "event" && !type.empty()) return true;  // something new: skipped
  return on_event(message.string_header(":event-type"), message.payload, sink);
}

bool ConverseStreamTranslator::on_event(std::string_view event_type, std::string_view payload, Sink& sink) {
  dom::element top;
  if (parser_.parse(payload.data(), payload.size()).get(top) != simdjson::SUCCESS || !top.is_object()) {
    return true;  // not JSON: skipped
  }
  dom::object ev = as_object(top);
  delta_.clear();
  json::Writer d(delta_);
  if (event_type == "messageStart") {
    d.member("content", "");
    return emit_delta(sink, delta_);
  }
  if (event_type == "contentBlockStart") {
    tool_blocks_.start_block();
    std::optional<dom::element> start = member(ev, "start");
    if (!start || !start->is_object()) return true;
    std::optional<dom::element> use = member(as_object(*start), "toolUse");
    if (!use || !use->is_object()) return true;
    dom::object u = as_object(*use);
    const std::string_view name = str_or(u["name"]);
    const bool json_tool = options_.json_mode && name == kJsonToolName;
    return !tool_blocks_.start_tool(d, str_or(u["toolUseId"]), options_.tool_names.original(name), json_tool) ||
           emit_delta(sink, delta_);
  }
  if (event_type == "contentBlockDelta") {
    std::optional<dom::element> delta = member(ev, "delta");
    if (!delta || !delta->is_object()) return true;
    dom::object dd = as_object(*delta);
    if (auto text = member(dd, "text")) {
      const std::string_view t = str_or(*text);
      if (t.empty()) return true;
      d.member("content", t);
      return emit_delta(sink, delta_);
    }
    if (auto use = member(dd, "toolUse"); use && use->is_object()) {
      return !tool_blocks_.input(d, str_or(as_object(*use)["input"])) || emit_delta(sink, delta_);
    }
    if (auto rc = member(dd, "reasoningContent"); rc && rc->is_object()) {
      const std::string_view thought = str_or(as_object(*rc)["text"]);
      if (thought.empty()) return true;  // a signature or redacted part: nothing OpenAI-shaped
      d.member("reasoning_content", thought);
      return emit_delta(sink, delta_);
    }
    return true;
  }
  if (event_type == "contentBlockStop") return !tool_blocks_.stop(d) || emit_delta(sink, delta_);
  if (event_type == "messageStop") {
    saw_stop_ = true;
    std::string_view finish = map_stop_reason(str_or(ev["stopReason"]));
    if (options_.json_mode && finish == "tool_calls" && tool_blocks_.started() == 1) finish = "stop";
    if (finish.empty()) finish = "stop";
    return emit_delta(sink, {}, finish);
  }
  if (event_type == "metadata") {
    std::optional<dom::element> usage = member(ev, "usage");
    if (!usage || !usage->is_object()) return true;
    dom::object u = as_object(*usage);
    json::Writer w = chat_answer::begin_usage_chunk(chunk_, id_, options_.created, options_.model);
    write_usage(w, int_or_zero(member(u, "inputTokens")), int_or_zero(member(u, "outputTokens")),
                int_or_zero(member(u, "cacheReadInputTokens")), int_or_zero(member(u, "cacheWriteInputTokens")));
    w.end_object();
    return sink(chunk_);
  }
  return true;  // anything new
}

// ---------------------------------------------------------------------------
// Errors

Error classify_http_error(int status, std::string_view error_type, std::string_view body,
                          std::string_view provider_name) {
  const std::string_view type = error_type_name(error_type);
  std::string text = extract_error_message(body, status);
  if (!type.empty() && !str_contains(text, type)) text = fmt::format("{}: {}", type, text);
  const std::string message = fmt::format("{} - {}", exception_name(provider_name), text);
  std::pair<ErrorKind, int> kind = kind_of_status(status);
  if (auto by_text = kind_of_text(body)) {
    kind = *by_text;
  } else if (auto by_type = kind_of_type(type)) {
    kind = *by_type;
  }
  return make_error(kind.first, kind.second, status, message, provider_name);
}

Error classify_failure(const transport::TransferResult& result, std::string_view provider_name, absl::Time now) {
  if (result.error != transport::TransferError::kNone || result.status == 0 ||
      (result.status >= 200 && result.status < 300)) {
    return provider::classify_failure(result, provider_name, now);  // no HTTP error answer
  }
  Error e = classify_http_error(result.status, header_value(result.headers, "x-amzn-errortype"), result.body,
                                provider_name);
  e.retry_after_seconds = parse_retry_after(result.headers, now);
  return e;
}

Error classify_stream_exception(const transport::EventStreamMessage& message, std::string_view provider_name) {
  std::string_view type = message.string_header(":exception-type");
  std::string text;
  if (type.empty()) {
    // An `error` frame: its code and message are headers.
    type = message.string_header(":error-code");
    text = std::string(message.string_header(":error-message"));
    if (text.empty()) text = std::string(message.payload.substr(0, std::min<size_t>(message.payload.size(), 1024)));
  } else {
    text = extract_error_message(message.payload, 0);
  }
  std::pair<ErrorKind, int> kind{ErrorKind::kInternalServer, 500};
  if (auto by_text = kind_of_text(text)) {
    kind = *by_text;
  } else if (auto by_type = kind_of_type(type)) {
    kind = *by_type;
  }
  return make_error(kind.first, kind.second, 0,
                    fmt::format("{} - {}: {}", exception_name(provider_name), type.empty() ? "error" : type, text),
                    provider_name);
}

Error stream_framing_error(std::string_view what, std::string_view provider_name) {
  return make_error(ErrorKind::kConnectionError, 500, 0,
                    fmt::format("{} - Connection error: invalid ConverseStream: {}", exception_name(provider_name),
                                what),
                    provider_name);
}

}  // namespace llmux::provider::bedrock
