// LiteLLM's shared health-check dict: read in both of LiteLLM's encodings
// (JSON, and the Python repr 1.110.2 writes), written as JSON json.loads
// reads, merged without losing other writers' entries.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "state/health_state_record.hpp"

using namespace llmux;
using namespace llmux::state;

namespace {

const HealthStateEntry* find(const std::vector<HealthStateEntry>& all, std::string_view id) {
  for (const auto& e : all) {
    if (e.id == id) return &e;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("the health-check dict as LiteLLM 1.110.2 writes it (Python repr) and as JSON", "[state][health_check]") {
  const std::string repr =
      "{'dep-a': {'is_healthy': False, 'timestamp': 1796173905.1354182, 'reason': \"it's down\\n\"}, "
      "'dep-b': {'is_healthy': True, 'timestamp': 1796173900, 'reason': ''}}";
  Result<std::vector<HealthStateEntry>> r = decode_health_states(repr);
  REQUIRE(r.ok());
  REQUIRE(r->size() == 2);
  const HealthStateEntry* a = find(*r, "dep-a");
  REQUIRE(a != nullptr);
  CHECK_FALSE(a->is_healthy);
  CHECK(a->timestamp == 1796173905.1354182);
  CHECK(a->reason == "it's down\n");
  CHECK(a->checked_by.empty());
  CHECK(find(*r, "dep-b")->is_healthy);
  CHECK(find(*r, "dep-b")->timestamp == 1796173900);

  const std::string json =
      R"({"dep-a": {"is_healthy": false, "timestamp": 1796173905.5, "reason": "503", "checked_by": "host:1:abc"},)"
      R"( "dep-c": {"timestamp": 17}, "junk": 5, "dep-d": {"is_healthy": false, "timestamp": "soon"}})";
  r = decode_health_states(json);
  REQUIRE(r.ok());
  REQUIRE(r->size() == 2);  // not a dict, and a timestamp that is no number: left out
  CHECK(find(*r, "dep-a")->checked_by == "host:1:abc");
  CHECK(find(*r, "dep-a")->timestamp == 1796173905.5);
  CHECK(find(*r, "dep-c")->is_healthy);  // LiteLLM's default

  // Python truth: None and 0 are false.
  r = decode_health_states("{'x': {'is_healthy': None, 'timestamp': 1.0}, 'y': {'is_healthy': 0}, 'z': {}}");
  REQUIRE(r.ok());
  REQUIRE(r->size() == 3);
  CHECK_FALSE(find(*r, "x")->is_healthy);
  CHECK_FALSE(find(*r, "y")->is_healthy);
  CHECK(find(*r, "z")->is_healthy);
  CHECK(find(*r, "z")->timestamp == 0);

  r = decode_health_states("{}");
  REQUIRE(r.ok());
  CHECK(r->empty());

  for (std::string_view bad : {"", "[1, 2]", "{'a': ", "not a dict", "{\"a\": {\"is_healthy\": tru}}"}) {
    INFO(bad);
    Result<std::vector<HealthStateEntry>> b = decode_health_states(bad);
    REQUIRE_FALSE(b.ok());
    CHECK(b.error().kind == ErrorKind::kInvalidArgument);
    CHECK(b.error().message.find("health-check state value") != std::string::npos);
  }
}

TEST_CASE("the health-check dict written as json.dumps would, and read back", "[state][health_check]") {
  std::vector<HealthStateEntry> entries{
      {"dep-a", false, 1796173905.1354182, "503 \"model\" \xc3\xa9 loading \xff", "host:7:00beef"},
      {"dep-b", true, 1796173900.0, "", ""},
  };
  const std::string text = encode_health_states(entries);
  CHECK(text ==
        R"({"dep-a": {"is_healthy": false, "timestamp": 1796173905.1354182, "reason": "503 \"model\" \u00e9 loading \ufffd", "checked_by": "host:7:00beef"}, )"
        R"("dep-b": {"is_healthy": true, "timestamp": 1796173900.0, "reason": ""}})");
  Result<std::vector<HealthStateEntry>> back = decode_health_states(text);
  REQUIRE(back.ok());
  REQUIRE(back->size() == 2);
  CHECK((*back)[0].reason == "503 \"model\" \xc3\xa9 loading \xef\xbf\xbd");
  CHECK((*back)[1] == entries[1]);
  CHECK(encode_health_states({}) == "{}");
}

TEST_CASE("merging keeps other writers' entries and the newer result of an id", "[state][health_check]") {
  const std::vector<HealthStateEntry> stored{
      {"other", false, 1000, "LiteLLM saw it", ""},
      {"mine", true, 990, "", "r1"},
      {"newer-there", false, 1005, "x", "r2"},
      {"expired", false, 10, "old", ""},
  };
  const std::vector<HealthStateEntry> updates{
      {"mine", false, 1001, "503", "r1"},
      {"newer-there", true, 1002, "", "r1"},
      {"new", true, 1003, "", "r1"},
  };
  const std::vector<HealthStateEntry> merged = merge_health_states(stored, updates, /*drop_before=*/100);
  REQUIRE(merged.size() == 4);
  CHECK(merged[0] == stored[0]);
  CHECK(merged[1] == updates[0]);
  CHECK(merged[2] == stored[2]);  // its result is newer than ours
  CHECK(merged[3] == updates[2]);
}
