// Chaos (issue 3 §8): thousands of concurrent calls — completion_async,
// stream(), "stream": true completions and blocking completion() — against a
// group of four deployments that fail at random (500 / 429 with Retry-After /
// 503, hangs beyond the first-token timeout, connection resets, closes after
// the headers, truncated and non-JSON bodies, slow streams, streams cut,
// stalled, carrying malformed or error events, or ending without [DONE]),
// with a calmer fallback group behind it.
//
// Checked for every call: its done callback runs exactly once and no chunk
// follows it; a success carries exactly the text the fake provider meant to
// send for that call (and a finish_reason), from the deployment that received
// the call's last request, which was answered with a fault that can succeed
// (a stream continued elsewhere after a cut must still carry the whole text);
// content followed by a failure ends in a kMidStream error, never a success,
// and text reaches the consumer only as a prefix of the intended text; every
// error is typed; metadata.attempts accounts for every request the providers
// received. The router is destroyed cleanly after the calls, and also with
// calls in flight.
//
// The answer to each request is a pure function of (seed, call index, number
// of earlier requests of that call), so a seed replays the same fault script
// (not the same thread interleaving). LLMUX_CHAOS_SEED overrides the seed and
// LLMUX_CHAOS_CALLS the number of calls per scenario.
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <absl/container/flat_hash_set.h>
#include <fmt/format.h>
#include <simdjson.h>

#include "integration/test_util.hpp"
#include "llmux/clock.hpp"

using namespace llmux;
using namespace llmux::testing;

namespace {

using Clock = std::chrono::steady_clock;

constexpr uint64_t kDefaultSeed = 0x5eed'c4a0'5001ull;
constexpr int kDefaultCalls = 2000;
constexpr int kPrimaryFakes = 4;  // group "chaos"
constexpr int kBackupFakes = 2;   // group "backup", the fallback
constexpr int kFakes = kPrimaryFakes + kBackupFakes;
constexpr std::string_view kMarker = "chaos-call-";
constexpr std::string_view kApiKey = "sk-test-secret-key";  // what deployment_yaml configures

uint64_t env_u64(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  char* end = nullptr;
  const unsigned long long parsed = std::strtoull(v, &end, 0);
  return (end != nullptr && *end == '\0') ? parsed : fallback;
}

uint64_t chaos_seed() { return env_u64("LLMUX_CHAOS_SEED", kDefaultSeed); }
int chaos_calls() {
  return static_cast<int>(std::clamp<uint64_t>(env_u64("LLMUX_CHAOS_CALLS", kDefaultCalls), 50, 20000));
}

uint64_t splitmix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
// A Random for one decision, independent of every other one.
Random rng_for(uint64_t seed, uint64_t a, uint64_t b, uint64_t c = 0) {
  return Random(splitmix(splitmix(splitmix(seed ^ 0xc4a05) + a) + b) + c);
}

std::string deployment_id(int fake) {
  return fake < kPrimaryFakes ? fmt::format("d{}", fake) : fmt::format("f{}", fake - kPrimaryFakes);
}

// ---------------------------------------------------------------------------
// The fault script.

enum class Fault : int {
  kOk,
  kSlowOk,             // the head comes late, but within the first-token timeout
  kStatus500,
  kRateLimited,        // 429 + Retry-After: 1
  kStatus503,
  kHang,               // never answers: the first-token timeout fires
  kReset,              // RST before any response byte
  kCloseAfterHeaders,  // 200 head, then the connection closes
  kCutBody,            // non-stream: Content-Length announced, part of the body sent, closed
  kGarbledBody,        // non-stream: 200 with a body that is not JSON
  kSlowStream,         // a pause before every event, each shorter than the idle timeout
  kCutStream,          // closed after N events (before or after the first content)
  kStallStream,        // silent after N events: the idle timeout fires
  kMalformedEvent,     // one "data: {not json" event somewhere
  kNoDone,             // ends cleanly without [DONE]
  kErrorEvent,         // an error event after N events, then [DONE]
  kCount,
};
constexpr int kFaultCount = static_cast<int>(Fault::kCount);
constexpr std::array<std::string_view, kFaultCount> kFaultNames = {
    "ok",         "slow-ok",    "500",          "429",          "503",             "hang",    "reset",
    "close-after-headers",      "cut-body",     "garbled-body", "slow-stream",     "cut-stream",
    "stall-stream",             "malformed-event",              "no-done",         "error-event"};

std::string_view fault_name(Fault f) { return kFaultNames[static_cast<size_t>(f)]; }

// Faults after which the attempt may still succeed (with the full text).
bool can_succeed(Fault f) {
  return f == Fault::kOk || f == Fault::kSlowOk || f == Fault::kSlowStream || f == Fault::kMalformedEvent ||
         f == Fault::kNoDone;
}

struct Weighted {
  Fault fault;
  int weight;
};
// The primary group fails about half of its attempts; the fallback group a fifth.
constexpr std::array<Weighted, 14> kStreamMix = {{{Fault::kOk, 26},
                                                  {Fault::kSlowOk, 4},
                                                  {Fault::kStatus500, 5},
                                                  {Fault::kRateLimited, 3},
                                                  {Fault::kStatus503, 4},
                                                  {Fault::kHang, 3},
                                                  {Fault::kReset, 5},
                                                  {Fault::kCloseAfterHeaders, 3},
                                                  {Fault::kSlowStream, 9},
                                                  {Fault::kCutStream, 10},
                                                  {Fault::kStallStream, 4},
                                                  {Fault::kMalformedEvent, 8},
                                                  {Fault::kNoDone, 8},
                                                  {Fault::kErrorEvent, 8}}};
constexpr std::array<Weighted, 10> kCompletionMix = {{{Fault::kOk, 40},
                                                      {Fault::kSlowOk, 8},
                                                      {Fault::kStatus500, 9},
                                                      {Fault::kRateLimited, 5},
                                                      {Fault::kStatus503, 8},
                                                      {Fault::kHang, 4},
                                                      {Fault::kReset, 8},
                                                      {Fault::kCloseAfterHeaders, 4},
                                                      {Fault::kCutBody, 9},
                                                      {Fault::kGarbledBody, 5}}};

template <size_t N>
Fault pick(const std::array<Weighted, N>& mix, Random& rng) {
  int total = 0;
  for (const auto& w : mix) total += w.weight;
  int r = static_cast<int>(rng.below(static_cast<uint64_t>(total)));
  for (const auto& w : mix) {
    if (r < w.weight) return w.fault;
    r -= w.weight;
  }
  return Fault::kOk;
}

// The text every response for call `i` carries: numbered words with an end
// marker, so any truncation or duplication is visible.
std::string full_text(int call) {
  const int words = 4 + static_cast<int>(splitmix(static_cast<uint64_t>(call)) % 13);
  std::string s = fmt::format("c{}:", call);
  for (int w = 1; w <= words; ++w) fmt::format_to(std::back_inserter(s), " w{}", w);
  fmt::format_to(std::back_inserter(s), " end-{}.", call);
  return s;
}

// How many content events the fake generates for a stream: it splits the
// text into `stream_chunks` non-empty pieces, fewer when the text is shorter
// (a continuation's remainder may even be empty). The texts are ASCII.
int content_pieces(const Behavior& b) {
  return std::min(b.stream_chunks, static_cast<int>(b.text.size()));
}

struct Arrival {
  int fake = -1;
  Fault fault = Fault::kOk;
  bool stream = false;
  bool reused_connection = false;  // the connection had carried an earlier request
  bool breaks_after_content = false;  // a stream cut, stalled or failed after its first content event
  bool prefill = false;               // a continuation: the request ended with an assistant prefill
  // The answer can serve a success: a fault that can succeed, or a stream
  // broken only after its finish chunk (all content and the finish_reason sent).
  bool may_succeed = false;
};

// libcurl re-sends a request on a fresh connection, by itself, when a reused
// connection dies before any response byte — so a reset on a reused
// connection may be followed by a second request of the same attempt to the
// same deployment. Counts the requests that may be such re-sends.
int possible_resends(const std::vector<Arrival>& arrivals) {
  int n = 0;
  for (size_t k = 0; k + 1 < arrivals.size(); ++k) {
    n += arrivals[k].fault == Fault::kReset && arrivals[k].reused_connection &&
         arrivals[k + 1].fake == arrivals[k].fake;
  }
  return n;
}

// Decides every request of every fake (they share it; each fake thread calls
// answer()), and remembers what each call was answered.
class ChaosScript {
 public:
  ChaosScript(uint64_t seed, int calls) : seed_(seed), per_call_(static_cast<size_t>(calls)) {}

  Behavior answer(int fake, const ReceivedRequest& req) {
    const size_t at = req.body.find(kMarker);
    int call = -1;
    if (at != std::string::npos) call = std::atoi(req.body.c_str() + at + kMarker.size());
    thread_local simdjson::dom::parser parser;
    bool stream = false;
    std::string prefill;  // a continuation's assistant prefill, if any
    simdjson::dom::element doc;
    if (parser.parse(req.body).get(doc) == simdjson::SUCCESS) {
      bool flag = false;
      if (doc["stream"].get_bool().get(flag) == simdjson::SUCCESS) stream = flag;
      simdjson::dom::array messages;
      if (doc["messages"].get_array().get(messages) == simdjson::SUCCESS && messages.size() > 1) {
        simdjson::dom::element last = messages.at(messages.size() - 1).value_unsafe();
        std::string_view role, content;
        if (last["role"].get_string().get(role) == simdjson::SUCCESS && role == "assistant" &&
            last["content"].get_string().get(content) == simdjson::SUCCESS) {
          prefill = std::string(content);
        }
      }
    }
    if (call < 0 || call >= static_cast<int>(per_call_.size())) {
      std::lock_guard lock(mu_);
      ++unmatched_;
      return Behavior::error(400, "chaos: request without a call marker", "invalid_request_error");
    }
    std::string text = full_text(call);
    // A continuation (assistant prefill of what was already sent) gets the rest.
    if (!prefill.empty() && text.rfind(prefill, 0) == 0) text = text.substr(prefill.size());
    std::lock_guard lock(mu_);
    auto& arrivals = per_call_[static_cast<size_t>(call)];
    Random rng = rng_for(seed_, static_cast<uint64_t>(call), arrivals.size());
    Fault fault = Fault::kOk;
    // The fallback group answers most requests well, the rest like the primary.
    if (fake >= kPrimaryFakes && rng.below(100) < 80) {
      if (rng.below(4) == 0) fault = stream ? Fault::kSlowStream : Fault::kSlowOk;
    } else {
      fault = stream ? pick(kStreamMix, rng) : pick(kCompletionMix, rng);
    }
    Behavior b = behavior_for(fault, stream, std::move(text), rng);
    Arrival a{fake, fault, stream};
    a.prefill = !prefill.empty();
    a.reused_connection = !seen_connections_[static_cast<size_t>(fake)].insert(req.connection_id).second;
    // Events sent before a cut, stall or error event (only one is set): with
    // role first, the failure follows content from 2 on, and the finish chunk
    // from pieces + 2 on.
    const int fault_at = std::max({b.cut_after_events, b.stall_after_events, b.error_after_events});
    const int pieces = content_pieces(b);
    a.breaks_after_content = stream && pieces > 0 && fault_at >= 2;
    a.may_succeed = can_succeed(fault) || (stream && fault_at >= pieces + 2);
    arrivals.push_back(a);
    ++fault_counts_[static_cast<size_t>(fault)];
    return b;
  }

  std::vector<Arrival> arrivals(int call) const {
    std::lock_guard lock(mu_);
    return per_call_[static_cast<size_t>(call)];
  }
  std::array<int64_t, kFaultCount> fault_counts() const {
    std::lock_guard lock(mu_);
    return fault_counts_;
  }
  int64_t unmatched() const {
    std::lock_guard lock(mu_);
    return unmatched_;
  }

 private:
  static Behavior behavior_for(Fault fault, bool stream, std::string text, Random& rng) {
    const int parts = 2 + static_cast<int>(rng.below(6));
    Behavior b = stream ? Behavior::streaming(std::move(text), parts) : Behavior::ok(std::move(text));
    // Generated events: role, the content pieces, finish, usage (the router
    // always asks for it), [DONE]. N in [0, events] puts a fault anywhere
    // before [DONE].
    const int pieces = content_pieces(b);
    const int events = pieces + 3;
    switch (fault) {
      case Fault::kOk: break;
      case Fault::kSlowOk: b.delay = Millis(100 + rng.below(200)); break;
      case Fault::kStatus500: return Behavior::error(500, "chaos: internal error", "server_error");
      case Fault::kRateLimited: return Behavior::rate_limited(1);
      case Fault::kStatus503: return Behavior::error(503, "chaos: overloaded", "server_error");
      case Fault::kHang: return Behavior::hang();
      case Fault::kReset: {
        Behavior r = Behavior::reset();
        r.delay = Millis(rng.below(40));
        return r;
      }
      case Fault::kCloseAfterHeaders: b.action = Behavior::Action::kCloseAfterHeaders; break;
      // Every generated chat.completion is longer than 150 bytes: always a real cut.
      case Fault::kCutBody: b.cut_body_after_bytes = static_cast<int>(rng.below(150)); break;
      case Fault::kGarbledBody: b.body = R"({"id":"chatcmpl-garbled","choices":[{"message":{"content":"c0: w1)"; break;
      case Fault::kSlowStream: b.event_interval = Millis(5 + rng.below(40)); break;
      case Fault::kCutStream:
        b.cut_after_events = static_cast<int>(rng.below(static_cast<uint64_t>(events) + 1));
        break;
      case Fault::kStallStream:
        b.stall_after_events = static_cast<int>(rng.below(static_cast<uint64_t>(events) + 1));
        break;
      case Fault::kMalformedEvent:
        b.malformed_after_events = static_cast<int>(rng.below(static_cast<uint64_t>(events) + 1));
        break;
      case Fault::kNoDone: b.send_done = false; break;
      case Fault::kErrorEvent: {
        b.error_after_events = static_cast<int>(rng.below(static_cast<uint64_t>(pieces) + 3));
        constexpr std::array<int, 3> kCodes = {500, 503, 429};
        b.error_event_code = kCodes[rng.below(kCodes.size())];
        break;
      }
      case Fault::kCount: break;
    }
    return b;
  }

  const uint64_t seed_;
  // std::mutex, not absl: ThreadSanitizer sees it (DEVELOPERS.md).
  mutable std::mutex mu_;
  // Guarded by mu_:
  std::vector<std::vector<Arrival>> per_call_;
  std::array<int64_t, kFaultCount> fault_counts_{};
  int64_t unmatched_ = 0;
  std::array<absl::flat_hash_set<uint64_t>, kFakes> seen_connections_;
};

// ---------------------------------------------------------------------------
// What each call did.

enum class Mode { kCompletion, kStream, kStreamCompletion, kBlocking };
constexpr std::array<std::string_view, 4> kModeNames = {"completion_async", "stream", "completion_async+stream",
                                                        "completion"};

enum class CancelHow { kNone, kExternal, kFromChunk, kConsumerStop };

struct CallRecord {
  Mode mode = Mode::kCompletion;
  CancelHow cancel = CancelHow::kNone;
  int cancel_delay_ms = 0;
  std::atomic<uint64_t> id{0};  // what the API returned

  std::mutex mu;
  // Guarded by mu:
  int done_calls = 0;
  int chunks = 0;
  int role_chunks = 0;
  int chunks_after_done = 0;
  int chunks_after_stop = 0;
  int bad_chunks = 0;
  bool consumer_stopped = false;
  bool cancel_returned_false_before_done = false;
  std::optional<bool> cancel_result;
  std::string text;
  std::optional<Result<Response>> result;
};

// The pieces of a chat.completion.chunk the checks need.
struct ChunkFacts {
  bool valid = false;
  bool role = false;
  std::string content;
};

ChunkFacts read_chunk(std::string_view chunk) {
  thread_local simdjson::dom::parser parser;
  ChunkFacts f;
  simdjson::dom::element doc;
  if (parser.parse(chunk.data(), chunk.size()).get(doc) != simdjson::SUCCESS) return f;
  std::string_view object;
  simdjson::dom::array choices;
  if (doc["object"].get_string().get(object) != simdjson::SUCCESS || object != "chat.completion.chunk" ||
      doc["choices"].get_array().get(choices) != simdjson::SUCCESS) {
    return f;
  }
  f.valid = true;
  for (simdjson::dom::element choice : choices) {
    std::string_view s;
    if (choice["delta"]["role"].get_string().get(s) == simdjson::SUCCESS) f.role = true;
    if (choice["delta"]["content"].get_string().get(s) == simdjson::SUCCESS) f.content = std::string(s);
    break;
  }
  return f;
}

std::string message_content(const std::string& body) {
  simdjson::dom::parser parser;
  std::string_view content;
  simdjson::dom::element doc;
  if (parser.parse(body).get(doc) != simdjson::SUCCESS) return "<not json>";
  if (doc.at_pointer("/choices/0/message/content").get_string().get(content) != simdjson::SUCCESS) {
    return "<no content>";
  }
  return std::string(content);
}

bool mentions_timeout(const std::string& message) {
  return message.find("imeout") != std::string::npos || message.find("timed out") != std::string::npos;
}

// ---------------------------------------------------------------------------
// One scenario's world: the fakes, the script, the router, the calls.

struct Tally {
  std::array<int, 4> ok_by_mode{};
  std::array<int, 20> errors_by_kind{};
  int64_t attempts = 0;
  int64_t arrivals = 0;
  int64_t possible_resends = 0;
  int64_t prefill_requests = 0;
  int fallback_successes = 0;
  int broken_after_content = 0;  // stream() calls that met a failure after content reached them
  int ok_then_timeout = 0;  // last request answered well, but the call timed out (load)
};

class Chaos {
 public:
  Chaos(uint64_t seed, int calls) : seed_(seed), calls_(calls), script_(seed, calls) {
    for (int f = 0; f < kFakes; ++f) {
      fakes_.push_back(std::make_unique<FakeProvider>());
      fakes_.back()->set_handler([this, f](const ReceivedRequest& r) { return script_.answer(f, r); });
    }
    for (int i = 0; i < calls; ++i) records_.push_back(std::make_unique<CallRecord>());
  }

  // Short deadlines keep the test fast (a hang costs 2 s, a stall 1 s), yet
  // leave room for a loaded CI machine running the sanitizer build.
  std::string config() const {
    std::string cfg = "model_list:\n";
    for (int f = 0; f < kFakes; ++f) {
      // One deployment per group continues a broken stream from an assistant
      // prefill; the others restart it (the script serves both correctly).
      const bool prefill = f == 1 || f == kPrimaryFakes;
      cfg += deployment_yaml(f < kPrimaryFakes ? "chaos" : "backup", "m", *fakes_[static_cast<size_t>(f)],
                             prefill ? "      supports_assistant_prefill: true\n" : "", deployment_id(f));
    }
    cfg +=
        "router_settings:\n"
        "  num_retries: 2\n"
        "  timeout: 3\n"
        "  stream_timeout: 3\n"
        "  first_token_timeout: 2\n"
        "  stream_idle_timeout: 1\n"
        "  connect_timeout: 5\n"
        "  cooldown_time: 0.5\n"
        "  fallbacks:\n"
        "    - chaos: [backup]\n";
    return cfg;
  }

  void make_router() { router_ = llmux::testing::make_router(config(), seed_ | 1); }
  void destroy_router() { router_.reset(); }
  CallRecord& record(int i) { return *records_[static_cast<size_t>(i)]; }
  int calls() const { return calls_; }
  const ChaosScript& script() const { return script_; }
  size_t requests_received() const {
    size_t n = 0;
    for (const auto& f : fakes_) n += f->request_count();
    return n;
  }

  std::string request(int i, Mode mode) const {
    Random rng = rng_for(seed_, static_cast<uint64_t>(i), 0, 0xca11);
    std::string extra;
    if (mode == Mode::kStream || mode == Mode::kStreamCompletion) extra += R"("stream":true,)";
    // A quarter of the calls carry their own deadlines (README "Timeouts").
    if (rng.below(4) == 0) {
      extra += R"("timeout":2.5,"stream_timeout":2.5,"first_token_timeout":1.5,"stream_idle_timeout":0.8,)";
    }
    if (rng.below(8) == 0) extra += R"("num_retries":1,)";
    return fmt::format(R"({{"model":"chaos",{}"messages":[{{"role":"user","content":"{}{} say the words"}}]}})", extra,
                       kMarker, i);
  }

  // Starts call `i` (not for kBlocking).
  void submit(int i) {
    CallRecord& rec = record(i);
    const std::string req = request(i, rec.mode);
    auto on_done = [&rec, this](Result<Response> r) {
      bool first = false;
      {
        std::lock_guard lock(rec.mu);
        first = ++rec.done_calls == 1;
        if (first) rec.result.emplace(std::move(r));
      }
      // Counts calls that ended (a second callback is caught by check_call).
      if (first) done_.fetch_add(1, std::memory_order_release);
    };
    uint64_t id = 0;
    if (rec.mode == Mode::kStream) {
      auto on_chunk = [&rec, this](std::string_view chunk) {
        const ChunkFacts facts = read_chunk(chunk);
        bool keep_going = true;
        bool cancel_now = false;
        {
          std::lock_guard lock(rec.mu);
          if (rec.done_calls > 0) ++rec.chunks_after_done;
          if (rec.consumer_stopped) ++rec.chunks_after_stop;
          ++rec.chunks;
          if (!facts.valid) ++rec.bad_chunks;
          if (facts.role) ++rec.role_chunks;
          rec.text += facts.content;
          if (!facts.content.empty()) {
            if (rec.cancel == CancelHow::kConsumerStop && rec.text.size() > 8) {
              rec.consumer_stopped = true;
              keep_going = false;
            }
            if (rec.cancel == CancelHow::kFromChunk && !rec.cancel_result) cancel_now = true;
          }
        }
        if (cancel_now) {
          // From the I/O thread, inside this call's own chunk callback.
          const uint64_t id = rec.id.load(std::memory_order_acquire);
          if (id != 0) {
            const bool accepted = router_->cancel(id);
            std::lock_guard lock(rec.mu);
            rec.cancel_result = accepted;
          }
        }
        return keep_going;
      };
      id = router_->stream(req, std::move(on_chunk), std::move(on_done));
    } else {
      id = router_->completion_async(req, std::move(on_done));
    }
    rec.id.store(id, std::memory_order_release);
  }

  void run_blocking(int i) {
    CallRecord& rec = record(i);
    rec.id.store(0);
    auto r = router_->completion(request(i, Mode::kBlocking));
    const uint64_t id = r.ok() ? r->metadata.call_id : r.error().metadata.call_id;
    rec.id.store(id, std::memory_order_release);
    {
      std::lock_guard lock(rec.mu);
      ++rec.done_calls;
      rec.result.emplace(std::move(r));
    }
    done_.fetch_add(1, std::memory_order_release);
  }

  // Cancels call `i` from the calling thread and notes what cancel() said.
  void cancel(int i) {
    CallRecord& rec = record(i);
    const uint64_t id = rec.id.load(std::memory_order_acquire);
    if (id == 0) return;
    const bool accepted = router_->cancel(id);
    std::lock_guard lock(rec.mu);
    rec.cancel_result = accepted;
    // false = the call had finished, so its done callback has run already.
    if (!accepted && rec.done_calls == 0) rec.cancel_returned_false_before_done = true;
  }

  int done() const { return done_.load(std::memory_order_acquire); }

  bool wait_all(std::chrono::seconds limit) {
    const auto deadline = Clock::now() + limit;
    while (done() < calls_ && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return done() >= calls_;
  }

  // Checks call `i`; appends what is wrong to `violations`.
  void check_call(int i, bool router_destroyed_midway, Tally& tally, std::vector<std::string>& violations) {
    CallRecord& rec = record(i);
    std::lock_guard lock(rec.mu);
    const std::vector<Arrival> arrivals = script_.arrivals(i);
    const std::string full = full_text(i);
    std::string trail;
    for (const Arrival& a : arrivals) {
      trail += fmt::format("{}{}:{}", trail.empty() ? "" : " ", deployment_id(a.fake), fault_name(a.fault));
    }
    auto bad = [&](std::string what) {
      violations.push_back(fmt::format("call {} ({}{}), requests [{}]: {}", i,
                                       kModeNames[static_cast<size_t>(rec.mode)],
                                       rec.cancel == CancelHow::kNone ? "" : ", cancel chosen", trail, what));
    };

    if (rec.done_calls != 1) {
      bad(fmt::format("done callback ran {} times", rec.done_calls));
      if (rec.done_calls == 0) return;
    }
    if (rec.chunks_after_done > 0) bad(fmt::format("{} chunks after the done callback", rec.chunks_after_done));
    if (rec.chunks_after_stop > 0) {
      bad(fmt::format("{} chunks after the consumer returned false", rec.chunks_after_stop));
    }
    if (rec.bad_chunks > 0) bad(fmt::format("{} chunks that are not chat.completion.chunk JSON", rec.bad_chunks));
    if (rec.role_chunks > 1) bad(fmt::format("{} role chunks (a failed attempt's chunks leaked)", rec.role_chunks));
    if (full.rfind(rec.text, 0) != 0) bad(fmt::format("delivered text '{}' is not a prefix of '{}'", rec.text, full));
    if (rec.cancel_returned_false_before_done) bad("cancel() returned false before the done callback ran");

    const Result<Response>& r = *rec.result;
    const RouterMetadata& m = r.ok() ? r->metadata : r.error().metadata;
    tally.attempts += m.attempts;
    tally.arrivals += static_cast<int64_t>(arrivals.size());
    const int resends = possible_resends(arrivals);
    tally.possible_resends += resends;
    for (const Arrival& a : arrivals) tally.prefill_requests += a.prefill;
    if (rec.mode == Mode::kStream && rec.chunks > 0 &&
        std::any_of(arrivals.begin(), arrivals.end(), [](const Arrival& a) { return a.breaks_after_content; })) {
      tally.broken_after_content++;
    }
    if (rec.id.load() != 0 && m.call_id != rec.id.load()) {
      bad(fmt::format("metadata.call_id {} but the API returned {}", m.call_id, rec.id.load()));
    }
    // Every request a provider received was one of the call's attempts (or
    // libcurl's own re-send of one).
    if (static_cast<int64_t>(arrivals.size()) > m.attempts + resends) {
      bad(fmt::format("providers received {} requests but metadata.attempts is {} (+{} possible libcurl re-sends)",
                      arrivals.size(), m.attempts, resends));
    }

    if (r.ok()) {
      const Response& resp = r.value();
      tally.ok_by_mode[static_cast<size_t>(rec.mode)]++;
      if (rec.consumer_stopped) bad("success although the consumer stopped the stream");
      if (arrivals.empty()) {
        bad("success without any request reaching a provider");
        return;
      }
      const Arrival& last = arrivals.back();
      if (!last.may_succeed) {
        bad(fmt::format("success although the serving request was answered with '{}'", fault_name(last.fault)));
      }
      if (m.deployment_id != deployment_id(last.fake)) {
        bad(fmt::format("served by '{}' but the last request went to '{}'", m.deployment_id, deployment_id(last.fake)));
      }
      const bool backup = last.fake >= kPrimaryFakes;
      if (backup) tally.fallback_successes++;
      if (m.model_group != (backup ? "backup" : "chaos") || (m.fallbacks > 0) != backup) {
        bad(fmt::format("model_group '{}' with {} fallbacks, served by {}", m.model_group, m.fallbacks,
                        deployment_id(last.fake)));
      }
      if (resp.finish_reason != "stop") bad(fmt::format("finish_reason '{}'", resp.finish_reason));
      if (last.fault == Fault::kMalformedEvent && m.malformed_events < 1) bad("the malformed event was not counted");
      switch (rec.mode) {
        case Mode::kStream:
          if (rec.text != full) bad(fmt::format("stream success with text '{}', expected '{}'", rec.text, full));
          if (rec.role_chunks != 1) bad(fmt::format("stream success with {} role chunks", rec.role_chunks));
          if (!resp.usage.reported) bad("stream success without usage");
          if (!resp.body.empty()) bad("stream success with a body");
          break;
        case Mode::kStreamCompletion:
          if (!resp.usage.reported) bad("stream success without usage");
          if (!resp.body.empty()) bad("stream success with a body");
          break;
        case Mode::kCompletion:
        case Mode::kBlocking: {
          const std::string content = message_content(resp.body);
          if (content != full) bad(fmt::format("completion content '{}', expected '{}'", content, full));
          if (resp.status != 200) bad(fmt::format("status {}", resp.status));
          break;
        }
      }
      return;
    }

    const Error& e = r.error();
    const auto kind_index = static_cast<size_t>(e.kind);
    if (kind_index < tally.errors_by_kind.size()) tally.errors_by_kind[kind_index]++;
    const std::string what = fmt::format("{} (status {}, provider status {}, {} attempts): {}", e.type_name(), e.status,
                                         e.provider_status, m.attempts, e.message);
    switch (e.kind) {
      case ErrorKind::kInternalServer:
        // Only a provider's own 500 (status or error event) may say so.
        if (e.provider_status != 500) bad("untyped internal error: " + what);
        break;
      case ErrorKind::kRateLimit:
      case ErrorKind::kServiceUnavailable:
      case ErrorKind::kTimeout:
      case ErrorKind::kConnectionError:
      case ErrorKind::kApiError:
      case ErrorKind::kNoDeploymentsAvailable:
        break;
      case ErrorKind::kMidStream:
        if (rec.mode == Mode::kStream && rec.chunks == 0) bad("mid-stream error without any chunk delivered: " + what);
        break;
      case ErrorKind::kCancelled:
        if (rec.cancel == CancelHow::kNone && !router_destroyed_midway) {
          bad("cancelled although nobody cancelled: " + what);
        }
        break;
      default:
        bad("unexpected error kind: " + what);
    }
    if (e.status <= 0) bad("error without a status: " + what);
    if (e.message.empty()) bad("error without a message");
    if (e.message.find(kApiKey) != std::string::npos) bad("error message leaks the API key");
    if (rec.consumer_stopped && e.kind != ErrorKind::kCancelled) {
      bad("the consumer stopped the stream but the call ended with " + what);
    }
    // Content reached the consumer and then the call failed: that must say mid-stream.
    if (rec.mode == Mode::kStream && rec.chunks > 0 && e.kind != ErrorKind::kMidStream &&
        e.kind != ErrorKind::kCancelled) {
      bad(fmt::format("{} chunks delivered, then a non-mid-stream error: {}", rec.chunks, what));
    }
    if (arrivals.empty() && e.kind != ErrorKind::kNoDeploymentsAvailable && e.kind != ErrorKind::kCancelled &&
        m.attempts > 0 && !mentions_timeout(e.message)) {
      bad("failed although no request reached a provider: " + what);
    }
    // The last request was answered in a way that can succeed: only a deadline
    // (the machine being slow under load) or a cancel may turn that into a failure.
    if (!arrivals.empty() && can_succeed(arrivals.back().fault) && e.kind != ErrorKind::kCancelled) {
      // A deadline that fired on an earlier attempt may be hidden behind the
      // error of the fallback that followed it: the attempt log keeps it.
      const bool an_attempt_timed_out = std::any_of(m.attempt_log.begin(), m.attempt_log.end(),
                                                    [](const AttemptRecord& a) { return mentions_timeout(a.error_type); });
      if (mentions_timeout(e.message) || an_attempt_timed_out) {
        tally.ok_then_timeout++;
      } else {
        std::string attempts;
        for (const AttemptRecord& a : m.attempt_log) {
          attempts += fmt::format(" {}:{}", a.deployment_id, a.error_type.empty() ? "ok" : a.error_type);
        }
        bad(fmt::format("the last request was answered with '{}' but the call failed: {} (attempts:{})",
                        fault_name(arrivals.back().fault), what, attempts));
      }
    }
  }

 private:
  const uint64_t seed_;
  const int calls_;
  ChaosScript script_;
  std::vector<std::unique_ptr<FakeProvider>> fakes_;
  std::vector<std::unique_ptr<CallRecord>> records_;
  std::unique_ptr<Router> router_;
  std::atomic<int> done_{0};
};

// Modes: ~40 % completion_async, ~45 % stream, ~15 % "stream": true completions;
// 40 blocking completion() calls from 8 threads run alongside.
constexpr int kBlockingThreads = 8;
constexpr int kBlockingPerThread = 5;

void assign_modes(Chaos& chaos, uint64_t seed) {
  for (int i = 0; i < chaos.calls(); ++i) {
    Random rng = rng_for(seed, static_cast<uint64_t>(i), 0, 0x30de);
    const uint64_t r = rng.below(100);
    chaos.record(i).mode = r < 40 ? Mode::kCompletion : (r < 85 ? Mode::kStream : Mode::kStreamCompletion);
  }
  for (int i = 0; i < kBlockingThreads * kBlockingPerThread; ++i) chaos.record(i).mode = Mode::kBlocking;
}

std::vector<std::thread> start_blocking(Chaos& chaos) {
  std::vector<std::thread> threads;
  for (int t = 0; t < kBlockingThreads; ++t) {
    threads.emplace_back([&chaos, t] {
      for (int k = 0; k < kBlockingPerThread; ++k) chaos.run_blocking(t * kBlockingPerThread + k);
    });
  }
  return threads;
}

void submit_async(Chaos& chaos) {
  for (int i = kBlockingThreads * kBlockingPerThread; i < chaos.calls(); ++i) chaos.submit(i);
}

std::string summarize(std::string_view scenario, uint64_t seed, Chaos& chaos, const Tally& t, double seconds) {
  std::string s = fmt::format("chaos[{}] seed={:#x} calls={} wall={:.2f}s ok:", scenario, seed, chaos.calls(), seconds);
  for (size_t m = 0; m < kModeNames.size(); ++m) {
    fmt::format_to(std::back_inserter(s), " {}={}", kModeNames[m], t.ok_by_mode[m]);
  }
  fmt::format_to(std::back_inserter(s), " (via fallback {}) errors:", t.fallback_successes);
  for (size_t k = 0; k < t.errors_by_kind.size(); ++k) {
    if (t.errors_by_kind[k] > 0) {
      fmt::format_to(std::back_inserter(s), " {}={}", error_kind_name(static_cast<ErrorKind>(k)), t.errors_by_kind[k]);
    }
  }
  fmt::format_to(std::back_inserter(s),
                 " | attempts={} requests={} possible-resends={} prefill-requests={} ok-then-timeout={} | faults:",
                 t.attempts, t.arrivals, t.possible_resends, t.prefill_requests, t.ok_then_timeout);
  const auto counts = chaos.script().fault_counts();
  for (size_t f = 0; f < counts.size(); ++f) fmt::format_to(std::back_inserter(s), " {}={}", kFaultNames[f], counts[f]);
  return s;
}

void report_violations(const std::vector<std::string>& violations) {
  std::string first;
  for (size_t v = 0; v < violations.size() && v < 25; ++v) first += violations[v] + "\n";
  INFO(violations.size() << " violations; the first ones:\n" << first);
  CHECK(violations.empty());
}

int errors_of(const Tally& t, ErrorKind k) { return t.errors_by_kind[static_cast<size_t>(k)]; }

}  // namespace

TEST_CASE("chaos: 2,000 concurrent calls against faulty deployments each end exactly once, never truncated",
          "[router][chaos]") {
  const uint64_t seed = chaos_seed();
  const int calls = chaos_calls();
  INFO("seed " << fmt::format("{:#x}", seed) << " (LLMUX_CHAOS_SEED), calls " << calls);
  Chaos chaos(seed, calls);
  assign_modes(chaos, seed);
  chaos.make_router();

  const auto t0 = Clock::now();
  std::vector<std::thread> blocking = start_blocking(chaos);
  submit_async(chaos);
  const bool all_done = chaos.wait_all(std::chrono::seconds(240));
  for (auto& t : blocking) t.join();
  const double seconds = seconds_between(t0, Clock::now());
  INFO(chaos.done() << " of " << calls << " calls finished");
  REQUIRE(all_done);

  Tally tally;
  std::vector<std::string> violations;
  for (int i = 0; i < calls; ++i) chaos.check_call(i, false, tally, violations);
  std::printf("%s\n", summarize("faults", seed, chaos, tally, seconds).c_str());
  report_violations(violations);

  // The router goes away cleanly and no callback runs again.
  chaos.destroy_router();
  std::vector<std::string> after;
  Tally ignored;
  for (int i = 0; i < calls; ++i) chaos.check_call(i, false, ignored, after);
  CHECK(after.size() == violations.size());

  // Every request a provider received carried a call marker, and the attempts
  // reported cover them all (an attempt may end before its request arrives).
  CHECK(chaos.script().unmatched() == 0);
  CHECK(static_cast<int64_t>(chaos.requests_received()) == tally.arrivals);
  CHECK(tally.attempts + tally.possible_resends >= tally.arrivals);
  CHECK(errors_of(tally, ErrorKind::kCancelled) == 0);

  // The run exercised what it claims to: every fault, every mode succeeding,
  // fallbacks, streams broken after content (a much smaller LLMUX_CHAOS_CALLS
  // may not reach them all).
  if (calls < kDefaultCalls / 2) return;
  const auto counts = chaos.script().fault_counts();
  for (size_t f = 0; f < counts.size(); ++f) {
    INFO("fault " << kFaultNames[f]);
    CHECK(counts[f] > 0);
  }
  for (size_t m = 0; m < kModeNames.size(); ++m) {
    INFO("mode " << kModeNames[m]);
    CHECK(tally.ok_by_mode[m] > 0);
  }
  CHECK(tally.fallback_successes > 0);
  // Streams broke after content had reached the consumer (how the router
  // answers that — a mid-stream error, or a continuation elsewhere — is up to
  // it; the per-call checks above hold either way).
  CHECK(tally.broken_after_content > 0);
}

TEST_CASE("chaos: a random 10 % of 2,000 concurrent calls cancelled mid-flight", "[router][chaos][cancel]") {
  const uint64_t seed = splitmix(chaos_seed());
  const int calls = chaos_calls();
  INFO("seed " << fmt::format("{:#x}", chaos_seed()) << " (LLMUX_CHAOS_SEED), calls " << calls);
  Chaos chaos(seed, calls);
  assign_modes(chaos, seed);
  // 10 % chosen: streams are stopped by their consumer, cancelled from inside
  // their own chunk callback, or cancelled from another thread; the others
  // from another thread, 0-500 ms after the submissions.
  std::vector<int> external;
  for (int i = 0; i < calls; ++i) {
    Random rng = rng_for(seed, static_cast<uint64_t>(i), 0, 0xcace1);
    if (rng.below(10) != 0) continue;
    CallRecord& rec = chaos.record(i);
    rec.cancel_delay_ms = static_cast<int>(rng.below(500));
    if (rec.mode == Mode::kStream) {
      const uint64_t how = rng.below(3);
      rec.cancel = how == 0 ? CancelHow::kConsumerStop : (how == 1 ? CancelHow::kFromChunk : CancelHow::kExternal);
    } else if (rec.mode != Mode::kBlocking) {
      rec.cancel = CancelHow::kExternal;
    }
    if (rec.cancel == CancelHow::kExternal) external.push_back(i);
  }
  std::sort(external.begin(), external.end(),
            [&](int a, int b) { return chaos.record(a).cancel_delay_ms < chaos.record(b).cancel_delay_ms; });
  chaos.make_router();

  const auto t0 = Clock::now();
  std::vector<std::thread> blocking = start_blocking(chaos);
  submit_async(chaos);
  std::thread canceller([&] {
    const auto from = Clock::now();
    for (int i : external) {
      std::this_thread::sleep_until(from + std::chrono::milliseconds(chaos.record(i).cancel_delay_ms));
      chaos.cancel(i);
    }
  });
  const bool all_done = chaos.wait_all(std::chrono::seconds(240));
  canceller.join();
  for (auto& t : blocking) t.join();
  const double seconds = seconds_between(t0, Clock::now());
  INFO(chaos.done() << " of " << calls << " calls finished");
  REQUIRE(all_done);

  Tally tally;
  std::vector<std::string> violations;
  int chosen = 0, accepted = 0, stopped = 0;
  for (int i = 0; i < calls; ++i) {
    chaos.check_call(i, false, tally, violations);
    CallRecord& rec = chaos.record(i);
    std::lock_guard lock(rec.mu);
    chosen += rec.cancel != CancelHow::kNone;
    accepted += rec.cancel_result.value_or(false);
    stopped += rec.consumer_stopped;
  }
  std::printf("%s | cancel chosen=%d accepted=%d consumer-stopped=%d\n",
              summarize("cancel", chaos_seed(), chaos, tally, seconds).c_str(), chosen, accepted, stopped);
  report_violations(violations);
  chaos.destroy_router();

  CHECK(chaos.script().unmatched() == 0);
  CHECK(static_cast<int64_t>(chaos.requests_received()) == tally.arrivals);
  CHECK(tally.attempts + tally.possible_resends >= tally.arrivals);
  if (calls < kDefaultCalls / 2) return;
  CHECK(chosen > calls / 20);
  CHECK(stopped > 0);
  CHECK(errors_of(tally, ErrorKind::kCancelled) > stopped);  // some cancel() calls landed mid-flight
}

TEST_CASE("chaos: destroying the router with faulty calls in flight ends each exactly once",
          "[router][chaos][shutdown]") {
  const uint64_t seed = splitmix(splitmix(chaos_seed()));
  const int calls = std::max(50, chaos_calls() / 4);
  INFO("seed " << fmt::format("{:#x}", chaos_seed()) << " (LLMUX_CHAOS_SEED), calls " << calls);
  Chaos chaos(seed, calls);
  assign_modes(chaos, seed);
  for (int i = 0; i < kBlockingThreads * kBlockingPerThread; ++i) chaos.record(i).mode = Mode::kCompletion;
  chaos.make_router();
  const auto t0 = Clock::now();
  for (int i = 0; i < calls; ++i) chaos.submit(i);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const int done_before = chaos.done();
  chaos.destroy_router();
  // The destructor returns only after every call's done callback ran.
  CHECK(chaos.done() == calls);

  Tally tally;
  std::vector<std::string> violations;
  for (int i = 0; i < calls; ++i) chaos.check_call(i, true, tally, violations);
  const double seconds = seconds_between(t0, Clock::now());
  std::printf("%s | done before destruction=%d\n", summarize("shutdown", chaos_seed(), chaos, tally, seconds).c_str(),
              done_before);
  report_violations(violations);
  CHECK(done_before < calls);  // calls were in flight when the router went away
  CHECK(errors_of(tally, ErrorKind::kCancelled) > 0);
  CHECK(chaos.script().unmatched() == 0);
  CHECK(tally.attempts + tally.possible_resends >= tally.arrivals);
}
