//! OpenTelemetry spans for the router's calls (cargo feature `opentelemetry`).
//!
//! A router given a tracer ([`RouterOptions::tracer`](crate::RouterOptions::tracer)) records, for every
//! [`completion`](crate::Router::completion) and [`embedding`](crate::Router::embedding), one span of
//! kind CLIENT named `"chat {model}"` / `"embeddings {model}"` (the GenAI semantic conventions'
//! `gen_ai.*` attributes plus the router's `llmux.*` ones), a child of the caller's current
//! [`Context`] at call start, and one child span `"attempt {model group}"` per backend attempt
//! (retries and fallbacks included). A failed call's span has status ERROR and `error.type`, the
//! LiteLLM exception class name. Spans are built from the call's router metadata (the "_llmux"
//! object of its response or error) when the call returns, on the calling thread; they carry
//! neither API keys nor message content.
use std::time::{Duration, SystemTime};

use opentelemetry::global::BoxedTracer;
use opentelemetry::trace::{Span, SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue};
use serde_json::Value;

use crate::error::Error;
use crate::response::Response;

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

/// The call span's attributes from the router metadata ("_llmux").
fn metadata_attributes(operation: &'static str, m: &Value, attributes: &mut Vec<KeyValue>) {
    let text = |key: &str| m[key].as_str().unwrap_or_default().to_owned();
    let count = |key: &str| m[key].as_i64().unwrap_or(0);
    let provider = text("provider");
    attributes.extend([
        KeyValue::new("gen_ai.operation.name", operation),
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
        KeyValue::new("llmux.stream", false),
    ]);
    let fallback = text("fallback_model_group");
    if !fallback.is_empty() {
        attributes.push(KeyValue::new("llmux.fallback_model_group", fallback));
    }
    if let Some((address, port)) = server_address(m["api_base"].as_str().unwrap_or_default()) {
        attributes.push(KeyValue::new("server.address", address));
        attributes.push(KeyValue::new("server.port", port));
    }
}

/// Records the spans of a finished call: `operation` is its `gen_ai.operation.name` ("chat",
/// "embeddings"), `start` from its beginning, `result` what it returned,
/// `request_model` the request's "model" (the span's name when the call failed before routing
/// and has no metadata).
pub(crate) fn record_call(
    tracer: &BoxedTracer,
    operation: &'static str,
    start: CallStart,
    request_model: &str,
    result: &Result<Response, Error>,
) {
    let end = SystemTime::now();
    let metadata = match result {
        Ok(response) => response.body().get("_llmux"),
        Err(error) => error.json.get("_llmux"),
    }
    .filter(|m| m.is_object());
    let requested_model = metadata.and_then(|m| m["requested_model"].as_str()).unwrap_or(request_model);
    let mut attributes = vec![KeyValue::new("gen_ai.request.model", requested_model.to_owned())];
    if let Some(m) = metadata {
        metadata_attributes(operation, m, &mut attributes);
    } else {
        attributes.push(KeyValue::new("gen_ai.operation.name", operation));
    }
    match result {
        Ok(response) => {
            if let Some(model) = response.model() {
                attributes.push(KeyValue::new("gen_ai.response.model", model.to_owned()));
            }
            if let Some(id) = response.body()["id"].as_str() {
                attributes.push(KeyValue::new("gen_ai.response.id", id.to_owned()));
            }
            if let Some(usage) = response.usage() {
                attributes.push(KeyValue::new("gen_ai.usage.input_tokens", usage.prompt_tokens as i64));
                attributes.push(KeyValue::new("gen_ai.usage.output_tokens", usage.completion_tokens as i64));
            }
        }
        Err(error) => attributes.push(KeyValue::new("error.type", error.type_name.clone())),
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
    if let Err(error) = result {
        call.set_status(Status::error(error.message.clone()));
    }
    call.end_with_timestamp(end);
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
