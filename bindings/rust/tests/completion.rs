//! Blocking completions and embeddings through the fake provider.
mod support;

use serde_json::{json, Value};
use support::{chat, FakeServer, SECRET};

#[test]
fn completion_returns_content_and_router_metadata() {
    let server = FakeServer::start();
    let router = server.router(&[("chat", "ok-a", "chat-a")], json!({}));

    let response = router.completion(&chat("chat", "hi")).unwrap();

    assert_eq!(response.content(), Some("Hello from ok-a."));
    assert_eq!(response.model(), Some("ok-a"));
    let usage = response.usage().expect("usage");
    assert!(usage.total_tokens > 0);
    assert_eq!(usage.total_tokens, usage.prompt_tokens + usage.completion_tokens);
    let metadata = response.metadata();
    assert_eq!(metadata.deployment_id, "chat-a");
    assert_eq!(metadata.model_group, "chat");
    assert_eq!(metadata.requested_model, "chat");
    assert_eq!(metadata.api_base, server.base_url);
    assert_eq!((metadata.attempts, metadata.retries, metadata.fallbacks), (1, 0, 0));
    assert!(metadata.latency > std::time::Duration::ZERO);
    assert!(metadata.cost >= 0.0);
    assert_eq!(metadata.headers.get("x-litellm-model-id").map(String::as_str), Some("chat-a"));
    assert_eq!(metadata.headers.get("x-litellm-model-group").map(String::as_str), Some("chat"));
    assert_eq!(response.body()["_llmux"]["deployment_id"], "chat-a");
    assert!(!response.body().to_string().contains(SECRET));
}

#[test]
fn completion_typed_decodes_what_completion_reads() {
    let server = FakeServer::start();
    let router = server.router(&[("chat", "ok-typed", "typed-a")], json!({}));

    let typed = router.completion_typed(&chat("chat", "hi")).unwrap();
    let value = router.completion(&chat("chat", "hi")).unwrap();

    assert_eq!(typed.content(), Some("Hello from ok-typed."));
    assert_eq!(typed.content(), value.content());
    assert_eq!(Some(typed.model.as_str()), value.model());
    assert_eq!(typed.choices[0].message.role, "assistant");
    assert_eq!(typed.usage.map(|u| u.total_tokens), value.usage().map(|u| u.total_tokens));
    let (m, v) = (&typed.metadata, value.metadata());
    assert_eq!(m.deployment_id, "typed-a");
    assert_eq!((&m.model_group, &m.requested_model, &m.api_base), (&v.model_group, &v.requested_model, &v.api_base));
    assert_eq!((m.attempts, m.retries, m.fallbacks), (1, 0, 0));
    assert!(m.latency > std::time::Duration::ZERO);
    assert_eq!(m.headers.get("x-litellm-model-id").map(String::as_str), Some("typed-a"));
    assert_eq!(m.headers.keys().collect::<Vec<_>>(), v.headers.keys().collect::<Vec<_>>());
    assert!(m.call_id > 0 && m.call_id != v.call_id);
}

#[test]
fn completion_typed_equals_decoding_the_json_answer() {
    // completion_typed reads llmux_completion_split's plain fields; completion reads llmux_completion's JSON.
    // Two calls of the same request: only the call id and the timings may differ.
    let server = FakeServer::start();
    let router = server.router(&[("chat", "ok-typed", "typed-a")], json!({}));

    let typed = router.completion_typed(&chat("chat", "hi")).unwrap();
    let value = router.completion(&chat("chat", "hi")).unwrap();
    let from_json: llmux::ChatCompletion = serde_json::from_value(value.body().clone()).unwrap();

    let timeless = |m: &llmux::Metadata| {
        let mut m = m.clone();
        m.call_id = 0;
        m.latency = std::time::Duration::ZERO;
        m.headers.remove("x-litellm-call-id");
        m.headers.remove("x-litellm-response-duration-ms");
        m
    };
    assert_eq!(timeless(&typed.metadata), timeless(value.metadata()));
    assert_eq!(timeless(&typed.metadata), timeless(&from_json.metadata));
    assert_eq!(typed.metadata.headers.len(), value.metadata().headers.len());
    assert!(typed.metadata.usage.is_some() && typed.metadata.finish_reason.is_some());
    assert_eq!(
        (&typed.object, &typed.model, &typed.choices, &typed.usage),
        (&from_json.object, &from_json.model, &from_json.choices, &from_json.usage)
    );
}

#[test]
fn completion_typed_sends_any_serializable_request() {
    #[derive(serde::Serialize)]
    struct Message<'a> {
        role: &'a str,
        content: &'a str,
    }
    #[derive(serde::Serialize)]
    struct Request<'a> {
        model: &'a str,
        messages: Vec<Message<'a>>,
    }
    let server = FakeServer::start();
    let router = server.router(&[("chat", "ok-struct", "struct-a")], json!({}));

    let request = Request { model: "chat", messages: vec![Message { role: "user", content: "hi" }] };
    let response = router.completion_typed(&request).unwrap();

    assert_eq!(response.content(), Some("Hello from ok-struct."));
    assert_eq!(response.metadata.deployment_id, "struct-a");
    let refused = router.completion_typed(&std::collections::BTreeMap::from([((1, 2), 3)])).unwrap_err();
    assert_eq!(refused.kind, llmux::ErrorKind::InvalidArgument);
}

#[test]
fn completion_raw_takes_and_returns_json_text() {
    let server = FakeServer::start();
    let router = server.router(&[("chat", "ok-raw", "raw-a")], json!({}));

    let text = router.completion_raw(r#"{"model":"chat","messages":[{"role":"user","content":"hi"}]}"#).unwrap();

    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["choices"][0]["message"]["content"], "Hello from ok-raw.");
    assert_eq!(body["_llmux"]["deployment_id"], "raw-a");
    assert_eq!(body["_llmux"]["attempts"], 1);
}

#[test]
fn embedding_returns_the_vectors_and_metadata() {
    let server = FakeServer::start();
    let router = server.router(&[("embed", "ok-embed", "embed-a")], json!({}));

    let response = router.embedding(&json!({"model": "embed", "input": "hello"})).unwrap();

    assert_eq!(response.embedding(0).map(|v| v.len()), Some(4));
    assert_eq!(response.embedding(1), None);
    assert_eq!(response.metadata().deployment_id, "embed-a");
    assert_eq!(response.metadata().model_group, "embed");

    let raw: Value =
        serde_json::from_str(&router.embedding_raw(r#"{"model":"embed","input":["a","b"]}"#).unwrap()).unwrap();
    assert_eq!(raw["_llmux"]["model_group"], "embed");
}

#[test]
fn a_retry_moves_to_another_deployment_and_says_so() {
    let server = FakeServer::start();
    let router = server.router(
        &[("chat", "status-500-first", "first"), ("chat", "ok-second", "second")],
        json!({"routing_strategy": "simple-shuffle", "num_retries": 3}),
    );
    // Whichever deployment the shuffle picks first, the answer comes from "second".
    for _ in 0..4 {
        let response = router.completion(&chat("chat", "hi")).unwrap();
        assert_eq!(response.content(), Some("Hello from ok-second."));
        let metadata = response.metadata();
        assert_eq!(metadata.deployment_id, "second");
        assert_eq!(metadata.retries + 1, metadata.attempts);
    }
}
