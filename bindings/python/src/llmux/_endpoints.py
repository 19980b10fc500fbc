"""LiteLLM Router's other endpoints, as a mixin :class:`llmux.Router` inherits.

``text_completion`` / ``atext_completion`` (OpenAI's /completions), ``moderation`` /
``amoderation`` (/moderations) and ``responses`` / ``aresponses`` (the Responses API, /responses):
routed like completions (retries, fallbacks, cooldowns), passed through to OpenAI-compatible
deployments and answered by ``mock_response``; a deployment of another provider family fails them
with a :class:`~llmux.BadRequestError` naming the endpoint and the provider. Non-streaming only.
Results are :class:`~llmux.TextCompletionResponse`, :class:`~llmux.ModerationResponse` and
:class:`~llmux.ResponsesAPIResponse` (LiteLLM's own classes when LiteLLM's types are in use), with
the router metadata in ``_hidden_params``.
"""

from __future__ import annotations

from typing import Any, Optional

from ._encode import request_json
from ._ffi import Status
from .exceptions import InvalidArgumentError
from .types import ModerationResponse, ResponsesAPIResponse, TextCompletionResponse

__all__ = ["ENDPOINT_KINDS", "EndpointsMixin"]

#: Call kinds (Router._start) → llmux_endpoint values of the C ABI.
ENDPOINT_KINDS: dict[str, int] = {"text_completion": 2, "moderation": 3, "responses": 4}


def _no_stream(name: str, kwargs: dict[str, Any]) -> None:
    if kwargs.get("stream"):
        raise InvalidArgumentError(f"llmux: {name}(stream=True) is not supported; llmux serves this endpoint "
                                   "non-streaming only", kind=Status.INVALID_ARGUMENT)


def _moderation_model(model: Optional[str]) -> str:
    if not model:
        raise InvalidArgumentError("llmux: moderation needs model= (a model group of the router): llmux does not "
                                   "pick a default moderation model", kind=Status.INVALID_ARGUMENT)
    return model


class EndpointsMixin:
    """text_completion, moderation and responses (sync and asyncio) for :class:`llmux.Router`."""

    # Provided by Router.
    _report: Any
    _blocking: Any
    _awaited: Any

    def _endpoint(self, kind: str, request: dict[str, Any], make: Any, what: str) -> Any:
        body = request_json(request)
        report = self._report(kind, request, False)
        return report.finish(self._blocking(kind, body), make, what)

    async def _aendpoint(self, kind: str, call_type: str, request: dict[str, Any], make: Any, what: str) -> Any:
        body = request_json(request)
        report = self._report(call_type, request, False)
        return await report.afinish(await self._awaited(kind, body), make, what)

    def text_completion(self, model: str, prompt: Any, **kwargs: Any) -> TextCompletionResponse:
        """A text completion (OpenAI /completions body: ``prompt`` plus ``max_tokens``, ...), routed
        like :meth:`completion`; blocks until done."""
        _no_stream("text_completion", kwargs)
        return self._endpoint("text_completion", {"model": model, "prompt": prompt, **kwargs},
                              TextCompletionResponse, "a text completion")

    async def atext_completion(self, model: str, prompt: Any, **kwargs: Any) -> TextCompletionResponse:
        """:meth:`text_completion` for asyncio (cancelling the task cancels the call)."""
        _no_stream("atext_completion", kwargs)
        return await self._aendpoint("text_completion", "atext_completion",
                                     {"model": model, "prompt": prompt, **kwargs}, TextCompletionResponse,
                                     "a text completion")

    def moderation(self, input: Any, model: Optional[str] = None, **kwargs: Any) -> ModerationResponse:
        """A moderation (OpenAI /moderations) of ``input`` on the model group ``model`` (required)."""
        request = {"model": _moderation_model(model), "input": input, **kwargs}
        return self._endpoint("moderation", request, ModerationResponse, "a moderation")

    async def amoderation(self, input: Any, model: Optional[str] = None, **kwargs: Any) -> ModerationResponse:
        """:meth:`moderation` for asyncio (LiteLLM's ``Router.amoderation``)."""
        request = {"model": _moderation_model(model), "input": input, **kwargs}
        return await self._aendpoint("moderation", "amoderation", request, ModerationResponse, "a moderation")

    def responses(self, model: str, input: Any, **kwargs: Any) -> ResponsesAPIResponse:
        """A Responses API call (OpenAI /responses body: ``input`` plus ``instructions``, ``tools``,
        ...), routed like :meth:`completion`; blocks until done."""
        _no_stream("responses", kwargs)
        return self._endpoint("responses", {"model": model, "input": input, **kwargs}, ResponsesAPIResponse,
                              "a response")

    async def aresponses(self, model: str, input: Any, **kwargs: Any) -> ResponsesAPIResponse:
        """:meth:`responses` for asyncio (LiteLLM's ``Router.aresponses``)."""
        _no_stream("aresponses", kwargs)
        return await self._aendpoint("responses", "aresponses", {"model": model, "input": input, **kwargs},
                                     ResponsesAPIResponse, "a response")
