//! Streaming: the C callbacks push chunks into a channel that [`Stream`]
//! iterates on the caller's thread, so no user code ever runs on the router's
//! I/O thread.
use std::ffi::{c_char, c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, Sender};

use crate::error::Error;
use crate::response::{Chunk, Metadata, Response, Usage};
use crate::router::Router;
use crate::sys;

/// What the callbacks pass to the consumer; text is copied on the I/O thread
/// and parsed on the consumer's, to keep the I/O thread's work minimal.
enum StreamEvent {
    Chunk(String),
    Done(Result<String, Error>),
}

/// The `user_data` of one streaming call: created by [`Stream::start`] with
/// `Box::into_raw` and reclaimed exactly once, by [`on_done`] (or by `start`
/// when the library refused the call and so will never call back).
struct CallbackState {
    events: Sender<StreamEvent>,
}

/// A streaming chat completion: an iterator of chunks, in order.
///
/// The iterator ends (`None`) when the call succeeded; after that
/// [`metadata`](Stream::metadata) and [`usage`](Stream::usage) give the final
/// router metadata. A failure is yielded once as `Some(Err(..))`, then the
/// iterator ends. Dropping the stream before its end cancels the call and
/// waits for the library to let go of it.
///
/// With a tracer (`RouterOptions::tracer`, feature `opentelemetry`) the
/// stream's span starts with [`Router::stream`] and ends with the stream: at
/// its end, at its failure (status ERROR), or when it is dropped before its
/// end (status unset, event `llmux.stream.cancelled`).
///
/// ```no_run
/// # fn main() -> Result<(), llmux::Error> {
/// # let router = llmux::Router::from_config("model_list: []")?;
/// let request = serde_json::json!({"model": "chat", "messages": [{"role": "user", "content": "hi"}]});
/// let mut stream = router.stream(&request)?;
/// for chunk in &mut stream {
///     print!("{}", chunk?.content().unwrap_or_default());
/// }
/// println!("\nserved by {}", stream.metadata().unwrap().deployment_id);
/// # Ok(())
/// # }
/// ```
pub struct Stream<'r> {
    router: &'r Router,
    call_id: u64,
    events: Receiver<StreamEvent>,
    finished: bool,
    outcome: Option<Response>,
    /// The call's span, until it ends.
    #[cfg(feature = "opentelemetry")]
    span: Option<crate::otel::StreamSpan<'r>>,
}

impl<'r> Stream<'r> {
    /// Starts `llmux_completion_stream` with `request` (JSON text).
    pub(crate) fn start(router: &'r Router, request: &str) -> Result<Stream<'r>, Error> {
        #[cfg(feature = "opentelemetry")]
        let span = router.tracer().map(|tracer| crate::otel::StreamSpan::start(tracer, request));
        let (sender, events) = mpsc::channel();
        let state = Box::into_raw(Box::new(CallbackState { events: sender }));
        let mut call_id = 0u64;
        // SAFETY: the router is alive for 'r; the request is borrowed for the
        // call only; `state` stays valid until on_done reclaims it.
        let status = unsafe {
            sys::llmux_completion_stream(
                router.as_raw(),
                request.as_ptr().cast(),
                request.len(),
                Some(on_chunk),
                Some(on_done),
                state.cast(),
                &mut call_id,
            )
        };
        if status != sys::LLMUX_OK {
            // Refused before taking the request: on_done will not run.
            // SAFETY: `state` came from Box::into_raw above and was not handed over.
            drop(unsafe { Box::from_raw(state) });
            let error = Error::from_status(status, "llmux_completion_stream");
            #[cfg(feature = "opentelemetry")]
            if let Some(span) = span {
                span.end(Err(&error), crate::otel::StreamEnd::Finished);
            }
            return Err(error);
        }
        Ok(Stream {
            router,
            call_id,
            events,
            finished: false,
            outcome: None,
            #[cfg(feature = "opentelemetry")]
            span,
        })
    }

    /// Ends the call's span (when it has one that has not ended) with `outcome`.
    #[cfg(feature = "opentelemetry")]
    fn end_span(&mut self, outcome: Result<&Response, &Error>, how: crate::otel::StreamEnd) {
        if let Some(span) = self.span.take() {
            span.end(outcome, how);
        }
    }

    /// The call id (as `llmux_cancel` takes it).
    pub fn call_id(&self) -> u64 {
        self.call_id
    }

    /// The router metadata of the finished call (deployment, group, attempts,
    /// usage, ...); `None` until the iterator has ended successfully.
    pub fn metadata(&self) -> Option<&Metadata> {
        self.outcome.as_ref().map(Response::metadata)
    }

    /// The call's token usage; `None` until the iterator has ended successfully.
    pub fn usage(&self) -> Option<Usage> {
        self.outcome.as_ref().and_then(Response::usage)
    }
}

impl std::fmt::Debug for Stream<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stream").field("call_id", &self.call_id).field("finished", &self.finished).finish()
    }
}

impl Iterator for Stream<'_> {
    type Item = Result<Chunk, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        match self.events.recv() {
            Ok(StreamEvent::Chunk(text)) => {
                let chunk = Chunk::from_text(&text);
                #[cfg(feature = "opentelemetry")]
                if let (Some(span), Ok(chunk)) = (&mut self.span, &chunk) {
                    span.chunk(chunk);
                }
                Some(chunk)
            }
            Ok(StreamEvent::Done(outcome)) => {
                self.finished = true;
                let outcome = outcome.and_then(|text| Response::from_text(&text));
                #[cfg(feature = "opentelemetry")]
                self.end_span(outcome.as_ref(), crate::otel::StreamEnd::Finished);
                match outcome {
                    Ok(response) => {
                        self.outcome = Some(response);
                        None
                    }
                    Err(error) => Some(Err(error)),
                }
            }
            Err(mpsc::RecvError) => {
                self.finished = true;
                let error = Error::internal("the stream ended without its done callback".to_owned());
                #[cfg(feature = "opentelemetry")]
                self.end_span(Err(&error), crate::otel::StreamEnd::Finished);
                Some(Err(error))
            }
        }
    }
}

impl Drop for Stream<'_> {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        // SAFETY: the router outlives the stream. NOT_FOUND (the call just
        // finished) is fine: its done event is then on its way.
        unsafe { sys::llmux_cancel(self.router.as_raw(), self.call_id) };
        // Wait for on_done so that, once dropped, nothing of the call is left
        // and no callback of it runs any more.
        #[cfg_attr(not(feature = "opentelemetry"), allow(unused_variables))]
        let outcome = loop {
            match self.events.recv() {
                Ok(StreamEvent::Done(outcome)) => break outcome,
                Ok(StreamEvent::Chunk(_)) => {}
                Err(mpsc::RecvError) => {
                    break Err(Error::internal("the stream ended without its done callback".to_owned()))
                }
            }
        };
        // The span of a dropped stream still has the call's metadata (usually
        // a cancellation error's), read only when there is a span.
        #[cfg(feature = "opentelemetry")]
        if self.span.is_some() {
            let outcome = outcome.and_then(|text| Response::from_text(&text));
            self.end_span(outcome.as_ref(), crate::otel::StreamEnd::Dropped);
        }
    }
}

/// Copies `len` bytes at `text` (NULL → ""; invalid UTF-8 replaced rather than trusted).
///
/// # Safety
/// `text` is NULL or points at `len` readable bytes.
unsafe fn copied_bytes(text: *const c_char, len: usize) -> String {
    if text.is_null() {
        return String::new();
    }
    String::from_utf8_lossy(std::slice::from_raw_parts(text.cast::<u8>(), len)).into_owned()
}

/// `llmux_chunk_callback`: forwards the chunk (stopping the stream should the
/// receiver be gone).
unsafe extern "C" fn on_chunk(user_data: *mut c_void, chunk: *const c_char, chunk_len: usize) -> c_int {
    // A panic must not unwind into C: it stops the stream instead.
    let delivered = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: user_data is the CallbackState of this call, alive until on_done.
        let state = &*user_data.cast::<CallbackState>();
        state.events.send(StreamEvent::Chunk(copied_bytes(chunk, chunk_len))).is_ok()
    }));
    c_int::from(delivered.unwrap_or(false))
}

/// `llmux_done_callback`: reclaims the CallbackState and sends the outcome.
unsafe extern "C" fn on_done(
    user_data: *mut c_void,
    status: sys::llmux_status,
    response: *const c_char,
    response_len: usize,
    error: *const sys::llmux_error,
) {
    // SAFETY: the library calls on_done exactly once per call, after the last chunk.
    let state = Box::from_raw(user_data.cast::<CallbackState>());
    // A panic must not unwind into C; the state is freed either way.
    let _ = catch_unwind(AssertUnwindSafe(move || {
        let outcome = if status == sys::LLMUX_OK {
            Ok(copied_bytes(response, response_len))
        } else {
            // `error` is borrowed: copied here, freed by the library.
            Err(Error::from_raw(status, error, "llmux_completion_stream"))
        };
        // Cannot fail: a Stream keeps its receiver until it has this event.
        let _ = state.events.send(StreamEvent::Done(outcome));
    }));
}
