// Request parsing and splicing (DESIGN.md §2 steps 1 and 5).
//
// One simdjson on-demand pass over the top-level object. Every value is
// walked completely (not skipped), so that a body with a syntax error inside a
// passed-through value (`[1,2}`, `[tru]`) is rejected here rather than by the
// provider; walking touches structural tokens only, string contents are
// validated by simdjson's stage 1 (UTF-8, quoting) and never copied.
#include "request/request.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>

#include <absl/strings/ascii.h>
#include <absl/strings/match.h>
#include <absl/strings/numbers.h>
#include <fmt/format.h>
#include <simdjson.h>

#include "common/router_keys.hpp"
#include "common/strings.hpp"
#include "json/whitespace.hpp"
#include "json/writer.hpp"

namespace llmux::request {
namespace {

namespace od = simdjson::ondemand;
using simdjson::error_code;

// On-demand parsers are expensive to create and keep their buffers between
// documents, so each thread reuses one.
od::parser& thread_parser() {
  thread_local od::parser parser;
  return parser;
}

Error invalid(std::string message) { return Error(ErrorKind::kInvalidArgument, std::move(message)); }

Error not_json(error_code e) {
  return invalid(fmt::format("request body is not valid JSON: {}", simdjson::error_message(e)));
}

// The raw text of a key (pointer just past its opening quote), still escaped,
// given where its value starts: on-demand has checked that only whitespace
// and ':' lie between the key's closing quote and the value, so the first
// quote found walking back from the value closes the key.
std::string_view raw_key_before(const char* start, const char* value) {
  const char* end = value;
  while (end[-1] != '"') --end;
  return {start, static_cast<size_t>(end - 1 - start)};
}

// Stage 1 validates UTF-8 and quoting but not escapes ("\q", "\u12", a lone
// surrogate): those only fail when unescaped. Unescaping just the strings
// that contain a backslash keeps the common case copy-free.
//
// Tokens are visited in document order, so one forward cursor over the body
// answers "does this token hold a backslash?" with a pointer compare; the
// body is searched (memchr) once per backslash rather than once per token.
class Backslashes {
 public:
  explicit Backslashes(std::string_view body)
      : from_(body.data()), end_(body.data() + body.size()), next_(find(from_)) {}

  // True when `token` (a view into the body) contains a backslash. Extra
  // bytes after the token (whitespace, ':') only ever cause a false positive,
  // which costs an unnecessary unescape, never a missed one.
  bool in(std::string_view token) {
    const char* b = token.data();
    if (b < from_) return token.find('\\') != std::string_view::npos;  // out of order: look directly
    from_ = b;
    if (next_ < b) next_ = find(b);
    return next_ < b + token.size();
  }

 private:
  const char* find(const char* b) const {
    const void* p = std::memchr(b, '\\', static_cast<size_t>(end_ - b));
    return p != nullptr ? static_cast<const char*>(p) : end_;
  }

  const char* from_;
  const char* end_;
  const char* next_;
};

// Walks a value completely so that simdjson validates it. Recursion depth is
// bounded by the parser's max depth.
error_code walk(od::value v, Backslashes& bs) {
  od::json_type t;
  SIMDJSON_TRY(v.type().get(t));
  switch (t) {
    case od::json_type::object: {
      od::object o;
      SIMDJSON_TRY(v.get_object().get(o));
      for (auto fr : o) {
        od::field f;
        SIMDJSON_TRY(std::move(fr).get(f));
        // The key's bytes lie between its opening quote and the value.
        const char* key_start = f.key().raw();
        od::value fv = f.value();
        const char* value_start = fv.raw_json_token().data();
        if (bs.in(std::string_view(key_start, static_cast<size_t>(value_start - key_start)))) {
          std::string_view key;
          SIMDJSON_TRY(f.unescaped_key().get(key));
        }
        SIMDJSON_TRY(walk(fv, bs));
      }
      return simdjson::SUCCESS;
    }
    case od::json_type::array: {
      od::array a;
      SIMDJSON_TRY(v.get_array().get(a));
      for (auto er : a) {
        od::value e;
        SIMDJSON_TRY(std::move(er).get(e));
        SIMDJSON_TRY(walk(e, bs));
      }
      return simdjson::SUCCESS;
    }
    case od::json_type::string: {
      if (bs.in(v.raw_json_token())) {
        std::string_view s;
        return v.get_string().get(s);
      }
      od::raw_json_string s;
      return v.get_raw_json_string().get(s);
    }
    case od::json_type::number: {
      od::number n;
      return v.get_number().get(n);
    }
    case od::json_type::boolean: {
      bool b;
      return v.get_bool().get(b);
    }
    case od::json_type::null: {
      bool is_null = false;
      SIMDJSON_TRY(v.is_null().get(is_null));
      return is_null ? simdjson::SUCCESS : simdjson::N_ATOM_ERROR;
    }
  }
  return simdjson::INCORRECT_TYPE;
}

// A simdjson on-demand value as a router_keys node (common/router_keys.hpp),
// so a request reads fallback rules and tags by the config's rules. Read
// once, in document order; the first JSON error is kept in `error` (and every
// later operation is then a no-op).
class JsonNode {
 public:
  using NodeKind = router_keys::NodeKind;

  JsonNode(od::value& v, error_code& error, Backslashes& bs) : v_(v), error_(error), bs_(bs) {}

  NodeKind kind() {
    if (kind_) return *kind_;
    kind_ = NodeKind::kNull;
    od::json_type t;
    if (error_) return *kind_;
    if (auto e = v_.type().get(t)) {
      error_ = e;
      return *kind_;
    }
    switch (t) {
      case od::json_type::object: kind_ = NodeKind::kMap; break;
      case od::json_type::array: kind_ = NodeKind::kList; break;
      case od::json_type::string: kind_ = NodeKind::kString; break;
      case od::json_type::number: kind_ = NodeKind::kNumber; break;
      case od::json_type::boolean: kind_ = NodeKind::kBool; break;
      case od::json_type::null: kind_ = NodeKind::kNull; break;
    }
    return *kind_;
  }

  // JSON strings only: a number is a number here (it is in the config only
  // when YAML wrote it plain).
  std::optional<std::string> name() {
    if (kind() != NodeKind::kString || error_) return std::nullopt;
    std::string_view s;
    if (auto e = v_.get_string().get(s)) {
      error_ = e;
      return std::nullopt;
    }
    return std::string(s);
  }

  std::string describe() {
    if (consumed_) return raw_;
    const NodeKind k = kind();
    if (error_) return {};
    if (k == NodeKind::kString) {
      std::string_view s;
      if (auto e = v_.get_string().get(s)) error_ = e;
      return router_keys::quoted(s);
    }
    if (k == NodeKind::kList || k == NodeKind::kMap) {
      skip();
      return k == NodeKind::kList ? "a list" : "a map";
    }
    std::string raw(json::strip_trailing_whitespace(v_.raw_json_token()));
    skip();
    return raw;
  }

  void skip() {
    if (error_ || consumed_) return;
    consumed_ = true;
    if (auto e = walk(v_, bs_)) error_ = e;
  }

  std::optional<double> number() {
    if (kind() != NodeKind::kNumber || error_) return std::nullopt;
    raw_ = std::string(json::strip_trailing_whitespace(v_.raw_json_token()));
    consumed_ = true;
    double d = 0;
    if (auto e = v_.get_double().get(d)) {
      error_ = e;
      return std::nullopt;
    }
    return d;
  }

  int line() const { return 0; }

  template <class F>
  bool for_each_item(F&& f) {
    od::array a;
    if (error_ || kind() != NodeKind::kList) return false;
    consumed_ = true;
    if (auto e = v_.get_array().get(a)) return fail(e);
    size_t i = 0;
    for (auto er : a) {
      od::value ev;
      if (auto e = std::move(er).get(ev)) return fail(e);
      JsonNode item(ev, error_, bs_);
      f(i++, item);
      if (error_) return false;
    }
    return true;
  }

  template <class F>
  bool for_each_member(F&& f) {
    od::object o;
    if (error_ || kind() != NodeKind::kMap) return false;
    consumed_ = true;
    if (auto e = v_.get_object().get(o)) return fail(e);
    for (auto fr : o) {
      od::field field;
      if (auto e = std::move(fr).get(field)) return fail(e);
      std::string_view key;
      if (auto e = field.unescaped_key().get(key)) return fail(e);
      od::value value = field.value();
      JsonNode member(value, error_, bs_);
      f(key, member);
      if (error_) return false;
    }
    return true;
  }

 private:
  bool fail(error_code e) {
    error_ = e;
    return false;
  }

  od::value& v_;
  error_code& error_;
  Backslashes& bs_;
  std::optional<NodeKind> kind_;
  bool consumed_ = false;
  std::string raw_;  // a number read by number(), for describe()
};

enum class Key {
  kOther,
  kModel,
  kStream,
  kStreamOptions,
  kMessages,
  kInput,
  kPrompt,
  kFallbacks,
  kContextWindowFallbacks,
  kContentPolicyFallbacks,
  kNumRetries,
  kTimeout,
  kRequestTimeout,
  kStreamTimeout,
  kCooldownTime,
  kMaxFallbacks,
  kDisableFallbacks,
  kMetadata,
  kMockResponse,
  kMockTimeout,
  kMockTestingFallbacks,
  kMockTestingContextFallbacks,
  kMockTestingContentPolicyFallbacks,
  kMockTestingRateLimitError,
  kConnectTimeout,
  kFirstTokenTimeout,
  kStreamIdleTimeout,
  kTotalTimeout,
  kAllowedModelRegion,
  kDropParams,
  kApiKey,
  kApiBase,
  kMockError,
  kStripOnly,  // router-only keys llmux does not interpret (yet): removed, validated as JSON
};

struct KeyEntry {
  std::string_view name;
  Key key;
};

// Sorted by name (for the reader; classify_key searches a copy sorted by length).
constexpr KeyEntry kKeys[] = {
    {"allowed_model_region", Key::kAllowedModelRegion},
    {"api_base", Key::kApiBase},
    {"api_key", Key::kApiKey},
    {"base_url", Key::kApiBase},
    {"caching", Key::kStripOnly},
    {"connect_timeout", Key::kConnectTimeout},
    {"content_policy_fallbacks", Key::kContentPolicyFallbacks},
    {"context_window_fallbacks", Key::kContextWindowFallbacks},
    {"cooldown_time", Key::kCooldownTime},
    {"disable_fallbacks", Key::kDisableFallbacks},
    {"drop_params", Key::kDropParams},
    {"fallbacks", Key::kFallbacks},
    {"first_token_timeout", Key::kFirstTokenTimeout},
    {"input", Key::kInput},
    {"litellm_call_id", Key::kStripOnly},
    {"litellm_metadata", Key::kStripOnly},
    {"litellm_trace_id", Key::kStripOnly},
    {"llmux_mock_error", Key::kMockError},
    {"max_fallbacks", Key::kMaxFallbacks},
    {"messages", Key::kMessages},
    {"metadata", Key::kMetadata},
    {"mock_response", Key::kMockResponse},
    {"mock_testing_content_policy_fallbacks", Key::kMockTestingContentPolicyFallbacks},
    {"mock_testing_context_fallbacks", Key::kMockTestingContextFallbacks},
    {"mock_testing_fallbacks", Key::kMockTestingFallbacks},
    {"mock_testing_rate_limit_error", Key::kMockTestingRateLimitError},
    {"mock_timeout", Key::kMockTimeout},
    {"model", Key::kModel},
    {"model_group_retry_policy", Key::kStripOnly},
    {"num_retries", Key::kNumRetries},
    {"priority", Key::kStripOnly},
    {"prompt", Key::kPrompt},
    {"request_timeout", Key::kRequestTimeout},
    {"specific_deployment", Key::kStripOnly},
    {"stream", Key::kStream},
    {"stream_idle_timeout", Key::kStreamIdleTimeout},
    {"stream_options", Key::kStreamOptions},
    {"stream_timeout", Key::kStreamTimeout},
    {"timeout", Key::kTimeout},
    {"total_timeout", Key::kTotalTimeout},
};

// The member holding an endpoint's prompt.
Key prompt_key(Endpoint endpoint) {
  switch (endpoint) {
    case Endpoint::kChatCompletions: return Key::kMessages;
    case Endpoint::kTextCompletions: return Key::kPrompt;
    default: return Key::kInput;
  }
}

// Shorter first, then by name: a lookup compares lengths, and compares bytes
// only against the few names of the key's own length.
constexpr bool shorter_first(std::string_view a, std::string_view b) {
  return a.size() != b.size() ? a.size() < b.size() : a < b;
}

constexpr auto kKeysByLength = [] {
  std::array<KeyEntry, std::size(kKeys)> keys{};
  std::copy(std::begin(kKeys), std::end(kKeys), keys.begin());
  std::sort(keys.begin(), keys.end(), [](const KeyEntry& a, const KeyEntry& b) { return shorter_first(a.name, b.name); });
  return keys;
}();

Key classify_key(std::string_view name) {
  const auto it = std::lower_bound(kKeysByLength.begin(), kKeysByLength.end(), name,
                                   [](const KeyEntry& e, std::string_view n) { return shorter_first(e.name, n); });
  return it != kKeysByLength.end() && it->name == name ? it->key : Key::kOther;
}

// Canonical spelling of a kept key whose input spelling used escapes
// ("str\u0065am"): splice_request matches kept keys by their raw bytes.
std::string_view canonical_kept_key(Key key, std::string_view raw) {
  switch (key) {
    case Key::kStream: return "stream";
    case Key::kStreamOptions: return "stream_options";
    case Key::kMessages: return "messages";
    case Key::kInput: return "input";
    case Key::kPrompt: return "prompt";
    default: return raw;
  }
}

// Reads one request: the state of a single parse_request call.
class RequestReader {
 public:
  RequestReader(ParsedRequest& request, od::document& doc, bool prompt_required)
      : r_(request), doc_(doc), bs_(request.body), prompt_required_(prompt_required) {}

  Status read() {
    od::object top;
    od::json_type top_type;
    if (auto e = doc_.type().get(top_type)) return not_json(e);
    if (top_type != od::json_type::object) return invalid("request body must be a JSON object");
    if (auto e = doc_.get_object().get(top)) return not_json(e);
    for (auto fr : top) {
      od::field field;
      if (auto e = std::move(fr).get(field)) return not_json(e);
      od::value value = field.value();
      const std::string_view raw_key = raw_key_before(field.key().raw(), value.raw_json_token().data());
      std::string_view name = raw_key;
      if (bs_.in(raw_key)) {
        if (auto e = field.unescaped_key().get(name)) return not_json(e);
      }
      const Key key = classify_key(name);
      Status s = read_member(key, name, canonical_kept_key(key, raw_key), value);
      if (!s.ok()) return s;
    }
    // Anything after the top-level object is trailing garbage. A body whose
    // last token is not '}' (`{...} x`) never gets here: simdjson's root
    // object check rejects it. This catches the rest (`{...} {}`, `{...}}`).
    // Both only read the owned copy up to body[size] (its NUL), never the
    // caller's bytes past the end (tests: "anything but whitespace after the
    // top-level object").
    const char* rest = nullptr;
    if (!doc_.current_location().get(rest)) return not_json(simdjson::TRAILING_CONTENT);
    return finish();
  }

 private:
  // Validates `v` completely and returns its exact text.
  Status consume_raw(od::value& v, std::string_view& raw) {
    od::json_type t;
    if (auto e = v.type().get(t)) return not_json(e);
    if (t == od::json_type::object || t == od::json_type::array) {
      const char* start = v.raw_json_token().data();
      if (auto e = walk(v, bs_)) return not_json(e);
      // After a container the iterator rests on the next structural token of
      // the enclosing object (',' or '}'), which always exists here.
      const char* end = nullptr;
      if (auto e = doc_.current_location().get(end)) return not_json(e);
      raw = json::strip_trailing_whitespace(std::string_view(start, static_cast<size_t>(end - start)));
      return {};
    }
    raw = json::strip_trailing_whitespace(v.raw_json_token());
    if (auto e = walk(v, bs_)) return not_json(e);
    return {};
  }

  void keep(std::string_view kept_key, std::string_view raw, int* slot) {
    // A repeated special key replaces the earlier one (last wins, as in most
    // JSON readers) so the spliced body never carries it twice.
    if (slot != nullptr) {
      if (*slot >= 0) {
        r_.kept[static_cast<size_t>(*slot)].value = raw;
        return;
      }
      *slot = static_cast<int>(r_.kept.size());
    }
    r_.kept.push_back(RawField{kept_key, raw});
  }

  Status read_member(Key key, std::string_view name, std::string_view kept_key, od::value& v) {
    switch (key) {
      case Key::kOther: {
        std::string_view raw;
        if (Status s = consume_raw(v, raw); !s.ok()) return s;
        r_.kept.push_back(RawField{kept_key, raw});
        return {};
      }
      case Key::kModel: return read_model(v);
      case Key::kStream: return read_stream(v, kept_key);
      case Key::kStreamOptions: return read_stream_options(v, kept_key);
      case Key::kMessages: return read_prompt(v, key, kept_key);
      case Key::kInput: return read_prompt(v, key, kept_key);
      case Key::kPrompt: return read_prompt(v, key, kept_key);
      case Key::kFallbacks: return read_fallbacks(v, name, /*allow_client_side=*/true, r_.router.fallbacks);
      case Key::kContextWindowFallbacks:
        return read_fallbacks(v, name, false, r_.router.context_window_fallbacks);
      case Key::kContentPolicyFallbacks:
        return read_fallbacks(v, name, false, r_.router.content_policy_fallbacks);
      case Key::kNumRetries: return read_count(v, name, r_.router.num_retries);
      case Key::kMaxFallbacks: return read_count(v, name, r_.router.max_fallbacks);
      case Key::kTimeout: return read_seconds(v, name, /*zero_is_unset=*/true, timeout_);
      case Key::kRequestTimeout: return read_seconds(v, name, true, request_timeout_);
      case Key::kStreamTimeout: return read_seconds(v, name, true, r_.router.stream_timeout_seconds);
      // cooldown_time 0 means "never cool down" (reference §5.3), so it is kept.
      case Key::kCooldownTime: return read_seconds(v, name, false, r_.router.cooldown_time_seconds);
      case Key::kConnectTimeout: return read_seconds(v, name, true, r_.router.connect_timeout_seconds);
      case Key::kFirstTokenTimeout: return read_seconds(v, name, true, r_.router.first_token_timeout_seconds);
      case Key::kStreamIdleTimeout: return read_seconds(v, name, true, r_.router.stream_idle_timeout_seconds);
      case Key::kTotalTimeout: return read_seconds(v, name, true, r_.router.total_timeout_seconds);
      case Key::kAllowedModelRegion: return read_optional_string(v, name, r_.router.allowed_model_region);
      case Key::kDisableFallbacks: return read_flag(v, name, r_.router.disable_fallbacks);
      case Key::kMockTimeout: return read_flag(v, name, r_.router.mock_timeout);
      case Key::kDropParams: return read_flag(v, name, r_.router.drop_params);
      case Key::kMockTestingFallbacks: return read_flag(v, name, r_.router.mock_testing_fallbacks);
      case Key::kMockTestingContextFallbacks: return read_flag(v, name, r_.router.mock_testing_context_fallbacks);
      case Key::kMockTestingContentPolicyFallbacks:
        return read_flag(v, name, r_.router.mock_testing_content_policy_fallbacks);
      case Key::kMockTestingRateLimitError: return read_flag(v, name, r_.router.mock_testing_rate_limit_error);
      case Key::kMetadata: return read_metadata(v);
      case Key::kMockResponse: return read_mock_response(v, name);
      case Key::kMockError: return read_optional_object(v, name, r_.router.mock_error_json);
      case Key::kApiKey: return read_optional_string(v, name, r_.router.api_key);
      case Key::kApiBase: return read_optional_string(v, name, r_.router.api_base);
      case Key::kStripOnly: {
        if (auto e = walk(v, bs_)) return not_json(e);
        return {};
      }
    }
    return {};
  }

  Status read_model(od::value& v) {
    od::json_type t;
    if (auto e = v.type().get(t)) return not_json(e);
    if (t != od::json_type::string) {
      if (auto e = walk(v, bs_)) return not_json(e);
      return invalid("'model' must be a string");
    }
    std::string_view s;
    if (auto e = v.get_string().get(s)) return not_json(e);
    r_.model.assign(s.data(), s.size());
    has_model_ = true;
    return {};
  }

  Status read_stream(od::value& v, std::string_view kept_key) {
    std::string_view raw = json::strip_trailing_whitespace(v.raw_json_token());
    od::json_type t;
    if (auto e = v.type().get(t)) return not_json(e);
    if (t == od::json_type::boolean) {
      if (auto e = v.get_bool().get(r_.stream)) return not_json(e);
    } else if (t == od::json_type::null) {
      if (auto e = walk(v, bs_)) return not_json(e);
      r_.stream = false;
    } else {
      if (auto e = walk(v, bs_)) return not_json(e);
      return invalid("'stream' must be a boolean");
    }
    keep(kept_key, raw, &stream_slot_);
    return {};
  }

  // Validates a value this reader does not use.
  Status skip(od::value& v) {
    if (auto e = walk(v, bs_)) return not_json(e);
    return {};
  }

  // An object member of the request ('stream_options', 'metadata'): null is
  // the same as leaving it out (nothing read, `raw` untouched), any other
  // type but an object is refused. Each member's value goes to
  // on_member(key, value), which consumes it (skip() what it does not read).
  // `raw`, when given, receives the object's exact text.
  template <class OnMember>
  Status read_object_members(od::value& v, std::string_view name, std::optional<std::string_view>* raw,
                             OnMember&& on_member) {
    od::json_type t;
    if (auto e = v.type().get(t)) return not_json(e);
    if (t == od::json_type::null) return skip(v);
    if (t != od::json_type::object) {
      if (auto e = walk(v, bs_)) return not_json(e);
      return invalid(fmt::format("'{}' must be an object", name));
    }
    const char* start = v.raw_json_token().data();
    od::object o;
    if (auto e = v.get_object().get(o)) return not_json(e);
    for (auto fr : o) {
      od::field f;
      if (auto e = std::move(fr).get(f)) return not_json(e);
      std::string_view k;
      if (auto e = f.unescaped_key().get(k)) return not_json(e);
      od::value fv = f.value();
      if (Status s = on_member(k, fv); !s.ok()) return s;
    }
    if (raw != nullptr) {
      // After the object the iterator rests on the enclosing object's next
      // structural token (',' or '}').
      const char* end = nullptr;
      if (auto e = doc_.current_location().get(end)) return not_json(e);
      *raw = json::strip_trailing_whitespace(std::string_view(start, static_cast<size_t>(end - start)));
    }
    return {};
  }

  Status read_stream_options(od::value& v, std::string_view kept_key) {
    // "stream_options": null is the same as no stream_options; dropping it
    // lets add_include_usage add ours.
    bool include_usage = false;
    std::optional<std::string_view> raw;
    Status s = read_object_members(v, "stream_options", &raw, [&](std::string_view k, od::value& fv) -> Status {
      if (k != "include_usage") return skip(fv);
      od::json_type ft;
      if (auto e = fv.type().get(ft)) return not_json(e);
      if (ft == od::json_type::boolean) {
        if (auto e = fv.get_bool().get(include_usage)) return not_json(e);
        return {};
      }
      if (ft != od::json_type::null) {
        if (auto e = walk(fv, bs_)) return not_json(e);
        return invalid("'stream_options.include_usage' must be a boolean");
      }
      include_usage = false;
      return skip(fv);
    });
    if (!s.ok() || !raw) return s;
    r_.include_usage = include_usage;
    r_.has_stream_options = true;
    keep(kept_key, *raw, &stream_options_slot_);
    return {};
  }

  Status read_prompt(od::value& v, Key key, std::string_view kept_key) {
    const bool is_messages = key == Key::kMessages;
    const bool is_prompt = key == prompt_key(r_.endpoint);
    od::json_type t;
    if (auto e = v.type().get(t)) return not_json(e);
    std::string_view raw;
    if (Status s = consume_raw(v, raw); !s.ok()) return s;
    if (is_prompt) {
      if (is_messages && t != od::json_type::array) return invalid("'messages' must be an array");
      if (!is_messages && t != od::json_type::array && t != od::json_type::string) {
        return invalid(key == Key::kPrompt ? "'prompt' must be a string or an array"
                                           : "'input' must be a string or an array");
      }
      has_prompt_ = true;
      r_.prompt_bytes = static_cast<int64_t>(raw.size());
    }
    keep(kept_key, raw, is_messages ? &messages_slot_ : key == Key::kPrompt ? &prompt_slot_ : &input_slot_);
    return {};
  }

  // A non-negative integer (num_retries, max_fallbacks); 2.0 is accepted as 2.
  Status read_count(od::value& v, std::string_view name, std::optional<int>& out) {
    od::json_type t;
    if (auto e = v.type().get(t)) return not_json(e);
    if (t == od::json_type::null) {
      if (auto e = walk(v, bs_)) return not_json(e);
      return {};
    }
    // Built only when needed: a valid count (every call that sends one) costs no formatting.
    auto bad = [&] { return invalid(fmt::format("'{}' must be a non-negative integer", name)); };
    if (t != od::json_type::number) {
      if (auto e = walk(v, bs_)) return not_json(e);
      return bad();
    }
    double d = 0;
    if (auto e = v.get_double().get(d)) return not_json(e);
    if (!(d >= 0) || d > std::numeric_limits<int>::max() || d != std::floor(d)) return bad();
    out = static_cast<int>(d);
    return {};
  }

  // Seconds as a number or a numeric string (LiteLLM calls float() on these).
  // With zero_is_unset, 0 means "not set" (LiteLLM takes the first truthy
  // timeout in its chain, reference §6.9).
  Status read_seconds(od::value& v, std::string_view name, bool zero_is_unset, std::optional<double>& out) {
    od::json_type t;
    if (auto e = v.type().get(t)) return not_json(e);
    if (t == od::json_type::null) {
      if (auto e = walk(v, bs_)) return not_json(e);
      return {};
    }
    auto bad = [&] { return invalid(fmt::format("'{}' must be a non-negative number of seconds", name)); };
    double d = 0;
    if (t == od::json_type::number) {
      if (auto e = v.get_double().get(d)) return not_json(e);
    } else if (t == od::json_type::string) {
      std::string_view s;
      if (auto e = v.get_string().get(s)) return not_json(e);
      if (!absl::SimpleAtod(to_absl(s), &d)) return bad();
    } else {
      if (auto e = walk(v, bs_)) return not_json(e);
      return bad();
    }
    if (!std::isfinite(d) || d < 0) return bad();
    if (zero_is_unset && d == 0) {
      out.reset();
      return {};
    }
    out = d;
    return {};
  }

  // A boolean, or "true"/"false" as LiteLLM's str_to_bool reads them.
  Status read_flag(od::value& v, std::string_view name, bool& out) {
    od::json_type t;
    if (auto e = v.type().get(t)) return not_json(e);
    if (t == od::json_type::boolean) {
      if (auto e = v.get_bool().get(out)) return not_json(e);
      return {};
    }
    if (t == od::json_type::null) {
      if (auto e = walk(v, bs_)) return not_json(e);
      out = false;
      return {};
    }
    if (t == od::json_type::string) {
      std::string_view s;
      if (auto e = v.get_string().get(s)) return not_json(e);
      const std::string_view flag = strip_ascii_whitespace(s);
      if (equals_ignore_case(flag, "true")) {
        out = true;
        return {};
      }
      if (equals_ignore_case(flag, "false")) {
        out = false;
        return {};
      }
    } else if (auto e = walk(v, bs_)) {
      return not_json(e);
    }
    return invalid(fmt::format("'{}' must be a boolean", name));
  }

  // A string (reply text or error name) or an object (the body to answer).
  Status read_mock_response(od::value& v, std::string_view name) {
    od::json_type t;
    if (auto e = v.type().get(t)) return not_json(e);
    if (t == od::json_type::object) return read_optional_object(v, name, r_.router.mock_response_json);
    return read_optional_string(v, name, r_.router.mock_response);
  }

  // An object (kept as its raw JSON text) or null (leaves `out` unset).
  Status read_optional_object(od::value& v, std::string_view name, std::optional<std::string>& out) {
    od::json_type t;
    if (auto e = v.type().get(t)) return not_json(e);
    if (t == od::json_type::null) {
      if (auto e = walk(v, bs_)) return not_json(e);
      return {};
    }
    if (t != od::json_type::object) {
      if (auto e = walk(v, bs_)) return not_json(e);
      return invalid(fmt::format("'{}' must be an object", name));
    }
    std::string_view raw;
    if (Status s = consume_raw(v, raw); !s.ok()) return s;
    out.emplace(raw);
    return {};
  }

  // A string or null (null leaves `out` unset).
  Status read_optional_string(od::value& v, std::string_view name, std::optional<std::string>& out) {
    od::json_type t;
    if (auto e = v.type().get(t)) return not_json(e);
    if (t == od::json_type::null) {
      if (auto e = walk(v, bs_)) return not_json(e);
      return {};
    }
    if (t != od::json_type::string) {
      if (auto e = walk(v, bs_)) return not_json(e);
      return invalid(fmt::format("'{}' must be a string", name));
    }
    std::string_view s;
    if (auto e = v.get_string().get(s)) return not_json(e);
    out.emplace(s);
    return {};
  }

  // Frames a router_keys problem (or the JSON error that stopped it) as the
  // request's error: "'<key>' must be <what> (<path>: <message>)".
  static Status framed(const std::optional<router_keys::Problem>& problem, error_code json_error,
                       std::string_view what_it_must_be) {
    if (json_error) return not_json(json_error);
    if (!problem) return {};
    return invalid(fmt::format("{} ({}: {})", what_it_must_be, problem->path, problem->message));
  }

  // "fallbacks": client-side (["g1", "g2"] or [{"model": "g1", ...}]) or
  // standard ([{"group": ["g1", "g2"]}]), reference §6.6; the *_fallbacks
  // keys: standard only. The rules a config's fallbacks follow.
  Status read_fallbacks(od::value& v, std::string_view name, bool allow_client_side,
                        std::optional<std::vector<FallbackRule>>& rules_out) {
    const std::string what =
        allow_client_side
            ? fmt::format("'{}' must be a list of model group names, of {{\"model\": \"<group>\", ...}} objects, "
                          "or of {{\"<group>\": [\"<fallback group>\", ...]}} objects",
                          name)
            : fmt::format("'{}' must be a list of {{\"<group>\": [\"<fallback group>\", ...]}} objects", name);
    error_code json_error = simdjson::SUCCESS;
    JsonNode node(v, json_error, bs_);
    router_keys::Fallbacks fallbacks;
    const auto problem = router_keys::read_fallbacks(node, name, allow_client_side, fallbacks);
    if (Status s = framed(problem, json_error, what); !s.ok()) return s;
    if (fallbacks.client) {
      r_.router.client_fallbacks = std::move(fallbacks.client);
    } else if (fallbacks.rules) {
      rules_out = std::move(fallbacks.rules);  // [] disables the router's fallbacks for this call
    }
    return {};
  }

  Status read_metadata(od::value& v) {
    return read_object_members(v, "metadata", nullptr, [&](std::string_view k, od::value& fv) -> Status {
      if (k != "tags") return skip(fv);
      od::json_type ft;
      if (auto e = fv.type().get(ft)) return not_json(e);
      if (ft == od::json_type::null) return skip(fv);
      // The list rules of a deployment's litellm_params.tags.
      std::vector<std::string> tags;
      // A few tags are usual: one allocation instead of growing 1, 2, 4.
      if (ft == od::json_type::array) tags.reserve(4);
      error_code json_error = simdjson::SUCCESS;
      JsonNode node(fv, json_error, bs_);
      const auto problem = router_keys::read_names(node, "metadata.tags", "a list of strings", tags);
      if (Status s = framed(problem, json_error, "'metadata.tags' must be a list of strings"); !s.ok()) return s;
      r_.router.tags = std::move(tags);
      return {};
    });
  }

  Status finish() {
    if (!has_model_) return invalid("'model' is required");
    if (r_.model.empty()) return invalid("'model' must not be empty");
    if (!has_prompt_ && prompt_required_) {
      return invalid(r_.endpoint == Endpoint::kChatCompletions   ? "'messages' is required"
                     : r_.endpoint == Endpoint::kTextCompletions ? "'prompt' is required"
                                                                 : "'input' is required");
    }
    // "timeout" wins over "request_timeout" (LiteLLM's non-stream chain, §6.9).
    r_.router.timeout_seconds = timeout_ ? timeout_ : request_timeout_;
    r_.estimated_prompt_tokens = (r_.prompt_bytes + 3) / 4;
    return {};
  }

  ParsedRequest& r_;
  od::document& doc_;
  Backslashes bs_;
  bool has_model_ = false;
  bool has_prompt_ = false;
  bool prompt_required_ = true;
  std::optional<double> timeout_;
  std::optional<double> request_timeout_;
  int stream_slot_ = -1;
  int stream_options_slot_ = -1;
  int messages_slot_ = -1;
  int input_slot_ = -1;
  int prompt_slot_ = -1;
};

}  // namespace

std::string_view endpoint_path(Endpoint endpoint) {
  switch (endpoint) {
    case Endpoint::kChatCompletions: return "/chat/completions";
    case Endpoint::kEmbeddings: return "/embeddings";
    case Endpoint::kTextCompletions: return "/completions";
    case Endpoint::kModerations: return "/moderations";
    case Endpoint::kResponses: return "/responses";
  }
  return "/chat/completions";
}

Result<ParsedRequest> parse_request(std::string_view bytes, Endpoint endpoint, PromptRule prompt) {
  ParsedRequest request;
  request.endpoint = endpoint;
  // simdjson reads up to SIMDJSON_PADDING bytes past the end: the owned copy
  // carries that slack in its capacity, so no second padded copy is needed.
  request.body.reserve(bytes.size() + simdjson::SIMDJSON_PADDING);
  request.body.assign(bytes.data(), bytes.size());

  od::document doc;
  auto e = thread_parser()
               .iterate(simdjson::padded_string_view(request.body.data(), request.body.size(),
                                                     request.body.capacity()))
               .get(doc);
  if (e) return not_json(e);
  RequestReader reader(request, doc, prompt == PromptRule::kRequired);
  Status s = reader.read();
  if (!s.ok()) return s.error();
  return request;
}

void splice_request(const ParsedRequest& request, std::string_view model, const SpliceOptions& options,
                    std::string& out) {
  const bool drop_stream = options.force_stream || options.force_no_stream;
  const bool drop_stream_options = options.force_no_stream && !options.force_stream;
  const bool override_messages = !options.messages_override.empty();
  // The value written for a kept member; empty when the member is dropped.
  auto value_of = [&](const RawField& f) -> std::string_view {
    if (drop_stream && f.key == "stream") return {};
    if (drop_stream_options && f.key == "stream_options") return {};
    return override_messages && f.key == "messages" ? options.messages_override : f.value;
  };
  constexpr std::string_view kForcedStream = R"(,"stream":true)";
  constexpr std::string_view kIncludeUsage = R"(,"stream_options":{"include_usage":true})";
  const bool add_include_usage = options.add_include_usage && !request.has_stream_options && !drop_stream_options;

  out.clear();
  out.reserve(request.body.size() + model.size() + options.extra_members.size() +
              options.messages_override.size() + 64);
  out.append(R"({"model":)");
  json::append_json_string(out, model);
  // Every request passes here: the rest is sized first, then copied into one
  // region of `out` (one memcpy per piece, no capacity check per append).
  size_t size = 1;  // the closing brace
  for (const RawField& f : request.kept) {
    const std::string_view value = value_of(f);
    if (!value.empty()) size += f.key.size() + value.size() + 4;  // ,"key":value
  }
  if (options.force_stream) size += kForcedStream.size();
  if (add_include_usage) size += kIncludeUsage.size();
  if (!options.extra_members.empty()) size += options.extra_members.size() + 1;
  const size_t at = out.size();
  out.resize(at + size);
  char* p = out.data() + at;
  auto put = [&p](std::string_view s) {
    std::memcpy(p, s.data(), s.size());
    p += s.size();
  };
  for (const RawField& f : request.kept) {
    const std::string_view value = value_of(f);
    if (value.empty()) continue;
    *p++ = ',';
    *p++ = '"';
    put(f.key);
    *p++ = '"';
    *p++ = ':';
    put(value);
  }
  if (options.force_stream) put(kForcedStream);
  if (add_include_usage) put(kIncludeUsage);
  if (!options.extra_members.empty()) {
    *p++ = ',';
    put(options.extra_members);
  }
  *p++ = '}';
}

}  // namespace llmux::request
