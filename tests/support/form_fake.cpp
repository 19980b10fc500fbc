#include "support/form_fake.hpp"

#include <curl/curl.h>

namespace llmux::testing {
namespace {

std::string decode(std::string_view s) {
  std::string plus(s);
  for (char& c : plus) {
    if (c == '+') c = ' ';
  }
  int len = 0;
  char* d = curl_easy_unescape(nullptr, plus.data(), static_cast<int>(plus.size()), &len);
  std::string v(d, static_cast<size_t>(len));
  curl_free(d);
  return v;
}

}  // namespace

std::map<std::string, std::string> parse_form(std::string_view body) {
  std::map<std::string, std::string> out;
  while (!body.empty()) {
    const size_t amp = body.find('&');
    const std::string_view pair = body.substr(0, amp);
    const size_t eq = pair.find('=');
    out[decode(pair.substr(0, eq))] = eq == std::string_view::npos ? "" : decode(pair.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    body.remove_prefix(amp + 1);
  }
  return out;
}

}  // namespace llmux::testing
