// Fuzz target: transport::EventStreamDecoder (AWS binary event-stream framing).
// Input: byte 0 seeds how the rest is cut into feeds; the rest is the stream.
// Properties: the messages, the error kind and the partial state do not
// depend on where the stream is cut (one feed, seeded random cuts, one byte at
// a time); every delivered message re-encodes to exactly the bytes it came
// from (so no header or payload byte is misread); a failed decoder refuses
// more input and buffers nothing; stopping from the callback after k messages
// stops exactly there; reset() gives a fresh decoder.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "transport/aws_event_stream.hpp"

namespace {

using llmux::transport::EventStreamDecoder;
using llmux::transport::EventStreamError;
using llmux::transport::EventStreamMessage;

struct Outcome {
  std::vector<std::string> frames;  // each message re-encoded
  EventStreamError error = EventStreamError::kNone;
  bool partial = false;
  bool operator==(const Outcome&) const = default;
};

template <class Cuts>
Outcome run(EventStreamDecoder& decoder, std::string_view stream, Cuts&& next_cut) {
  Outcome out;
  auto on_message = [&](const EventStreamMessage& m) {
    std::string frame;
    llmux::transport::append_event_stream_message(frame, m.headers, m.payload);
    out.frames.push_back(std::move(frame));
  };
  size_t pos = 0;
  while (pos < stream.size()) {
    const size_t n = std::min(next_cut(), stream.size() - pos);
    const bool ok = decoder.feed(stream.substr(pos, n), on_message);
    FUZZ_CHECK(ok == !decoder.failed());
    if (!ok) break;
    pos += n;
  }
  out.error = decoder.error();
  out.partial = decoder.has_partial_message();
  if (decoder.failed()) {
    FUZZ_CHECK(!decoder.error_message().empty());
    FUZZ_CHECK(decoder.buffered() == 0);
    bool called = false;
    FUZZ_CHECK(!decoder.feed(stream, [&](const EventStreamMessage&) { called = true; }));
    FUZZ_CHECK(!called);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  uint32_t seed = data[0];
  const std::string_view stream(reinterpret_cast<const char*>(data) + 1, size - 1);

  EventStreamDecoder whole;
  const Outcome reference = run(whole, stream, [&] { return stream.size(); });
  // Delivered frames are the input's leading bytes, verbatim.
  size_t offset = 0;
  for (const std::string& f : reference.frames) {
    FUZZ_CHECK(stream.substr(offset, f.size()) == f);
    offset += f.size();
  }

  // Cuts of 0..15 bytes (empty feeds included) from a small LCG.
  EventStreamDecoder cut;
  const Outcome pieces = run(cut, stream, [&] {
    seed = seed * 1103515245u + 12345u;
    return static_cast<size_t>((seed >> 16) & 15u);
  });
  FUZZ_CHECK(pieces == reference);

  if (stream.size() <= 4096) {
    EventStreamDecoder bytewise;
    FUZZ_CHECK(run(bytewise, stream, [] { return size_t{1}; }) == reference);
  }

  // Stop after k messages: feed() says so, nothing more is delivered.
  if (!reference.frames.empty()) {
    const size_t k = data[0] % reference.frames.size() + 1;
    EventStreamDecoder stopping;
    size_t seen = 0;
    const bool went_on = stopping.feed(stream, [&](const EventStreamMessage&) { return ++seen < k; });
    FUZZ_CHECK(!went_on && seen == k && !stopping.failed());
    stopping.reset();
    FUZZ_CHECK(run(stopping, stream, [&] { return stream.size(); }) == reference);
  }
  return 0;
}
