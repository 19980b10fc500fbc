// Deployment ids follow LiteLLM's recipe byte for byte (reference §3.3). The
// expected hashes below were computed in Python with PyYAML's safe_load and
// LiteLLM's Router._generate_model_id:
//
//   concat = model_group
//   for k, v in litellm_params.items():
//       concat += k
//       concat += v if isinstance(v, str) else json.dumps(v) if isinstance(v, dict) else str(v)
//   hashlib.sha256(concat.encode()).hexdigest()
#include <catch2/catch.hpp>

#include <limits>
#include <string>

#include "config/config_value.hpp"
#include "config/deployment_id.hpp"
#include "llmux/config.hpp"
#include "unit/config/config_test_util.hpp"

namespace llmux {
namespace {

using config_test::env_of;

// Every kind of value LiteLLM str()s: strings, env secrets, ints, floats in
// both notations, a float PyYAML keeps as a string, bools (also YAML 1.1
// "no"), hex ints, None, lists with mixed quoting, a dict (json.dumps with
// ensure_ascii), nested lists/dicts and a date-looking string.
constexpr const char* kVectorYaml = R"(model_name: qwen3-14b
litellm_params:
  model: openai/qwen3-14b
  api_base: https://gpu1.example.com/v1
  api_key: os.environ/QWEN_API_KEY
  rpm: 100
  weight: 0.5
  input_cost_per_token: 0.00000009
  output_cost_per_token: 1.5e-06
  big: 1e16
  stream: true
  tags: [a, b]
  enabled: no
  seed: 1e-7
  hex: 0x1F
  mixed: ["fast", "it's", 'say "hi"', 2, 0.001, null, true]
  custom_map: {X-Team: "ml", X-Num: 3, X-Flag: false, X-Nested: {a: [1, 2.5]}, X-Uni: "café"}
  max_retries: ~
  quoted_num: "42"
  nested_list: [[1, 2], {k: v}]
  version: 2024-02-01
)";

// The string Python hashed for kVectorYaml (repr() of it, unescaped here).
constexpr const char* kVectorConcat =
    "qwen3-14bmodelopenai/qwen3-14bapi_basehttps://gpu1.example.com/v1api_keysk-qwenrpm100weight0.5"
    "input_cost_per_token9e-08output_cost_per_token1.5e-06big1e16streamTruetags['a', 'b']enabledFalseseed1e-7hex31"
    "mixed['fast', \"it's\", 'say \"hi\"', 2, 0.001, None, True]"
    "custom_map{\"X-Team\": \"ml\", \"X-Num\": 3, \"X-Flag\": false, \"X-Nested\": {\"a\": [1, 2.5]}, "
    "\"X-Uni\": \"caf\\u00e9\"}"
    "max_retriesNonequoted_num42nested_list[[1, 2], {'k': 'v'}]version2024-02-01";

constexpr const char* kVectorId = "981a8ff647c3249b9e372f346a74204e171959e700f1dab9ab5d11683e046544";

TEST_CASE("deployment id matches the Python-computed vector", "[config][id]") {
  auto d = parse_deployment(kVectorYaml, env_of({{"QWEN_API_KEY", "sk-qwen"}}));
  REQUIRE(d.ok());
  CHECK(d->id == kVectorId);

  // The same through the building blocks, to see which part differs if it breaks.
  auto doc = config::load_yaml(kVectorYaml);
  REQUIRE(doc.ok());
  config::Value params = *doc->find("litellm_params");
  *params.find("api_key") = config::Value::string("sk-qwen");
  std::string concat = "qwen3-14b";
  for (const auto& [key, value] : params.members) concat += key + config::python_str(value);
  CHECK(concat == kVectorConcat);
  CHECK(config::sha256_hex(kVectorConcat) == kVectorId);
  CHECK(config::generate_deployment_id("qwen3-14b", params) == kVectorId);
}

TEST_CASE("deployment id: sha256 and determinism", "[config][id]") {
  // FIPS 180-2 test vector.
  CHECK(config::sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(config::sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

  const char* text = "model_name: g\nlitellm_params: {model: openai/x, api_base: http://a, rpm: 5}\n";
  auto a = parse_deployment(text, env_of({}));
  auto b = parse_deployment(text, env_of({}));
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a->id == b->id);
  CHECK(a->id.size() == 64);
  CHECK(a->id.find_first_not_of("0123456789abcdef") == std::string::npos);

  // Key order, values, group and secrets all change it (as in LiteLLM).
  auto reordered = parse_deployment("model_name: g\nlitellm_params: {api_base: http://a, model: openai/x, rpm: 5}\n",
                                    env_of({}));
  auto other_group = parse_deployment("model_name: h\nlitellm_params: {model: openai/x, api_base: http://a, rpm: 5}\n",
                                      env_of({}));
  auto float_rpm = parse_deployment("model_name: g\nlitellm_params: {model: openai/x, api_base: http://a, rpm: 5.0}\n",
                                    env_of({}));
  CHECK(reordered->id != a->id);
  CHECK(other_group->id != a->id);
  CHECK(float_rpm->id != a->id);  // "5.0" vs "5"
  const char* secret = "model_name: g\nlitellm_params: {model: openai/x, api_key: os.environ/K}\n";
  CHECK(parse_deployment(secret, env_of({{"K", "one"}}))->id != parse_deployment(secret, env_of({{"K", "two"}}))->id);

  // model_info.id wins; an int id becomes its decimal string.
  auto explicit_id = parse_deployment("model_name: g\nlitellm_params: {model: openai/x}\nmodel_info: {id: my-id}\n",
                                      env_of({}));
  auto int_id = parse_deployment("model_name: g\nlitellm_params: {model: openai/x}\nmodel_info: {id: 7}\n", env_of({}));
  CHECK(explicit_id->id == "my-id");
  CHECK(int_id->id == "7");
}

TEST_CASE("an unset secret hashes as None, as in LiteLLM", "[config][id]") {
  // Python: sha256("production-llm-fallbackmodelanthropic/claude-3-5-sonnet-20241022api_keyNone")
  auto d = parse_deployment(
      "model_name: production-llm-fallback\nlitellm_params:\n  model: anthropic/claude-3-5-sonnet-20241022\n"
      "  api_key: os.environ/ANTHROPIC_API_KEY\n",
      env_of({}));
  REQUIRE(d.ok());
  CHECK(d->id == "597b3bc9479d1395a058bdbb1cce9029ca86ad34434d68ff27ea8944d91497bd");
}

TEST_CASE("Python float repr", "[config][id]") {
  struct Case {
    double value;
    const char* repr;
  };
  // Expected strings printed by Python 3.11's repr().
  const Case cases[] = {
      {0.001, "0.001"},
      {1e-07, "1e-07"},
      {9e-08, "9e-08"},
      {1e16, "1e+16"},
      {1e15, "1000000000000000.0"},
      {123456789012345678.0, "1.2345678901234568e+17"},
      {0.0001, "0.0001"},
      {0.00001, "1e-05"},
      {1.5, "1.5"},
      {100.0, "100.0"},
      {0.0, "0.0"},
      {-0.0, "-0.0"},
      {0.1 + 0.2, "0.30000000000000004"},
      {1e22, "1e+22"},
      {5e-324, "5e-324"},
      {1.7976931348623157e308, "1.7976931348623157e+308"},
      {2.5e-05, "2.5e-05"},
      {12345.678, "12345.678"},
      {-3.25, "-3.25"},
      {std::numeric_limits<double>::infinity(), "inf"},
      {-std::numeric_limits<double>::infinity(), "-inf"},
      {std::numeric_limits<double>::quiet_NaN(), "nan"},
  };
  for (const Case& c : cases) {
    INFO(c.repr);
    CHECK(config::python_float_repr(c.value) == c.repr);
  }
}

TEST_CASE("Python str/repr/json.dumps of config values", "[config][id]") {
  auto doc = config::load_yaml(R"(
s: plain
q: "it's"
both: "it's \"x\""
bs: "back\\slash"
nl: "a\nb"
l: [1, "a", null, true, 1.0]
d: {a: 1, "b": [x, 2.5], c: null, u: "ü€😀"}
ctl: "\x07"
)");
  REQUIRE(doc.ok());
  auto str = [&](const char* key) { return config::python_str(*doc->find(key)); };
  auto repr = [&](const char* key) { return config::python_repr(*doc->find(key)); };
  CHECK(str("s") == "plain");
  CHECK(repr("s") == "'plain'");
  CHECK(repr("q") == "\"it's\"");
  CHECK(repr("both") == "'it\\'s \"x\"'");
  CHECK(repr("bs") == "'back\\\\slash'");
  CHECK(repr("nl") == "'a\\nb'");
  CHECK(repr("ctl") == "'\\x07'");
  CHECK(str("l") == "[1, 'a', None, True, 1.0]");
  CHECK(str("d") == "{\"a\": 1, \"b\": [\"x\", 2.5], \"c\": null, \"u\": \"\\u00fc\\u20ac\\ud83d\\ude00\"}");
  CHECK(repr("d") == "{'a': 1, 'b': ['x', 2.5], 'c': None, 'u': '\xC3\xBC\xE2\x82\xAC\xF0\x9F\x98\x80'}");
}

}  // namespace
}  // namespace llmux
