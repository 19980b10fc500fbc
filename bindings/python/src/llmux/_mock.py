"""LiteLLM's ``mock_response`` forms, written as the JSON the library reads.

LiteLLM accepts, per request and in ``litellm_params``: a string (a reply, or
``"litellm.RateLimitError"``-style names), a dict or a ``ModelResponse`` (returned as the response),
and an ``Exception`` instance (raised as a provider error: its ``status_code``, else 500, with its
``message``/text — litellm's ``MockException``). llmux also takes an exception *class*
(``mock_response=llmux.RateLimitError``). Strings pass unchanged; a dict or response object goes as
a JSON object (answered as the body); an exception becomes ``"litellm.<Class>"`` where the library
knows the class by name and the class says more than its status (context window, content policy,
timeout, connection), else the ``llmux_mock_error`` key ``{status_code, message, type}`` the library
fails with as a provider answering that status would (classified, retried, fallen back and cooled
down the same way).
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

__all__ = ["mock_deployment", "mock_fields"]

#: Error classes the library's mock knows by name ("litellm.<Name>").
_NAMED = ("RateLimitError", "InternalServerError", "ContextWindowExceededError", "ContentPolicyViolationError",
          "BadRequestError", "AuthenticationError", "PermissionDeniedError", "NotFoundError", "Timeout",
          "ServiceUnavailableError", "APIConnectionError", "BadGatewayError", "APIError")
#: Classes whose kind their status alone does not tell (a 400 that is a context-window error ...).
_BY_NAME_ONLY = {"ContextWindowExceededError", "ContentPolicyViolationError", "Timeout", "APIConnectionError",
                 "APITimeoutError"}


def _named(cls: type, names: Any) -> Optional[str]:
    for klass in cls.__mro__:
        if klass.__name__ in names:
            return "Timeout" if klass.__name__ == "APITimeoutError" else klass.__name__
    return None


def _convert(mock: Any) -> tuple[str, Any]:
    """(key, value) to send for one mock_response value."""
    if isinstance(mock, (str, dict)) or mock is None:
        return "mock_response", mock
    if isinstance(mock, type) and issubclass(mock, BaseException):
        name = _named(mock, _NAMED)
        if name is not None:
            return "mock_response", f"litellm.{name}"
        return "llmux_mock_error", {"status_code": 500, "message": f"{mock.__name__}: mock error"}
    if isinstance(mock, BaseException):
        special = _named(type(mock), _BY_NAME_ONLY)
        if special is not None:
            return "mock_response", f"litellm.{special}"
        status = getattr(mock, "status_code", None)
        if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
            status = 500
        message = getattr(mock, "message", None) or getattr(mock, "text", None) or str(mock) or type(mock).__name__
        return "llmux_mock_error", {"status_code": status, "message": str(message), "type": type(mock).__name__}
    dump = getattr(mock, "model_dump", None)
    if callable(dump):
        return "mock_response", dump()
    return "mock_response", mock  # anything else: the library says what is wrong with it


def mock_fields(fields: Mapping[str, Any]) -> Mapping[str, Any]:
    """``fields`` with its mock_response written for the library (the same mapping when it has none
    or a plain string)."""
    mock = fields.get("mock_response")
    if mock is None or isinstance(mock, (str, dict)):
        return fields
    key, value = _convert(mock)
    out = {k: v for k, v in fields.items() if k != "mock_response"}
    out[key] = value
    return out


def mock_deployment(deployment: Any) -> Any:
    """A model_list entry with its litellm_params.mock_response written for the library."""
    if not isinstance(deployment, dict):
        return deployment
    params = deployment.get("litellm_params")
    if not isinstance(params, dict):
        return deployment
    converted = mock_fields(params)
    if converted is params:
        return deployment
    return {**deployment, "litellm_params": dict(converted)}
