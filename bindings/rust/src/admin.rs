//! Routing decisions without a call, model-group usage, and settings at run
//! time.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::Error;
use crate::router::{c_string, check, Router};
use crate::sys;

/// How [`Router::pick`] reads its request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PickOptions {
    /// The request's `model` is a `litellm_params.model` and the pick is
    /// among the deployments with it (LiteLLM's `specific_deployment`); else
    /// a deployment id, returned as it is.
    pub specific_deployment: bool,
    /// Keep `api_key` and other secrets in the returned deployment (by
    /// default they read `"***"`).
    pub include_secrets: bool,
}

/// The deployment a call would be sent to first.
#[derive(Debug, Clone, PartialEq)]
pub struct PickedDeployment {
    /// model_info.id.
    pub id: String,
    /// The model group it serves for this request (the alias when aliased).
    pub model_group: String,
    /// The `model_list` entry: `{"model_name", "litellm_params", "model_info"}`.
    pub deployment: Value,
}

/// One model group's use in the current minute, summed over its deployments
/// (fleet-wide with shared state).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelGroupUsage {
    /// The group.
    pub model_group: String,
    /// Tokens used this minute.
    pub tpm: i64,
    /// Requests made this minute.
    pub rpm: i64,
    /// The sum of the deployments' tpm limits; `None` when none has one.
    pub tpm_limit: Option<i64>,
    /// The sum of the deployments' rpm limits; `None` when none has one.
    pub rpm_limit: Option<i64>,
    /// LiteLLM's `x-ratelimit-remaining-tokens` / `-requests` and
    /// `x-ratelimit-limit-tokens` / `-requests` for the limits set.
    pub headers: BTreeMap<String, i64>,
}

fn parse(text: &str, what: &str) -> Result<Value, Error> {
    serde_json::from_str(text).map_err(|e| Error::internal(format!("llmux returned {what} that is not JSON: {e}")))
}

impl Router {
    /// The deployment a call with `request` (an OpenAI request body;
    /// `messages` may be left out) would try first: the same group
    /// resolution, filters (cooldown, rpm/tpm, max_parallel_requests, tags,
    /// budgets, context window, order) and routing strategy as a call. Sends
    /// nothing and counts nothing. An unknown model is
    /// [`ErrorKind::BadRequest`](crate::ErrorKind::BadRequest); every
    /// deployment filtered out is the call's own error
    /// ([`ErrorKind::NoDeploymentsAvailable`](crate::ErrorKind::NoDeploymentsAvailable) ...).
    pub fn pick(&self, request: &Value, options: PickOptions) -> Result<PickedDeployment, Error> {
        self.pick_raw(&request.to_string(), options)
    }

    /// [`pick`](Router::pick) with the request as JSON text.
    pub fn pick_raw(&self, request: &str, options: PickOptions) -> Result<PickedDeployment, Error> {
        let mut flags = 0;
        if options.specific_deployment {
            flags |= sys::LLMUX_PICK_SPECIFIC_DEPLOYMENT;
        }
        if options.include_secrets {
            flags |= sys::LLMUX_PICK_INCLUDE_SECRETS;
        }
        let text = self.text_call("llmux_router_pick", |out, error| unsafe {
            // SAFETY: the request is borrowed for the call; out-params are valid.
            sys::llmux_router_pick(self.as_raw(), request.as_ptr().cast(), request.len(), flags, out, error)
        })?;
        let value = parse(&text, "a pick")?;
        Ok(PickedDeployment {
            id: value["id"].as_str().unwrap_or_default().to_owned(),
            model_group: value["model_group"].as_str().unwrap_or_default().to_owned(),
            deployment: value["deployment"].clone(),
        })
    }

    /// The current minute's use of `model_group` (an alias resolves to its
    /// target). An unknown group is [`ErrorKind::NotFound`](crate::ErrorKind::NotFound).
    pub fn model_group_usage(&self, model_group: &str) -> Result<ModelGroupUsage, Error> {
        let group = c_string(model_group, "model group")?;
        let text = self.text_call("llmux_router_model_group_usage", |out, error| unsafe {
            // SAFETY: group is NUL-terminated and alive for the call; out-params are valid.
            sys::llmux_router_model_group_usage(self.as_raw(), group.as_ptr(), out, error)
        })?;
        let value = parse(&text, "the model group usage")?;
        let headers = value["headers"]
            .as_object()
            .map(|h| h.iter().filter_map(|(k, v)| v.as_i64().map(|n| (k.clone(), n))).collect())
            .unwrap_or_default();
        Ok(ModelGroupUsage {
            model_group: value["model_group"].as_str().unwrap_or_default().to_owned(),
            tpm: value["tpm"].as_i64().unwrap_or_default(),
            rpm: value["rpm"].as_i64().unwrap_or_default(),
            tpm_limit: value["tpm_limit"].as_i64(),
            rpm_limit: value["rpm_limit"].as_i64(),
            headers,
        })
    }

    /// The settings in force, keyed by LiteLLM's Router argument names
    /// (`routing_strategy`, `num_retries`, `timeout`, `fallbacks`,
    /// `model_group_alias`, ...).
    pub fn settings(&self) -> Result<Value, Error> {
        let text = self.text_call("llmux_router_settings", |out, error| unsafe {
            // SAFETY: out-params are valid.
            sys::llmux_router_settings(self.as_raw(), out, error)
        })?;
        parse(&text, "the settings")
    }

    /// Changes settings at run time, all or nothing: `settings` is an object
    /// of the keys [`settings`](Router::settings) reports (`null` restores a
    /// key's default). Calls in flight keep the settings they started with.
    /// A wrong key or value is
    /// [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument)
    /// naming it, and nothing changed.
    pub fn update_settings(&self, settings: &Value) -> Result<(), Error> {
        self.update_settings_raw(&settings.to_string())
    }

    /// [`update_settings`](Router::update_settings) with the settings as JSON text.
    pub fn update_settings_raw(&self, settings: &str) -> Result<(), Error> {
        let mut error = std::ptr::null_mut();
        // SAFETY: the text is borrowed for the call; the out-param is valid.
        let status = unsafe {
            sys::llmux_router_update_settings(self.as_raw(), settings.as_ptr().cast(), settings.len(), &mut error)
        };
        // SAFETY: `error` is NULL or an error this call handed us.
        unsafe { check(status, error, "llmux_router_update_settings") }
    }
}
