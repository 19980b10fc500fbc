#include "config/redis_config.hpp"

#include <algorithm>
#include <iterator>

#include "fmt/format.h"

namespace llmux::config {
namespace {

constexpr std::string_view kNodesExpected = "expected a list of [host, port] pairs or {host, port} maps";

Status read_optional_string(const Value& v, std::string_view path, std::optional<std::string>& out) {
  std::string text;
  LLMUX_CONFIG_TRY(read_string(v, path, text));
  out = std::move(text);
  return Status::Ok();
}

Status read_port(const Value& v, std::string_view path, int& out) {
  int64_t port = 0;
  LLMUX_CONFIG_TRY(read_int(v, path, 1, 65535, port));
  out = static_cast<int>(port);
  return Status::Ok();
}

Status read_node(const Value& item, const std::string& path, RedisNode& node) {
  const Value* host = nullptr;
  const Value* port = nullptr;
  std::string host_path = path;
  std::string port_path = path;
  if (item.is_list() && item.items.size() == 2) {
    host = &item.items[0];
    port = &item.items[1];
    host_path = index_path(path, 0);
    port_path = index_path(path, 1);
  } else if (item.is_map()) {
    host = item.find("host");
    port = item.find("port");
    host_path = child_path(path, "host");
    port_path = child_path(path, "port");
    if (host == nullptr || host->is_null()) return config_error(host_path, "required", &item);
    if (port == nullptr || port->is_null()) return config_error(port_path, "required", &item);
  } else {
    return config_error(path, fmt::format("expected [host, port] or {{host, port}}, got {}", describe(item)), &item);
  }
  LLMUX_CONFIG_TRY(read_string(*host, host_path, node.host));
  if (node.host.empty()) return config_error(host_path, "the host is empty", host);
  return read_port(*port, port_path, node.port);
}

// Keys of cache_kwargs llmux reads; the rest are other redis-py arguments.
constexpr std::string_view kCacheKwargs[] = {
    "url", "host", "port", "username", "password", "db", "ssl", "namespace", "socket_timeout",
    "socket_connect_timeout", "sentinel_nodes", "service_name", "sentinel_password", "startup_nodes",
};

// redis-py / LiteLLM arguments that change nothing here (connection pooling,
// decoding, TLS details without TLS, GCP IAM): a plain "not used" warning,
// no did-you-mean.
constexpr std::string_view kCacheKwargsNotUsed[] = {
    "max_connections", "health_check_interval", "retry_on_timeout", "socket_keepalive", "socket_keepalive_options",
    "decode_responses", "encoding", "encoding_errors", "client_name", "redis_flush_size", "ssl_cert_reqs",
    "ssl_ca_certs", "ssl_certfile", "ssl_keyfile", "ssl_check_hostname", "gcp_service_account", "gcp_ssl_ca_certs",
    "ttl", "default_ttl",
};

}  // namespace

Status read_redis_nodes(const Value& v, std::string_view path, std::vector<RedisNode>& out) {
  if (v.is_string()) {
    Result<std::vector<RedisNode>> parsed = parse_redis_nodes(v.text, path);
    if (!parsed.ok()) return std::move(parsed).error();
    out = std::move(parsed).value();
    return Status::Ok();
  }
  if (!v.is_list()) return config_error(path, fmt::format("{}, got {}", kNodesExpected, describe(v)), &v);
  std::vector<RedisNode> nodes;
  nodes.reserve(v.items.size());
  for (size_t i = 0; i < v.items.size(); ++i) {
    RedisNode node;
    LLMUX_CONFIG_TRY(read_node(v.items[i], index_path(path, i), node));
    nodes.push_back(std::move(node));
  }
  out = std::move(nodes);
  return Status::Ok();
}

Result<std::vector<RedisNode>> parse_redis_nodes(std::string_view text, std::string_view what) {
  Result<Value> loaded = load_yaml(text);
  if (!loaded.ok()) return config_error(what, fmt::format("not valid JSON ({})", loaded.error().message));
  if (!loaded->is_list()) return config_error(what, kNodesExpected);
  std::vector<RedisNode> nodes;
  LLMUX_CONFIG_TRY(read_redis_nodes(*loaded, what, nodes));
  return nodes;
}

Status read_redis_cache_kwargs(const Value& v, std::string_view path, ParseContext& ctx, RedisCacheKwargs& out) {
  LLMUX_CONFIG_TRY(expect_map(v, path));
  RedisCacheKwargs kwargs;
  for (const auto& [key, member] : v.members) {
    const std::string member_path = child_path(path, key);
    if (std::find(std::begin(kCacheKwargs), std::end(kCacheKwargs), key) == std::end(kCacheKwargs)) {
      if (std::find(std::begin(kCacheKwargsNotUsed), std::end(kCacheKwargsNotUsed), key) !=
          std::end(kCacheKwargsNotUsed)) {
        ctx.warn(fmt::format("{}: not used by llmux, ignored", member_path));
      } else {
        ctx.warn(unknown_key_warning(member_path, key, kCacheKwargs));
      }
      continue;
    }
    if (member.is_null()) continue;  // None: not given
    if (key == "url") {
      LLMUX_CONFIG_TRY(read_optional_string(member, member_path, kwargs.url));
    } else if (key == "host") {
      LLMUX_CONFIG_TRY(read_optional_string(member, member_path, kwargs.host));
    } else if (key == "port") {
      int port = 0;
      LLMUX_CONFIG_TRY(read_port(member, member_path, port));
      kwargs.port = port;
    } else if (key == "username") {
      LLMUX_CONFIG_TRY(read_optional_string(member, member_path, kwargs.username));
    } else if (key == "password") {
      LLMUX_CONFIG_TRY(read_optional_string(member, member_path, kwargs.password));
    } else if (key == "db") {
      int db = 0;
      LLMUX_CONFIG_TRY(read_int(member, member_path, 0, db));
      kwargs.db = db;
    } else if (key == "ssl") {
      bool ssl = false;
      LLMUX_CONFIG_TRY(read_bool(member, member_path, ssl));
      kwargs.ssl = ssl;
    } else if (key == "namespace") {
      LLMUX_CONFIG_TRY(read_optional_string(member, member_path, kwargs.key_namespace));
    } else if (key == "socket_timeout" || key == "socket_connect_timeout") {
      double seconds = 0;
      LLMUX_CONFIG_TRY(read_number(member, member_path, 0, true, seconds));
      (key == "socket_timeout" ? kwargs.socket_timeout_seconds : kwargs.socket_connect_timeout_seconds) = seconds;
    } else if (key == "sentinel_nodes" || key == "startup_nodes") {
      std::vector<RedisNode> nodes;
      LLMUX_CONFIG_TRY(read_redis_nodes(member, member_path, nodes));
      (key == "sentinel_nodes" ? kwargs.sentinel_nodes : kwargs.startup_nodes) = std::move(nodes);
    } else if (key == "service_name") {
      LLMUX_CONFIG_TRY(read_optional_string(member, member_path, kwargs.service_name));
    } else if (key == "sentinel_password") {
      LLMUX_CONFIG_TRY(read_optional_string(member, member_path, kwargs.sentinel_password));
    }
  }
  out = std::move(kwargs);
  return Status::Ok();
}

void capture_redis_environment(const Value* config_env, RouterSettings& settings) {
  if (config_env == nullptr || !config_env->is_map()) return;
  for (const auto& [name, value] : config_env->members) {
    if (!name.starts_with("REDIS_") || !value.is_scalar()) continue;
    // As ParseContext::lookup reads the section: numbers as written.
    settings.redis_environment[name] = value.is_string() ? value.text : describe(value);
  }
}

}  // namespace llmux::config
