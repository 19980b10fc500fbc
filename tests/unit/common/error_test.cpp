#include "llmux/error.hpp"

#include <catch2/catch.hpp>
#include <set>

using namespace llmux;

TEST_CASE("every error kind has a distinct LiteLLM-style name and a status", "[error]") {
  std::set<std::string_view> names;
  for (int k = static_cast<int>(ErrorKind::kBadRequest); k <= static_cast<int>(ErrorKind::kInvalidArgument); ++k) {
    const auto kind = static_cast<ErrorKind>(k);
    const auto name = error_kind_name(kind);
    CHECK(name != "UnknownError");
    CHECK(names.insert(name).second);
    CHECK(error_kind_default_status(kind) >= 400);
  }
  CHECK(error_kind_name(ErrorKind::kRateLimit) == "RateLimitError");
  CHECK(error_kind_name(ErrorKind::kTimeout) == "Timeout");
  CHECK(error_kind_name(ErrorKind::kConnectionError) == "APIConnectionError");
  CHECK(error_kind_default_status(ErrorKind::kConnectionError) == 500);  // as LiteLLM reports it
  CHECK(error_kind_default_status(ErrorKind::kTimeout) == 408);
}

TEST_CASE("Error keeps the provider status and formats with its type name", "[error]") {
  Error e(ErrorKind::kTimeout, "gateway timed out", 504);
  CHECK(e.status == 504);
  CHECK(e.provider_status == 504);
  CHECK(e.to_string() == "Timeout: gateway timed out");
  Error none(ErrorKind::kConnectionError, "refused");
  CHECK(none.status == 500);
  CHECK(none.provider_status == 0);
}

TEST_CASE("Result holds a value or an error", "[error]") {
  Result<int> ok(7);
  REQUIRE(ok.ok());
  CHECK(*ok == 7);
  Result<int> bad(Error(ErrorKind::kInvalidArgument, "no"));
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().kind == ErrorKind::kInvalidArgument);
  Status s;
  CHECK(s.ok());
  Status f(Error(ErrorKind::kInvalidConfig, "x"));
  CHECK_FALSE(f.ok());
}
