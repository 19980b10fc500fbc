// -----------------------------------------------------------------------------
// File: state/redis_settings.hpp
// -----------------------------------------------------------------------------
// From the router settings (and the environment) to what shared routing state
// needs: where Redis is and how to log in (RedisLinkOptions), the key
// namespace, and llmux's own knobs — resolved the way LiteLLM's Router builds
// its Redis client, so a config and environment that put a LiteLLM fleet on
// one Redis put llmux on the same one:
//
// 1. Redis is used only when redis_url is set, or redis_host and redis_port
//    both are (Router.__init__). Neither cache_kwargs nor the environment
//    alone turn it on: with REDIS_HOST exported and nothing in the config,
//    LiteLLM's Router keeps its state in memory, and so does llmux.
// 2. The explicit values are the redis_* arguments with cache_kwargs merged
//    over them; the REDIS_* environment variables (REDIS_HOST, REDIS_PORT,
//    REDIS_PASSWORD, REDIS_USERNAME, REDIS_DB, REDIS_SSL, REDIS_URL,
//    REDIS_SOCKET_CONNECT_TIMEOUT, and REDIS_SENTINEL_NODES,
//    REDIS_SERVICE_NAME, REDIS_SENTINEL_PASSWORD, REDIS_CLUSTER_NODES) fill in
//    what those leave unset (_redis._get_redis_client_logic). The config's
//    environment_variables section counts as environment, first.
// 3. Then, in LiteLLM's order: a URL wins and everything else that says where
//    or how to log in is dropped (LiteLLM passes the URL alone, so an exported
//    REDIS_URL beats redis_host/redis_port — a warning says so); else Cluster
//    nodes; else Sentinel (nodes and a service name); else host and port
//    (default 6379).
//
// What this build cannot do is a clear kInvalidConfig naming the key and the
// reason: TLS (rediss://, ssl: true, REDIS_SSL=true — hiredis 0.14 has no TLS)
// and Redis Cluster (startup_nodes, REDIS_CLUSTER_NODES: not supported yet).
// Sentinel is supported: the link asks the sentinels for the master. No
// message, warning or describe() ever contains a password, and URL errors
// never quote the URL.
//
// Plain functions and data, no state.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llmux/clock.hpp"
#include "llmux/config.hpp"
#include "llmux/error.hpp"
#include "state/redis_link.hpp"

namespace llmux::state {

struct SharedStateSettings {
  RedisLinkOptions link;     // endpoint and timeouts
  std::string key_namespace; // cache_kwargs.namespace; empty = none (state/litellm_keys.hpp)
  // The longest a call may wait on Redis (redis_max_wait).
  Duration max_wait = std::chrono::microseconds(5000);
  // How often keys other writers own are re-read (redis_sync_interval).
  Duration sync_interval = std::chrono::milliseconds(250);
  // Values LiteLLM would ignore too, each naming its key (for the log).
  std::vector<std::string> warnings;
};

// nullopt when the settings do not configure Redis (rule 1 above): the router
// keeps its state in memory, exactly as without this feature. `env` empty =
// the process environment.
Result<std::optional<SharedStateSettings>> resolve_shared_state_settings(const RouterSettings& settings,
                                                                         const EnvLookup& env = {});

// A Redis URL as redis-py reads it: redis://[[user]:password@]host[:port][/db]
// and unix://[[user]:password@]/path, percent-decoded, with ?db=N (it beats
// the path), ?username= and ?password=; other query arguments are ignored
// with a warning appended to `warnings` (may be null). `what` names the
// source in errors ("router_settings.redis_url"); errors never quote the URL.
// rediss:// is an error (no TLS in this build).
Result<RedisEndpoint> parse_redis_url(std::string_view url, std::string_view what,
                                      std::vector<std::string>* warnings = nullptr);

}  // namespace llmux::state
