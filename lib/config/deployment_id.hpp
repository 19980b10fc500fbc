// -----------------------------------------------------------------------------
// File: config/deployment_id.hpp
// -----------------------------------------------------------------------------
// LiteLLM's deployment id for a model_list entry without model_info.id
// (reference §3.3, Router._generate_model_id):
//
//   concat = model_name + Σ (key + str_or_json(value)) over litellm_params in config order
//   id     = sha256(concat.encode()).hexdigest()
//
// where a str value is used as-is, a dict is json.dumps()'d and anything else
// is Python's str(). The Python formatting helpers below reproduce those
// renderings byte for byte for strings, ints, bools, None, lists and dicts of
// them, and for floats via the shortest round-trip representation (what
// Python's repr() uses). Stateless functions: thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "config/config_value.hpp"

namespace llmux::config {

// sha256 of `model_name` + litellm_params as LiteLLM concatenates them.
// `litellm_params` must be a map (already os.environ-resolved).
std::string generate_deployment_id(std::string_view model_name, const Value& litellm_params);

// Lower-case hex SHA-256 of `data` (OpenSSL libcrypto).
std::string sha256_hex(std::string_view data);

// Python's str(v) (dicts: json.dumps(v), as LiteLLM's recipe does for a
// top-level dict value; strings as-is).
std::string python_str(const Value& v);
// Python's repr(v) for values nested in lists: 'quoted' strings, {'k': v} dicts.
std::string python_repr(const Value& v);
// json.dumps(v) with the default separators (", ", ": ") and ensure_ascii.
std::string python_json_dumps(const Value& v);
// repr(float): "0.001", "1e-07", "1e+16", "1.0", "inf", "nan".
std::string python_float_repr(double d);

}  // namespace llmux::config
