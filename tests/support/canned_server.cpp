#include "support/canned_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <cstring>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>

#include <fmt/format.h>

namespace llmux::testing {

class CannedServer::Impl {
 public:
  explicit Impl(CannedServerOptions options);
  ~Impl();

  int port = 0;
  bool tls = false;
  std::atomic<size_t> requests{0};
  std::atomic<size_t> connections{0};
  std::atomic<size_t> failed_handshakes{0};
  mutable std::mutex mu;
  std::vector<std::string> request_lines;  // guarded by mu
  std::vector<std::string> alpn_offers;    // guarded by mu

 private:
  void accept_loop();
  void serve(int fd);
  // Reads one request (head + Content-Length body) from `in`; false at EOF.
  bool read_request(std::string& buffer, const std::function<long(char*, size_t)>& read, std::string& line);
  static int select_alpn(SSL* ssl, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                         unsigned int inlen, void* arg);

  CannedServerOptions options_;
  std::string answer_;
  SSL_CTX* ctx_ = nullptr;
  int listen_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread acceptor_;
  std::vector<std::thread> workers_;  // guarded by mu
  std::vector<int> open_fds_;         // guarded by mu
};

CannedServer::Impl::Impl(CannedServerOptions options) : options_(std::move(options)) {
  // A client that hangs up mid-answer must not kill the test process.
  std::signal(SIGPIPE, SIG_IGN);
  const std::string body = fmt::format(
      R"({{"id":"chatcmpl-canned","object":"chat.completion","created":1700000000,"model":"canned",)"
      R"("choices":[{{"index":0,"message":{{"role":"assistant","content":"{}"}},"finish_reason":"stop"}}],)"
      R"("usage":{{"prompt_tokens":3,"completion_tokens":3,"total_tokens":6}}}})",
      options_.text);
  answer_ = fmt::format("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{}",
                        body.size(), body);
  tls = !options_.cert_path.empty();
  if (tls) {
    ctx_ = SSL_CTX_new(TLS_server_method());
    if (ctx_ == nullptr || SSL_CTX_use_certificate_chain_file(ctx_, options_.cert_path.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx_, options_.key_path.c_str(), SSL_FILETYPE_PEM) != 1) {
      if (ctx_ != nullptr) SSL_CTX_free(ctx_);
      throw std::runtime_error("canned server: cannot load the certificate or key");
    }
    SSL_CTX_set_alpn_select_cb(ctx_, &Impl::select_alpn, this);
  }
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw std::runtime_error("canned server: socket failed");
  const int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, 64) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(listen_fd_);
    throw std::runtime_error("canned server: bind/listen failed");
  }
  port = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

CannedServer::Impl::~Impl() {
  stop_.store(true);
  acceptor_.join();
  ::close(listen_fd_);
  std::vector<std::thread> workers;
  {
    std::lock_guard<std::mutex> lock(mu);
    // Wakes workers blocked in a read; each closes its own descriptor.
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
    workers = std::move(workers_);
  }
  for (auto& w : workers) w.join();
  if (ctx_ != nullptr) SSL_CTX_free(ctx_);
}

int CannedServer::Impl::select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                                    unsigned int inlen, void* arg) {
  auto* self = static_cast<Impl*>(arg);
  std::string offer;
  const unsigned char* chosen = nullptr;
  unsigned char chosen_len = 0;
  for (unsigned int i = 0; i < inlen;) {
    const unsigned char n = in[i];
    if (i + 1 + n > inlen) break;
    const std::string_view proto(reinterpret_cast<const char*>(in + i + 1), n);
    if (!offer.empty()) offer += ',';
    offer += proto;
    if (proto == "http/1.1") {
      chosen = in + i + 1;
      chosen_len = n;
    }
    i += 1 + n;
  }
  {
    std::lock_guard<std::mutex> lock(self->mu);
    self->alpn_offers.push_back(offer);
  }
  if (chosen == nullptr) return SSL_TLSEXT_ERR_NOACK;
  *out = chosen;
  *outlen = chosen_len;
  return SSL_TLSEXT_ERR_OK;
}

void CannedServer::Impl::accept_loop() {
  while (!stop_.load()) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    connections.fetch_add(1);
    std::lock_guard<std::mutex> lock(mu);
    open_fds_.push_back(fd);
    workers_.emplace_back([this, fd] { serve(fd); });
  }
}

bool CannedServer::Impl::read_request(std::string& buffer, const std::function<long(char*, size_t)>& read,
                                      std::string& line) {
  char chunk[4096];
  size_t head_end = std::string::npos;
  while ((head_end = buffer.find("\r\n\r\n")) == std::string::npos) {
    const long n = read(chunk, sizeof chunk);
    if (n <= 0) return false;
    buffer.append(chunk, static_cast<size_t>(n));
  }
  const std::string head = buffer.substr(0, head_end);
  line = head.substr(0, head.find("\r\n"));
  size_t length = 0;
  std::string lower = head;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (const size_t at = lower.find("\r\ncontent-length:"); at != std::string::npos) {
    length = std::stoul(head.substr(at + 17, head.find("\r\n", at + 2) - at - 17));
  }
  const size_t total = head_end + 4 + length;
  while (buffer.size() < total) {
    const long n = read(chunk, sizeof chunk);
    if (n <= 0) return false;
    buffer.append(chunk, static_cast<size_t>(n));
  }
  buffer.erase(0, total);
  return true;
}

void CannedServer::Impl::serve(int fd) {
  SSL* ssl = nullptr;
  bool ok = true;
  if (tls) {
    ssl = SSL_new(ctx_);
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) != 1) {
      failed_handshakes.fetch_add(1);
      ok = false;
    }
  }
  auto read = [&](char* buf, size_t n) -> long {
    return ssl != nullptr ? SSL_read(ssl, buf, static_cast<int>(n)) : ::recv(fd, buf, n, 0);
  };
  std::string buffer;
  std::string line;
  while (ok && read_request(buffer, read, line)) {
    {
      std::lock_guard<std::mutex> lock(mu);
      request_lines.push_back(line);
    }
    requests.fetch_add(1);
    size_t sent = 0;
    while (sent < answer_.size()) {
      const long n = ssl != nullptr ? SSL_write(ssl, answer_.data() + sent, static_cast<int>(answer_.size() - sent))
                                    : ::send(fd, answer_.data() + sent, answer_.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) break;
      sent += static_cast<size_t>(n);
    }
    if (sent < answer_.size()) break;
  }
  if (ssl != nullptr) SSL_free(ssl);
  std::lock_guard<std::mutex> lock(mu);
  ::close(fd);
  std::erase(open_fds_, fd);
}

CannedServer::CannedServer(CannedServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
CannedServer::~CannedServer() = default;

int CannedServer::port() const { return impl_->port; }

std::string CannedServer::base_url() const { return base_url("127.0.0.1"); }

std::string CannedServer::base_url(const std::string& host) const {
  return fmt::format("{}://{}:{}/v1", impl_->tls ? "https" : "http", host, impl_->port);
}

size_t CannedServer::requests() const { return impl_->requests.load(); }
size_t CannedServer::connections() const { return impl_->connections.load(); }
size_t CannedServer::failed_handshakes() const { return impl_->failed_handshakes.load(); }

size_t CannedServer::await_failed_handshakes(size_t n, std::chrono::milliseconds limit) const {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (impl_->failed_handshakes.load() < n && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return impl_->failed_handshakes.load();
}

std::vector<std::string> CannedServer::request_lines() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->request_lines;
}

std::vector<std::string> CannedServer::alpn_offers() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->alpn_offers;
}

}  // namespace llmux::testing
