// -----------------------------------------------------------------------------
// File: llmux/config.hpp
// -----------------------------------------------------------------------------
// The router's configuration as plain data. `parse_config` reads a LiteLLM
// config.yaml (or the same structure as JSON) into it; programs may also
// build one by hand. Defaults are LiteLLM Router's own unless marked
// "llmux:". Plain value types: copy freely, no thread-safety concerns.
#pragma once

#include "llmux/export.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "llmux/error.hpp"

namespace llmux {

// A deployment's own health-check settings (model_info).
struct DeploymentHealthCheckConfig {
  // model_info.health_check_model: the model the check asks for instead of
  // litellm_params.model (as written, e.g. "openai/gpt-4o-mini"; a wildcard
  // deployment needs one). Sent through the deployment's own provider.
  std::string model;
  // model_info.health_check_timeout: the whole check's limit; unset = 60 s.
  std::optional<double> timeout_seconds;
  // model_info.health_check_max_tokens: max_tokens of a chat check; unset = 1.
  std::optional<int> max_tokens;
  // model_info.disable_background_health_check: left out of background
  // checks (on-demand checks still include it unless
  // health_check_skip_disabled_background_models is set).
  bool disable_background = false;
};

// One deployment = one `model_list` entry.
struct DeploymentConfig {
  std::string model_name;      // the model group
  std::string model;           // litellm_params.model as written, e.g. "openai/qwen3-14b"
  std::string provider;        // resolved provider: "openai", "hosted_vllm", "bedrock", ...
  std::string provider_model;  // model name the provider expects ("qwen3-14b")
  std::string id;              // model_info.id, else a stable sha256 hash (LiteLLM's recipe)

  std::string api_base;        // empty: the provider's default
  std::string api_key;         // secret; never logged or reported
  std::string api_version;
  std::string organization;

  std::optional<double> weight;
  std::optional<double> rpm;   // top-level, litellm_params or model_info (in that order)
  std::optional<double> tpm;
  std::optional<int> order;
  std::optional<int> max_parallel_requests;
  std::optional<int> num_retries;
  std::optional<double> timeout_seconds;         // litellm_params.timeout / request_timeout
  std::optional<double> stream_timeout_seconds;  // litellm_params.stream_timeout
  std::optional<double> cooldown_time_seconds;
  std::optional<int64_t> max_input_tokens;       // model_info
  // model_info.max_output_tokens, else the model map's: the default
  // max_tokens of providers that require one (Anthropic).
  std::optional<int64_t> max_output_tokens;
  std::optional<double> input_cost_per_token;    // litellm_params, else model_info
  std::optional<double> output_cost_per_token;
  std::optional<double> max_budget;
  std::string budget_duration;
  std::string region_name;
  std::vector<std::string> tags;
  std::optional<std::string> mock_response;      // LiteLLM's test hook
  // mock_response given as an object: the JSON body answered as it is.
  std::optional<std::string> mock_response_json;
  // llmux_mock_error {"status_code","message","type"} (JSON): every call fails
  // as a provider answering that status would.
  std::optional<std::string> mock_error_json;
  // Whether the deployment continues an assistant prefill: model_info's
  // supports_assistant_prefill, else litellm_params'; unset = the provider's
  // default. Used to continue a stream cut after content was delivered.
  std::optional<bool> supports_assistant_prefill;
  // litellm_params.drop_params: OpenAI parameters the provider lacks are
  // dropped instead of failing the call. Unset = litellm_settings.drop_params
  // (the router fills it in when the deployment joins the pool).
  std::optional<bool> drop_params;

  // TLS of this deployment's HTTPS requests (README "TLS and proxies").
  // ssl_verify: litellm_params.ssl_verify (false, true or a CA bundle path);
  // unset = the router's default (SSL_VERIFY, litellm_settings.ssl_verify),
  // which is true. Certificates are checked against ssl_ca_bundle when set
  // (ssl_verify: <path>, else SSL_CERT_FILE), else the system store.
  std::optional<bool> ssl_verify;
  std::string ssl_ca_bundle;
  // Client certificate for mutual TLS: litellm_params.client_cert (a PEM file,
  // or a PEM holding the key too) and client_key; else SSL_CERTIFICATE /
  // litellm_settings.ssl_certificate.
  std::string client_cert;
  std::string client_key;

  // Extra headers sent with every request (litellm_params.extra_headers).
  std::vector<std::pair<std::string, std::string>> extra_headers;
  // model_info.mode: what the deployment serves ("chat", "embedding",
  // "completion", "image_generation", ...); empty = not set (a health check
  // then takes the model map's mode for the model, else "chat").
  std::string mode;
  // How an active health check (RouterSettings::health_checks) reaches this
  // deployment (model_info.health_check_*).
  DeploymentHealthCheckConfig health_check;

  // litellm_params as JSON, secrets resolved (kept for providers that need more keys).
  std::string litellm_params_json;
  // model_info as JSON.
  std::string model_info_json;
};

// A fallback rule: requests for `group` fall back to `targets`, in order.
// `group` "*" is the default rule (default_fallbacks).
struct FallbackRule {
  std::string group;
  std::vector<std::string> targets;
};

// Per-error-class retry counts (LiteLLM's RetryPolicy); unset = not in the policy.
struct RetryPolicy {
  std::optional<int> bad_request;
  std::optional<int> authentication;
  std::optional<int> timeout;
  std::optional<int> rate_limit;
  std::optional<int> content_policy_violation;
  std::optional<int> internal_server;  // accepted; LiteLLM never consults it either
};

// Per-error-class failure allowances (LiteLLM's AllowedFailsPolicy).
struct AllowedFailsPolicy {
  std::optional<int> bad_request;
  std::optional<int> authentication;
  std::optional<int> timeout;
  std::optional<int> rate_limit;
  std::optional<int> content_policy_violation;
  std::optional<int> internal_server;
};

// One router_settings.provider_budget_config entry (LiteLLM's provider budgets), typed at
// load. Either spelling is read: budget_limit | max_budget, time_period |
// budget_duration (the first one set wins).
struct ProviderBudgetConfig {
  std::optional<double> budget_limit;  // unset: the entry is ignored (see BudgetTracker)
  std::string time_period;             // as written ("1d"); empty = no period
  // time_period in seconds ("mo" = 30 days); unset = a whole-lifetime budget.
  // What the budget tracker reads: programs building settings by hand set this.
  std::optional<int64_t> time_period_seconds;
};

struct ModelGroupAlias {
  std::string target;
  bool hidden = false;
};

// A Redis Sentinel or Cluster node: one entry of sentinel_nodes ([host, port])
// or startup_nodes ({host, port}).
struct RedisNode {
  std::string host;
  int port = 0;
  bool operator==(const RedisNode&) const = default;
};

// router_settings.cache_kwargs: the keyword arguments LiteLLM's Router hands
// its Redis client after the redis_* arguments, so each one set here wins
// over its redis_* counterpart. Unset = not given.
struct RedisCacheKwargs {
  std::optional<std::string> url;
  std::optional<std::string> host;
  std::optional<int> port;
  std::optional<std::string> username;  // Redis 6 ACL user
  std::optional<std::string> password;  // secret; never logged or reported
  std::optional<int> db;
  std::optional<bool> ssl;
  // cache_kwargs.namespace: every shared key becomes "<namespace>:<key>"
  // (LiteLLM's rule, see state/litellm_keys.hpp).
  std::optional<std::string> key_namespace;
  std::optional<double> socket_timeout_seconds;
  std::optional<double> socket_connect_timeout_seconds;
  // Sentinel: the master of service_name is asked of these nodes.
  std::optional<std::vector<RedisNode>> sentinel_nodes;
  std::optional<std::string> service_name;
  std::optional<std::string> sentinel_password;  // secret
  // Redis Cluster (read so the router can say it is not supported).
  std::optional<std::vector<RedisNode>> startup_nodes;
};

// Active health checks: LiteLLM proxy's background health checks and the
// Router's health-check routing. Read from general_settings (where the proxy
// keeps them) and router_settings (Router arguments; router_settings wins).
struct HealthCheckSettings {
  // general_settings.background_health_checks: check every deployment every
  // `interval_seconds`, spread evenly over the interval.
  bool background = false;
  double interval_seconds = 300;  // health_check_interval
  // health_check_concurrency: checks in flight at once; unset = no limit.
  std::optional<int> concurrency;
  // enable_health_check_routing: a deployment whose latest check failed (and
  // is not older than the staleness threshold) is routed around like one
  // cooling down.
  bool routing = false;
  // health_check_staleness_threshold: a result older than this no longer
  // counts for routing. Unset = twice interval_seconds (llmux: LiteLLM's
  // Router, which does not know the proxy's interval, uses 600 s).
  std::optional<double> staleness_threshold_seconds;
  // health_check_ignore_transient_errors: a check failing with 429 or 408
  // (rate limit, timeout) leaves the routing verdict as it was.
  bool ignore_transient_errors = false;
  // health_check_skip_disabled_background_models: on-demand checks also skip
  // deployments with model_info.disable_background_health_check.
  bool skip_disabled_on_demand = false;
  // background_health_check_model_groups: background checks only for these
  // model groups; unset = every group.
  std::optional<std::vector<std::string>> background_model_groups;
  // use_shared_health_check: share results through Redis (when Redis is
  // configured) so one replica's check serves every replica.
  bool shared = false;

  // The staleness threshold in effect.
  double staleness_seconds() const {
    return staleness_threshold_seconds ? *staleness_threshold_seconds : 2 * interval_seconds;
  }
};

struct RouterSettings {
  // Any name registered with register_strategy (llmux/strategy.hpp): the
  // loader keeps it as written and Router::create checks it.
  std::string routing_strategy = "simple-shuffle";
  // routing_strategy_args as JSON text, handed to the strategy's factory.
  // Text rather than a type: a strategy registered by a program takes
  // arguments this library has no schema for, and StrategyFactory (public)
  // receives them as JSON; each factory parses it once, into its own typed
  // arguments, when the router is created.
  std::string routing_strategy_args_json = "{}";
  int num_retries = 2;
  double retry_after_seconds = 0;
  double timeout_seconds = 6000;                 // litellm.request_timeout
  std::optional<double> stream_timeout_seconds;
  int allowed_fails = 3;
  bool allowed_fails_set = false;                // allowed_fails given: LiteLLM's allowed-fails count rule applies
  std::optional<AllowedFailsPolicy> allowed_fails_policy;
  double cooldown_time_seconds = 5;
  bool disable_cooldowns = false;
  std::optional<RetryPolicy> retry_policy;
  std::map<std::string, RetryPolicy> model_group_retry_policy;
  std::vector<FallbackRule> fallbacks;           // includes {"*": default_fallbacks}
  std::vector<FallbackRule> context_window_fallbacks;
  std::vector<FallbackRule> content_policy_fallbacks;
  int max_fallbacks = 5;
  bool enable_pre_call_checks = false;
  bool enable_tag_filtering = false;
  bool tag_filtering_match_any = true;
  std::optional<int> default_max_parallel_requests;
  std::map<std::string, ModelGroupAlias> model_group_alias;
  bool drop_params = false;
  std::map<std::string, ProviderBudgetConfig> provider_budget_config;  // by provider name
  // A model price and context-window map (LiteLLM's JSON format) used instead
  // of the one compiled into the library (litellm_settings.model_cost_map_path;
  // empty: the environment variable LLMUX_MODEL_COST_MAP, else the bundled map).
  std::string model_cost_map_path;
  HealthCheckSettings health_checks;
  // Redis (routing state shared by every router on it), LiteLLM's Router
  // arguments. Redis is used only when redis_url is set, or redis_host and
  // redis_port both are: LiteLLM's rule, so neither cache_kwargs nor the
  // environment alone turn it on, and without these the router keeps its
  // state in memory. When it is used, the REDIS_* environment variables fill
  // in what these and cache_kwargs leave unset, as LiteLLM's Redis client
  // does (state/redis_settings.hpp resolves it all).
  std::string redis_url;       // redis://[user[:password]@]host[:port][/db] or unix:///path[?db=N]
  std::string redis_host;
  int redis_port = 0;
  std::string redis_password;  // secret; never logged or reported
  std::optional<int> redis_db; // deprecated by LiteLLM in favour of cache_kwargs.db
  RedisCacheKwargs redis_cache_kwargs;
  // REDIS_* entries of the config's environment_variables section: LiteLLM's
  // proxy exports that section, so its Redis client sees them. Consulted
  // before the process environment.
  std::map<std::string, std::string> redis_environment;
  // llmux: the longest one Redis command may take before the connection is
  // considered hung (unset: cache_kwargs.socket_timeout, else 0.25 s).
  std::optional<double> redis_command_timeout_seconds;
  // llmux: the longest a call may wait on Redis (an atomic rate-limit
  // admission near a limit); past it the call goes on with local state.
  double redis_max_wait_seconds = 0.005;
  // llmux: how often keys that other writers (LiteLLM workers) own are re-read.
  double redis_sync_interval_seconds = 0.25;

  // TLS defaults for deployments that set none themselves, read at load:
  // SSL_VERIFY (environment) beats litellm_settings.ssl_verify (false, true or
  // a CA bundle path); SSL_CERT_FILE names the CA bundle when verification is
  // on and no path was given; SSL_CERTIFICATE beats
  // litellm_settings.ssl_certificate (a client certificate).
  bool ssl_verify = true;
  std::string ssl_ca_bundle;
  std::string ssl_certificate;

  // llmux: per-attempt limits enforced by the transport's own timers.
  double connect_timeout_seconds = 10;           // llmux: TCP/TLS connect
  // llmux: time to first byte of a streaming attempt, applied only when the
  // call has somewhere else to go (another deployment or a fallback group).
  double first_token_timeout_seconds = 30;
  double stream_idle_timeout_seconds = 60;       // llmux: longest silence inside a stream
  // llmux: the whole call — every attempt, wait and the entire stream — ends
  // by then (LiteLLM's default request timeout, so default configs bound every call).
  double total_timeout_seconds = 6000;
};

struct RouterConfig {
  std::vector<DeploymentConfig> model_list;
  RouterSettings settings;
  // One line per ignored key ("general_settings: ignored (not a routing setting)").
  std::vector<std::string> warnings;
  // Source line of router_settings.routing_strategy (0 = unknown): the name is
  // checked by Router::create against the strategy registry, and its error
  // points at this line.
  int routing_strategy_line = 0;
};

// Reads an environment variable; returns nullopt when it is not set.
using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;

// Parses a LiteLLM config (YAML or JSON text). `os.environ/NAME` values are
// resolved through `env` (the process environment when empty). Errors name
// the path of the offending key. Does not check that providers are supported
// or that routing_strategy names a registered strategy: the provider and
// strategy registries sit above the config, and Router::create asks them.
LLMUX_API Result<RouterConfig> parse_config(std::string_view text, const EnvLookup& env = {});

// Parses one deployment (a model_list entry as YAML or JSON text), as
// add_deployment receives it.
LLMUX_API Result<DeploymentConfig> parse_deployment(std::string_view text, const EnvLookup& env = {});

}  // namespace llmux
