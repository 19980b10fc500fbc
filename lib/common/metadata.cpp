#include "llmux/metadata.hpp"

#include "common/litellm_headers.hpp"

namespace llmux {

std::vector<std::pair<std::string, std::string>> litellm_headers(const RouterMetadata& m) {
  std::vector<std::pair<std::string, std::string>> h;
  h.reserve(9 + m.rate_limit_headers.size());
  common::for_each_litellm_header(
      m, [&h](std::string_view name, std::string_view value) { h.emplace_back(name, value); });
  return h;
}

}  // namespace llmux
