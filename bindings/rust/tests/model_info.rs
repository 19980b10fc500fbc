//! Model info from the model map (deployments, groups, models) and reset.
mod support;

use llmux::ErrorKind;
use serde_json::json;
use support::{chat, router_from, FakeServer};

fn mapped_router(server: &FakeServer) -> llmux::Router {
    let mut gpt = server.deployment("g", "gpt-4o", "gpt");
    gpt["litellm_params"]["rpm"] = json!(2);
    let mut claude = server.deployment("g", "x", "claude");
    claude["litellm_params"]["model"] = json!("anthropic/claude-haiku-4-5");
    claude["litellm_params"]["rpm"] = json!(3);
    let mut custom = server.deployment("custom", "gpt-4o", "custom");
    custom["litellm_params"]["input_cost_per_token"] = json!(0.5);
    custom["model_info"]["max_input_tokens"] = json!(999);
    custom["model_info"]["access_groups"] = json!(["team"]);
    router_from(vec![gpt, claude, custom], json!({}))
}

#[test]
fn deployment_model_info_reads_the_map_under_the_deployments_values() {
    let server = FakeServer::start();
    let router = mapped_router(&server);
    let gpt = router.deployment_model_info("gpt", None).unwrap();
    assert_eq!((gpt.key.as_str(), gpt.mapped, gpt.litellm_provider.as_str()), ("gpt-4o", true, "openai"));
    assert_eq!((gpt.max_input_tokens, gpt.max_output_tokens), (Some(128000), Some(16384)));
    assert_eq!(gpt.input_cost_per_token, 2.5e-6);
    assert_eq!(gpt.mode.as_deref(), Some("chat"));
    assert_eq!(gpt.supports.get("supports_vision"), Some(&true));
    assert_eq!(gpt.id.as_deref(), Some("gpt"));

    let custom = router.deployment_model_info("custom", None).unwrap();
    assert_eq!(custom.max_input_tokens, Some(999));
    assert_eq!(custom.max_output_tokens, Some(16384));
    assert_eq!(custom.input_cost_per_token, 0.5);
    assert_eq!(custom.fields["access_groups"], json!(["team"]));

    let model = router.model_info("gpt-4o", None).unwrap();
    assert_eq!(model.output_cost_per_token, 1e-5);
}

#[test]
fn model_group_info_merges_the_group() {
    let server = FakeServer::start();
    let router = mapped_router(&server);
    let group = router.model_group_info("g").unwrap();
    assert_eq!(group.providers, ["openai", "anthropic"]);
    assert_eq!((group.max_input_tokens, group.rpm, group.tpm), (Some(200000), Some(5), None));
    assert_eq!(group.supports.get("supports_reasoning"), Some(&true));
    assert_eq!(group.supports.get("supports_url_context"), Some(&false));
    assert_eq!(group.deployment_ids, ["gpt", "claude"]);
}

#[test]
fn unknown_names_and_bad_arguments_are_typed_errors() {
    let server = FakeServer::start();
    let router = mapped_router(&server);
    assert_eq!(router.deployment_model_info("nope", None).unwrap_err().kind, ErrorKind::NotFound);
    assert_eq!(router.model_group_info("nope").unwrap_err().kind, ErrorKind::NotFound);
    assert_eq!(router.model_info("openai/not-a-model-at-all", None).unwrap_err().kind, ErrorKind::NotFound);
    assert_eq!(router.model_group_info("").unwrap_err().kind, ErrorKind::InvalidArgument);
    assert_eq!(router.deployment_model_info("", None).unwrap_err().kind, ErrorKind::InvalidArgument);
}

#[test]
fn reset_ends_cooldowns() {
    let server = FakeServer::start();
    let router = server.router(&[("auth", "status-401", "bad")], json!({"num_retries": 0, "cooldown_time": 600}));
    assert_eq!(router.completion(&chat("auth", "hi")).unwrap_err().kind, ErrorKind::Authentication);
    assert_eq!(router.completion(&chat("auth", "hi")).unwrap_err().kind, ErrorKind::NoDeploymentsAvailable);
    router.reset().unwrap();
    assert_eq!(router.health(Some("auth")).unwrap()[0].state, "healthy");
    assert_eq!(router.completion(&chat("auth", "hi")).unwrap_err().kind, ErrorKind::Authentication);
}
