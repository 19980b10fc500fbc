#include "provider/gemini_content.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <random>
#include <utility>
#include <vector>

#include <absl/strings/numbers.h>
#include <absl/time/clock.h>
#include <fmt/format.h>
#include <simdjson.h>

#include "common/strings.hpp"
#include "json/writer.hpp"
#include "provider/error_classifier.hpp"
#include "transport/sse_parser.hpp"

namespace llmux::provider::gemini {
namespace {

namespace dom = simdjson::dom;

// Separate parsers: a request is mapped while a second document (a tool
// call's arguments, the deployment's params) is read beside it.
dom::parser& request_parser() {
  thread_local dom::parser p;
  return p;
}
dom::parser& side_parser() {
  thread_local dom::parser p;
  return p;
}
dom::parser& params_parser() {
  thread_local dom::parser p;
  return p;
}
dom::parser& response_parser() {
  thread_local dom::parser p;
  return p;
}

// Parses `text` through a reused padded buffer (simdjson's own copy would
// allocate on every parse). The DOM keeps no reference to the input.
simdjson::error_code parse(dom::parser& parser, std::string_view text, dom::element& out) {
  thread_local std::string buffer;
  if (buffer.capacity() < text.size() + simdjson::SIMDJSON_PADDING) {
    buffer.reserve(text.size() + simdjson::SIMDJSON_PADDING);
  }
  buffer.assign(text.data(), text.size());
  return parser.parse(buffer.data(), buffer.size(), false).get(out);
}

Error bad_request(std::string message) { return Error(ErrorKind::kBadRequest, std::move(message), 400); }

std::string_view as_string(dom::element e) {
  std::string_view s;
  if (e.get_string().get(s)) return {};
  return s;
}

bool is_null(dom::element e) { return e.type() == dom::element_type::NULL_VALUE; }

// The member `key` of `e` when `e` is an object holding it (null counts as absent).
bool member(dom::element e, std::string_view key, dom::element& out) {
  dom::object o;
  if (e.get_object().get(o)) return false;
  if (o.at_key(key).get(out)) return false;
  return !is_null(out);
}

std::string_view member_string(dom::element e, std::string_view key) {
  dom::element v;
  return member(e, key, v) ? as_string(v) : std::string_view();
}

int64_t member_int(dom::element e, std::string_view key) {
  dom::element v;
  if (!member(e, key, v)) return 0;
  int64_t i = 0;
  if (!v.get_int64().get(i)) return i;
  double d = 0;
  // A number outside int64's range (1e25 tokens) is garbage, not a count:
  // read as absent, as converting it would be undefined behaviour.
  constexpr double kInt64Bound = 9223372036854775808.0;  // 2^63
  if (!v.get_double().get(d) && d >= -kInt64Bound && d < kInt64Bound) return static_cast<int64_t>(d);
  return 0;
}

// Scalars are written directly; only containers go through simdjson's
// serialiser (which allocates a string).
void write_raw(json::Writer& w, dom::element e) {
  switch (e.type()) {
    case dom::element_type::STRING: {
      std::string_view s;
      if (!e.get_string().get(s)) w.string(s);
      return;
    }
    case dom::element_type::INT64: {
      int64_t i = 0;
      if (!e.get_int64().get(i)) w.number(i);
      return;
    }
    case dom::element_type::UINT64: {
      uint64_t u = 0;
      if (!e.get_uint64().get(u)) w.number(u);
      return;
    }
    case dom::element_type::DOUBLE: {
      double d = 0;
      if (!e.get_double().get(d)) w.number(d);
      return;
    }
    case dom::element_type::BOOL: {
      bool b = false;
      if (!e.get_bool().get(b)) w.boolean(b);
      return;
    }
    case dom::element_type::NULL_VALUE: w.null(); return;
    case dom::element_type::ARRAY:
    case dom::element_type::OBJECT: w.raw(simdjson::to_string(e)); return;
  }
}

std::mt19937_64& rng() {
  thread_local std::mt19937_64 gen(std::random_device{}());
  return gen;
}

// "call_" + 28 hex digits, LiteLLM's shape for Gemini tool-call ids.
std::string tool_call_id() {
  auto& g = rng();
  return fmt::format("call_{:016x}{:012x}", g(), g() & 0xFFFFFFFFFFFFull);
}

std::string completion_id() {
  auto& g = rng();
  return fmt::format("chatcmpl-{:016x}{:016x}", g(), g());
}

int64_t unix_now() { return absl::ToUnixSeconds(absl::Now()); }

// ---------------------------------------------------------------------------
// Request: JSON schema → Google's OpenAPI subset
// ---------------------------------------------------------------------------

constexpr int kMaxSchemaDepth = 48;

bool resolve_ref(dom::element root, std::string_view ref, dom::element& out) {
  for (std::string_view prefix : {std::string_view("#/$defs/"), std::string_view("#/definitions/")}) {
    if (ref.substr(0, prefix.size()) != prefix) continue;
    dom::element defs;
    if (!member(root, prefix.substr(2, prefix.size() - 3), defs)) return false;
    return member(defs, ref.substr(prefix.size()), out);
  }
  return false;
}

Status write_schema(json::Writer& w, dom::element schema, dom::element root, int depth);

bool is_null_schema(dom::element e) { return member_string(e, "type") == "null"; }

// Writes the members of schema object `o` (no braces), skipping `skip_keys`
// and what Google's Schema does not know. Sets `nullable` for a null type or
// enum member.
Status write_schema_members(json::Writer& w, dom::object o, dom::element root, int depth,
                            const std::vector<std::string_view>& skip_keys, bool& nullable) {
  for (auto [key, value] : o) {
    if (std::find(skip_keys.begin(), skip_keys.end(), key) != skip_keys.end()) continue;
    if (key == "additionalProperties" || key == "strict" || key == "$schema" || key == "$id" || key == "$defs" ||
        key == "definitions" || key == "$comment" || key == "$ref") {
      continue;
    }
    if (key == "properties") {
      dom::object props;
      if (value.get_object().get(props)) {
        w.key(key);
        write_raw(w, value);
        continue;
      }
      w.key("properties").begin_object();
      for (auto [name, sub] : props) {
        w.key(name);
        if (Status s = write_schema(w, sub, root, depth + 1); !s.ok()) return s;
      }
      w.end_object();
    } else if (key == "items") {
      w.key("items");
      if (Status s = write_schema(w, value, root, depth + 1); !s.ok()) return s;
    } else if (key == "anyOf" || key == "oneOf") {
      dom::array variants;
      if (value.get_array().get(variants)) continue;
      w.key("anyOf").begin_array();
      for (dom::element v : variants) {
        if (is_null_schema(v)) {
          nullable = true;
          continue;
        }
        if (Status s = write_schema(w, v, root, depth + 1); !s.ok()) return s;
      }
      w.end_array();
    } else if (key == "type") {
      dom::array types;
      if (value.get_array().get(types)) {
        if (as_string(value) == "null") {
          nullable = true;
          continue;
        }
        w.key("type");
        write_raw(w, value);
        continue;
      }
      std::string_view first;
      for (dom::element t : types) {
        const std::string_view name = as_string(t);
        if (name == "null") {
          nullable = true;
        } else if (first.empty()) {
          first = name;  // Google's Schema has one type
        }
      }
      if (!first.empty()) w.member("type", first);
    } else if (key == "const") {
      w.key("enum").begin_array();
      write_raw(w, value);
      w.end_array();
    } else if (key == "enum") {
      dom::array values;
      if (value.get_array().get(values)) continue;
      w.key("enum").begin_array();
      for (dom::element v : values) {
        if (is_null(v)) {
          nullable = true;
        } else {
          write_raw(w, v);
        }
      }
      w.end_array();
    } else if (key == "nullable") {
      bool b = false;
      if (!value.get_bool().get(b) && b) nullable = true;
    } else {
      w.key(key);
      write_raw(w, value);
    }
  }
  return Status::Ok();
}

Status write_schema(json::Writer& w, dom::element schema, dom::element root, int depth) {
  if (depth > kMaxSchemaDepth) return bad_request("tool schema nests too deeply (a recursive $ref?)");
  dom::object o;
  if (schema.get_object().get(o)) {
    write_raw(w, schema);
    return Status::Ok();
  }
  dom::element ref;
  if (member(schema, "$ref", ref)) {
    dom::element target;
    if (!resolve_ref(root, as_string(ref), target)) {
      return bad_request(fmt::format("tool schema: cannot resolve $ref '{}'", as_string(ref)));
    }
    return write_schema(w, target, root, depth + 1);
  }
  bool nullable = false;
  // anyOf [X, {"type":"null"}] is X made nullable.
  dom::element any_of;
  if (member(schema, "anyOf", any_of) || member(schema, "oneOf", any_of)) {
    dom::array variants;
    if (!any_of.get_array().get(variants)) {
      std::vector<dom::element> kept;
      bool has_null = false;
      for (dom::element v : variants) {
        if (is_null_schema(v)) {
          has_null = true;
        } else {
          kept.push_back(v);
        }
      }
      if (kept.size() == 1) {
        dom::element only = kept.front();
        dom::element only_ref;
        for (int i = 0; i < kMaxSchemaDepth && member(only, "$ref", only_ref); ++i) {
          dom::element target;
          if (!resolve_ref(root, as_string(only_ref), target)) {
            return bad_request(fmt::format("tool schema: cannot resolve $ref '{}'", as_string(only_ref)));
          }
          only = target;
        }
        dom::object inner;
        if (!only.get_object().get(inner)) {
          nullable = has_null;
          w.begin_object();
          // The outer members (a description) win over the variant's.
          std::vector<std::string_view> outer_keys = {"anyOf", "oneOf"};
          if (Status s = write_schema_members(w, o, root, depth, outer_keys, nullable); !s.ok()) return s;
          std::vector<std::string_view> skip;
          for (auto [k, v] : o) skip.push_back(k);
          if (Status s = write_schema_members(w, inner, root, depth + 1, skip, nullable); !s.ok()) return s;
          if (nullable) w.member("nullable", true);
          w.end_object();
          return Status::Ok();
        }
      }
    }
  }
  w.begin_object();
  if (Status s = write_schema_members(w, o, root, depth, {}, nullable); !s.ok()) return s;
  if (nullable) w.member("nullable", true);
  w.end_object();
  return Status::Ok();
}

// ---------------------------------------------------------------------------
// Request: messages → contents
// ---------------------------------------------------------------------------

// MIME type from a URL's file extension; empty when unknown.
std::string_view mime_from_extension(std::string_view url) {
  url = url.substr(0, url.find_first_of("?#"));
  const size_t dot = url.rfind('.');
  if (dot == std::string_view::npos || url.find('/', dot) != std::string_view::npos) return {};
  const std::string ext = ascii_lower(url.substr(dot + 1));
  static constexpr std::pair<std::string_view, std::string_view> kTypes[] = {
      {"png", "image/png"},       {"jpg", "image/jpeg"},      {"jpeg", "image/jpeg"},   {"webp", "image/webp"},
      {"gif", "image/gif"},       {"heic", "image/heic"},     {"heif", "image/heif"},   {"pdf", "application/pdf"},
      {"mp3", "audio/mp3"},       {"wav", "audio/wav"},       {"flac", "audio/flac"},   {"aac", "audio/aac"},
      {"ogg", "audio/ogg"},       {"mp4", "video/mp4"},       {"mov", "video/mov"},     {"webm", "video/webm"},
      {"mpeg", "video/mpeg"},     {"txt", "text/plain"},
  };
  for (const auto& [e, m] : kTypes) {
    if (ext == e) return m;
  }
  return {};
}

// One media part: a data: URI inline, any other URL by reference. Never
// downloads anything.
Status write_media(json::Writer& w, std::string_view url, std::string_view format) {
  if (url.substr(0, 5) == "data:") {
    const size_t comma = url.find(',');
    const std::string_view meta = url.substr(5, comma == std::string_view::npos ? 0 : comma - 5);
    if (comma == std::string_view::npos || meta.size() < 7 || meta.substr(meta.size() - 7) != ";base64") {
      return bad_request("image_url: a data: URI must be data:<mime type>;base64,<data>");
    }
    std::string_view mime = meta.substr(0, meta.size() - 7);
    if (!format.empty()) mime = format;
    w.begin_object().key("inline_data").begin_object();
    w.member("mime_type", mime).member("data", url.substr(comma + 1));
    w.end_object().end_object();
    return Status::Ok();
  }
  const bool known_scheme = url.substr(0, 5) == "gs://" || url.substr(0, 8) == "https://" || url.substr(0, 7) == "http://";
  if (!known_scheme) return bad_request(fmt::format("image_url: unsupported URL '{}' (expected data:, gs:// or https://)", url.substr(0, 200)));
  std::string_view mime = format.empty() ? mime_from_extension(url) : format;
  if (mime.empty()) {
    return bad_request(fmt::format(
        "image_url: cannot tell the MIME type of '{}' (llmux does not download files): set image_url.format, e.g. "
        "\"image/jpeg\"",
        url.substr(0, 200)));
  }
  w.begin_object().key("file_data").begin_object();
  w.member("mime_type", mime).member("file_uri", url);
  w.end_object().end_object();
  return Status::Ok();
}

enum class Side { kNone, kUser, kModel, kTool };

// Writes contents turn by turn, merging consecutive messages of one side.
class Turns {
 public:
  explicit Turns(json::Writer& w) : w_(w) {}
  void begin(Side side) {
    if (open_ == side) return;
    close();
    open_ = side;
    ++count_;
    w_.begin_object();
    if (side == Side::kUser) w_.member("role", "user");
    if (side == Side::kModel) w_.member("role", "model");
    // Tool results go in a content without a role, as LiteLLM sends them.
    w_.key("parts").begin_array();
    has_text_ = false;
  }
  void text(std::string_view s) {
    w_.begin_object().member("text", s).end_object();
    has_text_ = true;
  }
  json::Writer& writer() { return w_; }
  void close() {
    if (open_ == Side::kNone) return;
    // Google rejects a user turn without text (an image alone).
    if (open_ == Side::kUser && !has_text_) text(" ");
    w_.end_array().end_object();
    open_ = Side::kNone;
  }
  int count() const { return count_; }

 private:
  json::Writer& w_;
  Side open_ = Side::kNone;
  bool has_text_ = false;
  int count_ = 0;
};

// Text of a message's content: a string (a view into the document), or the
// text parts of an array joined in `scratch`.
std::string_view content_text(dom::element content, std::string& scratch) {
  std::string_view s;
  if (!content.get_string().get(s)) return s;
  scratch.clear();
  dom::array parts;
  if (content.get_array().get(parts)) return scratch;
  for (dom::element p : parts) {
    if (member_string(p, "type") == "text") scratch.append(member_string(p, "text"));
  }
  return scratch;
}

Status write_user_content(Turns& t, dom::element content) {
  std::string_view s;
  if (!content.get_string().get(s)) {
    if (!s.empty()) t.text(s);
    return Status::Ok();
  }
  dom::array parts;
  if (content.get_array().get(parts)) return Status::Ok();  // null: nothing
  for (dom::element p : parts) {
    const std::string_view type = member_string(p, "type");
    if (type == "text") {
      const std::string_view text = member_string(p, "text");
      if (!text.empty()) t.text(text);
    } else if (type == "image_url") {
      dom::element image;
      if (!member(p, "image_url", image)) return bad_request("image_url part without image_url");
      std::string_view url = as_string(image);
      std::string_view format;
      if (url.empty()) {
        url = member_string(image, "url");
        format = member_string(image, "format");
      }
      if (Status st = write_media(t.writer(), url, format); !st.ok()) return st;
    } else if (type == "input_audio") {
      dom::element audio;
      if (!member(p, "input_audio", audio)) return bad_request("input_audio part without input_audio");
      const std::string mime = fmt::format("audio/{}", member_string(audio, "format"));
      t.writer().begin_object().key("inline_data").begin_object();
      t.writer().member("mime_type", mime).member("data", member_string(audio, "data"));
      t.writer().end_object().end_object();
    } else if (type == "file") {
      dom::element file;
      if (!member(p, "file", file)) return bad_request("file part without file");
      std::string_view url = member_string(file, "file_data");
      if (url.empty()) url = member_string(file, "file_id");
      if (Status st = write_media(t.writer(), url, member_string(file, "format")); !st.ok()) return st;
    } else {
      return bad_request(fmt::format("unsupported content part type '{}' for gemini", type));
    }
  }
  return Status::Ok();
}

// A tool call's arguments (JSON text of an object) checked and written as
// the object itself.
Status write_args(json::Writer& w, std::string_view arguments) {
  const std::string_view trimmed = strip_ascii_whitespace(arguments);
  if (trimmed.empty()) {
    w.raw("{}");
    return Status::Ok();
  }
  dom::element e;
  if (parse(side_parser(), trimmed, e) || e.type() != dom::element_type::OBJECT) {
    return bad_request("tool_calls: function.arguments must be a JSON object");
  }
  w.raw(trimmed);
  return Status::Ok();
}

struct CallName {
  std::string_view id;
  std::string_view name;
};

Status write_assistant(Turns& t, dom::element msg, std::vector<CallName>& calls) {
  dom::element content;
  std::string scratch;
  const std::string_view text = member(msg, "content", content) ? content_text(content, scratch) : std::string_view();
  dom::element tool_calls;
  dom::array tc_array;
  const bool has_calls = member(msg, "tool_calls", tool_calls) && !tool_calls.get_array().get(tc_array) &&
                         tc_array.size() > 0;
  dom::element function_call;
  const bool has_function = member(msg, "function_call", function_call);
  if (text.empty() && !has_calls && !has_function) return Status::Ok();  // nothing to say
  t.begin(Side::kModel);
  if (!text.empty()) t.text(text);
  json::Writer& w = t.writer();
  auto write_call = [&](dom::element fn) -> Status {
    const std::string_view name = member_string(fn, "name");
    if (name.empty()) return bad_request("tool_calls: function.name is required");
    w.begin_object().key("function_call").begin_object().member("name", name).key("args");
    if (Status s = write_args(w, member_string(fn, "arguments")); !s.ok()) return s;
    w.end_object().end_object();
    return Status::Ok();
  };
  if (has_calls) {
    for (dom::element call : tc_array) {
      dom::element fn;
      if (!member(call, "function", fn)) return bad_request("tool_calls: each call needs a function");
      if (Status s = write_call(fn); !s.ok()) return s;
      calls.push_back(CallName{member_string(call, "id"), member_string(fn, "name")});
    }
  }
  if (has_function) {
    if (Status s = write_call(function_call); !s.ok()) return s;
  }
  return Status::Ok();
}

Status write_tool_result(Turns& t, dom::element msg, bool legacy_function, const std::vector<CallName>& calls) {
  std::string_view name;
  if (!legacy_function) {
    const std::string_view id = member_string(msg, "tool_call_id");
    for (auto it = calls.rbegin(); it != calls.rend(); ++it) {
      if (it->id == id) {
        name = it->name;
        break;
      }
    }
  }
  if (name.empty()) name = member_string(msg, "name");
  if (name.empty()) {
    return bad_request(fmt::format("tool message: no assistant tool call with id '{}' precedes it",
                                   member_string(msg, "tool_call_id")));
  }
  dom::element content;
  std::string scratch;
  const std::string_view text = member(msg, "content", content) ? content_text(content, scratch) : std::string_view();
  t.begin(Side::kTool);
  json::Writer& w = t.writer();
  w.begin_object().key("function_response").begin_object().member("name", name).key("response");
  // A JSON object result is sent as the object; anything else wrapped.
  const std::string_view trimmed = strip_ascii_whitespace(text);
  dom::element parsed;
  if (!trimmed.empty() && trimmed.front() == '{' && !parse(side_parser(), trimmed, parsed) &&
      parsed.type() == dom::element_type::OBJECT) {
    w.raw(trimmed);
  } else {
    w.begin_object().member("content", text).end_object();
  }
  w.end_object().end_object();
  return Status::Ok();
}

Status write_contents(dom::array messages, const ContentOptions& options, json::Writer& contents,
                      json::Writer& system, bool& has_system) {
  Turns turns(contents);
  std::vector<CallName> calls;
  for (dom::element msg : messages) {
    const std::string_view role = member_string(msg, "role");
    dom::element content;
    const bool has_content = member(msg, "content", content);
    if (role == "system" || role == "developer") {
      std::string scratch;
      const std::string_view text = has_content ? content_text(content, scratch) : std::string_view();
      if (options.system_instruction) {
        if (!text.empty()) {
          system.begin_object().member("text", text).end_object();
          has_system = true;
        }
      } else {
        turns.begin(Side::kUser);
        if (!text.empty()) turns.text(text);
      }
    } else if (role == "user") {
      turns.begin(Side::kUser);
      if (has_content) {
        if (Status s = write_user_content(turns, content); !s.ok()) return s;
      }
    } else if (role == "assistant") {
      if (Status s = write_assistant(turns, msg, calls); !s.ok()) return s;
    } else if (role == "tool" || role == "function") {
      if (Status s = write_tool_result(turns, msg, role == "function", calls); !s.ok()) return s;
    } else {
      return bad_request(fmt::format("unsupported message role '{}' for gemini", role));
    }
  }
  turns.close();
  if (turns.count() == 0) {
    // Google needs one user turn: "." after a system prompt alone (LiteLLM).
    turns.begin(Side::kUser);
    turns.text(has_system ? "." : " ");
    turns.close();
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------
// Request: parameters
// ---------------------------------------------------------------------------

bool is_gemini_3(std::string_view model) { return model.substr(0, 8) == "gemini-3"; }

Status write_thinking(json::Writer& g, std::string_view effort, std::string_view model) {
  int budget = -1;
  std::string_view level;
  if (effort == "none" || effort == "disable") {
    budget = 0;
    level = "low";
  } else if (effort == "minimal") {
    budget = 128;
    level = "low";
  } else if (effort == "low") {
    budget = 1024;
    level = "low";
  } else if (effort == "medium") {
    budget = 2048;
    level = "high";
  } else if (effort == "high") {
    budget = 4096;
    level = "high";
  } else {
    return bad_request(fmt::format("reasoning_effort '{}' is not one of none, minimal, low, medium, high", effort));
  }
  g.key("thinkingConfig").begin_object();
  if (is_gemini_3(model)) {
    g.member("thinkingLevel", level);
  } else {
    g.member("thinkingBudget", budget);
  }
  g.member("includeThoughts", budget != 0);
  g.end_object();
  return Status::Ok();
}

bool is_google_tool_key(std::string_view k) {
  return k == "googleSearch" || k == "google_search" || k == "googleSearchRetrieval" ||
         k == "google_search_retrieval" || k == "codeExecution" || k == "code_execution" || k == "urlContext" ||
         k == "url_context" || k == "googleMaps" || k == "google_maps";
}

Status write_tools(json::Writer& w, dom::array tools, bool drop_params, int& function_count) {
  std::string declarations;
  json::Writer d(declarations);
  d.begin_array();
  std::vector<dom::element> native;
  for (dom::element tool : tools) {
    const std::string_view type = member_string(tool, "type");
    dom::element fn;
    if (type == "function" && member(tool, "function", fn)) {
      const std::string_view name = member_string(fn, "name");
      if (name.empty()) return bad_request("tools: function.name is required");
      d.begin_object().member("name", name);
      const std::string_view description = member_string(fn, "description");
      if (!description.empty()) d.member("description", description);
      dom::element params;
      if (member(fn, "parameters", params)) {
        dom::element props;
        dom::object props_obj;
        const bool has_props = member(params, "properties", props) && !props.get_object().get(props_obj) &&
                               props_obj.size() > 0;
        // Google rejects an object schema without properties.
        if (has_props || member_string(params, "type") != "object") {
          d.key("parameters");
          if (Status s = write_schema(d, params, params, 0); !s.ok()) return s;
        }
      }
      d.end_object();
      ++function_count;
      continue;
    }
    dom::object o;
    bool google = false;
    if (!tool.get_object().get(o) && o.size() == 1) {
      for (auto [k, v] : o) google = is_google_tool_key(k);
    }
    if (google) {
      native.push_back(tool);
    } else if (!drop_params) {
      return bad_request(fmt::format("tools: type '{}' is not supported by gemini (set drop_params to drop it)", type));
    }
  }
  d.end_array();
  w.key("tools").begin_array();
  if (function_count > 0) w.begin_object().key("function_declarations").raw(declarations).end_object();
  for (dom::element t : native) write_raw(w, t);
  w.end_array();
  return Status::Ok();
}

Status write_tool_choice(json::Writer& w, dom::element choice) {
  std::string_view mode = as_string(choice);
  std::string_view name;
  if (mode.empty()) {
    dom::element fn;
    if (member(choice, "function", fn)) name = member_string(fn, "name");
    if (name.empty()) return bad_request("tool_choice: expected none, auto, required or {\"type\":\"function\",...}");
  }
  std::string_view google;
  if (!name.empty() || mode == "required" || mode == "any") {
    google = "ANY";
  } else if (mode == "none") {
    google = "NONE";
  } else if (mode == "auto") {
    google = "AUTO";
  } else {
    return bad_request(fmt::format("tool_choice '{}' is not one of none, auto, required", mode));
  }
  w.key("toolConfig").begin_object().key("functionCallingConfig").begin_object().member("mode", google);
  if (!name.empty()) w.key("allowed_function_names").begin_array().string(name).end_array();
  w.end_object().end_object();
  return Status::Ok();
}

// OpenAI parameters Gemini has no use for: refused unless drop_params.
constexpr std::string_view kUnsupported[] = {
    "logit_bias", "functions", "function_call", "audio", "modalities", "prediction", "service_tier", "store",
    "web_search_options", "suffix", "best_of", "echo",
};

}  // namespace

Status build_generate_content(const request::ParsedRequest& request, const ContentOptions& options,
                              std::string& out) {
  dom::element root;
  if (parse(request_parser(), request.body, root)) {
    return Error(ErrorKind::kInvalidArgument, "request body is not valid JSON");
  }
  dom::object top;
  if (root.get_object().get(top)) return Error(ErrorKind::kInvalidArgument, "request body is not a JSON object");
  // A request's own drop_params (LiteLLM's completion(..., drop_params=True))
  // wins over the deployment's.
  bool drop_params = options.drop_params;
  if (dom::element dp; member(root, "drop_params", dp)) {
    bool b = false;
    if (!dp.get_bool().get(b)) drop_params = b;
  }

  // Per-thread scratch: after warm-up a mapping allocates little.
  thread_local std::string contents, system, generation, tools_and_config;
  contents.clear();
  system.clear();
  generation.clear();
  tools_and_config.clear();
  json::Writer cw(contents);
  json::Writer sw(system);
  json::Writer gw(generation);
  json::Writer tw(tools_and_config);
  bool has_system = false;
  bool has_messages = false;
  dom::element max_tokens, max_completion_tokens, tools, tool_choice, parallel_tool_calls, safety, cached;
  bool has_max_tokens = false, has_max_completion = false, has_tools = false, has_tool_choice = false,
       has_parallel = false, has_safety = false, has_cached = false;
  sw.begin_array();
  cw.begin_array();
  for (auto [key, value] : top) {
    if (is_null(value)) continue;
    if (key == "messages") {
      dom::array messages;
      if (value.get_array().get(messages)) return Error(ErrorKind::kInvalidArgument, "'messages' must be an array");
      if (Status s = write_contents(messages, options, cw, sw, has_system); !s.ok()) return s;
      has_messages = true;
    } else if (key == "temperature" || key == "top_p" || key == "seed" || key == "frequency_penalty" ||
               key == "presence_penalty" || key == "top_k") {
      gw.key(key);
      write_raw(gw, value);
    } else if (key == "max_tokens") {
      max_tokens = value;
      has_max_tokens = true;
    } else if (key == "max_completion_tokens") {
      max_completion_tokens = value;
      has_max_completion = true;
    } else if (key == "n") {
      gw.key("candidate_count");
      write_raw(gw, value);
    } else if (key == "stop") {
      gw.key("stop_sequences");
      if (value.type() == dom::element_type::STRING) {
        gw.begin_array();
        write_raw(gw, value);
        gw.end_array();
      } else {
        write_raw(gw, value);
      }
    } else if (key == "logprobs") {
      bool b = false;
      if (!value.get_bool().get(b) && b) gw.member("responseLogprobs", true);
    } else if (key == "top_logprobs") {
      gw.key("logprobs");
      write_raw(gw, value);
    } else if (key == "response_format") {
      const std::string_view type = member_string(value, "type");
      if (type == "json_object") {
        gw.member("response_mime_type", "application/json");
      } else if (type == "json_schema") {
        gw.member("response_mime_type", "application/json");
        dom::element js, schema;
        if (member(value, "json_schema", js) && member(js, "schema", schema)) {
          gw.key("response_schema");
          if (Status s = write_schema(gw, schema, schema, 0); !s.ok()) return s;
        }
      } else if (type != "text") {
        return bad_request(fmt::format("response_format type '{}' is not supported by gemini", type));
      }
    } else if (key == "reasoning_effort") {
      if (Status s = write_thinking(gw, as_string(value), options.model); !s.ok()) return s;
    } else if (key == "thinking") {
      // Anthropic-style {"type":"enabled","budget_tokens":N}, which LiteLLM also maps.
      if (member_string(value, "type") == "enabled") {
        gw.key("thinkingConfig").begin_object();
        gw.member("thinkingBudget", member_int(value, "budget_tokens")).member("includeThoughts", true);
        gw.end_object();
      }
    } else if (key == "tools") {
      tools = value;
      has_tools = true;
    } else if (key == "tool_choice") {
      tool_choice = value;
      has_tool_choice = true;
    } else if (key == "parallel_tool_calls") {
      parallel_tool_calls = value;
      has_parallel = true;
    } else if (key == "safety_settings" || key == "safetySettings") {
      safety = value;
      has_safety = true;
    } else if (key == "cached_content" || key == "cachedContent") {
      cached = value;
      has_cached = true;
    } else if (std::find(std::begin(kUnsupported), std::end(kUnsupported), key) != std::end(kUnsupported)) {
      if (!drop_params) {
        return bad_request(fmt::format(
            "gemini does not support parameters: ['{}']. To drop these, set `drop_params: true` (litellm_settings "
            "or the deployment's litellm_params)",
            key));
      }
    }
    // Anything else (router keys, user, metadata, provider params Gemini has
    // no field for) is not sent, as LiteLLM keeps only known fields.
  }
  if (!has_messages) return Error(ErrorKind::kInvalidArgument, "'messages' is required");
  if (has_max_completion || has_max_tokens) {
    gw.key("max_output_tokens");
    write_raw(gw, has_max_completion ? max_completion_tokens : max_tokens);
  }
  int function_count = 0;
  if (has_tools) {
    dom::array tool_array;
    if (tools.get_array().get(tool_array)) return bad_request("'tools' must be an array");
    if (tool_array.size() > 0) {
      if (Status s = write_tools(tw, tool_array, drop_params, function_count); !s.ok()) return s;
    }
  }
  if (has_tool_choice && has_tools) {
    if (Status s = write_tool_choice(tw, tool_choice); !s.ok()) return s;
  }
  if (has_parallel) {
    bool parallel = true;
    if (!parallel_tool_calls.get_bool().get(parallel) && !parallel && function_count > 1 && !drop_params) {
      return bad_request(
          "gemini does not support parallel_tool_calls: false with more than one tool. To drop it, set "
          "`drop_params: true`");
    }
  }
  if (!has_safety && !options.deployment_params_json.empty()) {
    dom::element params;
    if (!parse(params_parser(), options.deployment_params_json, params)) {
      has_safety = member(params, "safety_settings", safety) || member(params, "safetySettings", safety);
      if (has_safety) {
        // Written now: the params document lives only until the next parse.
        tw.key("safetySettings");
        write_raw(tw, safety);
        has_safety = false;
      }
    }
  } else if (has_safety) {
    tw.key("safetySettings");
    write_raw(tw, safety);
  }
  cw.end_array();
  sw.end_array();

  out.clear();
  out.reserve(contents.size() + system.size() + generation.size() + tools_and_config.size() + 64);
  json::Writer w(out);
  w.begin_object();
  w.key("contents").raw(contents);
  if (has_system) w.key("system_instruction").begin_object().key("parts").raw(system).end_object();
  w.raw_members(tools_and_config);
  if (!generation.empty()) w.key("generationConfig").begin_object().raw_members(generation).end_object();
  if (has_cached) {
    w.key("cachedContent");
    write_raw(w, cached);
  }
  w.end_object();
  return Status::Ok();
}

namespace {

Status read_embedding_inputs(const request::ParsedRequest& request, dom::element& root,
                             std::vector<std::string_view>& inputs) {
  if (parse(request_parser(), request.body, root)) {
    return Error(ErrorKind::kInvalidArgument, "request body is not valid JSON");
  }
  dom::element input;
  if (!member(root, "input", input)) return Error(ErrorKind::kInvalidArgument, "'input' is required");
  std::string_view s;
  if (!input.get_string().get(s)) {
    inputs.push_back(s);
    return Status::Ok();
  }
  dom::array items;
  if (input.get_array().get(items)) return bad_request("'input' must be a string or a list of strings");
  for (dom::element item : items) {
    if (item.get_string().get(s)) return bad_request("gemini embeddings take text input only (no token arrays)");
    inputs.push_back(s);
  }
  if (inputs.empty()) return bad_request("'input' is empty");
  return Status::Ok();
}

}  // namespace

Status build_batch_embed_contents(const request::ParsedRequest& request, std::string_view model, std::string& out) {
  dom::element root;
  std::vector<std::string_view> inputs;
  if (Status s = read_embedding_inputs(request, root, inputs); !s.ok()) return s;
  const int64_t dimensions = member_int(root, "dimensions");
  const std::string_view task_type = member_string(root, "task_type");
  const std::string model_resource = fmt::format("models/{}", model);
  out.clear();
  json::Writer w(out);
  w.begin_object().key("requests").begin_array();
  for (std::string_view text : inputs) {
    w.begin_object().member("model", model_resource);
    w.key("content").begin_object().key("parts").begin_array().begin_object().member("text", text);
    w.end_object().end_array().end_object();
    if (dimensions > 0) w.member("outputDimensionality", dimensions);
    if (!task_type.empty()) w.member("taskType", task_type);
    w.end_object();
  }
  w.end_array().end_object();
  return Status::Ok();
}

Status build_predict_embeddings(const request::ParsedRequest& request, std::string& out,
                                std::string_view deployment_params_json) {
  dom::element root;
  std::vector<std::string_view> inputs;
  if (Status s = read_embedding_inputs(request, root, inputs); !s.ok()) return s;
  // The request's values win; the deployment's litellm_params fill the gaps
  // (LiteLLM passes both on as the call's parameters).
  dom::element params;
  const bool has_params = !deployment_params_json.empty() &&
                          !parse(params_parser(), deployment_params_json, params) &&
                          params.type() == dom::element_type::OBJECT;
  auto lookup = [&](std::string_view key, dom::element& v) {
    return member(root, key, v) || (has_params && member(params, key, v));
  };
  dom::element v;
  int64_t dimensions = 0;
  if (lookup("dimensions", v) && v.get_int64().get(dimensions)) return bad_request("'dimensions' must be an integer");
  // LiteLLM's input_type is task_type under another name.
  std::string_view task_type;
  const bool has_task_type = member(root, "task_type", v) || member(root, "input_type", v) ||
                             (has_params && (member(params, "task_type", v) || member(params, "input_type", v)));
  if (has_task_type && v.get_string().get(task_type)) {
    return bad_request("'task_type' must be a string");
  }
  std::string_view title;
  if (member(root, "title", v) && v.get_string().get(title)) return bad_request("'title' must be a string");
  bool auto_truncate = false;
  const bool has_auto_truncate = lookup("auto_truncate", v);
  if (has_auto_truncate && v.get_bool().get(auto_truncate)) return bad_request("'auto_truncate' must be a boolean");

  out.clear();
  json::Writer w(out);
  w.begin_object().key("instances").begin_array();
  for (std::string_view text : inputs) {
    w.begin_object().member("content", text);
    if (!task_type.empty()) w.member("task_type", task_type);
    if (!title.empty()) w.member("title", title);
    w.end_object();
  }
  w.end_array();
  if (dimensions > 0 || has_auto_truncate) {
    w.key("parameters").begin_object();
    if (dimensions > 0) w.member("outputDimensionality", dimensions);
    if (has_auto_truncate) w.member("autoTruncate", auto_truncate);
    w.end_object();
  }
  w.end_object();
  return Status::Ok();
}

// ---------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------

std::string_view map_finish_reason(std::string_view r) {
  if (r == "STOP") return "stop";
  if (r == "MAX_TOKENS") return "length";
  if (r == "SAFETY" || r == "RECITATION" || r == "LANGUAGE" || r == "OTHER" || r == "BLOCKLIST" ||
      r == "PROHIBITED_CONTENT" || r == "SPII" || r.substr(0, 6) == "IMAGE_") {
    return "content_filter";
  }
  if (r == "MALFORMED_FUNCTION_CALL") return "malformed_function_call";
  if (r == "FINISH_REASON_UNSPECIFIED") return "finish_reason_unspecified";
  return "stop";
}

namespace {

// A candidate whose text the safety system withheld (LiteLLM's
// _handle_content_policy_violation set).
bool is_flagged(std::string_view r) {
  return r == "SAFETY" || r == "RECITATION" || r == "BLOCKLIST" || r == "PROHIBITED_CONTENT" || r == "SPII" ||
         r == "IMAGE_SAFETY" || r == "IMAGE_PROHIBITED_CONTENT";
}

struct GoogleUsage {
  int64_t prompt = 0;
  int64_t completion = 0;
  int64_t total = 0;
  int64_t cached = 0;
  int64_t reasoning = 0;
};

GoogleUsage read_usage(dom::element um) {
  GoogleUsage u;
  u.prompt = member_int(um, "promptTokenCount");
  const int64_t candidates = member_int(um, "candidatesTokenCount");
  u.reasoning = member_int(um, "thoughtsTokenCount");
  u.total = member_int(um, "totalTokenCount");
  u.cached = member_int(um, "cachedContentTokenCount");
  u.completion = candidates;
  // candidatesTokenCount excludes thoughts when the counts do not add up.
  if (u.reasoning > 0 && u.prompt + candidates != u.total) u.completion += u.reasoning;
  if (u.total == 0) u.total = u.prompt + u.completion;
  return u;
}

void write_usage(json::Writer& w, const GoogleUsage& u) {
  w.key("usage").begin_object();
  w.member("prompt_tokens", u.prompt).member("completion_tokens", u.completion).member("total_tokens", u.total);
  if (u.cached > 0) w.key("prompt_tokens_details").begin_object().member("cached_tokens", u.cached).end_object();
  if (u.reasoning > 0) {
    w.key("completion_tokens_details").begin_object().member("reasoning_tokens", u.reasoning).end_object();
  }
  w.end_object();
}

// What one candidate carries.
struct CandidateParts {
  std::string text;
  std::string reasoning;
  std::vector<std::pair<std::string_view, std::string>> calls;  // name, arguments JSON
};

void read_parts(dom::element candidate, CandidateParts& out) {
  dom::element content, parts;
  if (!member(candidate, "content", content) || !member(content, "parts", parts)) return;
  dom::array arr;
  if (parts.get_array().get(arr)) return;
  for (dom::element p : arr) {
    dom::element v;
    if (member(p, "text", v)) {
      bool thought = false;
      dom::element t;
      if (member(p, "thought", t) && t.get_bool().get(thought)) thought = false;
      (thought ? out.reasoning : out.text).append(as_string(v));
    }
    if (member(p, "functionCall", v) || member(p, "function_call", v)) {
      dom::element args;
      out.calls.emplace_back(member_string(v, "name"), member(v, "args", args) ? simdjson::to_string(args) : "{}");
    }
  }
}

// The error of a body that holds {"error": {...}} despite its status.
Error body_error(dom::element err, std::string_view body, std::string_view provider_name) {
  int64_t code = member_int(err, "code");
  if (code < 400 || code > 599) code = 500;
  return classify_http_error(static_cast<int>(code), body, provider_name);
}

Error not_a_response(std::string_view provider_name, std::string_view what) {
  Error e(ErrorKind::kApiError, fmt::format("{} - {}", exception_name(provider_name), what));
  e.status = 500;
  e.llm_provider = std::string(provider_name);
  return e;
}

}  // namespace

Status translate_generate_content(std::string& body, std::string_view model, std::string_view provider_name) {
  dom::element root;
  if (parse(response_parser(), body, root) || root.type() != dom::element_type::OBJECT) {
    return not_a_response(provider_name, "provider returned a non-JSON body");
  }
  dom::element err;
  if (member(root, "error", err)) return body_error(err, body, provider_name);
  dom::element candidates, feedback, usage;
  dom::array cand_array;
  const bool has_candidates = member(root, "candidates", candidates) && !candidates.get_array().get(cand_array) &&
                              cand_array.size() > 0;
  const std::string_view block_reason =
      member(root, "promptFeedback", feedback) ? member_string(feedback, "blockReason") : std::string_view();
  if (!has_candidates && block_reason.empty()) {
    Error e(ErrorKind::kInternalServer, fmt::format("{} - the response has no candidates", exception_name(provider_name)), 500);
    e.llm_provider = std::string(provider_name);
    return e;
  }
  std::string out;
  out.reserve(body.size() + 256);
  json::Writer w(out);
  const std::string_view response_id = member_string(root, "responseId");
  w.begin_object();
  w.member("id", response_id.empty() ? completion_id() : std::string(response_id));
  w.member("object", "chat.completion").member("created", unix_now()).member("model", model);
  w.key("choices").begin_array();
  if (!has_candidates) {
    // A blocked prompt is an answer, not an error (LiteLLM).
    w.begin_object().member("index", 0);
    w.key("message").begin_object().member("role", "assistant").key("content").null().end_object();
    w.member("finish_reason", "content_filter").end_object();
  } else {
    int64_t position = 0;
    for (dom::element c : cand_array) {
      dom::element index_el;
      const int64_t index = member(c, "index", index_el) ? member_int(c, "index") : position;
      ++position;
      const std::string_view reason = member_string(c, "finishReason");
      w.begin_object().member("index", index);
      w.key("message").begin_object().member("role", "assistant");
      if (is_flagged(reason)) {
        w.key("content").null().end_object().member("finish_reason", "content_filter").end_object();
        continue;
      }
      CandidateParts parts;
      read_parts(c, parts);
      if (parts.text.empty() && !parts.calls.empty()) {
        w.key("content").null();
      } else {
        w.member("content", parts.text);
      }
      if (!parts.reasoning.empty()) w.member("reasoning_content", parts.reasoning);
      if (!parts.calls.empty()) {
        w.key("tool_calls").begin_array();
        for (const auto& [name, args] : parts.calls) {
          w.begin_object().member("id", tool_call_id()).member("type", "function");
          w.key("function").begin_object().member("name", name).member("arguments", args).end_object();
          w.end_object();
        }
        w.end_array();
      }
      w.end_object();
      const std::string_view finish =
          !parts.calls.empty() ? std::string_view("tool_calls") : reason.empty() ? "stop" : map_finish_reason(reason);
      w.member("finish_reason", finish).end_object();
    }
  }
  w.end_array();
  if (member(root, "usageMetadata", usage)) write_usage(w, read_usage(usage));
  w.end_object();
  body.swap(out);
  return Status::Ok();
}

Status translate_batch_embed_contents(std::string& body, std::string_view model, std::string_view provider_name) {
  dom::element root;
  if (parse(response_parser(), body, root) || root.type() != dom::element_type::OBJECT) {
    return not_a_response(provider_name, "provider returned a non-JSON body");
  }
  dom::element err, embeddings;
  if (member(root, "error", err)) return body_error(err, body, provider_name);
  dom::array arr;
  if (!member(root, "embeddings", embeddings) || embeddings.get_array().get(arr)) {
    return not_a_response(provider_name, "batchEmbedContents answer without embeddings");
  }
  std::string out;
  out.reserve(body.size() + 128);
  json::Writer w(out);
  w.begin_object().member("object", "list").key("data").begin_array();
  int64_t i = 0;
  for (dom::element e : arr) {
    dom::element values;
    w.begin_object().member("object", "embedding").member("index", i++).key("embedding");
    if (member(e, "values", values)) {
      write_raw(w, values);
    } else {
      w.begin_array().end_array();
    }
    w.end_object();
  }
  w.end_array().member("model", model);
  // batchEmbedContents reports no token counts.
  w.key("usage").begin_object().member("prompt_tokens", 0).member("total_tokens", 0).end_object();
  w.end_object();
  body.swap(out);
  return Status::Ok();
}

Status translate_predict_embeddings(std::string& body, std::string_view model, std::string_view provider_name) {
  dom::element root;
  if (parse(response_parser(), body, root) || root.type() != dom::element_type::OBJECT) {
    return not_a_response(provider_name, "provider returned a non-JSON body");
  }
  dom::element err, predictions;
  if (member(root, "error", err)) return body_error(err, body, provider_name);
  dom::array arr;
  if (!member(root, "predictions", predictions) || predictions.get_array().get(arr)) {
    return not_a_response(provider_name, "predict answer without predictions");
  }
  std::string out;
  out.reserve(body.size() + 128);
  json::Writer w(out);
  w.begin_object().member("object", "list").key("data").begin_array();
  int64_t i = 0;
  int64_t tokens = 0;
  for (dom::element p : arr) {
    dom::element emb, values, stats;
    w.begin_object().member("object", "embedding").member("index", i++).key("embedding");
    if (member(p, "embeddings", emb) && member(emb, "values", values)) {
      write_raw(w, values);
      if (member(emb, "statistics", stats)) tokens += member_int(stats, "token_count");
    } else {
      w.begin_array().end_array();
    }
    w.end_object();
  }
  w.end_array().member("model", model);
  w.key("usage").begin_object().member("prompt_tokens", tokens).member("total_tokens", tokens).end_object();
  w.end_object();
  body.swap(out);
  return Status::Ok();
}

// ---------------------------------------------------------------------------
// Streaming
// ---------------------------------------------------------------------------

namespace {

class GeminiStreamTranslator : public StreamTranslator {
 public:
  GeminiStreamTranslator(std::string model, std::string provider_name)
      : model_(std::move(model)), provider_(std::move(provider_name)), id_(completion_id()), created_(unix_now()) {}

  bool feed(std::string_view bytes, Sink sink) override {
    return sse_.feed(bytes, [&](const transport::SseEvent& ev) { return on_event(ev.data, sink); });
  }

  bool finish(Sink sink) override {
    if (sse_.has_partial_event()) {
      // The last event without its blank line: complete if its JSON is.
      bool ok = true;
      std::string pending;
      sse_.feed("\n\n", [&](const transport::SseEvent& ev) {
        pending.assign(ev.data);
        return true;
      });
      dom::element probe;
      if (!pending.empty() && parse(side_parser(), pending, probe)) {
        Error e(ErrorKind::kConnectionError,
                fmt::format("{} - the stream ended inside an event", exception_name(provider_)));
        e.llm_provider = provider_;
        error_ = std::move(e);
        return false;
      }
      if (!pending.empty()) ok = on_event(pending, sink);
      if (!ok) return false;
    }
    if (!usage_) return true;
    chunk_.clear();
    json::Writer w(chunk_);
    begin_chunk(w);
    w.end_array();
    write_usage(w, *usage_);
    w.end_object();
    return sink(chunk_);
  }

 private:
  struct ChoiceState {
    bool role_sent = false;
    bool has_tool_calls = false;
    int next_tool_index = 0;
  };

  void begin_chunk(json::Writer& w) {
    w.begin_object().member("id", id_).member("object", "chat.completion.chunk").member("created", created_);
    w.member("model", model_).key("choices").begin_array();
  }

  ChoiceState& state(int64_t index) {
    const size_t i = index < 0 ? 0 : static_cast<size_t>(std::min<int64_t>(index, 255));
    if (choices_.size() <= i) choices_.resize(i + 1);
    return choices_[i];
  }

  bool on_event(std::string_view data, Sink sink) {
    const std::string_view trimmed = strip_ascii_whitespace(data);
    if (trimmed.empty() || trimmed == "[DONE]") return true;
    dom::element root;
    if (parse(response_parser(), trimmed, root) ||
        root.type() != dom::element_type::OBJECT) {
      return sink(data);  // the relay skips and counts a malformed event
    }
    dom::element err;
    if (member(root, "error", err)) {
      error_ = body_error(err, trimmed, provider_);
      return false;
    }
    if (const std::string_view rid = member_string(root, "responseId"); !rid.empty() && !id_from_provider_) {
      id_.assign(rid);
      id_from_provider_ = true;
    }
    dom::element usage;
    if (member(root, "usageMetadata", usage)) usage_ = read_usage(usage);

    chunk_.clear();
    json::Writer w(chunk_);
    begin_chunk(w);
    bool any_choice = false;
    dom::element candidates, feedback;
    dom::array cand_array;
    if (member(root, "candidates", candidates) && !candidates.get_array().get(cand_array) && cand_array.size() > 0) {
      int64_t position = 0;
      for (dom::element c : cand_array) {
        dom::element index_el;
        const int64_t index = member(c, "index", index_el) ? member_int(c, "index") : position;
        ++position;
        ChoiceState& st = state(index);
        const std::string_view reason = member_string(c, "finishReason");
        CandidateParts parts;
        if (!is_flagged(reason)) read_parts(c, parts);  // a flagged event's text is withheld
        w.begin_object().member("index", index).key("delta").begin_object();
        if (!st.role_sent) {
          w.member("role", "assistant");
          st.role_sent = true;
        }
        if (!parts.text.empty()) w.member("content", parts.text);
        if (!parts.reasoning.empty()) w.member("reasoning_content", parts.reasoning);
        if (!parts.calls.empty()) {
          st.has_tool_calls = true;
          w.key("tool_calls").begin_array();
          for (const auto& [name, args] : parts.calls) {
            w.begin_object().member("index", st.next_tool_index++).member("id", tool_call_id());
            w.member("type", "function").key("function").begin_object();
            w.member("name", name).member("arguments", args).end_object().end_object();
          }
          w.end_array();
        }
        w.end_object();
        if (reason.empty()) {
          w.key("finish_reason").null();
        } else {
          std::string_view finish = map_finish_reason(reason);
          if (st.has_tool_calls && finish == "stop") finish = "tool_calls";
          w.member("finish_reason", finish);
        }
        w.end_object();
        any_choice = true;
      }
    } else if (member(root, "promptFeedback", feedback) && !member_string(feedback, "blockReason").empty()) {
      w.begin_object().member("index", 0).key("delta").begin_object();
      if (!state(0).role_sent) w.member("role", "assistant");
      state(0).role_sent = true;
      w.end_object().member("finish_reason", "content_filter").end_object();
      any_choice = true;
    }
    w.end_array().end_object();
    if (!any_choice) return true;  // usage alone: sent once the body ends
    return sink(chunk_);
  }

  std::string model_;
  std::string provider_;
  std::string id_;
  bool id_from_provider_ = false;
  int64_t created_;
  transport::SseParser sse_;
  std::string chunk_;
  std::vector<ChoiceState> choices_;
  std::optional<GoogleUsage> usage_;
};

}  // namespace

std::unique_ptr<StreamTranslator> make_stream_translator(std::string model, std::string provider_name) {
  return std::make_unique<GeminiStreamTranslator>(std::move(model), std::move(provider_name));
}

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

Error classify_http_error(int status, std::string_view body, std::string_view provider_name) {
  const std::string_view text = body.substr(0, 16 * 1024);
  const std::string lower = ascii_lower(text);
  const std::string message =
      fmt::format("{} - {}", exception_name(provider_name), extract_error_message(body, status));
  auto make = [&](ErrorKind kind, int litellm_status) {
    Error e(kind, message);
    e.status = litellm_status;
    e.provider_status = status;
    e.llm_provider = std::string(provider_name);
    return e;
  };
  // LiteLLM's vertex_ai/gemini branch (providers.md §4.7), first match wins.
  if (str_contains(text, "Vertex AI API has not been used in project") ||
      str_contains(text, "Unable to find your project")) {
    return make(ErrorKind::kBadRequest, 400);
  }
  if (str_contains(text, "Request payload size exceeds") || is_context_window_text(lower)) {
    return make(ErrorKind::kContextWindowExceeded, 400);
  }
  if (str_contains(text, "None Unknown Error.") || str_contains(text, "Content has no parts.")) {
    return make(ErrorKind::kInternalServer, 500);
  }
  if (str_contains(text, "API key not valid") || str_contains(text, "API_KEY_INVALID")) {
    return make(ErrorKind::kAuthentication, 401);
  }
  // LiteLLM turns any text containing "403" into a BadRequest; llmux reads
  // the status (below): a 403 is PermissionDenied.
  if (str_contains(text, "The response was blocked.") ||
      str_contains(text, "Output blocked by content filtering policy")) {
    return make(ErrorKind::kContentPolicyViolation, 400);
  }
  if (str_contains(text, "429 Quota exceeded") || str_contains(text, "Quota exceeded for") ||
      str_contains(text, "Resource exhausted") || str_contains(text, "IndexError: list index out of range") ||
      str_contains(text, "429 Unable to submit request because the service is temporarily out of capacity.")) {
    return make(ErrorKind::kRateLimit, 429);
  }
  if (str_contains(text, "500 Internal Server Error") || str_contains(text, "The model is overloaded.")) {
    return make(ErrorKind::kInternalServer, 500);
  }
  switch (status) {
    case 400: return make(ErrorKind::kBadRequest, 400);
    case 401: return make(ErrorKind::kAuthentication, 401);
    case 403: return make(ErrorKind::kPermissionDenied, 403);
    case 404: return make(ErrorKind::kNotFound, 404);
    case 408: return make(ErrorKind::kTimeout, 408);
    case 422: return make(ErrorKind::kBadRequest, 400);
    case 429: return make(ErrorKind::kRateLimit, 429);
    case 500: return make(ErrorKind::kInternalServer, 500);
    case 502: return make(ErrorKind::kBadGateway, 502);
    case 503: return make(ErrorKind::kServiceUnavailable, 503);
    case 504: return make(ErrorKind::kTimeout, 504);
    default: return make(ErrorKind::kApiError, status > 0 ? status : 500);
  }
}

namespace {

// google.rpc.RetryInfo's retryDelay ("30s", "1.5s") in an error body.
std::optional<double> retry_delay_from_body(std::string_view body) {
  if (body.find("retryDelay") == std::string_view::npos) return std::nullopt;
  dom::element root, err, details;
  if (parse(side_parser(), body, root)) return std::nullopt;
  if (!member(root, "error", err) || !member(err, "details", details)) return std::nullopt;
  dom::array arr;
  if (details.get_array().get(arr)) return std::nullopt;
  for (dom::element d : arr) {
    std::string_view delay = member_string(d, "retryDelay");
    if (delay.empty() || delay.back() != 's') continue;
    delay.remove_suffix(1);
    double seconds = 0;
    if (absl::SimpleAtod(to_absl(delay), &seconds) && std::isfinite(seconds) && seconds >= 0) return seconds;
  }
  return std::nullopt;
}

}  // namespace

Error classify_failure(const transport::TransferResult& result, std::string_view provider_name, absl::Time now) {
  const bool http_error = result.error == transport::TransferError::kNone && result.status >= 300;
  if (!http_error) return provider::classify_failure(result, provider_name, now);
  Error e = classify_http_error(result.status, result.body, provider_name);
  e.retry_after_seconds = parse_retry_after(result.headers, now);
  if (!e.retry_after_seconds) e.retry_after_seconds = retry_delay_from_body(result.body);
  return e;
}

}  // namespace llmux::provider::gemini
