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

/// Group "broken" (one deployment answering 503) falls back to group "chat" (`chat_model` of the fake
/// provider), with no retry: a call to "broken" makes two attempts, one failed.
fn broken_then_chat(provider: &SdkTracerProvider, server: &FakeServer, chat_model: &str) -> llmux::Router {
    router(
        provider,
        json!({
            "model_list": [
                server.deployment("broken", "status-503-x", "broken-1"),
                server.deployment("chat", chat_model, "chat-1"),
            ],
            "router_settings": {"num_retries": 0, "fallbacks": [{"broken": ["chat"]}]},
        }),
    )
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
    let router = broken_then_chat(&provider, &server, "ok-chat");

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

fn float(span: &SpanData, key: &str) -> f64 {
    match attribute(span, key) {
        Some(Value::F64(x)) => *x,
        other => panic!("{key} of {:?} is {other:?}, not a float", span.name),
    }
}

fn event_names(span: &SpanData) -> Vec<&str> {
    span.events.iter().map(|e| e.name.as_ref()).collect()
}

/// The one span named `name`, failing the test when there is none or more than one.
fn only<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    let named = spans_named(spans, name);
    assert_eq!(named.len(), 1, "one span {name:?} expected: {spans:#?}");
    named[0]
}

#[test]
fn a_stream_is_one_chat_span_from_its_start_to_its_end() {
    let server = FakeServer::start();
    let (provider, exporter) = in_memory();
    let router = broken_then_chat(&provider, &server, "ok-usage");
    let mut request = chat("broken", "a confidential stream");
    request["stream_options"] = json!({"include_usage": true});

    // The context current when the stream starts is the parent, not the one
    // current where it is read (another thread, here).
    let caller = Context::current_with_span(provider.tracer("caller").start("request handler"));
    let mut stream = {
        let _attached = caller.clone().attach();
        router.stream(&request).unwrap()
    };
    let first = stream.next().expect("a first chunk").unwrap();
    assert!(spans_named(&exporter.get_finished_spans().unwrap(), "chat broken").is_empty(), "ended before the stream");
    let (stream, rest) = std::thread::scope(|scope| {
        scope
            .spawn(move || {
                let rest: Vec<_> = (&mut stream).map(|c| c.unwrap()).collect();
                (stream, rest)
            })
            .join()
            .unwrap()
    });
    let chunks: Vec<_> = std::iter::once(first).chain(rest).collect();
    caller.span().end();

    let spans = exporter.get_finished_spans().unwrap();
    let caller = only(&spans, "request handler");
    let call = only(&spans, "chat broken");
    assert_eq!(call.parent_span_id, caller.span_context.span_id());
    assert_eq!(call.span_context.trace_id(), caller.span_context.trace_id());
    assert_eq!(call.span_kind, SpanKind::Client);
    assert_eq!(call.status, Status::Unset);
    assert!(event_names(call).is_empty(), "{:?}", call.events);
    let metadata = stream.metadata().expect("the stream ended").clone();
    assert_eq!(text(call, "gen_ai.operation.name"), "chat");
    assert_eq!(text(call, "gen_ai.request.model"), "broken");
    assert_eq!(text(call, "gen_ai.provider.name"), "openai");
    assert_eq!(attribute(call, "llmux.stream"), Some(&Value::Bool(true)));
    let ttft = float(call, "llmux.time_to_first_token_ms");
    // The metadata's value, read back through a Duration (nanoseconds).
    assert!((ttft - metadata.time_to_first_token.as_secs_f64() * 1000.0).abs() < 1e-5, "{ttft} {metadata:?}");
    assert!(ttft > 0.0);
    // A stream's final answer has no body: the id and model are its chunks'.
    assert_eq!(text(call, "gen_ai.response.id"), chunks[0].body()["id"].as_str().unwrap());
    assert_eq!(text(call, "gen_ai.response.model"), "ok-usage");
    let usage = chunks.last().and_then(|c| c.usage()).expect("a usage chunk");
    assert_eq!(int(call, "gen_ai.usage.input_tokens"), usage.prompt_tokens as i64);
    assert_eq!(int(call, "gen_ai.usage.output_tokens"), usage.completion_tokens as i64);
    assert_eq!(int(call, "llmux.call_id"), stream.call_id() as i64);
    assert_eq!(text(call, "llmux.deployment_id"), "chat-1");
    assert_eq!(text(call, "llmux.fallback_model_group"), "chat");
    assert_eq!((int(call, "llmux.attempts"), int(call, "llmux.fallbacks")), (2, 1));
    assert!(attribute(call, "error.type").is_none());

    let failed = only(&spans, "attempt broken");
    let served = only(&spans, "attempt chat");
    for (index, attempt) in [failed, served].into_iter().enumerate() {
        assert_eq!(attempt.parent_span_id, call.span_context.span_id());
        assert_eq!(int(attempt, "llmux.attempt.index"), index as i64);
    }
    assert_eq!(text(failed, "error.type"), "ServiceUnavailableError");
    assert_eq!(int(failed, "http.response.status_code"), 503);
    assert_eq!(served.status, Status::Unset);
    assert_no_secret_or_content(&spans, "confidential");

    // Read to its end and dropped: still the one span.
    drop(stream);
    assert_eq!(exporter.get_finished_spans().unwrap().len(), spans.len());
}

#[test]
fn a_failed_stream_is_a_span_with_status_error() {
    let server = FakeServer::start();
    let (provider, exporter) = in_memory();
    let router = router(
        &provider,
        json!({
            "model_list": [server.deployment("chat", "status-401-stream", "denied-1")],
            "router_settings": {"num_retries": 0},
        }),
    );

    let mut stream = router.stream(&chat("chat", "hi")).unwrap();
    let error = stream.next().expect("an item").expect_err("a 401 stream fails");
    assert!(stream.next().is_none());
    drop(stream);

    let spans = exporter.get_finished_spans().unwrap();
    let call = only(&spans, "chat chat");
    assert_eq!(call.status, Status::error(error.message.clone()));
    assert_eq!(text(call, "error.type"), "AuthenticationError");
    assert_eq!(attribute(call, "llmux.stream"), Some(&Value::Bool(true)));
    // No token came.
    assert!(attribute(call, "llmux.time_to_first_token_ms").is_none());
    assert!(event_names(call).is_empty());
    assert_eq!(text(call, "llmux.deployment_id"), "denied-1");
    let attempt = only(&spans, "attempt chat");
    assert_eq!(attempt.parent_span_id, call.span_context.span_id());
    assert_eq!(text(attempt, "error.type"), "AuthenticationError");
    assert_eq!(int(attempt, "http.response.status_code"), 401);
    assert_eq!(spans.len(), 2, "{spans:#?}");
}

/// The span of a stream dropped before its end: status unset (the consumer's
/// choice, not a failure), the event llmux.stream.cancelled, ended once.
fn assert_cancelled(call: &SpanData) {
    assert_eq!(call.status, Status::Unset);
    assert_eq!(event_names(call), ["llmux.stream.cancelled"]);
    assert!(attribute(call, "error.type").is_none());
    assert_eq!(attribute(call, "llmux.stream"), Some(&Value::Bool(true)));
}

#[test]
fn a_stream_dropped_after_its_first_chunk_ends_its_span_once_as_cancelled() {
    let server = FakeServer::start();
    let (provider, exporter) = in_memory();
    let router = router(&provider, json!({"model_list": [server.deployment("chat", "ok-partial", "partial-1")]}));

    let mut stream = router.stream(&chat("chat", "hi")).unwrap();
    let first = stream.next().expect("a first chunk").unwrap();
    assert!(exporter.get_finished_spans().unwrap().is_empty());
    drop(stream);

    let spans = exporter.get_finished_spans().unwrap();
    let call = only(&spans, "chat chat");
    assert_cancelled(call);
    assert_eq!(text(call, "gen_ai.response.id"), first.body()["id"].as_str().unwrap());
    assert_eq!(text(call, "gen_ai.response.model"), "ok-partial");
    // The call reached the deployment (its cancellation or its end says so).
    assert_eq!(text(call, "llmux.deployment_id"), "partial-1");
    // The drop races with the stream's end: ended, its attempt log has the one
    // attempt; cancelled, the library logs none.
    let attempts = spans_named(&spans, "attempt chat");
    assert!(attempts.iter().all(|a| a.parent_span_id == call.span_context.span_id()), "{spans:#?}");
    assert_eq!(spans.len(), 1 + attempts.len(), "{spans:#?}");
}

#[test]
fn a_stream_dropped_before_any_answer_ends_its_span_as_cancelled() {
    let server = FakeServer::start();
    let (provider, exporter) = in_memory();
    let router = router(
        &provider,
        json!({
            "model_list": [server.deployment("chat", "hang-forever", "hang-1")],
            "router_settings": {"num_retries": 0, "timeout": 600},
        }),
    );

    let stream = router.stream(&chat("chat", "hi")).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while router.health(Some("chat")).unwrap()[0].in_flight == 0 {
        assert!(std::time::Instant::now() < deadline, "the request never went out");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    drop(stream);

    let spans = exporter.get_finished_spans().unwrap();
    let call = only(&spans, "chat chat");
    assert_cancelled(call);
    // The library reports the cancellation as a CancelledError, with the call's metadata.
    assert_eq!(text(call, "llmux.deployment_id"), "hang-1");
    assert!(attribute(call, "llmux.time_to_first_token_ms").is_none());
    assert!(attribute(call, "gen_ai.response.id").is_none());
    assert!(spans.iter().all(|s| s.name == "chat chat" || s.parent_span_id == call.span_context.span_id()));
}

#[test]
fn a_typed_completion_is_traced_like_completion() {
    let server = FakeServer::start();
    let (provider, exporter) = in_memory();
    let router = broken_then_chat(&provider, &server, "ok-typed");

    let caller = Context::current_with_span(provider.tracer("caller").start("request handler"));
    let completion = {
        let _attached = caller.clone().attach();
        router.completion_typed(&chat("broken", "a confidential question")).unwrap()
    };
    caller.span().end();
    // The typed answer is the same as without a tracer.
    assert_eq!(completion.content(), Some("Hello from ok-typed."));
    assert_eq!((completion.metadata.deployment_id.as_str(), completion.metadata.attempts), ("chat-1", 2));

    let spans = exporter.get_finished_spans().unwrap();
    let call = only(&spans, "chat broken");
    assert_eq!(call.parent_span_id, only(&spans, "request handler").span_context.span_id());
    assert_eq!(text(call, "gen_ai.response.model"), completion.model);
    assert_eq!(text(call, "gen_ai.response.id"), completion.id);
    let usage = completion.metadata.usage.expect("usage");
    assert_eq!(int(call, "gen_ai.usage.input_tokens"), usage.prompt_tokens as i64);
    assert_eq!(int(call, "gen_ai.usage.output_tokens"), usage.completion_tokens as i64);
    assert_eq!(int(call, "llmux.call_id"), completion.metadata.call_id as i64);
    assert_eq!(text(call, "llmux.deployment_id"), "chat-1");
    assert_eq!(attribute(call, "llmux.stream"), Some(&Value::Bool(false)));
    assert!(attribute(call, "llmux.time_to_first_token_ms").is_none());
    assert_eq!(only(&spans, "attempt broken").parent_span_id, call.span_context.span_id());
    assert_eq!(text(only(&spans, "attempt broken"), "error.type"), "ServiceUnavailableError");
    assert_eq!(only(&spans, "attempt chat").parent_span_id, call.span_context.span_id());
    assert_no_secret_or_content(&spans, "confidential");

    // A typed call that fails.
    let error = router.completion_typed(&json!({"model": "nowhere", "messages": []})).unwrap_err();
    let spans = exporter.get_finished_spans().unwrap();
    let failed = only(&spans, "chat nowhere");
    assert_eq!(failed.status, Status::error(error.message.clone()));
    assert_eq!(text(failed, "error.type"), error.type_name);
}

/// A call through one of the router's methods, its answer dropped.
type Call<'r> = dyn Fn() -> Result<(), llmux::Error> + 'r;

#[test]
fn every_call_path_with_router_metadata_is_one_span() {
    let (provider, exporter) = in_memory();
    let router = router(
        &provider,
        json!({"model_list": [{
            "model_name": "m",
            "litellm_params": {"model": "openai/x", "mock_response": "mocked words"},
            "model_info": {"id": "mock-1"},
        }]}),
    );
    let chat_request = chat("m", "hi");
    let calls: Vec<(&str, Box<Call<'_>>)> = vec![
        ("chat m", Box::new(|| router.completion(&chat_request).map(drop))),
        ("chat m", Box::new(|| router.completion_raw(&chat_request.to_string()).map(drop))),
        ("chat m", Box::new(|| router.completion_typed(&chat_request).map(drop))),
        ("embeddings m", Box::new(|| router.embedding(&json!({"model": "m", "input": "x"})).map(drop))),
        ("embeddings m", Box::new(|| router.embedding_raw(r#"{"model":"m","input":"x"}"#).map(drop))),
        ("text_completion m", Box::new(|| router.text_completion(&json!({"model": "m", "prompt": "p"})).map(drop))),
        ("moderation m", Box::new(|| router.moderation(&json!({"model": "m", "input": "x"})).map(drop))),
        ("chat m", Box::new(|| router.responses(&json!({"model": "m", "input": "hi"})).map(drop))),
        (
            "moderation m",
            Box::new(|| router.call_raw(llmux::Endpoint::Moderations, r#"{"model":"m","input":"x"}"#).map(drop)),
        ),
        ("chat m", Box::new(|| router.stream(&chat_request)?.collect::<Result<Vec<_>, _>>().map(drop))),
    ];
    for (name, call) in calls {
        exporter.reset();
        call().unwrap_or_else(|e| panic!("{name}: {e}"));
        let spans = exporter.get_finished_spans().unwrap();
        let span = only(&spans, name);
        assert_eq!(text(span, "llmux.deployment_id"), "mock-1", "{name}");
        assert_eq!(text(span, "gen_ai.operation.name"), name.split(' ').next().unwrap());
        assert_eq!(spans_named(&spans, "attempt m").len(), 1, "{name}: {spans:#?}");
        assert_eq!(spans.len(), 2, "{name}: {spans:#?}");
    }
}

#[test]
fn a_raw_call_that_fails_before_routing_is_named_after_its_request() {
    let (provider, exporter) = in_memory();
    let router = router(&provider, json!({"model_list": []}));

    let error = router.completion_raw(r#"{"model":"missing","messages":[]}"#).unwrap_err();

    let spans = exporter.get_finished_spans().unwrap();
    let call = only(&spans, "chat missing");
    assert_eq!(text(call, "gen_ai.request.model"), "missing");
    assert_eq!(call.status, Status::error(error.message.clone()));
    assert_eq!(text(call, "error.type"), error.type_name);
}
