// Scale on one I/O thread (issue 14 target 4): thousands of concurrent slow
// SSE streams through one Router, from a loopback server that can hold them.
//
//   llmux_scale_bench [--streams=10000] [--chunks=10] [--min-gap-ms=100] [--max-gap-ms=500]
//                     [--ramp-ms=1000] [--json=FILE]
//   llmux_scale_bench --child=server     (internal: the slow-SSE server, prints its port)
//
// Method.
//  * The server is this binary re-executed with --child=server: one thread,
//    epoll, non-blocking sockets, HTTP/1.1 keep-alive with chunked encoding.
//    For each POST it answers 200 text/event-stream and sends --chunks
//    chat.completion.chunk events, each --min-gap-ms..--max-gap-ms after the
//    previous one (a per-stream pseudo-random gap), then a finish_reason
//    chunk and [DONE]. Every content chunk carries "<seq>:<send stamp>" (the
//    server's CLOCK_MONOTONIC in ns, the same clock as the client's
//    steady_clock on this host) as its delta content.
//  * The client is one Router with one deployment on that server. It starts
//    --streams calls with Router::stream spread over --ramp-ms, all in flight
//    together, and checks on the I/O thread that every stream's chunks arrive
//    in order (seq 0, 1, 2, ...), that each call's done callback runs exactly
//    once, successfully, after all its chunks.
//  * Chunk delivery delay = client receive stamp (in the chunk callback) −
//    server send stamp: percentiles over every chunk of every stream.
//  * The I/O loop's CPU: utime+stime of the thread named llmux-io from
//    /proc/self/task/*/stat (clock ticks) over the whole run, also per chunk.
//  * RSS: VmRSS before the Router exists, after it served one warm-up stream,
//    and while every stream is in flight (sampled every 50 ms; the sample
//    with the most calls in flight); per 1,000 in-flight calls =
//    (in-flight RSS − warm RSS) / (in flight / 1000).
//  * File descriptors: the soft RLIMIT_NOFILE is raised to the hard limit in
//    both processes (each stream holds one socket on each side).
#include <fmt/format.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <queue>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/bench_flags.hpp"
#include "llmux/router.hpp"

namespace llmux::bench {
namespace {

struct Options {
  int streams = 10000;
  int chunks = 10;
  int min_gap_ms = 100;
  int max_gap_ms = 500;
  int ramp_ms = 1000;
  std::string json_path;
  std::string child;
};

[[noreturn]] void die(const std::string& message) { die_in("scale_bench", message); }

int parse_int(std::string_view flag, std::string_view v) { return parse_flag_int("scale_bench", flag, v); }

Options parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    const auto [key, val] = split_flag(a);
    if (key == "--streams") o.streams = std::max(1, parse_int(key, val));
    else if (key == "--chunks") o.chunks = std::max(1, parse_int(key, val));
    else if (key == "--min-gap-ms") o.min_gap_ms = parse_int(key, val);
    else if (key == "--max-gap-ms") o.max_gap_ms = parse_int(key, val);
    else if (key == "--ramp-ms") o.ramp_ms = parse_int(key, val);
    else if (key == "--json") o.json_path = std::string(val);
    else if (key == "--child") o.child = std::string(val);
    else die(fmt::format("unknown argument '{}'", a));
  }
  o.max_gap_ms = std::max(o.max_gap_ms, o.min_gap_ms);
  return o;
}

int64_t mono_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

void raise_fd_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

long fd_limit() {
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  return static_cast<long>(rl.rlim_cur);
}

// --- the slow-SSE server (child process) -------------------------------------------

class SlowSseServer {
 public:
  explicit SlowSseServer(const Options& o) : o_(o) {}

  int run() {
    raise_fd_limit();
    signal(SIGPIPE, SIG_IGN);
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) die("server: bind failed");
    if (listen(listen_fd_, 65535) != 0) die("server: listen failed");
    socklen_t len = sizeof addr;
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = listen_fd_;
    epoll_ctl(ep_, EPOLL_CTL_ADD, listen_fd_, &ev);
    std::printf("port %d\n", ntohs(addr.sin_port));
    std::fflush(stdout);

    std::vector<epoll_event> events(1024);
    for (;;) {
      int timeout = -1;
      if (!timers_.empty()) {
        const int64_t wait = timers_.top().due - mono_ns();
        timeout = wait <= 0 ? 0 : static_cast<int>((wait + 999999) / 1000000);
      }
      const int n = epoll_wait(ep_, events.data(), static_cast<int>(events.size()), timeout);
      for (int i = 0; i < n; ++i) {
        const int fd = events[static_cast<size_t>(i)].data.fd;
        if (fd == listen_fd_) {
          accept_all();
          continue;
        }
        if (events[static_cast<size_t>(i)].events & EPOLLOUT) flush(fd);
        if (events[static_cast<size_t>(i)].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) read_from(fd);
      }
      const int64_t now = mono_ns();
      while (!timers_.empty() && timers_.top().due <= now) {
        const Timer t = timers_.top();
        timers_.pop();
        send_next(t.fd, t.generation);
      }
    }
  }

 private:
  struct Conn {
    bool open = false;
    uint32_t generation = 0;  // which request on this connection a timer belongs to
    std::string in;
    std::string out;  // unsent bytes
    bool streaming = false;
    int sent = 0;     // content chunks sent
    uint64_t rng = 0;
  };
  struct Timer {
    int64_t due;
    int fd;
    uint32_t generation;
    bool operator>(const Timer& o) const { return due > o.due; }
  };

  Conn& conn(int fd) {
    if (static_cast<size_t>(fd) >= conns_.size()) conns_.resize(static_cast<size_t>(fd) + 1024);
    return conns_[static_cast<size_t>(fd)];
  }

  void accept_all() {
    for (;;) {
      const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      Conn& c = conn(fd);
      c = Conn{};
      c.open = true;
      c.rng = 0x9e3779b97f4a7c15ULL ^ static_cast<uint64_t>(fd) * 0x100000001b3ULL;
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.fd = fd;
      epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev);
    }
  }

  void close_conn(int fd) {
    Conn& c = conn(fd);
    if (!c.open) return;
    epoll_ctl(ep_, EPOLL_CTL_DEL, fd, nullptr);
    close(fd);
    c = Conn{};
    c.generation = ++generation_seq_;  // timers of the old connection are stale
  }

  void read_from(int fd) {
    Conn& c = conn(fd);
    char buf[16384];
    for (;;) {
      const ssize_t n = read(fd, buf, sizeof buf);
      if (n > 0) {
        c.in.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
        close_conn(fd);
        return;
      }
      break;
    }
    // One complete request (head + Content-Length body) starts a stream.
    if (c.streaming) return;
    const size_t head_end = c.in.find("\r\n\r\n");
    if (head_end == std::string::npos) return;
    size_t body_len = 0;
    std::string head = c.in.substr(0, head_end);
    for (char& ch : head) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (size_t p = head.find("content-length:"); p != std::string::npos) {
      body_len = std::strtoul(head.c_str() + p + 15, nullptr, 10);
    }
    if (c.in.size() < head_end + 4 + body_len) return;
    c.in.erase(0, head_end + 4 + body_len);
    c.streaming = true;
    c.sent = 0;
    c.generation = ++generation_seq_;
    write_out(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n");
    schedule(fd);
  }

  int gap_ms(Conn& c) {
    c.rng ^= c.rng << 13;
    c.rng ^= c.rng >> 7;
    c.rng ^= c.rng << 17;
    const int span = o_.max_gap_ms - o_.min_gap_ms + 1;
    return o_.min_gap_ms + static_cast<int>(c.rng % static_cast<uint64_t>(span));
  }

  void schedule(int fd) {
    Conn& c = conn(fd);
    timers_.push(Timer{mono_ns() + int64_t{gap_ms(c)} * 1000000, fd, c.generation});
  }

  void send_event(int fd, std::string_view data) {
    std::string event = fmt::format("data: {}\n\n", data);
    write_out(fd, fmt::format("{:x}\r\n{}\r\n", event.size(), event));
  }

  void send_next(int fd, uint32_t generation) {
    Conn& c = conn(fd);
    if (!c.open || !c.streaming || c.generation != generation) return;
    constexpr std::string_view kHead =
        R"({"id":"chatcmpl-scale","object":"chat.completion.chunk","created":1715000000,"model":"slow-sse","choices":[{"index":0,)";
    if (c.sent < o_.chunks) {
      send_event(fd, fmt::format(R"({}"delta":{{"content":"{}:{}"}},"finish_reason":null}}]}})", kHead, c.sent,
                                 mono_ns()));
      ++c.sent;
      schedule(fd);
      return;
    }
    send_event(fd, fmt::format(R"({}"delta":{{}},"finish_reason":"stop"}}]}})", kHead));
    send_event(fd, "[DONE]");
    write_out(fd, "0\r\n\r\n");
    c.streaming = false;
  }

  void write_out(int fd, std::string_view bytes) {
    Conn& c = conn(fd);
    if (!c.out.empty()) {
      c.out.append(bytes);
      return;
    }
    const ssize_t n = write(fd, bytes.data(), bytes.size());
    if (n == static_cast<ssize_t>(bytes.size())) return;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
      close_conn(fd);
      return;
    }
    c.out.assign(bytes.substr(n < 0 ? 0 : static_cast<size_t>(n)));
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.fd = fd;
    epoll_ctl(ep_, EPOLL_CTL_MOD, fd, &ev);
  }

  void flush(int fd) {
    Conn& c = conn(fd);
    if (!c.open || c.out.empty()) return;
    const ssize_t n = write(fd, c.out.data(), c.out.size());
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK) close_conn(fd);
      return;
    }
    c.out.erase(0, static_cast<size_t>(n));
    if (c.out.empty()) {
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.fd = fd;
      epoll_ctl(ep_, EPOLL_CTL_MOD, fd, &ev);
    }
  }

  const Options& o_;
  int listen_fd_ = -1;
  int ep_ = -1;
  uint32_t generation_seq_ = 0;
  std::vector<Conn> conns_;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<Timer>> timers_;
};

// --- the client (parent) ---------------------------------------------------------

long proc_status_kb(std::string_view field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, field.size(), field) == 0 && line.size() > field.size() && line[field.size()] == ':') {
      return std::strtol(line.c_str() + field.size() + 1, nullptr, 10);
    }
  }
  return -1;
}

// utime + stime (seconds) of this process's thread named `name`; -1 when none.
double thread_cpu_seconds(std::string_view name) {
  DIR* dir = opendir("/proc/self/task");
  if (dir == nullptr) return -1;
  double found = -1;
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream in(fmt::format("/proc/self/task/{}/stat", e->d_name));
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const size_t open = stat.find('('), close = stat.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    if (std::string_view(stat).substr(open + 1, close - open - 1) != name) continue;
    // Fields after ")": state(3) ... utime(14) stime(15).
    std::vector<std::string> f;
    size_t pos = close + 2;
    while (pos < stat.size() && f.size() < 13) {
      const size_t sp = stat.find(' ', pos);
      f.push_back(stat.substr(pos, sp - pos));
      if (sp == std::string::npos) break;
      pos = sp + 1;
    }
    if (f.size() < 13) continue;
    const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    found = (std::strtod(f[11].c_str(), nullptr) + std::strtod(f[12].c_str(), nullptr)) / ticks;
  }
  closedir(dir);
  return found;
}

struct ServerProcess {
  pid_t pid = -1;
  int port = 0;
  ~ServerProcess() {
    if (pid > 0) {
      kill(pid, SIGTERM);
      int status = 0;
      waitpid(pid, &status, 0);
    }
  }
};

void start_server(const Options& o, ServerProcess& server) {
  std::vector<std::string> args = {"llmux_scale_bench", "--child=server",
                                   "--chunks=" + std::to_string(o.chunks),
                                   "--min-gap-ms=" + std::to_string(o.min_gap_ms),
                                   "--max-gap-ms=" + std::to_string(o.max_gap_ms)};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int fds[2];
  if (pipe(fds) != 0) die("pipe failed");
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid < 0) die("fork failed");
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    execv("/proc/self/exe", argv.data());
    _exit(127);
  }
  close(fds[1]);
  server.pid = pid;
  std::string line;
  char ch;
  while (read(fds[0], &ch, 1) == 1 && ch != '\n') line += ch;
  close(fds[0]);
  if (line.rfind("port ", 0) != 0) die("the server did not start: '" + line + "'");
  server.port = std::atoi(line.c_str() + 5);
}

// Per-stream bookkeeping; touched only on the router's I/O thread (chunks and
// done), read by the main thread after every stream finished.
struct StreamState {
  int next_seq = 0;
  int dones = 0;
  bool out_of_order = false;
  bool failed = false;
};

int run_client(const Options& o) {
  raise_fd_limit();
  signal(SIGPIPE, SIG_IGN);
  if (fd_limit() < o.streams + 512) {
    die(fmt::format("RLIMIT_NOFILE {} is too low for {} streams (raise the hard limit)", fd_limit(), o.streams));
  }
  std::printf("llmux scale: %d concurrent slow SSE streams (%d chunks, %d-%d ms apart) on one Router I/O thread\n",
              o.streams, o.chunks, o.min_gap_ms, o.max_gap_ms);
  std::fflush(stdout);
  ServerProcess server;
  start_server(o, server);

  const long rss_bare_kb = proc_status_kb("VmRSS");
  const std::string config = fmt::format(
      "model_list:\n"
      "  - model_name: slow\n"
      "    litellm_params:\n"
      "      model: openai/slow-sse\n"
      "      api_base: http://127.0.0.1:{}/v1\n"
      "      api_key: sk-scale\n",
      server.port);
  auto created = Router::from_config(config);
  if (!created.ok()) die("Router::from_config failed: " + created.error().to_string());
  std::unique_ptr<Router> router = std::move(created).value();
  const std::string request = R"({"model":"slow","messages":[{"role":"user","content":"count slowly"}]})";

  // One warm-up stream: the I/O thread, libcurl and the allocator are up.
  {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false, ok = false;
    router->stream(
        request, [](std::string_view) { return true; },
        [&](Result<Response> r) {
          std::lock_guard lock(mu);
          ok = r.ok();
          done = true;
          cv.notify_one();
        });
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return done; });
    if (!ok) die("the warm-up stream failed");
  }
  const long rss_warm_kb = proc_status_kb("VmRSS");

  std::vector<StreamState> state(static_cast<size_t>(o.streams));
  std::vector<int64_t> delays;  // I/O thread only until all are done
  delays.reserve(static_cast<size_t>(o.streams) * static_cast<size_t>(o.chunks));
  std::atomic<int> finished{0};
  std::atomic<int> started{0};
  std::atomic<int64_t> chunks_total{0};
  std::mutex mu;
  std::condition_variable cv;

  const double io_cpu0 = thread_cpu_seconds("llmux-io");
  const auto t0 = std::chrono::steady_clock::now();
  long peak_rss_kb = 0;
  int peak_in_flight = 0;
  auto sample = [&] {
    const int in_flight = started.load() - finished.load();
    if (in_flight >= peak_in_flight) {
      peak_in_flight = in_flight;
      peak_rss_kb = proc_status_kb("VmRSS");
    }
  };
  auto last_sample = t0;
  for (int i = 0; i < o.streams; ++i) {
    // Spread the starts over the ramp.
    const auto due = t0 + std::chrono::microseconds(int64_t{o.ramp_ms} * 1000 * i / o.streams);
    if (due > std::chrono::steady_clock::now()) std::this_thread::sleep_until(due);
    StreamState* s = &state[static_cast<size_t>(i)];
    router->stream(
        request,
        [s, &delays, &chunks_total](std::string_view chunk) {
          const int64_t now = mono_ns();
          constexpr std::string_view kKey = "\"content\":\"";
          const size_t at = chunk.find(kKey);
          if (at == std::string_view::npos) return true;  // the finish chunk
          const char* p = chunk.data() + at + kKey.size();
          char* end = nullptr;
          const long seq = std::strtol(p, &end, 10);
          const long long sent = std::strtoll(end + 1, nullptr, 10);
          if (seq != s->next_seq) s->out_of_order = true;
          s->next_seq = static_cast<int>(seq) + 1;
          delays.push_back(now - sent);
          chunks_total.fetch_add(1, std::memory_order_relaxed);
          return true;
        },
        [s, &finished, &mu, &cv, total = o.streams](Result<Response> r) {
          if (!r.ok()) {
            s->failed = true;
            std::fprintf(stderr, "stream failed: %s\n", r.error().to_string().c_str());
          }
          ++s->dones;
          if (finished.fetch_add(1) + 1 == total) {
            std::lock_guard lock(mu);
            cv.notify_one();
          }
        });
    started.fetch_add(1);
    if (std::chrono::steady_clock::now() - last_sample > std::chrono::milliseconds(50)) {
      sample();
      last_sample = std::chrono::steady_clock::now();
    }
  }
  // Wait for all, sampling RSS while the streams are in flight.
  {
    std::unique_lock lock(mu);
    while (finished.load() < o.streams) {
      sample();
      const int before = finished.load();
      const int64_t chunks_before = chunks_total.load();
      if (!cv.wait_for(lock, std::chrono::seconds(30), [&] { return finished.load() >= o.streams; }) &&
          finished.load() == before && chunks_total.load() == chunks_before) {
        die(fmt::format("no progress for 30 s: {} of {} streams finished", finished.load(), o.streams));
      }
      lock.unlock();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      lock.lock();
    }
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double io_cpu = thread_cpu_seconds("llmux-io") - io_cpu0;
  const long rss_after_kb = proc_status_kb("VmRSS");

  // Exactly once, in order, complete.
  int bad_done = 0, bad_order = 0, bad_count = 0, failed = 0;
  for (const StreamState& s : state) {
    bad_done += s.dones != 1 ? 1 : 0;
    bad_order += s.out_of_order ? 1 : 0;
    bad_count += s.next_seq != o.chunks ? 1 : 0;
    failed += s.failed ? 1 : 0;
  }
  const int64_t expected_chunks = int64_t{o.streams} * o.chunks;
  auto pct = [&](double p) {
    if (delays.empty()) return 0.0;
    const size_t rank = std::min(delays.size() - 1, static_cast<size_t>(std::ceil(p * static_cast<double>(delays.size()))));
    std::nth_element(delays.begin(), delays.begin() + static_cast<std::ptrdiff_t>(rank), delays.end());
    return static_cast<double>(delays[rank]) / 1e6;
  };
  const double p50 = pct(0.50), p99 = pct(0.99), p999 = pct(0.999);
  const double max_ms = delays.empty() ? 0.0 : static_cast<double>(*std::max_element(delays.begin(), delays.end())) / 1e6;
  const double rss_per_1000 =
      peak_in_flight > 0 ? static_cast<double>(peak_rss_kb - rss_warm_kb) / 1024.0 / (peak_in_flight / 1000.0) : 0;
  const bool ok = bad_done == 0 && bad_order == 0 && bad_count == 0 && failed == 0 &&
                  static_cast<int64_t>(delays.size()) == expected_chunks;

  std::printf("\nstreams %d: done exactly once %d, failed %d, out of order %d, wrong chunk count %d; chunks %zu of %lld\n",
              o.streams, o.streams - bad_done, failed, bad_order, bad_count, delays.size(),
              static_cast<long long>(expected_chunks));
  std::printf("wall %.2f s; chunk delivery delay (server send -> chunk callback): p50 %.3f ms, p99 %.3f ms, "
              "p99.9 %.3f ms, max %.3f ms\n",
              wall, p50, p99, p999, max_ms);
  std::printf("I/O thread (llmux-io) CPU: %.3f s over the run = %.1f%% of one core, %.2f us per chunk delivered\n",
              io_cpu, 100.0 * io_cpu / wall, delays.empty() ? 0.0 : io_cpu * 1e6 / static_cast<double>(delays.size()));
  std::printf("RSS: bare %.1f MiB, Router warm %.1f MiB, %d in flight %.1f MiB -> %.2f MiB per 1,000 in-flight "
              "streams; after all done %.1f MiB\n",
              rss_bare_kb / 1024.0, rss_warm_kb / 1024.0, peak_in_flight, peak_rss_kb / 1024.0, rss_per_1000,
              rss_after_kb / 1024.0);
  std::printf("fd limit %ld -> %s\n", fd_limit(), ok ? "PASS" : "FAIL");

  if (!o.json_path.empty()) {
    const std::string text = fmt::format(
        R"({{"benchmark":"llmux_scale","config":{{"streams":{},"chunks":{},"min_gap_ms":{},"max_gap_ms":{},"ramp_ms":{}}},)"
        R"("ok":{},"done_exactly_once":{},"failed":{},"out_of_order":{},"wrong_chunk_count":{},"chunks":{},"expected_chunks":{},)"
        R"("wall_s":{:.3f},"delay_ms":{{"p50":{:.3f},"p99":{:.3f},"p999":{:.3f},"max":{:.3f}}},)"
        R"("io_thread_cpu_s":{:.3f},"io_thread_core_share":{:.4f},"io_thread_cpu_us_per_chunk":{:.3f},)"
        R"("rss_mib":{{"bare":{:.2f},"warm":{:.2f},"in_flight":{:.2f},"after":{:.2f}}},"peak_in_flight":{},)"
        R"("rss_mib_per_1000_in_flight":{:.3f},)"
        // The keys benchmarks/targets.py reads.
        R"("streams":{{"completed_exactly_once":{},"chunk_delay_p99_ms":{:.3f},"loop_cpu_percent":{:.2f}}},)"
        R"("rss_per_1000_in_flight_mib":{:.3f}}})"
        "\n",
        o.streams, o.chunks, o.min_gap_ms, o.max_gap_ms, o.ramp_ms, ok, o.streams - bad_done, failed, bad_order,
        bad_count, delays.size(), expected_chunks, wall, p50, p99, p999, max_ms, io_cpu, io_cpu / wall,
        delays.empty() ? 0.0 : io_cpu * 1e6 / static_cast<double>(delays.size()), rss_bare_kb / 1024.0,
        rss_warm_kb / 1024.0, peak_rss_kb / 1024.0, rss_after_kb / 1024.0, peak_in_flight, rss_per_1000,
        o.streams - bad_done - failed, p99, 100.0 * io_cpu / wall, rss_per_1000);
    std::FILE* out = std::fopen(o.json_path.c_str(), "w");
    if (out == nullptr) die("cannot write " + o.json_path);
    std::fputs(text.c_str(), out);
    std::fclose(out);
    std::printf("results written to %s\n", o.json_path.c_str());
  }
  router.reset();
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace llmux::bench

int main(int argc, char** argv) {
  const llmux::bench::Options o = llmux::bench::parse_args(argc, argv);
  if (o.child == "server") return llmux::bench::SlowSseServer(o).run();
  return llmux::bench::run_client(o);
}
