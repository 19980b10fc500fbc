// Router::call: every endpoint through the one call machinery.
#include "llmux/router.hpp"
#include "request/request.hpp"
#include "router/router_impl.hpp"

namespace llmux {
namespace {

request::Endpoint to_request(Endpoint endpoint) {
  switch (endpoint) {
    case Endpoint::kChatCompletions: return request::Endpoint::kChatCompletions;
    case Endpoint::kEmbeddings: return request::Endpoint::kEmbeddings;
    case Endpoint::kTextCompletions: return request::Endpoint::kTextCompletions;
    case Endpoint::kModerations: return request::Endpoint::kModerations;
    case Endpoint::kResponses: return request::Endpoint::kResponses;
  }
  return request::Endpoint::kChatCompletions;
}

// Chat keeps its own mode (a "stream": true request streams, chunks
// discarded); every other endpoint is a single JSON answer.
router::CallMode mode_of(Endpoint endpoint) {
  return endpoint == Endpoint::kChatCompletions ? router::CallMode::kCompletion : router::CallMode::kEmbedding;
}

}  // namespace

std::string_view endpoint_name(Endpoint endpoint) {
  switch (endpoint) {
    case Endpoint::kChatCompletions: return "chat_completions";
    case Endpoint::kEmbeddings: return "embeddings";
    case Endpoint::kTextCompletions: return "text_completions";
    case Endpoint::kModerations: return "moderations";
    case Endpoint::kResponses: return "responses";
  }
  return "unknown";
}

Result<Response> Router::call(Endpoint endpoint, std::string_view request_json) {
  return impl_->wait_for(mode_of(endpoint), request_json, to_request(endpoint));
}

uint64_t Router::call_async(Endpoint endpoint, std::string_view request_json, DoneCallback on_done) {
  return impl_->submit(mode_of(endpoint), request_json, nullptr, std::move(on_done), to_request(endpoint));
}

}  // namespace llmux
