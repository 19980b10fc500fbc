// The YAML/JSON value layer (PyYAML typing), provider names and durations.
#include <catch2/catch.hpp>

#include <cmath>
#include <string>

#include "config/config_value.hpp"
#include "config/duration.hpp"
#include "config/provider_names.hpp"

namespace llmux::config {
namespace {

TEST_CASE("plain scalars are typed as PyYAML types them", "[config][yaml]") {
  struct Case {
    const char* text;
    Value::Kind kind;
  };
  const Case cases[] = {
      {"", Value::Kind::kNull},          {"~", Value::Kind::kNull},          {"null", Value::Kind::kNull},
      {"true", Value::Kind::kBool},      {"False", Value::Kind::kBool},      {"yes", Value::Kind::kBool},
      {"off", Value::Kind::kBool},       {"y", Value::Kind::kString},        {"0", Value::Kind::kInt},
      {"42", Value::Kind::kInt},         {"-7", Value::Kind::kInt},          {"+3", Value::Kind::kInt},
      {"1_000", Value::Kind::kInt},      {"0x1F", Value::Kind::kInt},        {"0b101", Value::Kind::kInt},
      {"017", Value::Kind::kInt},        {"08", Value::Kind::kString},       {"1.5", Value::Kind::kFloat},
      {"1.", Value::Kind::kFloat},       {".5", Value::Kind::kFloat},        {"-.5", Value::Kind::kString},
      {"1.5e-06", Value::Kind::kFloat},  {"1e-7", Value::Kind::kFloat},      {".inf", Value::Kind::kFloat},
      {"-.Inf", Value::Kind::kFloat},    {".nan", Value::Kind::kFloat},      {"1.2.3", Value::Kind::kString},
      {"2024-02-01", Value::Kind::kString}, {"gpt-4o", Value::Kind::kString}, {"v1:0", Value::Kind::kString},
      {"1:30", Value::Kind::kString},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    CHECK(resolve_plain_scalar(c.text).kind == c.kind);
  }
  CHECK(resolve_plain_scalar("yes").boolean);
  CHECK_FALSE(resolve_plain_scalar("off").boolean);
  CHECK(resolve_plain_scalar("1_000").integer == 1000);
  CHECK(resolve_plain_scalar("0x1F").integer == 31);
  CHECK(resolve_plain_scalar("0b101").integer == 5);
  CHECK(resolve_plain_scalar("017").integer == 15);  // YAML 1.1 octal
  CHECK(resolve_plain_scalar("-7").integer == -7);
  CHECK(resolve_plain_scalar("1.").number == 1.0);
  CHECK(resolve_plain_scalar(".5").number == 0.5);
  CHECK(resolve_plain_scalar("1.5e-06").number == 1.5e-06);
  CHECK_FALSE(resolve_plain_scalar("1.5e-06").pyyaml_string);
  CHECK(resolve_plain_scalar("1e-7").number == 1e-7);
  CHECK(resolve_plain_scalar("1e-7").pyyaml_string);  // PyYAML floats need a dot
  CHECK(std::isinf(resolve_plain_scalar("-.Inf").number));
  CHECK(resolve_plain_scalar("-.Inf").number < 0);
  CHECK(std::isnan(resolve_plain_scalar(".nan").number));
  CHECK(resolve_plain_scalar("99999999999999999999").kind == Value::Kind::kFloat);  // beyond int64
}

TEST_CASE("quoted scalars stay strings; JSON keeps its types", "[config][yaml]") {
  auto v = load_yaml("a: \"42\"\nb: '1.5'\nc: 42\nd: !!str true\ne: \"null\"\n");
  REQUIRE(v.ok());
  CHECK(v->find("a")->kind == Value::Kind::kString);
  CHECK(v->find("b")->kind == Value::Kind::kString);
  CHECK(v->find("c")->kind == Value::Kind::kInt);
  CHECK(v->find("d")->kind == Value::Kind::kString);
  CHECK(v->find("e")->kind == Value::Kind::kString);
  CHECK(v->find("c")->line == 3);

  auto j = load_yaml(R"({"s": "x", "i": -3, "f": 2.5, "b": false, "n": null, "l": [1, "2"], "m": {"k": "v"}})");
  REQUIRE(j.ok());
  CHECK(to_json(*j) == R"({"s":"x","i":-3,"f":2.5,"b":false,"n":null,"l":[1,"2"],"m":{"k":"v"}})");
}

TEST_CASE("JSON output escapes strings and keeps numbers", "[config][json]") {
  auto v = load_yaml("s: \"quote \\\" backslash \\\\ tab \\t nl \\n ctl \\x01 é\"\nf: 0.1\nbig: 1e16\ninf: .inf\n");
  REQUIRE(v.ok());
  CHECK(to_json(*v) ==
        "{\"s\":\"quote \\\" backslash \\\\ tab \\t nl \\n ctl \\u0001 \xC3\xA9\",\"f\":0.1,\"big\":1e+16,"
        "\"inf\":null}");
}

TEST_CASE("the YAML escapes \\N and \\_ become UTF-8 (yaml-cpp writes single bytes; found by fuzzing)",
          "[config][yaml]") {
  // In keys and values, next to multi-byte characters, and in a JSON-looking
  // document (JSON text is read as YAML first, where "\_" is an escape).
  auto v = load_yaml("\"a\\_b\": \"\xC3\xA9\\_\\N\xC3\xA9\"\nplain: x\n");
  REQUIRE(v.ok());
  REQUIRE(v->find("a\xC2\xA0" "b") != nullptr);
  CHECK(v->find("a\xC2\xA0" "b")->text == "\xC3\xA9\xC2\xA0\xC2\x85\xC3\xA9");
  auto j = load_yaml(R"({"support\_assistant_prefill": true})");
  REQUIRE(j.ok());
  CHECK(to_json(*j) == "{\"support\xC2\xA0" "assistant_prefill\":true}");
  // A document that is not UTF-8 is left as it is (no guessing at its bytes).
  auto latin1 = load_yaml("k: \"\xE9\\_\"\n");
  REQUIRE(latin1.ok());
  CHECK(latin1->find("k")->text == "\xE9\xA0");
}

TEST_CASE("merge keys follow PyYAML precedence", "[config][yaml]") {
  auto v = load_yaml(R"(
a: &a {x: 1, y: 1}
b: &b {y: 2, z: 2}
m:
  <<: [*a, *b]
  z: 3
)");
  REQUIRE(v.ok());
  const Value* m = v->find("m");
  REQUIRE(m != nullptr);
  // Earlier sources win among merged keys; explicit keys win over all.
  CHECK(to_json(*m) == R"({"y":1,"z":3,"x":1})");
  auto bad = load_yaml("m:\n  <<: 5\n");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message == "invalid YAML/JSON at line 2: merge key '<<' needs a map or a list of maps");
}

TEST_CASE("load_yaml never throws on hostile input", "[config][yaml]") {
  const char* inputs[] = {
      "a: [1, 2",  "{\"a\": ", "- - - - [", "a: *nope", "&a [*a]", "\t- x", "a: b: c", "? [a]\n: b\n",
      "!!binary 123", "%YAML 9.9\n---\na: 1\n", "\xff\xfe\x00", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
  };
  for (const char* input : inputs) {
    INFO(input);
    CHECK_NOTHROW(load_yaml(input));
  }
  std::string deep(1000, '[');
  auto r = load_yaml(deep + std::string(1000, ']'));
  CHECK_FALSE(r.ok());
}

TEST_CASE("provider prefixes split LiteLLM model strings", "[config][provider]") {
  struct Case {
    const char* model;
    const char* custom;
    const char* provider;
    const char* provider_model;
  };
  const Case cases[] = {
      {"openai/qwen3-14b", "", "openai", "qwen3-14b"},
      {"gpt-4o", "", "openai", "gpt-4o"},
      {"azure/gpt-4o-prod", "", "azure", "gpt-4o-prod"},
      {"azure_ai/mistral-large", "", "azure_ai", "mistral-large"},
      {"anthropic/claude-3-5-sonnet-20241022", "", "anthropic", "claude-3-5-sonnet-20241022"},
      {"bedrock/anthropic.claude-3-haiku-20240307-v1:0", "", "bedrock", "anthropic.claude-3-haiku-20240307-v1:0"},
      {"bedrock/converse/us.anthropic.claude", "", "bedrock", "converse/us.anthropic.claude"},
      {"vertex_ai/openai/gpt-oss-120b-maas", "", "vertex_ai", "openai/gpt-oss-120b-maas"},
      {"gemini/gemini-1.5-pro", "", "gemini", "gemini-1.5-pro"},
      {"hosted_vllm/meta-llama/Llama-3-8B", "", "hosted_vllm", "meta-llama/Llama-3-8B"},
      {"ollama_chat/llama3", "", "ollama_chat", "llama3"},
      {"text-completion-openai/gpt-3.5-turbo-instruct", "", "text-completion-openai", "gpt-3.5-turbo-instruct"},
      {"together_ai/meta-llama/Llama-3", "", "together_ai", "meta-llama/Llama-3"},
      {"meta-llama/Llama-3-8B", "", "openai", "meta-llama/Llama-3-8B"},  // not a provider prefix
      {"my-model", "hosted_vllm", "hosted_vllm", "my-model"},
      {"hosted_vllm/my-model", "hosted_vllm", "hosted_vllm", "my-model"},
      {"openai/my-model", "hosted_vllm", "hosted_vllm", "openai/my-model"},
  };
  for (const Case& c : cases) {
    INFO(c.model << " custom=" << c.custom);
    const ProviderModel pm = resolve_provider_model(c.model, c.custom);
    CHECK(pm.provider == c.provider);
    CHECK(pm.model == c.provider_model);
  }
  for (const char* name : {"openai", "azure", "azure_ai", "anthropic", "bedrock", "vertex_ai", "gemini",
                           "hosted_vllm", "vllm", "openai_like", "custom_openai", "ollama", "ollama_chat", "groq",
                           "mistral", "together_ai", "deepseek", "fireworks_ai", "cohere", "huggingface",
                           "sagemaker", "watsonx", "databricks", "xai", "perplexity", "openrouter", "lm_studio",
                           "llamafile", "text-completion-openai"}) {
    INFO(name);
    CHECK(is_known_provider(name));
  }
  CHECK_FALSE(is_known_provider("meta-llama"));
  CHECK_FALSE(is_known_provider(""));
  CHECK(known_providers().size() >= 29);
}

TEST_CASE("budget durations", "[config][duration]") {
  CHECK(parse_duration_seconds("30s") == 30);
  CHECK(parse_duration_seconds("10m") == 600);
  CHECK(parse_duration_seconds("1h") == 3600);
  CHECK(parse_duration_seconds("1d") == 86400);
  CHECK(parse_duration_seconds("2w") == 2 * 7 * 86400);
  CHECK(parse_duration_seconds("1mo") == 30 * 86400);
  CHECK_FALSE(parse_duration_seconds("1 day").has_value());
  CHECK_FALSE(parse_duration_seconds("d").has_value());
  CHECK_FALSE(parse_duration_seconds("5").has_value());
  CHECK_FALSE(parse_duration_seconds("-1d").has_value());
  CHECK_FALSE(parse_duration_seconds("1y").has_value());
}

}  // namespace
}  // namespace llmux::config
