"""OpenTelemetry spans for llmux calls, through the host's own OpenTelemetry SDK.

``OpenTelemetry()`` is a router callback (``Router(callbacks=[llmux.OpenTelemetry()])``, or in
``llmux.callbacks`` / ``success_callback`` / ``failure_callback``); the string ``"otel"`` there is the
same thing on the global tracer provider, as ``litellm.callbacks = ["otel"]`` is in LiteLLM. Each call
that ends (completion, stream, embedding; sync or async) becomes one span of kind CLIENT named
``"chat <model>"`` or ``"embeddings <model>"`` (GenAI semantic conventions plus ``llmux.*``
attributes), with one child span per attempt of its attempt log. Spans are made when the call has
ended, with explicit start and end times, under the context that was current when the call started
(for a stream, the one current at the ``completion(stream=True)`` call, wherever it is iterated).
A stream closed before its end is cancelled and makes no span (as no callback runs for it).

Only ``opentelemetry-api`` is needed (``pip install 'llmux-router[otel]'``); spans go wherever the
host's SDK sends them. Attributes never hold an API key or message content. This module imports
opentelemetry only when an :class:`OpenTelemetry` is made, so ``import llmux`` works without it.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Mapping, Optional
from urllib.parse import urlsplit

__all__ = ["OpenTelemetry"]

_log = logging.getLogger("llmux")

#: What the ImportError says when opentelemetry-api is missing.
INSTALL_HINT = "OpenTelemetry spans need opentelemetry-api: pip install 'llmux-router[otel]'"

#: CallInfo.parent of a call that started while opentelemetry was not even imported: no span could be
#: current then, so its span is a root span wherever it ends.
NO_PARENT = object()

_DEFAULT_PORTS = {"http": 80, "https": 443}


class OpenTelemetry:
    """Makes an OpenTelemetry span for each llmux call and one child span per attempt.

    Args:
        tracer_provider: the ``TracerProvider`` to use; default: the global one
            (``opentelemetry.trace.get_tracer_provider()``, looked up at each span, so a provider set
            after this object was made is used).

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

    def record_call(self, info: Any, metadata: Mapping[str, Any], response: Any,
                    exception: Optional[BaseException]) -> None:
        """Records one ended call (called by the router's observer, on the consumer's thread).

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
        operation = "embeddings" if "embedding" in info.call_type else "chat"
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
            if not isinstance(attempt, Mapping):
                continue
            latency_ms = float(attempt.get("latency_ms") or 0.0)
            start_ms = attempt.get("start_ms")
            begin_ms = float(start_ms) if isinstance(start_ms, (int, float)) and start_ms >= 0 else offset_ms
            offset_ms = begin_ms + latency_ms
            group = str(attempt.get("model_group") or "")
            attributes: dict[str, Any] = {"llmux.attempt.index": index, "llmux.model_group": group,
                                          "llmux.deployment_id": str(attempt.get("deployment_id") or "")}
            error_type = attempt.get("error_type")
            status = attempt.get("status")
            if error_type:
                attributes["error.type"] = str(error_type)
                if isinstance(status, int) and status > 0:
                    attributes["http.response.status_code"] = status
            begin_ns = call_start_ns + int(begin_ms * 1e6)
            child = self._tracer.start_span(f"attempt {group}", context=parent, kind=self._kind,
                                            attributes=attributes, start_time=begin_ns)
            if error_type:
                child.set_status(self._status(self._status_code.ERROR, str(error_type)))
            child.end(end_time=begin_ns + int(latency_ms * 1e6))


def _call_attributes(operation: str, requested: str, info: Any, metadata: Mapping[str, Any], response: Any
                     ) -> dict[str, Any]:
    """The call span's attributes (None and empty values left out: OpenTelemetry rejects None)."""
    attributes: dict[str, Any] = {"gen_ai.operation.name": operation, "gen_ai.request.model": requested,
                                  "llmux.stream": bool(info.stream)}
    provider = metadata.get("provider")
    if provider:
        attributes["gen_ai.system"] = attributes["gen_ai.provider.name"] = str(provider)
    for key in ("model", "id"):  # the response's own (a stream has neither)
        value = getattr(response, key, None) if response is not None else None
        if isinstance(value, str) and value:
            attributes[f"gen_ai.response.{key}"] = value
    usage = metadata.get("usage")
    if isinstance(usage, Mapping):
        for name, key in (("input_tokens", "prompt_tokens"), ("output_tokens", "completion_tokens")):
            if isinstance(usage.get(key), int):
                attributes[f"gen_ai.usage.{name}"] = usage[key]
    api_base = metadata.get("api_base")
    if api_base:
        try:
            parts = urlsplit(str(api_base))
            port = parts.port or _DEFAULT_PORTS.get(parts.scheme)
        except ValueError:  # not a URL: no server attributes
            parts, port = None, None
        if parts is not None and parts.hostname:  # the host only: never the URL's user:password
            attributes["server.address"] = parts.hostname
            if port:
                attributes["server.port"] = port
    for key in ("call_id", "model_group", "deployment_id", "deployment_model", "fallback_model_group"):
        value = metadata.get(key)
        if value not in (None, ""):
            attributes[f"llmux.{key}"] = value if isinstance(value, int) else str(value)
    for key in ("attempts", "retries", "fallbacks"):
        value = metadata.get(key)
        if isinstance(value, int):
            attributes[f"llmux.{key}"] = value
    cost = metadata.get("response_cost")
    if isinstance(cost, (int, float)):
        attributes["llmux.response_cost"] = float(cost)
    ttft = metadata.get("time_to_first_token_ms")
    if info.stream and isinstance(ttft, (int, float)) and ttft >= 0:
        attributes["llmux.time_to_first_token_ms"] = float(ttft)
    return attributes
