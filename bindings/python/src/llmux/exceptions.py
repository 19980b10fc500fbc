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
``max_retries`` / ``litellm_debug_info`` (LiteLLM's), and llmux's detail: ``retry_after`` (seconds, or
None), ``kind`` (the ``llmux_status`` number), ``type`` (the LiteLLM class name llmux reported),
``model_group``, ``llmux_metadata`` (the router metadata: deployment, attempts, fallbacks, attempt
log, ...) and ``error_json`` (everything the library reported, parsed).

LiteLLM's classes too, for programs that use LiteLLM: when ``litellm`` is imported (see
``llmux.litellm_types``), creating one of these exceptions — llmux raising it, or user code building
one — makes an instance of a class derived from both the llmux class and LiteLLM's matching class
(``litellm.RateLimitError``, ...; made once per pair), so ``except litellm.RateLimitError`` and
``except openai.RateLimitError`` catch it, ``isinstance(e, llmux.RateLimitError)`` still holds, and
LiteLLM's and openai's attributes (``response``, ``request``, ``body``, ``headers``...) are there
next to llmux's. Without litellm but with ``openai`` imported, the second base is openai's class. The
message is llmux's (the provider's text, without LiteLLM's ``litellm.RateLimitError:`` prefix).

The constructors take LiteLLM's positional arguments, class by class (``RateLimitError(message,
llm_provider, model, response=None, ...)``, ``Timeout(message, model, llm_provider, ...)``,
``APIError(status_code, message, llm_provider, model, ...)``, ``BudgetExceededError(current_cost,
max_budget, message=None)``), so code and test doubles written for LiteLLM build them unchanged.
"""

from __future__ import annotations

import inspect
import json
import logging
import sys
import threading
from typing import Any, ClassVar, Optional

from . import _litellm
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
    "llmux_class",
]

_log = logging.getLogger("llmux")


class LLMuxError(Exception):
    """Base class of every error llmux raises for a call, a config or an argument.

    Attributes:
        message: the error message (provider's text kept; never contains an API key).
        status_code: the HTTP status LiteLLM would report (429, 408, ...).
        model: the model of the deployment that failed last (else the requested model), or None.
        llm_provider: the provider of that deployment ("openai", ...), or None.
        model_group: the model group that produced the error, or None.
        num_retries: retries made (LiteLLM's attribute); max_retries: retries allowed.
        litellm_debug_info: LiteLLM's debug text (what the constructor was given), or None.
        retry_after: seconds to wait before trying again (Retry-After / cooldown), or None.
        kind: the ``llmux_status`` number; type: the class name llmux reported.
        llmux_metadata: the router metadata (``_llmux``) of the failed call, a dict.
        error_json: the library's whole error report, a dict.
    """

    # Set by _init_error (into __dict__, after LiteLLM's constructor when this is also LiteLLM's class).
    message: str
    status_code: int
    model: Optional[str]
    llm_provider: Optional[str]
    model_group: Optional[str]
    num_retries: Optional[int]
    max_retries: Optional[int]
    litellm_debug_info: Optional[str]
    retry_after: Optional[float]
    kind: Optional[int]
    type: str
    llmux_metadata: dict[str, Any]
    error_json: dict[str, Any]

    #: Status reported when the library gives none (the class's usual HTTP status).
    default_status_code: ClassVar[int] = 500
    #: LiteLLM's class this one also is when the program uses LiteLLM (the first that exists in
    #: the installed release), and openai's when only openai is imported.
    _litellm_names: ClassVar[tuple[str, ...]] = ()
    _openai_name: ClassVar[Optional[str]] = None

    def __new__(cls, *args: Any, **kwargs: Any) -> "LLMuxError":
        # An instance of the class derived from both this one and LiteLLM's (or openai's), when the
        # program uses them; Python then runs __init__ of that class, which is this one's.
        if "_llmux_class" not in cls.__dict__ and (cls._litellm_names or cls._openai_name):
            cls = _interop_class(cls)
        # Exception's, not super()'s: with a Python __new__ in the chain, MemoryError.__new__ refuses
        # to make an OutOfMemoryError; every llmux error has BaseException's layout.
        return Exception.__new__(cls)

    def __init__(
        self,
        message: str,
        *,
        status_code: Optional[int] = None,
        model: Optional[str] = None,
        llm_provider: Optional[str] = None,
        kind: Optional[int] = None,
        error_json: Optional[dict[str, Any]] = None,
        litellm_debug_info: Optional[str] = None,
        max_retries: Optional[int] = None,
        num_retries: Optional[int] = None,
    ) -> None:
        self._init_error(message, status_code=status_code, model=model, llm_provider=llm_provider, kind=kind,
                         error_json=error_json, litellm_debug_info=litellm_debug_info, max_retries=max_retries,
                         num_retries=num_retries)

    def _init_error(
        self,
        message: Any,
        *,
        status_code: Optional[int],
        model: Optional[str],
        llm_provider: Optional[str],
        kind: Optional[int],
        error_json: Optional[dict[str, Any]],
        litellm_debug_info: Optional[str],
        max_retries: Optional[int],
        num_retries: Optional[int],
        litellm_fields: Optional[dict[str, Any]] = None,
    ) -> None:
        """Sets llmux's attributes, after LiteLLM's constructor when this is also LiteLLM's class.

        ``litellm_fields``: what the caller gave for LiteLLM's other attributes (``response``,
        ``body``, ...), kept as attributes of the same names.
        """
        message = "" if message is None else str(message)
        error_json = error_json if isinstance(error_json, dict) else {}
        metadata = error_json.get("_llmux")
        metadata = metadata if isinstance(metadata, dict) else {}
        retry_after = error_json.get("retry_after_seconds")
        fields: dict[str, Any] = {
            "message": message,
            "status_code": status_code or self.default_status_code,
            "kind": kind,
            "error_json": error_json,
            "type": str(error_json.get("type") or type(self).__name__),
            "llmux_metadata": metadata,
            "model": model or metadata.get("deployment_model") or metadata.get("requested_model") or None,
            "llm_provider": llm_provider or error_json.get("llm_provider") or metadata.get("provider") or None,
            "model_group": metadata.get("model_group") or None,
            "retry_after": float(retry_after) if retry_after is not None else None,
            "num_retries": num_retries if num_retries is not None else metadata.get("retries"),
            "max_retries": max_retries if max_retries is not None else metadata.get("max_retries"),
            "litellm_debug_info": litellm_debug_info,
        }
        if litellm_fields:
            self.__dict__.update(litellm_fields)
        foreign = type(self).__dict__.get("_foreign_class")
        if foreign is not None:
            _init_foreign(self, foreign, fields, litellm_fields or {})
        self.__dict__.update(fields)
        self.args = (message,)

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        # Keeps every attribute across pickling (multiprocessing, caches), not only the message. The
        # llmux class is pickled (the derived one is made again where LiteLLM is in use), and only
        # plain values: LiteLLM's response/request objects are made again by the constructor.
        state = {key: value for key, value in self.__dict__.items() if type(value) in _PLAIN_TYPES}
        return (_restore_error, (llmux_class(self), self.message, state))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status_code={self.status_code}, message={self.message!r})"


_PLAIN_TYPES = (str, int, float, bool, type(None), dict, list, tuple)


def _restore_error(cls: type[LLMuxError], message: str, state: dict[str, Any]) -> LLMuxError:
    try:
        error = cls(message=message)
    except TypeError:  # a subclass with a constructor of its own
        error = cls(message)  # type: ignore[call-arg]
    error.__dict__.update(state)
    error.args = (message,)
    return error


def llmux_class(error: BaseException) -> type:
    """The llmux class of ``error`` (``llmux.RateLimitError``), also for an instance of the class derived
    from it and LiteLLM's; for any other exception, its own class."""
    return type(error).__dict__.get("_llmux_class", type(error))


# -- LiteLLM's classes ---------------------------------------------------------------------------

# (llmux class, LiteLLM's or openai's class) -> the class derived from both, made once.
_interop_classes: dict[tuple[type, type], type] = {}
_interop_lock = threading.Lock()
# LiteLLM's or openai's class -> (its constructor's parameter names, names it requires, takes **kwargs).
_constructor_parameters: dict[type, tuple[tuple[str, ...], frozenset[str], bool]] = {}


def _foreign_base(cls: type[LLMuxError]) -> Optional[type]:
    try:
        litellm = _litellm.litellm_in_use()
        openai = _litellm.openai_in_use() if cls._openai_name else None
    except (ImportError, ValueError):  # a bad llmux.litellm_types must not hide the error being raised
        return None
    if litellm is not None:
        for name in cls._litellm_names:
            found = _litellm.foreign_class(litellm, name)
            if found is not None and issubclass(found, BaseException):
                return found
    if openai is not None and cls._openai_name:
        found = _litellm.foreign_class(openai, cls._openai_name)
        if found is not None and issubclass(found, BaseException):
            return found
    return None


def _interop_class(cls: type[LLMuxError]) -> type[LLMuxError]:
    """``cls``, or the class derived from ``cls`` and LiteLLM's (openai's) when the program uses them."""
    foreign = _foreign_base(cls)
    if foreign is None or issubclass(cls, foreign):
        return cls
    key = (cls, foreign)
    made = _interop_classes.get(key)
    if made is not None:
        return made
    with _interop_lock:
        made = _interop_classes.get(key)
        if made is None:
            try:
                made = type(cls.__name__, (cls, foreign), {
                    "__module__": cls.__module__,
                    "__qualname__": cls.__qualname__,
                    "__doc__": cls.__doc__,
                    "_llmux_class": cls,
                    "_foreign_class": foreign,
                })
            except TypeError as exc:  # a release whose class cannot be combined (layout, metaclass)
                _log.warning("llmux: %s cannot also be %s.%s (%s); raising llmux's class alone",
                             cls.__name__, foreign.__module__, foreign.__qualname__, exc)
                made = cls
            _interop_classes[key] = made
    return made


def _parameters(foreign: type) -> tuple[tuple[str, ...], frozenset[str], bool]:
    known = _constructor_parameters.get(foreign)
    if known is None:
        try:
            signature = inspect.signature(foreign.__init__)
        except (TypeError, ValueError):
            known = ((), frozenset(), True)
        else:
            parameters = [p for p in list(signature.parameters.values())[1:]
                          if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
            known = (tuple(p.name for p in parameters),
                     frozenset(p.name for p in parameters if p.default is p.empty),
                     any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values()))
        _constructor_parameters[foreign] = known
    return known


def _headers(fields: dict[str, Any]) -> dict[str, str]:
    headers = {str(k): str(v) for k, v in (fields["llmux_metadata"].get("headers") or {}).items()}
    if fields["retry_after"] is not None:
        headers["retry-after"] = f"{fields['retry_after']:g}"
    return headers


def _http_objects(fields: dict[str, Any], headers: dict[str, str]) -> tuple[Any, Any]:
    """An httpx request and response standing for the failed call (openai's exceptions hold both)."""
    # The program's httpx (openai's exceptions only read .request, .headers and .status_code of it;
    # openai 3 ships its own fork, httpx2).
    httpx = sys.modules.get("httpx") or sys.modules.get("httpx2")
    if httpx is None:
        return None, None
    api_base = fields["llmux_metadata"].get("api_base")
    url = api_base if isinstance(api_base, str) and api_base.startswith(("http://", "https://")) else \
        "http://localhost/"
    try:
        request = httpx.Request("POST", url)
        return request, httpx.Response(status_code=fields["status_code"], headers=headers, request=request)
    except Exception:  # an api_base httpx refuses, an httpx that changed
        return None, None


def _init_foreign(error: LLMuxError, foreign: type, fields: dict[str, Any], given: dict[str, Any]) -> None:
    """Runs LiteLLM's (openai's) constructor of ``foreign`` on ``error``, for its attributes."""
    headers = _headers(fields)
    request, response = _http_objects(fields, headers)
    values: dict[str, Any] = {
        "message": fields["message"],
        "llm_provider": fields["llm_provider"] or "",
        "model": fields["model"] or "",
        "litellm_debug_info": fields["litellm_debug_info"],
        "max_retries": fields["max_retries"],
        "num_retries": fields["num_retries"],
        "status_code": fields["status_code"],
        "exception_status_code": fields["status_code"],
        "headers": headers,
        "body": None,
    }
    values.update({key: value for key, value in given.items() if value is not None})
    values.setdefault("request", request if response is None else response.request)
    values.setdefault("response", response)
    names, required, _ = _parameters(foreign)
    arguments = {name: values.get(name) for name in names if name in values or name in required}
    try:
        foreign.__init__(error, **arguments)
    except Exception as exc:  # LiteLLM changed a constructor: keep the class, set what it would
        _log.debug("llmux: %s.__init__ failed (%s); setting its attributes directly", foreign.__qualname__, exc)
        for name in ("response", "request", "body", "headers"):
            if values.get(name) is not None:
                error.__dict__.setdefault(name, values[name])


# -- the classes ---------------------------------------------------------------------------------
# Each constructor takes LiteLLM's positional arguments for the class of the same name (litellm 1.80),
# then llmux's own as keywords: status_code, kind, error_json (what the library reported).


class _ProviderFirstError(LLMuxError):
    """LiteLLM's ``(message, llm_provider, model, response=None, ...)`` constructors."""

    def __init__(
        self,
        message: str,
        llm_provider: Optional[str] = None,
        model: Optional[str] = None,
        response: Any = None,
        litellm_debug_info: Optional[str] = None,
        max_retries: Optional[int] = None,
        num_retries: Optional[int] = None,
        *,
        body: Any = None,
        status_code: Optional[int] = None,
        kind: Optional[int] = None,
        error_json: Optional[dict[str, Any]] = None,
    ) -> None:
        self._init_error(message, status_code=status_code, model=model, llm_provider=llm_provider, kind=kind,
                         error_json=error_json, litellm_debug_info=litellm_debug_info, max_retries=max_retries,
                         num_retries=num_retries, litellm_fields={"response": response, "body": body})


class _ModelFirstError(LLMuxError):
    """LiteLLM's ``(message, model, llm_provider, response=None, ...)`` constructors."""

    def __init__(
        self,
        message: str,
        model: Optional[str] = None,
        llm_provider: Optional[str] = None,
        response: Any = None,
        litellm_debug_info: Optional[str] = None,
        max_retries: Optional[int] = None,
        num_retries: Optional[int] = None,
        body: Any = None,
        *,
        status_code: Optional[int] = None,
        kind: Optional[int] = None,
        error_json: Optional[dict[str, Any]] = None,
    ) -> None:
        self._init_error(message, status_code=status_code, model=model, llm_provider=llm_provider, kind=kind,
                         error_json=error_json, litellm_debug_info=litellm_debug_info, max_retries=max_retries,
                         num_retries=num_retries, litellm_fields={"response": response, "body": body})


class BadRequestError(_ModelFirstError):
    """400: the provider rejected the request, or the model group is unknown.

    ``BadRequestError(message, model, llm_provider, response=None, litellm_debug_info=None,
    max_retries=None, num_retries=None, body=None)``, as LiteLLM's.
    """

    default_status_code = 400
    _litellm_names = ("BadRequestError",)
    _openai_name = "BadRequestError"


class ContextWindowExceededError(BadRequestError):
    """400: the prompt does not fit the model's context window (context_window_fallbacks apply).

    ``ContextWindowExceededError(message, model, llm_provider, response=None, litellm_debug_info=None)``.
    """

    _litellm_names = ("ContextWindowExceededError",)


class ContentPolicyViolationError(BadRequestError):
    """400: the provider's content filter refused (content_policy_fallbacks apply).

    ``ContentPolicyViolationError(message, model, llm_provider, response=None, litellm_debug_info=None,
    provider_specific_fields=None)``.
    """

    _litellm_names = ("ContentPolicyViolationError",)

    def __init__(
        self,
        message: str,
        model: Optional[str] = None,
        llm_provider: Optional[str] = None,
        response: Any = None,
        litellm_debug_info: Optional[str] = None,
        provider_specific_fields: Optional[dict[str, Any]] = None,
        *,
        max_retries: Optional[int] = None,
        num_retries: Optional[int] = None,
        body: Any = None,
        status_code: Optional[int] = None,
        kind: Optional[int] = None,
        error_json: Optional[dict[str, Any]] = None,
    ) -> None:
        self._init_error(message, status_code=status_code, model=model, llm_provider=llm_provider, kind=kind,
                         error_json=error_json, litellm_debug_info=litellm_debug_info, max_retries=max_retries,
                         num_retries=num_retries,
                         litellm_fields={"response": response, "body": body,
                                         "provider_specific_fields": provider_specific_fields})


class InvalidArgumentError(BadRequestError, ValueError):
    """400: an argument llmux cannot use (invalid JSON or UTF-8, unserialisable value, closed router)."""


class InvalidConfigError(LLMuxError, ValueError):
    """The router configuration is invalid; the message names the bad key."""

    default_status_code = 400


class AuthenticationError(_ProviderFirstError):
    """401: the provider rejected the credentials. ``(message, llm_provider, model, response=None, ...)``."""

    default_status_code = 401
    _litellm_names = ("AuthenticationError",)
    _openai_name = "AuthenticationError"


class PermissionDeniedError(_ProviderFirstError):
    """403: the provider refused access. ``(message, llm_provider, model, response=None, ...)``."""

    default_status_code = 403
    _litellm_names = ("PermissionDeniedError",)
    _openai_name = "PermissionDeniedError"


class NotFoundError(_ModelFirstError):
    """404: the provider does not know the model or route. ``(message, model, llm_provider, ...)``."""

    default_status_code = 404
    _litellm_names = ("NotFoundError",)
    _openai_name = "NotFoundError"


class Timeout(LLMuxError):
    """408: a deadline passed (connect, first token, stream idle, per attempt or total).

    ``Timeout(message, model, llm_provider, litellm_debug_info=None, max_retries=None, num_retries=None,
    headers=None, exception_status_code=None)``, as LiteLLM's.
    """

    default_status_code = 408
    _litellm_names = ("Timeout",)
    _openai_name = "APITimeoutError"

    def __init__(
        self,
        message: str,
        model: Optional[str] = None,
        llm_provider: Optional[str] = None,
        litellm_debug_info: Optional[str] = None,
        max_retries: Optional[int] = None,
        num_retries: Optional[int] = None,
        headers: Optional[dict[str, Any]] = None,
        exception_status_code: Optional[int] = None,
        *,
        status_code: Optional[int] = None,
        kind: Optional[int] = None,
        error_json: Optional[dict[str, Any]] = None,
    ) -> None:
        self._init_error(message, status_code=exception_status_code or status_code, model=model,
                         llm_provider=llm_provider, kind=kind, error_json=error_json,
                         litellm_debug_info=litellm_debug_info, max_retries=max_retries, num_retries=num_retries,
                         litellm_fields={"headers": headers})


class RateLimitError(_ProviderFirstError):
    """429: the provider is rate limiting. ``(message, llm_provider, model, response=None, ...)``."""

    default_status_code = 429
    _litellm_names = ("RateLimitError",)
    _openai_name = "RateLimitError"


class NoDeploymentsAvailableError(RateLimitError):
    """429: every deployment of the group is cooling down or filtered out ("Try again in N seconds").

    A ``litellm.RateLimitError`` too, which is what LiteLLM's router raises in this case.
    """


#: LiteLLM's name for the router's "no deployments available" error.
RouterRateLimitError = NoDeploymentsAvailableError


class BudgetExceededError(LLMuxError):
    """429: a provider or deployment budget is spent.

    ``BudgetExceededError(current_cost, max_budget, message=None)``, as LiteLLM's (a message alone,
    ``BudgetExceededError("...")``, is accepted too).
    """

    default_status_code = 429
    _litellm_names = ("BudgetExceededError",)

    def __init__(
        self,
        current_cost: Any = None,
        max_budget: Any = None,
        message: Optional[str] = None,
        *,
        model: Optional[str] = None,
        llm_provider: Optional[str] = None,
        status_code: Optional[int] = None,
        kind: Optional[int] = None,
        error_json: Optional[dict[str, Any]] = None,
    ) -> None:
        if message is None and isinstance(current_cost, str):
            message, current_cost = current_cost, None
        if message is None:
            message = f"Budget has been exceeded! Current cost: {current_cost}, Max budget: {max_budget}"
        self._init_error(message, status_code=status_code, model=model, llm_provider=llm_provider, kind=kind,
                         error_json=error_json, litellm_debug_info=None, max_retries=None, num_retries=None,
                         litellm_fields={"current_cost": current_cost, "max_budget": max_budget})


class InternalServerError(_ProviderFirstError):
    """500: the provider failed. ``(message, llm_provider, model, response=None, ...)``."""

    default_status_code = 500
    _litellm_names = ("InternalServerError",)
    _openai_name = "InternalServerError"


class BadGatewayError(_ProviderFirstError):
    """502: bad gateway in front of the provider. ``(message, llm_provider, model, response=None, ...)``."""

    default_status_code = 502
    _litellm_names = ("BadGatewayError",)
    _openai_name = "APIStatusError"


class ServiceUnavailableError(_ProviderFirstError):
    """503: the provider is unavailable. ``(message, llm_provider, model, response=None, ...)``."""

    default_status_code = 503
    _litellm_names = ("ServiceUnavailableError",)
    _openai_name = "APIStatusError"


class MidStreamFallbackError(ServiceUnavailableError):
    """503: a stream failed after content was delivered and could not be continued elsewhere.

    ``MidStreamFallbackError(message, model, llm_provider, original_exception=None, response=None,
    litellm_debug_info=None, max_retries=None, num_retries=None, generated_content="",
    is_pre_first_chunk=False)``, as LiteLLM's (a ``litellm.ServiceUnavailableError`` with releases
    that have no MidStreamFallbackError).
    """

    _litellm_names = ("MidStreamFallbackError", "ServiceUnavailableError")

    def __init__(
        self,
        message: str,
        model: Optional[str] = None,
        llm_provider: Optional[str] = None,
        original_exception: Optional[BaseException] = None,
        response: Any = None,
        litellm_debug_info: Optional[str] = None,
        max_retries: Optional[int] = None,
        num_retries: Optional[int] = None,
        generated_content: str = "",
        is_pre_first_chunk: bool = False,
        *,
        status_code: Optional[int] = None,
        kind: Optional[int] = None,
        error_json: Optional[dict[str, Any]] = None,
    ) -> None:
        self._init_error(message, status_code=status_code, model=model, llm_provider=llm_provider, kind=kind,
                         error_json=error_json, litellm_debug_info=litellm_debug_info, max_retries=max_retries,
                         num_retries=num_retries,
                         litellm_fields={"response": response, "original_exception": original_exception,
                                         "generated_content": generated_content,
                                         "is_pre_first_chunk": is_pre_first_chunk})


class APIError(LLMuxError):
    """Any other provider status.

    ``APIError(status_code, message, llm_provider, model, request=None, litellm_debug_info=None,
    max_retries=None, num_retries=None)``, as LiteLLM's (``APIError("message")`` is accepted too).
    """

    default_status_code = 500
    _litellm_names = ("APIError",)
    _openai_name = "APIStatusError"

    def __init__(
        self,
        status_code: Any = None,
        message: Optional[str] = None,
        llm_provider: Optional[str] = None,
        model: Optional[str] = None,
        request: Any = None,
        litellm_debug_info: Optional[str] = None,
        max_retries: Optional[int] = None,
        num_retries: Optional[int] = None,
        *,
        kind: Optional[int] = None,
        error_json: Optional[dict[str, Any]] = None,
    ) -> None:
        if message is None and isinstance(status_code, str):
            message, status_code = status_code, None
        self._init_error(message, status_code=status_code, model=model, llm_provider=llm_provider, kind=kind,
                         error_json=error_json, litellm_debug_info=litellm_debug_info, max_retries=max_retries,
                         num_retries=num_retries, litellm_fields={"request": request})


class APIConnectionError(LLMuxError):
    """The provider could not be reached (no HTTP response: refused, reset, DNS, TLS).

    ``APIConnectionError(message, llm_provider, model, request=None, litellm_debug_info=None,
    max_retries=None, num_retries=None)``, as LiteLLM's.
    """

    default_status_code = 500
    _litellm_names = ("APIConnectionError",)
    _openai_name = "APIConnectionError"

    def __init__(
        self,
        message: str,
        llm_provider: Optional[str] = None,
        model: Optional[str] = None,
        request: Any = None,
        litellm_debug_info: Optional[str] = None,
        max_retries: Optional[int] = None,
        num_retries: Optional[int] = None,
        *,
        status_code: Optional[int] = None,
        kind: Optional[int] = None,
        error_json: Optional[dict[str, Any]] = None,
    ) -> None:
        self._init_error(message, status_code=status_code, model=model, llm_provider=llm_provider, kind=kind,
                         error_json=error_json, litellm_debug_info=litellm_debug_info, max_retries=max_retries,
                         num_retries=num_retries, litellm_fields={"request": request})


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
    # By keyword: the classes take LiteLLM's positional arguments, which differ from class to class.
    return error_class(detail.code)(message=detail.message, status_code=detail.status or None, kind=detail.code,
                                    error_json=parsed)


def error_from_status(status: int, message: str) -> LLMuxError:
    """The exception for a status returned without an ``llmux_error`` (e.g. a refused async start)."""
    return error_from_detail(ErrorDetail.from_status(status, message))
