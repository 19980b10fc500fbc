#include "pricing/price_book.hpp"

#include <algorithm>
#include <cctype>

#include <simdjson.h>

#include "common/strings.hpp"
#include "config/provider_names.hpp"

namespace llmux::pricing {

namespace {

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool all_lower(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= 'a' && c <= 'z'; });
}

// An AWS region name: "us-west-2", "ap-northeast-1", "us-gov-west-1".
// (LiteLLM checks a list of Bedrock's regions; the shape is the same test
// without a list to keep current.)
bool is_aws_region(std::string_view s) {
  const size_t last = s.rfind('-');
  if (last == std::string_view::npos || !all_digits(s.substr(last + 1))) return false;
  std::string_view rest = s.substr(0, last);
  int parts = 0;
  while (!rest.empty()) {
    const size_t dash = rest.find('-');
    if (!all_lower(rest.substr(0, dash))) return false;
    ++parts;
    rest = dash == std::string_view::npos ? std::string_view() : rest.substr(dash + 1);
  }
  return parts >= 2;
}

// litellm.llms.bedrock.common_utils.get_bedrock_base_model.
std::string bedrock_base_model(std::string_view m) {
  for (std::string_view prefix : {"bedrock/", "converse/", "invoke/", "openai/"}) {
    if (m.starts_with(prefix)) m.remove_prefix(prefix.size());
  }
  if (str_contains(ascii_lower(m), "arn")) {
    if (size_t slash = m.rfind('/'); slash != std::string_view::npos) m.remove_prefix(slash + 1);
  }
  // "<model>:<version>:<n>k" → "<model>:<version>" (provisioned throughput).
  if (m.ends_with('k')) {
    const size_t last = m.rfind(':');
    if (last != std::string_view::npos && all_digits(m.substr(last + 1, m.size() - last - 2))) {
      const size_t prev = m.rfind(':', last - 1);
      if (last > 0 && prev != std::string_view::npos && all_digits(m.substr(prev + 1, last - prev - 1))) {
        m = m.substr(0, last);
      }
    }
  }
  const std::string_view dotted = m.substr(0, m.find('.'));
  for (std::string_view geo : {"global", "us", "eu", "apac", "jp", "au", "us-gov"}) {
    if (dotted == geo && m.find('.') != std::string_view::npos) return std::string(m.substr(m.find('.') + 1));
  }
  const size_t slash = m.find('/');
  if (slash != std::string_view::npos && is_aws_region(m.substr(0, slash))) return std::string(m.substr(slash + 1));
  return std::string(m);
}

// LiteLLM's _strip_model_name.
std::string strip_model_name(std::string_view model, std::string_view provider) {
  if (provider == "bedrock" || provider == "bedrock_converse") return bedrock_base_model(model);
  if (provider == "vertex_ai" || provider == "gemini" || provider == "databricks") {
    // re.sub(r"-\d+$", "", model)
    const size_t dash = model.rfind('-');
    if (dash != std::string_view::npos && all_digits(model.substr(dash + 1))) return std::string(model.substr(0, dash));
    return std::string(model);
  }
  if (str_contains(model, "ft:")) {
    // re.sub(r"(:[^:]+){3}$", "", model): drop the last three ":<part>"s.
    size_t end = model.size();
    for (int i = 0; i < 3; ++i) {
      if (end == 0) return std::string(model);
      const size_t colon = model.rfind(':', end - 1);
      if (colon == std::string_view::npos || colon + 1 == end) return std::string(model);
      end = colon;
    }
    return std::string(model.substr(0, end));
  }
  return std::string(model);
}


}  // namespace

std::string json_string_member(std::string_view json, const char* key) {
  if (json.empty()) return {};
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  const simdjson::padded_string padded(json);
  std::string_view value;
  if (parser.parse(padded).get(doc) != simdjson::SUCCESS) return {};
  if (doc[key].get_string().get(value) != simdjson::SUCCESS) return {};
  return std::string(value);
}

std::vector<std::string> candidate_keys(std::string_view provider, std::string_view model, std::string_view region) {
  std::vector<std::string> keys;
  auto add = [&](std::string key) {
    if (!key.empty() && std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(std::move(key));
  };
  const std::string prefix = std::string(provider) + "/";
  const std::string full = model.starts_with(prefix) ? std::string(model) : prefix + std::string(model);
  const std::string_view split = std::string_view(full).substr(prefix.size());
  const std::string stripped = strip_model_name(full, provider);
  if (!region.empty() && (provider == "bedrock" || provider == "bedrock_converse")) {
    add(prefix + std::string(region) + "/" + bedrock_base_model(split));
  }
  add(full);
  add(stripped);
  // As LiteLLM's cost calculator spells them (provider passed separately).
  const std::string stripped_split = strip_model_name(split, provider);
  add(prefix + stripped_split);
  add(stripped_split);
  add(std::string(split));
  return keys;
}

bool provider_matches(std::string_view entry_provider, std::string_view provider) {
  if (provider.empty() || entry_provider.empty() || entry_provider == provider) return true;
  if (provider == "vertex_ai") return entry_provider.starts_with("vertex_ai");
  if (provider == "fireworks_ai") return entry_provider.starts_with("fireworks_ai");
  if (provider.starts_with("bedrock")) return entry_provider.starts_with("bedrock");
  if (provider == "litellm_proxy") return true;
  if (provider == "azure_ai") return entry_provider == "azure" || entry_provider == "openai";
  return false;
}

PriceBook::PriceBook() : bundled_pending_(true) {}

PriceBook::PriceBook(std::shared_ptr<const ModelMap> base) : base_(std::move(base)) {}

const ModelMap* PriceBook::base() const {
  if (bundled_pending_) {
    base_ = ModelMap::bundled();
    bundled_pending_ = false;
  }
  return base_.get();
}

const ModelInfo* PriceBook::find_key(std::string_view key, std::string* matched_key) const {
  if (const ModelInfo* info = registered_.find(key, matched_key)) return info;
  const ModelMap* map = base();
  return map ? map->find(key, matched_key) : nullptr;
}

const ModelInfo* PriceBook::find(std::string_view provider, std::string_view model, std::string_view region,
                                 std::string* matched_key) const {
  for (const std::string& key : candidate_keys(provider, model, region)) {
    std::string matched;
    const ModelInfo* info = find_key(key, &matched);
    if (info && provider_matches(info->litellm_provider, provider)) {
      if (matched_key) *matched_key = std::move(matched);
      return info;
    }
  }
  return nullptr;
}

Status PriceBook::register_models(std::string_view json) {
  auto parsed = ModelMap::parse(json);
  if (!parsed.ok()) return parsed.error();
  // Sorted: the outcome must not depend on hash order when two keys name
  // the same entry.
  std::vector<std::pair<std::string_view, const ModelInfo*>> items;
  parsed->for_each([&](std::string_view key, const ModelInfo& info) { items.emplace_back(key, &info); });
  std::sort(items.begin(), items.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [key_view, info_ptr] : items) {
    const std::string key(key_view);
    const ModelInfo& info = *info_ptr;
    const config::ProviderModel pm = config::resolve_provider_model(key, "");
    std::string existing_key;
    const ModelInfo* existing = find(pm.provider, pm.model, "", &existing_key);
    if (!existing) {
      registered_.merge(key, info);
      continue;
    }
    ModelInfo merged = *existing;
    merged.update(info);
    registered_.merge(existing_key, merged);
  }
  return Status::Ok();
}

const ModelInfo* PriceBook::find_for(const DeploymentConfig& d, std::string* matched_key) const {
  std::string model = json_string_member(d.model_info_json, "base_model");
  if (model.empty()) model = json_string_member(d.litellm_params_json, "base_model");
  if (model.empty()) model = d.provider_model;
  const std::string region =
      d.provider.starts_with("bedrock") ? json_string_member(d.litellm_params_json, "aws_region_name") : "";
  return find(d.provider, model, region, matched_key);
}

std::string PriceBook::mode_for(const DeploymentConfig& d) const {
  const ModelInfo* info = find_for(d, nullptr);
  return info ? info->mode : std::string();
}

std::string PriceBook::resolve(DeploymentConfig& d) const {
  if (d.input_cost_per_token && d.output_cost_per_token && d.max_input_tokens && d.max_output_tokens) return {};
  std::string key;
  const ModelInfo* info = find_for(d, &key);
  if (!info) return {};
  if (!d.input_cost_per_token) d.input_cost_per_token = info->input_cost_per_token;
  if (!d.output_cost_per_token) d.output_cost_per_token = info->output_cost_per_token;
  if (!d.max_input_tokens) d.max_input_tokens = info->max_input_tokens;
  // LiteLLM reads max_tokens when an entry has no max_output_tokens (older entries).
  if (!d.max_output_tokens) d.max_output_tokens = info->max_output_tokens ? info->max_output_tokens : info->max_tokens;
  return key;
}

}  // namespace llmux::pricing
