#include "config/tls_settings.hpp"

#include <filesystem>
#include <system_error>

#include "fmt/format.h"

namespace llmux::config {
namespace {

bool is_file(const std::string& path) {
  std::error_code ec;
  return !path.empty() && std::filesystem::is_regular_file(path, ec);
}

// "true" / "False" / "yes" ... as a bool; nullopt for any other text.
std::optional<bool> text_bool(const Value& v) {
  bool out = false;
  if (!read_bool(v, "", out).ok()) return std::nullopt;
  return out;
}

Value string_value(std::string text) {
  Value v;
  v.kind = Value::Kind::kString;
  v.text = std::move(text);
  return v;
}

}  // namespace

Status read_ssl_verify(const Value& v, std::string_view path, bool& verify, std::string& ca_bundle) {
  if (v.kind == Value::Kind::kBool) {
    verify = v.boolean;
    ca_bundle.clear();
    return Status::Ok();
  }
  if (!v.is_string() || v.text.empty()) {
    return config_error(path, fmt::format("expected true, false or the path of a CA bundle file, got {}", describe(v)),
                        &v);
  }
  // LiteLLM looks for the file first, then for a bool spelled as text.
  if (is_file(v.text)) {
    verify = true;
    ca_bundle = v.text;
    return Status::Ok();
  }
  if (std::optional<bool> b = text_bool(v)) {
    verify = *b;
    ca_bundle.clear();
    return Status::Ok();
  }
  return config_error(path,
                      fmt::format("CA bundle '{}' is not a readable file (expected true, false or the path of a CA "
                                  "bundle file)",
                                  v.text),
                      &v);
}

Status read_existing_file(const Value& v, std::string_view path, std::string_view what, std::string& out) {
  std::string text;
  LLMUX_CONFIG_TRY(read_string(v, path, text));
  if (!is_file(text)) return config_error(path, fmt::format("{} '{}' is not a readable file", what, text), &v);
  out = std::move(text);
  return Status::Ok();
}

Status apply_tls_environment(ParseContext& ctx, RouterSettings& settings) {
  if (std::optional<std::string> text = ctx.lookup("SSL_VERIFY"); text && !text->empty()) {
    LLMUX_CONFIG_TRY(read_ssl_verify(string_value(*text), "SSL_VERIFY (environment)", settings.ssl_verify,
                                     settings.ssl_ca_bundle));
  }
  if (settings.ssl_verify && settings.ssl_ca_bundle.empty()) {
    if (std::optional<std::string> file = ctx.lookup("SSL_CERT_FILE"); file && !file->empty()) {
      // LiteLLM ignores a missing SSL_CERT_FILE; a warning at least says so.
      if (is_file(*file)) {
        settings.ssl_ca_bundle = *file;
      } else {
        ctx.warn(fmt::format("SSL_CERT_FILE (environment): '{}' is not a readable file, ignored", *file));
      }
    }
  }
  if (std::optional<std::string> cert = ctx.lookup("SSL_CERTIFICATE"); cert && !cert->empty()) {
    LLMUX_CONFIG_TRY(read_existing_file(string_value(*cert), "SSL_CERTIFICATE (environment)", "client certificate",
                                        settings.ssl_certificate));
  }
  return Status::Ok();
}

void apply_tls_defaults(const RouterSettings& settings, DeploymentConfig& d) {
  if (!d.ssl_verify) {
    d.ssl_verify = settings.ssl_verify;
    if (d.ssl_ca_bundle.empty()) d.ssl_ca_bundle = settings.ssl_ca_bundle;
  } else if (*d.ssl_verify && d.ssl_ca_bundle.empty()) {
    // ssl_verify: true on the deployment still honours the router's bundle
    // (LiteLLM: SSL_CERT_FILE when verification is on).
    d.ssl_ca_bundle = settings.ssl_ca_bundle;
  }
  if (d.client_cert.empty() && d.client_key.empty()) d.client_cert = settings.ssl_certificate;
}

}  // namespace llmux::config
