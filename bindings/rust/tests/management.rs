//! Health, deployments, metrics, and adding/removing deployments at run time.
mod support;

use llmux::ErrorKind;
use serde_json::json;
use support::{chat, router_from, FakeServer, SECRET};

#[test]
fn health_reports_every_deployment_then_the_cooldown() {
    let server = FakeServer::start();
    let mut first = server.deployment("chat", "status-429-a", "chat-a");
    first["litellm_params"]["order"] = json!(1); // tried first while healthy
    let mut second = server.deployment("chat", "ok-b", "chat-b");
    second["litellm_params"]["order"] = json!(2);
    let router = router_from(
        vec![first, second, server.deployment("other", "ok-c", "other-c")],
        json!({"num_retries": 1, "cooldown_time": 60}),
    );

    let all = router.health(None).unwrap();
    let mut ids: Vec<_> = all.iter().map(|h| h.id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["chat-a", "chat-b", "other-c"]);
    assert!(all.iter().all(|h| h.healthy && h.state == "healthy" && h.in_flight == 0));
    assert_eq!(router.health(Some("")).unwrap().len(), 3, "\"\" means every group");

    // A 429 in a two-deployment group cools chat-a down; chat-b answers.
    for attempts in [2, 1] {
        let response = router.completion(&chat("chat", "hi")).unwrap();
        assert_eq!((response.metadata().deployment_id.as_str(), response.metadata().attempts), ("chat-b", attempts));
    }
    let chat_group = router.health(Some("chat")).unwrap();
    assert_eq!(chat_group.len(), 2);
    let a = chat_group.iter().find(|h| h.id == "chat-a").unwrap();
    assert!(!a.healthy);
    assert_eq!(a.state, "cooling_down");
    assert_eq!(a.status, 429);
    assert!(a.reason.contains("RateLimitError"), "{}", a.reason);
    assert!(a.cooldown_remaining > std::time::Duration::ZERO);
    assert_eq!(a.model_group, "chat");
    assert_eq!(a.api_base, server.base_url);
    let b = chat_group.iter().find(|h| h.id == "chat-b").unwrap();
    assert!(b.healthy && b.requests_this_minute >= 2);
    assert!(router.health(Some("no-such-group")).unwrap().is_empty());
}

#[test]
fn deployments_list_the_model_list_with_secrets_masked() {
    let server = FakeServer::start();
    let router = server.router(&[("chat", "ok-a", "chat-a"), ("embed", "ok-e", "embed-e")], json!({}));

    let deployments = router.deployments().unwrap();

    let mut listed: Vec<_> = deployments.iter().map(|d| (d.model_name.as_str(), d.id.as_str())).collect();
    listed.sort_unstable();
    assert_eq!(listed, [("chat", "chat-a"), ("embed", "embed-e")]);
    let chat_a = deployments.iter().find(|d| d.id == "chat-a").unwrap();
    assert_eq!(chat_a.litellm_params["model"], "openai/ok-a");
    assert_eq!(chat_a.litellm_params["api_base"], server.base_url.as_str());
    assert_eq!(chat_a.litellm_params["api_key"], "***");
    assert_eq!(chat_a.model_info["id"], "chat-a");
    assert!(!format!("{deployments:?}").contains(SECRET));
}

#[test]
fn metrics_count_the_calls_in_prometheus_text() {
    let server = FakeServer::start();
    let router = server.router(&[("chat", "ok-a", "chat-a")], json!({}));
    for _ in 0..3 {
        router.completion(&chat("chat", "hi")).unwrap();
    }

    let metrics = router.metrics().unwrap();

    let calls: f64 = metrics
        .lines()
        .filter(|line| line.starts_with("llmux_calls_total{") || line.starts_with("llmux_calls_total "))
        .map(|line| line.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum();
    assert_eq!(calls, 3.0, "llmux_calls_total sums to the calls made:\n{metrics}");
    assert!(!metrics.contains(SECRET));
}

#[test]
fn deployments_can_be_added_and_removed_while_serving() {
    let server = FakeServer::start();
    let router = server.router(&[("chat", "ok-a", "chat-a")], json!({}));

    let added = server.deployment("late", "ok-late", "late-1").to_string();
    router.add_deployment(&added).unwrap();
    let response = router.completion(&chat("late", "hi")).unwrap();
    assert_eq!(response.content(), Some("Hello from ok-late."));
    assert_eq!(response.metadata().deployment_id, "late-1");
    assert!(router.health(Some("late")).unwrap().iter().any(|h| h.id == "late-1"));

    let duplicate = router.add_deployment(&added).unwrap_err();
    assert_eq!(duplicate.kind, ErrorKind::InvalidArgument, "{duplicate}");
    let yaml = format!(
        "model_name: late\nlitellm_params:\n  model: openai/ok-yaml\n  api_base: {}\nmodel_info:\n  id: late-2\n",
        server.base_url
    );
    router.add_deployment(&yaml).unwrap();
    assert_eq!(router.health(Some("late")).unwrap().len(), 2);
    let unparsable = router.add_deployment("model_name: [").unwrap_err();
    assert_eq!(unparsable.kind, ErrorKind::InvalidConfig, "{unparsable}");

    router.remove_deployment("late-1").unwrap();
    router.remove_deployment("late-2").unwrap();
    let error = router.completion(&chat("late", "hi")).unwrap_err();
    assert_eq!(error.kind, ErrorKind::BadRequest, "{error}");
    let missing = router.remove_deployment("late-1").unwrap_err();
    assert_eq!(missing.kind, ErrorKind::NotFound, "{missing}");
    assert!(missing.message.contains("late-1"), "{}", missing.message);
    assert_eq!(router.deployments().unwrap().len(), 1);
}
