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
#: with options makes an encoder per call) and without the check for cycles (a set of every
#: container's id: a tenth of the encoding); a cycle then ends in RecursionError, and the request is
#: encoded again by :data:`_CHECKING_ENCODER`, which fails the way json.dumps does.
_REQUEST_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, default=to_jsonable, check_circular=False)
_CHECKING_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, default=to_jsonable)


class _EncodedStrings(dict):  # type: ignore[type-arg]
    """Each str's JSON text (``"..."``, ASCII only), by the str: what the request encoder asks for
    every key and string value it writes.

    Escaping a string is the larger part of encoding a request (the messages' text, two passes per
    character in ``_json``); a chat program sends the same strings again and again (the system
    prompt, the earlier turns, every key), and a str cannot change, so an entry never goes stale.
    A hit is a dict lookup in C (the str's hash is kept in the str); only a miss runs Python
    (:meth:`__missing__`). Bounded: strings longer than :data:`_LONGEST_KEPT` are encoded each
    time, and the whole map is dropped when it holds :data:`_KEPT_CHARS` characters of JSON.

    ASCII escapes (``\u00fc``) rather than UTF-8 text: every piece is then ASCII, so joining them
    and encoding the result to bytes are plain copies — text with a character outside Latin-1 (an
    emoji) otherwise makes the whole body a 4-byte-per-character str, joined and encoded character
    by character. The library reads either form.

    A str subclass is looked up by its own ``__eq__``/``__hash__``: one equal to a str of other
    text would be sent as that text (only the str's content is written, as json does)."""

    __slots__ = ()

    def __missing__(self, text: str) -> str:
        encoded = _encode_basestring_ascii(text)
        if not text.isascii():
            # A lone surrogate has no UTF-8 form: refused as before (ASCII escapes would hide it).
            text.encode("utf-8")
        if len(text) <= _LONGEST_KEPT and type(text) is str:
            held = _held_chars[0] + len(encoded)
            if held > _KEPT_CHARS:
                self.clear()
                held = len(encoded)
            _held_chars[0] = held
            self[text] = encoded
        return encoded


_encode_basestring_ascii = json.encoder.encode_basestring_ascii
#: Longest str kept by :class:`_EncodedStrings` (characters), and how many characters of JSON it
#: holds before it starts again (≈ 8 MB at most with the keys: bounded whatever the traffic).
_LONGEST_KEPT = 64 * 1024
_KEPT_CHARS = 4 * 1024 * 1024
_held_chars = [0]
_ENCODED_STRINGS = _EncodedStrings()
#: ``_json``'s encoder (None without the C accelerator): called as ``_encode_chunks(fields, 0)``,
#: it returns the request's JSON as a list of str pieces. No cycle check (markers None), compact
#: separators, no NaN, ``default=to_jsonable``, strings through :data:`_ENCODED_STRINGS`.
def _make_chunk_encoder() -> Any:
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return None
    try:  # an interpreter whose accelerator takes other arguments falls back to the json module's encoder
        return make(None, to_jsonable, _ENCODED_STRINGS.__getitem__, None, ":", ",", False, False, False)
    except TypeError:
        return None


_encode_chunks = _make_chunk_encoder()


def _encode_request(fields: Mapping[str, Any]) -> bytes:
    try:
        if _encode_chunks is not None:
            return "".join(_encode_chunks(fields, 0)).encode("ascii")
        return _REQUEST_ENCODER.encode(fields).encode("utf-8")
    except RecursionError:  # a cycle (ValueError: Circular reference detected), or nesting too deep
        return _CHECKING_ENCODER.encode(fields).encode("utf-8")


def request_json(fields: Mapping[str, Any]) -> bytes:
    """A request body as UTF-8 JSON; InvalidArgumentError names a field that cannot be sent."""
    fields = mock_fields(fields)
    try:
        return _encode_request(fields)
    except UnicodeEncodeError as exc:
        bad = next((name for name, value in fields.items() if not _encodes(value)), "request")
        raise InvalidArgumentError(f"llmux: {bad}: not valid Unicode text (lone surrogate "
                                   f"{exc.object[exc.start:exc.end]!r}); cannot be sent as UTF-8",
                                   kind=Status.INVALID_ARGUMENT) from exc
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentError(f"llmux: {_first_unserialisable(fields)}: cannot be sent as JSON: {exc}",
                                   kind=Status.INVALID_ARGUMENT) from exc


def _encodes(value: Any) -> bool:
    try:
        json.dumps(value, ensure_ascii=False, default=to_jsonable).encode("utf-8")
    except (TypeError, ValueError):  # UnicodeEncodeError is a ValueError
        return False
    return True
