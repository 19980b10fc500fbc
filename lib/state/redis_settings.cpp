#include "state/redis_settings.hpp"

#include <charconv>
#include <cstdlib>
#include <utility>

#include "common/strings.hpp"
#include "config/redis_config.hpp"
#include "fmt/format.h"

namespace llmux::state {
namespace {

// The reason every TLS setting is refused.
constexpr std::string_view kNoTls = "TLS to Redis is not supported: this build's hiredis (0.14) has no TLS";

Error invalid(std::string_view source, std::string_view message) {
  return Error(ErrorKind::kInvalidConfig, fmt::format("{}: {}", source, message));
}

// ---- URLs (Python's urlsplit + redis-py's parse_url) ----------------------------

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// urllib's unquote: %XX becomes the byte; a '%' not followed by two hex
// digits stays as it is. `plus_is_space` for query values (parse_qs).
std::string percent_decode(std::string_view text, bool plus_is_space = false) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%' && i + 2 < text.size()) {
      const int hi = hex_value(text[i + 1]);
      const int lo = hex_value(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_is_space && c == '+' ? ' ' : c);
  }
  return out;
}

bool all_digits(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// A non-negative decimal that fits an int; nullopt otherwise.
std::optional<int> parse_small_int(std::string_view text) {
  if (!all_digits(text)) return std::nullopt;
  int value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// A port as text: 1-65535 (as Python's urlsplit reads it, less port 0, which
// redis-py would silently turn into 6379).
std::optional<int> parse_port(std::string_view text) {
  std::optional<int> port = parse_small_int(text);
  if (!port || *port < 1 || *port > 65535) return std::nullopt;
  return port;
}

}  // namespace

Result<RedisEndpoint> parse_redis_url(std::string_view url, std::string_view what, std::vector<std::string>* warnings) {
  url = strip_ascii_whitespace(url);
  const size_t colon = url.find(':');
  const std::string scheme = colon == std::string_view::npos ? std::string() : ascii_lower(url.substr(0, colon));
  if (scheme == "rediss") return invalid(what, fmt::format("rediss:// asks for TLS. {}", kNoTls));
  if (scheme != "redis" && scheme != "unix") {
    return invalid(what, "expected redis://[[user]:password@]host[:port][/db] or unix://[[user]:password@]/path");
  }
  std::string_view rest = url.substr(colon + 1);
  if (!rest.starts_with("//")) {
    return invalid(what, fmt::format("expected {}:// followed by the {}", scheme,
                                     scheme == "unix" ? "socket path" : "host"));
  }
  rest.remove_prefix(2);
  if (const size_t hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
  std::string_view query;
  if (const size_t q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  const size_t slash = rest.find('/');
  const std::string_view netloc = rest.substr(0, slash);
  const std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);

  RedisEndpoint endpoint;
  // userinfo@hostport: the last '@' splits; the first ':' of userinfo splits
  // user from password.
  std::string_view hostport = netloc;
  if (const size_t at = netloc.rfind('@'); at != std::string_view::npos) {
    const std::string_view userinfo = netloc.substr(0, at);
    hostport = netloc.substr(at + 1);
    const size_t sep = userinfo.find(':');
    endpoint.username = percent_decode(userinfo.substr(0, sep));
    if (sep != std::string_view::npos) endpoint.password = percent_decode(userinfo.substr(sep + 1));
  }

  std::optional<int> query_db;
  for (std::string_view remaining = query; !remaining.empty();) {
    const size_t amp = remaining.find('&');
    const std::string_view pair = remaining.substr(0, amp);
    remaining = amp == std::string_view::npos ? std::string_view() : remaining.substr(amp + 1);
    const size_t eq = pair.find('=');
    if (eq == std::string_view::npos || eq + 1 == pair.size()) continue;  // parse_qs drops blank values
    const std::string name = percent_decode(pair.substr(0, eq), true);
    const std::string value = percent_decode(pair.substr(eq + 1), true);
    if (name == "db") {
      query_db = parse_small_int(value);
      if (!query_db) return invalid(what, "the db query argument is not a number >= 0");
    } else if (name == "password") {
      endpoint.password = value;
    } else if (name == "username") {
      endpoint.username = value;
    } else if (warnings != nullptr) {
      warnings->push_back(fmt::format("{}: query argument '{}' is not used by llmux, ignored", what, name));
    }
  }

  if (scheme == "unix") {
    if (!hostport.empty()) {
      return invalid(what, "expected unix:///path (a socket path after the third slash, no host)");
    }
    endpoint.unix_socket = percent_decode(path);
    if (endpoint.unix_socket.empty()) return invalid(what, "the socket path is empty");
    endpoint.db = query_db.value_or(0);
    return endpoint;
  }

  std::string_view host = hostport;
  std::string_view port_text;
  if (hostport.starts_with('[')) {
    const size_t close = hostport.find(']');
    if (close == std::string_view::npos) return invalid(what, "an IPv6 address in the URL lacks its ']'");
    host = hostport.substr(1, close - 1);
    const std::string_view after = hostport.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return invalid(what, "unexpected text after the IPv6 address");
      port_text = after.substr(1);
    }
  } else if (const size_t c = hostport.find(':'); c != std::string_view::npos) {
    host = hostport.substr(0, c);
    port_text = hostport.substr(c + 1);
  }
  endpoint.host = host.empty() ? std::string("localhost") : ascii_lower(percent_decode(host));
  if (!port_text.empty()) {
    const std::optional<int> port = parse_port(port_text);
    if (!port) return invalid(what, "the port is not a number between 1 and 65535");
    endpoint.port = *port;
  } else {
    endpoint.port = 6379;
  }
  if (query_db) {
    endpoint.db = *query_db;
  } else {
    // redis-py: the path without its slashes is the database number.
    std::string digits = percent_decode(path);
    std::erase(digits, '/');
    if (!digits.empty()) {
      const std::optional<int> db = parse_small_int(digits);
      if (!db) return invalid(what, "the path after the host is not a database number >= 0");
      endpoint.db = *db;
    }
  }
  return endpoint;
}

namespace {

// A setting and where it came from ("router_settings.redis_port",
// "REDIS_PORT (environment)"), for messages.
template <class T>
struct Sourced {
  T value;
  std::string source;
  bool from_environment = false;
};

class Resolver {
 public:
  Resolver(const RouterSettings& settings, const EnvLookup& env) : s_(settings), env_(env) {}

  Result<std::optional<SharedStateSettings>> resolve();

 private:
  // The REDIS_* variable: environment_variables first, then the environment.
  // Empty values count as unset.
  std::optional<Sourced<std::string>> env(std::string_view name) const {
    if (auto it = s_.redis_environment.find(std::string(name)); it != s_.redis_environment.end()) {
      if (it->second.empty()) return std::nullopt;
      return Sourced<std::string>{it->second, fmt::format("environment_variables.{}", name), true};
    }
    std::optional<std::string> value;
    if (env_) {
      value = env_(name);
    } else if (const char* raw = std::getenv(std::string(name).c_str())) {
      value = std::string(raw);
    }
    if (!value || value->empty()) return std::nullopt;
    return Sourced<std::string>{std::move(*value), fmt::format("{} (environment)", name), true};
  }

  // cache_kwargs.<kwarg>, else router_settings.<arg> (when given), else the variable.
  std::optional<Sourced<std::string>> text(const std::optional<std::string>& kwarg, std::string_view kwarg_name,
                                           const std::string* arg, std::string_view arg_name,
                                           std::string_view variable) const {
    if (kwarg) return Sourced<std::string>{*kwarg, fmt::format("router_settings.cache_kwargs.{}", kwarg_name)};
    if (arg != nullptr && !arg->empty()) return Sourced<std::string>{*arg, fmt::format("router_settings.{}", arg_name)};
    return env(variable);
  }

  // The same for integers; a variable that is not one is an error naming it.
  Result<std::optional<Sourced<int>>> integer(const std::optional<int>& kwarg, std::string_view kwarg_name,
                                              std::optional<int> arg, std::string_view arg_name,
                                              std::string_view variable, int min, int max,
                                              std::string_view expected) const {
    if (kwarg) {
      return std::optional<Sourced<int>>(Sourced<int>{*kwarg, fmt::format("router_settings.cache_kwargs.{}", kwarg_name)});
    }
    if (arg) return std::optional<Sourced<int>>(Sourced<int>{*arg, fmt::format("router_settings.{}", arg_name)});
    std::optional<Sourced<std::string>> raw = env(variable);
    if (!raw) return std::optional<Sourced<int>>();
    const std::optional<int> value = parse_small_int(strip_ascii_whitespace(raw->value));
    if (!value || *value < min || *value > max) return invalid(raw->source, fmt::format("expected {}", expected));
    return std::optional<Sourced<int>>(Sourced<int>{*value, raw->source, true});
  }

  Result<std::optional<Sourced<bool>>> ssl() const {
    if (s_.redis_cache_kwargs.ssl) {
      return std::optional<Sourced<bool>>(Sourced<bool>{*s_.redis_cache_kwargs.ssl, "router_settings.cache_kwargs.ssl"});
    }
    std::optional<Sourced<std::string>> raw = env("REDIS_SSL");
    if (!raw) return std::optional<Sourced<bool>>();
    // A real bool reading (LiteLLM hands redis-py the string, so even
    // "false" would turn TLS on there).
    const std::string lower = ascii_lower(strip_ascii_whitespace(raw->value));
    if (lower == "true" || lower == "1" || lower == "yes" || lower == "on") {
      return std::optional<Sourced<bool>>(Sourced<bool>{true, raw->source, true});
    }
    if (lower == "false" || lower == "0" || lower == "no" || lower == "off") {
      return std::optional<Sourced<bool>>(Sourced<bool>{false, raw->source, true});
    }
    return invalid(raw->source, "expected true or false");
  }

  Status refuse_tls() const {
    Result<std::optional<Sourced<bool>>> tls = ssl();
    if (!tls.ok()) return std::move(tls).error();
    if (*tls && (*tls)->value) return invalid((*tls)->source, fmt::format("ssl: true asks for TLS. {}", kNoTls));
    return Status::Ok();
  }

  // In URL mode LiteLLM hands redis-py the URL alone: say which explicit
  // login settings that drops (host and port are needed to turn Redis on at
  // all, so they are not worth a warning).
  void warn_ignored_by_url(const Sourced<std::string>& url) {
    const RedisCacheKwargs& k = s_.redis_cache_kwargs;
    auto warn = [&](std::string_view key) {
      warnings_.push_back(fmt::format("{}: ignored, {} says where Redis is and how to log in (LiteLLM passes the "
                                      "URL alone)",
                                      key, url.source));
    };
    if (!s_.redis_password.empty()) warn("router_settings.redis_password");
    if (s_.redis_db) warn("router_settings.redis_db");
    if (k.username) warn("router_settings.cache_kwargs.username");
    if (k.password) warn("router_settings.cache_kwargs.password");
    if (k.db) warn("router_settings.cache_kwargs.db");
    if (k.ssl) warn("router_settings.cache_kwargs.ssl");
    if (url.from_environment && (!s_.redis_host.empty() || k.host)) {
      warnings_.push_back(fmt::format("{} is used instead of the configured host and port (LiteLLM does the same)",
                                      url.source));
    }
  }

  const RouterSettings& s_;
  const EnvLookup& env_;
  std::vector<std::string> warnings_;
};

Result<std::optional<SharedStateSettings>> Resolver::resolve() {
  // Rule 1: only the Router arguments turn Redis on.
  if (s_.redis_url.empty() && (s_.redis_host.empty() || s_.redis_port == 0)) {
    return std::optional<SharedStateSettings>();
  }
  const RedisCacheKwargs& k = s_.redis_cache_kwargs;
  SharedStateSettings out;
  RedisEndpoint& endpoint = out.link.endpoint;

  std::optional<Sourced<std::string>> url = text(k.url, "url", &s_.redis_url, "redis_url", "REDIS_URL");
  std::optional<Sourced<std::string>> cluster_env = env("REDIS_CLUSTER_NODES");
  if (url) {
    Result<RedisEndpoint> parsed = parse_redis_url(url->value, url->source, &warnings_);
    if (!parsed.ok()) return std::move(parsed).error();
    endpoint = std::move(parsed).value();
    warn_ignored_by_url(*url);
  } else if (k.startup_nodes || cluster_env) {
    const std::string source = k.startup_nodes ? "router_settings.cache_kwargs.startup_nodes" : cluster_env->source;
    return invalid(source,
                   "Redis Cluster is not supported yet (this build's hiredis 0.14 has no cluster client); point "
                   "llmux at one Redis server or at Redis Sentinel");
  } else {
    if (Status tls = refuse_tls(); !tls.ok()) return tls.error();

    std::optional<Sourced<std::string>> service =
        text(k.service_name, "service_name", nullptr, "", "REDIS_SERVICE_NAME");
    std::optional<std::vector<RedisNode>> sentinels;
    std::string sentinels_source;
    if (k.sentinel_nodes) {
      sentinels = *k.sentinel_nodes;
      sentinels_source = "router_settings.cache_kwargs.sentinel_nodes";
    } else if (std::optional<Sourced<std::string>> raw = env("REDIS_SENTINEL_NODES")) {
      Result<std::vector<RedisNode>> parsed = config::parse_redis_nodes(raw->value, raw->source);
      if (!parsed.ok()) return std::move(parsed).error();
      sentinels = std::move(parsed).value();
      sentinels_source = raw->source;
    }
    if (sentinels && !service) {
      warnings_.push_back(fmt::format("{}: ignored, Sentinel also needs a service name "
                                      "(router_settings.cache_kwargs.service_name or REDIS_SERVICE_NAME)",
                                      sentinels_source));
      sentinels.reset();
    }
    if (sentinels) {
      if (sentinels->empty()) return invalid(sentinels_source, "no Sentinel nodes given");
      if (service->value.empty()) return invalid(service->source, "the Sentinel service name is empty");
      for (const RedisNode& node : *sentinels) endpoint.sentinel_nodes.push_back({node.host, node.port});
      endpoint.sentinel_service_name = service->value;
      if (std::optional<Sourced<std::string>> sentinel_password =
              text(k.sentinel_password, "sentinel_password", nullptr, "", "REDIS_SENTINEL_PASSWORD")) {
        endpoint.sentinel_password = sentinel_password->value;
      }
    } else {
      std::optional<Sourced<std::string>> host = text(k.host, "host", &s_.redis_host, "redis_host", "REDIS_HOST");
      if (host) endpoint.host = host->value;
      auto port = integer(k.port, "port", s_.redis_port == 0 ? std::nullopt : std::optional<int>(s_.redis_port),
                          "redis_port", "REDIS_PORT", 1, 65535, "a port number between 1 and 65535");
      if (!port.ok()) return std::move(port).error();
      endpoint.port = *port ? (*port)->value : 6379;
    }
    if (auto username = text(k.username, "username", nullptr, "", "REDIS_USERNAME")) {
      endpoint.username = username->value;
    }
    if (auto password = text(k.password, "password", &s_.redis_password, "redis_password", "REDIS_PASSWORD")) {
      endpoint.password = password->value;
    } else if (!endpoint.sentinel_nodes.empty()) {
      // LiteLLM: without a master password, the Sentinel password logs in to the master too.
      endpoint.password = endpoint.sentinel_password;
    }
    auto db = integer(k.db, "db", s_.redis_db, "redis_db", "REDIS_DB", 0, 1 << 30, "a database number >= 0");
    if (!db.ok()) return std::move(db).error();
    if (*db) endpoint.db = (*db)->value;
  }

  // Timeouts: llmux's knob, else the redis-py argument LiteLLM users know.
  if (s_.redis_command_timeout_seconds) {
    out.link.command_timeout = seconds_to_duration(*s_.redis_command_timeout_seconds);
  } else if (k.socket_timeout_seconds) {
    out.link.command_timeout = seconds_to_duration(*k.socket_timeout_seconds);
  }
  if (k.socket_connect_timeout_seconds) {
    out.link.connect_timeout = seconds_to_duration(*k.socket_connect_timeout_seconds);
  } else if (std::optional<Sourced<std::string>> raw = env("REDIS_SOCKET_CONNECT_TIMEOUT")) {
    const std::string_view digits = strip_ascii_whitespace(raw->value);
    double seconds = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), seconds);
    if (ec != std::errc() || end != digits.data() + digits.size() || !(seconds > 0) || seconds > 1e6) {
      return invalid(raw->source, "expected a number of seconds > 0");
    }
    out.link.connect_timeout = seconds_to_duration(seconds);
  }
  out.key_namespace = k.key_namespace.value_or("");
  out.max_wait = seconds_to_duration(s_.redis_max_wait_seconds);
  out.sync_interval = seconds_to_duration(s_.redis_sync_interval_seconds);
  out.warnings = std::move(warnings_);
  return std::optional<SharedStateSettings>(std::move(out));
}

}  // namespace

Result<std::optional<SharedStateSettings>> resolve_shared_state_settings(const RouterSettings& settings,
                                                                         const EnvLookup& env) {
  return Resolver(settings, env).resolve();
}

std::string RedisEndpoint::describe() const {
  auto host_text = [](const std::string& h) {
    return h.find(':') != std::string::npos ? fmt::format("[{}]", h) : h;
  };
  if (!sentinel_nodes.empty()) {
    std::string nodes;
    for (const Node& node : sentinel_nodes) {
      if (!nodes.empty()) nodes += ',';
      nodes += fmt::format("{}:{}", host_text(node.host), node.port);
    }
    return fmt::format("redis-sentinel://{}/{}/{}", nodes, sentinel_service_name, db);
  }
  if (!unix_socket.empty()) return fmt::format("unix://{}?db={}", unix_socket, db);
  return fmt::format("redis://{}:{}/{}", host_text(host), port, db);
}

}  // namespace llmux::state
