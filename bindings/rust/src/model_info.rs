//! Model info: what a deployment, a model group or a model offers (context
//! window, prices, mode, `supports_*` flags) from the library's model price
//! map, with each deployment's `model_info` and custom prices over it, as
//! LiteLLM's `get_router_model_info` / `get_model_group_info` answer; and
//! [`Router::reset`].
use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::router::{check, Router};
use crate::{sys, Error};

/// LiteLLM's model info of one deployment or model: the map's entry, the
/// deployment's `model_info` over it, `litellm_params`' custom prices over
/// both. `None` = nobody set it.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelInfo {
    /// The map key that matched; `"<provider>/<model>"` when none did.
    pub key: String,
    /// Whether the model map had an entry.
    pub mapped: bool,
    /// The deployment id (`None` for a model looked up alone).
    pub id: Option<String>,
    /// `max_tokens` (older map entries; the output limit).
    pub max_tokens: Option<i64>,
    /// The context window (input tokens).
    pub max_input_tokens: Option<i64>,
    /// The most output tokens.
    pub max_output_tokens: Option<i64>,
    /// USD per input token (0 when unknown, as LiteLLM).
    pub input_cost_per_token: f64,
    /// USD per output token (0 when unknown, as LiteLLM).
    pub output_cost_per_token: f64,
    /// LiteLLM's provider name of the entry (`"openai"`, `"bedrock_converse"` ...).
    pub litellm_provider: String,
    /// `"chat"`, `"embedding"`, ...
    pub mode: Option<String>,
    /// The deployment's tokens-per-minute limit.
    pub tpm: Option<f64>,
    /// The deployment's requests-per-minute limit.
    pub rpm: Option<f64>,
    /// The `supports_*` flags, e.g. `"supports_vision" => true`.
    pub supports: BTreeMap<String, bool>,
    /// The whole answer, the deployment's other `model_info` keys included.
    pub fields: Map<String, Value>,
}

/// LiteLLM's `ModelGroupInfo`: every provider once, the largest limits and
/// prices, the first deployment's mode, summed tpm/rpm, `supports_*` true
/// when any deployment's is.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelGroupInfo {
    /// The name asked for (an alias stays the alias).
    pub model_group: String,
    /// Every provider of the group, in config order.
    pub providers: Vec<String>,
    /// The context window (input tokens).
    pub max_input_tokens: Option<i64>,
    /// The most output tokens.
    pub max_output_tokens: Option<i64>,
    /// The largest USD per input token.
    pub input_cost_per_token: Option<f64>,
    /// The largest USD per output token.
    pub output_cost_per_token: Option<f64>,
    /// `"chat"`, `"embedding"`, ...
    pub mode: Option<String>,
    /// Summed over the deployments that set one.
    pub tpm: Option<i64>,
    /// Summed over the deployments that set one.
    pub rpm: Option<i64>,
    /// `supports_*` flags, true when any deployment's is.
    pub supports: BTreeMap<String, bool>,
    /// The group's deployments, in config order.
    pub deployment_ids: Vec<String>,
}

fn supports_of(fields: &Map<String, Value>) -> BTreeMap<String, bool> {
    fields
        .iter()
        .filter(|(k, _)| k.starts_with("supports_"))
        .filter_map(|(k, v)| v.as_bool().map(|b| (k.clone(), b)))
        .collect()
}

fn string_of(fields: &Map<String, Value>, key: &str) -> Option<String> {
    fields.get(key).and_then(Value::as_str).map(str::to_owned)
}

impl ModelInfo {
    fn from_fields(fields: Map<String, Value>) -> ModelInfo {
        ModelInfo {
            key: string_of(&fields, "key").unwrap_or_default(),
            mapped: fields.get("mapped").and_then(Value::as_bool).unwrap_or(false),
            id: string_of(&fields, "id"),
            max_tokens: fields.get("max_tokens").and_then(Value::as_i64),
            max_input_tokens: fields.get("max_input_tokens").and_then(Value::as_i64),
            max_output_tokens: fields.get("max_output_tokens").and_then(Value::as_i64),
            input_cost_per_token: fields.get("input_cost_per_token").and_then(Value::as_f64).unwrap_or(0.0),
            output_cost_per_token: fields.get("output_cost_per_token").and_then(Value::as_f64).unwrap_or(0.0),
            litellm_provider: string_of(&fields, "litellm_provider").unwrap_or_default(),
            mode: string_of(&fields, "mode"),
            tpm: fields.get("tpm").and_then(Value::as_f64),
            rpm: fields.get("rpm").and_then(Value::as_f64),
            supports: supports_of(&fields),
            fields,
        }
    }
}

impl ModelGroupInfo {
    fn from_fields(fields: &Map<String, Value>) -> ModelGroupInfo {
        let strings = |key: &str| -> Vec<String> {
            fields
                .get(key)
                .and_then(Value::as_array)
                .map(|items| items.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                .unwrap_or_default()
        };
        ModelGroupInfo {
            model_group: string_of(fields, "model_group").unwrap_or_default(),
            providers: strings("providers"),
            max_input_tokens: fields.get("max_input_tokens").and_then(Value::as_i64),
            max_output_tokens: fields.get("max_output_tokens").and_then(Value::as_i64),
            input_cost_per_token: fields.get("input_cost_per_token").and_then(Value::as_f64),
            output_cost_per_token: fields.get("output_cost_per_token").and_then(Value::as_f64),
            mode: string_of(fields, "mode"),
            tpm: fields.get("tpm").and_then(Value::as_i64),
            rpm: fields.get("rpm").and_then(Value::as_i64),
            supports: supports_of(fields),
            deployment_ids: strings("deployment_ids"),
        }
    }
}

impl Router {
    fn model_info_query(&self, query: &Value) -> Result<Map<String, Value>, Error> {
        let text = query.to_string();
        let answer = self.text_call("llmux_router_model_info", |out, error| unsafe {
            // SAFETY: the query text is borrowed for the call; out-params are valid.
            sys::llmux_router_model_info(self.as_raw(), text.as_ptr().cast(), text.len(), out, error)
        })?;
        match serde_json::from_str::<Value>(&answer) {
            Ok(Value::Object(fields)) => Ok(fields),
            _ => Err(Error::internal("llmux returned model info that is not a JSON object".to_owned())),
        }
    }

    /// The model info of the deployment with this id (`model_info.id`).
    /// `received_model_name` resolves a wildcard deployment's model
    /// (`"openai/*"` asked as `"openai/gpt-4o"`). [`ErrorKind::NotFound`](crate::ErrorKind::NotFound)
    /// for an unknown id.
    pub fn deployment_model_info(&self, id: &str, received_model_name: Option<&str>) -> Result<ModelInfo, Error> {
        if id.is_empty() {
            return Err(Error::invalid_argument("the deployment id is empty".to_owned()));
        }
        let query = json!({"deployment_id": id, "received_model_name": received_model_name});
        Ok(ModelInfo::from_fields(self.model_info_query(&query)?))
    }

    /// The model map's entry for a model alone (LiteLLM's `litellm.get_model_info`):
    /// `"gpt-4o"`, `"anthropic/claude-haiku-4-5"`; `provider` names the
    /// provider of a bare name. [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) when unmapped.
    pub fn model_info(&self, model: &str, provider: Option<&str>) -> Result<ModelInfo, Error> {
        if model.is_empty() {
            return Err(Error::invalid_argument("the model is empty".to_owned()));
        }
        let query = json!({"model": model, "custom_llm_provider": provider});
        Ok(ModelInfo::from_fields(self.model_info_query(&query)?))
    }

    /// What a model group (or an alias of one) offers, merged over its
    /// deployments. [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) for an unknown group.
    pub fn model_group_info(&self, model_group: &str) -> Result<ModelGroupInfo, Error> {
        if model_group.is_empty() {
            return Err(Error::invalid_argument("the model group is empty".to_owned()));
        }
        Ok(ModelGroupInfo::from_fields(&self.model_info_query(&json!({"model_group": model_group}))?))
    }

    /// LiteLLM's `Router.reset` for routing state: every cooldown ends,
    /// failure counts and the rpm/tpm minute counters start afresh.
    /// Deployments, prices, settings and calls in flight are untouched.
    pub fn reset(&self) -> Result<(), Error> {
        let mut error = std::ptr::null_mut();
        // SAFETY: the out-param is valid.
        let status = unsafe { sys::llmux_router_reset(self.as_raw(), &mut error) };
        // SAFETY: `error` is NULL or an error this call handed us.
        unsafe { check(status, error, "llmux_router_reset") }
    }
}
