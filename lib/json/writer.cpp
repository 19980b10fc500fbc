#include "json/writer.hpp"

#include <cmath>

#include "json/whitespace.hpp"

namespace llmux::json {
namespace {

bool needs_escape(unsigned char c) { return c < 0x20 || c == '"' || c == '\\'; }

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  size_t run = 0;  // start of the pending run of bytes that need no escaping
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (!needs_escape(c)) continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      case '\b': out.append("\\b"); break;
      case '\f': out.append("\\f"); break;
      default: {
        const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
        out.append(esc, sizeof esc);
      }
    }
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

Writer& Writer::number(double d) {
  if (!std::isfinite(d)) return null();
  separate();
  fmt::format_to(std::back_inserter(*out_), "{}", d);
  return done();
}

Writer& Writer::reopen_object(std::string_view object) {
  object = strip_trailing_whitespace(object);
  separate();
  out_->append(object.substr(0, object.size() - 1));  // without its '}'
  // "{}" (or "{ }") has no member for the next one to follow.
  need_comma_ = object.find_first_not_of(kWhitespace, 1) != object.size() - 1;
  return *this;
}

}  // namespace llmux::json
