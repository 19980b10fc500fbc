// Fuzz target: parse_config and parse_deployment (LiteLLM config, YAML or
// JSON). Input: byte 0 chooses the entry point (bit 0); the rest is the text.
// Environment references (os.environ/NAME) resolve through a fixed fake
// environment: names of even length exist, odd ones do not.
// Properties: a failure is kInvalidConfig with a message (UTF-8 when the
// input is); a success is the same on a second parse (deployment ids are
// stable); the JSON texts a deployment carries (litellm_params, model_info)
// are valid JSON, and its names UTF-8, when the input was valid UTF-8. A
// parsed config's Redis settings are resolved too (state/redis_settings, the
// same fake environment underneath): a failure is kInvalidConfig with a
// message, UTF-8 when the input is; a success describes a reachable endpoint.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <simdjson.h>

#include "fuzz_check.hpp"
#include "llmux/config.hpp"
#include "state/redis_settings.hpp"

namespace {

using llmux::DeploymentConfig;
using llmux::ErrorKind;

std::optional<std::string> fake_env(std::string_view name) {
  if (name.size() % 2 != 0) return std::nullopt;
  return "env-" + std::string(name);
}

bool valid_json(std::string_view text) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  return parser.parse(simdjson::padded_string(text)).get(root) == simdjson::SUCCESS;
}

bool is_utf8(std::string_view s) { return simdjson::validate_utf8(s.data(), s.size()); }

void check_deployment(const DeploymentConfig& d, bool utf8) {
  FUZZ_CHECK(!d.id.empty());
  if (utf8) {
    FUZZ_CHECK(is_utf8(d.id) && is_utf8(d.model_name) && is_utf8(d.model) && is_utf8(d.api_base));
    FUZZ_CHECK(valid_json(d.litellm_params_json));
    FUZZ_CHECK(d.model_info_json.empty() || valid_json(d.model_info_json));
  }
}

template <class T>
void check_failure(const llmux::Result<T>& r, bool utf8) {
  FUZZ_CHECK(r.error().kind == ErrorKind::kInvalidConfig);
  FUZZ_CHECK(!r.error().message.empty());
  if (utf8) FUZZ_CHECK(is_utf8(r.error().message));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  const bool utf8 = is_utf8(text);

  if (data[0] & 1) {
    auto d = llmux::parse_deployment(text, fake_env);
    if (!d.ok()) {
      check_failure(d, utf8);
      return 0;
    }
    check_deployment(d.value(), utf8);
    auto again = llmux::parse_deployment(text, fake_env);
    FUZZ_CHECK(again.ok() && again.value().id == d.value().id);
    return 0;
  }

  auto config = llmux::parse_config(text, fake_env);
  if (!config.ok()) {
    check_failure(config, utf8);
    return 0;
  }
  for (const DeploymentConfig& d : config.value().model_list) check_deployment(d, utf8);
  const auto shared = llmux::state::resolve_shared_state_settings(config.value().settings, fake_env);
  if (!shared.ok()) {
    check_failure(shared, utf8);
  } else if (shared.value().has_value()) {
    const llmux::state::RedisEndpoint& endpoint = shared.value()->link.endpoint;
    FUZZ_CHECK(!endpoint.describe().empty());
    FUZZ_CHECK(!endpoint.sentinel_nodes.empty() || !endpoint.unix_socket.empty() ||
               (endpoint.port >= 1 && endpoint.port <= 65535));
  }
  auto again = llmux::parse_config(text, fake_env);
  FUZZ_CHECK(again.ok() && again.value().model_list.size() == config.value().model_list.size());
  for (size_t i = 0; i < config.value().model_list.size(); ++i) {
    FUZZ_CHECK(again.value().model_list[i].id == config.value().model_list[i].id);
  }
  return 0;
}
