#include "provider/openai_compatible.hpp"

#include <absl/strings/numbers.h>
#include <absl/time/clock.h>
#include <fmt/format.h>

#include "common/strings.hpp"
#include "json/scratch_parser.hpp"
#include "json/whitespace.hpp"
#include "json/writer.hpp"
#include "provider/connection_settings.hpp"
#include "provider/error_classifier.hpp"

namespace llmux::provider {
namespace {

namespace od = simdjson::ondemand;

bool has_line_break(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

// Writes header lines into an existing vector, reusing its strings' buffers.
class HeaderWriter {
 public:
  // `expected`: how many lines are coming (one allocation for the vector).
  HeaderWriter(std::vector<std::string>& headers, size_t expected) : headers_(headers) { headers_.reserve(expected); }
  void add(std::string_view name, std::string_view value) {
    std::string& line = next();
    line.reserve(name.size() + 2 + value.size());  // one allocation per line at most
    line.append(name);
    line.append(": ");
    line.append(value);
  }
  void add2(std::string_view name, std::string_view value_prefix, std::string_view value) {
    std::string& line = next();
    line.reserve(name.size() + 2 + value_prefix.size() + value.size());
    line.append(name);
    line.append(": ");
    line.append(value_prefix);
    line.append(value);
  }
  void add_line(std::string_view line) { next().assign(line.data(), line.size()); }
  void finish() { headers_.resize(count_); }

 private:
  std::string& next() {
    if (count_ == headers_.size()) headers_.emplace_back();
    std::string& line = headers_[count_++];
    line.clear();
    return line;
  }
  std::vector<std::string>& headers_;
  size_t count_ = 0;
};

// One parser for response bodies and stream chunks on this thread (they never
// nest; the error classifier has its own).
json::ScratchParser& response_parser() {
  thread_local json::ScratchParser parser;
  return parser;
}

// Token counts may come as integers or (rarely) floats.
simdjson::error_code read_count(od::value& v, int64_t& out) {
  od::json_type t;
  SIMDJSON_TRY(v.type().get(t));
  if (t != od::json_type::number) return simdjson::SUCCESS;  // null or junk: leave 0
  od::number n;
  SIMDJSON_TRY(v.get_number().get(n));
  if (n.is_int64()) {
    out = n.get_int64();
  } else if (n.is_uint64()) {
    out = static_cast<int64_t>(n.get_uint64());
  } else {
    out = static_cast<int64_t>(n.get_double());
  }
  return simdjson::SUCCESS;
}

// Reads a "usage" value; false (no usage) when it is null or not an object.
simdjson::error_code read_usage(od::value& v, std::optional<Usage>& out) {
  od::json_type t;
  SIMDJSON_TRY(v.type().get(t));
  if (t != od::json_type::object) return simdjson::SUCCESS;
  od::object o;
  SIMDJSON_TRY(v.get_object().get(o));
  Usage u;
  bool has_total = false;
  for (auto fr : o) {
    od::field f;
    SIMDJSON_TRY(std::move(fr).get(f));
    const od::raw_json_string key = f.key();
    od::value fv = f.value();
    // input_tokens / output_tokens: the Responses API's names.
    if (key == "prompt_tokens" || key == "input_tokens") {
      SIMDJSON_TRY(read_count(fv, u.prompt_tokens));
    } else if (key == "completion_tokens" || key == "output_tokens") {
      SIMDJSON_TRY(read_count(fv, u.completion_tokens));
    } else if (key == "total_tokens") {
      SIMDJSON_TRY(read_count(fv, u.total_tokens));
      has_total = true;
    }
  }
  if (!has_total) u.total_tokens = u.prompt_tokens + u.completion_tokens;
  u.reported = true;
  out = u;
  return simdjson::SUCCESS;
}

// Sets `out` when the value is a string (null and other types leave it).
simdjson::error_code read_string(od::value& v, std::string& out) {
  od::json_type t;
  SIMDJSON_TRY(v.type().get(t));
  if (t != od::json_type::string) return simdjson::SUCCESS;
  std::string_view s;
  SIMDJSON_TRY(v.get_string().get(s));
  out.assign(s.data(), s.size());
  return simdjson::SUCCESS;
}

// As read_string, but `out` views the parser's copy (valid until its next
// iterate()): for what is read once per stream chunk.
simdjson::error_code read_string_view(od::value& v, std::string_view& out) {
  od::json_type t;
  SIMDJSON_TRY(v.type().get(t));
  if (t != od::json_type::string) return simdjson::SUCCESS;
  return v.get_string().get(out);
}

// Whether a delta member carries something the user sees: non-empty text,
// tool calls or a function call.
simdjson::error_code delta_member_has_content(od::value& v, bool& has) {
  od::json_type t;
  SIMDJSON_TRY(v.type().get(t));
  switch (t) {
    case od::json_type::string: {
      od::raw_json_string s;
      SIMDJSON_TRY(v.get_raw_json_string().get(s));
      if (s.raw()[0] != '"') has = true;  // raw() starts after the opening quote
      return simdjson::SUCCESS;
    }
    case od::json_type::array: {
      od::array a;
      SIMDJSON_TRY(v.get_array().get(a));
      bool empty = true;
      SIMDJSON_TRY(a.is_empty().get(empty));
      if (!empty) has = true;
      return simdjson::SUCCESS;
    }
    case od::json_type::object: has = true; return simdjson::SUCCESS;
    case od::json_type::null: {
      bool is_null = false;
      SIMDJSON_TRY(v.is_null().get(is_null));
      return is_null ? simdjson::SUCCESS : simdjson::N_ATOM_ERROR;
    }
    case od::json_type::boolean: {
      bool b = false;
      return v.get_bool().get(b);
    }
    case od::json_type::number: {
      od::number n;
      return v.get_number().get(n);
    }
  }
  return simdjson::SUCCESS;
}

// What the delta of one choice carries that a stream continuation needs.
struct DeltaText {
  std::string_view content;  // unescaped delta.content; valid until the next parse
  std::string_view token;    // its JSON string as written (quotes included), in the parser's buffer
  bool undecodable = false;  // delta.content present, non-empty, text unknown
};

// Reads delta.content: a string is unescaped (a stream continuation needs the
// exact text); an empty string costs nothing extra.
simdjson::error_code read_delta_content(od::value& v, bool& has_content, DeltaText& text) {
  od::json_type t;
  SIMDJSON_TRY(v.type().get(t));
  if (t != od::json_type::string) {
    bool has = false;
    SIMDJSON_TRY(delta_member_has_content(v, has));
    // Content parts in a delta are not an OpenAI shape: counted, not decoded.
    if (has) {
      has_content = true;
      text.undecodable = true;
    }
    return simdjson::SUCCESS;
  }
  const std::string_view token = json::strip_trailing_whitespace(v.raw_json_token());
  std::string_view s;
  const simdjson::error_code e = v.get_string().get(s);
  if (e == simdjson::STRING_ERROR) {
    // A lone surrogate escape (or a bad escape): the token is consumed, so
    // reading goes on. Only a non-empty string can fail to unescape.
    has_content = true;
    text.undecodable = true;
    return simdjson::SUCCESS;
  }
  SIMDJSON_TRY(e);
  if (!s.empty()) {
    has_content = true;
    text.content = s;
    text.token = token;
  }
  return simdjson::SUCCESS;
}

simdjson::error_code read_delta(od::value& v, ChunkInfo& info, DeltaText& text) {
  od::json_type t;
  SIMDJSON_TRY(v.type().get(t));
  if (t != od::json_type::object) return simdjson::SUCCESS;
  od::object delta;
  SIMDJSON_TRY(v.get_object().get(delta));
  for (auto dfr : delta) {
    od::field df;
    SIMDJSON_TRY(std::move(dfr).get(df));
    const od::raw_json_string dkey = df.key();
    if (dkey == "content") {
      od::value dv = df.value();
      SIMDJSON_TRY(read_delta_content(dv, info.has_content, text));
    } else if (dkey == "tool_calls" || dkey == "function_call") {
      od::value dv = df.value();
      bool has = false;
      SIMDJSON_TRY(delta_member_has_content(dv, has));
      if (has) {
        info.has_content = true;
        info.has_tool_calls = true;
      }
    } else if (dkey == "reasoning_content" || dkey == "reasoning" || dkey == "refusal") {
      od::value dv = df.value();
      SIMDJSON_TRY(delta_member_has_content(dv, info.has_content));
    }
  }
  return simdjson::SUCCESS;
}

// Reads one element of "choices" (`position` is its place in the array: the
// index of an element that has no "index"). Only choice 0's text is kept.
simdjson::error_code read_choice(od::value& v, size_t position, ChunkInfo& info, std::string& finish_reason) {
  od::json_type t;
  SIMDJSON_TRY(v.type().get(t));
  if (t != od::json_type::object) return simdjson::SUCCESS;
  od::object o;
  SIMDJSON_TRY(v.get_object().get(o));
  DeltaText text;
  int64_t index = static_cast<int64_t>(position);
  for (auto fr : o) {
    od::field f;
    SIMDJSON_TRY(std::move(fr).get(f));
    const od::raw_json_string key = f.key();
    od::value fv = f.value();
    if (key == "delta") {
      SIMDJSON_TRY(read_delta(fv, info, text));
    } else if (key == "index") {
      od::json_type it;
      SIMDJSON_TRY(fv.type().get(it));
      if (it == od::json_type::number) {
        od::number n;
        SIMDJSON_TRY(fv.get_number().get(n));
        index = n.is_int64() ? n.get_int64() : -1;
      }
    } else if (key == "finish_reason" && finish_reason.empty()) {
      SIMDJSON_TRY(read_string(fv, finish_reason));
    }
  }
  // The first choice 0 wins should a chunk (wrongly) carry two.
  if (index == 0 && info.content.empty() && !info.content_undecodable) {
    info.content.assign(text.content.data(), text.content.size());
    info.content_undecodable = text.undecodable;
    if (!text.token.empty()) {
      info.content_token_offset = response_parser().offset_of(text.token);
      info.content_token_length = text.token.size();
    }
  }
  return simdjson::SUCCESS;
}

// Status for an error object found in a 2xx body or a stream: its numeric
// "code" when that is an HTTP error status, else 500.
simdjson::error_code read_error_code(od::value& v, int& status) {
  od::json_type t;
  SIMDJSON_TRY(v.type().get(t));
  if (t != od::json_type::object) return simdjson::SUCCESS;
  od::object o;
  SIMDJSON_TRY(v.get_object().get(o));
  for (auto fr : o) {
    od::field f;
    SIMDJSON_TRY(std::move(fr).get(f));
    if (f.key() != "code") continue;
    od::value cv = f.value();
    od::json_type ct;
    SIMDJSON_TRY(cv.type().get(ct));
    int64_t code = 0;
    if (ct == od::json_type::number) {
      od::number n;
      SIMDJSON_TRY(cv.get_number().get(n));
      if (n.is_int64()) code = n.get_int64();
    } else if (ct == od::json_type::string) {
      std::string_view s;
      SIMDJSON_TRY(cv.get_string().get(s));
      if (!absl::SimpleAtoi(to_absl(s), &code)) code = 0;
    }
    if (code >= 400 && code <= 599) status = static_cast<int>(code);
  }
  return simdjson::SUCCESS;
}

bool is_null_value(od::value& v) {
  od::json_type t;
  return !v.type().get(t) && t == od::json_type::null;
}

// The deployment's API base without trailing slashes, after checking what
// goes into the request's head: a line break in a header value would inject
// headers. Never echoes the key.
Status checked_api_base(const DeploymentConfig& deployment, std::string_view default_api_base,
                        std::string_view provider_name, std::string_view& base) {
  base = deployment.api_base.empty() ? default_api_base : std::string_view(deployment.api_base);
  while (!base.empty() && base.back() == '/') base.remove_suffix(1);
  if (base.empty()) {
    return Error(ErrorKind::kInvalidConfig,
                 fmt::format("deployment {}: api_base is required for provider {}", deployment.id, provider_name));
  }
  if (has_line_break(deployment.api_key)) {
    return Error(ErrorKind::kInvalidConfig, fmt::format("deployment {}: api_key contains a line break", deployment.id));
  }
  if (has_line_break(deployment.organization) || has_line_break(base)) {
    return Error(ErrorKind::kInvalidConfig,
                 fmt::format("deployment {}: organization or api_base contains a line break", deployment.id));
  }
  for (const auto& [name, value] : deployment.extra_headers) {
    if (has_line_break(name) || has_line_break(value) || name.find(':') != std::string::npos || name.empty()) {
      return Error(ErrorKind::kInvalidConfig,
                   fmt::format("deployment {}: extra header '{}' is not a valid header", deployment.id,
                               has_line_break(name) ? std::string("<name with a line break>") : name));
    }
  }
  return {};
}

// The header lines of a request to `deployment` (checked_api_base passed).
void write_headers(const DeploymentConfig& deployment, bool streaming, std::vector<std::string>& out) {
  HeaderWriter headers(out, 4 + deployment.extra_headers.size());
  headers.add("Content-Type", "application/json");
  if (!deployment.api_key.empty()) headers.add2("Authorization", "Bearer ", deployment.api_key);
  if (!deployment.organization.empty()) headers.add("OpenAI-Organization", deployment.organization);
  for (const auto& [name, value] : deployment.extra_headers) headers.add(name, value);
  if (streaming) headers.add("Accept", "text/event-stream");
  headers.finish();
}

}  // namespace

// What a request to one deployment carries that no call changes — the
// checked API base and the header lines, with and without the streaming
// Accept — built once when the deployment joins the pool (make_auth), so a
// call copies lines instead of checking and formatting them. Built from the
// deployment's DeploymentConfig, which is immutable: a changed deployment (a
// rotated key, another api_base) comes with a new config and a new one of
// these, so nothing here goes stale. Used only for the config it was built
// from (a family that passes another, e.g. azure_ai's resolved copy, or its
// own auth state, builds per call). Families whose credentials change at
// run time (Azure AD, Vertex, Bedrock tokens) keep their own auth state and
// build their headers per call.
class PreparedOpenAiRequest final : public DeploymentAuth {
 public:
  PreparedOpenAiRequest(const DeploymentConfig& deployment, std::string_view default_api_base,
                        std::string_view provider_name)
      : config_(&deployment) {
    std::string_view base;
    status_ = checked_api_base(deployment, default_api_base, provider_name, base);
    if (!status_.ok()) return;
    base_.assign(base.data(), base.size());
    write_headers(deployment, false, headers_[0]);
    write_headers(deployment, true, headers_[1]);
  }

  bool prepared_for(const DeploymentConfig& deployment) const { return &deployment == config_; }
  const Status& status() const { return status_; }
  std::string_view base() const { return base_; }
  const std::vector<std::string>& headers(bool streaming) const { return headers_[streaming ? 1 : 0]; }

 private:
  const DeploymentConfig* config_;
  Status status_;
  std::string base_;
  std::vector<std::string> headers_[2];  // [streaming]
};

std::shared_ptr<DeploymentAuth> OpenAiCompatibleProvider::make_auth(const DeploymentConfig& deployment) const {
  return std::make_shared<PreparedOpenAiRequest>(deployment, default_api_base_, name_);
}

Status OpenAiCompatibleProvider::build_request(const ProviderTarget& target, const request::ParsedRequest& request,
                                               bool stream, transport::HttpRequest& out) const {
  return build(target, request, stream, {}, {}, out);
}

Status OpenAiCompatibleProvider::build_continuation_request(const ProviderTarget& target,
                                                            const request::ParsedRequest& request,
                                                            std::string_view delivered_text,
                                                            transport::HttpRequest& out) const {
  if (request.endpoint != request::Endpoint::kChatCompletions) {
    return Error(ErrorKind::kInvalidArgument, "only a chat completion can be continued");
  }
  std::string_view messages;
  for (const request::RawField& f : request.kept) {
    if (f.key == "messages") messages = strip_ascii_whitespace(f.value);
  }
  if (messages.size() < 2 || messages.front() != '[' || messages.back() != ']') {
    return Error(ErrorKind::kInvalidArgument, "a continuation needs the request's messages array");
  }
  const std::string_view items = messages.substr(1, messages.size() - 2);
  std::string with_prefill;
  with_prefill.reserve(messages.size() + delivered_text.size() + 64);
  json::Writer w(with_prefill);
  w.begin_array();
  if (!strip_ascii_whitespace(items).empty()) w.raw(items);  // the caller's messages as written
  w.begin_object().member("role", "assistant").member("content", delivered_text);
  // vLLM continues the final message when asked at the top level (a template
  // flag); DeepSeek, Mistral and LiteLLM mark the message itself.
  if (!vllm_prefill_) w.member("prefix", true);
  w.end_object().end_array();
  // Appended after the caller's members: should the caller have sent either
  // key, the server's JSON reader (last one wins) takes these.
  const std::string_view extra =
      vllm_prefill_ ? std::string_view(R"("continue_final_message":true,"add_generation_prompt":false)")
                    : std::string_view();
  return build(target, request, true, with_prefill, extra, out);
}

Status OpenAiCompatibleProvider::build(const ProviderTarget& target, const request::ParsedRequest& request,
                                       bool stream, std::string_view messages_override,
                                       std::string_view extra_members, transport::HttpRequest& out) const {
  const DeploymentConfig& deployment = target.config;
  const bool streaming = stream && request.endpoint == request::Endpoint::kChatCompletions;
  const auto* prepared = dynamic_cast<const PreparedOpenAiRequest*>(target.auth);
  if (prepared != nullptr && !prepared->prepared_for(deployment)) prepared = nullptr;
  std::string_view base;
  if (prepared != nullptr) {
    if (!prepared->status().ok()) return prepared->status();
    base = prepared->base();
  } else if (Status checked = checked_api_base(deployment, default_api_base_, name_, base); !checked.ok()) {
    return checked;
  }

  const std::string_view path = request::endpoint_path(request.endpoint);
  out.url.reserve(base.size() + path.size());
  out.url.assign(base.data(), base.size());
  // An api_base that already names the endpoint is used as it is.
  if (!(base.size() >= path.size() && base.substr(base.size() - path.size()) == path)) out.url.append(path);
  out.method.assign("POST");

  if (prepared != nullptr) {
    const std::vector<std::string>& lines = prepared->headers(streaming);
    HeaderWriter headers(out.headers, lines.size());
    for (const std::string& line : lines) headers.add_line(line);
    headers.finish();
  } else {
    write_headers(deployment, streaming, out.headers);
  }

  request::SpliceOptions options;
  options.force_stream = streaming;
  options.add_include_usage = streaming;
  options.force_no_stream = !streaming && request.stream;
  options.messages_override = messages_override;
  options.extra_members = extra_members;
  request::splice_request(request, target.model, options, out.body);
  out.stream_body = streaming;
  apply_connection_settings(deployment, out);
  return {};
}

Error OpenAiCompatibleProvider::classify_failure(const transport::TransferResult& result) const {
  // Wall time, not the loop's clock: only to read a Retry-After given as an
  // HTTP date.
  return provider::classify_failure(result, name_, absl::Now());
}

Result<ResponseInfo> OpenAiCompatibleProvider::inspect_response(std::string_view body, request::Endpoint) const {
  auto not_json = [&] {
    Error e(ErrorKind::kApiError, fmt::format("{} - provider returned a non-JSON body", exception_name(name_)));
    e.llm_provider = std::string(name_);
    return e;
  };
  od::document doc;
  if (response_parser().iterate(body, doc)) return not_json();
  od::object top;
  if (doc.get_object().get(top)) return not_json();
  ResponseInfo info;
  std::optional<Usage> usage;
  bool has_error = false;
  int object_code = 0;  // the error object's HTTP-like "code", 0 when none
  for (auto fr : top) {
    od::field f;
    if (std::move(fr).get(f)) return not_json();
    const od::raw_json_string key = f.key();
    od::value v = f.value();
    simdjson::error_code e = simdjson::SUCCESS;
    if (key == "model") {
      e = read_string(v, info.model);
    } else if (key == "usage") {
      e = read_usage(v, usage);
    } else if (key == "choices") {
      od::json_type t;
      e = v.type().get(t);
      if (!e && t == od::json_type::array) {
        od::array choices;
        e = v.get_array().get(choices);
        for (auto cr : choices) {
          if (e) break;
          od::value c;
          if ((e = std::move(cr).get(c))) break;
          ChunkInfo unused;
          e = read_choice(c, 0, unused, info.finish_reason);
          break;  // only the first choice matters
        }
      }
    } else if (key == "error") {
      if (!is_null_value(v)) {
        has_error = true;
        e = read_error_code(v, object_code);
      }
    }
    if (e) return not_json();
  }
  const char* rest = nullptr;
  if (!doc.current_location().get(rest)) return not_json();  // trailing garbage
  if (has_error) {
    // An error object despite the 2xx status: classified as an HTTP error
    // with the object's own code, 500 when it has none.
    Error err = classify_http_error(object_code != 0 ? object_code : 500, body, name_);
    err.provider_status = object_code;
    return err;
  }
  if (usage) info.usage = *usage;
  return info;
}

ChunkInfo OpenAiCompatibleProvider::inspect_chunk(std::string_view data) const {
  ChunkInfo info;
  const std::string_view d = strip_ascii_whitespace(data);
  if (d == "[DONE]") {
    info.kind = ChunkInfo::Kind::kDone;
    return info;
  }
  auto malformed = [] {
    ChunkInfo m;
    m.kind = ChunkInfo::Kind::kMalformed;
    return m;
  };
  if (d.empty() || d.front() != '{') return malformed();
  od::document doc;
  if (response_parser().iterate(d, doc)) return malformed();
  od::object top;
  if (doc.get_object().get(top)) return malformed();
  bool has_error = false;
  int object_code = 0;  // the error object's HTTP-like "code", 0 when none
  for (auto fr : top) {
    od::field f;
    if (std::move(fr).get(f)) return malformed();
    const od::raw_json_string key = f.key();
    od::value v = f.value();
    simdjson::error_code e = simdjson::SUCCESS;
    if (key == "choices") {
      od::json_type t;
      e = v.type().get(t);
      if (!e && t == od::json_type::array) {
        od::array choices;
        e = v.get_array().get(choices);
        size_t position = 0;
        for (auto cr : choices) {
          if (e) break;
          od::value c;
          if ((e = std::move(cr).get(c))) break;
          info.has_choices = true;
          e = read_choice(c, position++, info, info.finish_reason);
        }
      }
    } else if (key == "usage") {
      e = read_usage(v, info.usage);
    } else if (key == "model") {
      e = read_string_view(v, info.model);
    } else if (key == "error") {
      if (!is_null_value(v)) {
        has_error = true;
        e = read_error_code(v, object_code);
      }
    }
    if (e) return malformed();
  }
  const char* rest = nullptr;
  if (!doc.current_location().get(rest)) return malformed();
  if (has_error) {
    info.kind = ChunkInfo::Kind::kError;
    Error err = classify_http_error(object_code != 0 ? object_code : 500, d, name_);
    // The HTTP answer itself was a 2xx: report the error object's own code.
    err.provider_status = object_code;
    info.error = std::move(err);
  }
  // The token was located in the stripped payload.
  if (info.content_token_length > 0) info.content_token_offset += static_cast<size_t>(d.data() - data.data());
  return info;
}

}  // namespace llmux::provider
