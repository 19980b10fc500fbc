//! Picks without a call, model-group usage, and settings at run time.
mod support;

use llmux::{ErrorKind, PickOptions};
use serde_json::json;
use support::{chat, router_from, FakeServer, SECRET};

#[test]
fn pick_chooses_without_calling_and_redacts() {
    let server = FakeServer::start();
    let router = router_from(
        vec![server.deployment("pair", "ok-a", "pair-a"), server.deployment("pair", "ok-b", "pair-b")],
        json!({}),
    );
    for _ in 0..10 {
        let picked = router.pick(&json!({"model": "pair"}), PickOptions::default()).unwrap();
        assert!(picked.id == "pair-a" || picked.id == "pair-b", "{picked:?}");
        assert_eq!(picked.model_group, "pair");
        assert_eq!(picked.deployment["model_name"], "pair");
        assert_eq!(picked.deployment["litellm_params"]["api_key"], "***");
    }
    assert_eq!(router.model_group_usage("pair").unwrap().rpm, 0, "a pick is not a call");
    let secret = router.pick(&json!({"model": "pair"}), PickOptions { include_secrets: true, ..Default::default() });
    assert!(secret.unwrap().deployment.to_string().contains(SECRET));
    let specific = router
        .pick_raw(r#"{"model":"pair-b"}"#, PickOptions { specific_deployment: true, ..Default::default() })
        .unwrap();
    assert_eq!(specific.id, "pair-b");
    assert_eq!(router.pick(&json!({"model": "nope"}), PickOptions::default()).unwrap_err().kind, ErrorKind::BadRequest);
    assert_eq!(router.pick_raw("{", PickOptions::default()).unwrap_err().kind, ErrorKind::InvalidArgument);
}

#[test]
fn model_group_usage_counts_calls_and_responses_carry_the_headers() {
    let server = FakeServer::start();
    let mut limited = server.deployment("lim", "ok-lim", "lim-1");
    limited["litellm_params"]["rpm"] = json!(100);
    limited["litellm_params"]["tpm"] = json!(10000);
    let router = router_from(vec![limited], json!({}));
    let mut tokens = 0;
    let mut last = None;
    for _ in 0..2 {
        let response = router.completion(&chat("lim", "hi")).unwrap();
        tokens += response.usage().map_or(0, |u| u.total_tokens as i64);
        last = Some(response);
    }
    let usage = router.model_group_usage("lim").unwrap();
    assert_eq!((usage.rpm, usage.tpm, usage.rpm_limit, usage.tpm_limit), (2, tokens, Some(100), Some(10000)));
    assert_eq!(usage.headers["x-ratelimit-remaining-requests"], 98);
    assert_eq!(usage.headers["x-ratelimit-remaining-tokens"], 10000 - tokens);
    let last = last.unwrap();
    let headers = &last.metadata().headers;
    assert_eq!(headers["x-ratelimit-remaining-requests"], "98");
    assert_eq!(headers["x-ratelimit-limit-requests"], "100");
    assert_eq!(router.model_group_usage("nope").unwrap_err().kind, ErrorKind::NotFound);
}

#[test]
fn update_settings_applies_to_the_next_call_and_rejects_whole() {
    let server = FakeServer::start();
    let router = router_from(vec![server.deployment("bad", "status-500-rs", "bad-1")], json!({"num_retries": 0}));
    assert_eq!(router.settings().unwrap()["num_retries"], 0);
    router.update_settings(&json!({"num_retries": 2, "routing_strategy": "least-busy"})).unwrap();
    let settings = router.settings().unwrap();
    assert_eq!(
        (settings["num_retries"].as_i64(), settings["routing_strategy"].as_str()),
        (Some(2), Some("least-busy"))
    );
    let error = router.completion(&chat("bad", "hi")).unwrap_err();
    assert_eq!(error.metadata().unwrap().attempts, 3);

    let rejected = router.update_settings(&json!({"num_retries": 5, "cooldown_time": "soon"})).unwrap_err();
    assert_eq!(rejected.kind, ErrorKind::InvalidArgument);
    assert!(rejected.message.contains("cooldown_time"), "{}", rejected.message);
    assert_eq!(router.update_settings_raw(r#"{"no_such": 1}"#).unwrap_err().kind, ErrorKind::InvalidArgument);
    assert_eq!(router.settings().unwrap()["num_retries"], 2, "a rejected update changes nothing");
}
