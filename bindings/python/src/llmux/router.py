"""``llmux.Router``: a drop-in for the common use of ``litellm.Router``, backed by libllmux."""

from __future__ import annotations

import asyncio
import atexit
import ctypes
import json
import logging
import os
import re
import threading
import time
import warnings
import weakref
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Literal, Mapping, Optional, TypeVar, Union, overload

from . import _ffi, _queue
from ._calls import (AsyncStreamChannel, BlockingCall, FutureCall, StreamChannel, hidden_from_text, parse_json,
                     split_response_lazily)
from ._encode import LiteLLMCompatibilityWarning, config_json, deployment_json, request_json
from ._endpoints import ENDPOINT_KINDS, EndpointsMixin
from ._ffi import LogLevel, Outcome, PendingCall, Status
from ._module_settings import apply_module_settings
from ._model_info import ModelInfoMixin
from ._model_list import ModelListMirror, alias_target, make_deployment
from ._policy_api import PolicyApiMixin
from ._observe import CallInfo, Observer
from ._router_admin import RouterAdminMixin
from .exceptions import (
    InvalidArgumentError,
    InvalidConfigError,
    LLMuxError,
    LLMuxInternalError,
    NotFoundError,
    error_from_detail,
    error_from_status,
)
from .streaming import AsyncCompletionStream, CompletionStream
from .types import DeploymentHealth, EmbeddingResponse, HealthReport, ModelResponse, _WithHiddenParams

__all__ = ["Router"]

#: A config given to :meth:`Router.from_config`: a file path, or the YAML/JSON text itself.
ConfigSource = Union[str, bytes, "os.PathLike[str]"]

_COMPLETION = "completion"
_STREAM = "stream"
_EMBEDDING = "embedding"
_CONFIG_SUFFIXES = (".yaml", ".yml", ".json")
#: Call kinds → llmux_endpoint, for the calls that go through a completion queue.
_QUEUE_ENDPOINTS: dict[str, int] = {_COMPLETION: 0, _EMBEDDING: 1, **ENDPOINT_KINDS}
#: Whether the library has completion queues (set when the first router is made).
_HAS_QUEUES = [False]


_log = logging.getLogger("llmux")
_LOG_LEVELS = {LogLevel.DEBUG: logging.DEBUG, LogLevel.INFO: logging.INFO, LogLevel.WARN: logging.WARNING,
               LogLevel.ERROR: logging.ERROR}

#: Callbacks of a Router: see llmux._observe (LiteLLM's function and CustomLogger forms).
Callbacks = Optional[Iterable[Any]]
EventHook = Optional[Callable[[dict[str, Any]], Any]]


class _RouterSink(_ffi.RouterSink):
    """One router's log: while the router is being made (on the creating thread) messages are
    kept, to become warnings there; afterwards they go to the ``llmux`` logger."""

    def __init__(self) -> None:
        super().__init__()
        self.creating: Optional[list[tuple[int, str]]] = []

    def on_log(self, level: int, message: str) -> None:
        if self.creating is not None:
            self.creating.append((level, message))
        else:
            _log.log(_LOG_LEVELS.get(level, logging.WARNING), "llmux: %s", message)


def _raise_for_status(status: int, error: ctypes.c_void_p, what: str) -> None:
    """Raises the exception for a failed synchronous library function (and frees its error)."""
    if status == Status.OK:
        return
    try:
        if error.value:
            raise error_from_detail(_ffi.ErrorDetail.read(error.value))
        raise error_from_status(status, f"llmux: {what} failed")
    finally:
        _ffi.library().llmux_error_free(error)


class Router(ModelInfoMixin, RouterAdminMixin, PolicyApiMixin, EndpointsMixin):
    """Routes LLM calls across deployments, with LiteLLM's Router arguments and call signatures.

    ``Router(model_list=[...], **router_settings)`` takes LiteLLM's constructor arguments
    (``routing_strategy``, ``num_retries``, ``fallbacks``, ``timeout``, ...; see the README for what
    each does in llmux). LiteLLM arguments llmux does not implement are accepted with a
    :class:`~llmux.LiteLLMCompatibilityWarning`; unknown ones are a TypeError; a bad value is an
    :class:`~llmux.InvalidConfigError` naming it. :meth:`from_config` reads a LiteLLM
    ``config.yaml`` (or JSON) instead.

    Every method may be called from any thread; ``acompletion``/``aembedding`` never block the
    event loop. The router owns one native I/O thread: :meth:`close` it (or use ``with``) to stop
    it and cancel what is still in flight; it is also closed when garbage-collected and at exit.
    """

    def __init__(
        self,
        model_list: Optional[list[Any]] = None,
        *,
        routing_strategy: Optional[str] = None,
        routing_strategy_args: Optional[dict[str, Any]] = None,
        num_retries: Optional[int] = None,
        max_fallbacks: Optional[int] = None,
        timeout: Optional[float] = None,
        stream_timeout: Optional[float] = None,
        retry_after: Optional[float] = None,
        allowed_fails: Optional[int] = None,
        allowed_fails_policy: Optional[Any] = None,
        cooldown_time: Optional[float] = None,
        disable_cooldowns: Optional[bool] = None,
        retry_policy: Optional[Any] = None,
        model_group_retry_policy: Optional[dict[str, Any]] = None,
        fallbacks: Optional[list[dict[str, list[str]]]] = None,
        default_fallbacks: Optional[list[str]] = None,
        context_window_fallbacks: Optional[list[dict[str, list[str]]]] = None,
        content_policy_fallbacks: Optional[list[dict[str, list[str]]]] = None,
        enable_pre_call_checks: Optional[bool] = None,
        enable_tag_filtering: Optional[bool] = None,
        tag_filtering_match_any: Optional[bool] = None,
        provider_budget_config: Optional[dict[str, Any]] = None,
        model_group_alias: Optional[dict[str, Any]] = None,
        default_max_parallel_requests: Optional[int] = None,
        redis_url: Optional[str] = None,
        redis_host: Optional[str] = None,
        redis_port: Optional[Union[int, str]] = None,
        redis_password: Optional[str] = None,
        redis_db: Optional[int] = None,
        cache_kwargs: Optional[dict[str, Any]] = None,
        redis_command_timeout: Optional[float] = None,
        redis_max_wait: Optional[float] = None,
        redis_sync_interval: Optional[float] = None,
        enable_health_check_routing: Optional[bool] = None,
        health_check_staleness_threshold: Optional[float] = None,
        health_check_ignore_transient_errors: Optional[bool] = None,
        health_check_interval: Optional[float] = None,
        background_health_checks: Optional[bool] = None,
        connect_timeout: Optional[float] = None,
        first_token_timeout: Optional[float] = None,
        stream_idle_timeout: Optional[float] = None,
        total_timeout: Optional[float] = None,
        callbacks: Callbacks = None,
        on_event: EventHook = None,
        **litellm_only: Any,
    ) -> None:
        """Builds a router.

        Args:
            model_list: LiteLLM deployments: ``{"model_name", "litellm_params", "model_info"}`` dicts.
            routing_strategy ... cache_kwargs: LiteLLM's ``Router`` arguments (None = LiteLLM's default).
                With ``redis_url`` or ``redis_host`` + ``redis_port`` the router shares its routing
                state (cooldowns, rpm/tpm, budgets, health checks) with every router on that Redis,
                in LiteLLM's keys; see the README's "Shared state (Redis)".
            redis_command_timeout, redis_max_wait, redis_sync_interval: llmux: the longest one Redis
                command may take before the connection counts as hung (s; default
                ``cache_kwargs["socket_timeout"]``, else 0.25), the longest a call waits on Redis (an
                rpm reservation near a limit or a probe lease; 0.005), and how often keys other writers
                own are re-read (0.25).
            background_health_checks: llmux: check every deployment every ``health_check_interval``
                seconds (what LiteLLM's proxy does with ``general_settings.background_health_checks``).
            connect_timeout, first_token_timeout, stream_idle_timeout, total_timeout: llmux's
                deadlines (seconds).
            callbacks: logging callbacks of this router, in LiteLLM's forms (functions
                ``fn(kwargs, completion_response, start_time, end_time)`` or ``CustomLogger``-like
                objects); they run with the module-wide ``llmux.callbacks``,
                ``llmux.success_callback`` and ``llmux.failure_callback``.
            on_event: receives every routing event (success, failure, retry, fallback, cooldown,
                recovered) as a dict.
            **litellm_only: other LiteLLM ``Router`` arguments (caching, alerting, ...): accepted with a
                warning, not used.

        Config warnings of the library (keys it ignores, ...) are issued as
        :class:`~llmux.LiteLLMCompatibilityWarning` from this call. Callbacks run on the thread (or
        event loop) that made the call, after it ended and before it returns; see the README.

        Raises:
            InvalidConfigError: a value llmux rejects (the message names it).
            TypeError: an argument LiteLLM's Router does not have either.
            LibraryNotFoundError: libllmux could not be found or loaded.
        """
        arguments = dict(locals())
        settings = {key: value for key, value in arguments.items()
                    if key not in ("self", "model_list", "litellm_only", "callbacks", "on_event")}
        settings = apply_module_settings(settings)
        self._open(config_json(model_list, settings, litellm_only).encode("utf-8"), callbacks, on_event)
        self._remember_alias_order(model_group_alias)
        self._mirror.record(model_list or [], self._library_deployments())

    @classmethod
    def from_config(cls, config: ConfigSource, *, callbacks: Callbacks = None, on_event: EventHook = None
                    ) -> "Router":
        """A router from a LiteLLM config (``model_list``, ``router_settings``, ``litellm_settings``).

        Args:
            config: a path (``str`` or ``os.PathLike``) to a YAML or JSON file, or the config text
                itself (``str`` or ``bytes``). A one-line ``str`` naming an existing file is a path;
                a ``.yaml``/``.yml``/``.json`` name that does not exist is a FileNotFoundError.
            callbacks, on_event: as for the constructor.
        """
        router = cls.__new__(cls)
        text = _config_text(config)
        router._open(text, callbacks, on_event)
        return router

    # ---- lifetime ----------------------------------------------------------------------------

    def _open(self, config: bytes, callbacks: Callbacks, on_event: EventHook) -> None:
        self._lock = threading.Lock()  # guards _handle and _users (a C-level `with`, cheaper than the Condition's)
        self._state = threading.Condition(self._lock)
        self._handle: Optional[int] = None
        self._users = 0  # threads inside a library function with the handle (close waits for them)
        self._observer = Observer(callbacks, on_event)
        self._mirror = ModelListMirror()
        lib = _ffi.library()
        _HAS_QUEUES[0] = _ffi.has_queues()
        sink = _RouterSink()
        options = _ffi.RouterOptions(log=_ffi.LOG_CALLBACK, log_user_data=sink.key)
        if self._observer.wants_events:  # opt-in: an event costs a Python callback on the I/O thread
            options.on_event, options.event_user_data = _ffi.EVENT_CALLBACK, sink.key
        handle = ctypes.c_void_p()
        error = ctypes.c_void_p()
        try:
            status = lib.llmux_router_new_with_options(config, len(config), ctypes.byref(options),
                                                       ctypes.byref(handle), ctypes.byref(error))
        finally:
            messages, sink.creating = sink.creating or [], None
            if not handle.value:
                sink.unregister()
        for level, message in messages:  # from the creating thread, pointing at the caller
            if level >= LogLevel.WARN:
                warnings.warn(f"llmux: {message}", LiteLLMCompatibilityWarning, stacklevel=3)
            else:
                _log.log(_LOG_LEVELS.get(level, logging.INFO), "llmux: %s", message)
        _raise_for_status(status, error, "llmux_router_new")
        self._sink = sink
        self._handle = handle.value
        _live_routers.add(self)
        for text in list(_registered_models):  # llmux.register_model before this router existed
            self._register_model_text(text)

    def _acquire(self) -> int:
        """The native handle, kept valid (not freed by a concurrent close) until :meth:`_release`."""
        with self._lock:
            handle = self._handle
            if handle is None:
                raise InvalidArgumentError("llmux: the router is closed", kind=Status.INVALID_ARGUMENT)
            self._users += 1
        return handle

    def _release(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users == 0 and self._handle is None:  # close() waits for the last user
                self._state.notify_all()

    @contextmanager
    def _use(self) -> Iterator[int]:
        """The native handle, kept valid (not freed by a concurrent close) while the block runs."""
        handle = self._acquire()
        try:
            yield handle
        finally:
            self._release()

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return getattr(self, "_handle", None) is None

    def close(self) -> None:
        """Cancels the calls in flight (they fail with :class:`~llmux.CallCancelledError`), stops the
        I/O thread and frees the router. Idempotent; later calls raise InvalidArgumentError."""
        state = getattr(self, "_state", None)
        if state is None:  # construction failed before the router existed
            return
        with state:
            handle, self._handle = self._handle, None
        if handle is None:
            return
        if _ffi.in_callback():
            # Garbage collection can run this on the router's own I/O thread, which cannot free
            # its router; another thread does it.
            threading.Thread(target=self._free, args=(handle,), name="llmux-router-close").start()
        else:
            self._free(handle)

    def _free(self, handle: int) -> None:
        with self._state:
            while self._users:
                self._state.wait()
        _ffi.library().llmux_router_free(handle)
        self._sink.unregister()  # no callback can come any more

    def __enter__(self) -> "Router":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # never raise from a finaliser (e.g. at interpreter exit)
            pass

    def __repr__(self) -> str:
        return f"<llmux.Router {'closed' if self.closed else 'open'}>"

    # ---- starting calls ----------------------------------------------------------------------

    def _start(self, kind: str, body: bytes, call: PendingCall) -> int:
        """Starts a call (completion, stream or embedding) whose chunks and outcome go to ``call``;
        returns its id (for llmux_cancel)."""
        lib = _ffi.library()
        key = _ffi.register(call)
        call_id = ctypes.c_uint64()
        try:
            with self._use() as handle:
                if kind == _STREAM:
                    status = lib.llmux_completion_stream(handle, body, len(body), _ffi.CHUNK_CALLBACK,
                                                         _ffi.DONE_CALLBACK, key, ctypes.byref(call_id))
                elif kind in ENDPOINT_KINDS:
                    status = lib.llmux_call_async(handle, ENDPOINT_KINDS[kind], body, len(body), _ffi.DONE_CALLBACK,
                                                  key, ctypes.byref(call_id))
                else:
                    start = lib.llmux_completion_async if kind == _COMPLETION else lib.llmux_embedding_async
                    status = start(handle, body, len(body), _ffi.DONE_CALLBACK, key, ctypes.byref(call_id))
            if status == Status.OK:
                return call_id.value
        except BaseException:
            # An interrupt (KeyboardInterrupt from a signal handler) can land after the library took
            # the call, e.g. while leaving _use(): cancel it, or it stays in flight with no waiter.
            if call_id.value:
                self._cancel(call_id.value)  # its done callback still comes, and drops the key
            else:
                _ffi.unregister(key)
            raise
        _ffi.unregister(key)  # refused before taking the request: no callback will come
        raise error_from_status(status, f"llmux: the {kind} request was refused")

    def _cancel(self, call_id: int) -> bool:
        """Cancels a call in flight; False when it already finished (or the router is closed)."""
        try:
            with self._use() as handle:
                return int(_ffi.library().llmux_cancel(handle, call_id)) == Status.OK
        except InvalidArgumentError:
            return False  # closed: closing cancelled every call

    def _queued(self, kind: str) -> Optional[int]:
        """The ``llmux_endpoint`` of a call that may go through a completion queue (llmux._queue),
        or None when it takes the callback path: a router reporting events (they travel with the
        done callback), a call from one of the router's callbacks, or a library without queues."""
        if self._observer.wants_events or not _HAS_QUEUES[0] or _ffi.in_callback():
            return None
        return _QUEUE_ENDPOINTS.get(kind)

    def _blocking(self, kind: str, body: bytes) -> Outcome:
        endpoint = self._queued(kind)
        if endpoint is not None:
            return _queue.blocking_call(self, endpoint, kind, body)
        call = BlockingCall()
        call_id = self._start(kind, body, call)
        try:  # entered with no check for signals in between: an interrupt from here on cancels
            return call.wait()
        except BaseException:
            self._cancel(call_id)
            raise

    async def _awaited(self, kind: str, body: bytes) -> Outcome:
        loop = asyncio.get_running_loop()
        endpoint = self._queued(kind)
        queue = _queue.loop_queue(loop) if endpoint is not None else None
        if queue is not None:
            future, call_id = queue.submit(self, loop, endpoint, kind, body)  # type: ignore[arg-type]
        else:
            call = FutureCall(loop)
            call_id = self._start(kind, body, call)
            future = call.future
        try:
            return await future
        except asyncio.CancelledError:
            self._cancel(call_id)
            raise

    def _report(self, call_type: str, request: dict[str, Any], stream: bool) -> "CallReport":
        info = CallInfo(call_type, request, stream, time.time())
        if stream:  # may end in another thread or task: its span's parent is taken now
            info.parent = self._observer.start_context()
        return CallReport(self._observer, info)

    # ---- completions -------------------------------------------------------------------------

    @overload
    def completion(self, model: str, messages: list[Any], stream: Literal[False] = ..., **kwargs: Any
                   ) -> ModelResponse: ...

    @overload
    def completion(self, model: str, messages: list[Any], stream: Literal[True], **kwargs: Any
                   ) -> CompletionStream: ...

    def completion(self, model: str, messages: list[Any], stream: bool = False, **kwargs: Any
                   ) -> Union[ModelResponse, CompletionStream]:
        """A chat completion, routed with retries and fallbacks; blocks until it is done.

        Args:
            model: a model group (``model_name``), alias, deployment id or wildcard match.
            messages: the chat messages (dicts or objects with ``model_dump()``).
            stream: True for a :class:`~llmux.CompletionStream` of chunks (returned at the first chunk).
            **kwargs: the rest of the OpenAI request body (``temperature``, ``max_tokens``, ``tools``,
                ``stream_options``, ...) and LiteLLM's per-request router keys (``num_retries``,
                ``fallbacks``, ``timeout``, ``metadata``, ``mock_response``, ...).

        Returns:
            A :class:`~llmux.ModelResponse` (router metadata in ``_hidden_params``), or the stream.

        Raises:
            LLMuxError: the subclass for the failure (RateLimitError, Timeout, ...).
        """
        request = {"model": model, "messages": messages, **({"stream": True} if stream else {}), **kwargs}
        body = request_json(request)
        report = self._report("completion", request, stream)
        if stream:
            channel = StreamChannel()
            call_id = self._start(_STREAM, body, channel)
            return CompletionStream(channel, lambda: self._cancel(call_id), report)._start()
        return report.finish(self._blocking(_COMPLETION, body), ModelResponse, "a completion")

    @overload
    async def acompletion(self, model: str, messages: list[Any], stream: Literal[False] = ..., **kwargs: Any
                          ) -> ModelResponse: ...

    @overload
    async def acompletion(self, model: str, messages: list[Any], stream: Literal[True], **kwargs: Any
                          ) -> AsyncCompletionStream: ...

    async def acompletion(self, model: str, messages: list[Any], stream: bool = False, **kwargs: Any
                          ) -> Union[ModelResponse, AsyncCompletionStream]:
        """:meth:`completion` for asyncio: the event loop is never blocked; cancelling the awaiting
        task cancels the call. ``stream=True`` gives an :class:`~llmux.AsyncCompletionStream`."""
        request = {"model": model, "messages": messages, **({"stream": True} if stream else {}), **kwargs}
        body = request_json(request)
        report = self._report("acompletion", request, stream)
        if stream:
            channel = AsyncStreamChannel(asyncio.get_running_loop())
            call_id = self._start(_STREAM, body, channel)
            return await AsyncCompletionStream(channel, lambda: self._cancel(call_id), report)._start()
        return await report.afinish(await self._awaited(_COMPLETION, body), ModelResponse, "a completion")

    # ---- embeddings --------------------------------------------------------------------------

    def embedding(self, model: str, input: Union[str, list[Any]], **kwargs: Any) -> EmbeddingResponse:
        """Embeddings (OpenAI ``/embeddings``), routed like completions; blocks until done.

        Args:
            model: the model group.
            input: a string or a list of strings (or token lists).
            **kwargs: the rest of the request body and per-request router keys.
        """
        request = {"model": model, "input": input, **kwargs}
        body = request_json(request)
        report = self._report("embedding", request, False)
        return report.finish(self._blocking(_EMBEDDING, body), EmbeddingResponse, "an embedding")

    async def aembedding(self, model: str, input: Union[str, list[Any]], **kwargs: Any
                         ) -> EmbeddingResponse:
        """:meth:`embedding` for asyncio (never blocks the loop; cancelling the task cancels the call)."""
        request = {"model": model, "input": input, **kwargs}
        body = request_json(request)
        report = self._report("aembedding", request, False)
        return await report.afinish(await self._awaited(_EMBEDDING, body), EmbeddingResponse, "an embedding")

    # ---- deployments, health, metrics --------------------------------------------------------

    def _read_text(self, function_name: str, *args: Any) -> str:
        """Calls a library function that returns a string out-param, with error handling."""
        lib = _ffi.library()
        out = ctypes.c_void_p()
        error = ctypes.c_void_p()
        with self._use() as handle:
            status = getattr(lib, function_name)(handle, *args, ctypes.byref(out), ctypes.byref(error))
        _raise_for_status(status, error, function_name)
        return _ffi.take_string(out)

    def _read_json_array(self, function_name: str, what: str, *args: Any) -> list[dict[str, Any]]:
        """Calls a library function that returns a JSON array of objects."""
        entries = parse_json(self._read_text(function_name, *args).encode("utf-8"), what)
        if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
            raise LLMuxInternalError(f"llmux returned {what} that is not a JSON array of objects")
        return entries

    def _library_deployments(self) -> list[dict[str, Any]]:
        """The deployments as the library lists them (secrets as ``"***"``), in model_list order."""
        return self._read_json_array("llmux_router_deployments", "the deployments")

    @property
    def model_list(self) -> list[dict[str, Any]]:
        """The deployments as model_list entries (LiteLLM's ``router.model_list``; no alias
        entries), with the values this router was given, ``api_key`` included, as LiteLLM keeps
        them. A router made by :meth:`from_config` knows only the library's view: secrets there
        are ``"***"``."""
        return self._entries()

    def register_model(self, model_cost: Union[dict[str, Any], str]) -> None:
        """Registers model prices and limits on this router (LiteLLM's ``litellm.register_model``).

        ``model_cost`` maps model keys to entries of LiteLLM's model map (``input_cost_per_token``,
        ``output_cost_per_token``, ``max_input_tokens``, ``litellm_provider`` ...), as a dict or its
        JSON text. Deployments without prices or ``max_input_tokens`` of their own route and bill by
        them from the next call on. (LiteLLM also takes a URL; llmux fetches nothing.)

        Raises:
            InvalidConfigError: malformed, or a field of the wrong type (nothing is registered).
        """
        self._register_model_text(_model_cost_json(model_cost))

    def _register_model_text(self, text: bytes) -> None:
        lib = _ffi.library()
        error = ctypes.c_void_p()
        with self._use() as handle:
            status = lib.llmux_router_register_model(handle, text, len(text), ctypes.byref(error))
        _raise_for_status(status, error, "llmux_router_register_model")

    def add_deployment(self, deployment: Any) -> None:
        """Adds a deployment (a model_list entry: dict, LiteLLM ``Deployment`` or YAML/JSON text).

        Raises:
            InvalidConfigError: the entry is invalid (the message names the key).
        """
        self._add(deployment_json(deployment))
        if not isinstance(deployment, str):
            self._mirror.record([deployment], self._library_deployments()[-1:])

    def _add(self, text: bytes) -> None:
        lib = _ffi.library()
        error = ctypes.c_void_p()
        with self._use() as handle:
            status = lib.llmux_router_add_deployment(handle, text, len(text), ctypes.byref(error))
        _raise_for_status(status, error, "llmux_router_add_deployment")

    def delete_deployment(self, id: str) -> Optional[dict[str, Any]]:  # LiteLLM's name
        """Removes a deployment by id (calls in flight on it finish normally).

        Returns:
            The removed deployment's model_list entry (secrets redacted), or None when no deployment
            has that id (as LiteLLM).
        """
        removed = next((entry for entry in self._library_deployments()
                        if str((entry.get("model_info") or {}).get("id", "")) == id), None)
        try:
            self._remove(id)
        except NotFoundError:
            if removed is None:
                return None
            raise
        return removed

    def _remove(self, id: str) -> None:
        lib = _ffi.library()
        error = ctypes.c_void_p()
        with self._use() as handle:
            status = lib.llmux_router_remove_deployment(handle, id.encode("utf-8"), ctypes.byref(error))
        _raise_for_status(status, error, "llmux_router_remove_deployment")
        self._mirror.forget(id)

    def health(self, model_group: Optional[str] = None) -> list[DeploymentHealth]:
        """Each deployment's health: ``state`` (healthy, cooling_down, half_open, probing,
        failed_health_check), ``reason``, ``status``, ``cooldown_remaining_seconds``, ``in_flight``,
        ``last_check`` (its latest active health check), ...

        Args:
            model_group: only this group's deployments (default: all).
        """
        group = (model_group or "").encode("utf-8")
        return [DeploymentHealth(entry) for entry in self._read_json_array("llmux_router_health", "the health report",
                                                                           group)]

    def health_report(self, model_group: Optional[str] = None) -> HealthReport:
        """The active health checks' latest results as LiteLLM's ``/health`` answers:
        ``healthy_endpoints``, ``unhealthy_endpoints`` (with ``error``, never a key) and
        ``unchecked_endpoints``. Sends nothing (see :meth:`check_health`).

        Args:
            model_group: only this group's deployments (default: all).
        """
        return self._read_report("llmux_router_health_report", model_group)

    def check_health(self, model_group: Optional[str] = None) -> HealthReport:
        """Checks the deployments now (a minimal request to each: LiteLLM's ``/health``) and returns
        the report once every check ended. The results count for routing like background ones
        (``enable_health_check_routing``). Blocks; from a router callback it raises
        InvalidArgumentError (see :meth:`acheck_health`).

        Args:
            model_group: only this group's deployments (default: all).
        """
        return self._read_report("llmux_router_check_health", model_group)

    async def acheck_health(self, model_group: Optional[str] = None) -> HealthReport:
        """:meth:`check_health` without blocking the event loop (it waits in a worker thread)."""
        return await asyncio.to_thread(self.check_health, model_group)

    def _read_report(self, function_name: str, model_group: Optional[str]) -> HealthReport:
        report = parse_json(self._read_text(function_name, (model_group or "").encode("utf-8")).encode("utf-8"),
                            "the health check report")
        if not isinstance(report, dict):
            raise LLMuxInternalError("llmux returned a health check report that is not a JSON object")
        return HealthReport(report)

    def get_cooldown_deployments(self, model_group: Optional[str] = None) -> list[str]:
        """The ids of the deployments cooling down now (LiteLLM's ``_get_cooldown_deployments``)."""
        return [entry.id for entry in self.health(model_group) if entry.state == "cooling_down"]

    def metrics(self) -> str:
        """The router's metrics in the Prometheus text exposition format."""
        return self._read_text("llmux_router_metrics")

    # ---- LiteLLM's model list API: groups, aliases, deployments, batches ------------------------
    # Answered on the Python side from the library's deployment listing, the model_list entries
    # this router was given (ModelListMirror: values as given, as LiteLLM keeps them) and
    # model_group_alias; the batch calls are acompletion calls run together.

    def _entries(self) -> list[dict[str, Any]]:
        """Every deployment as LiteLLM's model_list holds it (values as given where known)."""
        return self._mirror.entries(self._library_deployments())

    def _group_deployments(self, model_name: str, alias: Optional[str] = None,
                           entries: Optional[list[dict[str, Any]]] = None) -> list[dict[str, Any]]:
        found = [entry for entry in (entries if entries is not None else self._entries())
                 if entry.get("model_name") == model_name]
        if alias is not None:
            found = [{**entry, "model_name": alias} for entry in found]
        return found

    def get_model_list_from_model_alias(self, model_name: Optional[str] = None) -> list[dict[str, Any]]:
        """The deployments reachable through ``model_group_alias`` entries that are not hidden, each
        named by its alias (only the alias ``model_name`` when given)."""
        entries = self._entries()
        found: list[dict[str, Any]] = []
        for alias, value in self._model_group_alias.items():
            if model_name is not None and alias != model_name:
                continue
            target = alias_target(value)
            if target is None or target[1]:
                continue
            found.extend(self._group_deployments(target[0], alias, entries))
        return found

    def get_model_list(self, model_name: Optional[str] = None) -> list[dict[str, Any]]:
        """LiteLLM's ``get_model_list``: model_list entries (``model_name``, ``litellm_params``,
        ``model_info.id``) with the values this router was given (``api_key`` included, as
        LiteLLM); for a router made by :meth:`from_config`, secrets are ``"***"``.

        Args:
            model_name: a group: its deployments, plus those of a non-hidden alias of that name;
                a name only a wildcard deployment (``"openai/*"``) matches gives those deployments
                named ``model_name``. None: the non-hidden aliases' entries, then every deployment.
        """
        listed = self._entries()
        found: list[dict[str, Any]] = []
        if model_name is not None:
            found.extend(self._group_deployments(model_name, entries=listed))
        for alias, value in self._model_group_alias.items():
            target = alias_target(value)
            if (model_name is None or alias == model_name) and target is not None and not target[1]:
                found.extend(self._group_deployments(target[0], alias, listed))
        if model_name is not None and not found:
            found = [{**entry, "model_name": model_name} for entry in listed
                     if _wildcard_matches(str(entry.get("model_name", "")), model_name)]
        if model_name is None:
            found.extend(listed)
        return found

    def get_model_names(self) -> list[str]:
        """Every name a call may use: non-hidden ``model_group_alias`` names, then the model groups
        (each once, in model_list order)."""
        return list(dict.fromkeys(str(entry.get("model_name", "")) for entry in self.get_model_list()))

    def get_model_ids(self, model_name: Optional[str] = None) -> list[str]:
        """The deployment ids of group ``model_name`` (exact name), or of every deployment."""
        return [str((entry.get("model_info") or {}).get("id", "")) for entry in self._library_deployments()
                if model_name is None or entry.get("model_name") == model_name]

    def get_deployment(self, model_id: str) -> Any:
        """The deployment with this id as a LiteLLM ``Deployment`` (``.model_name``,
        ``.litellm_params.model``, ``.model_info.id``, item access, ``model_dump()``), or None.
        Its values are the ones this router was given (``os.environ/`` read), as LiteLLM's;
        a router made by :meth:`from_config` knows only the library's view (secrets ``"***"``)."""
        entry = next((entry for entry in self._entries()
                      if str((entry.get("model_info") or {}).get("id", "")) == model_id), None)
        return None if entry is None else make_deployment(entry)

    def get_deployment_by_model_group_name(self, model_group_name: str) -> Any:
        """The first deployment of this group (as :meth:`get_deployment`), or None."""
        entry = next(iter(self._group_deployments(model_group_name)), None)
        return None if entry is None else make_deployment(entry)

    def get_model_access_groups(self, model_name: Optional[str] = None,
                                model_access_group: Optional[str] = None) -> dict[str, list[str]]:
        """``model_info.access_groups`` → the model names in each (one per deployment, aliases
        included as :meth:`get_model_list` lists them); only ``model_name``'s entries when given,
        only the group ``model_access_group`` when given."""
        groups: dict[str, list[str]] = {}
        for entry in self.get_model_list(model_name):
            for group in (entry.get("model_info") or {}).get("access_groups") or []:
                if model_access_group is None or group == model_access_group:
                    groups.setdefault(group, []).append(str(entry.get("model_name", "")))
        return groups

    def set_model_list(self, model_list: list[Any]) -> None:
        """Replaces every deployment by ``model_list`` (LiteLLM's ``set_model_list``). Calls in flight
        finish on the deployments they had. An entry whose ``organization`` is a list becomes one
        deployment per organization.

        Raises:
            InvalidConfigError: an entry is invalid (the deployments added before it stay).
        """
        expanded = [part for item in model_list for part in _one_per_organization(_plain_entry(item))]
        bodies = [deployment_json(entry) for entry in expanded]  # all sendable before anything is removed
        for current in self.get_model_ids():
            try:
                self._remove(current)
            except NotFoundError:
                pass
        self._mirror.clear()
        for body in bodies:
            self._add(body)
        self._mirror.record(expanded, self._library_deployments())

    async def abatch_completion(self, models: list[str], messages: list[Any], **kwargs: Any) -> list[Any]:
        """LiteLLM's ``abatch_completion``: one request (``messages`` a list of messages) to every
        model in ``models`` → one result per model; or several requests (a list of message lists) →
        one list per request, holding each model's result. A call that fails gives its exception
        in its place (nothing is raised)."""
        if all(isinstance(message, list) for message in messages) and messages:
            per_request = await asyncio.gather(*(
                asyncio.gather(*(self._acompletion_or_error(model, request, kwargs) for model in models))
                for request in messages))
            return [list(results) for results in per_request]
        return list(await asyncio.gather(*(self._acompletion_or_error(model, messages, kwargs)
                                           for model in models)))

    async def abatch_completion_one_model_multiple_requests(self, model: str, messages: list[list[Any]],
                                                            **kwargs: Any) -> list[Any]:
        """LiteLLM's ``abatch_completion_one_model_multiple_requests``: each message list in
        ``messages`` is one request to ``model``; the results in order, a failed request's
        exception in its place."""
        return list(await asyncio.gather(*(self._acompletion_or_error(model, request, kwargs)
                                           for request in messages)))

    async def abatch_completion_fastest_response(self, model: Union[str, list[str]], messages: list[Any],
                                                 stream: bool = False, **kwargs: Any) -> Any:
        """LiteLLM's ``abatch_completion_fastest_response``: the same request to every model of
        ``model`` (comma-separated names, or a list) at once; the first success is returned (its
        ``_hidden_params["fastest_response_batch_completion"]`` is True) and the other calls are
        cancelled.

        Raises:
            Exception: "All tasks failed" when every call failed (as LiteLLM).
        """
        names = [name.strip() for name in model.split(",")] if isinstance(model, str) else list(model)
        tasks = [asyncio.ensure_future(self._acompletion_or_error(name, messages, {**kwargs, "stream": stream}))
                 for name in names]
        pending = set(tasks)
        try:
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in tasks:  # in the order given, among those that finished
                    if task in done and not isinstance(task.result(), BaseException):
                        result = task.result()
                        hidden = getattr(result, "_hidden_params", None)
                        if isinstance(hidden, dict):
                            hidden["fastest_response_batch_completion"] = True
                        return result
        finally:
            for task in pending:
                task.cancel()
        raise Exception("All tasks failed")

    async def _acompletion_or_error(self, model: str, messages: list[Any], kwargs: Mapping[str, Any]) -> Any:
        try:
            return await self.acompletion(model=model, messages=messages, **kwargs)
        except Exception as exc:  # returned in the result's place (LiteLLM's batch calls)
            return exc


_Response = TypeVar("_Response", ModelResponse, EmbeddingResponse)


def _with_hidden(response: _Response, hidden: dict[str, Any]) -> _Response:
    if isinstance(response, _WithHiddenParams):
        object.__setattr__(response, "_hidden_params", hidden)  # past the Python-level __setattr__
    else:  # LiteLLM's object
        response._hidden_params = hidden
    return response


class CallReport:
    """Turns one call's outcome into its result and runs the router's callbacks for it (on the
    consumer's thread or loop: see llmux._observe)."""

    def __init__(self, observer: Observer, info: CallInfo) -> None:
        self._observer = observer
        self._info = info

    def report(self, outcome: Outcome, metadata: dict[str, Any], response: Any,
               exception: Optional[BaseException]) -> None:
        self._observer.report(outcome.events, self._info, metadata, response, exception)

    async def areport(self, outcome: Outcome, metadata: dict[str, Any], response: Any,
                      exception: Optional[BaseException]) -> None:
        await self._observer.areport(outcome.events, self._info, metadata, response, exception)

    def _make(self, outcome: Outcome, make: type[_Response], what: str) -> tuple[_Response, Optional[dict[str, Any]]]:
        """The response of a successful outcome, and its ``_hidden_params`` for the callbacks —
        None when no callback runs: then llmux's own response types get the metadata unparsed,
        parsed only if ``_hidden_params`` is read (LiteLLM's types take a dict)."""
        fields, metadata = split_response_lazily(outcome, what)
        if type(metadata) is bytes and self._observer.idle(outcome.events, True) \
                and issubclass(make, _WithHiddenParams):
            response = make._from_json(fields, metadata)  # llmux's type: metadata parsed when read
            if isinstance(response, _WithHiddenParams):
                return response, None
        else:
            response = make(fields)
        hidden = hidden_from_text(metadata)
        return _with_hidden(response, hidden), hidden

    def finish(self, outcome: Outcome, make: type[_Response], what: str) -> _Response:
        try:
            response, hidden = self._make(outcome, make, what)
        except LLMuxError as exc:
            self.report(outcome, exc.llmux_metadata, None, exc)
            raise
        if hidden is not None:
            self.report(outcome, hidden, response, None)
        return response

    async def afinish(self, outcome: Outcome, make: type[_Response], what: str) -> _Response:
        try:
            response, hidden = self._make(outcome, make, what)
        except LLMuxError as exc:
            await self.areport(outcome, exc.llmux_metadata, None, exc)
            raise
        if hidden is not None and not self._observer.idle(outcome.events, True):  # no coroutine when nothing runs
            await self.areport(outcome, hidden, response, None)
        return response


def _wildcard_matches(pattern: str, name: str) -> bool:
    """Whether a wildcard model_name (``"*"``, ``"openai/*"``) matches a requested name."""
    if "*" not in pattern:
        return False
    return re.fullmatch(".*".join(re.escape(part) for part in pattern.split("*")), name) is not None


def _plain_entry(item: Any) -> dict[str, Any]:
    """A model_list entry as a plain dict (LiteLLM's ``Deployment`` by its ``model_dump()``)."""
    dump = getattr(item, "model_dump", None)
    entry = dump() if callable(dump) else item
    if not isinstance(entry, dict):
        raise InvalidConfigError(f"llmux: a model_list entry must be a dict, got {type(item).__name__}")
    return entry


def _one_per_organization(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """LiteLLM's set_model_list: ``organization: [a, b]`` is one deployment per organization."""
    params = entry.get("litellm_params")
    organizations = params.get("organization") if isinstance(params, dict) else None
    if not isinstance(organizations, list) or not organizations:
        return [entry]
    return [{**entry, "litellm_params": {**params, "organization": organization}} for organization in organizations]


def _config_text(config: ConfigSource) -> bytes:
    """The bytes of a config given as text or as a path."""
    if isinstance(config, bytes):
        return config
    if isinstance(config, os.PathLike):
        return Path(config).read_bytes()
    if not isinstance(config, str):
        raise TypeError(f"from_config: expected a path or the config text, got {type(config).__name__}")
    if "\n" not in config:
        path = Path(config.strip()).expanduser()
        try:
            is_file = path.is_file()
        except OSError:  # not a usable path (ENAMETOOLONG: one-line JSON config text, say)
            is_file = False
        if is_file:
            return path.read_bytes()
        if path.suffix.lower() in _CONFIG_SUFFIXES:
            raise FileNotFoundError(f"llmux: config file not found: {config}")
    return config.encode("utf-8")


# Routers still open at interpreter exit are closed first, so that no native I/O thread calls
# back into a finalising interpreter.
_live_routers: "weakref.WeakSet[Router]" = weakref.WeakSet()
#: What llmux.register_model registered, in order: applied to every router made afterwards.
_registered_models: list[bytes] = []


def _model_cost_json(model_cost: Union[dict[str, Any], str]) -> bytes:
    if isinstance(model_cost, str):
        return model_cost.encode("utf-8")
    if isinstance(model_cost, dict):
        return json.dumps(model_cost).encode("utf-8")
    raise InvalidArgumentError(f"llmux: register_model takes a dict or JSON text, got {type(model_cost).__name__}",
                               kind=Status.INVALID_ARGUMENT)


def register_model(model_cost: Union[dict[str, Any], str]) -> None:
    """LiteLLM's module-level ``litellm.register_model``: registers model prices and limits on every
    open router and on every router made afterwards (see :meth:`Router.register_model`).

    Raises:
        InvalidConfigError: malformed, or a field of the wrong type (nothing is registered).
    """
    text = _model_cost_json(model_cost)
    routers = [r for r in list(_live_routers) if not r.closed]
    if not routers:  # check it now, not at the next Router's creation
        routers = [Router.from_config('{"model_list": []}')]
        try:
            routers[0]._register_model_text(text)
        finally:
            routers[0].close()
        routers = []
    for router in routers:
        router._register_model_text(text)
    _registered_models.append(text)


@atexit.register
def _close_live_routers() -> None:
    for router in list(_live_routers):
        router.close()
