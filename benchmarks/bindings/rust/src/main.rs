//! The Rust rows of the bindings benchmark (run by
//! benchmarks/bindings/run_bindings.sh), one call at a time:
//! - `raw`: `Router::completion_raw` (the request text as it is, the answer as text);
//! - `typed`: `Router::completion_typed` (the request as a `serde_json::Value`,
//!   serialised on every call; the answer decoded into `ChatCompletion` by
//!   serde's derived code);
//! - `value`: `Router::completion` (the same request; the answer parsed into a
//!   `serde_json::Value` plus its `Metadata`);
//! - `raw-http`: the floor in Rust, a keep-alive HTTP/1.1 connection on
//!   `std::net::TcpStream` POSTing the bytes llmux sends (`--body`) to the same
//!   server and reading the whole answer.
//!
//! Prints one JSON line with the figures every driver reports: nearest-rank
//! p50/p99 of the per-call wall time, the mean, CPU time per call (getrusage
//! over the measured loop, every thread of the process) and requests per
//! second.
//!
//! ```text
//! llmux_bindings_rust_driver --api=raw|typed|value --config=FILE --request=FILE [--calls=20000] [--warmup=2000]
//! llmux_bindings_rust_driver --api=raw-http --url=http://127.0.0.1:P/v1 --api-key=KEY --body=FILE [...]
//! ```
mod raw_http;

use std::process::exit;
use std::time::{Duration, Instant};

use llmux::Router;
use serde_json::{json, Value};

fn fail(message: &str) -> ! {
    eprintln!("rust driver: {message}");
    exit(1);
}

/// The value of `--name=value`, or `fallback`.
fn flag(args: &[String], name: &str, fallback: Option<&str>) -> String {
    let prefix = format!("--{name}=");
    args.iter()
        .find_map(|a| a.strip_prefix(&prefix).map(str::to_owned))
        .or_else(|| fallback.map(str::to_owned))
        .unwrap_or_else(|| fail(&format!("missing flag --{name}")))
}

fn flag_count(args: &[String], name: &str, fallback: usize) -> usize {
    let text = flag(args, name, Some(&fallback.to_string()));
    text.parse()
        .unwrap_or_else(|_| fail(&format!("--{name} is not a count: {text}")))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| fail(&format!("{path}: {e}")))
}

fn cpu_seconds() -> f64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given.
    let usage = unsafe {
        if libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) != 0 {
            fail("getrusage failed");
        }
        usage.assume_init()
    };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

fn percentile_micros(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1].as_nanos() as f64 / 1e3
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let api = flag(&args, "api", Some("raw"));
    let calls = flag_count(&args, "calls", 20000);
    let warmup = flag_count(&args, "warmup", 2000);
    if api == "raw-http" {
        let body = read(&flag(&args, "body", None)).trim().to_owned();
        let mut client = raw_http::Client::connect(
            &flag(&args, "url", None),
            &flag(&args, "api-key", None),
            &body,
        )
        .unwrap_or_else(|e| fail(&format!("connecting: {e}")));
        let mut call = || match client.call() {
            Ok(len) => len > 0,
            Err(e) => {
                eprintln!("rust driver: {e}");
                false
            }
        };
        measure("std::net::TcpStream keep-alive", &mut call, calls, warmup);
        return;
    }
    let config = read(&flag(&args, "config", None));
    let request_text = read(&flag(&args, "request", None)).trim().to_owned();

    let router =
        Router::from_config(&config).unwrap_or_else(|e| fail(&format!("Router::from_config: {e}")));
    let request_value: Value = serde_json::from_str(&request_text)
        .unwrap_or_else(|e| fail(&format!("the request is not JSON: {e}")));
    let (api_name, mut call): (&str, Box<dyn FnMut() -> bool>) = match api.as_str() {
        "raw" => (
            "completion_raw",
            Box::new(|| match router.completion_raw(&request_text) {
                Ok(text) => !text.is_empty(),
                Err(e) => {
                    eprintln!("rust driver: {e}");
                    false
                }
            }),
        ),
        "typed" => (
            "completion_typed",
            Box::new(|| match router.completion_typed(&request_value) {
                Ok(response) => response.content().is_some(),
                Err(e) => {
                    eprintln!("rust driver: {e}");
                    false
                }
            }),
        ),
        "value" => (
            "completion",
            Box::new(|| match router.completion(&request_value) {
                Ok(response) => response.content().is_some(),
                Err(e) => {
                    eprintln!("rust driver: {e}");
                    false
                }
            }),
        ),
        other => fail(&format!(
            "--api must be raw, typed, value or raw-http, not {other}"
        )),
    };
    measure(api_name, &mut call, calls, warmup);
}

/// Runs the warm-up and the measured loop and prints the JSON line.
fn measure(api_name: &str, call: &mut dyn FnMut() -> bool, calls: usize, warmup: usize) {
    for _ in 0..warmup {
        if !call() {
            fail("a warm-up call failed");
        }
    }
    let mut samples = Vec::with_capacity(calls);
    let mut errors = 0usize;
    let cpu0 = cpu_seconds();
    let start = Instant::now();
    for _ in 0..calls {
        let t0 = Instant::now();
        if !call() {
            errors += 1;
        }
        samples.push(t0.elapsed());
    }
    let wall = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;

    samples.sort_unstable();
    let latency = if samples.is_empty() {
        Value::Null
    } else {
        let sum: Duration = samples.iter().sum();
        json!({
            "p50": percentile_micros(&samples, 0.50),
            "p99": percentile_micros(&samples, 0.99),
            "mean": sum.as_nanos() as f64 / calls as f64 / 1e3,
            "min": samples[0].as_nanos() as f64 / 1e3,
            "max": samples[samples.len() - 1].as_nanos() as f64 / 1e3,
        })
    };
    let result = json!({
        "driver": "rust", "api": api_name, "mode": "sequential", "concurrency": 1,
        "calls": calls, "warmup": warmup, "errors": errors, "wall_s": wall,
        "rps": calls as f64 / wall, "cpu_us_per_call": cpu * 1e6 / calls.max(1) as f64,
        "latency_us": latency,
    });
    println!("{result}");
    if errors > 0 {
        exit(1);
    }
}
