"""LiteLLM's read-only views of a router's deployments: ``get_model_list`` with
``model_group_alias`` entries, ``get_deployment`` objects, ``get_model_group_info`` and friends.

LiteLLM keeps the model_list it was given (secrets resolved, not redacted) and answers these from
it. llmux's library keeps the deployments and returns them with secrets as ``"***"``; a Router
built from Python keeps the entries it was given here too (:class:`ModelListMirror`), so that
``get_deployment(id).litellm_params.api_key`` reads what LiteLLM's would. A router made from a
config file has only the library's (redacted) view.

Standard library only; when the user has imported litellm, the objects are LiteLLM's own
``Deployment`` / ``ModelGroupInfo`` where they can be built.
"""

from __future__ import annotations

import copy
import os
import sys
from typing import Any, ClassVar, Iterable, Mapping, Optional

from ._litellm import litellm_in_use
from .types import LLMuxObject

__all__ = [
    "Deployment",
    "DeploymentLiteLLMParams",
    "DeploymentModelInfo",
    "ModelGroupInfo",
    "ModelListMirror",
    "alias_target",
    "model_group_info",
    "router_model_info",
]

_REDACTED = "***"


class DeploymentLiteLLMParams(LLMuxObject):
    """A deployment's ``litellm_params`` (``.model``, ``.api_base``, ``.api_key`` ...)."""

    _fields = ("model", "api_base", "api_key", "api_version", "organization", "custom_llm_provider", "rpm",
               "tpm", "timeout", "stream_timeout", "max_retries", "region_name", "base_model",
               "input_cost_per_token", "output_cost_per_token")


class DeploymentModelInfo(LLMuxObject):
    """A deployment's ``model_info`` (``.id``, ``.base_model``, ``.access_groups`` ...)."""

    _fields = ("id", "base_model", "mode", "max_input_tokens", "max_output_tokens", "access_groups", "team_id",
               "input_cost_per_token", "output_cost_per_token")


class Deployment(LLMuxObject):
    """One model_list entry as LiteLLM's ``Deployment``: ``.model_name``, ``.litellm_params.model``,
    ``.model_info.id``, item access and ``model_dump()``."""

    _fields = ("model_name", "litellm_params", "model_info", "rpm", "tpm")
    _children: ClassVar[Mapping[str, type[LLMuxObject]]] = {
        "litellm_params": DeploymentLiteLLMParams, "model_info": DeploymentModelInfo}


class ModelGroupInfo(LLMuxObject):
    """LiteLLM's ``ModelGroupInfo``: what a model group offers, merged over its deployments."""

    _fields = ("model_group", "providers", "max_input_tokens", "max_output_tokens", "input_cost_per_token",
               "output_cost_per_token", "input_cost_per_pixel", "mode", "tpm", "rpm",
               "supports_parallel_function_calling", "supports_vision", "supports_web_search",
               "supports_url_context", "supports_reasoning", "supports_function_calling",
               "supported_openai_params", "configurable_clientside_auth_params")


def _litellm_type(module: str, name: str) -> Any:
    """LiteLLM's class ``module.name`` when LiteLLM's types are in use (``llmux.litellm_types``), else None."""
    if litellm_in_use() is None:
        return None
    found = sys.modules.get(module)
    return getattr(found, name, None) if found is not None else None


def make_deployment(entry: Mapping[str, Any]) -> Any:
    """A deployment object for a model_list entry: LiteLLM's ``Deployment`` when litellm is imported
    and accepts the entry, else :class:`Deployment`."""
    litellm_deployment = _litellm_type("litellm.types.router", "Deployment")
    if litellm_deployment is not None:
        try:
            return litellm_deployment(**copy.deepcopy(dict(entry)))
        except Exception:  # an entry LiteLLM's model rejects (llmux-only keys): ours
            pass
    return Deployment(copy.deepcopy(dict(entry)))


def _plain(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump()
    return copy.deepcopy(value)


def _resolve_environment(params: dict[str, Any]) -> dict[str, Any]:
    """``os.environ/NAME`` values read as LiteLLM's set_model_list does (unset: left as written)."""
    out = {}
    for key, value in params.items():
        if isinstance(value, str) and value.startswith("os.environ/"):
            value = os.environ.get(value[len("os.environ/"):], value)
        out[key] = value
    return out


class ModelListMirror:
    """The model_list entries a Router was given in Python, by deployment id, in the library's
    order; used to answer with the values LiteLLM would (secrets unredacted).

    The library is the authority on which deployments exist: an entry is kept only while the
    library lists a deployment with its id, model_name and model.
    """

    def __init__(self) -> None:
        self._by_id: dict[str, dict[str, Any]] = {}

    def clear(self) -> None:
        self._by_id.clear()

    def record(self, given: Iterable[Any], listed: list[dict[str, Any]]) -> None:
        """Pairs the entries given (in order) with the library's listing of them (``listed``, in the
        same order; an entry whose ``organization`` is a list stands for one deployment each)."""
        expanded: list[dict[str, Any]] = []
        for item in given:
            entry = _plain(item)
            if not isinstance(entry, dict) or not isinstance(entry.get("litellm_params"), dict):
                return  # the library accepted it in a form this mirror does not follow
            params = _resolve_environment(entry["litellm_params"])
            organizations = params.get("organization")
            if isinstance(organizations, list) and organizations:
                for organization in organizations:
                    expanded.append({**entry, "litellm_params": {**params, "organization": organization}})
            else:
                expanded.append({**entry, "litellm_params": params})
        if len(expanded) != len(listed):
            return
        for entry, library in zip(expanded, listed):
            if (entry.get("model_name") != library.get("model_name")
                    or entry["litellm_params"].get("model") != library["litellm_params"].get("model")):
                continue
            deployment_id = str((library.get("model_info") or {}).get("id", ""))
            model_info = dict(entry.get("model_info") or {})
            model_info["id"] = deployment_id
            self._by_id.setdefault(deployment_id, {**entry, "model_info": model_info})

    def forget(self, deployment_id: str) -> None:
        self._by_id.pop(deployment_id, None)

    def entries(self, listed: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``listed`` (the library's entries) with each one replaced by the entry as given, where known."""
        out = []
        for library in listed:
            deployment_id = str((library.get("model_info") or {}).get("id", ""))
            given = self._by_id.get(deployment_id)
            if given is not None and given.get("model_name") == library.get("model_name"):
                out.append(copy.deepcopy(given))
            else:
                out.append(library)
        return out


def alias_target(value: Any) -> Optional[tuple[str, bool]]:
    """A ``model_group_alias`` value as (target group, hidden); None when malformed."""
    if isinstance(value, str):
        return value, False
    if isinstance(value, Mapping) and isinstance(value.get("model"), str):
        return value["model"], bool(value.get("hidden", False))
    return None


_PROVIDER_PREFIXES = ("openai", "azure", "azure_ai", "anthropic", "bedrock", "vertex_ai", "gemini", "mistral",
                      "groq", "cohere", "together_ai", "fireworks_ai", "deepseek", "xai", "ollama", "hosted_vllm",
                      "vllm", "openrouter", "databricks", "sagemaker", "watsonx", "text-completion-openai",
                      "perplexity", "deepinfra", "cerebras", "nvidia_nim", "huggingface", "replicate")


def provider_of(params: Mapping[str, Any]) -> str:
    """The provider of a deployment (``custom_llm_provider``, else the model's prefix, else openai)."""
    custom = params.get("custom_llm_provider")
    if isinstance(custom, str) and custom:
        return custom
    model = str(params.get("model", ""))
    if "/" in model:
        return model.split("/", 1)[0]
    return "openai"


def _first(*values: Any) -> Any:
    return next((value for value in values if value is not None), None)


def _limit(value: Any) -> Optional[float]:
    # max_input_tokens: 0 (as the proxy's UI writes it) means "not set".
    return None if value in (None, 0) or isinstance(value, bool) else value


_SUPPORTS = ("supports_parallel_function_calling", "supports_vision", "supports_web_search", "supports_url_context",
             "supports_reasoning", "supports_function_calling")


def router_model_info(entry: Mapping[str, Any]) -> dict[str, Any]:
    """LiteLLM's ``get_router_model_info`` for one deployment, from what its config says:
    ``key``, ``litellm_provider``, ``mode``, limits and prices (model_info over litellm_params),
    then every ``model_info`` key."""
    params = entry.get("litellm_params") or {}
    info = entry.get("model_info") or {}
    model = str(_first(info.get("base_model"), params.get("base_model"), params.get("model")) or "")
    provider = provider_of(params)
    key = model.split("/", 1)[1] if model.startswith(provider + "/") else model
    out: dict[str, Any] = {
        "key": key,
        "litellm_provider": provider,
        "mode": info.get("mode", "chat"),
        "max_tokens": _limit(_first(info.get("max_tokens"), params.get("max_tokens"))),
        "max_input_tokens": _limit(_first(info.get("max_input_tokens"), params.get("max_input_tokens"))),
        "max_output_tokens": _limit(_first(info.get("max_output_tokens"), params.get("max_output_tokens"))),
        "input_cost_per_token": _first(info.get("input_cost_per_token"), params.get("input_cost_per_token"), 0),
        "output_cost_per_token": _first(info.get("output_cost_per_token"), params.get("output_cost_per_token"), 0),
        "tpm": _first(entry.get("tpm"), params.get("tpm"), info.get("tpm")),
        "rpm": _first(entry.get("rpm"), params.get("rpm"), info.get("rpm")),
        "supported_openai_params": info.get("supported_openai_params"),
    }
    out.update(copy.deepcopy(dict(info)))
    return out


def model_group_info(user_facing_name: str, deployments: list[Mapping[str, Any]]) -> Any:
    """LiteLLM's ``ModelGroupInfo`` for these deployments (None when there are none): providers in
    order, the largest limits and prices, summed tpm/rpm, supports_* when any deployment has it."""
    if not deployments:
        return None
    fields: dict[str, Any] = {"model_group": user_facing_name, "providers": [], "max_input_tokens": None,
                              "max_output_tokens": None, "input_cost_per_token": None,
                              "output_cost_per_token": None, "input_cost_per_pixel": None, "mode": None,
                              "tpm": None, "rpm": None, **{name: False for name in _SUPPORTS},
                              "supported_openai_params": [], "configurable_clientside_auth_params": None}
    for deployment in deployments:
        info = router_model_info(deployment)
        params = deployment.get("litellm_params") or {}
        if info["litellm_provider"] not in fields["providers"]:
            fields["providers"].append(info["litellm_provider"])
        if fields["mode"] is None:
            fields["mode"] = info.get("mode") or "chat"
        for name in ("max_input_tokens", "max_output_tokens", "input_cost_per_token", "output_cost_per_token"):
            value = info.get(name)
            if isinstance(value, (int, float)) and (fields[name] is None or value > fields[name]):
                fields[name] = value
        for name in _SUPPORTS:
            if info.get(name) is True:
                fields[name] = True
        if info.get("supported_openai_params"):
            fields["supported_openai_params"] = list(info["supported_openai_params"])
        for name in ("tpm", "rpm"):
            if isinstance(info.get(name), (int, float)):
                fields[name] = (fields[name] or 0) + int(info[name])
        if params.get("configurable_clientside_auth_params") is not None:
            fields["configurable_clientside_auth_params"] = params["configurable_clientside_auth_params"]
    litellm_info = _litellm_type("litellm.types.router", "ModelGroupInfo")
    if litellm_info is not None:
        try:
            return litellm_info(**fields)
        except Exception:
            pass
    return ModelGroupInfo(fields)
