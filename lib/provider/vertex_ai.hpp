// -----------------------------------------------------------------------------
// File: provider/vertex_ai.hpp
// -----------------------------------------------------------------------------
// The Vertex AI adapter (`vertex_ai/<model>`, providers.md §4). One provider
// name, three wire formats chosen by the model name (§4.2):
//   * partner models Google serves OpenAI-compatibly (openai/gpt-oss-*,
//     llama, qwen, deepseek-ai, minimaxai/, moonshotai/, zai-org/): the OpenAI
//     body spliced as for any OpenAI-compatible target, POSTed to
//     .../endpoints/openapi/chat/completions;
//   * Claude (claude-*): Anthropic Messages at
//     .../publishers/anthropic/models/{m}:rawPredict | :streamRawPredict;
//   * everything else (gemini-*, an all-digits tuned endpoint): Gemini's
//     generateContent at .../publishers/google/models/{m}.
// Embeddings (/embeddings) go to Google's publisher models only:
// .../publishers/google/models/{m}:predict with {"instances":[{"content"}]}
// (dimensions → parameters.outputDimensionality, task_type / input_type,
// title, auto_truncate), the predictions translated to an OpenAI embedding
// list with usage from their token counts. Partner (MaaS, Claude) models and
// tuned endpoints asked for embeddings answer a clear error naming the model.
// The Gemini mapping is gemini_content.hpp's, the Claude one
// anthropic_messages.hpp's; errors of every route are classified as Google's
// (LiteLLM's vertex_ai branch). Every route carries
// `Authorization: Bearer <Google access token>`; the
// token (google_auth.hpp) lives in the deployment's VertexAuth, fetched and
// refreshed on the loop by prepare().
//
// api_base rule (llmux's, one for every route; LiteLLM 1.81.13 has one per
// route and mangles the MaaS one): an api_base containing "/projects/" is the
// full resource URL and is used as is (the route's ":method" or
// "/chat/completions" appended when absent); any other api_base replaces
// scheme and host, the /v1/projects/... path kept.
//
// Stateless and thread-safe; the per-deployment state is used on the loop
// thread only.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "provider/google_auth.hpp"
#include "provider/openai_compatible.hpp"
#include "provider/provider.hpp"

namespace llmux::provider {

enum class VertexRoute {
  kOpenAiCompatible,  // MaaS / open models: OpenAI chat at endpoints/openapi
  kGemini,            // publishers/google: generateContent
  kGeminiEndpoint,    // an all-digits model: a tuned model's endpoints/{id}
  kClaude,            // publishers/anthropic: rawPredict
  kUnsupported,       // partner models on other formats (Mistral, Jamba)
};

// The route for a Vertex model name (the part after vertex_ai/).
VertexRoute vertex_route(std::string_view model);

// Where the model lives: the URL of one request on `route` (no query string
// but ?alt=sse on a streaming Gemini call). `model` is as in vertex_route.
struct VertexLocation {
  std::string project;
  std::string location;
  std::string api_base;  // empty: Google's host for the location
};
std::string vertex_url(VertexRoute route, std::string_view model, const VertexLocation& where, bool stream);
// The embeddings URL of a Google publisher model (text-embedding-*,
// text-multilingual-embedding-*, gemini-embedding-*):
// .../publishers/google/models/{m}:predict, under the same api_base rule.
std::string vertex_predict_url(std::string_view model, const VertexLocation& where);

class VertexAiProvider : public Provider {
 public:
  // `env` and `wall` are injected for tests; the registry's instance uses the
  // process environment and the system clock.
  explicit VertexAiProvider(GoogleEnv env = process_env(), WallSeconds wall = system_wall_seconds());

  std::string_view name() const override { return "vertex_ai"; }

  // Loads credentials, project and location once, when the deployment joins
  // the pool. A problem (unreadable credentials, no project) does not stop
  // the router from starting: prepare() reports it on each call, naming the
  // deployment.
  std::shared_ptr<DeploymentAuth> make_auth(const DeploymentConfig& deployment) const override;
  void prepare(const ProviderTarget& target, transport::EventLoop& loop, ReadyCallback ready) const override;

  Status build_request(const ProviderTarget& target, const request::ParsedRequest& request, bool stream,
                       transport::HttpRequest& out) const override;
  Error classify_failure(const transport::TransferResult& result) const override;
  Status translate_response(const ProviderTarget& target, const request::ParsedRequest& request,
                            std::string& body) const override;
  std::unique_ptr<StreamTranslator> make_stream_translator(const ProviderTarget& target,
                                                           const request::ParsedRequest& request) const override;
  Result<ResponseInfo> inspect_response(std::string_view body, request::Endpoint endpoint) const override;
  ChunkInfo inspect_chunk(std::string_view data) const override;
  Status build_continuation_request(const ProviderTarget& target, const request::ParsedRequest& request,
                                    std::string_view delivered_text, transport::HttpRequest& out) const override;

  // Token fetches made for a deployment so far (tests, metrics); 0 without auth.
  static int token_fetches(const DeploymentAuth* auth);

 private:
  GoogleEnv env_;
  WallSeconds wall_;
  OpenAiCompatibleProvider openai_;  // the MaaS route's splice, reading and classification
};

}  // namespace llmux::provider
