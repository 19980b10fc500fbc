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
