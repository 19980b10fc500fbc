#include "pricing/model_map.hpp"

#include <algorithm>
#include <cmath>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>

#include <fmt/format.h>
#include <simdjson.h>

#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#endif

#include "absl/container/node_hash_set.h"

#include "common/strings.hpp"

namespace llmux::pricing {

// Generated from data/model_prices_and_context_window.json by
// cmake/embed_file.cmake (NUL-terminated; the size excludes the NUL).
extern const char kBundledModelMap[];
extern const std::size_t kBundledModelMap_size;

namespace {

using simdjson::dom::element;

// LiteLLM's whole map is ~1.5 MB; a map file 100 times that is a mistake.
constexpr uintmax_t kMaxFileBytes = uintmax_t{256} << 20;

Error field_error(std::string_view key, std::string_view field, std::string_view expected) {
  return Error(ErrorKind::kInvalidConfig, fmt::format("model cost map: {}.{}: expected {}", key, field, expected));
}

// A price: a number, or a number written as a string (LiteLLM's
// register_model accepts "0.000002").
Status read_price(element v, std::string_view key, std::string_view field, std::optional<double>& out) {
  if (v.is_null()) return Status::Ok();
  double d = 0;
  std::string_view s;
  if (v.is_number()) {
    d = v.get_double().value_unsafe();  // DOM converts integers too
  } else if (v.get_string().get(s) == simdjson::SUCCESS) {
    const std::string text(strip_ascii_whitespace(s));
    char* end = nullptr;
    d = std::strtod(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size()) return field_error(key, field, "a number");
  } else {
    return field_error(key, field, "a number");
  }
  if (!std::isfinite(d) || d < 0) return field_error(key, field, "a non-negative number");
  out = d;
  return Status::Ok();
}

// A token count: an integer (a float with no fraction, like 1e6, is one too).
Status read_tokens(element v, std::string_view key, std::string_view field, std::optional<int64_t>& out) {
  if (v.is_null()) return Status::Ok();
  int64_t n = 0;
  double d = 0;
  if (v.get_int64().get(n) == simdjson::SUCCESS) {
    // an integer
  } else if (v.get_double().get(d) == simdjson::SUCCESS && std::isfinite(d) && d == std::floor(d) && d >= 0 &&
             d < 9.2e18) {
    n = static_cast<int64_t>(d);
  } else {
    return field_error(key, field, "a whole number of tokens");
  }
  if (n < 0) return field_error(key, field, "a whole number of tokens");
  out = n;
  return Status::Ok();
}

Status read_text(element v, std::string_view key, std::string_view field, std::string& out) {
  if (v.is_null()) return Status::Ok();
  std::string_view s;
  if (v.get_string().get(s) != simdjson::SUCCESS) return field_error(key, field, "a string");
  out.assign(s);
  return Status::Ok();
}

Status read_entry(std::string_view key, simdjson::dom::object obj, ModelInfo& info) {
  for (auto [field, value] : obj) {
    Status s = Status::Ok();
    if (field == "input_cost_per_token") {
      s = read_price(value, key, field, info.input_cost_per_token);
    } else if (field == "output_cost_per_token") {
      s = read_price(value, key, field, info.output_cost_per_token);
    } else if (field == "cache_read_input_token_cost") {
      s = read_price(value, key, field, info.cache_read_input_token_cost);
    } else if (field == "cache_creation_input_token_cost") {
      s = read_price(value, key, field, info.cache_creation_input_token_cost);
    } else if (field == "max_input_tokens") {
      s = read_tokens(value, key, field, info.max_input_tokens);
    } else if (field == "max_output_tokens") {
      s = read_tokens(value, key, field, info.max_output_tokens);
    } else if (field == "max_tokens") {
      s = read_tokens(value, key, field, info.max_tokens);
    } else if (field == "litellm_provider") {
      s = read_text(value, key, field, info.litellm_provider);
    } else if (field == "mode") {
      s = read_text(value, key, field, info.mode);
    } else if (field == "supported_regions") {
      simdjson::dom::array regions;
      if (value.get_array().get(regions) != simdjson::SUCCESS) return field_error(key, field, "a list of strings");
      info.supported_regions.clear();
      for (element r : regions) {
        std::string_view text;
        if (r.get_string().get(text) != simdjson::SUCCESS) return field_error(key, field, "a list of strings");
        info.supported_regions.emplace_back(text);
      }
    } else if (field.starts_with("supports_")) {
      // A flag of another type (LiteLLM has none) is not ours to judge.
      if (bool b = false; value.get_bool().get(b) == simdjson::SUCCESS) {
        ModelInfo one;
        one.supports.emplace_back(field, b);
        info.update(one);
      }
    }
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

// The one copy of a supports_* flag name. Names come from map files, so the
// table holds what the maps loaded in this process name (a few dozen).
std::string_view intern_flag_name(std::string_view name) {
  static std::mutex mu;
  static auto* names = new absl::node_hash_set<std::string>();  // never freed: ModelInfos point into it
  std::lock_guard<std::mutex> lock(mu);
  return *names->emplace(name).first;  // node_hash_set: the strings never move
}

// Gives the pages wholly inside [data, data + size) back to the kernel.
// For the compiled-in JSON: read-only bytes of the library's file, read
// once by the parse and never again, which would otherwise stay resident
// (~1.5 MiB). The range is rounded inwards, so no neighbouring data is
// touched; should the bytes be read again, the kernel reads them back from
// the file (a private, never-written file mapping loses nothing).
void release_read_only_pages(const char* data, size_t size) {
#if defined(__linux__)
  const long page_size = sysconf(_SC_PAGESIZE);
  if (page_size <= 0) return;
  const auto page = static_cast<uintptr_t>(page_size);
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(data) + page - 1) & ~(page - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(data) + size) & ~(page - 1);
  if (end > begin) (void)madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
#else
  (void)data;
  (void)size;
#endif
}

}  // namespace

std::optional<bool> ModelInfo::flag(std::string_view name) const {
  auto it = std::lower_bound(supports.begin(), supports.end(), name,
                             [](const std::pair<std::string_view, bool>& p, std::string_view n) { return p.first < n; });
  if (it == supports.end() || it->first != name) return std::nullopt;
  return it->second;
}

void ModelInfo::update(const ModelInfo& other) {
  if (other.input_cost_per_token) input_cost_per_token = other.input_cost_per_token;
  if (other.output_cost_per_token) output_cost_per_token = other.output_cost_per_token;
  if (other.cache_read_input_token_cost) cache_read_input_token_cost = other.cache_read_input_token_cost;
  if (other.cache_creation_input_token_cost) cache_creation_input_token_cost = other.cache_creation_input_token_cost;
  if (other.max_input_tokens) max_input_tokens = other.max_input_tokens;
  if (other.max_output_tokens) max_output_tokens = other.max_output_tokens;
  if (other.max_tokens) max_tokens = other.max_tokens;
  if (!other.litellm_provider.empty()) litellm_provider = other.litellm_provider;
  if (!other.mode.empty()) mode = other.mode;
  if (!other.supported_regions.empty()) supported_regions = other.supported_regions;
  for (const auto& [name, value] : other.supports) {
    auto it = std::lower_bound(supports.begin(), supports.end(), name,
                               [](const std::pair<std::string_view, bool>& p, std::string_view n) { return p.first < n; });
    if (it != supports.end() && it->first == name) {
      it->second = value;
    } else {
      supports.emplace(it, intern_flag_name(name), value);
    }
  }
}

std::shared_ptr<const ModelMap> ModelMap::bundled() {
  static std::once_flag once;
  static std::shared_ptr<const ModelMap> map;
  std::call_once(once, [] {
    auto parsed = parse(std::string_view(kBundledModelMap, kBundledModelMap_size));
    // The file is generated and checked by the unit tests; should it ever
    // fail to parse, routing goes on without map prices rather than failing.
    map = parsed.ok() ? std::make_shared<const ModelMap>(std::move(parsed).value()) : std::make_shared<const ModelMap>();
    release_read_only_pages(kBundledModelMap, kBundledModelMap_size);
  });
  return map;
}

size_t ModelMap::bundled_bytes() { return kBundledModelMap_size; }

Result<ModelMap> ModelMap::parse(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  const simdjson::padded_string padded(json);
  if (auto err = parser.parse(padded).get(doc); err != simdjson::SUCCESS) {
    return Error(ErrorKind::kInvalidConfig, fmt::format("model cost map: not valid JSON ({})", simdjson::error_message(err)));
  }
  simdjson::dom::object root;
  if (doc.get_object().get(root) != simdjson::SUCCESS) {
    return Error(ErrorKind::kInvalidConfig, "model cost map: expected a JSON object of model name → entry");
  }
  ModelMap map;
  map.index_.reserve(root.size());
  map.infos_.reserve(root.size());
  for (auto [key, value] : root) {
    if (key == "sample_spec") continue;
    simdjson::dom::object obj;
    if (value.get_object().get(obj) != simdjson::SUCCESS) {
      return Error(ErrorKind::kInvalidConfig, fmt::format("model cost map: {}: expected an object", key));
    }
    ModelInfo info;
    if (Status s = read_entry(key, obj, info); !s.ok()) return s.error();
    map.merge(std::string(key), info);
  }
  map.infos_.shrink_to_fit();  // a repeated key merges into one entry
  return map;
}

Result<ModelMap> ModelMap::load_file(const std::string& path) {
  // A regular file of sane size only: /dev/zero or a FIFO would never end.
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (!ec && std::filesystem::exists(status) && !std::filesystem::is_regular_file(status)) {
    return Error(ErrorKind::kInvalidConfig, fmt::format("'{}' is not a regular file", path));
  }
  if (!ec && std::filesystem::is_regular_file(status) && std::filesystem::file_size(path, ec) > kMaxFileBytes) {
    return Error(ErrorKind::kInvalidConfig, fmt::format("'{}' is larger than {} MiB", path, kMaxFileBytes >> 20));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(ErrorKind::kInvalidConfig, fmt::format("'{}' cannot be read: {}", path, std::strerror(errno)));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Error(ErrorKind::kInvalidConfig, fmt::format("'{}' cannot be read", path));
  auto map = parse(text.str());
  if (!map.ok()) {
    Error e = std::move(map).error();
    e.message = fmt::format("'{}': {}", path, e.message);
    return e;
  }
  return map;
}

const ModelInfo* ModelMap::find(std::string_view key, std::string* matched_key) const {
  if (auto it = index_.find(key); it != index_.end()) {
    if (matched_key) *matched_key = it->first;
    return &infos_[it->second];
  }
  const std::string lower = ascii_lower(key);
  std::string_view spelling = lower;
  if (auto it = lower_to_key_.find(lower); it != lower_to_key_.end()) {
    spelling = it->second;
  } else if (lower == key) {
    return nullptr;  // already looked up as it is
  }
  if (auto it = index_.find(spelling); it != index_.end()) {
    if (matched_key) *matched_key = it->first;
    return &infos_[it->second];
  }
  return nullptr;
}

void ModelMap::merge(const std::string& key, const ModelInfo& info) {
  if (auto it = index_.find(key); it != index_.end()) {
    infos_[it->second].update(info);
    return;
  }
  const auto index = static_cast<uint32_t>(infos_.size());
  infos_.emplace_back().update(info);  // update() interns the flag names
  const std::string_view stored = store_key(key);
  index_.emplace(stored, index);
  // The first key of a spelling wins, as LiteLLM's lower-case index does
  // for keys it built from the same dict. A lower-case key is its own
  // spelling's entry in index_ — unless another key of that spelling came
  // first, which lower_to_key_ then already holds.
  std::string lower = ascii_lower(key);
  if (lower != key && !index_.contains(lower)) lower_to_key_.try_emplace(std::move(lower), stored);
}

std::string_view ModelMap::store_key(std::string_view key) {
  constexpr size_t kBlockBytes = 64 * 1024;
  if (key_blocks_.empty() || key.size() > key_block_size_ - key_block_used_) {
    key_block_size_ = std::max(kBlockBytes, key.size());
    key_blocks_.push_back(std::make_unique<char[]>(key_block_size_));
    key_block_used_ = 0;
  }
  char* const at = key_blocks_.back().get() + key_block_used_;
  std::memcpy(at, key.data(), key.size());
  key_block_used_ += key.size();
  return std::string_view(at, key.size());
}

void ModelMap::for_each(absl::FunctionRef<void(std::string_view, const ModelInfo&)> fn) const {
  for (const auto& [key, index] : index_) fn(key, infos_[index]);
}

}  // namespace llmux::pricing
