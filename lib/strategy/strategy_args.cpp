#include "strategy/strategy_args.hpp"

#include <fmt/format.h>
#include <simdjson.h>

#include <charconv>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "common/strings.hpp"

namespace llmux::strategy {
namespace {

constexpr std::string_view kPath = "router_settings.routing_strategy_args";

std::string describe(const NumberArg& a) {
  std::string what = a.integer ? "an integer" : "a number";
  const bool bounded_above = a.max < 1e18;
  if (bounded_above && !a.min_exclusive) return fmt::format("{} between {:g} and {:g}", what, a.min, a.max);
  std::string out = fmt::format("{} {} {:g}", what, a.min_exclusive ? ">" : ">=", a.min);
  if (bounded_above) out += fmt::format(" and <= {:g}", a.max);
  return out;
}

std::optional<double> as_number(simdjson::dom::element v) {
  double d = 0;
  if (v.get_double().get(d) == simdjson::SUCCESS) return d;
  std::string_view s;
  if (v.get_string().get(s) == simdjson::SUCCESS) {
    s = strip_ascii_whitespace(s);  // as Python's float() does
    const char* end = s.data() + s.size();
    auto [ptr, ec] = std::from_chars(s.data(), end, d);
    if (ec == std::errc() && ptr == end && !s.empty()) return d;
  }
  return std::nullopt;
}

}  // namespace

Status parse_number_args(std::string_view args_json, std::span<const NumberArg> args) {
  const std::string_view trimmed = strip_ascii_whitespace(args_json);
  if (trimmed.empty() || trimmed == "null") return Status::Ok();

  simdjson::dom::parser parser;
  simdjson::padded_string text(trimmed);
  simdjson::dom::element root;
  if (auto err = parser.parse(text).get(root); err != simdjson::SUCCESS) {
    return Error(ErrorKind::kInvalidConfig,
                 fmt::format("{} is not valid JSON: {}", kPath, simdjson::error_message(err)));
  }
  simdjson::dom::object obj;
  if (root.get_object().get(obj) != simdjson::SUCCESS) {
    return Error(ErrorKind::kInvalidConfig,
                 fmt::format("{} must be an object (got {})", kPath, simdjson::minify(root)));
  }
  // Validate everything first so that an error leaves the defaults intact.
  std::vector<std::pair<double*, double>> parsed;
  for (auto field : obj) {
    for (const NumberArg& a : args) {
      if (field.key != a.key) continue;
      std::optional<double> d = as_number(field.value);
      const bool ok = d && std::isfinite(*d) && (a.min_exclusive ? *d > a.min : *d >= a.min) && *d <= a.max &&
                      (!a.integer || std::floor(*d) == *d);
      if (!ok) {
        return Error(ErrorKind::kInvalidConfig, fmt::format("{}.{} must be {} (got {})", kPath, a.key, describe(a),
                                                            simdjson::minify(field.value)));
      }
      parsed.emplace_back(a.value, *d);
    }
  }
  for (auto [out, d] : parsed) *out = d;
  return Status::Ok();
}

}  // namespace llmux::strategy
