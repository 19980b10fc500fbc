//! Typed views of the JSON the library returns: responses, stream chunks,
//! router metadata, health and deployments.
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::error::Error;

/// Token usage of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    /// Tokens of the prompt.
    pub prompt_tokens: u64,
    /// Tokens generated.
    pub completion_tokens: u64,
    /// prompt + completion.
    pub total_tokens: u64,
    /// Whether the provider reported these figures (false: llmux estimated them).
    pub reported: bool,
}

impl Usage {
    pub(crate) fn from_json(usage: &Value, reported: bool) -> Usage {
        Usage {
            prompt_tokens: usage["prompt_tokens"].as_u64().unwrap_or(0),
            completion_tokens: usage["completion_tokens"].as_u64().unwrap_or(0),
            total_tokens: usage["total_tokens"].as_u64().unwrap_or(0),
            reported: usage["reported"].as_bool().unwrap_or(reported),
        }
    }
}

/// What the router did for a call (the "_llmux" object of a response or error).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Metadata {
    /// The id of the call (as for cancellation).
    pub call_id: u64,
    /// The model the request asked for.
    pub requested_model: String,
    /// The model group that served it (the fallback group when a fallback did).
    pub model_group: String,
    /// The fallback group used, "" when none.
    pub fallback_model_group: String,
    /// The serving deployment's id (model_info.id).
    pub deployment_id: String,
    /// The serving deployment's model (litellm_params.model).
    pub deployment_model: String,
    /// The provider ("openai", ...).
    pub provider: String,
    /// The serving deployment's api_base (never a key).
    pub api_base: String,
    /// Attempts made, across retries and fallbacks.
    pub attempts: u32,
    /// Retries made.
    pub retries: u32,
    /// Retries allowed.
    pub max_retries: u32,
    /// Fallback groups tried.
    pub fallbacks: u32,
    /// Time from the call to its outcome.
    pub latency: Duration,
    /// Time to the first token (streams).
    pub time_to_first_token: Duration,
    /// The response cost in USD (0 when the model's price is unknown).
    pub cost: f64,
    /// Token usage, when the outcome carries it.
    pub usage: Option<Usage>,
    /// The finish reason ("stop", "length", ...), when known.
    pub finish_reason: Option<String>,
    /// LiteLLM's x-litellm-* response headers.
    pub headers: BTreeMap<String, String>,
}

impl Metadata {
    pub(crate) fn from_json(m: &Value) -> Metadata {
        let text = |key: &str| m[key].as_str().unwrap_or_default().to_owned();
        let count = |key: &str| m[key].as_u64().and_then(|n| u32::try_from(n).ok()).unwrap_or(0);
        let millis = |key: &str| duration_from_secs(m[key].as_f64().unwrap_or(0.0) / 1000.0);
        let headers = m["headers"]
            .as_object()
            .map(|h| {
                h.iter().map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_owned))).collect()
            })
            .unwrap_or_default();
        Metadata {
            call_id: m["call_id"].as_u64().unwrap_or(0),
            requested_model: text("requested_model"),
            model_group: text("model_group"),
            fallback_model_group: text("fallback_model_group"),
            deployment_id: text("deployment_id"),
            deployment_model: text("deployment_model"),
            provider: text("provider"),
            api_base: text("api_base"),
            attempts: count("attempts"),
            retries: count("retries"),
            max_retries: count("max_retries"),
            fallbacks: count("fallbacks"),
            latency: millis("latency_ms"),
            time_to_first_token: millis("time_to_first_token_ms"),
            cost: m["response_cost"].as_f64().unwrap_or(0.0),
            usage: m.get("usage").filter(|u| u.is_object()).map(|u| Usage::from_json(u, true)),
            finish_reason: m["finish_reason"].as_str().map(str::to_owned),
            headers,
        }
    }
}

/// A completion or embedding response: the provider's body (with the router
/// metadata under "_llmux") and typed accessors for the common parts.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    body: Value,
    metadata: Metadata,
}

impl Response {
    /// Parses the JSON the library returned.
    pub(crate) fn from_text(text: &str) -> Result<Response, Error> {
        Response::from_slice(text.as_bytes())
    }

    /// Parses the JSON the library returned, from its bytes.
    pub(crate) fn from_slice(json: &[u8]) -> Result<Response, Error> {
        let body: Value = decode_json(json)
            .map_err(|e| Error::internal(format!("llmux returned a response that is not JSON ({e})")))?;
        if !body.is_object() {
            return Err(Error::internal("llmux returned a response that is not a JSON object".to_owned()));
        }
        let metadata = Metadata::from_json(&body["_llmux"]);
        Ok(Response { body, metadata })
    }

    /// The whole body as the provider sent it, plus "_llmux".
    pub fn body(&self) -> &Value {
        &self.body
    }

    /// The body, consuming the response.
    pub fn into_body(self) -> Value {
        self.body
    }

    /// What the router did: deployment, group, attempts, latency, cost, headers...
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// `choices[0].message.content` of a chat completion.
    pub fn content(&self) -> Option<&str> {
        self.body["choices"][0]["message"]["content"].as_str()
    }

    /// The model the provider says served the call (the body's "model").
    pub fn model(&self) -> Option<&str> {
        self.body["model"].as_str()
    }

    /// Token usage: the router's figures, else the body's "usage".
    pub fn usage(&self) -> Option<Usage> {
        self.metadata
            .usage
            .or_else(|| self.body.get("usage").filter(|u| u.is_object()).map(|u| Usage::from_json(u, true)))
    }

    /// `data[index].embedding` of an embeddings response.
    pub fn embedding(&self, index: usize) -> Option<Vec<f64>> {
        self.body["data"][index]["embedding"].as_array()?.iter().map(Value::as_f64).collect()
    }
}

/// One chunk of a stream: an OpenAI `chat.completion.chunk` object.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    body: Value,
}

impl Chunk {
    pub(crate) fn from_text(text: &str) -> Result<Chunk, Error> {
        serde_json::from_str(text)
            .map(|body| Chunk { body })
            .map_err(|e| Error::internal(format!("llmux delivered a stream chunk that is not JSON ({e})")))
    }

    /// The chunk as JSON.
    pub fn body(&self) -> &Value {
        &self.body
    }

    /// The chunk, consuming it.
    pub fn into_body(self) -> Value {
        self.body
    }

    /// `choices[0].delta.content`, when this chunk carries text.
    pub fn content(&self) -> Option<&str> {
        self.body["choices"][0]["delta"]["content"].as_str()
    }

    /// The chunk's "usage" (the last chunk when `stream_options.include_usage` is set).
    pub fn usage(&self) -> Option<Usage> {
        self.body.get("usage").filter(|u| u.is_object()).map(|u| Usage::from_json(u, true))
    }

    /// The chunk's "model".
    pub fn model(&self) -> Option<&str> {
        self.body["model"].as_str()
    }
}

/// The health of one deployment, as the router sees it now.
#[derive(Debug, Clone, PartialEq)]
pub struct DeploymentHealth {
    /// Deployment id (model_info.id).
    pub id: String,
    /// Its model group (model_name).
    pub model_group: String,
    /// Its api_base.
    pub api_base: String,
    /// False while cooling down, probing, or routed around for a failed health check.
    pub healthy: bool,
    /// "healthy", "cooling_down", "half_open" (one probe may go), "probing" or
    /// "failed_health_check" (routed around for a failed active health check).
    pub state: String,
    /// Why it cooled down ("429 RateLimitError: ..."), "" when healthy.
    pub reason: String,
    /// HTTP status of the failure that cooled it down (0 when none).
    pub status: u16,
    /// Time left before it may be tried again.
    pub cooldown_remaining: Duration,
    /// Consecutive re-openings after failed probes.
    pub trips: u32,
    /// Calls in flight on it.
    pub in_flight: u64,
    /// Requests started this minute.
    pub requests_this_minute: u64,
    /// Tokens used this minute.
    pub tokens_this_minute: u64,
    /// Who opened the cooldown when routing state is shared on Redis: another
    /// replica's id, "redis" for one read back from Redis (a LiteLLM worker's),
    /// empty for this router.
    pub cooled_by: String,
    /// The latest active health check, `None` when never checked.
    pub last_check: Option<HealthCheckResult>,
    /// Routing avoids the deployment now because of its health checks.
    pub failed_health_check: bool,
    /// When the background schedule checks it next; `None` when not scheduled.
    pub next_health_check: Option<Duration>,
}

/// One active health check of one deployment: a minimal request sent outside
/// routing (chat: one short message; embedding: one word).
#[derive(Debug, Clone, PartialEq)]
pub struct HealthCheckResult {
    /// The deployment checked.
    pub deployment_id: String,
    /// Its model group.
    pub model_group: String,
    /// "chat" or "embedding".
    pub mode: String,
    /// The model asked for: model_info.health_check_model, else litellm_params.model.
    pub model: String,
    /// The check passed.
    pub healthy: bool,
    /// Not checked (a mode llmux does not serve, ...): `reason` says why.
    pub skipped: bool,
    /// LiteLLM's exception name when it failed ("RateLimitError", "Timeout", ...).
    pub error_type: String,
    /// The status LiteLLM would report (0 when healthy).
    pub status: u16,
    /// The provider's message; never a key.
    pub reason: String,
    /// When the check ended.
    pub checked_at: SystemTime,
    /// How long it took.
    pub latency: Duration,
    /// "this replica", or the replica that shared the result.
    pub checked_by: String,
}

impl HealthCheckResult {
    fn from_value(v: &Value) -> HealthCheckResult {
        HealthCheckResult {
            deployment_id: string_of(v, "deployment_id"),
            model_group: string_of(v, "model_group"),
            mode: string_of(v, "mode"),
            model: string_of(v, "model"),
            healthy: v["healthy"].as_bool().unwrap_or(false),
            skipped: v["skipped"].as_bool().unwrap_or(false),
            error_type: string_of(v, "error_type"),
            status: status_of(v),
            reason: string_of(v, "reason"),
            checked_at: UNIX_EPOCH + duration_from_secs(v["checked_at"].as_f64().unwrap_or(0.0)),
            latency: duration_from_secs(v["latency_ms"].as_f64().unwrap_or(0.0) / 1000.0),
            checked_by: string_of(v, "checked_by"),
        }
    }
}

/// One deployment in a [`HealthReport`].
#[derive(Debug, Clone, PartialEq)]
pub struct HealthEndpoint {
    /// The model the check asks for.
    pub model: String,
    /// The model group (model_name).
    pub model_group: String,
    /// The deployment id (model_info.id).
    pub model_id: String,
    /// Its api_base; never a key.
    pub api_base: String,
    /// "chat", "embedding", ...
    pub mode: String,
    /// Unhealthy: the failed check's reason; unchecked: why there is no result.
    pub error: String,
    /// LiteLLM's exception name of the failed check.
    pub error_type: String,
    /// Its status (0 when none).
    pub status: u16,
    /// When the latest check ended; `None` when never checked.
    pub last_check_at: Option<SystemTime>,
    /// How long it took.
    pub latency: Duration,
    /// "this replica", or the replica that shared the result.
    pub checked_by: String,
    /// Older than the staleness threshold: no longer counts for routing.
    pub stale: bool,
    /// Routing avoids the deployment now because of its checks.
    pub routed_around: bool,
}

/// The active health checks' view of the deployments, shaped like LiteLLM's
/// `/health` answer: deployments whose latest check passed or failed, and
/// those without a result.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HealthReport {
    /// Latest check passed.
    pub healthy_endpoints: Vec<HealthEndpoint>,
    /// Latest check failed.
    pub unhealthy_endpoints: Vec<HealthEndpoint>,
    /// Never checked, or not checked (see `error`).
    pub unchecked_endpoints: Vec<HealthEndpoint>,
}

impl HealthReport {
    pub(crate) fn from_text(text: &str) -> Result<HealthReport, Error> {
        let report: Value = serde_json::from_str(text)
            .map_err(|e| Error::internal(format!("llmux returned a health report that is not JSON ({e})")))?;
        if !report.is_object() {
            return Err(Error::internal("llmux returned a health report that is not a JSON object".to_owned()));
        }
        let list = |key: &str| -> Vec<HealthEndpoint> {
            report[key].as_array().map(|items| items.iter().map(endpoint_from_value).collect()).unwrap_or_default()
        };
        Ok(HealthReport {
            healthy_endpoints: list("healthy_endpoints"),
            unhealthy_endpoints: list("unhealthy_endpoints"),
            unchecked_endpoints: list("unchecked_endpoints"),
        })
    }
}

fn endpoint_from_value(v: &Value) -> HealthEndpoint {
    let at = v["last_check_at"].as_f64().unwrap_or(0.0);
    HealthEndpoint {
        model: string_of(v, "model"),
        model_group: string_of(v, "model_group"),
        model_id: string_of(v, "model_id"),
        api_base: string_of(v, "api_base"),
        mode: string_of(v, "mode"),
        error: string_of(v, "error"),
        error_type: string_of(v, "error_type"),
        status: status_of(v),
        last_check_at: (at > 0.0).then(|| UNIX_EPOCH + duration_from_secs(at)),
        latency: duration_from_secs(v["latency_ms"].as_f64().unwrap_or(0.0) / 1000.0),
        checked_by: string_of(v, "checked_by"),
        stale: v["stale"].as_bool().unwrap_or(false),
        routed_around: v["routed_around"].as_bool().unwrap_or(false),
    }
}

fn string_of(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_default().to_owned()
}

fn status_of(v: &Value) -> u16 {
    v["status"].as_u64().and_then(|s| u16::try_from(s).ok()).unwrap_or(0)
}

impl DeploymentHealth {
    pub(crate) fn list_from_text(text: &str) -> Result<Vec<DeploymentHealth>, Error> {
        let entries = json_array(text, "health")?;
        Ok(entries
            .iter()
            .map(|h| DeploymentHealth {
                id: h["id"].as_str().unwrap_or_default().to_owned(),
                model_group: h["model_group"].as_str().unwrap_or_default().to_owned(),
                api_base: h["api_base"].as_str().unwrap_or_default().to_owned(),
                healthy: h["healthy"].as_bool().unwrap_or(false),
                state: h["state"].as_str().unwrap_or_default().to_owned(),
                reason: h["reason"].as_str().unwrap_or_default().to_owned(),
                status: h["status"].as_u64().and_then(|s| u16::try_from(s).ok()).unwrap_or(0),
                cooldown_remaining: duration_from_secs(h["cooldown_remaining_seconds"].as_f64().unwrap_or(0.0)),
                trips: h["trips"].as_u64().and_then(|n| u32::try_from(n).ok()).unwrap_or(0),
                in_flight: h["in_flight"].as_u64().unwrap_or(0),
                requests_this_minute: h["requests_this_minute"].as_u64().unwrap_or(0),
                tokens_this_minute: h["tokens_this_minute"].as_u64().unwrap_or(0),
                cooled_by: h["cooled_by"].as_str().unwrap_or_default().to_owned(),
                last_check: h["last_check"].is_object().then(|| HealthCheckResult::from_value(&h["last_check"])),
                failed_health_check: h["failed_health_check"].as_bool().unwrap_or(false),
                next_health_check: h["next_health_check_seconds"]
                    .as_f64()
                    .filter(|s| *s >= 0.0)
                    .map(duration_from_secs),
            })
            .collect())
    }
}

/// One deployment of the router, as a LiteLLM `model_list` entry with its
/// secrets (api_key, ...) replaced by "***".
#[derive(Debug, Clone, PartialEq)]
pub struct Deployment {
    /// Its model group (model_name).
    pub model_name: String,
    /// Its id (model_info.id).
    pub id: String,
    /// litellm_params, secrets masked.
    pub litellm_params: Value,
    /// model_info.
    pub model_info: Value,
}

impl Deployment {
    pub(crate) fn list_from_text(text: &str) -> Result<Vec<Deployment>, Error> {
        let entries = json_array(text, "deployments")?;
        Ok(entries
            .into_iter()
            .map(|mut d| Deployment {
                model_name: d["model_name"].as_str().unwrap_or_default().to_owned(),
                id: d["model_info"]["id"].as_str().unwrap_or_default().to_owned(),
                litellm_params: d["litellm_params"].take(),
                model_info: d["model_info"].take(),
            })
            .collect())
    }
}

fn json_array(text: &str, what: &str) -> Result<Vec<Value>, Error> {
    match serde_json::from_str(text) {
        Ok(Value::Array(entries)) => Ok(entries),
        Ok(_) => Err(Error::internal(format!("llmux returned {what} that are not a JSON array"))),
        Err(e) => Err(Error::internal(format!("llmux returned {what} that are not JSON ({e})"))),
    }
}

/// Decodes JSON bytes the library returned, in one pass over the strings.
///
/// The bytes are checked to be UTF-8 once, as a whole (std's check runs
/// word-at-a-time over ASCII), and then decoded as a `&str`. Decoding the
/// bytes directly (`serde_json::from_slice`) validates every string again on
/// its own, about 7,500 instructions for the benchmark's 1.5 KB chat
/// completion (~100 short strings) against under 1,000 for the one pass.
/// Bytes that are not UTF-8 still go through `from_slice`, for its error
/// with the line and column.
pub(crate) fn decode_json<'de, T: serde::Deserialize<'de>>(json: &'de [u8]) -> serde_json::Result<T> {
    match std::str::from_utf8(json) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(json),
    }
}

/// Seconds as a Duration; negative, NaN or huge values (never expected) become zero.
fn duration_from_secs(seconds: f64) -> Duration {
    Duration::try_from_secs_f64(seconds).unwrap_or_default()
}
