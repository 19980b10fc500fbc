//! Text completions, moderations and the Responses API (mock deployments),
//! and the typed error of a family that lacks them.
use llmux::{Endpoint, ErrorKind, Router};
use serde_json::json;

const CONFIG: &str = "model_list:
  - model_name: m
    litellm_params: {model: openai/x, mock_response: mocked words}
    model_info: {id: mock-1}
  - model_name: claude
    litellm_params: {model: anthropic/claude-3, api_key: sk-ant, api_base: \"http://127.0.0.1:9\"}
router_settings: {num_retries: 0}
";

#[test]
fn other_endpoints_are_routed_and_answered() {
    let router = Router::from_config(CONFIG).unwrap();
    let text = router.text_completion(&json!({"model": "m", "prompt": "p"})).unwrap();
    assert_eq!(text.body()["object"], "text_completion");
    assert_eq!(text.body()["choices"][0]["text"], "mocked words");
    assert_eq!(text.metadata().deployment_id, "mock-1");
    let moderation = router.moderation(&json!({"model": "m", "input": ["a", "b"]})).unwrap();
    assert_eq!(moderation.body()["results"][0]["flagged"], false);
    let response = router.responses(&json!({"model": "m", "input": "hi"})).unwrap();
    assert_eq!(response.body()["output"][0]["content"][0]["text"], "mocked words");
    let raw = router.call_raw(Endpoint::Moderations, r#"{"model":"m","input":"x"}"#).unwrap();
    assert!(raw.contains("\"_llmux\""));
}

#[test]
fn unsupported_provider_and_bad_requests_are_typed_errors() {
    let router = Router::from_config(CONFIG).unwrap();
    let err = router.moderation(&json!({"model": "claude", "input": "p"})).unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadRequest);
    assert!(err.message.contains("moderations endpoint is not supported by provider 'anthropic'"), "{}", err.message);
    assert!(!err.message.contains("sk-ant"));
    let err = router.call(Endpoint::TextCompletions, &json!({"model": "m"})).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidArgument);
    assert!(err.message.contains("'prompt' is required"));
}
