#include "provider/aws_sigv4.hpp"

#include <openssl/evp.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <iterator>

#include <absl/strings/escaping.h>
#include <fmt/format.h>

#include "common/strings.hpp"

namespace llmux::provider {

namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";

using Digest = std::array<unsigned char, 32>;

Digest sha256(std::string_view bytes) {
  Digest out{};
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), out.data(), &len, EVP_sha256(), nullptr);
  return out;
}

Digest hmac(std::string_view key, std::string_view data) {
  Digest out{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out.data(), &len);
  return out;
}

std::string_view view(const Digest& d) { return {reinterpret_cast<const char*>(d.data()), d.size()}; }

std::string hex(const Digest& d) { return absl::BytesToHexString(to_absl(view(d))); }

bool is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
         c == '.' || c == '~';
}

// Percent-encodes every byte but the unreserved ones (and '/' when asked).
void uri_encode(std::string_view s, bool keep_slash, std::string& out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (is_unreserved(c) || (keep_slash && c == '/')) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes valid %XX escapes; anything else stays as it is.
std::string uri_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// RFC 3986 5.2.4 plus AWS's removal of empty segments (botocore's
// remove_dot_segments): "/a//b/./c/../d/" -> "/a/b/d/".
std::string remove_dot_segments(std::string_view path) {
  if (path.empty()) return "/";
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    const std::string_view seg = path.substr(start, slash - start);
    if (seg == "..") {
      if (!out.empty()) out.pop_back();
    } else if (!seg.empty() && seg != ".") {
      out.push_back(seg);
    }
    start = slash + 1;
  }
  std::string result = path.front() == '/' ? "/" : "";
  for (size_t i = 0; i < out.size(); ++i) {
    if (i > 0) result.push_back('/');
    result.append(out[i]);
  }
  if (path.back() == '/' && !out.empty()) result.push_back('/');
  return result;
}

struct UrlParts {
  std::string_view scheme;
  std::string_view host;  // as written, with brackets for IPv6
  std::string_view port;  // empty when absent
  std::string_view path;
  std::string_view query;
};

bool split_url(std::string_view url, UrlParts& out) {
  const size_t sep = url.find("://");
  if (sep == std::string_view::npos || sep == 0) return false;
  out.scheme = url.substr(0, sep);
  std::string_view rest = url.substr(sep + 3);
  const size_t frag = rest.find('#');
  if (frag != std::string_view::npos) rest = rest.substr(0, frag);
  const size_t auth_end = std::min(rest.find('/'), rest.find('?'));
  std::string_view authority = rest.substr(0, std::min(auth_end, rest.size()));
  rest.remove_prefix(authority.size());
  const size_t at = authority.rfind('@');
  if (at != std::string_view::npos) authority.remove_prefix(at + 1);
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return false;
    out.host = authority.substr(0, close + 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return false;
      out.port = after.substr(1);
    }
  } else {
    const size_t colon = authority.rfind(':');
    out.host = authority.substr(0, colon);
    if (colon != std::string_view::npos) out.port = authority.substr(colon + 1);
  }
  if (out.host.empty()) return false;
  const size_t q = rest.find('?');
  out.path = rest.substr(0, q);
  out.query = q == std::string_view::npos ? std::string_view{} : rest.substr(q + 1);
  return true;
}

bool default_port(std::string_view scheme, std::string_view port) {
  return port.empty() || (equals_ignore_case(scheme, "https") && port == "443") ||
         (equals_ignore_case(scheme, "http") && port == "80");
}

std::string canonical_query(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> pairs;
  size_t start = 0;
  while (start <= query.size() && !query.empty()) {
    size_t amp = query.find('&', start);
    if (amp == std::string_view::npos) amp = query.size();
    const std::string_view piece = query.substr(start, amp - start);
    if (!piece.empty()) {
      const size_t eq = piece.find('=');
      std::string key;
      std::string value;
      uri_encode(uri_decode(piece.substr(0, eq)), false, key);
      if (eq != std::string_view::npos) uri_encode(uri_decode(piece.substr(eq + 1)), false, value);
      pairs.emplace_back(std::move(key), std::move(value));
    }
    start = amp + 1;
  }
  std::sort(pairs.begin(), pairs.end());
  std::string out;
  for (const auto& [k, v] : pairs) {
    if (!out.empty()) out.push_back('&');
    out += k;
    out.push_back('=');
    out += v;
  }
  return out;
}

// Trimmed, with every run of whitespace (space, tab, CR, LF) made one space.
void append_collapsed(std::string_view value, std::string& out) {
  bool pending_space = false;
  bool any = false;
  for (char c : value) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      pending_space = any;
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    any = true;
    out.push_back(c);
  }
}

bool is_set_by_signer(std::string_view lower_name) {
  return lower_name == "x-amz-date" || lower_name == "x-amz-security-token" || lower_name == "x-amz-content-sha256" ||
         lower_name == "authorization";
}

// botocore's SIGNED_HEADERS_BLACKLIST.
bool never_signed(std::string_view lower_name) {
  static constexpr std::string_view kNever[] = {"connection",         "expect",           "keep-alive",
                                                "proxy-authenticate", "proxy-authorization", "te",
                                                "trailer",            "transfer-encoding", "upgrade",
                                                "user-agent",         "x-amzn-trace-id"};
  return std::find(std::begin(kNever), std::end(kNever), lower_name) != std::end(kNever);
}

bool selected(std::string_view lower_name, SigV4HeaderSelection selection) {
  if (never_signed(lower_name)) return false;
  if (selection == SigV4HeaderSelection::kAll) return true;
  return lower_name == "host" || lower_name == "content-type" || lower_name == "date" ||
         lower_name.starts_with("x-amz-") || lower_name.starts_with("x-amzn-");
}

}  // namespace

std::string sha256_hex(std::string_view bytes) { return hex(sha256(bytes)); }

absl::StatusOr<SigV4Signature> sign_sigv4(const SigV4Request& request, const SigV4Credentials& credentials) {
  if (credentials.access_key_id.empty() || credentials.secret_access_key.empty()) {
    return absl::InvalidArgumentError("SigV4: the access key id or secret access key is empty");
  }
  if (request.region.empty() || request.service.empty() || request.method.empty()) {
    return absl::InvalidArgumentError("SigV4: the region, service or method is empty");
  }
  UrlParts url;
  if (!split_url(request.url, url)) {
    return absl::InvalidArgumentError(fmt::format("SigV4: cannot take a host from the URL '{}'", request.url));
  }

  const std::string amz_date = absl::FormatTime("%Y%m%dT%H%M%SZ", request.time, absl::UTCTimeZone());
  const std::string_view date = std::string_view(amz_date).substr(0, 8);
  const std::string payload_hash = sha256_hex(request.body);

  // (lowercase name, collapsed value) in the caller's order, plus ours.
  std::vector<std::pair<std::string, std::string>> signed_list;
  signed_list.reserve(request.headers.size() + 4);
  bool have_host = false;
  for (const auto& [name, value] : request.headers) {
    std::string lower = ascii_lower(strip_ascii_whitespace(name));
    if (is_set_by_signer(lower) || !selected(lower, request.header_selection)) continue;
    have_host = have_host || lower == "host";
    std::string v;
    append_collapsed(value, v);
    signed_list.emplace_back(std::move(lower), std::move(v));
  }
  if (!have_host) {
    std::string host = ascii_lower(url.host);
    if (!default_port(url.scheme, url.port)) fmt::format_to(std::back_inserter(host), ":{}", url.port);
    signed_list.emplace_back("host", std::move(host));
  }
  signed_list.emplace_back("x-amz-date", amz_date);
  const bool has_token = !credentials.session_token.empty();
  if (has_token && request.sign_session_token) {
    signed_list.emplace_back("x-amz-security-token", std::string(credentials.session_token));
  }
  if (request.add_content_sha256_header) signed_list.emplace_back("x-amz-content-sha256", payload_hash);
  // Stable: repeated names keep the caller's order when joined.
  std::stable_sort(signed_list.begin(), signed_list.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });

  SigV4Signature sig;
  std::string canonical_headers;
  for (size_t i = 0; i < signed_list.size(); ++i) {
    const auto& [name, value] = signed_list[i];
    if (i > 0 && signed_list[i - 1].first == name) {
      canonical_headers.push_back(',');
    } else {
      if (i > 0) {
        canonical_headers.push_back('\n');
        sig.signed_headers.push_back(';');
      }
      fmt::format_to(std::back_inserter(canonical_headers), "{}:", name);
      sig.signed_headers += name;
    }
    canonical_headers += value;
  }
  canonical_headers.push_back('\n');

  std::string canonical_uri;
  if (request.normalize_path) {
    uri_encode(remove_dot_segments(url.path), true, canonical_uri);
  } else {
    uri_encode(url.path.empty() ? std::string_view("/") : url.path, true, canonical_uri);
  }

  sig.canonical_request = fmt::format("{}\n{}\n{}\n{}\n{}\n{}", request.method, canonical_uri,
                                      canonical_query(url.query), canonical_headers, sig.signed_headers, payload_hash);
  const std::string scope = fmt::format("{}/{}/{}/aws4_request", date, request.region, request.service);
  sig.string_to_sign = fmt::format("{}\n{}\n{}\n{}", kAlgorithm, amz_date, scope, hex(sha256(sig.canonical_request)));

  std::string secret_key = fmt::format("AWS4{}", credentials.secret_access_key);
  const Digest k_date = hmac(secret_key, date);
  OPENSSL_cleanse(secret_key.data(), secret_key.size());
  const Digest k_region = hmac(view(k_date), request.region);
  const Digest k_service = hmac(view(k_region), request.service);
  const Digest k_signing = hmac(view(k_service), "aws4_request");
  sig.signature = hex(hmac(view(k_signing), sig.string_to_sign));

  sig.headers.emplace_back("X-Amz-Date", amz_date);
  if (has_token) sig.headers.emplace_back("X-Amz-Security-Token", std::string(credentials.session_token));
  if (request.add_content_sha256_header) sig.headers.emplace_back("X-Amz-Content-SHA256", payload_hash);
  sig.headers.emplace_back("Authorization",
                           fmt::format("{} Credential={}/{}, SignedHeaders={}, Signature={}", kAlgorithm,
                                       credentials.access_key_id, scope, sig.signed_headers, sig.signature));
  return sig;
}

absl::Status sign_http_request(transport::HttpRequest& request, const SigV4Credentials& credentials,
                               std::string_view region, std::string_view service, absl::Time time) {
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  headers.reserve(request.headers.size());
  for (const std::string& line : request.headers) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;  // curl's "Name;" form (empty value) is never signed here
    headers.emplace_back(std::string_view(line).substr(0, colon), std::string_view(line).substr(colon + 1));
  }
  SigV4Request r;
  r.method = request.method;
  r.url = request.url;
  r.headers = headers;
  r.body = request.body;
  r.region = region;
  r.service = service;
  r.time = time;
  absl::StatusOr<SigV4Signature> sig = sign_sigv4(r, credentials);
  if (!sig.ok()) return sig.status();
  // Signed values replace any the caller set (a retry re-signs the same request).
  std::erase_if(request.headers, [](const std::string& line) {
    const std::string lower = ascii_lower(strip_ascii_whitespace(std::string_view(line).substr(0, line.find(':'))));
    return is_set_by_signer(lower);
  });
  for (const auto& [name, value] : sig->headers) request.headers.push_back(fmt::format("{}: {}", name, value));
  return absl::OkStatus();
}

}  // namespace llmux::provider
