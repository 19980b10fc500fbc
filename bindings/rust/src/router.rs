//! [`Router`]: the safe owner of an `llmux_router`.
use std::cell::Cell;
use std::ffi::{c_char, CStr, CString};
use std::ptr::{self, NonNull};

use serde::Serialize;
use serde_json::Value;

use crate::chat::ChatCompletion;
use crate::error::{copied, Error};
use crate::observe::RouterOptions;
use crate::response::{decode_json, Deployment, DeploymentHealth, HealthReport, Response};
use crate::stream::Stream;
use crate::sys;

/// An llmux router: load balancing, retries, fallbacks and cooldowns across
/// the deployments of a LiteLLM configuration.
///
/// A `Router` is `Send + Sync`: share one between threads (for example in an
/// `Arc`); every call is thread-safe. The blocking calls wait on the calling
/// thread while the router's own I/O thread does the network work. Dropping
/// the router cancels what is still in flight and frees it.
#[derive(Debug)]
pub struct Router {
    raw: NonNull<sys::llmux_router>,
    // The callbacks' user_data: boxed so that it does not move, dropped after
    // the router (Drop frees the router first).
    options: Option<Box<RouterOptions>>,
    #[cfg(feature = "opentelemetry")]
    tracer: Option<opentelemetry::global::BoxedTracer>,
}

// SAFETY: llmux.h documents every router function used here as thread-safe;
// the handle is only freed by Drop, which has exclusive access.
unsafe impl Send for Router {}
unsafe impl Sync for Router {}

impl Router {
    /// Builds a router from LiteLLM config text (YAML or JSON): `model_list`,
    /// `router_settings`, `litellm_settings`. `os.environ/NAME` values read the
    /// environment now.
    ///
    /// Fails with [`ErrorKind::InvalidConfig`](crate::ErrorKind::InvalidConfig)
    /// naming the offending key path, or
    /// [`ErrorKind::Internal`](crate::ErrorKind::Internal) when the loaded
    /// libllmux has another ABI version than this crate was written for.
    pub fn from_config(config: &str) -> Result<Router, Error> {
        Router::with_options(config, RouterOptions::new())
    }

    /// [`from_config`](Router::from_config) with callbacks for the routing
    /// events and the log messages, and a random seed: see [`RouterOptions`].
    /// Without a log callback, config warnings go to the library's
    /// process-wide log (stderr by default).
    pub fn with_options(config: &str, options: RouterOptions) -> Result<Router, Error> {
        // SAFETY: no arguments.
        let library_abi = unsafe { sys::llmux_abi_version() };
        if library_abi != crate::ABI_VERSION {
            return Err(Error::internal(format!(
                "the loaded libllmux has ABI version {library_abi}; this crate needs {}",
                crate::ABI_VERSION
            )));
        }
        #[cfg_attr(not(feature = "opentelemetry"), allow(unused_mut))]
        let mut options = Box::new(options);
        #[cfg(feature = "opentelemetry")]
        let tracer = options.tracer.take();
        let raw_options = options.raw();
        let mut raw = ptr::null_mut();
        let mut error = ptr::null_mut();
        // SAFETY: the config and options are borrowed for the call (the boxed
        // options the callbacks point at live as long as the router); the
        // out-params are valid.
        let status = unsafe {
            sys::llmux_router_new_with_options(config.as_ptr().cast(), config.len(), &raw_options, &mut raw, &mut error)
        };
        // SAFETY: `error` is NULL or an error this call handed us.
        unsafe { check(status, error, "llmux_router_new") }?;
        let options = (options.on_event.is_some() || options.log.is_some()).then_some(options);
        NonNull::new(raw)
            .map(|raw| Router {
                raw,
                options,
                #[cfg(feature = "opentelemetry")]
                tracer,
            })
            .ok_or_else(|| Error::internal("llmux_router_new succeeded without a router".to_owned()))
    }

    pub(crate) fn as_raw(&self) -> *mut sys::llmux_router {
        self.raw.as_ptr()
    }

    /// A blocking chat completion. `request` is an OpenAI chat-completions
    /// body (`model` names a model group); router-only keys (`fallbacks`,
    /// `num_retries`, `mock_response`, ...) are honoured and stripped.
    pub fn completion(&self, request: &Value) -> Result<Response, Error> {
        self.traced("chat", request_model(request), || {
            with_encoded(request, |request| self.completion_bytes(request, Response::from_slice))
        })
    }

    /// [`completion`](Router::completion) decoded into a typed
    /// [`ChatCompletion`]: the provider's body by serde's derived code, in one
    /// pass straight from the library's buffer, and the router metadata copied
    /// from plain fields (`llmux_completion_split`), so no "_llmux" JSON is
    /// written or parsed. `request` is anything that serialises to an OpenAI
    /// chat-completions body: a `serde_json::Value`, or structs of your own
    /// deriving `Serialize`.
    ///
    /// With a tracer (`RouterOptions::tracer`, feature `opentelemetry`) the
    /// answer is `llmux_completion`'s JSON instead, "_llmux" included: the
    /// attempt log the spans are made of is only there.
    pub fn completion_typed<R: Serialize + ?Sized>(&self, request: &R) -> Result<ChatCompletion, Error> {
        #[cfg(feature = "opentelemetry")]
        if self.tracer.is_some() {
            return with_encoded(request, |request| {
                self.traced(
                    "chat",
                    || json_request_model(request),
                    || self.completion_bytes(request, crate::otel::TracedCompletion::from_slice),
                )
            })
            .map(|traced| traced.completion);
        }
        // llmux_completion_split: the provider's body and the router metadata
        // as plain fields. Only the body is parsed here; the "_llmux" JSON,
        // two thirds of a typical answer, is neither written by the library
        // nor parsed by serde.
        with_encoded(request, |request| {
            let mut parts: *mut sys::llmux_completion_parts = ptr::null_mut();
            let mut error = ptr::null_mut();
            // SAFETY: the request is borrowed for the call; out-params are valid.
            let status = unsafe {
                sys::llmux_completion_split(
                    self.as_raw(),
                    request.as_ptr().cast(),
                    request.len(),
                    &mut parts,
                    &mut error,
                )
            };
            // Frees the block however this closure is left.
            let _owned = Owned(parts.cast());
            // SAFETY: `error` is NULL or an error this call handed us.
            unsafe { check(status, error, "llmux_completion_split") }?;
            if parts.is_null() {
                return Err(Error::internal("llmux_completion_split succeeded without output".to_owned()));
            }
            // SAFETY: a block the library handed over, valid and unchanged until `_owned` drops.
            unsafe { ChatCompletion::from_parts(&*parts) }
        })
    }

    /// Sends a chat-completions body and decodes the answer from a view of
    /// the library's buffer, which is freed afterwards.
    fn completion_bytes<T>(&self, request: &[u8], decode: impl FnOnce(&[u8]) -> Result<T, Error>) -> Result<T, Error> {
        let mut out: *mut c_char = ptr::null_mut();
        let mut error = ptr::null_mut();
        // SAFETY: the request is borrowed for the call; out-params are valid.
        let status = unsafe {
            sys::llmux_completion(self.as_raw(), request.as_ptr().cast(), request.len(), &mut out, &mut error)
        };
        // Frees the answer however this function is left.
        let _owned = Owned(out);
        // SAFETY: `error` is NULL or an error this call handed us.
        unsafe { check(status, error, "llmux_completion") }?;
        if out.is_null() {
            return Err(Error::internal("llmux_completion succeeded without output".to_owned()));
        }
        // SAFETY: `out` is a NUL-terminated string the library handed over; it lives until `_owned` drops.
        decode(unsafe { CStr::from_ptr(out) }.to_bytes())
    }

    /// [`completion`](Router::completion) with JSON text in and out: the
    /// provider's body with the router metadata under "_llmux". Text that is
    /// not valid JSON is an [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument).
    pub fn completion_raw(&self, request: &str) -> Result<String, Error> {
        self.traced("chat", raw_request_model(request), || {
            self.text_call("llmux_completion", |out, error| unsafe {
                // SAFETY: the request is borrowed for the call; out-params are valid.
                sys::llmux_completion(self.as_raw(), request.as_ptr().cast(), request.len(), out, error)
            })
        })
    }

    /// Starts a streaming chat completion (`"stream": true` is implied) and
    /// returns its chunks as an iterator; see [`Stream`].
    pub fn stream(&self, request: &Value) -> Result<Stream<'_>, Error> {
        Stream::start(self, &request.to_string())
    }

    /// A blocking embeddings call (an OpenAI `/embeddings` body).
    pub fn embedding(&self, request: &Value) -> Result<Response, Error> {
        self.traced("embeddings", request_model(request), || {
            Response::from_text(&self.embedding_text(&request.to_string())?)
        })
    }

    /// [`embedding`](Router::embedding) with JSON text in and out.
    pub fn embedding_raw(&self, request: &str) -> Result<String, Error> {
        self.traced("embeddings", raw_request_model(request), || self.embedding_text(request))
    }

    /// `llmux_embedding`, untraced.
    fn embedding_text(&self, request: &str) -> Result<String, Error> {
        self.text_call("llmux_embedding", |out, error| unsafe {
            // SAFETY: the request is borrowed for the call; out-params are valid.
            sys::llmux_embedding(self.as_raw(), request.as_ptr().cast(), request.len(), out, error)
        })
    }

    /// Runs `call`, recorded as OpenTelemetry spans of `operation` when the
    /// router has a tracer (see [`RouterOptions::tracer`]); `request_model`
    /// gives the request's "model", asked for only then.
    #[cfg(feature = "opentelemetry")]
    pub(crate) fn traced<T: crate::otel::Traced>(
        &self,
        operation: &'static str,
        request_model: impl FnOnce() -> String,
        call: impl FnOnce() -> Result<T, Error>,
    ) -> Result<T, Error> {
        let Some(tracer) = &self.tracer else {
            return call();
        };
        let start = crate::otel::CallStart::now();
        let result = call();
        crate::otel::record_result(tracer, operation, start, &request_model(), &result);
        result
    }

    /// Runs `call` (no tracing without the feature `opentelemetry`).
    #[cfg(not(feature = "opentelemetry"))]
    #[inline(always)]
    pub(crate) fn traced<T>(
        &self,
        _operation: &'static str,
        _request_model: impl FnOnce() -> String,
        call: impl FnOnce() -> Result<T, Error>,
    ) -> Result<T, Error> {
        call()
    }

    /// The tracer of [`RouterOptions::tracer`], when the router has one.
    #[cfg(feature = "opentelemetry")]
    pub(crate) fn tracer(&self) -> Option<&opentelemetry::global::BoxedTracer> {
        self.tracer.as_ref()
    }

    /// The health of the deployments of `model_group` (all when `None`):
    /// healthy or cooling down, why, for how long, load this minute.
    pub fn health(&self, model_group: Option<&str>) -> Result<Vec<DeploymentHealth>, Error> {
        let group = model_group.map(|g| c_string(g, "model group")).transpose()?;
        let group_ptr = group.as_ref().map_or(ptr::null(), |g| g.as_ptr());
        let text = self.text_call("llmux_router_health", |out, error| unsafe {
            // SAFETY: group_ptr is NULL or a NUL-terminated string alive for the call.
            sys::llmux_router_health(self.as_raw(), group_ptr, out, error)
        })?;
        DeploymentHealth::list_from_text(&text)
    }

    /// The active health checks' latest results for `model_group` (all when
    /// `None`), shaped like LiteLLM's `/health` answer. Sends nothing (see
    /// [`check_health`](Router::check_health)).
    pub fn health_report(&self, model_group: Option<&str>) -> Result<HealthReport, Error> {
        let group = model_group.map(|g| c_string(g, "model group")).transpose()?;
        let group_ptr = group.as_ref().map_or(ptr::null(), |g| g.as_ptr());
        let text = self.text_call("llmux_router_health_report", |out, error| unsafe {
            // SAFETY: group_ptr is NULL or a NUL-terminated string alive for the call.
            sys::llmux_router_health_report(self.as_raw(), group_ptr, out, error)
        })?;
        HealthReport::from_text(&text)
    }

    /// Checks the deployments of `model_group` (all when `None`) now — a
    /// minimal request to each, outside routing — and returns the report once
    /// every check ended (each within its health_check_timeout, 60 s by
    /// default). The results count for routing like background ones. Blocks
    /// the calling thread.
    pub fn check_health(&self, model_group: Option<&str>) -> Result<HealthReport, Error> {
        let group = model_group.map(|g| c_string(g, "model group")).transpose()?;
        let group_ptr = group.as_ref().map_or(ptr::null(), |g| g.as_ptr());
        let text = self.text_call("llmux_router_check_health", |out, error| unsafe {
            // SAFETY: group_ptr is NULL or a NUL-terminated string alive for the call.
            sys::llmux_router_check_health(self.as_raw(), group_ptr, out, error)
        })?;
        HealthReport::from_text(&text)
    }

    /// The current deployments as `model_list` entries, secrets masked.
    pub fn deployments(&self) -> Result<Vec<Deployment>, Error> {
        let text = self.text_call("llmux_router_deployments", |out, error| unsafe {
            // SAFETY: out-params are valid.
            sys::llmux_router_deployments(self.as_raw(), out, error)
        })?;
        Deployment::list_from_text(&text)
    }

    /// The router's metrics in Prometheus text exposition format.
    pub fn metrics(&self) -> Result<String, Error> {
        self.text_call("llmux_router_metrics", |out, error| unsafe {
            // SAFETY: out-params are valid.
            sys::llmux_router_metrics(self.as_raw(), out, error)
        })
    }

    /// Adds one deployment: a `model_list` entry as YAML or JSON text.
    pub fn add_deployment(&self, deployment: &str) -> Result<(), Error> {
        let mut error = ptr::null_mut();
        // SAFETY: the text is borrowed for the call; the out-param is valid.
        let status = unsafe {
            sys::llmux_router_add_deployment(self.as_raw(), deployment.as_ptr().cast(), deployment.len(), &mut error)
        };
        // SAFETY: `error` is NULL or an error this call handed us.
        unsafe { check(status, error, "llmux_router_add_deployment") }
    }

    /// Removes the deployment with this id (model_info.id); calls in flight
    /// on it finish normally.
    pub fn remove_deployment(&self, id: &str) -> Result<(), Error> {
        let id = c_string(id, "deployment id")?;
        let mut error = ptr::null_mut();
        // SAFETY: id is NUL-terminated and alive for the call; the out-param is valid.
        let status = unsafe { sys::llmux_router_remove_deployment(self.as_raw(), id.as_ptr(), &mut error) };
        // SAFETY: `error` is NULL or an error this call handed us.
        unsafe { check(status, error, "llmux_router_remove_deployment") }
    }

    /// Runs a library function that returns a string through an out-param and
    /// takes ownership of whatever it hands back.
    pub(crate) fn text_call(
        &self,
        context: &str,
        call: impl FnOnce(*mut *mut c_char, *mut *mut sys::llmux_error) -> sys::llmux_status,
    ) -> Result<String, Error> {
        let mut out: *mut c_char = ptr::null_mut();
        let mut error = ptr::null_mut();
        let status = call(&mut out, &mut error);
        // SAFETY: `out` is NULL or a library-allocated string now owned here.
        let text = unsafe { take_string(out) };
        // SAFETY: `error` is NULL or an error this call handed us.
        unsafe { check(status, error, context) }?;
        if out.is_null() {
            return Err(Error::internal(format!("{context} succeeded without output")));
        }
        Ok(text)
    }
}

impl Drop for Router {
    fn drop(&mut self) {
        // SAFETY: the router is ours and nothing borrows it any more (a
        // Stream borrows the Router, so none is alive).
        unsafe { sys::llmux_router_free(self.raw.as_ptr()) }
        // No callback can run any more: `options` may go.
        self.options = None;
    }
}

/// Turns a status and its optional error into a Result, freeing the error.
///
/// # Safety
/// `error` is NULL or an `llmux_error` owned by the caller.
pub(crate) unsafe fn check(
    status: sys::llmux_status,
    error: *mut sys::llmux_error,
    context: &str,
) -> Result<(), Error> {
    let outcome = if status == sys::LLMUX_OK { Ok(()) } else { Err(Error::from_raw(status, error, context)) };
    sys::llmux_error_free(error);
    outcome
}

/// Copies a library-allocated string and frees it with llmux_free.
///
/// # Safety
/// `text` is NULL or a string the library handed over to the caller.
unsafe fn take_string(text: *mut c_char) -> String {
    let copy = copied(text);
    sys::llmux_free(text.cast());
    copy
}

/// A string the library handed over, freed with llmux_free on drop.
struct Owned(*mut c_char);

impl Drop for Owned {
    fn drop(&mut self) {
        // SAFETY: NULL or a library-allocated string owned here; llmux_free(NULL) is a no-op.
        unsafe { sys::llmux_free(self.0.cast()) }
    }
}

thread_local! {
    /// This thread's buffer for request bodies, kept from call to call: a
    /// fresh `Vec` per call (serde_json::to_vec) starts at 128 bytes and
    /// doubles, which for the benchmark's 1.9 KB request is five reallocations
    /// and ~3.5 KB of copying before the body even reaches the library.
    static REQUEST_BUFFER: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// A buffer larger than this is not kept for the next call (one huge
/// request should not pin its memory to the thread for good).
const KEPT_REQUEST_BUFFER: usize = 64 * 1024;

/// Writes `request` as JSON into this thread's request buffer and runs `send`
/// on the bytes. A value serde cannot write as JSON (a map with non-string
/// keys, ...) is an InvalidArgument error.
///
/// The buffer is taken out of the thread-local for the duration of the call,
/// so a nested call on the same thread (none is expected: the library runs
/// callbacks on its own thread) or one during thread teardown simply starts
/// with an empty buffer instead of panicking or aliasing.
fn with_encoded<R: Serialize + ?Sized, T>(
    request: &R,
    send: impl FnOnce(&[u8]) -> Result<T, Error>,
) -> Result<T, Error> {
    let mut buffer = REQUEST_BUFFER.try_with(Cell::take).unwrap_or_default();
    buffer.clear();
    let outcome = match serde_json::to_writer(&mut buffer, request) {
        Ok(()) => send(&buffer),
        Err(e) => Err(Error::invalid_argument(format!("the request does not encode as JSON: {e}"))),
    };
    if buffer.capacity() <= KEPT_REQUEST_BUFFER {
        // Fails only while the thread's locals are being destroyed: then the buffer is just dropped.
        let _ = REQUEST_BUFFER.try_with(|kept| kept.set(buffer));
    }
    outcome
}

/// The "model" of a request, for [`Router::traced`].
pub(crate) fn request_model(request: &Value) -> impl FnOnce() -> String + '_ {
    || request["model"].as_str().unwrap_or_default().to_owned()
}

/// The "model" of a request given as JSON text, for [`Router::traced`].
pub(crate) fn raw_request_model(request: &str) -> impl FnOnce() -> String + '_ {
    || json_request_model(request.as_bytes())
}

/// The "model" of a request body (JSON); "" when it has none.
pub(crate) fn json_request_model(json: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Request {
        #[serde(default)]
        model: Value,
    }
    decode_json::<Request>(json).ok().and_then(|r| r.model.as_str().map(str::to_owned)).unwrap_or_default()
}

/// `text` as a C string; an interior NUL is an InvalidArgument error.
pub(crate) fn c_string(text: &str, what: &str) -> Result<CString, Error> {
    CString::new(text).map_err(|_| Error::invalid_argument(format!("the {what} contains a NUL byte: {text:?}")))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;
    use crate::ErrorKind;

    #[test]
    fn each_call_gets_exactly_its_own_request_bytes() {
        // A long request, then a short one: the kept buffer must be cleared, not overwritten in place.
        let long = json!({"model": "m", "messages": [{"role": "user", "content": "x".repeat(500)}]});
        let short = json!({"model": "m"});
        let first = with_encoded(&long, |bytes| Ok(bytes.to_vec())).unwrap();
        let second = with_encoded(&short, |bytes| Ok(bytes.to_vec())).unwrap();
        assert_eq!(first, serde_json::to_vec(&long).unwrap());
        assert_eq!(second, br#"{"model":"m"}"#);
    }

    #[test]
    fn a_nested_call_on_the_same_thread_has_a_buffer_of_its_own() {
        let outer = json!({"model": "outer"});
        let inner = json!({"model": "inner"});
        let (outer_bytes, inner_bytes) = with_encoded(&outer, |bytes| {
            let inner_bytes = with_encoded(&inner, |b| Ok(b.to_vec()))?;
            // The outer request is still intact after the nested call.
            Ok((bytes.to_vec(), inner_bytes))
        })
        .unwrap();
        assert_eq!(outer_bytes, br#"{"model":"outer"}"#);
        assert_eq!(inner_bytes, br#"{"model":"inner"}"#);
    }

    #[test]
    fn a_request_that_does_not_encode_is_an_invalid_argument() {
        let mut request = BTreeMap::new();
        request.insert(vec![1u8], "a map key JSON cannot hold");
        let error = with_encoded(&request, |_| Ok(())).unwrap_err();
        assert_eq!(error.kind, ErrorKind::InvalidArgument);
        // The next call on the thread is not affected.
        assert_eq!(with_encoded(&json!({}), |b| Ok(b.to_vec())).unwrap(), b"{}");
    }

    #[test]
    fn a_huge_request_buffer_is_not_kept() {
        let huge = json!({"content": "x".repeat(KEPT_REQUEST_BUFFER * 2)});
        with_encoded(&huge, |_| Ok(())).unwrap();
        assert_eq!(REQUEST_BUFFER.with(|b| b.take().capacity()), 0);
        with_encoded(&json!({}), |_| Ok(())).unwrap();
        assert!(REQUEST_BUFFER.with(|b| b.take().capacity()) > 0);
    }
}
