#include "provider/vertex_ai.hpp"

#include <algorithm>
#include <iterator>
#include <utility>

#include <absl/strings/ascii.h>
#include <absl/time/clock.h>
#include <fmt/format.h>
#include <simdjson.h>

#include "common/strings.hpp"
#include "provider/connection_settings.hpp"
#include "provider/anthropic_messages.hpp"
#include "provider/gemini_content.hpp"
#include "provider/token_cache.hpp"

namespace llmux::provider {
namespace {

// §4.2: partner models are checked before the Gemini rules; of those, these
// are served on the OpenAI-compatible endpoint.
constexpr std::string_view kPartnerPrefixes[] = {"meta/", "deepseek-ai", "mistral", "codestral", "jamba", "claude",
                                                 "qwen", "openai/gpt-oss-", "minimaxai/", "moonshotai/", "zai-org/"};
constexpr std::string_view kOpenAiCompatibleMarks[] = {"llama", "deepseek-ai", "qwen", "openai/gpt-oss-",
                                                       "minimaxai/", "moonshotai/", "zai-org/"};

bool has_line_break(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

std::string_view trim_slashes(std::string_view s) {
  while (!s.empty() && s.back() == '/') s.remove_suffix(1);
  return s;
}

// A litellm_param as text: a string as it is, an object (vertex_credentials
// given as a mapping) as its JSON; empty when absent or null.
std::string param(simdjson::dom::object params, std::string_view key, std::string_view alias) {
  for (std::string_view k : {key, alias}) {
    simdjson::dom::element v;
    if (params[k].get(v) != simdjson::SUCCESS || v.is_null()) continue;
    std::string_view s;
    if (v.get_string().get(s) == simdjson::SUCCESS) return std::string(s);
    if (v.is_object()) return simdjson::minify(v);
  }
  return {};
}

// The deployment's credentials, place and token. Used on the loop thread.
class VertexAuth final : public DeploymentAuth {
 public:
  std::string deployment_id;
  Status problem;  // why the deployment cannot be served; reported by prepare
  std::shared_ptr<const GoogleCredentials> credentials;
  VertexLocation where;
  std::unique_ptr<TokenCache> token;
  std::unique_ptr<TokenCache> project_fetch;  // the metadata server's project, when none is configured
  // The deployment as the OpenAI-compatible route sees it: api_base is the
  // MaaS endpoint URL, no api_key (the bearer token is added per request).
  DeploymentConfig openai_config;

  // What was read from credential files or the environment: the router
  // keeps it out of error messages.
  void append_secrets(std::vector<std::string>& out) const override {
    if (!credentials) return;
    for (const std::string* s : {&credentials->private_key_pem, &credentials->client_secret,
                                 &credentials->refresh_token}) {
      if (!s->empty()) out.push_back(*s);
    }
  }

  void set_project(std::string project) {
    where.project = std::move(project);
    openai_config.api_base = vertex_url(VertexRoute::kOpenAiCompatible, "", where, false);
  }
};

VertexAuth* auth_of(const ProviderTarget& target) { return dynamic_cast<VertexAuth*>(target.auth); }

Error not_prepared(const ProviderTarget& target) {
  return Error(ErrorKind::kAuthentication,
               fmt::format("deployment {}: Vertex AI credentials are not loaded", target.config.id));
}

// The model as the URL names it: `vertex_ai/gemini/<id>` is `<id>`.
std::string_view url_model(std::string_view model) {
  if (model.substr(0, 7) == "gemini/") model.remove_prefix(7);
  return model;
}

constexpr std::string_view kProviderName = "vertex_ai";
// What Vertex's Claude route takes in place of the model in the body.
constexpr std::string_view kAnthropicVersionMember = R"("anthropic_version":"vertex-2023-10-16")";

bool drop_params(const ProviderTarget& target, const request::ParsedRequest& request) {
  return request.router.drop_params || target.config.drop_params.value_or(false);
}

// Content-Type, the bearer token, the deployment's extra headers, Accept.
Status write_headers(const ProviderTarget& target, std::string_view token, bool stream,
                     std::vector<std::string>& headers) {
  headers.clear();
  headers.emplace_back("Content-Type: application/json");
  headers.push_back(fmt::format("Authorization: Bearer {}", token));
  for (const auto& [name, value] : target.config.extra_headers) {
    if (has_line_break(name) || has_line_break(value) || name.find(':') != std::string::npos || name.empty()) {
      return Error(ErrorKind::kInvalidConfig,
                   fmt::format("deployment {}: an extra header is not a valid header", target.config.id));
    }
    headers.push_back(fmt::format("{}: {}", name, value));
  }
  headers.emplace_back(stream ? "Accept: text/event-stream" : "Accept: application/json");
  return Status::Ok();
}

// The Claude route's body: Anthropic Messages without "model", plus
// anthropic_version; `prefill` continues a cut stream.
Status build_claude(const ProviderTarget& target, const request::ParsedRequest& request, bool stream,
                    std::optional<std::string_view> prefill, std::string& body) {
  anthropic::BodyOptions o;
  o.model = target.model;
  o.omit_model = true;
  o.extra_members = kAnthropicVersionMember;
  o.default_max_tokens = anthropic::default_max_tokens(target.config);
  o.stream = stream;
  o.prefill = prefill;
  o.drop_params = drop_params(target, request);
  o.provider_name = kProviderName;
  return anthropic::build_messages_body(request, o, body);
}

}  // namespace

VertexRoute vertex_route(std::string_view model) {
  const std::string lower = ascii_lower(model);
  for (std::string_view prefix : kPartnerPrefixes) {
    if (lower.rfind(prefix, 0) != 0) continue;
    for (std::string_view mark : kOpenAiCompatibleMarks) {
      if (str_contains(lower, mark)) return VertexRoute::kOpenAiCompatible;
    }
    if (prefix == "claude") return VertexRoute::kClaude;
    return VertexRoute::kUnsupported;
  }
  const std::string_view m = url_model(model);
  if (!m.empty() && std::all_of(m.begin(), m.end(), [](char c) { return absl::ascii_isdigit(c); })) {
    return VertexRoute::kGeminiEndpoint;
  }
  return VertexRoute::kGemini;
}

namespace {

// The URL of `resource` (after /locations/{loc}) with `tail` (":method" of a
// publisher model or endpoint, "/chat/completions" for MaaS), under the
// api_base rule of the header.
std::string compose_url(std::string_view resource, std::string_view tail, bool maas, bool sse,
                        const VertexLocation& where) {
  const std::string_view base = trim_slashes(where.api_base);
  if (str_contains(base, "/projects/")) {
    // A full resource URL: used as it is, the route's tail added when absent.
    std::string url(base);
    if (maas) {
      if (!(url.size() >= tail.size() && url.compare(url.size() - tail.size(), tail.size(), tail) == 0)) url += tail;
    } else {
      const size_t last_segment = url.rfind('/');
      if (url.find(':', last_segment) == std::string::npos) {
        url += tail;
      } else if (sse && url.find("alt=sse") == std::string::npos) {
        url += url.find('?') == std::string::npos ? "?alt=sse" : "&alt=sse";
      }
    }
    return url;
  }
  std::string url;
  if (!base.empty()) {
    url.assign(base);  // replaces scheme and host (and may add a path prefix)
  } else if (where.location == "global") {
    url = "https://aiplatform.googleapis.com";
  } else {
    url = fmt::format("https://{}-aiplatform.googleapis.com", where.location);
  }
  fmt::format_to(std::back_inserter(url), "/v1/projects/{}/locations/{}{}{}", where.project, where.location, resource,
                 tail);
  return url;
}

}  // namespace

std::string vertex_url(VertexRoute route, std::string_view model, const VertexLocation& where, bool stream) {
  const std::string_view m = url_model(model);
  std::string_view method;  // ":method" of a publisher model; empty for MaaS
  std::string resource;     // after /locations/{loc}
  switch (route) {
    case VertexRoute::kOpenAiCompatible: resource = "/endpoints/openapi"; break;
    case VertexRoute::kGemini:
    case VertexRoute::kUnsupported:
      resource = fmt::format("/publishers/google/models/{}", m);
      method = stream ? ":streamGenerateContent?alt=sse" : ":generateContent";
      break;
    case VertexRoute::kGeminiEndpoint:
      resource = fmt::format("/endpoints/{}", m);
      method = stream ? ":streamGenerateContent?alt=sse" : ":generateContent";
      break;
    case VertexRoute::kClaude:
      resource = fmt::format("/publishers/anthropic/models/{}", m);
      method = stream ? ":streamRawPredict" : ":rawPredict";
      break;
  }
  const bool maas = route == VertexRoute::kOpenAiCompatible;
  return compose_url(resource, maas ? "/chat/completions" : method, maas,
                     stream && route != VertexRoute::kClaude, where);
}

std::string vertex_predict_url(std::string_view model, const VertexLocation& where) {
  return compose_url(fmt::format("/publishers/google/models/{}", url_model(model)), ":predict", false, false, where);
}

VertexAiProvider::VertexAiProvider(GoogleEnv env, WallSeconds wall)
    : env_(std::move(env)), wall_(std::move(wall)), openai_("vertex_ai", "") {}

std::shared_ptr<DeploymentAuth> VertexAiProvider::make_auth(const DeploymentConfig& deployment) const {
  auto auth = std::make_shared<VertexAuth>();
  auth->deployment_id = deployment.id;
  auth->openai_config = deployment;
  auth->openai_config.api_key.clear();
  auto fail = [&](ErrorKind kind, std::string_view why) {
    auth->problem = Error(kind, fmt::format("deployment {}: {}", deployment.id, why));
    return auth;
  };

  simdjson::dom::parser parser;
  simdjson::dom::object params;
  if (parser.parse(deployment.litellm_params_json).get(params) != simdjson::SUCCESS &&
      parser.parse(std::string("{}")).get(params) != simdjson::SUCCESS) {  // no params: every chain falls back
    return fail(ErrorKind::kInvalidConfig, "litellm_params cannot be read");
  }
  Result<GoogleCredentials> credentials =
      load_google_credentials(param(params, "vertex_credentials", "vertex_ai_credentials"), env_);
  if (!credentials.ok()) return fail(ErrorKind::kAuthentication, credentials.error().message);
  auth->credentials = std::make_shared<const GoogleCredentials>(std::move(credentials).value());

  auth->where.location = resolve_google_location(param(params, "vertex_location", "vertex_ai_location"), env_);
  auth->where.api_base = deployment.api_base;
  if (auth->where.api_base.empty()) auth->where.api_base = env_("VERTEXAI_API_BASE").value_or("");
  if (has_line_break(auth->where.api_base) || has_line_break(auth->where.location)) {
    return fail(ErrorKind::kInvalidConfig, "api_base or vertex_location contains a line break");
  }
  auth->set_project(
      resolve_google_project(param(params, "vertex_project", "vertex_ai_project"), *auth->credentials, env_));
  if (has_line_break(auth->where.project)) return fail(ErrorKind::kInvalidConfig, "vertex_project contains a line break");

  auth->token = std::make_unique<TokenCache>(deployment.id, "Google access token", kGoogleRefreshMargin,
                                             google_token_source(auth->credentials, wall_));
  if (auth->where.project.empty()) {
    if (auth->credentials->kind != GoogleCredentials::Kind::kMetadataServer) {
      return fail(ErrorKind::kInvalidConfig,
                  fmt::format("Vertex AI needs a project: set vertex_project (or VERTEXAI_PROJECT, "
                              "GOOGLE_CLOUD_PROJECT); {} name none",
                              auth->credentials->origin));
    }
    auth->project_fetch = std::make_unique<TokenCache>(deployment.id, "Google project id (metadata server)",
                                                       Duration::zero(),
                                                       metadata_project_source(auth->credentials->metadata_host));
  }
  return auth;
}

void VertexAiProvider::prepare(const ProviderTarget& target, transport::EventLoop& loop, ReadyCallback ready) const {
  VertexAuth* auth = auth_of(target);
  if (!auth) {
    ready(not_prepared(target));
    return;
  }
  if (!auth->problem.ok()) {
    ready(auth->problem);
    return;
  }
  if (auth->where.project.empty() && auth->project_fetch) {
    // The caches belong to `auth`: if it goes, the callback never runs.
    auth->project_fetch->prepare(loop, [auth, &loop, ready = std::move(ready)](Status s) mutable {
      if (!s.ok()) {
        ready(std::move(s));
        return;
      }
      auth->set_project(auth->project_fetch->token());
      auth->token->prepare(loop, std::move(ready));
    });
    return;
  }
  auth->token->prepare(loop, std::move(ready));
}

Status VertexAiProvider::build_request(const ProviderTarget& target, const request::ParsedRequest& request,
                                       bool stream, transport::HttpRequest& out) const {
  VertexAuth* auth = auth_of(target);
  if (!auth || !auth->token) return not_prepared(target);
  const std::string& token = auth->token->token();
  if (token.empty() || has_line_break(token)) return not_prepared(target);
  const VertexRoute route = vertex_route(target.model);
  if (request.endpoint == request::Endpoint::kEmbeddings) {
    if (route != VertexRoute::kGemini) {
      return Error(ErrorKind::kInvalidArgument,
                   fmt::format("deployment {}: vertex_ai/{}: embeddings are served for Google's publisher models "
                               "only (text-embedding-*, text-multilingual-embedding-*, gemini-embedding-*), not for "
                               "{}",
                               target.config.id, target.model,
                               route == VertexRoute::kGeminiEndpoint ? "a tuned endpoint" : "a partner model"));
    }
    if (Status s = gemini::build_predict_embeddings(request, out.body, target.config.litellm_params_json); !s.ok()) {
      return s;
    }
    if (Status s = write_headers(target, token, false, out.headers); !s.ok()) return s;
    out.url = vertex_predict_url(target.model, auth->where);
    out.method.assign("POST");
    out.stream_body = false;
    apply_connection_settings(target.config, out);
    return Status::Ok();
  }
  switch (route) {
    case VertexRoute::kOpenAiCompatible: {
      const Status built =
          openai_.build_request(ProviderTarget{auth->openai_config, target.model, nullptr}, request, stream, out);
      if (built.ok()) out.headers.push_back("Authorization: Bearer " + token);
      return built;
    }
    case VertexRoute::kGemini:
    case VertexRoute::kGeminiEndpoint: {
      gemini::ContentOptions o;
      o.drop_params = drop_params(target, request);
      o.model = url_model(target.model);
      o.system_instruction = target.model.find("gemma") == std::string_view::npos;
      o.deployment_params_json = target.config.litellm_params_json;
      if (Status s = gemini::build_generate_content(request, o, out.body); !s.ok()) return s;
      break;
    }
    case VertexRoute::kClaude:
      if (Status s = build_claude(target, request, stream, std::nullopt, out.body); !s.ok()) return s;
      break;
    case VertexRoute::kUnsupported:
      return Error(ErrorKind::kInvalidConfig,
                   fmt::format("deployment {}: vertex_ai/{}: this partner model's wire format is not supported yet",
                               target.config.id, target.model));
  }
  if (Status s = write_headers(target, token, stream, out.headers); !s.ok()) return s;
  out.url = vertex_url(route, target.model, auth->where, stream);
  out.method.assign("POST");
  out.stream_body = stream;
  apply_connection_settings(target.config, out);
  return Status::Ok();
}

Status VertexAiProvider::build_continuation_request(const ProviderTarget& target,
                                                    const request::ParsedRequest& request,
                                                    std::string_view delivered_text,
                                                    transport::HttpRequest& out) const {
  VertexAuth* auth = auth_of(target);
  if (!auth || !auth->token) return not_prepared(target);
  const std::string& token = auth->token->token();
  if (token.empty() || has_line_break(token)) return not_prepared(target);
  const VertexRoute route = vertex_route(target.model);
  if (route == VertexRoute::kClaude) {
    // Anthropic continues an assistant prefill natively.
    if (Status s = build_claude(target, request, true, delivered_text, out.body); !s.ok()) return s;
    if (Status s = write_headers(target, token, true, out.headers); !s.ok()) return s;
    out.url = vertex_url(route, target.model, auth->where, true);
    out.method.assign("POST");
    out.stream_body = true;
    apply_connection_settings(target.config, out);
    return Status::Ok();
  }
  if (route != VertexRoute::kOpenAiCompatible) {
    return Provider::build_continuation_request(target, request, delivered_text, out);
  }
  const Status built = openai_.build_continuation_request(ProviderTarget{auth->openai_config, target.model, nullptr},
                                                          request, delivered_text, out);
  if (built.ok()) out.headers.push_back("Authorization: Bearer " + token);
  return built;
}

Error VertexAiProvider::classify_failure(const transport::TransferResult& result) const {
  // Every route answers errors in Google's shape and LiteLLM classifies them
  // all by its vertex_ai branch (§4.7). Wall time only reads a Retry-After
  // given as an HTTP date.
  return gemini::classify_failure(result, kProviderName, absl::Now());
}

Status VertexAiProvider::translate_response(const ProviderTarget& target, const request::ParsedRequest& request,
                                            std::string& body) const {
  if (request.endpoint == request::Endpoint::kEmbeddings) {
    // build_request sent only the publisher route's :predict.
    return gemini::translate_predict_embeddings(body, url_model(target.model), kProviderName);
  }
  switch (vertex_route(target.model)) {
    case VertexRoute::kGemini:
    case VertexRoute::kGeminiEndpoint: return gemini::translate_generate_content(body, target.model, kProviderName);
    case VertexRoute::kClaude: {
      anthropic::ResponseOptions o;
      o.json_mode = anthropic::uses_json_tool(request);
      o.created = absl::ToUnixSeconds(absl::Now());  // a timestamp in the answer, not a timing
      o.provider_name = kProviderName;
      return anthropic::translate_messages_response(body, o);
    }
    case VertexRoute::kOpenAiCompatible:
    case VertexRoute::kUnsupported: break;
  }
  return Status::Ok();  // already OpenAI's
}

std::unique_ptr<StreamTranslator> VertexAiProvider::make_stream_translator(const ProviderTarget& target,
                                                                           const request::ParsedRequest& request) const {
  switch (vertex_route(target.model)) {
    case VertexRoute::kGemini:
    case VertexRoute::kGeminiEndpoint:
      return gemini::make_stream_translator(std::string(target.model), std::string(kProviderName));
    case VertexRoute::kClaude: {
      anthropic::MessagesStreamTranslator::Options o;
      o.json_mode = anthropic::uses_json_tool(request);
      o.created = absl::ToUnixSeconds(absl::Now());
      o.provider_name = kProviderName;
      return std::make_unique<anthropic::MessagesStreamTranslator>(o);
    }
    case VertexRoute::kOpenAiCompatible:
    case VertexRoute::kUnsupported: break;
  }
  return nullptr;  // OpenAI's SSE as it is
}

Result<ResponseInfo> VertexAiProvider::inspect_response(std::string_view body, request::Endpoint endpoint) const {
  return openai_.inspect_response(body, endpoint);
}

ChunkInfo VertexAiProvider::inspect_chunk(std::string_view data) const { return openai_.inspect_chunk(data); }

int VertexAiProvider::token_fetches(const DeploymentAuth* auth) {
  const auto* a = dynamic_cast<const VertexAuth*>(auth);
  return a && a->token ? a->token->fetches() : 0;
}

}  // namespace llmux::provider
