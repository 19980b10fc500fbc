//! Shared by the integration tests: the fake provider process and routers
//! pointed at it.
#![allow(dead_code)] // each test binary uses its own subset

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;

use llmux::Router;
use serde_json::{json, Value};

/// The api_key every test deployment carries; it must never show up in output.
pub const SECRET: &str = "sk-rust-test-secret";

/// A running llmux_fake_server; stops when dropped (its stdin is closed).
pub struct FakeServer {
    child: Child,
    stdin: Option<ChildStdin>,
    /// "http://127.0.0.1:<port>/v1"
    pub base_url: String,
}

/// The fake provider binary: `LLMUX_FAKE_SERVER` (`<build-dir>/tests/support/llmux_fake_server`), else
/// built here once with CMake from the checkout (its target alone, into cargo's per-target temporary
/// directory, where later runs find it built), so that `cargo test` works in a clean checkout.
fn fake_server_path() -> PathBuf {
    if let Some(path) = std::env::var_os("LLMUX_FAKE_SERVER").filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    let checkout = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    // Once per test binary: its tests run on several threads.
    static BUILT_HERE: OnceLock<PathBuf> = OnceLock::new();
    BUILT_HERE.get_or_init(|| build_fake_server(&checkout)).clone()
}

/// Configures the checkout (no tests: those need Catch2; the examples bring in the test support) and
/// builds the `llmux_fake_server` target only. CMake's output goes to stderr on failure only.
fn build_fake_server(checkout: &Path) -> PathBuf {
    let build = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("llmux-fake-server");
    let jobs = std::thread::available_parallelism().map_or(1, |n| n.get()).to_string();
    let steps: [Vec<&OsStr>; 2] = [
        vec![
            "-S".as_ref(),
            checkout.as_os_str(),
            "-B".as_ref(),
            build.as_os_str(),
            "-DCMAKE_BUILD_TYPE=RelWithDebInfo".as_ref(),
            "-DLLMUX_BUILD_TESTS=OFF".as_ref(),
            "-DLLMUX_BUILD_EXAMPLES=ON".as_ref(),
            "-DLLMUX_BUILD_BENCHMARKS=OFF".as_ref(),
            "-DLLMUX_INSTALL=OFF".as_ref(),
        ],
        vec![
            "--build".as_ref(),
            build.as_os_str(),
            "--target".as_ref(),
            "llmux_fake_server".as_ref(),
            "--parallel".as_ref(),
            jobs.as_ref(),
        ],
    ];
    for arguments in steps {
        let output = Command::new("cmake").args(&arguments).output().unwrap_or_else(|e| {
            panic!("no LLMUX_FAKE_SERVER and cannot run cmake to build the fake provider ({e}); set LLMUX_FAKE_SERVER")
        });
        assert!(
            output.status.success(),
            "building the fake provider with CMake in {} failed ({}):\n{}{}",
            build.display(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    build.join("tests/support/llmux_fake_server")
}

impl FakeServer {
    /// Starts the server and reads the base URL it prints. Panics (failing
    /// the test) when the binary cannot be found or does not start.
    pub fn start() -> FakeServer {
        let path = fake_server_path();
        let mut child = Command::new(&path).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap_or_else(|e| {
            panic!(
                "cannot start the fake provider {} ({e}); set LLMUX_FAKE_SERVER to the llmux_fake_server \
                     binary of a CMake build (<build-dir>/tests/support/llmux_fake_server)",
                path.display()
            )
        });
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped stdout"))
            .read_line(&mut line)
            .expect("read the fake server's first line");
        let announced: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("the fake server printed {line:?}, not its JSON line ({e})"));
        let base_url = announced["base_url"].as_str().expect("base_url in the fake server's line").to_owned();
        FakeServer { stdin: child.stdin.take(), child, base_url }
    }

    /// One model_list entry served by this server: the fake answers by
    /// `model` (ok-*, status-NNN-*, hang-*, slow-<ms>-*, ...).
    pub fn deployment(&self, group: &str, model: &str, id: &str) -> Value {
        json!({
            "model_name": group,
            "litellm_params": {"model": format!("openai/{model}"), "api_base": self.base_url, "api_key": SECRET},
            "model_info": {"id": id},
        })
    }

    /// A router over `(group, model, id)` deployments of this server, with
    /// `router_settings`.
    pub fn router(&self, deployments: &[(&str, &str, &str)], router_settings: Value) -> Router {
        let model_list = deployments.iter().map(|(group, model, id)| self.deployment(group, model, id)).collect();
        router_from(model_list, router_settings)
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        drop(self.stdin.take()); // EOF on stdin: the server exits
        let _ = self.child.wait();
    }
}

/// A router over these model_list entries, with `router_settings`.
pub fn router_from(model_list: Vec<Value>, router_settings: Value) -> Router {
    let config = json!({"model_list": model_list, "router_settings": router_settings});
    Router::from_config(&config.to_string()).expect("router from the test config")
}

/// A chat request for `model` with one user message.
pub fn chat(model: &str, text: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": text}]})
}
