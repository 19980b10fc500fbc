"""What goes to the library as JSON: router configs and request bodies.

LiteLLM ``Router(...)`` arguments become the config JSON llmux's loader reads:
``Router(model_list=[...], num_retries=2, ...)`` →
``{"model_list": [...], "router_settings": {"num_retries": 2, ...}}``. Arguments left at None are
not written, so llmux applies LiteLLM's defaults. LiteLLM arguments llmux does not implement are
accepted with a :class:`LiteLLMCompatibilityWarning` (unless they are at LiteLLM's default, where
ignoring them changes nothing); an argument LiteLLM does not have either is a TypeError, as Python
reports any unexpected keyword.

Request bodies are UTF-8 JSON; a value that cannot be sent (not JSON-serialisable, NaN, a lone
surrogate in a str) is an :class:`~llmux.InvalidArgumentError` naming the field.
"""

from __future__ import annotations

import enum
import json
import warnings
from typing import Any, Mapping, Optional

from ._ffi import Status
from ._mock import mock_deployment, mock_fields
from .exceptions import InvalidArgumentError, InvalidConfigError

__all__ = [
    "IMPLEMENTED_SETTINGS",
    "LiteLLMCompatibilityWarning",
    "NOT_IMPLEMENTED_SETTINGS",
    "config_json",
    "deployment_json",
    "request_json",
    "to_jsonable",
]


class LiteLLMCompatibilityWarning(UserWarning):
    """A LiteLLM feature was requested that llmux accepts but does not implement."""


#: Router arguments llmux reads (LiteLLM's names, plus llmux's own timeouts), in LiteLLM's order.
IMPLEMENTED_SETTINGS: tuple[str, ...] = (
    "routing_strategy", "routing_strategy_args", "num_retries", "max_fallbacks", "timeout", "stream_timeout",
    "retry_after", "allowed_fails", "allowed_fails_policy", "cooldown_time", "disable_cooldowns", "retry_policy",
    "model_group_retry_policy", "fallbacks", "default_fallbacks", "context_window_fallbacks",
    "content_policy_fallbacks", "enable_pre_call_checks", "enable_tag_filtering", "tag_filtering_match_any",
    "provider_budget_config", "model_group_alias", "default_max_parallel_requests",
    "redis_url", "redis_host", "redis_port", "redis_password", "redis_db", "cache_kwargs",
    "redis_command_timeout", "redis_max_wait", "redis_sync_interval",
    "enable_health_check_routing", "health_check_staleness_threshold", "health_check_ignore_transient_errors",
    "health_check_interval", "background_health_checks",
    "connect_timeout", "first_token_timeout", "stream_idle_timeout", "total_timeout",
)

#: Settings llmux validates but whose feature is not there yet: accepted, passed on, and warned
#: about (once per router). Empty now that the Redis settings share routing state.
_PARTIAL_SETTINGS: dict[str, str] = {}

#: LiteLLM Router arguments llmux does not implement (accepted, not used), with LiteLLM's defaults
#: where they are not None/False/empty.
NOT_IMPLEMENTED_SETTINGS: dict[str, Any] = {
    "optional_pre_call_checks": None, "default_litellm_params": None, "cache_responses": None, "caching_groups": None, "client_ttl": 3600, "polling_interval": None,
    "default_priority": None, "set_verbose": None, "debug_level": "INFO", "alerting_config": None,
    "router_general_settings": None, "ignore_invalid_deployments": None, "assistants_config": None,
    "search_tools": None, "guardrail_list": None, "max_retries": None, "deployment_affinity_ttl_seconds": None,
    "model_group_affinity_config": None, "enable_weighted_failover": None, "routing_groups": None,
    "default_deployment": None, "provider_default_deployment_ids": None,
    "enable_loadbalancing_on_batch_endpoints": None, "auto_routers": None,
}


def to_jsonable(value: Any) -> Any:
    """``json.dumps`` default hook: LiteLLM's pydantic objects (``Deployment``, ``RetryPolicy``, llmux
    responses ...) by their ``model_dump()``, enums (``RoutingStrategy``) by value."""
    if isinstance(value, enum.Enum):
        return value.value
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _is_default(name: str, value: Any) -> bool:
    if value is None or value is False:
        return True
    if isinstance(value, (list, dict, tuple)) and not value:
        return True
    return bool(NOT_IMPLEMENTED_SETTINGS.get(name) == value)


def config_json(model_list: Optional[list[Any]], settings: Mapping[str, Any], extra: Mapping[str, Any]) -> str:
    """The config JSON for ``Router(model_list, **settings, **extra)``.

    Args:
        model_list: the deployments (dicts or objects with ``model_dump()``).
        settings: the implemented arguments (None = not given).
        extra: every other keyword argument (LiteLLM-only arguments; anything else is a TypeError).
    """
    for name, value in extra.items():
        if name not in NOT_IMPLEMENTED_SETTINGS:
            raise TypeError(f"Router.__init__() got an unexpected keyword argument {name!r}")
        if not _is_default(name, value):
            warnings.warn(f"llmux.Router: {name}={value!r} is a LiteLLM Router argument llmux does not "
                          "implement; ignored", LiteLLMCompatibilityWarning, stacklevel=3)
    router_settings = {name: value for name, value in settings.items() if value is not None}
    partial = [name for name in router_settings if name in _PARTIAL_SETTINGS]
    if partial:
        warnings.warn(f"llmux.Router: {', '.join(partial)}: {_PARTIAL_SETTINGS[partial[0]]}",
                      LiteLLMCompatibilityWarning, stacklevel=3)
    config = {"model_list": [mock_deployment(d) for d in model_list or []], "router_settings": router_settings}
    try:
        return json.dumps(config, ensure_ascii=False, allow_nan=False, default=to_jsonable)
    except (TypeError, ValueError) as exc:
        bad = _first_unserialisable({"model_list": config["model_list"], **router_settings})
        raise InvalidConfigError(f"llmux.Router: {bad}: {exc}") from exc


def deployment_json(deployment: Any) -> bytes:
    """A model_list entry (dict, object with ``model_dump()``, or YAML/JSON text) as UTF-8 bytes."""
    try:
        if isinstance(deployment, str):
            return deployment.encode("utf-8")
        return json.dumps(mock_deployment(deployment), ensure_ascii=False, allow_nan=False,
                          default=to_jsonable).encode("utf-8")
    except (TypeError, ValueError) as exc:  # UnicodeEncodeError is a ValueError
        raise InvalidConfigError(f"llmux: the deployment cannot be sent: {exc}") from exc


def _first_unserialisable(fields: Mapping[str, Any]) -> str:
    """The name of the first field that cannot be written as JSON (for error messages)."""
    for name, value in fields.items():
        try:
            json.dumps(value, allow_nan=False, default=to_jsonable)
        except (TypeError, ValueError):
            return name
    return "config"


#: ``json.dumps(..., ensure_ascii=False, allow_nan=False, default=to_jsonable)``, made once (dumps
#: with options makes an encoder per call).
_REQUEST_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, default=to_jsonable)


def request_json(fields: Mapping[str, Any]) -> bytes:
    """A request body as UTF-8 JSON; InvalidArgumentError names a field that cannot be sent."""
    fields = mock_fields(fields)
    try:
        text = _REQUEST_ENCODER.encode(fields)
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentError(f"llmux: {_first_unserialisable(fields)}: cannot be sent as JSON: {exc}",
                                   kind=Status.INVALID_ARGUMENT) from exc
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = next((name for name, value in fields.items() if not _encodes(value)), "request")
        raise InvalidArgumentError(f"llmux: {bad}: not valid Unicode text (lone surrogate "
                                   f"{text[exc.start:exc.end]!r}); cannot be sent as UTF-8",
                                   kind=Status.INVALID_ARGUMENT) from exc


def _encodes(value: Any) -> bool:
    try:
        json.dumps(value, ensure_ascii=False, default=to_jsonable).encode("utf-8")
    except (TypeError, ValueError):  # UnicodeEncodeError is a ValueError
        return False
    return True
