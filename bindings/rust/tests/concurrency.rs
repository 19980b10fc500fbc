//! One Router shared by many threads.
mod support;

use std::sync::Arc;

use llmux::Router;
use serde_json::json;
use support::{chat, FakeServer};

// Static checks: this file does not compile unless Router (and what calls
// return) can cross and be shared between threads.
const fn assert_send_sync<T: Send + Sync>() {}
const _: () = assert_send_sync::<Router>();
const _: () = assert_send_sync::<llmux::Response>();
const _: () = assert_send_sync::<llmux::Error>();

#[test]
fn eight_threads_share_one_router_for_fifty_calls_each() {
    let server = FakeServer::start();
    let router = Arc::new(server.router(
        &[("chat", "ok-one", "one"), ("chat", "ok-two", "two")],
        json!({"routing_strategy": "simple-shuffle"}),
    ));

    let threads: Vec<_> = (0..8)
        .map(|t| {
            let router = Arc::clone(&router);
            std::thread::spawn(move || {
                let mut served = [0usize; 2];
                for i in 0..50 {
                    let response = router.completion(&chat("chat", &format!("thread {t} call {i}"))).unwrap();
                    let metadata = response.metadata();
                    let expected = format!("Hello from ok-{}.", metadata.deployment_id);
                    assert_eq!(response.content(), Some(expected.as_str()));
                    served[usize::from(metadata.deployment_id == "two")] += 1;
                }
                served
            })
        })
        .collect();
    let served = threads.into_iter().map(|t| t.join().unwrap()).fold([0, 0], |acc, s| [acc[0] + s[0], acc[1] + s[1]]);

    assert_eq!(served[0] + served[1], 400);
    assert!(served[0] > 0 && served[1] > 0, "both deployments served: {served:?}");
    assert!(router.health(None).unwrap().iter().all(|h| h.in_flight == 0));
}
