// Router::pick: the routing decision of a call's first attempt, without the
// call (LiteLLM's get_available_deployment).
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <simdjson.h>

#include "common/notification.hpp"
#include "json/writer.hpp"
#include "request/request.hpp"
#include "router/attempt.hpp"
#include "router/router_impl.hpp"

namespace llmux {
namespace {

// An object's members, with "model" replaced by `model` when it is set.
void append_with_model(json::Writer& w, simdjson::dom::object object, const std::optional<std::string>& model) {
  w.begin_object();
  if (model) w.member("model", *model);
  for (const simdjson::dom::key_value_pair field : object) {
    if (model && field.key == "model") continue;
    w.key(field.key).raw(simdjson::minify(field.value));
  }
  w.end_object();
}

// The deployment as a model_list entry; secrets shown only when asked for. A
// wildcard deployment shows the model the request resolved to (LiteLLM's
// pattern router fills the '*' in).
std::string deployment_entry_json(const DeploymentConfig& c, bool include_secrets,
                                  const std::optional<std::string>& model) {
  std::string redacted = deployments_json({c});  // "[{...}]"
  if (redacted.size() < 2) return "{}";
  redacted = redacted.substr(1, redacted.size() - 2);
  if (!include_secrets && !model) return redacted;
  simdjson::dom::parser parser;
  simdjson::dom::object entry;
  if (parser.parse(redacted).get(entry) != simdjson::SUCCESS) return redacted;
  simdjson::dom::parser params_parser;
  simdjson::dom::object raw_params;
  const bool have_raw = include_secrets && !c.litellm_params_json.empty() &&
                        params_parser.parse(c.litellm_params_json).get(raw_params) == simdjson::SUCCESS;
  std::string out;
  json::Writer w(out);
  w.begin_object();
  for (const simdjson::dom::key_value_pair field : entry) {
    w.key(field.key);
    simdjson::dom::object params;
    if (field.key != "litellm_params" || field.value.get(params) != simdjson::SUCCESS) {
      w.raw(simdjson::minify(field.value));
    } else if (have_raw) {
      append_with_model(w, raw_params, model);
    } else if (include_secrets) {
      // Built in code rather than parsed from a config: the typed fields.
      w.begin_object();
      w.member("model", model ? *model : c.model);
      if (!c.api_base.empty()) w.member("api_base", c.api_base);
      if (!c.api_key.empty()) w.member("api_key", c.api_key);
      if (!c.api_version.empty()) w.member("api_version", c.api_version);
      if (!c.organization.empty()) w.member("organization", c.organization);
      w.end_object();
    } else {
      append_with_model(w, params, model);
    }
  }
  w.end_object();
  return out;
}

PickedDeployment describe(const router::PoolEntry& e, std::string_view group, bool include_secrets,
                          const std::optional<std::vector<std::string>>& wildcard_captures = std::nullopt) {
  const DeploymentConfig& c = e.deployment->config();
  std::optional<std::string> model;
  if (wildcard_captures && c.model.find('*') != std::string::npos) {
    model = router::DeploymentPool::apply_captures(c.model, *wildcard_captures);
  }
  return PickedDeployment{c.id, std::string(group.empty() ? std::string_view(c.model_name) : group),
                          deployment_entry_json(c, include_secrets, model)};
}

}  // namespace

Result<PickedDeployment> Router::Impl::pick(std::string_view request_json, const PickOptions& options) {
  // The prompt is optional: a pick needs the model and the router keys.
  auto parsed = request::parse_request(request_json, request::Endpoint::kChatCompletions, request::PromptRule::kOptional);
  if (!parsed.ok()) return std::move(parsed).error();
  const request::ParsedRequest& request = *parsed;
  std::shared_ptr<const router::DeploymentPool> pool;
  std::shared_ptr<const RouterSettings> settings;
  {
    std::lock_guard<std::mutex> lock(pool_mu_);
    pool = pool_;
    settings = settings_;
  }
  // The candidates: the requested group, or (specific_deployment, LiteLLM's
  // rule) the deployments whose litellm_params.model is the request's model,
  // routed among like a group; a deployment id names that one deployment.
  router::ModelGroup by_litellm_model;
  std::optional<router::Resolution> res;
  if (options.specific_deployment) {
    for (const auto& e : pool->entries()) {
      if (e->deployment->config().model == request.model) by_litellm_model.members.push_back(e.get());
    }
    if (!by_litellm_model.members.empty()) {
      by_litellm_model.name = by_litellm_model.members.front()->deployment->config().model_name;
      by_litellm_model.index_members(nullptr);  // members of several groups: every circuit is read
      res = router::Resolution{&by_litellm_model, nullptr, by_litellm_model.name, std::nullopt};
    } else if (const router::PoolEntry* entry = pool->by_id(request.model)) {
      return describe(*entry, {}, options.include_secrets);
    } else {
      return Error(ErrorKind::kBadRequest,
                   fmt::format("You passed in model={}. There is no deployment with this litellm_params.model or id",
                               request.model));
    }
  } else {
    res = pool->resolve(request.model);
  }
  if (!res) {
    return Error(ErrorKind::kBadRequest,
                 fmt::format("You passed in model={}. There is no 'model_name' with this string", request.model));
  }
  std::string group_name = res->group_name;
  const router::Stage stage = router::Stage::from(std::move(group_name), std::move(*res));
  std::optional<Result<PickedDeployment>> out;
  auto decide = [&] {
    router::SelectionInput in{&stage, &request, request.stream, {}, nullptr, time_.now(), settings.get()};
    router::Selection sel = select_deployment(core_, in);
    if (sel.entry) {
      out.emplace(describe(*sel.entry, stage.group_name, options.include_secrets, stage.wildcard_captures));
    } else if (sel.error) {
      out.emplace(std::move(*sel.error));
    } else {
      // Every candidate is at its max_parallel_requests: a call would wait.
      out.emplace(Error(ErrorKind::kNoDeploymentsAvailable,
                        fmt::format("No deployments available for selected model: every deployment of {} is at its "
                                    "max_parallel_requests. Passed model={}",
                                    stage.group_name, request.model)));
    }
  };
  // The strategy and the scratch space belong to the loop thread.
  if (loop_.in_loop_thread()) {
    decide();
  } else {
    if (shutting_down_.load()) return Error(ErrorKind::kCancelled, "router is shutting down");
    run_on_loop(decide);
  }
  if (!out) return Error(ErrorKind::kInternalServer, "the event loop did not run the routing decision");
  return std::move(*out);
}

std::string picked_deployment_json(const PickedDeployment& picked) {
  std::string out;
  json::Writer w(out);
  w.begin_object();
  w.member("id", picked.id);
  w.member("model_group", picked.model_group);
  w.key("deployment").raw(picked.deployment_json.empty() ? std::string_view("{}") : picked.deployment_json);
  w.end_object();
  return out;
}

}  // namespace llmux
