// Fuzz target: transport::SseParser (SSE framing).
// Input: byte 0 seeds how the rest is cut into feeds; the rest is the stream.
// Properties: the events do not depend on where the stream is cut (one feed,
// seeded random cuts, one byte at a time); stopping from the callback after k
// events stops exactly there; reset() gives a fresh parser.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "fuzz_check.hpp"
#include "transport/sse_parser.hpp"

namespace {

using llmux::transport::SseEvent;
using llmux::transport::SseParser;

struct Outcome {
  std::vector<std::tuple<std::string, std::string, std::string>> events;
  bool partial = false;
  bool operator==(const Outcome&) const = default;
};

template <class Cuts>
Outcome run(SseParser& parser, std::string_view stream, Cuts&& next_cut) {
  Outcome out;
  auto on_event = [&](const SseEvent& e) {
    out.events.emplace_back(std::string(e.event), std::string(e.data), std::string(e.id));
  };
  size_t pos = 0;
  while (pos < stream.size()) {
    const size_t n = std::min(next_cut(), stream.size() - pos);
    FUZZ_CHECK(parser.feed(stream.substr(pos, n), on_event));
    pos += n;
  }
  out.partial = parser.has_partial_event();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  uint32_t seed = data[0];
  const std::string_view stream(reinterpret_cast<const char*>(data) + 1, size - 1);

  SseParser whole;
  const Outcome reference = run(whole, stream, [&] { return stream.size(); });

  // Cuts of 0..15 bytes (empty feeds included) from a small LCG.
  SseParser cut;
  const Outcome pieces = run(cut, stream, [&] {
    seed = seed * 1103515245u + 12345u;
    return static_cast<size_t>((seed >> 16) & 15u);
  });
  FUZZ_CHECK(pieces == reference);

  if (stream.size() <= 4096) {
    SseParser bytewise;
    FUZZ_CHECK(run(bytewise, stream, [] { return size_t{1}; }) == reference);
  }

  // Stop after k events: feed() says so and nothing more is delivered.
  if (!reference.events.empty()) {
    const size_t k = data[0] % reference.events.size() + 1;
    SseParser stopping;
    size_t seen = 0;
    const bool went_on = stopping.feed(stream, [&](const SseEvent&) { return ++seen < k; });
    FUZZ_CHECK(!went_on && seen == k);
    // After reset() the same parser reads the whole stream afresh.
    stopping.reset();
    FUZZ_CHECK(run(stopping, stream, [&] { return stream.size(); }) == reference);
  }
  return 0;
}
