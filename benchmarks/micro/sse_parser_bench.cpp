// SSE parser micro benchmarks: transport::SseParser over a realistic OpenAI
// chat.completion.chunk stream (400 content chunks + finish, usage, [DONE];
// ~95 KB), as MB/s, fed the way the network delivers it:
//   per-event — one read per event (a streaming server flushing each token),
//   16k       — 16 KiB reads (libcurl's buffer size; a burst of queued events),
//   61        — 61-byte reads, so most lines straddle reads and get buffered.
// Baseline: finding every '\n' of the same bytes with memchr (the floor of
// any line-based framer).
#include <benchmark/benchmark.h>

#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "micro/micro_registry.hpp"
#include "micro/payloads.hpp"
#include "transport/sse_parser.hpp"

namespace llmux::bench {
namespace {

constexpr int kTokens = 400;

const std::string& stream_bytes() {
  static const std::string s = make_chat_stream(kTokens);
  return s;
}

// Splits the stream into the reads a client would see.
std::vector<std::string_view> split(std::string_view s, size_t piece) {
  std::vector<std::string_view> out;
  if (piece == 0) {  // per event: cut after each blank line
    size_t start = 0;
    for (size_t pos = s.find("\n\n"); pos != std::string_view::npos; pos = s.find("\n\n", start)) {
      out.push_back(s.substr(start, pos + 2 - start));
      start = pos + 2;
    }
    if (start < s.size()) out.push_back(s.substr(start));
    return out;
  }
  for (size_t i = 0; i < s.size(); i += piece) out.push_back(s.substr(i, piece));
  return out;
}

void bm_sse(benchmark::State& state, size_t piece) {
  const std::string& s = stream_bytes();
  const std::vector<std::string_view> reads = split(s, piece);
  transport::SseParser parser;
  int64_t events = 0;
  size_t data_bytes = 0;
  for (auto _ : state) {
    parser.reset();
    events = 0;
    for (std::string_view r : reads) {
      parser.feed(r, [&](const transport::SseEvent& ev) {
        ++events;
        data_bytes += ev.data.size();
        return true;
      });
    }
    benchmark::DoNotOptimize(data_bytes);
  }
  if (events != chat_stream_events(kTokens)) {
    state.SkipWithError("the parser did not see every event");
    return;
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(s.size()));
  state.counters["events_per_stream"] = static_cast<double>(events);
}

void bm_memchr_baseline(benchmark::State& state) {
  const std::string& s = stream_bytes();
  for (auto _ : state) {
    size_t lines = 0;
    const char* p = s.data();
    const char* end = s.data() + s.size();
    while (const void* hit = std::memchr(p, '\n', static_cast<size_t>(end - p))) {
      ++lines;
      p = static_cast<const char*>(hit) + 1;
    }
    benchmark::DoNotOptimize(lines);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(s.size()));
}

}  // namespace

void register_sse_benchmarks(std::vector<Comparison>& out) {
  benchmark::RegisterBenchmark("sse/baseline-memchr-lines", bm_memchr_baseline);
  const std::string size = std::to_string(stream_bytes().size() / 1024);
  for (auto [name, piece] : {std::pair<const char*, size_t>{"sse/per-event", 0}, {"sse/16k", 16384}, {"sse/61", 61}}) {
    const size_t p = piece;
    benchmark::RegisterBenchmark(name, [p](benchmark::State& st) { bm_sse(st, p); });
    out.push_back(Comparison{std::string("SseParser, ") + size + " KiB chat stream, reads: " +
                                 (p == 0 ? std::string("one per event") : std::to_string(p) + " B"),
                             name, 0, "sse/baseline-memchr-lines", "memchr for every '\\n' of the same bytes", true});
  }
}

}  // namespace llmux::bench
