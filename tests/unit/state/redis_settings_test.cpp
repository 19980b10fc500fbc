// Whether and how Redis is used, resolved from a parsed config and an
// injected environment as LiteLLM's Router builds its Redis client: the
// enabling rule, the environment underneath explicit values, URL / Cluster /
// Sentinel / host order, what this build refuses, and no password anywhere.
#include <catch2/catch.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "llmux/config.hpp"
#include "state/redis_settings.hpp"

namespace llmux::state {
namespace {

using Env = std::map<std::string, std::string>;

EnvLookup env_of(Env vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

RouterSettings settings_of(const std::string& router_settings_body, const std::string& before = "") {
  auto config = parse_config(before + "model_list: []\nrouter_settings:\n" + router_settings_body + "\n", env_of({}));
  if (!config.ok()) FAIL(config.error().message);
  return config->settings;
}

Result<std::optional<SharedStateSettings>> resolve(const RouterSettings& s, Env env = {}) {
  return resolve_shared_state_settings(s, env_of(std::move(env)));
}

// Resolves and expects Redis to be configured.
SharedStateSettings enabled(const RouterSettings& s, Env env = {}) {
  auto r = resolve(s, std::move(env));
  if (!r.ok()) FAIL(r.error().message);
  if (!r->has_value()) FAIL("Redis is not configured");
  return std::move(**r);
}

std::string error_of(const RouterSettings& s, Env env = {}) {
  auto r = resolve(s, std::move(env));
  if (r.ok()) return "(no error)";
  CHECK(r.error().kind == ErrorKind::kInvalidConfig);
  return r.error().message;
}

bool has_warning_containing(const SharedStateSettings& s, std::string_view text) {
  for (const std::string& w : s.warnings) {
    if (w.find(text) != std::string::npos) return true;
  }
  return false;
}

// Every variable LiteLLM's Redis client would read.
const Env kFullEnvironment = {
    {"REDIS_HOST", "env-host"},         {"REDIS_PORT", "6400"},
    {"REDIS_PASSWORD", "env-pw"},       {"REDIS_USERNAME", "env-user"},
    {"REDIS_DB", "7"},                  {"REDIS_URL", "redis://env-url:6401/1"},
    {"REDIS_SSL", "true"},              {"REDIS_SENTINEL_NODES", R"([["s", 26379]])"},
    {"REDIS_SERVICE_NAME", "mymaster"}, {"REDIS_CLUSTER_NODES", R"([{"host": "n", "port": 7000}])"},
};

// kFullEnvironment without what would take the endpoint elsewhere (URL,
// Sentinel, Cluster) or refuse it (TLS).
Env host_environment() {
  Env env = kFullEnvironment;
  for (const char* name : {"REDIS_URL", "REDIS_SENTINEL_NODES", "REDIS_CLUSTER_NODES", "REDIS_SSL"}) env.erase(name);
  return env;
}

TEST_CASE("without Redis settings nothing changes, whatever the environment says", "[state][redis_settings]") {
  SECTION("no settings, no environment") {
    auto r = resolve(RouterSettings{});
    REQUIRE(r.ok());
    CHECK_FALSE(r->has_value());
  }
  SECTION("the environment alone never turns Redis on (LiteLLM's Router looks only at its arguments)") {
    auto r = resolve(RouterSettings{}, kFullEnvironment);
    REQUIRE(r.ok());
    CHECK_FALSE(r->has_value());
    // Not even REDIS_HOST and REDIS_PORT exported, nor the config's environment_variables.
    auto s = settings_of("  num_retries: 1", "environment_variables: {REDIS_HOST: h, REDIS_PORT: 6379}\n");
    CHECK(s.redis_environment.size() == 2);
    r = resolve(s, {{"REDIS_HOST", "h"}, {"REDIS_PORT", "6379"}});
    REQUIRE(r.ok());
    CHECK_FALSE(r->has_value());
  }
  SECTION("nor do cache_kwargs alone, a password alone, or a host without a port") {
    for (const char* body : {"  cache_kwargs: {host: h, port: 6379, url: 'redis://h'}", "  redis_password: pw",
                             "  redis_host: h", "  redis_port: 6379", "  redis_db: 1"}) {
      INFO(body);
      auto r = resolve(settings_of(body), {{"REDIS_HOST", "h"}, {"REDIS_PORT", "6379"}});
      REQUIRE(r.ok());
      CHECK_FALSE(r->has_value());
    }
  }
  SECTION("the environment is not even read then: a bad value there is no error") {
    auto r = resolve(RouterSettings{}, {{"REDIS_PORT", "not-a-port"}, {"REDIS_SSL", "true"}});
    REQUIRE(r.ok());
    CHECK_FALSE(r->has_value());
  }
}

TEST_CASE("host and port: the explicit values, the environment underneath", "[state][redis_settings]") {
  SECTION("host and port alone") {
    const SharedStateSettings s = enabled(settings_of("  redis_host: cache\n  redis_port: 6380"));
    const RedisEndpoint& e = s.link.endpoint;
    CHECK(e.host == "cache");
    CHECK(e.port == 6380);
    CHECK(e.unix_socket.empty());
    CHECK(e.username.empty());
    CHECK(e.password.empty());
    CHECK(e.db == 0);
    CHECK(e.sentinel_nodes.empty());
    CHECK(s.key_namespace.empty());
    CHECK(s.warnings.empty());
    CHECK(e.describe() == "redis://cache:6380/0");
  }
  SECTION("REDIS_PASSWORD, REDIS_USERNAME and REDIS_DB fill in what the config leaves unset") {
    const SharedStateSettings s = enabled(settings_of("  redis_host: cache\n  redis_port: 6380"),
                                          {{"REDIS_PASSWORD", "env-pw"}, {"REDIS_USERNAME", "env-user"},
                                           {"REDIS_DB", "7"}, {"REDIS_HOST", "ignored"}, {"REDIS_PORT", "1"}});
    const RedisEndpoint& e = s.link.endpoint;
    CHECK(e.host == "cache");
    CHECK(e.port == 6380);
    CHECK(e.password == "env-pw");
    CHECK(e.username == "env-user");
    CHECK(e.db == 7);
  }
  SECTION("explicit values win over the environment; cache_kwargs win over redis_*") {
    const SharedStateSettings s = enabled(settings_of(R"(  redis_host: cache
  redis_port: 6380
  redis_password: arg-pw
  redis_db: 2
  cache_kwargs: {host: kw-host, port: 6390, password: kw-pw, username: kw-user, db: 3})"),
                                          host_environment());
    const RedisEndpoint& e = s.link.endpoint;
    CHECK(e.host == "kw-host");
    CHECK(e.port == 6390);
    CHECK(e.password == "kw-pw");
    CHECK(e.username == "kw-user");
    CHECK(e.db == 3);
  }
  SECTION("the deprecated redis_db still selects the database") {
    CHECK(enabled(settings_of("  redis_host: h\n  redis_port: 1\n  redis_db: 5"), {{"REDIS_DB", "9"}}).link.endpoint.db ==
          5);
  }
  SECTION("the config's environment_variables come before the process environment") {
    const RouterSettings s = settings_of("  redis_host: h\n  redis_port: 6379",
                                         "environment_variables: {REDIS_PASSWORD: section-pw, REDIS_DB: 4}\n");
    const SharedStateSettings r = enabled(s, {{"REDIS_PASSWORD", "process-pw"}, {"REDIS_DB", "1"}});
    CHECK(r.link.endpoint.password == "section-pw");
    CHECK(r.link.endpoint.db == 4);
  }
  SECTION("an empty variable counts as unset") {
    CHECK(enabled(settings_of("  redis_host: h\n  redis_port: 1"), {{"REDIS_PASSWORD", ""}}).link.endpoint.password ==
          "");
  }
  SECTION("REDIS_SSL=false is plain Redis") {
    CHECK(enabled(settings_of("  redis_host: h\n  redis_port: 1"), {{"REDIS_SSL", "False"}}).link.endpoint.host == "h");
  }
}

TEST_CASE("a URL wins, as LiteLLM hands redis-py the URL alone", "[state][redis_settings]") {
  SECTION("redis_url with user, password, database") {
    const SharedStateSettings s =
        enabled(settings_of("  redis_url: redis://alice:p%40ss%3Aword@Cache.Example:6385/3"), kFullEnvironment);
    const RedisEndpoint& e = s.link.endpoint;
    CHECK(e.host == "cache.example");
    CHECK(e.port == 6385);
    CHECK(e.username == "alice");
    CHECK(e.password == "p@ss:word");
    CHECK(e.db == 3);
    CHECK(e.sentinel_nodes.empty());
    // REDIS_SSL, REDIS_CLUSTER_NODES, sentinels ... all dropped with the URL.
    CHECK(e.describe() == "redis://cache.example:6385/3");
  }
  SECTION("explicit login settings next to a URL are ignored, with a warning naming them") {
    const SharedStateSettings s = enabled(settings_of(R"(  redis_url: redis://h:1
  redis_password: arg-pw
  cache_kwargs: {username: u, db: 2, ssl: false})"));
    CHECK(s.link.endpoint.password.empty());
    CHECK(s.link.endpoint.username.empty());
    CHECK(s.link.endpoint.db == 0);
    CHECK(has_warning_containing(s, "router_settings.redis_password: ignored, router_settings.redis_url says where"));
    CHECK(has_warning_containing(s, "router_settings.cache_kwargs.username: ignored"));
    CHECK(has_warning_containing(s, "router_settings.cache_kwargs.db: ignored"));
    CHECK(has_warning_containing(s, "router_settings.cache_kwargs.ssl: ignored"));
    for (const std::string& w : s.warnings) CHECK(w.find("arg-pw") == std::string::npos);
  }
  SECTION("cache_kwargs.url beats redis_url") {
    CHECK(enabled(settings_of("  redis_url: redis://a\n  cache_kwargs: {url: 'redis://b:2'}")).link.endpoint.host ==
          "b");
  }
  SECTION("an exported REDIS_URL beats redis_host/redis_port (LiteLLM's quirk), and says so") {
    const SharedStateSettings s =
        enabled(settings_of("  redis_host: cache\n  redis_port: 6380"), {{"REDIS_URL", "redis://env-url:6401/1"}});
    CHECK(s.link.endpoint.host == "env-url");
    CHECK(s.link.endpoint.port == 6401);
    CHECK(s.link.endpoint.db == 1);
    CHECK(has_warning_containing(s, "REDIS_URL (environment) is used instead of the configured host and port"));
  }
  SECTION("unix sockets") {
    const SharedStateSettings s = enabled(settings_of("  redis_url: unix://:pw@/run/redis/redis.sock?db=2"));
    CHECK(s.link.endpoint.unix_socket == "/run/redis/redis.sock");
    CHECK(s.link.endpoint.password == "pw");
    CHECK(s.link.endpoint.db == 2);
    CHECK(s.link.endpoint.describe() == "unix:///run/redis/redis.sock?db=2");
  }
}

TEST_CASE("Redis URLs as redis-py reads them", "[state][redis_settings]") {
  struct Good {
    const char* url;
    const char* host;
    int port;
    const char* username;
    const char* password;
    int db;
  };
  const Good good[] = {
      {"redis://localhost", "localhost", 6379, "", "", 0},
      {"redis://localhost:6379/0", "localhost", 6379, "", "", 0},
      {"redis://localhost:6379/", "localhost", 6379, "", "", 0},
      {"redis://:secret@h:1/15", "h", 1, "", "secret", 15},
      {"redis://user@h", "h", 6379, "user", "", 0},
      {"redis://user:a:b@h", "h", 6379, "user", "a:b", 0},
      {"redis://u:p@ss@h", "h", 6379, "u", "p@ss", 0},  // the last '@' splits
      {"REDIS://H:2", "h", 2, "", "", 0},
      {"redis://[::1]:6380/4", "::1", 6380, "", "", 4},
      {"redis://[::1]", "::1", 6379, "", "", 0},
      {"redis://h/2?db=5", "h", 6379, "", "", 5},  // the query beats the path
      {"redis://h?password=q%20w&username=x", "h", 6379, "x", "q w", 0},
      {"redis://h:3/6#fragment", "h", 3, "", "", 6},
      {"redis://", "localhost", 6379, "", "", 0},
      {"  redis://h:4  ", "h", 4, "", "", 0},
      {"redis://h%2Dx", "h-x", 6379, "", "", 0},
  };
  for (const Good& g : good) {
    INFO(g.url);
    auto e = parse_redis_url(g.url, "url");
    REQUIRE(e.ok());
    CHECK(e->host == g.host);
    CHECK(e->port == g.port);
    CHECK(e->username == g.username);
    CHECK(e->password == g.password);
    CHECK(e->db == g.db);
    CHECK(e->unix_socket.empty());
  }
  CHECK(parse_redis_url("redis://[::1]:6380/4", "url")->describe() == "redis://[::1]:6380/4");

  std::vector<std::string> warnings;
  REQUIRE(parse_redis_url("redis://h?socket_timeout=1&db=1", "router_settings.redis_url", &warnings).ok());
  CHECK(warnings == std::vector<std::string>{
                        "router_settings.redis_url: query argument 'socket_timeout' is not used by llmux, ignored"});

  struct Bad {
    const char* url;
    const char* message;
  };
  const Bad bad[] = {
      {"rediss://:hunter2@h:6380", "url: rediss:// asks for TLS. TLS to Redis is not supported: this build's hiredis "
                                   "(0.14) has no TLS"},
      {"http://:hunter2@h", "url: expected redis://[[user]:password@]host[:port][/db] or "
                            "unix://[[user]:password@]/path"},
      {"hunter2", "url: expected redis://"},
      {"redis:hunter2@h", "url: expected redis:// followed by the host"},
      {"redis://:x@h:hunter2", "url: the port is not a number between 1 and 65535"},
      {"redis://:x@h:0", "url: the port is not a number between 1 and 65535"},
      {"redis://:x@h:70000", "url: the port is not a number between 1 and 65535"},
      {"redis://:hunter2@h/hunter2", "url: the path after the host is not a database number >= 0"},
      {"redis://h?db=hunter2", "url: the db query argument is not a number >= 0"},
      {"redis://[::1:6379", "url: an IPv6 address in the URL lacks its ']'"},
      {"unix://:hunter2@", "url: the socket path is empty"},
      {"unix://host/path", "url: expected unix:///path"},
  };
  for (const Bad& b : bad) {
    INFO(b.url);
    auto e = parse_redis_url(b.url, "url");
    REQUIRE_FALSE(e.ok());
    CHECK(e.error().kind == ErrorKind::kInvalidConfig);
    const std::string& message = e.error().message;
    CHECK(message.substr(0, std::string_view(b.message).size()) == b.message);
    CHECK(message.find("hunter2") == std::string::npos);  // a URL is never quoted
  }
}

TEST_CASE("what this build cannot do is a clear error naming the key", "[state][redis_settings]") {
  SECTION("TLS") {
    CHECK(error_of(settings_of("  redis_url: rediss://:pw@h:6380")) ==
          "router_settings.redis_url: rediss:// asks for TLS. TLS to Redis is not supported: this build's hiredis "
          "(0.14) has no TLS");
    CHECK(error_of(settings_of("  redis_host: h\n  redis_port: 1\n  cache_kwargs: {ssl: true}")) ==
          "router_settings.cache_kwargs.ssl: ssl: true asks for TLS. TLS to Redis is not supported: this build's "
          "hiredis (0.14) has no TLS");
    CHECK(error_of(settings_of("  redis_host: h\n  redis_port: 1"), {{"REDIS_SSL", "true"}}).starts_with(
        "REDIS_SSL (environment): ssl: true asks for TLS."));
    CHECK(error_of(settings_of("  redis_host: h\n  redis_port: 1"), {{"REDIS_SSL", "maybe"}}) ==
          "REDIS_SSL (environment): expected true or false");
    // cache_kwargs.ssl: false beats an exported REDIS_SSL=true.
    CHECK(enabled(settings_of("  redis_host: h\n  redis_port: 1\n  cache_kwargs: {ssl: false}"), {{"REDIS_SSL", "1"}})
              .link.endpoint.host == "h");
  }
  SECTION("Redis Cluster") {
    CHECK(error_of(settings_of("  redis_host: h\n  redis_port: 1\n  cache_kwargs: {startup_nodes: [{host: n, port: "
                               "7000}]}")) ==
          "router_settings.cache_kwargs.startup_nodes: Redis Cluster is not supported yet (this build's hiredis 0.14 "
          "has no cluster client); point llmux at one Redis server or at Redis Sentinel");
    CHECK(error_of(settings_of("  redis_host: h\n  redis_port: 1"), {{"REDIS_CLUSTER_NODES", "[]"}})
              .starts_with("REDIS_CLUSTER_NODES (environment): Redis Cluster is not supported yet"));
    // A URL comes first in LiteLLM's order: the cluster nodes are not used then.
    CHECK(enabled(settings_of("  redis_url: redis://h:1"), {{"REDIS_CLUSTER_NODES", "[]"}}).link.endpoint.host == "h");
  }
}

TEST_CASE("Sentinel: the link asks the sentinels for the master", "[state][redis_settings]") {
  SECTION("from cache_kwargs") {
    const SharedStateSettings s = enabled(settings_of(R"(  redis_host: h
  redis_port: 6379
  cache_kwargs:
    sentinel_nodes: [[s1, 26379], [s2, 26380]]
    service_name: mymaster
    sentinel_password: s-pw
    db: 2)"));
    const RedisEndpoint& e = s.link.endpoint;
    REQUIRE(e.sentinel_nodes.size() == 2);
    CHECK(e.sentinel_nodes[0].host == "s1");
    CHECK(e.sentinel_nodes[0].port == 26379);
    CHECK(e.sentinel_nodes[1].host == "s2");
    CHECK(e.sentinel_nodes[1].port == 26380);
    CHECK(e.sentinel_service_name == "mymaster");
    CHECK(e.sentinel_password == "s-pw");
    // LiteLLM: without a master password the Sentinel password logs in to the master too.
    CHECK(e.password == "s-pw");
    CHECK(e.db == 2);
    CHECK(e.describe() == "redis-sentinel://s1:26379,s2:26380/mymaster/2");
    CHECK(e.describe().find("s-pw") == std::string::npos);
  }
  SECTION("from the environment, with a master password of its own") {
    const SharedStateSettings s =
        enabled(settings_of("  redis_host: h\n  redis_port: 6379\n  redis_password: master-pw"),
                {{"REDIS_SENTINEL_NODES", R"([["10.0.0.1", 26379], {"host": "10.0.0.2", "port": 26379}])"},
                 {"REDIS_SERVICE_NAME", "svc"},
                 {"REDIS_SENTINEL_PASSWORD", "s-pw"}});
    const RedisEndpoint& e = s.link.endpoint;
    REQUIRE(e.sentinel_nodes.size() == 2);
    CHECK(e.sentinel_nodes[1].host == "10.0.0.2");
    CHECK(e.sentinel_service_name == "svc");
    CHECK(e.sentinel_password == "s-pw");
    CHECK(e.password == "master-pw");
  }
  SECTION("nodes without a service name are ignored, as LiteLLM falls back to host and port") {
    const SharedStateSettings s = enabled(settings_of("  redis_host: h\n  redis_port: 6379"),
                                          {{"REDIS_SENTINEL_NODES", R"([["s1", 26379]])"}});
    CHECK(s.link.endpoint.sentinel_nodes.empty());
    CHECK(s.link.endpoint.host == "h");
    CHECK(has_warning_containing(s, "REDIS_SENTINEL_NODES (environment): ignored, Sentinel also needs a service name"));
  }
  SECTION("bad Sentinel settings") {
    CHECK(error_of(settings_of("  redis_host: h\n  redis_port: 1"),
                   {{"REDIS_SENTINEL_NODES", "[[\"s1\", 26379"}, {"REDIS_SERVICE_NAME", "m"}})
              .starts_with("REDIS_SENTINEL_NODES (environment): not valid JSON"));
    CHECK(error_of(settings_of("  redis_host: h\n  redis_port: 1\n  cache_kwargs: {sentinel_nodes: [], service_name: "
                               "m}")) == "router_settings.cache_kwargs.sentinel_nodes: no Sentinel nodes given");
    CHECK(error_of(settings_of("  redis_host: h\n  redis_port: 1\n  cache_kwargs: {ssl: true, sentinel_nodes: [[s, "
                               "1]], service_name: m}"))
              .starts_with("router_settings.cache_kwargs.ssl: ssl: true asks for TLS."));
  }
}

TEST_CASE("bad environment values are errors naming the variable, never quoting it", "[state][redis_settings]") {
  const RouterSettings s = settings_of("  redis_host: h\n  redis_port: 1");
  CHECK(error_of(s, {{"REDIS_DB", "hunter2"}}) == "REDIS_DB (environment): expected a database number >= 0");
  CHECK(error_of(s, {{"REDIS_DB", "-1"}}) == "REDIS_DB (environment): expected a database number >= 0");
  CHECK(error_of(s, {{"REDIS_SOCKET_CONNECT_TIMEOUT", "soon"}}) ==
        "REDIS_SOCKET_CONNECT_TIMEOUT (environment): expected a number of seconds > 0");
  // A variable the explicit values make irrelevant is not read.
  CHECK(enabled(s, {{"REDIS_PORT", "hunter2"}}).link.endpoint.port == 1);
  const RouterSettings section = settings_of("  redis_host: h\n  redis_port: 1", "environment_variables: {REDIS_DB: x}\n");
  CHECK(error_of(section) == "environment_variables.REDIS_DB: expected a database number >= 0");
}

TEST_CASE("timeouts and llmux's knobs", "[state][redis_settings]") {
  SECTION("defaults") {
    const SharedStateSettings s = enabled(settings_of("  redis_host: h\n  redis_port: 1"));
    CHECK(s.link.command_timeout == std::chrono::milliseconds(250));
    CHECK(s.link.connect_timeout == std::chrono::milliseconds(200));
    CHECK(s.max_wait == std::chrono::microseconds(5000));
    CHECK(s.sync_interval == std::chrono::milliseconds(250));
    CHECK(s.key_namespace.empty());
  }
  SECTION("LiteLLM's socket timeouts are honoured") {
    const SharedStateSettings s = enabled(
        settings_of("  redis_host: h\n  redis_port: 1\n  cache_kwargs: {socket_timeout: 0.5, socket_connect_timeout: 1}"));
    CHECK(s.link.command_timeout == std::chrono::milliseconds(500));
    CHECK(s.link.connect_timeout == std::chrono::seconds(1));
    CHECK(enabled(settings_of("  redis_host: h\n  redis_port: 1"), {{"REDIS_SOCKET_CONNECT_TIMEOUT", "0.05"}})
              .link.connect_timeout == std::chrono::milliseconds(50));
  }
  SECTION("llmux's own knobs win") {
    const SharedStateSettings s = enabled(settings_of(R"(  redis_host: h
  redis_port: 1
  redis_command_timeout: 0.1
  redis_max_wait: 0.002
  redis_sync_interval: 0.05
  cache_kwargs: {socket_timeout: 5, namespace: fleet-a})"));
    CHECK(s.link.command_timeout == std::chrono::milliseconds(100));
    CHECK(s.max_wait == std::chrono::milliseconds(2));
    CHECK(s.sync_interval == std::chrono::milliseconds(50));
    CHECK(s.key_namespace == "fleet-a");
  }
}

TEST_CASE("no password in errors, warnings or descriptions", "[state][redis_settings]") {
  const std::string secret = "hunter2-secret";
  const RouterSettings settings[] = {
      settings_of("  redis_url: redis://u:" + secret + "@h:1/2\n  redis_password: " + secret),
      settings_of("  redis_url: unix://u:" + secret + "@/tmp/s.sock"),
      settings_of("  redis_host: h\n  redis_port: 1\n  cache_kwargs: {password: " + secret +
                  ", sentinel_password: " + secret + ", sentinel_nodes: [[s, 1]], service_name: m}"),
      settings_of("  redis_url: rediss://u:" + secret + "@h:1/2"),
      settings_of("  redis_url: redis://u:" + secret + "@h:" + secret),
  };
  for (const RouterSettings& s : settings) {
    auto r = resolve(s, {{"REDIS_PASSWORD", secret}});
    if (!r.ok()) {
      CHECK(r.error().message.find(secret) == std::string::npos);
      continue;
    }
    REQUIRE(r->has_value());
    CHECK((*r)->link.endpoint.describe().find(secret) == std::string::npos);
    for (const std::string& w : (*r)->warnings) CHECK(w.find(secret) == std::string::npos);
  }
}

}  // namespace
}  // namespace llmux::state
