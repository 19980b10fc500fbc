"""OpenTelemetry spans for llmux calls, through the host's own OpenTelemetry SDK.

``OpenTelemetry()`` is a router callback (``Router(callbacks=[llmux.OpenTelemetry()])``, or in
``llmux.callbacks`` / ``success_callback`` / ``failure_callback``); the string ``"otel"`` there is the
same thing on the global tracer provider, as ``litellm.callbacks = ["otel"]`` is in LiteLLM. Each call
that ends (completion, stream, embedding, text completion, moderation, Responses API; sync or async)
becomes one span of kind CLIENT named ``"<operation> <model>"`` — ``chat`` (completions, responses),
``embeddings``, ``text_completion``, ``moderation`` — (GenAI semantic conventions plus ``llmux.*``
attributes), with one child span per attempt of its attempt log. Spans are made when the call has
ended, with explicit start and end times, under the context that was current when the call started
(for a stream, the one current at the ``completion(stream=True)`` call, wherever it is iterated).
A stream closed before its end is cancelled and makes no span (as no callback runs for it).

Only ``opentelemetry-api`` is needed (``pip install 'llmux-router[otel]'``); spans go wherever the
host's SDK sends them. Attributes never hold an API key or message content. This module imports
opentelemetry only when an :class:`OpenTelemetry` is made, so ``import llmux`` works without it.
"""

from __future__ import annotations

import time
from typing import Any, Mapping, Optional
from urllib.parse import urlsplit

__all__ = ["OpenTelemetry"]

#: What the ImportError says when opentelemetry-api is missing.
INSTALL_HINT = "OpenTelemetry spans need opentelemetry-api: pip install 'llmux-router[otel]'"

#: CallInfo.parent of a call that started while opentelemetry was not even imported: no span could be
#: current then, so its span is a root span wherever it ends.
NO_PARENT = object()

_DEFAULT_PORTS = {"http": 80, "https": 443}

#: gen_ai.operation.name of each call type: the semantic conventions' names ("chat" for completions and
#: the Responses API); moderation has none there.
_OPERATIONS = {"completion": "chat", "acompletion": "chat", "responses": "chat", "aresponses": "chat",
               "embedding": "embeddings", "aembedding": "embeddings", "text_completion": "text_completion",
               "atext_completion": "text_completion", "moderation": "moderation", "amoderation": "moderation"}


class OpenTelemetry:
    """Makes an OpenTelemetry span for each llmux call and one child span per attempt.

    Args:
        tracer_provider: the ``TracerProvider`` to use; default: the global one (set with
            ``opentelemetry.trace.set_tracer_provider``, also when set after this object was made:
            its spans go to it from then on).

    Raises:
        ImportError: opentelemetry-api is not installed (the message says how to install it).

    Thread safety: one object may serve any number of routers, threads and event loops.
    """

    __slots__ = ("_tracer", "_trace", "_status", "_status_code", "_kind", "_context")

    def __init__(self, tracer_provider: Any = None) -> None:
        try:
            from opentelemetry import context, trace
            from opentelemetry.trace import SpanKind, Status, StatusCode
        except ImportError as exc:
            raise ImportError(f"llmux: {INSTALL_HINT}") from exc
        from . import __version__

        # A tracer of the global provider is a proxy until the host sets its provider: later spans
        # then go to the provider set.
        self._tracer = trace.get_tracer("llmux", __version__, tracer_provider=tracer_provider)
        self._trace = trace
        self._context = context
        self._status, self._status_code, self._kind = Status, StatusCode, SpanKind.CLIENT

    def __repr__(self) -> str:
        return f"<llmux.OpenTelemetry tracer={self._tracer!r}>"

    def _record_call(self, info: Any, metadata: Mapping[str, Any], response: Any,
                    exception: Optional[BaseException]) -> None:
        """Records one ended call (called by llmux._observe, on the thread or loop that consumes it).

        ``info`` is the call's :class:`llmux._observe.CallInfo`; ``metadata`` its router metadata
        (the ``_llmux`` object); ``response`` the response or stream (None on failure);
        ``exception`` the error the call raises (None on success)."""
        end_ns = time.time_ns()
        start_ns = int(info.started * 1e9)
        parent = info.parent
        if parent is None:  # not a stream: the current context is the one of the call's start
            parent = self._context.get_current()
        elif parent is NO_PARENT:
            parent = self._context.Context()
        operation = _OPERATIONS.get(info.call_type, "chat")
        requested = metadata.get("requested_model") or info.fields.get("model") or ""
        span = self._tracer.start_span(f"{operation} {requested}", context=parent, kind=self._kind,
                                       attributes=_call_attributes(operation, str(requested), info, metadata,
                                                                   response),
                                       start_time=start_ns)
        try:
            attempts_parent = self._trace.set_span_in_context(span, parent)
            self._record_attempts(attempts_parent, metadata, start_ns)
            if exception is not None:
                span.set_attribute("error.type", type(exception).__name__)
                span.set_status(self._status(self._status_code.ERROR, str(exception)))
        finally:
            span.end(end_time=end_ns)

    def _record_attempts(self, parent: Any, metadata: Mapping[str, Any], call_start_ns: int) -> None:
        offset_ms = 0.0  # without start_ms: the attempts one after the other from the call's start
        for index, attempt in enumerate(metadata.get("attempt_log") or ()):
            get = attempt.get
            latency_ms = get("latency_ms") or 0.0
            begin_ms = get("start_ms", -1)
            if begin_ms < 0:
                begin_ms = offset_ms
            offset_ms = begin_ms + latency_ms
            group = get("model_group") or ""
            attributes: dict[str, Any] = {"llmux.attempt.index": index, "llmux.model_group": group,
                                          "llmux.deployment_id": get("deployment_id") or ""}
            error_type = get("error_type")
            if error_type:
                attributes["error.type"] = error_type
                status = get("status") or 0
                if status > 0:
                    attributes["http.response.status_code"] = status
            begin_ns = call_start_ns + int(begin_ms * 1e6)
            child = self._tracer.start_span("attempt " + group, context=parent, kind=self._kind,
                                            attributes=attributes, start_time=begin_ns)
            if error_type:
                child.set_status(self._status(self._status_code.ERROR, error_type))
            child.end(end_time=begin_ns + int(latency_ms * 1e6))


def _server(api_base: str) -> tuple[str, int]:
    """(host, port) of an api_base ("", 0 when it has none): the host only, never the URL's
    user:password. Remembered per api_base (a router has few)."""
    found = _servers.get(api_base)
    if found is None:
        try:
            parts = urlsplit(api_base)
            found = (parts.hostname or "", parts.port or _DEFAULT_PORTS.get(parts.scheme, 0))
        except ValueError:  # not a URL
            found = ("", 0)
        if len(_servers) >= 256:
            _servers.clear()
        _servers[api_base] = found
    return found


_servers: dict[str, tuple[str, int]] = {}

#: Router metadata keys copied as ``llmux.<key>`` (strings, numbers) when present and not empty.
_LLMUX_KEYS = ("call_id", "model_group", "deployment_id", "deployment_model", "fallback_model_group", "attempts",
               "retries", "fallbacks")


def _call_attributes(operation: str, requested: str, info: Any, metadata: Mapping[str, Any], response: Any
                     ) -> dict[str, Any]:
    """The call span's attributes. The metadata is the library's JSON (strings and numbers as
    documented); absent and empty values are left out (OpenTelemetry rejects None)."""
    get = metadata.get
    attributes: dict[str, Any] = {"gen_ai.operation.name": operation, "gen_ai.request.model": requested,
                                  "llmux.stream": info.stream}
    provider = get("provider")
    if provider:
        attributes["gen_ai.system"] = attributes["gen_ai.provider.name"] = provider
    if response is not None:  # the response's own model and id (a stream has neither)
        model, response_id = getattr(response, "model", None), getattr(response, "id", None)
        if model and isinstance(model, str):
            attributes["gen_ai.response.model"] = model
        if response_id and isinstance(response_id, str):
            attributes["gen_ai.response.id"] = response_id
    usage = get("usage")
    if usage:
        attributes["gen_ai.usage.input_tokens"] = usage.get("prompt_tokens", 0)
        attributes["gen_ai.usage.output_tokens"] = usage.get("completion_tokens", 0)
    api_base = get("api_base")
    if api_base:
        host, port = _server(api_base)
        if host:
            attributes["server.address"] = host
            if port:
                attributes["server.port"] = port
    for key in _LLMUX_KEYS:
        value = get(key)
        if value is not None and value != "":
            attributes["llmux." + key] = value
    cost = get("response_cost")
    if cost is not None:
        attributes["llmux.response_cost"] = float(cost)
    if info.stream:
        ttft = get("time_to_first_token_ms", -1)
        if ttft >= 0:
            attributes["llmux.time_to_first_token_ms"] = float(ttft)
    return attributes
