//! Failures come back as typed errors with LiteLLM's class and status, never
//! as panics.
mod support;

use std::time::Duration;

use llmux::{Error, ErrorKind, Router};
use serde_json::json;
use support::{chat, FakeServer, SECRET};

/// The error of one completion on a single-deployment group serving `model`.
fn failure_of(server: &FakeServer, model: &str) -> Error {
    let router = server.router(&[("group", model, "only")], json!({"num_retries": 0}));
    let error = router.completion(&chat("group", "hi")).expect_err("the call fails");
    assert!(!format!("{error:?}").contains(SECRET), "no api key in {error:?}");
    error
}

fn assert_error(error: &Error, kind: ErrorKind, status: u16, type_name: &str) {
    assert_eq!((error.kind, error.status, error.type_name.as_str()), (kind, status, type_name), "{error}");
    assert_eq!(error.json["type"], type_name);
    assert_eq!(error.json["status"], status);
    assert_eq!(error.json["kind"], kind.status_code());
}

#[test]
fn rate_limit_is_a_rate_limit_error_with_retry_after() {
    let server = FakeServer::start();
    let plain = failure_of(&server, "status-429-plain");
    assert_error(&plain, ErrorKind::RateLimit, 429, "RateLimitError");
    assert_eq!(plain.llm_provider.as_deref(), Some("openai"));
    assert_eq!(plain.retry_after, None);

    let with_header = failure_of(&server, "status-429-retry-after");
    assert_error(&with_header, ErrorKind::RateLimit, 429, "RateLimitError");
    assert_eq!(with_header.retry_after, Some(Duration::from_secs(1)));
}

#[test]
fn bad_api_key_is_an_authentication_error() {
    let server = FakeServer::start();
    let error = failure_of(&server, "status-401-key");
    assert_error(&error, ErrorKind::Authentication, 401, "AuthenticationError");
    assert!(error.message.contains("Incorrect API key"), "{}", error.message);
    let metadata = error.metadata().expect("router metadata");
    assert_eq!(metadata.model_group, "group");
    assert_eq!(metadata.attempts, 1);
}

#[test]
fn not_found_and_server_errors_keep_their_status() {
    let server = FakeServer::start();
    assert_error(&failure_of(&server, "status-404-gone"), ErrorKind::NotFound, 404, "NotFoundError");
    let internal = failure_of(&server, "status-500-boom");
    assert_error(&internal, ErrorKind::InternalServer, 500, "InternalServerError");
    assert!(internal.message.contains("scripted failure from status-500-boom"), "{}", internal.message);
}

#[test]
fn context_window_and_content_policy_are_their_own_kinds() {
    let server = FakeServer::start();
    assert_error(
        &failure_of(&server, "context-window-small"),
        ErrorKind::ContextWindowExceeded,
        400,
        "ContextWindowExceededError",
    );
    assert_error(
        &failure_of(&server, "content-policy-strict"),
        ErrorKind::ContentPolicyViolation,
        400,
        "ContentPolicyViolationError",
    );
}

#[test]
fn a_connection_reset_is_a_connection_error() {
    let server = FakeServer::start();
    let error = failure_of(&server, "reset-now");
    assert_eq!((error.kind, error.type_name.as_str()), (ErrorKind::Connection, "APIConnectionError"), "{error}");
}

#[test]
fn an_unknown_model_group_is_a_bad_request() {
    let server = FakeServer::start();
    let router = server.router(&[("chat", "ok-a", "a")], json!({}));
    let error = router.completion(&chat("no-such-group", "hi")).unwrap_err();
    assert_error(&error, ErrorKind::BadRequest, 400, "BadRequestError");
    assert!(error.message.contains("no-such-group"), "{}", error.message);
}

#[test]
fn a_bad_config_is_an_invalid_config_error_naming_the_key() {
    let error = Router::from_config("router_settings:\n  routing_strategy: fastest\n").unwrap_err();
    assert_error(&error, ErrorKind::InvalidConfig, 400, "InvalidConfigError");
    assert!(error.message.contains("routing_strategy"), "{}", error.message);
    assert_eq!(error.to_string(), format!("InvalidConfigError: {}", error.message));

    for text in ["model_list: [", "{\"model_list\": 3}", "\0"] {
        let error = Router::from_config(text).unwrap_err();
        assert_eq!(error.kind, ErrorKind::InvalidConfig, "{text:?}: {error}");
    }
}

#[test]
fn request_text_that_is_not_a_request_is_an_invalid_argument() {
    let server = FakeServer::start();
    let router = server.router(&[("chat", "ok-a", "a")], json!({}));
    for text in ["", "not json", "{\"model\": \"chat\"", "[1, 2]", "{\"model\":\"chat\",\"messages\":[]}\0"] {
        let error = router.completion_raw(text).unwrap_err();
        assert_error(&error, ErrorKind::InvalidArgument, 400, "InvalidArgumentError");
    }
    let error = router.embedding_raw("{").unwrap_err();
    assert_error(&error, ErrorKind::InvalidArgument, 400, "InvalidArgumentError");
}

#[test]
fn nul_bytes_in_names_are_errors_not_panics() {
    let server = FakeServer::start();
    let router = server.router(&[("chat", "ok-a", "a")], json!({}));
    let error = router.remove_deployment("a\0b").unwrap_err();
    assert_eq!((error.kind, error.status), (ErrorKind::InvalidArgument, 400), "{error}");
    let error = router.health(Some("chat\0")).unwrap_err();
    assert_eq!((error.kind, error.status), (ErrorKind::InvalidArgument, 400), "{error}");
    let served_by = router.completion(&chat("chat", "hi")).unwrap().metadata().deployment_id.clone();
    assert_eq!(served_by, "a", "nothing was removed");
}

#[test]
fn errors_are_std_errors() {
    let error: Box<dyn std::error::Error + Send + Sync> = Router::from_config("model_list: [").unwrap_err().into();
    assert!(error.to_string().starts_with("InvalidConfigError: "), "{error}");
}
