//! Raw declarations of the C ABI, `capi/llmux.h`, one for one.
//!
//! Everything here is `unsafe` and follows the header's ownership rules:
//! strings the library returns are freed with [`llmux_free`], errors with
//! [`llmux_error_free`], routers with [`llmux_router_free`]. The safe API of
//! this crate wraps all of it; use these only to reach what it does not offer.
#![allow(non_camel_case_types)]

use std::ffi::{c_char, c_int, c_uint, c_void};
use std::marker::{PhantomData, PhantomPinned};

/// `LLMUX_VERSION_MAJOR` of the header these declarations mirror.
pub const LLMUX_VERSION_MAJOR: c_int = 0;
/// `LLMUX_VERSION_MINOR`.
pub const LLMUX_VERSION_MINOR: c_int = 1;
/// `LLMUX_VERSION_PATCH`.
pub const LLMUX_VERSION_PATCH: c_int = 0;
/// `LLMUX_VERSION_NUMBER`: major * 10000 + minor * 100 + patch.
pub const LLMUX_VERSION_NUMBER: c_int = LLMUX_VERSION_MAJOR * 10000 + LLMUX_VERSION_MINOR * 100 + LLMUX_VERSION_PATCH;
/// `LLMUX_ABI_VERSION`: what [`llmux_abi_version`] must return for these declarations to hold.
pub const LLMUX_ABI_VERSION: c_int = 1;

/// `enum llmux_status`. An integer rather than a Rust enum: the C enum is
/// append-only, so a newer library may return values unknown here.
pub type llmux_status = c_int;

/// `enum llmux_endpoint`: the endpoint of `llmux_call`.
pub type llmux_endpoint = c_int;
pub const LLMUX_ENDPOINT_CHAT_COMPLETIONS: llmux_endpoint = 0;
pub const LLMUX_ENDPOINT_EMBEDDINGS: llmux_endpoint = 1;
pub const LLMUX_ENDPOINT_TEXT_COMPLETIONS: llmux_endpoint = 2;
pub const LLMUX_ENDPOINT_MODERATIONS: llmux_endpoint = 3;
pub const LLMUX_ENDPOINT_RESPONSES: llmux_endpoint = 4;

pub const LLMUX_OK: llmux_status = 0;
pub const LLMUX_ERR_BAD_REQUEST: llmux_status = 1;
pub const LLMUX_ERR_CONTEXT_WINDOW_EXCEEDED: llmux_status = 2;
pub const LLMUX_ERR_CONTENT_POLICY_VIOLATION: llmux_status = 3;
pub const LLMUX_ERR_AUTHENTICATION: llmux_status = 4;
pub const LLMUX_ERR_PERMISSION_DENIED: llmux_status = 5;
pub const LLMUX_ERR_NOT_FOUND: llmux_status = 6;
pub const LLMUX_ERR_TIMEOUT: llmux_status = 7;
pub const LLMUX_ERR_RATE_LIMIT: llmux_status = 8;
pub const LLMUX_ERR_NO_DEPLOYMENTS_AVAILABLE: llmux_status = 9;
pub const LLMUX_ERR_BUDGET_EXCEEDED: llmux_status = 10;
pub const LLMUX_ERR_INTERNAL_SERVER: llmux_status = 11;
pub const LLMUX_ERR_BAD_GATEWAY: llmux_status = 12;
pub const LLMUX_ERR_SERVICE_UNAVAILABLE: llmux_status = 13;
pub const LLMUX_ERR_API: llmux_status = 14;
pub const LLMUX_ERR_CONNECTION: llmux_status = 15;
pub const LLMUX_ERR_MID_STREAM: llmux_status = 16;
pub const LLMUX_ERR_CANCELLED: llmux_status = 17;
pub const LLMUX_ERR_INVALID_CONFIG: llmux_status = 18;
pub const LLMUX_ERR_INVALID_ARGUMENT: llmux_status = 19;
pub const LLMUX_ERR_OUT_OF_MEMORY: llmux_status = 100;
pub const LLMUX_ERR_INTERNAL: llmux_status = 101;

/// Opaque `llmux_router`.
#[repr(C)]
pub struct llmux_router {
    _private: [u8; 0],
    _not_send_sync_unpin: PhantomData<(*mut u8, PhantomPinned)>,
}

/// Opaque `llmux_error`.
#[repr(C)]
pub struct llmux_error {
    _private: [u8; 0],
    _not_send_sync_unpin: PhantomData<(*mut u8, PhantomPinned)>,
}

/// `llmux_done_callback`: runs once per asynchronous call on the I/O thread;
/// `response` and `error` are borrowed for the duration of the callback.
pub type llmux_done_callback = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        status: llmux_status,
        response: *const c_char,
        response_len: usize,
        error: *const llmux_error,
    ),
>;

/// `llmux_chunk_callback`: one stream chunk, borrowed for the callback;
/// return nonzero to go on, 0 to stop the stream.
pub type llmux_chunk_callback =
    Option<unsafe extern "C" fn(user_data: *mut c_void, chunk: *const c_char, chunk_len: usize) -> c_int>;

/// `enum llmux_log_level`.
pub type llmux_log_level = c_int;
pub const LLMUX_LOG_DEBUG: llmux_log_level = 1;
pub const LLMUX_LOG_INFO: llmux_log_level = 2;
pub const LLMUX_LOG_WARN: llmux_log_level = 3;
pub const LLMUX_LOG_ERROR: llmux_log_level = 4;

/// `llmux_log_callback`: one log message (NUL-terminated, `message_len`
/// bytes without the NUL), borrowed for the callback.
pub type llmux_log_callback = Option<
    unsafe extern "C" fn(user_data: *mut c_void, level: llmux_log_level, message: *const c_char, message_len: usize),
>;

/// `llmux_event_callback`: one routing event as JSON, borrowed for the callback.
pub type llmux_event_callback =
    Option<unsafe extern "C" fn(user_data: *mut c_void, event_json: *const c_char, event_len: usize)>;

/// `llmux_router_options` (size-versioned: set `struct_size`, as
/// [`llmux_router_options::new`] does).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct llmux_router_options {
    pub struct_size: usize,
    pub on_event: llmux_event_callback,
    pub event_user_data: *mut c_void,
    pub log: llmux_log_callback,
    pub log_user_data: *mut c_void,
    pub random_seed: u64,
}

impl llmux_router_options {
    /// `LLMUX_ROUTER_OPTIONS_INIT`: the defaults, with `struct_size` set.
    pub fn new() -> llmux_router_options {
        llmux_router_options {
            struct_size: std::mem::size_of::<llmux_router_options>(),
            on_event: None,
            event_user_data: std::ptr::null_mut(),
            log: None,
            log_user_data: std::ptr::null_mut(),
            random_seed: 0,
        }
    }
}

impl Default for llmux_router_options {
    fn default() -> Self {
        Self::new()
    }
}

/// `llmux_string`: `len` bytes at `data` (NUL-terminated, never NULL), inside
/// an [`llmux_completion_parts`] block.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct llmux_string {
    pub data: *const c_char,
    pub len: usize,
}

/// `llmux_header`: a lower-case name and its value.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct llmux_header {
    pub name: llmux_string,
    pub value: llmux_string,
}

/// `llmux_completion_parts`: what [`llmux_completion_split`] returns, one
/// allocation freed with [`llmux_free`]. Fields may be added at the end: read
/// only what `struct_size` covers.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct llmux_completion_parts {
    pub struct_size: usize,
    pub body: llmux_string,
    pub call_id: u64,
    pub requested_model: llmux_string,
    pub model_group: llmux_string,
    pub fallback_model_group: llmux_string,
    pub deployment_id: llmux_string,
    pub deployment_model: llmux_string,
    pub provider: llmux_string,
    pub api_base: llmux_string,
    pub attempts: c_int,
    pub retries: c_int,
    pub max_retries: c_int,
    pub fallbacks: c_int,
    pub latency_ms: f64,
    pub time_to_first_token_ms: f64,
    pub response_cost: f64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub total_tokens: i64,
    pub usage_reported: c_int,
    pub finish_reason: llmux_string,
    pub headers: *const llmux_header,
    pub header_count: usize,
}

extern "C" {
    // ---- library ----
    pub fn llmux_version() -> *const c_char;
    pub fn llmux_abi_version() -> c_int;
    pub fn llmux_free(ptr: *mut c_void);
    pub fn llmux_status_string(status: llmux_status) -> *const c_char;

    // ---- errors ----
    pub fn llmux_error_message(error: *const llmux_error) -> *const c_char;
    pub fn llmux_error_type(error: *const llmux_error) -> *const c_char;
    pub fn llmux_error_status(error: *const llmux_error) -> c_int;
    pub fn llmux_error_code(error: *const llmux_error) -> llmux_status;
    pub fn llmux_error_json(error: *const llmux_error) -> *const c_char;
    pub fn llmux_error_free(error: *mut llmux_error);

    // ---- router ----
    pub fn llmux_router_new(
        config: *const c_char,
        len: usize,
        out_router: *mut *mut llmux_router,
        out_error: *mut *mut llmux_error,
    ) -> llmux_status;
    pub fn llmux_router_new_with_options(
        config: *const c_char,
        len: usize,
        options: *const llmux_router_options,
        out_router: *mut *mut llmux_router,
        out_error: *mut *mut llmux_error,
    ) -> llmux_status;
    pub fn llmux_router_free(router: *mut llmux_router);
    pub fn llmux_log_set(callback: llmux_log_callback, user_data: *mut c_void);

    // ---- calls ----
    pub fn llmux_completion(
        router: *mut llmux_router,
        request: *const c_char,
        len: usize,
        out_response: *mut *mut c_char,
        out_error: *mut *mut llmux_error,
    ) -> llmux_status;
    pub fn llmux_completion_split(
        router: *mut llmux_router,
        request: *const c_char,
        len: usize,
        out_parts: *mut *mut llmux_completion_parts,
        out_error: *mut *mut llmux_error,
    ) -> llmux_status;
    pub fn llmux_completion_async(
        router: *mut llmux_router,
        request: *const c_char,
        len: usize,
        on_done: llmux_done_callback,
        user_data: *mut c_void,
        out_call_id: *mut u64,
    ) -> llmux_status;
    pub fn llmux_completion_stream(
        router: *mut llmux_router,
        request: *const c_char,
        len: usize,
        on_chunk: llmux_chunk_callback,
        on_done: llmux_done_callback,
        user_data: *mut c_void,
        out_call_id: *mut u64,
    ) -> llmux_status;
    pub fn llmux_cancel(router: *mut llmux_router, call_id: u64) -> llmux_status;
    pub fn llmux_embedding(
        router: *mut llmux_router,
        request: *const c_char,
        len: usize,
        out_response: *mut *mut c_char,
        out_error: *mut *mut llmux_error,
    ) -> llmux_status;
    pub fn llmux_embedding_async(
        router: *mut llmux_router,
        request: *const c_char,
        len: usize,
        on_done: llmux_done_callback,
        user_data: *mut c_void,
        out_call_id: *mut u64,
    ) -> llmux_status;

    // ---- other endpoints ----
    pub fn llmux_call(
        router: *mut llmux_router,
        endpoint: llmux_endpoint,
        request: *const c_char,
        len: usize,
        out_response: *mut *mut c_char,
        out_error: *mut *mut llmux_error,
    ) -> llmux_status;
    pub fn llmux_call_async(
        router: *mut llmux_router,
        endpoint: llmux_endpoint,
        request: *const c_char,
        len: usize,
        on_done: llmux_done_callback,
        user_data: *mut c_void,
        out_call_id: *mut u64,
    ) -> llmux_status;

    // ---- deployments, health, metrics ----
    pub fn llmux_router_add_deployment(
        router: *mut llmux_router,
        deployment: *const c_char,
        len: usize,
        out_error: *mut *mut llmux_error,
    ) -> llmux_status;
    pub fn llmux_router_remove_deployment(
        router: *mut llmux_router,
        id: *const c_char,
        out_error: *mut *mut llmux_error,
    ) -> llmux_status;
    pub fn llmux_router_deployments(
        router: *mut llmux_router,
        out_json: *mut *mut c_char,
        out_error: *mut *mut llmux_error,
    ) -> llmux_status;
    pub fn llmux_router_health(
        router: *mut llmux_router,
        model_group: *const c_char,
        out_json: *mut *mut c_char,
        out_error: *mut *mut llmux_error,
    ) -> llmux_status;
    pub fn llmux_router_model_info(
        router: *mut llmux_router,
        query: *const c_char,
        len: usize,
        out_json: *mut *mut c_char,
        out_error: *mut *mut llmux_error,
    ) -> llmux_status;
    pub fn llmux_router_reset(router: *mut llmux_router, out_error: *mut *mut llmux_error) -> llmux_status;
    pub fn llmux_router_health_report(
        router: *mut llmux_router,
        model_group: *const c_char,
        out_json: *mut *mut c_char,
        out_error: *mut *mut llmux_error,
    ) -> llmux_status;
    pub fn llmux_router_check_health(
        router: *mut llmux_router,
        model_group: *const c_char,
        out_json: *mut *mut c_char,
        out_error: *mut *mut llmux_error,
    ) -> llmux_status;
    pub fn llmux_router_metrics(
        router: *mut llmux_router,
        out_text: *mut *mut c_char,
        out_error: *mut *mut llmux_error,
    ) -> llmux_status;
}

// Routing decisions, group usage and settings at run time.
pub const LLMUX_PICK_SPECIFIC_DEPLOYMENT: c_uint = 1;
pub const LLMUX_PICK_INCLUDE_SECRETS: c_uint = 2;

extern "C" {
    pub fn llmux_router_pick(
        router: *mut llmux_router,
        request: *const c_char,
        len: usize,
        flags: c_uint,
        out_json: *mut *mut c_char,
        out_error: *mut *mut llmux_error,
    ) -> llmux_status;
    pub fn llmux_router_model_group_usage(
        router: *mut llmux_router,
        model_group: *const c_char,
        out_json: *mut *mut c_char,
        out_error: *mut *mut llmux_error,
    ) -> llmux_status;
    pub fn llmux_router_settings(
        router: *mut llmux_router,
        out_json: *mut *mut c_char,
        out_error: *mut *mut llmux_error,
    ) -> llmux_status;
    pub fn llmux_router_update_settings(
        router: *mut llmux_router,
        json: *const c_char,
        len: usize,
        out_error: *mut *mut llmux_error,
    ) -> llmux_status;
}
