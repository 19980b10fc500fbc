#include "provider/aws_credentials.hpp"

#include <algorithm>
#include <cstdlib>
#include <utility>

#include <absl/time/clock.h>
#include <fmt/format.h>
#include <simdjson.h>

#include "common/strings.hpp"
#include "provider/aws_credential_sources.hpp"
#include "provider/aws_shared_config.hpp"
#include "provider/single_flight.hpp"

namespace llmux::provider {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kDefaultRegion = "us-west-2";
constexpr std::string_view kImdsDefault = "http://169.254.169.254";
constexpr std::string_view kImdsDefaultIpv6 = "http://[fd00:ec2::254]";
// After a failed advisory refresh the old credentials serve on; the next
// attempt waits this long (or until half the way to the mandatory point).
constexpr Duration kAdvisoryRetry = 30s;

std::string process_env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

std::string param(simdjson::dom::object params, std::string_view key) {
  std::string_view v;
  if (params.at_key(key).get_string().get(v) == simdjson::SUCCESS) return std::string(strip_ascii_whitespace(v));
  return {};
}

std::string without_trailing_slashes(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

std::string first(std::initializer_list<std::string> values) {
  for (const std::string& v : values) {
    if (!v.empty()) return v;
  }
  return {};
}

std::string expand_home(std::string path, const std::string& home) {
  if (path.starts_with("~/") && !home.empty()) path = home + path.substr(1);
  return path;
}

}  // namespace

std::string region_from_model_arn(std::string_view model) {
  // An ARN starts the model or follows a route prefix ("converse/arn:…").
  size_t at = 0;
  if (!model.starts_with("arn:")) {
    at = model.find("/arn:");
    if (at == std::string_view::npos) return {};
    ++at;
  }
  // arn:<partition>:bedrock:<region>:<account>:…
  std::string_view rest = model.substr(at);
  for (int field = 0; field < 3; ++field) {
    const size_t colon = rest.find(':');
    if (colon == std::string_view::npos) return {};
    rest.remove_prefix(colon + 1);
  }
  const size_t end = rest.find(':');
  if (end == std::string_view::npos) return {};
  return std::string(rest.substr(0, end));
}

AwsSettings resolve_aws_settings(const DeploymentConfig& d, const AwsEnvLookup& env_lookup) {
  const AwsEnvLookup env = env_lookup ? env_lookup : AwsEnvLookup(process_env);
  simdjson::dom::parser parser;
  simdjson::dom::object params;
  const std::string_view json = d.litellm_params_json;
  if (parser.parse(json.data(), json.size()).get(params) != simdjson::SUCCESS) {
    if (parser.parse("{}", 2).get(params) != simdjson::SUCCESS) return AwsSettings{};
  }
  // LiteLLM: the param, else the environment variable of its upper-cased name.
  auto param_or_env = [&](std::string_view key, const char* var) {
    std::string v = param(params, key);
    return v.empty() ? env(var) : v;
  };

  AwsSettings s;
  s.access_key_id = param(params, "aws_access_key_id");
  s.secret_access_key = param(params, "aws_secret_access_key");
  s.keys_from_params = !s.access_key_id.empty() || !s.secret_access_key.empty();
  if (s.keys_from_params) {
    s.session_token = param(params, "aws_session_token");
  } else {
    s.access_key_id = env("AWS_ACCESS_KEY_ID");
    s.secret_access_key = env("AWS_SECRET_ACCESS_KEY");
    s.session_token = first({param(params, "aws_session_token"), env("AWS_SESSION_TOKEN"), env("AWS_SECURITY_TOKEN")});
  }
  s.session_name = param_or_env("aws_session_name", "AWS_SESSION_NAME");
  s.profile_name = param_or_env("aws_profile_name", "AWS_PROFILE_NAME");
  // Only litellm_params turn on role assumption (not AWS_ROLE_NAME /
  // AWS_WEB_IDENTITY_TOKEN): see the header.
  s.role_name = param(params, "aws_role_name");
  s.web_identity_token = param(params, "aws_web_identity_token");
  if (!s.web_identity_token.empty()) {
    // LiteLLM's get_secret: an environment variable's name; a file path too.
    s.web_identity_token_value = env(s.web_identity_token.c_str());
    if (s.web_identity_token_value.empty()) s.web_identity_token_path = s.web_identity_token;
  }
  s.external_id = param_or_env("aws_external_id", "AWS_EXTERNAL_ID");

  const std::string home = env("HOME");
  s.env_profile = first({env("AWS_PROFILE"), env("AWS_DEFAULT_PROFILE")});
  s.shared_credentials_file = expand_home(first({env("AWS_SHARED_CREDENTIALS_FILE"), "~/.aws/credentials"}), home);
  s.config_file = expand_home(first({env("AWS_CONFIG_FILE"), "~/.aws/config"}), home);
  s.web_identity_token_file = expand_home(env("AWS_WEB_IDENTITY_TOKEN_FILE"), home);
  s.role_arn = env("AWS_ROLE_ARN");
  s.role_session_name = env("AWS_ROLE_SESSION_NAME");
  s.container_relative_uri = env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
  s.container_full_uri = env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
  s.container_auth_token = env("AWS_CONTAINER_AUTHORIZATION_TOKEN");
  s.container_auth_token_file = env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
  s.imds_endpoint = without_trailing_slashes(first(
      {env("AWS_EC2_METADATA_SERVICE_ENDPOINT"),
       equals_ignore_case(env("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE"), "ipv6") ? std::string(kImdsDefaultIpv6)
                                                                                 : std::string(kImdsDefault)}));
  s.imds_disabled = equals_ignore_case(env("AWS_EC2_METADATA_DISABLED"), "true");
  s.imds_v1_disabled = equals_ignore_case(env("AWS_EC2_METADATA_V1_DISABLED"), "true");

  // §5.1's region order; the config file's region is the profile's.
  s.region = first({param(params, "aws_region_name"), region_from_model_arn(d.model),
                    region_from_model_arn(param(params, "model_id")), env("AWS_REGION_NAME"), env("AWS_REGION"),
                    env("AWS_DEFAULT_REGION")});
  if (s.region.empty()) {
    const std::string profile = first({s.profile_name, s.env_profile, "default"});
    if (std::optional<std::string> text = read_small_file(s.config_file)) {
      IniFile ini = parse_aws_ini(*text);
      auto it = ini.find("profile " + profile);
      if (it == ini.end() && profile == "default") it = ini.find("default");
      if (it != ini.end() && it->second.contains("region")) s.region = it->second.at("region");
    }
  }
  if (s.region.empty()) s.region = kDefaultRegion;
  s.sts_endpoint = without_trailing_slashes(first({param_or_env("aws_sts_endpoint", "AWS_STS_ENDPOINT"),
                                                   env("AWS_ENDPOINT_URL_STS"), env("AWS_ENDPOINT_URL"),
                                                   fmt::format("https://sts.{}.amazonaws.com", s.region)}));
  return s;
}

struct AwsCredentialProvider::State {
  std::string deployment_id;
  std::shared_ptr<AwsCredentialSource> source;
  WallClock wall_clock;
  transport::EventLoop* loop = nullptr;
  bool have = false;
  AwsCredentials credentials;
  // Loop times: refresh in the background from advisory_at, make calls wait
  // from mandatory_at; max() when the credentials never expire.
  TimePoint advisory_at = TimePoint::max();
  TimePoint mandatory_at = TimePoint::max();
  TimePoint retry_at{};  // no advisory refresh before this (after one failed)
  SingleFlight flight;

  Error failure(std::string_view from, const Error& cause) const {
    return Error(ErrorKind::kAuthentication,
                 fmt::format("deployment {}: AWS credentials from {} failed: {}", deployment_id, from, cause.message));
  }

  static void start_fetch(const std::shared_ptr<State>& self) {
    std::weak_ptr<State> weak = self;
    self->source->fetch(*self->loop, [weak](std::string_view from, Result<AwsCredentials> got) {
      if (std::shared_ptr<State> s = weak.lock()) s->on_fetched(from, std::move(got));
    });
  }

  void on_fetched(std::string_view from, Result<AwsCredentials> got) {
    const TimePoint now = loop->now();
    if (got.ok() && got->expiration) {
      const Duration lifetime = absl::ToChronoNanoseconds(*got->expiration - wall_clock());
      if (lifetime <= Duration::zero()) {
        got = Error(ErrorKind::kAuthentication,
                    fmt::format("the credentials had expired already (Expiration {})",
                                absl::FormatTime(absl::RFC3339_sec, *got->expiration, absl::UTCTimeZone())));
      } else {
        // Short-lived credentials: refresh at half their life, wait at three quarters.
        advisory_at = now + (lifetime - std::min<Duration>(kAdvisoryRefresh, lifetime / 2));
        mandatory_at = now + (lifetime - std::min<Duration>(kMandatoryRefresh, lifetime / 4));
      }
    } else if (got.ok()) {
      advisory_at = mandatory_at = TimePoint::max();
    }
    if (got.ok()) {
      credentials = std::move(*got);
      have = true;
      flight.finish(Status::Ok());
      return;
    }
    // A failed advisory refresh leaves usable credentials in place.
    if (have && now < mandatory_at) {
      retry_at = now + std::min<Duration>(kAdvisoryRetry, (mandatory_at - now) / 2);
    } else {
      have = false;
      credentials = AwsCredentials{};
    }
    flight.finish(failure(from, got.error()));
  }
};

std::shared_ptr<AwsCredentialProvider> AwsCredentialProvider::from_litellm_params(const DeploymentConfig& deployment,
                                                                                  const AwsEnvLookup& env,
                                                                                  Options options) {
  AwsSettings settings = resolve_aws_settings(deployment, env);
  std::shared_ptr<AwsCredentialSource> source = choose_aws_credential_source(settings);
  return std::make_shared<AwsCredentialProvider>(deployment.id, std::move(settings), std::move(source),
                                                 std::move(options));
}

AwsCredentialProvider::AwsCredentialProvider(std::string deployment_id, AwsSettings settings,
                                             std::shared_ptr<AwsCredentialSource> source, Options options)
    : settings_(std::move(settings)), state_(std::make_shared<State>()) {
  state_->deployment_id = std::move(deployment_id);
  state_->source = std::move(source);
  state_->wall_clock = options.wall_clock ? std::move(options.wall_clock) : WallClock([] { return absl::Now(); });
}

AwsCredentialProvider::~AwsCredentialProvider() = default;

void AwsCredentialProvider::prepare(transport::EventLoop& loop, ReadyCallback ready) {
  State& s = *state_;
  s.loop = &loop;
  const TimePoint now = loop.now();
  if (s.have && now < s.mandatory_at) {
    // Due an advisory refresh: one in the background, this call goes on.
    if (now >= s.advisory_at && now >= s.retry_at && s.flight.begin()) State::start_fetch(state_);
    ready(Status::Ok());
    return;
  }
  if (s.flight.join(std::move(ready))) State::start_fetch(state_);
}

const AwsCredentials& AwsCredentialProvider::credentials() const { return state_->credentials; }

std::string AwsCredentialProvider::source_name() const { return state_->source->name(); }

int AwsCredentialProvider::fetches() const { return state_->flight.started(); }

void AwsCredentialProvider::append_secrets(std::vector<std::string>& out) const {
  const AwsSettings& s = settings_;
  for (const std::string* v : {&s.secret_access_key, &s.session_token, &s.web_identity_token_value,
                               &s.container_auth_token}) {
    if (!v->empty()) out.push_back(*v);
  }
  const std::string profile = first({s.profile_name, s.env_profile, "default"});
  const AwsProfile p = load_aws_profile(s.shared_credentials_file, s.config_file, profile);
  for (const char* key : {"aws_secret_access_key", "aws_session_token"}) {
    if (std::string v = p.value(key); !v.empty()) out.push_back(std::move(v));
  }
}

}  // namespace llmux::provider
