// Command-line helpers shared by the end-to-end benchmarks: "--key=value"
// flags, integer values, and a fatal error that names the program.
#pragma once

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace llmux::bench {

[[noreturn]] inline void die_in(std::string_view program, const std::string& message, int exit_code = 1) {
  std::fprintf(stderr, "%.*s: %s\n", static_cast<int>(program.size()), program.data(), message.c_str());
  std::exit(exit_code);
}

// A non-negative integer of at most 10^8, or death naming the flag.
inline int parse_flag_int(std::string_view program, std::string_view flag, std::string_view v, int exit_code = 1) {
  char* end = nullptr;
  const std::string s(v);
  const long n = std::strtol(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || n < 0 || n > 100000000) {
    die_in(program, fmt::format("bad value for {}: '{}'", flag, v), exit_code);
  }
  return static_cast<int>(n);
}

struct Flag {
  std::string_view key;    // "--port"
  std::string_view value;  // "8080"; empty when the flag has no '='
};

inline Flag split_flag(std::string_view arg) {
  const size_t eq = arg.find('=');
  return {arg.substr(0, eq), eq == std::string_view::npos ? std::string_view() : arg.substr(eq + 1)};
}

}  // namespace llmux::bench
