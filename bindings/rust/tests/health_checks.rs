//! Active health checks: a round now, the LiteLLM /health-shaped report,
//! routing around a deployment that failed its check, background checks.
mod support;

use std::time::{Duration, Instant, SystemTime};

use llmux::Router;
use serde_json::json;
use support::{chat, router_from, FakeServer, SECRET};

#[test]
fn check_health_reports_and_routes_around_a_failing_deployment() {
    let server = FakeServer::start();
    let router = router_from(
        vec![
            server.deployment("checked", "ok-checked", "checked-ok"),
            server.deployment("checked", "status-503-checked", "checked-down"),
            server.deployment("other", "ok-other", "other-1"),
        ],
        json!({"num_retries": 0, "enable_health_check_routing": true}),
    );

    let before = router.health_report(None).unwrap();
    assert_eq!(before.unchecked_endpoints.len(), 3);
    assert!(before.healthy_endpoints.is_empty() && before.unhealthy_endpoints.is_empty());
    assert_eq!(before.unchecked_endpoints[0].error, "not checked yet");
    assert_eq!(before.unchecked_endpoints[0].last_check_at, None);

    let report = router.check_health(Some("checked")).unwrap();
    assert_eq!((report.healthy_endpoints.len(), report.unhealthy_endpoints.len()), (1, 1));
    assert!(report.unchecked_endpoints.is_empty());
    let good = &report.healthy_endpoints[0];
    assert_eq!(
        (good.model_id.as_str(), good.model.as_str(), good.mode.as_str()),
        ("checked-ok", "openai/ok-checked", "chat")
    );
    assert_eq!(good.checked_by, "this replica");
    let age = SystemTime::now().duration_since(good.last_check_at.unwrap()).unwrap_or_default();
    assert!(age < Duration::from_secs(3600));
    let bad = &report.unhealthy_endpoints[0];
    assert_eq!((bad.model_id.as_str(), bad.model_group.as_str(), bad.status), ("checked-down", "checked", 503));
    assert_eq!(bad.error_type, "ServiceUnavailableError");
    assert!(!bad.error.is_empty() && bad.routed_around && !bad.stale);
    assert_eq!(bad.api_base, server.base_url);

    for _ in 0..10 {
        let response = router.completion(&chat("checked", "hi")).unwrap();
        assert_eq!(response.metadata().deployment_id, "checked-ok");
    }

    let health = router.health(Some("checked")).unwrap();
    let down = health.iter().find(|h| h.id == "checked-down").unwrap();
    assert_eq!(down.state, "failed_health_check");
    assert!(down.failed_health_check && !down.healthy);
    assert_eq!(down.next_health_check, None);
    let check = down.last_check.as_ref().unwrap();
    assert!(!check.healthy && !check.skipped);
    assert_eq!((check.status, check.mode.as_str(), check.checked_by.as_str()), (503, "chat", "this replica"));
    assert!(health.iter().find(|h| h.id == "checked-ok").unwrap().last_check.as_ref().unwrap().healthy);

    let none = router.check_health(Some("no-such-group")).unwrap();
    assert!(
        none.healthy_endpoints.is_empty() && none.unhealthy_endpoints.is_empty() && none.unchecked_endpoints.is_empty()
    );
    assert!(!format!("{report:?}{health:?}").contains(SECRET));
}

#[test]
fn background_checks_run_on_their_own() {
    let server = FakeServer::start();
    let config = json!({
        "model_list": [server.deployment("bg", "ok-bg", "bg-1"), server.deployment("bg", "ok-bg-2", "bg-2")],
        "general_settings": {"background_health_checks": true, "health_check_interval": 0.2},
    });
    let router = Router::from_config(&config.to_string()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let health = router.health(Some("bg")).unwrap();
        let checked = health
            .iter()
            .filter(|h| h.last_check.as_ref().is_some_and(|c| c.healthy) && h.next_health_check.is_some())
            .count();
        if checked == health.len() {
            break;
        }
        assert!(Instant::now() < deadline, "background checks did not run: {health:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(router.health_report(Some("bg")).unwrap().healthy_endpoints.len(), 2);
}
