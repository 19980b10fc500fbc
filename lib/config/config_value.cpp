#include "config/config_value.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <exception>
#include <limits>
#include <simdjson.h>

#include "absl/strings/ascii.h"
#include "common/strings.hpp"
#include "fmt/format.h"
#include "json/writer.hpp"

namespace llmux::config {
namespace {

// Deeper documents are rejected; also stops alias cycles (`&a [*a]`).
constexpr int kMaxDepth = 128;

std::string without_underscores(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c != '_') out += c;
  }
  return out;
}

bool all_of(std::string_view s, std::string_view allowed) {
  return s.find_first_not_of(allowed) == std::string_view::npos;
}

std::string_view strip_sign(std::string_view s, bool& negative) {
  negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  return s;
}

// PyYAML's bool resolver (YAML 1.1).
bool match_bool(std::string_view s, bool& out) {
  static constexpr std::string_view kTrue[] = {"yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"};
  static constexpr std::string_view kFalse[] = {"no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"};
  for (auto t : kTrue) {
    if (s == t) return out = true, true;
  }
  for (auto f : kFalse) {
    if (s == f) return out = false, true;
  }
  return false;
}

// PyYAML's int resolver: 0b..., 0..., decimal, 0x... (with '_' separators).
// Sexagesimal ints ("1:30") are not supported and stay strings.
// Returns false when the text is not an int; `overflow` when it is but does
// not fit in int64.
bool match_int(std::string_view text, int64_t& out, bool& overflow) {
  overflow = false;
  bool negative = false;
  std::string_view s = strip_sign(text, negative);
  if (s.empty()) return false;
  int base = 10;
  std::string_view digits;
  if (s.size() > 2 && s.substr(0, 2) == "0b") {
    base = 2, digits = s.substr(2);
    if (!all_of(digits, "01_")) return false;
  } else if (s.size() > 2 && s.substr(0, 2) == "0x") {
    base = 16, digits = s.substr(2);
    if (!all_of(digits, "0123456789abcdefABCDEF_")) return false;
  } else if (s.size() > 1 && s[0] == '0') {
    base = 8, digits = s.substr(1);
    if (!all_of(digits, "01234567_")) return false;
  } else if (s == "0") {
    digits = s;
  } else {
    if (s[0] < '1' || s[0] > '9' || !all_of(s, "0123456789_")) return false;
    digits = s;
  }
  std::string clean = without_underscores(digits);
  if (clean.empty()) return false;  // "0b_": PyYAML fails too; keep it a string
  uint64_t magnitude = 0;
  auto [ptr, ec] = std::from_chars(clean.data(), clean.data() + clean.size(), magnitude, base);
  if (ec == std::errc::result_out_of_range ||
      magnitude > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) + (negative ? 1 : 0)) {
    overflow = true;
    return true;
  }
  if (ec != std::errc() || ptr != clean.data() + clean.size()) return false;
  out = negative ? static_cast<int64_t>(0 - magnitude) : static_cast<int64_t>(magnitude);
  return true;
}

// Digits with '_' separators: [0-9][0-9_]* (first must be a digit when `lead`).
size_t scan_digits(std::string_view s, size_t i, bool allow_underscore) {
  while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || (allow_underscore && s[i] == '_'))) ++i;
  return i;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// PyYAML's float resolver, except sexagesimal floats:
//   [-+]?[0-9][0-9_]*\.[0-9_]*([eE][-+][0-9]+)?  |  \.[0-9_]+([eE][-+][0-9]+)?
//   [-+]?\.(inf|Inf|INF)  |  \.(nan|NaN|NAN)
bool match_pyyaml_float(std::string_view text) {
  if (text == ".nan" || text == ".NaN" || text == ".NAN") return true;
  bool negative = false;
  std::string_view s = strip_sign(text, negative);
  if (s == ".inf" || s == ".Inf" || s == ".INF") return true;
  size_t i = 0;
  if (!s.empty() && s[0] == '.') {
    if (s.size() != text.size()) return false;  // the dot-first form takes no sign
    i = scan_digits(s, 1, true);
    if (i == 1) return false;
  } else {
    if (s.empty() || !is_digit(s[0])) return false;
    i = scan_digits(s, 0, true);
    if (i >= s.size() || s[i] != '.') return false;
    i = scan_digits(s, i + 1, true);
  }
  if (i == s.size()) return true;
  if (s[i] != 'e' && s[i] != 'E') return false;
  ++i;
  if (i >= s.size() || (s[i] != '-' && s[i] != '+')) return false;
  size_t end = scan_digits(s, i + 1, false);
  return end > i + 1 && end == s.size();
}

// YAML 1.2 / JSON floats with an exponent that PyYAML would keep as strings:
//   [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)[eE][-+]?[0-9]+
bool match_exponent_float(std::string_view text) {
  bool negative = false;
  std::string_view s = strip_sign(text, negative);
  size_t i = 0;
  if (!s.empty() && s[0] == '.') {
    i = scan_digits(s, 1, false);
    if (i == 1) return false;
  } else {
    i = scan_digits(s, 0, false);
    if (i == 0) return false;
    if (i < s.size() && s[i] == '.') i = scan_digits(s, i + 1, false);
  }
  if (i >= s.size() || (s[i] != 'e' && s[i] != 'E')) return false;
  ++i;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  size_t end = scan_digits(s, i, false);
  return end > i && end == s.size();
}

double to_double(std::string_view text) {
  bool negative = false;
  std::string_view s = strip_sign(text, negative);
  std::string lower = absl::AsciiStrToLower(std::string(s));
  double v = 0;
  if (lower == ".inf") {
    v = std::numeric_limits<double>::infinity();
  } else if (lower == ".nan") {
    v = std::numeric_limits<double>::quiet_NaN();
  } else {
    std::string clean = without_underscores(lower);
    // from_chars does not take "1." or ".5" on every library; pad them.
    if (!clean.empty() && clean[0] == '.') clean.insert(0, "0");
    size_t e = clean.find('e');
    size_t dot = clean.find('.');
    if (dot != std::string::npos && (dot + 1 == clean.size() || dot + 1 == e)) clean.insert(dot + 1, "0");
    auto [ptr, ec] = std::from_chars(clean.data(), clean.data() + clean.size(), v);
    if (ec == std::errc::result_out_of_range) {
      v = std::strtod(clean.c_str(), nullptr);  // overflow → inf, underflow → 0, as Python's float()
    }
    (void)ptr;
  }
  return negative ? -v : v;
}

// yaml-cpp writes the YAML escapes \N (U+0085) and \_ (U+00A0) as the single
// bytes 0x85 and 0xA0 instead of their UTF-8 encodings, so a valid UTF-8
// config would carry invalid UTF-8 into names, messages and the JSON texts
// handed to providers. Called only for a document that was valid UTF-8, where
// those escapes are the only source of stray bytes.
std::string repair_yaml_escapes(std::string text) {
  if (simdjson::validate_utf8(text.data(), text.size())) return text;
  std::string out;
  out.reserve(text.size() + 8);
  for (size_t i = 0; i < text.size();) {
    if (const size_t n = utf8_sequence_length(text, i); n != 0) {
      out.append(text, i, n);
      i += n;
      continue;
    }
    const unsigned char stray = static_cast<unsigned char>(text[i]);
    if (stray == 0x85 || stray == 0xA0) {
      out += '\xC2';
      out += static_cast<char>(stray);
    } else {
      out += text[i];  // not yaml-cpp's doing; left for the caller's own checks
    }
    ++i;
  }
  return out;
}

class YamlConverter {
 public:
  YamlConverter(std::vector<std::string>* warnings, bool utf8_document)
      : warnings_(warnings), utf8_document_(utf8_document) {}

  Status convert(const YAML::Node& node, Value& out, int depth) {
    if (depth > kMaxDepth) {
      return Error(ErrorKind::kInvalidConfig, fmt::format("invalid YAML/JSON at line {}: nesting deeper than {} levels",
                                                          line_of(node), kMaxDepth));
    }
    out.line = line_of(node);
    switch (node.Type()) {
      case YAML::NodeType::Null:
      case YAML::NodeType::Undefined: out.kind = Value::Kind::kNull; return Status::Ok();
      case YAML::NodeType::Scalar: {
        const std::string& tag = node.Tag();
        if (tag == "!" || tag == "tag:yaml.org,2002:str") {
          out.kind = Value::Kind::kString;
          out.text = scalar(node);
        } else {
          int line = out.line;
          out = resolve_plain_scalar(scalar(node), line);
        }
        return Status::Ok();
      }
      case YAML::NodeType::Sequence: {
        out.kind = Value::Kind::kList;
        out.items.reserve(node.size());
        for (const auto& child : node) {
          Value item;
          if (Status s = convert(child, item, depth + 1); !s.ok()) return s;
          out.items.push_back(std::move(item));
        }
        return Status::Ok();
      }
      case YAML::NodeType::Map: return convert_map(node, out, depth);
    }
    out.kind = Value::Kind::kNull;
    return Status::Ok();
  }

 private:
  std::string scalar(const YAML::Node& node) const {
    return utf8_document_ ? repair_yaml_escapes(node.Scalar()) : node.Scalar();
  }

  static int line_of(const YAML::Node& node) {
    const YAML::Mark mark = node.Mark();
    return mark.is_null() ? 0 : mark.line + 1;
  }

  // Inserts like a Python dict: a repeated key keeps its first position and
  // takes the new value.
  static void assign(Value& map, std::string key, Value value) {
    if (Value* existing = map.find(key)) {
      *existing = std::move(value);
    } else {
      map.members.emplace_back(std::move(key), std::move(value));
    }
  }

  Status convert_map(const YAML::Node& node, Value& out, int depth) {
    out.kind = Value::Kind::kMap;
    // PyYAML's flatten_mapping: merged pairs come first (later merge sources
    // first, so earlier ones win), then the explicit pairs, which win over all.
    std::vector<std::pair<std::string, Value>> merged;
    std::vector<std::pair<std::string, Value>> explicit_pairs;
    for (const auto& kv : node) {
      const YAML::Node& key = kv.first;
      if (!key.IsScalar() && !key.IsNull()) {
        return Error(ErrorKind::kInvalidConfig,
                     fmt::format("invalid YAML/JSON at line {}: only scalar map keys are supported", line_of(key)));
      }
      std::string key_text = key.IsScalar() ? scalar(key) : std::string();
      Value value;
      if (Status s = convert(kv.second, value, depth + 1); !s.ok()) return s;
      if (key_text == "<<" && key.Tag() == "?") {
        std::vector<const Value*> sources;
        if (value.is_map()) {
          sources.push_back(&value);
        } else if (value.is_list()) {
          for (const Value& item : value.items) {
            if (!item.is_map()) return merge_error(key);
            sources.push_back(&item);
          }
        } else {
          return merge_error(key);
        }
        for (auto it = sources.rbegin(); it != sources.rend(); ++it) {
          for (const auto& member : (*it)->members) merged.push_back(member);
        }
        continue;
      }
      for (const auto& previous : explicit_pairs) {
        if (previous.first == key_text && warnings_ != nullptr) {
          warnings_->push_back(
              fmt::format("line {}: duplicate key '{}', the last value is used", line_of(key), key_text));
          break;
        }
      }
      explicit_pairs.emplace_back(std::move(key_text), std::move(value));
    }
    for (auto& [k, v] : merged) assign(out, std::move(k), std::move(v));
    for (auto& [k, v] : explicit_pairs) assign(out, std::move(k), std::move(v));
    return Status::Ok();
  }

  static Status merge_error(const YAML::Node& key) {
    return Error(ErrorKind::kInvalidConfig,
                 fmt::format("invalid YAML/JSON at line {}: merge key '<<' needs a map or a list of maps",
                             line_of(key)));
  }

  std::vector<std::string>* warnings_;
  bool utf8_document_;
};

// JSON the YAML parser cannot read (e.g. "\ud83d\ude00" surrogate pairs) is
// read with simdjson instead. No line numbers there.
Status convert_json(simdjson::dom::element el, Value& out, int depth) {
  if (depth > kMaxDepth) {
    return Error(ErrorKind::kInvalidConfig, fmt::format("invalid JSON: nesting deeper than {} levels", kMaxDepth));
  }
  using Type = simdjson::dom::element_type;
  switch (el.type()) {
    case Type::ARRAY: {
      out.kind = Value::Kind::kList;
      simdjson::dom::array array;
      if (el.get_array().get(array) != simdjson::SUCCESS) return Status::Ok();
      for (simdjson::dom::element child : array) {
        Value item;
        if (Status s = convert_json(child, item, depth + 1); !s.ok()) return s;
        out.items.push_back(std::move(item));
      }
      return Status::Ok();
    }
    case Type::OBJECT: {
      out.kind = Value::Kind::kMap;
      simdjson::dom::object object;
      if (el.get_object().get(object) != simdjson::SUCCESS) return Status::Ok();
      for (simdjson::dom::key_value_pair field : object) {
        Value item;
        if (Status s = convert_json(field.value, item, depth + 1); !s.ok()) return s;
        if (Value* existing = out.find(field.key)) {
          *existing = std::move(item);
        } else {
          out.members.emplace_back(std::string(field.key), std::move(item));
        }
      }
      return Status::Ok();
    }
    case Type::INT64:
      out.kind = Value::Kind::kInt;
      out.integer = el.get_int64().value_unsafe();
      return Status::Ok();
    case Type::UINT64:
      out.kind = Value::Kind::kFloat;
      out.number = static_cast<double>(el.get_uint64().value_unsafe());
      return Status::Ok();
    case Type::DOUBLE:
      out.kind = Value::Kind::kFloat;
      out.number = el.get_double().value_unsafe();
      return Status::Ok();
    case Type::STRING:
      out.kind = Value::Kind::kString;
      out.text = std::string(el.get_string().value_unsafe());
      return Status::Ok();
    case Type::BOOL:
      out.kind = Value::Kind::kBool;
      out.boolean = el.get_bool().value_unsafe();
      return Status::Ok();
    case Type::NULL_VALUE: out.kind = Value::Kind::kNull; return Status::Ok();
  }
  return Status::Ok();
}

bool looks_like_json(std::string_view text) {
  size_t i = text.find_first_not_of(" \t\r\n");
  return i != std::string_view::npos && (text[i] == '{' || text[i] == '[');
}

std::optional<Value> try_json(std::string_view text) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(text.data(), text.size());
  simdjson::dom::element doc;
  if (parser.parse(padded).get(doc) != simdjson::SUCCESS) return std::nullopt;
  Value v;
  if (!convert_json(doc, v, 0).ok()) return std::nullopt;
  return v;
}

void append_double(std::string& out, double d) {
  if (!std::isfinite(d)) {
    out += "null";
    return;
  }
  char buf[64];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof(buf), d);
  (void)ec;
  out.append(buf, ptr);
}

}  // namespace

Value::Value(const Value&) = default;
Value::Value(Value&&) noexcept = default;
Value& Value::operator=(const Value&) = default;
Value& Value::operator=(Value&&) noexcept = default;
Value::~Value() = default;

const Value* Value::find(std::string_view key) const {
  for (const auto& [k, v] : members) {
    if (k == key) return &v;
  }
  return nullptr;
}

Value* Value::find(std::string_view key) {
  for (auto& [k, v] : members) {
    if (k == key) return &v;
  }
  return nullptr;
}

Value Value::string(std::string s, int line) {
  Value v;
  v.kind = Kind::kString;
  v.text = std::move(s);
  v.line = line;
  return v;
}

std::string_view kind_name(Value::Kind kind) {
  switch (kind) {
    case Value::Kind::kNull: return "null";
    case Value::Kind::kBool: return "a boolean";
    case Value::Kind::kInt: return "an integer";
    case Value::Kind::kFloat: return "a number";
    case Value::Kind::kString: return "a string";
    case Value::Kind::kList: return "a list";
    case Value::Kind::kMap: return "a map";
  }
  return "a value";
}

std::string describe(const Value& v) {
  constexpr size_t kMaxQuoted = 80;
  if (!v.env_var.empty()) return fmt::format("the value of environment variable {}", v.env_var);
  switch (v.kind) {
    case Value::Kind::kString:
      if (v.text.size() > kMaxQuoted) return fmt::format("'{}...'", std::string_view(v.text).substr(0, kMaxQuoted));
      return fmt::format("'{}'", v.text);
    case Value::Kind::kBool: return v.text.empty() ? (v.boolean ? "true" : "false") : v.text;
    case Value::Kind::kInt: return v.text.empty() ? std::to_string(v.integer) : v.text;
    case Value::Kind::kFloat: {
      if (!v.text.empty()) return v.text;
      std::string s;
      append_double(s, v.number);
      return s;
    }
    default: return std::string(kind_name(v.kind));
  }
}

Value resolve_plain_scalar(std::string_view text, int line) {
  Value v;
  v.line = line;
  v.text = std::string(text);
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") {
    v.kind = Value::Kind::kNull;
    v.text.clear();
    return v;
  }
  bool b = false;
  if (match_bool(text, b)) {
    v.kind = Value::Kind::kBool;
    v.boolean = b;
    return v;
  }
  // PyYAML tries floats before ints; the two patterns do not overlap.
  if (match_pyyaml_float(text)) {
    v.kind = Value::Kind::kFloat;
    v.number = to_double(text);
    return v;
  }
  int64_t i = 0;
  bool overflow = false;
  if (match_int(text, i, overflow)) {
    if (overflow) {  // beyond int64: kept as a float (best effort)
      v.kind = Value::Kind::kFloat;
      v.number = to_double(without_underscores(text));
    } else {
      v.kind = Value::Kind::kInt;
      v.integer = i;
    }
    return v;
  }
  if (match_exponent_float(text)) {
    v.kind = Value::Kind::kFloat;
    v.number = to_double(text);
    v.pyyaml_string = true;
    return v;
  }
  v.kind = Value::Kind::kString;
  return v;
}

Result<Value> load_yaml(std::string_view text, std::vector<std::string>* warnings) {
  // YAML and JSON text never contains NUL; yaml-cpp would take NULs as a sign
  // of UTF-16/32 and decode the text as that, turning valid UTF-8 into
  // invalid UTF-8 in values and messages.
  if (const size_t nul = text.find('\0'); nul != std::string_view::npos) {
    const auto line = std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(nul), '\n') + 1;
    return Error(ErrorKind::kInvalidConfig, fmt::format("invalid YAML/JSON at line {}: NUL character", line));
  }
  // yaml-cpp reports malformed input by throwing; nothing may escape.
  std::string yaml_error;
  try {
    YAML::Node root = YAML::Load(std::string(text));
    Value v;
    YamlConverter converter(warnings, simdjson::validate_utf8(text.data(), text.size()));
    if (Status s = converter.convert(root, v, 0); !s.ok()) return s.error();
    return v;
  } catch (const YAML::Exception& e) {
    yaml_error = e.mark.is_null()
                     ? fmt::format("invalid YAML/JSON: {}", e.msg)
                     : fmt::format("invalid YAML/JSON at line {}, column {}: {}", e.mark.line + 1, e.mark.column + 1,
                                   e.msg);
  } catch (const std::exception& e) {
    yaml_error = fmt::format("invalid YAML/JSON: {}", e.what());
  } catch (...) {
    yaml_error = "invalid YAML/JSON";
  }
  if (looks_like_json(text)) {
    try {
      if (std::optional<Value> v = try_json(text)) return std::move(*v);
    } catch (...) {  // allocation failure: report the YAML error below
    }
  }
  return Error(ErrorKind::kInvalidConfig, std::move(yaml_error));
}

namespace {

void write_json(json::Writer& w, const Value& v) {
  switch (v.kind) {
    case Value::Kind::kNull: w.null(); return;
    case Value::Kind::kBool: w.boolean(v.boolean); return;
    case Value::Kind::kInt: w.number(v.integer); return;
    case Value::Kind::kFloat: w.number(v.number); return;  // .inf/.nan: null
    case Value::Kind::kString: w.string(v.text); return;
    case Value::Kind::kList:
      w.begin_array();
      for (const Value& item : v.items) write_json(w, item);
      w.end_array();
      return;
    case Value::Kind::kMap:
      w.begin_object();
      for (const auto& [key, member] : v.members) {
        w.key(key);
        write_json(w, member);
      }
      w.end_object();
      return;
  }
}

}  // namespace

void append_json(std::string& out, const Value& v) {
  json::Writer w(out);
  write_json(w, v);
}

std::string to_json(const Value& v) {
  std::string out;
  append_json(out, v);
  return out;
}

}  // namespace llmux::config
