#include "provider/gemini.hpp"

#include <cstdlib>

#include <absl/time/clock.h>
#include <fmt/format.h>

#include "common/strings.hpp"
#include "provider/connection_settings.hpp"
#include "provider/error_classifier.hpp"

namespace llmux::provider {
namespace {

// What a gemini deployment resolved from its config and the environment
// when it joined the pool.
struct GeminiCredentials : DeploymentAuth {
  std::string api_key;
  std::string api_base;
  // A key read from the environment is kept out of error messages too.
  void append_secrets(std::vector<std::string>& out) const override {
    if (!api_key.empty()) out.push_back(api_key);
  }
};

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

std::string resolve_api_key(const DeploymentConfig& d) {
  if (!d.api_key.empty()) return d.api_key;
  for (const char* name : {"GOOGLE_API_KEY", "GEMINI_API_KEY", "PALM_API_KEY"}) {
    if (std::string v = env(name); !v.empty()) return v;
  }
  return {};
}

std::string resolve_api_base(const DeploymentConfig& d) {
  return d.api_base.empty() ? env("GEMINI_API_BASE") : d.api_base;
}

bool has_line_break(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

}  // namespace

std::string_view GeminiProvider::method_name(Method m) {
  switch (m) {
    case Method::kGenerateContent: return "generateContent";
    case Method::kStreamGenerateContent: return "streamGenerateContent";
    case Method::kBatchEmbedContents: return "batchEmbedContents";
    case Method::kPredict: return "predict";
  }
  return "generateContent";
}

std::shared_ptr<DeploymentAuth> GeminiProvider::make_auth(const DeploymentConfig& deployment) const {
  auto c = std::make_shared<GeminiCredentials>();
  c->api_key = resolve_api_key(deployment);
  c->api_base = resolve_api_base(deployment);
  return c;
}

Result<std::string_view> GeminiProvider::url_model(const ProviderTarget& target) {
  std::string_view model = target.model;
  if (model.substr(0, 7) == "models/") model.remove_prefix(7);
  if (model.empty() || model.find_first_of("/?#: \t\r\n%") != std::string_view::npos) {
    return Error(ErrorKind::kInvalidConfig,
                 fmt::format("deployment {}: '{}' is not a model name Google accepts", target.config.id, model));
  }
  return model;
}

Status GeminiProvider::endpoint_url(const ProviderTarget& target, Method method, std::string& url) const {
  auto model = url_model(target);
  if (!model.ok()) return model.error();
  const auto* creds = dynamic_cast<const GeminiCredentials*>(target.auth);
  const std::string base_owned = creds ? std::string() : resolve_api_base(target.config);
  std::string_view base = creds ? std::string_view(creds->api_base) : std::string_view(base_owned);
  while (!base.empty() && base.back() == '/') base.remove_suffix(1);
  if (has_line_break(base)) {
    return Error(ErrorKind::kInvalidConfig, fmt::format("deployment {}: api_base contains a line break", target.config.id));
  }
  url.clear();
  if (base.empty()) {
    // LiteLLM: v1alpha for Gemini 3 names, v1beta for the rest.
    url = fmt::format("https://generativelanguage.googleapis.com/{}",
                      model->substr(0, 8) == "gemini-3" ? "v1alpha" : "v1beta");
  } else {
    url.assign(base.data(), base.size());
  }
  fmt::format_to(std::back_inserter(url), "/models/{}:{}", *model, method_name(method));
  if (method == Method::kStreamGenerateContent) url.append("?alt=sse");
  return Status::Ok();
}

Status GeminiProvider::add_auth_headers(const ProviderTarget& target, std::vector<std::string>& headers) const {
  const auto* creds = dynamic_cast<const GeminiCredentials*>(target.auth);
  const std::string key = creds ? creds->api_key : resolve_api_key(target.config);
  if (key.empty()) {
    Error e(ErrorKind::kAuthentication,
            fmt::format("{} - deployment {}: no API key (set api_key, or GOOGLE_API_KEY / GEMINI_API_KEY / "
                        "PALM_API_KEY in the environment)",
                        exception_name(name_), target.config.id),
            401);
    e.llm_provider = std::string(name_);
    return e;
  }
  if (has_line_break(key)) {
    return Error(ErrorKind::kInvalidConfig, fmt::format("deployment {}: api_key contains a line break", target.config.id));
  }
  headers.push_back(fmt::format("x-goog-api-key: {}", key));
  return Status::Ok();
}

gemini::ContentOptions GeminiProvider::content_options(const ProviderTarget& target) const {
  gemini::ContentOptions o;
  o.drop_params = target.config.drop_params.value_or(false);
  o.model = target.model;
  // Gemma models on Google's API take no system instruction.
  o.system_instruction = target.model.find("gemma") == std::string_view::npos;
  o.deployment_params_json = target.config.litellm_params_json;
  return o;
}

Status GeminiProvider::build_request(const ProviderTarget& target, const request::ParsedRequest& request, bool stream,
                                     transport::HttpRequest& out) const {
  const bool embeddings = request.endpoint == request::Endpoint::kEmbeddings;
  const bool streaming = stream && !embeddings;
  const Method method = embeddings ? embedding_method()
                                   : streaming ? Method::kStreamGenerateContent : Method::kGenerateContent;
  out.headers.clear();
  out.headers.emplace_back("Content-Type: application/json");
  // Auth first: a missing key fails before anything else is built.
  if (Status s = add_auth_headers(target, out.headers); !s.ok()) return s;
  for (const auto& [name, value] : target.config.extra_headers) {
    if (has_line_break(name) || has_line_break(value) || name.find(':') != std::string::npos || name.empty()) {
      return Error(ErrorKind::kInvalidConfig,
                   fmt::format("deployment {}: an extra header is not a valid header", target.config.id));
    }
    out.headers.push_back(fmt::format("{}: {}", name, value));
  }
  if (streaming) out.headers.emplace_back("Accept: text/event-stream");
  if (Status s = endpoint_url(target, method, out.url); !s.ok()) return s;
  out.method.assign("POST");
  Status built;
  if (!embeddings) {
    built = gemini::build_generate_content(request, content_options(target), out.body);
  } else if (method == Method::kPredict) {
    built = gemini::build_predict_embeddings(request, out.body);
  } else {
    auto model = url_model(target);
    if (!model.ok()) return model.error();
    built = gemini::build_batch_embed_contents(request, *model, out.body);
  }
  if (!built.ok()) {
    Error e = built.error();
    e.llm_provider = std::string(name_);
    return e;
  }
  out.stream_body = streaming;
  apply_connection_settings(target.config, out);
  return Status::Ok();
}

Error GeminiProvider::classify_failure(const transport::TransferResult& result) const {
  // Wall time only to read a Retry-After given as an HTTP date.
  return gemini::classify_failure(result, name_, absl::Now());
}

Status GeminiProvider::translate_response(const ProviderTarget& target, const request::ParsedRequest& request,
                                          std::string& body) const {
  if (request.endpoint == request::Endpoint::kEmbeddings) {
    return embedding_method() == Method::kPredict ? gemini::translate_predict_embeddings(body, target.model, name_)
                                                  : gemini::translate_batch_embed_contents(body, target.model, name_);
  }
  return gemini::translate_generate_content(body, target.model, name_);
}

std::unique_ptr<StreamTranslator> GeminiProvider::make_stream_translator(const ProviderTarget& target,
                                                                         const request::ParsedRequest&) const {
  return gemini::make_stream_translator(std::string(target.model), std::string(name_));
}

Result<ResponseInfo> GeminiProvider::inspect_response(std::string_view body, request::Endpoint endpoint) const {
  return reader_.inspect_response(body, endpoint);
}

ChunkInfo GeminiProvider::inspect_chunk(std::string_view data) const { return reader_.inspect_chunk(data); }

}  // namespace llmux::provider
