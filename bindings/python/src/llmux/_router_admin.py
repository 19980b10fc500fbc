"""LiteLLM's Router API around routing decisions and settings: ``get_available_deployment``,
``get_model_group_usage``, ``update_settings``/``get_settings`` and the settings attributes
(``router.num_retries``, ``router.routing_strategy`` ...), over the library's pick, group usage and
settings functions. A mixin :class:`~llmux.Router` inherits."""

from __future__ import annotations

import ctypes
import json
import logging
import threading
from typing import Any, Optional, Union

from . import _ffi
from ._calls import parse_json
from ._encode import to_jsonable
from .exceptions import LLMuxInternalError

_log = logging.getLogger("llmux")

#: llmux_router_pick flags (capi/llmux.h).
PICK_SPECIFIC_DEPLOYMENT = 1
PICK_INCLUDE_SECRETS = 2

#: Settings update_settings changes at run time (what the library accepts): LiteLLM's
#: ``_allowed_settings`` plus the other Router attributes LiteLLM users assign.
UPDATABLE_SETTINGS: tuple[str, ...] = (
    "routing_strategy_args", "routing_strategy", "allowed_fails", "cooldown_time", "num_retries", "timeout",
    "max_retries", "retry_after", "fallbacks", "context_window_fallbacks", "model_group_retry_policy",
    "model_group_alias", "stream_timeout", "allowed_fails_policy", "disable_cooldowns", "retry_policy",
    "default_fallbacks", "content_policy_fallbacks", "max_fallbacks", "enable_pre_call_checks",
    "enable_tag_filtering", "tag_filtering_match_any",
)

#: What LiteLLM's ``get_settings()`` returns: its ``_allowed_settings`` plus ``retry_policy``.
_GET_SETTINGS_KEYS: tuple[str, ...] = (
    "routing_strategy_args", "routing_strategy", "allowed_fails", "cooldown_time", "num_retries", "timeout",
    "max_retries", "retry_after", "fallbacks", "context_window_fallbacks", "model_group_retry_policy",
    "retry_policy", "model_group_alias",
)

#: What LiteLLM's ``update_settings`` casts with ``int()``.
_INT_SETTINGS = frozenset({"timeout", "num_retries", "retry_after", "allowed_fails", "cooldown_time"})

_PICK_KEYS = ("metadata", "stream", "allowed_model_region")  # request_kwargs that change the pick

_declared_lock = threading.Lock()
_declared = False


def _lib() -> ctypes.CDLL:
    """The library, with this module's functions declared (once)."""
    global _declared
    lib = _ffi.library()
    if not _declared:
        with _declared_lock:
            if not _declared:
                status, handle, out = ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p)
                signatures = {
                    "llmux_router_pick": [handle, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, out, out],
                    "llmux_router_model_group_usage": [handle, ctypes.c_char_p, out, out],
                    "llmux_router_settings": [handle, out, out],
                    "llmux_router_update_settings": [handle, ctypes.c_char_p, ctypes.c_size_t, out],
                }
                for name, argtypes in signatures.items():
                    function = getattr(lib, name)
                    function.restype, function.argtypes = status, argtypes
                _declared = True
    return lib


def _fallbacks_with_default(settings: dict[str, Any]) -> list[Any]:
    """LiteLLM's ``router.fallbacks``: the rules, with default_fallbacks as a trailing ``{"*": [...]}``."""
    rules = list(settings.get("fallbacks") or [])
    default = settings.get("default_fallbacks")
    if default:
        rules.append({"*": list(default)})
    return rules


def _setting_property(name: str) -> property:
    def get(self: "RouterAdminMixin") -> Any:
        return self._setting(name)

    def set_(self: "RouterAdminMixin", value: Any) -> None:
        self._apply_settings({name: value})  # as LiteLLM's setattr: no int() cast

    return property(get, set_, doc=f"LiteLLM's ``router.{name}``: the live setting; assigning it "
                                   f"goes through :meth:`update_settings`.")


class RouterAdminMixin:
    """Routing decisions without a call, model-group usage and settings at run time."""

    # Provided by Router.
    _use: Any

    def _admin_call(self, function_name: str, *args: Any) -> Optional[str]:
        """Calls a library function with the router handle; its string out-param (None when it has none)."""
        from .router import _raise_for_status  # the Router module imports this one

        lib = _lib()
        error = ctypes.c_void_p()
        out = ctypes.c_void_p()
        with self._use() as handle:
            if function_name == "llmux_router_update_settings":
                status = lib.llmux_router_update_settings(handle, *args, ctypes.byref(error))
            else:
                status = getattr(lib, function_name)(handle, *args, ctypes.byref(out), ctypes.byref(error))
        _raise_for_status(status, error, function_name)
        return _ffi.take_string(out) if out.value else None

    def _admin_json(self, function_name: str, what: str, *args: Any) -> dict[str, Any]:
        text = self._admin_call(function_name, *args)
        value = parse_json((text or "").encode("utf-8"), what)
        if not isinstance(value, dict):
            raise LLMuxInternalError(f"llmux returned {what} that is not a JSON object")
        return value

    # ---- routing decision without a call -------------------------------------------------------

    def _pick(self, model: str, messages: Optional[list[Any]], input: Optional[Union[str, list[Any]]],
              specific_deployment: Optional[bool], request_kwargs: Optional[dict[str, Any]]) -> dict[str, Any]:
        request: dict[str, Any] = {"model": model}
        if messages is not None:
            request["messages"] = messages
        if input is not None:
            request["input"] = input
        for key in _PICK_KEYS:
            if request_kwargs and request_kwargs.get(key) is not None:
                request[key] = request_kwargs[key]
        body = json.dumps(request, default=to_jsonable).encode("utf-8")
        # LiteLLM returns the deployment as configured, credentials included.
        flags = PICK_INCLUDE_SECRETS | (PICK_SPECIFIC_DEPLOYMENT if specific_deployment else 0)
        picked = self._admin_json("llmux_router_pick", "the picked deployment", body, len(body), flags)
        deployment = picked.get("deployment")
        if not isinstance(deployment, dict):
            raise LLMuxInternalError("llmux returned a pick without its deployment")
        return deployment

    def get_available_deployment(self, model: str, messages: Optional[list[Any]] = None,
                                 input: Optional[Union[str, list[Any]]] = None,
                                 specific_deployment: Optional[bool] = False,
                                 request_kwargs: Optional[dict[str, Any]] = None) -> dict[str, Any]:
        """LiteLLM's ``get_available_deployment``: the deployment a call would be sent to first.

        The same group resolution (alias, name, wildcard), filters (cooldown, rpm/tpm, max parallel
        requests, tags in ``request_kwargs["metadata"]``, budgets, context window with pre-call checks,
        ``order``) and routing strategy as a call; nothing is sent and nothing counted.

        Args:
            model: a model group (or alias) or a deployment id; with ``specific_deployment=True`` a
                ``litellm_params.model``: the pick is among the deployments with it.
            messages, input: the prompt (optional; it matters for the context-window check).
            request_kwargs: the call's other arguments (``metadata`` with ``tags`` ...).

        Returns:
            The deployment as a model_list dict (``model_name``, ``litellm_params`` with its
            credentials, ``model_info`` with ``id``), as LiteLLM returns it.

        Raises:
            BadRequestError: no such model.
            RouterRateLimitError: every deployment is cooling down or filtered out (the message says
                why); BudgetExceededError etc. as a call would raise them.
        """
        return self._pick(model, messages, input, specific_deployment, request_kwargs)

    async def async_get_available_deployment(self, model: str, request_kwargs: Optional[dict[str, Any]] = None,
                                             messages: Optional[list[Any]] = None,
                                             input: Optional[Union[str, list[Any]]] = None,
                                             specific_deployment: Optional[bool] = False) -> dict[str, Any]:
        """:meth:`get_available_deployment` for asyncio (LiteLLM's argument order). The decision is
        made on the router's I/O thread in microseconds, so it runs inline."""
        return self._pick(model, messages, input, specific_deployment, request_kwargs)

    # ---- model-group usage -----------------------------------------------------------------------

    def _group_usage(self, model_group: str) -> Optional[dict[str, Any]]:
        from .exceptions import NotFoundError

        group = model_group.encode("utf-8")
        try:
            return self._admin_json("llmux_router_model_group_usage", "the model group usage", group)
        except NotFoundError:
            return None

    async def get_model_group_usage(self, model_group: str) -> tuple[Optional[int], Optional[int]]:
        """LiteLLM's ``get_model_group_usage``: ``(tpm, rpm)`` used this minute by the group's
        deployments (fleet-wide with Redis); as in LiteLLM, ``None`` for a count nothing was
        recorded in this minute, and ``(None, None)`` for an unknown group."""
        usage = self._group_usage(model_group)
        if usage is None:
            return None, None
        return int(usage["tpm"]) or None, int(usage["rpm"]) or None

    async def get_remaining_model_group_usage(self, model_group: str) -> dict[str, int]:
        """LiteLLM's ``get_remaining_model_group_usage``: ``x-ratelimit-remaining-tokens`` /
        ``-requests`` and ``x-ratelimit-limit-tokens`` / ``-requests`` for the limits the group's
        deployments set (tpm/rpm summed); ``{}`` when it has none or is unknown."""
        usage = self._group_usage(model_group)
        if usage is None:
            return {}
        headers = usage.get("headers") or {}
        return {str(key): int(value) for key, value in headers.items()}

    # ---- settings --------------------------------------------------------------------------------

    def _live_settings(self) -> dict[str, Any]:
        return self._admin_json("llmux_router_settings", "the router settings")

    def _setting(self, name: str) -> Any:
        settings = self._live_settings()
        if name == "fallbacks":
            return _fallbacks_with_default(settings)
        return settings.get(name)

    def get_settings(self) -> dict[str, Any]:
        """LiteLLM's ``get_settings``: the settings LiteLLM's ``update_settings`` changes, plus
        ``retry_policy``; ``fallbacks`` ends with ``{"*": default_fallbacks}`` when those are set."""
        settings = self._live_settings()
        out = {key: settings.get(key) for key in _GET_SETTINGS_KEYS}
        out["fallbacks"] = _fallbacks_with_default(settings)
        return out

    def update_settings(self, **kwargs: Any) -> None:
        """LiteLLM's ``update_settings``: changes the given settings at once, all or nothing.

        Keys LiteLLM's ``update_settings`` does not allow either are ignored (logged at debug
        level), as LiteLLM does. Calls in flight keep the settings they started with.

        Raises:
            InvalidArgumentError: a value the router rejects (the message names the key); nothing
                changed then.
        """
        update = {}
        for key, value in kwargs.items():
            if key not in UPDATABLE_SETTINGS:
                _log.debug("llmux: update_settings: setting %s is not allowed", key)
                continue
            if key in _INT_SETTINGS and value is not None and not isinstance(value, bool):
                try:
                    value = int(value)  # LiteLLM's update_settings casts these (a 0.5 s cooldown becomes 0)
                except (TypeError, ValueError):
                    pass  # the library rejects it, naming the key
            update[key] = value
        self._apply_settings(update)

    def _apply_settings(self, update: dict[str, Any]) -> None:
        if not update:
            return
        body = json.dumps(update, default=to_jsonable).encode("utf-8")
        self._admin_call("llmux_router_update_settings", body, len(body))
        if "model_group_alias" in update:
            self._remember_alias_order(update["model_group_alias"])

    def _remember_alias_order(self, aliases: Any) -> None:
        """The order aliases were given in (the library keeps them sorted; LiteLLM lists them in
        the order of its dict)."""
        self._alias_order = list(aliases) if isinstance(aliases, dict) else []

    # Settable attributes mirroring LiteLLM's Router (reads are live; assignment updates).
    num_retries = _setting_property("num_retries")
    allowed_fails = _setting_property("allowed_fails")
    routing_strategy = _setting_property("routing_strategy")
    routing_strategy_args = _setting_property("routing_strategy_args")
    cooldown_time = _setting_property("cooldown_time")
    timeout = _setting_property("timeout")
    stream_timeout = _setting_property("stream_timeout")
    retry_after = _setting_property("retry_after")
    max_fallbacks = _setting_property("max_fallbacks")
    fallbacks = _setting_property("fallbacks")
    context_window_fallbacks = _setting_property("context_window_fallbacks")
    content_policy_fallbacks = _setting_property("content_policy_fallbacks")
    default_fallbacks = _setting_property("default_fallbacks")
    retry_policy = _setting_property("retry_policy")
    allowed_fails_policy = _setting_property("allowed_fails_policy")
    model_group_retry_policy = _setting_property("model_group_retry_policy")
    enable_pre_call_checks = _setting_property("enable_pre_call_checks")
    disable_cooldowns = _setting_property("disable_cooldowns")
    enable_tag_filtering = _setting_property("enable_tag_filtering")
    model_group_alias = _setting_property("model_group_alias")

    @property
    def _model_group_alias(self) -> dict[str, Any]:
        """The live ``model_group_alias`` (get_model_list and friends read it)."""
        if getattr(self, "_handle", None) is None:
            return {}
        live = dict(self._live_settings().get("model_group_alias") or {})
        order = [alias for alias in getattr(self, "_alias_order", ()) if alias in live]
        return {alias: live[alias] for alias in order + [a for a in live if a not in order]}
