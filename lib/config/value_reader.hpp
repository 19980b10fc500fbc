// -----------------------------------------------------------------------------
// File: config/value_reader.hpp
// -----------------------------------------------------------------------------
// Typed reads of config values with errors that name the key path
// ("router_settings.num_retries: expected an integer >= 0, got 'three'
// (line 4)"), `os.environ/NAME` resolution, and did-you-mean suggestions for
// unknown keys. Used by the settings and deployment parsers.
//
// A ParseContext lives for one parse_config / parse_deployment call on one
// thread; it is not thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/config_value.hpp"
#include "llmux/config.hpp"
#include "llmux/error.hpp"

namespace llmux::config {

// Evaluates a Status-returning expression; when it failed, returns its Error
// from the enclosing function (which returns Status or Result<T>).
#define LLMUX_CONFIG_TRY(expr)                                         \
  do {                                                                 \
    const ::llmux::Status llmux_config_status_ = (expr);               \
    if (!llmux_config_status_.ok()) return llmux_config_status_.error(); \
  } while (false)

// "a.b" / "b" when `parent` is empty.
std::string child_path(std::string_view parent, std::string_view key);
// "a[3]".
std::string index_path(std::string_view parent, size_t index);

// kInvalidConfig "<path>: <message>" plus " (line N)" when `at` has a line.
Error config_error(std::string_view path, std::string_view message, const Value* at = nullptr);

// The closest of `candidates` to `key` when it is a plausible typo (small edit
// distance relative to the length), else nullopt.
std::optional<std::string_view> did_you_mean(std::string_view key, std::span<const std::string_view> candidates);
// "<path>: unknown key, ignored" + " (did you mean X?)" when one is close.
std::string unknown_key_warning(std::string_view path, std::string_view key,
                                std::span<const std::string_view> candidates);

class ParseContext {
 public:
  // `env` empty = the process environment. `config_env` (the config's own
  // environment_variables section, may be null) is consulted first, as the
  // LiteLLM proxy exports that section before resolving references.
  ParseContext(const EnvLookup& env, const Value* config_env);

  void warn(std::string message) { warnings_.push_back(std::move(message)); }
  std::vector<std::string>& warnings() { return warnings_; }

  // Replaces every string "os.environ/NAME" inside `v` (recursively) with the
  // variable's value. A variable that is not set becomes null with a warning
  // naming the path and the variable — see the .cpp for why this is not an
  // error.
  void resolve_env(Value& v, std::string_view path);

  // One variable: the config's environment_variables first, then `env`.
  std::optional<std::string> lookup(std::string_view name) const;

 private:

  const EnvLookup& env_;
  const Value* config_env_;
  std::vector<std::string> warnings_;
};

// Scalar readers. `v` must not be null (callers treat null as "unset").
// Strings: any scalar but a bool, as its text (PyYAML would make `3` an int;
// a name field takes it as "3").
Status read_string(const Value& v, std::string_view path, std::string& out);
// Bools: true/false (and PyYAML's yes/no/on/off), also as strings.
Status read_bool(const Value& v, std::string_view path, bool& out);
// Integers in [min, max]; numeric strings are accepted (os.environ values).
Status read_int(const Value& v, std::string_view path, int64_t min, int64_t max, int64_t& out);
Status read_int(const Value& v, std::string_view path, int min, int& out);
// Finite numbers >= min (> min when `exclusive`); numeric strings accepted.
Status read_number(const Value& v, std::string_view path, double min, bool exclusive, double& out);
// A list of strings (a null list reads as empty).
Status read_string_list(const Value& v, std::string_view path, std::vector<std::string>& out);
// A map (or null); error otherwise.
Status expect_map(const Value& v, std::string_view path);

}  // namespace llmux::config
