#include "config/deployment_id.hpp"

#include <openssl/evp.h>

#include <cmath>
#include <cstdint>

#include "absl/strings/escaping.h"
#include "fmt/format.h"

namespace llmux::config {
namespace {

// Decodes one UTF-8 sequence at s[i]; returns the code point and advances i.
// Invalid bytes come back as themselves (Python would not have loaded them).
uint32_t next_code_point(std::string_view s, size_t& i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  int len = b0 < 0x80 ? 1 : (b0 >> 5) == 0x6 ? 2 : (b0 >> 4) == 0xE ? 3 : (b0 >> 3) == 0x1E ? 4 : 0;
  if (len <= 1 || i + len > s.size()) {
    ++i;
    return b0;
  }
  uint32_t cp = b0 & (0x7F >> len);
  for (int k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) {
      ++i;
      return b0;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  i += len;
  return cp;
}

// Python's str.isprintable() for a code point, approximated without the
// Unicode database: control, format, separator (other than ' '), surrogate
// and private-use ranges that matter in practice are non-printable.
bool python_printable(uint32_t cp) {
  if (cp < 0x20 || (cp >= 0x7F && cp <= 0xA0) || cp == 0xAD) return false;
  if (cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200F) || (cp >= 0x2028 && cp <= 0x202F)) return false;
  if ((cp >= 0x205F && cp <= 0x206F) || cp == 0x3000 || cp == 0xFEFF) return false;
  if ((cp >= 0xD800 && cp <= 0xF8FF) || (cp >= 0xFFF0 && cp <= 0xFFFF && cp != 0xFFFD)) return false;
  if (cp >= 0xF0000) return false;  // supplementary private use
  return true;
}

void append_python_string_repr(std::string& out, std::string_view s) {
  const bool has_single = s.find('\'') != std::string_view::npos;
  const bool has_double = s.find('"') != std::string_view::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  out += quote;
  size_t i = 0;
  while (i < s.size()) {
    const size_t start = i;
    const uint32_t cp = next_code_point(s, i);
    if (cp == static_cast<uint32_t>(quote) || cp == '\\') {
      out += '\\';
      out += static_cast<char>(cp);
    } else if (cp == '\t') {
      out += "\\t";
    } else if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (python_printable(cp)) {
      out.append(s.substr(start, i - start));
    } else if (cp < 0x100) {
      out += fmt::format("\\x{:02x}", cp);
    } else if (cp < 0x10000) {
      out += fmt::format("\\u{:04x}", cp);
    } else {
      out += fmt::format("\\U{:08x}", cp);
    }
  }
  out += quote;
}

// json.dumps(str) with ensure_ascii=True.
void append_json_dumps_string(std::string& out, std::string_view s) {
  out += '"';
  size_t i = 0;
  while (i < s.size()) {
    const uint32_t cp = next_code_point(s, i);
    switch (cp) {
      case '"': out += "\\\""; continue;
      case '\\': out += "\\\\"; continue;
      case '\n': out += "\\n"; continue;
      case '\r': out += "\\r"; continue;
      case '\t': out += "\\t"; continue;
      case '\b': out += "\\b"; continue;
      case '\f': out += "\\f"; continue;
      default: break;
    }
    if (cp >= 0x20 && cp < 0x7F) {
      out += static_cast<char>(cp);
    } else if (cp < 0x10000) {
      out += fmt::format("\\u{:04x}", cp);
    } else {
      const uint32_t v = cp - 0x10000;
      out += fmt::format("\\u{:04x}\\u{:04x}", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF));
    }
  }
  out += '"';
}

void append_repr(std::string& out, const Value& v);

void append_json_dumps(std::string& out, const Value& v) {
  switch (v.kind) {
    case Value::Kind::kNull: out += "null"; return;
    case Value::Kind::kBool: out += v.boolean ? "true" : "false"; return;
    case Value::Kind::kInt: out += std::to_string(v.integer); return;
    case Value::Kind::kFloat:
      if (v.pyyaml_string) {
        append_json_dumps_string(out, v.text);
      } else if (std::isnan(v.number)) {
        out += "NaN";
      } else if (std::isinf(v.number)) {
        out += v.number > 0 ? "Infinity" : "-Infinity";
      } else {
        out += python_float_repr(v.number);
      }
      return;
    case Value::Kind::kString: append_json_dumps_string(out, v.text); return;
    case Value::Kind::kList:
      out += '[';
      for (size_t i = 0; i < v.items.size(); ++i) {
        if (i != 0) out += ", ";
        append_json_dumps(out, v.items[i]);
      }
      out += ']';
      return;
    case Value::Kind::kMap: {
      out += '{';
      bool first = true;
      for (const auto& [key, member] : v.members) {
        if (!first) out += ", ";
        first = false;
        append_json_dumps_string(out, key);
        out += ": ";
        append_json_dumps(out, member);
      }
      out += '}';
      return;
    }
  }
}

void append_repr(std::string& out, const Value& v) {
  switch (v.kind) {
    case Value::Kind::kString: append_python_string_repr(out, v.text); return;
    case Value::Kind::kFloat:
      if (v.pyyaml_string) {
        append_python_string_repr(out, v.text);
      } else {
        out += python_float_repr(v.number);
      }
      return;
    case Value::Kind::kList:
      out += '[';
      for (size_t i = 0; i < v.items.size(); ++i) {
        if (i != 0) out += ", ";
        append_repr(out, v.items[i]);
      }
      out += ']';
      return;
    case Value::Kind::kMap: {
      out += '{';
      bool first = true;
      for (const auto& [key, member] : v.members) {
        if (!first) out += ", ";
        first = false;
        append_python_string_repr(out, key);
        out += ": ";
        append_repr(out, member);
      }
      out += '}';
      return;
    }
    default: out += python_str(v); return;
  }
}

}  // namespace

std::string python_float_repr(double d) {
  // Python prints every NaN as "nan"; fmt keeps the sign bit ("-nan").
  if (std::isnan(d)) return "nan";
  // fmt's shortest round-trip form is Python's repr: the same digits, exponent
  // notation for exponents below -4 or from 16 on, a sign and at least two
  // exponent digits ("1e-07", "1e+16"), "inf"/"-inf". Only an integral value
  // written positionally lacks Python's ".0" ("100" → "100.0", "-0" → "-0.0").
  std::string out = fmt::format("{}", d);
  if (std::isfinite(d) && out.find_first_of(".e") == std::string::npos) out += ".0";
  return out;
}

std::string python_str(const Value& v) {
  switch (v.kind) {
    case Value::Kind::kNull: return "None";
    case Value::Kind::kBool: return v.boolean ? "True" : "False";
    case Value::Kind::kInt: return std::to_string(v.integer);
    case Value::Kind::kFloat: return v.pyyaml_string ? v.text : python_float_repr(v.number);
    case Value::Kind::kString: return v.text;
    case Value::Kind::kList: return python_repr(v);
    case Value::Kind::kMap: return python_json_dumps(v);
  }
  return std::string();
}

std::string python_repr(const Value& v) {
  std::string out;
  append_repr(out, v);
  return out;
}

std::string python_json_dumps(const Value& v) {
  std::string out;
  append_json_dumps(out, v);
  return out;
}

std::string sha256_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
    return std::string();  // only on allocation failure inside OpenSSL
  }
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), length));
}

std::string generate_deployment_id(std::string_view model_name, const Value& litellm_params) {
  std::string concat(model_name);
  for (const auto& [key, value] : litellm_params.members) {
    concat += key;
    concat += python_str(value);
  }
  return sha256_hex(concat);
}

}  // namespace llmux::config
