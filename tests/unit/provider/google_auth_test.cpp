// Google credentials (providers.md §4.3): the offline JWT vector of §4.9,
// the credentials and project/location chains, and the token requests each
// kind makes. No secret ever appears in an error.
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "provider/google_auth.hpp"
#include "support/fake_google.hpp"

using namespace llmux;
using namespace llmux::provider;

namespace {

// An environment made of a map.
GoogleEnv env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end() || it->second.empty()) return std::nullopt;
    return it->second;
  };
}

// A temporary directory removed at the end of the test.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char tmpl[] = "/tmp/llmux-google-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string write(const std::string& name, const std::string& text) const {
    const std::string p = (path / name).string();
    std::ofstream(p) << text;
    return p;
  }
};

std::string replace(std::string s, const std::string& from, const std::string& to) {
  const size_t at = s.find(from);
  REQUIRE(at != std::string::npos);
  s.replace(at, from.size(), to);
  return s;
}

// A line of the test key's PEM body, to prove it never leaks.
const std::string kKeyFragment = "MIIEpAIBAAKCAQEA4ej0p7bQ7L";

const std::string kSigningInput =
    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6IjEifQ."
    "eyJpc3MiOiJ0ZXN0c2FAZm9vLmlhbS5nc2VydmljZWFjY291bnQuY29tIiwic2NvcGUiOiJodHRwczovL3d3dy5nb29nbGVhcGlzLmNvbS9hdXRo"
    "L2Nsb3VkLXBsYXRmb3JtIiwiYXVkIjoiaHR0cHM6Ly9vYXV0aDIuZ29vZ2xlYXBpcy5jb20vdG9rZW4iLCJpYXQiOjE3MDAwMDAwMDAsImV4cCI6"
    "MTcwMDAwMzYwMH0";
const std::string kSignature =
    "0fzw-bmbqRwB03uAZ5Pwk9ahkCyK3Hnv5I8tOXuhxpzYcl8x1K48Mes2BiUTD3HmDavpzMgSl_lS2kjQkyvgH4qCLqQLpZ_PA5XdNXP_3sncE3D29g"
    "PjgIVHqL16LSfFt7vhg6oKlNfrh9SQT3UGhatsdSMu2loLM1lh4itR6MuWJQEW7oQd_LdgHOLdJB2A21f5e86XVKvAVCH2ZkKxiPX6e1skpTb-Gutx"
    "hHPIndb_7qin9TitJ7OPJl0A6JeiukKu63-ers58rztHx3sNVn_HohqglaV4h6vOceHqH2tPu7OVGHWAkZ6s5FkdM3wxCxtk42XCzYQggMcEAvHFKw";

GoogleCredentials test_service_account() {
  auto c = parse_google_credentials(testing::google_test_key_json(), "test key");
  REQUIRE(c.ok());
  return std::move(c).value();
}

}  // namespace

TEST_CASE("google: the service-account JWT matches the offline vector byte for byte", "[google][jwt]") {
  const GoogleCredentials c = test_service_account();
  CHECK(c.kind == GoogleCredentials::Kind::kServiceAccount);
  CHECK(c.client_email == "testsa@foo.iam.gserviceaccount.com");
  CHECK(c.private_key_id == "1");
  CHECK(c.project_id == "example_project");
  CHECK(c.token_uri == "https://oauth2.googleapis.com/token");
  auto jwt = make_service_account_jwt(c, 1700000000);
  REQUIRE(jwt.ok());
  CHECK(*jwt == kSigningInput + "." + kSignature);

  // aud stays Google's endpoint when token_uri points elsewhere.
  GoogleCredentials moved = c;
  moved.token_uri = "http://127.0.0.1:1/token";
  CHECK(*make_service_account_jwt(moved, 1700000000) == *jwt);
}

TEST_CASE("google: a fresh JWT verifies with the key's public half; a tampered one does not", "[google][jwt]") {
  const GoogleCredentials c = test_service_account();
  const std::string pem = [] {
    std::string json = testing::google_test_key_json();
    const size_t b = json.find("-----BEGIN");
    const size_t e = json.find("-----\\n\"", json.find("-----END")) + 5;
    std::string pem = json.substr(b, e - b);
    for (size_t at; (at = pem.find("\\n")) != std::string::npos;) pem.replace(at, 2, "\n");
    return pem;
  }();
  const std::string pub = testing::public_half(pem);
  CHECK(pub.find("BEGIN PUBLIC KEY") != std::string::npos);
  const int64_t now = 1800000000;
  auto jwt = make_service_account_jwt(c, now);
  REQUIRE(jwt.ok());
  CHECK(testing::check_google_jwt(*jwt, pub, now) == "");
  CHECK(testing::check_google_jwt(*jwt, pub, now + 3600) == "iat is not now");
  std::string tampered = *jwt;
  tampered[tampered.size() - 5] = tampered[tampered.size() - 5] == 'A' ? 'B' : 'A';
  CHECK(testing::check_google_jwt(tampered, pub, now) == "bad RS256 signature");
}

TEST_CASE("google: credentials come from vertex_credentials, then the environment, then ADC", "[google][credentials]") {
  TempDir dir;
  const std::string json = testing::google_test_key_json();
  const std::string path = dir.write("sa.json", json);

  SECTION("vertex_credentials as a path and as the JSON itself") {
    auto from_path = load_google_credentials(path, env_of({}));
    REQUIRE(from_path.ok());
    CHECK(from_path->kind == GoogleCredentials::Kind::kServiceAccount);
    CHECK(from_path->origin == "vertex_credentials file " + path);
    auto from_text = load_google_credentials("  " + json, env_of({}));
    REQUIRE(from_text.ok());
    CHECK(from_text->client_email == "testsa@foo.iam.gserviceaccount.com");
    CHECK(from_text->origin == "vertex_credentials");
  }
  SECTION("vertex_credentials wins over the environment") {
    const std::string other = dir.write("user.json", R"({"type":"authorized_user","client_id":"c","client_secret":"s",)"
                                                     R"("refresh_token":"r","quota_project_id":"qp"})");
    auto c = load_google_credentials(other, env_of({{"GOOGLE_APPLICATION_CREDENTIALS", path}}));
    REQUIRE(c.ok());
    CHECK(c->kind == GoogleCredentials::Kind::kAuthorizedUser);
    CHECK(c->project_id == "qp");
  }
  SECTION("VERTEXAI_CREDENTIALS, then GOOGLE_APPLICATION_CREDENTIALS") {
    auto v = load_google_credentials("", env_of({{"VERTEXAI_CREDENTIALS", json}, {"GOOGLE_APPLICATION_CREDENTIALS", "/nope"}}));
    REQUIRE(v.ok());
    CHECK(v->origin == "VERTEXAI_CREDENTIALS");
    auto g = load_google_credentials("", env_of({{"GOOGLE_APPLICATION_CREDENTIALS", path}}));
    REQUIRE(g.ok());
    CHECK(g->origin == "GOOGLE_APPLICATION_CREDENTIALS file " + path);
  }
  SECTION("the gcloud ADC file, from CLOUDSDK_CONFIG or HOME") {
    dir.write("application_default_credentials.json",
              R"({"type":"authorized_user","client_id":"c","client_secret":"s","refresh_token":"r"})");
    auto c = load_google_credentials("", env_of({{"CLOUDSDK_CONFIG", dir.path.string()}}));
    REQUIRE(c.ok());
    CHECK(c->kind == GoogleCredentials::Kind::kAuthorizedUser);
    std::filesystem::create_directories(dir.path / ".config/gcloud");
    dir.write(".config/gcloud/application_default_credentials.json", json);
    auto h = load_google_credentials("", env_of({{"HOME", dir.path.string()}}));
    REQUIRE(h.ok());
    CHECK(h->kind == GoogleCredentials::Kind::kServiceAccount);
  }
  SECTION("the metadata server last: GCE_METADATA_HOST, GCE_METADATA_IP, else metadata.google.internal") {
    auto d = load_google_credentials("", env_of({{"HOME", dir.path.string()}}));
    REQUIRE(d.ok());
    CHECK(d->kind == GoogleCredentials::Kind::kMetadataServer);
    CHECK(d->metadata_host == "metadata.google.internal");
    CHECK(load_google_credentials("", env_of({{"GCE_METADATA_IP", "10.0.0.1"}}))->metadata_host == "10.0.0.1");
    CHECK(load_google_credentials("", env_of({{"GCE_METADATA_IP", "10.0.0.1"}, {"GCE_METADATA_HOST", "127.0.0.1:9"}}))
              ->metadata_host == "127.0.0.1:9");
  }
}

TEST_CASE("google: unreadable or malformed credentials are authentication errors without secrets",
          "[google][credentials]") {
  TempDir dir;
  const std::string json = testing::google_test_key_json();

  auto missing = load_google_credentials("/no/such/key.json", env_of({}));
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().kind == ErrorKind::kAuthentication);
  CHECK_THAT(missing.error().message, Catch::Contains("vertex_credentials") && Catch::Contains("/no/such/key.json"));

  auto env_missing = load_google_credentials("", env_of({{"GOOGLE_APPLICATION_CREDENTIALS", "/no/such.json"}}));
  REQUIRE_FALSE(env_missing.ok());
  CHECK_THAT(env_missing.error().message, Catch::Contains("GOOGLE_APPLICATION_CREDENTIALS"));

  // A key pasted where a path belongs is never echoed.
  auto pasted = load_google_credentials("-----BEGIN PRIVATE KEY-----\n" + kKeyFragment, env_of({}));
  REQUIRE_FALSE(pasted.ok());
  CHECK_THAT(pasted.error().message, !Catch::Contains(kKeyFragment));

  // Broken JSON (the key inside it) is not echoed either.
  auto broken = load_google_credentials(json.substr(0, json.size() / 2), env_of({}));
  REQUIRE_FALSE(broken.ok());
  CHECK(broken.error().kind == ErrorKind::kAuthentication);
  CHECK(broken.error().message == "vertex_credentials: not a JSON object");

  // A private key OpenSSL cannot read.
  auto bad_key = parse_google_credentials(replace(json, kKeyFragment, "AAAA" + kKeyFragment.substr(4) + "!"), "k.json");
  REQUIRE_FALSE(bad_key.ok());
  CHECK(bad_key.error().message == "k.json: private_key is not a PEM private key OpenSSL can read");

  auto no_email = parse_google_credentials(replace(json, "\"client_email\"", "\"client_mail\""), "k.json");
  REQUIRE_FALSE(no_email.ok());
  CHECK(no_email.error().message == "k.json: service_account credentials lack \"client_email\"");

  auto external = parse_google_credentials(R"({"type":"external_account"})", "k.json");
  REQUIRE_FALSE(external.ok());
  CHECK_THAT(external.error().message, Catch::Contains("'external_account' is not supported"));
  auto untyped = parse_google_credentials(R"({"private_key":"x"})", "k.json");
  CHECK(untyped.error().message == "k.json: credentials JSON has no \"type\"");
}

TEST_CASE("google: project and location chains", "[google][project]") {
  const GoogleCredentials sa = test_service_account();
  GoogleCredentials none;
  CHECK(resolve_google_project("cfg", sa, env_of({{"VERTEXAI_PROJECT", "env"}})) == "cfg");
  CHECK(resolve_google_project("", sa, env_of({{"VERTEXAI_PROJECT", "env"}})) == "env");
  CHECK(resolve_google_project("", sa, env_of({{"GOOGLE_CLOUD_PROJECT", "gcp"}})) == "example_project");
  CHECK(resolve_google_project("", none, env_of({{"GOOGLE_CLOUD_PROJECT", "gcp"}, {"GCLOUD_PROJECT", "g"}})) == "gcp");
  CHECK(resolve_google_project("", none, env_of({{"GCLOUD_PROJECT", "g"}})) == "g");
  CHECK(resolve_google_project("", none, env_of({})) == "");
  CHECK(resolve_google_location("europe-west4", env_of({{"VERTEXAI_LOCATION", "asia-east1"}})) == "europe-west4");
  CHECK(resolve_google_location("", env_of({{"VERTEXAI_LOCATION", "asia-east1"}})) == "asia-east1");
  CHECK(resolve_google_location("", env_of({})) == "us-central1");
}

TEST_CASE("google: the token request of each credentials kind", "[google][token]") {
  SECTION("service account: a signed jwt-bearer grant at token_uri") {
    auto c = std::make_shared<GoogleCredentials>(test_service_account());
    c->token_uri = "http://127.0.0.1:1/token";
    TokenSource s = google_token_source(c, [] { return int64_t{1700000000}; });
    transport::HttpRequest r;
    REQUIRE(s.build_request(r).ok());
    CHECK(r.url == "http://127.0.0.1:1/token");
    CHECK(r.method == "POST");
    CHECK(r.headers[0] == "Content-Type: application/x-www-form-urlencoded");
    CHECK(r.body == "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=" + kSigningInput +
                        "." + kSignature);
  }
  SECTION("authorized user: a refresh_token grant at Google's endpoint, whatever token_uri says") {
    auto c = parse_google_credentials(R"({"type":"authorized_user","client_id":"id 1","client_secret":"s&e=c",)"
                                      R"("refresh_token":"1//r/t","token_uri":"http://elsewhere/token"})",
                                      "adc");
    REQUIRE(c.ok());
    TokenSource s = google_token_source(std::make_shared<GoogleCredentials>(*c), system_wall_seconds());
    transport::HttpRequest r;
    REQUIRE(s.build_request(r).ok());
    CHECK(r.url == "https://oauth2.googleapis.com/token");
    CHECK(r.body == "grant_type=refresh_token&client_id=id%201&client_secret=s%26e%3Dc&refresh_token=1%2F%2Fr%2Ft");
  }
  SECTION("metadata server: Metadata-Flavor: Google both ways") {
    auto c = std::make_shared<GoogleCredentials>();
    c->metadata_host = "127.0.0.1:9";
    TokenSource s = google_token_source(c, system_wall_seconds());
    transport::HttpRequest r;
    REQUIRE(s.build_request(r).ok());
    CHECK(r.url == "http://127.0.0.1:9/computeMetadata/v1/instance/service-accounts/default/token");
    CHECK(r.method == "GET");
    CHECK(r.headers == std::vector<std::string>{"Metadata-Flavor: Google"});
    transport::TransferResult answer;
    answer.status = 200;
    answer.body = R"({"access_token":"ya29.x","expires_in":"1799","token_type":"Bearer"})";
    auto impostor = s.read_response(answer);
    REQUIRE_FALSE(impostor.ok());
    CHECK_THAT(impostor.error().message, Catch::Contains("Metadata-Flavor"));
    answer.headers = {{"metadata-flavor", "Google"}};
    auto token = s.read_response(answer);
    REQUIRE(token.ok());
    CHECK(token->value == "ya29.x");
    CHECK(token->lifetime == std::chrono::seconds(1799));
  }
}
