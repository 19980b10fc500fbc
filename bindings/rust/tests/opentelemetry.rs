//! OpenTelemetry spans (feature `opentelemetry`): calls against the fake
//! provider, recorded through the SDK's in-memory exporter.
#![cfg(feature = "opentelemetry")]
mod support;

use opentelemetry::trace::{SpanKind, Status, TraceContextExt, Tracer, TracerProvider};
use opentelemetry::{Context, KeyValue, Value};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use serde_json::json;
use support::{chat, FakeServer, SECRET};

/// A tracer provider exporting to memory, synchronously (each span as it ends).
fn in_memory() -> (SdkTracerProvider, InMemorySpanExporter) {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder().with_simple_exporter(exporter.clone()).build();
    (provider, exporter)
}

fn router(provider: &SdkTracerProvider, config: serde_json::Value) -> llmux::Router {
    let options = llmux::RouterOptions::new().random_seed(5).tracer(provider.tracer("llmux-test"));
    llmux::Router::with_options(&config.to_string(), options).expect("router from the test config")
}

fn attribute<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    span.attributes.iter().find(|kv| kv.key.as_str() == key).map(|kv| &kv.value)
}

fn text(span: &SpanData, key: &str) -> String {
    match attribute(span, key) {
        Some(Value::String(s)) => s.as_str().to_owned(),
        other => panic!("{key} of {:?} is {other:?}, not a string", span.name),
    }
}

fn int(span: &SpanData, key: &str) -> i64 {
    match attribute(span, key) {
        Some(Value::I64(n)) => *n,
        other => panic!("{key} of {:?} is {other:?}, not an integer", span.name),
    }
}

fn spans_named<'a>(spans: &'a [SpanData], name: &str) -> Vec<&'a SpanData> {
    spans.iter().filter(|s| s.name == name).collect()
}

/// No attribute of any span holds the API key or the message text.
fn assert_no_secret_or_content(spans: &[SpanData], content: &str) {
    for span in spans {
        for KeyValue { key, value, .. } in &span.attributes {
            let value = value.as_str();
            assert!(!value.contains(SECRET) && !value.contains(content), "{key} of {:?} = {value}", span.name);
        }
    }
}

#[test]
fn a_call_with_a_failed_attempt_is_one_call_span_with_one_child_per_attempt() {
    let server = FakeServer::start();
    let (provider, exporter) = in_memory();
    let router = router(
        &provider,
        json!({
            "model_list": [
                server.deployment("broken", "status-503-x", "broken-1"),
                server.deployment("chat", "ok-chat", "chat-1"),
            ],
            "router_settings": {"num_retries": 0, "fallbacks": [{"broken": ["chat"]}]},
        }),
    );

    // The caller's own span: the call's span must be its child.
    let caller_tracer = provider.tracer("caller");
    let caller = caller_tracer.start("request handler");
    let caller_context = Context::current_with_span(caller);
    let response = {
        let _attached = caller_context.clone().attach();
        router.completion(&chat("broken", "a confidential question")).expect("the fallback answers")
    };
    caller_context.span().end();

    let spans = exporter.get_finished_spans().unwrap();
    let caller = spans_named(&spans, "request handler")[0];
    let calls = spans_named(&spans, "chat broken");
    assert_eq!(calls.len(), 1, "{spans:#?}");
    let call = calls[0];
    assert_eq!(call.span_kind, SpanKind::Client);
    assert_eq!(call.parent_span_id, caller.span_context.span_id());
    assert_eq!(call.span_context.trace_id(), caller.span_context.trace_id());
    assert_eq!(call.status, Status::Unset);
    let metadata = response.metadata();
    assert_eq!(text(call, "gen_ai.operation.name"), "chat");
    assert_eq!(text(call, "gen_ai.request.model"), "broken");
    assert_eq!(text(call, "gen_ai.system"), "openai");
    assert_eq!(text(call, "gen_ai.provider.name"), "openai");
    assert_eq!(text(call, "gen_ai.response.model"), response.model().unwrap());
    assert_eq!(text(call, "gen_ai.response.id"), response.body()["id"].as_str().unwrap());
    let usage = response.usage().expect("the fake reports usage");
    assert_eq!(int(call, "gen_ai.usage.input_tokens"), usage.prompt_tokens as i64);
    assert_eq!(int(call, "gen_ai.usage.output_tokens"), usage.completion_tokens as i64);
    assert_eq!(text(call, "server.address"), "127.0.0.1");
    let port: i64 = server.base_url.rsplit(':').next().unwrap().trim_end_matches("/v1").parse().unwrap();
    assert_eq!(int(call, "server.port"), port);
    assert_eq!(int(call, "llmux.call_id"), metadata.call_id as i64);
    assert_eq!(text(call, "llmux.model_group"), "chat");
    assert_eq!(text(call, "llmux.deployment_id"), "chat-1");
    assert_eq!(text(call, "llmux.deployment_model"), metadata.deployment_model);
    assert_eq!((int(call, "llmux.attempts"), int(call, "llmux.retries"), int(call, "llmux.fallbacks")), (2, 0, 1));
    assert_eq!(text(call, "llmux.fallback_model_group"), "chat");
    assert_eq!(attribute(call, "llmux.response_cost"), Some(&Value::F64(metadata.cost)));
    assert_eq!(attribute(call, "llmux.stream"), Some(&Value::Bool(false)));
    assert!(attribute(call, "error.type").is_none());

    let failed = spans_named(&spans, "attempt broken");
    let served = spans_named(&spans, "attempt chat");
    assert_eq!((failed.len(), served.len()), (1, 1), "{spans:#?}");
    let (failed, served) = (failed[0], served[0]);
    for (index, attempt) in [failed, served].into_iter().enumerate() {
        assert_eq!(attempt.parent_span_id, call.span_context.span_id());
        assert_eq!(attempt.span_kind, SpanKind::Client);
        assert_eq!(int(attempt, "llmux.attempt.index"), index as i64);
        assert!(attempt.start_time >= call.start_time && attempt.end_time <= call.end_time, "{attempt:#?}");
    }
    assert!(failed.end_time <= served.start_time);
    assert_eq!(text(failed, "llmux.deployment_id"), "broken-1");
    assert_eq!(text(failed, "error.type"), "ServiceUnavailableError");
    assert_eq!(int(failed, "http.response.status_code"), 503);
    assert!(matches!(failed.status, Status::Error { .. }), "{:?}", failed.status);
    assert_eq!(text(served, "llmux.deployment_id"), "chat-1");
    assert!(attribute(served, "error.type").is_none() && attribute(served, "http.response.status_code").is_none());
    assert_eq!(served.status, Status::Unset);
    assert_no_secret_or_content(&spans, "confidential");
}

#[test]
fn a_retried_call_that_fails_has_two_failed_attempt_spans() {
    let server = FakeServer::start();
    let (provider, exporter) = in_memory();
    let router = router(
        &provider,
        json!({
            "model_list": [server.deployment("chat", "status-503-x", "chat-503")],
            "router_settings": {"num_retries": 1},
        }),
    );

    let error = router.completion(&chat("chat", "hello")).unwrap_err();
    assert_eq!(error.status, 503);

    let spans = exporter.get_finished_spans().unwrap();
    let call = spans_named(&spans, "chat chat");
    assert_eq!(call.len(), 1, "{spans:#?}");
    let call = call[0];
    assert_eq!(call.status, Status::error(error.message.clone()));
    assert_eq!(text(call, "error.type"), "ServiceUnavailableError");
    assert_eq!((int(call, "llmux.attempts"), int(call, "llmux.retries"), int(call, "llmux.fallbacks")), (2, 1, 0));
    assert!(attribute(call, "llmux.fallback_model_group").is_none());
    let mut attempts = spans_named(&spans, "attempt chat");
    attempts.sort_by_key(|a| int(a, "llmux.attempt.index"));
    assert_eq!(attempts.len(), 2, "{spans:#?}");
    for (index, attempt) in attempts.iter().enumerate() {
        assert_eq!(int(attempt, "llmux.attempt.index"), index as i64);
        assert_eq!(attempt.parent_span_id, call.span_context.span_id());
        assert_eq!(text(attempt, "llmux.deployment_id"), "chat-503");
        assert_eq!(text(attempt, "error.type"), "ServiceUnavailableError");
        assert_eq!(int(attempt, "http.response.status_code"), 503);
        assert!(matches!(attempt.status, Status::Error { .. }));
    }
    assert!(attempts[0].end_time <= attempts[1].start_time);
}

#[test]
fn a_failed_call_has_status_error_and_the_litellm_class_name() {
    let server = FakeServer::start();
    let (provider, exporter) = in_memory();
    let router = router(&provider, json!({"model_list": [server.deployment("bad", "status-400-x", "bad-1")]}));

    let error = router.completion(&chat("bad", "a private remark")).unwrap_err();

    let spans = exporter.get_finished_spans().unwrap();
    let call = spans_named(&spans, "chat bad");
    assert_eq!(call.len(), 1, "{spans:#?}");
    let call = call[0];
    // No caller span was current: the call's span is a root.
    assert_eq!(call.parent_span_id, opentelemetry::trace::SpanId::INVALID);
    assert_eq!(call.status, Status::error(error.message.clone()));
    assert_eq!(text(call, "error.type"), "BadRequestError");
    assert_eq!(text(call, "llmux.deployment_id"), "bad-1");
    assert_eq!(int(call, "llmux.attempts"), 1);
    assert!(attribute(call, "gen_ai.response.id").is_none());
    let attempts = spans_named(&spans, "attempt bad");
    assert_eq!(attempts.len(), 1, "{spans:#?}");
    assert_eq!(text(attempts[0], "error.type"), "BadRequestError");
    assert_eq!(int(attempts[0], "http.response.status_code"), 400);
    assert!(matches!(attempts[0].status, Status::Error { .. }));
    assert_no_secret_or_content(&spans, "private remark");
}

#[test]
fn an_embedding_is_an_embeddings_span() {
    let server = FakeServer::start();
    let (provider, exporter) = in_memory();
    let router = router(&provider, json!({"model_list": [server.deployment("embed", "ok-embed", "embed-1")]}));

    router.embedding(&json!({"model": "embed", "input": ["some text"]})).unwrap();

    let spans = exporter.get_finished_spans().unwrap();
    let call = spans_named(&spans, "embeddings embed");
    assert_eq!(call.len(), 1, "{spans:#?}");
    assert_eq!(text(call[0], "gen_ai.operation.name"), "embeddings");
    assert_eq!(spans_named(&spans, "attempt embed").len(), 1);
}
