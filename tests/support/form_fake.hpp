// -----------------------------------------------------------------------------
// File: tests/support/form_fake.hpp
// -----------------------------------------------------------------------------
// What the fake token and credential endpoints that take form-encoded
// requests share (FakeEntra's token endpoint, FakeAwsMetadata's STS): reading
// an application/x-www-form-urlencoded body the way the real services do.
// Pure functions: thread-safe.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace llmux::testing {

// An application/x-www-form-urlencoded body → name → value, both decoded
// ('+' is a space, %XX escapes through libcurl). A name without '=' has the
// value ""; a repeated name keeps its last value.
std::map<std::string, std::string> parse_form(std::string_view body);

}  // namespace llmux::testing
