#include "provider/aws_shared_config.hpp"

#include <fstream>
#include <sstream>

#include "common/strings.hpp"

namespace llmux::provider {
namespace {

constexpr size_t kMaxFileBytes = 1 << 20;  // credentials files are tiny; a huge one is a mistake

}  // namespace

IniFile parse_aws_ini(std::string_view text) {
  IniFile out;
  IniSection* current = nullptr;
  while (!text.empty()) {
    const size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const bool indented = !line.empty() && (line.front() == ' ' || line.front() == '\t');
    line = strip_ascii_whitespace(line);
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    if (indented) continue;  // a nested block's value ("s3 =\n  key = v"): not a credential
    if (line.front() == '[') {
      const size_t close = line.find(']');
      if (close == std::string_view::npos) {
        current = nullptr;
        continue;
      }
      current = &out[std::string(strip_ascii_whitespace(line.substr(1, close - 1)))];
      continue;
    }
    if (current == nullptr) continue;
    const size_t sep = line.find_first_of("=:");
    if (sep == std::string_view::npos || sep == 0) continue;
    std::string key = ascii_lower(strip_ascii_whitespace(line.substr(0, sep)));
    (*current)[std::move(key)] = std::string(strip_ascii_whitespace(line.substr(sep + 1)));
  }
  return out;
}

std::optional<std::string> read_small_file(const std::string& path) {
  if (path.empty()) return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string data;
  char buf[4096];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    data.append(buf, static_cast<size_t>(in.gcount()));
    if (data.size() > kMaxFileBytes) return std::nullopt;
  }
  if (in.bad()) return std::nullopt;
  return data;
}

AwsProfile load_aws_profile(const std::string& credentials_file, const std::string& config_file,
                            const std::string& profile) {
  AwsProfile out;
  if (std::optional<std::string> text = read_small_file(config_file)) {
    IniFile ini = parse_aws_ini(*text);
    auto it = ini.find("profile " + profile);
    if (it == ini.end() && profile == "default") it = ini.find("default");
    if (it != ini.end()) {
      out.found = true;
      out.values = it->second;
    }
  }
  if (std::optional<std::string> text = read_small_file(credentials_file)) {
    IniFile ini = parse_aws_ini(*text);
    auto it = ini.find(profile);
    if (it != ini.end()) {
      out.found = true;
      for (auto& [k, v] : it->second) out.values[k] = v;
    }
  }
  return out;
}

}  // namespace llmux::provider
