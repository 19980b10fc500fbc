"""llmux for Python: LiteLLM's Router, routed natively by libllmux (ctypes, standard library only).

Quickstart::

    import llmux

    router = llmux.Router(model_list=[
        {"model_name": "gpt-4o",
         "litellm_params": {"model": "openai/gpt-4o", "api_base": "http://gpu-1:8000/v1",
                            "api_key": "os.environ/OPENAI_API_KEY"}},
    ], num_retries=2)
    resp = router.completion(model="gpt-4o", messages=[{"role": "user", "content": "Hi"}])
    print(resp.choices[0].message.content, resp._hidden_params["model_id"])

A program that imports litellm gets LiteLLM's own classes from llmux: its exceptions are also
``litellm.RateLimitError`` & co. and its responses are ``litellm.ModelResponse`` & co. (see
``litellm_types`` below, :mod:`llmux.exceptions` and :mod:`llmux.types`).

The library is found through ``LLMUX_LIBRARY`` (the path of libllmux.so), next to this package,
or in the build tree of the llmux checkout this package (or the working directory) is in.
"""

from __future__ import annotations

from ._encode import LiteLLMCompatibilityWarning
from ._ffi import ABI_VERSION, LibraryNotFoundError
from ._ffi import library as _library
from ._ffi import library_path
from .exceptions import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    BadGatewayError,
    BadRequestError,
    BudgetExceededError,
    CallCancelledError,
    ContentPolicyViolationError,
    ContextWindowExceededError,
    InternalServerError,
    InvalidArgumentError,
    InvalidConfigError,
    LLMuxError,
    LLMuxInternalError,
    MidStreamFallbackError,
    NoDeploymentsAvailableError,
    NotFoundError,
    OutOfMemoryError,
    PermissionDeniedError,
    RateLimitError,
    RouterRateLimitError,
    ServiceUnavailableError,
    Timeout,
    llmux_class,
)
from .otel import OpenTelemetry
from .router import Router, register_model
from .streaming import AsyncCompletionStream, CompletionStream
from .types import (
    Choices,
    Delta,
    DeploymentHealth,
    Embedding,
    EmbeddingResponse,
    HealthCheckResult,
    HealthEndpoint,
    HealthReport,
    LLMuxObject,
    Message,
    ModelResponse,
    ModelResponseStream,
    ModerationResponse,
    ResponsesAPIResponse,
    StreamingChoices,
    TextCompletionResponse,
    Usage,
)

__version__ = "0.1.0"


def library_version() -> str:
    """The version of the loaded libllmux ("0.1.0"); loads the library if needed."""
    return str(_library().llmux_version().decode("utf-8"))


__all__ = [
    "ABI_VERSION",
    "APIConnectionError",
    "APIError",
    "AsyncCompletionStream",
    "AuthenticationError",
    "BadGatewayError",
    "BadRequestError",
    "BudgetExceededError",
    "CallCancelledError",
    "Choices",
    "CompletionStream",
    "ContentPolicyViolationError",
    "ContextWindowExceededError",
    "Delta",
    "DeploymentHealth",
    "Embedding",
    "EmbeddingResponse",
    "ModerationResponse",
    "ResponsesAPIResponse",
    "TextCompletionResponse",
    "HealthCheckResult",
    "HealthEndpoint",
    "HealthReport",
    "InternalServerError",
    "InvalidArgumentError",
    "InvalidConfigError",
    "LLMuxError",
    "LLMuxInternalError",
    "LLMuxObject",
    "LibraryNotFoundError",
    "LiteLLMCompatibilityWarning",
    "Message",
    "MidStreamFallbackError",
    "ModelResponse",
    "ModelResponseStream",
    "NoDeploymentsAvailableError",
    "NotFoundError",
    "OpenTelemetry",
    "OutOfMemoryError",
    "PermissionDeniedError",
    "RateLimitError",
    "Router",
    "RouterRateLimitError",
    "ServiceUnavailableError",
    "StreamingChoices",
    "Timeout",
    "Usage",
    "callbacks",
    "failure_callback",
    "library_path",
    "library_version",
    "litellm_types",
    "llmux_class",
    "register_model",
    "success_callback",
]

#: LiteLLM's module-wide logging callbacks (``litellm.callbacks``, ``litellm.success_callback``,
#: ``litellm.failure_callback``): functions ``fn(kwargs, completion_response, start_time, end_time)``
#: or CustomLogger-like objects, read at each call by every Router. See the README.
callbacks: list = []
success_callback: list = []
failure_callback: list = []

#: LiteLLM's module-level Router defaults (``litellm.num_retries`` ...), read when a Router is made
#: for the arguments it leaves unset; ``litellm``'s own are read too when litellm is imported.
num_retries = None
request_timeout = None
max_fallbacks = None
fallbacks = None
default_fallbacks = None
context_window_fallbacks = None
content_policy_fallbacks = None
#: Whether responses and exceptions are also LiteLLM's types (read at every call):
#: ``"auto"`` — when the program has imported litellm (exceptions: openai's when only openai is imported);
#: ``True`` — always (llmux imports litellm at the first call that needs it); ``False`` — never.
litellm_types: "bool | str" = "auto"
