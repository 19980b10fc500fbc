// -----------------------------------------------------------------------------
// File: provider/aws_credentials.hpp
// -----------------------------------------------------------------------------
// The AWS credentials of one Bedrock deployment (providers.md §5.1, §5.5):
// which source they come from (LiteLLM's order, then boto3's default chain),
// the region requests are signed for, and a cache that fetches temporary
// credentials on the router's loop and refreshes them ahead of expiry.
//
// For the Bedrock adapter:
//   make_auth:     return AwsCredentialProvider::from_litellm_params(deployment);
//   prepare:       static_cast<AwsCredentialProvider*>(target.auth)->prepare(loop, ready);
//   build_request: auth->credentials() (key, secret, session token) and
//                  auth->settings().region for SigV4.
//
// Sources (aws_credential_sources.hpp): static keys, a named profile of the
// shared credentials/config files, STS AssumeRoleWithWebIdentity and
// AssumeRole, the ECS container endpoint and EC2 IMDSv2. The environment and
// litellm_params are read once, when the provider is made; files are read at
// fetch time (small, local); network fetches are loop transfers.
//
// Thread safety: AwsCredentialProvider is used on the loop thread only
// (prepare, credentials). It may be destroyed while a fetch is in flight: the
// fetch then completes into nothing. resolve_aws_settings may be called from
// any thread.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <absl/time/time.h>

#include "llmux/clock.hpp"
#include "llmux/config.hpp"
#include "llmux/error.hpp"
#include "provider/provider.hpp"
#include "transport/event_loop.hpp"

namespace llmux::provider {

struct AwsCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;             // empty for long-term keys
  std::optional<absl::Time> expiration;  // unset: never expires
};

// The process environment by default: the value of `name`, "" when unset.
// Tests pass their own.
using AwsEnvLookup = std::function<std::string(const char* name)>;
// Wall-clock time: only used to turn an Expiration timestamp into a lifetime
// on the loop's clock. absl::Now by default; simulated tests pass their own.
using WallClock = std::function<absl::Time()>;

// Everything that decides a deployment's credentials and region, read from
// litellm_params (os.environ/ already resolved) and the environment.
struct AwsSettings {
  // litellm_params, else the upper-cased environment variable (LiteLLM),
  // except aws_role_name and aws_web_identity_token: their AWS_ROLE_NAME /
  // AWS_WEB_IDENTITY_TOKEN are NOT read, so a stray variable never turns on
  // role assumption (README, Differences from LiteLLM).
  std::string access_key_id;      // aws_access_key_id / AWS_ACCESS_KEY_ID
  std::string secret_access_key;  // aws_secret_access_key / AWS_SECRET_ACCESS_KEY
  std::string session_token;      // aws_session_token / AWS_SESSION_TOKEN, AWS_SECURITY_TOKEN
  bool keys_from_params = false;  // the key pair came from litellm_params
  std::string session_name;       // aws_session_name / AWS_SESSION_NAME
  std::string profile_name;       // aws_profile_name / AWS_PROFILE_NAME (explicit profile)
  std::string role_name;          // aws_role_name (a role ARN)
  std::string web_identity_token; // aws_web_identity_token as written: an env var name or a file path
  std::string web_identity_token_value;  // the token, when it names a set environment variable
  std::string web_identity_token_path;   // else the file it names (read at each fetch)
  std::string external_id;        // aws_external_id / AWS_EXTERNAL_ID

  // Where requests are signed for (§5.1): aws_region_name → the region of a
  // model ARN → AWS_REGION_NAME → AWS_REGION → AWS_DEFAULT_REGION → the
  // profile's region in the config file → us-west-2.
  std::string region;
  // aws_sts_endpoint / AWS_STS_ENDPOINT → AWS_ENDPOINT_URL_STS →
  // AWS_ENDPOINT_URL → https://sts.<region>.amazonaws.com (no trailing '/').
  std::string sts_endpoint;

  // boto3's environment.
  std::string env_profile;              // AWS_PROFILE, AWS_DEFAULT_PROFILE ("" = default)
  std::string shared_credentials_file;  // AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials
  std::string config_file;              // AWS_CONFIG_FILE, else ~/.aws/config
  std::string web_identity_token_file;  // AWS_WEB_IDENTITY_TOKEN_FILE
  std::string role_arn;                 // AWS_ROLE_ARN
  std::string role_session_name;        // AWS_ROLE_SESSION_NAME
  std::string container_relative_uri;   // AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
  std::string container_full_uri;       // AWS_CONTAINER_CREDENTIALS_FULL_URI
  std::string container_auth_token;     // AWS_CONTAINER_AUTHORIZATION_TOKEN
  std::string container_auth_token_file;  // AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE
  std::string imds_endpoint;            // AWS_EC2_METADATA_SERVICE_ENDPOINT, else http://169.254.169.254
  bool imds_disabled = false;           // AWS_EC2_METADATA_DISABLED=true
  bool imds_v1_disabled = false;        // AWS_EC2_METADATA_V1_DISABLED=true: no IMDSv1 fallback
};

// Reads `deployment`'s settings (and the region from the config file when
// nothing closer names one). `env` empty = the process environment.
AwsSettings resolve_aws_settings(const DeploymentConfig& deployment, const AwsEnvLookup& env = {});

// The region inside a Bedrock model ARN ("arn:aws:bedrock:us-east-1:…"), or ""
// when `model` holds none (a "bedrock/converse/" prefix may come first).
std::string region_from_model_arn(std::string_view model);

class AwsCredentialSource;

class AwsCredentialProvider final : public DeploymentAuth {
 public:
  // Temporary credentials are refreshed while at least this much of their
  // life is left, without holding calls back (botocore's advisory margin)…
  static constexpr Duration kAdvisoryRefresh = std::chrono::minutes(15);
  // …and calls wait for fresh ones once less than this is left (botocore's
  // mandatory margin). The margins are capped at half and a quarter of the
  // lifetime, so seconds-long credentials are refreshed at half-life and
  // waited for at three quarters: one fetch per half-life, not per call.
  static constexpr Duration kMandatoryRefresh = std::chrono::minutes(10);

  struct Options {
    WallClock wall_clock;  // empty: absl::Now
  };

  // The credential provider of `deployment`: settings from litellm_params
  // and `env`, the source chosen as LiteLLM then boto3 would.
  static std::shared_ptr<AwsCredentialProvider> from_litellm_params(const DeploymentConfig& deployment,
                                                                    const AwsEnvLookup& env = {},
                                                                    Options options = {});

  AwsCredentialProvider(std::string deployment_id, AwsSettings settings,
                        std::shared_ptr<AwsCredentialSource> source, Options options = {});
  ~AwsCredentialProvider() override;
  AwsCredentialProvider(const AwsCredentialProvider&) = delete;
  AwsCredentialProvider& operator=(const AwsCredentialProvider&) = delete;

  // Calls `ready` once on the loop thread: at once when the cached
  // credentials are fresh (or only due an advisory refresh, which then
  // starts in the background); else when the one fetch it joins or starts
  // ends. A failure is a kAuthentication error "deployment <id>: AWS
  // credentials from <source> failed: <why>", never containing a secret.
  void prepare(transport::EventLoop& loop, ReadyCallback ready);
  // The credentials; valid on the loop thread after prepare reported success.
  // A background refresh may replace them between calls: sign with them
  // right away (build_request), do not keep the reference.
  const AwsCredentials& credentials() const;
  const AwsSettings& settings() const { return settings_; }
  // The chosen source, as errors name it ("IMDS", "STS AssumeRole", …).
  std::string source_name() const;
  // Fetches started so far (for tests and metrics).
  int fetches() const;
  // The secrets read from the environment (keys, session token, the web
  // identity token, the container token) and the profile's keys in the
  // shared files, for the router's redaction. Credentials fetched later
  // never appear in llmux's own messages.
  void append_secrets(std::vector<std::string>& out) const override;

  struct State;  // shared with the fetch in flight, which may outlive the provider

 private:
  AwsSettings settings_;
  std::shared_ptr<State> state_;
};

}  // namespace llmux::provider
