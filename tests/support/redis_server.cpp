#include "support/redis_server.hpp"

#include <hiredis/hiredis.h>

#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace llmux::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

std::string make_temp_dir(const char* prefix) {
  std::string pattern = (std::filesystem::temp_directory_path() / fmt::format("{}-XXXXXX", prefix)).string();
  if (mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error(fmt::format("cannot create a temporary directory: {}", std::strerror(errno)));
  }
  return pattern;
}

// A port the kernel just gave out on 127.0.0.1 (free right now; the server
// binds it a moment later, and launch() retries on the rare collision).
int pick_free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot find a free port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

// fork + exec with stdio on /dev/null and no descriptor of ours inherited
// (the link's sockets must close for real). The child gets SIGKILL when the
// thread that started it exits, so a test binary that aborts (a sanitizer
// report, a crash) leaves no server behind. Between fork and exec the child
// calls only async-signal-safe functions (the parent has threads).
pid_t spawn(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(fmt::format("cannot start {}: fork failed: {}", args[0], std::strerror(errno)));
  if (pid == 0) {
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) _exit(127);
    const int null_fd = open("/dev/null", O_RDWR);
    if (null_fd < 0) _exit(127);
    for (int fd = 0; fd <= 2; ++fd) dup2(null_fd, fd);
    syscall(SYS_close_range, 3u, ~0u, 0u);
    execve(argv[0], argv.data(), environ);
    _exit(127);
  }
  return pid;
}

void kill_and_reap(pid_t& pid) {
  if (pid <= 0) return;
  ::kill(pid, SIGCONT);  // a stopped process dies of SIGKILL too, but be plain about it
  ::kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  pid = -1;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string last_lines(const std::string& text, int n) {
  size_t pos = text.size();
  for (int i = 0; i <= n && pos != std::string::npos && pos > 0; ++i) pos = text.rfind('\n', pos - 1);
  return pos == std::string::npos ? text : text.substr(pos + 1);
}

// Waits until something answers PING on the port (an error reply such as
// NOAUTH counts: the server is up). False when `pid` exited or time ran out.
bool wait_until_answering(const std::string& host, int port, pid_t pid) {
  const auto deadline = std::chrono::steady_clock::now() + seconds(15);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) return false;
    timeval tv{1, 0};
    redisContext* c = redisConnectWithTimeout(host.c_str(), port, tv);
    if (c != nullptr && c->err == 0) {
      redisSetTimeout(c, tv);
      auto* reply = static_cast<redisReply*>(redisCommand(c, "PING"));
      const bool answered = reply != nullptr;
      if (reply != nullptr) freeReplyObject(reply);
      redisFree(c);
      if (answered) return true;
    } else if (c != nullptr) {
      redisFree(c);
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
  return false;
}

RedisValue to_value(const redisReply& r) {
  RedisValue v;
  switch (r.type) {
    case REDIS_REPLY_STRING: v.type = RedisValue::Type::kString; v.str.assign(r.str, r.len); break;
    case REDIS_REPLY_STATUS: v.type = RedisValue::Type::kStatus; v.str.assign(r.str, r.len); break;
    case REDIS_REPLY_ERROR: v.type = RedisValue::Type::kError; v.str.assign(r.str, r.len); break;
    case REDIS_REPLY_INTEGER: v.type = RedisValue::Type::kInteger; v.integer = r.integer; break;
    case REDIS_REPLY_ARRAY:
      v.type = RedisValue::Type::kArray;
      for (size_t i = 0; i < r.elements; ++i) v.elements.push_back(to_value(*r.element[i]));
      break;
    default: break;
  }
  return v;
}

}  // namespace

bool redis_server_available() { return ::access(kRedisServerPath, X_OK) == 0; }

// ---------------------------------------------------------------- RedisServer

RedisServer::RedisServer(RedisServerOptions options) : options_(std::move(options)) {
  dir_ = make_temp_dir("llmux-redis");
  try {
    for (int attempt = 0;; ++attempt) {
      port_ = pick_free_port();
      try {
        launch();
        return;
      } catch (const std::runtime_error&) {
        if (attempt >= 4) throw;  // otherwise: the port was taken in between; another one
      }
    }
  } catch (...) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    throw;
  }
}

RedisServer::~RedisServer() {
  kill_and_reap(pid_);
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void RedisServer::launch() {
  const std::string log = dir_ + "/redis.log";
  std::vector<std::string> args = {kRedisServerPath, "--port", std::to_string(port_), "--bind", host_,
                                   "--save", "", "--appendonly", "no", "--dir", dir_, "--logfile", log,
                                   "--daemonize", "no", "--protected-mode", "no"};
  if (!options_.requirepass.empty()) {
    args.insert(args.end(), {"--requirepass", options_.requirepass});
  }
  if (!options_.acl_user.empty()) {
    args.insert(args.end(), {"--user", options_.acl_user, "on", ">" + options_.acl_password, "~*", "&*", "+@all"});
  }
  pid_ = spawn(args);
  paused_ = false;
  if (!wait_until_answering(host_, port_, pid_)) {
    kill_and_reap(pid_);
    throw std::runtime_error(
        fmt::format("redis-server on port {} did not start; its log ends:\n{}", port_, last_lines(read_file(log), 5)));
  }
}

void RedisServer::pause() {
  ::kill(pid_, SIGSTOP);
  paused_ = true;
}

void RedisServer::resume() {
  ::kill(pid_, SIGCONT);
  paused_ = false;
}

void RedisServer::kill() { kill_and_reap(pid_); }

void RedisServer::restart() {
  kill_and_reap(pid_);
  // The old process' log stays for post-mortems; the new one appends.
  launch();
}

int64_t RedisServer::connections_received() const {
  RedisClient client(*this);
  return std::stoll(client.info_field("stats", "total_connections_received"));
}

// -------------------------------------------------------------- RedisSentinel

RedisSentinel::RedisSentinel(const RedisServer& master, std::string service_name)
    : service_name_(std::move(service_name)) {
  dir_ = make_temp_dir("llmux-sentinel");
  const std::string conf = dir_ + "/sentinel.conf";
  const std::string log = dir_ + "/sentinel.log";
  try {
    for (int attempt = 0;; ++attempt) {
      port_ = pick_free_port();
      {
        std::ofstream out(conf, std::ios::trunc);
        out << fmt::format("port {}\nbind {}\ndir \"{}\"\nlogfile \"{}\"\n", port_, host_, dir_, log);
        out << fmt::format("sentinel monitor {} {} {} 1\n", service_name_, master.host(), master.port());
        const RedisServerOptions& m = master.options();
        if (!m.acl_user.empty()) {
          out << fmt::format("sentinel auth-user {} {}\n", service_name_, m.acl_user);
          out << fmt::format("sentinel auth-pass {} {}\n", service_name_, m.acl_password);
        } else if (!m.requirepass.empty()) {
          out << fmt::format("sentinel auth-pass {} {}\n", service_name_, m.requirepass);
        }
      }
      pid_ = spawn({kRedisServerPath, conf, "--sentinel"});
      if (wait_until_answering(host_, port_, pid_)) return;
      kill_and_reap(pid_);
      if (attempt >= 4) {
        throw std::runtime_error(
            fmt::format("redis sentinel did not start; its log ends:\n{}", last_lines(read_file(log), 5)));
      }
    }
  } catch (...) {
    kill_and_reap(pid_);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    throw;
  }
}

RedisSentinel::~RedisSentinel() {
  kill_and_reap(pid_);
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

// ---------------------------------------------------------------- RedisClient

RedisClient::RedisClient(const std::string& host, int port, const std::string& password, const std::string& user) {
  const timeval tv{5, 0};
  context_ = redisConnectWithTimeout(host.c_str(), port, tv);
  if (context_ == nullptr || context_->err != 0) {
    const std::string why = context_ != nullptr ? context_->errstr : "out of memory";
    if (context_ != nullptr) redisFree(context_);
    context_ = nullptr;
    throw std::runtime_error(fmt::format("test client cannot connect to {}:{}: {}", host, port, why));
  }
  redisSetTimeout(context_, tv);
  if (!password.empty() || !user.empty()) {
    RedisValue r = user.empty() ? command({"AUTH", password}) : command({"AUTH", user, password});
    if (r.type == RedisValue::Type::kError) {
      redisFree(context_);
      context_ = nullptr;
      throw std::runtime_error("test client: AUTH failed: " + r.str);
    }
  }
}

RedisClient::RedisClient(const RedisServer& server)
    : RedisClient(server.host(), server.port(), server.options().requirepass) {}

RedisClient::~RedisClient() {
  if (context_ != nullptr) redisFree(context_);
}

RedisValue RedisClient::command(const std::vector<std::string>& argv) {
  std::vector<const char*> args;
  std::vector<size_t> lengths;
  for (const std::string& a : argv) {
    args.push_back(a.data());
    lengths.push_back(a.size());
  }
  auto* reply = static_cast<redisReply*>(
      redisCommandArgv(context_, static_cast<int>(args.size()), args.data(), lengths.data()));
  if (reply == nullptr) {
    throw std::runtime_error(fmt::format("test client: {} failed: {}", argv.empty() ? "" : argv[0], context_->errstr));
  }
  RedisValue v = to_value(*reply);
  freeReplyObject(reply);
  return v;
}

std::optional<std::string> RedisClient::get(const std::string& key) {
  RedisValue v = command({"GET", key});
  if (v.type == RedisValue::Type::kString) return v.str;
  if (v.type == RedisValue::Type::kNil) return std::nullopt;
  throw std::runtime_error("test client: GET " + key + ": " + v.str);
}

int64_t RedisClient::pttl(const std::string& key) { return command({"PTTL", key}).integer; }

std::vector<std::string> RedisClient::keys(const std::string& pattern) {
  std::vector<std::string> out;
  for (const RedisValue& e : command({"KEYS", pattern}).elements) out.push_back(e.str);
  std::sort(out.begin(), out.end());
  return out;
}

int64_t RedisClient::publish(const std::string& channel, const std::string& message) {
  return command({"PUBLISH", channel, message}).integer;
}

void RedisClient::select(int db) {
  RedisValue v = command({"SELECT", std::to_string(db)});
  if (v.type == RedisValue::Type::kError) throw std::runtime_error("test client: SELECT: " + v.str);
}

void RedisClient::flushall() { command({"FLUSHALL"}); }

std::string RedisClient::info_field(const std::string& section, const std::string& field) {
  const std::string text = command({"INFO", section}).str;
  const std::string prefix = field + ":";
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.compare(0, prefix.size(), prefix) == 0) {
      std::string value = line.substr(prefix.size());
      while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) value.pop_back();
      return value;
    }
  }
  return {};
}

}  // namespace llmux::testing
