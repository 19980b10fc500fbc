// -----------------------------------------------------------------------------
// File: provider/aws_shared_config.hpp
// -----------------------------------------------------------------------------
// AWS's shared credentials and config files (~/.aws/credentials,
// ~/.aws/config): INI as botocore reads it — "[name]" sections ("[profile
// name]" in the config file, where "[default]" stays as it is), "key = value"
// or "key: value" lines, keys case-insensitive, '#' and ';' comment lines,
// indented lines continuing a nested block (ignored: only top-level keys are
// credentials), no inline comments.
//
// Thread safety: free functions, no shared state.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace llmux::provider {

using IniSection = std::map<std::string, std::string>;
using IniFile = std::map<std::string, IniSection>;

// Parses an INI text; malformed lines are skipped, as botocore would fail
// only when it reads a broken profile (we report a profile without keys).
IniFile parse_aws_ini(std::string_view text);

// The small file at `path`, or nullopt when it cannot be read.
std::optional<std::string> read_small_file(const std::string& path);

// One profile as the two files describe it: the credentials file's keys win
// over the config file's ("[profile name]"; "[default]" for "default").
struct AwsProfile {
  bool found = false;  // in either file
  IniSection values;   // keys lower-cased
  std::string value(const std::string& key) const {
    auto it = values.find(key);
    return it == values.end() ? std::string() : it->second;
  }
};
AwsProfile load_aws_profile(const std::string& credentials_file, const std::string& config_file,
                            const std::string& profile);

}  // namespace llmux::provider
