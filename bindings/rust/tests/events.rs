//! Routing events and log messages (RouterOptions).
mod support;

use std::sync::{Arc, Mutex};

use llmux::{ErrorKind, Event, EventType, LogLevel, Router, RouterOptions};
use serde_json::json;
use support::{chat, FakeServer};

type Events = Arc<Mutex<Vec<Event>>>;

fn recording() -> (Events, RouterOptions) {
    let events: Events = Arc::default();
    let sink = Arc::clone(&events);
    let options = RouterOptions::new().random_seed(3).on_event(move |event| sink.lock().unwrap().push(event.clone()));
    (events, options)
}

#[test]
fn config_warnings_reach_the_log_before_with_options_returns() {
    let server = FakeServer::start();
    let logs: Arc<Mutex<Vec<(LogLevel, String)>>> = Arc::default();
    let sink = Arc::clone(&logs);
    let config = json!({
        "model_list": [server.deployment("chat", "ok-chat", "chat-1")],
        "general_settings": {"master_key": "sk-master"},
    });
    let _router = Router::with_options(
        &config.to_string(),
        RouterOptions::new().log(move |level, message| sink.lock().unwrap().push((level, message.to_owned()))),
    )
    .unwrap();
    let logs = logs.lock().unwrap();
    assert!(
        logs.iter().any(|(level, message)| *level == LogLevel::Warn && message.contains("general_settings")),
        "{logs:?}"
    );
}

#[test]
fn a_success_event_comes_before_the_call_returns() {
    let server = FakeServer::start();
    let (events, options) = recording();
    let config = json!({"model_list": [server.deployment("chat", "ok-chat", "chat-1")]});
    let router = Router::with_options(&config.to_string(), options).unwrap();

    let response = router.completion(&chat("chat", "hi")).unwrap();

    let events = events.lock().unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    let event = &events[0];
    assert_eq!(event.event_type, EventType::Success);
    assert_eq!(event.call_id, response.metadata().call_id);
    assert_eq!((event.model_group.as_str(), event.deployment_id.as_str()), ("chat", "chat-1"));
    assert!(event.error.is_none());
    assert_eq!(event.metadata.as_ref().map(|m| m.attempts), Some(1));
    assert_eq!(event.usage.map(|u| u.total_tokens), response.usage().map(|u| u.total_tokens));
    assert_eq!(event.response_cost, response.metadata().cost);
}

#[test]
fn fallback_and_failure_events_carry_their_cause() {
    let server = FakeServer::start();
    let (events, options) = recording();
    let config = json!({
        "model_list": [
            server.deployment("broken", "status-500-x", "broken-1"),
            server.deployment("chat", "ok-chat", "chat-1"),
            server.deployment("bad", "status-400-x", "bad-1"),
        ],
        "router_settings": {"num_retries": 0, "fallbacks": [{"broken": ["chat"]}]},
    });
    let router = Router::with_options(&config.to_string(), options).unwrap();

    router.completion(&chat("broken", "hi")).unwrap();
    let error = router.completion(&chat("bad", "hi")).unwrap_err();
    assert_eq!(error.kind, ErrorKind::BadRequest);

    let events = events.lock().unwrap();
    let fallback = events.iter().find(|e| e.event_type == EventType::Fallback).expect("a fallback event");
    assert_eq!((fallback.model_group.as_str(), fallback.fallback_group.as_str()), ("broken", "chat"));
    assert_eq!(fallback.error.as_ref().map(|e| e.kind), Some(ErrorKind::InternalServer));
    let failure = events.iter().find(|e| e.event_type == EventType::Failure).expect("a failure event");
    assert_eq!(failure.deployment_id, "bad-1");
    let cause = failure.error.as_ref().expect("the failure's error");
    assert_eq!((cause.kind, cause.status, cause.type_name.as_str()), (ErrorKind::BadRequest, 400, "BadRequestError"));
    assert_eq!(failure.metadata.as_ref().map(|m| m.attempts), Some(1));
    assert!(failure.usage.is_none());
    assert_eq!(events.iter().filter(|e| e.event_type == EventType::Success).count(), 1);
}

#[test]
fn a_panicking_callback_does_not_break_the_call() {
    let server = FakeServer::start();
    let config = json!({"model_list": [server.deployment("chat", "ok-chat", "chat-1")]});
    let router =
        Router::with_options(&config.to_string(), RouterOptions::new().on_event(|_| panic!("observer failed")))
            .unwrap();
    assert_eq!(router.completion(&chat("chat", "hi")).unwrap().content(), Some("Hello from ok-chat."));
}
