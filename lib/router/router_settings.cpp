// Router::settings / update_settings: LiteLLM's Router.update_settings as an
// all-or-nothing swap of the router's settings snapshot.
#include <algorithm>
#include <array>

#include <fmt/format.h>
#include <simdjson.h>

#include "common/notification.hpp"
#include "common/router_keys.hpp"
#include "json/writer.hpp"
#include "router/router_impl.hpp"
#include "strategy/strategy_registry.hpp"

namespace llmux {
namespace {

// The keys update_settings takes: LiteLLM's _allowed_settings and the Router
// attributes its users assign.
constexpr std::array<std::string_view, 22> kUpdatable = {
    "routing_strategy", "routing_strategy_args", "num_retries", "max_retries", "timeout", "stream_timeout",
    "retry_after", "allowed_fails", "allowed_fails_policy", "cooldown_time", "disable_cooldowns", "retry_policy",
    "model_group_retry_policy", "fallbacks", "default_fallbacks", "context_window_fallbacks",
    "content_policy_fallbacks", "max_fallbacks", "enable_pre_call_checks", "enable_tag_filtering",
    "tag_filtering_match_any", "model_group_alias",
};

bool updatable(std::string_view key) { return std::find(kUpdatable.begin(), kUpdatable.end(), key) != kUpdatable.end(); }

Error update_error(std::string message) {
  return Error(ErrorKind::kInvalidArgument, fmt::format("update_settings: {}", message));
}

std::vector<FallbackRule> without_default(const std::vector<FallbackRule>& rules) {
  std::vector<FallbackRule> out;
  for (const auto& r : rules) {
    if (r.group != "*") out.push_back(r);
  }
  return out;
}

std::optional<FallbackRule> default_rule(const std::vector<FallbackRule>& rules) {
  for (const auto& r : rules) {
    if (r.group == "*") return r;
  }
  return std::nullopt;
}

// Copies `key` from `parsed` (the keys read as router_settings) into `out`;
// a null value restores the default.
void take(std::string_view key, bool null, const RouterSettings& parsed, RouterSettings& out) {
  const RouterSettings defaults;
  const RouterSettings& from = null ? defaults : parsed;
  if (key == "routing_strategy") {
    out.routing_strategy = from.routing_strategy;
  } else if (key == "routing_strategy_args") {
    out.routing_strategy_args_json = from.routing_strategy_args_json;
  } else if (key == "num_retries") {
    out.num_retries = from.num_retries;
  } else if (key == "timeout") {
    out.timeout_seconds = from.timeout_seconds;
  } else if (key == "stream_timeout") {
    out.stream_timeout_seconds = from.stream_timeout_seconds;
  } else if (key == "retry_after") {
    out.retry_after_seconds = from.retry_after_seconds;
  } else if (key == "allowed_fails") {
    out.allowed_fails = from.allowed_fails;
    // LiteLLM's rule: the count rule is on when allowed_fails differs from 3.
    out.allowed_fails_set = out.allowed_fails != defaults.allowed_fails;
  } else if (key == "allowed_fails_policy") {
    out.allowed_fails_policy = from.allowed_fails_policy;
  } else if (key == "cooldown_time") {
    out.cooldown_time_seconds = from.cooldown_time_seconds;
  } else if (key == "disable_cooldowns") {
    out.disable_cooldowns = from.disable_cooldowns;
  } else if (key == "retry_policy") {
    out.retry_policy = from.retry_policy;
  } else if (key == "model_group_retry_policy") {
    out.model_group_retry_policy = from.model_group_retry_policy;
  } else if (key == "fallbacks") {
    // default_fallbacks (the "*" rule) stays unless this list has its own.
    std::vector<FallbackRule> rules = from.fallbacks;
    if (!default_rule(rules)) {
      if (auto d = default_rule(out.fallbacks)) rules.push_back(*d);
    }
    out.fallbacks = std::move(rules);
  } else if (key == "default_fallbacks") {
    std::vector<FallbackRule> rules = without_default(out.fallbacks);
    if (auto d = default_rule(from.fallbacks)) rules.push_back(*d);
    out.fallbacks = std::move(rules);
  } else if (key == "context_window_fallbacks") {
    out.context_window_fallbacks = from.context_window_fallbacks;
  } else if (key == "content_policy_fallbacks") {
    out.content_policy_fallbacks = from.content_policy_fallbacks;
  } else if (key == "max_fallbacks") {
    out.max_fallbacks = from.max_fallbacks;
  } else if (key == "enable_pre_call_checks") {
    out.enable_pre_call_checks = from.enable_pre_call_checks;
  } else if (key == "enable_tag_filtering") {
    out.enable_tag_filtering = from.enable_tag_filtering;
  } else if (key == "tag_filtering_match_any") {
    out.tag_filtering_match_any = from.tag_filtering_match_any;
  } else if (key == "model_group_alias") {
    out.model_group_alias = from.model_group_alias;
  }
  // max_retries: accepted, no effect (LiteLLM's provider-SDK retries).
}

struct SettingsUpdate {
  RouterSettings settings;
  bool strategy_changed = false;
  bool pool_changed = false;  // aliases or fallbacks: the pool indexes them
};

Result<SettingsUpdate> read_update(const RouterSettings& current, std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::object object;
  simdjson::dom::element doc;
  if (auto e = parser.parse(json.data(), json.size()).get(doc)) {
    return update_error(fmt::format("not valid JSON: {}", simdjson::error_message(e)));
  }
  if (doc.get(object) != simdjson::SUCCESS) return update_error("expected a JSON object of settings");
  // The values are read by the config loader's own rules, as router_settings.
  std::string text;
  json::Writer w(text);
  w.begin_object().key("router_settings").begin_object();
  std::vector<std::pair<std::string, bool>> keys;  // key, null
  for (const simdjson::dom::key_value_pair field : object) {
    if (!updatable(field.key)) {
      return update_error(fmt::format("'{}' is not a setting that can be changed at run time", field.key));
    }
    for (const auto& k : keys) {
      if (k.first == field.key) return update_error(fmt::format("'{}' is given twice", field.key));
    }
    const bool null = field.value.is_null();
    keys.emplace_back(std::string(field.key), null);
    if (!null) w.key(field.key).raw(simdjson::minify(field.value));
  }
  w.end_object().end_object();
  auto parsed = parse_config(text);
  if (!parsed.ok()) {
    std::string message = parsed.error().message;
    constexpr std::string_view kPrefix = "router_settings.";
    if (message.starts_with(kPrefix)) message.erase(0, kPrefix.size());
    return update_error(std::move(message));
  }
  SettingsUpdate u;
  u.settings = current;
  for (const auto& [key, null] : keys) {
    take(key, null, parsed->settings, u.settings);
    u.strategy_changed = u.strategy_changed || key == "routing_strategy" || key == "routing_strategy_args";
    u.pool_changed = u.pool_changed || key == "model_group_alias" || key == "fallbacks" || key == "default_fallbacks";
  }
  return u;
}

void append_fallbacks(json::Writer& w, std::string_view key, const std::vector<FallbackRule>& rules) {
  w.key(key).begin_array();
  for (const auto& r : rules) {
    if (r.group == "*") continue;
    w.begin_object().key(r.group).begin_array();
    for (const auto& t : r.targets) w.string(t);
    w.end_array().end_object();
  }
  w.end_array();
}

template <class Policy, size_t N>
void append_policy(json::Writer& w, const Policy& p, const router_keys::PolicyField<Policy> (&fields)[N]) {
  w.begin_object();
  for (const auto& f : fields) {
    if (p.*(f.field)) w.member(f.key, *(p.*(f.field)));
  }
  w.end_object();
}

}  // namespace

std::string settings_json(const RouterSettings& s) {
  std::string out;
  json::Writer w(out);
  w.begin_object();
  w.member("routing_strategy", s.routing_strategy);
  w.key("routing_strategy_args").raw(s.routing_strategy_args_json.empty() ? std::string_view("{}")
                                                                           : std::string_view(s.routing_strategy_args_json));
  w.member("num_retries", s.num_retries);
  w.key("max_retries").null();
  w.member("timeout", s.timeout_seconds);
  w.key("stream_timeout");
  if (s.stream_timeout_seconds) {
    w.number(*s.stream_timeout_seconds);
  } else {
    w.null();
  }
  w.member("retry_after", s.retry_after_seconds);
  w.member("allowed_fails", s.allowed_fails);
  w.key("allowed_fails_policy");
  if (s.allowed_fails_policy) {
    append_policy(w, *s.allowed_fails_policy, router_keys::kAllowedFailsPolicyFields);
  } else {
    w.null();
  }
  w.member("cooldown_time", s.cooldown_time_seconds);
  w.member("disable_cooldowns", s.disable_cooldowns);
  w.key("retry_policy");
  if (s.retry_policy) {
    append_policy(w, *s.retry_policy, router_keys::kRetryPolicyFields);
  } else {
    w.null();
  }
  w.key("model_group_retry_policy").begin_object();
  for (const auto& [group, policy] : s.model_group_retry_policy) {
    w.key(group);
    append_policy(w, policy, router_keys::kRetryPolicyFields);
  }
  w.end_object();
  append_fallbacks(w, "fallbacks", s.fallbacks);
  w.key("default_fallbacks");
  if (auto d = default_rule(s.fallbacks)) {
    w.begin_array();
    for (const auto& t : d->targets) w.string(t);
    w.end_array();
  } else {
    w.null();
  }
  append_fallbacks(w, "context_window_fallbacks", s.context_window_fallbacks);
  append_fallbacks(w, "content_policy_fallbacks", s.content_policy_fallbacks);
  w.member("max_fallbacks", s.max_fallbacks);
  w.member("enable_pre_call_checks", s.enable_pre_call_checks);
  w.member("enable_tag_filtering", s.enable_tag_filtering);
  w.member("tag_filtering_match_any", s.tag_filtering_match_any);
  w.key("model_group_alias").begin_object();
  for (const auto& [alias, entry] : s.model_group_alias) {
    if (entry.hidden) {
      w.key(alias).begin_object().member("model", entry.target).member("hidden", true).end_object();
    } else {
      w.member(alias, entry.target);
    }
  }
  w.end_object();
  w.end_object();
  return out;
}

std::shared_ptr<const RouterSettings> Router::Impl::current_settings() const {
  std::lock_guard<std::mutex> lock(pool_mu_);
  return settings_;
}

Status Router::Impl::update_settings(std::string_view json) {
  if (shutting_down_.load()) return Error(ErrorKind::kCancelled, "router is shutting down");
  std::lock_guard<std::mutex> serial(update_mu_);
  auto update = read_update(*current_settings(), json);
  if (!update.ok()) return std::move(update).error();
  // Everything that can fail is built before anything changes.
  auto strategy = std::make_shared<std::unique_ptr<Strategy>>();
  if (update->strategy_changed) {
    const RouterSettings& s = update->settings;
    if (!strategy::is_registered(s.routing_strategy)) {
      Error e = strategy::unknown_strategy_error(s.routing_strategy);
      return update_error(fmt::format("routing_strategy: {}", e.message));
    }
    auto made = make_strategy(s.routing_strategy, s.routing_strategy_args_json);
    if (!made.ok()) return update_error(fmt::format("routing_strategy_args: {}", made.error().message));
    *strategy = std::move(made).value();
  }
  auto next = std::make_shared<const RouterSettings>(std::move(update->settings));
  const bool pool_changed = update->pool_changed;
  auto on_loop = [this, next, strategy] {
    core_.settings = next;
    if (*strategy) {
      retired_strategies_.push_back(std::move(strategy_));
      strategy_ = std::move(*strategy);
      core_.strategy = strategy_.get();
    }
  };
  auto applied = std::make_shared<Notification>();
  const bool on_loop_thread = loop_.in_loop_thread();
  {
    std::lock_guard<std::mutex> lock(pool_mu_);
    std::shared_ptr<const RouterSettings> previous = settings_;
    settings_ = next;
    if (pool_changed) {
      if (Status s = rebuild_pool_locked(declared_); !s.ok()) {
        settings_ = previous;
        return update_error(s.error().message);
      }
    }
    settings_kept_.push_back(next);
    cooldowns_.set_settings(*next);
    // Posted under the lock: a call made with the new snapshot starts after
    // the loop switched to it.
    if (on_loop_thread) {
      on_loop();
      applied->notify();
    } else {
      loop_.post([on_loop, applied] {
        on_loop();
        applied->notify();
      });
    }
    if (pool_changed) loop_.post([this] { checker_->pool_changed(); });
  }
  if (!on_loop_thread) {
    if (drive_loop_) {
      drive_loop_([&] { return applied->has_been_notified(); });
    } else {
      applied->wait();
    }
  }
  return Status::Ok();
}

}  // namespace llmux
