//! OpenTelemetry spans for the router's calls (cargo feature `opentelemetry`).
//!
//! A router given a tracer ([`RouterOptions::tracer`](crate::RouterOptions::tracer)) records every
//! call that carries router metadata — [`completion`](crate::Router::completion),
//! [`completion_typed`](crate::Router::completion_typed), [`stream`](crate::Router::stream),
//! [`embedding`](crate::Router::embedding), [`call`](crate::Router::call) and the endpoints on it,
//! and their `*_raw` forms — as one span of kind CLIENT named `"{operation} {model}"` (`chat`,
//! `embeddings`, `text_completion`, `moderation`; the GenAI semantic conventions' `gen_ai.*`
//! attributes plus the router's `llmux.*` ones), a child of the caller's current [`Context`] at call
//! start, and one child span `"attempt {model group}"` per backend attempt (retries and fallbacks
//! included). A failed call's span has status ERROR and `error.type`, the LiteLLM exception class
//! name. Spans are built from the call's router metadata (the "_llmux" object of its response or
//! error) when the call ends, on the thread that sees it end; they carry neither API keys nor
//! message content.
//!
//! A stream's span starts with [`Router::stream`](crate::Router::stream) and ends with the stream:
//! at its end (`llmux.stream` true, `llmux.time_to_first_token_ms`), at its failure, or when the
//! [`Stream`](crate::Stream) is dropped before its end. A drop is the consumer's choice, not a
//! failure: that span keeps status UNSET and gets the event `llmux.stream.cancelled`.
use std::time::{Duration, SystemTime};

use opentelemetry::global::BoxedTracer;
use opentelemetry::trace::{Span, SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue};
use serde::Deserialize;
use serde_json::Value;

use crate::chat::ChatCompletion;
use crate::error::Error;
use crate::response::{decode_json, Chunk, Response, Usage};

/// The event of a stream span whose [`Stream`](crate::Stream) was dropped before its end.
pub(crate) const STREAM_CANCELLED_EVENT: &str = "llmux.stream.cancelled";

/// What is known when a call starts: its parent context and its start time.
pub(crate) struct CallStart {
    parent: Context,
    start: SystemTime,
}

impl CallStart {
    pub(crate) fn now() -> CallStart {
        CallStart { parent: Context::current(), start: SystemTime::now() }
    }
}

fn millis(ms: f64) -> Duration {
    Duration::try_from_secs_f64(ms.max(0.0) / 1000.0).unwrap_or(Duration::ZERO)
}

/// `server.address` and `server.port` of an api_base ("https://host:port/path"); the port is the
/// scheme's default when the URL names none.
fn server_address(api_base: &str) -> Option<(String, i64)> {
    let (scheme, rest) = api_base.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    // Credentials in a URL ("user:pass@host") are not part of the address.
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = if let Some(bracketed) = host_port.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']')?;
        (host, after.strip_prefix(':'))
    } else {
        match host_port.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        }
    };
    if host.is_empty() {
        return None;
    }
    let port = match port {
        Some(port) => port.parse().ok()?,
        None if scheme.eq_ignore_ascii_case("https") => 443,
        None if scheme.eq_ignore_ascii_case("http") => 80,
        None => return None,
    };
    Some((host.to_owned(), port))
}

/// How a stream ended, for its span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StreamEnd {
    /// The stream reached its end, or its failure.
    Finished,
    /// Its consumer dropped it before its end (the call was cancelled).
    Dropped,
}

/// What the spans of an ended call are made of: its outcome as far as they need it.
#[derive(Clone, Copy)]
pub(crate) struct Ended<'a> {
    /// The "_llmux" object of the response or error, when it has one.
    metadata: Option<&'a Value>,
    response_model: Option<&'a str>,
    response_id: Option<&'a str>,
    usage: Option<Usage>,
    /// The call's failure (not set for a dropped stream: its cancellation is no failure).
    error: Option<&'a Error>,
    /// Set for a stream.
    stream: Option<StreamEnd>,
}

impl<'a> Ended<'a> {
    fn failure(error: &'a Error) -> Ended<'a> {
        Ended {
            metadata: router_metadata(&error.json),
            response_model: None,
            response_id: None,
            usage: None,
            error: Some(error),
            stream: None,
        }
    }

    /// An answer; `body_usage` the body's own "usage", read when "_llmux" has none.
    fn answer(
        metadata: Option<&'a Value>,
        response_model: Option<&'a str>,
        response_id: Option<&'a str>,
        body_usage: Option<Usage>,
    ) -> Ended<'a> {
        let metadata = metadata.filter(|m| m.is_object());
        let usage = metadata.and_then(|m| m.get("usage")).filter(|u| u.is_object()).map(|u| Usage::from_json(u, true));
        Ended {
            metadata,
            response_model: response_model.filter(|m| !m.is_empty()),
            response_id: response_id.filter(|id| !id.is_empty()),
            usage: usage.or(body_usage),
            error: None,
            stream: None,
        }
    }
}

/// The "_llmux" member of a response or error body, when it is an object.
fn router_metadata(body: &Value) -> Option<&Value> {
    body.get("_llmux").filter(|m| m.is_object())
}

/// A call's answer, from which its spans are made.
pub(crate) trait Traced {
    /// Runs `record` with what the spans need of this answer.
    fn with_ended(&self, record: impl FnOnce(&Ended<'_>));
}

impl Traced for Response {
    fn with_ended(&self, record: impl FnOnce(&Ended<'_>)) {
        let body = self.body();
        record(&Ended::answer(router_metadata(body), self.model(), body["id"].as_str(), self.usage()));
    }
}

/// The members of a JSON answer its spans read; serde skips the rest (choices, data, ...).
#[derive(Default, Deserialize)]
#[serde(default)]
struct RawAnswer {
    id: Value,
    model: Value,
    usage: Value,
    #[serde(rename = "_llmux")]
    metadata: Value,
}

/// The JSON text of a `*_raw` call.
impl Traced for String {
    fn with_ended(&self, record: impl FnOnce(&Ended<'_>)) {
        // The library wrote this JSON: it decodes (else the spans just have less to say).
        let answer: RawAnswer = decode_json(self.as_bytes()).unwrap_or_default();
        let body_usage = Some(&answer.usage).filter(|u| u.is_object()).map(|u| Usage::from_json(u, true));
        record(&Ended::answer(Some(&answer.metadata), answer.model.as_str(), answer.id.as_str(), body_usage));
    }
}

/// A [`ChatCompletion`] with its "_llmux" object, which holds the attempt log its typed
/// [`Metadata`](crate::Metadata) leaves out.
pub(crate) struct TracedCompletion {
    pub(crate) completion: ChatCompletion,
    metadata: Value,
}

impl TracedCompletion {
    /// Decodes `llmux_completion`'s JSON: the completion as [`ChatCompletion::from_slice`] does,
    /// and its "_llmux" object in a second pass.
    pub(crate) fn from_slice(json: &[u8]) -> Result<TracedCompletion, Error> {
        #[derive(Deserialize)]
        struct MetadataOnly {
            #[serde(rename = "_llmux", default)]
            metadata: Value,
        }
        let completion = ChatCompletion::from_slice(json)?;
        let metadata = decode_json::<MetadataOnly>(json).map(|m| m.metadata).unwrap_or_default();
        Ok(TracedCompletion { completion, metadata })
    }
}

impl Traced for TracedCompletion {
    fn with_ended(&self, record: impl FnOnce(&Ended<'_>)) {
        let c = &self.completion;
        record(&Ended::answer(Some(&self.metadata), Some(&c.model), Some(&c.id), c.usage));
    }
}

/// Records the spans of the call that `start` began and that ended with `result`; `operation` is
/// its `gen_ai.operation.name`, `request_model` its request's "model" (the span's name when the
/// call failed before routing and has no metadata).
pub(crate) fn record_result<T: Traced>(
    tracer: &BoxedTracer,
    operation: &'static str,
    start: CallStart,
    request_model: &str,
    result: &Result<T, Error>,
) {
    match result {
        Ok(answer) => answer.with_ended(|ended| record_call(tracer, operation, start, request_model, ended)),
        Err(error) => record_call(tracer, operation, start, request_model, &Ended::failure(error)),
    }
}

/// The call span's attributes from the router metadata ("_llmux").
fn metadata_attributes(m: &Value, stream: bool, attributes: &mut Vec<KeyValue>) {
    let text = |key: &str| m[key].as_str().unwrap_or_default().to_owned();
    let count = |key: &str| m[key].as_i64().unwrap_or(0);
    let provider = text("provider");
    attributes.extend([
        // gen_ai.system was renamed gen_ai.provider.name; both, for either kind of backend.
        KeyValue::new("gen_ai.system", provider.clone()),
        KeyValue::new("gen_ai.provider.name", provider),
        KeyValue::new("llmux.call_id", count("call_id")),
        KeyValue::new("llmux.model_group", text("model_group")),
        KeyValue::new("llmux.deployment_id", text("deployment_id")),
        KeyValue::new("llmux.deployment_model", text("deployment_model")),
        KeyValue::new("llmux.attempts", count("attempts")),
        KeyValue::new("llmux.retries", count("retries")),
        KeyValue::new("llmux.fallbacks", count("fallbacks")),
        KeyValue::new("llmux.response_cost", m["response_cost"].as_f64().unwrap_or(0.0)),
    ]);
    let fallback = text("fallback_model_group");
    if !fallback.is_empty() {
        attributes.push(KeyValue::new("llmux.fallback_model_group", fallback));
    }
    if let Some((address, port)) = server_address(m["api_base"].as_str().unwrap_or_default()) {
        attributes.push(KeyValue::new("server.address", address));
        attributes.push(KeyValue::new("server.port", port));
    }
    // The library writes -1 when no token came.
    if let Some(ttft) = m["time_to_first_token_ms"].as_f64().filter(|ms| stream && *ms >= 0.0) {
        attributes.push(KeyValue::new("llmux.time_to_first_token_ms", ttft));
    }
}

/// Records the spans of a call that ends now: `operation` is its `gen_ai.operation.name` ("chat",
/// "embeddings", ...), `start` from its beginning, `ended` its outcome, `request_model` the
/// request's "model" (the span's name when the call failed before routing and has no metadata).
fn record_call(
    tracer: &BoxedTracer,
    operation: &'static str,
    start: CallStart,
    request_model: &str,
    ended: &Ended<'_>,
) {
    let end = SystemTime::now();
    let metadata = ended.metadata;
    let requested_model = metadata.and_then(|m| m["requested_model"].as_str()).unwrap_or(request_model);
    let mut attributes = vec![
        KeyValue::new("gen_ai.operation.name", operation),
        KeyValue::new("gen_ai.request.model", requested_model.to_owned()),
        KeyValue::new("llmux.stream", ended.stream.is_some()),
    ];
    if let Some(m) = metadata {
        metadata_attributes(m, ended.stream.is_some(), &mut attributes);
    }
    if let Some(model) = ended.response_model {
        attributes.push(KeyValue::new("gen_ai.response.model", model.to_owned()));
    }
    if let Some(id) = ended.response_id {
        attributes.push(KeyValue::new("gen_ai.response.id", id.to_owned()));
    }
    if let Some(usage) = ended.usage {
        attributes.push(KeyValue::new("gen_ai.usage.input_tokens", usage.prompt_tokens as i64));
        attributes.push(KeyValue::new("gen_ai.usage.output_tokens", usage.completion_tokens as i64));
    }
    if let Some(error) = ended.error {
        attributes.push(KeyValue::new("error.type", error.type_name.clone()));
    }

    let call = tracer
        .span_builder(format!("{operation} {requested_model}"))
        .with_kind(SpanKind::Client)
        .with_start_time(start.start)
        .with_attributes(attributes)
        .start_with_context(tracer, &start.parent);
    let call_context = start.parent.with_span(call);
    if let Some(log) = metadata.and_then(|m| m["attempt_log"].as_array()) {
        record_attempts(tracer, &call_context, start.start, log);
    }
    let call = call_context.span();
    if let Some(error) = ended.error {
        call.set_status(Status::error(error.message.clone()));
    }
    if ended.stream == Some(StreamEnd::Dropped) {
        call.add_event_with_timestamp(STREAM_CANCELLED_EVENT, end, Vec::new());
    }
    call.end_with_timestamp(end);
}

/// The span of a [`Stream`](crate::Stream), from [`Router::stream`](crate::Router::stream) to the
/// stream's end. Ending it consumes it, so it ends once.
pub(crate) struct StreamSpan<'r> {
    tracer: &'r BoxedTracer,
    start: CallStart,
    request_model: String,
    // A stream's final answer is {"_llmux": ...}: its id and model are its chunks'.
    response_id: Option<String>,
    response_model: Option<String>,
}

impl<'r> StreamSpan<'r> {
    /// A stream starting now with `request` (its JSON).
    pub(crate) fn start(tracer: &'r BoxedTracer, request: &str) -> StreamSpan<'r> {
        StreamSpan {
            tracer,
            start: CallStart::now(),
            request_model: crate::router::json_request_model(request.as_bytes()),
            response_id: None,
            response_model: None,
        }
    }

    /// Notes what the spans read of a chunk (the first one's id and model).
    pub(crate) fn chunk(&mut self, chunk: &Chunk) {
        if self.response_id.is_none() {
            self.response_id = chunk.body()["id"].as_str().map(str::to_owned);
        }
        if self.response_model.is_none() {
            self.response_model = chunk.model().map(str::to_owned);
        }
    }

    /// Records the spans of the stream, which ended as `how` with `outcome`. For a dropped stream
    /// that is what the library reported once it let go of the call: usually a cancellation
    /// error, with the call's metadata (but no attempt log entry for the cancelled attempt).
    pub(crate) fn end(self, outcome: Result<&Response, &Error>, how: StreamEnd) {
        let record = |ended: &Ended<'_>| {
            let mut ended = *ended;
            ended.response_model = ended.response_model.or(self.response_model.as_deref());
            ended.response_id = ended.response_id.or(self.response_id.as_deref());
            ended.stream = Some(how);
            if how == StreamEnd::Dropped {
                ended.error = None;
            }
            record_call(self.tracer, "chat", self.start, &self.request_model, &ended);
        };
        match outcome {
            Ok(response) => response.with_ended(record),
            Err(error) => record(&Ended::failure(error)),
        }
    }
}

/// One child span per attempt_log entry, placed at call start + its start_ms (older libraries
/// without start_ms: right after the attempts before it).
fn record_attempts(tracer: &BoxedTracer, call_context: &Context, call_start: SystemTime, log: &[Value]) {
    let mut next_offset = Duration::ZERO;
    for (index, attempt) in log.iter().enumerate() {
        let model_group = attempt["model_group"].as_str().unwrap_or_default();
        let latency = millis(attempt["latency_ms"].as_f64().unwrap_or(0.0));
        let offset = attempt["start_ms"].as_f64().map_or(next_offset, millis);
        next_offset = offset + latency;
        let mut attributes = vec![
            KeyValue::new("llmux.attempt.index", index as i64),
            KeyValue::new("llmux.model_group", model_group.to_owned()),
            KeyValue::new("llmux.deployment_id", attempt["deployment_id"].as_str().unwrap_or_default().to_owned()),
        ];
        let error_type = attempt["error_type"].as_str().unwrap_or_default();
        let status = attempt["status"].as_i64().unwrap_or(0);
        if !error_type.is_empty() {
            attributes.push(KeyValue::new("error.type", error_type.to_owned()));
            if status > 0 {
                attributes.push(KeyValue::new("http.response.status_code", status));
            }
        }
        let mut span = tracer
            .span_builder(format!("attempt {model_group}"))
            .with_kind(SpanKind::Client)
            .with_start_time(call_start + offset)
            .with_attributes(attributes)
            .start_with_context(tracer, call_context);
        if !error_type.is_empty() {
            span.set_status(Status::error(error_type.to_owned()));
        }
        span.end_with_timestamp(call_start + offset + latency);
    }
}

#[cfg(test)]
mod tests {
    use super::server_address;

    #[test]
    fn server_address_is_the_host_and_port_of_api_base() {
        assert_eq!(server_address("https://api.openai.com/v1"), Some(("api.openai.com".to_owned(), 443)));
        assert_eq!(server_address("http://127.0.0.1:8080/v1"), Some(("127.0.0.1".to_owned(), 8080)));
        assert_eq!(server_address("http://[::1]:9000"), Some(("::1".to_owned(), 9000)));
        assert_eq!(server_address("http://user:secret@host/v1"), Some(("host".to_owned(), 80)));
        assert_eq!(server_address(""), None);
        assert_eq!(server_address("not a url"), None);
    }
}
