// -----------------------------------------------------------------------------
// File: tests/support/test_pki.hpp
// -----------------------------------------------------------------------------
// A throw-away public-key infrastructure for TLS tests, made with OpenSSL's
// APIs at run time (no openssl CLI, nothing checked in): a self-signed CA and
// a server certificate it signs for localhost and 127.0.0.1 (subjectAltName),
// written as PEM files into a fresh temporary directory that is removed with
// the object. EC P-256 keys: generation takes microseconds.
//
// Thread safety: construct once, then read-only.
#pragma once

#include <string>

namespace llmux::testing {

class TestPki {
 public:
  // Throws std::runtime_error when OpenSSL or the file system fails.
  TestPki();
  ~TestPki();
  TestPki(const TestPki&) = delete;
  TestPki& operator=(const TestPki&) = delete;

  const std::string& dir() const { return dir_; }
  const std::string& ca_cert() const { return ca_cert_; }          // the CA's certificate (the bundle to trust)
  const std::string& server_cert() const { return server_cert_; }  // leaf + nothing else
  const std::string& server_key() const { return server_key_; }
  // A second, unrelated CA: a bundle that must NOT verify the server.
  const std::string& other_ca_cert() const { return other_ca_cert_; }

 private:
  std::string dir_;
  std::string ca_cert_;
  std::string server_cert_;
  std::string server_key_;
  std::string other_ca_cert_;
};

}  // namespace llmux::testing
