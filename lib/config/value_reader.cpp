#include "config/value_reader.hpp"

#include "common/strings.hpp"
#include "config/value_node.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "fmt/format.h"

namespace llmux::config {
namespace {

constexpr std::string_view kEnvPrefix = "os.environ/";

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

// A string scalar read as a number or bool (os.environ values are strings).
Value retype(const Value& v) {
  if (!v.is_string()) return v;
  std::string_view text = v.text;
  const size_t begin = text.find_first_not_of(" \t\r\n");
  const size_t end = text.find_last_not_of(" \t\r\n");
  text = begin == std::string_view::npos ? std::string_view() : text.substr(begin, end - begin + 1);
  return resolve_plain_scalar(text, v.line);
}

}  // namespace

std::string child_path(std::string_view parent, std::string_view key) {
  return parent.empty() ? std::string(key) : fmt::format("{}.{}", parent, key);
}

std::string index_path(std::string_view parent, size_t index) { return fmt::format("{}[{}]", parent, index); }

Error config_error(std::string_view path, std::string_view message, const Value* at) {
  std::string text = path.empty() ? std::string(message) : fmt::format("{}: {}", path, message);
  if (at != nullptr && at->line > 0) text += fmt::format(" (line {})", at->line);
  // Paths and messages quote the config's keys and values as the YAML
  // parser decoded them, which is not always valid UTF-8.
  return Error(ErrorKind::kInvalidConfig, valid_utf8(text));
}

std::optional<std::string_view> did_you_mean(std::string_view key, std::span<const std::string_view> candidates) {
  const size_t limit = key.size() <= 4 ? 1 : key.size() <= 8 ? 2 : 3;
  std::optional<std::string_view> best;
  size_t best_distance = limit + 1;
  for (std::string_view candidate : candidates) {
    const size_t d = edit_distance(key, candidate);
    if (d > 0 && d < best_distance) {
      best = candidate;
      best_distance = d;
    }
  }
  return best;
}

std::string unknown_key_warning(std::string_view path, std::string_view key,
                                std::span<const std::string_view> candidates) {
  std::string message = fmt::format("{}: unknown key, ignored", path);
  if (auto suggestion = did_you_mean(key, candidates)) message += fmt::format(" (did you mean {}?)", *suggestion);
  return message;
}

ParseContext::ParseContext(const EnvLookup& env, const Value* config_env) : env_(env), config_env_(config_env) {}

std::optional<std::string> ParseContext::lookup(std::string_view name) const {
  if (config_env_ != nullptr && config_env_->is_map()) {
    if (const Value* v = config_env_->find(name); v != nullptr && v->is_scalar()) {
      return v->is_string() ? v->text : describe(*v);
    }
  }
  if (env_) return env_(name);
  const char* value = std::getenv(std::string(name).c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

void ParseContext::resolve_env(Value& v, std::string_view path) {
  switch (v.kind) {
    case Value::Kind::kString: {
      if (!v.text.starts_with(kEnvPrefix)) return;
      const std::string name = v.text.substr(kEnvPrefix.size());
      if (std::optional<std::string> value = lookup(name)) {
        v.text = std::move(*value);
        v.env_var = name;
        return;
      }
      // LiteLLM's get_secret() returns None for an unset variable and the
      // config still loads (the call fails later, e.g. with a 401). We do the
      // same — the value becomes null, so an api_key is simply empty — and say
      // so in a warning: failing the whole config would reject every
      // published config whose secrets are not exported on this machine.
      warn(fmt::format("{}: environment variable {} is not set; using an empty value", path, name));
      const int line = v.line;
      v = Value();
      v.line = line;
      return;
    }
    case Value::Kind::kList:
      for (size_t i = 0; i < v.items.size(); ++i) resolve_env(v.items[i], index_path(path, i));
      return;
    case Value::Kind::kMap:
      for (auto& [key, member] : v.members) resolve_env(member, child_path(path, key));
      return;
    default: return;
  }
}

std::optional<double> ValueNode::number() const {
  const Value typed = retype(v_);
  if (typed.kind == Value::Kind::kInt) return static_cast<double>(typed.integer);
  if (typed.kind == Value::Kind::kFloat) return typed.number;
  return std::nullopt;
}

Error problem_error(const router_keys::Problem& problem) {
  std::string text = problem.path.empty() ? problem.message : fmt::format("{}: {}", problem.path, problem.message);
  if (problem.line > 0) text += fmt::format(" (line {})", problem.line);
  return Error(ErrorKind::kInvalidConfig, std::move(text));
}

Status read_string(const Value& v, std::string_view path, std::string& out) {
  if (v.is_string()) {
    out = v.text;
    return Status::Ok();
  }
  if (v.is_number()) {
    out = describe(v);
    return Status::Ok();
  }
  return config_error(path, fmt::format("expected a string, got {}", describe(v)), &v);
}

Status read_bool(const Value& v, std::string_view path, bool& out) {
  const Value typed = retype(v);
  if (typed.kind != Value::Kind::kBool) {
    return config_error(path, fmt::format("expected true or false, got {}", describe(v)), &v);
  }
  out = typed.boolean;
  return Status::Ok();
}

Status read_int(const Value& v, std::string_view path, int64_t min, int64_t max, int64_t& out) {
  const Value typed = retype(v);
  const std::string range = max == std::numeric_limits<int64_t>::max() || max == std::numeric_limits<int>::max()
                                ? fmt::format("an integer >= {}", min)
                                : fmt::format("an integer between {} and {}", min, max);
  int64_t value = 0;
  if (typed.kind == Value::Kind::kInt) {
    value = typed.integer;
  } else if (typed.kind == Value::Kind::kFloat && std::isfinite(typed.number) &&
             typed.number == std::trunc(typed.number) && std::fabs(typed.number) < 9.0e15) {
    value = static_cast<int64_t>(typed.number);  // 3.0 is fine
  } else {
    return config_error(path, fmt::format("expected {}, got {}", range, describe(v)), &v);
  }
  if (value < min || value > max) {
    return config_error(path, fmt::format("expected {}, got {}", range, describe(v)), &v);
  }
  out = value;
  return Status::Ok();
}

Status read_int(const Value& v, std::string_view path, int min, int& out) {
  int64_t value = 0;
  LLMUX_CONFIG_TRY(read_int(v, path, min, std::numeric_limits<int>::max(), value));
  out = static_cast<int>(value);
  return Status::Ok();
}

Status read_number(const Value& v, std::string_view path, double min, bool exclusive, double& out) {
  const Value typed = retype(v);
  const std::string expected = fmt::format("a number {} {}", exclusive ? ">" : ">=", min);
  double value = 0;
  if (typed.kind == Value::Kind::kInt) {
    value = static_cast<double>(typed.integer);
  } else if (typed.kind == Value::Kind::kFloat && std::isfinite(typed.number)) {
    value = typed.number;
  } else {
    return config_error(path, fmt::format("expected {}, got {}", expected, describe(v)), &v);
  }
  if (exclusive ? !(value > min) : !(value >= min)) {
    return config_error(path, fmt::format("expected {}, got {}", expected, describe(v)), &v);
  }
  out = value;
  return Status::Ok();
}

Status read_string_list(const Value& v, std::string_view path, std::vector<std::string>& out) {
  out.clear();
  if (v.is_null()) return Status::Ok();
  if (!v.is_list()) return config_error(path, fmt::format("expected a list of strings, got {}", describe(v)), &v);
  out.reserve(v.items.size());
  for (size_t i = 0; i < v.items.size(); ++i) {
    const Value& item = v.items[i];
    if (!item.is_string() && !item.is_number()) {
      return config_error(index_path(path, i), fmt::format("expected a string, got {}", describe(item)), &item);
    }
    out.push_back(item.is_string() ? item.text : describe(item));
  }
  return Status::Ok();
}

Status expect_map(const Value& v, std::string_view path) {
  if (v.is_null() || v.is_map()) return Status::Ok();
  return config_error(path, fmt::format("expected a map, got {}", describe(v)), &v);
}

}  // namespace llmux::config
