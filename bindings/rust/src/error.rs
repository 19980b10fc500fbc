//! [`Error`] and [`ErrorKind`]: llmux's error taxonomy (LiteLLM's exception
//! classes) as a Rust value.
use std::ffi::{c_char, c_int, CStr};
use std::fmt;
use std::time::Duration;

use serde_json::Value;

use crate::response::Metadata;
use crate::sys;

/// What went wrong, one variant per `llmux_status` value (the LiteLLM class
/// in [`Error::type_name`] names the same thing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// `BadRequestError` (400/422, unknown model group, a request the provider rejects).
    BadRequest,
    /// `ContextWindowExceededError`: the prompt is longer than the model's context.
    ContextWindowExceeded,
    /// `ContentPolicyViolationError`: the provider's safety system refused.
    ContentPolicyViolation,
    /// `AuthenticationError` (401).
    Authentication,
    /// `PermissionDeniedError` (403).
    PermissionDenied,
    /// `NotFoundError` (404).
    NotFound,
    /// `Timeout` (408/504 or an llmux deadline).
    Timeout,
    /// `RateLimitError` (429).
    RateLimit,
    /// `NoDeploymentsAvailableError`: every candidate cooling down or filtered.
    NoDeploymentsAvailable,
    /// `BudgetExceededError`: every candidate over budget.
    BudgetExceeded,
    /// `InternalServerError` (500).
    InternalServer,
    /// `BadGatewayError` (502).
    BadGateway,
    /// `ServiceUnavailableError` (503).
    ServiceUnavailable,
    /// `APIError`: any other HTTP status.
    Api,
    /// `APIConnectionError`: no HTTP response (refused, reset, DNS).
    Connection,
    /// `MidStreamFallbackError`: a stream failed after content was delivered.
    MidStream,
    /// `CancelledError`: the call was cancelled.
    Cancelled,
    /// `InvalidConfigError`: the router configuration is wrong.
    InvalidConfig,
    /// `InvalidArgumentError`: a request or argument is wrong (bad JSON, interior NUL, ...).
    InvalidArgument,
    /// The library ran out of memory.
    OutOfMemory,
    /// A bug in llmux (or in this binding): please report it.
    Internal,
    /// A status this crate does not know (a newer library).
    Unknown(i32),
}

impl ErrorKind {
    /// The kind of an `llmux_status` value.
    pub fn from_status(status: i32) -> ErrorKind {
        match status {
            sys::LLMUX_ERR_BAD_REQUEST => ErrorKind::BadRequest,
            sys::LLMUX_ERR_CONTEXT_WINDOW_EXCEEDED => ErrorKind::ContextWindowExceeded,
            sys::LLMUX_ERR_CONTENT_POLICY_VIOLATION => ErrorKind::ContentPolicyViolation,
            sys::LLMUX_ERR_AUTHENTICATION => ErrorKind::Authentication,
            sys::LLMUX_ERR_PERMISSION_DENIED => ErrorKind::PermissionDenied,
            sys::LLMUX_ERR_NOT_FOUND => ErrorKind::NotFound,
            sys::LLMUX_ERR_TIMEOUT => ErrorKind::Timeout,
            sys::LLMUX_ERR_RATE_LIMIT => ErrorKind::RateLimit,
            sys::LLMUX_ERR_NO_DEPLOYMENTS_AVAILABLE => ErrorKind::NoDeploymentsAvailable,
            sys::LLMUX_ERR_BUDGET_EXCEEDED => ErrorKind::BudgetExceeded,
            sys::LLMUX_ERR_INTERNAL_SERVER => ErrorKind::InternalServer,
            sys::LLMUX_ERR_BAD_GATEWAY => ErrorKind::BadGateway,
            sys::LLMUX_ERR_SERVICE_UNAVAILABLE => ErrorKind::ServiceUnavailable,
            sys::LLMUX_ERR_API => ErrorKind::Api,
            sys::LLMUX_ERR_CONNECTION => ErrorKind::Connection,
            sys::LLMUX_ERR_MID_STREAM => ErrorKind::MidStream,
            sys::LLMUX_ERR_CANCELLED => ErrorKind::Cancelled,
            sys::LLMUX_ERR_INVALID_CONFIG => ErrorKind::InvalidConfig,
            sys::LLMUX_ERR_INVALID_ARGUMENT => ErrorKind::InvalidArgument,
            sys::LLMUX_ERR_OUT_OF_MEMORY => ErrorKind::OutOfMemory,
            sys::LLMUX_ERR_INTERNAL => ErrorKind::Internal,
            other => ErrorKind::Unknown(other),
        }
    }

    /// The `llmux_status` value of this kind (the "kind" number of the
    /// error JSON and of the shared test scenario).
    pub fn status_code(self) -> i32 {
        match self {
            ErrorKind::BadRequest => sys::LLMUX_ERR_BAD_REQUEST,
            ErrorKind::ContextWindowExceeded => sys::LLMUX_ERR_CONTEXT_WINDOW_EXCEEDED,
            ErrorKind::ContentPolicyViolation => sys::LLMUX_ERR_CONTENT_POLICY_VIOLATION,
            ErrorKind::Authentication => sys::LLMUX_ERR_AUTHENTICATION,
            ErrorKind::PermissionDenied => sys::LLMUX_ERR_PERMISSION_DENIED,
            ErrorKind::NotFound => sys::LLMUX_ERR_NOT_FOUND,
            ErrorKind::Timeout => sys::LLMUX_ERR_TIMEOUT,
            ErrorKind::RateLimit => sys::LLMUX_ERR_RATE_LIMIT,
            ErrorKind::NoDeploymentsAvailable => sys::LLMUX_ERR_NO_DEPLOYMENTS_AVAILABLE,
            ErrorKind::BudgetExceeded => sys::LLMUX_ERR_BUDGET_EXCEEDED,
            ErrorKind::InternalServer => sys::LLMUX_ERR_INTERNAL_SERVER,
            ErrorKind::BadGateway => sys::LLMUX_ERR_BAD_GATEWAY,
            ErrorKind::ServiceUnavailable => sys::LLMUX_ERR_SERVICE_UNAVAILABLE,
            ErrorKind::Api => sys::LLMUX_ERR_API,
            ErrorKind::Connection => sys::LLMUX_ERR_CONNECTION,
            ErrorKind::MidStream => sys::LLMUX_ERR_MID_STREAM,
            ErrorKind::Cancelled => sys::LLMUX_ERR_CANCELLED,
            ErrorKind::InvalidConfig => sys::LLMUX_ERR_INVALID_CONFIG,
            ErrorKind::InvalidArgument => sys::LLMUX_ERR_INVALID_ARGUMENT,
            ErrorKind::OutOfMemory => sys::LLMUX_ERR_OUT_OF_MEMORY,
            ErrorKind::Internal => sys::LLMUX_ERR_INTERNAL,
            ErrorKind::Unknown(code) => code,
        }
    }
}

/// An llmux error: what the library reported (kind, LiteLLM class name, the
/// HTTP status LiteLLM would give, the provider's message, router metadata in
/// the JSON), copied out of the library's `llmux_error`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Error {
    /// What went wrong.
    pub kind: ErrorKind,
    /// The HTTP status LiteLLM would report (429, 401, 408, ...); 0 when the
    /// library gave none (out of memory).
    pub status: u16,
    /// LiteLLM's exception class name: "RateLimitError", "Timeout", ...
    pub type_name: String,
    /// The message, with the provider's own message kept; never contains an API key.
    pub message: String,
    /// The provider that failed ("openai", ...), when one did.
    pub llm_provider: Option<String>,
    /// How long the provider asked to wait (its Retry-After), when it did.
    pub retry_after: Option<Duration>,
    /// Everything as JSON: {"type","message","status","kind","llm_provider",
    /// "retry_after_seconds","_llmux":{router metadata}}; `Null` for errors
    /// raised by this crate. Boxed to keep `Result<T, Error>` small.
    pub json: Box<Value>,
}

impl Error {
    /// Copies a library error. `error` is borrowed: the caller still frees it
    /// when it owns it. `status` is used when `error` is NULL.
    ///
    /// # Safety
    /// `error` is NULL or a valid `llmux_error`.
    pub(crate) unsafe fn from_raw(status: sys::llmux_status, error: *const sys::llmux_error, context: &str) -> Error {
        if error.is_null() {
            return Error::from_status(status, context);
        }
        let json_text = copied(sys::llmux_error_json(error));
        let json = Box::new(serde_json::from_str(&json_text).unwrap_or(Value::String(json_text)));
        let llm_provider = json["llm_provider"].as_str().filter(|p| !p.is_empty()).map(str::to_owned);
        let retry_after = json["retry_after_seconds"].as_f64().and_then(|s| Duration::try_from_secs_f64(s).ok());
        Error {
            kind: ErrorKind::from_status(sys::llmux_error_code(error)),
            status: http_status(sys::llmux_error_status(error)),
            type_name: copied(sys::llmux_error_type(error)),
            message: copied(sys::llmux_error_message(error)),
            llm_provider,
            retry_after,
            json,
        }
    }

    /// An error from the library's error JSON (as in a routing event).
    pub(crate) fn from_json(json: Value) -> Error {
        let llm_provider = json["llm_provider"].as_str().filter(|p| !p.is_empty()).map(str::to_owned);
        let retry_after = json["retry_after_seconds"].as_f64().and_then(|s| Duration::try_from_secs_f64(s).ok());
        let kind = ErrorKind::from_status(json["kind"].as_i64().and_then(|k| i32::try_from(k).ok()).unwrap_or(0));
        Error {
            kind,
            status: http_status(json["status"].as_i64().and_then(|s| i32::try_from(s).ok()).unwrap_or(0)),
            type_name: json["type"].as_str().unwrap_or_default().to_owned(),
            message: json["message"].as_str().unwrap_or_default().to_owned(),
            llm_provider,
            retry_after,
            json: Box::new(json),
        }
    }

    /// An error known only by its status (the library returned one without an
    /// `llmux_error`: out of memory, or an asynchronous call it refused).
    pub(crate) fn from_status(status: sys::llmux_status, context: &str) -> Error {
        // SAFETY: llmux_status_string accepts any value and returns a static string.
        let type_name = unsafe { copied(sys::llmux_status_string(status)) };
        Error::local(ErrorKind::from_status(status), 0, type_name.clone(), format!("{context}: {type_name}"))
    }

    /// An invalid argument caught by this crate before calling the library
    /// (status 400, as the library reports its own).
    pub(crate) fn invalid_argument(message: String) -> Error {
        Error::local(ErrorKind::InvalidArgument, 400, "InvalidArgumentError".to_owned(), message)
    }

    /// Output of the library this crate cannot read: a bug on one side.
    pub(crate) fn internal(message: String) -> Error {
        Error::local(ErrorKind::Internal, 500, "InternalError".to_owned(), message)
    }

    fn local(kind: ErrorKind, status: u16, type_name: String, message: String) -> Error {
        Error { kind, status, type_name, message, llm_provider: None, retry_after: None, json: Box::new(Value::Null) }
    }

    /// The router metadata of the failed call (model group, attempts,
    /// retries, fallbacks, ...), when the library reported it.
    pub fn metadata(&self) -> Option<Metadata> {
        self.json.get("_llmux").filter(|m| m.is_object()).map(Metadata::from_json)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.type_name, self.message)
    }
}

impl std::error::Error for Error {}

/// A borrowed C string copied into a `String` ("" for NULL; invalid UTF-8 replaced).
///
/// # Safety
/// `text` is NULL or a NUL-terminated string valid for the call.
pub(crate) unsafe fn copied(text: *const c_char) -> String {
    if text.is_null() {
        return String::new();
    }
    let bytes = CStr::from_ptr(text).to_bytes();
    // The library hands out UTF-8: std's check (word-at-a-time over ASCII) and
    // one copy. `to_string_lossy` walks the bytes one at a time instead
    // (~10,800 instructions for a 1.5 KB chat completion, the bulk of what
    // `completion_raw` added over the C ABI); it stays for the odd invalid byte.
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

fn http_status(status: c_int) -> u16 {
    u16::try_from(status).unwrap_or(0)
}
