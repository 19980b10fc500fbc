#include "config/duration.hpp"

#include <charconv>
#include <limits>

namespace llmux::config {

std::optional<int64_t> parse_duration_seconds(std::string_view duration) {
  int64_t value = 0;
  const char* begin = duration.data();
  const char* end = begin + duration.size();
  auto [ptr, ec] = std::from_chars(begin, end, value);
  if (ec != std::errc() || ptr == begin || value < 0) return std::nullopt;
  const std::string_view unit(ptr, static_cast<size_t>(end - ptr));
  int64_t scale = 0;
  if (unit == "s") {
    scale = 1;
  } else if (unit == "m") {
    scale = 60;
  } else if (unit == "h") {
    scale = 3600;
  } else if (unit == "d") {
    scale = 86400;
  } else if (unit == "w") {
    scale = 7 * 86400;
  } else if (unit == "mo") {
    scale = 30 * 86400;
  } else {
    return std::nullopt;
  }
  if (value > std::numeric_limits<int64_t>::max() / scale) return std::nullopt;
  return value * scale;
}

}  // namespace llmux::config
