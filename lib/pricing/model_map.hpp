// -----------------------------------------------------------------------------
// File: pricing/model_map.hpp
// -----------------------------------------------------------------------------
// LiteLLM's model price and context-window map as a lookup table: keys as
// LiteLLM writes them ("vertex_ai/openai/gpt-oss-120b-maas",
// "openai.gpt-oss-120b-1:0", "gpt-4o"), each with the fields llmux reads.
// The map LiteLLM ships (data/model_prices_and_context_window.json, compiled
// into the library) is parsed once, on first use; a program or config may
// load another file of the same format instead.
//
// Thread safety: a ModelMap is immutable once built (bundled() and parse()
// return finished tables); any thread may read it. merge() is for building
// a new table, before it is shared.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "llmux/error.hpp"

namespace llmux::pricing {

// One model's entry. Unset = the map does not say.
struct ModelInfo {
  std::optional<double> input_cost_per_token;
  std::optional<double> output_cost_per_token;
  std::optional<double> cache_read_input_token_cost;
  std::optional<double> cache_creation_input_token_cost;
  std::optional<int64_t> max_input_tokens;
  std::optional<int64_t> max_output_tokens;
  std::optional<int64_t> max_tokens;
  std::string litellm_provider;  // "bedrock_converse", "vertex_ai-openai_models", ...
  std::string mode;              // "chat", "embedding", ...
  // supports_* flags as written, sorted by name. A name points into a
  // process-wide table of flag names (interned: a few dozen distinct names
  // over thousands of entries; never freed), so update() and
  // ModelMap::merge() intern the names they store; a ModelInfo built by hand
  // must keep its names alive while it is used.
  std::vector<std::pair<std::string_view, bool>> supports;
  std::vector<std::string> supported_regions;

  // A supports_* flag ("supports_vision"); unset when the entry has none.
  std::optional<bool> flag(std::string_view name) const;
  // Copies every field `other` sets over this one (LiteLLM's dict.update).
  void update(const ModelInfo& other);
};

class ModelMap {
 public:
  // The map compiled into the library, parsed on first call (once,
  // thread-safe). Never null.
  static std::shared_ptr<const ModelMap> bundled();
  // The size in bytes of the compiled-in JSON.
  static size_t bundled_bytes();

  // A map from JSON text: an object of model key → entry object.
  // "sample_spec" (the format's own documentation in LiteLLM's file) is
  // skipped; a known field of the wrong type is an error naming
  // "<key>.<field>"; unknown fields are ignored.
  static Result<ModelMap> parse(std::string_view json);
  // parse() of a file (a regular file of at most 256 MiB); errors name the path.
  static Result<ModelMap> load_file(const std::string& path);

  // The entry under `key`: exact match first, then ignoring ASCII case (as
  // LiteLLM's _get_model_cost_key does). Sets *matched_key when given.
  const ModelInfo* find(std::string_view key, std::string* matched_key = nullptr) const;

  // Adds or updates `key` (field by field, over what it already holds).
  void merge(const std::string& key, const ModelInfo& info);

  size_t size() const { return infos_.size(); }
  // Calls fn(key, entry) for every key, in no particular order.
  void for_each(absl::FunctionRef<void(std::string_view, const ModelInfo&)> fn) const;

 private:
  // Kept small (the bundled map has ~5,000 keys and stays resident).
  //
  // The keys' text, in blocks that never move (so a ModelMap moves but is
  // not copied); index_ and lower_to_key_ hold views into it.
  std::string_view store_key(std::string_view key);
  std::vector<std::unique_ptr<char[]>> key_blocks_;
  size_t key_block_size_ = 0;  // of key_blocks_.back()
  size_t key_block_used_ = 0;  // its bytes holding keys
  // The hash table's slots hold a key and an index into the dense infos_,
  // not the ~220-byte entry, so its empty slots cost little.
  absl::flat_hash_map<std::string_view, uint32_t> index_;  // key → infos_ index
  std::vector<ModelInfo> infos_;
  // lower-cased key → the first key of that spelling, only where that key
  // is not itself lower-case (a lower-case key is found in index_ under its
  // own name): a few hundred of the bundled map's keys.
  absl::flat_hash_map<std::string, std::string_view> lower_to_key_;
};

}  // namespace llmux::pricing
