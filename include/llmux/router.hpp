// -----------------------------------------------------------------------------
// File: llmux/router.hpp
// -----------------------------------------------------------------------------
// The front door. A Router routes OpenAI-style chat-completion and embedding
// requests (JSON bytes) across the deployments of a LiteLLM-style config,
// with retries, fallbacks and cooldowns, over one libcurl-multi I/O thread.
//
//   auto router = llmux::Router::from_config(yaml_text);
//   if (!router.ok()) { std::cerr << router.error().to_string(); return 1; }
//   auto resp = (*router)->completion(R"({"model":"gpt-4o","messages":[...]})");
//
// Thread safety: every method is safe to call from any thread concurrently.
// Callbacks (done, chunk) run on the router's I/O thread, one at a time; they
// must not block, and must not call the blocking methods (completion,
// embedding) — those return kInvalidArgument when called from a callback.
// Ownership: the Router owns its thread, connections and deployments. The
// destructor cancels calls still in flight (each gets its done callback with
// kCancelled) and joins the thread.
#pragma once

#include "llmux/export.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "llmux/clock.hpp"
#include "llmux/config.hpp"
#include "llmux/error.hpp"
#include "llmux/health_check.hpp"
#include "llmux/metadata.hpp"
#include "llmux/model_info.hpp"

namespace llmux {

struct Response {
  // The provider's JSON body, verbatim (non-streaming calls). Empty for streams.
  std::string body;
  int status = 200;
  Usage usage;
  std::string finish_reason;
  // Response headers from the provider (names lower-cased).
  std::vector<std::pair<std::string, std::string>> headers;
  RouterMetadata metadata;
};

// The OpenAI endpoints a Router serves (Router::call). Chat completions and
// embeddings go to every provider family; text completions (/completions),
// moderations (/moderations) and the Responses API (/responses) are passed
// through to OpenAI-compatible deployments and answered by mock_response;
// a deployment of another family fails them with kBadRequest naming the
// endpoint and the provider.
enum class Endpoint { kChatCompletions, kEmbeddings, kTextCompletions, kModerations, kResponses };

// "chat_completions", "embeddings", "text_completions", "moderations", "responses".
LLMUX_API std::string_view endpoint_name(Endpoint endpoint);

// Called exactly once per call with the final outcome.
using DoneCallback = std::function<void(Result<Response>)>;
// Called for each streamed chunk: `chunk_json` is one OpenAI chat.completion.chunk
// object (the SSE `data:` payload), valid only during the call. Return false to
// stop the stream: the call ends with kCancelled.
using ChunkCallback = std::function<bool(std::string_view chunk_json)>;

// Routing decisions as they happen: what LiteLLM reports through its
// success/failure callbacks, its retry and fallback logging and its cooldown
// alerts, as one stream of typed events.
enum class RouterEventType {
  kSuccess,    // a call succeeded (once per call)
  kFailure,    // a call failed (once per call)
  kRetry,      // an attempt failed and the call tries again in the same group
  kFallback,   // the call moves on to a fallback group
  kCooldown,   // a deployment was cooled down (also a half-open probe that failed)
  kRecovered,  // a half-open deployment's probe succeeded: it is healthy again
  // The shared state (Redis) became unreachable or refuses (error says why):
  // routing goes on with this replica's own state. Not part of a call
  // (call_id 0).
  kSharedStateDown,
  // The shared state (Redis) is reachable (again); this replica's cooldowns
  // were re-published. Not part of a call (call_id 0).
  kSharedStateUp,
};

LLMUX_API std::string_view router_event_type_name(RouterEventType type);

// Views are valid only during the callback.
struct RouterEvent {
  RouterEventType type = RouterEventType::kSuccess;
  uint64_t call_id = 0;
  std::string_view model_group;     // group of the attempt (kFallback: the group that failed)
  std::string_view deployment_id;   // deployment concerned; empty when none
  const Error* error = nullptr;     // kFailure, kRetry, kFallback, kCooldown: the cause
  std::string_view fallback_group;  // kFallback: the group entered
  double cooldown_seconds = 0;      // kCooldown: its length
  double retry_in_seconds = 0;      // kRetry: the wait before the next attempt
  const RouterMetadata* metadata = nullptr;  // kSuccess, kFailure
  const Usage* usage = nullptr;              // kSuccess: usage of the attempt that served
};

// Runs on the router's I/O thread; must not block. An exception it throws is
// swallowed.
using EventCallback = std::function<void(const RouterEvent&)>;

struct RouterOptions {
  // The router's clock: every decision reads it (cooldowns and half-open
  // timing, rpm/tpm minutes, budget windows, latency and time-to-first-token,
  // call deadlines); nullptr = the steady clock. Must outlive the router. The
  // I/O loop's timers (retry waits, transfer deadlines) still wait in real
  // time, so a clock that stands still freezes decisions, not the loop: meant
  // for tests.
  const TimeSource* time_source = nullptr;
  // Seed for routing randomness; 0 = random.
  uint64_t random_seed = 0;
  // Receives config warnings and operational notices; nullptr = stderr.
  std::function<void(std::string_view)> log;
  // Receives routing events; may be empty.
  EventCallback on_event;
  // Receives the result of each of this router's own active health checks
  // (skipped ones excluded), after routing took it into account: e.g. to
  // share it with other replicas, which hand it to apply_health_check().
  // Runs on the router's I/O thread; must not block. May be empty.
  std::function<void(const HealthCheckResult&)> on_health_check;
};

// One deployment's state as `health()` reports it.
struct DeploymentHealth {
  std::string id;
  std::string model_group;
  std::string api_base;
  bool healthy = true;          // false while cooling down, probing, or routed around for a failed health check
  // "healthy", "cooling_down", "half_open" (one probe may go), "probing",
  // "failed_health_check" (enable_health_check_routing; a cooldown shows first)
  std::string state;
  std::string reason;           // why it cooled down ("429 RateLimitError: ...")
  int status = 0;               // status of the failure that cooled it down
  double cooldown_remaining_seconds = 0;
  int trips = 0;                // consecutive re-openings after failed probes
  // Who cooled it down: empty = this router; with shared state (Redis) the id
  // of the replica that did ("host:pid:suffix"), or "redis" for a cooldown
  // read back from Redis (a LiteLLM worker's, or one whose writer is unknown).
  std::string cooled_by;
  int64_t in_flight = 0;
  int64_t requests_this_minute = 0;
  int64_t tokens_this_minute = 0;
  // Active health checks: the latest result (this router's or another
  // replica's; unset when never checked), whether routing avoids the
  // deployment for it now, and when the background schedule checks it next
  // (seconds from now; -1 when not scheduled).
  std::optional<HealthCheckResult> last_check;
  bool failed_health_check = false;
  double next_health_check_seconds = -1;
};

// How Router::pick reads its request.
struct PickOptions {
  // LiteLLM's specific_deployment: `model` is a litellm_params.model, and
  // the pick is among the deployments with that model (filters and strategy
  // as for a group); else a model_info.id, whose deployment is returned as it
  // is.
  bool specific_deployment = false;
  // The returned deployment keeps api_key and the other secrets of its
  // litellm_params; by default they read "***".
  bool include_secrets = false;
};

// The deployment a call would be sent to first.
struct PickedDeployment {
  std::string id;
  std::string model_group;
  // The deployment as a model_list entry: {"model_name", "litellm_params",
  // "model_info"} (model_info.id always set).
  std::string deployment_json;
};

// One model group's use in the current minute, summed over its deployments,
// from the counters the rpm/tpm filters and usage-based routing read (fleet
// wide with shared state).
struct ModelGroupUsage {
  std::string model_group;
  int64_t tpm_used = 0;
  int64_t rpm_used = 0;
  // Sums of the deployments' tpm/rpm limits; unset when none has one.
  std::optional<int64_t> tpm_limit;
  std::optional<int64_t> rpm_limit;
};

class LLMUX_API Router {
 public:
  // Builds a router from LiteLLM config text (YAML or JSON). Fails with
  // kInvalidConfig naming the key path, or the deployment and provider when a
  // provider is not supported.
  static Result<std::unique_ptr<Router>> from_config(std::string_view text, RouterOptions options = {});
  static Result<std::unique_ptr<Router>> create(RouterConfig config, RouterOptions options = {});

  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // Blocking chat completion. `request_json` is an OpenAI chat-completions body;
  // router-only keys (fallbacks, num_retries, metadata, mock_* ...) are honoured
  // and stripped before sending. A request with "stream": true is served as a
  // stream whose chunks are discarded (use stream() to receive them).
  Result<Response> completion(std::string_view request_json);

  // Asynchronous completion; `on_done` runs once on the I/O thread. Returns the
  // call id (for cancel()).
  uint64_t completion_async(std::string_view request_json, DoneCallback on_done);

  // Streaming completion ("stream": true is implied). Chunks arrive in order on
  // the I/O thread, then `on_done` once (Response.body empty, usage and
  // metadata filled). A failure before the first chunk is retried/failed over
  // invisibly; after it the call ends with kMidStream.
  uint64_t stream(std::string_view request_json, ChunkCallback on_chunk, DoneCallback on_done);

  // Embeddings (OpenAI /embeddings body).
  Result<Response> embedding(std::string_view request_json);
  uint64_t embedding_async(std::string_view request_json, DoneCallback on_done);

  // Any endpoint, non-streaming: `request_json` is that endpoint's OpenAI
  // body ("model" plus "messages", "input" or "prompt"), routed with the same
  // retries, fallbacks and cooldowns as completion(); a "stream" member is
  // dropped (chat: served as a stream whose chunks are discarded).
  // Response.body is the provider's answer for that endpoint.
  Result<Response> call(Endpoint endpoint, std::string_view request_json);
  uint64_t call_async(Endpoint endpoint, std::string_view request_json, DoneCallback on_done);

  // Cancels a call in flight. Returns false when the call already finished or
  // is unknown. The call's done callback reports kCancelled.
  bool cancel(uint64_t call_id);

  // Adds a deployment; fails if its id exists or its provider is unsupported.
  Status add_deployment(DeploymentConfig deployment);
  // Removes a deployment by id; calls in flight to it complete normally.
  Status remove_deployment(std::string_view id);
  // The current deployments (api_key blanked), with the prices and context
  // window they route by (from the model map where the config left them unset).
  std::vector<DeploymentConfig> deployments() const;
  // Registers model prices and limits at run time (LiteLLM's
  // litellm.register_model): `json` is an object of model key → entry in the
  // model map's format, e.g. {"openai/my-model": {"input_cost_per_token":
  // 1e-6, "output_cost_per_token": 2e-6, "max_input_tokens": 8192}}. A key
  // naming a known model updates its entry field by field. Deployments
  // without prices or max_input_tokens of their own route by the result at
  // once (cost-based routing, budgets, response_cost, the context-window
  // check); a deployment whose values change starts new rpm/tpm minute
  // counters. Fails (registering nothing) on malformed JSON or a field of the
  // wrong type. Applies to this router only. Thread-safe.
  Status register_model_prices(std::string_view json);
  // A deployment's (query.deployment_id) or a model name's (query.model)
  // limits and prices from the model map, with the deployment's own values
  // over them (llmux/model_info.hpp). kNotFound for an unknown deployment,
  // or a model the map does not know; kInvalidArgument for an empty query.
  // Thread-safe.
  Result<ModelMapInfo> model_info(const ModelInfoQuery& query) const;
  // What `model_group` (or an alias of one) offers, merged over its
  // deployments; kNotFound for a name no deployment has. Thread-safe.
  Result<ModelGroupInfo> model_group_info(std::string_view model_group) const;
  // LiteLLM's Router.reset for routing state: every cooldown and half-open
  // circuit closes, failure counts and the rpm/tpm minute counters start
  // afresh, the strategy forgets its latency samples. Deployments, prices,
  // active health check results, settings, budget spend and calls in flight
  // (and their in-flight counts) are untouched. Thread-safe.
  void reset();
  // Health of every deployment of `model_group` (all groups when empty).
  std::vector<DeploymentHealth> health(std::string_view model_group = {}) const;
  // The active health checks of `model_group`'s deployments (all groups when
  // empty; an unknown group gives an empty report) as LiteLLM's /health
  // answers: healthy and unhealthy endpoints by their latest check, plus
  // those without one. Reads the latest results; sends nothing. Thread-safe.
  HealthReport health_report(std::string_view model_group = {}) const;
  // Checks `model_group`'s deployments now (all when empty), whatever the
  // background schedule, and returns the report once every check ended (at
  // most each deployment's health_check_timeout, 60 s by default). The
  // results count for routing like background ones. With
  // health_check_skip_disabled_background_models, deployments with
  // disable_background_health_check are left out. Blocking: from a router
  // callback it returns kInvalidArgument. Thread-safe.
  Result<HealthReport> check_health(std::string_view model_group = {});
  // Records a health check another replica ran (its checked_by names that
  // replica): routing and reports use it like one of this router's own when
  // it is newer than what the deployment holds (checked_at; an equal or older
  // result changes nothing). Returns whether it was recorded (false too for
  // an unknown deployment id or a skipped result). Thread-safe.
  bool apply_health_check(const HealthCheckResult& result);
  // Counters and gauges in the Prometheus text exposition format (version
  // 0.0.4): calls by group and outcome, attempts/failures/cooldowns per
  // deployment, and the health() gauges. No API key ever appears. Thread-safe.
  std::string metrics_prometheus() const;

  // Picks the deployment a call with `request_json` (an OpenAI request body;
  // "messages"/"input" may be left out) would try first: the same group
  // resolution (alias, exact name, wildcard, litellm_params.model), candidate
  // filters (cooldown, health checks, budgets, context window, rpm/tpm,
  // order tiers, tags, max_parallel_requests) and strategy as the call's
  // first attempt. Sends nothing and counts nothing: no rpm, no in-flight,
  // no half-open probe. Errors: kBadRequest for an unknown model, the call's
  // own error when every deployment is filtered out
  // (kNoDeploymentsAvailable, kBudgetExceeded, kContextWindowExceeded ...),
  // kInvalidArgument for a malformed request. Thread-safe; from a router
  // callback too.
  Result<PickedDeployment> pick(std::string_view request_json, PickOptions options = {});
  // The current minute's use of `model_group` (an alias resolves to its
  // target). kNotFound for an unknown group. Thread-safe.
  Result<ModelGroupUsage> model_group_usage(std::string_view model_group) const;

  // A copy of the settings in force now.
  RouterSettings settings() const;
  // Changes settings at run time. `json` is an object of LiteLLM Router
  // arguments: routing_strategy, routing_strategy_args, num_retries,
  // max_retries (accepted, no effect, as in LiteLLM), timeout,
  // stream_timeout, retry_after, allowed_fails, allowed_fails_policy,
  // cooldown_time, disable_cooldowns, retry_policy, model_group_retry_policy,
  // fallbacks, default_fallbacks, context_window_fallbacks,
  // content_policy_fallbacks, max_fallbacks, enable_pre_call_checks,
  // enable_tag_filtering, tag_filtering_match_any, model_group_alias; null
  // restores a key's default. All or nothing: a new settings snapshot is
  // validated whole, then replaces the old one at once; calls in flight keep
  // the settings they started with, calls made after it returns use the new
  // ones. A changed routing_strategy starts with fresh statistics. Errors:
  // kInvalidArgument naming the key (another key, a wrong value, malformed
  // JSON); nothing changes then. Thread-safe; updates are serialised.
  Status update_settings(std::string_view json);
  // Warnings produced while loading the configuration.
  const std::vector<std::string>& warnings() const;

  class Impl;

 private:
  explicit Router(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// JSON views for the C ABI and the bindings (and for C++ programs that log).
// The response as its provider body with a "_llmux" member added (router
// metadata, usage, finish_reason and the x-litellm-* headers); for a stream
// (empty body) just {"_llmux": {...}}.
LLMUX_API std::string response_json(const Response& response);
// response_json(response) in two pieces, for a caller that places it in its
// own buffer without an intermediate string (the C ABI): the JSON is the
// returned `head` followed by what this appends to `tail`. `head` views
// response.body (valid while that lives and is unchanged).
LLMUX_API std::string_view append_response_json_tail(const Response& response, std::string& tail);
// {"type","message","status","kind","llm_provider","retry_after_seconds","_llmux":{...}}.
LLMUX_API std::string error_json(const Error& error);
// One routing event: {"type" (router_event_type_name), "call_id",
// "model_group", "deployment_id", "fallback_group", "cooldown_seconds",
// "retry_in_seconds", "response_cost", "error" (error_json or null),
// "metadata" (the "_llmux" object of response_json, or null), "usage"
// ({prompt_tokens, completion_tokens, total_tokens, reported} or null)}.
LLMUX_API std::string event_json(const RouterEvent& event);
// A JSON array of model_list entries {"model_name","litellm_params","model_info"}
// with api_key (and any other secret) replaced by "***".
LLMUX_API std::string deployments_json(const std::vector<DeploymentConfig>& deployments);
// `text` as a JSON string literal: quoted, escaped (for callers that build
// JSON around these views, such as the C ABI).
LLMUX_API std::string json_string(std::string_view text);
// A JSON array of the deployments' health.
LLMUX_API std::string health_json(const std::vector<DeploymentHealth>& health);
// One health check result: {"deployment_id","model_group","mode","model",
// "healthy","skipped","error_type","status","reason","checked_at",
// "latency_ms","checked_by"}.
LLMUX_API std::string health_check_result_json(const HealthCheckResult& result);
// LiteLLM's /health shape: {"healthy_endpoints":[...],"unhealthy_endpoints":
// [...],"unchecked_endpoints":[...],"healthy_count","unhealthy_count",
// "unchecked_count"}; each endpoint {"model","model_group","model_id",
// "api_base","mode","error","error_type","status","last_check_at",
// "latency_ms","checked_by","stale","routed_around"}. checked_by is "this
// replica" for this router's own checks. Never a key.
LLMUX_API std::string health_report_json(const HealthReport& report);

// {"id","model_group","deployment":{...}} (deployment_json as an object).
LLMUX_API std::string picked_deployment_json(const PickedDeployment& picked);
// {"model_group","tpm","rpm","tpm_limit","rpm_limit","headers"}: limits null
// when unset; "headers" holds LiteLLM's x-ratelimit-remaining-tokens /
// -requests and x-ratelimit-limit-tokens / -requests for the limits set.
LLMUX_API std::string model_group_usage_json(const ModelGroupUsage& usage);
// The runtime-changeable settings as LiteLLM's Router.get_settings() names
// them (routing_strategy_args as an object, fallbacks as [{group: [targets]}],
// default_fallbacks apart, retry_policy / allowed_fails_policy with
// LiteLLM's field names, model_group_alias as {alias: target} or {alias:
// {"model", "hidden"}}), plus max_retries (null). Accepted back by
// update_settings.
LLMUX_API std::string settings_json(const RouterSettings& settings);

// The library's version, LLMUX_VERSION_STRING ("MAJOR.MINOR.PATCH").
LLMUX_API std::string_view version();

}  // namespace llmux
