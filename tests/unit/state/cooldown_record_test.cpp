// The cooldown value and counters byte for byte as LiteLLM writes them, and
// every form LiteLLM 1.81 and 1.110 write read back. Expected encodings were
// produced by Python 3.11's json.dumps / str() on the same dicts (pasted).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iterator>
#include <random>
#include <string>
#include <string_view>

#include "state/cooldown_record.hpp"

namespace llmux::state {
namespace {

CooldownRecord decoded(std::string_view text) {
  auto r = decode_cooldown_record(text);
  if (!r.ok()) FAIL(r.error().message);
  return std::move(r).value();
}

std::string decode_error(std::string_view text) {
  auto r = decode_cooldown_record(text);
  if (r.ok()) return "(decoded)";
  CHECK(r.error().kind == ErrorKind::kInvalidArgument);
  return r.error().message;
}

size_t code_points(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

const std::string kRateLimitText =
    "litellm.RateLimitError: RateLimitError: OpenAIException - Rate limit reached for gpt-4o";

TEST_CASE("exception_received is masked as LiteLLM's SensitiveDataMasker does", "[state][cooldown_record]") {
  CHECK(mask_exception_message("") == "");
  CHECK(mask_exception_message("short") == "short");
  const std::string fifty(50, 'a');
  CHECK(mask_exception_message(fifty) == fifty);
  CHECK(mask_exception_message(fifty + "b") == fifty + "*");
  CHECK(mask_exception_message(kRateLimitText) ==
        "litellm.RateLimitError: RateLimitError: OpenAIExce*************************************");
  SECTION("characters are code points, as Python counts them") {
    std::string text;
    for (int i = 0; i < 60; ++i) text += "\xc3\xa9";  // é
    text += "\xf0\x9f\x98\x80";                       // one astral character
    std::string expected;
    for (int i = 0; i < 50; ++i) expected += "\xc3\xa9";
    expected += std::string(11, '*');
    CHECK(mask_exception_message(text) == expected);
    CHECK(code_points(mask_exception_message(text)) == 61);
  }
  SECTION("invalid UTF-8 becomes U+FFFD first, one per maximal invalid subsequence") {
    // A truncated 3-byte sequence (E2 82) then 'A'; a lone continuation byte; a surrogate (ED A0 80).
    CHECK(mask_exception_message("\xe2\x82" "A\x80" "B\xed\xa0\x80") ==
          "\xef\xbf\xbd" "A\xef\xbf\xbd" "B\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    // b'\xf0\x9f\x98A\xf4\x90\x80\x80\xc0\xaf'.decode('utf-8', 'replace'): one, A, then six.
    std::string six;
    for (int i = 0; i < 6; ++i) six += "\xef\xbf\xbd";
    CHECK(mask_exception_message("\xf0\x9f\x98" "A\xf4\x90\x80\x80\xc0\xaf") == "\xef\xbf\xbd" "A" + six);
  }
}

TEST_CASE("records are built as LiteLLM builds them", "[state][cooldown_record]") {
  const CooldownRecord r = make_cooldown_record(kRateLimitText, 429, 1796173905.1354182, 30);
  CHECK(r.message == "litellm.RateLimitError: RateLimitError: OpenAIExce*************************************");
  CHECK(r.status_code == 429);
  CHECK(r.timestamp == 1796173905.1354182);
  CHECK(r.cooldown_time == 30);
  CHECK(r.cooldown_time_is_integer);
  CHECK_FALSE(make_cooldown_record("x", 500, 1, 0.5).cooldown_time_is_integer);
  CHECK(make_cooldown_record("x", 500, 1, 5.0).cooldown_time_is_integer);
  CHECK_FALSE(make_cooldown_record("x", 500, 1, 1e300).cooldown_time_is_integer);  // beyond exact integers
}

TEST_CASE("encoding is byte for byte Python's json.dumps", "[state][cooldown_record]") {
  // python3 -c 'import json; print(json.dumps({...}))' for each dict.
  CHECK(encode_cooldown_record(make_cooldown_record(kRateLimitText, 429, 1796173905.1354182, 30)) ==
        R"({"exception_received": "litellm.RateLimitError: RateLimitError: OpenAIExce*************************************", "status_code": "429", "timestamp": 1796173905.1354182, "cooldown_time": 30})");
  CooldownRecord escapes;
  escapes.message = "it's \"quoted\"\n\ttab \\ caf\xc3\xa9 \x07 \xe2\x80\xa8 \xf0\x9f\x98\x80";
  escapes.status_code = 503;
  escapes.timestamp = 1e16;
  escapes.cooldown_time = 0.5;
  CHECK(encode_cooldown_record(escapes) ==
        R"({"exception_received": "it's \"quoted\"\n\ttab \\ caf\u00e9 \u0007 \u2028 \ud83d\ude00", "status_code": "503", "timestamp": 1e+16, "cooldown_time": 0.5})");
  CooldownRecord float_time;
  float_time.message = "x";
  float_time.status_code = 401;
  float_time.timestamp = 1796174043.988702;
  float_time.cooldown_time = 5.0;  // configured as 5.0: stays a float
  CHECK(encode_cooldown_record(float_time) ==
        R"({"exception_received": "x", "status_code": "401", "timestamp": 1796174043.988702, "cooldown_time": 5.0})");
  CooldownRecord tiny;
  tiny.status_code = 500;
  tiny.timestamp = 1.5e-05;
  tiny.cooldown_time = 60;
  tiny.cooldown_time_is_integer = true;
  CHECK(encode_cooldown_record(tiny) ==
        R"({"exception_received": "", "status_code": "500", "timestamp": 1.5e-05, "cooldown_time": 60})");
  SECTION("control characters, DEL and astral characters (json.dumps('\\x00\\x1f\\x7f\\x80\\xa0\\xad\\U000e0001'))") {
    CooldownRecord c;
    c.message = std::string("\x00\x1f\x7f\xc2\x80\xc2\xa0\xc2\xad\xf3\xa0\x80\x81\b\f\r", 16);
    CHECK(encode_cooldown_record(c) ==
          R"({"exception_received": "\u0000\u001f\u007f\u0080\u00a0\u00ad\udb40\udc01\b\f\r", "status_code": "0", "timestamp": 0.0, "cooldown_time": 0.0})");
  }
  SECTION("a masked non-ASCII message") {
    std::string text;
    for (int i = 0; i < 60; ++i) text += "\xc3\xa9";
    text += "\xf0\x9f\x98\x80";
    const std::string json = encode_cooldown_record(make_cooldown_record(text, 429, 1, 1));
    std::string escaped;
    for (int i = 0; i < 50; ++i) escaped += "\\u00e9";
    CHECK(json == R"({"exception_received": ")" + escaped + R"(***********", "status_code": "429", "timestamp": 1.0, "cooldown_time": 1})");
  }
  SECTION("negative status and invalid UTF-8 in a hand-built record") {
    CooldownRecord c;
    c.message = "a\xff";
    c.status_code = -1;
    c.timestamp = -0.0;
    c.cooldown_time = -3;
    c.cooldown_time_is_integer = true;
    CHECK(encode_cooldown_record(c) ==
          R"({"exception_received": "a\ufffd", "status_code": "-1", "timestamp": -0.0, "cooldown_time": -3})");
  }
}

TEST_CASE("floats are written as Python's repr", "[state][cooldown_record]") {
  // json.dumps(x) for each x.
  const std::pair<double, const char*> cases[] = {
      {0.0, "0.0"},
      {-0.0, "-0.0"},
      {5.0, "5.0"},
      {0.1, "0.1"},
      {0.5, "0.5"},
      {1796173905.1354182, "1796173905.1354182"},
      {1796174043.988702, "1796174043.988702"},
      {0.001125, "0.001125"},
      {1e-4, "0.0001"},
      {1e-5, "1e-05"},
      {1.5e-5, "1.5e-05"},
      {1e15, "1000000000000000.0"},
      {9999999999999998.0, "9999999999999998.0"},
      {1e16, "1e+16"},
      {12345678901234567.0, "1.2345678901234568e+16"},
      {1e300, "1e+300"},
      {5e-324, "5e-324"},
      {1.7976931348623157e308, "1.7976931348623157e+308"},
      {-2.5e-7, "-2.5e-07"},
      {123.456, "123.456"},
      {NAN, "NaN"},
      {INFINITY, "Infinity"},
      {-INFINITY, "-Infinity"},
  };
  for (const auto& [value, text] : cases) {
    INFO(text);
    CHECK(python_float_json(value) == text);
  }
}

TEST_CASE("LiteLLM 1.110's JSON and 1.81's Python repr both decode", "[state][cooldown_record]") {
  const CooldownRecord expected = make_cooldown_record(kRateLimitText, 429, 1796173905.1354182, 30);
  SECTION("JSON, as LiteLLM 1.110 writes it") {
    CHECK(decoded(R"({"exception_received": "litellm.RateLimitError: RateLimitError: OpenAIExce*************************************", "status_code": "429", "timestamp": 1796173905.1354182, "cooldown_time": 30})") ==
          expected);
  }
  SECTION("Python repr, as LiteLLM 1.81 writes it (str(dict))") {
    CHECK(decoded(R"({'exception_received': 'litellm.RateLimitError: RateLimitError: OpenAIExce*************************************', 'status_code': '429', 'timestamp': 1796173905.1354182, 'cooldown_time': 30})") ==
          expected);
  }
  SECTION("compact JSON, any spacing, an int status, extra and reordered members") {
    const CooldownRecord r = decoded(
        "\n {\"cooldown_time\":30,\"timestamp\" :1796173905.1354182,\t\"extra\":{\"a\":[1,2,null]},"
        "\"status_code\":429,\"exception_received\":\"litellm.RateLimitError: RateLimitError: OpenAIExce"
        "*************************************\",\"more\":true}\r\n");
    CHECK(r == expected);
  }
  SECTION("the float cooldown time stays a float, an int one an int") {
    const CooldownRecord f = decoded(R"({"exception_received": "x", "status_code": "401", "timestamp": 1796174043.988702, "cooldown_time": 5.0})");
    CHECK(f.cooldown_time == 5.0);
    CHECK_FALSE(f.cooldown_time_is_integer);
    CHECK(decoded(R"({'exception_received': 'x', 'status_code': '401', 'timestamp': 1796174043.988702, 'cooldown_time': 5})")
              .cooldown_time_is_integer);
    CHECK(decoded(R"({'exception_received': 'x', 'status_code': 401, 'timestamp': 1, 'cooldown_time': 1e+16})")
              .cooldown_time == 1e16);
  }
  SECTION("Python repr escapes and quoting") {
    // str() of the dict with the tricky message (both quote kinds: single-quoted with \').
    const CooldownRecord r = decoded(
        R"({'exception_received': 'it\'s "quoted"\n\ttab \\ café \x07 \u2028 😀', 'status_code': '503', 'timestamp': 1e+16, 'cooldown_time': 0.5})");
    CHECK(r.message == "it's \"quoted\"\n\ttab \\ caf\xc3\xa9 \x07 \xe2\x80\xa8 \xf0\x9f\x98\x80");
    CHECK(r.status_code == 503);
    CHECK(r.timestamp == 1e16);
    CHECK(r.cooldown_time == 0.5);
    // The same message as json.dumps writes it.
    CHECK(decoded(R"({"exception_received": "it's \"quoted\"\n\ttab \\ caf\u00e9 \u0007 \u2028 \ud83d\ude00", "status_code": "503", "timestamp": 1e+16, "cooldown_time": 0.5})") ==
          r);
    // Double quotes when the text holds a single quote, \xNN \uNNNN \UNNNNNNNN, octal, continuation.
    CHECK(decoded(R"({"exception_received": "it's \xe9\u00e9\U0001F600\101\0", 'status_code': '1', 'timestamp': 0, 'cooldown_time': 0})")
              .message == std::string("it's \xc3\xa9\xc3\xa9\xf0\x9f\x98\x80" "A\0", 15));
    CHECK(decoded("{'exception_received': 'a\\\nb' 'c' \"d\", 'status_code': '1', 'timestamp': 0, 'cooldown_time': 0}")
              .message == "abcd");
    // Python keeps an unknown escape, backslash and all; a lone surrogate cannot be UTF-8.
    CHECK(decoded(R"({'exception_received': '\q\ud800', 'status_code': '1', 'timestamp': 0, 'cooldown_time': 0})")
              .message == "\\q\xef\xbf\xbd");
  }
  SECTION("Python literals LiteLLM never writes for these members, in members llmux does not read") {
    const CooldownRecord r = decoded(
        "{ 'exception_received' : u'x' , 'status_code' : ( '418' ) , 'timestamp' : -1_000.5 , 'cooldown_time' : + 2 ,"
        " 'a': True, 'b': False, 'c': None, 'd': [1, (2,), {3, 4}, {'k': [()]}], 7: 'int key', (1, 2): .5e-3, }  # c\n");
    CHECK(r.message == "x");
    CHECK(r.status_code == 418);
    CHECK(r.timestamp == -1000.5);
    CHECK(r.cooldown_time == 2);
    CHECK(r.cooldown_time_is_integer);
  }
  SECTION("a duplicated key keeps its last value, as in Python") {
    CHECK(decoded(R"({"exception_received": "a", "status_code": "1", "timestamp": 1, "cooldown_time": 1, "status_code": "2"})")
              .status_code == 2);
    CHECK(decoded(R"({'exception_received': 'a', 'status_code': '1', 'timestamp': 1, 'cooldown_time': 1, 'exception_received': 'b'})")
              .message == "b");
  }
}

TEST_CASE("anything else is a clear error, never quoting the stored text", "[state][cooldown_record]") {
  const std::string all = R"('exception_received': 'secret text', 'status_code': '429', 'timestamp': 1.5, 'cooldown_time': 30)";
  CHECK(decode_error("{}") == "cooldown value: exception_received is missing");
  CHECK(decode_error(R"({"exception_received": "x", "timestamp": 1, "cooldown_time": 1})") ==
        "cooldown value: status_code is missing");
  CHECK(decode_error(R"({"exception_received": "x", "status_code": "1", "cooldown_time": 1})") ==
        "cooldown value: timestamp is missing");
  CHECK(decode_error(R"({"exception_received": "x", "status_code": "1", "timestamp": 1})") ==
        "cooldown value: cooldown_time is missing");
  CHECK(decode_error(R"({"exception_received": null, "status_code": "1", "timestamp": 1, "cooldown_time": 1})") ==
        "cooldown value: exception_received is not a string");
  CHECK(decode_error(R"({"exception_received": "x", "status_code": "4x9", "timestamp": 1, "cooldown_time": 1})") ==
        "cooldown value: status_code is not an integer");
  CHECK(decode_error(R"({"exception_received": "x", "status_code": "", "timestamp": 1, "cooldown_time": 1})") ==
        "cooldown value: status_code is not an integer");
  CHECK(decode_error(R"({"exception_received": "x", "status_code": 429.0, "timestamp": 1, "cooldown_time": 1})") ==
        "cooldown value: status_code is neither a string nor an integer");
  CHECK(decode_error(R"({"exception_received": "x", "status_code": "99999999999", "timestamp": 1, "cooldown_time": 1})") ==
        "cooldown value: status_code is out of range");
  CHECK(decode_error(R"({"exception_received": "x", "status_code": "1", "timestamp": "1", "cooldown_time": 1})") ==
        "cooldown value: timestamp is not a number");
  CHECK(decode_error(R"({"exception_received": "x", "status_code": "1", "timestamp": true, "cooldown_time": 1})") ==
        "cooldown value: timestamp is not a number");
  CHECK(decode_error(R"({"exception_received": "x", "status_code": "1", "timestamp": 1, "cooldown_time": 1e999})") ==
        "cooldown value: cooldown_time is not finite");
  CHECK(decode_error(R"({"exception_received": "x", "status_code": "1", "timestamp": 18446744073709551615, "cooldown_time": 1})") ==
        "cooldown value: timestamp is out of range");
  CHECK(decode_error(R"({'exception_received': 'x', 'status_code': '1', 'timestamp': 123456789012345678901234567890, 'cooldown_time': 1})") ==
        "cooldown value: timestamp is out of range");
  CHECK(decode_error(R"({"exception_received": "x", "status_code": "1", "timestamp": 9007199254740993, "cooldown_time": 1})") ==
        "cooldown value: timestamp is out of range");
  for (const std::string& text : {
           std::string(""), std::string("   "), std::string("null"), std::string("[1, 2]"),
           std::string("\"string\""), std::string("{") + all, std::string("{") + all + "}}",
           std::string("{") + all + ", 'x': nan}", std::string("{") + all + ", 'x': float('inf')}",
           std::string("{") + all + ", 'x': b'bytes'}", std::string("{") + all + ", 'x': 1j}",
           std::string("{") + all + ", 'x': 007}", std::string("{") + all + ", 'x': '\\N{DASH}'}",
           std::string("{") + all + ", 'x': 'line\nbreak'}", std::string("{") + all + ", 'x': '\\x4'}",
           std::string("{") + all + ", 'x': '\\U00110000'}", std::string("{") + all + ", 'x': --1}",
           std::string("{") + all + ", 'x': 1__0}", std::string("{") + all + " 'x': 1}",
           std::string("{") + all + ", 'x': {1: 2, 3}}", std::string("{") + all + ", 'x': (1 2)}",
           std::string("{") + all + ", 'x': 'unterminated}",
           std::string("{") + all + ", 'x': " + std::string(100, '[') + std::string(100, ']') + "}",
           std::string("{") + all + ", 'x': '\xff'}",
       }) {
    INFO(text);
    const std::string message = decode_error(text);
    CHECK(message.starts_with("cooldown value: "));
    CHECK(message.find("secret text") == std::string::npos);
  }
  CHECK(decode_error("{" + all + ", 'x': '\xff'}") == "cooldown value: not valid UTF-8");
  CHECK(decode_error("{" + all + ", 'x': nan}").find("unexpected name") != std::string::npos);
  CHECK(decode_error("{" + all + ", 'x': " + std::string(100, '[') + std::string(100, ']') + "}")
            .find("nested too deeply") != std::string::npos);
}

TEST_CASE("counters as Redis and LiteLLM leave them", "[state][cooldown_record]") {
  const std::pair<const char*, double> good[] = {
      {"150", 150},     {"0", 0},           {"-2", -2},   {"0.001125", 0.001125},
      {"0.0", 0},       {"1e-05", 1e-5},    {"1e+16", 1e16}, {"12.5", 12.5},
      {"3.0000000000000004", 3.0000000000000004},
  };
  for (const auto& [text, value] : good) {
    INFO(text);
    auto r = decode_counter(text);
    REQUIRE(r.ok());
    CHECK(*r == value);
  }
  for (const char* text : {"", " 1", "1 ", "+1", "inf", "nan", "-inf", "0x10", "1e", "abc", "1,5", "1e999", "\"1\""}) {
    INFO(text);
    auto r = decode_counter(text);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::kInvalidArgument);
    CHECK(r.error().message == "counter value: not a decimal number");
  }
}

TEST_CASE("decode(encode(record)) is the record", "[state][cooldown_record]") {
  std::mt19937_64 rng(20261202);
  const char* pieces[] = {"a", "'", "\"", "\\", "\n", "\x01", "\x7f", "\xc3\xa9", "\xe2\x80\xa8", "\xf0\x9f\x98\x80",
                          "\xff", "*", " "};
  for (int i = 0; i < 2000; ++i) {
    std::string message;
    const int length = static_cast<int>(rng() % 80);
    for (int k = 0; k < length; ++k) message += pieces[rng() % std::size(pieces)];
    double timestamp = 0;
    const uint64_t bits = rng();
    std::memcpy(&timestamp, &bits, sizeof timestamp);
    if (!std::isfinite(timestamp)) timestamp = 1796173905.1354182;
    const double cooldown = i % 3 == 0 ? static_cast<double>(rng() % 3600) : std::ldexp(static_cast<double>(rng() % 100000), -10);
    const CooldownRecord record =
        make_cooldown_record(message, static_cast<int>(rng() % 600) - 50, timestamp, cooldown);
    const std::string json = encode_cooldown_record(record);
    INFO(json);
    CHECK(decoded(json) == record);
    CHECK(std::all_of(json.begin(), json.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; }));
  }
}

}  // namespace
}  // namespace llmux::state
