// -----------------------------------------------------------------------------
// File: config/redis_config.hpp
// -----------------------------------------------------------------------------
// The Redis keys of router_settings that need more than a scalar reader:
// cache_kwargs (the keyword arguments LiteLLM's Router passes to its Redis
// client), Sentinel / Cluster node lists, and the REDIS_* entries of the
// config's environment_variables section. Whether Redis is used, and how the
// environment fills in, is decided later (state/redis_settings.hpp): here
// values are only typed and checked, every error naming its path. Plain
// functions, no state.
#pragma once

#include <string_view>
#include <vector>

#include "config/config_value.hpp"
#include "config/value_reader.hpp"
#include "llmux/config.hpp"

namespace llmux::config {

// router_settings.cache_kwargs → `out`. Keys llmux does not use (other
// redis-py arguments) and unknown keys get a warning; a wrong value is an
// error naming its path. Null members are "not given".
Status read_redis_cache_kwargs(const Value& v, std::string_view path, ParseContext& ctx, RedisCacheKwargs& out);

// A node list: [host, port] pairs (LiteLLM's sentinel_nodes) or {host, port}
// maps (its startup_nodes), or that list as JSON text (LiteLLM json.loads a
// string value).
Status read_redis_nodes(const Value& v, std::string_view path, std::vector<RedisNode>& out);

// The same from text, e.g. the REDIS_SENTINEL_NODES environment variable;
// `what` names the source in errors ("REDIS_SENTINEL_NODES (environment)").
Result<std::vector<RedisNode>> parse_redis_nodes(std::string_view text, std::string_view what);

// Copies the REDIS_* variables of the environment_variables section (may be
// null) into settings.redis_environment.
void capture_redis_environment(const Value* config_env, RouterSettings& settings);

}  // namespace llmux::config
