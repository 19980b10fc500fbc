// Fuzz target: provider/gemini_content (the generateContent mapping both
// ways: OpenAI request → body, answer → chat.completion, SSE stream →
// chunks, embeddings, Google error bodies).
// Input: byte 0 picks the mode (bits 0-1: request, response, stream,
// embeddings; bit 2: drop_params; bit 3: no system_instruction); byte 1 is
// where a stream is split in two; the rest is the request, body or stream.
// Properties: a mapping that succeeds writes valid JSON (a body with a
// non-empty "contents" array; an OpenAI chat.completion or embedding list the
// OpenAI reader accepts); one that fails is a typed 400-class error (request)
// or carries a positive status (response); every stream chunk is a JSON
// object the reader takes as a chunk, or the malformed event passed through
// for the relay to skip; split and whole streams give the same chunks (as the reader sees them).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include "fuzz_check.hpp"
#include "provider/gemini.hpp"
#include "provider/gemini_content.hpp"
#include "request/request.hpp"

namespace {

namespace gemini = llmux::provider::gemini;
using llmux::ErrorKind;

bool valid_json(std::string_view s, simdjson::dom::element_type type) {
  simdjson::dom::parser parser;
  simdjson::dom::element e;
  if (parser.parse(s.data(), s.size(), true).get(e)) return false;
  return e.type() == type;
}

const llmux::provider::GeminiProvider& reader() {
  static const llmux::provider::GeminiProvider p;
  return p;
}

std::vector<std::string> stream_chunks(std::string_view wire, size_t cut, bool& ok) {
  std::vector<std::string> out;
  auto t = gemini::make_stream_translator("m", "gemini");
  auto sink = [&](std::string_view c) {
    out.emplace_back(c);
    return true;
  };
  cut = std::min(cut, wire.size());
  ok = t->feed(wire.substr(0, cut), sink) && t->feed(wire.substr(cut), sink) && t->finish(sink);
  if (!ok) FUZZ_CHECK(t->take_error().has_value());
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const int mode = data[0] & 3;
  const std::string_view text(reinterpret_cast<const char*>(data) + 2, size - 2);
  switch (mode) {
    case 0: {
      auto parsed = llmux::request::parse_request(text, llmux::request::Endpoint::kChatCompletions);
      if (!parsed.ok()) return 0;
      gemini::ContentOptions options;
      options.drop_params = (data[0] & 4) != 0;
      options.system_instruction = (data[0] & 8) == 0;
      options.model = "gemini-2.5-flash";
      std::string out;
      auto s = gemini::build_generate_content(*parsed, options, out);
      if (s.ok()) {
        FUZZ_CHECK(valid_json(out, simdjson::dom::element_type::OBJECT));
        FUZZ_CHECK(out.rfind(R"({"contents":[{)", 0) == 0);
      } else {
        FUZZ_CHECK(s.error().kind == ErrorKind::kBadRequest || s.error().kind == ErrorKind::kInvalidArgument);
      }
      return 0;
    }
    case 1: {
      std::string body(text);
      auto s = gemini::translate_generate_content(body, "m", "gemini");
      if (s.ok()) {
        FUZZ_CHECK(valid_json(body, simdjson::dom::element_type::OBJECT));
        FUZZ_CHECK(reader().inspect_response(body, llmux::request::Endpoint::kChatCompletions).ok());
      } else {
        FUZZ_CHECK(s.error().status > 0);
      }
      return 0;
    }
    case 2: {
      bool whole_ok = false, split_ok = false;
      const auto whole = stream_chunks(text, text.size(), whole_ok);
      const auto split = stream_chunks(text, data[1], split_ok);
      FUZZ_CHECK(whole_ok == split_ok);
      // Ids are generated per translator: the chunks are compared as read.
      FUZZ_CHECK(whole.size() == split.size());
      for (size_t i = 0; i < whole.size(); ++i) {
        const auto a = reader().inspect_chunk(whole[i]);
        const auto b = reader().inspect_chunk(split[i]);
        FUZZ_CHECK(a.kind == b.kind && a.content == b.content && a.finish_reason == b.finish_reason &&
                   a.has_tool_calls == b.has_tool_calls && a.usage.has_value() == b.usage.has_value());
      }
      for (const std::string& c : whole) {
        const auto info = reader().inspect_chunk(c);
        if (valid_json(c, simdjson::dom::element_type::OBJECT) &&
            c.rfind(R"({"id":)", 0) == 0) {
          FUZZ_CHECK(info.kind == llmux::provider::ChunkInfo::Kind::kChunk);
        }
      }
      return 0;
    }
    default: {
      std::string body(text);
      auto s = (data[0] & 4) ? gemini::translate_predict_embeddings(body, "m", "vertex_ai")
                             : gemini::translate_batch_embed_contents(body, "m", "gemini");
      if (s.ok()) {
        FUZZ_CHECK(valid_json(body, simdjson::dom::element_type::OBJECT));
        FUZZ_CHECK(reader().inspect_response(body, llmux::request::Endpoint::kEmbeddings).ok());
      } else {
        FUZZ_CHECK(s.error().status > 0);
      }
      return 0;
    }
  }
}
