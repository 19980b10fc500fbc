// deployments_json: every kind of secret redacted (also inside nested objects
// such as extra_headers), everything else kept, the id always in model_info,
// and valid JSON (re-parsed with simdjson) for odd inputs.
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <simdjson.h>

#include "llmux/router.hpp"

using namespace llmux;

namespace {

// The secrets of kConfig, none of which may appear in the output.
const std::vector<std::string> kSecretValues = {
    "sk-from-environment", "sk-header-secret", "sk-azure-header", "AKIA-ID-SECRET", "aws-secret-value",
    "aws-session-value",   "BEGIN-PRIVATE",    "azure-ad-secret", "client-secret-value", "pw-secret",
    "camel-secret",        "hf-secret",
};

constexpr const char* kConfig = R"(
model_list:
  - model_name: "chat \"quoted\" \\ ünïcode ✓"
    litellm_params:
      model: openai/gpt-4o
      api_base: http://127.0.0.1:1/v1
      api_key: os.environ/LLMUX_TEST_OPENAI_KEY
      input_cost_per_token: 0.000001
      output_cost_per_token: 0.000002
      max_tokens: 512
      extra_headers:
        Authorization: Bearer sk-header-secret
        api-key: sk-azure-header
        X-Trace: keep-me
    model_info:
      id: chat-1
      note: "line\nbreak"
  - model_name: bedrock-claude
    litellm_params:
      model: bedrock/anthropic.claude-3
      aws_access_key_id: AKIA-ID-SECRET
      aws_secret_access_key: aws-secret-value
      aws_session_token: aws-session-value
      aws_region_name: us-east-1
  - model_name: vertex
    litellm_params:
      model: vertex_ai/gemini-pro
      vertex_project: proj
      vertex_credentials: {"type": "service_account", "private_key": "BEGIN-PRIVATE"}
  - model_name: azure
    litellm_params:
      model: azure/gpt-4o
      api_base: https://example.openai.azure.com
      api_version: "2024-02-01"
      azure_ad_token: azure-ad-secret
      client_secret: client-secret-value
      client_id: client-1
      tenant_id: tenant-1
      password: pw-secret
      apiKey: camel-secret
      HF_TOKEN: hf-secret
)";

std::string view(simdjson::dom::element e, const char* pointer) {
  std::string_view s;
  REQUIRE(e.at_pointer(pointer).get_string().get(s) == simdjson::SUCCESS);
  return std::string(s);
}

bool has(simdjson::dom::element e, const char* pointer) { return e.at_pointer(pointer).error() == simdjson::SUCCESS; }

}  // namespace

TEST_CASE("deployments_json: every secret of a parsed config is redacted, the rest kept", "[router][json]") {
  auto config = parse_config(kConfig, [](std::string_view name) -> std::optional<std::string> {
    if (name == "LLMUX_TEST_OPENAI_KEY") return "sk-from-environment";
    return std::nullopt;
  });
  REQUIRE(config.ok());
  REQUIRE(config->model_list.size() == 4);
  const std::string json = deployments_json(config->model_list);
  INFO(json);
  for (const std::string& secret : kSecretValues) {
    INFO(secret);
    CHECK(json.find(secret) == std::string::npos);
  }

  simdjson::dom::parser parser;
  simdjson::dom::element root;
  REQUIRE(parser.parse(json).get(root) == simdjson::SUCCESS);
  simdjson::dom::array entries;
  REQUIRE(root.get_array().get(entries) == simdjson::SUCCESS);
  REQUIRE(entries.size() == 4);

  // Quotes, backslashes, non-ASCII and line feeds survive the round trip.
  CHECK(view(root, "/0/model_name") == "chat \"quoted\" \\ ünïcode ✓");
  CHECK(view(root, "/0/litellm_params/model") == "openai/gpt-4o");
  CHECK(view(root, "/0/litellm_params/api_base") == "http://127.0.0.1:1/v1");
  CHECK(view(root, "/0/litellm_params/api_key") == "***");  // resolved from os.environ/, still redacted
  CHECK(view(root, "/0/litellm_params/extra_headers/Authorization") == "***");
  CHECK(view(root, "/0/litellm_params/extra_headers/api-key") == "***");
  CHECK(view(root, "/0/litellm_params/extra_headers/X-Trace") == "keep-me");
  // Prices and limits name tokens but are not secrets.
  double price = 0;
  REQUIRE(root.at_pointer("/0/litellm_params/input_cost_per_token").get_double().get(price) == simdjson::SUCCESS);
  CHECK(price == Approx(0.000001));
  REQUIRE(root.at_pointer("/0/litellm_params/output_cost_per_token").get_double().get(price) == simdjson::SUCCESS);
  CHECK(price == Approx(0.000002));
  int64_t max_tokens = 0;
  REQUIRE(root.at_pointer("/0/litellm_params/max_tokens").get_int64().get(max_tokens) == simdjson::SUCCESS);
  CHECK(max_tokens == 512);
  CHECK(view(root, "/0/model_info/id") == "chat-1");
  CHECK(view(root, "/0/model_info/note") == "line\nbreak");

  CHECK(view(root, "/1/model_name") == "bedrock-claude");
  CHECK(view(root, "/1/litellm_params/aws_access_key_id") == "***");
  CHECK(view(root, "/1/litellm_params/aws_secret_access_key") == "***");
  CHECK(view(root, "/1/litellm_params/aws_session_token") == "***");
  CHECK(view(root, "/1/litellm_params/aws_region_name") == "us-east-1");
  // No model_info in the config: the generated id is there all the same.
  CHECK(!config->model_list[1].id.empty());
  CHECK(view(root, "/1/model_info/id") == config->model_list[1].id);

  // A secret that is an object is replaced whole.
  CHECK(view(root, "/2/litellm_params/vertex_credentials") == "***");
  CHECK(view(root, "/2/litellm_params/vertex_project") == "proj");

  for (const char* key : {"azure_ad_token", "client_secret", "password", "apiKey", "HF_TOKEN"}) {
    INFO(key);
    CHECK(view(root, (std::string("/3/litellm_params/") + key).c_str()) == "***");
  }
  CHECK(view(root, "/3/litellm_params/api_version") == "2024-02-01");
  CHECK(view(root, "/3/litellm_params/client_id") == "client-1");
  CHECK(view(root, "/3/litellm_params/tenant_id") == "tenant-1");
  CHECK(!has(root, "/3/litellm_params/api_key"));  // never configured: not invented
}

TEST_CASE("deployments_json: a deployment built in code, without the original JSON", "[router][json]") {
  DeploymentConfig d;
  d.model_name = "m";
  d.model = "openai/x";
  d.api_base = "http://127.0.0.1:2/v1";
  d.api_key = "sk-live-key";
  d.id = "prog-1";
  CHECK(deployments_json({d}) ==
        R"([{"model_name":"m","litellm_params":{"model":"openai/x","api_base":"http://127.0.0.1:2/v1",)"
        R"("api_key":"***"},"model_info":{"id":"prog-1"}}])");
}

TEST_CASE("deployments_json: odd original JSON still gives valid JSON", "[router][json]") {
  DeploymentConfig broken;
  broken.model_name = "broken";
  broken.model = "openai/x";
  broken.id = "b-1";
  broken.litellm_params_json = R"({"model":"openai/x","api_key":"sk-trunc)";  // truncated
  broken.model_info_json = "[1,2]";                                          // not an object

  DeploymentConfig nulls;
  nulls.model_name = "nulls";
  nulls.id = "n-1";
  nulls.litellm_params_json =
      R"({"model":"openai/y","api_key":null,"aws_session_token":"","nested":[{"token":"t-secret"}]})";
  nulls.model_info_json = R"({"id":"stale","tags":["a"]})";

  const std::string json = deployments_json({broken, nulls});
  INFO(json);
  CHECK(json.find("sk-trunc") == std::string::npos);
  CHECK(json.find("t-secret") == std::string::npos);
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  REQUIRE(parser.parse(json).get(root) == simdjson::SUCCESS);
  CHECK(view(root, "/0/litellm_params/model") == "openai/x");
  CHECK(view(root, "/0/model_info/id") == "b-1");
  // An unset secret stays null; an empty one is still shown as "***".
  CHECK(root.at_pointer("/1/litellm_params/api_key").is_null());
  CHECK(view(root, "/1/litellm_params/aws_session_token") == "***");
  CHECK(view(root, "/1/litellm_params/nested/0/token") == "***");
  // The deployment's id wins over a stale one in model_info, once.
  CHECK(view(root, "/1/model_info/id") == "n-1");
  CHECK(json.find("stale") == std::string::npos);
  CHECK(view(root, "/1/model_info/tags/0") == "a");

  CHECK(deployments_json({}) == "[]");
}
