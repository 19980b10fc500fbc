// -----------------------------------------------------------------------------
// File: tests/support/fake_aws_metadata.hpp
// -----------------------------------------------------------------------------
// AWS's credential endpoints on 127.0.0.1 (providers.md §5.5, §6), on the
// fake provider's server, each answering as AWS does:
//   IMDSv2   PUT /latest/api/token (needs x-aws-ec2-metadata-token-ttl-seconds)
//            → a session token; GET /latest/meta-data/iam/security-credentials/
//            and …/<role> need that token in x-aws-ec2-metadata-token (401
//            otherwise) → the role name, then the credentials JSON.
//            Point a deployment at it with AWS_EC2_METADATA_SERVICE_ENDPOINT.
//   ECS      GET /ecs/credentials (AWS_CONTAINER_CREDENTIALS_FULL_URI =
//            ecs_full_uri()); checks Authorization when an expected token is set.
//   STS      POST / form Action=AssumeRoleWithWebIdentity (checks RoleArn and
//            WebIdentityToken) or Action=AssumeRole, whose SigV4 signature
//            (service "sts", region sts_region()) it recomputes with the
//            secret of the signing key — one it issued itself or one made
//            known with add_known_key — and refuses with STS's
//            SignatureDoesNotMatch when it differs → the XML answer
//            (aws_sts_endpoint / AWS_ENDPOINT_URL_STS = base_url()).
// Every answer hands out fresh credentials: AccessKeyId "ASIAFAKE<kind><n>",
// SecretAccessKey secret_prefix() + n, Token "session-<n>", Expiration
// lifetime() ahead of the wall clock (fractional seconds, so seconds-long
// lifetimes are exact). fail_with makes every credentials answer an error.
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "support/fake_provider.hpp"

namespace llmux::testing {

class FakeAwsMetadata {
 public:
  FakeAwsMetadata();

  std::string base_url() const;      // "http://127.0.0.1:<port>"
  std::string ecs_full_uri() const;  // base_url() + "/ecs/credentials"

  void set_lifetime(std::chrono::milliseconds lifetime);  // default 1 h
  void set_secret_prefix(std::string prefix);             // default "fake-secret-"
  void set_role_name(std::string role);                   // IMDS role, default "llmux-test-role"
  void expect_web_identity(std::string role_arn, std::string token);
  void expect_container_token(std::string token);  // "" = no Authorization needed
  void add_known_key(std::string access_key_id, std::string secret_access_key);
  void set_sts_region(std::string region);  // what AssumeRole must be signed for, default us-west-2
  // Every credentials answer (IMDS credentials, ECS, STS) fails: status and body as given.
  void fail_with(int status, std::string body);
  void succeed();

  // Credentials issued so far, per endpoint.
  int imds_issued() const;
  int ecs_issued() const;
  int sts_issued() const;
  std::vector<std::string> problems() const;  // requests refused for a wrong header/form
  std::vector<ReceivedRequest> requests() const;

 private:
  Behavior answer(const ReceivedRequest& request);
  std::string credentials_json(int n, std::string_view kind);
  std::string check_signature(const ReceivedRequest& request) const;  // "" when good
  std::string expiration() const;

  mutable std::mutex mu_;
  std::chrono::milliseconds lifetime_{std::chrono::hours(1)};  // guarded by mu_
  std::string secret_prefix_ = "fake-secret-";                 // guarded by mu_
  std::string role_ = "llmux-test-role";                       // guarded by mu_
  std::string web_role_arn_, web_token_, container_token_;     // guarded by mu_
  int fail_status_ = 0;                                        // guarded by mu_
  std::string fail_body_;                                      // guarded by mu_
  int imds_tokens_ = 0, imds_ = 0, ecs_ = 0, sts_ = 0;          // guarded by mu_
  std::vector<std::string> problems_;                          // guarded by mu_
  std::map<std::string, std::string> secrets_;                 // access key → secret, guarded by mu_
  std::string sts_region_ = "us-west-2";                       // guarded by mu_
  FakeProvider server_;  // last: stopped (its thread joined) before the rest goes
};

}  // namespace llmux::testing
