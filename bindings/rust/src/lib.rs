//! Safe Rust bindings to llmux, an embeddable LLM router with LiteLLM's
//! Router semantics: load balancing across deployments, retries, fallbacks,
//! cooldowns and streaming failover, configured by a LiteLLM `config.yaml`.
//!
//! Requests and responses are OpenAI JSON bodies ([`serde_json::Value`]);
//! every response carries what the router did ([`Metadata`]); every failure is
//! an [`Error`] with LiteLLM's class name and HTTP status.
//!
//! A deployment with `mock_response` answers without a network, so this
//! example runs as it is:
//!
//! ```
//! use serde_json::json;
//!
//! fn main() -> Result<(), llmux::Error> {
//!     let router = llmux::Router::from_config(
//!         r#"
//! model_list:
//!   - model_name: chat
//!     litellm_params: {model: openai/gpt-4o-mini, mock_response: Hello}
//! "#,
//!     )?;
//!     let request = json!({"model": "chat", "messages": [{"role": "user", "content": "Hello"}]});
//!     let response = router.completion(&request)?;
//!     assert_eq!(response.content(), Some("Hello"));
//!     assert_eq!(response.metadata().attempts, 1);
//!     Ok(())
//! }
//! ```
//!
//! With a real provider, the key comes from the environment
//! (`api_key: os.environ/OPENAI_API_KEY`) and failures are [`Error`]s with
//! LiteLLM's class names:
//!
//! ```no_run
//! # fn main() -> Result<(), llmux::Error> {
//! let router = llmux::Router::from_config(
//!     r#"
//! model_list:
//!   - model_name: chat
//!     litellm_params: {model: openai/gpt-4o-mini, api_key: os.environ/OPENAI_API_KEY}
//! router_settings: {num_retries: 2}
//! "#,
//! )?;
//! let request = serde_json::json!({"model": "chat", "messages": [{"role": "user", "content": "Hello"}]});
//! match router.completion(&request) {
//!     Ok(response) => println!("{} (from {})", response.content().unwrap_or_default(), response.metadata().deployment_id),
//!     Err(error) if error.type_name == "RateLimitError" => eprintln!("rate limited: {}", error.message),
//!     Err(error) => return Err(error),
//! }
//! # Ok(()) }
//! ```
//!
//! # Linking
//!
//! The build script links libllmux from `LLMUX_LIB_DIR` when set, else an
//! installed llmux that `pkg-config` finds, else it builds the core bundled
//! with the crate's repository with CMake (or the source tree `LLMUX_SOURCE_DIR`
//! names). Its directory reaches the build scripts of crates depending on this
//! one as `DEP_LLMUX_LIB_DIR` (for an rpath of their own).
//!
//! The raw C declarations are in [`sys`].
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod admin;
mod chat;
mod endpoints;
mod error;
mod model_info;
mod observe;
#[cfg(feature = "opentelemetry")]
mod otel;
mod response;
mod router;
mod stream;
#[allow(missing_docs)]
pub mod sys;

pub use admin::{ModelGroupUsage, PickOptions, PickedDeployment};
pub use chat::{ChatChoice, ChatCompletion, ChatMessage, FunctionCall, ToolCall};
pub use endpoints::Endpoint;
pub use error::{Error, ErrorKind};
pub use model_info::{ModelGroupInfo, ModelInfo};
pub use observe::{Event, EventType, LogLevel, RouterOptions};
pub use response::{
    Chunk, Deployment, DeploymentHealth, HealthCheckResult, HealthEndpoint, HealthReport, Metadata, Response, Usage,
};
pub use router::Router;
pub use stream::Stream;

/// The C ABI version this crate is written for (`LLMUX_ABI_VERSION` of its
/// `llmux.h`); [`Router::from_config`] refuses a library with another.
pub const ABI_VERSION: i32 = sys::LLMUX_ABI_VERSION;

/// The version of the loaded libllmux ("0.1.0").
pub fn version() -> &'static str {
    // SAFETY: llmux_version returns a static NUL-terminated string.
    let version = unsafe { std::ffi::CStr::from_ptr(sys::llmux_version()) };
    version.to_str().unwrap_or("")
}
