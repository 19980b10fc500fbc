//! The cross-binding scenario (tests/shared/scenario.json): the same steps and
//! expectations as the C, Python and Go suites, through the Rust API.
mod support;

use std::path::PathBuf;

use llmux::{Error, Router};
use serde_json::{Map, Value};
use support::FakeServer;

fn shared_file(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/shared").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// What a successful step produced, in the scenario's terms.
struct Served {
    content: Option<String>,
    metadata: llmux::Metadata,
    stream_usage: Option<bool>,
    embedding_length: Option<usize>,
}

fn run_call(router: &Router, step: &Value, seen: &mut String) -> Result<Served, Error> {
    let request = &step["request"];
    let served = match step["call"].as_str().unwrap() {
        "completion" => router.completion(request).map(|r| {
            seen.push_str(&r.body().to_string());
            Served {
                content: r.content().map(str::to_owned),
                metadata: r.metadata().clone(),
                stream_usage: None,
                embedding_length: None,
            }
        }),
        "embedding" => router.embedding(request).map(|r| {
            seen.push_str(&r.body().to_string());
            Served {
                content: None,
                metadata: r.metadata().clone(),
                stream_usage: None,
                embedding_length: r.embedding(0).map(|e| e.len()),
            }
        }),
        "stream" => stream_call(router, request, seen),
        other => panic!("unknown call {other:?}"),
    };
    if let Err(error) = &served {
        seen.push_str(&format!("{error:?}"));
    }
    served
}

fn stream_call(router: &Router, request: &Value, seen: &mut String) -> Result<Served, Error> {
    let mut stream = router.stream(request)?;
    let chunks: Vec<_> = (&mut stream).collect::<Result<_, _>>()?;
    chunks.iter().for_each(|c| seen.push_str(&c.body().to_string()));
    let last_usage = chunks.last().and_then(|c| c.usage());
    Ok(Served {
        content: Some(chunks.iter().filter_map(|c| c.content()).collect()),
        metadata: stream.metadata().expect("metadata after the stream").clone(),
        stream_usage: Some(last_usage.is_some_and(|u| u.completion_tokens > 0)),
        embedding_length: None,
    })
}

fn check_call(name: &str, expect: &Map<String, Value>, outcome: &Result<Served, Error>) {
    let expect_ok = expect["ok"].as_bool().unwrap();
    for (key, want) in expect {
        let got: Value = match (outcome, key.as_str()) {
            (_, "ok") => outcome.is_ok().into(),
            (Ok(served), _) if !expect_ok => panic!("step {name:?}: expected a failure, got {:?}", served.content),
            (Err(e), _) if expect_ok => panic!("step {name:?}: expected a success, got {e}"),
            (Ok(served), "content") => served.content.clone().into(),
            (Ok(served), "deployment_id") => served.metadata.deployment_id.clone().into(),
            (Ok(served), "model_group") => served.metadata.model_group.clone().into(),
            (Ok(served), "attempts") => served.metadata.attempts.into(),
            (Ok(served), "fallbacks") => served.metadata.fallbacks.into(),
            (Ok(served), "stream_usage") => served.stream_usage.into(),
            (Ok(served), "embedding_length") => served.embedding_length.into(),
            (Err(e), "type") => e.type_name.clone().into(),
            (Err(e), "status") => e.status.into(),
            (Err(e), "kind") => e.kind.status_code().into(),
            (_, other) => panic!("step {name:?}: unknown expectation {other:?}"),
        };
        assert_eq!(&got, want, "step {name:?}: {key}");
    }
}

#[test]
fn shared_scenario() {
    let scenario: Value = serde_json::from_str(&shared_file("scenario.json")).unwrap();
    let server = FakeServer::start();
    // Read by the config's os.environ/ values; this test binary runs no other test.
    std::env::set_var(scenario["env_base_url"].as_str().unwrap(), &server.base_url);
    let root_url = server.base_url.strip_suffix("/v1").unwrap_or(&server.base_url);
    std::env::set_var(scenario["env_root_url"].as_str().unwrap(), root_url);
    // The AWS test keys the fake checks Bedrock's SigV4 signatures with.
    for (name, value) in scenario["env"].as_object().unwrap() {
        std::env::set_var(name, value.as_str().unwrap());
    }
    let router = Router::from_config(&shared_file(scenario["config"].as_str().unwrap())).unwrap();
    let mut seen = String::new();

    let steps = scenario["steps"].as_array().unwrap();
    assert!(!steps.is_empty());
    for step in steps {
        let name = step["name"].as_str().unwrap();
        let expect = step["expect"].as_object().unwrap();
        if step["call"] == "health" {
            let health = router.health(step["group"].as_str()).unwrap();
            seen.push_str(&format!("{health:?}"));
            for (key, want) in expect {
                assert_eq!(key, "states", "step {name:?}: unknown expectation");
                for (id, state) in want.as_object().unwrap() {
                    let got = health.iter().find(|h| &h.id == id).unwrap_or_else(|| panic!("step {name:?}: no {id}"));
                    assert_eq!(got.state, state.as_str().unwrap(), "step {name:?}: state of {id}");
                }
            }
        } else {
            let outcome = run_call(&router, step, &mut seen);
            check_call(name, expect, &outcome);
        }
    }

    seen.push_str(&format!("{:?}", router.deployments().unwrap()));
    seen.push_str(&router.metrics().unwrap());
    seen.push_str(&format!("{:?}", router.health(None).unwrap()));
    let secret = scenario["secret_never_seen"].as_str().unwrap();
    assert!(!seen.contains(secret), "{secret} appeared in the router's output");
}
