// -----------------------------------------------------------------------------
// File: provider/chat_message_walk.hpp
// -----------------------------------------------------------------------------
// What the non-OpenAI chat mappings built on simdjson's DOM share (Anthropic
// Messages, anthropic_messages.hpp; Bedrock Converse, bedrock_converse.hpp):
//   - checked readers of DOM values (an element of another type reads as
//     empty, null as absent);
//   - read_request_members: the request's members in body order, then the
//     deployment's defaults for what the request left out; readers of the
//     parameters both formats take alike;
//   - ChatMessageWalk: the walk over `messages` — roles, content strings and
//     part lists, file parts as base64 data URIs, tool calls (deduplicated by
//     id, arguments checked as JSON) and tool results, with the errors in one
//     wording — merging consecutive messages of one side into one turn, as
//     both formats alternate user and assistant. The mapping says what each
//     piece becomes in its format through the hooks listed on the class.
// Gemini's generateContent mapping (gemini_content.cpp) walks messages its own
// way: it writes each turn as it reads it, keeps text as views and names tool
// results by the call they answer.
//
// Free functions are pure and thread-safe. scratch_parser() is one parser per
// thread, shared by both mappings for request bodies and answers: a caller
// finishes with its document before it maps or translates anything else.
#pragma once

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <simdjson.h>

#include "common/strings.hpp"
#include "llmux/error.hpp"
#include "request/request.hpp"

namespace llmux::provider::chat_walk {

namespace dom = simdjson::dom;

// ---------------------------------------------------------------------------
// Readers

inline std::string_view str_or(dom::element el, std::string_view fallback = {}) {
  std::string_view s;
  return el.get_string().get(s) == simdjson::SUCCESS ? s : fallback;
}

inline std::string_view str_or(simdjson::simdjson_result<dom::element> r, std::string_view fallback = {}) {
  std::string_view s;
  return r.get_string().get(s) == simdjson::SUCCESS ? s : fallback;
}

// Checked views (an element of another type gives an empty one).
inline dom::object as_object(dom::element el) {
  dom::object o;
  if (el.get_object().get(o) != simdjson::SUCCESS) return dom::object();
  return o;
}

inline dom::array as_array(dom::element el) {
  dom::array a;
  if (el.get_array().get(a) != simdjson::SUCCESS) return dom::array();
  return a;
}

inline bool is_null(dom::element el) { return el.type() == dom::element_type::NULL_VALUE; }

// The member `key` of `o`; a null member counts as absent. Out of line, as
// each mapping had its own: simdjson's key search is inlined here once
// instead of being called from every lookup.
std::optional<dom::element> member(dom::object o, std::string_view key);

// An integer, an unsigned or a double (truncated); 0 for anything else.
inline int64_t int_or_zero(std::optional<dom::element> el) {
  if (!el) return 0;
  int64_t i = 0;
  if (el->get_int64().get(i) == simdjson::SUCCESS) return i;
  uint64_t u = 0;
  if (el->get_uint64().get(u) == simdjson::SUCCESS) return static_cast<int64_t>(u);
  double d = 0;
  if (el->get_double().get(d) == simdjson::SUCCESS) return static_cast<int64_t>(d);
  return 0;
}

// data:<media type>;base64,<data> → (media type, data); nullopt otherwise.
std::optional<std::pair<std::string_view, std::string_view>> split_data_uri(std::string_view uri);

// The per-thread parser of request bodies and answers (never nested: see the
// file comment).
dom::parser& scratch_parser();

// The kBadRequest (400) a mapping fails with: "<Provider>Exception - message".
Error bad_request(std::string_view provider_name, std::string message);

// ---------------------------------------------------------------------------
// Request members

// The parameters a deployment may preset in litellm_params (the request wins).
inline constexpr std::string_view kDefaultKeys[] = {"max_tokens", "max_completion_tokens", "temperature", "top_p",
                                                    "top_k",      "stop",                  "reasoning_effort", "thinking"};

// Parses the request's body and hands each kept member but `messages` to
// map_param(key, value, raw_value) in body order; `messages` is returned for
// the walk. Then each default (kDefaultKeys only) the request left out goes
// to map_param too: max_tokens and max_completion_tokens count as given once
// `max_tokens` (which map_param fills) holds a value. Fails when the body is
// not a JSON object or map_param fails.
template <class MapParam>
Status read_request_members(const request::ParsedRequest& request, std::span<const request::RawField> defaults,
                            const std::optional<int64_t>& max_tokens, std::string_view provider_name,
                            std::optional<dom::element>& messages, MapParam&& map_param) {
  dom::element top;
  if (scratch_parser().parse(request.body).get(top) != simdjson::SUCCESS || !top.is_object()) {
    return bad_request(provider_name, "the request body is not a JSON object");
  }
  dom::object body = as_object(top);
  for (const request::RawField& f : request.kept) {
    dom::element value;
    if (body.at_key(f.key).get(value) != simdjson::SUCCESS) continue;
    if (f.key == "messages") {
      messages = value;
      continue;
    }
    if (Status s = map_param(f.key, value, f.value); !s.ok()) return s;
  }
  for (const request::RawField& d : defaults) {
    if (std::find(std::begin(kDefaultKeys), std::end(kDefaultKeys), d.key) == std::end(kDefaultKeys)) continue;
    bool given = false;
    for (const request::RawField& f : request.kept) given = given || f.key == d.key;
    if (d.key == "max_tokens" || d.key == "max_completion_tokens") given = given || max_tokens.has_value();
    if (given) continue;
    // Parsed on their own: the request's document stays valid.
    dom::parser defaults_parser;
    dom::element value;
    if (defaults_parser.parse(d.value.data(), d.value.size()).get(value) != simdjson::SUCCESS) continue;
    if (Status s = map_param(d.key, value, d.value); !s.ok()) return s;
  }
  return {};
}

// max_tokens / max_completion_tokens: a positive integer; the newer
// max_completion_tokens wins over max_tokens.
Status read_max_tokens(std::string_view key, dom::element value, std::optional<int64_t>& max_tokens,
                       std::string_view provider_name);

// stop: a string or a list of strings, as views into the document.
Status read_stop(dom::element value, std::vector<std::string_view>& stops, std::string_view provider_name);

// response_format → the schema of the forced JSON tool: json_object's is
// `any_object_schema`, json_schema's its schema (else `any_object_schema`);
// "text" leaves `schema` unset; any other type fails.
Status read_response_format(dom::element value, std::string_view any_object_schema, std::optional<std::string>& schema,
                            std::string_view provider_name);

// Whether n asks for the one choice every format gives (n = 1).
bool is_single_choice(dom::element n);

// LiteLLM's UnsupportedParamsError for `params` (which the caller found
// non-empty) when drop_params is off.
Error unsupported_params(std::string_view provider_name, const std::vector<std::string>& params,
                         std::string_view model);

// Whether the request's response_format makes the mapping force its JSON tool.
bool uses_json_tool(const request::ParsedRequest& request);

// ---------------------------------------------------------------------------
// The message walk

struct WalkOptions {
  std::string_view provider_name;  // for error messages
  // The forced JSON tool's schema for response_format json_object.
  std::string_view any_object_schema;
  bool function_role = false;  // a "function" message is a tool result too
};

// Reads an OpenAI chat request: the parameters both formats read alike
// (max_tokens, max_completion_tokens, tools, tool_choice, response_format, n)
// into the members below, and `messages` into turns_ (consecutive messages of
// one side merged) and system_ (system and developer messages), each a list
// of Block, the mapping's content block. Self derives from
// ChatMessageWalk<Self, Block> and supplies (privately, with this class as a
// friend):
//   Status map_param(std::string_view key, dom::element value, std::string_view raw_value);
//       every other request member and deployment default; it may hand
//       the value to read_common_param first.
//   void add_text(Blocks&, std::string_view text);
//   void mark_part_cache(Blocks&, size_t first, dom::element cache_control);
//       a content part carried cache_control; `first` is the size of the
//       list before the part was mapped.
//   void mark_message_cache(Blocks&, size_t first, dom::element cache_control);
//       a message carried cache_control; `first` as above, for the message.
//   Status add_image(Blocks&, std::optional<dom::element> image_url);
//   Status add_document(Blocks&, std::string_view media_type, std::string_view base64_data);
//   Status add_other_user_part(Blocks&, std::string_view type, dom::element part);
//       any part type other than text, image_url and file (file inside a
//       tool result too): mapped, or refused with the format's wording.
//   bool add_assistant_part(Blocks&, std::string_view type, dom::element part);
//       an assistant part other than text; false refuses it.
//   void add_thinking_block(Blocks&, dom::element block);  // thinking_blocks entries
//   std::string tool_call_id(std::string_view id);  // the id as the format sends it
//   void add_tool_call(Blocks&, std::string_view id, std::string_view name, std::string_view input_json);
//   Status add_tool_result(Blocks&, dom::object message, std::string_view id,
//                          std::optional<dom::element> content, Blocks& parts);
//       `parts` holds the mapped parts when content is a list (empty
//       otherwise); content is a string, a list or absent.
// Belongs to one mapping call.
template <class Self, class Block>
class ChatMessageWalk {
 public:
  using Blocks = std::vector<Block>;
  struct Turn {
    bool assistant = false;
    Blocks blocks;
  };

 protected:
  explicit ChatMessageWalk(WalkOptions options) : walk_options_(options) {}

  Error bad(std::string message) const { return bad_request(walk_options_.provider_name, std::move(message)); }

  // Reads the request's members in order and the deployment's defaults
  // (read_request_members, through Self's map_param), refuses the parameters
  // collected in unsupported_ unless drop_params, then walks `messages`.
  Status read_request(const request::ParsedRequest& request, std::span<const request::RawField> defaults,
                      bool drop_params, std::string_view model) {
    std::optional<dom::element> messages;
    Status read = read_request_members(
        request, defaults, max_tokens_, walk_options_.provider_name, messages,
        [this](std::string_view key, dom::element value, std::string_view raw) {
          return self().map_param(key, value, raw);
        });
    if (!read.ok()) return read;
    if (!unsupported_.empty() && !drop_params) {
      return unsupported_params(walk_options_.provider_name, unsupported_, model);
    }
    if (!messages || !messages->is_array()) return bad("'messages' must be a list");
    return walk_messages(as_array(*messages));
  }

  // The parameters both formats read alike; nullopt for any other key.
  std::optional<Status> read_common_param(std::string_view key, dom::element value) {
    if (key == "max_tokens" || key == "max_completion_tokens") {
      return read_max_tokens(key, value, max_tokens_, walk_options_.provider_name);
    }
    if (key == "tools") {
      if (!value.is_array()) return bad("tools must be a list");
      tools_ = value;
      return Status();
    }
    if (key == "tool_choice") {
      tool_choice_ = value;
      return Status();
    }
    if (key == "response_format") {
      return read_response_format(value, walk_options_.any_object_schema, json_schema_, walk_options_.provider_name);
    }
    if (key == "n") {
      if (!is_single_choice(value)) unsupported_.emplace_back(key);
      return Status();
    }
    return std::nullopt;
  }

  Status walk_messages(dom::array messages);

  // Appends a turn, merged into the previous one when it is of the same side.
  void add_turn(bool assistant, Blocks blocks) {
    if (blocks.empty()) return;
    if (!turns_.empty() && turns_.back().assistant == assistant) {
      auto& into = turns_.back().blocks;
      for (Block& b : blocks) into.push_back(std::move(b));
      return;
    }
    turns_.push_back(Turn{assistant, std::move(blocks)});
  }

  std::vector<Turn> turns_;
  Blocks system_;
  std::optional<int64_t> max_tokens_;
  std::optional<dom::element> tools_;
  std::optional<dom::element> tool_choice_;
  std::optional<std::string> json_schema_;  // response_format → the forced JSON tool's schema
  std::vector<std::string> unsupported_;    // parameters the format lacks: refused unless drop_params

 private:
  Self& self() { return static_cast<Self&>(*this); }

  Status walk_system(dom::object message);
  Status walk_user_part(dom::element part, Blocks& blocks, bool inside_tool_result);
  Status walk_assistant(dom::object message, Blocks& blocks);
  Status walk_tool(dom::object message, Blocks& blocks);

  WalkOptions walk_options_;
  std::vector<std::string> seen_tool_ids_;
};

template <class Self, class Block>
Status ChatMessageWalk<Self, Block>::walk_messages(dom::array messages) {
  for (dom::element m : messages) {
    if (!m.is_object()) return bad("messages must be objects");
    dom::object message = as_object(m);
    const std::string_view role = str_or(message["role"]);
    Blocks blocks;
    if (role == "system" || role == "developer") {
      if (Status s = walk_system(message); !s.ok()) return s;
      continue;
    }
    if (role == "user") {
      std::optional<dom::element> content = member(message, "content");
      if (content && content->is_string()) {
        self().add_text(blocks, str_or(*content));
      } else if (content && content->is_array()) {
        for (dom::element part : as_array(*content)) {
          if (Status s = walk_user_part(part, blocks, false); !s.ok()) return s;
        }
      } else if (content) {
        return bad("user message content must be a string or a list of parts");
      }
      if (auto cc = member(message, "cache_control")) self().mark_message_cache(blocks, 0, *cc);
      add_turn(false, std::move(blocks));
    } else if (role == "assistant") {
      if (Status s = walk_assistant(message, blocks); !s.ok()) return s;
      add_turn(true, std::move(blocks));
    } else if (role == "tool" || (role == "function" && walk_options_.function_role)) {
      if (Status s = walk_tool(message, blocks); !s.ok()) return s;
      add_turn(false, std::move(blocks));
    } else {
      return bad(fmt::format("message role '{}' is not supported", role));
    }
  }
  return {};
}

// The text of a string content or of a list of text parts.
template <class Self, class Block>
Status ChatMessageWalk<Self, Block>::walk_system(dom::object message) {
  std::optional<dom::element> content = member(message, "content");
  if (!content) return {};
  const size_t first = system_.size();
  if (content->is_string()) {
    self().add_text(system_, str_or(*content));
  } else if (content->is_array()) {
    for (dom::element part : as_array(*content)) {
      if (!part.is_object()) return bad("system message content parts must be objects");
      dom::object p = as_object(part);
      if (str_or(p["type"]) != "text") return bad("system message content parts must be of type 'text'");
      const size_t before = system_.size();
      self().add_text(system_, str_or(p["text"]));
      if (auto cc = member(p, "cache_control")) self().mark_part_cache(system_, before, *cc);
    }
  } else {
    return bad("system message content must be a string or a list of text parts");
  }
  if (auto cc = member(message, "cache_control")) self().mark_message_cache(system_, first, *cc);
  return {};
}

template <class Self, class Block>
Status ChatMessageWalk<Self, Block>::walk_user_part(dom::element part, Blocks& blocks, bool inside_tool_result) {
  if (!part.is_object()) return bad("message content parts must be objects");
  dom::object p = as_object(part);
  const std::string_view type = str_or(p["type"]);
  const size_t first = blocks.size();
  if (type == "text") {
    self().add_text(blocks, str_or(p["text"]));
  } else if (type == "image_url") {
    if (Status s = self().add_image(blocks, member(p, "image_url")); !s.ok()) return s;
  } else if (type == "file" && !inside_tool_result) {
    std::optional<dom::element> file = member(p, "file");
    const std::string_view uri = file && file->is_object() ? str_or(as_object(*file)["file_data"]) : std::string_view();
    auto data = split_data_uri(uri);
    if (!data) return bad("file parts need file_data as a base64 data URI (file_id is not supported)");
    if (Status s = self().add_document(blocks, data->first, data->second); !s.ok()) return s;
  } else {
    return self().add_other_user_part(blocks, type, part);
  }
  if (auto cc = member(p, "cache_control")) self().mark_part_cache(blocks, first, *cc);
  return {};
}

template <class Self, class Block>
Status ChatMessageWalk<Self, Block>::walk_assistant(dom::object message, Blocks& blocks) {
  // Thinking first: both formats want it before text and tool use.
  if (auto thinking = member(message, "thinking_blocks"); thinking && thinking->is_array()) {
    for (dom::element t : as_array(*thinking)) self().add_thinking_block(blocks, t);
  }
  if (auto content = member(message, "content")) {
    if (content->is_string()) {
      self().add_text(blocks, str_or(*content));
    } else if (content->is_array()) {
      for (dom::element part : as_array(*content)) {
        if (!part.is_object()) return bad("message content parts must be objects");
        dom::object p = as_object(part);
        const std::string_view type = str_or(p["type"]);
        if (type == "text") {
          const size_t before = blocks.size();
          self().add_text(blocks, str_or(p["text"]));
          if (auto cc = member(p, "cache_control")) self().mark_part_cache(blocks, before, *cc);
        } else if (!self().add_assistant_part(blocks, type, part)) {
          return bad(fmt::format("assistant content part type '{}' is not supported", type));
        }
      }
    } else {
      return bad("assistant message content must be a string or a list of parts");
    }
  }
  if (auto calls = member(message, "tool_calls")) {
    if (!calls->is_array()) return bad("tool_calls must be a list");
    for (dom::element call : as_array(*calls)) {
      if (!call.is_object()) return bad("tool_calls entries must be objects");
      dom::object c = as_object(call);
      std::string id = self().tool_call_id(str_or(c["id"]));
      if (std::find(seen_tool_ids_.begin(), seen_tool_ids_.end(), id) != seen_tool_ids_.end()) continue;
      seen_tool_ids_.push_back(std::move(id));
      std::optional<dom::element> fn = member(c, "function");
      if (!fn || !fn->is_object()) return bad("tool_calls entries need a function");
      const std::string_view name = str_or(as_object(*fn)["name"]);
      const std::string_view arguments = strip_ascii_whitespace(str_or(as_object(*fn)["arguments"]));
      if (arguments.empty()) {
        self().add_tool_call(blocks, seen_tool_ids_.back(), name, "{}");
        continue;
      }
      // The arguments are a JSON document of their own: a second parser, as
      // the request's document must stay valid.
      thread_local dom::parser args_parser;
      dom::element input;
      if (args_parser.parse(arguments.data(), arguments.size()).get(input) != simdjson::SUCCESS) {
        return bad(fmt::format("tool call '{}': function.arguments is not valid JSON", name));
      }
      self().add_tool_call(blocks, seen_tool_ids_.back(), name, simdjson::minify(input));
    }
  }
  if (auto cc = member(message, "cache_control")) self().mark_message_cache(blocks, 0, *cc);
  return {};
}

template <class Self, class Block>
Status ChatMessageWalk<Self, Block>::walk_tool(dom::object message, Blocks& blocks) {
  const std::string_view id = str_or(message["tool_call_id"]);
  if (id.empty()) return bad("tool messages need a tool_call_id");
  std::optional<dom::element> content = member(message, "content");
  Blocks parts;
  if (content && content->is_array()) {
    for (dom::element part : as_array(*content)) {
      if (Status s = walk_user_part(part, parts, /*inside_tool_result=*/true); !s.ok()) return s;
    }
  } else if (content && !content->is_string()) {
    return bad("tool message content must be a string or a list of parts");
  }
  return self().add_tool_result(blocks, message, id, content, parts);
}

}  // namespace llmux::provider::chat_walk
