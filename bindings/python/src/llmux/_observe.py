"""LiteLLM-style logging callbacks and llmux's routing events, run on the caller's side.

Callbacks run on the thread or event loop that consumes a call's outcome, after the call ended and
before its result is returned or its error raised — never on the router's I/O thread, so a raising
callback cannot break a call. Their kwargs are built from the call's router metadata (the
``_llmux`` object of its response or error), so they cost nothing when none is registered.

``Router(on_event=fn)`` switches on the library's event callback for that router: each routing
event (success, failure, retry, fallback, cooldown, recovered) is queued with its call on the I/O
thread and travels to the consumer inside the call's :class:`~llmux._ffi.Outcome`; ``fn`` gets them
there, as dicts, in order (the call's success or failure last). That crossing costs a Python
callback per event on the I/O thread, which is why it is opt-in.

Registered as in LiteLLM, module-wide (``llmux.callbacks``, ``llmux.success_callback``,
``llmux.failure_callback``; read at each call, so they may be set before or after the Router is
made) or per router (``Router(callbacks=[...])``):

- a function ``fn(kwargs, completion_response, start_time, end_time)`` — in ``success_callback``
  it runs on success, in ``failure_callback`` on failure (``completion_response`` is then None and
  ``kwargs["exception"]`` holds the exception), in ``callbacks`` on both. A coroutine function runs
  for ``acompletion``/``aembedding`` only (awaited);
- an object with LiteLLM's ``CustomLogger`` methods: ``log_success_event`` / ``log_failure_event``
  for sync calls, ``async_log_success_event`` / ``async_log_failure_event`` (awaited) for async ones
  — the same four-argument signature;
- :class:`llmux.OpenTelemetry` (or the string ``"otel"``, LiteLLM's name: the same on the global tracer
  provider): one OpenTelemetry span per call and a child span per attempt, made from the router
  metadata directly (no LiteLLM kwargs are built for it), under the context current at the call's start
  (taken at the start for streams, which may end elsewhere; a non-stream call ends on the thread or task
  that started it). See :mod:`llmux.otel`. Without opentelemetry-api, ``"otel"`` is skipped with one
  :class:`~llmux.LiteLLMCompatibilityWarning` naming ``pip install 'llmux-router[otel]'``;
- another string (a LiteLLM integration such as ``"langfuse"``): not available in llmux; skipped with a
  :class:`~llmux.LiteLLMCompatibilityWarning`.

``kwargs`` holds what LiteLLM's does for routing: ``model``, ``messages`` / ``input``, ``stream``,
``call_type``, ``litellm_call_id``, ``response_cost``, ``litellm_params`` (``metadata`` with
``model_group``, ``deployment``, ``model_info.id``, ``api_base`` and the request's own metadata;
``model_info``; ``api_base``; ``custom_llm_provider``), ``model_info``, ``exception`` /
``traceback_exception`` on failure, ``standard_logging_object`` (``model_id``, ``model_group``,
``response_cost``, ``status``, token counts, ...), and ``llmux`` (``attempts``, ``retries``,
``fallbacks``, ``attempt_log``, and ``events``: the call's routing events as dicts when the router
has ``on_event``, else empty).

An exception a callback raises is logged (logger ``llmux``) and does not change the call's result.
"""

from __future__ import annotations

import asyncio
import datetime
import inspect
import json
import logging
import sys
import traceback
import warnings
from typing import Any, Callable, Iterable, Mapping, Optional

from ._encode import LiteLLMCompatibilityWarning
from .otel import INSTALL_HINT, NO_PARENT, OpenTelemetry

__all__ = ["CallInfo", "Observer"]

_log = logging.getLogger("llmux")


class CallInfo:
    """What the consumer knows of a call it started (for the callbacks' kwargs). Made for every
    call, read only when a callback runs: the start is kept as ``time.time()`` (a float, not a
    datetime) until then."""

    __slots__ = ("call_type", "fields", "stream", "started", "parent")

    def __init__(self, call_type: str, fields: dict[str, Any], stream: bool, started: float) -> None:
        self.call_type = call_type  # "completion", "acompletion", "embedding", "aembedding"
        self.fields = fields  # the request's fields (model, messages / input, metadata, ...)
        self.stream = stream
        self.started = started  # time.time() at the start
        #: The OpenTelemetry context current at the start, for the call's span: set for streams only
        #: (see :meth:`Observer.start_context`); None: the context current when the call is reported
        #: (the same one: a non-stream call is reported by the thread or task that started it).
        self.parent: Any = None

    @property
    def start_time(self) -> datetime.datetime:
        """The start as ``datetime.datetime.now()`` would have said (local, naive)."""
        return datetime.datetime.fromtimestamp(self.started)


def _module_list(name: str) -> list[Any]:
    """``llmux.<name>``, then ``litellm.<name>`` when the user imported litellm (each callback once)."""
    found: list[Any] = []
    for module in ("llmux", "litellm"):
        value = getattr(sys.modules.get(module), name, None)
        if isinstance(value, (list, tuple)):
            found.extend(entry for entry in value if not any(entry is seen for seen in found))
    return found


def _module_callbacks(success: bool) -> bool:
    """Whether llmux or litellm may hold a callback for this outcome (False: none can run; a True
    is checked in full by :func:`_module_list`)."""
    name = "success_callback" if success else "failure_callback"
    for module in (sys.modules.get("llmux"), sys.modules.get("litellm")):
        if module is not None and (getattr(module, name, None) or getattr(module, "callbacks", None)):
            return True
    return False


def _attempt_error(attempt: Mapping[str, Any]) -> BaseException:
    """An exception standing for a failed attempt of the attempt log (type and status only: the
    call's own exception, with the provider's message, is the last attempt's)."""
    from . import exceptions  # the exception classes import nothing from here

    type_name = str(attempt.get("error_type") or "APIError")
    status = attempt.get("status") or None
    message = (f"llmux: attempt on deployment {attempt.get('deployment_id') or '?'} "
               f"(model group {attempt.get('model_group') or '?'}) failed: {type_name}"
               + (f" ({status})" if status else ""))
    cls = getattr(exceptions, type_name, None)
    if not (isinstance(cls, type) and issubclass(cls, exceptions.LLMuxError)):
        cls = exceptions.APIError
    try:
        return cls(message=message, status_code=status)
    except TypeError:  # a constructor of another shape
        return exceptions.APIError(message=message)


def _events(raw: Optional[list[bytes]]) -> list[dict[str, Any]]:
    out = []
    for data in raw or []:
        try:
            event = json.loads(data)
        except ValueError:
            continue
        if isinstance(event, dict):
            out.append(event)
    return out


def _kwargs(info: CallInfo, metadata: Mapping[str, Any], events: list[dict[str, Any]],
            exception: Optional[BaseException], end_time: datetime.datetime) -> dict[str, Any]:
    """LiteLLM's logging kwargs for a call that ended with this router metadata."""
    deployment_id = metadata.get("deployment_id") or None
    model_group = metadata.get("model_group") or None
    api_base = metadata.get("api_base") or None
    provider = metadata.get("provider") or None
    deployment_model = metadata.get("deployment_model") or None
    model_info = {"id": deployment_id}
    request_metadata = info.fields.get("metadata")
    usage = metadata.get("usage") or {}
    cost = float(metadata.get("response_cost") or 0.0)
    call_id = str(metadata.get("call_id", ""))
    kwargs: dict[str, Any] = {
        "model": deployment_model or info.fields.get("model"),
        "stream": info.stream,
        "call_type": info.call_type,
        "litellm_call_id": call_id,
        "response_cost": cost,
        "custom_llm_provider": provider,
        "api_base": api_base,
        "model_info": model_info,
        "start_time": info.start_time,
        "end_time": end_time,
        "litellm_params": {
            "metadata": {
                **(request_metadata if isinstance(request_metadata, dict) else {}),
                "model_group": model_group,
                "deployment": deployment_model,
                "model_info": model_info,
                "api_base": api_base,
            },
            "model_info": model_info,
            "api_base": api_base,
            "custom_llm_provider": provider,
        },
        "standard_logging_object": {
            "id": call_id,
            "call_type": info.call_type,
            "status": "success" if exception is None else "failure",
            "model": deployment_model,
            "model_id": deployment_id,
            "model_group": model_group,
            "api_base": api_base,
            "custom_llm_provider": provider,
            "response_cost": cost,
            "prompt_tokens": usage.get("prompt_tokens", 0) if exception is None else 0,
            "completion_tokens": usage.get("completion_tokens", 0) if exception is None else 0,
            "total_tokens": usage.get("total_tokens", 0) if exception is None else 0,
            "startTime": info.start_time.timestamp(),
            "endTime": end_time.timestamp(),
            "error_str": None if exception is None else str(exception),
        },
        "llmux": {
            "attempts": metadata.get("attempts", 0),
            "retries": metadata.get("retries", 0),
            "max_retries": metadata.get("max_retries", 0),
            "fallbacks": metadata.get("fallbacks", 0),
            "attempt_log": metadata.get("attempt_log", []),
            "events": events,
        },
    }
    for key in ("messages", "input"):
        if key in info.fields:
            kwargs[key] = info.fields[key]
    kwargs.update({
        "user": info.fields.get("user"),
        "optional_params": {key: value for key, value in info.fields.items()
                            if key not in ("model", "messages", "input", "metadata", "stream")},
        "input": info.fields.get("messages", info.fields.get("input")),
        "api_key": None,  # never handed out
        "original_response": "",
        "additional_args": {},
        "cache_hit": None,
        "log_event_type": "successful_api_call" if exception is None else "failed_api_call",
    })
    kwargs["litellm_params"].update({"proxy_server_request": None, "preset_cache_key": None,
                                     "stream_response": {}, "acompletion": info.call_type.startswith("a")})
    # The call's own router-level parameters, where LiteLLM's loggers read them.
    for key in _CALL_LITELLM_PARAMS:
        if key in info.fields:
            kwargs["litellm_params"][key] = info.fields[key]
    if exception is not None:
        kwargs["exception"] = exception
        kwargs["traceback_exception"] = "".join(traceback.format_exception(type(exception), exception,
                                                                           exception.__traceback__))
    return kwargs


_CALL_LITELLM_PARAMS = ("cooldown_time", "timeout", "stream_timeout", "num_retries", "max_retries")

_LOGGER_METHODS = ("log_success_event", "log_failure_event", "async_log_success_event", "async_log_failure_event",
                   "log_pre_api_call", "log_post_api_call")


def _is_function(callback: Any) -> bool:
    """A callback used as a function: a function or method, or a callable object whose class defines
    none of CustomLogger's methods (LiteLLM calls any non-CustomLogger callable; a unittest.mock
    object answers every attribute, so what its class defines decides, not hasattr)."""
    if inspect.isfunction(callback) or inspect.ismethod(callback) or inspect.isbuiltin(callback):
        return True
    if not callable(callback):
        return False
    return not any(name in vars(cls) for cls in type(callback).__mro__ for name in _LOGGER_METHODS)


def _report_callback_error(callback: Any) -> None:
    _log.exception("llmux: logging callback %r raised; the call's result is unchanged", callback)


_warned_strings: set[str] = set()

#: The callback names that mean OpenTelemetry spans on the global tracer provider (LiteLLM's name).
OTEL_CALLBACK_NAMES = frozenset({"otel"})
#: The tracer the names above stand for: empty until first needed, then [tracer] or [None] (no
#: opentelemetry-api: warned once).
_shared_tracer: list[Optional[OpenTelemetry]] = []


def _otel_tracer() -> Optional[OpenTelemetry]:
    """The tracer of the ``"otel"`` callback (the global tracer provider), or None without
    opentelemetry-api (warned once; the calls go on without spans)."""
    if not _shared_tracer:
        try:
            tracer: Optional[OpenTelemetry] = OpenTelemetry()
        except ImportError:
            tracer = None
            warnings.warn(f"llmux: callback 'otel' skipped: {INSTALL_HINT}", LiteLLMCompatibilityWarning,
                          stacklevel=5)
        _shared_tracer.append(tracer)
    return _shared_tracer[0]


def _split(entries: list[Any]) -> tuple[list[OpenTelemetry], list[Any]]:
    """The entries that make spans (each tracer once), and the others (LiteLLM-style callbacks)."""
    tracers: list[OpenTelemetry] = []
    others: list[Any] = []
    for entry in entries:
        if isinstance(entry, str) and entry in OTEL_CALLBACK_NAMES:
            entry = _otel_tracer()
            if entry is None:
                continue
        if isinstance(entry, OpenTelemetry):
            if not any(entry is seen for seen in tracers):
                tracers.append(entry)
        else:
            others.append(entry)
    return tracers, others


def current_otel_context() -> Any:
    """OpenTelemetry's current context; NO_PARENT while opentelemetry is not imported (then no
    span can be current)."""
    module = sys.modules.get("opentelemetry.context")
    return NO_PARENT if module is None else module.get_current()


def _skip_string(name: str) -> None:
    if name not in _warned_strings:
        _warned_strings.add(name)
        warnings.warn(f"llmux: callback {name!r} is a LiteLLM integration llmux does not provide; skipped",
                      LiteLLMCompatibilityWarning, stacklevel=4)


class Observer:
    """One router's callbacks: its own ``callbacks`` and ``on_event``, plus the module-wide lists."""

    def __init__(self, callbacks: Optional[Iterable[Any]], on_event: Optional[Callable[[dict[str, Any]], Any]]
                 ) -> None:
        self._callbacks = list(callbacks or [])
        self._on_event = on_event
        #: Whether the router must ask the library for its events.
        self.wants_events = on_event is not None
        for entry in self._callbacks:
            if isinstance(entry, str) and entry not in OTEL_CALLBACK_NAMES:
                _skip_string(entry)
        # "otel" is resolved now, so that a missing opentelemetry-api is told at the Router's creation.
        self._traces = bool(_split(self._callbacks)[0])

    def start_context(self) -> Any:
        """For a stream, at its start: the OpenTelemetry context its span will have for parent (it
        may be iterated anywhere), or None when no span can be made (no callback anywhere)."""
        if self._traces or _module_callbacks(True) or _module_callbacks(False):
            return current_otel_context()
        return None

    def idle(self, raw: Optional[list[bytes]], success: bool) -> bool:
        """True when nothing would run for a call's end: no events, no on_event, no callback
        anywhere (the common case, checked without building anything)."""
        return not raw and self._on_event is None and not self._callbacks and not _module_callbacks(success)

    def _all_targets(self, success: bool) -> list[Any]:
        """The callbacks for the outcome: the module's success/failure list, the module's
        ``callbacks``, the router's ``callbacks``."""
        own = _module_list("success_callback" if success else "failure_callback")
        return own + _module_list("callbacks") + self._callbacks

    def _targets(self, success: bool) -> list[Any]:
        """The LiteLLM-style callbacks for the outcome (without the OpenTelemetry tracers)."""
        return _split(self._all_targets(success))[1]

    def _prepare(self, raw: Optional[list[bytes]], info: CallInfo, metadata: Mapping[str, Any], response: Any,
                 exception: Optional[BaseException]) -> Optional[tuple[list[Any], dict[str, Any]]]:
        """Runs on_event and makes the call's spans; returns (callbacks, kwargs), or None when no
        LiteLLM-style callback is registered."""
        events = _events(raw)
        if self._on_event is not None:
            for event in events:
                try:
                    self._on_event(event)
                except Exception:
                    _report_callback_error(self._on_event)
        tracers, targets = _split(self._all_targets(exception is None))
        for tracer in tracers:
            try:
                tracer._record_call(info, metadata, response, exception)
            except Exception:
                _report_callback_error(tracer)
        if not targets:
            return None
        return targets, _kwargs(info, metadata, events, exception, datetime.datetime.now())

    def _attempts(self, info: CallInfo, metadata: Mapping[str, Any], kwargs: dict[str, Any]
                  ) -> list[tuple[dict[str, Any], Optional[BaseException]]]:
        """LiteLLM calls its loggers per attempt (each one a litellm.completion): the kwargs of
        every attempt of the attempt log, with the exception of each failed one but the last (the
        call's own outcome stands for the last)."""
        log = [entry for entry in metadata.get("attempt_log") or [] if isinstance(entry, Mapping)]
        out: list[tuple[dict[str, Any], Optional[BaseException]]] = []
        # LiteLLM's metadata["previous_models"]: one entry per failed attempt before this one
        # (exception_type, exception_string, model). LiteLLM keeps the list router-wide (the last
        # four failures of any call); here it is the call's own.
        previous_models: list[dict[str, Any]] = []
        for index, attempt in enumerate(log):
            last = index == len(log) - 1
            model_info = {"id": attempt.get("deployment_id") or None}
            attempt_kwargs = {**kwargs, "model_info": model_info,
                              "litellm_params": {**kwargs["litellm_params"], "model_info": model_info,
                                                 "metadata": {**kwargs["litellm_params"]["metadata"],
                                                              "model_group": attempt.get("model_group"),
                                                              "model_info": model_info,
                                                              "previous_models": list(previous_models)}}}
            if last:
                if previous_models:
                    kwargs["litellm_params"]["metadata"]["previous_models"] = list(previous_models)
                out.append((kwargs, None))
                continue
            error = _attempt_error(attempt)
            previous_models.append({"exception_type": type(error).__name__, "exception_string": str(error),
                                    "model": attempt.get("model_group"), "model_info": model_info})
            attempt_kwargs.update({"exception": error, "log_event_type": "failed_api_call", "response_cost": 0.0,
                                   "traceback_exception": f"{type(error).__name__}: {error}"})
            out.append((attempt_kwargs, error))
        return out

    def _api_call_hooks(self, targets: list[Any], attempt_kwargs: dict[str, Any]) -> None:
        """CustomLogger's log_pre_api_call / log_post_api_call (sync, as LiteLLM calls them)."""
        model = str(attempt_kwargs.get("model") or "")
        messages = attempt_kwargs.get("messages", attempt_kwargs.get("input"))
        for callback in targets:
            if _is_function(callback):
                continue
            for method, args in (("log_pre_api_call", (model, messages, {**attempt_kwargs,
                                                                       "log_event_type": "pre_api_call"})),
                                 ("log_post_api_call", ({**attempt_kwargs, "log_event_type": "post_api_call"}, None,
                                                        attempt_kwargs["start_time"], None))):
                hook = getattr(callback, method, None)
                if callable(hook) and not inspect.iscoroutinefunction(hook):
                    try:
                        hook(*args)
                    except Exception:
                        _report_callback_error(callback)

    def report(self, raw: Optional[list[bytes]], info: CallInfo, metadata: Mapping[str, Any], response: Any,
               exception: Optional[BaseException]) -> None:
        """Runs the sync callbacks for a call that ended (sync completion, embedding or stream)."""
        if self.idle(raw, exception is None):
            return
        prepared = self._prepare(raw, info, metadata, response, exception)
        if prepared is None:
            return
        targets, kwargs = prepared
        failure_targets = self._targets(False)
        for attempt_kwargs, error in self._attempts(info, metadata, kwargs):
            self._api_call_hooks(targets if error is None else failure_targets, attempt_kwargs)
            if error is not None:
                self._run_sync(failure_targets, "log_failure_event", attempt_kwargs, None)
        method = "log_success_event" if exception is None else "log_failure_event"
        for callback in targets:
            target = self._sync_target(callback, method)
            if target is None:
                continue
            try:
                target(kwargs, response, kwargs["start_time"], kwargs["end_time"])
            except Exception:
                _report_callback_error(callback)

    def _run_sync(self, targets: list[Any], method: str, kwargs: dict[str, Any], response: Any) -> None:
        for callback in targets:
            target = self._sync_target(callback, method)
            if target is None:
                continue
            try:
                target(kwargs, response, kwargs["start_time"], kwargs["end_time"])
            except Exception:
                _report_callback_error(callback)

    async def _run_async(self, targets: list[Any], method: str, kwargs: dict[str, Any], response: Any) -> None:
        for callback in targets:
            target = self._async_target(callback, method)
            if target is None:
                continue
            try:
                result = target(kwargs, response, kwargs["start_time"], kwargs["end_time"])
                if inspect.isawaitable(result):
                    await result
            except asyncio.CancelledError:
                raise
            except Exception:
                _report_callback_error(callback)

    async def _fallback_hooks(self, targets: list[Any], metadata: Mapping[str, Any], kwargs: dict[str, Any],
                              exception: Optional[BaseException]) -> None:
        """CustomLogger's log_success_fallback_event / log_failure_fallback_event, once per fallback
        group the call entered (LiteLLM's async fallback path)."""
        groups: list[str] = []
        for entry in metadata.get("attempt_log") or []:
            group = entry.get("model_group") if isinstance(entry, Mapping) else None
            if isinstance(group, str) and (not groups or groups[-1] != group):
                groups.append(group)
        if len(groups) < 2:
            return
        original = groups[0]
        for index, group in enumerate(groups[1:], start=1):
            served = exception is None and index == len(groups) - 1
            method = "log_success_fallback_event" if served else "log_failure_fallback_event"
            hook_kwargs = {**kwargs, "model": group,
                           "litellm_params": {**kwargs["litellm_params"],
                                              "metadata": {**kwargs["litellm_params"]["metadata"],
                                                           "model_group": group}}}
            for callback in targets:
                hook = None if _is_function(callback) else getattr(callback, method, None)
                if not callable(hook):
                    continue
                try:
                    result = hook(original_model_group=original, kwargs=hook_kwargs,
                                  original_exception=exception or _attempt_error({"model_group": original}))
                    if inspect.isawaitable(result):
                        await result
                except asyncio.CancelledError:
                    raise
                except Exception:
                    _report_callback_error(callback)

    async def areport(self, raw: Optional[list[bytes]], info: CallInfo, metadata: Mapping[str, Any],
                      response: Any, exception: Optional[BaseException]) -> None:
        """Runs the callbacks for an async call that ended: the async logger methods and coroutine
        functions are awaited, plain functions called."""
        if self.idle(raw, exception is None):
            return
        prepared = self._prepare(raw, info, metadata, response, exception)
        if prepared is None:
            return
        targets, kwargs = prepared
        failure_targets = self._targets(False)
        for attempt_kwargs, error in self._attempts(info, metadata, kwargs):
            self._api_call_hooks(targets if error is None else failure_targets, attempt_kwargs)
            if error is not None:
                await self._run_async(failure_targets, "async_log_failure_event", attempt_kwargs, None)
        await self._fallback_hooks(self._targets(True) if exception is None else failure_targets, metadata, kwargs,
                                   exception)
        method = "async_log_success_event" if exception is None else "async_log_failure_event"
        for callback in targets:
            target = self._async_target(callback, method)
            if target is None:
                continue
            try:
                result = target(kwargs, response, kwargs["start_time"], kwargs["end_time"])
                if inspect.isawaitable(result):
                    await result
            except asyncio.CancelledError:
                raise
            except Exception:
                _report_callback_error(callback)

    @staticmethod
    def _sync_target(callback: Any, method: str) -> Optional[Callable[..., Any]]:
        if isinstance(callback, str):
            _skip_string(callback)
            return None
        if _is_function(callback):
            return None if inspect.iscoroutinefunction(callback) else callback
        bound = getattr(callback, method, None)
        if callable(bound):
            return None if inspect.iscoroutinefunction(bound) else bound
        return None

    @staticmethod
    def _async_target(callback: Any, method: str) -> Optional[Callable[..., Any]]:
        if isinstance(callback, str):
            _skip_string(callback)
            return None
        if _is_function(callback):
            return callback
        bound = getattr(callback, method, None)
        if callable(bound):
            return bound
        return None
