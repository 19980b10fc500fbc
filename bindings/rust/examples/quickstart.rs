//! A router over one OpenAI deployment: a completion, then a stream.
//!
//! Run with `OPENAI_API_KEY=sk-... cargo run --example quickstart`
//! (or point `api_base` at any OpenAI-compatible server).
use serde_json::json;

const CONFIG: &str = r#"
model_list:
  - model_name: chat
    litellm_params:
      model: openai/gpt-4o-mini
      api_key: os.environ/OPENAI_API_KEY
router_settings:
  num_retries: 2
"#;

fn main() -> Result<(), llmux::Error> {
    let router = llmux::Router::from_config(CONFIG)?;
    let request = json!({"model": "chat", "messages": [{"role": "user", "content": "Say hello."}]});

    let response = router.completion(&request)?;
    let metadata = response.metadata();
    println!("{}", response.content().unwrap_or_default());
    println!("served by {} in {:?} after {} attempt(s)", metadata.deployment_id, metadata.latency, metadata.attempts);

    let mut stream = router.stream(&request)?;
    for chunk in &mut stream {
        print!("{}", chunk?.content().unwrap_or_default());
    }
    println!("\nusage: {:?}", stream.usage());
    Ok(())
}
