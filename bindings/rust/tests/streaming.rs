//! Streaming: chunks in order, the final usage and metadata, failures, and
//! cancellation when the consumer drops the stream early.
mod support;

use std::time::{Duration, Instant};

use llmux::ErrorKind;
use serde_json::json;
use support::{chat, FakeServer};

#[test]
fn stream_yields_the_content_in_chunks_then_metadata() {
    let server = FakeServer::start();
    let router = server.router(&[("chat", "ok-stream", "stream-a")], json!({}));

    let mut stream = router.stream(&chat("chat", "stream please")).unwrap();
    assert!(stream.metadata().is_none(), "no metadata before the end");
    let chunks: Vec<_> = (&mut stream).collect::<Result<_, _>>().unwrap();

    assert!(chunks.len() > 1, "the fake streams several chunks");
    let content: String = chunks.iter().filter_map(|c| c.content()).collect();
    assert_eq!(content, "Hello from ok-stream.");
    assert!(chunks.iter().all(|c| c.usage().is_none()), "no usage chunk unless asked for");
    let metadata = stream.metadata().expect("metadata after the end");
    assert_eq!(metadata.deployment_id, "stream-a");
    assert_eq!(metadata.model_group, "chat");
    assert_eq!(metadata.attempts, 1);
    assert!(stream.next().is_none(), "a finished stream stays finished");
}

#[test]
fn include_usage_ends_the_stream_with_a_usage_chunk() {
    let server = FakeServer::start();
    let router = server.router(&[("chat", "ok-usage", "usage-a")], json!({}));
    let mut request = chat("chat", "count my tokens");
    request["stream_options"] = json!({"include_usage": true});

    let mut stream = router.stream(&request).unwrap();
    let chunks: Vec<_> = (&mut stream).collect::<Result<_, _>>().unwrap();

    let last_usage = chunks.last().and_then(|c| c.usage()).expect("the last chunk carries usage");
    assert!(last_usage.completion_tokens > 0);
    let final_usage = stream.usage().expect("usage after the end");
    assert_eq!(final_usage.completion_tokens, last_usage.completion_tokens);
    assert_eq!(final_usage.prompt_tokens, last_usage.prompt_tokens);
}

#[test]
fn a_failed_stream_yields_one_error_then_ends() {
    let server = FakeServer::start();
    let router = server.router(&[("chat", "status-401-stream", "denied-a")], json!({"num_retries": 0}));

    let mut stream = router.stream(&chat("chat", "hi")).unwrap();
    let error = stream.next().expect("an item").expect_err("a 401 stream fails");

    assert_eq!(error.kind, ErrorKind::Authentication);
    assert_eq!(error.status, 401);
    assert!(stream.next().is_none());
    assert!(stream.metadata().is_none());
}

/// Waits until `condition` holds, failing the test after a generous deadline
/// (a wait for an event, not a timing assertion).
fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn dropping_a_stream_that_has_not_answered_cancels_the_call() {
    let server = FakeServer::start();
    let router = server.router(&[("chat", "hang-forever", "hang-a")], json!({"num_retries": 0, "timeout": 600}));
    let in_flight = || router.health(Some("chat")).unwrap()[0].in_flight;

    for round in 1..=3 {
        let stream = router.stream(&chat("chat", "hi")).unwrap();
        assert!(stream.call_id() > 0);
        wait_until("the request is on the wire", || in_flight() == 1);
        drop(stream); // returns once the call's done callback has run
        assert_eq!(in_flight(), 0, "round {round}: the hanging request was cancelled");
    }
    // Dropped before the request even left: cancelled as well.
    for _ in 0..20 {
        drop(router.stream(&chat("chat", "hi")).unwrap());
    }
    assert_eq!(in_flight(), 0);
}

#[test]
fn dropping_a_stream_after_its_first_chunk_cancels_the_rest() {
    let server = FakeServer::start();
    let router = server.router(&[("chat", "ok-partial", "partial-a")], json!({}));

    for _ in 0..20 {
        let mut stream = router.stream(&chat("chat", "hi")).unwrap();
        let first = stream.next().expect("a first chunk").unwrap();
        assert!(first.body()["choices"].is_array());
        drop(stream);
        assert_eq!(router.health(Some("chat")).unwrap()[0].in_flight, 0);
    }
    // Full streams still work on the same router.
    let content: String = router
        .stream(&chat("chat", "hi"))
        .unwrap()
        .map(|c| c.unwrap().content().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(content, "Hello from ok-partial.");
}

#[test]
fn streams_can_be_consumed_on_another_thread() {
    let server = FakeServer::start();
    let router = server.router(&[("chat", "ok-threads", "threads-a")], json!({}));

    std::thread::scope(|scope| {
        let stream = router.stream(&chat("chat", "hi")).unwrap();
        let consumer = scope
            .spawn(move || stream.map(|c| c.unwrap().content().unwrap_or_default().to_owned()).collect::<String>());
        assert_eq!(consumer.join().unwrap(), "Hello from ok-threads.");
    });
}
