#include "state/cooldown_record.hpp"
#include "state/health_state_record.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <iterator>
#include <limits>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include <simdjson.h>

#include "fmt/format.h"

namespace llmux::state {
namespace {

constexpr char32_t kReplacement = 0xFFFD;
// Integers beyond this are not exact as doubles: refused rather than rounded.
constexpr double kMaxExactInteger = 9007199254740992.0;  // 2^53
constexpr size_t kMaskVisiblePrefix = 50;                // LiteLLM's visible_prefix
constexpr int kMaxNesting = 64;

// ---- UTF-8 ------------------------------------------------------------------------

// The code point at `i` (advanced past it); U+FFFD for a maximal invalid
// subsequence (Unicode's "maximal subpart" rule, which Python's
// errors="replace" follows).
char32_t next_code_point(std::string_view s, size_t& i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char lead = byte(i);
  if (lead < 0x80) {
    ++i;
    return lead;
  }
  size_t length = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) lo = 0xA0;
    if (lead == 0xED) hi = 0x9F;  // no surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) lo = 0x90;
    if (lead == 0xF4) hi = 0x8F;
  } else {
    ++i;
    return kReplacement;
  }
  char32_t cp = lead & (0xFF >> (length + 1));
  size_t k = 1;
  for (; k < length; ++k) {
    if (i + k >= s.size()) break;
    const unsigned char b = byte(i + k);
    const unsigned char min = k == 1 ? lo : 0x80;
    const unsigned char max = k == 1 ? hi : 0xBF;
    if (b < min || b > max) break;
    cp = (cp << 6) | (b & 0x3F);
  }
  i += k;
  return k == length ? cp : kReplacement;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp >= 0xD800 && cp <= 0xDFFF) cp = kReplacement;  // a lone surrogate has no UTF-8 form
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// ---- writing ------------------------------------------------------------------------

// json.dumps' ensure_ascii string: ' '..'~' as is, except " and \.
void append_python_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  for (size_t i = 0; i < s.size();) {
    const char32_t cp = next_code_point(s, i);
    switch (cp) {
      case '"': out.append("\\\""); continue;
      case '\\': out.append("\\\\"); continue;
      case '\n': out.append("\\n"); continue;
      case '\r': out.append("\\r"); continue;
      case '\t': out.append("\\t"); continue;
      case '\b': out.append("\\b"); continue;
      case '\f': out.append("\\f"); continue;
      default: break;
    }
    if (cp >= 0x20 && cp <= 0x7E) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x10000) {
      fmt::format_to(std::back_inserter(out), "\\u{:04x}", static_cast<uint32_t>(cp));
    } else {
      const uint32_t v = static_cast<uint32_t>(cp) - 0x10000;
      fmt::format_to(std::back_inserter(out), "\\u{:04x}\\u{:04x}", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF));
    }
  }
  out.push_back('"');
}

// ---- reading: one value model for both formats ------------------------------------

struct Scalar;
using Members = std::vector<std::pair<std::string, Scalar>>;

struct Scalar {
  enum class Kind { kNone, kBool, kInt, kBigInt, kFloat, kString, kContainer };
  Kind kind = Kind::kNone;
  bool boolean = false;
  int64_t integer = 0;
  double number = 0;
  std::string text;
  // A dict one level below the top (the health-check state's entries): its
  // members with string keys, nested containers kept as kContainer. Filled
  // only when the caller asks for nested dicts. Behind a pointer: a pair
  // cannot hold the incomplete Scalar (clang with libstdc++ refuses it).
  std::shared_ptr<const Members> members;
  bool is_dict = false;
};

Error bad_value(std::string_view message) {
  return Error(ErrorKind::kInvalidArgument, fmt::format("cooldown value: {}", message));
}

// "'x'" for a printable ASCII character, else its byte value.
std::string describe_char(char c) {
  const auto b = static_cast<unsigned char>(c);
  if (b >= 0x21 && b <= 0x7E) return fmt::format("'{}'", c);
  return fmt::format("byte 0x{:02x}", b);
}

// ---- JSON (simdjson) ----

Scalar json_scalar(simdjson::dom::element element, bool keep_dicts);

Members json_object_members(simdjson::dom::object object, bool keep_dicts) {
  Members members;
  for (auto field : object) members.emplace_back(std::string(field.key), json_scalar(field.value, keep_dicts));
  return members;
}

// One member's value; `keep_dicts`: an object keeps its members (one level).
Scalar json_scalar(simdjson::dom::element element, bool keep_dicts) {
  Scalar value;
  switch (element.type()) {
    case simdjson::dom::element_type::NULL_VALUE: value.kind = Scalar::Kind::kNone; break;
    case simdjson::dom::element_type::BOOL:
      value.kind = Scalar::Kind::kBool;
      value.boolean = element.get_bool().value_unsafe();
      break;
    case simdjson::dom::element_type::INT64:
      value.kind = Scalar::Kind::kInt;
      value.integer = element.get_int64().value_unsafe();
      break;
    case simdjson::dom::element_type::UINT64: value.kind = Scalar::Kind::kBigInt; break;
    case simdjson::dom::element_type::DOUBLE:
      value.kind = Scalar::Kind::kFloat;
      value.number = element.get_double().value_unsafe();
      break;
    case simdjson::dom::element_type::STRING:
      value.kind = Scalar::Kind::kString;
      value.text = std::string(element.get_string().value_unsafe());
      break;
    case simdjson::dom::element_type::OBJECT:
      value.kind = Scalar::Kind::kContainer;
      if (keep_dicts) {
        value.is_dict = true;
        value.members = std::make_shared<const Members>(json_object_members(element.get_object().value_unsafe(), false));
      }
      break;
    default: value.kind = Scalar::Kind::kContainer; break;
  }
  return value;
}

std::optional<Members> parse_json_members(std::string_view text, std::string& problem, bool keep_dicts = false) {
  thread_local simdjson::dom::parser parser;
  const simdjson::padded_string padded(text);
  simdjson::dom::element root;
  if (auto error = parser.parse(padded).get(root); error != simdjson::SUCCESS) {
    problem = simdjson::error_message(error);
    return std::nullopt;
  }
  simdjson::dom::object object;
  if (root.get_object().get(object) != simdjson::SUCCESS) {
    problem = "not an object";
    return std::nullopt;
  }
  return json_object_members(object, keep_dicts);
}

// ---- Python literals (what ast.literal_eval reads, as far as str() of a dict writes it) ----

class PythonLiteralParser {
 public:
  // `keep_dicts`: a dict value of the top-level dict keeps its members.
  explicit PythonLiteralParser(std::string_view text, bool keep_dicts = false) : s_(text), keep_dicts_(keep_dicts) {}

  // The top-level dict's members (keys that are not strings are dropped).
  std::optional<Members> parse_dict(std::string& problem) {
    Members members;
    skip_space();
    if (!at('{')) return fail(problem, "expected a dict");
    ++pos_;
    skip_space();
    while (!at('}')) {
      Scalar key;
      Scalar value;
      if (!parse_value(key, 1)) return fail(problem);
      skip_space();
      if (!at(':')) return fail(problem, pos_ < s_.size() ? "expected ':'" : "unexpected end");
      ++pos_;
      if (!parse_value(value, 1)) return fail(problem);
      if (key.kind == Scalar::Kind::kString) members.emplace_back(std::move(key.text), std::move(value));
      skip_space();
      if (at(',')) {
        ++pos_;
        skip_space();
      } else if (!at('}')) {
        return fail(problem, pos_ < s_.size() ? "expected ',' or '}'" : "unexpected end");
      }
    }
    ++pos_;
    skip_space();
    if (pos_ != s_.size()) return fail(problem, "unexpected text after the dict");
    return members;
  }

 private:
  bool at(char c) const { return pos_ < s_.size() && s_[pos_] == c; }

  std::nullopt_t fail(std::string& problem, std::string_view message = {}) {
    if (!message.empty()) error_ = std::string(message);
    problem = fmt::format("{} at offset {}", error_, pos_);
    return std::nullopt;
  }
  bool error(std::string message) {
    error_ = std::move(message);
    return false;
  }

  // Whitespace, line continuations and comments between tokens.
  void skip_space() {
    while (pos_ < s_.size()) {
      const char c = s_[pos_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f') {
        ++pos_;
      } else if (c == '\\' && pos_ + 1 < s_.size() && s_[pos_ + 1] == '\n') {
        pos_ += 2;
      } else if (c == '#') {
        while (pos_ < s_.size() && s_[pos_] != '\n') ++pos_;
      } else {
        return;
      }
    }
  }

  bool parse_value(Scalar& out, int depth) {
    if (depth > kMaxNesting) return error("nested too deeply");
    skip_space();
    if (pos_ >= s_.size()) return error("unexpected end");
    const char c = s_[pos_];
    if (c == '\'' || c == '"') return parse_strings(out);
    if (c == '{' || c == '[' || c == '(') return parse_container(out, depth);
    if (c == '-' || c == '+') {
      ++pos_;
      skip_space();
      if (pos_ >= s_.size() || !(is_digit(s_[pos_]) || s_[pos_] == '.')) return error("expected a number after a sign");
      if (!parse_number(out)) return false;
      if (c == '-') {
        if (out.kind == Scalar::Kind::kInt) out.integer = -out.integer;
        if (out.kind == Scalar::Kind::kFloat) out.number = -out.number;
      }
      return true;
    }
    if (is_digit(c) || (c == '.' && pos_ + 1 < s_.size() && is_digit(s_[pos_ + 1]))) return parse_number(out);
    if (is_identifier_start(c)) return parse_name(out);
    return error(fmt::format("unexpected {}", describe_char(c)));
  }

  static bool is_digit(char c) { return c >= '0' && c <= '9'; }
  static bool is_identifier_start(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || static_cast<unsigned char>(c) >= 0x80;
  }
  static bool is_identifier_char(char c) { return is_identifier_start(c) || is_digit(c); }

  bool parse_name(Scalar& out) {
    const size_t start = pos_;
    while (pos_ < s_.size() && is_identifier_char(s_[pos_])) ++pos_;
    const std::string_view name = s_.substr(start, pos_ - start);
    if (pos_ < s_.size() && (s_[pos_] == '\'' || s_[pos_] == '"')) {
      if (name == "u" || name == "U") return parse_strings(out);  // u'...' is a plain str
      return error("string prefixes other than u (bytes, raw, f-strings) are not supported");
    }
    if (name == "True" || name == "False") {
      out.kind = Scalar::Kind::kBool;
      out.boolean = name == "True";
      return true;
    }
    if (name == "None") {
      out.kind = Scalar::Kind::kNone;
      return true;
    }
    pos_ = start;
    return error("unexpected name (True, False and None are the only names in a literal)");
  }

  // Digits with single underscores between them.
  bool digits(std::string& out, bool required) {
    const size_t start = pos_;
    while (pos_ < s_.size()) {
      if (is_digit(s_[pos_])) {
        out.push_back(s_[pos_++]);
      } else if (s_[pos_] == '_' && pos_ > start && is_digit(s_[pos_ - 1]) && pos_ + 1 < s_.size() &&
                 is_digit(s_[pos_ + 1])) {
        ++pos_;
      } else {
        break;
      }
    }
    if (required && pos_ == start) return error("expected digits");
    return true;
  }

  bool parse_number(Scalar& out) {
    std::string text;
    bool is_float = false;
    if (!digits(text, false)) return false;
    const std::string integer_part = text;
    if (at('.')) {
      is_float = true;
      text.push_back('.');
      ++pos_;
      if (!digits(text, false)) return false;
    }
    if (at('e') || at('E')) {
      is_float = true;
      text.push_back('e');
      ++pos_;
      if (at('+') || at('-')) text.push_back(s_[pos_++]);
      if (!digits(text, true)) return false;
    }
    if (pos_ < s_.size() && (s_[pos_] == 'j' || s_[pos_] == 'J')) return error("complex numbers are not supported");
    if (pos_ < s_.size() && is_identifier_char(s_[pos_])) return error("invalid number");
    if (!is_float) {
      // Python 3 has no leading zeros in a non-zero decimal ("0" and "00" are fine).
      if (integer_part.size() > 1 && integer_part[0] == '0' &&
          integer_part.find_first_not_of('0') != std::string::npos) {
        return error("leading zeros in an integer");
      }
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out.integer);
      out.kind = ec == std::errc() ? Scalar::Kind::kInt : Scalar::Kind::kBigInt;
      return true;
    }
    if (text == ".") return error("invalid number");
    // from_chars does not take a leading '.': "5." and ".5" read as "5.0" and "0.5".
    if (text.front() == '.') text.insert(text.begin(), '0');
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out.number);
    out.kind = Scalar::Kind::kFloat;
    if (ec == std::errc::result_out_of_range) {
      // Python: an overflow is inf (not finite, refused later), an underflow 0.0.
      const size_t e = text.find('e');
      const bool negative_exponent = e != std::string::npos && e + 1 < text.size() && text[e + 1] == '-';
      out.number = negative_exponent ? 0.0 : std::numeric_limits<double>::infinity();
    } else if (ec != std::errc() || end != text.data() + text.size()) {
      return error("invalid number");
    }
    return true;
  }

  bool hex_escape(size_t count, char32_t& cp) {
    if (pos_ + count > s_.size()) return error("truncated escape");
    cp = 0;
    for (size_t k = 0; k < count; ++k) {
      const char c = s_[pos_ + k];
      int v = -1;
      if (c >= '0' && c <= '9') v = c - '0';
      if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
      if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
      if (v < 0) return error("invalid hex escape");
      cp = cp * 16 + static_cast<char32_t>(v);
    }
    pos_ += count;
    return true;
  }

  // One quoted string, escapes decoded, appended to `out`.
  bool parse_string(std::string& out) {
    const char quote = s_[pos_++];
    while (true) {
      if (pos_ >= s_.size()) return error("unterminated string");
      const char c = s_[pos_];
      if (c == quote) {
        ++pos_;
        return true;
      }
      if (c == '\n' || c == '\r') return error("a line break inside a string");
      if (c != '\\') {
        out.push_back(c);  // the whole text was checked to be UTF-8
        ++pos_;
        continue;
      }
      if (++pos_ >= s_.size()) return error("unterminated string");
      const char e = s_[pos_++];
      char32_t cp = 0;
      switch (e) {
        case '\n': break;  // line continuation
        case '\\': out.push_back('\\'); break;
        case '\'': out.push_back('\''); break;
        case '"': out.push_back('"'); break;
        case 'a': out.push_back('\a'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'n': out.push_back('\n'); break;
        case 'r': out.push_back('\r'); break;
        case 't': out.push_back('\t'); break;
        case 'v': out.push_back('\v'); break;
        case 'x':
          if (!hex_escape(2, cp)) return false;
          append_utf8(out, cp);
          break;
        case 'u':
          if (!hex_escape(4, cp)) return false;
          append_utf8(out, cp);
          break;
        case 'U':
          if (!hex_escape(8, cp)) return false;
          if (cp > 0x10FFFF) return error("\\U escape beyond U+10FFFF");
          append_utf8(out, cp);
          break;
        case 'N': return error("\\N{...} escapes are not supported");
        default:
          if (e >= '0' && e <= '7') {
            cp = static_cast<char32_t>(e - '0');
            for (int k = 0; k < 2 && pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '7'; ++k) {
              cp = cp * 8 + static_cast<char32_t>(s_[pos_++] - '0');
            }
            append_utf8(out, cp);
          } else {
            // Python keeps an unknown escape as it is, backslash included.
            out.push_back('\\');
            --pos_;
          }
      }
    }
  }

  // Adjacent literals concatenate ('a' "b" is 'ab').
  bool parse_strings(Scalar& out) {
    out.kind = Scalar::Kind::kString;
    out.text.clear();
    while (true) {
      if (!parse_string(out.text)) return false;
      const size_t after = pos_;
      skip_space();
      if (at('\'') || at('"')) continue;
      if ((at('u') || at('U')) && pos_ + 1 < s_.size() && (s_[pos_ + 1] == '\'' || s_[pos_ + 1] == '"')) {
        ++pos_;
        continue;
      }
      pos_ = after;
      return true;
    }
  }

  // dict, set, list, tuple, or a parenthesised value; contents are checked, not kept.
  bool parse_container(Scalar& out, int depth) {
    const char open = s_[pos_++];
    const char close = open == '{' ? '}' : open == '[' ? ']' : ')';
    skip_space();
    if (at(close)) {
      ++pos_;
      out = Scalar{};
      out.kind = Scalar::Kind::kContainer;
      out.is_dict = keep_dicts_ && open == '{' && depth == 1;
      return true;
    }
    bool is_dict = false;
    size_t count = 0;
    bool trailing_comma = false;
    Scalar item;
    const bool keep = keep_dicts_ && open == '{' && depth == 1;
    Members kept;
    while (true) {
      if (!parse_value(item, depth + 1)) return false;
      skip_space();
      if (open == '{') {
        if (count == 0) is_dict = at(':');
        if (is_dict) {
          if (!at(':')) return error("expected ':'");
          ++pos_;
          Scalar key = std::move(item);
          item = Scalar{};
          if (!parse_value(item, depth + 1)) return false;
          if (keep && key.kind == Scalar::Kind::kString) kept.emplace_back(std::move(key.text), item);
          skip_space();
        }
      }
      ++count;
      trailing_comma = false;
      if (at(',')) {
        ++pos_;
        trailing_comma = true;
        skip_space();
        if (at(close)) break;
        continue;
      }
      if (at(close)) break;
      return error(pos_ < s_.size() ? fmt::format("expected ',' or '{}'", close) : "unexpected end");
    }
    ++pos_;
    if (open == '(' && count == 1 && !trailing_comma) {
      out = std::move(item);  // (x) is x
      return true;
    }
    out = Scalar{};
    out.kind = Scalar::Kind::kContainer;
    if (keep && (is_dict || count == 0)) {
      out.is_dict = true;
      out.members = std::make_shared<const Members>(std::move(kept));
    }
    return true;
  }

  std::string_view s_;
  bool keep_dicts_ = false;
  size_t pos_ = 0;
  std::string error_ = "invalid Python literal";
};

// ---- the record from the members ----

Result<int> read_status(const Scalar& v) {
  int64_t status = 0;
  if (v.kind == Scalar::Kind::kString) {
    std::string_view text = v.text;
    const bool negative = text.starts_with('-');
    if (negative || text.starts_with('+')) text.remove_prefix(1);
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), status);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() ||
        text.find_first_not_of("0123456789") != std::string_view::npos) {
      return bad_value("status_code is not an integer");
    }
    if (negative) status = -status;
  } else if (v.kind == Scalar::Kind::kInt) {
    status = v.integer;
  } else {
    return bad_value("status_code is neither a string nor an integer");
  }
  if (status < std::numeric_limits<int>::min() || status > std::numeric_limits<int>::max()) {
    return bad_value("status_code is out of range");
  }
  return static_cast<int>(status);
}

// A number member: its value, and whether it was written as an int.
Result<std::pair<double, bool>> read_number(const Scalar& v, std::string_view name) {
  if (v.kind == Scalar::Kind::kInt) {
    constexpr int64_t kMax = int64_t{1} << 53;
    if (v.integer > kMax || v.integer < -kMax) return bad_value(fmt::format("{} is out of range", name));
    return std::pair<double, bool>(static_cast<double>(v.integer), true);
  }
  if (v.kind == Scalar::Kind::kFloat) {
    if (!std::isfinite(v.number)) return bad_value(fmt::format("{} is not finite", name));
    return std::pair<double, bool>(v.number, false);
  }
  if (v.kind == Scalar::Kind::kBigInt) return bad_value(fmt::format("{} is out of range", name));
  return bad_value(fmt::format("{} is not a number", name));
}

Result<CooldownRecord> record_from(const Members& members) {
  const Scalar* message = nullptr;
  const Scalar* status = nullptr;
  const Scalar* timestamp = nullptr;
  const Scalar* cooldown_time = nullptr;
  for (const auto& [key, value] : members) {  // a later duplicate wins
    if (key == "exception_received") message = &value;
    if (key == "status_code") status = &value;
    if (key == "timestamp") timestamp = &value;
    if (key == "cooldown_time") cooldown_time = &value;
  }
  if (message == nullptr) return bad_value("exception_received is missing");
  if (status == nullptr) return bad_value("status_code is missing");
  if (timestamp == nullptr) return bad_value("timestamp is missing");
  if (cooldown_time == nullptr) return bad_value("cooldown_time is missing");
  if (message->kind != Scalar::Kind::kString) return bad_value("exception_received is not a string");
  CooldownRecord record;
  record.message = message->text;
  Result<int> code = read_status(*status);
  if (!code.ok()) return std::move(code).error();
  record.status_code = *code;
  Result<std::pair<double, bool>> when = read_number(*timestamp, "timestamp");
  if (!when.ok()) return std::move(when).error();
  record.timestamp = when->first;
  Result<std::pair<double, bool>> length = read_number(*cooldown_time, "cooldown_time");
  if (!length.ok()) return std::move(length).error();
  record.cooldown_time = length->first;
  record.cooldown_time_is_integer = length->second;
  return record;
}

}  // namespace

std::string mask_exception_message(std::string_view message) {
  std::string out;
  out.reserve(message.size());
  size_t kept = 0;
  for (size_t i = 0; i < message.size();) {
    const char32_t cp = next_code_point(message, i);
    if (kept < kMaskVisiblePrefix) {
      append_utf8(out, cp);
      ++kept;
    } else {
      out.push_back('*');
    }
  }
  return out;
}

CooldownRecord make_cooldown_record(std::string_view message, int status_code, double timestamp,
                                    double cooldown_time) {
  CooldownRecord record;
  record.message = mask_exception_message(message);
  record.status_code = status_code;
  record.timestamp = timestamp;
  record.cooldown_time = cooldown_time;
  record.cooldown_time_is_integer = std::isfinite(cooldown_time) && std::trunc(cooldown_time) == cooldown_time &&
                                    std::fabs(cooldown_time) <= kMaxExactInteger;
  return record;
}

std::string python_float_json(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  // The shortest round-trip digits, then Python's float_repr_style 'short'
  // layout: fixed notation for 1e-4 <= |x| < 1e16, exponent form otherwise.
  char buffer[64];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::scientific);
  std::string_view sci(buffer, static_cast<size_t>(end - buffer));  // "-1.2345e+09"
  std::string out;
  if (sci.starts_with('-')) {
    out.push_back('-');
    sci.remove_prefix(1);
  }
  const size_t e = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e)) {
    if (c != '.') digits.push_back(c);
  }
  std::string_view exponent_text = sci.substr(e + 1);
  if (exponent_text.starts_with('+')) exponent_text.remove_prefix(1);
  int exponent = 0;
  std::from_chars(exponent_text.data(), exponent_text.data() + exponent_text.size(), exponent);
  const int point = exponent + 1;  // the decimal point sits after `point` digits
  const int count = static_cast<int>(digits.size());
  if (point <= -4 || point > 16) {
    out.push_back(digits[0]);
    if (count > 1) {
      out.push_back('.');
      out.append(digits, 1);
    }
    fmt::format_to(std::back_inserter(out), "e{}{:02d}", exponent < 0 ? '-' : '+', std::abs(exponent));
  } else if (point <= 0) {
    out.append("0.");
    out.append(static_cast<size_t>(-point), '0');
    out.append(digits);
  } else if (point >= count) {
    out.append(digits);
    out.append(static_cast<size_t>(point - count), '0');
    out.append(".0");
  } else {
    out.append(digits, 0, static_cast<size_t>(point));
    out.push_back('.');
    out.append(digits, static_cast<size_t>(point));
  }
  return out;
}

std::string encode_cooldown_record(const CooldownRecord& record) {
  std::string out;
  out.reserve(record.message.size() + 128);
  out.append("{\"exception_received\": ");
  append_python_json_string(out, record.message);
  fmt::format_to(std::back_inserter(out), ", \"status_code\": \"{}\", \"timestamp\": {}, \"cooldown_time\": ",
                 record.status_code, python_float_json(record.timestamp));
  const double t = record.cooldown_time;
  if (record.cooldown_time_is_integer && std::isfinite(t) && std::trunc(t) == t && std::fabs(t) <= kMaxExactInteger) {
    fmt::format_to(std::back_inserter(out), "{}", static_cast<int64_t>(t));
  } else {
    out.append(python_float_json(t));
  }
  out.push_back('}');
  return out;
}

Result<CooldownRecord> decode_cooldown_record(std::string_view text) {
  std::string json_problem;
  if (std::optional<Members> members = parse_json_members(text, json_problem)) return record_from(*members);
  if (!simdjson::validate_utf8(text.data(), text.size())) return bad_value("not valid UTF-8");
  std::string python_problem;
  PythonLiteralParser parser(text);
  if (std::optional<Members> members = parser.parse_dict(python_problem)) return record_from(*members);
  return bad_value(fmt::format("neither a JSON object ({}) nor a Python dict ({})", json_problem, python_problem));
}

Result<double> decode_counter(std::string_view text) {
  double value = 0;
  // from_chars takes neither a leading '+' nor spaces, as wanted; it does take
  // "inf" and "nan", refused below.
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) {
    return Error(ErrorKind::kInvalidArgument, "counter value: not a decimal number");
  }
  return value;
}

// ---- the health-check state dict (state/health_state_record.hpp) ----------------

namespace {

// Python's truth value of a member, as `not state.get("is_healthy", True)`
// reads it; a non-empty container is true (an empty one cannot be told here
// from a non-empty one: taken as true, i.e. healthy, the safe side).
bool truthy(const Scalar& v) {
  switch (v.kind) {
    case Scalar::Kind::kNone: return false;
    case Scalar::Kind::kBool: return v.boolean;
    case Scalar::Kind::kInt: return v.integer != 0;
    case Scalar::Kind::kBigInt: return true;
    case Scalar::Kind::kFloat: return v.number != 0;
    case Scalar::Kind::kString: return !v.text.empty();
    case Scalar::Kind::kContainer: return !v.is_dict || (v.members && !v.members->empty());
  }
  return true;
}

std::vector<HealthStateEntry> health_states_from(const Members& members) {
  std::vector<HealthStateEntry> out;
  for (const auto& [id, value] : members) {
    if (!value.is_dict) continue;  // LiteLLM skips what is not a dict too
    HealthStateEntry entry;
    entry.id = id;
    bool has_timestamp = false, timestamp_ok = true;
    static const Members kNoMembers;
    for (const auto& [key, v] : value.members ? *value.members : kNoMembers) {  // a later duplicate wins
      if (key == "is_healthy") {
        entry.is_healthy = truthy(v);
      } else if (key == "timestamp") {
        has_timestamp = true;
        Result<std::pair<double, bool>> n = read_number(v, "timestamp");
        timestamp_ok = n.ok();
        if (n.ok()) entry.timestamp = n->first;
      } else if (key == "reason") {
        entry.reason = v.kind == Scalar::Kind::kString ? v.text : std::string();
      } else if (key == "checked_by") {
        entry.checked_by = v.kind == Scalar::Kind::kString ? v.text : std::string();
      }
    }
    // A timestamp that is not a number makes LiteLLM's reader fail; here only
    // that entry is dropped. A missing one is 0 (LiteLLM's default): stale.
    if (has_timestamp && !timestamp_ok) continue;
    // Duplicated ids (possible in a hand-written value): the last one wins.
    std::erase_if(out, [&](const HealthStateEntry& e) { return e.id == entry.id; });
    out.push_back(std::move(entry));
  }
  return out;
}

Error bad_health_states(std::string_view message) {
  return Error(ErrorKind::kInvalidArgument, fmt::format("health-check state value: {}", message));
}

}  // namespace

std::string encode_health_states(const std::vector<HealthStateEntry>& entries) {
  std::string out = "{";
  for (const HealthStateEntry& e : entries) {
    if (out.size() > 1) out.append(", ");
    append_python_json_string(out, e.id);
    out.append(e.is_healthy ? ": {\"is_healthy\": true, \"timestamp\": " : ": {\"is_healthy\": false, \"timestamp\": ");
    out.append(python_float_json(std::isfinite(e.timestamp) ? e.timestamp : 0.0));
    out.append(", \"reason\": ");
    append_python_json_string(out, e.reason);
    if (!e.checked_by.empty()) {
      out.append(", \"checked_by\": ");
      append_python_json_string(out, e.checked_by);
    }
    out.push_back('}');
  }
  out.push_back('}');
  return out;
}

Result<std::vector<HealthStateEntry>> decode_health_states(std::string_view text) {
  std::string json_problem;
  if (std::optional<Members> members = parse_json_members(text, json_problem, /*keep_dicts=*/true)) {
    return health_states_from(*members);
  }
  if (!simdjson::validate_utf8(text.data(), text.size())) return bad_health_states("not valid UTF-8");
  std::string python_problem;
  PythonLiteralParser parser(text, /*keep_dicts=*/true);
  if (std::optional<Members> members = parser.parse_dict(python_problem)) return health_states_from(*members);
  return bad_health_states(
      fmt::format("neither a JSON object ({}) nor a Python dict ({})", json_problem, python_problem));
}

}  // namespace llmux::state
