//! Routing events and log messages: [`RouterOptions`] for
//! [`Router::with_options`](crate::Router::with_options).
use std::ffi::{c_char, c_void};
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use serde_json::Value;

use crate::error::Error;
use crate::response::{Metadata, Usage};
use crate::sys;

/// How serious a log message of the library is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    /// Details.
    Debug,
    /// Notes.
    Info,
    /// Something to look at: a config key llmux accepts but does not use, ...
    Warn,
    /// A misuse the library refused.
    Error,
}

impl LogLevel {
    fn from_raw(level: sys::llmux_log_level) -> LogLevel {
        match level {
            sys::LLMUX_LOG_DEBUG => LogLevel::Debug,
            sys::LLMUX_LOG_INFO => LogLevel::Info,
            sys::LLMUX_LOG_ERROR => LogLevel::Error,
            _ => LogLevel::Warn,
        }
    }
}

/// What kind of routing decision an [`Event`] reports.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventType {
    /// A call succeeded (once per call).
    Success,
    /// A call failed (once per call).
    Failure,
    /// An attempt failed; the call tries again in the same group.
    Retry,
    /// The call moves on to a fallback group.
    Fallback,
    /// A deployment was cooled down.
    Cooldown,
    /// A half-open deployment's probe succeeded: it is healthy again.
    Recovered,
    /// The shared state (Redis) is unreachable: routing goes on with this
    /// router's own state. Not part of a call (`call_id` 0); the error says why.
    SharedStateDown,
    /// The shared state (Redis) is reachable (again). Not part of a call.
    SharedStateUp,
    /// A type this crate does not know (a newer library).
    Other(String),
}

impl EventType {
    fn from_name(name: &str) -> EventType {
        match name {
            "success" => EventType::Success,
            "failure" => EventType::Failure,
            "retry" => EventType::Retry,
            "fallback" => EventType::Fallback,
            "cooldown" => EventType::Cooldown,
            "recovered" => EventType::Recovered,
            "shared_state_down" => EventType::SharedStateDown,
            "shared_state_up" => EventType::SharedStateUp,
            other => EventType::Other(other.to_owned()),
        }
    }
}

/// One routing event.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Event {
    /// What happened.
    pub event_type: EventType,
    /// The call (its [`Metadata::call_id`]).
    pub call_id: u64,
    /// The group of the attempt (for a fallback: the group that failed).
    pub model_group: String,
    /// The deployment concerned; empty when none.
    pub deployment_id: String,
    /// For a fallback: the group entered.
    pub fallback_group: String,
    /// For a cooldown: its length.
    pub cooldown: Duration,
    /// For a retry: the wait before the next attempt.
    pub retry_in: Duration,
    /// For a success or failure: the call's cost.
    pub response_cost: f64,
    /// The cause (failure, retry, fallback, cooldown).
    pub error: Option<Error>,
    /// The call's router metadata (success, failure).
    pub metadata: Option<Metadata>,
    /// The usage of the attempt that served (success).
    pub usage: Option<Usage>,
    /// The event JSON as the library wrote it.
    pub json: Value,
}

fn seconds(value: &Value) -> Duration {
    Duration::try_from_secs_f64(value.as_f64().unwrap_or(0.0)).unwrap_or(Duration::ZERO)
}

impl Event {
    pub(crate) fn from_json(json: Value) -> Event {
        let text = |key: &str| json[key].as_str().unwrap_or_default().to_owned();
        Event {
            event_type: EventType::from_name(json["type"].as_str().unwrap_or_default()),
            call_id: json["call_id"].as_u64().unwrap_or(0),
            model_group: text("model_group"),
            deployment_id: text("deployment_id"),
            fallback_group: text("fallback_group"),
            cooldown: seconds(&json["cooldown_seconds"]),
            retry_in: seconds(&json["retry_in_seconds"]),
            response_cost: json["response_cost"].as_f64().unwrap_or(0.0),
            error: json.get("error").filter(|e| e.is_object()).map(|e| Error::from_json(e.clone())),
            metadata: json.get("metadata").filter(|m| m.is_object()).map(Metadata::from_json),
            usage: json.get("usage").filter(|u| u.is_object()).map(|u| Usage::from_json(u, true)),
            json,
        }
    }
}

type EventFn = dyn Fn(&Event) + Send + Sync;
type LogFn = dyn Fn(LogLevel, &str) + Send + Sync;

/// Optional parts of a [`Router`](crate::Router): callbacks for its routing
/// events and log messages, and the seed of its randomness.
///
/// ```no_run
/// # fn main() -> Result<(), llmux::Error> {
/// let options = llmux::RouterOptions::new()
///     .on_event(|event| println!("{:?} on {}", event.event_type, event.deployment_id))
///     .log(|level, message| eprintln!("llmux {level:?}: {message}"));
/// let router = llmux::Router::with_options("model_list: []", options)?;
/// # Ok(()) }
/// ```
#[derive(Default)]
pub struct RouterOptions {
    pub(crate) on_event: Option<Box<EventFn>>,
    pub(crate) log: Option<Box<LogFn>>,
    pub(crate) random_seed: u64,
    #[cfg(feature = "opentelemetry")]
    pub(crate) tracer: Option<opentelemetry::global::BoxedTracer>,
}

impl fmt::Debug for RouterOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("RouterOptions");
        debug
            .field("on_event", &self.on_event.is_some())
            .field("log", &self.log.is_some())
            .field("random_seed", &self.random_seed);
        #[cfg(feature = "opentelemetry")]
        debug.field("tracer", &self.tracer.is_some());
        debug.finish()
    }
}

impl RouterOptions {
    /// The defaults: no callbacks, a random seed.
    pub fn new() -> RouterOptions {
        RouterOptions::default()
    }

    /// Receives every routing event (success, failure, retry, fallback,
    /// cooldown, recovered), on the router's I/O thread, one at a time; a
    /// call's success or failure comes before the call returns. It must not
    /// block, nor call the router's blocking methods (they fail with
    /// `InvalidArgument` there). A panic in it is caught and dropped.
    pub fn on_event(mut self, callback: impl Fn(&Event) + Send + Sync + 'static) -> RouterOptions {
        self.on_event = Some(Box::new(callback));
        self
    }

    /// Receives this router's log messages: the config warnings on the
    /// thread calling [`Router::with_options`](crate::Router::with_options),
    /// before it returns; later messages on the I/O thread. Without it they
    /// go to the library's process-wide log (stderr by default). A panic in
    /// it is caught and dropped.
    pub fn log(mut self, callback: impl Fn(LogLevel, &str) + Send + Sync + 'static) -> RouterOptions {
        self.log = Some(Box::new(callback));
        self
    }

    /// Seeds the routing randomness (shuffles, jitter); 0 = random.
    pub fn random_seed(mut self, seed: u64) -> RouterOptions {
        self.random_seed = seed;
        self
    }

    /// Records every call that carries router metadata —
    /// [`completion`](crate::Router::completion) and its typed and raw forms,
    /// [`stream`](crate::Router::stream), [`embedding`](crate::Router::embedding),
    /// [`call`](crate::Router::call) and the endpoints on it — as OpenTelemetry
    /// spans through `tracer` (for the host's SDK:
    /// `opentelemetry::global::tracer("llmux")`, or a tracer of its own
    /// provider). One span of kind CLIENT per call, named `"{operation} {model}"`
    /// (`chat`, `embeddings`, `text_completion`, `moderation`), a child of the
    /// caller's current [`opentelemetry::Context`] at call start, with the GenAI
    /// semantic conventions' attributes (`gen_ai.request.model`,
    /// `gen_ai.provider.name`, `gen_ai.usage.input_tokens`, ...) and the
    /// router's (`llmux.model_group`, `llmux.deployment_id`, `llmux.retries`,
    /// `llmux.fallbacks`, `llmux.response_cost`, `llmux.stream`, ...); one child
    /// span `"attempt {model group}"` per backend attempt, retries and fallbacks
    /// included. A failure is status ERROR with `error.type`, the LiteLLM
    /// exception class name ("RateLimitError"). The spans are recorded when the
    /// call ends, from its router metadata; they carry neither API keys nor
    /// message content.
    ///
    /// A [`Stream`](crate::Stream)'s span runs from the `stream` call to the
    /// stream's end (with `llmux.time_to_first_token_ms`), its failure, or its
    /// drop before the end: a drop keeps status UNSET and adds the event
    /// `llmux.stream.cancelled`.
    ///
    /// ```
    /// # fn main() -> Result<(), llmux::Error> {
    /// let options = llmux::RouterOptions::new().tracer(opentelemetry::global::tracer("llmux"));
    /// let router = llmux::Router::with_options("model_list: []", options)?;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "opentelemetry")]
    #[cfg_attr(docsrs, doc(cfg(feature = "opentelemetry")))]
    pub fn tracer<T>(mut self, tracer: T) -> RouterOptions
    where
        T: opentelemetry::trace::Tracer + Send + Sync + 'static,
        T::Span: Send + Sync + 'static,
    {
        self.tracer = Some(opentelemetry::global::BoxedTracer::new(Box::new(tracer)));
        self
    }

    /// The C options pointing at `self` (which must stay where it is, boxed,
    /// for as long as the router lives).
    pub(crate) fn raw(&self) -> sys::llmux_router_options {
        let mut raw = sys::llmux_router_options::new();
        let this = (self as *const RouterOptions).cast_mut().cast::<c_void>();
        if self.on_event.is_some() {
            raw.on_event = Some(on_event);
            raw.event_user_data = this;
        }
        if self.log.is_some() {
            raw.log = Some(on_log);
            raw.log_user_data = this;
        }
        raw.random_seed = self.random_seed;
        raw
    }
}

/// # Safety
/// `user_data` is a live `RouterOptions`; `json` points at `len` bytes.
unsafe extern "C" fn on_event(user_data: *mut c_void, json: *const c_char, len: usize) {
    let options = &*user_data.cast::<RouterOptions>();
    let bytes = std::slice::from_raw_parts(json.cast::<u8>(), len);
    // Nothing may unwind into C.
    let _ = catch_unwind(AssertUnwindSafe(|| {
        if let (Some(callback), Ok(value)) = (&options.on_event, serde_json::from_slice::<Value>(bytes)) {
            callback(&Event::from_json(value));
        }
    }));
}

/// # Safety
/// `user_data` is a live `RouterOptions`; `message` points at `len` bytes.
unsafe extern "C" fn on_log(user_data: *mut c_void, level: sys::llmux_log_level, message: *const c_char, len: usize) {
    let options = &*user_data.cast::<RouterOptions>();
    let text = String::from_utf8_lossy(std::slice::from_raw_parts(message.cast::<u8>(), len));
    let _ = catch_unwind(AssertUnwindSafe(|| {
        if let Some(callback) = &options.log {
            callback(LogLevel::from_raw(level), &text);
        }
    }));
}
