//! A router whose deployment answers with `mock_response`: runs offline, with
//! no API key (`cargo run --example offline`). The metadata shows what the
//! router did.
use serde_json::json;

const CONFIG: &str = r#"
model_list:
  - model_name: chat
    litellm_params:
      model: openai/gpt-4o-mini
      mock_response: Hello from llmux
"#;

fn main() -> Result<(), llmux::Error> {
    println!("libllmux {}", llmux::version());
    let router = llmux::Router::from_config(CONFIG)?;
    let request = json!({"model": "chat", "messages": [{"role": "user", "content": "Say hello."}]});
    let response = router.completion(&request)?;
    let metadata = response.metadata();
    println!("{}", response.content().unwrap_or_default());
    println!("served by {} ({}) after {} attempt(s)", metadata.deployment_id, metadata.provider, metadata.attempts);
    Ok(())
}
