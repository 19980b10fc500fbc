// The model map: the bundled table LiteLLM publishes, LiteLLM's lookup
// spellings, registration at run time, and the seed cost table resolved from
// the shipped map alone (no prices in the config).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "llmux/config.hpp"
#include "pricing/model_map.hpp"
#include "pricing/price_book.hpp"
#include "pricing/pricing.hpp"
#include "strategy/cost_based.hpp"
#include "unit/strategy/strategy_test_util.hpp"

using namespace llmux;
using llmux::pricing::ModelMap;
using llmux::pricing::PriceBook;

namespace {

DeploymentConfig deployment(std::string_view model, std::string_view params_json = "{}") {
  auto d = parse_deployment(fmt::format(R"({{"model_name":"g","litellm_params":{{"model":"{}"}}}})", model));
  REQUIRE(d.ok());
  DeploymentConfig c = std::move(d).value();
  if (params_json != "{}") c.litellm_params_json = std::string(params_json);
  return c;
}

PriceBook bundled_book() { return PriceBook(); }

}  // namespace

TEST_CASE("model map: the bundled map parses, once, and holds LiteLLM's entries", "[pricing][model_map]") {
  const auto start = std::chrono::steady_clock::now();
  auto map = ModelMap::bundled();
  const double first_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  REQUIRE(map != nullptr);
  CHECK(map->size() > 2000);
  CHECK(ModelMap::bundled().get() == map.get());  // parsed once
  // A figure for the report, never asserted.
  std::printf("bundled model map: %zu bytes, %zu entries, first use (parse) %.1f ms\n", ModelMap::bundled_bytes(),
              map->size(), first_ms);
  const pricing::ModelInfo* gpt4o = map->find("gpt-4o");
  REQUIRE(gpt4o != nullptr);
  CHECK(gpt4o->litellm_provider == "openai");
  CHECK(gpt4o->mode == "chat");
  CHECK(gpt4o->input_cost_per_token.value_or(0) > 0);
  CHECK(gpt4o->max_input_tokens.value_or(0) >= 128000);
  CHECK(gpt4o->flag("supports_function_calling") == true);
  CHECK_FALSE(gpt4o->flag("supports_no_such_thing").has_value());
  CHECK(map->find("sample_spec") == nullptr);
  // Keys ignore case as LiteLLM's _get_model_cost_key does.
  std::string key;
  REQUIRE(map->find("GPT-4o", &key) != nullptr);
  CHECK(key == "gpt-4o");
}

TEST_CASE("model map: the seed table holds from the shipped map alone", "[pricing][model_map][seed]") {
  PriceBook book = bundled_book();
  DeploymentConfig vertex_oss = deployment("vertex_ai/openai/gpt-oss-120b-maas");
  DeploymentConfig bedrock_oss = deployment("bedrock/openai.gpt-oss-120b-1:0", R"({"aws_region_name":"us-west-2"})");
  DeploymentConfig vertex_mm = deployment("vertex_ai/minimaxai/minimax-m2-maas");
  DeploymentConfig bedrock_mm = deployment("bedrock/minimax.minimax-m2", R"({"aws_region_name":"us-west-2"})");
  CHECK(book.resolve(vertex_oss) == "vertex_ai/openai/gpt-oss-120b-maas");
  CHECK(book.resolve(bedrock_oss) == "openai.gpt-oss-120b-1:0");
  CHECK(book.resolve(vertex_mm) == "vertex_ai/minimaxai/minimax-m2-maas");
  CHECK(book.resolve(bedrock_mm) == "minimax.minimax-m2");

  // The prices of litellm 1.110.2's map (data/README.md), per token.
  CHECK(vertex_oss.input_cost_per_token == Approx(9e-08));
  CHECK(vertex_oss.output_cost_per_token == Approx(3.6e-07));
  CHECK(vertex_oss.max_input_tokens == 131072);
  CHECK(bedrock_oss.input_cost_per_token == Approx(1.5e-07));
  CHECK(bedrock_oss.output_cost_per_token == Approx(6e-07));
  CHECK(bedrock_oss.max_input_tokens == 128000);
  CHECK(vertex_mm.input_cost_per_token == Approx(3e-07));
  CHECK(vertex_mm.output_cost_per_token == Approx(1.2e-06));
  CHECK(bedrock_mm.input_cost_per_token == Approx(3e-07));
  CHECK(bedrock_mm.output_cost_per_token == Approx(1.2e-06));

  // cost-based-routing over each pair: gpt-oss-120b always goes to Vertex;
  // minimax-m2 costs the same on both, so both are picked.
  using strategy::CostBased;
  CostBased cost;
  llmux::testing::VirtualClock clock;
  const PickContext ctx = strategy_test::context(clock.now());
  {
    strategy_test::Pool p;
    p.add([&](DeploymentConfig& c) { c = vertex_oss; });
    p.add([&](DeploymentConfig& c) { c = bedrock_oss; });
    CHECK(CostBased::price(p[0].config()) < CostBased::price(p[1].config()));
    CHECK(strategy_test::histogram(cost, p, ctx, 100) == std::vector<int>{100, 0});
  }
  {
    strategy_test::Pool p;
    p.add([&](DeploymentConfig& c) { c = vertex_mm; });
    p.add([&](DeploymentConfig& c) { c = bedrock_mm; });
    CHECK(CostBased::price(p[0].config()) == CostBased::price(p[1].config()));
    const std::vector<int> h = strategy_test::histogram(cost, p, ctx, 200);
    CHECK(h[0] > 0);
    CHECK(h[1] > 0);
  }
}

TEST_CASE("model map: LiteLLM's lookup spellings", "[pricing][model_map]") {
  using pricing::candidate_keys;
  CHECK(candidate_keys("openai", "gpt-4o", "") == std::vector<std::string>{"openai/gpt-4o", "gpt-4o"});
  CHECK(candidate_keys("vertex_ai", "gemini-1.5-pro-002", "") ==
        std::vector<std::string>{"vertex_ai/gemini-1.5-pro-002", "vertex_ai/gemini-1.5-pro", "gemini-1.5-pro",
                                 "gemini-1.5-pro-002"});
  // Bedrock: the region key first, routing prefixes, cross-region and
  // throughput spellings stripped.
  CHECK(candidate_keys("bedrock", "us.anthropic.claude-3-haiku-20240307-v1:0", "us-east-1") ==
        std::vector<std::string>{"bedrock/us-east-1/anthropic.claude-3-haiku-20240307-v1:0",
                                 "bedrock/us.anthropic.claude-3-haiku-20240307-v1:0",
                                 "anthropic.claude-3-haiku-20240307-v1:0",
                                 "bedrock/anthropic.claude-3-haiku-20240307-v1:0",
                                 "us.anthropic.claude-3-haiku-20240307-v1:0"});
  CHECK(candidate_keys("bedrock", "converse/anthropic.claude-3-haiku-20240307-v1:0:51k", "").at(1) ==
        "anthropic.claude-3-haiku-20240307-v1:0");
  CHECK(candidate_keys("bedrock", "eu-west-1/meta.llama3-70b-instruct-v1:0", "").at(1) ==
        "meta.llama3-70b-instruct-v1:0");
  CHECK(candidate_keys("openai", "ft:gpt-4o-mini-2024-07-18:my-org:custom:abc123", "") ==
        std::vector<std::string>{"openai/ft:gpt-4o-mini-2024-07-18:my-org:custom:abc123",
                                 "openai/ft:gpt-4o-mini-2024-07-18", "ft:gpt-4o-mini-2024-07-18",
                                 "ft:gpt-4o-mini-2024-07-18:my-org:custom:abc123"});

  CHECK(pricing::provider_matches("vertex_ai-openai_models", "vertex_ai"));
  CHECK(pricing::provider_matches("bedrock_converse", "bedrock"));
  CHECK(pricing::provider_matches("openai", "azure_ai"));
  CHECK_FALSE(pricing::provider_matches("openai", "anthropic"));

  PriceBook book = bundled_book();
  std::string key;
  // A cross-region inference profile resolves to the base model.
  REQUIRE(book.find("bedrock", "us.meta.llama3-70b-instruct-v1:0", "", &key) != nullptr);
  CHECK(key == "meta.llama3-70b-instruct-v1:0");
  REQUIRE(book.find("bedrock", "bedrock/converse/meta.llama3-70b-instruct-v1:0", "", &key) != nullptr);
  CHECK(key == "meta.llama3-70b-instruct-v1:0");
  // Region-priced Bedrock entries win when aws_region_name matches one.
  REQUIRE(book.find("bedrock", "minimax.minimax-m2.1", "eu-west-2", &key) != nullptr);
  CHECK(key == "bedrock/eu-west-2/minimax.minimax-m2.1");
  REQUIRE(book.find("bedrock", "minimax.minimax-m2.1", "", &key) != nullptr);
  CHECK(key == "minimax.minimax-m2.1");
  // An entry of another provider is not used: "gpt-4o" is OpenAI's.
  CHECK(book.find("anthropic", "gpt-4o", "") == nullptr);
  CHECK(book.find("hosted_vllm", "qwen3-14b-on-my-gpus", "") == nullptr);
  // Azure's model is a deployment name: base_model says what it serves.
  DeploymentConfig azure = deployment("azure/my-prod-deployment");
  CHECK(book.resolve(azure).empty());
  CHECK_FALSE(azure.input_cost_per_token);
  azure.model_info_json = R"({"base_model":"azure/gpt-4o"})";
  CHECK(book.resolve(azure) == "azure/gpt-4o");
  CHECK(azure.input_cost_per_token.value_or(0) > 0);
}

TEST_CASE("model map: prices and limits in the config win over the map", "[pricing][model_map]") {
  PriceBook book = bundled_book();
  auto parsed = parse_deployment(R"({"model_name":"g","litellm_params":{"model":"vertex_ai/openai/gpt-oss-120b-maas",
      "input_cost_per_token":0.5},"model_info":{"max_input_tokens":1000}})");
  REQUIRE(parsed.ok());
  DeploymentConfig d = std::move(parsed).value();
  book.resolve(d);
  CHECK(d.input_cost_per_token == 0.5);                // litellm_params
  CHECK(d.output_cost_per_token == Approx(3.6e-07));   // the map fills the side left unset
  CHECK(d.max_input_tokens == 1000);                   // model_info
  // A configured price of 0 is a price (free), not "unknown".
  parsed = parse_deployment(R"({"model_name":"g","litellm_params":{"model":"gpt-4o","input_cost_per_token":0,
      "output_cost_per_token":0}})");
  REQUIRE(parsed.ok());
  d = std::move(parsed).value();
  book.resolve(d);
  CHECK(d.input_cost_per_token == 0);
  CHECK(d.output_cost_per_token == 0);
  CHECK(d.max_input_tokens.value_or(0) >= 128000);
  CHECK(pricing::response_cost(d, 1000, 1000) == 0);
}

TEST_CASE("model map: a price book over no map knows registered entries only", "[pricing][model_map]") {
  PriceBook book(nullptr);
  CHECK(book.base() == nullptr);
  CHECK(book.find("openai", "gpt-4o", "") == nullptr);
  REQUIRE(book.register_models(R"({"gpt-4o":{"input_cost_per_token":1e-3}})").ok());
  REQUIRE(book.find("openai", "gpt-4o", "") != nullptr);
  CHECK(book.find("openai", "gpt-4o", "")->input_cost_per_token == 1e-3);
  CHECK(PriceBook().base() == ModelMap::bundled().get());
}

TEST_CASE("model map: prices registered at run time", "[pricing][model_map][register]") {
  PriceBook book = bundled_book();
  // A new model.
  REQUIRE(book.register_models(R"({"openai/my-model":{"input_cost_per_token":1e-6,"output_cost_per_token":"2e-6",
      "max_input_tokens":4096,"litellm_provider":"openai","mode":"chat"}})").ok());
  DeploymentConfig mine = deployment("openai/my-model");
  CHECK(book.resolve(mine) == "openai/my-model");
  CHECK(mine.input_cost_per_token == Approx(1e-6));
  CHECK(mine.output_cost_per_token == Approx(2e-6));
  CHECK(mine.max_input_tokens == 4096);
  // A known model, named with its provider: LiteLLM's canonical entry is
  // updated field by field; what the registration leaves out is kept.
  REQUIRE(book.register_models(R"({"bedrock/openai.gpt-oss-120b-1:0":{"input_cost_per_token":1e-9}})").ok());
  DeploymentConfig oss = deployment("bedrock/openai.gpt-oss-120b-1:0");
  CHECK(book.resolve(oss) == "openai.gpt-oss-120b-1:0");
  CHECK(oss.input_cost_per_token == Approx(1e-9));
  CHECK(oss.output_cost_per_token == Approx(6e-07));
  CHECK(oss.max_input_tokens == 128000);
  // All or nothing: a bad field registers nothing.
  auto bad = book.register_models(R"({"a-model":{"input_cost_per_token":1e-6},"b-model":{"max_input_tokens":"lots"}})");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().kind == ErrorKind::kInvalidConfig);
  CHECK(bad.error().message == "model cost map: b-model.max_input_tokens: expected a whole number of tokens");
  CHECK(book.find("openai", "a-model", "") == nullptr);
  CHECK_FALSE(book.register_models("[1,2]").ok());
  CHECK_FALSE(book.register_models("{not json").ok());
  CHECK_FALSE(book.register_models(R"({"m":{"input_cost_per_token":-1}})").ok());
}

TEST_CASE("model map: a map file replaces the bundled one; a bad file is a clear error", "[pricing][model_map]") {
  const std::string path = "model_map_test_override.json";
  {
    std::ofstream out(path);
    out << R"({"sample_spec":{"max_tokens":"documentation, not a number"},
              "tiny-model":{"input_cost_per_token":1e-6,"output_cost_per_token":1e-6,"max_input_tokens":10,
                            "litellm_provider":"openai"}})";
  }
  auto map = ModelMap::load_file(path);
  REQUIRE(map.ok());
  CHECK(map->size() == 1);
  CHECK(map->find("tiny-model")->max_input_tokens == 10);
  {
    std::ofstream out(path);
    out << R"({"tiny-model": 3})";
  }
  auto bad = ModelMap::load_file(path);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message == "'model_map_test_override.json': model cost map: tiny-model: expected an object");
  std::remove(path.c_str());
  auto missing = ModelMap::load_file("/nonexistent/map.json");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().kind == ErrorKind::kInvalidConfig);
  CHECK(missing.error().message == "'/nonexistent/map.json' cannot be read: No such file or directory");
  auto device = ModelMap::load_file("/dev/zero");  // would never end
  REQUIRE_FALSE(device.ok());
  CHECK(device.error().message == "'/dev/zero' is not a regular file");
}

TEST_CASE("model map: keys in another case find the first key of that spelling", "[pricing][model_map]") {
  // Only keys not themselves lower-case get a lower-case index entry; a
  // lower-case key is found under its own name. Either order of insertion
  // must give the first key of a spelling, as LiteLLM's lower-case index.
  auto lower_first = ModelMap::parse(R"({"my-model":{"mode":"chat"},"My-Model":{"mode":"embedding"},
      "MY-MODEL":{"mode":"completion"}})");
  REQUIRE(lower_first.ok());
  auto mixed_first = ModelMap::parse(R"({"My-Model":{"mode":"embedding"},"my-model":{"mode":"chat"},
      "MY-MODEL":{"mode":"completion"}})");
  REQUIRE(mixed_first.ok());
  std::string key;
  // Exact spellings are exact.
  REQUIRE(lower_first->find("MY-MODEL", &key) != nullptr);
  CHECK(key == "MY-MODEL");
  CHECK(lower_first->find("MY-MODEL")->mode == "completion");
  REQUIRE(mixed_first->find("my-model", &key) != nullptr);
  CHECK(key == "my-model");
  // Another spelling: the first key of it.
  REQUIRE(lower_first->find("mY-mODEL", &key) != nullptr);
  CHECK(key == "my-model");
  CHECK(lower_first->find("mY-mODEL")->mode == "chat");
  REQUIRE(mixed_first->find("mY-mODEL", &key) != nullptr);
  CHECK(key == "My-Model");
  CHECK(mixed_first->find("mY-mODEL")->mode == "embedding");
  CHECK(lower_first->find("other-model") == nullptr);
  CHECK(lower_first->find("Other-Model") == nullptr);
  // A mixed-case key alone.
  auto only_mixed = ModelMap::parse(R"({"Only-Mixed":{"mode":"chat"}})");
  REQUIRE(only_mixed.ok());
  REQUIRE(only_mixed->find("only-mixed", &key) != nullptr);
  CHECK(key == "Only-Mixed");
  CHECK(only_mixed->size() == 1);
  // Every key of the bundled map finds its own entry, and its lower-case
  // spelling an entry whose key has that spelling.
  size_t keys = 0;
  const auto bundled = ModelMap::bundled();
  bundled->for_each([&](std::string_view k, const pricing::ModelInfo& info) {
    ++keys;
    std::string matched;
    REQUIRE(bundled->find(k, &matched) == &info);
    CHECK(matched == k);
    std::string lower(k);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    REQUIRE(bundled->find(lower, &matched) != nullptr);
    std::string matched_lower = matched;
    for (char& c : matched_lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    CHECK(matched_lower == lower);
  });
  CHECK(keys == bundled->size());
}

TEST_CASE("model map: supports_* names outlive the text they were read from", "[pricing][model_map]") {
  // Flag names are interned: an entry must not point into the parsed JSON
  // or into a ModelInfo merged into it.
  std::optional<ModelMap> map;
  {
    std::string json = R"({"m":{"supports_vision":true,"supports_a_flag_name_longer_than_sso":false,
        "supports_function_calling":true}})";
    auto parsed = ModelMap::parse(json);
    REQUIRE(parsed.ok());
    map.emplace(std::move(parsed).value());
    std::fill(json.begin(), json.end(), 'x');
  }
  {
    std::string name = "supports_another_flag_merged_by_hand";
    pricing::ModelInfo info;
    info.supports.emplace_back(name, true);
    map->merge("m", info);
    std::fill(name.begin(), name.end(), 'x');
  }
  const pricing::ModelInfo* m = map->find("m");
  REQUIRE(m != nullptr);
  CHECK(m->flag("supports_vision") == true);
  CHECK(m->flag("supports_a_flag_name_longer_than_sso") == false);
  CHECK(m->flag("supports_function_calling") == true);
  CHECK(m->flag("supports_another_flag_merged_by_hand") == true);
  REQUIRE(m->supports.size() == 4);
  CHECK(m->supports[0].first == "supports_a_flag_name_longer_than_sso");
  CHECK(m->supports[1].first == "supports_another_flag_merged_by_hand");
  CHECK(m->supports[2].first == "supports_function_calling");
  CHECK(m->supports[3].first == "supports_vision");
}
