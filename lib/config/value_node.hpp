// -----------------------------------------------------------------------------
// File: config/value_node.hpp
// -----------------------------------------------------------------------------
// The config's value tree as a router_keys node (common/router_keys.hpp), so
// the config reads fallback rules, name lists and policies with the same
// rules as a request; and the config's framing of a router_keys::Problem.
// A ValueNode borrows its Value; single-threaded like the parse it serves.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/router_keys.hpp"
#include "config/config_value.hpp"
#include "config/value_reader.hpp"

namespace llmux::config {

class ValueNode {
 public:
  explicit ValueNode(const Value& v) : v_(v) {}

  router_keys::NodeKind kind() const {
    using K = router_keys::NodeKind;
    switch (v_.kind) {
      case Value::Kind::kNull: return K::kNull;
      case Value::Kind::kBool: return K::kBool;
      case Value::Kind::kInt:
      case Value::Kind::kFloat: return K::kNumber;
      case Value::Kind::kString: return K::kString;
      case Value::Kind::kList: return K::kList;
      case Value::Kind::kMap: return K::kMap;
    }
    return K::kNull;
  }
  // A YAML scalar is text: a plain `4` is a name written "4" (PyYAML would
  // type it as an int; a name field takes it as written).
  std::optional<std::string> name() const {
    if (v_.is_string()) return v_.text;
    if (v_.is_number()) return describe();
    return std::nullopt;
  }
  std::string describe() const { return config::describe(v_); }
  void skip() const {}
  // Numbers, and numeric strings (os.environ/ values arrive as strings).
  std::optional<double> number() const;
  int line() const { return v_.line; }

  template <class F>
  bool for_each_item(F&& f) const {
    for (size_t i = 0; i < v_.items.size(); ++i) {
      ValueNode item(v_.items[i]);
      f(i, item);
    }
    return true;
  }
  template <class F>
  bool for_each_member(F&& f) const {
    for (const auto& [key, member] : v_.members) {
      ValueNode value(member);
      f(std::string_view(key), value);
    }
    return true;
  }

 private:
  const Value& v_;
};

// kInvalidConfig "<path>: <message>" plus " (line N)", as config_error.
Error problem_error(const router_keys::Problem& problem);

}  // namespace llmux::config
