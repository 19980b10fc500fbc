#include "state/redis_connection.hpp"

#include <hiredis/hiredis.h>

#include <fmt/format.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <system_error>

namespace llmux::state {
namespace {

std::string errno_text(int err) { return std::error_code(err, std::generic_category()).message(); }

}  // namespace

// ---------------------------------------------------------------- replies

void RedisReplyDeleter::operator()(redisReply* r) const { freeReplyObject(r); }

RedisReply to_reply(const redisReply& r) {
  RedisReply out;
  switch (r.type) {
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::kString;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::kStatus;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = RedisReply::Type::kError;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::kInteger;
      out.integer = r.integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::kArray;
      out.elements.reserve(r.elements);
      for (size_t i = 0; i < r.elements; ++i) out.elements.push_back(to_reply(*r.element[i]));
      break;
    default:
      out.type = RedisReply::Type::kNil;
      break;
  }
  return out;
}

std::string_view reply_text(const redisReply& r) {
  return r.str != nullptr ? std::string_view(r.str, r.len) : std::string_view();
}

bool is_error_reply(const redisReply& r) { return r.type == REDIS_REPLY_ERROR; }

bool is_server_unavailable(const redisReply& r) {
  if (!is_error_reply(r)) return false;
  const std::string_view text = reply_text(r);
  for (std::string_view prefix : {"READONLY", "LOADING", "MASTERDOWN", "NOAUTH"}) {
    if (text.substr(0, prefix.size()) == prefix) return true;
  }
  return false;
}

std::string_view array_head(const redisReply& r) {
  if (r.type != REDIS_REPLY_ARRAY || r.elements == 0 || r.element[0]->type != REDIS_REPLY_STRING) return {};
  return reply_text(*r.element[0]);
}

std::string_view step_name(Expect e) {
  switch (e) {
    case Expect::kAuth: return "AUTH";
    case Expect::kSelect: return "SELECT";
    case Expect::kSetName: return "CLIENT SETNAME";
    case Expect::kRole: return "ROLE";
    case Expect::kPing: return "PING";
    case Expect::kSubscribe: return "SUBSCRIBE";
    case Expect::kSentinelAuth: return "AUTH (sentinel)";
    case Expect::kSentinelQuery: return "SENTINEL get-master-addr-by-name";
    case Expect::kUser: break;
  }
  return "command";
}

// ------------------------------------------------------------- connection

bool RedisConnection::start(const std::string& host, int port, const std::string& unix_path, TimePoint deadline,
                            std::string& error) {
  close();
  addresses_.clear();
  next_address_ = 0;
  last_connect_error_.clear();
  if (!unix_path.empty()) {
    Address a;
    auto* un = reinterpret_cast<sockaddr_un*>(&a.storage);
    if (unix_path.size() >= sizeof(un->sun_path)) {
      error = "unix socket path too long";
      return false;
    }
    un->sun_family = AF_UNIX;
    std::memcpy(un->sun_path, unix_path.data(), unix_path.size());
    a.length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + unix_path.size() + 1);
    addresses_.push_back(a);
  } else {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const std::string service = std::to_string(port);
    const int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &found);
    if (rc != 0) {
      error = fmt::format("cannot resolve {}: {}", host, gai_strerror(rc));
      return false;
    }
    for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
      if (ai->ai_addrlen > sizeof(sockaddr_storage)) continue;
      Address a;
      std::memcpy(&a.storage, ai->ai_addr, ai->ai_addrlen);
      a.length = ai->ai_addrlen;
      addresses_.push_back(a);
    }
    freeaddrinfo(found);
  }
  connect_deadline = deadline;
  return connect_next(error);
}

bool RedisConnection::finish_connect(TimePoint deadline, std::string& error) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  if (err == 0) {
    established();
    return true;
  }
  if (err == EINPROGRESS || err == EALREADY) return true;
  last_connect_error_ = errno_text(err);
  close_socket();
  connect_deadline = deadline;
  return connect_next(error);
}

bool RedisConnection::flush(std::string& error) {
  while (out_offset_ < out.size()) {
    const ssize_t n = ::send(fd_, out.data() + out_offset_, out.size() - out_offset_, MSG_NOSIGNAL);
    if (n > 0) {
      out_offset_ += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    error = fmt::format("write failed: {}", errno_text(n < 0 ? errno : EPIPE));
    return false;
  }
  if (out_offset_ == out.size()) {
    out.clear();
    out_offset_ = 0;
  } else if (out_offset_ >= (1u << 20)) {
    out.erase(0, out_offset_);  // keep a slow socket's buffer from only growing
    out_offset_ = 0;
  }
  return true;
}

bool RedisConnection::read(std::span<char> buffer, std::string& error) {
  // A few buffers' worth per call, so one busy connection cannot starve the
  // other and the deadlines (poll is level-triggered: the rest comes next).
  for (int round = 0; round < 8; ++round) {
    const ssize_t n = ::recv(fd_, buffer.data(), buffer.size(), 0);
    if (n > 0) {
      if (redisReaderFeed(reader_, buffer.data(), static_cast<size_t>(n)) != REDIS_OK) {
        error = fmt::format("protocol error: {}", reader_->errstr);
        return false;
      }
      if (static_cast<size_t>(n) < buffer.size()) return true;
      continue;
    }
    if (n == 0) {
      error = "connection closed by the server";
      return false;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
    error = fmt::format("read failed: {}", errno_text(errno));
    return false;
  }
  return true;
}

bool RedisConnection::next_reply(RedisReplyPtr& reply, std::string& error) {
  void* r = nullptr;
  if (redisReaderGetReply(reader_, &r) != REDIS_OK) {
    error = fmt::format("protocol error: {}", reader_->errstr);
    return false;
  }
  reply.reset(static_cast<redisReply*>(r));
  return true;
}

void RedisConnection::send(Expect kind, std::initializer_list<std::string_view> argv, TimePoint now) {
  append_resp_command(out, argv);
  expected.push_back(Entry{kind, now, {}});
  last_activity = now;
}

void RedisConnection::close() {
  close_socket();
  state_ = State::kClosed;
  out.clear();
  out_offset_ = 0;
  if (reader_ != nullptr) {
    redisReaderFree(reader_);
    reader_ = nullptr;
  }
}

bool RedisConnection::connect_next(std::string& error) {
  while (next_address_ < addresses_.size()) {
    const Address& a = addresses_[next_address_++];
    const int family = a.storage.ss_family;
    fd_ = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
      last_connect_error_ = errno_text(errno);
      continue;
    }
    if (family == AF_INET || family == AF_INET6) {
      const int one = 1;
      setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&a.storage), a.length) == 0) {
      established();
      return true;
    }
    // EINTR: a non-blocking connect goes on in the background, as with EINPROGRESS.
    if (errno == EINPROGRESS || errno == EINTR) {
      state_ = State::kConnecting;
      return true;
    }
    last_connect_error_ = errno_text(errno);
    close_socket();
  }
  error = fmt::format("connect failed: {}",
                      last_connect_error_.empty() ? std::string("no address") : last_connect_error_);
  state_ = State::kClosed;
  return false;
}

void RedisConnection::established() {
  state_ = State::kEstablished;
  if (reader_ == nullptr) reader_ = redisReaderCreate();
}

void RedisConnection::close_socket() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

}  // namespace llmux::state
