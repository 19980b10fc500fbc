//! The loaded library matches the declarations in `llmux::sys`.
use std::ffi::CStr;

use llmux::sys;

#[test]
fn loaded_library_has_the_crates_abi_version() {
    assert_eq!(unsafe { sys::llmux_abi_version() }, llmux::ABI_VERSION);
}

#[test]
fn library_version_matches_the_header_constants() {
    let expected = format!("{}.{}.{}", sys::LLMUX_VERSION_MAJOR, sys::LLMUX_VERSION_MINOR, sys::LLMUX_VERSION_PATCH);
    assert_eq!(llmux::version(), expected);
}

#[test]
fn status_values_name_the_litellm_classes() {
    let name = |status| unsafe { CStr::from_ptr(sys::llmux_status_string(status)) }.to_str().unwrap().to_owned();
    assert_eq!(name(sys::LLMUX_OK), "OK");
    assert_eq!(name(sys::LLMUX_ERR_RATE_LIMIT), "RateLimitError");
    assert_eq!(name(sys::LLMUX_ERR_CONTEXT_WINDOW_EXCEEDED), "ContextWindowExceededError");
    assert_eq!(name(sys::LLMUX_ERR_INVALID_ARGUMENT), "InvalidArgumentError");
    assert_eq!(name(sys::LLMUX_ERR_OUT_OF_MEMORY), "OutOfMemory");
    assert_eq!(name(sys::LLMUX_ERR_INTERNAL), "InternalError");
    assert_eq!(name(4242), "UnknownError");
}

#[test]
fn error_kinds_round_trip_through_status_values() {
    for status in (1..=19).chain([100, 101, 4242]) {
        let kind = llmux::ErrorKind::from_status(status);
        assert_eq!(kind.status_code(), status);
        assert_eq!(kind == llmux::ErrorKind::Unknown(status), status == 4242);
    }
}
