"""Exceptions named and shaped like LiteLLM's (``litellm.RateLimitError``, ``litellm.Timeout``, ...).

One class per ``llmux_status``, all under :class:`LLMuxError`. As in LiteLLM,
:class:`ContextWindowExceededError` and :class:`ContentPolicyViolationError` are
:class:`BadRequestError` subclasses, and the router's own "no deployments available" error
(:class:`NoDeploymentsAvailableError`, alias :data:`RouterRateLimitError`) is a
:class:`RateLimitError`.

Invalid arguments (a request that is not valid JSON or UTF-8, a value that cannot be serialised, a
closed router) raise :class:`InvalidArgumentError`, which is both a :class:`BadRequestError`
(status 400, as LiteLLM reports a malformed request) and a :class:`ValueError` (what Python code
expects for a bad argument). :class:`InvalidConfigError` is a :class:`ValueError` too, like
LiteLLM's ``ValueError("Invalid routing_strategy ...")``.

Every exception carries ``status_code``, ``message``, ``model``, ``llm_provider``, ``num_retries`` /
``max_retries`` (LiteLLM's), and llmux's detail: ``retry_after`` (seconds, or None), ``kind`` (the
``llmux_status`` number), ``type`` (the LiteLLM class name llmux reported), ``model_group``,
``llmux_metadata`` (the router metadata: deployment, attempts, fallbacks, attempt log, ...) and
``error_json`` (everything the library reported, parsed).
"""

from __future__ import annotations

import json
from typing import Any, Optional

from ._ffi import ErrorDetail, Status

__all__ = [
    "APIConnectionError",
    "APIError",
    "AuthenticationError",
    "BadGatewayError",
    "BadRequestError",
    "BudgetExceededError",
    "CallCancelledError",
    "ContentPolicyViolationError",
    "ContextWindowExceededError",
    "InternalServerError",
    "InvalidArgumentError",
    "InvalidConfigError",
    "LLMuxError",
    "LLMuxInternalError",
    "MidStreamFallbackError",
    "NoDeploymentsAvailableError",
    "NotFoundError",
    "OutOfMemoryError",
    "PermissionDeniedError",
    "RateLimitError",
    "RouterRateLimitError",
    "ServiceUnavailableError",
    "Timeout",
    "error_from_detail",
    "error_from_status",
]


class LLMuxError(Exception):
    """Base class of every error llmux raises for a call, a config or an argument.

    Attributes:
        message: the error message (provider's text kept; never contains an API key).
        status_code: the HTTP status LiteLLM would report (429, 408, ...).
        model: the model of the deployment that failed last (else the requested model), or None.
        llm_provider: the provider of that deployment ("openai", ...), or None.
        model_group: the model group that produced the error, or None.
        num_retries: retries made (LiteLLM's attribute); max_retries: retries allowed.
        retry_after: seconds to wait before trying again (Retry-After / cooldown), or None.
        kind: the ``llmux_status`` number; type: the class name llmux reported.
        llmux_metadata: the router metadata (``_llmux``) of the failed call, a dict.
        error_json: the library's whole error report, a dict.
    """

    #: Status reported when the library gives none (the class's usual HTTP status).
    default_status_code: int = 500

    def __init__(
        self,
        message: str,
        *,
        status_code: Optional[int] = None,
        model: Optional[str] = None,
        llm_provider: Optional[str] = None,
        kind: Optional[int] = None,
        error_json: Optional[dict[str, Any]] = None,
    ) -> None:
        super().__init__(message)
        self.message: str = message
        self.status_code: int = status_code or self.default_status_code
        self.kind: Optional[int] = kind
        self.error_json: dict[str, Any] = error_json or {}
        self.type: str = str(self.error_json.get("type") or type(self).__name__)
        metadata = self.error_json.get("_llmux")
        self.llmux_metadata: dict[str, Any] = metadata if isinstance(metadata, dict) else {}
        self.model: Optional[str] = model or self.llmux_metadata.get("deployment_model") or \
            self.llmux_metadata.get("requested_model") or None
        self.llm_provider: Optional[str] = llm_provider or self.error_json.get("llm_provider") or \
            self.llmux_metadata.get("provider") or None
        self.model_group: Optional[str] = self.llmux_metadata.get("model_group") or None
        retry_after = self.error_json.get("retry_after_seconds")
        self.retry_after: Optional[float] = float(retry_after) if retry_after is not None else None
        self.num_retries: Optional[int] = self.llmux_metadata.get("retries")
        self.max_retries: Optional[int] = self.llmux_metadata.get("max_retries")
        self.litellm_debug_info: Optional[str] = None

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        # Keeps every attribute across pickling (multiprocessing, caches), not only the message.
        return (_restore_error, (type(self), self.message, self.__dict__))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status_code={self.status_code}, message={self.message!r})"


def _restore_error(cls: type[LLMuxError], message: str, state: dict[str, Any]) -> LLMuxError:
    error = cls(message)
    error.__dict__.update(state)
    return error


class BadRequestError(LLMuxError):
    """400: the provider rejected the request, or the model group is unknown."""

    default_status_code = 400


class ContextWindowExceededError(BadRequestError):
    """400: the prompt does not fit the model's context window (context_window_fallbacks apply)."""


class ContentPolicyViolationError(BadRequestError):
    """400: the provider's content filter refused (content_policy_fallbacks apply)."""


class InvalidArgumentError(BadRequestError, ValueError):
    """400: an argument llmux cannot use (invalid JSON or UTF-8, unserialisable value, closed router)."""


class InvalidConfigError(LLMuxError, ValueError):
    """The router configuration is invalid; the message names the bad key."""

    default_status_code = 400


class AuthenticationError(LLMuxError):
    """401: the provider rejected the credentials."""

    default_status_code = 401


class PermissionDeniedError(LLMuxError):
    """403: the provider refused access."""

    default_status_code = 403


class NotFoundError(LLMuxError):
    """404: the provider does not know the model or route."""

    default_status_code = 404


class Timeout(LLMuxError):
    """408: a deadline passed (connect, first token, stream idle, per attempt or total)."""

    default_status_code = 408


class RateLimitError(LLMuxError):
    """429: the provider is rate limiting."""

    default_status_code = 429


class NoDeploymentsAvailableError(RateLimitError):
    """429: every deployment of the group is cooling down or filtered out ("Try again in N seconds")."""


#: LiteLLM's name for the router's "no deployments available" error.
RouterRateLimitError = NoDeploymentsAvailableError


class BudgetExceededError(LLMuxError):
    """429: a provider or deployment budget is spent."""

    default_status_code = 429


class InternalServerError(LLMuxError):
    """500: the provider failed."""

    default_status_code = 500


class BadGatewayError(LLMuxError):
    """502: bad gateway in front of the provider."""

    default_status_code = 502


class ServiceUnavailableError(LLMuxError):
    """503: the provider is unavailable."""

    default_status_code = 503


class MidStreamFallbackError(ServiceUnavailableError):
    """503: a stream failed after content was delivered and could not be continued elsewhere."""


class APIError(LLMuxError):
    """Any other provider status."""

    default_status_code = 500


class APIConnectionError(LLMuxError):
    """The provider could not be reached (no HTTP response: refused, reset, DNS, TLS)."""

    default_status_code = 500


class CallCancelledError(LLMuxError):
    """499: the call was cancelled (the router closed, or the stream was stopped) before it finished."""

    default_status_code = 499


class OutOfMemoryError(LLMuxError, MemoryError):
    """The library ran out of memory."""

    default_status_code = 500


class LLMuxInternalError(LLMuxError):
    """A bug in llmux (please report it with the message)."""

    default_status_code = 500


_CLASS_BY_STATUS: dict[int, type[LLMuxError]] = {
    Status.BAD_REQUEST: BadRequestError,
    Status.CONTEXT_WINDOW_EXCEEDED: ContextWindowExceededError,
    Status.CONTENT_POLICY_VIOLATION: ContentPolicyViolationError,
    Status.AUTHENTICATION: AuthenticationError,
    Status.PERMISSION_DENIED: PermissionDeniedError,
    Status.NOT_FOUND: NotFoundError,
    Status.TIMEOUT: Timeout,
    Status.RATE_LIMIT: RateLimitError,
    Status.NO_DEPLOYMENTS_AVAILABLE: NoDeploymentsAvailableError,
    Status.BUDGET_EXCEEDED: BudgetExceededError,
    Status.INTERNAL_SERVER: InternalServerError,
    Status.BAD_GATEWAY: BadGatewayError,
    Status.SERVICE_UNAVAILABLE: ServiceUnavailableError,
    Status.API: APIError,
    Status.CONNECTION: APIConnectionError,
    Status.MID_STREAM: MidStreamFallbackError,
    Status.CANCELLED: CallCancelledError,
    Status.INVALID_CONFIG: InvalidConfigError,
    Status.INVALID_ARGUMENT: InvalidArgumentError,
    Status.OUT_OF_MEMORY: OutOfMemoryError,
    Status.INTERNAL: LLMuxInternalError,
}


def error_class(status: int) -> type[LLMuxError]:
    """The exception class of an ``llmux_status`` (unknown values: :class:`LLMuxInternalError`)."""
    return _CLASS_BY_STATUS.get(status, LLMuxInternalError)


def error_from_detail(detail: ErrorDetail) -> LLMuxError:
    """The exception for an error reported by the library."""
    try:
        parsed = json.loads(detail.json_text) if detail.json_text else {}
    except ValueError:
        parsed = {}
    if not isinstance(parsed, dict):
        parsed = {}
    parsed.setdefault("type", detail.type)
    return error_class(detail.code)(detail.message, status_code=detail.status or None, kind=detail.code,
                                    error_json=parsed)


def error_from_status(status: int, message: str) -> LLMuxError:
    """The exception for a status returned without an ``llmux_error`` (e.g. a refused async start)."""
    return error_from_detail(ErrorDetail.from_status(status, message))
