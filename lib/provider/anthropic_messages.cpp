#include "provider/anthropic_messages.hpp"

#include <algorithm>
#include <cstdlib>
#include <utility>
#include <vector>

#include <absl/strings/ascii.h>
#include <absl/strings/numbers.h>
#include <fmt/format.h>

#include "common/strings.hpp"
#include "json/writer.hpp"
#include "provider/chat_answer_writer.hpp"
#include "provider/chat_message_walk.hpp"
#include "provider/error_classifier.hpp"

namespace llmux::provider::anthropic {
namespace {

namespace dom = simdjson::dom;
using chat_walk::as_array;
using chat_walk::as_object;
using chat_walk::bad_request;
using chat_walk::int_or_zero;
using chat_walk::is_null;
using chat_walk::member;
using chat_walk::scratch_parser;
using chat_walk::str_or;

constexpr int64_t kFallbackMaxTokens = 4096;
constexpr size_t kMaxSearchedBodyBytes = 16 * 1024;
// The forced JSON tool's schema for response_format json_object.
constexpr std::string_view kAnyObjectSchema = R"({"type":"object","additionalProperties":true,"properties":{}})";
constexpr std::string_view kJsonToolName = "json_tool_call";

// Tool ids Anthropic accepts: [A-Za-z0-9_-]; anything else becomes '_'.
std::string sanitize_tool_id(std::string_view id) {
  std::string out(id);
  for (char& c : out) {
    const auto u = static_cast<unsigned char>(c);
    if (!(absl::ascii_isalnum(u) || c == '_' || c == '-')) c = '_';
  }
  return out;
}

// ---------------------------------------------------------------------------
// Request mapping

// One content block of a turn: a text block (kept apart so the last turn's
// text can be trimmed and empty texts dropped) or a block already written.
struct Block {
  bool is_text = false;
  std::string text;           // is_text
  std::string cache_control;  // is_text: raw JSON, empty when none
  std::string raw;            // !is_text: the whole block
};

class BodyBuilder final : public chat_walk::ChatMessageWalk<BodyBuilder, Block> {
 public:
  BodyBuilder(const request::ParsedRequest& request, const BodyOptions& options)
      : ChatMessageWalk(chat_walk::WalkOptions{
            .provider_name = options.provider_name, .any_object_schema = kAnyObjectSchema}),
        request_(request),
        options_(options) {}

  Status build(std::string& out);

 private:
  friend class chat_walk::ChatMessageWalk<BodyBuilder, Block>;

  // What each piece of the conversation becomes (chat_message_walk.hpp).
  void add_text(Blocks& blocks, std::string_view text);
  void mark_part_cache(Blocks& blocks, size_t first, dom::element cache_control);
  void mark_message_cache(Blocks& blocks, size_t first, dom::element cache_control);
  Status add_image(Blocks& blocks, std::optional<dom::element> image_url);
  Status add_document(Blocks& blocks, std::string_view media_type, std::string_view data);
  Status add_other_user_part(Blocks& blocks, std::string_view type, dom::element part);
  bool add_assistant_part(Blocks& blocks, std::string_view type, dom::element part);
  void add_thinking_block(Blocks& blocks, dom::element block);
  std::string tool_call_id(std::string_view id) { return sanitize_tool_id(id); }
  void add_tool_call(Blocks& blocks, std::string_view id, std::string_view name, std::string_view input_json);
  Status add_tool_result(Blocks& blocks, dom::object message, std::string_view id, std::optional<dom::element> content,
                         Blocks& parts);

  Status map_param(std::string_view key, dom::element value, std::string_view raw_value);
  Status write_tools(json::Writer& w);
  Status write_tool_choice(json::Writer& w);

  const request::ParsedRequest& request_;
  const BodyOptions& options_;
  std::optional<int64_t> thinking_budget_;
  bool disable_parallel_ = false;
  std::string members_;  // other top-level members, written as they come
  json::Writer members_writer_{members_};
};

void BodyBuilder::add_text(Blocks& blocks, std::string_view text) {
  Block b;
  b.is_text = true;
  b.text = std::string(text);
  blocks.push_back(std::move(b));
}

// A part's cache_control marks the block it became.
void BodyBuilder::mark_part_cache(Blocks& blocks, size_t first, dom::element cache_control) {
  if (blocks.size() <= first) return;
  Block& b = blocks.back();
  if (b.is_text) {
    b.cache_control = simdjson::minify(cache_control);
    return;
  }
  b.raw.pop_back();  // reopen the block's object
  json::Writer w(b.raw);
  w.raw(",").raw_key("cache_control");
  b.raw.append(simdjson::minify(cache_control));
  b.raw.push_back('}');
}

// A message-level cache_control marks its last block when that is a text
// block without one.
void BodyBuilder::mark_message_cache(Blocks& blocks, size_t first, dom::element cache_control) {
  if (blocks.size() > first && blocks.back().is_text && blocks.back().cache_control.empty()) {
    blocks.back().cache_control = simdjson::minify(cache_control);
  }
}

Status BodyBuilder::add_image(Blocks& blocks, std::optional<dom::element> image_url) {
  if (!image_url) return bad("image_url part without an image_url");
  std::string_view url;
  if (image_url->is_string()) {
    url = str_or(*image_url);
  } else if (image_url->is_object()) {
    url = str_or(as_object(*image_url)["url"]);
  }
  std::string block;
  json::Writer w(block);
  if (url.starts_with("data:")) {
    auto data = chat_walk::split_data_uri(url);
    if (!data) return bad("image_url data URIs must be base64 (data:<media type>;base64,<data>)");
    w.begin_object().member("type", "image").key("source").begin_object().member("type", "base64");
    w.member("media_type", data->first).member("data", data->second).end_object().end_object();
  } else if (starts_with_ignore_case(url, "https://")) {
    w.begin_object().member("type", "image").key("source").begin_object().member("type", "url");
    w.member("url", url).end_object().end_object();
  } else if (starts_with_ignore_case(url, "http://")) {
    // LiteLLM downloads these; an embedded router does not fetch arbitrary
    // URLs on its I/O thread (latency, SSRF).
    return bad("image_url: http:// URLs are not fetched by llmux; send an https:// URL or a base64 data URI");
  } else {
    return bad("image_url must be an https:// URL or a base64 data URI");
  }
  Block b;
  b.raw = std::move(block);
  blocks.push_back(std::move(b));
  return {};
}

Status BodyBuilder::add_document(Blocks& blocks, std::string_view media_type, std::string_view data) {
  Block b;
  json::Writer w(b.raw);
  w.begin_object().member("type", "document").key("source").begin_object().member("type", "base64");
  w.member("media_type", media_type).member("data", data);
  w.end_object().end_object();
  blocks.push_back(std::move(b));
  return {};
}

Status BodyBuilder::add_other_user_part(Blocks& blocks, std::string_view type, dom::element part) {
  if (type == "image" || type == "document" || type == "search_result" || type == "tool_result") {
    // Already Anthropic blocks: passed as they are.
    Block b;
    b.raw = simdjson::minify(part);
    blocks.push_back(std::move(b));
    return {};
  }
  return bad(fmt::format("content part type '{}' is not supported", type));
}

bool BodyBuilder::add_assistant_part(Blocks& blocks, std::string_view type, dom::element part) {
  if (type != "thinking" && type != "redacted_thinking" && type != "tool_use") return false;
  Block b;
  b.raw = simdjson::minify(part);
  blocks.push_back(std::move(b));
  return true;
}

void BodyBuilder::add_thinking_block(Blocks& blocks, dom::element block) {
  Block b;
  b.raw = simdjson::minify(block);
  blocks.push_back(std::move(b));
}

void BodyBuilder::add_tool_call(Blocks& blocks, std::string_view id, std::string_view name,
                                std::string_view input_json) {
  Block b;
  json::Writer w(b.raw);
  w.begin_object().member("type", "tool_use").member("id", id).member("name", name).key("input").raw(input_json);
  w.end_object();
  blocks.push_back(std::move(b));
}

Status BodyBuilder::add_tool_result(Blocks& blocks, dom::object message, std::string_view id,
                                    std::optional<dom::element> content, Blocks& parts) {
  Block b;
  json::Writer w(b.raw);
  w.begin_object().member("type", "tool_result").member("tool_use_id", sanitize_tool_id(id)).key("content");
  if (!content) {
    w.string("");
  } else if (content->is_string()) {
    w.string(str_or(*content));
  } else {
    w.begin_array();
    for (const Block& p : parts) {
      if (!p.is_text) {
        w.raw(p.raw);
        continue;
      }
      if (p.text.empty()) continue;
      w.begin_object().member("type", "text").member("text", p.text);
      if (!p.cache_control.empty()) w.key("cache_control").raw(p.cache_control);
      w.end_object();
    }
    w.end_array();
  }
  if (auto cc = member(message, "cache_control")) w.key("cache_control").raw(simdjson::minify(*cc));
  w.end_object();
  blocks.push_back(std::move(b));
  return {};
}

// The OpenAI parameters Anthropic has no equivalent for: UnsupportedParamsError
// unless drop_params.
constexpr std::string_view kUnsupported[] = {
    "audio", "frequency_penalty", "function_call", "functions", "logit_bias", "logprobs", "modalities",
    "prediction", "presence_penalty", "prompt_cache_key", "safety_identifier", "seed", "service_tier", "store",
    "top_logprobs", "verbosity", "web_search_options"};

// Thinking budgets of reasoning_effort (LiteLLM's defaults, env-overridable).
std::optional<int64_t> thinking_budget(std::string_view effort) {
  struct Level {
    std::string_view name;
    const char* env;
    int64_t budget;
  };
  static constexpr Level kLevels[] = {
      {"minimal", "DEFAULT_REASONING_EFFORT_MINIMAL_THINKING_BUDGET", 128},
      {"low", "DEFAULT_REASONING_EFFORT_LOW_THINKING_BUDGET", 1024},
      {"medium", "DEFAULT_REASONING_EFFORT_MEDIUM_THINKING_BUDGET", 2048},
      {"high", "DEFAULT_REASONING_EFFORT_HIGH_THINKING_BUDGET", 4096},
  };
  for (const Level& l : kLevels) {
    if (effort != l.name) continue;
    int64_t v = 0;
    if (const char* env = std::getenv(l.env); env != nullptr && absl::SimpleAtoi(env, &v) && v > 0) return v;
    return l.budget;
  }
  return std::nullopt;
}

// LiteLLM leaves out a `user` that looks like an e-mail address or a phone
// number (personal data Anthropic's metadata must not get).
bool looks_personal(std::string_view user) {
  if (user.find('@') != std::string_view::npos && user.find('.') != std::string_view::npos) return true;
  int digits = 0;
  for (char c : user) {
    if (absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      ++digits;
    } else if (c != '+' && c != '-' && c != ' ' && c != '(' && c != ')' && c != '.') {
      return false;
    }
  }
  return digits >= 7;
}

Status BodyBuilder::map_param(std::string_view key, dom::element value, std::string_view raw_value) {
  json::Writer& w = members_writer_;
  if (is_null(value)) return {};
  if (key == "messages" || key == "stream" || key == "stream_options" || key == "extra_headers") return {};
  if (std::optional<Status> common = read_common_param(key, value)) return *common;
  if (key == "temperature" || key == "top_p" || key == "top_k") {
    w.raw_key(key).raw(raw_value);
    return {};
  }
  if (key == "stop") {
    std::vector<std::string_view> stops;
    if (Status s = chat_walk::read_stop(value, stops, options_.provider_name); !s.ok()) return s;
    if (options_.drop_params) {
      std::erase_if(stops, [](std::string_view s) { return strip_ascii_whitespace(s).empty(); });
    }
    if (stops.empty()) return {};
    w.key("stop_sequences").begin_array();
    for (std::string_view s : stops) w.string(s);
    w.end_array();
    return {};
  }
  if (key == "parallel_tool_calls") {
    bool b = true;
    if (value.get_bool().get(b) == simdjson::SUCCESS && !b) disable_parallel_ = true;
    return {};
  }
  if (key == "user") {
    const std::string_view user = str_or(value);
    if (!user.empty() && !looks_personal(user)) {
      w.key("metadata").begin_object().member("user_id", user).end_object();
    }
    return {};
  }
  if (key == "reasoning_effort") {
    const std::string_view effort = str_or(value);
    if (effort == "none") return {};
    std::optional<int64_t> budget = thinking_budget(effort);
    if (!budget) return bad(fmt::format("reasoning_effort '{}' is not one of minimal, low, medium, high, none", effort));
    thinking_budget_ = budget;
    w.key("thinking").begin_object().member("type", "enabled").member("budget_tokens", *budget).end_object();
    return {};
  }
  for (std::string_view u : kUnsupported) {
    if (key == u) {
      unsupported_.emplace_back(key);
      return {};
    }
  }
  if (key == "extra_body") {
    // LiteLLM merges extra_body into the provider body.
    if (value.is_object()) {
      for (dom::key_value_pair kv : as_object(value)) w.key(kv.key).raw(simdjson::minify(kv.value));
    }
    return {};
  }
  // Anything else is a provider-specific parameter (top_k, thinking,
  // container, ...): passed through as a top-level member, as LiteLLM does.
  if (key == "thinking" && value.is_object()) {
    int64_t budget = int_or_zero(member(as_object(value), "budget_tokens"));
    if (budget > 0) thinking_budget_ = budget;
  }
  w.raw_key(key).raw(raw_value);
  return {};
}

// input_schema keeps only what Anthropic accepts of a JSON schema's top level.
void write_input_schema(json::Writer& w, std::optional<dom::element> parameters) {
  if (!parameters || !parameters->is_object()) {
    w.raw(R"({"type":"object","properties":{}})");
    return;
  }
  static constexpr std::string_view kKept[] = {"type", "properties", "additionalProperties", "required", "$defs",
                                               "strict"};
  dom::object p = as_object(*parameters);
  w.begin_object();
  if (!member(p, "type")) w.member("type", "object");
  for (dom::key_value_pair kv : p) {
    if (std::find(std::begin(kKept), std::end(kKept), kv.key) == std::end(kKept)) continue;
    w.key(kv.key).raw(simdjson::minify(kv.value));
  }
  w.end_object();
}

Status BodyBuilder::write_tools(json::Writer& w) {
  if (!tools_ && !json_schema_) return {};
  w.key("tools").begin_array();
  if (tools_) {
    for (dom::element t : as_array(*tools_)) {
      if (!t.is_object()) return bad("tools entries must be objects");
      dom::object tool = as_object(t);
      std::optional<dom::element> fn = member(tool, "function");
      if (str_or(tool["type"]) != "function" || !fn) {
        w.raw(simdjson::minify(t));  // an Anthropic tool (web search, computer use, ...) as it is
        continue;
      }
      if (!fn->is_object()) return bad("tools[].function must be an object");
      dom::object f = as_object(*fn);
      const std::string_view name = str_or(f["name"]);
      if (name.empty()) return bad("tools[].function.name is required");
      w.begin_object().member("name", name);
      if (auto d = member(f, "description")) w.member("description", str_or(*d));
      w.key("input_schema");
      write_input_schema(w, member(f, "parameters"));
      if (auto cc = member(tool, "cache_control")) w.key("cache_control").raw(simdjson::minify(*cc));
      w.end_object();
    }
  }
  if (json_schema_) {
    w.begin_object().member("name", kJsonToolName).key("input_schema").raw(*json_schema_).end_object();
  }
  w.end_array();
  return {};
}

Status BodyBuilder::write_tool_choice(json::Writer& w) {
  std::string choice;
  json::Writer c(choice);
  if (json_schema_ && !thinking_budget_) {
    // JSON mode: the model must answer through the schema tool (not forced
    // with thinking on, which Anthropic forbids).
    c.begin_object().member("type", "tool").member("name", kJsonToolName);
  } else if (tool_choice_) {
    if (tool_choice_->is_string()) {
      const std::string_view s = str_or(*tool_choice_);
      if (s == "auto") {
        c.begin_object().member("type", "auto");
      } else if (s == "required") {
        c.begin_object().member("type", "any");
      } else if (s == "none") {
        c.begin_object().member("type", "none");
      } else {
        return bad(fmt::format("tool_choice '{}' is not one of auto, required, none", s));
      }
    } else if (tool_choice_->is_object()) {
      dom::object o = as_object(*tool_choice_);
      std::optional<dom::element> fn = member(o, "function");
      if (fn && fn->is_object()) {
        c.begin_object().member("type", "tool").member("name", str_or(as_object(*fn)["name"]));
      } else {
        // Already Anthropic's shape ({"type":"any"}, {"type":"tool","name":..}).
        choice = simdjson::minify(*tool_choice_);
        choice.pop_back();
        const bool no_members = choice.size() == 1;
        c = json::Writer(choice);
        if (!no_members) c.raw("");  // members written next follow the existing ones
      }
    } else {
      return bad("tool_choice must be a string or an object");
    }
  } else if (disable_parallel_) {
    c.begin_object().member("type", "auto");
  } else {
    return {};
  }
  if (disable_parallel_ && choice.find("\"none\"") == std::string::npos) c.member("disable_parallel_tool_use", true);
  choice.push_back('}');
  w.key("tool_choice").raw(choice);
  return {};
}

Status BodyBuilder::build(std::string& out) {
  out.clear();
  if (Status s = read_request(request_, options_.defaults, options_.drop_params, options_.model); !s.ok()) return s;
  // LiteLLM drops empty system texts and its own billing-header marker.
  std::erase_if(system_, [](const Block& b) {
    return b.text.empty() || b.text.starts_with("x-anthropic-billing-header:");
  });

  if (options_.prefill) {
    Block b;
    b.is_text = true;
    b.text = std::string(*options_.prefill);
    std::vector<Block> blocks;
    blocks.push_back(std::move(b));
    add_turn(true, std::move(blocks));
  }
  // Anthropic rejects a final assistant turn ending in whitespace.
  if (!turns_.empty() && turns_.back().assistant) {
    for (auto it = turns_.back().blocks.rbegin(); it != turns_.back().blocks.rend(); ++it) {
      if (!it->is_text) break;
      it->text.assign(strip_trailing_ascii_whitespace(it->text));
      if (!it->text.empty()) break;
    }
  }
  auto write_blocks = [](json::Writer& w, const std::vector<Block>& blocks) {
    w.begin_array();
    for (const Block& b : blocks) {
      if (!b.is_text) {
        w.raw(b.raw);
        continue;
      }
      if (b.text.empty()) continue;  // Anthropic rejects empty text blocks
      w.begin_object().member("type", "text").member("text", b.text);
      if (!b.cache_control.empty()) w.key("cache_control").raw(b.cache_control);
      w.end_object();
    }
    w.end_array();
  };
  auto has_content = [](const Turn& t) {
    for (const Block& b : t.blocks) {
      if (!b.is_text || !b.text.empty()) return true;
    }
    return false;
  };
  std::erase_if(turns_, [&](const Turn& t) { return !has_content(t); });
  if (turns_.empty()) return bad("messages: at least one non-system message with content is required");

  out.reserve(request_.body.size() + 256);
  json::Writer w(out);
  w.begin_object();
  if (!options_.omit_model) w.member("model", options_.model);
  w.key("messages").begin_array();
  for (const Turn& t : turns_) {
    w.begin_object().member("role", t.assistant ? "assistant" : "user").key("content");
    write_blocks(w, t.blocks);
    w.end_object();
  }
  w.end_array();
  if (!system_.empty()) {
    w.key("system");
    write_blocks(w, system_);
  }
  int64_t max_tokens = options_.default_max_tokens > 0 ? options_.default_max_tokens : kFallbackMaxTokens;
  if (max_tokens_) {
    max_tokens = *max_tokens_;
  } else if (thinking_budget_) {
    max_tokens = *thinking_budget_ + kFallbackMaxTokens;  // room for the answer after the thinking
  }
  w.member("max_tokens", max_tokens);
  w.raw_members(members_);
  if (Status s = write_tools(w); !s.ok()) return s;
  if (Status s = write_tool_choice(w); !s.ok()) return s;
  if (options_.stream) w.member("stream", true);
  if (!options_.extra_members.empty()) w.raw_members(options_.extra_members);
  w.end_object();
  return {};
}

// ---------------------------------------------------------------------------
// Answers

void write_usage(json::Writer& w, int64_t input, int64_t output, int64_t cache_creation, int64_t cache_read) {
  const int64_t prompt = input + cache_creation + cache_read;
  w.key("usage").begin_object();
  w.member("prompt_tokens", prompt).member("completion_tokens", output).member("total_tokens", prompt + output);
  w.key("prompt_tokens_details").begin_object();
  w.member("cached_tokens", cache_read).member("cache_creation_tokens", cache_creation).end_object();
  w.member("cache_creation_input_tokens", cache_creation).member("cache_read_input_tokens", cache_read);
  w.end_object();
}

int status_of_error_type(std::string_view type) {
  if (type == "invalid_request_error") return 400;
  if (type == "authentication_error") return 401;
  if (type == "permission_error") return 403;
  if (type == "not_found_error") return 404;
  if (type == "request_too_large") return 413;
  if (type == "rate_limit_error") return 429;
  if (type == "overloaded_error") return 529;
  return 500;  // api_error and anything new
}

}  // namespace

int64_t default_max_tokens(const DeploymentConfig& deployment) {
  // model_info.max_output_tokens, else the model map's (filled in when the
  // deployment joined the pool), as LiteLLM's get_max_tokens_for_model.
  if (deployment.max_output_tokens && *deployment.max_output_tokens > 0) return *deployment.max_output_tokens;
  int64_t v = 0;
  if (const char* env = std::getenv("DEFAULT_ANTHROPIC_CHAT_MAX_TOKENS"); env != nullptr &&
                                                                          absl::SimpleAtoi(env, &v) && v > 0) {
    return v;
  }
  return kFallbackMaxTokens;
}

Status build_messages_body(const request::ParsedRequest& request, const BodyOptions& options, std::string& out) {
  if (request.endpoint != request::Endpoint::kChatCompletions) {
    return bad_request(options.provider_name, "only chat completions are supported (no embeddings)");
  }
  return BodyBuilder(request, options).build(out);
}

bool uses_json_tool(const request::ParsedRequest& request) { return chat_walk::uses_json_tool(request); }

std::string_view map_finish_reason(std::string_view stop_reason) {
  if (stop_reason == "end_turn" || stop_reason == "stop_sequence") return "stop";
  if (stop_reason == "max_tokens" || stop_reason == "compaction") return "length";
  if (stop_reason == "tool_use") return "tool_calls";
  if (stop_reason == "refusal") return "content_filter";  // llmux: content-policy fallbacks fire
  return stop_reason;
}

Status translate_messages_response(std::string& body, const ResponseOptions& options) {
  auto not_messages = [&] { return classify_http_error(500, body, options.provider_name); };
  dom::element top;
  if (scratch_parser().parse(body).get(top) != simdjson::SUCCESS || !top.is_object()) {
    Error e(ErrorKind::kApiError, fmt::format("{} - provider returned a non-JSON body", exception_name(options.provider_name)));
    e.status = 500;
    e.llm_provider = std::string(options.provider_name);
    return e;
  }
  dom::object msg = as_object(top);
  if (member(msg, "error") || str_or(msg["type"]) == "error") return not_messages();
  std::optional<dom::element> content = member(msg, "content");
  if (!content || !content->is_array()) return not_messages();

  std::string text, reasoning, thinking_blocks, tool_calls;
  json::Writer tw(tool_calls);
  json::Writer thw(thinking_blocks);
  int tools = 0;
  std::string json_answer;
  bool json_converted = false;
  for (dom::element b : as_array(*content)) {
    if (!b.is_object()) continue;
    dom::object block = as_object(b);
    const std::string_view type = str_or(block["type"]);
    if (type == "text") {
      text.append(str_or(block["text"]));
    } else if (type == "tool_use" || type == "server_tool_use") {
      const std::string_view name = str_or(block["name"]);
      std::optional<dom::element> input = member(block, "input");
      std::string arguments = input ? simdjson::minify(*input) : std::string("{}");
      if (options.json_mode && name == kJsonToolName) {
        json_answer = std::move(arguments);
        json_converted = true;
        continue;
      }
      tw.begin_object().member("id", str_or(block["id"])).member("type", "function");
      tw.key("function").begin_object().member("name", name).member("arguments", arguments).end_object();
      tw.member("index", tools++).end_object();
    } else if (type == "thinking" || type == "redacted_thinking") {
      reasoning.append(str_or(block["thinking"]));
      thw.raw(simdjson::minify(b));
    }
  }
  if (json_converted) text.append(json_answer);
  std::optional<dom::element> usage = member(msg, "usage");
  dom::object u;
  const bool has_usage = usage && usage->is_object();
  if (has_usage) u = as_object(*usage);
  const std::string_view stop_reason = str_or(msg["stop_reason"]);
  std::string_view finish = map_finish_reason(stop_reason);
  if (json_converted && tools == 0 && finish == "tool_calls") finish = "stop";

  std::string out;
  out.reserve(body.size() + 256);
  json::Writer w(out);
  w.begin_object().member("id", str_or(msg["id"], "chatcmpl-anthropic")).member("object", "chat.completion");
  w.member("created", options.created).member("model", str_or(msg["model"]));
  chat_answer::write_choices(w, text.empty(), text, tools, tool_calls, reasoning, thinking_blocks, finish);
  if (has_usage) {
    write_usage(w, int_or_zero(member(u, "input_tokens")), int_or_zero(member(u, "output_tokens")),
                int_or_zero(member(u, "cache_creation_input_tokens")), int_or_zero(member(u, "cache_read_input_tokens")));
  }
  w.end_object();
  body.swap(out);
  return {};
}

// ---------------------------------------------------------------------------
// Streams

bool MessagesStreamTranslator::feed(std::string_view bytes, Sink sink) {
  return sse_.feed(bytes, [&](const transport::SseEvent& ev) { return on_event(ev.data, sink); });
}

bool MessagesStreamTranslator::finish(Sink sink) {
  if (sse_.has_partial_event()) sse_.feed("\n\n", [&](const transport::SseEvent& ev) { return on_event(ev.data, sink); });
  if (error_) return false;
  if (saw_stop_reason_) {
    // message_delta came; a missing message_stop loses nothing.
    return usage_sent_ || emit_usage(sink);
  }
  Error e(ErrorKind::kConnectionError,
          fmt::format("{} - Connection error: the stream ended before the message was complete",
                      exception_name(options_.provider_name)));
  e.status = 500;
  e.llm_provider = std::string(options_.provider_name);
  error_ = std::move(e);
  return false;
}

bool MessagesStreamTranslator::emit_delta(Sink& sink, std::string_view delta_members, std::string_view finish_reason) {
  chat_answer::write_delta_chunk(chunk_, id_, options_.created, model_, /*with_role=*/false, delta_members,
                                 finish_reason);
  return sink(chunk_);
}

bool MessagesStreamTranslator::emit_usage(Sink& sink) {
  usage_sent_ = true;
  json::Writer w = chat_answer::begin_usage_chunk(chunk_, id_, options_.created, model_);
  write_usage(w, input_tokens_, output_tokens_, cache_creation_, cache_read_);
  w.end_object();
  return sink(chunk_);
}

bool MessagesStreamTranslator::on_event(std::string_view data, Sink& sink) {
  if (strip_ascii_whitespace(data).empty()) return true;
  dom::element top;
  if (parser_.parse(data.data(), data.size()).get(top) != simdjson::SUCCESS || !top.is_object()) {
    return true;  // not JSON: skipped, as LiteLLM's iterator does
  }
  dom::object ev = as_object(top);
  const std::string_view type = str_or(ev["type"]);
  delta_.clear();
  json::Writer d(delta_);
  // Last non-zero value wins for each count (LiteLLM's stream usage rule).
  auto read_usage = [&](std::optional<dom::element> usage) {
    if (!usage || !usage->is_object()) return;
    dom::object u = as_object(*usage);
    auto take = [&](std::string_view key, int64_t& into) {
      if (int64_t v = int_or_zero(member(u, key)); v > 0) into = v;
    };
    take("input_tokens", input_tokens_);
    take("output_tokens", output_tokens_);
    take("cache_creation_input_tokens", cache_creation_);
    take("cache_read_input_tokens", cache_read_);
  };

  if (type == "message_start") {
    std::optional<dom::element> message = member(ev, "message");
    if (message && message->is_object()) {
      dom::object m = as_object(*message);
      if (std::string_view id = str_or(m["id"]); !id.empty()) id_.assign(id);
      model_.assign(str_or(m["model"]));
      read_usage(member(m, "usage"));
    }
    d.member("role", "assistant").member("content", "");
    return emit_delta(sink, delta_);
  }
  if (type == "content_block_start") {
    std::optional<dom::element> block = member(ev, "content_block");
    if (!block || !block->is_object()) return true;
    dom::object b = as_object(*block);
    const std::string_view btype = str_or(b["type"]);
    tool_blocks_.start_block();
    if (btype == "text") {
      const std::string_view text = str_or(b["text"]);
      if (text.empty()) return true;
      d.member("content", text);
      return emit_delta(sink, delta_);
    }
    if (btype == "tool_use" || btype == "server_tool_use") {
      const std::string_view name = str_or(b["name"]);
      const bool json_tool = options_.json_mode && name == kJsonToolName;
      return !tool_blocks_.start_tool(d, str_or(b["id"]), name, json_tool) || emit_delta(sink, delta_);
    }
    if (btype == "thinking") {
      const std::string_view thinking = str_or(b["thinking"]);
      if (thinking.empty()) return true;
      d.member("reasoning_content", thinking);
      return emit_delta(sink, delta_);
    }
    return true;
  }
  if (type == "content_block_delta") {
    std::optional<dom::element> delta = member(ev, "delta");
    if (!delta || !delta->is_object()) return true;
    dom::object dd = as_object(*delta);
    const std::string_view dtype = str_or(dd["type"]);
    if (dtype == "text_delta") {
      const std::string_view text = str_or(dd["text"]);
      if (text.empty()) return true;
      d.member("content", text);
      return emit_delta(sink, delta_);
    }
    if (dtype == "input_json_delta") {
      return !tool_blocks_.input(d, str_or(dd["partial_json"])) || emit_delta(sink, delta_);
    }
    if (dtype == "thinking_delta") {
      const std::string_view thinking = str_or(dd["thinking"]);
      if (thinking.empty()) return true;
      d.member("reasoning_content", thinking);
      return emit_delta(sink, delta_);
    }
    return true;  // signature_delta, citations_delta: nothing OpenAI-shaped
  }
  if (type == "content_block_stop") return !tool_blocks_.stop(d) || emit_delta(sink, delta_);
  if (type == "message_delta") {
    read_usage(member(ev, "usage"));
    std::optional<dom::element> delta = member(ev, "delta");
    std::string_view stop_reason;
    if (delta && delta->is_object()) stop_reason = str_or(as_object(*delta)["stop_reason"]);
    if (stop_reason.empty()) return true;
    saw_stop_reason_ = true;
    std::string_view finish = map_finish_reason(stop_reason);
    if (options_.json_mode && finish == "tool_calls" && tool_blocks_.started() == 1) finish = "stop";
    return emit_delta(sink, {}, finish);
  }
  if (type == "message_stop") {
    saw_message_stop_ = true;
    return usage_sent_ || emit_usage(sink);
  }
  if (type == "error") {
    error_ = classify_stream_error(data, options_.provider_name);
    return false;
  }
  return true;  // ping and anything new
}

// ---------------------------------------------------------------------------
// Errors

Error classify_http_error(int status, std::string_view body, std::string_view provider_name) {
  std::string_view text = body.substr(0, std::min(body.size(), kMaxSearchedBodyBytes));
  const std::string message = fmt::format("{} - {}", exception_name(provider_name), extract_error_message(body, status));
  auto make = [&](ErrorKind kind, int litellm_status) {
    Error e(kind, message);
    e.status = litellm_status;
    e.provider_status = status;
    e.llm_provider = std::string(provider_name);
    return e;
  };
  // LiteLLM's timeout texts (every provider), then its anthropic branch.
  if (str_contains(text, "Request Timeout Error") || str_contains(text, "Request timed out") ||
      str_contains(text, "Timed out generating response") || str_contains(text, "The read operation timed out")) {
    return make(ErrorKind::kTimeout, 408);
  }
  if (str_contains(text, "prompt is too long") || str_contains(text, "prompt: length")) {
    return make(ErrorKind::kContextWindowExceeded, 400);
  }
  if (str_contains(text, "overloaded_error") || str_contains(text, "Overloaded")) {
    return make(ErrorKind::kInternalServer, 500);
  }
  if (str_contains(text, "Invalid API Key")) return make(ErrorKind::kAuthentication, 401);
  if (str_contains(text, "content filtering policy")) return make(ErrorKind::kContentPolicyViolation, 400);
  if (str_contains(text, "Client error '400 Bad Request'")) return make(ErrorKind::kBadRequest, 400);
  switch (status) {
    case 400:
    case 413: return make(ErrorKind::kBadRequest, 400);
    case 401: return make(ErrorKind::kAuthentication, 401);
    case 403: return make(ErrorKind::kPermissionDenied, 403);  // LiteLLM: APIConnectionError (500)
    case 404: return make(ErrorKind::kNotFound, 404);
    case 408: return make(ErrorKind::kTimeout, 408);
    case 429: return make(ErrorKind::kRateLimit, 429);
    case 500:
    case 529: return make(ErrorKind::kInternalServer, 500);
    case 502: return make(ErrorKind::kBadGateway, 502);
    case 503: return make(ErrorKind::kServiceUnavailable, 503);
    case 504: return make(ErrorKind::kTimeout, 504);
    default: return make(ErrorKind::kApiError, status > 0 ? status : 500);  // LiteLLM: APIConnectionError
  }
}

Error classify_failure(const transport::TransferResult& result, std::string_view provider_name, absl::Time now) {
  if (result.error != transport::TransferError::kNone || result.status == 0 ||
      (result.status >= 200 && result.status < 300)) {
    return provider::classify_failure(result, provider_name, now);  // no HTTP error answer
  }
  Error e = classify_http_error(result.status, result.body, provider_name);
  e.retry_after_seconds = parse_retry_after(result.headers, now);
  return e;
}

Error classify_stream_error(std::string_view event_json, std::string_view provider_name) {
  int status = 500;
  dom::parser parser;
  dom::element top;
  if (parser.parse(event_json.data(), event_json.size()).get(top) == simdjson::SUCCESS && top.is_object()) {
    if (auto err = member(as_object(top), "error"); err && err->is_object()) {
      status = status_of_error_type(str_or(as_object(*err)["type"]));
    }
  }
  return classify_http_error(status, event_json, provider_name);
}

}  // namespace llmux::provider::anthropic
