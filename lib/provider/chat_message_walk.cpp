#include "provider/chat_message_walk.hpp"

#include <fmt/ranges.h>

#include "provider/error_classifier.hpp"

namespace llmux::provider::chat_walk {

std::optional<dom::element> member(dom::object o, std::string_view key) {
  dom::element el;
  if (o.at_key(key).get(el) != simdjson::SUCCESS || is_null(el)) return std::nullopt;
  return el;
}

std::optional<std::pair<std::string_view, std::string_view>> split_data_uri(std::string_view uri) {
  if (!uri.starts_with("data:")) return std::nullopt;
  const size_t comma = uri.find(',');
  if (comma == std::string_view::npos) return std::nullopt;
  std::string_view head = uri.substr(5, comma - 5);
  if (!head.ends_with(";base64")) return std::nullopt;
  head.remove_suffix(7);
  return std::make_pair(head, uri.substr(comma + 1));
}

dom::parser& scratch_parser() {
  thread_local dom::parser parser;
  return parser;
}

Error bad_request(std::string_view provider_name, std::string message) {
  Error e(ErrorKind::kBadRequest, fmt::format("{} - {}", exception_name(provider_name), message));
  e.status = 400;
  e.llm_provider = std::string(provider_name);
  return e;
}

Status read_max_tokens(std::string_view key, dom::element value, std::optional<int64_t>& max_tokens,
                       std::string_view provider_name) {
  int64_t n = 0;
  if (value.get_int64().get(n) != simdjson::SUCCESS || n <= 0) {
    return bad_request(provider_name, fmt::format("{} must be a positive integer", key));
  }
  if (!max_tokens || key == "max_completion_tokens") max_tokens = n;
  return {};
}

Status read_stop(dom::element value, std::vector<std::string_view>& stops, std::string_view provider_name) {
  if (value.is_string()) {
    stops.push_back(str_or(value));
    return {};
  }
  if (value.is_array()) {
    for (dom::element s : as_array(value)) {
      if (!s.is_string()) return bad_request(provider_name, "stop must be a string or a list of strings");
      stops.push_back(str_or(s));
    }
    return {};
  }
  return bad_request(provider_name, "stop must be a string or a list of strings");
}

Status read_response_format(dom::element value, std::string_view any_object_schema, std::optional<std::string>& schema,
                            std::string_view provider_name) {
  if (!value.is_object()) return bad_request(provider_name, "response_format must be an object");
  dom::object rf = as_object(value);
  const std::string_view type = str_or(rf["type"]);
  if (type == "json_object") {
    schema = std::string(any_object_schema);
  } else if (type == "json_schema") {
    std::optional<dom::element> spec = member(rf, "json_schema");
    std::optional<dom::element> given = spec && spec->is_object() ? member(as_object(*spec), "schema") : std::nullopt;
    schema = given ? simdjson::minify(*given) : std::string(any_object_schema);
  } else if (type != "text") {
    return bad_request(provider_name, fmt::format("response_format type '{}' is not supported", type));
  }
  return {};
}

bool is_single_choice(dom::element n) {
  int64_t count = 1;
  return n.get_int64().get(count) == simdjson::SUCCESS && count == 1;
}

Error unsupported_params(std::string_view provider_name, const std::vector<std::string>& params,
                         std::string_view model) {
  return bad_request(provider_name,
                     fmt::format("UnsupportedParamsError: {} does not support parameters: ['{}'], for model={}. To "
                                 "drop these, set drop_params: true (litellm_settings, the deployment's "
                                 "litellm_params, or the request)",
                                 provider_name, fmt::join(params, "', '"), model));
}

bool uses_json_tool(const request::ParsedRequest& request) {
  for (const request::RawField& f : request.kept) {
    if (f.key != "response_format") continue;
    return str_contains(f.value, "\"json_object\"") || str_contains(f.value, "\"json_schema\"");
  }
  return false;
}

}  // namespace llmux::provider::chat_walk
