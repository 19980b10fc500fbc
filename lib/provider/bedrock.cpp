#include "provider/bedrock.hpp"

#include <algorithm>
#include <cstdlib>
#include <iterator>
#include <utility>
#include <vector>

#include <absl/strings/ascii.h>
#include <absl/strings/escaping.h>
#include <absl/time/clock.h>
#include <fmt/format.h>
#include <simdjson.h>

#include "common/strings.hpp"
#include "json/writer.hpp"
#include "pricing/model_map.hpp"
#include "provider/anthropic_messages.hpp"
#include "provider/aws_credentials.hpp"
#include "provider/aws_sigv4.hpp"
#include "provider/bedrock_converse.hpp"
#include "provider/connection_settings.hpp"
#include "provider/error_classifier.hpp"

namespace llmux::provider {
namespace {

namespace dom = simdjson::dom;

constexpr std::string_view kProviderName = "bedrock";
constexpr std::string_view kService = "bedrock";
constexpr std::string_view kDefaultRegion = "us-west-2";
constexpr std::string_view kAnthropicVersionMember = R"("anthropic_version":"bedrock-2023-05-31")";

// LiteLLM 1.81.13's BEDROCK_CONVERSE_MODELS (litellm/constants.py).
constexpr std::string_view kConverseModels[] = {
    "qwen.qwen3-coder-480b-a35b-v1:0", "qwen.qwen3-235b-a22b-2507-v1:0", "qwen.qwen3-coder-30b-a3b-v1:0",
    "qwen.qwen3-32b-v1:0", "deepseek.v3-v1:0", "openai.gpt-oss-20b-1:0", "openai.gpt-oss-120b-1:0",
    "anthropic.claude-haiku-4-5-20251001-v1:0", "anthropic.claude-sonnet-4-5-20250929-v1:0",
    "anthropic.claude-opus-4-1-20250805-v1:0", "anthropic.claude-opus-4-20250514-v1:0",
    "anthropic.claude-sonnet-4-20250514-v1:0", "anthropic.claude-3-7-sonnet-20250219-v1:0",
    "anthropic.claude-3-5-haiku-20241022-v1:0", "anthropic.claude-3-5-sonnet-20241022-v2:0",
    "anthropic.claude-3-5-sonnet-20240620-v1:0", "anthropic.claude-3-opus-20240229-v1:0",
    "anthropic.claude-3-sonnet-20240229-v1:0", "anthropic.claude-3-haiku-20240307-v1:0", "anthropic.claude-v2",
    "anthropic.claude-v2:1", "anthropic.claude-v1", "anthropic.claude-instant-v1", "ai21.jamba-instruct-v1:0",
    "ai21.jamba-1-5-mini-v1:0", "ai21.jamba-1-5-large-v1:0", "meta.llama3-70b-instruct-v1:0",
    "meta.llama3-8b-instruct-v1:0", "meta.llama3-1-8b-instruct-v1:0", "meta.llama3-1-70b-instruct-v1:0",
    "meta.llama3-1-405b-instruct-v1:0", "mistral.mistral-large-2407-v1:0", "mistral.mistral-large-2402-v1:0",
    "mistral.mistral-small-2402-v1:0", "meta.llama3-2-1b-instruct-v1:0", "meta.llama3-2-3b-instruct-v1:0",
    "meta.llama3-2-11b-instruct-v1:0", "meta.llama3-2-90b-instruct-v1:0"};

constexpr std::string_view kCrossRegionPrefixes[] = {"global.", "us.", "eu.", "apac.", "jp.", "au.", "us-gov."};

// InvokeModel families LiteLLM knows (BEDROCK_INVOKE_PROVIDERS_LITERAL and
// the embedding ones), by the id's vendor prefix.
constexpr std::string_view kInvokeFamilies[] = {"cohere.", "mistral.", "amazon.", "meta.", "ai21.", "deepseek.",
                                                "qwen.", "twelvelabs.", "stability.", "openai.", "writer."};

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

bool has_line_break(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

std::string param(dom::object params, std::string_view key) {
  std::string_view s;
  if (params[key].get_string().get(s) != simdjson::SUCCESS) return {};
  return std::string(s);
}

bool is_embedding_model(std::string_view base) {
  return base.starts_with("amazon.titan-embed") || base.starts_with("cohere.embed");
}

bool is_converse_model(std::string_view base) {
  if (std::find(std::begin(kConverseModels), std::end(kConverseModels), base) != std::end(kConverseModels)) {
    return true;
  }
  const pricing::ModelInfo* info = pricing::ModelMap::bundled()->find(base);
  return info != nullptr && info->litellm_provider == "bedrock_converse";
}

// The deployment's auth state: a Bedrock API key (no SigV4), or the AWS
// credential chain (aws_credentials.hpp) and its signing region; the
// endpoint and model_id. Used on the loop thread.
class BedrockAuth final : public DeploymentAuth {
 public:
  Status problem;         // why the deployment cannot be served (reported by prepare)
  std::string bearer;     // a Bedrock API key: no SigV4
  bool bearer_from_env = false;
  std::string region;
  std::string endpoint;   // scheme://host[:port][/prefix], no trailing '/'
  std::string model_id;   // litellm_params.model_id, "" when absent
  std::shared_ptr<AwsCredentialProvider> aws;  // null with a bearer key

  void append_secrets(std::vector<std::string>& out) const override {
    if (bearer_from_env) out.push_back(bearer);
    if (aws) aws->append_secrets(out);
  }
};

BedrockAuth* auth_of(const ProviderTarget& target) { return dynamic_cast<BedrockAuth*>(target.auth); }

Error not_prepared(const ProviderTarget& target) {
  Error e(ErrorKind::kAuthentication,
          fmt::format("BedrockException - deployment {}: Bedrock credentials are not loaded", target.config.id));
  e.status = 401;
  e.llm_provider = std::string(kProviderName);
  return e;
}

// Deployment-level request presets (temperature, max_tokens, …).
struct Defaults {
  std::vector<std::pair<std::string, std::string>> owned;
  std::vector<request::RawField> fields;
};

Defaults read_defaults(const DeploymentConfig& deployment) {
  Defaults d;
  static constexpr std::string_view kKeys[] = {"max_tokens", "max_completion_tokens", "temperature", "top_p",
                                               "top_k",      "stop",                  "reasoning_effort", "thinking"};
  dom::parser parser;
  dom::object params;
  if (deployment.litellm_params_json.empty() ||
      parser.parse(deployment.litellm_params_json).get(params) != simdjson::SUCCESS) {
    return d;
  }
  for (dom::key_value_pair kv : params) {
    if (std::find(std::begin(kKeys), std::end(kKeys), kv.key) == std::end(kKeys)) continue;
    d.owned.emplace_back(std::string(kv.key), simdjson::minify(kv.value));
  }
  for (const auto& [k, v] : d.owned) d.fields.push_back(request::RawField{k, v});
  return d;
}

bool drop_params(const ProviderTarget& target, const request::ParsedRequest& request) {
  return request.router.drop_params || target.config.drop_params.value_or(false);
}

// The embedding body of InvokeModel for Titan or Cohere.
Status build_embedding_body(const ProviderTarget& target, const request::ParsedRequest& request,
                            std::string_view base, std::string& out) {
  auto bad = [&](std::string why) {
    Error e(ErrorKind::kBadRequest, fmt::format("BedrockException - {}", why));
    e.status = 400;
    e.llm_provider = std::string(kProviderName);
    return e;
  };
  dom::parser parser;
  dom::object body;
  if (parser.parse(request.body).get(body) != simdjson::SUCCESS) return bad("the request body is not a JSON object");
  std::vector<std::string_view> inputs;
  dom::element input;
  if (body["input"].get(input) != simdjson::SUCCESS) return bad("'input' is required");
  if (input.is_string()) {
    inputs.push_back(input.get_string().value());
  } else if (input.is_array()) {
    for (dom::element e : input.get_array()) {
      if (!e.is_string()) return bad("Bedrock embeddings take text inputs (strings), not token arrays");
      inputs.push_back(e.get_string().value());
    }
  } else {
    return bad("'input' must be a string or a list of strings");
  }
  out.clear();
  json::Writer w(out);
  if (base.starts_with("amazon.titan-embed")) {
    if (inputs.size() != 1) {
      return bad(fmt::format("deployment {}: {} embeds one input per request; send the inputs one by one",
                             target.config.id, base));
    }
    w.begin_object().member("inputText", inputs[0]);
    int64_t dims = 0;
    if (body["dimensions"].get_int64().get(dims) == simdjson::SUCCESS && dims > 0) w.member("dimensions", dims);
    w.end_object();
    return {};
  }
  std::string_view input_type = "search_document";
  if (std::string_view t; body["input_type"].get_string().get(t) == simdjson::SUCCESS) input_type = t;
  w.begin_object().key("texts").begin_array();
  for (std::string_view s : inputs) w.string(s);
  w.end_array().member("input_type", input_type).end_object();
  return {};
}

// Titan {"embedding":[…],"inputTextTokenCount":n} or Cohere
// {"embeddings":[[…]]|{"float":[[…]]}} → OpenAI's embedding list.
Status translate_embedding(std::string& body, std::string_view model) {
  dom::parser parser;
  dom::object answer;
  auto not_an_answer = [&] {
    Error e(ErrorKind::kBadRequest, fmt::format("BedrockException - not an embedding answer: {}",
                                                body.substr(0, std::min<size_t>(body.size(), 512))));
    e.status = 422;
    e.llm_provider = std::string(kProviderName);
    return e;
  };
  if (parser.parse(body).get(answer) != simdjson::SUCCESS) return not_an_answer();
  std::string out;
  json::Writer w(out);
  w.begin_object().member("object", "list").key("data").begin_array();
  int64_t tokens = 0;
  dom::element el;
  if (answer["embedding"].get(el) == simdjson::SUCCESS && el.is_array()) {
    w.begin_object().member("object", "embedding").member("index", 0).key("embedding").raw(simdjson::minify(el));
    w.end_object();
    int64_t n = 0;
    if (answer["inputTextTokenCount"].get_int64().get(n) == simdjson::SUCCESS) tokens = n;
  } else if (answer["embeddings"].get(el) == simdjson::SUCCESS) {
    dom::element list = el;
    if (el.is_object()) {
      if (el["float"].get(list) != simdjson::SUCCESS) return not_an_answer();
    }
    if (!list.is_array()) return not_an_answer();
    int64_t i = 0;
    for (dom::element v : list.get_array()) {
      w.begin_object().member("object", "embedding").member("index", i++).key("embedding").raw(simdjson::minify(v));
      w.end_object();
    }
  } else {
    return not_an_answer();
  }
  w.end_array().member("model", model).key("usage").begin_object().member("prompt_tokens", tokens);
  w.member("total_tokens", tokens).end_object().end_object();
  body.swap(out);
  return {};
}

// InvokeModelWithResponseStream for Anthropic: event-stream frames whose
// payload is {"bytes":"<base64 of one Messages SSE event's JSON>"}, handed to
// the Messages translator as SSE.
class InvokeAnthropicStreamTranslator final : public StreamTranslator {
 public:
  explicit InvokeAnthropicStreamTranslator(anthropic::MessagesStreamTranslator::Options options)
      : inner_(options) {}

  bool feed(std::string_view bytes, Sink sink) override {
    if (error_) return false;
    const bool ok = decoder_.feed(bytes, [&](const transport::EventStreamMessage& m) { return on_message(m, sink); });
    if (!ok && !error_ && decoder_.failed()) {
      error_ = bedrock::stream_framing_error(decoder_.error_message(), kProviderName);
    }
    return ok && !error_;
  }

  bool finish(Sink sink) override {
    if (error_) return false;
    if (decoder_.has_partial_message()) {
      error_ = bedrock::stream_framing_error("the stream ended inside an event-stream frame", kProviderName);
      return false;
    }
    const bool ok = inner_.finish(sink);
    if (!ok) error_ = inner_.take_error();
    return ok;
  }

 private:
  bool on_message(const transport::EventStreamMessage& message, Sink& sink) {
    const std::string_view type = message.string_header(":message-type");
    if (type == "exception" || type == "error") {
      error_ = bedrock::classify_stream_exception(message, kProviderName);
      return false;
    }
    dom::element top;
    std::string_view b64;
    if (parser_.parse(message.payload.data(), message.payload.size()).get(top) != simdjson::SUCCESS ||
        top["bytes"].get_string().get(b64) != simdjson::SUCCESS || !absl::Base64Unescape(to_absl(b64), &decoded_)) {
      return true;  // no event in it: skipped
    }
    sse_.assign("data: ");
    sse_.append(decoded_);
    sse_.append("\n\n");
    const bool ok = inner_.feed(sse_, sink);
    if (!ok) error_ = inner_.take_error();
    return ok;
  }

  anthropic::MessagesStreamTranslator inner_;
  transport::EventStreamDecoder decoder_;
  dom::parser parser_;
  std::string decoded_;
  std::string sse_;
};

}  // namespace

BedrockModel bedrock_model(std::string_view provider_model) {
  BedrockModel m;
  std::string_view id = provider_model;
  if (id.starts_with("bedrock/")) id.remove_prefix(8);
  enum { kNone, kConverse, kInvoke } prefix = kNone;
  if (id.starts_with("converse/")) {
    prefix = kConverse;
    id.remove_prefix(9);
  } else if (id.starts_with("invoke/")) {
    prefix = kInvoke;
    id.remove_prefix(7);
  }
  m.id = std::string(id);
  // The foundation model: an ARN's last path segment, no ":NNk" throughput
  // suffix, no cross-region prefix.
  std::string_view base = id;
  if (base.starts_with("arn:")) base = base.substr(base.rfind('/') + 1);
  if (const size_t colon = base.rfind(':'); colon != std::string_view::npos) {
    std::string_view suffix = base.substr(colon + 1);
    if (suffix.size() >= 2 && suffix.back() == 'k' &&
        std::all_of(suffix.begin(), suffix.end() - 1, [](char c) { return absl::ascii_isdigit(c); })) {
      base = base.substr(0, colon);
    }
  }
  for (std::string_view p : kCrossRegionPrefixes) {
    if (base.starts_with(p)) {
      base.remove_prefix(p.size());
      break;
    }
  }
  m.base = std::string(base);
  if (prefix == kConverse || (prefix == kNone && is_converse_model(base))) {
    m.route = BedrockRoute::kConverse;
  } else if (is_embedding_model(base)) {
    m.route = BedrockRoute::kInvokeEmbedding;
  } else if (base.starts_with("anthropic.")) {
    m.route = BedrockRoute::kInvokeAnthropic;
  } else if (std::any_of(std::begin(kInvokeFamilies), std::end(kInvokeFamilies),
                         [&](std::string_view f) { return base.starts_with(f); })) {
    m.route = BedrockRoute::kInvokeUnsupported;
  } else {
    m.route = BedrockRoute::kInvokeUnknown;
  }
  return m;
}

std::string bedrock_encode_model_id(std::string_view id) {
  std::string out;
  out.reserve(id.size() + 8);
  for (char c : id) {
    const auto u = static_cast<unsigned char>(c);
    if (absl::ascii_isalnum(u) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(c);
    } else {
      fmt::format_to(std::back_inserter(out), "%{:02X}", u);
    }
  }
  return out;
}

std::shared_ptr<DeploymentAuth> BedrockProvider::make_auth(const DeploymentConfig& deployment) const {
  auto auth = std::make_shared<BedrockAuth>();
  dom::parser parser;
  dom::object params;
  if (parser.parse(deployment.litellm_params_json).get(params) != simdjson::SUCCESS &&
      parser.parse(std::string("{}")).get(params) != simdjson::SUCCESS) {  // no params: the environment decides
    auth->problem = Error(ErrorKind::kInvalidConfig, fmt::format("deployment {}: litellm_params cannot be read",
                                                                 deployment.id));
    return auth;
  }
  auth->model_id = param(params, "model_id");
  auth->bearer = deployment.api_key;
  if (auth->bearer.empty()) {
    auth->bearer = env("AWS_BEARER_TOKEN_BEDROCK");
    auth->bearer_from_env = !auth->bearer.empty();
  }
  // Region (§5.1) as the credential chain resolves it: aws_region_name → a
  // model ARN's → AWS_REGION_NAME → AWS_REGION → AWS_DEFAULT_REGION → the
  // profile's → us-west-2.
  const AwsSettings settings = resolve_aws_settings(deployment);
  auth->region = settings.region.empty() ? std::string(kDefaultRegion) : settings.region;
  if (auth->bearer.empty()) auth->aws = AwsCredentialProvider::from_litellm_params(deployment);

  std::string endpoint = param(params, "aws_bedrock_runtime_endpoint");
  if (endpoint.empty()) endpoint = env("AWS_BEDROCK_RUNTIME_ENDPOINT");
  if (endpoint.empty()) endpoint = deployment.api_base;
  if (endpoint.empty()) endpoint = fmt::format("https://bedrock-runtime.{}.amazonaws.com", auth->region);
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  auth->endpoint = std::move(endpoint);
  if (has_line_break(auth->endpoint) || has_line_break(auth->region) || has_line_break(auth->bearer)) {
    auth->problem = Error(ErrorKind::kInvalidConfig,
                          fmt::format("deployment {}: a Bedrock setting contains a line break", deployment.id));
  }
  return auth;
}

void BedrockProvider::prepare(const ProviderTarget& target, transport::EventLoop& loop, ReadyCallback ready) const {
  BedrockAuth* auth = auth_of(target);
  if (!auth) {
    ready(not_prepared(target));
    return;
  }
  if (!auth->problem.ok() || !auth->aws) {
    ready(auth->problem);
    return;
  }
  auth->aws->prepare(loop, std::move(ready));
}

Status BedrockProvider::build_request(const ProviderTarget& target, const request::ParsedRequest& request,
                                      bool stream, transport::HttpRequest& out) const {
  BedrockAuth* auth = auth_of(target);
  if (!auth) return not_prepared(target);
  if (!auth->problem.ok()) return auth->problem;
  const DeploymentConfig& deployment = target.config;
  const BedrockModel model = bedrock_model(target.model);
  const std::string& id = auth->model_id.empty() ? model.id : auth->model_id;
  std::string_view action;
  if (request.endpoint == request::Endpoint::kEmbeddings) {
    if (model.route != BedrockRoute::kInvokeEmbedding) {
      return Error(ErrorKind::kInvalidConfig,
                   fmt::format("deployment {}: bedrock/{}: embeddings are served for amazon.titan-embed-text-* and "
                               "cohere.embed-* only",
                               deployment.id, target.model));
    }
    if (Status s = build_embedding_body(target, request, model.base, out.body); !s.ok()) return s;
    action = "invoke";
    stream = false;
  } else {
    switch (model.route) {
      case BedrockRoute::kConverse: {
        const Defaults defaults = read_defaults(deployment);
        bedrock::ConverseOptions o;
        o.model = model.base;
        o.drop_params = drop_params(target, request);
        o.defaults = defaults.fields;
        if (Status s = bedrock::build_converse_body(request, o, out.body); !s.ok()) return s;
        action = stream ? "converse-stream" : "converse";
        break;
      }
      case BedrockRoute::kInvokeAnthropic: {
        anthropic::BodyOptions o;
        o.model = model.base;
        o.omit_model = true;
        o.extra_members = kAnthropicVersionMember;
        o.default_max_tokens = anthropic::default_max_tokens(deployment);
        o.stream = false;  // the route, not the body, says whether it streams
        o.drop_params = drop_params(target, request);
        o.provider_name = kProviderName;
        if (Status s = anthropic::build_messages_body(request, o, out.body); !s.ok()) return s;
        action = stream ? "invoke-with-response-stream" : "invoke";
        break;
      }
      case BedrockRoute::kInvokeEmbedding:
        return Error(ErrorKind::kInvalidConfig,
                     fmt::format("deployment {}: bedrock/{} is an embedding model; it serves embeddings only",
                                 deployment.id, target.model));
      case BedrockRoute::kInvokeUnsupported:
        return Error(ErrorKind::kInvalidConfig,
                     fmt::format("deployment {}: bedrock/{}: the InvokeModel route of this model family is not "
                                 "supported yet; use a Converse model or the bedrock/converse/ prefix",
                                 deployment.id, target.model));
      case BedrockRoute::kInvokeUnknown: {
        // Bedrock would reject the id; failing the call (not the config)
        // lets fallbacks run, as LiteLLM's failing call does.
        Error e(ErrorKind::kBadRequest,
                fmt::format("BedrockException - deployment {}: bedrock/{}: not a Converse model and no InvokeModel "
                            "family can be told from the name",
                            deployment.id, target.model));
        e.status = 400;
        e.llm_provider = std::string(kProviderName);
        return e;
      }
    }
  }
  out.url = fmt::format("{}/model/{}/{}", auth->endpoint, bedrock_encode_model_id(id), action);
  out.method.assign("POST");
  out.headers.clear();
  out.headers.emplace_back("Content-Type: application/json");
  out.headers.emplace_back(stream ? "Accept: application/vnd.amazon.eventstream" : "Accept: application/json");
  for (const auto& [name, value] : deployment.extra_headers) {
    if (has_line_break(name) || has_line_break(value) || name.find(':') != std::string::npos || name.empty()) {
      return Error(ErrorKind::kInvalidConfig,
                   fmt::format("deployment {}: an extra header is not a valid header", deployment.id));
    }
    out.headers.push_back(fmt::format("{}: {}", name, value));
  }
  out.stream_body = stream;
  apply_connection_settings(deployment, out);
  if (!auth->bearer.empty()) {
    out.headers.push_back(fmt::format("Authorization: Bearer {}", auth->bearer));
    return Status::Ok();
  }
  // Signed last, over exactly what is sent. Wall time only for the
  // signature's timestamp.
  if (!auth->aws) return not_prepared(target);
  const AwsCredentials& aws = auth->aws->credentials();
  if (aws.access_key_id.empty() || has_line_break(aws.session_token)) return not_prepared(target);
  const SigV4Credentials credentials{aws.access_key_id, aws.secret_access_key, aws.session_token};
  if (absl::Status s = sign_http_request(out, credentials, auth->region, kService, absl::Now()); !s.ok()) {
    return Error(ErrorKind::kInvalidConfig,
                 fmt::format("deployment {}: cannot sign the Bedrock request: {}", deployment.id, std::string(s.message())));
  }
  return Status::Ok();
}

Error BedrockProvider::classify_failure(const transport::TransferResult& result) const {
  // Wall time only to read a Retry-After given as an HTTP date.
  return bedrock::classify_failure(result, kProviderName, absl::Now());
}

Status BedrockProvider::translate_response(const ProviderTarget& target, const request::ParsedRequest& request,
                                           std::string& body) const {
  const BedrockModel model = bedrock_model(target.model);
  if (request.endpoint == request::Endpoint::kEmbeddings) return translate_embedding(body, target.model);
  const int64_t created = absl::ToUnixSeconds(absl::Now());  // a timestamp in the answer, not a timing
  if (model.route == BedrockRoute::kInvokeAnthropic) {
    anthropic::ResponseOptions o;
    o.json_mode = anthropic::uses_json_tool(request);
    o.created = created;
    o.provider_name = kProviderName;
    return anthropic::translate_messages_response(body, o);
  }
  const bedrock::ToolNames names = bedrock::ToolNames::of(request);
  bedrock::ResponseOptions o;
  o.model = target.model;
  o.created = created;
  o.json_mode = bedrock::uses_json_tool(request);
  o.tool_names = &names;
  return bedrock::translate_converse_response(body, o);
}

std::unique_ptr<StreamTranslator> BedrockProvider::make_stream_translator(const ProviderTarget& target,
                                                                          const request::ParsedRequest& request) const {
  const BedrockModel model = bedrock_model(target.model);
  const int64_t created = absl::ToUnixSeconds(absl::Now());
  if (model.route == BedrockRoute::kInvokeAnthropic) {
    anthropic::MessagesStreamTranslator::Options o;
    o.json_mode = anthropic::uses_json_tool(request);
    o.created = created;
    o.provider_name = kProviderName;
    return std::make_unique<InvokeAnthropicStreamTranslator>(o);
  }
  bedrock::ConverseStreamTranslator::Options o;
  o.model = std::string(target.model);
  o.created = created;
  o.json_mode = bedrock::uses_json_tool(request);
  o.tool_names = bedrock::ToolNames::of(request);
  return std::make_unique<bedrock::ConverseStreamTranslator>(std::move(o));
}

}  // namespace llmux::provider
