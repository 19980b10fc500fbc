//! [`ChatCompletion`]: a chat completion response decoded once, by serde's
//! derived code, straight from the library's buffer (no `serde_json::Value`
//! in between, no copy of the body).
use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::error::Error;
use crate::response::{decode_json, Metadata, Usage};

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

    #[test]
    fn a_body_that_is_not_a_chat_completion_is_an_error() {
        assert!(ChatCompletion::from_slice(b"[1,2]").is_err());
        assert!(ChatCompletion::from_slice(br#"{"choices":"no"}"#).is_err());
        assert!(ChatCompletion::from_slice(b"{\"id\":").is_err());
    }
}
