// -----------------------------------------------------------------------------
// File: provider/aws_credential_sources.hpp
// -----------------------------------------------------------------------------
// Where AWS credentials come from (providers.md §5.5). A source fetches once
// per call of fetch(); caching, refresh timing and single flight are
// AwsCredentialProvider's. Network sources run their requests as loop
// transfers (no blocking call, no thread); file sources read small local
// files when asked.
//
// choose_aws_credential_source picks, from the settings, the source LiteLLM
// would use (web identity, role, profile, static keys), else boto3's default
// chain (environment keys, web identity from AWS_WEB_IDENTITY_TOKEN_FILE, the
// shared credentials and config files, the ECS container endpoint, IMDSv2),
// which decides at fetch time which of its members applies.
//
// Thread safety: a source is used on the loop thread only.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "llmux/error.hpp"
#include "provider/aws_credentials.hpp"
#include "transport/event_loop.hpp"

namespace llmux::provider {

// Called once on the loop thread with the source that answered ("IMDS", a
// member of the default chain) and its credentials or why it failed (no
// secret in the message).
using AwsCredentialsCallback = std::function<void(std::string_view source, Result<AwsCredentials>)>;

class AwsCredentialSource {
 public:
  virtual ~AwsCredentialSource() = default;
  // What errors call it: "static keys", "IMDS", "profile 'dev'", …
  virtual std::string name() const = 0;
  virtual void fetch(transport::EventLoop& loop, AwsCredentialsCallback done) = 0;
};

std::shared_ptr<AwsCredentialSource> choose_aws_credential_source(const AwsSettings& settings);

// The individual sources, for the chooser and tests.
std::shared_ptr<AwsCredentialSource> make_static_source(std::string name, AwsCredentials credentials);
// A profile of the shared credentials file, else of the config file ("[profile
// x]", or "[default]"); a missing profile is an error (boto3's
// ProfileNotFound).
std::shared_ptr<AwsCredentialSource> make_profile_source(const AwsSettings& settings, std::string profile);
// STS AssumeRoleWithWebIdentity (unsigned POST, XML answer) at the
// settings' STS endpoint. The token is `token` when set (read from the
// environment when the source was made), else read at each fetch from
// `token_file` (projected tokens rotate).
struct WebIdentityRequest {
  std::string role_arn;
  std::string session_name;  // "": llmux-session-<unix time>
  std::string token;
  std::string token_file;
  int duration_seconds = 0;  // 0: STS's default
};
std::shared_ptr<AwsCredentialSource> make_web_identity_source(const AwsSettings& settings, WebIdentityRequest request);
// STS AssumeRole of settings.role_name (aws_session_name, aws_external_id)
// at the settings' STS endpoint, signed for the settings' region with the
// credentials `base` fetches first (each time: they may be temporary too).
std::shared_ptr<AwsCredentialSource> make_assume_role_source(const AwsSettings& settings,
                                                             std::shared_ptr<AwsCredentialSource> base);
std::shared_ptr<AwsCredentialSource> make_container_source(const AwsSettings& settings);
std::shared_ptr<AwsCredentialSource> make_imds_source(const AwsSettings& settings);
// boto3's default chain, decided at fetch time.
std::shared_ptr<AwsCredentialSource> make_default_chain(const AwsSettings& settings);

// Reads a credentials answer of the container endpoint or IMDS: JSON
// {"AccessKeyId","SecretAccessKey","Token","Expiration"} on HTTP 200.
Result<AwsCredentials> read_aws_json_credentials(const transport::TransferResult& result);
// Reads an STS AssumeRole / AssumeRoleWithWebIdentity answer (XML): the
// Credentials element on HTTP 200, else STS's <Error><Code>/<Message>.
Result<AwsCredentials> read_sts_credentials(const transport::TransferResult& result);
// ISO-8601 ("2026-12-02T07:26:15Z", fractions and offsets allowed).
std::optional<absl::Time> parse_aws_time(std::string_view text);

// `message` with every occurrence of `secret` (4 characters or more)
// replaced by "[redacted]": for endpoint error texts that might echo what
// they were sent.
std::string redact(std::string message, std::string_view secret);

// One HTTP exchange on the loop whose result goes to `done` (a self-deleting
// observer): the building block of multi-step fetches (IMDS).
void run_aws_exchange(transport::EventLoop& loop, transport::HttpRequest request,
                      std::function<void(transport::TransferResult&&)> done);

}  // namespace llmux::provider
