// -----------------------------------------------------------------------------
// File: common/router_keys.hpp
// -----------------------------------------------------------------------------
// The router keys a config and a request have in common — fallback rules,
// lists of names (tags, fallback targets), the per-error-class retry and
// allowed-fails policies — read by one set of rules into the types of
// llmux/config.hpp, with one set of error messages. The config loader feeds
// them its YAML/JSON value tree (config/value_reader), the request parser
// simdjson on-demand values (request/request); each front end only frames the
// Problem in its own style ("router_settings.fallbacks[0]: ... (line 4)" vs
// "'fallbacks' must be ...: fallbacks[0]: ..."). So a rule a config accepts,
// a request accepts, and the same mistake gets the same words.
//
// A front end's node type `Node` offers (the request's nodes are read once,
// in document order, so every function below consumes a node exactly once):
//   NodeKind kind();                         // peek, does not consume
//   std::optional<std::string> name();       // a name: a string (config: also a
//                                            // plain number, as written); consumes
//                                            // only when it returns a value
//   std::string describe();                  // for messages: 'text', 3, true, null,
//                                            // a list, a map; consumes
//   void skip();                             // not needed here; consumes
//   std::optional<double> number();          // a number (config: also a numeric
//                                            // string from os.environ/); consumes
//                                            // only when it returns a value
//   int line();                              // source line, 0 = unknown
//   bool for_each_item(F f);                 // f(size_t index, Node& item)
//   bool for_each_member(F f);               // f(std::string_view key, Node& value)
// The for_each functions return false when the front end itself failed (a
// JSON syntax error, which it keeps and reports); the readers then return an
// empty Problem at once. A semantic problem never stops a walk: the first one
// is kept and the rest of the value is still consumed (and so, for requests,
// still validated as JSON).
//
// Header-only templates and constant tables; stateless, thread-safe.
#pragma once

#include <cmath>
#include <cstddef>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "llmux/config.hpp"

namespace llmux::router_keys {

enum class NodeKind { kNull, kBool, kNumber, kString, kList, kMap };

// A mistake in a value: where (the path the caller gave, extended into the
// value: "fallbacks[0].a"), what, and the source line when known. An empty
// message means the front end failed (see above).
struct Problem {
  std::string path;
  std::string message;
  int line = 0;
};

inline std::string index_path(std::string_view parent, size_t index) { return fmt::format("{}[{}]", parent, index); }
inline std::string member_path(std::string_view parent, std::string_view key) {
  return parent.empty() ? std::string(key) : fmt::format("{}.{}", parent, key);
}

// A string quoted for a message ('text'), shortened when long.
inline std::string quoted(std::string_view text) {
  constexpr size_t kMaxQuoted = 80;
  if (text.size() > kMaxQuoted) return fmt::format("'{}...'", text.substr(0, kMaxQuoted));
  return fmt::format("'{}'", text);
}

namespace detail {

// Keeps the first problem of a walk.
struct FirstProblem {
  std::optional<Problem> problem;
  void note(std::string path, std::string message, int line) {
    if (!problem) problem = Problem{std::move(path), std::move(message), line};
  }
  void note(std::optional<Problem> p) {
    if (!problem && p) problem = std::move(p);
  }
};

inline Problem front_end_failed() { return Problem{}; }

}  // namespace detail

// ---- lists of names ---------------------------------------------------------------

// `v` must be a list of names (tags, fallback targets); `what` says what the
// list is for the message when it is not a list ("a list of strings").
template <class Node>
std::optional<Problem> read_names(Node& v, std::string_view path, std::string_view what,
                                  std::vector<std::string>& out) {
  out.clear();
  if (v.kind() != NodeKind::kList) {
    const int line = v.line();
    return Problem{std::string(path), fmt::format("expected {}, got {}", what, v.describe()), line};
  }
  detail::FirstProblem first;
  const bool ok = v.for_each_item([&](size_t i, Node& item) {
    if (first.problem) return item.skip();
    if (std::optional<std::string> name = item.name()) {
      out.push_back(std::move(*name));
      return;
    }
    const int line = item.line();
    first.note(index_path(path, i), fmt::format("expected a string, got {}", item.describe()), line);
  });
  if (!ok) return detail::front_end_failed();
  return first.problem;
}

// ---- fallback rules ---------------------------------------------------------------

// A `fallbacks` value. Configs and the *_fallbacks keys of requests take only
// the standard form, [{"<group>": ["<fallback group>", ...]}, ...] (LiteLLM's
// validate_fallbacks). A request's "fallbacks" may instead be client-side: a
// list of group names or of {"model": "<group>", ...} objects (LiteLLM reads
// only "model" from those); the two forms do not mix.
struct Fallbacks {
  std::optional<std::vector<FallbackRule>> rules;   // the standard form ([] = none)
  std::optional<std::vector<std::string>> client;   // the client-side form
};

template <class Node>
std::optional<Problem> read_fallbacks(Node& v, std::string_view path, bool allow_client_side, Fallbacks& out) {
  out = Fallbacks{};
  if (v.kind() == NodeKind::kNull) {
    v.skip();
    return std::nullopt;
  }
  if (v.kind() != NodeKind::kList) {
    const int line = v.line();
    const std::string_view expected =
        allow_client_side
            ? "a list of model group names, of {model: group} maps or of {model_group: [fallback groups]} maps"
            : "a list of {model_group: [fallback groups]} maps";
    return Problem{std::string(path), fmt::format("expected {}, got {}", expected, v.describe()), line};
  }
  enum class Shape { kUnknown, kClient, kRule };
  Shape shape = Shape::kUnknown;
  std::vector<FallbackRule> rules;
  std::vector<std::string> client;
  detail::FirstProblem first;
  const bool ok = v.for_each_item([&](size_t i, Node& item) {
    if (first.problem) return item.skip();
    const std::string item_path = index_path(path, i);
    const int line = item.line();
    Shape got = Shape::kUnknown;
    const NodeKind kind = item.kind();
    if (kind == NodeKind::kString && allow_client_side) {
      std::optional<std::string> name = item.name();
      if (!name) return first.note(detail::front_end_failed());
      client.push_back(std::move(*name));
      got = Shape::kClient;
    } else if (kind == NodeKind::kMap) {
      size_t keys = 0;
      std::optional<std::string> model;
      FallbackRule rule;
      std::optional<Problem> targets_problem;
      const bool members_ok = item.for_each_member([&](std::string_view key, Node& value) {
        ++keys;
        if (allow_client_side && key == "model" && value.kind() == NodeKind::kString) {
          model = value.name();
        } else if (keys == 1) {
          rule.group = std::string(key);
          if (value.kind() == NodeKind::kString) {
            // {"a": "b"}: one fallback group written without its list (LiteLLM accepts it).
            std::optional<std::string> target = value.name();
            if (target) rule.targets.push_back(std::move(*target));
            else targets_problem = detail::front_end_failed();
          } else {
            targets_problem =
                read_names(value, member_path(item_path, key), "a list of model group names", rule.targets);
          }
        } else {
          value.skip();
        }
      });
      if (!members_ok || (targets_problem && targets_problem->message.empty())) {
        first.note(detail::front_end_failed());
        return;
      }
      if (model) {
        client.push_back(std::move(*model));
        got = Shape::kClient;
      } else if (keys != 1) {
        first.note(item_path,
                   fmt::format("expected a map with exactly one key (model group -> list of fallback groups), got "
                               "a map with {} keys",
                               keys),
                   line);
        return;
      } else if (targets_problem) {
        first.note(std::move(targets_problem));
        return;
      } else {
        rules.push_back(std::move(rule));
        got = Shape::kRule;
      }
    } else {
      const std::string_view expected =
          allow_client_side ? "a model group name, a {model: group} map or a map with exactly one key (model group "
                              "-> list of fallback groups)"
                            : "a map with exactly one key (model group -> list of fallback groups)";
      first.note(item_path, fmt::format("expected {}, got {}", expected, item.describe()), line);
      return;
    }
    if (shape == Shape::kUnknown) shape = got;
    if (got != shape) {
      first.note(item_path, "model group names and {model_group: [fallback groups]} maps do not mix in one list",
                 line);
    }
  });
  if (!ok) return detail::front_end_failed();
  if (first.problem) return first.problem;
  if (shape == Shape::kClient) {
    out.client = std::move(client);
  } else {
    out.rules = std::move(rules);
  }
  return std::nullopt;
}

// ---- per-error-class policies ------------------------------------------------------

template <class Policy>
struct PolicyField {
  std::string_view key;
  std::optional<int> Policy::*field;
};

// LiteLLM's RetryPolicy and AllowedFailsPolicy field names.
inline constexpr PolicyField<RetryPolicy> kRetryPolicyFields[] = {
    {"BadRequestErrorRetries", &RetryPolicy::bad_request},
    {"AuthenticationErrorRetries", &RetryPolicy::authentication},
    {"TimeoutErrorRetries", &RetryPolicy::timeout},
    {"RateLimitErrorRetries", &RetryPolicy::rate_limit},
    {"ContentPolicyViolationErrorRetries", &RetryPolicy::content_policy_violation},
    {"InternalServerErrorRetries", &RetryPolicy::internal_server},
};

inline constexpr PolicyField<AllowedFailsPolicy> kAllowedFailsPolicyFields[] = {
    {"BadRequestErrorAllowedFails", &AllowedFailsPolicy::bad_request},
    {"AuthenticationErrorAllowedFails", &AllowedFailsPolicy::authentication},
    {"TimeoutErrorAllowedFails", &AllowedFailsPolicy::timeout},
    {"RateLimitErrorAllowedFails", &AllowedFailsPolicy::rate_limit},
    {"ContentPolicyViolationErrorAllowedFails", &AllowedFailsPolicy::content_policy_violation},
    {"InternalServerErrorAllowedFails", &AllowedFailsPolicy::internal_server},
};

template <class Policy, size_t N>
std::vector<std::string_view> policy_keys(const PolicyField<Policy> (&fields)[N]) {
  std::vector<std::string_view> keys;
  keys.reserve(N);
  for (const auto& f : fields) keys.push_back(f.key);
  return keys;
}

// A map of `fields` keys to counts >= 0 (null = not in the policy).
// `unknown_key(path, key)` is called for every other key (the config warns).
template <class Node, class Policy, size_t N, class UnknownKey>
std::optional<Problem> read_policy(Node& v, std::string_view path, const PolicyField<Policy> (&fields)[N],
                                   UnknownKey&& unknown_key, Policy& out) {
  if (v.kind() != NodeKind::kMap) {
    const int line = v.line();
    return Problem{std::string(path), fmt::format("expected a map, got {}", v.describe()), line};
  }
  Policy policy;
  detail::FirstProblem first;
  const bool ok = v.for_each_member([&](std::string_view key, Node& value) {
    if (first.problem) return value.skip();
    const std::string value_path = member_path(path, key);
    const PolicyField<Policy>* field = nullptr;
    for (const auto& f : fields) {
      if (f.key == key) field = &f;
    }
    if (field == nullptr) {
      unknown_key(value_path, key);
      return value.skip();
    }
    if (value.kind() == NodeKind::kNull) return value.skip();
    const int line = value.line();
    const std::optional<double> n = value.number();
    if (!n || !std::isfinite(*n) || *n < 0 || *n != std::floor(*n) || *n > std::numeric_limits<int>::max()) {
      first.note(value_path, fmt::format("expected an integer >= 0, got {}", value.describe()), line);
      return;
    }
    policy.*(field->field) = static_cast<int>(*n);
  });
  if (!ok) return detail::front_end_failed();
  if (first.problem) return first.problem;
  out = policy;
  return std::nullopt;
}

}  // namespace llmux::router_keys
