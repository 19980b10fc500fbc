// -----------------------------------------------------------------------------
// File: provider/aws_sigv4.hpp
// -----------------------------------------------------------------------------
// AWS Signature Version 4 (header form), exactly as botocore's SigV4Auth signs
// for non-S3 services such as Bedrock ("bedrock") and STS ("sts"):
//   - X-Amz-Date from the time given (the caller's clock; nothing here reads
//     one); X-Amz-Security-Token added *and signed* when there is a token;
//   - host from the URL, with ":port" only when not the scheme's default (what
//     libcurl sends as Host), unless the caller passes a Host header;
//   - canonical URI: dot segments and empty segments removed, then every byte
//     but unreserved characters and '/' percent-encoded — applied to the wire
//     path as given, so an encoded model id's "%3A" is signed as "%253A";
//   - canonical query: key=value pairs, each re-encoded, sorted;
//   - header values trimmed, inner whitespace runs collapsed to one space,
//     repeated names joined with ',';
//   - payload hash: hex SHA-256 of the exact body bytes.
// Which caller headers are signed: LiteLLM's selection by default (host,
// content-type, date, x-amz-*, x-amzn-*), or every header but botocore's
// never-signed list (for AWS's test suite). Headers not signed are simply
// sent as they are. SHA-256 and HMAC come from OpenSSL.
//
// Why not libcurl's CURLOPT_AWS_SIGV4: checked against vector A of
// providers.md §5.4 with libcurl 7.88.1 (Debian 12): it signs the path as
// sent, without the second encoding ("%3A" stays "%3A"), so its signature for
// any model id with ':' differs from botocore's (bec09be9… instead of
// 6ebc9aa8…) and Bedrock would reject it; it signs every custom header (no
// selection), takes a session token only as one more custom header, and
// sends X-Amz-Date twice when the caller supplies it (the only way to fix the
// time for a test). So the signer is ours.
//
// Free of router and provider types so that any code (the Bedrock adapter,
// STS AssumeRole in the credential chain, the fake provider's verifier) can
// use it. Stateless and thread-safe.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <absl/status/status.h>
#include <absl/status/statusor.h>
#include <absl/time/time.h>

#include "transport/transfer.hpp"

namespace llmux::provider {

// Borrowed for the duration of the call; never copied into results or errors
// (except the session token, which is a header to send).
struct SigV4Credentials {
  std::string_view access_key_id;
  std::string_view secret_access_key;
  std::string_view session_token;  // empty: none
};

enum class SigV4HeaderSelection {
  kLiteLlm,  // host, content-type, date, x-amz-*, x-amzn-* (LiteLLM's _filter_headers_for_aws_signature)
  kAll,      // every header except botocore's never-signed list (user-agent, expect, ...)
};

struct SigV4Request {
  std::string_view method = "POST";
  // "scheme://host[:port]/path[?query]" exactly as it goes on the wire: the
  // path and query already percent-encoded by the caller.
  std::string_view url;
  // The headers the caller will send (any case, any order, repeats allowed).
  // X-Amz-Date, X-Amz-Security-Token, X-Amz-Content-SHA256 and Authorization
  // among them are ignored: the signer sets its own.
  std::span<const std::pair<std::string_view, std::string_view>> headers;
  std::string_view body;
  std::string_view region;   // e.g. "us-east-1"
  std::string_view service;  // e.g. "bedrock", "sts"
  absl::Time time;           // the request time (UTC)

  SigV4HeaderSelection header_selection = SigV4HeaderSelection::kLiteLlm;
  // false: the path is encoded but not normalised (S3's rule, and the suite's
  // "normalize": false cases).
  bool normalize_path = true;
  // false: X-Amz-Security-Token is still returned, but not signed (the
  // suite's "omit_session_token"; not what botocore or LiteLLM do).
  bool sign_session_token = true;
  // Adds a signed X-Amz-Content-SHA256 header (S3; the suite's "sign_body").
  bool add_content_sha256_header = false;
};

struct SigV4Signature {
  // Headers to add to the request, in this order: X-Amz-Date,
  // [X-Amz-Security-Token], [X-Amz-Content-SHA256], Authorization.
  std::vector<std::pair<std::string, std::string>> headers;
  // The intermediate steps, for tests and for a verifier.
  std::string canonical_request;
  std::string string_to_sign;
  std::string signed_headers;  // "content-type;host;x-amz-date"
  std::string signature;       // lowercase hex
};

// Signs `request`. Errors (InvalidArgument) for a URL without scheme or host,
// empty credentials, region, service or method; their messages never contain
// a secret.
absl::StatusOr<SigV4Signature> sign_sigv4(const SigV4Request& request, const SigV4Credentials& credentials);

// Signs an outgoing transport request in place: its method, url, header lines
// ("Name: value") and body are signed as they are, and the signature's headers
// are appended as lines. Call it last, just before the request is sent.
absl::Status sign_http_request(transport::HttpRequest& request, const SigV4Credentials& credentials,
                               std::string_view region, std::string_view service, absl::Time time);

// Lowercase hex SHA-256 of `bytes` (the payload hash of the canonical request).
std::string sha256_hex(std::string_view bytes);

}  // namespace llmux::provider
