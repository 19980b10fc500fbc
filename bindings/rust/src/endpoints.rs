//! The other OpenAI endpoints: text completions, moderations and the
//! Responses API, routed like completions (retries, fallbacks, cooldowns).
use serde_json::Value;

use crate::error::Error;
use crate::response::Response;
use crate::router::{raw_request_model, request_model, Router};
use crate::sys;

/// An OpenAI endpoint for [`Router::call`].
///
/// Text completions (`/completions`), moderations (`/moderations`) and the
/// Responses API (`/responses`) are passed through to OpenAI-compatible
/// deployments and answered by `mock_response`; a deployment of another
/// provider family fails them with [`ErrorKind::BadRequest`](crate::ErrorKind::BadRequest)
/// naming the endpoint and the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `/chat/completions`
    ChatCompletions,
    /// `/embeddings`
    Embeddings,
    /// `/completions`
    TextCompletions,
    /// `/moderations`
    Moderations,
    /// `/responses`
    Responses,
}

impl Endpoint {
    /// The `gen_ai.operation.name` of its spans (the GenAI conventions' names;
    /// the Responses API is "chat" there, moderation has none of its own).
    #[cfg_attr(not(feature = "opentelemetry"), allow(dead_code))]
    fn operation(self) -> &'static str {
        match self {
            Endpoint::ChatCompletions | Endpoint::Responses => "chat",
            Endpoint::Embeddings => "embeddings",
            Endpoint::TextCompletions => "text_completion",
            Endpoint::Moderations => "moderation",
        }
    }

    fn raw(self) -> sys::llmux_endpoint {
        match self {
            Endpoint::ChatCompletions => sys::LLMUX_ENDPOINT_CHAT_COMPLETIONS,
            Endpoint::Embeddings => sys::LLMUX_ENDPOINT_EMBEDDINGS,
            Endpoint::TextCompletions => sys::LLMUX_ENDPOINT_TEXT_COMPLETIONS,
            Endpoint::Moderations => sys::LLMUX_ENDPOINT_MODERATIONS,
            Endpoint::Responses => sys::LLMUX_ENDPOINT_RESPONSES,
        }
    }
}

impl Router {
    /// Sends `request` (the endpoint's OpenAI body: `model` plus `messages`,
    /// `input` or `prompt`, and router keys) non-streaming; blocks until the
    /// call ends. The response body is the provider's, plus `_llmux`.
    pub fn call(&self, endpoint: Endpoint, request: &Value) -> Result<Response, Error> {
        self.traced(endpoint.operation(), request_model(request), || {
            Response::from_text(&self.call_text(endpoint, &request.to_string())?)
        })
    }

    /// [`call`](Router::call) with JSON text in and out.
    pub fn call_raw(&self, endpoint: Endpoint, request: &str) -> Result<String, Error> {
        self.traced(endpoint.operation(), raw_request_model(request), || self.call_text(endpoint, request))
    }

    /// `llmux_call`, untraced.
    fn call_text(&self, endpoint: Endpoint, request: &str) -> Result<String, Error> {
        self.text_call("llmux_call", |out, error| unsafe {
            // SAFETY: the request is borrowed for the call; out-params are valid.
            sys::llmux_call(self.as_raw(), endpoint.raw(), request.as_ptr().cast(), request.len(), out, error)
        })
    }

    /// A text completion (LiteLLM's `Router.text_completion`): an OpenAI `/completions` body.
    pub fn text_completion(&self, request: &Value) -> Result<Response, Error> {
        self.call(Endpoint::TextCompletions, request)
    }

    /// A moderation (LiteLLM's `Router.amoderation`): an OpenAI `/moderations`
    /// body; `model` (a model group) is required.
    pub fn moderation(&self, request: &Value) -> Result<Response, Error> {
        self.call(Endpoint::Moderations, request)
    }

    /// A Responses API call (LiteLLM's `Router.aresponses`): an OpenAI `/responses` body.
    pub fn responses(&self, request: &Value) -> Result<Response, Error> {
        self.call(Endpoint::Responses, request)
    }
}
