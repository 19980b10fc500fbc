// The load entries replicas share in llmux's own keys (in-flight counts and
// latency summaries): encodings, what is refused, and freshness in virtual
// time (times are plain Unix ms passed in).
#include <catch2/catch.hpp>

#include <string>

#include "state/fleet_load_record.hpp"

namespace llmux::state {
namespace {

constexpr int64_t kNow = 1'764'700'000'000;  // a Unix ms
constexpr int64_t kMaxAge = 1'500;

}  // namespace

TEST_CASE("in-flight entries are '<count>:<unix_ms>' and read back", "[state][fleet_load]") {
  CHECK(encode_in_flight_entry({3, kNow}) == "3:1764700000000");
  auto e = decode_in_flight_entry("3:1764700000000");
  REQUIRE(e.ok());
  CHECK(e->count == 3);
  CHECK(e->unix_ms == kNow);
  for (const char* bad : {"", "3", ":", "3:", ":5", "-1:5", "3:-5", "3:5:7", "3.5:5", "x:5", " 3:5", "3:5 "}) {
    INFO(bad);
    auto r = decode_in_flight_entry(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::kInvalidArgument);
    CHECK(r.error().message.find("in-flight") != std::string::npos);
  }
}

TEST_CASE("latency entries keep both windows' means and counts exactly", "[state][fleet_load]") {
  const LatencySummaryEntry in{0.1234567891234, 10, 0.05, 3, kNow};
  const std::string text = encode_latency_entry(in);
  CHECK(text == "0.1234567891234:10:0.05:3:1764700000000");
  auto out = decode_latency_entry(text);
  REQUIRE(out.ok());
  CHECK(out->latency_mean == in.latency_mean);
  CHECK(out->latency_samples == 10);
  CHECK(out->ttft_mean == 0.05);
  CHECK(out->ttft_samples == 3);
  CHECK(out->unix_ms == kNow);
  CHECK(decode_latency_entry("1e-05:1:0:0:5").ok());
  for (const char* bad : {"", "0.1:1:0:0", "0.1:1:0:0:5:6", "-0.1:1:0:0:5", "nan:1:0:0:5", "inf:1:0:0:5",
                          "0.1:-1:0:0:5", "0.1:1.5:0:0:5", "0.1:1:0:0:x"}) {
    INFO(bad);
    auto r = decode_latency_entry(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::kInvalidArgument);
  }
}

TEST_CASE("freshness: at most max_age old, and not from further in the future", "[state][fleet_load]") {
  CHECK(fresh(kNow, kNow, kMaxAge));
  CHECK(fresh(kNow - kMaxAge, kNow, kMaxAge));
  CHECK_FALSE(fresh(kNow - kMaxAge - 1, kNow, kMaxAge));
  CHECK(fresh(kNow + kMaxAge, kNow, kMaxAge));  // a writer's clock a little ahead
  CHECK_FALSE(fresh(kNow + kMaxAge + 1, kNow, kMaxAge));
}

TEST_CASE("in-flight sums the other replicas' fresh counts; a dead replica's count ends with its freshness",
          "[state][fleet_load]") {
  const HashFields fields = {
      {"me", encode_in_flight_entry({7, kNow})},            // our own: counted from memory, not here
      {"b", encode_in_flight_entry({2, kNow - 100})},
      {"c", encode_in_flight_entry({5, kNow - 1'000})},     // a replica that stopped 1 s ago
      {"d", "garbage"},
  };
  HashFields stale;
  CHECK(sum_in_flight(fields, "me", kNow, kMaxAge, &stale) == 7);
  REQUIRE(stale.size() == 1);
  CHECK(stale[0].first == "d");
  // Time passes (virtual): c's heartbeat never came, b's did.
  HashFields later = fields;
  later[1].second = encode_in_flight_entry({2, kNow + 600});
  stale.clear();
  CHECK(sum_in_flight(later, "me", kNow + 600, kMaxAge, &stale) == 2);
  REQUIRE(stale.size() == 2);
  CHECK(stale[0].first == "c");
  CHECK(stale[0].second == "5:1764699999000");  // the value seen: deleted only if still that
  CHECK(sum_in_flight({}, "me", kNow, kMaxAge) == 0);
}

TEST_CASE("latency summaries of the other replicas are combined weighted by sample counts", "[state][fleet_load]") {
  const HashFields fields = {
      {"me", encode_latency_entry({9.0, 100, 9.0, 100, kNow})},
      {"b", encode_latency_entry({1.0, 3, 0.5, 2, kNow - 200})},
      {"c", encode_latency_entry({2.0, 1, 0, 0, kNow - 100})},
      {"old", encode_latency_entry({100.0, 50, 100.0, 50, kNow - kMaxAge - 1})},
  };
  HashFields stale;
  const LatencySummaryEntry c = combine_latency(fields, "me", kNow, kMaxAge, &stale);
  CHECK(c.latency_samples == 4);
  CHECK(c.latency_mean == Approx((1.0 * 3 + 2.0 * 1) / 4));
  CHECK(c.ttft_samples == 2);
  CHECK(c.ttft_mean == Approx(0.5));
  CHECK(c.unix_ms == kNow - 100);
  REQUIRE(stale.size() == 1);
  CHECK(stale[0].first == "old");
  const LatencySummaryEntry none = combine_latency({{"me", fields[0].second}}, "me", kNow, kMaxAge);
  CHECK(none.latency_samples == 0);
  CHECK(none.ttft_samples == 0);
}

}  // namespace llmux::state
