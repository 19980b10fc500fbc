// AWS wire micro benchmarks (Bedrock):
//   aws-event-stream/<reads> — transport::EventStreamDecoder over a realistic
//     ConverseStream body (messageStart, 400 contentBlockDelta text frames with
//     Bedrock's "p" padding, contentBlockStop, messageStop, metadata; ~76 KiB),
//     MB/s, next to transport::SseParser over the *same events framed as SSE*
//     ("event: <type>\ndata: <payload>\n\n"), same reads, same run (the
//     decoder must CRC every byte; aws-event-stream/crc32-floor shows zlib's
//     crc32 alone over the same bytes);
//   sigv4/sign-2k — provider::sign_sigv4 for one Converse request with a 2 KB
//     body and a session token (canonical request, SHA-256s, the four-step key
//     derivation, hex), next to hashing the body alone (the floor: SigV4 must
//     hash the payload).
#include <benchmark/benchmark.h>
#include <zlib.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <absl/time/time.h>
#include <fmt/format.h>

#include "micro/micro_registry.hpp"
#include "provider/aws_sigv4.hpp"
#include "transport/aws_event_stream.hpp"
#include "transport/sse_parser.hpp"

namespace llmux::bench {
namespace {

constexpr int kDeltas = 400;

struct Streams {
  std::string event_stream;
  std::string sse;
  int events = 0;
};

const Streams& streams() {
  static const Streams s = [] {
    static constexpr std::string_view kWords[] = {"Yes", ".", " Once", " the", " jacket", " has", " arrived", " you",
                                                  " can", " exchange", " it", " for", " a", " size", " M", "\\n"};
    Streams out;
    auto add = [&](std::string_view type, const std::string& payload) {
      using transport::EventStreamHeader;
      using transport::EventStreamHeaderType;
      const EventStreamHeader headers[] = {{":event-type", EventStreamHeaderType::kString, 0, type},
                                           {":content-type", EventStreamHeaderType::kString, 0, "application/json"},
                                           {":message-type", EventStreamHeaderType::kString, 0, "event"}};
      transport::append_event_stream_message(out.event_stream, headers, payload);
      fmt::format_to(std::back_inserter(out.sse), "event: {}\ndata: {}\n\n", type, payload);
      ++out.events;
    };
    add("messageStart", R"({"p":"abcdefghijklmnopqrstuvwxyzABCDEFGHIJ","role":"assistant"})");
    for (int i = 0; i < kDeltas; ++i) {
      // Bedrock pads each event with "p" of varying length to hide token sizes.
      const std::string_view pad = std::string_view("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0")
                                       .substr(0, static_cast<size_t>(5 + (i * 7) % 40));
      add("contentBlockDelta", fmt::format(R"({{"contentBlockIndex":0,"delta":{{"text":"{}"}},"p":"{}"}})",
                                           kWords[static_cast<size_t>(i) % std::size(kWords)], pad));
    }
    add("contentBlockStop", R"({"contentBlockIndex":0,"p":"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQR"})");
    add("messageStop", R"({"p":"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNO","stopReason":"end_turn"})");
    add("metadata",
        R"({"metrics":{"latencyMs":2150},"p":"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQR",)"
        R"("usage":{"inputTokens":412,"outputTokens":400,"totalTokens":812}})");
    return out;
  }();
  return s;
}

std::vector<std::string_view> split(std::string_view s, size_t piece) {
  std::vector<std::string_view> out;
  for (size_t i = 0; i < s.size(); i += piece) out.push_back(s.substr(i, piece));
  return out;
}

void bm_event_stream(benchmark::State& state, size_t piece) {
  const Streams& s = streams();
  const std::vector<std::string_view> reads = split(s.event_stream, piece);
  transport::EventStreamDecoder decoder;
  int events = 0;
  size_t payload_bytes = 0;
  for (auto _ : state) {
    decoder.reset();
    events = 0;
    for (std::string_view r : reads) {
      decoder.feed(r, [&](const transport::EventStreamMessage& m) {
        ++events;
        payload_bytes += m.payload.size() + m.string_header(":event-type").size();
      });
    }
    benchmark::DoNotOptimize(payload_bytes);
  }
  if (events != s.events || decoder.failed()) {
    state.SkipWithError("the decoder did not see every event");
    return;
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(s.event_stream.size()));
}

void bm_sse_equivalent(benchmark::State& state, size_t piece) {
  const Streams& s = streams();
  const std::vector<std::string_view> reads = split(s.sse, piece);
  transport::SseParser parser;
  int events = 0;
  size_t payload_bytes = 0;
  for (auto _ : state) {
    parser.reset();
    events = 0;
    for (std::string_view r : reads) {
      parser.feed(r, [&](const transport::SseEvent& ev) {
        ++events;
        payload_bytes += ev.data.size() + ev.event.size();
        return true;
      });
    }
    benchmark::DoNotOptimize(payload_bytes);
  }
  if (events != s.events) {
    state.SkipWithError("the parser did not see every event");
    return;
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(s.sse.size()));
}

// The floor of any event-stream decoder: zlib's crc32 over every byte (both
// CRCs together cover each byte once).
void bm_crc32_floor(benchmark::State& state) {
  const Streams& s = streams();
  for (auto _ : state) {
    uLong crc = crc32(0, reinterpret_cast<const Bytef*>(s.event_stream.data()), static_cast<uInt>(s.event_stream.size()));
    benchmark::DoNotOptimize(crc);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(s.event_stream.size()));
}

// A 2 KB Converse body.
const std::string& converse_body() {
  static const std::string body = [] {
    std::string b = R"({"messages":[{"role":"user","content":[{"text":")";
    while (b.size() < 2000) b += "Please summarise the attached ticket history and suggest the next step. ";
    b.resize(2000);
    b += R"("}]}],"inferenceConfig":{"maxTokens":512,"temperature":0.2}})";
    return b;
  }();
  return body;
}

void bm_sigv4_sign(benchmark::State& state) {
  const std::string& body = converse_body();
  const std::pair<std::string_view, std::string_view> headers[] = {{"Content-Type", "application/json"},
                                                                   {"User-Agent", "llmux"}};
  provider::SigV4Request req;
  req.url = "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse";
  req.headers = headers;
  req.body = body;
  req.region = "us-east-1";
  req.service = "bedrock";
  req.time = absl::FromUnixSeconds(1440938160);
  const provider::SigV4Credentials creds{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                         "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBu"};
  for (auto _ : state) {
    auto sig = provider::sign_sigv4(req, creds);
    if (!sig.ok()) {
      state.SkipWithError("signing failed");
      return;
    }
    benchmark::DoNotOptimize(sig->signature.data());
  }
}

void bm_sha256_body(benchmark::State& state) {
  const std::string& body = converse_body();
  for (auto _ : state) {
    std::string h = provider::sha256_hex(body);
    benchmark::DoNotOptimize(h.data());
  }
}

}  // namespace

void register_aws_benchmarks(std::vector<Comparison>& out) {
  const std::string size = std::to_string(streams().event_stream.size() / 1024);
  for (size_t piece : {size_t{16384}, size_t{61}}) {
    const std::string reads = std::to_string(piece);
    const std::string name = "aws-event-stream/" + reads;
    const std::string base = "aws-event-stream/sse-equivalent-" + reads;
    benchmark::RegisterBenchmark(name.c_str(), [piece](benchmark::State& st) { bm_event_stream(st, piece); });
    benchmark::RegisterBenchmark(base.c_str(), [piece](benchmark::State& st) { bm_sse_equivalent(st, piece); });
    out.push_back(Comparison{"EventStreamDecoder, " + size + " KiB Bedrock ConverseStream (" +
                                 std::to_string(streams().events) + " frames), reads: " + reads + " B",
                             name, 0, base, "SseParser on the same events framed as SSE", true});
  }
  benchmark::RegisterBenchmark("aws-event-stream/crc32-floor", bm_crc32_floor);
  benchmark::RegisterBenchmark("sigv4/sign-2k", bm_sigv4_sign);
  benchmark::RegisterBenchmark("sigv4/baseline-sha256-body-2k", bm_sha256_body);
  out.push_back(Comparison{"SigV4 signature of one Bedrock request (2 KB body, session token)", "sigv4/sign-2k", 0,
                           "sigv4/baseline-sha256-body-2k", "SHA-256 of the body alone", false});
}

}  // namespace llmux::bench
