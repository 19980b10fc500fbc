//! [`ChatCompletion`]: a chat completion response decoded once, by serde's
//! derived code, straight from the library's buffer (no `serde_json::Value`
//! in between, no copy of the body).
use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::error::Error;
use crate::response::{decode_json, Metadata, Usage};
use crate::sys;

/// A chat completion as [`Router::completion_typed`](crate::Router::completion_typed)
/// returns it: the parts of the OpenAI `chat.completion` object that callers
/// read, and what the router did (`_llmux`). Members it has no field for
/// (`logprobs`, provider extras, ...) are skipped while decoding; use
/// [`Router::completion`](crate::Router::completion) or
/// [`completion_raw`](crate::Router::completion_raw) for the whole body.
/// A JSON `null` reads as the field's default (`""`, `0`, empty, `None`).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default)]
pub struct ChatCompletion {
    /// The provider's id of the completion.
    #[serde(deserialize_with = "or_default")]
    pub id: String,
    /// "chat.completion".
    #[serde(deserialize_with = "or_default")]
    pub object: String,
    /// Unix time the provider created it.
    #[serde(deserialize_with = "or_default")]
    pub created: i64,
    /// The model the provider says served the call.
    #[serde(deserialize_with = "or_default")]
    pub model: String,
    /// The provider's system fingerprint, when it sent one.
    pub system_fingerprint: Option<String>,
    /// The choices (one unless the request asked for `n`).
    #[serde(deserialize_with = "or_default")]
    pub choices: Vec<ChatChoice>,
    /// The body's "usage" (`reported` is true), when present.
    #[serde(deserialize_with = "usage")]
    pub usage: Option<Usage>,
    /// What the router did: deployment, group, attempts, latency, cost, headers...
    #[serde(rename = "_llmux", deserialize_with = "metadata")]
    pub metadata: Metadata,
}

impl ChatCompletion {
    /// Decodes the JSON the library returned (see [`decode_json`] for how).
    pub(crate) fn from_slice(json: &[u8]) -> Result<ChatCompletion, Error> {
        decode_json(json)
            .map_err(|e| Error::internal(format!("llmux returned a chat completion that does not decode ({e})")))
    }

    /// Builds the completion from what `llmux_completion_split` returned: the
    /// provider's body decoded as [`from_slice`](ChatCompletion::from_slice)
    /// does, the metadata copied from the struct's fields. The result equals
    /// decoding `llmux_completion`'s JSON for the same response: that JSON
    /// keeps only a body that is an object (`{...}`, trailing whitespace
    /// aside), and so does this.
    ///
    /// # Safety
    /// `parts` is a block the library returned, alive for the call.
    pub(crate) unsafe fn from_parts(parts: &sys::llmux_completion_parts) -> Result<ChatCompletion, Error> {
        if parts.struct_size < std::mem::size_of::<sys::llmux_completion_parts>() {
            return Err(Error::internal(format!(
                "llmux_completion_split returned a {}-byte struct; this crate reads {}",
                parts.struct_size,
                std::mem::size_of::<sys::llmux_completion_parts>()
            )));
        }
        let body = bytes(parts.body);
        let end = body.iter().rposition(|b| !b" \t\n\r".contains(b)).map_or(0, |last| last + 1);
        let mut completion = if end >= 2 && body[0] == b'{' && body[end - 1] == b'}' {
            ChatCompletion::from_slice(&body[..end])?
        } else {
            ChatCompletion::default()
        };
        completion.metadata = metadata_from_parts(parts);
        Ok(completion)
    }

    /// `choices[0].message.content`, when the first choice carries text.
    pub fn content(&self) -> Option<&str> {
        self.choices.first()?.message.content.as_deref()
    }
}

/// One choice of a [`ChatCompletion`].
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default)]
pub struct ChatChoice {
    /// Its position among the choices.
    #[serde(deserialize_with = "or_default")]
    pub index: u32,
    /// The assistant's message.
    #[serde(deserialize_with = "or_default")]
    pub message: ChatMessage,
    /// "stop", "length", "tool_calls", ..., when the provider sent one.
    pub finish_reason: Option<String>,
}

/// The assistant's message of a [`ChatChoice`].
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default)]
pub struct ChatMessage {
    /// "assistant".
    #[serde(deserialize_with = "or_default")]
    pub role: String,
    /// The text; `None` when the message only carries tool calls.
    pub content: Option<String>,
    /// The tools the model called.
    #[serde(deserialize_with = "or_default")]
    pub tool_calls: Vec<ToolCall>,
}

/// One tool call of a [`ChatMessage`].
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default)]
pub struct ToolCall {
    /// The call's id, to answer it with a "tool" message.
    #[serde(deserialize_with = "or_default")]
    pub id: String,
    /// "function".
    #[serde(rename = "type", deserialize_with = "or_default")]
    pub kind: String,
    /// The function and its arguments.
    #[serde(deserialize_with = "or_default")]
    pub function: FunctionCall,
}

/// The function a [`ToolCall`] calls.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default)]
pub struct FunctionCall {
    /// The function's name.
    #[serde(deserialize_with = "or_default")]
    pub name: String,
    /// Its arguments, JSON-encoded as the model wrote them.
    #[serde(deserialize_with = "or_default")]
    pub arguments: String,
}

/// `null` as the type's default.
fn or_default<'de, D: Deserializer<'de>, T: Deserialize<'de> + Default>(d: D) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A usage object as it is on the wire; absent or null counts are 0.
#[derive(Default, Deserialize)]
#[serde(default)]
struct UsageWire {
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
    total_tokens: Option<u64>,
    reported: Option<bool>,
}

impl UsageWire {
    fn usage(self) -> Usage {
        Usage {
            prompt_tokens: self.prompt_tokens.unwrap_or(0),
            completion_tokens: self.completion_tokens.unwrap_or(0),
            total_tokens: self.total_tokens.unwrap_or(0),
            // The body's usage is what the provider reported; "_llmux" says so itself.
            reported: self.reported.unwrap_or(true),
        }
    }
}

fn usage<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Usage>, D::Error> {
    Ok(Option::<UsageWire>::deserialize(d)?.map(UsageWire::usage))
}

/// The "_llmux" object as it is on the wire (see [`Metadata`]).
#[derive(Default, Deserialize)]
#[serde(default)]
struct MetadataWire {
    call_id: Option<u64>,
    requested_model: Option<String>,
    model_group: Option<String>,
    fallback_model_group: Option<String>,
    deployment_id: Option<String>,
    deployment_model: Option<String>,
    provider: Option<String>,
    api_base: Option<String>,
    attempts: Option<u32>,
    retries: Option<u32>,
    max_retries: Option<u32>,
    fallbacks: Option<u32>,
    latency_ms: Option<f64>,
    time_to_first_token_ms: Option<f64>,
    response_cost: Option<f64>,
    usage: Option<UsageWire>,
    finish_reason: Option<String>,
    headers: Option<BTreeMap<String, String>>,
}

fn metadata<'de, D: Deserializer<'de>>(d: D) -> Result<Metadata, D::Error> {
    let Some(w) = Option::<MetadataWire>::deserialize(d)? else {
        return Ok(Metadata::default());
    };
    let millis = |ms: Option<f64>| Duration::try_from_secs_f64(ms.unwrap_or(0.0) / 1000.0).unwrap_or_default();
    Ok(Metadata {
        call_id: w.call_id.unwrap_or(0),
        requested_model: w.requested_model.unwrap_or_default(),
        model_group: w.model_group.unwrap_or_default(),
        fallback_model_group: w.fallback_model_group.unwrap_or_default(),
        deployment_id: w.deployment_id.unwrap_or_default(),
        deployment_model: w.deployment_model.unwrap_or_default(),
        provider: w.provider.unwrap_or_default(),
        api_base: w.api_base.unwrap_or_default(),
        attempts: w.attempts.unwrap_or(0),
        retries: w.retries.unwrap_or(0),
        max_retries: w.max_retries.unwrap_or(0),
        fallbacks: w.fallbacks.unwrap_or(0),
        latency: millis(w.latency_ms),
        time_to_first_token: millis(w.time_to_first_token_ms),
        cost: w.response_cost.unwrap_or(0.0),
        usage: w.usage.map(UsageWire::usage),
        finish_reason: w.finish_reason,
        headers: w.headers.unwrap_or_default(),
    })
}

/// The bytes of an `llmux_string`.
///
/// # Safety
/// `s` comes from a live `llmux_completion_parts` block.
unsafe fn bytes<'a>(s: sys::llmux_string) -> &'a [u8] {
    if s.data.is_null() || s.len == 0 {
        return &[];
    }
    std::slice::from_raw_parts(s.data.cast(), s.len)
}

/// An `llmux_string` as a `String` (the library hands out UTF-8; an invalid
/// byte, never expected, becomes U+FFFD rather than an error).
///
/// # Safety
/// As [`bytes`].
unsafe fn text(s: sys::llmux_string) -> String {
    let b = bytes(s);
    match std::str::from_utf8(b) {
        Ok(t) => t.to_owned(),
        Err(_) => String::from_utf8_lossy(b).into_owned(),
    }
}

/// The metadata of an `llmux_completion_parts`, as [`metadata`] reads it
/// from the "_llmux" JSON of the same response (a non-finite number, which
/// that JSON writes as null, reads as 0).
///
/// # Safety
/// `p` is a live block the library returned.
unsafe fn metadata_from_parts(p: &sys::llmux_completion_parts) -> Metadata {
    let count = |n: std::ffi::c_int| u32::try_from(n).unwrap_or(0);
    let tokens = |n: i64| u64::try_from(n).unwrap_or(0);
    let finite = |x: f64| if x.is_finite() { x } else { 0.0 };
    let millis = |ms: f64| Duration::try_from_secs_f64(finite(ms) / 1000.0).unwrap_or_default();
    let listed = if p.headers.is_null() { &[][..] } else { std::slice::from_raw_parts(p.headers, p.header_count) };
    // Inserted one by one: collect() would first gather the pairs in a Vec and
    // sort it (an extra allocation for a handful of headers, already in a
    // leaf node's reach). A repeated name keeps its last value, as in the JSON.
    let mut headers = BTreeMap::new();
    for h in listed {
        headers.insert(text(h.name), text(h.value));
    }
    Metadata {
        call_id: p.call_id,
        requested_model: text(p.requested_model),
        model_group: text(p.model_group),
        fallback_model_group: text(p.fallback_model_group),
        deployment_id: text(p.deployment_id),
        deployment_model: text(p.deployment_model),
        provider: text(p.provider),
        api_base: text(p.api_base),
        attempts: count(p.attempts),
        retries: count(p.retries),
        max_retries: count(p.max_retries),
        fallbacks: count(p.fallbacks),
        latency: millis(p.latency_ms),
        time_to_first_token: millis(p.time_to_first_token_ms),
        cost: finite(p.response_cost),
        usage: Some(Usage {
            prompt_tokens: tokens(p.prompt_tokens),
            completion_tokens: tokens(p.completion_tokens),
            total_tokens: tokens(p.total_tokens),
            reported: p.usage_reported != 0,
        }),
        finish_reason: (p.finish_reason.len > 0).then(|| text(p.finish_reason)),
        headers,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::response::Response;

    /// The benchmark's answer as the library returns it (benchmarks/bindings).
    const RESPONSE: &str = include_str!("../tests/data/chat_response.json");

    #[test]
    fn decodes_what_the_value_path_reads() {
        let typed = ChatCompletion::from_slice(RESPONSE.as_bytes()).unwrap();
        let value = Response::from_text(RESPONSE).unwrap();
        assert_eq!(typed.metadata, *value.metadata());
        assert_eq!(typed.content(), value.content());
        assert_eq!(Some(typed.model.as_str()), value.model());
        assert_eq!(typed.usage, value.body().get("usage").map(|u| Usage::from_json(u, true)));
        assert_eq!(typed.id, "chatcmpl-bench0001");
        assert_eq!(typed.created, 1715000000);
        assert_eq!(typed.system_fingerprint.as_deref(), Some("fp_bench"));
        assert_eq!(typed.choices[0].finish_reason.as_deref(), Some("stop"));
        assert_eq!(typed.choices[0].message.role, "assistant");
        assert!(typed.metadata.headers.len() > 3);
        assert_eq!(typed.metadata.usage.map(|u| u.total_tokens), Some(443));
    }

    #[test]
    fn nulls_and_absent_members_read_as_defaults() {
        let json = br#"{"id":null,"choices":[{"index":0,"message":{"role":"assistant","content":null,
            "tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},
            "finish_reason":null}],"usage":null,"_llmux":{"usage":null,"finish_reason":null,"latency_ms":-1}}"#;
        let typed = ChatCompletion::from_slice(json).unwrap();
        assert_eq!(typed.id, "");
        assert_eq!(typed.content(), None);
        assert_eq!(typed.choices[0].message.tool_calls[0].function.name, "f");
        assert_eq!(typed.choices[0].message.tool_calls[0].kind, "function");
        assert_eq!(typed.choices[0].finish_reason, None);
        assert_eq!(typed.usage, None);
        assert_eq!(typed.metadata.usage, None);
        assert_eq!(typed.metadata.latency, Duration::ZERO);
        let value = Response::from_text(std::str::from_utf8(json).unwrap()).unwrap();
        assert_eq!(typed.metadata, *value.metadata());
    }

    #[test]
    fn bytes_that_are_not_utf8_are_an_error_not_a_panic() {
        // A stray byte inside a string: the one-pass check fails, and from_slice reports it.
        let mut json = RESPONSE.as_bytes().to_vec();
        let at = RESPONSE.find("Yes.").unwrap();
        json[at] = 0xff;
        assert!(ChatCompletion::from_slice(&json).is_err());
        // Escaped non-ASCII decodes as before.
        let typed =
            ChatCompletion::from_slice(b"{\"model\":\"K\\u00f6ln \\ud83d\\ude42\",\"id\":\"Gr\xc3\xbc\xc3\x9fe\"}")
                .unwrap();
        assert_eq!(typed.model, "K\u{f6}ln \u{1f642}");
        assert_eq!(typed.id, "Gr\u{fc}\u{df}e");
    }

    /// A parts block as the library lays it out, over `body` and fixed metadata.
    fn with_parts<T>(body: &str, f: impl FnOnce(&sys::llmux_completion_parts) -> T) -> T {
        // `t` ends with the NUL the library writes after every string.
        let s = |t: &'static str| sys::llmux_string { data: t.as_ptr().cast(), len: t.len() - 1 };
        let headers = [sys::llmux_header { name: s("x-litellm-model-id\0"), value: s("d1\0") }];
        let body = std::ffi::CString::new(body).unwrap();
        let empty = s("\0");
        let parts = sys::llmux_completion_parts {
            struct_size: std::mem::size_of::<sys::llmux_completion_parts>(),
            body: sys::llmux_string { data: body.as_ptr(), len: body.as_bytes().len() },
            call_id: 7,
            requested_model: empty,
            model_group: s("g\0"),
            fallback_model_group: empty,
            deployment_id: s("d1\0"),
            deployment_model: empty,
            provider: empty,
            api_base: empty,
            attempts: 1,
            retries: 0,
            max_retries: 2,
            fallbacks: 0,
            latency_ms: 1.5,
            time_to_first_token_ms: -1.0,
            response_cost: f64::NAN,
            prompt_tokens: 3,
            completion_tokens: 4,
            total_tokens: 7,
            usage_reported: 0,
            finish_reason: empty,
            headers: headers.as_ptr(),
            header_count: headers.len(),
        };
        f(&parts)
    }

    #[test]
    fn parts_read_as_the_json_of_the_same_response_would() {
        let typed =
            with_parts("{\"model\":\"m\",\"choices\":[]}\n ", |p| unsafe { ChatCompletion::from_parts(p) }).unwrap();
        assert_eq!(typed.model, "m");
        let m = &typed.metadata;
        assert_eq!((m.call_id, m.model_group.as_str(), m.deployment_id.as_str()), (7, "g", "d1"));
        assert_eq!(m.latency, Duration::from_micros(1500));
        assert_eq!(m.time_to_first_token, Duration::ZERO);
        // NaN is written as null in "_llmux", which reads as 0.
        assert_eq!(m.cost, 0.0);
        assert_eq!(m.finish_reason, None);
        assert_eq!(m.usage, Some(Usage { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7, reported: false }));
        assert_eq!(m.headers.get("x-litellm-model-id").map(String::as_str), Some("d1"));
    }

    #[test]
    fn a_body_that_is_not_an_object_leaves_only_the_metadata() {
        // llmux_completion's JSON keeps only an object body (the "_llmux" member is added to it).
        for body in ["", "null", " {\"model\":\"m\"}", "[1]"] {
            let typed = with_parts(body, |p| unsafe { ChatCompletion::from_parts(p) }).unwrap();
            assert_eq!(typed.model, "", "{body:?}");
            assert_eq!(typed.metadata.deployment_id, "d1");
        }
        assert!(with_parts("{\"choices\":1}", |p| unsafe { ChatCompletion::from_parts(p) }).is_err());
    }

    #[test]
    fn a_smaller_struct_than_this_crate_reads_is_an_error() {
        let result = with_parts("{}", |p| {
            let small = sys::llmux_completion_parts { struct_size: 16, ..*p };
            unsafe { ChatCompletion::from_parts(&small) }
        });
        assert!(result.is_err());
    }

    #[test]
    fn a_body_that_is_not_a_chat_completion_is_an_error() {
        assert!(ChatCompletion::from_slice(b"[1,2]").is_err());
        assert!(ChatCompletion::from_slice(br#"{"choices":"no"}"#).is_err());
        assert!(ChatCompletion::from_slice(b"{\"id\":").is_err());
    }
}
