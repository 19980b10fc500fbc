#include "json/writer.hpp"

#include "json/literal_writer.hpp"

#include <catch2/catch.hpp>
#include <simdjson.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <fmt/format.h>

using llmux::json::append_json_string;
using llmux::json::LiteralWriter;
using llmux::json::Writer;

TEST_CASE("append_json_string escapes what JSON requires and nothing else") {
  auto esc = [](std::string_view s) {
    std::string out = "prefix:";
    append_json_string(out, s);
    return out;
  };
  CHECK(esc("") == "prefix:\"\"");
  CHECK(esc("plain") == "prefix:\"plain\"");
  CHECK(esc("a\"b\\c") == "prefix:\"a\\\"b\\\\c\"");
  CHECK(esc("\n\r\t\b\f") == "prefix:\"\\n\\r\\t\\b\\f\"");
  CHECK(esc(std::string_view("\x00\x1f\x7f", 3)) == "prefix:\"\\u0000\\u001f\x7f\"");
  CHECK(esc("/") == "prefix:\"/\"");
  CHECK(esc("héllo 日本 😀") == "prefix:\"héllo 日本 😀\"");
  // Every byte below 0x20 round-trips.
  std::string all;
  for (int c = 0; c < 0x20; ++c) all.push_back(static_cast<char>(c));
  all += "\"\\end";
  std::string doc = "{\"k\":";
  append_json_string(doc, all);
  doc += "}";
  simdjson::dom::parser p;
  simdjson::dom::element root;
  REQUIRE(p.parse(doc).get(root) == simdjson::SUCCESS);
  CHECK(std::string_view(root["k"]) == all);
}

// The byte-at-a-time escaping append_json_string must equal (it scans 8 bytes at a time).
std::string reference_escape(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0xF];
        } else {
          out += ch;
        }
    }
  }
  return out + "\"";
}

TEST_CASE("append_json_string, key and string escape a byte at any offset of a long string") {
  // Bytes that need escaping and their neighbours (0x1f/0x20, 0x21/0x22/0x23, 0x5b/0x5c/0x5d, 0x7f/0x80/0xff).
  const unsigned char specials[] = {0x00, 0x01, 0x08, 0x0a, 0x1f, 0x20, 0x21, 0x22, 0x23,
                                    0x5b, 0x5c, 0x5d, 0x7f, 0x80, 0xa2, 0xdc, 0xff};
  for (size_t len : {1u, 2u, 3u, 5u, 7u, 8u, 9u, 12u, 15u, 16u, 17u, 31u, 40u}) {
    for (size_t at = 0; at < len; ++at) {
      for (const unsigned char special : specials) {
        std::string s(len, 'x');
        s[at] = static_cast<char>(special);
        if (at + 3 < len) s[at + 3] = '"';  // a second one in the same or the next word
        std::string out = "p";
        append_json_string(out, s);
        REQUIRE(out == "p" + reference_escape(s));
        std::string doc;
        Writer(doc).begin_object().key(s).string(s).end_object();
        REQUIRE(doc == "{" + reference_escape(s) + ":" + reference_escape(s) + "}");
        LiteralWriter literal;
        literal.literal("{");
        literal.string(s);
        literal.literal(":");
        literal.string(s);
        literal.literal("}");
        REQUIRE(literal.view() == doc);
      }
    }
  }
}

TEST_CASE("Writer places commas and writes values by type") {
  std::string out;
  Writer w(out);
  w.begin_object();
  w.member("s", "a\"b").member("i", -3).member("u", std::numeric_limits<uint64_t>::max());
  w.member("d", 0.5).member("tiny", 1e-07).member("whole", 2.0).member("t", true).member("f", false);
  w.key("n").null();
  w.key("empty_object").begin_object().end_object();
  w.key("empty_array").begin_array().end_array();
  w.key("list").begin_array().number(1).string("x").begin_object().member("k", "v").end_object().raw("[0.0]");
  w.end_array();
  w.end_object();
  CHECK(out ==
        R"({"s":"a\"b","i":-3,"u":18446744073709551615,"d":0.5,"tiny":1e-07,"whole":2,"t":true,"f":false,)"
        R"("n":null,"empty_object":{},"empty_array":[],"list":[1,"x",{"k":"v"},[0.0]]})");
  simdjson::dom::parser p;
  CHECK(p.parse(out).error() == simdjson::SUCCESS);
}

TEST_CASE("Writer appends to what the string holds") {
  std::string out = "data: ";
  Writer(out).begin_array().number(1).number(2).end_array();
  CHECK(out == "data: [1,2]");
}

TEST_CASE("Writer writes a non-finite number as null") {
  std::string out;
  Writer w(out);
  w.begin_array().number(std::numeric_limits<double>::infinity()).number(-std::numeric_limits<double>::infinity());
  w.number(std::numeric_limits<double>::quiet_NaN()).end_array();
  CHECK(out == "[null,null,null]");
}

TEST_CASE("Writer splices raw keys and members") {
  std::string out;
  Writer w(out);
  w.begin_object().raw_key("quote\\\"d").raw("{\"a\": [1, 2]}").raw_members("").raw_members(R"("x":1,"y":2)");
  w.member("z", 3).end_object();
  CHECK(out == R"({"quote\"d":{"a": [1, 2]},"x":1,"y":2,"z":3})");
  std::string only;
  Writer(only).begin_object().raw_members(R"("x":1)").end_object();
  CHECK(only == R"({"x":1})");
}

TEST_CASE("Writer reopens an object to add members") {
  auto extend = [](std::string_view object) {
    std::string out;
    Writer(out).reopen_object(object).member("k", 1).end_object();
    return out;
  };
  CHECK(extend(R"({"a":1})") == R"({"a":1,"k":1})");
  CHECK(extend("{\"a\":1}\n\r\t ") == R"({"a":1,"k":1})");
  CHECK(extend("{}") == R"({"k":1})");
  CHECK(extend("{ \n}") == "{ \n\"k\":1}");
  // Inside an array, a reopened object is one element.
  std::string out;
  Writer w(out);
  w.begin_array().number(0).reopen_object(R"({"a":1})").member("b", 2).end_object().number(3).end_array();
  CHECK(out == R"([0,{"a":1,"b":2},3])");
}

TEST_CASE("LiteralWriter writes values as Writer does") {
  const double doubles[] = {0.0, -0.0, -1.0, 0.5, 1e-07, 1e300, 123456789.125, std::numeric_limits<double>::quiet_NaN(),
                            std::numeric_limits<double>::infinity()};
  for (const double d : doubles) {
    std::string expected;
    Writer(expected).begin_array().number(d).number(int64_t{-42}).number(uint64_t{18446744073709551615u}).boolean(true)
        .boolean(false).string("").end_array();
    LiteralWriter literal;
    literal.literal("[");
    literal.number(d);
    literal.literal(",");
    literal.number(int64_t{-42});
    literal.literal(",");
    literal.number(uint64_t{18446744073709551615u});
    literal.literal(",");
    literal.boolean(true);
    literal.literal(",");
    literal.boolean(false);
    literal.literal(",");
    literal.string("");
    literal.literal("]");
    CHECK(literal.view() == expected);
  }
  // Past the inline storage: the buffer grows.
  LiteralWriter long_text;
  const std::string s(5000, 'y');
  long_text.string(s);
  CHECK(long_text.view() == "\"" + s + "\"");
}

TEST_CASE("Writer writes whole numbers as fmt's shortest form does") {
  // The whole-number path (below 2^53) and its edges, against fmt's general algorithm.
  std::vector<double> values = {0.0, -0.0, 1.0, -1.0, 10.0, 100.0, 1e15, 1e16, -1e15, 9007199254740991.0,
                                9007199254740992.0, -9007199254740991.0, -9007199254740992.0, 0.5, -0.5, 1.5,
                                4503599627370495.5, 1e300, -1e-300};
  for (double v = 1; v < 1e18; v *= 3) {
    for (double d : {v, v + 1, v - 1, -v, v * 10, v / 7}) values.push_back(d);
  }
  for (const double d : values) {
    std::string out;
    Writer(out).number(d);
    LiteralWriter literal;
    literal.number(d);
    INFO(fmt::format("{}", d));
    CHECK(out == fmt::format("{}", d));
    CHECK(literal.view() == out);
  }
}
