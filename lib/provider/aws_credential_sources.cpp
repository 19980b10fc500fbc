// Which AWS credential source a deployment uses (LiteLLM's order, then
// boto3's default chain), and the file-backed sources: static keys and
// profiles of the shared credentials/config files.
#include "provider/aws_credential_sources.hpp"

#include <utility>
#include <vector>

#include <curl/curl.h>
#include <fmt/format.h>

#include "provider/aws_shared_config.hpp"

namespace llmux::provider {
namespace {

class Exchange final : public transport::TransferObserver {
 public:
  explicit Exchange(std::function<void(transport::TransferResult&&)> done) : done_(std::move(done)) {}
  void on_complete(transport::TransferResult&& result) override {
    std::unique_ptr<Exchange> self(this);
    done_(std::move(result));
  }

 private:
  std::function<void(transport::TransferResult&&)> done_;
};

class StaticSource final : public AwsCredentialSource {
 public:
  StaticSource(std::string name, AwsCredentials creds) : name_(std::move(name)), creds_(std::move(creds)) {}
  std::string name() const override { return name_; }
  void fetch(transport::EventLoop& /*loop*/, AwsCredentialsCallback done) override { done(name_, creds_); }

 private:
  std::string name_;
  AwsCredentials creds_;
};

// A source that cannot work, said when it is asked.
class FailingSource final : public AwsCredentialSource {
 public:
  FailingSource(std::string name, std::string why) : name_(std::move(name)), why_(std::move(why)) {}
  std::string name() const override { return name_; }
  void fetch(transport::EventLoop& /*loop*/, AwsCredentialsCallback done) override {
    done(name_, Error(ErrorKind::kAuthentication, why_));
  }

 private:
  std::string name_, why_;
};

// A web identity fetch whose token is read from `token_file`.
WebIdentityRequest from_token_file(std::string role_arn, std::string session_name, std::string token_file) {
  WebIdentityRequest r;
  r.role_arn = std::move(role_arn);
  r.session_name = std::move(session_name);
  r.token_file = std::move(token_file);
  return r;
}

std::string profile_label(const std::string& profile) { return fmt::format("profile '{}'", profile); }

// What a profile's keys say, or nullptr when they hold no credentials (the
// default chain then goes on). Sources the profile points to (web identity)
// are made here; the rest are not supported yet.
std::shared_ptr<AwsCredentialSource> source_of_profile(const AwsSettings& settings, const std::string& profile,
                                                       const AwsProfile& p) {
  const std::string label = profile_label(profile);
  const std::string key = p.value("aws_access_key_id");
  const std::string secret = p.value("aws_secret_access_key");
  if (!key.empty() || !secret.empty()) {
    if (key.empty() || secret.empty()) {
      return std::make_shared<FailingSource>(
          label, "the profile has only one of aws_access_key_id and aws_secret_access_key");
    }
    return make_static_source(label, AwsCredentials{key, secret, p.value("aws_session_token"), std::nullopt});
  }
  const std::string role_arn = p.value("role_arn");
  if (!role_arn.empty() && !p.value("web_identity_token_file").empty()) {
    return make_web_identity_source(
        settings, from_token_file(role_arn, p.value("role_session_name"), p.value("web_identity_token_file")));
  }
  auto unsupported = [&](std::string_view what) {
    return std::make_shared<FailingSource>(label, fmt::format("{} in a profile is not supported yet", what));
  };
  if (!role_arn.empty()) return unsupported("role_arn with source_profile / credential_source");
  if (!p.value("credential_process").empty()) return unsupported("credential_process");
  if (!p.value("sso_session").empty() || !p.value("sso_start_url").empty()) return unsupported("AWS SSO");
  return nullptr;
}

class ProfileSource final : public AwsCredentialSource {
 public:
  ProfileSource(AwsSettings settings, std::string profile)
      : settings_(std::move(settings)), profile_(std::move(profile)) {}
  std::string name() const override { return profile_label(profile_); }
  void fetch(transport::EventLoop& loop, AwsCredentialsCallback done) override {
    const AwsProfile p = load_aws_profile(settings_.shared_credentials_file, settings_.config_file, profile_);
    if (!p.found) {
      done(name(), Error(ErrorKind::kAuthentication,
                         fmt::format("the profile is in neither {} nor {}", settings_.shared_credentials_file,
                                     settings_.config_file)));
      return;
    }
    std::shared_ptr<AwsCredentialSource> source = source_of_profile(settings_, profile_, p);
    if (source == nullptr) {
      done(name(), Error(ErrorKind::kAuthentication, "the profile holds no credentials"));
      return;
    }
    source->fetch(loop, std::move(done));
  }

 private:
  AwsSettings settings_;
  std::string profile_;
};

// boto3's default chain after the environment's keys (which the chooser
// handles): web identity from the environment, the profile, the container
// endpoint, IMDS. Decided at each fetch, since the files may change.
class DefaultChain final : public AwsCredentialSource {
 public:
  explicit DefaultChain(AwsSettings settings) : settings_(std::move(settings)) {}
  std::string name() const override { return "the default credential chain"; }

  void fetch(transport::EventLoop& loop, AwsCredentialsCallback done) override {
    Result<std::shared_ptr<AwsCredentialSource>> source = choose();
    if (!source.ok()) {
      done(name(), source.error());
      return;
    }
    (*source)->fetch(loop, std::move(done));
  }

 private:
  Result<std::shared_ptr<AwsCredentialSource>> choose() const {
    const AwsSettings& s = settings_;
    if (!s.web_identity_token_file.empty() && !s.role_arn.empty()) {
      return make_web_identity_source(s, from_token_file(s.role_arn, s.role_session_name, s.web_identity_token_file));
    }
    const std::string profile = s.env_profile.empty() ? "default" : s.env_profile;
    const AwsProfile p = load_aws_profile(s.shared_credentials_file, s.config_file, profile);
    if (!p.found && !s.env_profile.empty()) {
      return Error(ErrorKind::kAuthentication,
                   fmt::format("AWS_PROFILE {} is in neither {} nor {}", profile, s.shared_credentials_file,
                               s.config_file));
    }
    if (p.found) {
      if (std::shared_ptr<AwsCredentialSource> from_profile = source_of_profile(s, profile, p)) return from_profile;
    }
    if (!s.container_relative_uri.empty() || !s.container_full_uri.empty()) return make_container_source(s);
    if (!s.imds_disabled) return make_imds_source(s);
    return Error(ErrorKind::kAuthentication,
                 fmt::format("no credentials found (no keys in litellm_params or the environment, no web identity, "
                             "profile '{}' has none, no container endpoint, IMDS disabled)",
                             profile));
  }

  AwsSettings settings_;
};

}  // namespace

void run_aws_exchange(transport::EventLoop& loop, transport::HttpRequest request,
                      std::function<void(transport::TransferResult&&)> done) {
  loop.start_transfer(std::move(request), new Exchange(std::move(done)));
}

std::string redact(std::string message, std::string_view secret) {
  if (secret.size() < 4) return message;
  auto scrub = [&](std::string_view s) {
    for (size_t at = message.find(s); at != std::string::npos; at = message.find(s, at)) {
      message.replace(at, s.size(), "[redacted]");
    }
  };
  scrub(secret);
  // As it went out in a form or URL, too.
  if (char* e = curl_easy_escape(nullptr, secret.data(), static_cast<int>(secret.size()))) {
    const std::string escaped(e);
    curl_free(e);
    if (escaped != secret) scrub(escaped);
  }
  return message;
}

std::optional<absl::Time> parse_aws_time(std::string_view text) {
  absl::Time t;
  std::string err;
  const std::string s(text);
  if (s.find("infinite") != std::string::npos) return std::nullopt;  // absl accepts these literals
  if (!absl::ParseTime("%Y-%m-%dT%H:%M:%E*S%Ez", s, &t, &err)) return std::nullopt;
  return t;
}

std::shared_ptr<AwsCredentialSource> make_static_source(std::string name, AwsCredentials credentials) {
  return std::make_shared<StaticSource>(std::move(name), std::move(credentials));
}

std::shared_ptr<AwsCredentialSource> make_profile_source(const AwsSettings& settings, std::string profile) {
  return std::make_shared<ProfileSource>(settings, std::move(profile));
}

std::shared_ptr<AwsCredentialSource> make_default_chain(const AwsSettings& settings) {
  return std::make_shared<DefaultChain>(settings);
}

std::shared_ptr<AwsCredentialSource> choose_aws_credential_source(const AwsSettings& s) {
  const bool has_key = !s.access_key_id.empty();
  const bool has_secret = !s.secret_access_key.empty();
  const std::string keys_label = s.keys_from_params ? "static keys (litellm_params)" : "environment (AWS_ACCESS_KEY_ID)";
  if (has_key != has_secret) {
    return std::make_shared<FailingSource>(
        keys_label, has_key ? "aws_access_key_id is set but aws_secret_access_key is not"
                            : "aws_secret_access_key is set but aws_access_key_id is not");
  }
  auto static_keys = [&] {
    return make_static_source(keys_label, AwsCredentials{s.access_key_id, s.secret_access_key, s.session_token,
                                                         std::nullopt});
  };
  // 1. Web identity named in litellm_params (LiteLLM asks STS for an hour).
  if (!s.web_identity_token.empty() && !s.role_name.empty()) {
    if (s.web_identity_token.starts_with("oidc/")) {
      return std::make_shared<FailingSource>("STS AssumeRoleWithWebIdentity",
                                             "aws_web_identity_token 'oidc/…' providers are not supported yet");
    }
    WebIdentityRequest request = from_token_file(s.role_name, s.session_name, s.web_identity_token_path);
    request.token = s.web_identity_token_value;
    request.duration_seconds = 3600;
    return make_web_identity_source(s, std::move(request));
  }
  // 2. A role to assume: already that role through IRSA, or AssumeRole with
  // the best base credentials at hand.
  if (!s.role_name.empty()) {
    const bool irsa = !s.web_identity_token_file.empty() && !s.role_arn.empty();
    if (irsa && s.role_arn == s.role_name) {
      return make_web_identity_source(s, from_token_file(s.role_arn, s.role_session_name, s.web_identity_token_file));
    }
    std::shared_ptr<AwsCredentialSource> base;
    if (has_key) {
      base = static_keys();
    } else if (!s.profile_name.empty()) {
      base = make_profile_source(s, s.profile_name);
    } else {
      base = make_default_chain(s);
    }
    return make_assume_role_source(s, std::move(base));
  }
  // 3. A named profile; 4./5. static keys; 6. boto3's chain.
  if (!s.profile_name.empty()) return make_profile_source(s, s.profile_name);
  if (has_key) return static_keys();
  return make_default_chain(s);
}

}  // namespace llmux::provider
