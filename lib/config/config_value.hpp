// -----------------------------------------------------------------------------
// File: config/config_value.hpp
// -----------------------------------------------------------------------------
// A parsed YAML/JSON document as a small value tree, typed the way LiteLLM
// sees it: LiteLLM reads config.yaml with PyYAML's safe_load (YAML 1.1), so a
// plain scalar becomes null, bool, int, float or string by PyYAML's rules
// ("yes" is a bool, "08" a string), quoted scalars are always strings, and
// merge keys (`<<: *anchor`) are applied. The deployment-id hash (LiteLLM
// str()s every litellm_params value) depends on getting these types right.
//
// Plain value type: copy freely, no thread-safety concerns.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "llmux/error.hpp"

namespace llmux::config {

struct Value {
  enum class Kind { kNull, kBool, kInt, kFloat, kString, kList, kMap };

  // Special members defined out of line: clang (14-16, with libstdc++ 12)
  // cannot define them inline while `members` holds pairs of this still
  // incomplete type (the fuzz build uses clang).
  Value() = default;
  Value(const Value&);
  Value(Value&&) noexcept;
  Value& operator=(const Value&);
  Value& operator=(Value&&) noexcept;
  ~Value();

  Kind kind = Kind::kNull;
  bool boolean = false;
  int64_t integer = 0;
  double number = 0;
  // kString: the string. kInt/kFloat/kBool: the source text (empty when the
  // value did not come from a YAML scalar).
  std::string text;
  // A float PyYAML would have read as a string ("1e-7": PyYAML floats need a
  // dot). Used by the id hash only; everywhere else it is a number.
  bool pyyaml_string = false;
  std::vector<Value> items;                            // kList
  std::vector<std::pair<std::string, Value>> members;  // kMap, in document order, keys unique
  int line = 0;                                        // 1-based source line; 0 = unknown
  // Set when the value was read from `os.environ/NAME`: errors then name the
  // variable instead of quoting a value that may be a secret.
  std::string env_var;

  bool is_null() const { return kind == Kind::kNull; }
  bool is_map() const { return kind == Kind::kMap; }
  bool is_list() const { return kind == Kind::kList; }
  bool is_string() const { return kind == Kind::kString; }
  bool is_number() const { return kind == Kind::kInt || kind == Kind::kFloat; }
  bool is_scalar() const { return kind != Kind::kNull && kind != Kind::kList && kind != Kind::kMap; }

  // Member lookup (kMap only); nullptr when absent.
  const Value* find(std::string_view key) const;
  Value* find(std::string_view key);

  static Value string(std::string s, int line = 0);
};

// "a string", "a list", "a map", "an integer", ... for error messages.
std::string_view kind_name(Value::Kind kind);

// Short rendering of a value for error messages: 'text' for strings (long
// ones shortened), the number or bool as written, "a list" / "a map" / "null"
// otherwise; "the value of environment variable NAME" for resolved secrets.
std::string describe(const Value& v);

// Parses YAML (or JSON) text. Only the first document is read. Errors are
// kInvalidConfig with yaml-cpp's line and column. Duplicate keys keep the
// last value (as PyYAML does) and add a warning to `warnings`.
Result<Value> load_yaml(std::string_view text, std::vector<std::string>* warnings = nullptr);

// Types a plain (unquoted, untagged) YAML scalar by PyYAML's resolver rules,
// extended with YAML 1.2 / JSON floats without a dot ("1e-7").
Value resolve_plain_scalar(std::string_view text, int line = 0);

// Standard JSON (RFC 8259) by json::Writer: non-finite floats become null,
// floats use fmt's shortest representation that round-trips.
void append_json(std::string& out, const Value& v);
std::string to_json(const Value& v);

}  // namespace llmux::config
