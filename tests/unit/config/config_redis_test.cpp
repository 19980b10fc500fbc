// The Redis keys of router_settings: LiteLLM's redis_* arguments and
// cache_kwargs, llmux's redis_* knobs, the REDIS_* entries of
// environment_variables; YAML and JSON; every wrong value an error naming its
// path. Whether Redis is then used is tests/unit/state/redis_settings_test.cpp.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "llmux/config.hpp"
#include "unit/config/config_test_util.hpp"

namespace llmux {
namespace {

using config_test::env_of;
using config_test::has_warning;
using config_test::parse_ok;

std::string error_of(const std::string& text, const EnvLookup& env = env_of({})) {
  auto result = parse_config(text, env);
  if (result.ok()) return "(no error)";
  CHECK(result.error().kind == ErrorKind::kInvalidConfig);
  return result.error().message;
}

std::string router_settings(const std::string& body) { return "model_list: []\nrouter_settings:\n" + body + "\n"; }

TEST_CASE("without Redis keys nothing is set", "[config][redis]") {
  const RouterSettings s = parse_ok("model_list: []\n").settings;
  CHECK(s.redis_url.empty());
  CHECK(s.redis_host.empty());
  CHECK(s.redis_port == 0);
  CHECK(s.redis_password.empty());
  CHECK_FALSE(s.redis_db.has_value());
  const RedisCacheKwargs& k = s.redis_cache_kwargs;
  CHECK_FALSE(k.url.has_value());
  CHECK_FALSE(k.host.has_value());
  CHECK_FALSE(k.port.has_value());
  CHECK_FALSE(k.key_namespace.has_value());
  CHECK_FALSE(k.sentinel_nodes.has_value());
  CHECK_FALSE(k.startup_nodes.has_value());
  CHECK(s.redis_environment.empty());
  CHECK_FALSE(s.redis_command_timeout_seconds.has_value());
  CHECK(s.redis_max_wait_seconds == 0.005);
  CHECK(s.redis_sync_interval_seconds == 0.25);
}

void check_every_key(const RouterConfig& c) {
  const RouterSettings& s = c.settings;
  CHECK(s.redis_url == "redis://cache:6380/2");
  CHECK(s.redis_host == "cache");
  CHECK(s.redis_port == 6380);
  CHECK(s.redis_password == "pw");
  CHECK(s.redis_db == 3);
  const RedisCacheKwargs& k = s.redis_cache_kwargs;
  CHECK(k.url == "redis://other:6381");
  CHECK(k.host == "other");
  CHECK(k.port == 6381);
  CHECK(k.username == "alice");
  CHECK(k.password == "kw-pw");
  CHECK(k.db == 4);
  CHECK(k.ssl == false);
  CHECK(k.key_namespace == "fleet1");
  CHECK(k.socket_timeout_seconds == 0.5);
  CHECK(k.socket_connect_timeout_seconds == 0.1);
  CHECK(k.sentinel_nodes == std::vector<RedisNode>{{"s1", 26379}, {"s2", 26380}});
  CHECK(k.service_name == "mymaster");
  CHECK(k.sentinel_password == "s-pw");
  CHECK(k.startup_nodes == std::vector<RedisNode>{{"n1", 7000}, {"n2", 7001}});
  CHECK(s.redis_command_timeout_seconds == 0.1);
  CHECK(s.redis_max_wait_seconds == 0.002);
  CHECK(s.redis_sync_interval_seconds == 0.5);
  // LiteLLM logs the same deprecation; nothing else is worth a warning.
  CHECK(c.warnings == std::vector<std::string>{
                          "router_settings.redis_db: deprecated by LiteLLM, use router_settings.cache_kwargs.db"});
}

TEST_CASE("every Redis key is read, from YAML and from JSON", "[config][redis]") {
  SECTION("YAML") {
    check_every_key(parse_ok(router_settings(R"(
  redis_url: redis://cache:6380/2
  redis_host: cache
  redis_port: 6380
  redis_password: pw
  redis_db: 3
  cache_kwargs:
    url: redis://other:6381
    host: other
    port: "6381"
    username: alice
    password: kw-pw
    db: 4
    ssl: false
    namespace: fleet1
    socket_timeout: 0.5
    socket_connect_timeout: 0.1
    sentinel_nodes: [[s1, 26379], ["s2", "26380"]]
    service_name: mymaster
    sentinel_password: s-pw
    startup_nodes: [{host: n1, port: 7000}, {host: n2, port: 7001}]
  redis_command_timeout: 0.1
  redis_max_wait: 0.002
  redis_sync_interval: 0.5)")));
  }
  SECTION("JSON") {
    check_every_key(parse_ok(R"({"model_list": [], "router_settings": {
      "redis_url": "redis://cache:6380/2", "redis_host": "cache", "redis_port": 6380, "redis_password": "pw",
      "redis_db": 3,
      "cache_kwargs": {"url": "redis://other:6381", "host": "other", "port": 6381, "username": "alice",
        "password": "kw-pw", "db": 4, "ssl": false, "namespace": "fleet1", "socket_timeout": 0.5,
        "socket_connect_timeout": 0.1, "sentinel_nodes": [["s1", 26379], ["s2", 26380]],
        "service_name": "mymaster", "sentinel_password": "s-pw",
        "startup_nodes": "[{\"host\": \"n1\", \"port\": 7000}, {\"host\": \"n2\", \"port\": 7001}]"},
      "redis_command_timeout": 0.1, "redis_max_wait": 0.002, "redis_sync_interval": 0.5}})"));
  }
}

TEST_CASE("cache_kwargs: other redis-py arguments and typos are warnings", "[config][redis]") {
  const RouterConfig c = parse_ok(router_settings(R"(
  cache_kwargs:
    max_connections: 50
    ssl_cert_reqs: none
    namespce: oops
    db: null)"));
  CHECK(has_warning(c, "router_settings.cache_kwargs.max_connections: not used by llmux, ignored"));
  CHECK(has_warning(c, "router_settings.cache_kwargs.ssl_cert_reqs: not used by llmux, ignored"));
  CHECK(has_warning(c, "router_settings.cache_kwargs.namespce: unknown key, ignored (did you mean namespace?)"));
  CHECK(c.warnings.size() == 3);
  CHECK_FALSE(c.settings.redis_cache_kwargs.db.has_value());  // None: not given
  CHECK_FALSE(c.settings.redis_cache_kwargs.key_namespace.has_value());
}

TEST_CASE("os.environ references work inside cache_kwargs", "[config][redis]") {
  const RouterConfig c = parse_ok(router_settings(R"(
  redis_host: os.environ/MY_REDIS_HOST
  redis_port: os.environ/MY_REDIS_PORT
  cache_kwargs: {password: os.environ/MY_REDIS_PW, sentinel_nodes: os.environ/MY_SENTINELS})"),
                                  env_of({{"MY_REDIS_HOST", "cache"},
                                          {"MY_REDIS_PORT", "6390"},
                                          {"MY_REDIS_PW", "hunter2"},
                                          {"MY_SENTINELS", R"([["s1", 26379]])"}}));
  CHECK(c.warnings.empty());
  CHECK(c.settings.redis_host == "cache");
  CHECK(c.settings.redis_port == 6390);
  CHECK(c.settings.redis_cache_kwargs.password == "hunter2");
  CHECK(c.settings.redis_cache_kwargs.sentinel_nodes == std::vector<RedisNode>{{"s1", 26379}});
}

TEST_CASE("environment_variables' REDIS_* entries are kept for the Redis client", "[config][redis]") {
  const RouterConfig c = parse_ok(R"(
environment_variables:
  REDIS_PASSWORD: from-section
  REDIS_PORT: 6391
  REDIS_SSL: false
  OTHER: x
  REDIS_LIST: [a]
model_list: []
)");
  CHECK(c.settings.redis_environment ==
        std::map<std::string, std::string>{{"REDIS_PASSWORD", "from-section"}, {"REDIS_PORT", "6391"},
                                           {"REDIS_SSL", "false"}});
}

TEST_CASE("a wrong Redis value is an error naming its path", "[config][redis]") {
  struct Bad {
    std::string body;
    std::string prefix;
  };
  const Bad cases[] = {
      {"  redis_db: -1", "router_settings.redis_db: expected an integer >= 0, got -1"},
      {"  redis_db: two", "router_settings.redis_db: expected an integer >= 0, got 'two'"},
      {"  cache_kwargs: [a]", "router_settings.cache_kwargs: expected a map, got a list"},
      {"  cache_kwargs: {port: 0}", "router_settings.cache_kwargs.port: expected an integer between 1 and 65535"},
      {"  cache_kwargs: {port: http}", "router_settings.cache_kwargs.port: expected an integer between 1 and 65535"},
      {"  cache_kwargs: {db: -2}", "router_settings.cache_kwargs.db: expected an integer >= 0"},
      {"  cache_kwargs: {ssl: maybe}", "router_settings.cache_kwargs.ssl: expected true or false, got 'maybe'"},
      {"  cache_kwargs: {password: [a]}", "router_settings.cache_kwargs.password: expected a string, got a list"},
      {"  cache_kwargs: {socket_timeout: 0}", "router_settings.cache_kwargs.socket_timeout: expected a number > 0"},
      {"  cache_kwargs: {sentinel_nodes: s1}", "router_settings.cache_kwargs.sentinel_nodes: expected a list of [host, "
                                              "port] pairs or {host, port} maps"},
      {"  cache_kwargs: {sentinel_nodes: '[[\"s1\"'}", "router_settings.cache_kwargs.sentinel_nodes: not valid JSON"},
      {"  cache_kwargs: {sentinel_nodes: [[s1]]}",
       "router_settings.cache_kwargs.sentinel_nodes[0]: expected [host, port] or {host, port}, got a list"},
      {"  cache_kwargs: {sentinel_nodes: [[s1, 0]]}",
       "router_settings.cache_kwargs.sentinel_nodes[0][1]: expected an integer between 1 and 65535, got 0"},
      {"  cache_kwargs: {sentinel_nodes: [['', 1]]}",
       "router_settings.cache_kwargs.sentinel_nodes[0][0]: the host is empty"},
      {"  cache_kwargs: {startup_nodes: [{host: n1}]}",
       "router_settings.cache_kwargs.startup_nodes[0].port: required"},
      {"  redis_command_timeout: 0", "router_settings.redis_command_timeout: expected a number > 0, got 0"},
      {"  redis_max_wait: -0.001", "router_settings.redis_max_wait: expected a number >= 0, got -0.001"},
      {"  redis_sync_interval: soon", "router_settings.redis_sync_interval: expected a number > 0, got 'soon'"},
  };
  for (const Bad& bad : cases) {
    INFO(bad.body);
    const std::string message = error_of(router_settings(bad.body));
    CHECK(message.substr(0, bad.prefix.size()) == bad.prefix);
  }
  SECTION("a secret from the environment is never quoted") {
    const std::string message =
        error_of(router_settings("  cache_kwargs: {port: os.environ/SECRET_PORT}"), env_of({{"SECRET_PORT", "s3cr3t"}}));
    CHECK(message.find("s3cr3t") == std::string::npos);
    CHECK(message.find("SECRET_PORT") != std::string::npos);
  }
  SECTION("redis_max_wait may be zero: never wait on Redis") {
    CHECK(parse_ok(router_settings("  redis_max_wait: 0")).settings.redis_max_wait_seconds == 0);
  }
}

}  // namespace
}  // namespace llmux
