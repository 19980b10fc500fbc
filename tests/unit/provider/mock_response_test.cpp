#include "provider/mock_response.hpp"

#include <catch2/catch.hpp>
#include <simdjson.h>

#include <set>
#include <string>

#include "provider/provider.hpp"

using llmux::ErrorKind;
using llmux::request::Endpoint;
using llmux::provider::ChunkInfo;
using namespace llmux::provider;

namespace {

simdjson::dom::element parse_dom(simdjson::dom::parser& p, const std::string& text) {
  simdjson::dom::element e;
  INFO(text);
  REQUIRE(p.parse(text).get(e) == simdjson::SUCCESS);
  return e;
}

}  // namespace

TEST_CASE("mock_is_error / mock_error map LiteLLM's error class names") {
  struct Case {
    const char* name;
    ErrorKind kind;
    int status;
  };
  const Case cases[] = {
      {"RateLimitError", ErrorKind::kRateLimit, 429},
      {"InternalServerError", ErrorKind::kInternalServer, 500},
      {"ContextWindowExceededError", ErrorKind::kContextWindowExceeded, 400},
      {"ContentPolicyViolationError", ErrorKind::kContentPolicyViolation, 400},
      {"BadRequestError", ErrorKind::kBadRequest, 400},
      {"AuthenticationError", ErrorKind::kAuthentication, 401},
      {"PermissionDeniedError", ErrorKind::kPermissionDenied, 403},
      {"NotFoundError", ErrorKind::kNotFound, 404},
      {"Timeout", ErrorKind::kTimeout, 408},
      {"ServiceUnavailableError", ErrorKind::kServiceUnavailable, 503},
      {"APIConnectionError", ErrorKind::kConnectionError, 500},
      {"BadGatewayError", ErrorKind::kBadGateway, 502},
      {"APIError", ErrorKind::kApiError, 500},
  };
  for (const auto& c : cases) {
    for (const std::string& text : {std::string("litellm.") + c.name, std::string(c.name)}) {
      INFO(text);
      CHECK(mock_is_error(text));
      auto e = mock_error(text);
      CHECK(e.kind == c.kind);
      CHECK(e.status == c.status);
      CHECK(e.provider_status == 0);
      CHECK_THAT(e.message, Catch::StartsWith("this is a mock "));
    }
  }
  CHECK(mock_error("litellm.RateLimitError").message == "this is a mock rate limit error");
  CHECK(mock_is_error("Exception: content_filter_policy: blocked"));
  CHECK(mock_error("Exception: content_filter_policy: blocked").kind == ErrorKind::kContentPolicyViolation);
  for (const char* text : {"", "hello", "litellm.", "litellm.Unknown", "ratelimiterror", "This is a mock request",
                           "RateLimitError "}) {
    INFO(text);
    CHECK_FALSE(mock_is_error(text));
    CHECK(mock_error(text).kind == ErrorKind::kInvalidArgument);
  }
}

TEST_CASE("mock_usage counts words") {
  auto u = mock_usage(7, "  Hello,   mock world!\n");
  CHECK(u.prompt_tokens == 7);
  CHECK(u.completion_tokens == 3);
  CHECK(u.total_tokens == 10);
  CHECK(u.reported);
  CHECK(mock_usage(0, "").completion_tokens == 0);
}

TEST_CASE("mock_completion_body is an OpenAI chat.completion") {
  const std::string text = "He said \"hi\"\nthen left — café";
  auto usage = mock_usage(11, text);
  const std::string body = mock_completion_body("gpt-4o \"mini\"", text, usage);
  simdjson::dom::parser p;
  auto root = parse_dom(p, body);
  CHECK(std::string_view(root["object"]) == "chat.completion");
  CHECK(std::string_view(root["id"]).rfind("chatcmpl-mock-", 0) == 0);
  CHECK(std::string_view(root["model"]) == "gpt-4o \"mini\"");
  CHECK(int64_t(root["created"]) > 1600000000);
  auto choice = root["choices"].at(0);
  CHECK(std::string_view(choice["message"]["role"]) == "assistant");
  CHECK(std::string_view(choice["message"]["content"]) == text);
  CHECK(std::string_view(choice["finish_reason"]) == "stop");
  CHECK(int64_t(root["usage"]["prompt_tokens"]) == 11);
  CHECK(int64_t(root["usage"]["completion_tokens"]) == usage.completion_tokens);
  CHECK(int64_t(root["usage"]["total_tokens"]) == usage.total_tokens);
  // The adapter reads it like a real answer.
  auto info = find_provider("openai")->inspect_response(body, Endpoint::kChatCompletions);
  REQUIRE(info.ok());
  CHECK(info->usage.total_tokens == usage.total_tokens);
  CHECK(info->finish_reason == "stop");
  // Ids differ between calls.
  std::set<std::string> ids;
  for (int i = 0; i < 50; ++i) {
    auto r = parse_dom(p, mock_completion_body("m", "x", usage));
    ids.emplace(std::string_view(r["id"]));
  }
  CHECK(ids.size() == 50);
}

TEST_CASE("mock_stream_chunks: role, words, finish, usage") {
  const std::string text = "Hello there, \"brave\" new\nworld";
  const auto* p = find_provider("openai");
  for (bool include_usage : {false, true}) {
    INFO(include_usage);
    auto chunks = mock_stream_chunks("served", text, include_usage, 4);
    // role + 5 words + finish (+ usage)
    REQUIRE(chunks.size() == (include_usage ? 8u : 7u));
    simdjson::dom::parser dp;
    std::string joined;
    std::string id;
    for (size_t i = 0; i < chunks.size(); ++i) {
      INFO(chunks[i]);
      CHECK(chunks[i].find("[DONE]") == std::string::npos);
      auto root = parse_dom(dp, chunks[i]);
      CHECK(std::string_view(root["object"]) == "chat.completion.chunk");
      CHECK(std::string_view(root["model"]) == "served");
      if (i == 0) id = std::string(std::string_view(root["id"]));
      CHECK(std::string_view(root["id"]) == id);  // one id per stream
      ChunkInfo c = p->inspect_chunk(chunks[i]);
      REQUIRE(c.kind == ChunkInfo::Kind::kChunk);
      if (i == 0) {
        CHECK(c.has_choices);
        CHECK_FALSE(c.has_content);
      } else if (i <= 5) {
        CHECK(c.has_content);
        joined += std::string(std::string_view(root["choices"].at(0)["delta"]["content"]));
      } else if (i == 6) {
        CHECK_FALSE(c.has_content);
        CHECK(c.finish_reason == "stop");
      } else {
        CHECK_FALSE(c.has_choices);
        REQUIRE(c.usage);
        CHECK(c.usage->prompt_tokens == 4);
        CHECK(c.usage->completion_tokens == 5);
        CHECK(c.usage->total_tokens == 9);
      }
    }
    CHECK(joined == text);
  }
  CHECK(mock_stream_chunks("m", "", false).size() == 2);  // role + finish
}

TEST_CASE("mock_embedding_body") {
  const std::string body = mock_embedding_body("text-embedding-3-small", 3);
  simdjson::dom::parser p;
  auto root = parse_dom(p, body);
  CHECK(std::string_view(root["object"]) == "list");
  CHECK(std::string_view(root["model"]) == "text-embedding-3-small");
  simdjson::dom::array data = root["data"];
  REQUIRE(data.size() == 3);
  int64_t index = 0;
  for (auto item : data) {
    CHECK(int64_t(item["index"]) == index++);
    CHECK(std::string_view(item["object"]) == "embedding");
    CHECK(simdjson::dom::array(item["embedding"]).size() == kMockEmbeddingDimensions);
  }
  CHECK(int64_t(root["usage"]["prompt_tokens"]) == 10);
  auto info = find_provider("openai")->inspect_response(body, Endpoint::kEmbeddings);
  REQUIRE(info.ok());
  CHECK(info->usage.prompt_tokens == 10);
}
